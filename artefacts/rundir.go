package artefacts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunDirName is <label>-<UTC yyyymmddThhmmss>-<first 8 hex of batch_uuid>.
func RunDirName(label, batchUUID string, started time.Time) string {
	hex := strings.ReplaceAll(batchUUID, "-", "")
	if len(hex) > 8 {
		hex = hex[:8]
	}
	return fmt.Sprintf("%s-%s-%s", label, started.UTC().Format("20060102T150405"), hex)
}

// CreateRunDir makes outputDir (when missing) and a fresh run directory in it,
// mode 0700. It never reuses an existing directory.
func CreateRunDir(outputDir, label, batchUUID string, started time.Time) (string, error) {
	if err := os.MkdirAll(outputDir, DirPerm); err != nil {
		return "", fmt.Errorf("create output directory %s: %w", outputDir, err)
	}
	dir := filepath.Join(outputDir, RunDirName(label, batchUUID, started))
	if err := os.Mkdir(dir, DirPerm); err != nil {
		return "", fmt.Errorf("create run directory %s: %w", dir, err)
	}
	return dir, nil
}

// MkdirAll creates a directory inside a run directory, mode 0700.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// FindArtefact returns the artefact file name present in a run directory,
// preferring the execute artefact.
func FindArtefact(dir string) (string, error) {
	for _, mode := range []string{ModeExecute, ModeDryRun} {
		name := FileName(mode)
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return name, nil
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s is not a run directory", dir)
	}
	return "", fmt.Errorf("%s holds no assessment_run.execute.json or assessment_run.dry-run.json", dir)
}

// Timestamp renders t in RFC 3339 UTC with the precision it has.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
