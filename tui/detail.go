package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"eng5np/artefacts"
	"eng5np/runner"
)

// detailView is a scrollable page about one thing: an essay, a comparison,
// a problem record or a pre-flight check. Its text is wrapped to the
// width, never cut.
type detailView struct {
	title  string
	text   []string // paragraphs: "label: value" lines or prose
	scroll scroller
	// links are the paragraphs that open a page of their own (an essay's
	// comparisons): text[links[i]] opens records[i]. sel is the selected
	// one; parent is the page to go back to.
	links   []int
	records []runner.RecordEvent
	sel     int
	parent  *detailView
}

// lines renders the page within width and height, the selected link
// highlighted and in view.
func (d *detailView) lines(s Styles, width, height int) []string {
	var body []string
	selLine := -1
	for i, t := range d.text {
		if len(d.links) > 0 && d.sel >= 0 && d.links[d.sel] == i {
			selLine = len(body)
		}
		if t == "" {
			body = append(body, "")
			continue
		}
		body = append(body, wrap(t, width, "")...)
	}
	if selLine >= 0 {
		body[selLine] = s.Selected.Render(padTo(body[selLine], width))
	}
	d.scroll.cursor = selLine
	d.scroll.resize(len(body), height)
	from, to := d.scroll.window()
	return body[from:to]
}

// key handles a key on the page and returns the page to show next: the
// selected link's page (open), the page before (back; nil: the screen
// itself), or this one, scrolled.
func (d *detailView) key(open, back key.Binding, nav navKeys, msg tea.KeyPressMsg) *detailView {
	switch {
	case key.Matches(msg, open) && open.Enabled():
		return d.follow()
	case key.Matches(msg, back):
		return d.parent
	}
	d.update(nav, msg)
	return d
}

// follow opens the selected link's page, which goes back to this one.
func (d *detailView) follow() *detailView {
	if d.sel < 0 || d.sel >= len(d.records) {
		return d
	}
	child := recordDetail(d.records[d.sel])
	child.parent = d
	return child
}

// update moves the selection on a page with links, or scrolls it.
func (d *detailView) update(nav navKeys, msg tea.KeyPressMsg) {
	if len(d.links) > 0 {
		sel := d.sel
		switch {
		case key.Matches(msg, nav.Up):
			sel--
		case key.Matches(msg, nav.Down):
			sel++
		case key.Matches(msg, nav.PageUp):
			sel -= 10
		case key.Matches(msg, nav.PageDown):
			sel += 10
		case key.Matches(msg, nav.Home):
			sel = 0
		case key.Matches(msg, nav.End):
			sel = len(d.links) - 1
		}
		d.sel = min(max(sel, 0), len(d.links)-1)
		return
	}
	off := d.scroll.offset
	switch {
	case key.Matches(msg, nav.Up):
		off--
	case key.Matches(msg, nav.Down):
		off++
	case key.Matches(msg, nav.PageUp):
		off -= d.scroll.height
	case key.Matches(msg, nav.PageDown):
		off += d.scroll.height
	case key.Matches(msg, nav.Home):
		off = 0
	case key.Matches(msg, nav.End):
		off = d.scroll.n
	}
	d.scroll.offset, d.scroll.cursor = off, -1
	d.scroll.clamp()
}

// essayDetail is an essay's page: its place in the ranking and every
// comparison it took part in (from the log the dashboard keeps).
func essayDetail(r runner.Ranked, rank int, service string, log []runner.RecordEvent) *detailView {
	d := &detailView{title: "Essay " + r.ID, sel: -1}
	kind := "student essay"
	if r.IsAnchor {
		kind = "anchor, registered grade " + r.Grade
	}
	se := "not yet estimated (standard errors follow the abilities)"
	if r.SE > 0 {
		se = fmt.Sprintf("%.2f", r.SE)
	}
	d.text = []string{
		"essay: " + r.ID + " (" + kind + ")",
		fmt.Sprintf("rank: %d", rank),
		fmt.Sprintf("θ: %+.2f logits · SE %s", r.Theta, se),
		fmt.Sprintf("comparisons: %d · wins %d · losses %d", r.Compared, r.Wins, r.Compared-r.Wins),
	}
	if r.Projected != "" {
		d.text = append(d.text, fmt.Sprintf("projected grade: %s (probability %.0f%%)", r.Projected, 100*r.Probability))
	}
	if service != "" {
		d.text = append(d.text, "CJ service's grade: "+service)
	}
	d.text = append(d.text, "")
	var mine []string
	var recs []runner.RecordEvent
	for _, e := range log {
		c := e.Details()
		if c == nil || (c.EssayAID != r.ID && c.EssayBID != r.ID) {
			continue
		}
		other := c.EssayBID
		if other == r.ID {
			other = c.EssayAID
		}
		res := "failed: " + c.FailureReason
		switch c.WinnerID {
		case r.ID:
			res = "won"
		case other:
			res = "lost"
		}
		line := fmt.Sprintf("#%d vs %s: %s", c.Sequence, other, res)
		if c.Confidence != nil {
			line += fmt.Sprintf(" (confidence %.2f)", *c.Confidence)
		}
		mine = append(mine, line)
		recs = append(recs, e)
	}
	if len(mine) == 0 {
		d.text = append(d.text, "no comparison of this essay in the dashboard's log")
		return d
	}
	d.text = append(d.text, fmt.Sprintf("its %d comparisons in the log (enter opens one):", len(mine)))
	for _, m := range mine {
		d.links = append(d.links, len(d.text))
		d.text = append(d.text, m)
	}
	d.records, d.sel = recs, 0
	return d
}

