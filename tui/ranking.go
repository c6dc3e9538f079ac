package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"eng5np/runner"
)

// rankTable is the ranking as a scrollable, filterable table: rank, essay,
// registered grade (anchors), θ ± SE, comparisons, wins, projected grade
// and its probability, and the CJ service's grade when it sent one.
type rankTable struct {
	styles  Styles
	rows    []runner.Ranked
	service map[string]string // the CJ service's grades (summary only)
	filter  filterInput
	view    []int // rows shown, after the filter
	scroll  scroller
	focused bool
	width   int
}

// setRows replaces the ranking, keeping the selection on the same essay.
func (t *rankTable) setRows(rows []runner.Ranked) {
	sel := t.selectedID()
	t.rows = rows
	t.refilter()
	if sel != "" {
		for i, r := range t.view {
			if t.rows[r].ID == sel {
				t.scroll.cursor = i
				break
			}
		}
	}
	t.scroll.clamp()
}

func (t *rankTable) refilter() {
	t.view = t.view[:0]
	q := strings.ToLower(t.filter.text)
	for i, r := range t.rows {
		if q == "" || strings.Contains(strings.ToLower(r.ID), q) || strings.EqualFold(r.Grade, q) || strings.EqualFold(r.Projected, q) {
			t.view = append(t.view, i)
		}
	}
	t.scroll.resize(len(t.view), t.scroll.height)
}

// selectedID is the essay under the cursor, "" when none.
func (t rankTable) selectedID() string {
	if t.scroll.cursor < 0 || t.scroll.cursor >= len(t.view) {
		return ""
	}
	return t.rows[t.view[t.scroll.cursor]].ID
}

// selected is the row under the cursor.
func (t rankTable) selected() (runner.Ranked, bool) {
	if id := t.selectedID(); id != "" {
		return t.rows[t.view[t.scroll.cursor]], true
	}
	return runner.Ranked{}, false
}

// focus gives the table the keys, selecting the first row if none is.
func (t *rankTable) focus(on bool) {
	t.focused = on
	if on && t.scroll.cursor < 0 && len(t.view) > 0 {
		t.scroll.cursor = 0
		t.scroll.clamp()
	}
}

// columns says which columns fit in width.
type columns struct{ idW, gradeW int }

func (t rankTable) cols() columns {
	// rank 4 · grade 3 · θ 6 · ± SE 6 · n 4 · wins 5 · grade+p 9 · service 5
	fixed := 4 + 1 + 6 + 1 + 6 + 1 + 4 + 1 + 5 + 1 + 10
	if t.service != nil {
		fixed += 6
	}
	idW := max(8, min(28, t.width-fixed-4-1))
	return columns{idW: idW, gradeW: 3}
}

// title is the pane's title with the position and the filter.
func (t rankTable) title(name string) string {
	from, to, n := t.scroll.position()
	s := fmt.Sprintf("%s · %d–%d of %d", name, from, to, n)
	if n == 0 {
		s = name
	}
	if t.filter.text != "" || t.filter.editing {
		cursor := ""
		if t.filter.editing {
			cursor = "▏"
		}
		s += fmt.Sprintf(" · filter %q%s (%d of %d)", t.filter.text, cursor, len(t.view), len(t.rows))
	}
	return s
}

// header is the column header.
func (t rankTable) header() string {
	c := t.cols()
	h := fmt.Sprintf("%4s %-*s %-*s %6s %6s %4s %5s %-10s", "#", c.idW, "essay", c.gradeW, "reg", "θ", "± SE", "n", "wins", "projected")
	if t.service != nil {
		h += fmt.Sprintf(" %-5s", "CJ")
	}
	return t.styles.Label.Render(h)
}

// row renders row i of the ranking (its index in rows).
func (t rankTable) row(i int) string {
	c := t.cols()
	r := t.rows[i]
	reg := ""
	if r.IsAnchor {
		reg = r.Grade
	}
	se := "     –"
	if r.SE > 0 {
		se = fmt.Sprintf("±%5.2f", r.SE)
	}
	proj := ""
	if r.Projected != "" {
		proj = fmt.Sprintf("%-3s %3.0f%%", r.Projected, 100*r.Probability)
	}
	id := r.ID
	if lipgloss.Width(id) > c.idW {
		id = padTo(id, c.idW)
	}
	s := fmt.Sprintf("%4d %-*s %-*s %+6.2f %6s %4d %5d %-10s", i+1, c.idW, id, c.gradeW, reg, r.Theta, se, r.Compared, r.Wins, proj)
	if t.service != nil {
		s += fmt.Sprintf(" %-5s", t.service[r.ID])
	}
	return s
}

// lines renders height rows of the table: the header, then the window.
func (t *rankTable) lines(height int) []string {
	t.scroll.resize(len(t.view), height-1)
	out := []string{t.header()}
	from, to := t.scroll.window()
	for i := from; i < to; i++ {
		line := t.row(t.view[i])
		switch {
		case t.focused && i == t.scroll.cursor:
			line = t.styles.Selected.Render(padTo(line, t.width))
		case t.rows[t.view[i]].IsAnchor:
			line = t.styles.Anchor.Render(line)
		}
		out = append(out, line)
	}
	if len(t.view) == 0 && t.filter.text != "" {
		out = append(out, t.styles.Subtle.Render(fmt.Sprintf("no essay matches %q (esc clears the filter)", t.filter.text)))
	}
	return out
}
