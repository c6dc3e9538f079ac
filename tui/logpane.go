package tui

import (
	"fmt"
	"strings"

	"eng5np/runner"
)

// maxLog bounds the log the dashboard keeps: the oldest comparisons go
// first (the journal and the artefact keep everything; problems are few
// and always kept).
const maxLog = 20000

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
	return e.Record != nil || problem(e)
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

// add appends records.
func (p *logPane) add(evs []runner.RecordEvent) {
	for _, e := range evs {
		if interesting(e) {
			p.entries = append(p.entries, e)
		}
	}
	if len(p.entries) > maxLog+maxLog/10 {
		// Drop the oldest comparisons in one go, down to maxLog.
		over := len(p.entries) - maxLog
		kept := make([]runner.RecordEvent, 0, maxLog)
		for _, e := range p.entries {
			if over > 0 && !problem(e) {
				over--
				p.dropped++
				continue
			}
			kept = append(kept, e)
		}
		p.entries = kept
	}
	p.refilter()
	if p.follow || p.scroll.cursor < 0 {
		p.scroll.offset = max(0, len(p.view)-p.scroll.height)
		if p.follow && p.focused {
			p.scroll.cursor = len(p.view) - 1
		}
	}
}

func (p *logPane) refilter() {
	p.view = p.view[:0]
	q := strings.ToLower(p.filter.text)
	for i, e := range p.entries {
		if p.problems && !problem(e) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(p.text(e)), q) {
			continue
		}
		p.view = append(p.view, i)
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

// text is an entry's one-line description.
func (p logPane) text(e runner.RecordEvent) string {
	where := fmt.Sprintf("%s/%d@%d", shortTopic(e.Source.Topic), e.Source.Partition, e.Source.Offset)
	if r := e.Record; r != nil {
		what := fmt.Sprintf("#%d %s vs %s", r.Sequence, r.EssayAID, r.EssayBID)
		switch {
		case r.Status == "failed":
			what += " failed: " + r.FailureReason
		case r.WinnerID != "":
			what += " → " + r.WinnerID
			if r.Confidence != nil {
				what += fmt.Sprintf(" (%.2f)", *r.Confidence)
			}
		}
		return where + " " + what
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
	if e.Reason != "" {
		what += ": " + e.Reason
	}
	if e.CorrelationID != "" {
		what += " · " + e.CorrelationID
	}
	return where + " " + what
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
