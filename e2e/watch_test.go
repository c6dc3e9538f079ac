package e2e

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eng5np/internal/testkit"
)

// eng5np watch follows a run that another process is capturing: two
// watchers at once (one plain, one on a terminal) see the run progress and
// end with its summary and exit code, while the capturing process keeps
// the run's lock throughout; a watcher of the finished run shows its
// summary at once.
func TestWatchFollowsAnotherProcess(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t, "--seed", "4", "--mock-latency", "1200ms")
	out := t.TempDir()
	exe, dir := startCapturing(t, out, sp.env(), append([]string{"--llm-provider", "mock", "--llm-model", "mock-judge-small"}, sp.addresses()...)...)

	tm := startTerminal(t, 100, 30, nil, "watch", dir)
	// The live view first, read-only: no stop key.
	live := tm.waitFor(20*time.Second, "watch", "comparisons", "deadline in", "q quit watching")
	if strings.Contains(live, "stop (asks first)") {
		t.Errorf("the watcher offers to stop the run:\n%s", live)
	}
	plain := exec.Command(binary(t), "watch", "--no-tui", "--poll", "100ms", dir)
	plain.Env = testkit.CleanEnv()
	plainOut, _ := plain.StdoutPipe()
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	ps := bufio.NewScanner(plainOut)
	for ps.Scan() {
		lines = append(lines, ps.Text())
	}
	plainErr := plain.Wait()
	if err := exe.Wait(); err != nil {
		t.Fatalf("execute: %v", err)
	}
	text := strings.Join(lines, "\n")
	progress := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "progress ") {
			progress++
		}
	}
	if plainErr != nil || progress < 2 || !strings.Contains(text, "Summary: completed") || !strings.Contains(text, "verify: OK") || strings.Contains(text, "press") {
		t.Errorf("plain watch: %v, %d progress lines:\n%s", plainErr, progress, text)
	}
	// The terminal watcher saw the live view, then the summary.
	tm.waitFor(30*time.Second, "Summary", "completed", "exit 0", "Final ranking")
	tm.press("\t")
	tm.waitFor(10*time.Second, "watch", "120/120 comparisons", "finished: completed")
	tm.press("q")
	if code := tm.exit(10 * time.Second); code != 0 {
		t.Errorf("terminal watcher: exit %d", code)
	}
	// A finished run: the summary at once, and the run's exit code.
	code, stdout, _ := runCLI(t, nil, "watch", "--no-tui", dir)
	if code != 0 || !strings.Contains(stdout, "Summary: completed (exit 0)") && !strings.Contains(stdout, "Summary: completed with warnings (exit 0)") {
		t.Errorf("watch of a finished run: exit %d\n%s", code, stdout)
	}
	// Watching wrote nothing: the run still verifies.
	if code, stdout, stderr := runCLI(t, nil, "verify", dir); code != 0 {
		t.Errorf("verify after watching: %d\n%s\n%s", code, stdout, stderr)
	}
}

// watch names a directory that is not a run and exits 2.
func TestWatchRefusesANonRun(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, nil, "watch", "--no-tui", filepath.Join(t.TempDir(), "nope"))
	if code != 2 || !strings.Contains(stderr, "run directory") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// A watcher of a run whose capturing process is killed does not wait for
// ever: it says the process is gone and what is left, and exits 130.
func TestWatchNoticesAKilledCapture(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	exe, dir := startCapturing(t, out, nil, "--mock-latency", "2s")
	w := exec.Command(binary(t), "watch", "--no-tui", "--poll", "100ms", dir)
	w.Env = testkit.CleanEnv()
	var wout strings.Builder
	w.Stdout = &wout
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	time.Sleep(time.Second)
	_ = exe.Process.Kill()
	_ = exe.Wait() // reaped, as a shell would: a zombie still has its pid
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("watch exit %v, want 130\n%s", err, wout.String())
		}
		if !strings.Contains(wout.String(), "ended without recording the end of capture 1") || !strings.Contains(wout.String(), "rehydrate") {
			t.Errorf("watch did not say the capture was abandoned:\n%s", wout.String())
		}
	case <-time.After(30 * time.Second):
		_ = w.Process.Kill()
		t.Fatalf("the watcher kept waiting after the capture was killed:\n%s", wout.String())
	}
}

// startCapturing starts `eng5np execute --no-tui` on the sample batch into
// out, with env and args added, and returns once it is capturing, with its
// run directory. The process is killed when the test ends.
func startCapturing(t *testing.T, out string, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	exe := exec.Command(binary(t), append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out}, args...)...)
	exe.Dir = testkit.Root(t)
	exe.Env = append(testkit.CleanEnv(), env...)
	exeOut, _ := exe.StdoutPipe()
	if err := exe.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exe.Process.Kill() })
	sc := bufio.NewScanner(exeOut)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "capturing") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return exe, testkit.OnlyRunDir(t, out)
}
