package e2e

import (
	"bufio"
	"errors"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"eng5np/devstack"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

const relSeed = 21

var (
	cleanOnce sync.Once
	cleanRun  []string
)

// cleanSet is the comparison set of an undisturbed run with relSeed.
func cleanSet(t *testing.T) []string {
	t.Helper()
	cleanOnce.Do(func() {
		st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 2 * time.Millisecond})
		out := t.TempDir()
		code, _, stderr := runCLI(t, testkit.StackEnv, append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out}, addressesOf(st)...)...)
		if code != 0 {
			t.Fatalf("clean run: exit %d\n%s", code, stderr)
		}
		r := testkit.LoadRun(t, testkit.OnlyRunDir(t, out))
		if len(r.Artefact.LLMComparisons) != 120 {
			t.Fatalf("clean run captured %d comparisons", len(r.Artefact.LLMComparisons))
		}
		cleanRun = r.ComparisonSet()
	})
	if cleanRun == nil {
		t.Fatal("no clean run")
	}
	return cleanRun
}

func addressesOf(s *devstack.Stack) []string {
	return append([]string{"--stack", "external", "--kafka-bootstrap", s.Bootstrap, "--content-service-url", s.URL, "--cj-service-url", s.URL}, testkit.MockJudge...)
}

// SIGKILL of a runner process at several points (one of them leaving a torn
// journal line, as a kill during an append does), and Ctrl-C → rehydrate
// shows an interrupted, verifiable artefact → resume → exactly the clean
// set.
func TestReliabilitySIGKILLThenResume(t *testing.T) {
	clean := cleanSet(t)
	points := []struct {
		name    string
		sig     syscall.Signal
		journal int  // signal once the journal holds this many lines (0: as capture starts)
		tear    bool // then cut the last line in half
	}{
		{"SIGKILL as capture starts", syscall.SIGKILL, 0, false},
		{"SIGKILL mid-capture, torn last line", syscall.SIGKILL, 40, true},
		{"SIGKILL near the end", syscall.SIGKILL, 100, false},
		{"Ctrl-C mid-capture", syscall.SIGINT, 60, false},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 150 * time.Millisecond})
			out := t.TempDir()
			cmd, stdout := startBinary(t, testkit.StackEnv, append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out, "--completion-timeout", "60s"}, addressesOf(st)...)...)
			exited := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "capturing") && p.journal == 0 {
						_ = cmd.Process.Signal(p.sig)
					}
				}
				close(exited)
			}()
			if p.journal > 0 {
				testkit.WaitJournal(t, out, p.journal, exited)
				_ = cmd.Process.Signal(p.sig)
			}
			err := cmd.Wait()
			<-exited
			var ee *exec.ExitError
			switch {
			case p.sig == syscall.SIGINT && (!errors.As(err, &ee) || ee.ExitCode() != runner.ExitInterrupted):
				t.Fatalf("Ctrl-C: %v, want exit 130", err)
			case p.sig == syscall.SIGKILL && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL):
				t.Fatalf("the runner was not killed: %v", err)
			}
			dir := testkit.OnlyRunDir(t, out)
			if n := testkit.JournalLines(out); n > 120 {
				t.Fatalf("killed with %d journal lines: the run was already complete", n)
			}
			if p.tear {
				testkit.TearLastLine(t, rundir.Path(dir, rundir.Journal))
			}

			// rehydrate works on the killed run directory alone.
			code, so, se := runCLI(t, nil, "rehydrate", dir)
			if code != 0 {
				t.Fatalf("rehydrate after SIGKILL: exit %d\n%s\n%s", code, so, se)
			}
			if p.tear && !strings.Contains(so, "incomplete last line") {
				t.Errorf("rehydrate does not report the torn line:\n%s", so)
			}
			killed := testkit.LoadRun(t, dir)
			testkit.CheckArtefact(t, killed)
			if rs := killed.Artefact.Validation.RunnerStatus; rs.Outcome != "interrupted" || !rs.PartialData {
				t.Errorf("rehydrated after SIGKILL: status %+v", rs)
			}

			code, so, se = runCLI(t, testkit.StackEnv, "resume", dir, "--completion-timeout", "60s")
			if code != 0 {
				t.Fatalf("resume: exit %d\n%s\n%s", code, so, se)
			}
			r := testkit.LoadRun(t, dir)
			testkit.CheckArtefact(t, r)
			testkit.CheckJournalOnce(t, dir)
			if st := r.Artefact.Validation.RunnerStatus; st.Outcome != "completed" || st.PartialData {
				t.Errorf("after resume: runner status %+v", st)
			}
			if got := r.ComparisonSet(); !reflect.DeepEqual(got, clean) {
				t.Errorf("after resume: %d comparisons differ from the clean run's %d", len(got), len(clean))
			}
		})
	}
}

// One process per run directory: while an execute process captures, a
// resume and a rehydrate of its directory refuse at once, naming the
// holder, and change nothing; the run then completes and verifies.
func TestSecondProcessOnARunDirectoryRefuses(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 100 * time.Millisecond})
	out := t.TempDir()
	cmd, stdout := startBinary(t, testkit.StackEnv, append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out, "--completion-timeout", "60s"}, addressesOf(st)...)...)
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
		close(exited)
	}()
	testkit.WaitJournal(t, out, 20, exited)
	dir := testkit.OnlyRunDir(t, out)
	for _, args := range [][]string{{"resume", dir}, {"rehydrate", dir}} {
		start := time.Now()
		code, so, se := runCLI(t, testkit.StackEnv, args...)
		pid := strconv.Itoa(cmd.Process.Pid)
		if code != runner.ExitFailure || !strings.Contains(se, "in use by pid "+pid) || !strings.Contains(se, "eng5np execute") {
			t.Errorf("%s while execute runs: exit %d\n%s\n%s", args[0], code, so, se)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%s waited %v for the lock instead of refusing", args[0], time.Since(start))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("execute: %v", err)
	}
	<-exited
	r := testkit.LoadRun(t, dir)
	testkit.CheckArtefact(t, r)
	testkit.CheckJournalOnce(t, dir)
	if got := r.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("%d comparisons differ from the clean run's %d", len(got), len(clean))
	}
	if code, so, se := runCLI(t, nil, "verify", dir); code != 0 {
		t.Errorf("verify: exit %d\n%s\n%s", code, so, se)
	}
	// Once the process is gone the directory is free again.
	if code, so, se := runCLI(t, nil, "rehydrate", dir); code != 0 {
		t.Errorf("rehydrate after execute ended: exit %d\n%s\n%s", code, so, se)
	}
}
