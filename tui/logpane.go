package tui

import (
	"fmt"
	"strings"

	"eng5np/runner"
)

// maxLog bounds the comparisons the dashboard's log keeps: the oldest go
// first (the journal and the artefact keep everything; problem records are
// few and always kept). More costs capture throughput in garbage
// collection (docs/BENCHMARKS.md).
const maxLog = 2000

// logPane is every comparison and every problem record of the run in
// journal order: faults, quarantined (malformed) records, duplicates,
// foreign-batch records, suspicious records and failed comparisons, each
// with its topic, partition and offset.
type logPane struct {
	styles   Styles
	entries  []runner.RecordEvent
	dropped  int // comparisons dropped from the front to stay within maxLog
	problems bool
	filter   filterInput
	view     []int
	scroll   scroller
	focused  bool
	follow   bool // the cursor follows the newest entry
	width    int
}

// interesting reports whether the log keeps a record: comparisons and
// problems, not the service's progress events.
func interesting(e runner.RecordEvent) bool {
	return e.Comparison != nil || e.Record != nil || problem(e)
}

// problem reports whether a record is something the user should look at.
func problem(e runner.RecordEvent) bool {
	switch e.Disposition {
	case runner.Applied:
		return e.Comparison != nil && !e.Comparison.Succeeded
	case "":
		return false
	}
	return true
}

// add appends records. The view grows with them (no refiltering of what
// was there) unless old comparisons had to go.
func (p *logPane) add(evs []runner.RecordEvent) {
	first := len(p.entries)
	for _, e := range evs {
		if interesting(e) {
			p.entries = append(p.entries, e)
		}
	}
	if len(p.entries) > 2*maxLog {
		// Drop the oldest comparisons in one go, down to maxLog.
		p.entries, p.dropped = trimLog(p.entries, p.dropped)
		p.refilter()
	} else {
		for i := first; i < len(p.entries); i++ {
			if p.matches(p.entries[i]) {
				p.view = append(p.view, i)
			}
		}
		p.scroll.resize(len(p.view), p.scroll.height)
	}
	if p.follow || p.scroll.cursor < 0 {
		p.scroll.offset = max(0, len(p.view)-p.scroll.height)
		if p.follow && p.focused {
			p.scroll.cursor = len(p.view) - 1
		}
	}
}

// matches reports whether an entry passes the filters.
func (p logPane) matches(e runner.RecordEvent) bool {
	if p.problems && !problem(e) {
		return false
	}
	q := p.filter.text
	return q == "" || strings.Contains(strings.ToLower(p.text(e)), strings.ToLower(q))
}

func (p *logPane) refilter() {
	p.view = p.view[:0]
	for i, e := range p.entries {
		if p.matches(e) {
			p.view = append(p.view, i)
		}
	}
	p.scroll.resize(len(p.view), p.scroll.height)
}

func (p *logPane) focus(on bool) {
	p.focused = on
	if on && p.scroll.cursor < 0 && len(p.view) > 0 {
		p.scroll.cursor = len(p.view) - 1
		p.follow = true
		p.scroll.clamp()
	}
}

// selected is the entry under the cursor.
func (p logPane) selected() (runner.RecordEvent, bool) {
	if p.scroll.cursor < 0 || p.scroll.cursor >= len(p.view) {
		return runner.RecordEvent{}, false
	}
	return p.entries[p.view[p.scroll.cursor]], true
}

// text is an entry's one-line description: the numbers first (sequence,
// partition@offset, confidence), then the essays, so that a narrow
// terminal cuts a name, never a number.
func (p logPane) text(e runner.RecordEvent) string {
	where := fmt.Sprintf("p%d@%d", e.Source.Partition, e.Source.Offset)
	// Built for the rows on screen only (and when filtering): the capture
	// loop leaves it to the display.
	if r := e.Details(); r != nil {
		switch {
		case r.Status == "failed":
			return fmt.Sprintf("#%d %s failed: %s · %s vs %s", r.Sequence, where, r.FailureReason, r.EssayAID, r.EssayBID)
		case r.WinnerID != "":
			conf := ""
			if r.Confidence != nil {
				conf = fmt.Sprintf(" conf %.2f", *r.Confidence)
			}
			return fmt.Sprintf("#%d %s%s %s beat %s", r.Sequence, where, conf, r.WinnerID, r.LoserID)
		}
		return fmt.Sprintf("#%d %s %s vs %s", r.Sequence, where, r.EssayAID, r.EssayBID)
	}
	what := string(e.Disposition)
	switch e.Disposition {
	case runner.MetadataFault:
		what = "metadata fault: " + strings.Join(e.FaultFields, ", ")
	case runner.Malformed:
		what = "quarantined (malformed)"
	case runner.ForeignBatch:
		what = "foreign batch"
	}
	line := fmt.Sprintf("line %d %s/%s %s", e.Seq, shortTopic(e.Source.Topic), where, what)
	if e.CorrelationID != "" {
		line += " · " + e.CorrelationID
	}
	if e.Reason != "" {
		line += ": " + e.Reason
	}
	return line
}

// title is the pane's title with the position and the filter.
func (p logPane) title() string {
	from, to, n := p.scroll.position()
	s := "Log"
	if p.problems {
		s = "Log · problems only"
	}
	if n > 0 {
		s += fmt.Sprintf(" · %d–%d of %d", from, to, n)
	}
	if p.dropped > 0 {
		s += fmt.Sprintf(" · oldest %d comparisons not kept (in the artefact)", p.dropped)
	}
	if p.filter.text != "" || p.filter.editing {
		cursor := ""
		if p.filter.editing {
			cursor = "▏"
		}
		s += fmt.Sprintf(" · filter %q%s", p.filter.text, cursor)
	}
	return s
}

// lines renders height rows of the log.
func (p *logPane) lines(height int) []string {
	p.scroll.resize(len(p.view), height)
	if len(p.view) == 0 {
		msg := "no comparisons yet"
		if p.problems || p.filter.text != "" {
			msg = "nothing matches"
		}
		return []string{p.styles.Subtle.Render(msg)}
	}
	var out []string
	from, to := p.scroll.window()
	for i := from; i < to; i++ {
		e := p.entries[p.view[i]]
		line := padTo(p.text(e), p.width)
		switch {
		case p.focused && i == p.scroll.cursor:
			line = p.styles.Selected.Render(line)
		case e.Disposition == runner.MetadataFault:
			line = p.styles.Fail.Render(line)
		case problem(e):
			line = p.styles.Warn.Render(line)
		}
		out = append(out, line)
	}
	return out
}
