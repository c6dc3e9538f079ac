package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"eng5np/events"
	"eng5np/fault"
	"eng5np/scoring"
)

// kind is how a key's raw value is parsed.
type kind int

const (
	kindString kind = iota
	kindInt
	kindFloat
	kindOptFloat // unset unless given
	kindOptInt   // unset unless given
	kindBool
	kindDuration
	kindList // comma-separated in env and flags, a YAML list in the file
	kindPricing
)

// key describes one setting: its name in the config file (and, upper-cased
// with the ENG5NP_ prefix, in the environment), its flag, default, the values
// it accepts, and where the parsed value goes.
type key struct {
	name    string
	flag    string   // "" when the key has no flag
	short   string   // one-letter flag alias
	env     []string // extra environment names, after ENG5NP_<NAME>
	kind    kind
	def     string // default as text ("" for none); pricing has its own
	usage   string
	accepts string // what valid values look like, for error messages
	secret  bool
	check   func(string) error // extra validation of string values
	set     func(c *Config, v any)
}

func envName(name string) string { return "ENG5NP_" + strings.ToUpper(name) }

// keys is the registry of every setting, in the order `eng5np config` shows
// them.
var keys = []key{
	{name: "inputs", flag: "inputs", kind: kindString, def: "examples/sample", usage: "batch directory (batch.yaml, instructions.md, prompt.md, anchors/, anchors.csv, students/)", accepts: "a directory path",
		set: func(c *Config, v any) { c.Inputs = v.(string) }},
	{name: "output_dir", flag: "output-dir", kind: kindString, def: "runs", usage: "directory that receives one sub-directory per run (created when missing)", accepts: "a directory path",
		set: func(c *Config, v any) { c.OutputDir = v.(string) }},
	{name: "batch_label", flag: "batch-label", kind: kindString, usage: "human label of the batch (default: batch.yaml, else the batch directory's name)", accepts: "text of letters, digits, '-', '_' and '.' (at most 64)",
		check: checkLabel, set: func(c *Config, v any) { c.BatchLabel = v.(string) }},
	{name: "assignment_id", flag: "assignment-id", kind: kindString, usage: "assignment UUID (default: batch.yaml)", accepts: "a UUID such as 5f0c1a52-8d3e-4f7b-9a61-2c4e8b7d9f10",
		check: checkUUID, set: func(c *Config, v any) { c.AssignmentID = v.(string) }},
	{name: "course_id", flag: "course-id", kind: kindString, usage: "course UUID (default: batch.yaml)", accepts: "a UUID",
		check: checkUUID, set: func(c *Config, v any) { c.CourseID = v.(string) }},
	{name: "grade_scale", flag: "grade-scale", kind: kindString, usage: "grade scale (default: batch.yaml, else eng5_np_legacy_9_step)", accepts: strings.Join(scoring.ScaleNames(), " | "),
		check: func(s string) error { _, err := scoring.LookupScale(s); return err }, set: func(c *Config, v any) { c.GradeScale = v.(string) }},
	{name: "course_code", flag: "course-code", kind: kindString, usage: "course code sent with the request (default: batch.yaml, else ENG5); the CJ service drops a request with any other, silently", accepts: strings.Join(events.CourseCodes, " | ") + " (case-sensitive)",
		check: oneOf(events.CourseCodes...), set: func(c *Config, v any) { c.CourseCode = v.(string) }},
	{name: "language", flag: "language", kind: kindString, usage: "essay language (default: batch.yaml, else en)", accepts: "a two- or three-letter language code, e.g. en",
		check: checkLanguage, set: func(c *Config, v any) { c.Language = v.(string) }},
	{name: "max_comparisons", flag: "max-comparisons", kind: kindInt, def: "120", usage: "comparison budget of the CJ service for this batch (the service spends at most service_max_comparisons)", accepts: "an integer from 1 to 100000",
		check: intRange(1, 100000), set: func(c *Config, v any) { c.MaxComparisons = v.(int) }},
	{name: "service_max_comparisons", flag: "service-max-comparisons", kind: kindInt, def: "120", usage: "the CJ service's cap on comparisons per batch (its MAX_PAIRWISE_COMPARISONS); the embedded stack's too", accepts: "an integer from 1 to 100000",
		check: intRange(1, 100000), set: func(c *Config, v any) { c.ServiceMaxComparisons = v.(int) }},
	{name: "llm_provider", flag: "llm-provider", kind: kindString, usage: "LLM provider override sent to the CJ service (required with --stack external; the embedded stack's default: mock)", accepts: "a provider name, e.g. openai, anthropic, google, openrouter, mock",
		check: checkName, set: func(c *Config, v any) { c.LLM.Provider = v.(string) }},
	{name: "llm_model", flag: "llm-model", kind: kindString, usage: "LLM model override sent to the CJ service (required with --stack external; the embedded stack's default: mock-judge-small)", accepts: "a model id; OpenRouter's may contain '/', e.g. anthropic/claude-sonnet-4",
		check: checkModel, set: func(c *Config, v any) { c.LLM.Model = v.(string) }},
	{name: "llm_reasoning_effort", flag: "llm-reasoning-effort", kind: kindString, usage: "reasoning effort hint sent to the CJ service (unset: the service's default)", accepts: strings.Join(events.ReasoningEfforts, " | "),
		check: oneOf(events.ReasoningEfforts...), set: func(c *Config, v any) { c.LLM.ReasoningEffort = v.(string) }},
	{name: "llm_output_verbosity", flag: "llm-output-verbosity", kind: kindString, usage: "output verbosity hint sent to the CJ service (unset: the service's default)", accepts: strings.Join(events.OutputVerbosities, " | "),
		check: oneOf(events.OutputVerbosities...), set: func(c *Config, v any) { c.LLM.OutputVerbosity = v.(string) }},
	{name: "system_prompt", flag: "system-prompt", kind: kindString, usage: "file whose text is sent as the system prompt override (unset: the service's)", accepts: "a readable text file",
		set: func(c *Config, v any) { c.LLM.SystemPromptFile = v.(string) }},
	{name: "no_rubric_override", flag: "no-rubric-override", kind: kindBool, def: "false", usage: "do not send prompt.md as the judge rubric override (required for a canonical_national assignment)", accepts: "true | false",
		set: func(c *Config, v any) { c.NoRubricOverride = v.(bool) }},
	{name: "llm_temperature", flag: "llm-temperature", kind: kindOptFloat, usage: "temperature override (0–2; unset: the service's default)", accepts: "a number from 0 to 2",
		check: floatRange(0, 2), set: func(c *Config, v any) { c.LLM.Temperature = v.(*float64) }},
	{name: "llm_max_tokens", flag: "llm-max-tokens", kind: kindOptInt, usage: "max output tokens override (unset: the service's default)", accepts: "an integer ≥ 1",
		check: intRange(1, 1_000_000), set: func(c *Config, v any) { c.LLM.MaxTokens = v.(*int) }},
	{name: "pricing", kind: kindPricing, usage: "USD per million input/output tokens per provider/model (config file only)", accepts: "a list of {provider, model, input_usd_per_mtok, output_usd_per_mtok}",
		set: func(c *Config, v any) { c.Pricing = v.(Pricing) }},
	{name: "stack", flag: "stack", kind: kindString, def: "embedded", usage: "embedded: start broker and services in-process; external: use the addresses given", accepts: "embedded | external",
		check: oneOf("embedded", "external"), set: func(c *Config, v any) { c.Stack = v.(string) }},
	{name: "kafka_bootstrap", flag: "kafka-bootstrap", env: []string{"KAFKA_BOOTSTRAP_SERVERS"}, kind: kindList, usage: "Kafka bootstrap servers (external stack)", accepts: "host:port[,host:port...]",
		check: checkHostPort, set: func(c *Config, v any) { c.Kafka.Bootstrap = v.([]string) }},
	{name: "kafka_client_id", flag: "kafka-client-id", kind: kindString, def: "eng5np", usage: "Kafka client id", accepts: "letters, digits, '.', '_' and '-'",
		check: checkName, set: func(c *Config, v any) { c.Kafka.ClientID = v.(string) }},
	{name: "topic_prefix", flag: "topic-prefix", kind: kindString, def: "huleedu.", usage: "prefix of every topic name", accepts: "letters, digits, '.', '_' and '-' (may be empty)",
		check: checkPrefix, set: func(c *Config, v any) { c.Kafka.TopicPrefix = v.(string) }},
	{name: "kafka_sasl_mechanism", flag: "kafka-sasl-mechanism", kind: kindString, usage: "SASL mechanism (unset: no SASL)", accepts: "plain | scram-sha-256 | scram-sha-512",
		check: oneOf("plain", "scram-sha-256", "scram-sha-512"), set: func(c *Config, v any) { c.Kafka.SASLMechanism = v.(string) }},
	{name: "kafka_sasl_username", flag: "kafka-sasl-username", kind: kindString, usage: "SASL username", accepts: "text",
		set: func(c *Config, v any) { c.Kafka.SASLUsername = v.(string) }},
	{name: "kafka_sasl_password", kind: kindString, secret: true, usage: "SASL password (environment or config file only; never printed)", accepts: "text",
		set: func(c *Config, v any) { c.Kafka.SASLPassword = Secret(v.(string)) }},
	{name: "kafka_tls", flag: "kafka-tls", kind: kindBool, def: "false", usage: "connect to Kafka over TLS", accepts: "true | false",
		set: func(c *Config, v any) { c.Kafka.TLS = v.(bool) }},
	{name: "kafka_tls_ca_file", flag: "kafka-tls-ca-file", kind: kindString, usage: "PEM CA bundle for Kafka TLS (default: system roots)", accepts: "a file path",
		set: func(c *Config, v any) { c.Kafka.TLSCAFile = v.(string) }},
	{name: "kafka_tls_cert_file", flag: "kafka-tls-cert-file", kind: kindString, usage: "PEM client certificate for Kafka mTLS", accepts: "a file path",
		set: func(c *Config, v any) { c.Kafka.TLSCertFile = v.(string) }},
	{name: "kafka_tls_key_file", flag: "kafka-tls-key-file", kind: kindString, usage: "PEM client key for Kafka mTLS", accepts: "a file path",
		set: func(c *Config, v any) { c.Kafka.TLSKeyFile = v.(string) }},
	{name: "kafka_tls_insecure_skip_verify", flag: "kafka-tls-insecure-skip-verify", kind: kindBool, def: "false", usage: "skip TLS certificate verification (testing only)", accepts: "true | false",
		set: func(c *Config, v any) { c.Kafka.TLSInsecureSkipVerify = v.(bool) }},
	{name: "content_service_url", flag: "content-service-url", kind: kindString, usage: "content service base URL (external stack)", accepts: "an http(s) URL",
		check: checkURL, set: func(c *Config, v any) { c.ContentServiceURL = v.(string) }},
	{name: "cj_service_url", flag: "cj-service-url", kind: kindString, usage: "CJ service base URL (external stack)", accepts: "an http(s) URL",
		check: checkURL, set: func(c *Config, v any) { c.CJServiceURL = v.(string) }},
	{name: "http_timeout", flag: "http-timeout", kind: kindDuration, def: "10s", usage: "bound of every HTTP request to the content and CJ services (a service that accepts and never answers fails within it)", accepts: "a duration such as 10s",
		check: durationMin(100 * time.Millisecond), set: func(c *Config, v any) { c.HTTPTimeout = v.(time.Duration) }},
	{name: "cj_admin_token", kind: kindString, secret: true, usage: "bearer token for the CJ admin API (environment or config file only; never printed; HULEEDU_SERVICE_ACCOUNT_TOKEN and HULEEDU_ADMIN_TOKEN come first)", accepts: "a JWT with the admin role",
		set: func(c *Config, v any) { c.Auth.CJAdminToken = Secret(v.(string)) }},
	{name: "jwt_secret_key", kind: kindString, secret: true, usage: "the CJ service's JWT_SECRET_KEY, to mint an admin token on a development deployment (environment or config file only; never printed)", accepts: "text",
		set: func(c *Config, v any) { c.Auth.JWTSecretKey = Secret(v.(string)) }},
	{name: "jwt_issuer", kind: kindString, def: "huleedu-identity-service", usage: "issuer of a minted admin token", accepts: "text",
		check: checkNonEmpty, set: func(c *Config, v any) { c.Auth.JWTIssuer = v.(string) }},
	{name: "jwt_audience", kind: kindString, def: "huleedu-platform", usage: "audience of a minted admin token", accepts: "text",
		check: checkNonEmpty, set: func(c *Config, v any) { c.Auth.JWTAudience = v.(string) }},
	{name: "user_id", flag: "user-id", kind: kindString, usage: "user the CJ request bills the LLM usage to (default: your login name)", accepts: "text without spaces",
		check: checkID, set: func(c *Config, v any) { c.UserID = v.(string) }},
	{name: "org_id", flag: "org-id", kind: kindString, usage: "organisation of the CJ request (unset: none)", accepts: "text without spaces",
		check: checkID, set: func(c *Config, v any) { c.OrgID = v.(string) }},
	{name: "completion_timeout", flag: "completion-timeout", kind: kindDuration, def: "30m", usage: "stop capturing this long after the broker acknowledged the request (exit 4, resumable)", accepts: "a duration such as 90s, 30m, 2h",
		check: durationMin(time.Second), set: func(c *Config, v any) { c.CompletionTimeout = v.(time.Duration) }},
	{name: "post_completion_grace", flag: "post-completion-grace", kind: kindDuration, def: "10s", usage: "how long to wait for the result event after the completed event", accepts: "a duration such as 10s",
		check: durationMin(0), set: func(c *Config, v any) { c.PostCompletionGrace = v.(time.Duration) }},
	{name: "budget_usd", flag: "budget-usd", kind: kindFloat, def: "0", usage: "abort ceiling in USD for the estimated and the captured cost (0: no ceiling)", accepts: "a number ≥ 0",
		check: floatRange(0, 1e9), set: func(c *Config, v any) { c.BudgetUSD = v.(float64) }},
	{name: "metrics_addr", flag: "metrics-addr", kind: kindString, usage: "serve Prometheus metrics on HOST:PORT at /metrics (port 0 picks a free one and prints it)", accepts: "host:port, e.g. 127.0.0.1:9464",
		check: checkListenAddr, set: func(c *Config, v any) { c.MetricsAddr = v.(string) }},
	{name: "metrics_linger", flag: "metrics-linger", kind: kindDuration, def: "0s", usage: "keep serving /metrics this long after a headless run ends, so a scraper sees the final values (Ctrl-C cuts it short)", accepts: "a duration such as 30s (0: stop at once)",
		check: durationMin(0), set: func(c *Config, v any) { c.MetricsLinger = v.(time.Duration) }},
	{name: "log_level", flag: "log-level", kind: kindString, def: "warn", usage: "level of the log lines written to stderr (the run's log file always records info and up)", accepts: "debug | info | warn | error",
		check: oneOf("debug", "info", "warn", "error"), set: func(c *Config, v any) { _ = c.LogLevel.UnmarshalText([]byte(v.(string))) }},
	{name: "no_kafka", flag: "no-kafka", kind: kindBool, def: "false", usage: "write the request file but publish nothing", accepts: "true | false",
		set: func(c *Config, v any) { c.NoKafka = v.(bool) }},
	{name: "no_tui", flag: "no-tui", kind: kindBool, def: "false", usage: "plain line output even on a terminal", accepts: "true | false",
		set: func(c *Config, v any) { c.NoTUI = v.(bool) }},
	{name: "seed", flag: "seed", kind: kindInt, def: "1", usage: "embedded stack: seed of pairing, verdicts and faults", accepts: "an integer ≥ 0",
		check: intRange(0, 1<<53), set: func(c *Config, v any) { c.DevStack.Seed = int64(v.(int)) }},
	{name: "mock_latency", flag: "mock-latency", kind: kindDuration, def: "20ms", usage: "embedded stack: mock LLM latency per request (seeded jitter added)", accepts: "a duration such as 20ms (0 for none)",
		check: durationMin(0), set: func(c *Config, v any) { c.DevStack.MockLatency = v.(time.Duration) }},
	{name: "fault", flag: "fault", kind: kindList, usage: "embedded stack: inject a `NAME=RATE` fault (repeatable); the faults are listed by eng5np stack up --help", accepts: "NAME=RATE with RATE in [0,1], NAME one of " + strings.Join(fault.Names(), ", "),
		check: checkFault, set: func(c *Config, v any) { c.DevStack.Faults = parseFaults(v.([]string)) }},
	{name: "late_delay", flag: "late-delay", kind: kindDuration, def: "30s", usage: "embedded stack: delay of callbacks hit by the late fault", accepts: "a duration such as 30s",
		check: durationMin(0), set: func(c *Config, v any) { c.DevStack.LateDelay = v.(time.Duration) }},
	{name: "partitions", flag: "partitions", kind: kindInt, def: "3", usage: "embedded stack: partitions of the comparison-result topic", accepts: "an integer from 1 to 64",
		check: intRange(1, 64), set: func(c *Config, v any) { c.DevStack.Partitions = v.(int) }},
	{name: "ground_truth", flag: "ground-truth", kind: kindString, usage: "embedded stack: latent-quality CSV for the mock judge (default: the batch's ground_truth.csv when present)", accepts: "a file path",
		set: func(c *Config, v any) { c.DevStack.GroundTruth = v.(string) }},
	{name: "kafka_port", flag: "kafka-port", kind: kindInt, def: "9092", usage: "stack up: broker port on 127.0.0.1", accepts: "a port from 1 to 65535",
		check: intRange(0, 65535), set: func(c *Config, v any) { c.DevStack.KafkaPort = v.(int) }},
	{name: "http_port", flag: "http-port", kind: kindInt, def: "8090", usage: "stack up: port of the content and CJ HTTP services on 127.0.0.1", accepts: "a port from 1 to 65535",
		check: intRange(0, 65535), set: func(c *Config, v any) { c.DevStack.HTTPPort = v.(int) }},
	{name: "stack_data_dir", flag: "data-dir", kind: kindString, usage: "stack up: persist the broker's log here so it survives a restart", accepts: "a directory path",
		set: func(c *Config, v any) { c.DevStack.DataDir = v.(string) }},
}

