// Package rundir is the layout of a run directory: the name of every file in
// it, how the directory itself is named and created, and how files are
// written into it (atomically, 0600 files in 0700 directories). Nothing else
// in eng5np spells a run-directory path.
package rundir

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Permissions of everything in a run directory.
const (
	FilePerm = 0o600
	DirPerm  = 0o700
)

// Runner modes, as recorded in metadata.runner_mode and in the artefact's
// file name.
const (
	ModeDryRun  = "dry-run"
	ModeExecute = "execute"
)

// Names inside a run directory, '/'-separated and relative to it.
const (
	Manifest    = "manifest.json"
	Inputs      = "inputs.json"
	RunRecord   = "run.json"
	Journal     = "events/journal.jsonl"
	Offsets     = "events/offsets.json"
	Request     = "requests/cj_assessment_request.json"
	UploadCache = "content_upload_cache.json"
	CJAnchors   = "cj_anchors.json" // the CJ service's anchors for the assignment, recorded before publishing
	LogsDir     = "logs"
	Log         = "logs/eng5np.log"
)

// tempMarker is in the name of every temporary file an atomic write makes.
const tempMarker = ".tmp-"

// Artefact returns the artefact's file name for a mode:
// assessment_run.<mode>.json.
func Artefact(mode string) string { return "assessment_run." + mode + ".json" }

// InManifest reports whether a run-directory path belongs in the manifest:
// every file except the manifest itself, the artefacts, logs/, the lock and
// temporary files of an atomic write in progress.
func InManifest(rel string) bool {
	base := filepath.Base(rel)
	isArtefact := !strings.Contains(rel, "/") && strings.HasPrefix(rel, "assessment_run.") && strings.HasSuffix(rel, ".json")
	return rel != Manifest && rel != LockFile && !isArtefact && rel != LogsDir && !strings.HasPrefix(rel, LogsDir+"/") && !strings.Contains(base, tempMarker)
}

// Name is a run directory's name:
// <label>-<UTC yyyymmddThhmmss>-<first 8 hex of batch_uuid>.
func Name(label, batchUUID string, started time.Time) string {
	hex := strings.ReplaceAll(batchUUID, "-", "")
	if len(hex) > 8 {
		hex = hex[:8]
	}
	return fmt.Sprintf("%s-%s-%s", label, started.UTC().Format("20060102T150405"), hex)
}

// Create makes outputDir (when missing) and a fresh run directory in it. It
// never reuses an existing directory.
func Create(outputDir, label, batchUUID string, started time.Time) (string, error) {
	if err := os.MkdirAll(outputDir, DirPerm); err != nil {
		return "", fmt.Errorf("create output directory %s: %w", outputDir, err)
	}
	dir := filepath.Join(outputDir, Name(label, batchUUID, started))
	if err := os.Mkdir(dir, DirPerm); err != nil {
		return "", fmt.Errorf("create run directory %s: %w", dir, err)
	}
	return dir, nil
}

// Path joins a run directory and one of the names above.
func Path(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }

// MkdirAll creates a directory inside a run directory.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// WriteFileAtomic writes data to path so that readers see either the old file
// or the complete new one: a temporary file in the same directory is written,
// fsync'd and renamed over path, then the directory is fsync'd.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(path)+tempMarker+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FilePerm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fail := func(e error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, e)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so that renames and creations in it survive a
// crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// MarshalIndent renders v the way every run-directory JSON file is written:
// two spaces, no HTML escaping, a trailing newline.
func MarshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteJSONAtomic writes v as indented JSON to path, atomically.
func WriteJSONAtomic(path string, v any) error {
	data, err := MarshalIndent(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFileAtomic(path, data)
}

// WriteJSON writes v as the named file of the run directory dir, creating
// its sub-directory when needed.
func WriteJSON(dir, name string, v any) error {
	data, err := MarshalIndent(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return WriteFile(dir, name, data)
}

// WriteFile writes data as the named file of the run directory dir,
// atomically, creating its sub-directory when needed.
func WriteFile(dir, name string, data []byte) error {
	p := Path(dir, name)
	if err := MkdirAll(filepath.Dir(p)); err != nil {
		return err
	}
	return WriteFileAtomic(p, data)
}

// ReadJSON reads the named file of the run directory dir into v.
func ReadJSON(dir, name string, v any) error {
	data, err := os.ReadFile(Path(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not valid: %w", name, err)
	}
	return nil
}

// FindArtefact returns the artefact file name present in a run directory,
// preferring the execute artefact.
func FindArtefact(dir string) (string, error) {
	for _, mode := range []string{ModeExecute, ModeDryRun} {
		name := Artefact(mode)
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return name, nil
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s is not a run directory", dir)
	}
	return "", fmt.Errorf("%s holds no %s or %s", dir, Artefact(ModeExecute), Artefact(ModeDryRun))
}
