// Package fault names the faults the dev stack can inject and parses their
// NAME=RATE specifications. It is a leaf package so that config can validate
// --fault without importing the stack.
package fault

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The faults of docs/CONTRACT.md, "Dev stack". Rates are probabilities in [0,
// 1]: per callback for the callback faults, per batch for drop_completion and
// fail_batch; the HTTP faults (bare_500, admin_disabled) are on at any rate
// above 0.
const (
	DropEssayAID     = "drop_essay_a_id"    // callback metadata lacks essay_a_id
	DropEssayBID     = "drop_essay_b_id"    // callback metadata lacks essay_b_id
	DropPromptSHA256 = "drop_prompt_sha256" // callback metadata lacks prompt_sha256
	Duplicate        = "duplicate"          // the callback is published twice
	Late             = "late"               // the callback is delayed by --late-delay
	Malformed        = "malformed"          // a non-JSON message is published beside the callback
	ForeignBatch     = "foreign_batch"      // an extra callback for another batch is published
	ProviderError    = "provider_error"     // the provider answers with an error callback
	DropCompletion   = "drop_completion"    // the completed event is never published
	FailBatch        = "fail_batch"         // the CJ service publishes cj_assessment.failed
	FailCritically   = "fail_critically"    // the CJ service ends the batch on the completed topic with status failed_critically
	Bare500          = "bare_500"           // CJ HTTP errors answer a bare 500, as the deployed service does
	AdminDisabled    = "admin_disabled"     // every CJ admin route answers 404, as with the admin API switched off
)

// Descriptions explains every fault, for help text and docs.
var Descriptions = map[string]string{
	DropEssayAID:     "callback request_metadata lacks essay_a_id (runner: hard fault, exit 3)",
	DropEssayBID:     "callback request_metadata lacks essay_b_id (runner: hard fault, exit 3)",
	DropPromptSHA256: "callback request_metadata lacks prompt_sha256 (runner: hard fault, exit 3)",
	Duplicate:        "the callback is published twice (runner: ignored, counted)",
	Late:             "the callback is published --late-delay later (runner: may time out, then resume)",
	Malformed:        "a non-JSON message is published on the callback topic (runner: quarantined, counted)",
	ForeignBatch:     "an extra callback for another batch is published (runner: skipped, counted)",
	ProviderError:    "the provider answers with an error callback (runner: failed comparison)",
	DropCompletion:   "per batch: cj_assessment.completed is never published (runner: timeout, exit 4)",
	FailBatch:        "per batch: cj_assessment.failed is published after the first wave (runner: exit 6)",
	FailCritically:   "per batch: cj_assessment.completed arrives with status failed_critically and no result (runner: exit 6)",
	Bare500:          "any rate > 0: every error the CJ admin API raises, and every unknown route, answers HTTP 500 with the catch-all body, as the deployed service does",
	AdminDisabled:    "any rate > 0: every /admin/v1 route answers 404, as a production deployment with the admin API switched off",
}

// Names lists every fault, sorted.
func Names() []string {
	names := make([]string, 0, len(Descriptions))
	for n := range Descriptions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set maps fault names to rates.
type Set map[string]float64

// Rate returns the rate of a fault (0 when absent).
func (s Set) Rate(name string) float64 { return s[name] }

// String renders the set as sorted NAME=RATE pairs.
func (s Set) String() string {
	var parts []string
	for _, n := range Names() {
		if r, ok := s[n]; ok {
			parts = append(parts, n+"="+strconv.FormatFloat(r, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Parse reads one NAME=RATE specification.
func Parse(spec string) (string, float64, error) {
	name, rate, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok {
		return "", 0, fmt.Errorf("%q is not NAME=RATE", spec)
	}
	name = strings.TrimSpace(name)
	if _, known := Descriptions[name]; !known {
		return "", 0, fmt.Errorf("unknown fault %q; known faults: %s", name, strings.Join(Names(), ", "))
	}
	r, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
	if err != nil || r < 0 || r > 1 || r != r {
		return "", 0, fmt.Errorf("fault %s: rate %q is not a number from 0 to 1", name, rate)
	}
	return name, r, nil
}

// ParseAll reads every specification into a Set; a later spec of the same
// fault replaces an earlier one.
func ParseAll(specs []string) (Set, error) {
	set := Set{}
	for _, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		n, r, err := Parse(spec)
		if err != nil {
			return nil, err
		}
		set[n] = r
	}
	return set, nil
}
