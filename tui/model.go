package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"eng5np/runner"
)

// Backend does the dashboard's work; the dashboard calls it only from
// tea.Cmds. The CLI implements it with the runner.
type Backend interface {
	// Checks lists the pre-flight checks in order; a new list after Reset.
	Checks() []runner.Check
	// Reset prepares a fresh set of checks (for `r`).
	Reset()
	// RunCheck runs check i and returns its result.
	RunCheck(ctx context.Context, i int) runner.CheckResult
	// Start launches the run in the background; it reports to rep and ends
	// with a FinishedEvent.
	Start(rep runner.Reporter)
	// Resume resumes the finished run's capture in place, in the background.
	Resume(rep runner.Reporter)
	// Stop interrupts the running capture (it still finishes and reports).
	Stop()
}

// Info describes the run for the headers.
type Info struct {
	BatchLabel string
	Stack      string
	Inputs     string
}

type screen int

const (
	screenPreflight screen = iota
	screenLive
	screenSummary
)

// Messages the dashboard receives.
type (
	// preflightCheckDoneMsg carries one check's result.
	preflightCheckDoneMsg struct {
		Gen    int
		Index  int
		Result runner.CheckResult
	}
	// phaseMsg marks a phase of the run.
	phaseMsg struct{ runner.PhaseEvent }
	// captureProgressMsg is a (possibly coalesced) progress snapshot.
	captureProgressMsg struct{ Progress runner.Progress }
	// runFinishedMsg ends a run (or a resume).
	runFinishedMsg struct{ Summary runner.Summary }
	// clockMsg refreshes elapsed time and countdowns.
	clockMsg time.Time
)

type checkState int

const (
	checkPending checkState = iota
	checkRunning
	checkDone
)

type checkRow struct {
	check  runner.Check
	state  checkState
	result runner.CheckResult
}

// Model is the dashboard.
type Model struct {
	backend Backend
	rep     runner.Reporter // the bridge to the program, set by Run
	info    Info
	styles  Styles
	keys    keyMap
	ctx     context.Context

	screen        screen
	width, height int
	now           time.Time

	gen     int // pre-flight generation, so results of a superseded run are ignored
	checks  []checkRow
	spinner spinner.Model

	phase       runner.PhaseEvent
	snap        *runner.Progress
	confirmStop bool
	stopping    bool
	resumes     int

	summary   *runner.Summary
	faultHold bool // a hard fault ended the run; the live view shows it until Enter
	exitCode  int
	started   bool
	startNow  bool // start the backend from Init (no pre-flight screen)
	spinning  bool // the spinner's tick loop is running
}

// New builds the dashboard for a backend.
func New(ctx context.Context, b Backend, info Info) Model {
	m := Model{backend: b, info: info, styles: DefaultStyles(), keys: defaultKeys(), ctx: ctx,
		width: 80, height: 24, spinner: spinner.New(spinner.WithSpinner(spinner.Dot))}
	m.resetChecks()
	return m
}

func (m *Model) resetChecks() {
	m.gen++
	m.checks = nil
	for _, c := range m.backend.Checks() {
		m.checks = append(m.checks, checkRow{check: c})
	}
}

// ExitCode is the code the process should exit with once the program ends:
// 0 when quitting before a run, the run's code after one.
func (m Model) ExitCode() int { return m.exitCode }

func clock() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return clockMsg(t) })
}

// Init starts the first check (or, with startNow, the run), the spinner and
// the clock.
func (m Model) Init() tea.Cmd {
	// Init cannot change the model, so the spinner's first tick loop is
	// started here unconditionally and stops itself when not shown.
	first := m.runCheck(0)
	if m.startNow {
		b, rep := m.backend, m.rep
		first = func() tea.Msg { b.Start(rep); return nil }
	}
	return tea.Batch(first, m.spinner.Tick, clock(), func() tea.Msg { return clockMsg(time.Now()) })
}

func (m *Model) runCheck(i int) tea.Cmd {
	if i >= len(m.checks) {
		return nil
	}
	m.checks[i].state = checkRunning
	b, ctx, gen := m.backend, m.ctx, m.gen
	return func() tea.Msg {
		return preflightCheckDoneMsg{Gen: gen, Index: i, Result: b.RunCheck(ctx, i)}
	}
}

// spinnerShown reports whether a spinner is on screen.
func (m Model) spinnerShown() bool {
	switch m.screen {
	case screenPreflight:
		done, _ := m.preflightDone()
		return !done
	case screenLive:
		return m.snap == nil
	}
	return false
}

// spin restarts the spinner's ticks when a screen needs it again.
func (m *Model) spin() tea.Cmd {
	if m.spinning || !m.spinnerShown() {
		return nil
	}
	m.spinning = true
	return m.spinner.Tick
}

