package inputs

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"eng5np/scoring"
)

// LineError is a problem on one line of a CSV file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// csvTable is a parsed CSV file: normalized header names and rows with their
// line numbers.
type csvTable struct {
	header []string
	rows   [][]string
	lines  []int
}

// readCSV reads a small CSV file the way spreadsheets write them: a UTF-8
// byte-order mark is dropped, ';' is the separator when the header has no
// ',' (European Excel), header names are matched case-insensitively with '-'
// read as '_', and blank lines are skipped.
func readCSV(name string, r io.Reader, maxBytes int64) (*csvTable, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, &LineError{File: name, Msg: err.Error()}
	}
	if int64(len(data)) > maxBytes {
		return nil, &LineError{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	if !bytes.Contains(first, []byte(",")) && bytes.Contains(first, []byte(";")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	t := &csvTable{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &LineError{File: name, Line: pe.Line, Msg: pe.Err.Error()}
			}
			return nil, &LineError{File: name, Msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		blank := true
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			if rec[i] != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		if t.header == nil {
			for _, h := range rec {
				t.header = append(t.header, strings.ReplaceAll(strings.ToLower(h), "-", "_"))
			}
			continue
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	if t.header == nil {
		return nil, &LineError{File: name, Msg: "empty file: a header row is required"}
	}
	return t, nil
}

// column finds the first header matching one of the names, or -1.
func (t *csvTable) column(names ...string) int {
	for _, n := range names {
		for i, h := range t.header {
			if h == n {
				return i
			}
		}
	}
	return -1
}

func field(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// AnchorRow is one row of anchors.csv.
type AnchorRow struct {
	Line     int
	AnchorID string // raw value; "" when the column is absent or empty
	FileName string
	Grade    string // raw value as written
}

const maxCSVBytes = 16 << 20

// ParseAnchorsCSV reads anchors.csv: a header row naming anchor_id (or
// ANCHOR-ID), file_name (or FILE-NAME) and grade (or pred_mode_grade), in any
// order and case. anchor_id may be absent (the file stem is used). Every
// problem is returned, each naming its line.
func ParseAnchorsCSV(r io.Reader) ([]AnchorRow, []error) {
	const name = "anchors.csv"
	t, err := readCSV(name, r, maxCSVBytes)
	if err != nil {
		return nil, []error{err}
	}
	idCol := t.column("anchor_id")
	fileCol := t.column("file_name", "filename")
	gradeCol := t.column("grade", "pred_mode_grade")
	var errs []error
	if fileCol < 0 || gradeCol < 0 {
		return nil, []error{&LineError{File: name, Line: 1, Msg: fmt.Sprintf("header %q must name file_name (or FILE-NAME) and grade (or pred_mode_grade); anchor_id is optional", strings.Join(t.header, ","))}}
	}
	var rows []AnchorRow
	for i, rec := range t.rows {
		row := AnchorRow{Line: t.lines[i], AnchorID: field(rec, idCol), FileName: field(rec, fileCol), Grade: field(rec, gradeCol)}
		switch {
		case row.FileName == "":
			errs = append(errs, &LineError{File: name, Line: row.Line, Msg: "file_name is empty"})
			continue
		case row.Grade == "":
			errs = append(errs, &LineError{File: name, Line: row.Line, Msg: fmt.Sprintf("grade of %s is empty", row.FileName)})
			continue
		case strings.ContainsAny(row.FileName, `/\`) || row.FileName == "." || row.FileName == "..":
			errs = append(errs, &LineError{File: name, Line: row.Line, Msg: fmt.Sprintf("file_name %q must be a plain file name inside anchors/ (no directories, no ..)", row.FileName)})
			continue
		}
		rows = append(rows, row)
	}
	return rows, errs
}

// ParseComparisonsCSV reads a comparisons file with the header
// winner,loser, or essay_a,essay_b,winner (the winning essay's id; the
// orientation is then known, for the order effect), and an optional judge
// column (case-insensitive; extra columns ignored). An error names the line.
func ParseComparisonsCSV(name string, r io.Reader) ([]scoring.Comparison, error) {
	t, err := readCSV(name, r, 1<<30)
	if err != nil {
		return nil, err
	}
	w, l := t.column("winner", "winner_id"), t.column("loser", "loser_id")
	ea, eb := t.column("essay_a", "essay_a_id"), t.column("essay_b", "essay_b_id")
	judge := t.column("judge")
	oriented := ea >= 0 && eb >= 0 && w >= 0
	if !oriented && (w < 0 || l < 0) {
		return nil, &LineError{File: name, Line: 1, Msg: fmt.Sprintf("header %q must name the columns winner and loser, or essay_a, essay_b and winner (the winning essay's id)", strings.Join(t.header, ","))}
	}
	out := make([]scoring.Comparison, 0, len(t.rows))
	for i, rec := range t.rows {
		var c scoring.Comparison
		if oriented {
			a, b, win := field(rec, ea), field(rec, eb), field(rec, w)
			switch win {
			case a:
				c = scoring.Comparison{Winner: a, Loser: b, Slot: scoring.SlotA}
			case b:
				c = scoring.Comparison{Winner: b, Loser: a, Slot: scoring.SlotB}
			default:
				return nil, &LineError{File: name, Line: t.lines[i], Msg: fmt.Sprintf("winner %q is neither essay_a %q nor essay_b %q", win, a, b)}
			}
		} else {
			c = scoring.Comparison{Winner: field(rec, w), Loser: field(rec, l)}
		}
		if judge >= 0 {
			c.Judge = field(rec, judge)
		}
		switch {
		case c.Winner == "" || c.Loser == "":
			return nil, &LineError{File: name, Line: t.lines[i], Msg: "winner and loser must both be given"}
		case c.Winner == c.Loser:
			return nil, &LineError{File: name, Line: t.lines[i], Msg: fmt.Sprintf("%q is compared with itself", c.Winner)}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, &LineError{File: name, Msg: "no comparisons after the header"}
	}
	return out, nil
}

// LoadGroundTruth reads a ground-truth CSV file (see ParseGroundTruthCSV).
func LoadGroundTruth(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseGroundTruthCSV(path, f)
}

// ParseGroundTruthCSV reads ground_truth.csv: header id,quality (or
// essay_id / anchor_id, latent_quality), id → latent quality on the logit
// scale. Only the mock judge reads it.
func ParseGroundTruthCSV(name string, r io.Reader) (map[string]float64, error) {
	t, err := readCSV(name, r, maxCSVBytes)
	if err != nil {
		return nil, err
	}
	idc, qc := t.column("id", "essay_id", "anchor_id"), t.column("quality", "latent_quality")
	if idc < 0 || qc < 0 {
		return nil, &LineError{File: name, Line: 1, Msg: fmt.Sprintf("header %q must name the columns id and quality", strings.Join(t.header, ","))}
	}
	out := map[string]float64{}
	for i, rec := range t.rows {
		id := field(rec, idc)
		q, err := strconv.ParseFloat(field(rec, qc), 64)
		if id == "" || err != nil || math.IsNaN(q) || math.IsInf(q, 0) {
			return nil, &LineError{File: name, Line: t.lines[i], Msg: "want an id and a finite number"}
		}
		if _, dup := out[id]; dup {
			return nil, &LineError{File: name, Line: t.lines[i], Msg: fmt.Sprintf("id %q appears twice", id)}
		}
		out[id] = q
	}
	return out, nil
}
