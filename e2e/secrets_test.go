package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/devstack"
	"eng5np/events"
	"eng5np/internal/testkit"
)

const (
	plantedSASL   = "planted-sasl-Pw-51e0c9"
	plantedLLM    = "planted-llm-key-8d2b77"
	plantedToken  = "planted.admin-token.3c1e7f"
	plantedSecret = "planted-jwt-secret-9a4d21"
)

// planted are every secret the tests plant.
var planted = []string{plantedSASL, plantedLLM, plantedToken, plantedSecret}

// runWithSecrets runs the eng5np binary with secrets planted in its
// environment (plus env) and returns everything it printed.
func runWithSecrets(t *testing.T, password string, env []string, args ...string) (int, []byte) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(append(testkit.CleanEnv(),
		"ENG5NP_KAFKA_SASL_PASSWORD="+password,
		"ENG5NP_KAFKA_SASL_MECHANISM=plain",
		"ENG5NP_KAFKA_SASL_USERNAME=runner",
		"ANTHROPIC_API_KEY="+plantedLLM, "OPENAI_API_KEY="+plantedLLM), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out
}

// A planted SASL password, LLM API keys, admin tokens and the JWT secret
// appear in no file of a run directory and in nothing eng5np prints: help,
// config dump, doctor against a SASL broker (right and wrong password) and
// against a CJ service that rejects the token, execute with debug logs
// against a stack whose admin secret is planted, verify, rehydrate.
// Run-directory files are 0600 and directories 0700.
func TestSecretsNeverLeak(t *testing.T) {
	var printed bytes.Buffer
	check := func(what string, code, want int, out []byte) {
		t.Helper()
		printed.Write(out)
		if code != want {
			t.Errorf("%s: exit %d, want %d\n%s", what, code, want, out)
		}
	}

	tokens := []string{"HULEEDU_SERVICE_ACCOUNT_TOKEN=" + plantedToken, "HULEEDU_ADMIN_TOKEN=" + plantedToken,
		"ENG5NP_CJ_ADMIN_TOKEN=" + plantedToken, "ENG5NP_JWT_SECRET_KEY=" + plantedSecret}
	code, out := runWithSecrets(t, plantedSASL, tokens, "execute", "--help")
	check("execute --help", code, 0, out)
	code, out = runWithSecrets(t, plantedSASL, tokens, "config")
	check("config", code, 0, out)
	if strings.Count(string(out), "[redacted]") < 3 {
		t.Errorf("config does not show the password, the token and the secret as [redacted]:\n%s", out)
	}
	if !strings.Contains(string(out), "[redacted]") {
		t.Errorf("config does not show the password as [redacted]:\n%s", out)
	}

	// A SASL broker: doctor authenticates with the right password, and
	// fails naming the broker (not the password) with a wrong one.
	topics := events.NewTopics(events.DefaultTopicPrefix)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("PLAIN", "runner", plantedSASL),
		kfake.SeedTopics(3, topics.ComparisonResult()), kfake.SeedTopics(1, topics.Requested(), topics.Completed(), topics.Result(), topics.Failed()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	doctor := []string{"doctor", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--stack", "external", "--kafka-bootstrap", broker,
		"--content-service-url", "http://127.0.0.1:1", "--cj-service-url", "http://127.0.0.1:1"}
	code, out = runWithSecrets(t, plantedSASL, tokens, doctor...)
	check("doctor (right password)", code, 1, out) // the services are absent
	if !strings.Contains(string(out), "check pass broker reachable") {
		t.Errorf("doctor did not authenticate with the planted password:\n%s", out)
	}
	wrong := "wrong-" + plantedSASL
	code, out = runWithSecrets(t, wrong, tokens, doctor...)
	check("doctor (wrong password)", code, 1, out)
	if !strings.Contains(string(out), "check fail broker reachable") || bytes.Contains(out, []byte(wrong)) {
		t.Errorf("doctor with a wrong password:\n%s", out)
	}

	// A CJ service that rejects the planted token: doctor explains without
	// showing it.
	st := testkit.Stack(t, devstack.Options{Seed: 1, JWTSecret: plantedSecret, MockLatency: 2 * time.Millisecond})
	where := append([]string{"--stack", "external", "--kafka-bootstrap", st.Bootstrap, "--content-service-url", st.URL, "--cj-service-url", st.URL}, testkit.MockJudge...)
	code, out = runWithSecrets(t, plantedSASL, append(tokens, "ENG5NP_KAFKA_SASL_MECHANISM="),
		append([]string{"doctor", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--log-level", "debug"}, where...)...)
	check("doctor (rejected token)", code, 1, out)
	if !bytes.Contains(out, []byte("token rejected")) {
		t.Errorf("doctor with a rejected token:\n%s", out)
	}

	// A whole run against a stack whose admin secret is the planted one
	// (minted tokens), with debug logs on stderr, then verify and rehydrate.
	outDir := t.TempDir()
	code, out = runWithSecrets(t, plantedSASL, []string{"ENG5NP_JWT_SECRET_KEY=" + plantedSecret, "ENG5NP_KAFKA_SASL_MECHANISM="},
		append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", outDir,
			"--log-level", "debug", "--llm-provider", "mock", "--llm-model", "mock-judge-small"}, where...)...)
	check("execute", code, 0, out)
	dir := testkit.OnlyRunDir(t, outDir)
	code, out = runWithSecrets(t, plantedSASL, tokens, "verify", dir)
	check("verify", code, 0, out)
	code, out = runWithSecrets(t, plantedSASL, tokens, "rehydrate", dir)
	check("rehydrate", code, 0, out)

	for _, s := range planted {
		if bytes.Contains(printed.Bytes(), []byte(s)) {
			t.Errorf("a planted secret (%s) was printed", s)
		}
	}
	files := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if info.Mode().Perm() != 0o700 {
				t.Errorf("%s has mode %v, want 0700", p, info.Mode().Perm())
			}
			return nil
		}
		files++
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, info.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range planted {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a planted secret", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 9 {
		t.Errorf("only %d files scanned in %s", files, dir)
	}
}

// Values that fail to parse are not echoed when they may be secrets: a
// secret written as a list or a mapping, a file that is not a config file
// at all, a file that is not YAML; and a password in a service URL never
// reaches the output, the log, run.json or the upload cache.
func TestSecretsInBadInputNeverEcho(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, content := range map[string]string{
		"list.yaml":     "kafka_sasl_password: [" + plantedSASL + "]\n",
		"map.yaml":      "kafka_sasl_password: {" + plantedSASL + ": 1}\n",
		"token.yaml":    "cj_admin_token:\n  - " + plantedToken + "\n",
		"shadow":        "root:" + plantedSecret + ":20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n",
		"script.sh":     "#!/bin/sh\nexport TOKEN=" + plantedToken + "\n",
		"not-yaml.yaml": "password " + plantedSASL + "\nand: [more\n",
	} {
		code, out, errs := runCLI(t, nil, "config", "--config", write(name, content))
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out, errs)
		}
		for _, s := range planted {
			if strings.Contains(out+errs, s) {
				t.Errorf("%s: a planted secret was echoed:\n%s%s", name, out, errs)
			}
		}
		if !strings.Contains(errs, name) {
			t.Errorf("%s: the error does not name the file:\n%s", name, errs)
		}
	}

	// A password in the service URLs: used, never shown or recorded.
	st := testkit.Stack(t, devstack.Options{Seed: 1, MockLatency: 2 * time.Millisecond})
	withUser := func(u string) string { return strings.Replace(u, "http://", "http://runner:"+plantedSASL+"@", 1) }
	out := t.TempDir()
	args := append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out, "--log-level", "debug",
		"--stack", "external", "--kafka-bootstrap", st.Bootstrap, "--content-service-url", withUser(st.URL), "--cj-service-url", withUser(st.URL)}, testkit.MockJudge...)
	code, so, se := runCLI(t, testkit.StackEnv, args...)
	if code != 0 {
		t.Fatalf("execute with user info in the URLs: exit %d\n%s\n%s", code, so, se)
	}
	if strings.Contains(so+se, plantedSASL) {
		t.Errorf("the URL's password was printed:\n%s\n%s", so, se)
	}
	code, so, se = runCLI(t, nil, "config", "--content-service-url", withUser(st.URL))
	if code != 0 || strings.Contains(so+se, plantedSASL) || !strings.Contains(so, "runner:xxxxx@") {
		t.Errorf("config with user info in a URL: exit %d\n%s%s", code, so, se)
	}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(plantedSASL)) {
			t.Errorf("%s holds the URL's password", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
