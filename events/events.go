// Package events owns the Kafka wire contracts of docs/CONTRACT.md, "Kafka":
// topic names, the event envelope, the five payloads, and their two-phase
// decoding (envelope first, then the typed data for the topic). Unknown fields
// are ignored; wrong types and missing required fields are *DecodeError values
// naming the field.
package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
)

// DefaultTopicPrefix prefixes every topic unless configured otherwise.
const DefaultTopicPrefix = "huleedu."

// Topic suffixes.
const (
	requestedSuffix = "els.cj_assessment.requested.v1"
	callbackSuffix  = "llm_provider.comparison_result.v1"
	completedSuffix = "cj_assessment.completed.v1"
	resultSuffix    = "assessment.result.published.v1"
	failedSuffix    = "cj_assessment.failed.v1"
)

// Event types and names that are not topic names.
const (
	CallbackEventType   = "LLMComparisonResultV1"
	RequestEventName    = "els.cj_assessment.requested"
	CompletedEventName  = "cj_assessment.completed"
	RunnerSourceService = "eng5_np_batch_runner"
	StatusCompleted     = "completed_successfully"
	StatusFailed        = "failed_critically"
	WinnerA             = "Essay A"
	WinnerB             = "Essay B"
	MaxJustification    = 500
)

// Kind is what a topic carries.
type Kind int

// The topic kinds.
const (
	KindUnknown Kind = iota
	KindRequest
	KindCallback
	KindCompleted
	KindResult
	KindFailed
)

func (k Kind) String() string {
	return [...]string{"unknown", "cj_request", "comparison_result", "cj_completed", "assessment_result", "cj_failed"}[k]
}

// Topics names the topics under a prefix.
type Topics struct{ Prefix string }

// NewTopics returns the topics for a prefix.
func NewTopics(prefix string) Topics { return Topics{Prefix: prefix} }

func (t Topics) Requested() string        { return t.Prefix + requestedSuffix }
func (t Topics) ComparisonResult() string { return t.Prefix + callbackSuffix }
func (t Topics) Completed() string        { return t.Prefix + completedSuffix }
func (t Topics) Result() string           { return t.Prefix + resultSuffix }
func (t Topics) Failed() string           { return t.Prefix + failedSuffix }

// All lists the five topics.
func (t Topics) All() []string {
	return []string{t.Requested(), t.ComparisonResult(), t.Completed(), t.Result(), t.Failed()}
}

// Consumed lists the four topics the runner reads.
func (t Topics) Consumed() []string {
	return []string{t.ComparisonResult(), t.Completed(), t.Result(), t.Failed()}
}

// Kind returns what a topic carries.
func (t Topics) Kind(topic string) Kind {
	switch topic {
	case t.Requested():
		return KindRequest
	case t.ComparisonResult():
		return KindCallback
	case t.Completed():
		return KindCompleted
	case t.Result():
		return KindResult
	case t.Failed():
		return KindFailed
	}
	return KindUnknown
}

// DecodeError says which field of which topic's event is wrong.
type DecodeError struct {
	Topic string
	Field string // JSON path such as "data.token_usage.prompt_tokens"; "" for the whole message
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Topic, e.Msg)
	}
	return fmt.Sprintf("%s: field %s: %s", e.Topic, e.Field, e.Msg)
}

// Time is a timestamp that reads RFC 3339 with or without an offset (without
// one it is UTC) and writes RFC 3339 in UTC.
type Time struct{ time.Time }

var layoutsNoOffset = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// ParseTime reads a timestamp the way Time does.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s); err == nil {
		return t.UTC(), nil
	}
	for _, l := range layoutsNoOffset {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", s)
}

// UnmarshalJSON accepts null (the zero time) or a timestamp string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		s = string(b[1 : len(b)-1]) // the common case, without a decoder
	} else if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want an RFC 3339 timestamp string")
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 in UTC, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Now returns the current time as a Time.
func Now() Time { return Time{time.Now().UTC()} }

// Envelope wraps every event.
type Envelope struct {
	EventID        string          `json:"event_id"`
	EventType      string          `json:"event_type"`
	EventTimestamp Time            `json:"event_timestamp"`
	SourceService  string          `json:"source_service"`
	SchemaVersion  int             `json:"schema_version"`
	CorrelationID  string          `json:"correlation_id"`
	DataSchemaURI  *string         `json:"data_schema_uri"`
	Data           json.RawMessage `json:"data"`
	Metadata       map[string]any  `json:"metadata"`
}

// NewEnvelope wraps data with a fresh event id.
func NewEnvelope(eventType, source, correlationID string, data any, metadata map[string]any, at time.Time) (*Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s data: %w", eventType, err)
	}
	return &Envelope{
		EventID:        uuid.NewString(),
		EventType:      eventType,
		EventTimestamp: Time{at.UTC()},
		SourceService:  source,
		SchemaVersion:  1,
		CorrelationID:  correlationID,
		Data:           raw,
		Metadata:       metadata,
	}, nil
}

// Encode renders the envelope as compact JSON.
func (e *Envelope) Encode() ([]byte, error) { return json.Marshal(e) }

// Event is a decoded message: its envelope and exactly one typed payload.
type Event struct {
	Kind      Kind
	Envelope  *Envelope
	Request   *CJRequest
	Callback  *ComparisonResult
	Completed *CJCompleted
	Result    *AssessmentResult
	Failed    *CJFailed
}

// wireEnvelope is the envelope as decoded, with schema_version a pointer so
// that its absence can be told from 0.
type wireEnvelope struct {
	Envelope
	SchemaVersion *int `json:"schema_version"`
}

