// Package testkit holds what eng5np's test suites share: the sample batch,
// settings in a clean environment, a dev stack in the test process, and the
// checks every written artefact must pass. Only tests import it.
package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/devstack"
	"eng5np/inputs"
	"eng5np/rundir"
	"eng5np/schemas"
)

// TestCommit is the commit test binaries report: `go test` stamps no VCS
// information, and an artefact must name a commit, so every test binary
// that imports testkit injects this one (e2e builds its binary with it
// stamped in at link time, as `make build` does).
const TestCommit = "0e5a7e57c0ffee0e5a7e57c0ffee0e5a7e57c0ff"

func init() { artefacts.SetTestCommit(TestCommit) }

var (
	rootOnce sync.Once
	root     string
)

// Root is the module's root directory (where go.mod is).
func Root(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, _ := os.Getwd()
		for dir != "/" {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			dir = filepath.Dir(dir)
		}
	})
	if root == "" {
		t.Fatal("go.mod not found above the test's directory")
	}
	return root
}

// Sample is the bundled sample batch.
func Sample(t testing.TB) string { return filepath.Join(Root(t), "examples", "sample") }

// CleanEnv is the process environment without any eng5np setting
// (ENG5NP_*, KAFKA_BOOTSTRAP_SERVERS) or HuleEdu token, so that a
// developer's shell cannot change a test.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ENG5NP_") || strings.HasPrefix(k, "HULEEDU_") || k == "KAFKA_BOOTSTRAP_SERVERS" || k == "ENVIRONMENT" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Config loads a command's settings from args, in a clean environment plus
// env (KEY=VALUE strings).
func Config(t testing.TB, cmd config.Command, env []string, args ...string) *config.Config {
	t.Helper()
	fs := pflag.NewFlagSet(string(cmd), pflag.ContinueOnError)
	config.AddCommandFlags(fs, cmd)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadEnv(fs, append(CleanEnv(), env...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var (
	truthOnce sync.Once
	truth     map[string]float64
	truthErr  error
)

// GroundTruth is the sample batch's ground truth for the mock judge.
func GroundTruth(t testing.TB) map[string]float64 {
	t.Helper()
	truthOnce.Do(func() { truth, truthErr = inputs.LoadGroundTruth(filepath.Join(Sample(t), inputs.GroundTruthName)) })
	if truthErr != nil {
		t.Fatal(truthErr)
	}
	return truth
}

// JWTSecret is the admin API secret of every test stack; StackEnv gives
// it to a run as ENG5NP_JWT_SECRET_KEY.
const JWTSecret = "testkit-dev-stack-secret"

// MockJudge are the flags that choose the dev stack's judge for a run
// with --stack external, which requires an explicit provider and model.
var MockJudge = []string{"--llm-provider", "mock", "--llm-model", "mock-judge-small"}

// StackEnv is the environment that authenticates a run to a test stack.
var StackEnv = []string{"ENG5NP_JWT_SECRET_KEY=" + JWTSecret}

var (
	sampleOnce  sync.Once
	sampleBatch *inputs.Batch
	sampleErr   error
)

// SampleBatch is the sample batch, loaded once.
func SampleBatch(t testing.TB) *inputs.Batch {
	t.Helper()
	sampleOnce.Do(func() { sampleBatch, sampleErr = inputs.Load(Sample(t), inputs.Options{}) })
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	return sampleBatch
}

// Stack starts a dev stack in the test process on free ports, judging with
// the sample's ground truth and the default pricing, with the admin secret
// JWTSecret and the sample's assignment set up (unless opts say otherwise);
// it stops when the test ends.
func Stack(t testing.TB, opts devstack.Options) *devstack.Stack {
	t.Helper()
	if opts.GroundTruth == nil {
		opts.GroundTruth = GroundTruth(t)
	}
	if opts.JWTSecret == "" {
		opts.JWTSecret = JWTSecret
	}
	if opts.Assignments == nil {
		b := SampleBatch(t)
		opts.Assignments = []devstack.Assignment{devstack.AssignmentOf(b.Config.AssignmentID, b)}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := devstack.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Run is a run directory with its execute artefact.
type Run struct {
	Dir      string
	Raw      []byte
	Artefact *artefacts.AssessmentRun
}

// LoadRun reads a run directory's execute artefact.
func LoadRun(t testing.TB, dir string) *Run {
	t.Helper()
	data, err := os.ReadFile(rundir.Path(dir, rundir.Artefact(rundir.ModeExecute)))
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Dir: dir, Raw: data, Artefact: &artefacts.AssessmentRun{}}
	if err := json.Unmarshal(data, r.Artefact); err != nil {
		t.Fatalf("artefact does not decode: %v", err)
	}
	return r
}

// OnlyRunDir returns the single run directory under out.
func OnlyRunDir(t testing.TB, out string) string {
	t.Helper()
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Fatalf("%d run directories in %s", len(entries), out)
	}
	return filepath.Join(out, entries[0].Name())
}

// ComparisonSet is the set of (essay_a_id, essay_b_id, winner_id, status)
// on which "nothing lost, nothing doubled" is judged.
func (r *Run) ComparisonSet() []string {
	var out []string
	for _, c := range r.Artefact.LLMComparisons {
		out = append(out, strings.Join([]string{c.EssayAID, c.EssayBID, c.WinnerID, c.Status}, "|"))
	}
	sort.Strings(out)
	return out
}

// CheckArtefact asserts what every written artefact must hold: valid
// against our schema and the reference's, verify OK, costs that add up,
// sequences in order, every id an input, every θ and SE finite, every
// grade's probabilities summing to 1.
func CheckArtefact(t testing.TB, r *Run) {
	t.Helper()
	if err := schemas.ValidateAssessmentRun(r.Raw); err != nil {
		t.Errorf("artefact invalid against our schema: %v", err)
	}
	if err := schemas.ValidateReference(r.Raw); err != nil {
		t.Errorf("artefact invalid against the reference schema: %v", err)
	}
	rep, err := artefacts.Verify(r.Dir)
	if err != nil || !rep.OK() {
		t.Errorf("verify: %v %+v", err, rep)
	}
	a := r.Artefact
	var total float64
	perModel := map[string]float64{}
	for _, c := range a.LLMComparisons {
		total += c.CostUSD
		perModel[c.Provider+"/"+c.Model] += c.CostUSD
		if c.EssayAID == "" || c.EssayBID == "" || len(c.PromptHash) != 64 {
			t.Errorf("comparison %d lacks its metadata: %+v", c.Sequence, c)
		}
	}
	if got := a.Costs.TotalUSD; got != math.Round(total*1e6)/1e6 {
		t.Errorf("costs.total_usd %v, sum of cost_usd %v", got, total)
	}
	for _, tc := range a.Costs.TokenCounts {
		if want := math.Round(perModel[tc.Provider+"/"+tc.Model]*1e6) / 1e6; tc.USD != want {
			t.Errorf("%s/%s usd %v, want %v", tc.Provider, tc.Model, tc.USD, want)
		}
	}
	for i, c := range a.LLMComparisons {
		if c.Sequence != i+1 {
			t.Errorf("sequence %d at position %d", c.Sequence, i+1)
		}
	}
	ids := map[string]bool{}
	for _, an := range a.Inputs.Anchors {
		ids[an.AnchorID] = true
	}
	for _, st := range a.Inputs.Students {
		ids[st.EssayID] = true
	}
	// Every essay is either in bt_summary or listed as excluded, with the
	// reason: never both, never neither.
	seen := map[string]int{}
	for _, e := range a.BTSummary {
		seen[e.EssayID]++
		if !ids[e.EssayID] || math.IsNaN(e.Theta) || math.IsInf(e.Theta, 0) || e.StandardError <= 0 || math.IsInf(e.StandardError, 0) {
			t.Errorf("bt entry %+v", e)
		}
	}
	if rel := a.Validation.Reliability; rel != nil {
		for _, x := range rel.Excluded {
			seen[x.EssayID]++
			if x.Reason == "" {
				t.Errorf("excluded essay %s without a reason", x.EssayID)
			}
		}
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Errorf("essay %s appears %d times in bt_summary and reliability.excluded, want once", id, seen[id])
		}
	}
	projected := map[string]bool{}
	for _, g := range a.GradeProjections {
		projected[g.EssayID] = true
	}
	for _, e := range a.BTSummary {
		if e.GradeProjection != "" && !projected[e.EssayID] {
			t.Errorf("%s has a grade in bt_summary but no projection", e.EssayID)
		}
	}
	for _, g := range a.GradeProjections {
		var sum float64
		for _, p := range g.Probabilities {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%s: probabilities sum to %v", g.EssayID, sum)
		}
	}
}

// CheckJournalOnce asserts that no Kafka record was journaled twice.
func CheckJournalOnce(t testing.TB, dir string) {
	t.Helper()
	f, err := os.Open(rundir.Path(dir, rundir.Journal))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			Topic     string `json:"topic"`
			Partition int    `json:"partition"`
			Offset    int64  `json:"offset"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journal line: %v", err)
		}
		k := fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
		if seen[k] {
			t.Errorf("record %s journaled twice", k)
		}
		seen[k] = true
	}
}

// JournalLines counts the complete lines of the journal of the single run
// directory under out.
func JournalLines(out string) int {
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		return 0
	}
	data, _ := os.ReadFile(rundir.Path(filepath.Join(out, entries[0].Name()), rundir.Journal))
	return bytes.Count(data, []byte("\n"))
}

// WaitJournal waits until the journal under out holds n lines; it fails
// the test when done closes first or a minute passes.
func WaitJournal(t testing.TB, out string, n int, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for JournalLines(out) < n {
		select {
		case <-done:
			t.Fatalf("the run ended with %d journal lines, before %d", JournalLines(out), n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal did not reach %d lines within 60s (has %d)", n, JournalLines(out))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TearLastLine cuts a file's last line in half, as a crash in the middle of
// an append leaves a journal.
func TearLastLine(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.TrimSuffix(data, []byte("\n"))
	start := bytes.LastIndexByte(body, '\n') + 1
	cut := start + (len(body)-start)/2
	if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
}

// Sections returns an artefact's top-level sections and validation's
// members as raw bytes.
func Sections(t testing.TB, raw []byte) map[string][]byte {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range top {
		out[k] = v
	}
	var val map[string]json.RawMessage
	if err := json.Unmarshal(top["validation"], &val); err == nil {
		for k, v := range val {
			out["validation."+k] = v
		}
	}
	return out
}
