package config

import (
	"fmt"

	"github.com/spf13/pflag"
)

// Command names a command that takes settings.
type Command string

// The commands that take settings.
const (
	CmdPlan    Command = "plan"
	CmdDryRun  Command = "dry-run"
	CmdExecute Command = "execute"
	CmdResume  Command = "resume"
	CmdDoctor  Command = "doctor"
	CmdStackUp Command = "stack up"
	CmdConfig  Command = "config"
	// CmdAssignment is `assignment show`, `assignment setup` and `anchors
	// register`.
	CmdAssignment Command = "assignment"
	// CmdWatch is `watch`, a read-only dashboard of another process's run.
	CmdWatch Command = "watch"
)

// Groups of keys that several commands share.
var (
	// planKeys say what the batch is and what running it would cost.
	planKeys = []string{"inputs", "batch_label", "assignment_id", "course_id", "grade_scale", "course_code", "language",
		"max_comparisons", "service_max_comparisons", "llm_provider", "llm_model", "budget_usd", "pricing", "stack"}
	// connectionKeys say where the services are.
	connectionKeys = []string{"stack", "kafka_bootstrap", "kafka_client_id", "topic_prefix", "kafka_sasl_mechanism", "kafka_sasl_username",
		"kafka_sasl_password", "kafka_tls", "kafka_tls_ca_file", "kafka_tls_cert_file", "kafka_tls_key_file", "kafka_tls_insecure_skip_verify",
		"content_service_url", "cj_service_url"}
	// embeddedKeys configure the embedded stack.
	embeddedKeys = []string{"seed", "mock_latency", "fault", "late_delay", "partitions", "ground_truth"}
	// serviceKeys say how eng5np talks to the HuleEdu services' HTTP APIs.
	serviceKeys = []string{"http_timeout", "cj_admin_token", "jwt_secret_key", "jwt_issuer", "jwt_audience"}
	// requestKeys shape the CJ request beyond the plan.
	requestKeys = []string{"user_id", "org_id", "llm_temperature", "llm_max_tokens", "llm_reasoning_effort", "llm_output_verbosity", "system_prompt", "no_rubric_override"}
	// runKeys configure a capture.
	runKeys = []string{"completion_timeout", "post_completion_grace", "budget_usd", "metrics_addr", "metrics_linger", "log_level", "no_tui"}
)

func concat(groups ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range groups {
		for _, k := range g {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// commandKeys are the keys each command takes (as flags, and from the
// environment and the config file).
var commandKeys = map[Command][]string{
	CmdPlan:    planKeys,
	CmdDryRun:  concat(planKeys, []string{"output_dir"}),
	CmdExecute: concat(planKeys, requestKeys, []string{"output_dir", "no_kafka"}, connectionKeys, serviceKeys, embeddedKeys, runKeys),
	CmdDoctor:  concat(planKeys, requestKeys, []string{"output_dir", "no_kafka", "log_level"}, connectionKeys, serviceKeys, embeddedKeys),
	CmdResume:  concat(connectionKeys, serviceKeys, runKeys),
	// The assignment and anchors commands talk to a deployment's HTTP
	// services only.
	CmdAssignment: concat([]string{"inputs", "assignment_id", "grade_scale", "content_service_url", "cj_service_url", "log_level"}, serviceKeys),
	CmdStackUp: {"kafka_port", "http_port", "seed", "ground_truth", "mock_latency", "fault", "late_delay", "partitions", "stack_data_dir",
		"topic_prefix", "log_level", "pricing", "metrics_addr", "jwt_secret_key", "jwt_issuer", "jwt_audience", "service_max_comparisons"},
	CmdConfig: KeyNames(),
	CmdWatch:  {"no_tui", "log_level"},
}

// Keys lists the keys a command takes.
func (c Command) Keys() []string { return commandKeys[c] }

// AddCommandFlags registers the flags of a command's keys on fs, plus
// --config.
func AddCommandFlags(fs *pflag.FlagSet, c Command) {
	keys, ok := commandKeys[c]
	if !ok {
		panic(fmt.Sprintf("config: no key set for command %q", c)) // programming error; TestEveryCommandKeyExists covers it
	}
	AddFlags(fs, keys...)
}

// Explicit reports whether a key's value was given (by flag, environment
// or config file) rather than left at its default.
func (c *Config) Explicit(key string) bool {
	s := c.sources[key]
	return s != "" && s != "default"
}
