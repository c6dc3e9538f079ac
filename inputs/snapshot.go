package inputs

import (
	"encoding/json"
	"fmt"
)

// SnapshotVersion is the version of the inputs.json layout.
const SnapshotVersion = 1

// Snapshot is inputs.json: what a run needs to know about its inputs after
// the fact — the inventory, ids and their wire ids, grades, checksums, and the
// instructions and prompt texts — so that `rehydrate` can rebuild the
// artefact without the original files. Essay texts are not kept.
type Snapshot struct {
	SnapshotVersion int              `json:"snapshot_version"`
	BatchDir        string           `json:"batch_dir"`
	GradeScale      string           `json:"grade_scale"`
	Instructions    SnapshotDocument `json:"instructions"`
	PromptReference SnapshotDocument `json:"prompt_reference"`
	Anchors         []SnapshotAnchor `json:"anchors"`
	Students        []SnapshotEssay  `json:"students"`
	GroundTruth     *SnapshotFile    `json:"ground_truth,omitempty"`
	Files           []FileStatus     `json:"files"`
}

// SnapshotFile identifies a file by path and checksum.
type SnapshotFile struct {
	SourcePath string `json:"source_path"`
	Checksum   string `json:"checksum"`
	Bytes      int64  `json:"bytes"`
}

// SnapshotDocument is a file kept with its text.
type SnapshotDocument struct {
	SnapshotFile
	FileName string `json:"file_name"`
	Content  string `json:"content"`
}

// SnapshotEssay is one student essay's identity.
type SnapshotEssay struct {
	EssayID  string `json:"essay_id"`
	WireID   string `json:"wire_id"`
	FileName string `json:"file_name"`
	SnapshotFile
	Words int `json:"words"`
}

// SnapshotAnchor is one anchor's identity and grade.
type SnapshotAnchor struct {
	AnchorID  string `json:"anchor_id"`
	WireID    string `json:"wire_id"`
	FileName  string `json:"file_name"`
	Grade     string `json:"grade"`
	GradeFrom string `json:"grade_from"`
	SnapshotFile
	Words int `json:"words"`
}

// MarshalJSON keeps the inventory's field names in snake case.
func (f FileStatus) MarshalJSON() ([]byte, error) {
	type out struct {
		Path     string `json:"path"`
		Role     string `json:"role"`
		Status   string `json:"status"`
		Detail   string `json:"detail,omitempty"`
		Bytes    int64  `json:"bytes"`
		Checksum string `json:"sha256,omitempty"`
	}
	return json.Marshal(out(f))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *FileStatus) UnmarshalJSON(b []byte) error {
	var in struct {
		Path     string `json:"path"`
		Role     string `json:"role"`
		Status   string `json:"status"`
		Detail   string `json:"detail"`
		Bytes    int64  `json:"bytes"`
		Checksum string `json:"sha256"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*f = FileStatus(in)
	return nil
}

func snapDoc(d Document) SnapshotDocument {
	return SnapshotDocument{SnapshotFile: SnapshotFile{SourcePath: d.SourcePath, Checksum: d.Checksum, Bytes: d.Bytes}, FileName: d.FileName, Content: d.Text}
}

// Snapshot captures the batch for inputs.json.
func (b *Batch) Snapshot() Snapshot {
	s := Snapshot{
		SnapshotVersion: SnapshotVersion,
		BatchDir:        b.Dir,
		GradeScale:      b.Scale.Name,
		Instructions:    snapDoc(b.Instructions),
		PromptReference: snapDoc(b.Prompt),
		Anchors:         make([]SnapshotAnchor, 0, len(b.Anchors)),
		Students:        make([]SnapshotEssay, 0, len(b.Students)),
		Files:           b.Files,
	}
	for _, a := range b.Anchors {
		s.Anchors = append(s.Anchors, SnapshotAnchor{AnchorID: a.ID, WireID: a.WireID, FileName: a.FileName, Grade: a.Grade, GradeFrom: a.GradeFrom,
			SnapshotFile: SnapshotFile{SourcePath: a.SourcePath, Checksum: a.Checksum, Bytes: a.Bytes}, Words: a.Words})
	}
	for _, st := range b.Students {
		s.Students = append(s.Students, SnapshotEssay{EssayID: st.ID, WireID: st.WireID, FileName: st.FileName,
			SnapshotFile: SnapshotFile{SourcePath: st.SourcePath, Checksum: st.Checksum, Bytes: st.Bytes}, Words: st.Words})
	}
	if b.GroundTruth != nil {
		s.GroundTruth = &SnapshotFile{SourcePath: b.GroundTruth.SourcePath, Checksum: b.GroundTruth.Checksum, Bytes: b.GroundTruth.Bytes}
	}
	return s
}

// Essay is one essay of a snapshot, student or anchor, by its artefact id.
type Essay struct {
	ID       string
	WireID   string
	IsAnchor bool
	Grade    string // anchors only
}

// Essays lists the anchors then the students.
func (s *Snapshot) Essays() []Essay {
	out := make([]Essay, 0, len(s.Anchors)+len(s.Students))
	for _, a := range s.Anchors {
		out = append(out, Essay{ID: a.AnchorID, WireID: a.WireID, IsAnchor: true, Grade: a.Grade})
	}
	for _, st := range s.Students {
		out = append(out, Essay{ID: st.EssayID, WireID: st.WireID})
	}
	return out
}

// ByWireID maps every wire id to its essay.
func (s *Snapshot) ByWireID() map[string]Essay {
	m := map[string]Essay{}
	for _, e := range s.Essays() {
		m[e.WireID] = e
	}
	return m
}

// Validate checks a snapshot read back from disk.
func (s *Snapshot) Validate() error {
	if s.SnapshotVersion != SnapshotVersion {
		return fmt.Errorf("inputs.json has snapshot_version %d; this eng5np reads version %d", s.SnapshotVersion, SnapshotVersion)
	}
	if len(s.Anchors) == 0 || len(s.Students) == 0 {
		return fmt.Errorf("inputs.json lists %d anchors and %d students; both must be at least 1", len(s.Anchors), len(s.Students))
	}
	seen := map[string]bool{}
	for _, e := range s.Essays() {
		if e.ID == "" || e.WireID == "" || seen[e.ID] || seen["wire:"+e.WireID] {
			return fmt.Errorf("inputs.json: essay id %q or wire id %q is empty or repeated", e.ID, e.WireID)
		}
		seen[e.ID], seen["wire:"+e.WireID] = true, true
	}
	return nil
}
