package artefacts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eng5np/inputs"
	"eng5np/rundir"
	"eng5np/schemas"
)

func stubRun(t *testing.T, dir string) *AssessmentRun {
	t.Helper()
	b, err := inputs.Load("../inputs/testdata/good", inputs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap := b.Snapshot()
	if err := rundir.WriteJSONAtomic(rundir.Path(dir, rundir.Inputs), snap); err != nil {
		t.Fatal(err)
	}
	build, err := CurrentBuild()
	if err != nil {
		t.Fatal(err)
	}
	return &AssessmentRun{
		Metadata: Metadata{
			AssignmentID: "0b7e7c3e-4a51-4f0e-9c43-6f2d1e8a9b10", CourseID: "7d1c2b3a-5e6f-4a70-8b91-c2d3e4f5a6b7",
			GradeScale: snap.GradeScale, RunnerVersion: build.RunnerVersion, GitSHA: build.GitSHA,
			GeneratedAt: Timestamp(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), RunnerMode: rundir.ModeDryRun,
			BatchUUID: "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", BatchLabel: "fixture",
		},
		Inputs:     InputsSection(snap, nil),
		Validation: Validation{CLIEnvironment: build.Environment()},
	}
}

func TestWriteProducesAValidVerifiableArtefact(t *testing.T) {
	dir := t.TempDir()
	run := stubRun(t, dir)
	res, err := Write(dir, run)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.ArtefactPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.ValidateAssessmentRun(data); err != nil {
		t.Fatalf("written artefact invalid: %v", err)
	}
	// The checksum is the sha256 of the file with its own value zeroed.
	zeroed := bytes.Replace(data, []byte(res.Checksum), []byte(strings.Repeat("0", 64)), 1)
	h := sha256.Sum256(zeroed)
	if hex.EncodeToString(h[:]) != res.Checksum {
		t.Error("checksum is not the sha256 of the zeroed file")
	}
	var manifest []ManifestEntry
	mdata, _ := os.ReadFile(res.ManifestPath)
	if err := json.Unmarshal(mdata, &manifest); err != nil || len(manifest) != 1 || manifest[0].Path != rundir.Inputs {
		t.Fatalf("manifest = %s (%v), want exactly inputs.json", mdata, err)
	}
	for _, p := range []string{res.ArtefactPath, res.ManifestPath, rundir.Path(dir, rundir.Inputs)} {
		if st, _ := os.Stat(p); st.Mode().Perm() != rundir.FilePerm {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	rep, err := Verify(dir)
	if err != nil || !rep.OK() || rep.Checked != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// Round trip: decoding and re-encoding gives the same document.
	var back AssessmentRun
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := rundir.MarshalIndent(&back)
	if !bytes.Equal(again, data) {
		t.Error("artefact does not survive a decode/encode round trip")
	}
}

func TestWriteRefusesAnInvalidArtefact(t *testing.T) {
	dir := t.TempDir()
	run := stubRun(t, dir)
	run.Metadata.GitSHA = "unknown"
	_, err := Write(dir, run)
	var se *SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want SchemaError", err)
	}
	var ve *schemas.ViolationError
	if !errors.As(err, &ve) || ve.Path != "/metadata/git_sha" {
		t.Fatalf("violation = %+v, want the path /metadata/git_sha", ve)
	}
	if _, err := os.Stat(rundir.Path(dir, rundir.Artefact(rundir.ModeDryRun))); !os.IsNotExist(err) {
		t.Error("an invalid artefact was written")
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := map[string]struct {
		tamper func(t *testing.T, dir string)
		want   []string
	}{
		"edited input snapshot": {func(t *testing.T, dir string) {
			appendTo(t, rundir.Path(dir, rundir.Inputs), " ")
		}, []string{"inputs.json: sha256 is"}},
		"edited artefact": {func(t *testing.T, dir string) {
			p := rundir.Path(dir, rundir.Artefact(rundir.ModeDryRun))
			data, _ := os.ReadFile(p)
			_ = os.WriteFile(p, bytes.Replace(data, []byte(`"fixture"`), []byte(`"fixturX"`), 1), 0o600)
		}, []string{"artefact_checksum is", "the artefact was edited"}},
		"deleted file": {func(t *testing.T, dir string) {
			_ = os.Remove(rundir.Path(dir, rundir.Inputs))
		}, []string{"inputs.json: listed in the manifest but missing"}},
		"added file": {func(t *testing.T, dir string) {
			_ = os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o600)
		}, []string{"extra.txt: present in the run directory but not in the manifest"}},
		"edited manifest": {func(t *testing.T, dir string) {
			p := rundir.Path(dir, rundir.Manifest)
			data, _ := os.ReadFile(p)
			_ = os.WriteFile(p, bytes.Replace(data, []byte(`"bytes": `), []byte(`"bytes": 1`), 1), 0o600)
		}, []string{"inputs.json:", "validation.manifest differs from manifest.json"}},
		"schema-breaking edit": {func(t *testing.T, dir string) {
			p := rundir.Path(dir, rundir.Artefact(rundir.ModeDryRun))
			data, _ := os.ReadFile(p)
			_ = os.WriteFile(p, bytes.Replace(data, []byte(`"runner_mode": "dry-run"`), []byte(`"runner_mode": "rehearsal"`), 1), 0o600)
		}, []string{"schema violation at /metadata/runner_mode"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(dir, stubRun(t, dir)); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, dir)
			rep, err := Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("verify passed a tampered run directory")
			}
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.String())
			}
			joined := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("problems do not mention %q:\n%s", w, joined)
				}
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestManifestExclusions(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"inputs.json", "events/journal.jsonl", "logs/run.log", "manifest.json", "assessment_run.execute.json", ".inputs.json.tmp-abc", "requests/req.json"} {
		full := filepath.Join(dir, p)
		_ = os.MkdirAll(filepath.Dir(full), 0o700)
		_ = os.WriteFile(full, []byte(p), 0o600)
	}
	m, err := BuildManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range m {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, ",") != "events/journal.jsonl,inputs.json,requests/req.json" {
		t.Errorf("manifest paths = %v", paths)
	}
}

