package hydrator

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/inputs"
	"eng5np/journal"
)

// upstreamMessages are testdata/upstream/messages.json: messages built with
// the HuleEdu services' own models (README.md there says how).
type upstreamMessages struct {
	BatchID  string `json:"batch_id"`
	Messages []struct {
		Name  string          `json:"name"`
		Topic string          `json:"topic"`
		Value json.RawMessage `json:"value"`
	} `json:"messages"`
}

func loadUpstream(t *testing.T) upstreamMessages {
	t.Helper()
	data, err := os.ReadFile("testdata/upstream/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var m upstreamMessages
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Messages) == 0 {
		t.Fatal("no messages")
	}
	return m
}

// The copy under testdata is the steering repository's, when that is
// checked out beside this one.
func TestUpstreamMessagesAreTheSteeringCopy(t *testing.T) {
	theirs, err := os.ReadFile("../../shared/reference/upstream/messages.json")
	if err != nil {
		t.Skipf("steering repository not beside this one (%v): the copy in testdata is used as is", err)
	}
	ours, _ := os.ReadFile("testdata/upstream/messages.json")
	if !bytes.Equal(theirs, ours) {
		t.Error("testdata/upstream/messages.json differs from shared/reference/upstream: copy the new one and check what it yields")
	}
}

// upstreamBatch is the batch the messages were built for: two students and
// one anchor, B, which the CJ service holds as anchor 7.
func upstreamBatch(batchID string, external bool) Batch {
	snap := inputs.Snapshot{SnapshotVersion: inputs.SnapshotVersion, GradeScale: "eng5_np_legacy_9_step",
		Students: []inputs.SnapshotEssay{{EssayID: "adam_lindgren", WireID: "ADAM_LINDGREN"}, {EssayID: "alice_sjoberg", WireID: "ALICE_SJOBERG"}},
		Anchors:  []inputs.SnapshotAnchor{{AnchorID: "anchor_c_1", WireID: "ANCHOR_anchor_c_1", Grade: "C+"}}}
	am := &inputs.AnchorMap{Version: inputs.AnchorMapVersion, AssignmentID: "3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64", GradeScale: "eng5_np_legacy_9_step"}
	if external {
		// Anchor 7 was registered by someone else: it keeps its label.
		snap.Anchors = append(snap.Anchors, inputs.SnapshotAnchor{AnchorID: "anchor_d_1", WireID: "ANCHOR_anchor_d_1", Grade: "D+"})
		am.Anchors = append(am.Anchors, inputs.RegisteredEssay{ID: 3, Label: "anchor_c_1", Grade: "C+", EssayID: "anchor_c_1"},
			inputs.RegisteredEssay{ID: 7, Label: "Teacher's B", Grade: "B", EssayID: "teacher_s_b", External: true})
	} else {
		snap.Anchors = append(snap.Anchors, inputs.SnapshotAnchor{AnchorID: "anchor_b_1", WireID: "ANCHOR_anchor_b_1", Grade: "B"})
		am.Anchors = append(am.Anchors, inputs.RegisteredEssay{ID: 3, Label: "anchor_c_1", Grade: "C+", EssayID: "anchor_c_1"},
			inputs.RegisteredEssay{ID: 7, Label: "anchor_b_1", Grade: "B", EssayID: "anchor_b_1"})
	}
	return Batch{Snapshot: snap, BatchUUID: batchID, Topics: topics, Anchors: am}
}

