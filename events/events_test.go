package events

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var topics = NewTopics(DefaultTopicPrefix)

var goldens = map[string]string{
	"cj_request.json":              topics.Requested(),
	"comparison_result.json":       topics.ComparisonResult(),
	"comparison_result_error.json": topics.ComparisonResult(),
	"cj_completed.json":            topics.Completed(),
	"assessment_result.json":       topics.Result(),
	"cj_failed.json":               topics.Failed(),
}

func payloadOf(ev *Event) any {
	switch ev.Kind {
	case KindRequest:
		return ev.Request
	case KindCallback:
		return ev.Callback
	case KindCompleted:
		return ev.Completed
	case KindResult:
		return ev.Result
	case KindFailed:
		return ev.Failed
	}
	return nil
}

func asAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every golden decodes into its typed payload and encodes back to the same
// JSON document.
func TestGoldenRoundTrip(t *testing.T) {
	for file, topic := range goldens {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := topics.Decode(topic, data)
			if err != nil {
				t.Fatal(err)
			}
			if topics.Kind(topic) != ev.Kind || payloadOf(ev) == nil {
				t.Fatalf("kind %v", ev.Kind)
			}
			raw, err := json.Marshal(payloadOf(ev))
			if err != nil {
				t.Fatal(err)
			}
			ev.Envelope.Data = raw
			out, err := ev.Envelope.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := asAny(t, out), asAny(t, data); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\n got %s\nwant %s", out, data)
			}
		})
	}
}

func TestDecodedValues(t *testing.T) {
	data, _ := os.ReadFile("testdata/comparison_result.json")
	ev, err := topics.Decode(topics.ComparisonResult(), data)
	if err != nil {
		t.Fatal(err)
	}
	c := ev.Callback
	if !c.Succeeded() || *c.Winner != WinnerA || *c.Confidence != 4 || c.TokenUsage.TotalTokens != 1384 {
		t.Errorf("callback %+v", c)
	}
	if c.EssayAID() != "ALVA_LIND" || c.EssayBID() != "ANCHOR_b_1" || len(c.MetadataFaults()) != 0 {
		t.Errorf("metadata %v faults %v", c.RequestMetadata, c.MetadataFaults())
	}
	if it, ok := c.Iteration(); !ok || it != 1 {
		t.Errorf("iteration %d %v", it, ok)
	}
	if b, ok := c.BatchHint(); !ok || b != "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66" {
		t.Errorf("batch hint %q", b)
	}
	if want := time.Date(2026, 11, 25, 19, 0, 2, 500_000_000, time.UTC); !c.CompletedAt.Equal(want) {
		t.Errorf("completed_at %v", c.CompletedAt)
	}
}

func TestTimestampsWithoutOffsetAreUTC(t *testing.T) {
	for in, want := range map[string]string{
		`"2026-11-25T19:00:00"`:          "2026-11-25T19:00:00Z",
		`"2026-11-25T20:00:00+01:00"`:    "2026-11-25T19:00:00Z",
		`"2026-11-25 19:00:00.25"`:       "2026-11-25T19:00:00.25Z",
		`"2026-11-25T19:00:00.123456Z"`:  "2026-11-25T19:00:00.123456Z",
		`"2026-11-25T21:00:00.5+02:00"`:  "2026-11-25T19:00:00.5Z",
		`"2026-11-25 19:00:00.5+00:00"`:  "2026-11-25T19:00:00.5Z",
		`"2026-11-25T19:00:00.000+0000"`: "",
	} {
		var ts Time
		err := json.Unmarshal([]byte(in), &ts)
		if want == "" {
			if err == nil {
				t.Errorf("%s: accepted", in)
			}
			continue
		}
		out, _ := json.Marshal(ts)
		if err != nil || string(out) != `"`+want+`"` {
			t.Errorf("%s → %s, %v; want %s", in, out, err, want)
		}
	}
}

func mutate(t *testing.T, file string, edit func(m map[string]any)) []byte {
	t.Helper()
	data, _ := os.ReadFile("testdata/" + file)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	return out
}

