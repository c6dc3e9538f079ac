package e2e

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"eng5np/internal/testkit"
)

// terminal runs eng5np on a pseudo-terminal of a fixed size and keeps a
// virtual terminal's screen of what it drew, as a user's terminal would
// show it; the emulator also answers the program's terminal queries.
type terminal struct {
	t    *testing.T
	pty  *os.File
	mu   sync.Mutex // the emulator's cells are read while output arrives
	emu  *vt.SafeEmulator
	cmd  *exec.Cmd
	done chan error
}

func startTerminal(t *testing.T, w, h int, env []string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = testkit.Root(t)
	cmd.Env = append(append(testkit.CleanEnv(), "TERM=xterm-256color"), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, pty: f, emu: vt.NewSafeEmulator(w, h), cmd: cmd, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				tm.mu.Lock()
				_, _ = tm.emu.Write(buf[:n])
				tm.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { _, _ = io.Copy(f, tm.emu) }()
	go func() { tm.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
	})
	return tm
}

// screen is the terminal's text now, one line per row.
func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	var b strings.Builder
	for y := 0; y < tm.emu.Height(); y++ {
		for x := 0; x < tm.emu.Width(); x++ {
			c := tm.emu.CellAt(x, y)
			switch {
			case c == nil:
				b.WriteByte(' ')
			case c.Content == "":
				if c.Width == 0 {
					continue // the tail of a wide character
				}
				b.WriteByte(' ')
			default:
				b.WriteString(c.Content)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// waitFor waits until the screen shows every text, and returns it.
func (tm *terminal) waitFor(timeout time.Duration, texts ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.screen()
		all := true
		for _, text := range texts {
			if !strings.Contains(s, text) {
				all = false
				break
			}
		}
		if all {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %q within %s; it shows:\n%s", texts, timeout, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// press types keys: text, or "enter".
func (tm *terminal) press(keys ...string) {
	for _, k := range keys {
		if k == "enter" {
			k = "\r"
		}
		if _, err := tm.pty.Write([]byte(k)); err != nil {
			tm.t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exit waits for the process and returns its exit code.
func (tm *terminal) exit(timeout time.Duration) int {
	tm.t.Helper()
	select {
	case err := <-tm.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		tm.t.Fatalf("the process did not exit within %s; the screen shows:\n%s", timeout, tm.screen())
	}
	return -1
}

// A metadata fault on a real terminal: the red panel says the capture
// stopped, the clocks stop, the keys to go on are whole at 80×24, Enter
// shows the summary and q exits 3.
func TestTerminalMetadataFault(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	tm := startTerminal(t, 80, 24, nil, "execute", "--inputs", testkit.Sample(t), "--output-dir", out,
		"--fault", "drop_prompt_sha256=0.2", "--mock-latency", "20ms")
	tm.waitFor(60*time.Second, "Enter to start")
	tm.press("enter")
	s := tm.waitFor(60*time.Second, "stopped: metadata fault", "enter summary", "q quit (exit 3)", "assessment_run.execute.json")
	if strings.Contains(s, "deadline in") {
		t.Errorf("the deadline still counts after the capture stopped:\n%s", s)
	}
	// The clocks stay still.
	time.Sleep(1500 * time.Millisecond)
	if again := tm.screen(); again != s {
		t.Errorf("the held fault screen changed while nothing happened:\n%s\nthen\n%s", s, again)
	}
	tm.press("enter")
	tm.waitFor(10*time.Second, "Summary", "metadata fault", "exit 3", "q quit (exit 3)")
	tm.press("q")
	if code := tm.exit(15 * time.Second); code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
}

// A timeout, then `r` on the summary: the in-place resume waits the run's
// own completion timeout (not a fresh 30 minutes); when it times out again
// the advice names --completion-timeout and the elapsed time covers both
// captures.
func TestTerminalTimeoutThenResumeInPlace(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	tm := startTerminal(t, 100, 30, nil, "execute", "--inputs", testkit.Sample(t), "--output-dir", out,
		"--fault", "late=0.3", "--late-delay", "7s", "--completion-timeout", "4s", "--mock-latency", "10ms")
	tm.waitFor(60*time.Second, "Enter to start")
	tm.press("enter")
	s := tm.waitFor(60*time.Second, "Summary", "timeout", "exit 4", "r resume capture in place")
	if strings.Contains(s, "press r") {
		t.Errorf("the summary's advice names a key:\n%s", s)
	}
	tm.press("r")
	s = tm.waitFor(20*time.Second, "deadline in 00:0", "resumed: capture 2")
	if strings.Contains(s, "deadline in 29:") || strings.Contains(s, "deadline in 30:") {
		t.Errorf("the in-place resume got a fresh 30 minutes:\n%s", s)
	}
	s = tm.waitFor(30*time.Second, "Summary", "timed out again", "--completion-timeout", "exit 4")
	if !regexp.MustCompile(`00:(0[89]|1[0-9]) capturing`).MatchString(s) {
		t.Errorf("the elapsed time does not cover both 4 s captures:\n%s", s)
	}
	tm.press("q")
	if code := tm.exit(15 * time.Second); code != 4 {
		t.Errorf("exit %d after the second timeout, want 4", code)
	}
}

// Leaving a failed pre-flight exits 1; Ctrl-C before anything started
// exits 130.
func TestTerminalPreflightExitCodes(t *testing.T) {
	t.Parallel()
	tm := startTerminal(t, 80, 24, nil, "execute", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(),
		"--stack", "external", "--kafka-bootstrap", "127.0.0.1:1", "--content-service-url", "http://127.0.0.1:1", "--cj-service-url", "http://127.0.0.1:1",
		"--llm-provider", "mock", "--llm-model", "mock-judge-small")
	tm.waitFor(90*time.Second, "blocking check", "q quit (exit 1)")
	tm.press("q")
	if code := tm.exit(15 * time.Second); code != 1 {
		t.Errorf("quitting a failed pre-flight: exit %d, want 1", code)
	}
	tm = startTerminal(t, 80, 24, nil, "execute", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir())
	tm.waitFor(60*time.Second, "pre-flight")
	tm.press("\x03")
	if code := tm.exit(15 * time.Second); code != 130 {
		t.Errorf("Ctrl-C on the pre-flight: exit %d, want 130", code)
	}
}

// TERM=dumb on a real terminal gets the plain lines, not the dashboard,
// and they never name a key.
func TestTerminalDumbGetsPlainLines(t *testing.T) {
	t.Parallel()
	tm := startTerminal(t, 120, 40, []string{"TERM=dumb"}, "execute", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(),
		"--mock-latency", "1ms")
	s := tm.waitFor(60*time.Second, "check pass", "Summary: completed")
	if tm.emu.IsAltScreen() || strings.Contains(s, "press") || strings.Contains(s, "enter start") {
		t.Errorf("TERM=dumb got the dashboard or key hints:\n%s", s)
	}
	if code := tm.exit(15 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}