// DecodeEnvelope is the first decoding phase.
func DecodeEnvelope(topic string, value []byte) (*Envelope, error) {
	if !utf8.Valid(value) {
		return nil, &DecodeError{Topic: topic, Msg: "message is not UTF-8"}
	}
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &DecodeError{Topic: topic, Msg: "message is not a JSON object"}
	}
	var w wireEnvelope
	if err := gojson.Unmarshal(trimmed, &w); err != nil {
		return nil, asDecodeError(topic, "", err)
	}
	env := w.Envelope
	switch {
	case env.EventType == "":
		return nil, &DecodeError{Topic: topic, Field: "event_type", Msg: "required"}
	case env.SourceService == "":
		return nil, &DecodeError{Topic: topic, Field: "source_service", Msg: "required"}
	case len(env.Data) == 0 || string(env.Data) == "null":
		return nil, &DecodeError{Topic: topic, Field: "data", Msg: "required"}
	case env.Data[0] != '{':
		return nil, &DecodeError{Topic: topic, Field: "data", Msg: "must be an object"}
	}
	if env.EventID != "" && !IsUUID(env.EventID) {
		return nil, &DecodeError{Topic: topic, Field: "event_id", Msg: fmt.Sprintf("%q is not a UUID", env.EventID)}
	}
	if env.CorrelationID != "" && !IsUUID(env.CorrelationID) {
		return nil, &DecodeError{Topic: topic, Field: "correlation_id", Msg: fmt.Sprintf("%q is not a UUID", env.CorrelationID)}
	}
	if w.SchemaVersion != nil && *w.SchemaVersion != 1 {
		return nil, &DecodeError{Topic: topic, Field: "schema_version", Msg: fmt.Sprintf("version %d is not supported (want 1)", *w.SchemaVersion)}
	}
	env.SchemaVersion = 1
	return &env, nil
}

// Decode decodes a message read from topic: the envelope, then the payload
// the topic carries.
func (t Topics) Decode(topic string, value []byte) (*Event, error) {
	kind := t.Kind(topic)
	if kind == KindUnknown {
		return nil, &DecodeError{Topic: topic, Msg: "not one of the eng5np topics (check topic_prefix)"}
	}
	env, err := DecodeEnvelope(topic, value)
	if err != nil {
		return nil, err
	}
	ev := &Event{Kind: kind, Envelope: env}
	switch kind {
	case KindRequest:
		ev.Request = &CJRequest{}
		err = decodeData(topic, env.Data, ev.Request)
	case KindCallback:
		if env.EventType != CallbackEventType {
			return nil, &DecodeError{Topic: topic, Field: "event_type", Msg: fmt.Sprintf("%q, want %s", env.EventType, CallbackEventType)}
		}
		ev.Callback = &ComparisonResult{}
		err = decodeData(topic, env.Data, ev.Callback)
	case KindCompleted:
		ev.Completed = &CJCompleted{}
		err = decodeData(topic, env.Data, ev.Completed)
	case KindResult:
		ev.Result = &AssessmentResult{}
		err = decodeData(topic, env.Data, ev.Result)
	case KindFailed:
		ev.Failed = &CJFailed{}
		err = decodeData(topic, env.Data, ev.Failed)
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// validator is a payload that checks its own required fields.
type validator interface{ validate() *DecodeError }

// decodeData is the second phase. Decoding uses goccy/go-json: it reads the
// same JSON into the same types as encoding/json, six to seven times faster,
// and decoding every consumed record twice is the capture's hot path.
func decodeData(topic string, data json.RawMessage, v validator) error {
	if err := gojson.Unmarshal(data, v); err != nil {
		return asDecodeError(topic, "data", err)
	}
	if e := v.validate(); e != nil {
		e.Topic = topic
		e.Field = "data." + e.Field
		return e
	}
	return nil
}

func asDecodeError(topic, prefix string, err error) *DecodeError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var gte *gojson.UnmarshalTypeError
	var gse *gojson.SyntaxError
	join := func(f string) string {
		switch {
		case prefix == "":
			return f
		case f == "":
			return prefix
		}
		return prefix + "." + f
	}
	switch {
	case errors.As(err, &gte):
		return &DecodeError{Topic: topic, Field: join(gte.Field), Msg: fmt.Sprintf("want %s, got a JSON %s", gte.Type, gte.Value)}
	case errors.As(err, &gse):
		return &DecodeError{Topic: topic, Field: prefix, Msg: fmt.Sprintf("invalid JSON at byte %d: %v", gse.Offset, gse)}
	case errors.As(err, &te):
		return &DecodeError{Topic: topic, Field: join(te.Field), Msg: fmt.Sprintf("want %s, got a JSON %s", te.Type, te.Value)}
	case errors.As(err, &se):
		return &DecodeError{Topic: topic, Field: prefix, Msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}
	}
	msg := err.Error()
	// Errors from a field's own UnmarshalJSON (timestamps) name no field;
	// encoding/json prefixes them with the Go path, which is close enough.
	return &DecodeError{Topic: topic, Field: prefix, Msg: strings.TrimPrefix(msg, "json: ")}
}

// IsUUID reports whether s is a UUID in its canonical 36-character form
// (8-4-4-4-12 hex digits). It runs for every decoded event, so it is written
// out rather than a regular expression.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// PromptSHA256 hashes the exact provider-formatted prompt text.
func PromptSHA256(prompt string) string {
	h := sha256.Sum256([]byte(prompt))
	return hex.EncodeToString(h[:])
}

// ValidPromptSHA256 reports whether s is 64 lower-case hex characters.
func ValidPromptSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < 64; i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
