package cli

import (
	"net"
	"strings"
	"testing"

	"eng5np/internal/testkit"
	"eng5np/runner"
)

// lastLine is what a shell user reads last.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// execute prints the pre-flight, the phases and the summary, and exits
// with the run's code; every non-zero exit ends with one actionable line.
func TestExecutePrintsTheRunAndExitsWithItsCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		last   []string
	}{
		{"completed", []string{"--seed", "11"}, runner.ExitOK,
			[]string{"check pass broker reachable", "capturing: until", "Summary: completed (exit 0)", "120 comparisons", "verify: OK"}, nil},
		{"metadata fault", []string{"--seed", "2", "--fault", "drop_essay_b_id=0.3"}, runner.ExitFault,
			[]string{"FAULT: missing_metadata lacks essay_b_id", "Summary: metadata_fault (exit 3)"},
			[]string{"essay_b_id", "correlation id", "partition", "offset", "fix the producer"}},
		{"failed batch", []string{"--seed", "6", "--fault", "fail_batch=1"}, runner.ExitBatchFailed,
			[]string{"Summary: failed (exit 6)"}, []string{"the CJ service reported the batch failed", "run the batch again"}},
		{"timeout", []string{"--seed", "6", "--fault", "drop_completion=1", "--completion-timeout", "1s"}, runner.ExitTimeout,
			[]string{"Summary: timeout (exit 4)"}, []string{"timed out after 1s", "eng5np resume"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"execute", "--no-tui", "--inputs", sample, "--output-dir", t.TempDir(), "--mock-latency", "2ms"}, tc.args...)
			code, stdout, stderr := run(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, want := range tc.last {
				if !strings.Contains(lastLine(stderr), want) {
					t.Errorf("the last line does not name %q:\n%s", want, lastLine(stderr))
				}
			}
		})
	}
}

// A broker that is down at the start fails execute's pre-flight and doctor
// with exit 1, naming its address.
func TestBrokerDownExits1NamingIt(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	where := []string{"--inputs", sample, "--output-dir", t.TempDir(), "--stack", "external",
		"--kafka-bootstrap", addr, "--content-service-url", "http://" + addr, "--cj-service-url", "http://" + addr, "--llm-provider", "mock", "--llm-model", "mock-judge-small"}
	code, stdout, stderr := run(t, append([]string{"execute", "--no-tui"}, where...)...)
	if code != runner.ExitFailure || !strings.Contains(stdout, "check fail broker reachable") || !strings.Contains(stdout, addr) {
		t.Errorf("execute: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(lastLine(stderr), "eng5np doctor") {
		t.Errorf("the last line is not actionable: %s", lastLine(stderr))
	}
	code, stdout, _ = run(t, append([]string{"doctor"}, where...)...)
	if code != runner.ExitFailure || !strings.Contains(stdout, addr) {
		t.Errorf("doctor: exit %d\n%s", code, stdout)
	}
}

func TestDoctorPasses(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, "doctor", "--inputs", sample, "--output-dir", t.TempDir())
	if code != 0 || strings.Count(stdout, "check pass") < 11 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// rehydrate refuses what it cannot rebuild, naming why, with exit 2; on an
// execute run it rebuilds and verifies.
func TestRehydrateRefusesWhatItCannotRebuild(t *testing.T) {
	t.Parallel()
	if code, _, se := run(t, "rehydrate", t.TempDir()); code != runner.ExitUsage || !strings.Contains(se, "run.json") {
		t.Errorf("rehydrate of an empty directory: exit %d %s", code, se)
	}
	dry := t.TempDir()
	if code, _, se := run(t, "dry-run", "--inputs", sample, "--output-dir", dry); code != 0 {
		t.Fatalf("dry-run: exit %d %s", code, se)
	}
	if code, _, se := run(t, "rehydrate", testkit.OnlyRunDir(t, dry)); code != runner.ExitUsage || !strings.Contains(se, "dry-run directory") {
		t.Errorf("rehydrate of a dry-run directory: exit %d %s", code, se)
	}
	out := t.TempDir()
	if code, _, se := run(t, "execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--mock-latency", "2ms"); code != 0 {
		t.Fatalf("execute: exit %d %s", code, se)
	}
	code, so, se := run(t, "rehydrate", testkit.OnlyRunDir(t, out))
	if code != 0 || !strings.Contains(so, "verify") {
		t.Errorf("rehydrate: exit %d\n%s\n%s", code, so, se)
	}
}
