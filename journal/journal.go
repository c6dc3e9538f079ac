// Package journal is the run's event journal: every record consumed from
// Kafka, one JSON line each, appended and fsync'd before it affects any state
// (docs/CONTRACT.md, "Capture"). Hydration, resume and rehydrate read it back;
// a torn last line (a crash during an append) is detected and discarded, never
// fatal.
package journal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Record is one consumed Kafka record.
type Record struct {
	// Seq numbers records 1, 2, … in the order they were appended.
	Seq       int64  `json:"seq"`
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	// The record's exact value bytes are in exactly one of: ValueJSON, when
	// they are a JSON document on one line (embedded verbatim, so the
	// journal stays readable and cheap to write); Value, when they are other
	// UTF-8 text; ValueB64, base64-encoded, otherwise. Key likewise (Key or
	// KeyB64).
	Key       string          `json:"key,omitempty"`
	KeyB64    string          `json:"key_b64,omitempty"`
	ValueJSON json.RawMessage `json:"value_json,omitempty"`
	Value     string          `json:"value,omitempty"`
	ValueB64  string          `json:"value_b64,omitempty"`
	// Timestamp is the broker's; ReceivedAt is when the runner read it.
	Timestamp  time.Time `json:"timestamp"`
	ReceivedAt time.Time `json:"received_at"`
	// Capture numbers the capture session that read it: 1 for execute, then
	// one more per resume.
	Capture int `json:"capture"`
	// Quarantined holds the decode error of a record that is not a valid
	// event of its topic; the record is kept but never applied.
	Quarantined string `json:"quarantined,omitempty"`
	// Chain is the journal's running hash after this record (64 hex):
	// SHA-256 of the previous record's chain (32 zero bytes for the first)
	// and this record's line without its chain member. The writer adds it;
	// it is always the line's last member.
	Chain string `json:"chain,omitempty"`

	// Pos is the byte offset of the record's line in the journal file (not
	// serialized).
	Pos int64 `json:"-"`
}

// NewRecord fills a record from a message's raw parts. It keeps value (no
// copy): the caller must not change it afterwards.
func NewRecord(topic string, partition int, offset int64, key, value []byte, ts, received time.Time, capture int) Record {
	r := Record{Topic: topic, Partition: partition, Offset: offset, Timestamp: ts.UTC(), ReceivedAt: received.UTC(), Capture: capture}
	if utf8.Valid(key) {
		r.Key = string(key)
	} else {
		r.KeyB64 = base64.StdEncoding.EncodeToString(key)
	}
	switch {
	case len(value) > 0 && bytes.IndexByte(value, '\n') < 0 && bytes.IndexByte(value, '\r') < 0 && gojson.Valid(value):
		r.ValueJSON = value
	case utf8.Valid(value):
		r.Value = string(value)
	default:
		r.ValueB64 = base64.StdEncoding.EncodeToString(value)
	}
	return r
}

// IsJSON reports whether the value is a JSON document (kept as ValueJSON).
func (r *Record) IsJSON() bool { return len(r.ValueJSON) > 0 }

// Bytes returns the record's exact value bytes.
func (r *Record) Bytes() []byte {
	if len(r.ValueJSON) > 0 {
		return r.ValueJSON
	}
	if r.ValueB64 != "" {
		b, err := base64.StdEncoding.DecodeString(r.ValueB64)
		if err == nil {
			return b
		}
	}
	return []byte(r.Value)
}

// Writer appends records. It is not safe for concurrent use: the capture
// loop owns it.
type Writer struct {
	f   *os.File
	buf []byte // the group being appended, reused
	seq int64
	pos int64
	// prev is the chain after the last record; legacy is set when
	// appending to a journal written before the chain existed, which stays
	// unchained.
	prev   [sha256.Size]byte
	legacy bool
	h      hash.Hash
}

// Head is the chain after the last record appended (hex), "" for an
// unchained journal.
func (w *Writer) Head() string {
	if w.legacy || w.seq == 0 {
		return ""
	}
	return hex.EncodeToString(w.prev[:])
}

// Records is how many records the journal holds.
func (w *Writer) Records() int64 { return w.seq }

// OpenResult is what Open found in an existing journal.
type OpenResult struct {
	Writer *Writer
	// Records are the complete records already in the journal.
	Records []Record
	// TornBytes is how many bytes of an incomplete last line were discarded.
	TornBytes int64
}

