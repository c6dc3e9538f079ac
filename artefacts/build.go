package artefacts

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// RunnerVersion is eng5np's semantic version.
const RunnerVersion = "0.1.0"

// gitSHA may be set at link time: -ldflags "-X eng5np/artefacts.gitSHA=<sha>".
var gitSHA string

// Build describes the running binary.
type Build struct {
	RunnerVersion string
	GitSHA        string // 7–40 lower-case hex
	Dirty         *bool  // nil when unknown
	GoVersion     string
	OS            string
	Arch          string
	KafkaClient   string
}

var hexSHA = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

var (
	buildOnce sync.Once
	build     Build
	buildErr  error
)

// CurrentBuild identifies this binary. The git commit comes, in order, from
// the link-time variable, the Go build info (vcs.revision, stamped by `go
// build` in a checkout), or `git rev-parse HEAD` run in the working directory
// and then beside the executable. Without any of them it is an error: the
// artefact must name a real commit, never a placeholder.
func CurrentBuild() (Build, error) {
	buildOnce.Do(func() { build, buildErr = currentBuild() })
	return build, buildErr
}

func currentBuild() (Build, error) {
	b := Build{
		RunnerVersion: RunnerVersion,
		GoVersion:     runtime.Version(),
		OS:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KafkaClient:   "github.com/segmentio/kafka-go",
	}
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/segmentio/kafka-go" {
				b.KafkaClient = d.Path + " " + d.Version
			}
		}
	}
	if s := strings.ToLower(strings.TrimSpace(gitSHA)); hexSHA.MatchString(s) {
		b.GitSHA = s
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
			b.GitSHA, b.Dirty = rev, modified
			return b, nil
		}
	}
	dirs := []string{"."}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, dir := range dirs {
		if sha, dirty, err := gitHead(dir); err == nil {
			b.GitSHA, b.Dirty = sha, &dirty
			return b, nil
		}
	}
	return b, errors.New("cannot tell which git commit built eng5np: build it with `make build` (or `go build` inside the git checkout) so the commit is stamped into the binary")
}

func gitHead(dir string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", false, err
	}
	sha := strings.TrimSpace(string(out))
	if !hexSHA.MatchString(sha) {
		return "", false, errors.New("git printed no commit")
	}
	st := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no")
	st.Dir = dir
	status, err := st.Output()
	dirty := err == nil && len(strings.TrimSpace(string(status))) > 0
	return sha, dirty, nil
}

// Environment is the artefact's validation.cli_environment.
func (b Build) Environment() CLIEnvironment {
	return CLIEnvironment{RunnerVersion: b.RunnerVersion, GoVersion: b.GoVersion, OS: b.OS, Arch: b.Arch, KafkaClient: b.KafkaClient}
}
