package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/journal"
	"eng5np/rundir"
)

// Rehydrate rebuilds an execute run's artefact and manifest in place from the
// run directory alone: run.json, inputs.json and the event journal. It needs
// no network and none of the original input files, and it writes nothing
// but the artefact and the manifest (no log).
type Rehydrate struct {
	Dir string
	// Force reads on past breaks of the journal's hash chain (an edited
	// journal) and records them in the artefact; without it such a journal
	// is refused.
	Force bool
	// Salvage also skips unparsable journal lines before the last (a
	// damaged journal), recording them.
	Salvage bool
	// Now stamps metadata.generated_at (default time.Now).
	Now func() time.Time
}

// RehydrateResult says what rehydrate found and wrote.
type RehydrateResult struct {
	Dir       string
	BatchUUID string
	Outcome   Outcome
	Message   string
	Records   int64 // journal records folded
	TornBytes int64 // an incomplete last journal line that was skipped
	// Breaks and BadLines are the journal lines a forced or salvaging
	// rehydrate read past.
	Breaks      []int64
	BadLines    []int64
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

	f, err := refold(rd, journal.Options{Force: x.Force, Salvage: x.Salvage})
	if err != nil {
		return nil, err
	}
	res.Records, res.TornBytes, res.Breaks, res.BadLines = f.scan.Records, f.scan.TornBytes, f.scan.Breaks, f.scan.BadLines
	st, interrupted := finalStatus(rd)
	res.Interrupted = interrupted
	res.Outcome, res.Message = st.outcome, st.message
	a := f.artefact(rd, build, st, now())
	hyd, sec := f.hyd, f.sec
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

// folded is a run directory's journal folded: what rehydrate writes and
// verify compares with.
type folded struct {
	hyd  *hydrator.Hydrator
	sec  *hydrator.Sections
	scan journal.ScanResult
	opts journal.Options
}

// refold folds the run directory's journal, read with opts, as the capture
// did. A journal whose hash chain breaks is a *journal.ChainError and an
// unparsable line before the last a *journal.CorruptError, unless opts
// allow them.
func refold(rd *RunDir, opts journal.Options) (*folded, error) {
	rec := &rd.Record
	cfg := hydrator.Batch{Snapshot: rd.Snapshot, Anchors: rd.Anchors, BatchUUID: rec.BatchUUID, Topics: events.NewTopics(rec.Kafka.TopicPrefix), Expected: rec.Expected()}
	path := rundir.Path(rd.Dir, rundir.Journal)
	hyd, scan, err := hydrator.FoldFile(cfg, path, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.Journal, err)
	}
	second := opts
	second.Trust = true // the chain was just checked
	sec, err := hyd.Sections(hydrator.FileSource(path, second))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rundir.Journal, err)
	}
	return &folded{hyd: hyd, sec: sec, scan: scan, opts: opts}, nil
}

// integrity is the artefact's validation.journal for the fold (nil when
// there is no journal).
func (f *folded) integrity(dir string) *artefacts.JournalIntegrity {
	if _, err := os.Stat(rundir.Path(dir, rundir.Journal)); err != nil {
		return nil
	}
	ji := &artefacts.JournalIntegrity{Records: f.scan.Records, Chain: artefacts.ChainVerified, Head: f.scan.Head, Breaks: f.scan.Breaks, BadLines: f.scan.BadLines}
	switch {
	case len(f.scan.BadLines) > 0:
		ji.Chain = artefacts.ChainSalvaged
	case len(f.scan.Breaks) > 0:
		ji.Chain = artefacts.ChainForced
	case f.scan.Legacy:
		ji.Chain = artefacts.ChainLegacy
	}
	return ji
}

// artefact is the run's artefact from the fold with the final status st.
func (f *folded) artefact(rd *RunDir, build artefacts.Build, st statusInput, now time.Time) *artefacts.AssessmentRun {
	a := executeArtefact(&rd.Record, artefacts.InputsSection(rd.Snapshot, rd.Anchors), build, f.sec, f.hyd.Completion(), st, now)
	a.Validation.Journal = f.integrity(rd.Dir)
	return a
}

// finalStatus is the status a run directory's record gives its artefact:
// the last capture's outcome, or interrupted when it never recorded its
// end (interrupted is then true).
func finalStatus(rd *RunDir) (st statusInput, interrupted bool) {
	rec := &rd.Record
	st = statusInput{final: true, timeout: time.Duration(rec.CompletionTimeout)}
	switch n := len(rec.Captures); {
	case n == 0 && rec.NoKafka:
		st.outcome, st.message = OutcomeNoKafka, "the request was written but not published (--no-kafka)"
	case n == 0:
		st.outcome, st.message = OutcomeInterrupted, "the run stopped before its capture started; nothing was captured"
		interrupted = true
	default:
		last := rec.Captures[n-1]
		if last.Timeout > 0 {
			st.timeout = time.Duration(last.Timeout)
		}
		st.endedAt = last.EndedAt
		if last.Outcome == "" || last.EndedAt.IsZero() {
			st.outcome = OutcomeInterrupted
			st.message = fmt.Sprintf("capture %d stopped without recording its end (the process was killed or crashed); `eng5np resume %s` continues it", last.N, rd.Dir)
			interrupted = true
		} else {
			st.outcome, st.message = last.Outcome, last.Message
		}
	}
	return st, interrupted
}
