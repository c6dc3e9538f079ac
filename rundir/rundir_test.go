package rundir

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestName(t *testing.T) {
	got := Name("sample", "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", time.Date(2026, 11, 25, 19, 9, 29, 0, time.FixedZone("CET", 3600)))
	if got != "sample-20261125T180929-5b0e6f5c" {
		t.Errorf("Name = %s", got)
	}
}

func TestInManifest(t *testing.T) {
	for rel, want := range map[string]bool{
		Inputs: true, Journal: true, Offsets: true, Request: true, RunRecord: true, UploadCache: true,
		Manifest: false, Artefact(ModeExecute): false, Artefact(ModeDryRun): false, Log: false, LogsDir: false,
		"events/.journal.jsonl" + tempMarker + "abc": false, "requests/assessment_run.execute.json": true,
	} {
		if got := InManifest(rel); got != want {
			t.Errorf("InManifest(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestCreateNeverReusesAndWritesPrivately(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	dir, err := Create(out, "x", "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(out, "x", "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", at); err == nil {
		t.Error("a second Create with the same name succeeded")
	}
	if err := WriteJSON(dir, Offsets, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var back map[string]int
	if err := ReadJSON(dir, Offsets, &back); err != nil || back["a"] != 1 {
		t.Fatalf("ReadJSON = %v, %v", back, err)
	}
	for _, p := range []string{dir, filepath.Dir(Path(dir, Offsets))} {
		if st, _ := os.Stat(p); st.Mode().Perm() != DirPerm {
			t.Errorf("%s has mode %v", p, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(Path(dir, Offsets)); st.Mode().Perm() != FilePerm {
		t.Errorf("offsets file has mode %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(Path(dir, Offsets)))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
