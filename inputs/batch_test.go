package inputs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadGoodBatch(t *testing.T) {
	b, err := Load("testdata/good", Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if b.Scale.Name != "eng5_np_legacy_9_step" || b.Config.AssignmentID != "0b7e7c3e-4a51-4f0e-9c43-6f2d1e8a9b10" || b.Config.BatchLabel != "fixture" {
		t.Errorf("batch.yaml not applied: %+v %+v", b.Scale, b.Config)
	}
	if b.Prompt.Text != "Judge which essay argues better.\nConsider structure and language.\n" {
		t.Errorf("prompt text %q: CRLF should become LF", b.Prompt.Text)
	}

	// Anchors in name order; ids and grades from the CSV (BOM, aliases,
	// case-insensitive grade) or from the file stem.
	type anchor struct{ file, id, wire, grade, from string }
	want := []anchor{
		{"middle_C+2.docx", "middle_c_2", "ANCHOR_middle_c_2", "C+", "file name"},
		{"strong_A1.txt", "strong_a", "ANCHOR_strong_a", "A", "anchors.csv line 2"},
		{"weak.md", "weak-e", "ANCHOR_weak-e", "E-", "anchors.csv line 3"},
	}
	if len(b.Anchors) != len(want) {
		t.Fatalf("%d anchors, want %d: %+v", len(b.Anchors), len(want), b.Anchors)
	}
	for i, w := range want {
		a := b.Anchors[i]
		if a.FileName != w.file || a.ID != w.id || a.WireID != w.wire || a.Grade != w.grade || a.GradeFrom != w.from {
			t.Errorf("anchor %d = %s %s %s %s (%s), want %+v", i, a.FileName, a.ID, a.WireID, a.Grade, a.GradeFrom, w)
		}
	}
	if b.Anchors[0].Text != "A middling anchor about the library.\nThe library should stay open in the evening because many students have nowhere quiet to work at home." {
		t.Errorf("docx anchor text %q", b.Anchors[0].Text)
	}

	// Students in name order (byte order: "a very…" < "b.md" < "essay_word" <
	// "Å…" sorts last as UTF-8), sanitized ids, wire ids ≤ 36.
	var ids, wires []string
	for _, s := range b.Students {
		ids = append(ids, s.ID)
		wires = append(wires, s.WireID)
		if !EssayIDPattern.MatchString(s.ID) {
			t.Errorf("essay id %q does not match %s", s.ID, EssayIDPattern)
		}
		if len(s.WireID) > MaxWireIDLen {
			t.Errorf("wire id %q longer than 36", s.WireID)
		}
		if len(s.Checksum) != 64 {
			t.Errorf("%s: checksum %q", s.FileName, s.Checksum)
		}
	}
	if len(ids) != 4 || ids[1] != "b-"+shortHash("b") || ids[2] != "essay_word" || ids[3] != "asa_oberg" {
		t.Errorf("ids = %v", ids)
	}
	if !strings.HasPrefix(ids[0], "a_very_long_file_name_a_very_long") || len(ids[0]) != 64 {
		t.Errorf("long id %q: want 64 characters with a hash suffix", ids[0])
	}
	if wires[3] != "ASA_OBERG" || len(wires[0]) != 36 {
		t.Errorf("wire ids = %v", wires)
	}
	if b.Students[2].Text != "First paragraph of a Word essay.\n\nThird paragraph after an empty one." {
		t.Errorf("docx paragraphs not kept: %q", b.Students[2].Text)
	}

	// Skipped entries are in the inventory, not among the essays.
	skipped := map[string]string{}
	for _, f := range b.Files {
		if f.Status == "skipped" {
			skipped[f.Path] = f.Detail
		}
	}
	for _, p := range []string{"anchors/~$middle_C+2.docx", "students/.DS_Store", "students/drafts"} {
		if _, ok := skipped[p]; !ok {
			t.Errorf("%s not reported as skipped (skipped: %v)", p, skipped)
		}
	}
	if b.GroundTruth == nil || b.GroundTruth.Checksum == "" {
		t.Error("ground_truth.csv not in the inventory")
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load("testdata/bad", Options{})
	var pe ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want ProblemsError", err)
	}
	got := err.Error()
	for _, want := range []string{
		"batch.yaml: assignment_id \"not-a-uuid\" is not a lower-case UUID",
		"prompt.md: missing",
		"anchors/anchor_x.txt: grade \"Z\" (anchors.csv line 2) is not on scale eng5_np_legacy_9_step",
		"anchors.csv: line 3: missing.txt is not in anchors/",
		"anchors.csv: line 4: file_name \"../escape.txt\" must be a plain file name",
		"anchors/anchor_G.txt: grade \"G\" (file name) is not on scale",
		"anchors/noGrade.txt: no grade",
		"students/report.pdf: PDF is not supported",
		"students/empty.txt: empty essay",
		"students/blank.docx: empty essay",
		"students/old.doc: legacy Word .doc is not supported",
		"students/notes.rtf: .rtf is not supported",
		"students/latin1.txt: not UTF-8 text",
		"students/broken.docx: not a valid .docx",
		"students/anna_berg.md: id \"anna_berg\" is also the id of students/Anna Berg.txt",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not include %q\n%s", want, got)
		}
	}
	if len(pe) != 15 {
		t.Errorf("%d problems, want 15:\n%s", len(pe), got)
	}
}

func TestLoadRejectsSymlinksOutOfTheBatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/semicolon")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("outside text"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "students", "linked.txt")); err != nil {
		t.Fatal(err)
	}
	// A link that stays inside the batch is fine.
	if err := os.Symlink(filepath.Join(dir, "students", "s1.txt"), filepath.Join(dir, "students", "s2.txt")); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "students/linked.txt: escapes the batch directory") {
		t.Fatalf("err = %v, want the escaping link named", err)
	}
	if len(b.Students) != 2 {
		t.Errorf("students = %d, want s1 and the inside link s2", len(b.Students))
	}
}

func TestLoadSemicolonCSVAndNationalScale(t *testing.T) {
	b, err := Load("testdata/semicolon", Options{GradeScale: "eng5_np_national_9_step"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Anchors) != 2 || b.Anchors[0].Grade != "9" || b.Anchors[1].Grade != "1" {
		t.Errorf("anchors %+v", b.Anchors)
	}
	// The same batch on the legacy scale has no such grades.
	_, err = Load("testdata/semicolon", Options{})
	if err == nil || !strings.Contains(err.Error(), `grade "1"`) {
		t.Errorf("err = %v, want the off-scale grade named", err)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	_, err := Load("testdata/nope", Options{})
	if err == nil || !strings.Contains(err.Error(), "testdata/nope not found") || !strings.Contains(err.Error(), "--inputs") {
		t.Fatalf("err = %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	b, err := Load("testdata/good", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := b.Snapshot()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Instructions.Content != b.Instructions.Text || len(s.Essays()) != 7 {
		t.Errorf("snapshot %+v", s)
	}
	m := s.ByWireID()
	if e := m["ANCHOR_strong_a"]; !e.IsAnchor || e.Grade != "A" || e.ID != "strong_a" {
		t.Errorf("anchor by wire id: %+v", e)
	}
	if e := m["ASA_OBERG"]; e.IsAnchor || e.ID != "asa_oberg" {
		t.Errorf("student by wire id: %+v", e)
	}
}
