package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
			if !errors.As(err, &ce) {
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
