package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"eng5np/artefacts"
	"eng5np/events"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds eng5np once per test run, for tests that need a real
// process (signals, SIGKILL, a second process talking to the first).
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eng5np-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "eng5np")
		out, err := exec.Command("go", "build", "-o", binPath, "..").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// stackProc is an `eng5np stack up` process and its addresses.
type stackProc struct {
	cmd                     *exec.Cmd
	bootstrap, url, metrics string
}

// startStackProcess runs `eng5np stack up` on free ports and returns the
// process and its bootstrap and HTTP addresses (and the metrics address with
// --metrics-addr) once it is ready.
func startStackProcess(t *testing.T, args ...string) *stackProc {
	t.Helper()
	cmd, stdout := startBinary(t, append([]string{"stack", "up", "--kafka-port", "0", "--http-port", "0", "--ground-truth", "../examples/sample/ground_truth.csv"}, args...)...)
	sc := bufio.NewScanner(stdout)
	var bootstrap, url, metrics string
	deadline := time.After(20 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for bootstrap == "" || url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stack up exited before it was ready")
			}
			f := strings.Fields(l)
			switch {
			case strings.HasPrefix(l, "metrics: http://"):
				metrics = strings.TrimSuffix(strings.TrimPrefix(l, "metrics: http://"), "/metrics")
			case strings.HasPrefix(l, "  Kafka bootstrap"):
				bootstrap = f[len(f)-1]
			case strings.HasPrefix(l, "  content service"):
				url = strings.TrimSuffix(f[len(f)-1], "/v1/content")
			}
		case <-deadline:
			t.Fatal("stack up did not print its addresses within 20s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return &stackProc{cmd: cmd, bootstrap: bootstrap, url: url, metrics: metrics}
}

// startBinary starts the eng5np binary with a clean environment, stderr
// discarded; it is killed when the test ends if still running.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stdout
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "ENG5NP_") && k != "KAFKA_BOOTSTRAP_SERVERS" {
			env = append(env, kv)
		}
	}
	return env
}

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
	bootstrap, url := sp.bootstrap, sp.url
	out := t.TempDir()
	code, stdout, stderr := run(t, "execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--stack", "external",
		"--kafka-bootstrap", bootstrap, "--content-service-url", url, "--cj-service-url", url)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	entries, _ := os.ReadDir(out)
	ext := &scenario{dir: filepath.Join(out, entries[0].Name())}
	ext.raw, _ = os.ReadFile(filepath.Join(ext.dir, "assessment_run.execute.json"))
	ext.run = &artefacts.AssessmentRun{}
	if err := json.Unmarshal(ext.raw, ext.run); err != nil {
		t.Fatal(err)
	}
	checkArtefact(t, ext)
	if ext.run.Metadata.Stack != "external" {
		t.Errorf("metadata.stack = %q", ext.run.Metadata.Stack)
	}
	// The stack's own metrics (stack up --metrics-addr) tell the same story.
	fams := scrape(t, sp.metrics)
	n := float64(len(ext.run.LLMComparisons))
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
	emb := execute(t, "--seed", "9")
	if emb.code != 0 {
		t.Fatalf("embedded: exit %d\n%s", emb.code, emb.stderr)
	}
	if !reflect.DeepEqual(emb.comparisonSet(), ext.comparisonSet()) {
		t.Error("the embedded stack and stack up gave different comparisons for the same seed")
	}
}

// Ctrl-C during capture: the journal is flushed, the artefact written, exit 130.
func TestExecuteInterruptedExits130(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary(t), "execute", "--no-tui", "--inputs", sample, "--output-dir", out,
		"--fault", "late=1", "--late-delay", "60s")
	cmd.Env = cleanEnv()
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
	entries, _ := os.ReadDir(out)
	dir := filepath.Join(out, entries[0].Name())
	rep, err := artefacts.Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after interrupt: %v %+v", err, rep)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "assessment_run.execute.json"))
	if !strings.Contains(string(data), `"outcome": "interrupted"`) || !strings.Contains(string(data), `"partial_data": true`) {
		t.Error("the artefact does not record the interruption")
	}
}