// Open opens (creating when missing) the journal at path for appending. An
// existing journal is read first: complete records are returned, and a torn
// last line is truncated away so that appends continue on a line boundary.
// With keep false the existing records are scanned but not returned.
func Open(path string, keep bool) (*OpenResult, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	res := &OpenResult{}
	var lastSeq int64
	good, sr, err := scan(f, Options{}, func(r Record) error {
		lastSeq = r.Seq
		if keep {
			res.Records = append(res.Records, r)
		}
		return nil
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > good {
		res.TornBytes = st.Size() - good
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("discard the torn last line of the journal: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	w := &Writer{f: f, seq: lastSeq, pos: good, legacy: sr.Legacy, h: sha256.New()}
	if sr.Head != "" {
		_, _ = hex.Decode(w.prev[:], []byte(sr.Head))
	}
	res.Writer = w
	return res, nil
}

// Append writes the records as one group, assigning their Seq and Pos, and
// fsyncs before returning: one fsync per group keeps durability per record
// without one disk flush per message.
func (w *Writer) Append(recs []Record) error {
	w.buf = w.buf[:0]
	pos := w.pos
	for i := range recs {
		w.seq++
		recs[i].Seq = w.seq
		recs[i].Pos = pos
		before := len(w.buf)
		w.buf = recs[i].appendJSON(w.buf)
		if !w.legacy {
			w.buf = w.chain(w.buf, before)
			recs[i].Chain = hex.EncodeToString(w.prev[:])
		}
		w.buf = append(w.buf, '\n')
		pos += int64(len(w.buf) - before)
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("append to journal: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync journal: %w", err)
	}
	w.pos = pos
	return nil
}

// chain hashes the record encoded in b[from:] (ending in '}') onto the
// running chain and appends its chain member.
func (w *Writer) chain(b []byte, from int) []byte {
	w.h.Reset()
	w.h.Write(w.prev[:])
	w.h.Write(b[from:])
	w.h.Sum(w.prev[:0])
	b = append(b[:len(b)-1], chainPrefix...)
	b = hex.AppendEncode(b, w.prev[:])
	return append(b, '"', '}')
}

// chainPrefix starts a line's chain member; chainSuffixLen is the length of
// the whole member and the closing brace: ,"chain":"<64 hex>"}.
const (
	chainPrefix    = `,"chain":"`
	chainSuffixLen = len(chainPrefix) + 2*sha256.Size + 2
)

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// ScanResult summarizes a read of the journal.
type ScanResult struct {
	Records   int64
	TornBytes int64 // an incomplete last line that was skipped
	// Legacy is set for a journal written before records carried a chain.
	Legacy bool
	// Head is the chain after the last record read (hex), "" when legacy.
	Head string
	// Breaks are the lines (1-based) whose chain does not follow from the
	// line before: the journal was edited there (read with Force or
	// Salvage; Strict stops at the first).
	Breaks []int64 `json:"breaks,omitempty"`
	// BadLines are the unparsable lines skipped by Salvage.
	BadLines []int64 `json:"bad_lines,omitempty"`
}

// Options say how a read treats a damaged journal.
type Options struct {
	// Force reads on past chain breaks, recording them in Breaks.
	Force bool
	// Salvage also skips unparsable lines before the last, recording them
	// in BadLines (and the chain breaks they cause).
	Salvage bool
	// Trust skips checking the chain: for re-reading a journal this
	// process has just read or written.
	Trust bool
}

// Scan reads the journal at path in order, calling fn for each complete
// record, checking the chain. A missing journal has no records. An
// incomplete or unparsable last line is skipped and reported; an
// unparsable line before the last is a *CorruptError naming its line, and a
// line whose chain does not follow is a *ChainError.
func Scan(path string, fn func(Record) error) (ScanResult, error) {
	return ScanWith(path, Options{}, fn)
}

// ScanWith is Scan with options for damaged journals.
func ScanWith(path string, opts Options, fn func(Record) error) (ScanResult, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ScanResult{}, nil
	}
	if err != nil {
		return ScanResult{}, err
	}
	defer f.Close()
	good, res, err := scan(f, opts, fn)
	if err != nil {
		return res, err
	}
	if st, err := f.Stat(); err == nil && st.Size() > good {
		res.TornBytes = st.Size() - good
	}
	return res, nil
}

// CorruptError is an unreadable line that is not the last one.
type CorruptError struct {
	Line int64
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal line %d is corrupt (%v); only a torn last line can be discarded safely", e.Line, e.Err)
}

// ChainError is a line whose chain does not follow from the line before:
// the journal was changed after it was written.
type ChainError struct {
	Line int64
	Seq  int64
	Why  string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("journal line %d (seq %d) %s: the journal was changed after it was written", e.Line, e.Seq, e.Why)
}

// scan reads complete records from the start of f and returns the byte
// length of the complete part. A line that fails to parse is treated as torn
// when nothing but whitespace follows it.
func scan(f *os.File, opts Options, fn func(Record) error) (int64, ScanResult, error) {
	var res ScanResult
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, res, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	h := sha256.New()
	var prev, sum [sha256.Size]byte
	chained := false
	var pos, good int64
	var line, lastGood int64
	finish := func() {
		// Bad lines after the last good one are a torn tail, not salvaged
		// damage.
		for len(res.BadLines) > 0 && res.BadLines[len(res.BadLines)-1] > lastGood {
			res.BadLines = res.BadLines[:len(res.BadLines)-1]
		}
		if chained && !opts.Trust {
			res.Head = hex.EncodeToString(prev[:])
		}
	}
	brk := func(r *Record, why string) error {
		if opts.Force || opts.Salvage {
			res.Breaks = append(res.Breaks, line)
			return nil
		}
		return &ChainError{Line: line, Seq: r.Seq, Why: why}
	}
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			line++
			var r Record
			if perr := gojson.Unmarshal(b, &r); perr != nil || r.Topic == "" || r.Seq <= 0 {
				if perr == nil {
					perr = errors.New("missing seq or topic")
				}
				if opts.Salvage {
					res.BadLines = append(res.BadLines, line)
					pos += int64(len(b))
					continue
				}
				rest, _ := io.ReadAll(br)
				if len(bytes.TrimSpace(rest)) == 0 {
					finish()
					return good, res, nil // torn last line
				}
				return good, res, &CorruptError{Line: line, Err: perr}
			}
			if !opts.Trust {
				body := bytes.TrimRight(b, "\r\n")
				has := r.Chain != "" && len(body) > chainSuffixLen && bytes.HasPrefix(body[len(body)-chainSuffixLen:], []byte(chainPrefix))
				switch {
				case res.Records == 0 && len(res.BadLines) == 0:
					chained = has
					res.Legacy = !has
				case has != chained:
					if err := brk(&r, "differs from the lines before in carrying a chain"); err != nil {
						return good, res, err
					}
				}
				if has {
					h.Reset()
					h.Write(prev[:])
					h.Write(body[:len(body)-chainSuffixLen])
					h.Write([]byte{'}'})
					h.Sum(sum[:0])
					var got [sha256.Size]byte
					if _, derr := hex.Decode(got[:], []byte(r.Chain)); derr != nil || got != sum {
						if err := brk(&r, "does not follow from the line before it"); err != nil {
							return good, res, err
						}
					}
					// Continue from the line's own chain: a break is
					// reported once, not for every line after it.
					prev = got
				}
			}
			r.Pos = pos
			res.Records++
			lastGood = line
			if ferr := fn(r); ferr != nil {
				return good, res, ferr
			}
			pos += int64(len(b))
			good = pos
			continue
		}
		if err == io.EOF {
			finish()
			return good, res, nil // b, if any, is an incomplete last line
		}
		if err != nil {
			return good, res, err
		}
	}
}

// appendJSON encodes the record as one JSON line (without the newline), the
// same document json.Marshal gives, without reflection: this runs for every
// consumed record. ValueJSON was validated when the record was made, so it
// is appended verbatim.
func (r *Record) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"topic":`...)
	b = appendString(b, r.Topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Offset, 10)
	if r.Key != "" {
		b = append(b, `,"key":`...)
		b = appendString(b, r.Key)
	}
	if r.KeyB64 != "" {
		b = append(b, `,"key_b64":`...)
		b = appendString(b, r.KeyB64)
	}
	if len(r.ValueJSON) > 0 {
		b = append(b, `,"value_json":`...)
		b = append(b, r.ValueJSON...)
	}
	if r.Value != "" {
		b = append(b, `,"value":`...)
		b = appendString(b, r.Value)
	}
	if r.ValueB64 != "" {
		b = append(b, `,"value_b64":`...)
		b = appendString(b, r.ValueB64)
	}
	b = append(b, `,"timestamp":"`...)
	b = r.Timestamp.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received_at":"`...)
	b = r.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","capture":`...)
	b = strconv.AppendInt(b, int64(r.Capture), 10)
	if r.Quarantined != "" {
		b = append(b, `,"quarantined":`...)
		b = appendString(b, r.Quarantined)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Plain ASCII is copied; anything
// else goes through encoding/json for exact escaping.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Tail follows a journal that another process appends to: each Read
// returns the complete records added since the last one. It never writes
// and takes no lock; the chain is not checked (verify does that), and an
// incomplete last line is left for the next Read, since its writer may be
// in the middle of it.
type Tail struct {
	path string
	pos  int64 // byte offset after the last complete line read
	line int64
}

// NewTail follows the journal at path from its start.
func NewTail(path string) *Tail { return &Tail{path: path} }

// ErrTruncated is returned when the journal became shorter than what was
// read: it was replaced, and a follower must start again.
var ErrTruncated = errors.New("the journal is shorter than before: it was replaced")

// Read calls fn with every complete record past the last Read, in order,
// and returns how many there were. A missing journal has none yet.
func (t *Tail) Read(fn func(Record) error) (int, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() < t.pos {
		return 0, ErrTruncated
	}
	if _, err := f.Seek(t.pos, io.SeekStart); err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	n := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 || b[len(b)-1] != '\n' {
			if err == nil || err == io.EOF {
				return n, nil // nothing more, or a line still being written
			}
			return n, err
		}
		t.line++
		var r Record
		if perr := gojson.Unmarshal(b, &r); perr != nil || r.Topic == "" || r.Seq <= 0 {
			if perr == nil {
				perr = errors.New("missing seq or topic")
			}
			return n, &CorruptError{Line: t.line, Err: perr}
		}
		r.Pos = t.pos
		t.pos += int64(len(b))
		n++
		if ferr := fn(r); ferr != nil {
			return n, ferr
		}
	}
}
