package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/rundir"
)

// Rehydrate rebuilds an execute run's artefact and manifest in place from the
// run directory alone: run.json, inputs.json and the event journal. It needs
// no network and none of the original input files, and it writes nothing
// but the artefact and the manifest (no log).
type Rehydrate struct {
	Dir string
	// Now stamps metadata.generated_at (default time.Now).
	Now func() time.Time
}

// RehydrateResult says what rehydrate found and wrote.
type RehydrateResult struct {
	Dir         string
	BatchUUID   string
	Outcome     Outcome
	Message     string
	Records     int64 // journal records folded
	TornBytes   int64 // an incomplete last journal line that was skipped
	Comparisons int
	CostUSD     float64
	// Before lists what no longer matched the previous manifest (files
	// other than the artefact and the manifest): expected for a run that
	// was killed after its last manifest write, a warning otherwise.
	Before []string
	// Interrupted is set when the last capture never recorded its end (the
	// process was killed); the artefact then says interrupted.
	Interrupted bool
	Written     artefacts.WriteResult
	Verified    bool
	Problems    []string
}

// Run rebuilds the artefact and manifest.
func (x *Rehydrate) Run() (*RehydrateResult, error) {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	lock, err := lockRun(x.Dir, "eng5np rehydrate")
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	rd, err := OpenRunDir(x.Dir)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(x.Dir, rundir.Artefact(rundir.ModeDryRun))); statErr == nil {
			return nil, fmt.Errorf("%s is a dry-run directory: it captured nothing, so there is nothing to rehydrate; run `eng5np dry-run` again for a fresh one", x.Dir)
		}
		return nil, err
	}
	rec := &rd.Record
	if rec.RunnerMode != "" && rec.RunnerMode != rundir.ModeExecute {
		return nil, fmt.Errorf("%s: runner mode %q; rehydrate rebuilds execute runs", x.Dir, rec.RunnerMode)
	}
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return nil, err
	}
	res := &RehydrateResult{Dir: x.Dir, BatchUUID: rec.BatchUUID}

	// What changed since the last manifest, before it is rewritten.
	if rep, err := artefacts.Verify(x.Dir); err == nil {
		for _, p := range rep.Problems {
			if p.Path == rundir.Manifest || p.Path == rundir.Artefact(rundir.ModeExecute) {
				continue
			}
			res.Before = append(res.Before, p.String())
		}
	}

	topics := events.NewTopics(rec.Kafka.TopicPrefix)
	cfg := hydrator.Batch{Snapshot: rd.Snapshot, Anchors: rd.Anchors, BatchUUID: rec.BatchUUID, Topics: topics}
	path := rundir.Path(x.Dir, rundir.Journal)
	src := hydrator.FileSource(path)
	hyd, scan, err := hydrator.FoldFile(cfg, path)
	if errors.Is(err, os.ErrNotExist) {
		// Nothing was captured (--no-kafka, or stopped before capture).
		hyd, src, err = hydrator.New(cfg), hydrator.SliceSource(nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.Journal, err)
	}
	res.Records, res.TornBytes = scan.Records, scan.TornBytes
	sec, err := hyd.Sections(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.Journal, err)
	}

	st := statusInput{final: true, timeout: time.Duration(rec.CompletionTimeout)}
	switch n := len(rec.Captures); {
	case n == 0 && rec.NoKafka:
		st.outcome, st.message = OutcomeNoKafka, "the request was written but not published (--no-kafka)"
	case n == 0:
		st.outcome, st.message = OutcomeInterrupted, "the run stopped before its capture started; nothing was captured"
		res.Interrupted = true
	default:
		last := rec.Captures[n-1]
		if last.Timeout > 0 {
			st.timeout = time.Duration(last.Timeout)
		}
		st.endedAt = last.EndedAt
		if last.Outcome == "" || last.EndedAt.IsZero() {
			st.outcome = OutcomeInterrupted
			st.message = fmt.Sprintf("capture %d stopped without recording its end (the process was killed or crashed); `eng5np resume %s` continues it", last.N, x.Dir)
			res.Interrupted = true
		} else {
			st.outcome, st.message = last.Outcome, last.Message
		}
	}
	res.Outcome, res.Message = st.outcome, st.message
	a := executeArtefact(rec, artefacts.InputsSection(rd.Snapshot, rd.Anchors), build, sec, hyd.Completion(), st, now())
	stats := hyd.Stats()
	res.Comparisons, res.CostUSD = stats.Comparisons, sec.Costs.TotalUSD
	res.Written, err = artefacts.Write(x.Dir, a)
	if err != nil {
		return res, err
	}
	rep, err := artefacts.Verify(x.Dir)
	if err != nil {
		return res, err
	}
	res.Verified = rep.OK()
	for _, p := range rep.Problems {
		res.Problems = append(res.Problems, p.String())
	}
	return res, nil
}
