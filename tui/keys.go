package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// Every screen has its own key map; its help bar is rendered from it, so a
// key the screen does not take now is never advertised, and a key it takes
// always is. `?` switches every screen between the short help (one line,
// wrapped, never cut) and the full help (every key, in groups).

// navKeys move through a list (the ranking, the log, a detail view).
type navKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
}

func newNavKeys() navKeys {
	return navKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "f", " "), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
	}
}

func (n navKeys) list() []key.Binding {
	return []key.Binding{n.Up, n.Down, n.PageUp, n.PageDown, n.Home, n.End}
}

func (n *navKeys) setEnabled(on bool) {
	for _, b := range []*key.Binding{&n.Up, &n.Down, &n.PageUp, &n.PageDown, &n.Home, &n.End} {
		b.SetEnabled(on)
	}
}

// helpKey is `?`, on every screen.
var helpKey = key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys"))

// preflightKeys are the checklist's keys.
type preflightKeys struct {
	Start  key.Binding
	Detail key.Binding
	Back   key.Binding
	Rerun  key.Binding
	Quit   key.Binding
	Cancel key.Binding // ctrl+c: leave before anything was published (exit 130)
	Help   key.Binding
	nav    navKeys
}

func newPreflightKeys() preflightKeys {
	return preflightKeys{
		Start:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start")),
		Detail: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Rerun:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run checks")),
		Quit:   key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Cancel: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "cancel (exit 130)")),
		Help:   helpKey,
		nav:    newNavKeys(),
	}
}

func (k preflightKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Start, k.Detail, k.Back, k.Rerun, k.Quit, k.Help}
}

func (k preflightKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Start, k.Detail, k.Back, k.Rerun}, k.nav.list()[:2], {k.Quit, k.Cancel, k.Help}}
}

// liveKeys are the live view's keys.
type liveKeys struct {
	Stop    key.Binding
	Yes     key.Binding
	No      key.Binding
	Summary key.Binding // after a metadata fault: on to the summary
	Back    key.Binding // from the final live view to the summary
	Quit    key.Binding
	Pane    key.Binding
	Filter  key.Binding
	Clear   key.Binding
	Detail  key.Binding
	Close   key.Binding
	Problem key.Binding
	Help    key.Binding
	nav     navKeys
}

func newLiveKeys() liveKeys {
	return liveKeys{
		Stop:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop (asks first)")),
		Yes:     key.NewBinding(key.WithKeys("y", "ctrl+c"), key.WithHelp("y", "stop")),
		No:      key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "keep capturing")),
		Summary: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "summary")),
		Back:    key.NewBinding(key.WithKeys("tab", "s"), key.WithHelp("tab", "summary")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Pane:    key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "ranking/log")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Clear:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Detail:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Close:   key.NewBinding(key.WithKeys("esc", "enter", "backspace"), key.WithHelp("esc", "close")),
		Problem: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "problems only")),
		Help:    helpKey,
		nav:     newNavKeys(),
	}
}

func (k liveKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Yes, k.No, k.Summary, k.Quit, k.Close, k.Detail, k.Pane, k.Back, k.Filter, k.Clear, k.Stop, k.Help}
}

func (k liveKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Pane, k.Back, k.Detail, k.Close, k.Filter, k.Clear, k.Problem},
		k.nav.list(),
		{k.Stop, k.Yes, k.No, k.Summary, k.Quit, k.Help},
	}
}

// summaryKeys are the summary's keys.
type summaryKeys struct {
	Live   key.Binding
	Resume key.Binding
	Filter key.Binding
	Clear  key.Binding
	Detail key.Binding
	Close  key.Binding
	Quit   key.Binding
	Help   key.Binding
	nav    navKeys
}

func newSummaryKeys() summaryKeys {
	return summaryKeys{
		Live:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "live view")),
		Resume: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume capture in place")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Clear:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Detail: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "essay details")),
		Close:  key.NewBinding(key.WithKeys("esc", "enter", "backspace"), key.WithHelp("esc", "close")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:   helpKey,
		nav:    newNavKeys(),
	}
}

func (k summaryKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Close, k.Resume, k.Quit, k.Live, k.Detail, k.Filter, k.Clear, k.Help}
}

func (k summaryKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Live, k.Detail, k.Close, k.Filter, k.Clear}, k.nav.list(), {k.Resume, k.Quit, k.Help}}
}

// newHelp is the help renderer every screen uses.
func newHelp(s Styles) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.FullSeparator = "   "
	h.Styles.ShortKey, h.Styles.ShortDesc, h.Styles.ShortSeparator = s.HelpKey, s.Help, s.Help
	h.Styles.FullKey, h.Styles.FullDesc, h.Styles.FullSeparator = s.HelpKey, s.Help, s.Help
	h.Styles.Ellipsis = s.Help
	return h
}

// helpLines renders a key map within width: the short help wrapped onto
// further lines instead of cutting a key off, or, with full, every group
// of the full help as a column, columns wrapping onto further rows.
func helpLines(h help.Model, km help.KeyMap, width int, full bool) []string {
	h.SetWidth(0) // measure whole items; wrapping is done here
	if full {
		return fullHelpLines(h, km, width)
	}
	var lines []string
	var cur []key.Binding
	for _, b := range km.ShortHelp() {
		if !b.Enabled() {
			continue
		}
		try := append(append([]key.Binding(nil), cur...), b)
		if len(cur) > 0 && lipgloss.Width(h.ShortHelpView(try)) > width {
			lines = append(lines, h.ShortHelpView(cur))
			cur = []key.Binding{b}
			continue
		}
		cur = try
	}
	if len(cur) > 0 {
		lines = append(lines, h.ShortHelpView(cur))
	}
	return lines
}

func fullHelpLines(h help.Model, km help.KeyMap, width int) []string {
	var cols []string
	for _, g := range km.FullHelp() {
		var on []key.Binding
		for _, b := range g {
			if b.Enabled() {
				on = append(on, b)
			}
		}
		if len(on) > 0 {
			cols = append(cols, h.FullHelpView([][]key.Binding{on}))
		}
	}
	var rows []string
	var cur []string
	curW := 0
	flush := func() {
		if len(cur) > 0 {
			rows = append(rows, strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, cur...), "\n")...)
		}
		cur, curW = nil, 0
	}
	for _, c := range cols {
		w := lipgloss.Width(c) + 3
		if len(cur) > 0 && curW+w > width {
			flush()
		}
		cur = append(cur, lipgloss.NewStyle().PaddingRight(3).Render(c))
		curW += w
	}
	flush()
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	return rows
}

// detailKeys are the keys of a detail page: Enter opens the selected link
// (an essay's comparison), Esc goes back a page.
func detailKeys(open, back *key.Binding, d *detailView) {
	open.SetEnabled(d.sel >= 0 && len(d.links) > 0)
	open.SetHelp("enter", "open comparison")
	back.SetKeys("esc", "backspace")
	if d.parent != nil {
		back.SetHelp("esc", "back to "+strings.ToLower(d.parent.title))
	} else if !open.Enabled() {
		back.SetKeys("esc", "backspace", "enter")
	}
}
