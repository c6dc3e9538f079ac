package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"eng5np/runner"
)

// Backend does the dashboard's work; the dashboard calls it only from
// tea.Cmds. runner.Controller implements it.
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

type screenID int

const (
	screenPreflight screenID = iota
	screenLive
	screenSummary
)

// Messages the dashboard receives from the run (through the bridge) and
// from its own commands.
type (
	// preflightCheckDoneMsg carries one check's result.
	preflightCheckDoneMsg struct {
		Gen    int
		Index  int
		Result runner.CheckResult
	}
	// phaseMsg marks a phase of the run.
	phaseMsg struct{ runner.PhaseEvent }
	// captureProgressMsg is a (possibly coalesced) progress report.
	captureProgressMsg struct{ Progress runner.Progress }
	// captureStartedMsg says a capture (re)folds the journal from its
	// start: the log starts over.
	captureStartedMsg struct{}
	// recordsMsg carries the records folded since the last one, for the
	// log.
	recordsMsg struct {
		Records []runner.RecordEvent
		Skipped int // comparisons the bridge did not keep (the log shows the latest)
	}
	// runFinishedMsg ends a run (or a resume).
	runFinishedMsg struct{ Summary runner.Summary }
	// clockMsg refreshes elapsed time and countdowns.
	clockMsg time.Time
	// signalStopMsg replaces a signal's quit while a run is live (see
	// SignalFilter).
	signalStopMsg struct{}
)

// intent is what a screen asks the dashboard to do after a key.
type intent struct {
	kind intentKind
	code int // the exit code of intentQuit
}

type intentKind int

const (
	intentNone    intentKind = iota
	intentStart              // launch the run
	intentStop               // stop the capture (it still finishes)
	intentResume             // resume the capture in place
	intentSummary            // show the summary
	intentLive               // show the (final) live view
	intentSpin               // a screen shows a spinner again
	intentQuit               // leave with code
)

// Model is the dashboard: three screens, one shown at a time.
type Model struct {
	backend Backend
	rep     runner.Reporter // the bridge to the program, set by NewModel
	styles  Styles

	screen        screenID
	width, height int
	pre           preflightScreen
	live          liveScreen
	sum           summaryScreen

	spinner  spinner.Model
	spinning bool // the spinner's tick loop is running
	exitCode int
	startNow bool // start the backend from Init (no pre-flight screen)
	fullHelp bool // `?` shows every key
	watch    bool // a read-only view of another process's run
}

// New builds the dashboard for a backend.
func New(ctx context.Context, b Backend, info Info) Model {
	s := DefaultStyles()
	m := Model{backend: b, styles: s, spinner: spinner.New(spinner.WithSpinner(spinner.Dot)),
		pre: newPreflightScreen(ctx, b, info, s), live: newLiveScreen(info, s), sum: newSummaryScreen(s)}
	m.setSize(80, 24)
	return m
}

func (m *Model) setSize(w, h int) {
	m.width, m.height = w, h
	m.pre.SetSize(w, h)
	m.live.SetSize(w, h)
	m.sum.SetSize(w, h)
}

// setFullHelp switches every screen between the short and the full help.
func (m *Model) setFullHelp(on bool) {
	m.fullHelp = on
	m.pre.fullHelp, m.live.fullHelp, m.sum.fullHelp = on, on, on
	m.live.sync()
	m.sum.sync()
}

// editing reports whether the current screen takes typed text (a filter),
// so that `?` and q are text, not keys.
func (m Model) editing() bool {
	switch m.screen {
	case screenLive:
		return m.live.editing()
	case screenSummary:
		return m.sum.rank.filter.editing
	}
	return false
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
	first := m.pre.runCheck(0)
	if m.startNow {
		first = m.start()
	}
	return tea.Batch(first, m.spinner.Tick, clock(), func() tea.Msg { return clockMsg(time.Now()) })
}

// start is the command that launches the run.
func (m Model) start() tea.Cmd {
	b, rep := m.backend, m.rep
	return func() tea.Msg { b.Start(rep); return nil }
}

