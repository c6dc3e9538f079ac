package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// header renders a title on the left and info on the right of one line.
func header(width int, left, right string) string {
	gap := width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return padTo(left+" "+right, width)
	}
	return left + strings.Repeat(" ", gap) + right
}

func rule(s Styles, width int) string { return s.Rule.Render(strings.Repeat("─", width)) }

// padTo cuts s to width cells (ANSI-aware) and pads it to exactly width.
func padTo(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = ansi.Truncate(s, width, "…")
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// clip fits lines to the terminal, dropping from the middle of long lists
// rather than the header or footer.
func clip(lines []string, width, height int) string {
	for len(lines) > height && len(lines) > 4 {
		lines = append(lines[:len(lines)-3], lines[len(lines)-2:]...)
	}
	for i := range lines {
		if lipgloss.Width(lines[i]) > width {
			lines[i] = padTo(lines[i], width)
		}
	}
	return strings.Join(lines, "\n")
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "0ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

func clockOf(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	h, mnt, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, mnt, s)
	}
	return fmt.Sprintf("%02d:%02d", mnt, s)
}

// wrap breaks text into lines of at most width cells, each with prefix.
func wrap(text string, width int, prefix string) []string {
	if width < 10 {
		width = 10
	}
	var out []string
	for _, l := range strings.Split(lipgloss.NewStyle().Width(width-lipgloss.Width(prefix)).Render(text), "\n") {
		out = append(out, prefix+strings.TrimRight(l, " "))
	}
	return out
}

// flow packs items into lines of at most width cells, separated by sep,
// moving a whole item to the next line rather than cutting it; an item
// wider than the line is wrapped on its own.
func flow(items []string, width int, sep string) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		if it == "" {
			continue
		}
		switch {
		case cur == "":
			cur = it
		case lipgloss.Width(cur)+lipgloss.Width(sep)+lipgloss.Width(it) <= width:
			cur += sep + it
		default:
			lines = append(lines, cur)
			cur = it
		}
		if lipgloss.Width(cur) > width {
			w := wrap(cur, width, "")
			lines = append(lines, w[:len(w)-1]...)
			cur = w[len(w)-1]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// plural is "1 write", "2 writes".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// tokens renders a token count: 950, 105.3k, 2.41M.
func tokens(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1000)
	}
	return fmt.Sprintf("%.2fM", float64(n)/1e6)
}

// usd renders dollars at four decimals.
func usd(v float64) string { return fmt.Sprintf("$%.4f", v) }
