// Package schemas embeds the artefact schema and validates documents against
// it, with format assertion on (uuid, date-time), so an invalid artefact is
// caught before it is written.
package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// AssessmentRunJSON is schemas/assessment_run.schema.json.
//
//go:embed assessment_run.schema.json
var AssessmentRunJSON []byte

// AssessmentRunURL is the resource name the schema is compiled under.
const AssessmentRunURL = "assessment_run.schema.json"

// ReferenceJSON is the reference ENG5 NP artefact schema this project's
// schema evolves compatibly (see reference/README.md for its provenance).
//
//go:embed reference/assessment_run.schema.json
var ReferenceJSON []byte

var (
	once     sync.Once
	compiled *jsonschema.Schema
	errLoad  error

	refOnce     sync.Once
	refCompiled *jsonschema.Schema
	refErr      error
)

// AssessmentRun returns the compiled artefact schema.
func AssessmentRun() (*jsonschema.Schema, error) {
	once.Do(func() { compiled, errLoad = Compile(AssessmentRunJSON, AssessmentRunURL) })
	return compiled, errLoad
}

// Reference returns the compiled reference schema, with the one relaxation
// eng5np's artefacts need: validation.cli_environment describes this Go
// runner, so the Python runner's required fields there are not required.
func Reference() (*jsonschema.Schema, error) {
	refOnce.Do(func() {
		var doc map[string]any
		if refErr = json.Unmarshal(ReferenceJSON, &doc); refErr != nil {
			return
		}
		if cli, ok := dig(doc, "definitions", "validation", "properties", "cli_environment"); ok {
			delete(cli, "required")
		}
		relaxed, err := json.Marshal(doc)
		if err != nil {
			refErr = err
			return
		}
		refCompiled, refErr = Compile(relaxed, "reference/assessment_run.schema.json")
	})
	return refCompiled, refErr
}

func dig(doc map[string]any, path ...string) (map[string]any, bool) {
	cur := doc
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// Compile compiles a schema document with format assertion on.
func Compile(schema []byte, url string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("schema %s is not JSON: %w", url, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", url, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s does not compile: %w", url, err)
	}
	return s, nil
}

// ViolationError is the first place a document breaks its schema.
type ViolationError struct {
	// Path is the JSON pointer of the offending value ("/metadata/git_sha").
	Path string
	// Message says what is wrong there.
	Message string
	// Count is how many leaf violations the document has in all.
	Count int
}

func (e *ViolationError) Error() string {
	path := e.Path
	if path == "" {
		path = "/"
	}
	more := ""
	if e.Count > 1 {
		more = fmt.Sprintf(" (and %d more)", e.Count-1)
	}
	return fmt.Sprintf("schema violation at %s: %s%s", path, e.Message, more)
}

// Validate checks a JSON document against a compiled schema and returns a
// *ViolationError naming the first violation, in document order.
func Validate(s *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &ViolationError{Message: "not valid JSON: " + err.Error(), Count: 1}
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var leaves []*jsonschema.ValidationError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	first := leaves[0]
	for _, l := range leaves[1:] {
		if pointer(l.InstanceLocation) < pointer(first.InstanceLocation) {
			first = l
		}
	}
	return &ViolationError{Path: pointer(first.InstanceLocation), Message: leafMessage(first), Count: len(leaves)}
}

// ValidateAssessmentRun validates an artefact against the embedded schema.
func ValidateAssessmentRun(doc []byte) error {
	s, err := AssessmentRun()
	if err != nil {
		return err
	}
	return Validate(s, doc)
}

// ValidateReference validates an artefact against the reference schema.
func ValidateReference(doc []byte) error {
	s, err := Reference()
	if err != nil {
		return err
	}
	return Validate(s, doc)
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	return "/" + strings.Join(loc, "/")
}

// leafMessage is the violation's own text without the library's preamble.
func leafMessage(e *jsonschema.ValidationError) string {
	out := e.BasicOutput()
	for _, u := range out.Errors {
		if u.Error != nil {
			return u.Error.String()
		}
	}
	if out.Error != nil {
		return out.Error.String()
	}
	return e.Error()
}
