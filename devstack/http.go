package devstack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"eng5np/events"
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/scoring"
)

// maxContentBytes caps one uploaded text.
const maxContentBytes = 16 << 20

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

// registeredAnchor is an anchor known to the CJ service.
type registeredAnchor struct {
	ID        int // the database id, unique across assignments
	Label     string
	WireID    string
	Grade     string
	Text      string
	StorageID string
	Created   time.Time
}

// anchorRegistry is the CJ service's anchor store, per assignment.
type anchorRegistry struct {
	mu      sync.RWMutex
	nextID  int
	anchors map[string]map[string]registeredAnchor // assignment → label → anchor
}

func newAnchorRegistry() *anchorRegistry {
	return &anchorRegistry{anchors: map[string]map[string]registeredAnchor{}, nextID: 1}
}

// register stores an anchor, keeping its database id when the assignment
// already has one with the label (an upsert), and returns it with whether
// it was new, unchanged or updated.
func (r *anchorRegistry) register(assignment string, a registeredAnchor) (registeredAnchor, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.anchors[assignment]
	if m == nil {
		m = map[string]registeredAnchor{}
		r.anchors[assignment] = m
	}
	old, exists := m[a.Label]
	if exists {
		a.ID, a.Created = old.ID, old.Created
	} else {
		a.ID, a.Created = r.nextID, time.Now().UTC()
		r.nextID++
	}
	m[a.Label] = a
	switch {
	case !exists:
		return a, "registered"
	case old == a:
		return a, "unchanged"
	}
	return a, "updated"
}

// forAssignment lists an assignment's anchors sorted by label.
func (r *anchorRegistry) forAssignment(assignment string) []registeredAnchor {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]registeredAnchor, 0, len(r.anchors[assignment]))
	for _, a := range r.anchors[assignment] {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// scaleOf names the grade scale an anchor grade belongs to.
func scaleOf(grade string) string {
	for _, name := range scoring.ScaleNames() {
		s, _ := scoring.LookupScale(name)
		if _, ok := s.Canonical(grade); ok {
			return name
		}
	}
	return ""
}

func respondJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func respondError(w http.ResponseWriter, status int, format string, args ...any) {
	respondJSON(w, status, huleedu.ErrorBody{Error: fmt.Sprintf(format, args...), Status: status})
}

// handler serves the content service and the CJ admin API on one port.
func (s *Stack) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(huleedu.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			respondError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		respondJSON(w, http.StatusOK, map[string]any{"status": "ok", "services": []string{"content", "cj_assessment"}})
	})
	mux.HandleFunc(huleedu.PathContent, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			respondError(w, http.StatusMethodNotAllowed, "use POST with the raw UTF-8 text as the body")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxContentBytes+1))
		switch {
		case err != nil:
			respondError(w, http.StatusBadRequest, "cannot read the body: %v", err)
		case len(body) > maxContentBytes:
			respondError(w, http.StatusRequestEntityTooLarge, "content larger than %d bytes", maxContentBytes)
		case len(strings.TrimSpace(string(body))) == 0:
			respondError(w, http.StatusBadRequest, "empty content")
		case !utf8.Valid(body):
			respondError(w, http.StatusBadRequest, "content is not UTF-8 text")
		default:
			respondJSON(w, http.StatusCreated, huleedu.ContentStored{StorageID: s.content.put(body)})
		}
	})
	mux.HandleFunc(huleedu.PathContent+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			respondError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		b, ok := s.content.get(r.PathValue("id"))
		if !ok {
			respondError(w, http.StatusNotFound, "no content with storage id %q", r.PathValue("id"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
	})
	mux.HandleFunc(huleedu.PathAnchorRegister, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			respondError(w, http.StatusMethodNotAllowed, "use POST with a JSON body")
			return
		}
		var req huleedu.AnchorRegistration
		dec := json.NewDecoder(io.LimitReader(r.Body, maxContentBytes))
		if err := dec.Decode(&req); err != nil {
			respondError(w, http.StatusBadRequest, "body is not the JSON {assignment_id, grade, anchor_label, essay_text}: %v", err)
			return
		}
		wire := inputs.AnchorWireID(req.AnchorLabel)
		switch {
		case !events.IsUUID(req.AssignmentID):
			respondError(w, http.StatusBadRequest, "assignment_id %q is not a UUID", req.AssignmentID)
		case req.AnchorLabel == "" || len(wire) > inputs.MaxWireIDLen:
			respondError(w, http.StatusBadRequest, "anchor_label must be 1 to %d characters", inputs.MaxAnchorIDLen)
		case scaleOf(req.Grade) == "":
			respondError(w, http.StatusBadRequest, "grade %q is on no known scale", req.Grade)
		case strings.TrimSpace(req.EssayText) == "":
			respondError(w, http.StatusBadRequest, "essay_text is empty")
		default:
			a, status := s.anchors.register(req.AssignmentID, registeredAnchor{Label: req.AnchorLabel, WireID: wire, Grade: req.Grade, Text: req.EssayText,
				StorageID: s.content.put([]byte(req.EssayText))})
			code := http.StatusCreated
			if status != "registered" {
				code = http.StatusOK
			}
			respondJSON(w, code, huleedu.AnchorRegistered{AnchorID: a.ID, StorageID: a.StorageID, GradeScale: scaleOf(a.Grade), Status: status})
		}
	})
	mux.HandleFunc(huleedu.PathAdminAnchors+"{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			respondError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		id := r.PathValue("id")
		if !events.IsUUID(id) {
			respondError(w, http.StatusBadRequest, "assignment id %q is not a UUID", id)
			return
		}
		list := s.anchors.forAssignment(id)
		out := huleedu.AnchorSummary{AssignmentID: id, Anchors: []huleedu.Anchor{}, AnchorCountByScale: map[string]int{}}
		for _, a := range list {
			scale := scaleOf(a.Grade)
			out.AnchorCountByScale[scale]++
			out.Anchors = append(out.Anchors, huleedu.Anchor{ID: a.ID, AssignmentID: id, AnchorLabel: a.Label, Grade: a.Grade, GradeScale: scale,
				TextStorageID: a.StorageID, CreatedAt: huleedu.HTTPTime{Time: a.Created}})
		}
		out.AnchorCount, out.AnchorCountTotal = len(list), len(list)
		respondJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		respondError(w, http.StatusNotFound, "no such endpoint %s %s", r.Method, r.URL.Path)
	})
	return mux
}
