package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/internal/testkit"
	"eng5np/rundir"
)

func TestStackUpServesTopicsAndStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			sp := startStackProcess(t)
			cmd, bootstrap := sp.cmd, sp.bootstrap
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			md, err := (&kafka.Client{Addr: kafka.TCP(bootstrap)}).Metadata(ctx, &kafka.MetadataRequest{})
			if err != nil {
				t.Fatal(err)
			}
			parts := map[string]int{}
			for _, tp := range md.Topics {
				parts[tp.Name] = len(tp.Partitions)
			}
			topics := events.NewTopics(events.DefaultTopicPrefix)
			for _, name := range topics.All() {
				want := 1
				if name == topics.ComparisonResult() {
					want = 3
				}
				if parts[name] != want {
					t.Errorf("topic %s has %d partitions, want %d", name, parts[name], want)
				}
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("stack up exited with %v after %s", err, sig)
				}
				t.Logf("stopped %s after %v", sig, time.Since(start))
			case <-time.After(5 * time.Second):
				t.Fatalf("stack up still running 5s after %s", sig)
			}
		})
	}
}

// execute --stack external against `eng5np stack up` in another process
// works as against the embedded stack, and gives the same comparisons for
// the same seed.
func TestExecuteAgainstStackUpProcess(t *testing.T) {
	sp := startStackProcess(t, "--seed", "9", "--mock-latency", "2ms", "--metrics-addr", "127.0.0.1:0")
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, sp.env(), append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out,
		"--llm-provider", "mock", "--llm-model", "mock-judge-small"}, sp.addresses()...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	ext := testkit.LoadRun(t, testkit.OnlyRunDir(t, out))
	testkit.CheckArtefact(t, ext)
	if ext.Artefact.Metadata.Stack != "external" {
		t.Errorf("metadata.stack = %q", ext.Artefact.Metadata.Stack)
	}
	// The stack's own metrics (stack up --metrics-addr) tell the same story.
	fams := scrape(t, sp.metrics)
	n := float64(len(ext.Artefact.LLMComparisons))
	if got := value(fams, "llm_provider_comparison_callbacks_total", map[string]string{"status": "success"}); got != n {
		t.Errorf("llm_provider_comparison_callbacks_total %v, artefact %v comparisons", got, n)
	}
	if got := value(fams, "cj_assessment_comparisons_requested_total", nil); got != n {
		t.Errorf("cj_assessment_comparisons_requested_total %v, want %v", got, n)
	}
	if got := value(fams, "llm_provider_queue_wait_seconds", nil); got != n {
		t.Errorf("llm_provider_queue_wait_seconds observed %v times, want %v", got, n)
	}
	if value(fams, "cj_assessment_batches_total", map[string]string{"status": "completed"}) != 1 || value(fams, "cj_assessment_waves_total", nil) < 2 {
		t.Error("cj_assessment_batches_total / waves_total do not show one completed multi-wave batch")
	}
	embOut := t.TempDir()
	code, _, stderr = runCLI(t, nil, "execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", embOut, "--seed", "9", "--mock-latency", "2ms")
	if code != 0 {
		t.Fatalf("embedded: exit %d\n%s", code, stderr)
	}
	emb := testkit.LoadRun(t, testkit.OnlyRunDir(t, embOut))
	if !reflect.DeepEqual(emb.ComparisonSet(), ext.ComparisonSet()) {
		t.Error("the embedded stack and stack up gave different comparisons for the same seed")
	}
}

// Ctrl-C during capture: the journal is flushed, the artefact written, exit 130.
func TestExecuteInterruptedExits130(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary(t), "execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out,
		"--fault", "late=1", "--late-delay", "60s")
	cmd.Env = testkit.CleanEnv()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "capturing") {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for sc.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130", err)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("execute did not stop within 15s of SIGINT")
	}
	dir := testkit.OnlyRunDir(t, out)
	rep, err := artefacts.Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after interrupt: %v %+v", err, rep)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "assessment_run.execute.json"))
	if !strings.Contains(string(data), `"outcome": "interrupted"`) || !strings.Contains(string(data), `"partial_data": true`) {
		t.Error("the artefact does not record the interruption")
	}
}

// A binary that cannot know its commit refuses to write an artefact, even
// when run inside another git repository (it never asks git), and says so
// in --version; one stamped at link time records that commit.
func TestProvenanceComesFromTheBinary(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	unstamped := filepath.Join(t.TempDir(), "eng5np")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", unstamped, ".")
	build.Dir = testkit.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Another repository, with a commit of its own.
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "other"}} {
		c := exec.Command("git", args...)
		c.Dir = repo
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	run := func(bin string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = repo
		cmd.Env = testkit.CleanEnv()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	code, out := run(unstamped, "--version")
	if code != 0 || !strings.Contains(out, "commit unknown") || strings.Contains(out, strings.TrimSpace(string(head))) {
		t.Errorf("--version of an unstamped binary: exit %d %q", code, out)
	}
	runs := filepath.Join(t.TempDir(), "runs")
	code, out = run(unstamped, "execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", runs)
	if code != 1 || !strings.Contains(out, "make build") || strings.Contains(out, strings.TrimSpace(string(head))) {
		t.Errorf("execute with an unstamped binary: exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(runs); len(entries) > 0 {
		t.Errorf("an unstamped binary created %d run directories", len(entries))
	}
	code, out = run(binary(t), "--version")
	if code != 0 || !strings.Contains(out, testkit.TestCommit) || !strings.Contains(out, "link-time stamp") {
		t.Errorf("--version of a stamped binary: exit %d %q", code, out)
	}
	code, out = run(binary(t), "dry-run", "--inputs", testkit.Sample(t), "--output-dir", runs)
	if code != 0 {
		t.Fatalf("dry-run: exit %d\n%s", code, out)
	}
	entries, _ := os.ReadDir(runs)
	if len(entries) != 1 {
		t.Fatalf("%d run directories", len(entries))
	}
	raw, err := os.ReadFile(filepath.Join(runs, entries[0].Name(), rundir.Artefact(rundir.ModeDryRun)))
	if err != nil || !strings.Contains(string(raw), `"git_sha": "`+testkit.TestCommit+`"`) {
		t.Errorf("dry-run artefact does not name the stamped commit (%v)", err)
	}
}