func dataOf(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func TestDecodeErrorsNameTheField(t *testing.T) {
	cb := topics.ComparisonResult()
	cases := []struct {
		name, topic string
		value       []byte
		field, msg  string
	}{
		{"not json", cb, []byte("garbage{"), "", "not a JSON object"},
		{"not utf8", cb, []byte("{\xff}"), "", "not UTF-8"},
		{"no event_type", cb, mutate(t, "comparison_result.json", func(m map[string]any) { delete(m, "event_type") }), "event_type", "required"},
		{"data is a list", cb, mutate(t, "comparison_result.json", func(m map[string]any) { m["data"] = []any{1} }), "data", "must be an object"},
		{"wrong event type", cb, mutate(t, "comparison_result.json", func(m map[string]any) { m["event_type"] = "Other" }), "event_type", "LLMComparisonResultV1"},
		{"bad winner", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["winner"] = "Essay C" }), "data.winner", `"Essay C"`},
		{"both set", cb, mutate(t, "comparison_result.json", func(m map[string]any) {
			dataOf(m)["error_detail"] = map[string]any{"error_code": "X", "message": "y"}
		}), "data.error_detail", "both"},
		{"neither set", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["winner"] = nil }), "data.winner", "neither"},
		{"confidence", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["confidence"] = 7 }), "data.confidence", "outside"},
		{"token type", cb, mutate(t, "comparison_result.json", func(m map[string]any) {
			dataOf(m)["token_usage"].(map[string]any)["prompt_tokens"] = "many"
		}), "data.token_usage.prompt_tokens", "want int"},
		{"timestamp", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["requested_at"] = "yesterday" }), "data", "RFC 3339"},
		{"correlation", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["correlation_id"] = "pair-7" }), "data.correlation_id", "not a UUID"},
		{"request id", cb, mutate(t, "comparison_result.json", func(m map[string]any) { delete(dataOf(m), "request_id") }), "data.request_id", "required"},
		{"long justification", cb, mutate(t, "comparison_result.json", func(m map[string]any) { dataOf(m)["justification"] = strings.Repeat("x", 501) }), "data.justification", "at most 500"},
		{"completed status", topics.Completed(), mutate(t, "cj_completed.json", func(m map[string]any) { dataOf(m)["status"] = "done" }), "data.status", "completed_successfully"},
		{"result batch", topics.Result(), mutate(t, "assessment_result.json", func(m map[string]any) { delete(dataOf(m), "batch_id") }), "data.batch_id", "required"},
		{"request essays", topics.Requested(), mutate(t, "cj_request.json", func(m map[string]any) { dataOf(m)["essays_for_cj"] = []any{} }), "data.essays_for_cj", "at least one"},
		{"schema version", topics.Failed(), mutate(t, "cj_failed.json", func(m map[string]any) { m["schema_version"] = 2 }), "schema_version", "not supported"},
		{"unknown topic", "other.topic", []byte(`{}`), "", "not one of the eng5np topics"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := topics.Decode(tc.topic, tc.value)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want DecodeError", err)
			}
			if de.Field != tc.field || !strings.Contains(de.Error(), tc.msg) || de.Topic != tc.topic {
				t.Errorf("got field %q error %q; want field %q containing %q", de.Field, de.Error(), tc.field, tc.msg)
			}
		})
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	v := mutate(t, "cj_completed.json", func(m map[string]any) {
		m["brand_new"] = 1
		dataOf(m)["also_new"] = map[string]any{"x": 1}
	})
	if _, err := topics.Decode(topics.Completed(), v); err != nil {
		t.Fatal(err)
	}
}

func TestMetadataFaults(t *testing.T) {
	c := &ComparisonResult{RequestMetadata: map[string]any{
		MetaEssayA: "A", MetaEssayB: 7.0, MetaPromptHash: strings.Repeat("A", 64),
	}}
	if got := strings.Join(c.MetadataFaults(), ","); got != "essay_b_id,prompt_sha256" {
		t.Errorf("faults = %s (a number is no id; upper-case hex is not a valid hash)", got)
	}
	c.RequestMetadata = nil
	if got := len(c.MetadataFaults()); got != 3 {
		t.Errorf("no metadata: %d faults, want 3", got)
	}
	if h := PromptSHA256("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || !ValidPromptSHA256(h) {
		t.Errorf("PromptSHA256 = %s", h)
	}
}

func TestTopics(t *testing.T) {
	tp := NewTopics("dev.")
	if tp.Requested() != "dev.els.cj_assessment.requested.v1" || len(tp.All()) != 5 || len(tp.Consumed()) != 4 {
		t.Errorf("topics %v", tp.All())
	}
	for _, topic := range tp.Consumed() {
		if tp.Kind(topic) == KindUnknown || tp.Kind(topic) == KindRequest {
			t.Errorf("%s kind %v", topic, tp.Kind(topic))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for file, topic := range goldens {
		data, _ := os.ReadFile("testdata/" + file)
		f.Add(int(topics.Kind(topic)), data)
	}
	f.Add(2, []byte(`{"event_type":"LLMComparisonResultV1","source_service":"x","data":{"request_id":"r","correlation_id":"7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d","winner":"Essay B","request_metadata":{"essay_a_id":1}}}`))
	f.Fuzz(func(t *testing.T, k int, data []byte) {
		all := topics.All()
		topic := all[((k%5)+5)%5]
		ev, err := topics.Decode(topic, data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DecodeError: %T %v", err, err)
			}
			return
		}
		if payloadOf(ev) == nil {
			t.Fatal("decoded without a payload")
		}
		if ev.Callback != nil {
			_ = ev.Callback.MetadataFaults()
			_, _ = ev.Callback.BatchHint()
			_, _ = ev.Callback.Iteration()
		}
	})
}
