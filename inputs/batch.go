// Package inputs reads a batch directory (docs/CONTRACT.md, "Inputs"): batch.yaml, the
// instructions and prompt, the anchors with their grades and the student
// essays. It extracts text from .txt, .md and .docx, checksums every file,
// gives every essay a stable id, and reports every problem it finds rather
// than stopping at the first.
package inputs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/encoding/unicode"

	"eng5np/scoring"
)

// Well-known names inside a batch directory.
const (
	BatchFileName    = "batch.yaml"
	InstructionsName = "instructions.md"
	PromptName       = "prompt.md"
	AnchorsDir       = "anchors"
	StudentsDir      = "students"
	AnchorsCSVName   = "anchors.csv"
	GroundTruthName  = "ground_truth.csv"

	// DefaultGradeScale applies when neither config nor batch.yaml names one.
	DefaultGradeScale = "eng5_np_legacy_9_step"
	maxEssayBytes     = 32 << 20
)

// BatchFile is batch.yaml: defaults for this batch, overridden by config.
type BatchFile struct {
	AssignmentID string `yaml:"assignment_id"`
	CourseID     string `yaml:"course_id"`
	GradeScale   string `yaml:"grade_scale"`
	CourseCode   string `yaml:"course_code"`
	Language     string `yaml:"language"`
	BatchLabel   string `yaml:"batch_label"`
}

// Document is one input file with its extracted text.
type Document struct {
	FileName   string // base name
	SourcePath string // path relative to the batch directory, '/'-separated
	Checksum   string // sha256 of the file's bytes, hex
	Bytes      int64
	Text       string // extracted text, '\n' line endings
	Words      int
}

// Anchor is an anchor essay of known grade.
type Anchor struct {
	Document
	ID        string // anchor_id
	WireID    string // ANCHOR_<anchor_id>
	Grade     string // canonical spelling on the scale
	GradeFrom string // "anchors.csv line N" or "file name"
}

// Student is a student essay.
type Student struct {
	Document
	ID     string // essay_id
	WireID string // id sent to the CJ service
}

// FileStatus is one line of the inventory.
type FileStatus struct {
	Path     string // relative to the batch directory
	Role     string // batch config, instructions, prompt, anchors csv, anchor, student, ground truth
	Status   string // ok, skipped, problem
	Detail   string // id and grade, the skip reason, or the problem
	Bytes    int64
	Checksum string
}

// Problem is one thing wrong with the batch, naming the file.
type Problem struct {
	Path string
	Msg  string
	// Grade is set for problems with an anchor's grade (missing, or not on
	// the scale).
	Grade bool
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// ProblemsError lists every problem found; the CLI exits 2 on it.
type ProblemsError []Problem

func (e ProblemsError) Error() string {
	if len(e) == 1 {
		return e[0].String()
	}
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = "  - " + p.String()
	}
	return fmt.Sprintf("%d problems in the batch:\n%s", len(e), strings.Join(lines, "\n"))
}

// Batch is a loaded batch directory.
type Batch struct {
	Dir          string // as given
	Config       BatchFile
	Scale        scoring.Scale
	Instructions Document
	Prompt       Document
	Anchors      []Anchor
	Students     []Student
	// GroundTruth is ground_truth.csv when present (read by the mock judge
	// only); its Text is empty.
	GroundTruth *Document
	Files       []FileStatus
	Problems    []Problem
}

// Options steer Load.
type Options struct {
	// GradeScale overrides batch.yaml; "" means batch.yaml's, else
	// DefaultGradeScale.
	GradeScale string
}

type loader struct {
	b    *Batch
	root string // absolute, symlinks resolved
}

// Load reads the batch directory. It always returns the batch it could read;
// the error is a ProblemsError listing every problem when there is any.
func Load(dir string, opts Options) (*Batch, error) {
	b := &Batch{Dir: dir}
	l := &loader{b: b}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		b.problem("", fmt.Sprintf("batch directory %s not found; pass --inputs DIR (the sample batch is examples/sample)", dir))
		return b, ProblemsError(b.Problems)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		b.problem("", fmt.Sprintf("%s is not a directory; pass --inputs DIR", dir))
		return b, ProblemsError(b.Problems)
	}
	l.root = abs

	l.readBatchFile()
	scaleName := opts.GradeScale
	if scaleName == "" {
		scaleName = b.Config.GradeScale
	}
	if scaleName == "" {
		scaleName = DefaultGradeScale
	}
	if b.Scale, err = scoring.LookupScale(scaleName); err != nil {
		b.problem(BatchFileName, err.Error())
		b.Scale, _ = scoring.LookupScale(DefaultGradeScale)
	}

	if doc, ok := l.readDocument(InstructionsName, "instructions", true); ok {
		b.Instructions = doc
	}
	if doc, ok := l.readDocument(PromptName, "prompt", true); ok {
		b.Prompt = doc
	}
	l.readAnchors()
	l.readStudents()
	l.readGroundTruth()
	l.checkCollisions()
	if len(b.Problems) > 0 {
		return b, ProblemsError(b.Problems)
	}
	return b, nil
}

