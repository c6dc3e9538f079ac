package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scroller is the cursor and window of a list of n rows shown height rows
// at a time: the ranking, the log, a detail view. The cursor is -1 when
// no row is selected (a list without focus).
type scroller struct {
	cursor, offset int
	n, height      int
}

// resize sets the number of rows and the window, keeping the cursor in
// range and visible.
func (s *scroller) resize(n, height int) {
	s.n, s.height = n, max(1, height)
	if s.cursor >= n {
		s.cursor = n - 1
	}
	s.clamp()
}

func (s *scroller) clamp() {
	if s.cursor >= 0 {
		if s.cursor < s.offset {
			s.offset = s.cursor
		}
		if s.cursor >= s.offset+s.height {
			s.offset = s.cursor - s.height + 1
		}
	}
	s.offset = min(s.offset, max(0, s.n-s.height))
	s.offset = max(0, s.offset)
}

// move handles a navigation key; false when msg is not one.
func (s *scroller) move(nav navKeys, msg tea.KeyPressMsg) bool {
	if s.n == 0 {
		return key.Matches(msg, nav.list()...)
	}
	cur := max(s.cursor, 0)
	switch {
	case key.Matches(msg, nav.Up):
		cur--
	case key.Matches(msg, nav.Down):
		if s.cursor >= 0 {
			cur++
		}
	case key.Matches(msg, nav.PageUp):
		cur -= s.height
	case key.Matches(msg, nav.PageDown):
		cur += s.height
	case key.Matches(msg, nav.Home):
		cur = 0
	case key.Matches(msg, nav.End):
		cur = s.n - 1
	default:
		return false
	}
	s.cursor = min(max(cur, 0), s.n-1)
	s.clamp()
	return true
}

// window is the range of rows shown.
func (s scroller) window() (from, to int) {
	return s.offset, min(s.n, s.offset+s.height)
}

// position says where the window is, for a pane's title: "12–24 of 36".
func (s scroller) position() (from, to, n int) {
	f, t := s.window()
	if s.n == 0 {
		return 0, 0, 0
	}
	return f + 1, t, s.n
}

// filterInput edits a filter after `/`: typed text, backspace, Enter or
// Esc to stop editing (Esc also clears it).
type filterInput struct {
	text    string
	editing bool
}

// update takes a key while editing; it reports whether the text changed.
func (f *filterInput) update(msg tea.KeyPressMsg) (changed bool) {
	switch msg.String() {
	case "enter":
		f.editing = false
	case "esc":
		f.editing, changed = false, f.text != ""
		f.text = ""
	case "backspace":
		if r := []rune(f.text); len(r) > 0 {
			f.text, changed = string(r[:len(r)-1]), true
		}
	case "ctrl+u":
		f.text, changed = "", f.text != ""
	default:
		if msg.Text != "" && len(f.text) < 64 {
			f.text += msg.Text
			changed = true
		}
	}
	return changed
}
