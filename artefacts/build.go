package artefacts

import (
	"errors"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// RunnerVersion is eng5np's semantic version.
const RunnerVersion = "0.1.0"

// gitSHA may be set at link time: -ldflags "-X eng5np/artefacts.gitSHA=<sha>"
// (`make build` does).
var gitSHA string

// Build describes the running binary.
type Build struct {
	RunnerVersion string
	GitSHA        string // 7–40 lower-case hex
	Dirty         *bool  // nil when unknown
	// CommitSource says where GitSHA came from: "link-time stamp", "vcs
	// stamp", "module pseudo-version" or "test".
	CommitSource string
	GoVersion    string
	OS           string
	Arch         string
	KafkaClient  string
}

var hexSHA = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// pseudoCommit is the commit prefix at the end of a module pseudo-version
// (v0.0.0-20261201051716-abcdef123456, possibly with +incompatible or
// +dirty).
var pseudoCommit = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:[0-9A-Za-z.]+\.)?[0-9]{14}-([0-9a-f]{12})(?:\+[0-9A-Za-z.]+)?$`)

// ErrUnknownCommit is CurrentBuild's refusal: the binary cannot name the
// commit it was built from, and an artefact must name a real one.
var ErrUnknownCommit = errors.New("this eng5np binary does not know which git commit it was built from, and an artefact must name it: " +
	"build with `make build` (it stamps the commit), or with `go build` inside a git checkout (Go stamps it), " +
	"or install a tagged version with `go install`")

var (
	testMu     sync.Mutex
	testCommit string
)

// SetTestCommit makes CurrentBuild report sha as the commit, for test
// binaries: `go test` stamps no VCS information. It panics on a sha that is
// not 7–40 lower-case hex.
func SetTestCommit(sha string) {
	if !hexSHA.MatchString(sha) {
		panic("artefacts.SetTestCommit: not a commit: " + sha)
	}
	testMu.Lock()
	defer testMu.Unlock()
	testCommit = sha
}

// CurrentBuild identifies this binary. The git commit comes only from the
// binary itself, in order: the link-time variable, the Go build info's VCS
// stamp (vcs.revision and vcs.modified, written by `go build` in a
// checkout), or the commit inside the main module's pseudo-version (`go
// install …@commit`). It never runs git: the directory the user stands in
// says nothing about the binary. Without a commit it returns the build and
// ErrUnknownCommit.
func CurrentBuild() (Build, error) {
	b := Build{RunnerVersion: RunnerVersion, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, KafkaClient: "github.com/segmentio/kafka-go"}
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/segmentio/kafka-go" {
				b.KafkaClient = d.Path + " " + d.Version
			}
		}
	}
	if s := strings.ToLower(strings.TrimSpace(gitSHA)); hexSHA.MatchString(s) {
		b.GitSHA, b.CommitSource = s, "link-time stamp"
		return b, nil
	}
	if ok {
		var rev string
		var modified *bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = strings.ToLower(s.Value)
			case "vcs.modified":
				m := s.Value == "true"
				modified = &m
			}
		}
		if hexSHA.MatchString(rev) {
			b.GitSHA, b.Dirty, b.CommitSource = rev, modified, "vcs stamp"
			return b, nil
		}
		if m := pseudoCommit.FindStringSubmatch(info.Main.Version); m != nil {
			b.GitSHA, b.CommitSource = m[1], "module pseudo-version"
			return b, nil
		}
	}
	testMu.Lock()
	sha := testCommit
	testMu.Unlock()
	if sha != "" {
		b.GitSHA, b.CommitSource = sha, "test"
		return b, nil
	}
	return b, ErrUnknownCommit
}

// Environment is the artefact's validation.cli_environment.
func (b Build) Environment() CLIEnvironment {
	return CLIEnvironment{RunnerVersion: b.RunnerVersion, GoVersion: b.GoVersion, OS: b.OS, Arch: b.Arch, KafkaClient: b.KafkaClient}
}
