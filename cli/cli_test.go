package cli

import (
	"bytes"
	"encoding/json"
	"eng5np/internal/testkit"
	"eng5np/runner"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = "../examples/sample"

// run executes eng5np in this process with args in a clean environment (no
// ENG5NP_ variable leaks in from the developer's shell).
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with env (KEY=VALUE strings) added to the clean environment.
func runEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(args, append(testkit.CleanEnv(), env...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPlanSampleBatch(t *testing.T) {
	t.Parallel()
	code, out, errs := run(t, "plan", "--inputs", sample)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"12 anchors, 24 students, 36 essays", "F+:2  E-:1  E+:1  D-:1  D+:1  C-:1  C+:1  B:2  A:2", "120 expected", "$0.", "students/Elias Nyström.docx", "elias_nystrom"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q\n%s", want, out)
		}
	}
}

func TestPlanWithAPDFExits2AndNamesIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(sample)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "students", "scan.pdf"), []byte("%PDF-1.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "plan", "--inputs", dir)
	if code != runner.ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errs, "students/scan.pdf: PDF is not supported") || !strings.Contains(out, "problem  students/scan.pdf") {
		t.Errorf("the PDF is not named:\n%s\n%s", out, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "fix them and run `eng5np plan` again") {
		t.Errorf("last line %q is not actionable", last)
	}
}

