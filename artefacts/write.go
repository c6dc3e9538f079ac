package artefacts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"eng5np/rundir"
	"eng5np/schemas"
)

// zeroChecksum stands in for the artefact checksum while it is computed.
var zeroChecksum = strings.Repeat("0", 64)

// BuildManifest hashes every file of the run directory that belongs in the
// manifest (rundir.InManifest), sorted by path.
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
		if !rundir.InManifest(rel) {
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
	run.Normalize()
	data, err := rundir.MarshalIndent(run)
	if err != nil {
		return WriteResult{}, fmt.Errorf("encode artefact: %w", err)
	}
	name := rundir.Artefact(run.Metadata.RunnerMode)
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
		ManifestPath: rundir.Path(dir, rundir.Manifest),
		Checksum:     sum,
		Manifest:     manifest,
	}
	if err := rundir.WriteFileAtomic(res.ArtefactPath, data); err != nil {
		return WriteResult{}, err
	}
	if err := rundir.WriteJSONAtomic(res.ManifestPath, manifest); err != nil {
		return WriteResult{}, err
	}
	return res, nil
}

// checksumField is how the checksum appears in the indented artefact.
const checksumField = `"artefact_checksum": "`

// stampChecksum replaces the zero checksum in data with the sha256 of data (as
// it reads with the zeros): the definition in docs/CONTRACT.md, "Artefacts",
// so verification only has to put the zeros back.
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
