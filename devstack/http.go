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
	"unicode/utf8"

	"eng5np/events"
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
	id := "content-" + hex.EncodeToString(h[:10])
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
	Label  string
	WireID string
	Grade  string
	Text   string
}

// anchorRegistry is the CJ service's anchor store, per assignment.
type anchorRegistry struct {
	mu      sync.RWMutex
	anchors map[string]map[string]registeredAnchor // assignment → label → anchor
}

func newAnchorRegistry() *anchorRegistry {
	return &anchorRegistry{anchors: map[string]map[string]registeredAnchor{}}
}

// register stores an anchor; it is idempotent on assignment + label and
// reports whether it was new, unchanged or updated.
func (r *anchorRegistry) register(assignment string, a registeredAnchor) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.anchors[assignment]
	if m == nil {
		m = map[string]registeredAnchor{}
		r.anchors[assignment] = m
	}
	old, exists := m[a.Label]
	m[a.Label] = a
	switch {
	case !exists:
		return "registered"
	case old == a:
		return "unchanged"
	}
	return "updated"
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": fmt.Sprintf(format, args...), "status": status})
}

// handler serves the content service and the CJ admin API on one port.
func (s *Stack) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "services": []string{"content", "cj_assessment"}})
	})
	mux.HandleFunc("/v1/content", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "use POST with the raw UTF-8 text as the body")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxContentBytes+1))
		switch {
		case err != nil:
			writeError(w, http.StatusBadRequest, "cannot read the body: %v", err)
		case len(body) > maxContentBytes:
			writeError(w, http.StatusRequestEntityTooLarge, "content larger than %d bytes", maxContentBytes)
		case len(strings.TrimSpace(string(body))) == 0:
			writeError(w, http.StatusBadRequest, "empty content")
		case !utf8.Valid(body):
			writeError(w, http.StatusBadRequest, "content is not UTF-8 text")
		default:
			writeJSON(w, http.StatusCreated, map[string]string{"storage_id": s.content.put(body)})
		}
	})
	mux.HandleFunc("/v1/content/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		b, ok := s.content.get(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "no content with storage id %q", r.PathValue("id"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/api/v1/anchors/register", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON body")
			return
		}
		var req struct {
			AssignmentID string `json:"assignment_id"`
			Grade        string `json:"grade"`
			AnchorLabel  string `json:"anchor_label"`
			EssayText    string `json:"essay_text"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxContentBytes))
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body is not the JSON {assignment_id, grade, anchor_label, essay_text}: %v", err)
			return
		}
		wire := inputs.AnchorWireID(req.AnchorLabel)
		switch {
		case !events.IsUUID(req.AssignmentID):
			writeError(w, http.StatusBadRequest, "assignment_id %q is not a UUID", req.AssignmentID)
		case req.AnchorLabel == "" || len(wire) > inputs.MaxWireIDLen:
			writeError(w, http.StatusBadRequest, "anchor_label must be 1 to %d characters", inputs.MaxAnchorIDLen)
		case scaleOf(req.Grade) == "":
			writeError(w, http.StatusBadRequest, "grade %q is on no known scale", req.Grade)
		case strings.TrimSpace(req.EssayText) == "":
			writeError(w, http.StatusBadRequest, "essay_text is empty")
		default:
			status := s.anchors.register(req.AssignmentID, registeredAnchor{Label: req.AnchorLabel, WireID: wire, Grade: req.Grade, Text: req.EssayText})
			code := http.StatusCreated
			if status != "registered" {
				code = http.StatusOK
			}
			writeJSON(w, code, map[string]string{"anchor_id": wire, "status": status})
		}
	})
	mux.HandleFunc("/admin/v1/anchors/assignment/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		id := r.PathValue("id")
		if !events.IsUUID(id) {
			writeError(w, http.StatusBadRequest, "assignment id %q is not a UUID", id)
			return
		}
		list := s.anchors.forAssignment(id)
		byScale := map[string]int{}
		type anchorOut struct {
			AnchorID    string `json:"anchor_id"`
			AnchorLabel string `json:"anchor_label"`
			Grade       string `json:"grade"`
		}
		out := []anchorOut{}
		for _, a := range list {
			byScale[scaleOf(a.Grade)]++
			out = append(out, anchorOut{a.WireID, a.Label, a.Grade})
		}
		writeJSON(w, http.StatusOK, map[string]any{"assignment_id": id, "anchor_count": len(list), "anchor_count_by_scale": byScale, "anchors": out})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint %s %s", r.Method, r.URL.Path)
	})
	return mux
}
