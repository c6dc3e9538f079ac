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
// succeeded comparisons of a run directory's artefact. For a run directory
// it also returns every essay id, so that essays not yet compared are
// listed too.
func FitData(path string) ([]scoring.Comparison, []string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, Exitf(ExitUsage, "pass an existing CSV file or run directory", "%s: %v", path, errors.Unwrap(err))
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, Exitf(ExitUsage, "check the file's permissions", "%s: %v", path, err)
		}
		defer f.Close()
		cs, err := inputs.ParseComparisonsCSV(filepath.Base(path), f)
		return cs, nil, err
	}
	name, err := rundir.FindArtefact(path)
	if err != nil {
		return nil, nil, Exitf(ExitUsage, "pass a run directory written by execute", "%v", err)
	}
	data, err := os.ReadFile(filepath.Join(path, name))
	if err != nil {
		return nil, nil, err
	}
	var run artefacts.AssessmentRun
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, nil, Exitf(ExitUsage, "run `eng5np verify` on the run directory", "%s: %v", name, err)
	}
	var cs []scoring.Comparison
	for _, c := range run.LLMComparisons {
		if c.Status == artefacts.StatusSucceeded && c.WinnerID != "" && c.LoserID != "" {
			cs = append(cs, scoring.Comparison{Winner: c.WinnerID, Loser: c.LoserID})
		}
	}
	if len(cs) == 0 {
		return nil, nil, Exitf(ExitUsage, "run the batch with `eng5np execute` first", "%s has no succeeded comparisons yet", path)
	}
	var items []string
	for _, a := range run.Inputs.Anchors {
		items = append(items, a.AnchorID)
	}
	for _, s := range run.Inputs.Students {
		items = append(items, s.EssayID)
	}
	return cs, items, nil
}
