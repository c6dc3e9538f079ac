package devstack

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"sync"
	"time"

	"eng5np/huleedu"
	"eng5np/inputs"
)

// contentStore is the content service: texts by storage id, deduplicated by
// sha256.
type contentStore struct {
	mu    sync.RWMutex
	texts map[string][]byte // storage id → bytes
}

func newContentStore() *contentStore { return &contentStore{texts: map[string][]byte{}} }

// put stores text and returns its storage id, the same for the same bytes.
func (c *contentStore) put(b []byte) string {
	h := sha256.Sum256(b)
	id := hex.EncodeToString(h[:16]) // 32 hex, like the content service's ids
	c.mu.Lock()
	c.texts[id] = append([]byte(nil), b...)
	c.mu.Unlock()
	return id
}

func (c *contentStore) get(id string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, ok := c.texts[id]
	return b, ok
}

// Assignment seeds the CJ service with an assignment's instructions, as an
// administrator of a dev deployment would have set them up.
type Assignment struct {
	ID            string
	Instructions  string // instructions_text
	GradeScale    string
	ContextOrigin string // default research_experiment
	StudentPrompt string // stored in the content service when set
	JudgeRubric   string // likewise
}

// instructions is an assignment's assessment instructions row.
type instructions struct {
	id                   int
	assignmentID         string
	text                 string
	gradeScale           string
	contextOrigin        string
	studentPromptStorage string
	judgeRubricStorage   string
	created              time.Time
}

func (in instructions) response() huleedu.Instructions {
	return huleedu.Instructions{ID: in.id, AssignmentID: in.assignmentID, InstructionsText: in.text, GradeScale: in.gradeScale,
		ContextOrigin: in.contextOrigin, StudentPromptStorageID: in.studentPromptStorage, CreatedAt: huleedu.HTTPTime{Time: in.created}}
}

// registeredAnchor is an anchor known to the CJ service.
type registeredAnchor struct {
	ID         int // the database id, unique across assignments
	Label      string
	Grade      string
	GradeScale string
	Text       string
	StorageID  string
	Created    time.Time
}

// anchorKey is the CJ service's upsert key: (assignment, label, scale).
type anchorKey struct{ assignment, label, scale string }

// cjStore is the CJ service's database: instructions per assignment and
// registered anchors.
type cjStore struct {
	mu           sync.RWMutex
	instructions map[string]*instructions
	nextInstr    int
	anchors      map[anchorKey]registeredAnchor
	nextAnchor   int
}

func newCJStore() *cjStore {
	return &cjStore{instructions: map[string]*instructions{}, anchors: map[anchorKey]registeredAnchor{}, nextInstr: 1, nextAnchor: 1}
}

// errImmutable is the service's refusal to change an assignment's scale or
// context origin once its instructions exist.
var errImmutable = errors.New("immutable once assessment instructions exist for a scope")

// upsertInstructions creates or updates an assignment's instructions. The
// grade scale and context origin cannot change; a prompt or rubric storage
// id is kept when the update does not give one.
func (s *cjStore) upsertInstructions(assignment, text, scale, origin, prompt, rubric string) (instructions, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if origin == "" {
		origin = huleedu.ContextResearch
	}
	in, ok := s.instructions[assignment]
	if ok {
		if in.gradeScale != scale {
			return instructions{}, errors.New("grade_scale is " + errImmutable.Error())
		}
		if in.contextOrigin != origin {
			return instructions{}, errors.New("context_origin is " + errImmutable.Error())
		}
		in.text = text
	} else {
		in = &instructions{id: s.nextInstr, assignmentID: assignment, text: text, gradeScale: scale, contextOrigin: origin, created: time.Now().UTC()}
		s.nextInstr++
		s.instructions[assignment] = in
	}
	if prompt != "" {
		in.studentPromptStorage = prompt
	}
	if rubric != "" {
		in.judgeRubricStorage = rubric
	}
	return *in, nil
}

// getInstructions returns an assignment's instructions.
func (s *cjStore) getInstructions(assignment string) (instructions, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	in, ok := s.instructions[assignment]
	if !ok {
		return instructions{}, false
	}
	return *in, true
}

// listInstructions returns every instructions row by id.
func (s *cjStore) listInstructions() []instructions {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]instructions, 0, len(s.instructions))
	for _, in := range s.instructions {
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// registerAnchor upserts an anchor on (assignment, label, scale), keeping
// its database id when it exists.
func (s *cjStore) registerAnchor(assignment string, a registeredAnchor) registeredAnchor {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := anchorKey{assignment, a.Label, a.GradeScale}
	if old, ok := s.anchors[k]; ok {
		a.ID, a.Created = old.ID, old.Created
	} else {
		a.ID, a.Created = s.nextAnchor, time.Now().UTC()
		s.nextAnchor++
	}
	s.anchors[k] = a
	return a
}

// labelOf is the label of the anchor with database id id.
func (s *cjStore) labelOf(id int) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.anchors {
		if a.ID == id {
			return a.Label, true
		}
	}
	return "", false
}

// anchorsOf lists an assignment's anchors in a scale ("" for every scale),
// by label.
func (s *cjStore) anchorsOf(assignment, scale string) []registeredAnchor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []registeredAnchor
	for k, a := range s.anchors {
		if k.assignment == assignment && (scale == "" || k.scale == scale) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Label != out[j].Label {
			return out[i].Label < out[j].Label
		}
		return out[i].GradeScale < out[j].GradeScale
	})
	return out
}

// AssignmentOf is the assignment a batch is run under, set up the way
// `eng5np assignment setup` does: its instructions.md as the instructions
// and the student prompt, its grade scale.
func AssignmentOf(id string, b *inputs.Batch) Assignment {
	return Assignment{ID: id, Instructions: b.Instructions.Text, GradeScale: b.Scale.Name, StudentPrompt: b.Instructions.Text}
}
