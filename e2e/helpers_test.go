// Package e2e holds the tests that need eng5np as a process: signals,
// SIGKILL, a second process talking to the first, what a user's shell sees.
// Everything else is tested in-process in its own package.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"eng5np/cli"
	"eng5np/internal/testkit"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds eng5np once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eng5np-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "eng5np")
		cmd := exec.Command("go", "build", "-ldflags", "-X eng5np/artefacts.gitSHA="+testkit.TestCommit, "-o", binPath, ".")
		cmd.Dir = testkit.Root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runCLI runs eng5np in this process with a clean environment plus env.
func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(args, append(testkit.CleanEnv(), env...), &out, &errb)
	return code, out.String(), errb.String()
}

// startBinary starts the eng5np binary in the repository's root (where a
// user runs it from a checkout) with a clean environment plus env, stderr
// discarded; it is killed when the test ends if still running.
func startBinary(t *testing.T, env []string, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = testkit.Root(t)
	cmd.Env = append(testkit.CleanEnv(), env...)
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

// stackProc is an `eng5np stack up` process and its addresses.
type stackProc struct {
	cmd                     *exec.Cmd
	bootstrap, url, metrics string
	secret                  string   // the admin API's JWT secret it printed
	lines                   []string // what it printed before it was ready
}

// startStackProcess runs `eng5np stack up` on free ports and returns it
// once it printed its addresses (and the metrics address with
// --metrics-addr).
func startStackProcess(t *testing.T, args ...string) *stackProc {
	t.Helper()
	cmd, stdout := startBinary(t, nil, append([]string{"stack", "up", "--kafka-port", "0", "--http-port", "0",
		"--ground-truth", filepath.Join(testkit.Sample(t), "ground_truth.csv")}, args...)...)
	sc := bufio.NewScanner(stdout)
	sp := &stackProc{cmd: cmd}
	deadline := time.After(20 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for sp.bootstrap == "" || sp.url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stack up exited before it was ready")
			}
			sp.lines = append(sp.lines, l)
			f := strings.Fields(l)
			switch {
			case strings.HasPrefix(l, "ENG5NP_JWT_SECRET_KEY="):
				sp.secret = strings.TrimPrefix(l, "ENG5NP_JWT_SECRET_KEY=")
			case strings.HasPrefix(l, "metrics: http://"):
				sp.metrics = strings.TrimSuffix(strings.TrimPrefix(l, "metrics: http://"), "/metrics")
			case strings.HasPrefix(l, "  Kafka bootstrap"):
				sp.bootstrap = f[len(f)-1]
			case strings.HasPrefix(l, "  content service"):
				sp.url = strings.TrimSuffix(f[len(f)-1], "/v1/content")
			}
		case <-deadline:
			t.Fatal("stack up did not print its addresses within 20s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return sp
}

// env authenticates a run to the stack process.
func (sp *stackProc) env() []string { return []string{"ENG5NP_JWT_SECRET_KEY=" + sp.secret} }

// addresses are the flags that point a run at a stack process.
func (sp *stackProc) addresses() []string {
	return append([]string{"--stack", "external", "--kafka-bootstrap", sp.bootstrap, "--content-service-url", sp.url, "--cj-service-url", sp.url}, testkit.MockJudge...)
}

// scrape reads /metrics and returns its families by name.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value sums the samples of family name whose labels include want; a
// family without samples (a vector nothing was counted in) is 0.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}
