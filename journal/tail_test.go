package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A tail sees each group once, as the writer appends it, and leaves a
// line still being written for the next read.
func TestTailFollowsAGrowingJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	var seen []int64
	tail := NewTail(path)
	collect := func(r Record) error { seen = append(seen, r.Seq); return nil }
	if n, err := tail.Read(collect); n != 0 || err != nil {
		t.Fatalf("missing journal: %d %v", n, err)
	}
	op, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	w := op.Writer
	now := time.Now()
	rec := func(off int64) Record {
		return NewRecord("t", 0, off, nil, []byte(`{"a":1}`), now, now, 1)
	}
	if err := w.Append([]Record{rec(0), rec(1)}); err != nil {
		t.Fatal(err)
	}
	if n, err := tail.Read(collect); n != 2 || err != nil {
		t.Fatalf("first read: %d %v", n, err)
	}
	if err := w.Append([]Record{rec(2)}); err != nil {
		t.Fatal(err)
	}
	// A torn line at the end (a writer mid-append) waits.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":4,"topic":"t"`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if n, err := tail.Read(collect); n != 1 || err != nil {
		t.Fatalf("second read: %d %v", n, err)
	}
	if len(seen) != 3 || seen[0] != 1 || seen[2] != 3 {
		t.Errorf("sequence %v, want 1 2 3", seen)
	}
	if n, err := tail.Read(collect); n != 0 || err != nil {
		t.Errorf("nothing new: %d %v", n, err)
	}
	// A replaced (shorter) journal is reported, not misread.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tail.Read(collect); err != ErrTruncated {
		t.Errorf("shorter journal: %v", err)
	}
}