func (b *Batch) problem(path, msg string) {
	b.Problems = append(b.Problems, Problem{Path: path, Msg: msg})
}

func (b *Batch) file(fs FileStatus) { b.Files = append(b.Files, fs) }

func (l *loader) readBatchFile() {
	data, err := os.ReadFile(filepath.Join(l.root, BatchFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	st := FileStatus{Path: BatchFileName, Role: "batch config", Status: "ok", Bytes: int64(len(data)), Checksum: sum(data)}
	fail := func(msg string) {
		st.Status, st.Detail = "problem", msg
		l.b.problem(BatchFileName, msg)
	}
	defer func() { l.b.file(st) }()
	if err != nil {
		fail(err.Error())
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&l.b.Config); err != nil && err.Error() != "EOF" {
		fail(fmt.Sprintf("invalid: %v (accepted keys: assignment_id, course_id, grade_scale, course_code, language, batch_label)", err))
		return
	}
	for _, f := range []struct{ key, val string }{{"assignment_id", l.b.Config.AssignmentID}, {"course_id", l.b.Config.CourseID}} {
		if f.val == "" {
			continue
		}
		if u, err := uuid.Parse(f.val); err != nil || u.String() != f.val {
			fail(fmt.Sprintf("%s %q is not a lower-case UUID", f.key, f.val))
		}
	}
}

// readFile reads a file inside the batch, refusing paths that escape it.
func (l *loader) readFile(rel string) ([]byte, error) {
	p := filepath.Join(l.root, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	if !within(l.root, real) {
		return nil, fmt.Errorf("escapes the batch directory (it resolves to %s); copy the file into the batch instead of linking it", real)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > maxEssayBytes {
		return nil, fmt.Errorf("larger than %d MiB", maxEssayBytes>>20)
	}
	return os.ReadFile(real)
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// readDocument reads and extracts one text document.
func (l *loader) readDocument(rel, role string, required bool) (Document, bool) {
	data, err := l.readFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			msg := fmt.Sprintf("missing: every batch needs %s (the %s)", rel, role)
			l.b.problem(rel, msg)
			l.b.file(FileStatus{Path: rel, Role: role, Status: "problem", Detail: msg})
		}
		return Document{}, false
	}
	st := FileStatus{Path: rel, Role: role, Status: "ok", Bytes: int64(len(data)), Checksum: sum(data)}
	if err != nil {
		st.Status, st.Detail = "problem", err.Error()
		l.b.problem(rel, err.Error())
		l.b.file(st)
		return Document{}, false
	}
	text, err := extractText(rel, data)
	if err == nil && strings.TrimSpace(text) == "" {
		err = errors.New("empty: no text found")
	}
	if err != nil {
		st.Status, st.Detail = "problem", err.Error()
		l.b.problem(rel, err.Error())
		l.b.file(st)
		return Document{}, false
	}
	doc := Document{FileName: filepath.Base(rel), SourcePath: rel, Checksum: st.Checksum, Bytes: st.Bytes, Text: text, Words: len(strings.Fields(text))}
	st.Detail = fmt.Sprintf("%d words", doc.Words)
	l.b.file(st)
	return doc, true
}

// extractText turns a supported file into text, by extension.
func extractText(rel string, data []byte) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(rel)); ext {
	case ".txt", ".md":
		return decodeText(data)
	case ".docx":
		t, err := DocxText(data)
		return strings.ReplaceAll(t, "\r\n", "\n"), err
	default:
		return "", unsupported(ext)
	}
}

func unsupported(ext string) error {
	switch ext {
	case ".pdf":
		return errors.New("PDF is not supported: export the essay as .docx or .txt")
	case ".doc":
		return errors.New("legacy Word .doc is not supported: save it as .docx")
	case ".rtf", ".odt", ".pages":
		return fmt.Errorf("%s is not supported: save the essay as .docx or .txt", ext)
	case "":
		return errors.New("no file extension: essays must be .txt, .md or .docx")
	default:
		return fmt.Errorf("unsupported file type %s: essays must be .txt, .md or .docx", ext)
	}
}

// decodeText reads UTF-8 (with or without a byte-order mark) or UTF-16 with a
// byte-order mark, and normalizes line endings to '\n'.
func decodeText(data []byte) (string, error) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		out, err := dec.Bytes(data)
		if err != nil {
			return "", errors.New("not valid UTF-16 text")
		}
		data = out
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", errors.New("not UTF-8 text: save the file with UTF-8 encoding")
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "", errors.New("contains NUL bytes: this is a binary file, not text")
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n"), nil
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// listEssays lists the essay files of a sub-directory in name order, recording
// skipped entries in the inventory.
func (l *loader) listEssays(dir, role string) []string {
	entries, err := os.ReadDir(filepath.Join(l.root, dir))
	if err != nil {
		msg := fmt.Sprintf("missing: every batch needs a %s/ directory with at least one essay", dir)
		if !errors.Is(err, fs.ErrNotExist) {
			msg = err.Error()
		}
		l.b.problem(dir+"/", msg)
		l.b.file(FileStatus{Path: dir + "/", Role: role, Status: "problem", Detail: msg})
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var names []string
	for _, e := range entries {
		rel := dir + "/" + e.Name()
		switch {
		case strings.HasPrefix(e.Name(), "~$"):
			l.b.file(FileStatus{Path: rel, Role: role, Status: "skipped", Detail: "Word lock file"})
		case strings.HasPrefix(e.Name(), "."):
			l.b.file(FileStatus{Path: rel, Role: role, Status: "skipped", Detail: "hidden file"})
		case e.IsDir():
			l.b.file(FileStatus{Path: rel, Role: role, Status: "skipped", Detail: "directory: only files directly in " + dir + "/ are read"})
		default:
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		msg := fmt.Sprintf("no essays in %s/: add .txt, .md or .docx files", dir)
		l.b.problem(dir+"/", msg)
	}
	return names
}

// readEssay reads one essay file, recording problems; ok is false when the
// essay cannot be used.
func (l *loader) readEssay(rel, role string) (Document, FileStatus, bool) {
	st := FileStatus{Path: rel, Role: role, Status: "ok"}
	data, err := l.readFile(rel)
	if err == nil {
		st.Bytes, st.Checksum = int64(len(data)), sum(data)
		var text string
		text, err = extractText(rel, data)
		if err == nil && strings.TrimSpace(text) == "" {
			err = errors.New("empty essay: no text found")
		}
		if err == nil {
			doc := Document{FileName: filepath.Base(rel), SourcePath: rel, Checksum: st.Checksum, Bytes: st.Bytes, Text: text, Words: len(strings.Fields(text))}
			return doc, st, true
		}
	}
	st.Status, st.Detail = "problem", err.Error()
	l.b.problem(rel, err.Error())
	return Document{}, st, false
}

func stem(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) }

func (l *loader) readAnchors() {
	type csvEntry struct {
		row  AnchorRow
		used bool
	}
	byFile := map[string]*csvEntry{}
	var entries []*csvEntry
	if data, err := l.readFile(AnchorsCSVName); err == nil {
		rows, errs := ParseAnchorsCSV(bytes.NewReader(data))
		st := FileStatus{Path: AnchorsCSVName, Role: "anchors csv", Status: "ok", Bytes: int64(len(data)), Checksum: sum(data), Detail: fmt.Sprintf("%d rows", len(rows))}
		for _, e := range errs {
			l.b.problem(AnchorsCSVName, strings.TrimPrefix(e.Error(), AnchorsCSVName+" "))
			st.Status, st.Detail = "problem", fmt.Sprintf("%d problem(s)", len(errs))
		}
		for _, r := range rows {
			if prev, dup := byFile[strings.ToLower(r.FileName)]; dup {
				l.b.problem(AnchorsCSVName, fmt.Sprintf("line %d: %s is already listed on line %d", r.Line, r.FileName, prev.row.Line))
				continue
			}
			e := &csvEntry{row: r}
			byFile[strings.ToLower(r.FileName)] = e
			entries = append(entries, e)
		}
		l.b.file(st)
	} else if !errors.Is(err, fs.ErrNotExist) {
		l.b.problem(AnchorsCSVName, err.Error())
	}

	for _, name := range l.listEssays(AnchorsDir, "anchor") {
		rel := AnchorsDir + "/" + name
		doc, st, ok := l.readEssay(rel, "anchor")
		a := Anchor{Document: doc}
		rawGrade, rawID := "", stem(name)
		if e, found := byFile[strings.ToLower(name)]; found {
			e.used = true
			rawGrade, a.GradeFrom = e.row.Grade, fmt.Sprintf("anchors.csv line %d", e.row.Line)
			if e.row.AnchorID != "" {
				rawID = e.row.AnchorID
			}
		} else {
			rawGrade, a.GradeFrom = gradeFromStem(stem(name), l.b.Scale), "file name"
		}
		a.ID = AnchorID(rawID)
		a.WireID = AnchorWireID(a.ID)
		if g, valid := l.b.Scale.Canonical(rawGrade); valid {
			a.Grade = g
		} else {
			var msg string
			if a.GradeFrom == "file name" && rawGrade == "" {
				msg = fmt.Sprintf("no grade: add a row to anchors.csv or end the file name with _<grade> (e.g. anchor_%s_1%s); scale %s has %s", l.b.Scale.Grades[0], filepath.Ext(name), l.b.Scale.Name, strings.Join(l.b.Scale.Grades, ", "))
			} else {
				msg = fmt.Sprintf("grade %q (%s) is not on scale %s (%s)", rawGrade, a.GradeFrom, l.b.Scale.Name, strings.Join(l.b.Scale.Grades, ", "))
			}
			l.b.Problems = append(l.b.Problems, Problem{Path: rel, Msg: msg, Grade: true})
			st.Status, st.Detail = "problem", msg
			ok = false
		}
		if ok {
			st.Detail = fmt.Sprintf("%s grade %s (%s), %d words", a.ID, a.Grade, a.GradeFrom, a.Words)
			l.b.Anchors = append(l.b.Anchors, a)
		}
		l.b.file(st)
	}
	for _, e := range entries {
		if !e.used {
			l.b.problem(AnchorsCSVName, fmt.Sprintf("line %d: %s is not in anchors/", e.row.Line, e.row.FileName))
		}
	}
}

// gradeFromStem parses the grade from a file stem's last '_' token: first as
// written, then with trailing digits stripped ("anchor_F+2" → "F+").
func gradeFromStem(s string, scale scoring.Scale) string {
	i := strings.LastIndex(s, "_")
	if i < 0 {
		return ""
	}
	tok := s[i+1:]
	if g, ok := scale.Canonical(tok); ok {
		return g
	}
	return strings.TrimRight(tok, "0123456789")
}

func (l *loader) readStudents() {
	for _, name := range l.listEssays(StudentsDir, "student") {
		rel := StudentsDir + "/" + name
		doc, st, ok := l.readEssay(rel, "student")
		if ok {
			s := Student{Document: doc, ID: EssayID(stem(name))}
			s.WireID = StudentWireID(s.ID)
			st.Detail = fmt.Sprintf("%s, %d words", s.ID, s.Words)
			l.b.Students = append(l.b.Students, s)
		}
		l.b.file(st)
	}
}

func (l *loader) readGroundTruth() {
	data, err := l.readFile(GroundTruthName)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	st := FileStatus{Path: GroundTruthName, Role: "ground truth", Status: "ok", Bytes: int64(len(data)), Checksum: sum(data), Detail: "read by the mock judge only"}
	if err == nil {
		_, err = ParseGroundTruthCSV(GroundTruthName, bytes.NewReader(data))
	}
	if err != nil {
		st.Status, st.Detail = "problem", err.Error()
		l.b.problem(GroundTruthName, err.Error())
	} else {
		l.b.GroundTruth = &Document{FileName: GroundTruthName, SourcePath: GroundTruthName, Checksum: st.Checksum, Bytes: st.Bytes}
	}
	l.b.file(st)
}

// checkCollisions reports ids that two files share: every id in the artefact
// must map to exactly one input file.
func (l *loader) checkCollisions() {
	ids := map[string]string{}
	wires := map[string]string{}
	claim := func(id, wire, path string) {
		if other, dup := ids[id]; dup {
			l.b.problem(path, fmt.Sprintf("id %q is also the id of %s; rename one of the files", id, other))
			return
		}
		ids[id] = path
		if other, dup := wires[wire]; dup {
			l.b.problem(path, fmt.Sprintf("wire id %q is also that of %s; rename one of the files", wire, other))
			return
		}
		wires[wire] = path
	}
	for _, a := range l.b.Anchors {
		claim(a.ID, a.WireID, a.SourcePath)
	}
	for _, s := range l.b.Students {
		claim(s.ID, s.WireID, s.SourcePath)
	}
}
