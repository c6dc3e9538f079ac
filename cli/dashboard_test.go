package cli

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/spf13/pflag"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/runner"
	"eng5np/tui"
)

func loadTestConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.AddCommandFlags(fs, config.CmdExecute)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The dashboard end to end on the embedded stack: the checklist passes,
// Enter starts the run, the live view shows it, the summary shows the
// artefact, q exits with the run's code.
func TestDashboardEndToEnd(t *testing.T) {
	// A planted secret must never reach the screen.
	t.Setenv("ENG5NP_KAFKA_SASL_MECHANISM", "plain")
	t.Setenv("ENG5NP_KAFKA_SASL_USERNAME", "runner")
	t.Setenv("ENG5NP_KAFKA_SASL_PASSWORD", plantedSASL)
	cfg := loadTestConfig(t, "--inputs", sample, "--output-dir", t.TempDir(), "--mock-latency", "40ms")
	ctx := context.Background()
	st, err := openStack(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	b := runner.NewController(ctx, cfg, st.endpoints, nil)
	m, br := tui.NewModel(ctx, b, tui.Options{Info: tui.Info{BatchLabel: "sample-later-start", Stack: "embedded", Inputs: sample}})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40), teatest.WithProgramOptions(tea.WithFilter(tui.SignalFilter)))
	br.Start(tm.GetProgram().Send)
	defer br.Close()

	out := tm.Output()
	var seen bytes.Buffer
	waitFor := func(what string) {
		t.Helper()
		teatest.WaitFor(t, out, func(b []byte) bool {
			seen.Write(b)
			return bytes.Contains(seen.Bytes(), []byte(what))
		}, teatest.WithDuration(60*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	waitFor("Enter to start")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("comparisons/s")
	waitFor("Summary")
	waitFor("assessment_run.execute.json")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(tui.Model)
	if fm.ExitCode() != 0 {
		t.Errorf("exit code %d", fm.ExitCode())
	}
	if bytes.Contains(seen.Bytes(), []byte(plantedSASL)) {
		t.Error("the dashboard showed the planted SASL password")
	}
	sum := b.Wait()
	if sum.Outcome != runner.OutcomeCompleted || sum.Comparisons != 120 || !sum.Verified {
		t.Fatalf("summary %+v", sum)
	}
	if rep, err := artefacts.Verify(sum.RunDir); err != nil || !rep.OK() {
		t.Errorf("verify %v %+v", err, rep)
	}
}
