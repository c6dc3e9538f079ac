package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, KeyNames()...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "eng5np.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadWith(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	getenv := func(k string) string { return env[k] }
	return load(flags(t, args...), getenv, environ)
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	file := writeFile(t, "max_comparisons: 50\ncompletion_timeout: 5m\nbatch_label: from-file\nllm_model: file-model\n")
	env := map[string]string{"ENG5NP_MAX_COMPARISONS": "60", "ENG5NP_BATCH_LABEL": "from-env"}

	c, err := loadWith(t, env, "--config", file, "--max-comparisons", "70")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, got, want, source string
	}{
		{"max_comparisons", fmt.Sprint(c.MaxComparisons), "70", "flag --max-comparisons"},
		{"batch_label", c.BatchLabel, "from-env", "env ENG5NP_BATCH_LABEL"},
		{"completion_timeout", c.CompletionTimeout.String(), (5 * time.Minute).String(), "config file " + file},
		{"llm_model", c.LLM.Model, "file-model", "config file " + file},
		{"post_completion_grace", c.PostCompletionGrace.String(), "10s", "default"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %s, want %s", ch.key, ch.got, ch.want)
		}
		if s := c.Source(ch.key); s != ch.source {
			t.Errorf("%s source = %q, want %q", ch.key, s, ch.source)
		}
	}

	// Without the flag, env wins over the file; without env, the file wins.
	c, err = loadWith(t, env, "--config", file)
	if err != nil || c.MaxComparisons != 60 {
		t.Errorf("env over file: %d, %v", c.MaxComparisons, err)
	}
	c, err = loadWith(t, nil, "--config", file)
	if err != nil || c.MaxComparisons != 50 {
		t.Errorf("file over default: %d, %v", c.MaxComparisons, err)
	}
	c, err = loadWith(t, nil)
	if err != nil || c.MaxComparisons != 120 || c.Stack != "embedded" || c.Inputs != "examples/sample" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	file := writeFile(t, "max_comparisons: 33\n")
	c, err := loadWith(t, map[string]string{"ENG5NP_CONFIG": file})
	if err != nil || c.MaxComparisons != 33 || c.File != file {
		t.Fatalf("config via ENG5NP_CONFIG: %v %v", c, err)
	}
	_, err = loadWith(t, map[string]string{"ENG5NP_CONFIG": "/nonexistent/eng5np.yaml"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/eng5np.yaml") {
		t.Fatalf("missing explicit config file: err = %v", err)
	}
}

func TestKafkaBootstrapServersEnvironment(t *testing.T) {
	c, err := loadWith(t, map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "a.example:9092, b.example:9093"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Kafka.Bootstrap, ",") != "a.example:9092,b.example:9093" || c.Source("kafka_bootstrap") != "env KAFKA_BOOTSTRAP_SERVERS" {
		t.Errorf("bootstrap = %v from %s", c.Kafka.Bootstrap, c.Source("kafka_bootstrap"))
	}
	// ENG5NP_KAFKA_BOOTSTRAP is more specific and wins.
	c, _ = loadWith(t, map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "a:1", "ENG5NP_KAFKA_BOOTSTRAP": "b:2"})
	if strings.Join(c.Kafka.Bootstrap, ",") != "b:2" {
		t.Errorf("bootstrap = %v, want ENG5NP_KAFKA_BOOTSTRAP's", c.Kafka.Bootstrap)
	}
}

