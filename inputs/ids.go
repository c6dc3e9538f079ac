package inputs

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Limits on identifiers.
const (
	// MaxEssayIDLen is the longest student essay_id (docs/CONTRACT.md, "Inputs").
	MaxEssayIDLen = 64
	// MinEssayIDLen is the shortest student essay_id; shorter stems are padded.
	MinEssayIDLen = 3
	// MaxWireIDLen is the longest id sent to the CJ service.
	MaxWireIDLen = 36
	// AnchorWirePrefix prefixes every anchor's wire id.
	AnchorWirePrefix = "ANCHOR_"
	// MaxAnchorIDLen keeps ANCHOR_<anchor_id> within MaxWireIDLen.
	MaxAnchorIDLen = MaxWireIDLen - len(AnchorWirePrefix)
)

// EssayIDPattern is the pattern every student essay_id matches.
var EssayIDPattern = regexp.MustCompile(`^[a-z0-9_-]{3,64}$`)

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// sanitize lower-cases a file stem, folds accents (å → a, é → e), turns every
// other character outside [a-z0-9_-] into '_' (runs collapsed) and trims '_'
// and '-' at both ends. It is stable: the same stem always gives the same id.
func sanitize(stem string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range norm.NFKD.String(stem) {
		if unicode.Is(unicode.Mn, r) {
			continue // combining accent
		}
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
			lastUnderscore = false
		case r == 'ß':
			b.WriteString("ss")
			lastUnderscore = false
		case r == 'æ':
			b.WriteString("ae")
			lastUnderscore = false
		case r == 'ø':
			b.WriteRune('o')
			lastUnderscore = false
		default:
			if !lastUnderscore {
				b.WriteRune('_')
				lastUnderscore = true
			}
		}
	}
	return strings.Trim(b.String(), "_-")
}

// fitLength shortens id to at most maxLen with a hash suffix of the original
// stem, and pads ids shorter than minLen with one.
func fitLength(id, stem string, minLen, maxLen int) string {
	if len(id) > maxLen {
		keep := strings.TrimRight(id[:maxLen-9], "_-")
		return keep + "-" + shortHash(stem)
	}
	if len(id) < minLen {
		if id == "" {
			return "essay-" + shortHash(stem)
		}
		return id + "-" + shortHash(stem)
	}
	return id
}

// EssayID returns the student essay_id for a file stem: sanitized, 3 to 64
// characters of [a-z0-9_-]. Long stems keep their first 55 characters and get
// a hash suffix; short ones are padded with one.
func EssayID(stem string) string {
	return fitLength(sanitize(stem), stem, MinEssayIDLen, MaxEssayIDLen)
}

// AnchorID returns the anchor_id for a CSV value or file stem: sanitized like
// EssayID, but at most 29 characters so that its wire id ANCHOR_<anchor_id>
// stays within 36.
func AnchorID(raw string) string {
	return fitLength(sanitize(raw), raw, 1, MaxAnchorIDLen)
}

// StudentWireID is the id sent to the CJ service for a student: the essay_id
// upper-cased, shortened with a hash suffix beyond 36 characters.
func StudentWireID(essayID string) string {
	w := strings.ToUpper(essayID)
	if len(w) > MaxWireIDLen {
		w = strings.TrimRight(w[:MaxWireIDLen-9], "_-") + "_" + strings.ToUpper(shortHash(essayID))
	}
	return w
}

// AnchorWireID is the id eng5np before 0.2 expected the CJ service to give
// a registered anchor; the service names anchors ANCHOR_{db id}_{8 hex}
// (ServiceAnchorID), so it only identifies anchors in runs recorded without
// cj_anchors.json.
func AnchorWireID(anchorID string) string { return AnchorWirePrefix + anchorID }
