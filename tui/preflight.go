package tui

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"eng5np/runner"
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

// preflightScreen is the checklist: every check of doctor with a spinner
// while it runs, then its verdict, duration, detail and fix.
type preflightScreen struct {
	backend Backend
	ctx     context.Context
	info    Info
	styles  Styles
	keys    preflightKeys
	help    help.Model

	width, height int
	frame         string // the spinner's current frame
	gen           int    // generation of the checks, so results of a superseded run are ignored
	checks        []checkRow
	started       bool // Enter started the run
	fullHelp      bool
	scroll        scroller    // the selected check (-1: none; Enter starts)
	detail        *detailView // a check's full detail and fix
}

func newPreflightScreen(ctx context.Context, b Backend, info Info, s Styles) preflightScreen {
	p := preflightScreen{backend: b, ctx: ctx, info: info, styles: s, keys: newPreflightKeys(), help: newHelp(s), scroll: scroller{cursor: -1}}
	p.reset()
	return p
}

// SetSize lays the checklist out for a terminal of w×h cells.
func (p *preflightScreen) SetSize(w, h int) { p.width, p.height = w, h }

// ShortHelp and FullHelp are the screen's keys as they apply now.
func (p preflightScreen) ShortHelp() []key.Binding  { return p.currentKeys().ShortHelp() }
func (p preflightScreen) FullHelp() [][]key.Binding { return p.currentKeys().FullHelp() }

func (p preflightScreen) currentKeys() preflightKeys {
	k := p.keys
	done, blocked := p.done()
	browsing := p.detail == nil
	k.Start.SetEnabled(browsing && done && !blocked && !p.started && p.scroll.cursor < 0)
	k.Detail.SetEnabled(browsing && p.scroll.cursor >= 0)
	k.Back.SetEnabled(p.detail != nil || p.scroll.cursor >= 0)
	k.Rerun.SetEnabled(browsing && done)
	k.Quit.SetEnabled(browsing)
	if done && blocked {
		k.Quit.SetHelp("q", "quit (exit 1)")
	}
	k.nav.setEnabled(true)
	k.nav.Up.SetHelp("↑/↓", "select a check")
	if p.detail != nil {
		detailKeys(&k.Detail, &k.Back, p.detail)
	}
	return k
}

func (p *preflightScreen) reset() {
	p.gen++
	p.checks = nil
	for _, c := range p.backend.Checks() {
		p.checks = append(p.checks, checkRow{check: c})
	}
}

// runCheck marks check i running and returns the command that runs it.
func (p *preflightScreen) runCheck(i int) tea.Cmd {
	if i >= len(p.checks) {
		return nil
	}
	p.checks[i].state = checkRunning
	b, ctx, gen := p.backend, p.ctx, p.gen
	return func() tea.Msg {
		return preflightCheckDoneMsg{Gen: gen, Index: i, Result: b.RunCheck(ctx, i)}
	}
}

// done reports whether every check finished, and whether one failed.
func (p preflightScreen) done() (done, blocked bool) {
	for _, c := range p.checks {
		if c.state != checkDone {
			return false, false
		}
		if c.result.Status == runner.Fail {
			blocked = true
		}
	}
	return true, blocked
}

// Update takes check results and the checklist's keys.
func (p preflightScreen) Update(msg tea.Msg) (preflightScreen, tea.Cmd, intent) {
	switch msg := msg.(type) {
	case preflightCheckDoneMsg:
		if msg.Gen != p.gen || msg.Index >= len(p.checks) {
			return p, nil, intent{}
		}
		p.checks[msg.Index].state = checkDone
		p.checks[msg.Index].result = msg.Result
		return p, p.runCheck(msg.Index + 1), intent{}
	case tea.KeyPressMsg:
		k := p.currentKeys()
		p.scroll.resize(len(p.checks), len(p.checks))
		switch {
		case key.Matches(msg, k.Cancel):
			return p, nil, intent{kind: intentQuit, code: runner.ExitInterrupted}
		case p.detail != nil:
			p.detail = p.detail.key(k.Detail, k.Back, k.nav, msg)
		case key.Matches(msg, k.Quit) && k.Quit.Enabled():
			code := runner.ExitOK
			if done, blocked := p.done(); done && blocked {
				code = runner.ExitFailure
			}
			return p, nil, intent{kind: intentQuit, code: code}
		case key.Matches(msg, k.Rerun) && k.Rerun.Enabled():
			p.backend.Reset()
			p.reset()
			return p, p.runCheck(0), intent{kind: intentSpin}
		case key.Matches(msg, k.Start) && k.Start.Enabled():
			p.started = true
			return p, nil, intent{kind: intentStart}
		case key.Matches(msg, k.Detail) && k.Detail.Enabled():
			p.detail = checkDetail(p.checks[p.scroll.cursor])
		case key.Matches(msg, k.Back) && k.Back.Enabled():
			p.scroll.cursor = -1
		case p.scroll.move(k.nav, msg):
		}
	}
	return p, nil, intent{}
}

