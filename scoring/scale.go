package scoring

import (
	"fmt"
	"sort"
	"strings"
)

// Scale is an ordered grade scale, lowest grade first.
type Scale struct {
	Name   string
	Grades []string
	// BelowLowest is the grade given to essays far under the lowest anchor;
	// "" for a scale without one.
	BelowLowest string
}

var scales = map[string]Scale{
	// The CJ service's default scale (Swedish national exam, 8 anchors):
	// nothing lies below its lowest grade.
	"swedish_8_anchor": {
		Name:   "swedish_8_anchor",
		Grades: []string{"F", "E", "D", "D+", "C", "C+", "B", "A"},
	},
	"eng5_np_legacy_9_step": {
		Name:        "eng5_np_legacy_9_step",
		Grades:      []string{"F+", "E-", "E+", "D-", "D+", "C-", "C+", "B", "A"},
		BelowLowest: "F",
	},
	"eng5_np_national_9_step": {
		Name:        "eng5_np_national_9_step",
		Grades:      []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"},
		BelowLowest: "0",
	},
}

// ScaleNames lists the known scales, sorted.
func ScaleNames() []string {
	names := make([]string, 0, len(scales))
	for n := range scales {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupScale returns the named scale or an error listing the known ones.
func LookupScale(name string) (Scale, error) {
	s, ok := scales[name]
	if !ok {
		return Scale{}, fmt.Errorf("unknown grade scale %q; known scales: %s", name, strings.Join(ScaleNames(), ", "))
	}
	return s, nil
}

// Index returns the position of grade in the scale (0 = lowest), or -1 for
// the below-lowest grade, and false when the grade is not on the scale.
func (s Scale) Index(grade string) (int, bool) {
	if s.BelowLowest != "" && grade == s.BelowLowest {
		return -1, true
	}
	for i, g := range s.Grades {
		if g == grade {
			return i, true
		}
	}
	return 0, false
}

// Canonical returns the scale's spelling of grade, matching case-insensitively
// and ignoring surrounding space ("b" → "B", " c+ " → "C+"). Only grades of the
// scale itself are accepted, not the below-lowest grade.
func (s Scale) Canonical(grade string) (string, bool) {
	g := strings.TrimSpace(grade)
	for _, c := range s.Grades {
		if strings.EqualFold(c, g) {
			return c, true
		}
	}
	return "", false
}