func TestInvalidValuesNameKeySourceAndAccepted(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		file string
		args []string
		want []string
	}{
		{"bad int flag", nil, "", []string{"--max-comparisons", "lots"}, []string{"max_comparisons", "flag --max-comparisons", "integer from 1 to 100000"}},
		{"bad env duration", map[string]string{"ENG5NP_COMPLETION_TIMEOUT": "soon"}, "", nil, []string{"completion_timeout", "ENG5NP_COMPLETION_TIMEOUT", "duration"}},
		{"bad enum in file", nil, "stack: docker\n", nil, []string{"stack", "config file", "embedded | external"}},
		{"bad uuid", nil, "", []string{"--assignment-id", "not-a-uuid"}, []string{"assignment_id", "UUID"}},
		{"unknown scale", nil, "", []string{"--grade-scale", "eng5_np_other"}, []string{"grade_scale", "eng5_np_legacy_9_step", "eng5_np_national_9_step"}},
		{"bad fault", nil, "", []string{"--fault", "explode=0.5"}, []string{"fault", "unknown fault", "drop_essay_a_id"}},
		{"fault rate", nil, "", []string{"--fault", "duplicate=2"}, []string{"fault", "from 0 to 1"}},
		{"temperature", nil, "", []string{"--llm-temperature", "3"}, []string{"llm_temperature", "from 0 to 2"}},
		{"bootstrap", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "", nil, []string{"kafka_bootstrap", "host:port"}},
		{"list in scalar", nil, "max_comparisons: [1, 2]\n", nil, []string{"max_comparisons", "not a single value"}},
		{"pricing field", nil, "pricing:\n  - provider: x\n    model: y\n    input_usd_per_mtok: -1\n", nil, []string{"pricing", "input_usd_per_mtok", "≥ 0"}},
		{"course code case", nil, "", []string{"--course-code", "eng5"}, []string{"course_code", "ENG5 | ENG6 | ENG7 | SV1 | SV2 | SV3", "case-sensitive"}},
		{"reasoning effort", nil, "", []string{"--llm-reasoning-effort", "max"}, []string{"llm_reasoning_effort", "none | low | medium | high"}},
		{"output verbosity", nil, "", []string{"--llm-output-verbosity", "none"}, []string{"llm_output_verbosity", "low | medium | high"}},
		{"model id", nil, "", []string{"--llm-model", "gpt 5"}, []string{"llm_model", "contains ' '"}},
		{"system prompt missing", nil, "", []string{"--system-prompt", "/nonexistent/judge.md"}, []string{"system_prompt", "/nonexistent/judge.md", "text file"}},
		{"sasl without password", nil, "", []string{"--kafka-sasl-mechanism", "plain", "--kafka-sasl-username", "u"}, []string{"kafka_sasl_mechanism", "ENG5NP_KAFKA_SASL_PASSWORD"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, tc.file))
			}
			_, err := loadWith(t, tc.env, args...)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a config error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The mock judge is the embedded stack's default only: an external stack
// gets no provider or model unless told (runner.RequireModel refuses the
// run), and a model id may be OpenRouter's provider/model.
func TestJudgeDefaultsBelongToTheEmbeddedStack(t *testing.T) {
	c, err := loadWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LLM.Provider != MockProvider || c.LLM.Model != MockModel || c.Source("llm_model") != "default (embedded stack)" {
		t.Errorf("embedded: %s/%s from %s", c.LLM.Provider, c.LLM.Model, c.Source("llm_model"))
	}
	c, err = loadWith(t, nil, "--stack", "external")
	if err != nil {
		t.Fatal(err)
	}
	if c.LLM.Provider != "" || c.LLM.Model != "" {
		t.Errorf("external: %q/%q, want none", c.LLM.Provider, c.LLM.Model)
	}
	c, err = loadWith(t, nil, "--stack", "external", "--llm-provider", "openrouter", "--llm-model", "anthropic/claude-sonnet-4")
	if err != nil || c.LLM.Model != "anthropic/claude-sonnet-4" {
		t.Errorf("openrouter model: %v %q", err, c.LLM.Model)
	}
}

