package runner

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"eng5np/artefacts"
	"eng5np/inputs"
	"eng5np/rundir"
	"eng5np/scoring"
)

// FitData reads what `eng5np fit` fits: a comparisons CSV file, or the
// succeeded comparisons of a run directory's artefact (oriented, with their
// judge). For a run directory it also returns every essay id, so that
// essays not yet compared are listed too, and the anchors' ids (the focus).
func FitData(path string) (*FitInput, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, Exitf(ExitUsage, "pass an existing CSV file or run directory", "%s: %v", path, errors.Unwrap(err))
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, Exitf(ExitUsage, "check the file's permissions", "%s: %v", path, err)
		}
		defer f.Close()
		cs, err := inputs.ParseComparisonsCSV(filepath.Base(path), f)
		if err != nil {
			return nil, err
		}
		return &FitInput{Comparisons: cs}, nil
	}
	name, err := rundir.FindArtefact(path)
	if err != nil {
		return nil, Exitf(ExitUsage, "pass a run directory written by execute", "%v", err)
	}
	data, err := os.ReadFile(filepath.Join(path, name))
	if err != nil {
		return nil, err
	}
	var run artefacts.AssessmentRun
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, Exitf(ExitUsage, "run `eng5np verify` on the run directory", "%s: %v", name, err)
	}
	var cs []scoring.Comparison
	for _, c := range run.LLMComparisons {
		if c.Status == artefacts.StatusSucceeded && c.WinnerID != "" && c.LoserID != "" {
			sc := scoring.Comparison{Winner: c.WinnerID, Loser: c.LoserID, Judge: c.Provider + "/" + c.Model}
			switch c.WinnerID {
			case c.EssayAID:
				sc.Slot = scoring.SlotA
			case c.EssayBID:
				sc.Slot = scoring.SlotB
			}
			cs = append(cs, sc)
		}
	}
	if len(cs) == 0 {
		return nil, Exitf(ExitUsage, "run the batch with `eng5np execute` first", "%s has no succeeded comparisons yet", path)
	}
	in := &FitInput{Comparisons: cs, Seed: run.Metadata.BatchUUID}
	for _, a := range run.Inputs.Anchors {
		in.Items = append(in.Items, a.AnchorID)
		in.Anchors = append(in.Anchors, a.AnchorID)
	}
	for _, s := range run.Inputs.Students {
		in.Items = append(in.Items, s.EssayID)
	}
	return in, nil
}

// FitInput is what `eng5np fit` fits.
type FitInput struct {
	Comparisons []scoring.Comparison
	// Items are every essay of a run directory (nil for a CSV file);
	// Anchors its anchors, whose component the fit focuses on.
	Items, Anchors []string
	// Seed names the batch whose seed the split halves use ("" for a CSV
	// file: a fixed seed).
	Seed string
}