// spinnerShown reports whether the current screen shows a spinner.
func (m Model) spinnerShown() bool {
	switch m.screen {
	case screenPreflight:
		return m.pre.spinning()
	case screenLive:
		return m.live.spinning()
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

// Update routes a message to the screens; it never does I/O (work runs in
// the Cmds).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case clockMsg:
		m.live, _, _ = m.live.Update(msg)
		return m, clock()
	case spinner.TickMsg:
		// The spinner only ticks while one is on screen: every tick redraws,
		// and the live view has no spinner once data flows.
		m.spinner, cmd = m.spinner.Update(msg)
		m.pre.frame, m.live.frame = m.spinner.View(), m.spinner.View()
		if !m.spinnerShown() {
			m.spinning = false
			return m, nil
		}
		return m, cmd
	case preflightCheckDoneMsg:
		m.pre, cmd, _ = m.pre.Update(msg)
		return m, cmd
	case phaseMsg, captureProgressMsg, signalStopMsg:
		var in intent
		m.live, cmd, in = m.live.Update(msg)
		return m.apply(in, cmd)
	case recordsMsg, captureStartedMsg:
		m.live, _, _ = m.live.Update(msg)
		return m, nil
	case runFinishedMsg:
		sum := msg.Summary
		m.sum.setSummary(&sum)
		m.exitCode = sum.ExitCode
		m.live.confirmStop, m.live.stopping = false, false
		m.live.finished, m.live.exitCode = &sum, sum.ExitCode
		m.live.sync()
		if sum.Outcome == runner.OutcomeMetadataFault && m.live.snap != nil {
			// The red faults panel keeps the focus until the user has seen it.
			m.live.faultHold = true
			return m, nil
		}
		m.screen = screenSummary
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, helpKey) && !m.editing() {
			m.setFullHelp(!m.fullHelp)
			return m, nil
		}
		if m.tooSmall() {
			// Only leaving works on a terminal too small to show a screen.
			if msg.String() == "ctrl+c" && m.screen == screenPreflight {
				return m.apply(intent{kind: intentQuit, code: runner.ExitInterrupted}, nil)
			}
		}
		var in intent
		switch m.screen {
		case screenPreflight:
			m.pre, cmd, in = m.pre.Update(msg)
		case screenLive:
			m.live, cmd, in = m.live.Update(msg)
		case screenSummary:
			m.sum.log = m.live.log.entries // for essay pages
			m.sum, cmd, in = m.sum.Update(msg)
		}
		return m.apply(in, cmd)
	}
	return m, nil
}

// apply carries out a screen's intent, with the screen's own command.
func (m Model) apply(in intent, cmd tea.Cmd) (tea.Model, tea.Cmd) {
	b, rep := m.backend, m.rep
	switch in.kind {
	case intentStart:
		m.screen = screenLive
		return m, tea.Batch(cmd, m.start(), m.spin())
	case intentStop:
		return m, tea.Batch(cmd, func() tea.Msg { b.Stop(); return nil })
	case intentResume:
		m.live.restart()
		m.sum.setSummary(nil)
		m.screen = screenLive
		return m, tea.Batch(cmd, func() tea.Msg { b.Resume(rep); return nil }, m.spin())
	case intentSummary:
		m.screen = screenSummary
	case intentLive:
		if m.live.snap != nil {
			m.screen = screenLive
		}
	case intentSpin:
		return m, tea.Batch(cmd, m.spin())
	case intentQuit:
		m.exitCode = in.code
		return m, tea.Batch(cmd, tea.Quit)
	}
	return m, cmd
}

// SignalFilter keeps a signal from ending the program in the middle of a
// capture: on the live screen, Bubble Tea's InterruptMsg (SIGINT) and
// QuitMsg (SIGTERM) become a clean stop. The dashboard itself only quits
// from the pre-flight and summary screens.
func SignalFilter(mm tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.InterruptMsg, tea.QuitMsg:
		if m, ok := mm.(Model); ok && m.screen == screenLive && !m.live.faultHold && m.live.finished == nil && !m.watch {
			return signalStopMsg{}
		}
	}
	return msg
}

// View renders the current screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "eng5np · " + m.live.info.BatchLabel
	return v
}

// minWidth and minHeight are the smallest terminal a screen is drawn on.
const minWidth, minHeight = 60, 16

func (m Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

func (m Model) render() string {
	if m.tooSmall() {
		return m.tooSmallView()
	}
	switch m.screen {
	case screenLive:
		return m.live.View()
	case screenSummary:
		return m.sum.View()
	}
	return m.pre.View()
}

// tooSmallView is shown on a terminal below the minimum: a wrapped message
// and one line of status, so a run is never invisible.
func (m Model) tooSmallView() string {
	w := max(m.width, 10)
	msg := fmt.Sprintf("eng5np: the terminal is %d×%d; the dashboard needs at least %d×%d (80×24 is best). Resize it, or run with --no-tui.", m.width, m.height, minWidth, minHeight)
	lines := wrap(msg, w, "")
	status := "pre-flight checks"
	switch {
	case m.screen == screenSummary && m.sum.sum != nil:
		status = fmt.Sprintf("%s · exit %d · q quits", outcomeText(m.sum.sum), m.sum.sum.ExitCode)
	case m.screen == screenLive && m.live.snap != nil:
		p := m.live.snap
		status = fmt.Sprintf("%d/%d comparisons · %s", p.Comparisons, p.Expected, usd(totalUSD(p.CostUSD, p.Models)))
	}
	lines = append(lines, "")
	lines = append(lines, wrap(status, w, "")...)
	for len(lines) > max(1, m.height) {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}