func TestDryRunThenVerifyThenTamper(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, stdout, errs := run(t, "dry-run", "--inputs", sample, "--output-dir", filepath.Join(out, "new", "runs"))
	if code != 0 {
		t.Fatalf("dry-run exit %d\n%s\n%s", code, stdout, errs)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "new", "runs"))
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "sample-later-start-") {
		t.Fatalf("run dirs: %v", entries)
	}
	dir := filepath.Join(out, "new", "runs", entries[0].Name())
	for _, f := range []string{"assessment_run.dry-run.json", "inputs.json", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	var run1 struct {
		Metadata map[string]any `json:"metadata"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "assessment_run.dry-run.json"))
	_ = json.Unmarshal(data, &run1)
	if run1.Metadata["assignment_id"] != "3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64" || run1.Metadata["course_id"] != "8e41b6d2-0f3a-4c95-b7e8-2a6d9c4f1e03" {
		t.Errorf("metadata ids not from batch.yaml: %v", run1.Metadata)
	}
	if code, o, e := run(t, "verify", dir); code != 0 || !strings.Contains(o, "OK") {
		t.Fatalf("verify exit %d\n%s\n%s", code, o, e)
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "verify", dir)
	if code != runner.ExitVerify || !strings.Contains(errs, "inputs.json: sha256 is") {
		t.Errorf("tampered verify: exit %d\n%s", code, errs)
	}
}

func TestDryRunIdsFromFlagsOverrideBatchYAML(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, _, errs := run(t, "dry-run", "--inputs", sample, "--output-dir", out, "--assignment-id", "11111111-2222-4333-8444-555555555555", "--batch-label", "flagged")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	entries, _ := os.ReadDir(out)
	data, _ := os.ReadFile(filepath.Join(out, entries[0].Name(), "assessment_run.dry-run.json"))
	if !bytes.Contains(data, []byte(`"assignment_id": "11111111-2222-4333-8444-555555555555"`)) || !strings.HasPrefix(entries[0].Name(), "flagged-") {
		t.Errorf("flags not applied: %s", entries[0].Name())
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	t.Parallel()
	code, _, errs := run(t, "plan", "--inputs", sample, "--max-comparisons", "zero")
	if code != runner.ExitUsage || !strings.Contains(errs, "max_comparisons") || !strings.Contains(errs, "integer from 1 to 100000") {
		t.Errorf("exit %d: %s", code, errs)
	}
	code, _, errs = run(t, "plan", "--no-such-flag")
	if code != runner.ExitUsage || !strings.Contains(errs, "eng5np plan --help") {
		t.Errorf("unknown flag: exit %d: %s", code, errs)
	}
	code, _, _ = run(t, "frobnicate")
	if code != runner.ExitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestFitCommand(t *testing.T) {
	t.Parallel()
	csv := filepath.Join(t.TempDir(), "c.csv")
	_ = os.WriteFile(csv, []byte("winner,loser\na,b\nb,c\nc,a\na,c\nb,a\n"), 0o600)
	code, out, errs := run(t, "fit", "--comparisons", csv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res fitOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(res.Items) != 3 || res.Items[0].ID != "b" || res.Estimator != "jeffreys" || res.Reference != nil || !res.Converged || res.SSR == nil {
		t.Errorf("fit output %+v", res)
	}
	for _, key := range []string{`"items"`, `"id"`, `"theta"`, `"se"`, `"wins"`, `"losses"`, `"comparisons"`, `"infit"`, `"outfit"`, `"ssr"`, `"split_half"`,
		`"uncompared": []`, `"components"`, `"iterations"`, `"converged"`, `"alpha"`, `"reference": null`, `"estimator": "jeffreys"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	code, out, _ = run(t, "fit", "--comparisons", csv, "--alpha", "0", "--reference", "b", "--format", "table")
	if code != 0 || !strings.Contains(out, "reference b") || !strings.Contains(out, "rank") {
		t.Errorf("table: exit %d\n%s", code, out)
	}

	_ = os.WriteFile(csv, []byte("winner,loser\na,b\nb,\n"), 0o600)
	code, _, errs = run(t, "fit", "--comparisons", csv)
	if code != runner.ExitUsage || !strings.Contains(errs, "c.csv line 3") {
		t.Errorf("bad line: exit %d %s", code, errs)
	}

	_ = os.WriteFile(csv, []byte("winner,loser\nchamp,b\nchamp,c\nb,c\nc,b\n"), 0o600)
	code, out, errs = run(t, "fit", "--comparisons", csv, "--alpha", "0")
	if code != runner.ExitUsage || !strings.Contains(errs, "won every comparison: champ") || strings.Contains(out, "theta") {
		t.Errorf("no MLE: exit %d out %q err %q", code, out, errs)
	}
}

func TestFitAgainstRunDirectoryWithoutComparisons(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if code, _, errs := run(t, "dry-run", "--inputs", sample, "--output-dir", out); code != 0 {
		t.Fatal(errs)
	}
	entries, _ := os.ReadDir(out)
	code, _, errs := run(t, "fit", "--comparisons", filepath.Join(out, entries[0].Name()))
	if code != runner.ExitUsage || !strings.Contains(errs, "no succeeded comparisons yet") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// Every command's --help stands on its own: a description and examples.
func TestEveryCommandHasUsefulHelp(t *testing.T) {
	t.Parallel()
	root := newRoot(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if len(c.Long) < 100 || c.Example == "" {
			t.Errorf("%s: help needs a description and examples", c.Name())
		}
		for _, sub := range c.Commands() {
			if len(sub.Long) < 100 || sub.Example == "" {
				t.Errorf("%s %s: help needs a description and examples", c.Name(), sub.Name())
			}
		}
	}
	code, out, _ := run(t, "config", "--keys")
	if code != 0 || !strings.Contains(out, "ENG5NP_KAFKA_BOOTSTRAP, KAFKA_BOOTSTRAP_SERVERS") {
		t.Errorf("config --keys: %d\n%s", code, out)
	}
}

// fit reads essay_a,essay_b,winner files (the orientation known: the order
// effect is fitted), names the components and the items left out, reports
// an undefined SSR as null, and --alpha selects the service's estimator.
func TestFitOrientedAndEstimators(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("essay_a,essay_b,winner,judge\n")
	ids := []string{"p", "q", "r", "s", "t"}
	for i := 0; i < 40; i++ {
		a, c := ids[i%5], ids[(i*2+1)%5]
		if a == c {
			c = ids[(i+1)%5]
		}
		w := a
		if i%3 == 0 {
			w = c
		}
		fmt.Fprintf(&b, "%s,%s,%s,mock/m\n", a, c, w)
	}
	b.WriteString("x,y,x,mock/m\n")
	oriented := filepath.Join(dir, "o.csv")
	_ = os.WriteFile(oriented, []byte(b.String()), 0o600)
	code, out, errs := run(t, "fit", "--comparisons", oriented)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res fitOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.OrderEffect == nil || res.OrderEffect.Comparisons != 40 || len(res.Components) != 2 || len(res.Items) != 5 ||
		len(res.Excluded) != 2 || len(res.Judges) != 1 || res.Judges[0].Judge != "mock/m" {
		t.Errorf("oriented fit %+v", res)
	}
	if !strings.Contains(errs, "x has no ability") {
		t.Errorf("no note about the left-out items:\n%s", errs)
	}

	tiny := filepath.Join(dir, "t.csv")
	_ = os.WriteFile(tiny, []byte("winner,loser\na,b\nb,a\n"), 0o600)
	code, out, errs = run(t, "fit", "--comparisons", tiny)
	if code != 0 || !strings.Contains(out, `"ssr": null`) || !strings.Contains(out, `"ssr_note": "undefined`) {
		t.Errorf("tiny fit: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run(t, "fit", "--comparisons", oriented, "--alpha", "0.01")
	if code != 0 || !strings.Contains(out, `"estimator": "alpha"`) || !strings.Contains(out, `"alpha": 0.01`) {
		t.Errorf("--alpha 0.01: exit %d\n%s", code, out)
	}
	code, _, errs = run(t, "fit", "--comparisons", oriented, "--estimator", "bayes")
	if code != 2 || !strings.Contains(errs, "jeffreys, alpha, ml") {
		t.Errorf("unknown estimator: exit %d %s", code, errs)
	}
}