func lookupKey(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// KeyNames lists every config key.
func KeyNames() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

func checkUUID(s string) error {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || strings.ToLower(s) != s || u.String() != s {
		return fmt.Errorf("%q is not a lower-case UUID", s)
	}
	return nil
}

func checkLabel(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q must have 1 to 64 characters", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q contains %q", s, r)
		}
	}
	return nil
}

func checkNonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func checkID(s string) error {
	if s == "" || len(s) > 255 || strings.ContainsAny(s, " \t\n\r") {
		return fmt.Errorf("%q must be 1 to 255 characters without spaces", s)
	}
	return nil
}

func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	return checkPrefix(s)
}

// checkModel accepts model ids as providers write them, OpenRouter's
// provider/model and version tags included.
func checkModel(s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("%q must have 1 to 200 characters", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+", r)) {
			return fmt.Errorf("%q contains %q", s, r)
		}
	}
	return nil
}

func checkPrefix(s string) error {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q contains %q", s, r)
		}
	}
	return nil
}

func checkCode(s string) error {
	if s == "" || len(s) > 32 {
		return fmt.Errorf("%q must have 1 to 32 characters", s)
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%q contains %q", s, r)
		}
	}
	return nil
}

func checkLanguage(s string) error {
	if len(s) < 2 || len(s) > 3 || strings.ToLower(s) != s {
		return fmt.Errorf("%q is not a lower-case language code", s)
	}
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return fmt.Errorf("%q is not a language code", s)
		}
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// checkHostPort accepts host:port with a port from 1; checkListenAddr also
// accepts port 0 (a listener then picks a free port).
var checkHostPort, checkListenAddr = hostPort(1), hostPort(0)

func hostPort(minPort int) func(string) error {
	return func(s string) error {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" {
			return fmt.Errorf("%q is not host:port", s)
		}
		if p, err := strconv.Atoi(port); err != nil || p < minPort || p > 65535 {
			return fmt.Errorf("%q has an invalid port", s)
		}
		return nil
	}
}

func oneOf(vals ...string) func(string) error {
	return func(s string) error {
		for _, v := range vals {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(vals, ", "))
	}
}

func intRange(lo, hi int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is out of range", s)
		}
		return nil
	}
}

func floatRange(lo, hi float64) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < lo || f > hi || f != f {
			return fmt.Errorf("%q is out of range", s)
		}
		return nil
	}
}

func durationMin(lo time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < lo {
			return fmt.Errorf("%q is out of range", s)
		}
		return nil
	}
}
