package cli

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"eng5np/config"
	"eng5np/runner"
)

// runbookChecks returns the check names of docs/RUNBOOK.md's doctor table,
// in order.
func runbookChecks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../docs/RUNBOOK.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "<!-- doctor-checks")
	end := strings.Index(doc, "<!-- /doctor-checks -->")
	if start < 0 || end < start {
		t.Fatal("RUNBOOK.md has no doctor-checks table")
	}
	row := regexp.MustCompile(`^\| (\d+) \| ([^|]+) \|`)
	var names []string
	for _, l := range strings.Split(doc[start:end], "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			if m[1] != strconv.Itoa(len(names)+1) {
				t.Errorf("RUNBOOK row %q is numbered %s, want %d", m[2], m[1], len(names)+1)
			}
			names = append(names, strings.TrimSpace(m[2]))
		}
	}
	return names
}

// The RUNBOOK's checklist names the checks `eng5np doctor` prints, in the
// same order.
func TestRunbookChecklistMatchesDoctor(t *testing.T) {
	t.Parallel()
	book := runbookChecks(t)
	cfg, err := config.Load(pflag.NewFlagSet("runbook", pflag.ContinueOnError))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, c := range runner.NewPreflight(cfg, runner.Endpoints{}).Checks() {
		titles = append(titles, c.Title)
	}
	if strings.Join(book, "\n") != strings.Join(titles, "\n") {
		t.Fatalf("RUNBOOK checklist:\n  %s\ndoctor's checks:\n  %s", strings.Join(book, "\n  "), strings.Join(titles, "\n  "))
	}
	// And doctor's output lists them in that order.
	code, stdout, stderr := run(t, "doctor", "--inputs", sample, "--output-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("doctor exit %d\n%s\n%s", code, stdout, stderr)
	}
	line := regexp.MustCompile(`^check (pass|warn|fail) (.+?)\s{2,}`)
	var printed []string
	for _, l := range strings.Split(stdout, "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			printed = append(printed, m[2])
		}
	}
	if strings.Join(printed, "\n") != strings.Join(book, "\n") {
		t.Errorf("doctor printed:\n  %s\nRUNBOOK lists:\n  %s", strings.Join(printed, "\n  "), strings.Join(book, "\n  "))
	}
}
