package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/devstack"
	"eng5np/internal/testkit"
	"eng5np/runner"
)

const plantedSASL = "planted-sasl-Pw-51e0c9"

// The dashboard end to end on a dev stack: the checklist passes, Enter
// starts the run, the live view shows it, the summary shows the artefact,
// q exits with the run's code; a planted secret never reaches the screen.
func TestDashboardEndToEnd(t *testing.T) {
	st := testkit.Stack(t, devstack.Options{Seed: 1, MockLatency: 40 * time.Millisecond})
	env := append([]string{"ENG5NP_KAFKA_SASL_MECHANISM=plain", "ENG5NP_KAFKA_SASL_USERNAME=runner", "ENG5NP_KAFKA_SASL_PASSWORD=" + plantedSASL}, testkit.StackEnv...)
	cfg := testkit.Config(t, config.CmdExecute, env, "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(),
		"--stack", "external", "--kafka-bootstrap", st.Bootstrap, "--content-service-url", st.URL, "--cj-service-url", st.URL, "--llm-provider", "mock", "--llm-model", "mock-judge-small")
	ep, err := runner.ExternalEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep.Kafka.SASL = nil // the dev stack's broker speaks plaintext; the secret is only planted
	ctx := context.Background()
	ctl := runner.NewController(ctx, cfg, ep, nil)
	m, br := NewModel(ctx, ctl, Options{Info: Info{BatchLabel: "sample-later-start", Stack: "embedded", Inputs: testkit.Sample(t)}})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40), teatest.WithProgramOptions(tea.WithFilter(SignalFilter)))
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
	waitFor("Problems")
	waitFor("Summary")
	waitFor("assessment_run.execute.json")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if fm.ExitCode() != 0 {
		t.Errorf("exit code %d", fm.ExitCode())
	}
	if bytes.Contains(seen.Bytes(), []byte(plantedSASL)) {
		t.Error("the dashboard showed the planted SASL password")
	}
	sum := ctl.Wait()
	if sum.Outcome != runner.OutcomeCompleted || sum.Comparisons != 120 || !sum.Verified {
		t.Fatalf("summary %+v", sum)
	}
	if rep, err := artefacts.Verify(sum.RunDir); err != nil || !rep.OK() {
		t.Errorf("verify %v %+v", err, rep)
	}
}
