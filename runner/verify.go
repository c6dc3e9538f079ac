package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"eng5np/artefacts"
	"eng5np/journal"
	"eng5np/rundir"
)

// Verify checks a run directory the way `eng5np verify` does: the bytes
// (artefacts.Verify: manifest hashes, no stray or non-regular file, schema,
// checksum) and the meaning: an execute run's journal is folded again,
// offline, its hash chain checked, and every section the fold determines
// must equal the artefact's. A consistent forgery (comparisons dropped, a
// winner flipped, the checksum and manifest recomputed) fails here, naming
// the section and the first difference. It writes nothing.
func Verify(dir string) (*artefacts.VerifyReport, error) {
	rep, err := artefacts.Verify(dir)
	if err != nil {
		return nil, err
	}
	if len(rep.Irregular) > 0 {
		return rep, nil // folding would open them
	}
	if h, held := rundir.Held(dir); held {
		rep.Add(rundir.LockFile, "the run directory is in use by pid %d (%s): its artefact is still being written; verify it once that process has ended", h.PID, h.Command)
		return rep, nil
	}
	name := rundir.Artefact(rundir.ModeExecute)
	if rep.Artefact != name {
		return rep, nil // a dry run folds nothing
	}
	raw, err := os.ReadFile(rundir.Path(dir, name))
	if err != nil {
		return rep, nil // already reported
	}
	var onDisk artefacts.AssessmentRun
	if err := json.Unmarshal(raw, &onDisk); err != nil {
		return rep, nil // already reported
	}
	rd, err := OpenRunDir(dir)
	if err != nil {
		rep.Add(rundir.RunRecord, "cannot fold the journal again: %v", err)
		return rep, nil
	}
	opts := journal.Options{}
	if ji := onDisk.Validation.Journal; ji != nil {
		// A forced or salvaged rehydrate read past the damage it recorded;
		// the fold must meet exactly that damage.
		opts.Force = ji.Chain == artefacts.ChainForced
		opts.Salvage = ji.Chain == artefacts.ChainSalvaged
	}
	f, err := refold(rd, opts)
	var ce *journal.ChainError
	var co *journal.CorruptError
	switch {
	case errors.As(err, &ce):
		rep.Add(rundir.Journal, "%v; nothing derived from it can be trusted", ce)
		return rep, nil
	case errors.As(err, &co):
		rep.Add(rundir.Journal, "%v", co)
		return rep, nil
	case err != nil:
		rep.Add(rundir.Journal, "%v", err)
		return rep, nil
	}
	build := artefacts.Build{RunnerVersion: onDisk.Metadata.RunnerVersion, GitSHA: onDisk.Metadata.GitSHA}
	st, _ := finalStatus(rd)
	rebuilt := f.artefact(rd, build, st, time.Now())
	rebuilt.Normalize() // as Write does
	if ji := onDisk.Validation.Journal; ji != nil && f.integrity(dir) != nil {
		got := f.integrity(dir)
		if !reflect.DeepEqual(ji.Breaks, got.Breaks) || !reflect.DeepEqual(ji.BadLines, got.BadLines) {
			rep.Add(rundir.Journal, "the artefact records chain breaks %v and bad lines %v, the journal has %v and %v", ji.Breaks, ji.BadLines, got.Breaks, got.BadLines)
		}
		switch ji.Chain {
		case artefacts.ChainForced:
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the artefact was rebuilt with `rehydrate --force` over journal lines %v, which were changed after the run wrote them", ji.Breaks))
		case artefacts.ChainSalvaged:
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the artefact was rebuilt with `rehydrate --salvage`: journal lines %v could not be read and are left out", ji.BadLines))
		case artefacts.ChainLegacy:
			rep.Warnings = append(rep.Warnings, "the journal was written before records carried a hash chain: edits to it cannot be detected")
		}
	}
	for _, d := range compareSections(&onDisk, rebuilt) {
		rep.Add(name, "%s", d)
	}
	return rep, nil
}

// foldSections are the parts of an artefact that the journal, the inputs
// snapshot and the run record determine, by JSON path.
var foldSections = []string{
	"inputs", "llm_comparisons", "bt_summary", "grade_projections", "costs", "service_results",
	"validation.manifest_status", "validation.reliability", "validation.service_comparison", "validation.grade_projection_status",
	"validation.journal", "validation.runner_status.observed_events", "validation.runner_status.skipped",
	"validation.runner_status.warnings", "validation.runner_status.cj_status", "validation.runner_status.failure_reason",
	"validation.runner_status.partial_data", "validation.runner_status.expected_comparisons",
}

// compareSections lists, per section that differs, the first difference
// between the artefact on disk and the one the fold gives.
func compareSections(onDisk, rebuilt *artefacts.AssessmentRun) []string {
	a, b := generic(onDisk), generic(rebuilt)
	var out []string
	for _, path := range foldSections {
		x, y := lookup(a, path), lookup(b, path)
		if d := firstDifference(path, x, y); d != "" {
			out = append(out, fmt.Sprintf("section %s does not match its journal: %s", path, d))
		}
	}
	return out
}

func generic(v any) any {
	data, _ := json.Marshal(v)
	var out any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// firstDifference describes where two JSON values first differ ("" when
// they are equal): the path, and both values or lengths.
func firstDifference(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is %s in the artefact, %s in the journal", path, short(x), short(y))
		}
		keys := map[string]bool{}
		for k := range xv {
			keys[k] = true
		}
		for k := range yv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if d := firstDifference(path+"."+k, xv[k], yv[k]); d != "" {
				return d
			}
		}
		return ""
	case []any:
		yv, ok := y.([]any)
		if !ok {
			return fmt.Sprintf("%s is %s in the artefact, %s in the journal", path, short(x), short(y))
		}
		for i := 0; i < len(xv) && i < len(yv); i++ {
			if d := firstDifference(path+"["+strconv.Itoa(i)+"]", xv[i], yv[i]); d != "" {
				return d
			}
		}
		if len(xv) != len(yv) {
			return fmt.Sprintf("%s has %d entries in the artefact, %d in the journal", path, len(xv), len(yv))
		}
		return ""
	}
	if reflect.DeepEqual(x, y) {
		return ""
	}
	return fmt.Sprintf("%s is %s in the artefact, %s in the journal", path, short(x), short(y))
}

// short renders a JSON value for a message.
func short(v any) string {
	if v == nil {
		return "absent"
	}
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "…"
	}
	return string(b)
}