// spinning reports whether the checklist shows a spinner.
func (p preflightScreen) spinning() bool {
	done, _ := p.done()
	return !done
}

// View renders the checklist.
func (p preflightScreen) View() string {
	s := p.styles
	var lines []string
	lines = append(lines, header(p.width, s.Title.Render(" eng5np")+"  pre-flight  "+s.Value.Render(p.info.BatchLabel),
		s.Subtle.Render(fmt.Sprintf("stack %s · %s ", p.info.Stack, p.info.Inputs))), rule(s, p.width))
	if p.detail != nil {
		d := *p.detail
		lines = append(lines, " "+s.PanelHead.Render(d.title))
		help := helpLines(p.help, p, p.width-2, p.fullHelp)
		for _, l := range d.lines(s, p.width-2, p.height-len(lines)-len(help)) {
			lines = append(lines, " "+l)
		}
		for len(lines) < p.height-len(help) {
			lines = append(lines, "")
		}
		for _, h := range help {
			lines = append(lines, " "+h)
		}
		return clip(lines, p.width, p.height)
	}
	titleW, durW := 30, 7
	if p.width < 80 {
		titleW = 22
	}
	detailW := p.width - 3 - titleW - durW - 2
	var body []string
	cursorLine := -1
	for i, c := range p.checks {
		var icon, d string
		switch c.state {
		case checkPending:
			icon = s.Subtle.Render("·")
		case checkRunning:
			icon = p.frame
		default:
			d = dur(c.result.Duration)
			switch c.result.Status {
			case runner.Pass:
				icon = s.Pass.Render("✓")
			case runner.Warn:
				icon = s.Warn.Render("!")
			case runner.Skip:
				icon = s.Subtle.Render("–")
			default:
				icon = s.Fail.Render("✗")
			}
		}
		title := c.check.Title
		if c.state == checkDone && c.result.Status == runner.Fail {
			title = s.Fail.Render(title)
		}
		row := " " + icon + " " + padTo(title, titleW) + s.Subtle.Render(fmt.Sprintf("%*s", durW, d)) + "  " + padTo(c.result.Detail, detailW)
		if i == p.scroll.cursor {
			row = s.Selected.Render(padTo(row, p.width))
			cursorLine = len(body)
		}
		body = append(body, row)
		if c.state == checkDone && c.result.Status != runner.Pass && c.result.Fix != "" {
			body = append(body, "     "+s.Subtle.Render(padTo("fix: "+c.result.Fix, p.width-6)))
		}
	}
	var foot []string
	foot = append(foot, rule(s, p.width))
	done, blocked := p.done()
	switch {
	case !done:
		lines = append(lines, " "+p.frame+" running the pre-flight checks…")
	case blocked:
		n := 0
		for _, c := range p.checks {
			if c.result.Status == runner.Fail {
				n++
			}
		}
		what := plural(n, "blocking check", "blocking checks") + " failed:"
		foot = append(foot, wrap(s.Fail.Render(what)+" fix what each names, then re-run the checks; select a check for its full detail", p.width-2, " ")...)
	default:
		foot = append(foot, " "+s.Pass.Render("All blocking checks passed.")+" "+s.Value.Render("Enter to start"))
	}
	for _, h := range helpLines(p.help, p, p.width-2, p.fullHelp) {
		foot = append(foot, " "+h)
	}
	// The checklist scrolls (with the selection) when it does not fit.
	room := p.height - len(lines) - len(foot)
	if len(body) > room && room > 1 {
		from := 0
		if cursorLine >= room-1 {
			from = cursorLine - (room - 2)
		}
		to := min(len(body), from+room-1)
		more := fmt.Sprintf("… %d more rows · ↑/↓ select a check", len(body)-(to-from))
		body = append(body[from:to:to], " "+s.Subtle.Render(more))
	}
	lines = append(lines, body...)
	lines = append(lines, foot...)
	return clip(lines, p.width, p.height)
}
