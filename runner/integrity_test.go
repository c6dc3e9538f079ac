package runner_test

// verify proves an artefact complete and untouched: what a forger or a
// damaged disk can do to a run directory, and what verify and rehydrate
// make of it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"eng5np/artefacts"
	"eng5np/devstack"
	"eng5np/journal"
	"eng5np/rundir"
	"eng5np/runner"
)

// completedRun is a fresh copy of one completed run's directory.
func completedRun(t *testing.T) string {
	t.Helper()
	completedOnce.Do(func() {
		o := execute(t, devstack.Options{Seed: 31})
		if o.sum.ExitCode != 0 {
			t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
		}
		// Kept beyond this test's own temporary directory; TestMain
		// removes it.
		dir, err := os.MkdirTemp("", "eng5np-completed-run-")
		if err != nil {
			t.Fatal(err)
		}
		completedDir = filepath.Join(dir, "run")
		if err := os.CopyFS(completedDir, os.DirFS(o.mustArtefact(t).Dir)); err != nil {
			t.Fatal(err)
		}
	})
	if completedDir == "" {
		t.Fatal("no completed run")
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dir, os.DirFS(completedDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	completedOnce sync.Once
	completedDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if completedDir != "" {
		os.RemoveAll(filepath.Dir(completedDir))
	}
	os.Exit(code)
}

func verify(t *testing.T, dir string) *artefacts.VerifyReport {
	t.Helper()
	rep, err := runner.Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func problems(rep *artefacts.VerifyReport) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// readRun decodes the run's artefact.
func readRun(t *testing.T, dir string) *artefacts.AssessmentRun {
	t.Helper()
	data, err := os.ReadFile(rundir.Path(dir, rundir.Artefact(rundir.ModeExecute)))
	if err != nil {
		t.Fatal(err)
	}
	var a artefacts.AssessmentRun
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestVerifyCatchesAConsistentForgery(t *testing.T) {
	t.Parallel()
	if rep := verify(t, completedRun(t)); !rep.OK() {
		t.Fatalf("an untouched run does not verify:\n%s", problems(rep))
	}
	for _, c := range []struct {
		name    string
		forge   func(a *artefacts.AssessmentRun)
		section string
	}{
		{"comparisons dropped", func(a *artefacts.AssessmentRun) { a.LLMComparisons = a.LLMComparisons[:100] }, "llm_comparisons has 100 entries in the artefact, 120 in the journal"},
		{"winner flipped", func(a *artefacts.AssessmentRun) {
			c := &a.LLMComparisons[7]
			c.WinnerID, c.LoserID = c.LoserID, c.WinnerID
		}, "llm_comparisons[7].loser_id"},
		{"cost lowered", func(a *artefacts.AssessmentRun) { a.Costs.TotalUSD /= 2 }, "costs.total_usd"},
		{"grade changed", func(a *artefacts.AssessmentRun) {
			g := &a.GradeProjections[0].Grade
			if *g == "A" {
				*g = "B"
			} else {
				*g = "A"
			}
		}, "grade_projections[0].grade"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := completedRun(t)
			a := readRun(t, dir)
			c.forge(a)
			// The forger recomputes the checksum and the manifest.
			if _, err := artefacts.Write(dir, a); err != nil {
				t.Fatal(err)
			}
			if rep, err := artefacts.Verify(dir); err != nil || !rep.OK() {
				t.Fatalf("the forgery is not byte-consistent: %v %+v", err, rep)
			}
			rep := verify(t, dir)
			if rep.OK() || !strings.Contains(problems(rep), "does not match its journal") {
				t.Fatalf("verify passed a forgery:\n%s", problems(rep))
			}
			if !strings.Contains(problems(rep), c.section) {
				t.Errorf("the problem does not name %q:\n%s", c.section, problems(rep))
			}
		})
	}
}

// editJournal changes one record's line as a tamperer would (a winner
// flipped), then has the manifest re-stamped so that only the chain tells.
func editJournal(t *testing.T, dir string) int {
	t.Helper()
	path := rundir.Path(dir, rundir.Journal)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		if bytes.Contains(l, []byte(`"winner":"Essay A"`)) {
			lines[i] = bytes.Replace(l, []byte(`"winner":"Essay A"`), []byte(`"winner":"Essay B"`), 1)
			if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := artefacts.Write(dir, readRun(t, dir)); err != nil {
				t.Fatal(err)
			}
			return i + 1
		}
	}
	t.Fatal("no verdict in the journal")
	return 0
}

func TestEditedJournal(t *testing.T) {
	t.Parallel()
	dir := completedRun(t)
	line := editJournal(t, dir)
	rep := verify(t, dir)
	if rep.OK() || !strings.Contains(problems(rep), "journal line "+itoa(line)) {
		t.Fatalf("verify of an edited journal:\n%s", problems(rep))
	}
	// rehydrate refuses to re-stamp over it …
	_, err := (&runner.Rehydrate{Dir: dir}).Run()
	var ce *journal.ChainError
	if !errors.As(err, &ce) || ce.Line != int64(line) {
		t.Fatalf("rehydrate: %v, want a chain error at line %d", err, line)
	}
	// … unless forced, which the artefact records and verify reports.
	res, err := (&runner.Rehydrate{Dir: dir, Force: true}).Run()
	if err != nil || !res.Verified || len(res.Breaks) != 1 || res.Breaks[0] != int64(line) {
		t.Fatalf("forced rehydrate: %v %+v", err, res)
	}
	if ji := readRun(t, dir).Validation.Journal; ji == nil || ji.Chain != artefacts.ChainForced || len(ji.Breaks) != 1 {
		t.Errorf("validation.journal %+v", ji)
	}
	rep = verify(t, dir)
	if !rep.OK() || !strings.Contains(strings.Join(rep.Warnings, "\n"), "--force") {
		t.Errorf("verify after a forced rehydrate: %s warnings %v", problems(rep), rep.Warnings)
	}
}

func TestSalvageADamagedJournal(t *testing.T) {
	t.Parallel()
	dir := completedRun(t)
	path := rundir.Path(dir, rundir.Journal)
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	// Two writers interleaved: line 40 is cut and another line spliced in.
	lines[39] = append(lines[39][:len(lines[39])/2], lines[40]...)
	_ = os.WriteFile(path, bytes.Join(lines, nil), 0o600)
	if _, err := (&runner.Rehydrate{Dir: dir}).Run(); err == nil || !strings.Contains(err.Error(), "line 40") {
		t.Fatalf("rehydrate of a damaged journal: %v", err)
	}
	res, err := (&runner.Rehydrate{Dir: dir, Salvage: true}).Run()
	if err != nil || !res.Verified || len(res.BadLines) != 1 || res.BadLines[0] != 40 {
		t.Fatalf("salvage: %v %+v", err, res)
	}
	a := readRun(t, dir)
	if ji := a.Validation.Journal; ji == nil || ji.Chain != artefacts.ChainSalvaged || ji.Records != int64(len(lines)-2) {
		t.Errorf("validation.journal %+v (journal had %d lines)", ji, len(lines)-1)
	}
	if rep := verify(t, dir); !rep.OK() || !strings.Contains(strings.Join(rep.Warnings, "\n"), "salvage") {
		t.Errorf("verify after salvage: %s %v", problems(rep), rep.Warnings)
	}
}

// Only regular files: a symlink or a named pipe in a run directory fails
// verify, and a pipe listed in the manifest is never opened (it would
// block).
func TestVerifyRefusesNonRegularFiles(t *testing.T) {
	t.Parallel()
	dir := completedRun(t)
	if err := os.Symlink("/etc/hostname", rundir.Path(dir, "events/extra.json")); err != nil {
		t.Fatal(err)
	}
	inputs := rundir.Path(dir, rundir.Inputs)
	_ = os.Remove(inputs)
	if err := syscall.Mkfifo(inputs, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, dir)
	p := problems(rep)
	if !strings.Contains(p, "events/extra.json: is a symbolic link") || !strings.Contains(p, "inputs.json: is a named pipe") {
		t.Errorf("verify:\n%s", p)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
