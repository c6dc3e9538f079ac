package artefacts

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"eng5np/rundir"
	"eng5np/schemas"
)

// FaultAdvice is what to do about a run that stopped on a metadata fault;
// execute, resume and verify all say it.
const FaultAdvice = "fix the producer of the records named in validation.manifest_status.faults (field, correlation id, topic, partition, offset), " +
	"then run the batch again; resuming cannot help, it would meet the same fault"

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Dir      string
	Artefact string // file name
	// Checked counts the manifest entries re-hashed.
	Checked int
	// Problems make verification fail (exit 5); each names its file.
	Problems []VerifyProblem
	// Warnings do not: partial data, recorded metadata faults.
	Warnings []string
	// Irregular are the entries that are not regular files (each is also a
	// problem); nothing should open them.
	Irregular []string
}

// VerifyProblem is one mismatch.
type VerifyProblem struct {
	Path string
	Msg  string
}

func (p VerifyProblem) String() string { return p.Path + ": " + p.Msg }

// OK reports whether every check held.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Add records a problem with path: verification fails.
func (r *VerifyReport) Add(path, format string, args ...any) { r.fail(path, format, args...) }

func (r *VerifyReport) fail(path, format string, args ...any) {
	r.Problems = append(r.Problems, VerifyProblem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Verify re-hashes every manifest entry, looks for files the manifest does
// not list, checks the artefact's checksum, its schema and the reference
// schema's, that its embedded
// manifest matches manifest.json, and that every comparison carries its
// metadata and every id maps to an input. It writes nothing.
func Verify(dir string) (*VerifyReport, error) {
	name, err := rundir.FindArtefact(dir)
	if err != nil {
		return nil, err
	}
	r := &VerifyReport{Dir: dir, Artefact: name}
	irregular := r.checkFileTypes(dir)

	var manifest []ManifestEntry
	if irregular[rundir.Manifest] || irregular[name] {
		return r, nil // reported; not opened
	}
	mdata, err := os.ReadFile(rundir.Path(dir, rundir.Manifest))
	if err != nil {
		r.fail(rundir.Manifest, "cannot be read: %v", err)
	} else if err := json.Unmarshal(mdata, &manifest); err != nil {
		r.fail(rundir.Manifest, "is not a JSON array of {path, sha256, bytes}: %v", err)
	}
	listed := map[string]bool{}
	for _, e := range manifest {
		listed[e.Path] = true
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			r.fail(e.Path, "manifest path leaves the run directory")
			continue
		}
		if irregular[e.Path] {
			continue // reported; never opened (a FIFO would block)
		}
		sum, n, err := HashFile(p)
		r.Checked++
		switch {
		case os.IsNotExist(err):
			r.fail(e.Path, "listed in the manifest but missing")
		case err != nil:
			r.fail(e.Path, "cannot be read: %v", err)
		case sum != e.SHA256:
			r.fail(e.Path, "sha256 is %s, manifest says %s (the file changed after the run wrote it)", sum, e.SHA256)
		case n != e.Bytes:
			r.fail(e.Path, "%d bytes, manifest says %d", n, e.Bytes)
		}
	}
	if mdata != nil {
		current, err := BuildManifest(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range current {
			if !listed[e.Path] {
				r.fail(e.Path, "present in the run directory but not in the manifest")
			}
		}
	}

	adata, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		r.fail(name, "cannot be read: %v", err)
		return r, nil
	}
	if err := schemas.ValidateAssessmentRun(adata); err != nil {
		r.fail(name, "%v", err)
	}
	if err := schemas.ValidateReference(adata); err != nil {
		r.fail(name, "not valid against the reference ENG5 NP schema: %v", err)
	}
	recorded, actual, err := ArtefactChecksum(adata)
	switch {
	case err != nil:
		r.fail(name, "%v", err)
	case recorded != actual:
		r.fail(name, "artefact_checksum is %s but the file hashes to %s (the artefact was edited)", recorded, actual)
	}
	var run AssessmentRun
	if err := json.Unmarshal(adata, &run); err != nil {
		r.fail(name, "cannot be decoded: %v", err)
		return r, nil
	}
	if mdata != nil && !sameManifest(run.Validation.Manifest, manifest) {
		r.fail(name, "validation.manifest differs from manifest.json")
	}
	r.checkCoverage(name, &run)
	return r, nil
}

// checkFileTypes fails every entry of the run directory that is neither a
// regular file nor a directory (a symlink, a named pipe, a socket, a
// device): a run directory holds only files eng5np wrote. It returns them
// by relative path.
func (r *VerifyReport) checkFileTypes(dir string) map[string]bool {
	bad := map[string]bool{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			rel, _ := filepath.Rel(dir, p)
			r.fail(filepath.ToSlash(rel), "cannot be read: %v", err)
			return nil
		}
		if p == dir || d.IsDir() {
			return nil
		}
		if t := d.Type(); !t.IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			bad[rel] = true
			r.Irregular = append(r.Irregular, rel)
			r.fail(rel, "is %s, not a regular file: a run directory holds only the files eng5np wrote", kindOf(t))
		}
		return nil
	})
	return bad
}

func kindOf(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + t.String() + ")"
}

func sameManifest(a, b []ManifestEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkCoverage checks that every comparison has its essay ids and prompt
// hash and that every id names an input.
func (r *VerifyReport) checkCoverage(name string, run *AssessmentRun) {
	ids := map[string]bool{}
	for _, a := range run.Inputs.Anchors {
		ids[a.AnchorID] = true
	}
	for _, s := range run.Inputs.Students {
		ids[s.EssayID] = true
	}
	var missingMeta, unknown int
	for _, c := range run.LLMComparisons {
		if c.EssayAID == "" || c.EssayBID == "" || c.PromptHash == "" {
			missingMeta++
		}
		for _, id := range []string{c.EssayAID, c.EssayBID, c.WinnerID, c.LoserID} {
			if id != "" && !ids[id] {
				unknown++
			}
		}
	}
	for _, e := range run.BTSummary {
		if !ids[e.EssayID] {
			unknown++
		}
	}
	if missingMeta > 0 {
		r.fail(name, "%d comparison(s) lack essay_a_id, essay_b_id or prompt_hash", missingMeta)
	}
	if unknown > 0 {
		r.fail(name, "%d id(s) in llm_comparisons or bt_summary name no input essay", unknown)
	}
	if rs := run.Validation.RunnerStatus; rs != nil && rs.PartialData {
		r.Warnings = append(r.Warnings, fmt.Sprintf("partial data: the capture stopped early (%s); `eng5np resume %s` can complete it", rs.Outcome, r.Dir))
	}
	if ms := run.Validation.ManifestStatus; ms != nil && len(ms.Faults) > 0 {
		kinds := map[string]int{}
		for _, f := range ms.Faults {
			kinds[f.Kind]++
		}
		var parts []string
		for k, n := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
		sort.Strings(parts)
		r.Warnings = append(r.Warnings, fmt.Sprintf("the run stopped on metadata faults (%v); those records are not in the artefact, which is final: %s", parts, FaultAdvice))
	}
}