// preflightDone reports whether every check finished, and whether one failed.
func (m Model) preflightDone() (done, blocked bool) {
	for _, c := range m.checks {
		if c.state != checkDone {
			return false, false
		}
		if c.result.Status == runner.Fail {
			blocked = true
		}
	}
	return true, blocked
}

// Update handles a message; it never does I/O (work runs in the Cmds).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case clockMsg:
		m.now = time.Time(msg)
		return m, clock()
	case spinner.TickMsg:
		// The spinner only ticks while one is on screen: every tick redraws,
		// and the live view has no spinner once data flows.
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		if !m.spinnerShown() {
			m.spinning = false
			return m, nil
		}
		return m, cmd
	case preflightCheckDoneMsg:
		if msg.Gen != m.gen || msg.Index >= len(m.checks) {
			return m, nil
		}
		m.checks[msg.Index].state = checkDone
		m.checks[msg.Index].result = msg.Result
		return m, m.runCheck(msg.Index + 1)
	case phaseMsg:
		m.phase = msg.PhaseEvent
		return m, nil
	case captureProgressMsg:
		s := msg.Progress
		m.snap = &s
		m.now = s.Now
		return m, nil
	case runFinishedMsg:
		sum := msg.Summary
		m.summary = &sum
		m.exitCode = sum.ExitCode
		m.confirmStop, m.stopping = false, false
		if sum.Outcome == runner.OutcomeMetadataFault && m.snap != nil {
			// The red faults panel keeps the focus until the user has seen it.
			m.faultHold = true
			return m, nil
		}
		m.screen = screenSummary
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case signalStopMsg:
		// SIGINT or SIGTERM from outside the terminal during a run: stop
		// cleanly without asking; the summary follows.
		if !m.stopping {
			m.confirmStop, m.stopping = false, true
			b := m.backend
			return m, func() tea.Msg { b.Stop(); return nil }
		}
	}
	return m, nil
}

// signalStopMsg replaces a signal's quit while a run is live (see
// SignalFilter).
type signalStopMsg struct{}

// SignalFilter keeps a signal from ending the program in the middle of a
// capture: on the live screen, Bubble Tea's InterruptMsg (SIGINT) and
// QuitMsg (SIGTERM) become a clean stop. The dashboard itself only quits
// from the pre-flight and summary screens.
func SignalFilter(mm tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.InterruptMsg, tea.QuitMsg:
		if m, ok := mm.(Model); ok && m.screen == screenLive && !m.faultHold {
			return signalStopMsg{}
		}
	}
	return msg
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch m.screen {
	case screenPreflight:
		switch {
		case key.Matches(msg, m.keys.Quit):
			m.exitCode = 0
			return m, tea.Quit
		case key.Matches(msg, m.keys.Rerun):
			if done, _ := m.preflightDone(); !done {
				return m, nil
			}
			m.backend.Reset()
			m.resetChecks()
			first := m.runCheck(0)
			return m, tea.Batch(first, m.spin())
		case key.Matches(msg, m.keys.Start):
			if done, blocked := m.preflightDone(); !done || blocked || m.started {
				return m, nil
			}
			m.started = true
			m.screen = screenLive
			b, rep := m.backend, m.rep
			return m, tea.Batch(func() tea.Msg { b.Start(rep); return nil }, m.spin())
		}
	case screenLive:
		switch {
		case m.faultHold && key.Matches(msg, m.keys.Start):
			m.faultHold = false
			m.screen = screenSummary
		case m.faultHold && key.Matches(msg, m.keys.Quit):
			return m, tea.Quit
		case m.faultHold:
		case m.confirmStop && key.Matches(msg, m.keys.Yes):
			m.confirmStop, m.stopping = false, true
			b := m.backend
			return m, func() tea.Msg { b.Stop(); return nil }
		case m.confirmStop && key.Matches(msg, m.keys.No):
			m.confirmStop = false
		case !m.confirmStop && !m.stopping && key.Matches(msg, m.keys.Stop):
			m.confirmStop = true
		}
	case screenSummary:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m, tea.Quit
		case key.Matches(msg, m.keys.Resume) && m.summary != nil && m.summary.Resumable:
			m.resumes++
			m.screen = screenLive
			m.snap = nil
			m.summary = nil
			b, rep := m.backend, m.rep
			return m, tea.Batch(func() tea.Msg { b.Resume(rep); return nil }, m.spin())
		}
	}
	return m, nil
}

// View renders the current screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "eng5np · " + m.info.BatchLabel
	return v
}

func (m Model) render() string {
	if m.width < 60 || m.height < 16 {
		return "eng5np: the terminal is too small (at least 80×24 is best); resize it, or run with --no-tui"
	}
	switch m.screen {
	case screenLive:
		return m.renderLive()
	case screenSummary:
		return m.renderSummary()
	}
	return m.renderPreflight()
}
