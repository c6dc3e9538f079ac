package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func rec(i int) Record {
	return NewRecord("t", i%3, int64(i), []byte("k"), []byte(`{"n":`+string(rune('0'+i%10))+`}`), time.Unix(int64(i), 0), time.Unix(int64(i), 5), 1)
}

func TestAppendAndReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events", "journal.jsonl")
	o, err := Open(path, true)
	if err != nil || len(o.Records) != 0 {
		t.Fatal(err)
	}
	batch := []Record{rec(1), rec(2), NewRecord("t", 0, 9, []byte{0xff}, []byte{0x00, 0xfe, 'x'}, time.Unix(9, 0), time.Unix(9, 0), 2)}
	if err := o.Writer.Append(batch); err != nil {
		t.Fatal(err)
	}
	if err := o.Writer.Append([]Record{rec(4)}); err != nil {
		t.Fatal(err)
	}
	o.Writer.Close()
	got, res, err := readAll(path)
	if err != nil || res.Records != 4 || res.TornBytes != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	for i, r := range got {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
	}
	if !bytes.Equal(got[2].Bytes(), []byte{0x00, 0xfe, 'x'}) || got[2].KeyB64 == "" {
		t.Errorf("binary value not kept exactly: %+v", got[2])
	}
	// Pos points at each record's line.
	data, _ := os.ReadFile(path)
	for _, r := range got {
		if !bytes.HasPrefix(data[r.Pos:], []byte(`{"seq":`)) {
			t.Errorf("record %d: Pos %d does not start its line", r.Seq, r.Pos)
		}
	}
	if batch[1].Pos != got[1].Pos || batch[1].Seq != 2 {
		t.Errorf("Append did not report Pos/Seq: %+v", batch[1])
	}
	// Reopening continues the sequence.
	o, err = Open(path, false)
	if err != nil || o.Records != nil {
		t.Fatalf("reopen: %v", err)
	}
	_ = o.Writer.Append([]Record{rec(5)})
	o.Writer.Close()
	got, _, _ = readAll(path)
	if len(got) != 5 || got[4].Seq != 5 {
		t.Errorf("after reopen: %d records, last seq %d", len(got), got[len(got)-1].Seq)
	}
}

// A crash during an append leaves a torn last line: reading skips it,
// opening for append truncates it, and nothing before it is lost.
func TestTornLastLine(t *testing.T) {
	for name, tail := range map[string]string{
		"no newline":       `{"seq":3,"topic":"t","partition":0,"off`,
		"garbage newline":  "{\"seq\":3,\"topic\":\"t\",\"par\x00\x00\n",
		"zeros (fs crash)": "\x00\x00\x00\x00\x00\x00",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			o, _ := Open(path, false)
			_ = o.Writer.Append([]Record{rec(1), rec(2)})
			o.Writer.Close()
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(tail)
			f.Close()

			got, res, err := readAll(path)
			if err != nil || len(got) != 2 || res.TornBytes != int64(len(tail)) {
				t.Fatalf("read: %v, %d records, torn %d", err, len(got), res.TornBytes)
			}
			o, err = Open(path, true)
			if err != nil || len(o.Records) != 2 || o.TornBytes != int64(len(tail)) {
				t.Fatalf("open: %v %+v", err, o)
			}
			_ = o.Writer.Append([]Record{rec(3)})
			o.Writer.Close()
			got, res, err = readAll(path)
			if err != nil || len(got) != 3 || got[2].Seq != 3 || res.TornBytes != 0 {
				t.Errorf("after truncating: %v %d records torn %d", err, len(got), res.TornBytes)
			}
		})
	}
}

func TestCorruptMiddleLineIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	o, _ := Open(path, false)
	_ = o.Writer.Append([]Record{rec(1)})
	o.Writer.Close()
	// A line that fails to parse followed by good lines is corruption, not a
	// torn tail.
	good := `{"seq":9,"topic":"t","partition":0,"offset":1,"timestamp":"2026-01-01T00:00:00Z","received_at":"2026-01-01T00:00:00Z","capture":1}` + "\n"
	_ = os.WriteFile(path, append(mustRead(t, path), []byte("not json\n"+good)...), 0o600)
	_, _, err := readAll(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want line 2 named", err)
	}
	if _, err := Open(path, false); !errors.As(err, &ce) {
		t.Errorf("Open on a corrupt journal: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeJournal writes n records and returns the journal's path and lines.
func writeJournal(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	o, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := o.Writer.Append([]Record{rec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	head := o.Writer.Head()
	o.Writer.Close()
	lines := bytes.SplitAfter(mustRead(t, path), []byte("\n"))
	lines = lines[:len(lines)-1]
	if res, err := Scan(path, func(Record) error { return nil }); err != nil || res.Head != head || res.Legacy || len(head) != 64 {
		t.Fatalf("fresh journal: %v, head %q, writer's %q", err, res.Head, head)
	}
	return path, lines
}

// Every record carries the running hash: an edit, a deletion, an insertion
// or a reordering breaks it at the line where it happened; Force reads on
// and lists the breaks; a journal that continues after reopening stays
// chained.
func TestChainMakesEditsEvident(t *testing.T) {
	path, lines := writeJournal(t, 5)
	edit := func(name string, change func([][]byte) [][]byte, line int64) {
		t.Run(name, func(t *testing.T) {
			cp := make([][]byte, len(lines))
			for i, l := range lines {
				cp[i] = append([]byte(nil), l...)
			}
			p := filepath.Join(t.TempDir(), "j.jsonl")
			if err := os.WriteFile(p, bytes.Join(change(cp), nil), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Scan(p, func(Record) error { return nil })
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Line != line {
				t.Fatalf("strict read: %v, want a chain break at line %d", err, line)
			}
			if _, err := Open(p, false); !errors.As(err, &ce) {
				t.Errorf("Open appended to an edited journal: %v", err)
			}
			res, err := ScanWith(p, Options{Force: true}, func(Record) error { return nil })
			if err != nil || len(res.Breaks) == 0 || res.Breaks[0] != line {
				t.Errorf("forced read: %v, breaks %v", err, res.Breaks)
			}
		})
	}
	edit("value changed", func(l [][]byte) [][]byte { l[2] = bytes.Replace(l[2], []byte(`"n":3`), []byte(`"n":4`), 1); return l }, 3)
	edit("line deleted", func(l [][]byte) [][]byte { return append(l[:1], l[2:]...) }, 2)
	edit("lines swapped", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, 2)
	edit("chain removed", func(l [][]byte) [][]byte {
		l[3] = append(l[3][:len(l[3])-1-chainSuffixLen], []byte("}\n")...)
		return l
	}, 4)
	edit("line inserted", func(l [][]byte) [][]byte { return append(l[:2], append([][]byte{l[0]}, l[2:]...)...) }, 3)

	o, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = o.Writer.Append([]Record{rec(6)})
	o.Writer.Close()
	if res, err := Scan(path, func(Record) error { return nil }); err != nil || res.Records != 6 {
		t.Errorf("after reopening: %v %+v", err, res)
	}
}

// A journal written before the chain reads as legacy and is appended to
// unchained.
func TestLegacyJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	var b []byte
	for i := 1; i <= 3; i++ {
		r := rec(i)
		r.Seq = int64(i)
		b = append(append(b, r.appendJSON(nil)...), '\n')
	}
	_ = os.WriteFile(path, b, 0o600)
	o, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = o.Writer.Append([]Record{rec(4)})
	o.Writer.Close()
	res, err := Scan(path, func(Record) error { return nil })
	if err != nil || !res.Legacy || res.Head != "" || res.Records != 4 {
		t.Errorf("legacy: %v %+v", err, res)
	}
}

// Salvage keeps every parsable record of a journal with damaged lines in
// the middle, naming them, and the chain breaks they cause.
func TestSalvage(t *testing.T) {
	_, lines := writeJournal(t, 6)
	p := filepath.Join(t.TempDir(), "j.jsonl")
	damaged := append([][]byte{}, lines[:2]...)
	damaged = append(damaged, []byte("{\"seq\":3,\"topic\":\"t\",\"par{\"seq\":7\n"))
	damaged = append(damaged, lines[3:]...)
	_ = os.WriteFile(p, bytes.Join(damaged, nil), 0o600)
	var seqs []int64
	res, err := ScanWith(p, Options{Salvage: true}, func(r Record) error { seqs = append(seqs, r.Seq); return nil })
	if err != nil || len(seqs) != 5 || !reflect.DeepEqual(res.BadLines, []int64{3}) || !reflect.DeepEqual(res.Breaks, []int64{4}) {
		t.Errorf("salvage: %v, seqs %v, bad %v, breaks %v", err, seqs, res.BadLines, res.Breaks)
	}
	if _, err := Scan(p, func(Record) error { return nil }); err == nil {
		t.Error("a strict read accepted the damaged journal")
	}
}

func FuzzScan(f *testing.F) {
	var b bytes.Buffer
	path := filepath.Join(f.TempDir(), "seed.jsonl")
	o, _ := Open(path, false)
	_ = o.Writer.Append([]Record{rec(1), rec(2)})
	o.Writer.Close()
	b.Write(mustReadF(path))
	f.Add(b.Bytes())
	f.Add(append(b.Bytes(), `{"seq":3,"to`...))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "j.jsonl")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, res, err := readAll(p)
		if err != nil {
			var ce *CorruptError
			var ch *ChainError
			if !errors.As(err, &ce) && !errors.As(err, &ch) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if res.Records != int64(len(recs)) {
			t.Fatal("count mismatch")
		}
		// Opening for append must leave only complete records.
		o, err := Open(p, true)
		if err != nil {
			t.Fatalf("open after a clean read: %v", err)
		}
		o.Writer.Close()
		if len(o.Records) != len(recs) {
			t.Fatalf("open kept %d records, read %d", len(o.Records), len(recs))
		}
	})
}

func mustReadF(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// The hand-written line encoder produces exactly what encoding/json does.
func TestLineEncoderMatchesEncodingJSON(t *testing.T) {
	for _, r := range []Record{
		rec(1),
		NewRecord("topic \"q\"", 2, 99, []byte("k<>&é"), []byte("plain text\nwith a newline"), time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), time.Unix(0, 1).UTC(), 3),
		NewRecord("t", 0, 0, []byte{0xff}, []byte{0, 1, 2}, time.Unix(5, 0).UTC(), time.Unix(6, 0).UTC(), 1),
		func() Record { r := rec(4); r.Quarantined = "not JSON"; r.Seq = 12; return r }(),
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("encoder differs:\n got %s\nwant %s", got, want)
		}
	}
}

// readAll reads every complete record.
func readAll(path string) ([]Record, ScanResult, error) {
	var out []Record
	res, err := Scan(path, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, res, err
}
