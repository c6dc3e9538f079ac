package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fuzzSecret = "fuzz-planted-secret-7c1d"

// FuzzLoad feeds arbitrary config files and one arbitrary environment
// variable to the loader. It must never panic, every error must say
// something, and the planted SASL password must never show in an error or
// in the effective settings.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../eng5np.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	seeds := []struct{ file, key, val string }{
		{string(example), "ENG5NP_MAX_COMPARISONS", "50"},
		{"max_comparisons: 50\ncompletion_timeout: 5m\n", "ENG5NP_BUDGET_USD", "2.5"},
		{"pricing:\n  - provider: mock\n    model: m\n    input_usd_per_mtok: 1\n    output_usd_per_mtok: 2\n", "ENG5NP_FAULT", "duplicate=0.5"},
		{"kafka_bootstrap: [a:1, b:2]\nstack: external\n", "KAFKA_BOOTSTRAP_SERVERS", "x:9092"},
		{"max_comparisons: lots\n", "ENG5NP_SEED", "-1"},
		{"unknown_key: 1\n", "ENG5NP_NOPE", "1"},
		{": : :\n\t- [", "ENG5NP_COMPLETION_TIMEOUT", "forever"},
		{"kafka_sasl_password: " + fuzzSecret + "\nkafka_sasl_mechanism: plain\n", "ENG5NP_KAFKA_SASL_USERNAME", "u"},
		{"pricing: 3\n", "ENG5NP_METRICS_ADDR", "nohost"},
		{"grade_scale: [1, 2]\nfault: {a: 1}\n", "ENG5NP_LOG_LEVEL", "loud"},
	}
	for _, s := range seeds {
		f.Add(s.file, s.key, s.val)
	}
	dir := f.TempDir()
	var n int
	f.Fuzz(func(t *testing.T, file, key, val string) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("c%d.yaml", n))
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		env := map[string]string{"ENG5NP_CONFIG": path, "ENG5NP_KAFKA_SASL_PASSWORD": fuzzSecret}
		if key != "" && !strings.ContainsAny(key, "=\x00") && key != "ENG5NP_KAFKA_SASL_PASSWORD" && key != "ENG5NP_CONFIG" {
			env[key] = val
		}
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		c, err := load(nil, func(k string) string { return env[k] }, environ)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			// (A file that itself holds the secret's text, as a key say,
			// may be quoted back: that is the user's text, not the secret.)
			if strings.Contains(err.Error(), fuzzSecret) && !strings.Contains(strings.ToLower(file), strings.ToLower(fuzzSecret)) {
				t.Fatalf("the secret shows in the error: %v", err)
			}
			return
		}
		if c.Kafka.SASLPassword.Reveal() != fuzzSecret {
			t.Fatalf("the environment's secret was not taken: %q", c.Kafka.SASLPassword.Reveal())
		}
		for _, s := range c.Settings() {
			if strings.Contains(s.Value, fuzzSecret) {
				t.Fatalf("the secret shows as the value of %s", s.Key)
			}
			if s.Source == "" {
				t.Fatalf("%s has no source", s.Key)
			}
		}
		if dump := fmt.Sprintf("%v %+v %#v", c, *c, c.Kafka); strings.Contains(dump, fuzzSecret) {
			t.Fatal("the secret shows when the config is printed")
		}
	})
}
