package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"charm.land/bubbles/v2/progress"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"eng5np/runner"
)

// Every component has the same small contract: SetSize(width, height) and
// View() string; the screen that owns it decides the keys.

// panel is a bordered box with a title and lines of body.
type panel struct {
	styles        Styles
	title         string
	lines         []string
	hot           bool
	width, height int
}

func (p *panel) SetSize(w, h int) { p.width, p.height = w, h }

func (p *panel) View() string {
	inner := p.width - 4 // border and padding
	if inner < 4 {
		inner = 4
	}
	rows := []string{padTo(p.styles.PanelHead.Render(p.title), inner)}
	for _, l := range p.lines {
		rows = append(rows, padTo(l, inner))
	}
	if p.height > 2 {
		for len(rows) < p.height-2 {
			rows = append(rows, strings.Repeat(" ", inner))
		}
		rows = rows[:p.height-2]
	}
	st := p.styles.Panel
	if p.hot {
		st = p.styles.PanelHot
	}
	return st.Render(strings.Join(rows, "\n"))
}

// kv renders "label   value" in width: the label shortens (with an
// ellipsis) before the value loses a character, and a value wider than the
// line is shown whole on its own.
func kv(s Styles, label, value string, width int) string {
	vw := lipgloss.Width(value)
	room := width - vw - 1
	switch {
	case room < 2:
		return value
	case lipgloss.Width(label) > room:
		label = ansi.Truncate(label, room, "…")
	}
	gap := width - lipgloss.Width(label) - vw
	return s.Label.Render(label) + strings.Repeat(" ", max(1, gap)) + value
}

// sparkline draws values as block characters, the latest on the right.
type sparkline struct {
	values []float64
	width  int
}

func (s *sparkline) SetSize(w, _ int) { s.width = w }

var sparkChars = []rune("▁▂▃▄▅▆▇█")

func (s *sparkline) View() string {
	if s.width <= 0 {
		return ""
	}
	vals := s.values
	if len(vals) > s.width {
		vals = vals[len(vals)-s.width:]
	}
	var top float64
	for _, v := range vals {
		top = math.Max(top, v)
	}
	var b strings.Builder
	for i := len(vals); i < s.width; i++ {
		b.WriteRune(' ')
	}
	for _, v := range vals {
		if top == 0 || v == 0 {
			b.WriteRune(' ')
			continue
		}
		b.WriteRune(sparkChars[min(len(sparkChars)-1, int(v/top*float64(len(sparkChars)-1)+0.5))])
	}
	return b.String()
}

// bar is a static progress bar.
type bar struct {
	styles  Styles
	percent float64
	width   int
}

func (b *bar) SetSize(w, _ int) { b.width = w }

func (b *bar) View() string {
	if b.width < 4 {
		return ""
	}
	m := progress.New(progress.WithWidth(b.width), progress.WithoutPercentage(), progress.WithColors(b.styles.BarFull), progress.WithFillCharacters('█', '░'))
	m.EmptyColor = b.styles.BarEmpty
	return m.ViewAs(math.Max(0, math.Min(1, b.percent)))
}

// rankingStrip places essays and anchors on the theta scale: an axis, the
// anchors' grade labels where their thetas are, and a count of students per
// position.
type rankingStrip struct {
	styles  Styles
	ranking []runner.Ranked
	// lo and hi fix the axis (the live view keeps it still); when equal
	// the axis spans the abilities.
	lo, hi        float64
	width, height int
}

func (r *rankingStrip) SetSize(w, h int) { r.width, r.height = w, h }

func (r *rankingStrip) View() string {
	if len(r.ranking) == 0 || r.width < 20 {
		return r.styles.Subtle.Render("no comparisons yet")
	}
	lo, hi := r.lo, r.hi
	if hi <= lo {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, e := range r.ranking {
			lo, hi = math.Min(lo, e.Theta), math.Max(hi, e.Theta)
		}
	}
	if hi-lo < 1 {
		mid := (hi + lo) / 2
		lo, hi = mid-0.5, mid+0.5
	}
	const margin = 10 // room for the row labels and the axis ends
	span := r.width - 2*margin
	col := func(theta float64) int {
		return min(span-1, max(0, int((theta-lo)/(hi-lo)*float64(span-1)+0.5)))
	}
	// Anchors: grade labels, on as many rows as collisions need (at most 2).
	anchorRows := [][]rune{[]rune(strings.Repeat(" ", span)), []rune(strings.Repeat(" ", span))}
	var anchors []runner.Ranked
	for _, e := range r.ranking {
		if e.IsAnchor {
			anchors = append(anchors, e)
		}
	}
	sort.Slice(anchors, func(i, j int) bool { return anchors[i].Theta < anchors[j].Theta })
	for _, a := range anchors {
		label := []rune(a.Grade)
		c := col(a.Theta)
		if c+len(label) > span {
			c = span - len(label)
		}
		for _, row := range anchorRows {
			free := true
			for i := max(0, c-1); i < min(span, c+len(label)+1); i++ {
				if row[i] != ' ' {
					free = false
					break
				}
			}
			if free {
				copy(row[c:], label)
				break
			}
		}
	}
	// Students: how many sit at each column.
	counts := make([]int, span)
	for _, e := range r.ranking {
		if !e.IsAnchor {
			counts[col(e.Theta)]++
		}
	}
	students := make([]rune, span)
	for i, n := range counts {
		switch {
		case n == 0:
			students[i] = ' '
		case n == 1:
			students[i] = '•'
		case n < 10:
			students[i] = rune('0' + n)
		default:
			students[i] = '+'
		}
	}
	axis := []rune(strings.Repeat("─", span))
	for _, t := range []float64{lo, (lo + hi) / 2, hi} {
		axis[col(t)] = '┼'
	}
	if lo < 0 && hi > 0 {
		axis[col(0)] = '0'
	}
	pad := strings.Repeat(" ", margin)
	lines := []string{
		r.styles.Label.Render(padTo("anchors", margin)) + r.styles.Anchor.Render(string(anchorRows[0])),
	}
	if strings.TrimSpace(string(anchorRows[1])) != "" {
		lines = append(lines, pad+r.styles.Anchor.Render(string(anchorRows[1])))
	}
	lines = append(lines,
		r.styles.Label.Render(padTo(fmt.Sprintf("θ %+.1f", lo), margin))+r.styles.Subtle.Render(string(axis))+r.styles.Label.Render(fmt.Sprintf(" %+.1f", hi)),
		r.styles.Label.Render(padTo("students", margin))+r.styles.Student.Render(string(students)),
	)
	if r.height > len(lines) {
		// Room for the extremes by name.
		top, bottom := r.ranking[0], r.ranking[len(r.ranking)-1]
		lines = append(lines, pad+r.styles.Subtle.Render(padTo(fmt.Sprintf("best %s (θ %+.2f ± %.2f) · weakest %s (θ %+.2f ± %.2f)",
			top.ID, top.Theta, top.SE, bottom.ID, bottom.Theta, bottom.SE), span)))
	}
	return strings.Join(lines, "\n")
}