// Every message built with the services' own models decodes, and folds as
// the contract says: callbacks (one of them with an anchor the service named
// ANCHOR_7_6b26ff39), an error callback, the completed and result events
// re-wrapped by the outbox, and the failed event's reason from error_info.
func TestUpstreamMessagesDecodeAndFold(t *testing.T) {
	up := loadUpstream(t)
	for _, external := range []bool{false, true} {
		anchor := "anchor_b_1"
		if external {
			anchor = "teacher_s_b"
		}
		t.Run(map[bool]string{false: "batch anchor", true: "external anchor"}[external], func(t *testing.T) {
			h := New(upstreamBatch(up.BatchID, external))
			var recs []journal.Record
			want := map[string]Disposition{}
			for i, m := range up.Messages {
				if _, err := topics.Decode(m.Topic, m.Value); err != nil {
					t.Fatalf("%s does not decode: %v", m.Name, err)
				}
				rec := journal.NewRecord(m.Topic, 0, int64(i), nil, m.Value, time.Unix(1_800_000_000, 0), time.Unix(1_800_000_001, 0), 1)
				rec.Seq = int64(i + 1)
				recs = append(recs, rec)
				want[m.Name] = Applied
			}
			// The failed event comes after completed: a second end of the
			// same batch is still applied (it says the batch failed).
			for i, r := range recs {
				if got := h.Apply(r); got != want[up.Messages[i].Name] {
					t.Errorf("%s: %v, want %v", up.Messages[i].Name, got, want[up.Messages[i].Name])
				}
			}
			sec, err := h.Sections(SliceSource(recs))
			if err != nil {
				t.Fatal(err)
			}
			cs := sec.LLMComparisons
			if len(cs) != 3 {
				t.Fatalf("%d comparisons", len(cs))
			}
			if c := cs[0]; c.EssayAID != "adam_lindgren" || c.EssayBID != "alice_sjoberg" || c.WinnerID != "adam_lindgren" ||
				c.CostUSD != 0.00241 || c.TokensPrompt != 1800 || *c.Confidence != 4 || c.Model != "gpt-5.1" {
				t.Errorf("student vs student: %+v", c)
			}
			if c := cs[1]; c.Status != artefacts.StatusFailed || c.ErrorCode != "EXTERNAL_SERVICE_ERROR" || c.FailureReason != "Provider returned 529 overloaded" {
				t.Errorf("error callback: %+v", c)
			}
			if c := cs[2]; c.EssayBID != anchor || c.WinnerID != anchor || c.LoserID != "adam_lindgren" {
				t.Errorf("student vs the anchor the service named ANCHOR_7_6b26ff39: %+v", c)
			}
			comp := h.Completion()
			if !comp.Completed || !comp.HasResult || comp.CJStatus != events.StatusCompleted || !comp.Failed ||
				!strings.Contains(comp.FailureReason, "insufficient_successful_comparisons") || !strings.Contains(comp.FailureReason, `"required":10`) {
				t.Errorf("completion %+v", comp)
			}
			sr := sec.ServiceResults
			if sr == nil || len(sr.Rows) != 3 || len(sr.UnmatchedIDs) != 0 || sr.ModelUsed != "gpt-5.1" || sr.AssessmentMetadata["calibration_method"] != "anchor" {
				t.Fatalf("service results %+v", sr)
			}
			if r := sr.Rows[0]; r.EssayID != anchor || r.ServiceEssayID != "ANCHOR_7_6b26ff39" || !r.IsAnchor || r.LetterGrade != "B" || r.BTScore != 1.1 {
				t.Errorf("the anchor's row %+v", r)
			}
			// One anchor was never compared, so only one anchored grade is
			// fitted: no projection, and nothing to agree on.
			if sr.GradeAgreement == nil || sec.GradeProjectionStatus.Projected != (sr.GradeAgreement.Compared > 0) {
				t.Errorf("agreement %+v with projection %+v", sr.GradeAgreement, sec.GradeProjectionStatus)
			}
			found := false
			for _, e := range sec.BTSummary {
				if e.EssayID == anchor {
					found = true
					if !e.IsAnchor || e.AnchorGrade != "B" || e.ServiceTheta == nil || *e.ServiceTheta != 1.1 {
						t.Errorf("bt entry of the anchor %+v", e)
					}
				}
			}
			if !found {
				t.Errorf("%s is not in bt_summary", anchor)
			}
		})
	}
}

// An anchor id the recorded map does not hold, and the ids eng5np used to
// invent, are hard metadata faults naming the id.
func TestUnknownServiceAnchorIsAFault(t *testing.T) {
	b := upstreamBatch("b0077317-466e-4a3e-97fb-822bccf0a5cf", false)
	for _, id := range []string{"ANCHOR_99_6b26ff39", "ANCHOR_anchor_b_1", "STRANGER"} {
		h := New(b)
		var r recorder
		rec := r.add(topics.ComparisonResult(), callback(t, cbOpts{a: "ADAM_LINDGREN", b: id, winner: events.WinnerA, batch: b.BatchUUID}))
		if got := h.Apply(rec); got != MetadataFault {
			t.Errorf("%s: %v, want a metadata fault", id, got)
			continue
		}
		detail := h.Stats().Faults[0].Detail
		if !strings.Contains(detail, id) {
			t.Errorf("%s: the fault does not name it: %s", id, detail)
		}
		if strings.HasPrefix(id, "ANCHOR_99") && !strings.Contains(detail, "CJ anchor 99") {
			t.Errorf("the fault does not say the service did not list anchor 99: %s", detail)
		}
	}
}