func TestArtefactValidatesAgainstReferenceSchema(t *testing.T) {
	dir := t.TempDir()
	res, err := Write(dir, stubRun(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(res.ArtefactPath)
	if err := schemas.ValidateReference(data); err != nil {
		t.Fatalf("artefact fails the reference schema: %v", err)
	}
}

// Every property the reference defines keeps its type, pattern, format and
// enum in our schema, and every reference-required field stays required.
func TestSchemaKeepsEveryReferenceField(t *testing.T) {
	var ref, ours map[string]any
	if err := json.Unmarshal(schemas.ReferenceJSON, &ref); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(schemas.AssessmentRunJSON, &ours); err != nil {
		t.Fatal(err)
	}
	resolve := func(doc map[string]any, node map[string]any) map[string]any {
		for {
			r, ok := node["$ref"].(string)
			if !ok {
				return node
			}
			name := strings.TrimPrefix(r, "#/definitions/")
			node = doc["definitions"].(map[string]any)[name].(map[string]any)
		}
	}
	var compare func(path string, r, o map[string]any)
	compare = func(path string, r, o map[string]any) {
		r, o = resolve(ref, r), resolve(ours, o)
		if path == "/validation/cli_environment" {
			return // describes this Go runner (schemas/reference/README.md)
		}
		for _, k := range []string{"type", "pattern", "format", "minimum", "maximum", "minItems"} {
			if rv, ok := r[k]; ok && !equalJSON(rv, o[k]) {
				t.Errorf("%s: %s is %v in the reference, %v in ours", path, k, rv, o[k])
			}
		}
		if re, ok := r["enum"].([]any); ok {
			oe, _ := o["enum"].([]any)
			for _, v := range re {
				if !containsJSON(oe, v) {
					t.Errorf("%s: enum value %v missing from ours", path, v)
				}
			}
		}
		if rr, ok := r["required"].([]any); ok {
			or, _ := o["required"].([]any)
			for _, v := range rr {
				if !containsJSON(or, v) {
					t.Errorf("%s: %v is required in the reference but not in ours", path, v)
				}
			}
		}
		if rp, ok := r["properties"].(map[string]any); ok {
			op, _ := o["properties"].(map[string]any)
			for name, rv := range rp {
				ov, ok := op[name].(map[string]any)
				if !ok {
					t.Errorf("%s/%s: missing from ours", path, name)
					continue
				}
				compare(path+"/"+name, rv.(map[string]any), ov)
			}
		}
		if ri, ok := r["items"].(map[string]any); ok {
			oi, _ := o["items"].(map[string]any)
			compare(path+"/items", ri, oi)
		}
		if ra, ok := r["additionalProperties"].(map[string]any); ok {
			oa, _ := o["additionalProperties"].(map[string]any)
			compare(path+"/additionalProperties", ra, oa)
		}
	}
	compare("", ref, ours)
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func containsJSON(list []any, v any) bool {
	for _, x := range list {
		if equalJSON(x, v) {
			return true
		}
	}
	return false
}
