package inputs

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// AnchorMapVersion is the version of the cj_anchors.json layout.
const AnchorMapVersion = 1

// AnchorMap is cj_anchors.json: the anchors the CJ service held for the
// assignment when the run started, read from its admin API before the
// request was published. The CJ service names anchors in a batch
// ANCHOR_{id}_{8 hex} with its own database id and adds every anchor
// registered for the assignment, so this record is what maps those ids back
// to the batch's anchors, or to anchors someone else registered (external
// ones), without the network: rehydrate and verify read it.
type AnchorMap struct {
	Version      int               `json:"version"`
	AssignmentID string            `json:"assignment_id"`
	GradeScale   string            `json:"grade_scale"`
	CJServiceURL string            `json:"cj_service_url"`
	RecordedAt   time.Time         `json:"recorded_at"`
	Anchors      []RegisteredEssay `json:"anchors"`
}

// RegisteredEssay is one anchor the CJ service holds for the assignment.
type RegisteredEssay struct {
	ID            int    `json:"id"` // the CJ service's database id
	Label         string `json:"anchor_label"`
	Grade         string `json:"grade"`
	GradeScale    string `json:"grade_scale"`
	TextStorageID string `json:"text_storage_id"`
	// EssayID is the anchor's id in the artefact: the batch's anchor id
	// when the label is one, else the label sanitized (External).
	EssayID  string `json:"essay_id"`
	External bool   `json:"external,omitempty"`
	// For an external anchor, its text as the content service returned it
	// (checksum and size) and where it came from.
	Checksum   string `json:"checksum,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`
	SourcePath string `json:"source_path,omitempty"`
}

// Validate checks a map read back from disk.
func (m *AnchorMap) Validate() error {
	if m.Version != AnchorMapVersion {
		return fmt.Errorf("cj_anchors.json has version %d; this eng5np reads version %d", m.Version, AnchorMapVersion)
	}
	seen := map[int]bool{}
	for _, a := range m.Anchors {
		if a.ID <= 0 || a.EssayID == "" || seen[a.ID] {
			return fmt.Errorf("cj_anchors.json: anchor id %d (essay %q) is missing, repeated or unnamed", a.ID, a.EssayID)
		}
		seen[a.ID] = true
	}
	return nil
}

// serviceAnchorID is how the CJ service names an anchor in a batch.
var serviceAnchorID = regexp.MustCompile(`^ANCHOR_([0-9]+)_([0-9a-f]{8})$`)

// ParseServiceAnchorID reads the database id out of an anchor id the CJ
// service gave (ANCHOR_{id}_{8 hex}); ok is false for any other id.
func ParseServiceAnchorID(s string) (id int, ok bool) {
	m := serviceAnchorID.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	id, err := strconv.Atoi(m[1])
	return id, err == nil && id > 0
}

// ServiceAnchorID names an anchor the way the CJ service does in a batch.
func ServiceAnchorID(id int, suffix string) string { return fmt.Sprintf("ANCHOR_%d_%s", id, suffix) }

// ExternalAnchorID is the artefact id of an external anchor: its label
// sanitized like an anchor id, made unique against taken ids with the
// service's database id.
func ExternalAnchorID(label string, id int, taken map[string]bool) string {
	base := sanitize(label)
	if base == "" {
		base = "anchor"
	}
	if len(base) > MaxAnchorIDLen {
		base = base[:MaxAnchorIDLen]
	}
	out := base
	if taken[out] {
		out = fmt.Sprintf("%s-cj%d", base, id)
	}
	return out
}