func TestSystemPromptFile(t *testing.T) {
	good := writeFile(t, "  You are a careful examiner of English essays.\n")
	c, err := loadWith(t, nil, "--system-prompt", good)
	if err != nil || c.LLM.SystemPrompt != "You are a careful examiner of English essays." {
		t.Fatalf("%v %q", err, c.LLM.SystemPrompt)
	}
	for name, content := range map[string]string{"empty": " \n", "binary": "\xff\xfe\x00x"} {
		_, err := loadWith(t, nil, "--system-prompt", writeFile(t, content))
		if err == nil || !strings.Contains(err.Error(), "system_prompt") {
			t.Errorf("%s system prompt: %v", name, err)
		}
	}
	_, err = loadWith(t, nil, "--system-prompt", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory as system prompt: %v", err)
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	_, err := loadWith(t, nil, "--config", writeFile(t, "max_comparison: 5\nkafka:\n  bootstrap: a:1\n"))
	if err == nil {
		t.Fatal("no error for unknown keys")
	}
	for _, w := range []string{"max_comparison", "did you mean max_comparisons", "kafka.bootstrap", "did you mean kafka_bootstrap", "accepted keys"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	_, err = loadWith(t, map[string]string{"ENG5NP_MAX_COMPARISON": "5"})
	if err == nil || !strings.Contains(err.Error(), "ENG5NP_MAX_COMPARISON") || !strings.Contains(err.Error(), "ENG5NP_MAX_COMPARISONS") {
		t.Errorf("unknown env: err = %v", err)
	}
}

func TestPricing(t *testing.T) {
	c, err := loadWith(t, nil, "--config", writeFile(t, `pricing:
  - provider: anthropic
    model: claude-haiku
    input_usd_per_mtok: 1
    output_usd_per_mtok: 5
`))
	if err != nil {
		t.Fatal(err)
	}
	pr, ok := c.Pricing.Lookup("anthropic", "claude-haiku")
	if !ok || pr.Cost(1_000_000, 100_000) != 1.5 {
		t.Errorf("price %+v %v", pr, ok)
	}
	if _, ok := c.Pricing.Lookup(MockProvider, MockModel); !ok {
		t.Error("the mock judge lost its price")
	}
	_, err = loadWith(t, nil, "--config", writeFile(t, "pricing:\n  - provider: a\n    model: b\n    input_usd_per_mtok: 1\n    output_usd_per_mtok: 1\n    cached: 3\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown field "cached"`) {
		t.Errorf("unknown pricing field: err = %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-very-secret"
	c, err := loadWith(t, map[string]string{"ENG5NP_KAFKA_SASL_PASSWORD": pw}, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-username", "u")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASLPassword.Reveal() != pw {
		t.Fatal("secret not loaded")
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "password", c.Kafka.SASLPassword, "kafka", c.Kafka)
	js, _ := json.Marshal(c.Kafka)
	outs := []string{fmt.Sprint(c.Kafka), fmt.Sprintf("%v %+v %#v %s", c.Kafka, c.Kafka, c.Kafka, c.Kafka.SASLPassword), string(js), logged.String()}
	for _, s := range c.Settings() {
		outs = append(outs, s.Value)
	}
	for _, o := range outs {
		if strings.Contains(o, pw) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	fs := flags(t)
	if fs.Lookup("kafka-sasl-password") != nil {
		t.Error("the password must not have a flag")
	}
}

// The documented example config must load: it cannot drift from the keys.
func TestExampleConfigLoads(t *testing.T) {
	c, err := loadWith(t, nil, "--config", "../eng5np.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxComparisons != 120 || c.LLM.Model != MockModel || c.Source("pricing") != "config file ../eng5np.example.yaml" {
		t.Errorf("example config: %+v", c)
	}
}

// Every key of every command's set exists, so no command can panic at
// start-up on a typo.
func TestEveryCommandKeyExists(t *testing.T) {
	for cmd, keys := range commandKeys {
		if len(keys) == 0 {
			t.Errorf("%s takes no keys", cmd)
		}
		for _, k := range keys {
			if _, ok := lookupKey(k); !ok {
				t.Errorf("%s: unknown key %q", cmd, k)
			}
		}
		AddCommandFlags(pflag.NewFlagSet(string(cmd), pflag.ContinueOnError), cmd)
	}
}

func TestExplicit(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddCommandFlags(fs, CmdResume)
	_ = fs.Parse([]string{"--cj-service-url", "http://cj:1"})
	c, err := load(fs, func(string) string { return "" }, []string{"ENG5NP_BUDGET_USD=2"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Explicit("cj_service_url") || !c.Explicit("budget_usd") || c.Explicit("completion_timeout") || c.Explicit("no_such_key") {
		t.Errorf("explicit: cj %v budget %v timeout %v", c.Explicit("cj_service_url"), c.Explicit("budget_usd"), c.Explicit("completion_timeout"))
	}
}
