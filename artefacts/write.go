package artefacts

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"eng5np/schemas"
)

// Permissions of everything in a run directory (SPEC §6).
const (
	FilePerm = 0o600
	DirPerm  = 0o700
)

// Names inside a run directory.
const (
	ManifestName = "manifest.json"
	InputsName   = "inputs.json"
	LogsDir      = "logs"
	tempMarker   = ".tmp-"
)

// zeroChecksum stands in for the artefact checksum while it is computed.
var zeroChecksum = strings.Repeat("0", 64)

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
	cleanup := func(e error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, e)
	}
	if _, err := f.Write(data); err != nil {
		return cleanup(err)
	}
	if err := f.Sync(); err != nil {
		return cleanup(err)
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

// WriteJSONAtomic writes v as indented JSON with a trailing newline.
func WriteJSONAtomic(path string, v any) error {
	data, err := MarshalIndent(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFileAtomic(path, data)
}

// MarshalIndent renders v the way every run-directory file is written: two
// spaces, no HTML escaping, a trailing newline.
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

// excluded reports whether a run-directory path stays out of the manifest:
// the manifest itself, artefacts, logs/ and temporary files.
func excluded(rel string) bool {
	base := filepath.Base(rel)
	return rel == ManifestName ||
		(strings.HasPrefix(rel, "assessment_run.") && strings.HasSuffix(rel, ".json") && !strings.Contains(rel, "/")) ||
		rel == LogsDir || strings.HasPrefix(rel, LogsDir+"/") ||
		strings.Contains(base, tempMarker)
}

// BuildManifest hashes every file of the run directory except the manifest,
// the artefacts, logs/ and temporary files, sorted by path.
func BuildManifest(dir string) ([]ManifestEntry, error) {
	var entries []ManifestEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		sum, n, err := HashFile(p)
		if err != nil {
			return err
		}
		entries = append(entries, ManifestEntry{Path: rel, SHA256: sum, Bytes: n})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	if entries == nil {
		entries = []ManifestEntry{}
	}
	return entries, nil
}

// HashFile returns the sha256 and size of a file.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// SchemaError means the artefact broke its schema and was not written; the
// CLI exits 5 on it.
type SchemaError struct {
	File string
	Err  error
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s was not written: %v", e.File, e.Err)
}

func (e *SchemaError) Unwrap() error { return e.Err }

// WriteResult says what Write produced.
type WriteResult struct {
	ArtefactPath string
	ManifestPath string
	Checksum     string
	Manifest     []ManifestEntry
}

// Write writes run into dir as assessment_run.<mode>.json with a fresh
// manifest: it hashes the run directory, validates the artefact against the
// embedded schema (an invalid artefact is never written; the error is a
// *SchemaError), stamps the artefact checksum, writes the artefact atomically
// and then manifest.json.
func Write(dir string, run *AssessmentRun) (WriteResult, error) {
	manifest, err := BuildManifest(dir)
	if err != nil {
		return WriteResult{}, err
	}
	run.SchemaVersion = SchemaVersion
	run.Validation.Manifest = manifest
	run.Validation.ArtefactChecksum = zeroChecksum
	run.normalize()
	data, err := MarshalIndent(run)
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode artefact: %w", err)
	}
	name := FileName(run.Metadata.RunnerMode)
	if err := schemas.ValidateAssessmentRun(data); err != nil {
		return WriteResult{}, &SchemaError{File: name, Err: err}
	}
	sum, data, err := stampChecksum(data)
	if err != nil {
		return WriteResult{}, err
	}
	run.Validation.ArtefactChecksum = sum
	res := WriteResult{
		ArtefactPath: filepath.Join(dir, name),
		ManifestPath: filepath.Join(dir, ManifestName),
		Checksum:     sum,
		Manifest:     manifest,
	}
	if err := WriteFileAtomic(res.ArtefactPath, data); err != nil {
		return WriteResult{}, err
	}
	if err := WriteJSONAtomic(res.ManifestPath, manifest); err != nil {
		return WriteResult{}, err
	}
	return res, nil
}

// checksumField is how the checksum appears in the indented artefact.
const checksumField = `"artefact_checksum": "`

// stampChecksum replaces the zero checksum in data with the sha256 of data
// (as it reads with the zeros): SPEC §6's definition, so verification only
// has to put the zeros back.
func stampChecksum(data []byte) (string, []byte, error) {
	placeholder := []byte(checksumField + zeroChecksum + `"`)
	if bytes.Count(data, placeholder) != 1 {
		return "", nil, errors.New("artefact checksum placeholder not found exactly once")
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	out := bytes.Replace(data, placeholder, []byte(checksumField+sum+`"`), 1)
	return sum, out, nil
}

// ArtefactChecksum recomputes the checksum of an artefact's bytes: the
// sha256 of the file with its checksum value replaced by 64 zeros. It
// returns the recorded and the recomputed value.
func ArtefactChecksum(data []byte) (recorded, actual string, err error) {
	loc := checksumValue.FindSubmatchIndex(data)
	if loc == nil {
		return "", "", errors.New("no artefact_checksum field with a 64-character hex value")
	}
	start, end := loc[2], loc[3]
	recorded = string(data[start:end])
	zeroed := append([]byte(nil), data...)
	copy(zeroed[start:end], zeroChecksum)
	h := sha256.Sum256(zeroed)
	return recorded, hex.EncodeToString(h[:]), nil
}

// checksumValue finds the checksum whatever the file's whitespace; inside a
// JSON string the key's quotes would be escaped, so text cannot fake it.
var checksumValue = regexp.MustCompile(`"artefact_checksum"\s*:\s*"([0-9a-f]{64})"`)
