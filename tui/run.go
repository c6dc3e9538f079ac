package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"eng5np/runner"
)

// bridge delivers a run's events to the program. Progress snapshots are
// coalesced — only the latest waits, and it is sent at most every
// coalesceEvery — so a fast capture never waits for the screen; phases and
// the finish are always delivered, in order, after any pending snapshot.
type bridge struct {
	send    func(tea.Msg)
	sendMu  sync.Mutex // orders deliveries
	mu      sync.Mutex // guards latest, records and skipped
	latest  *runner.Progress
	records []runner.RecordEvent // folded since the last delivery
	// skipped counts comparisons that fell out of records before they
	// were delivered: the log keeps only the latest maxLog anyway.
	skipped int
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

const coalesceEvery = 50 * time.Millisecond

func newBridge() *bridge {
	return &bridge{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

func (b *bridge) start(send func(tea.Msg)) {
	b.send = send
	go func() {
		defer close(b.done)
		for {
			select {
			case <-b.stop:
				return
			case <-b.wake:
			}
			b.flush()
			select {
			case <-b.stop:
				return
			case <-time.After(coalesceEvery):
			}
		}
	}()
}

// flush sends the pending records and snapshot, if any: records first, so
// that a snapshot never counts what the log has not shown.
func (b *bridge) flush() {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.mu.Lock()
	s, recs, skipped := b.latest, b.records, b.skipped
	b.latest, b.records, b.skipped = nil, nil, 0
	b.mu.Unlock()
	if len(recs) > 0 || skipped > 0 {
		b.send(recordsMsg{Records: recs, Skipped: skipped})
	}
	if s != nil {
		b.send(captureProgressMsg{Progress: *s})
	}
}

// Report implements runner.Reporter.
func (b *bridge) Report(ev runner.Event) {
	switch e := ev.(type) {
	case runner.ProgressEvent:
		b.mu.Lock()
		s := e.Progress
		b.latest = &s
		b.mu.Unlock()
		select {
		case b.wake <- struct{}{}:
		default:
		}
	case runner.RecordEvent:
		if !interesting(e) {
			return
		}
		b.mu.Lock()
		b.records = append(b.records, e)
		if len(b.records) >= 2*maxLog {
			b.records, b.skipped = trimLog(b.records, b.skipped)
		}
		first := len(b.records) == 1
		b.mu.Unlock()
		if first {
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}
	case runner.PhaseEvent:
		b.flush()
		b.sendMu.Lock()
		b.send(phaseMsg{e})
		b.sendMu.Unlock()
	case runner.CaptureStartedEvent:
		// The capture refolds the journal and reports every record again:
		// what came before goes out first, then the log starts over.
		b.flush()
		b.sendMu.Lock()
		b.send(captureStartedMsg{})
		b.sendMu.Unlock()
	case runner.FinishedEvent:
		b.flush()
		b.sendMu.Lock()
		b.send(runFinishedMsg{e.Summary})
		b.sendMu.Unlock()
	}
}

// trimLog keeps every problem record and the latest maxLog comparisons,
// counting the comparisons it drops.
func trimLog(recs []runner.RecordEvent, skipped int) ([]runner.RecordEvent, int) {
	over := len(recs) - maxLog
	kept := make([]runner.RecordEvent, 0, maxLog+16)
	for _, e := range recs {
		if over > 0 && !problem(e) {
			over--
			skipped++
			continue
		}
		kept = append(kept, e)
	}
	return kept, skipped
}

func (b *bridge) close() {
	close(b.stop)
	<-b.done
}

// Options configure Run.
type Options struct {
	Info   Info
	Input  io.Reader // default: the terminal
	Output io.Writer // default: stdout
	// NoColor renders without colour (NO_COLOR is also honoured).
	NoColor bool
	// Profile forces a colour profile (tests; the terminal is detected
	// otherwise). NoColor and NO_COLOR win over it.
	Profile *colorprofile.Profile
	// Width and Height set the size when the output is not a terminal.
	Width, Height int
	// StartLive skips the pre-flight screen and starts the backend at once
	// (resume from the shell).
	StartLive bool
	// Watch is a read-only dashboard of a run another process captures
	// (eng5np watch): no pre-flight, no stop, no resume.
	Watch bool
}

// Bridge delivers a run's events to a program; see NewModel.
type Bridge struct{ b *bridge }

// Start begins delivering to send (a program's Send).
func (b *Bridge) Start(send func(tea.Msg)) { b.b.start(send) }

// Close stops delivering.
func (b *Bridge) Close() { b.b.close() }

// NewModel builds the dashboard and the bridge its backend will report
// through; Start the bridge with the program's Send before a run begins.
func NewModel(ctx context.Context, b Backend, opts Options) (Model, *Bridge) {
	m := New(ctx, b, opts.Info)
	br := newBridge()
	m.rep = br
	if opts.StartLive || opts.Watch {
		m.screen, m.pre.started, m.startNow = screenLive, true, true
	}
	if opts.Watch {
		m.watch, m.live.watch, m.sum.watch = true, true, true
	}
	return m, &Bridge{b: br}
}

// Run shows the dashboard until the user quits, and returns the exit code:
// 0 when they quit before starting, the run's code otherwise.
func Run(ctx context.Context, b Backend, opts Options) (int, error) {
	m, br := NewModel(ctx, b, opts)
	popts := []tea.ProgramOption{tea.WithFilter(SignalFilter)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Width > 0 && opts.Height > 0 {
		popts = append(popts, tea.WithWindowSize(opts.Width, opts.Height))
	}
	switch {
	case opts.NoColor || os.Getenv("NO_COLOR") != "":
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	case opts.Profile != nil:
		popts = append(popts, tea.WithColorProfile(*opts.Profile))
	}
	p := tea.NewProgram(m, popts...)
	br.Start(p.Send)
	final, err := p.Run()
	br.Close()
	fm, ok := final.(Model)
	switch {
	case errors.Is(err, tea.ErrInterrupted) && ok && fm.screen == screenPreflight:
		return 130, nil // interrupted before anything was published
	case errors.Is(err, tea.ErrInterrupted) && ok:
		return fm.ExitCode(), nil
	case ok:
		return fm.ExitCode(), err
	}
	return 1, err
}