// recordDetail is a log entry's page: a comparison in full, or a problem
// record with where it was read and why it was set aside.
func recordDetail(e runner.RecordEvent) *detailView {
	src := fmt.Sprintf("%s partition %d offset %d (journal line %d)", e.Source.Topic, e.Source.Partition, e.Source.Offset, e.Seq)
	c := e.Details()
	if c == nil {
		d := &detailView{title: "Record " + string(e.Disposition), sel: -1}
		d.text = []string{"what: " + string(e.Disposition), "read from: " + src}
		if len(e.FaultFields) > 0 {
			d.text = append(d.text, "missing or invalid fields: "+strings.Join(e.FaultFields, ", "))
		}
		if e.Reason != "" {
			d.text = append(d.text, "why: "+e.Reason)
		}
		if e.CorrelationID != "" {
			d.text = append(d.text, "correlation id: "+e.CorrelationID)
		}
		d.text = append(d.text, "", dispositionAdvice(e.Disposition))
		return d
	}
	d := &detailView{title: fmt.Sprintf("Comparison #%d", c.Sequence), sel: -1}
	d.text = comparisonText(c)
	d.text = append(d.text, "read from: "+src)
	return d
}

func comparisonText(c *artefacts.Comparison) []string {
	out := []string{
		"essay A: " + c.EssayAID,
		"essay B: " + c.EssayBID,
	}
	switch c.Status {
	case artefacts.StatusFailed:
		out = append(out, "status: failed: "+c.FailureReason)
		if c.ErrorCode != "" {
			out = append(out, "error code: "+c.ErrorCode)
		}
	default:
		out = append(out, "winner: "+c.WinnerID)
	}
	if c.Confidence != nil {
		out = append(out, fmt.Sprintf("confidence: %.2f", *c.Confidence))
	}
	if c.Justification != "" {
		out = append(out, "justification: "+c.Justification)
	}
	out = append(out,
		fmt.Sprintf("judge: %s/%s", c.Provider, c.Model),
		fmt.Sprintf("tokens: %d prompt + %d completion", c.TokensPrompt, c.TokensCompletion),
		fmt.Sprintf("cost: $%.6f", c.CostUSD),
		"prompt hash: "+c.PromptHash,
		"requested: "+c.StartedAt,
		"completed: "+c.CompletedAt,
	)
	if c.ResponseTimeMS != nil {
		out = append(out, fmt.Sprintf("response time: %d ms", *c.ResponseTimeMS))
	}
	out = append(out, "correlation id: "+c.CorrelationID)
	if c.RequestID != "" {
		out = append(out, "request id: "+c.RequestID)
	}
	return out
}

// dispositionAdvice says what a problem record means for the run.
func dispositionAdvice(d runner.Disposition) string {
	switch d {
	case runner.MetadataFault:
		return "A callback of this batch broke the metadata contract: capture stopped and the artefact records the fault. " + artefacts.FaultAdvice
	case runner.Malformed:
		return "The record could not be read as a callback of any batch; it is kept in the journal and counted under validation.runner_status.skipped."
	case runner.Duplicate:
		return "A callback this run had already captured (a redelivery); it changes nothing."
	case runner.ForeignBatch:
		return "A callback of another batch on the same topic; it is journaled and ignored."
	case runner.Suspicious:
		return "The record passed the contract but looks wrong; it is kept and listed in the artefact's warnings."
	case runner.AfterFault:
		return "Read after the metadata fault that stopped the capture; journaled, not folded."
	}
	return ""
}

// checkDetail is a pre-flight check's page: its verdict, detail and fix.
func checkDetail(c checkRow) *detailView {
	d := &detailView{title: "Check: " + c.check.Title, sel: -1}
	status := "not run yet"
	if c.state == checkRunning {
		status = "running"
	}
	if c.state == checkDone {
		status = c.result.Status.String()
	}
	d.text = []string{"check: " + c.check.Title, "verdict: " + status}
	if c.state == checkDone {
		d.text = append(d.text, "took: "+dur(c.result.Duration))
		if c.result.Detail != "" {
			d.text = append(d.text, "", "detail: "+c.result.Detail)
		}
		if c.result.Fix != "" {
			d.text = append(d.text, "", "fix: "+c.result.Fix)
		}
	}
	return d
}
