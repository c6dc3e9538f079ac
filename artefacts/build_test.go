package artefacts

import (
	"errors"
	"os"
	"testing"
)

const fixtureCommit = "0e5a7e57c0ffee0e5a7e57c0ffee0e5a7e57c0ff"

func TestMain(m *testing.M) {
	SetTestCommit(fixtureCommit)
	os.Exit(m.Run())
}

// A test binary carries no VCS stamp: the commit is the injected one, and
// without it CurrentBuild refuses rather than guess (it never runs git in
// the working directory, which may be any repository).
func TestCommitComesFromTheBinaryOnly(t *testing.T) {
	b, err := CurrentBuild()
	if err != nil || b.GitSHA != fixtureCommit || b.CommitSource != "test" {
		t.Fatalf("%+v %v", b, err)
	}
	testMu.Lock()
	testCommit = ""
	testMu.Unlock()
	defer SetTestCommit(fixtureCommit)
	if _, err := CurrentBuild(); !errors.Is(err, ErrUnknownCommit) {
		t.Errorf("without a stamp: %v, want ErrUnknownCommit", err)
	}
	gitSHA = "ABCDEF1234567"
	defer func() { gitSHA = "" }()
	if b, err := CurrentBuild(); err != nil || b.GitSHA != "abcdef1234567" || b.CommitSource != "link-time stamp" {
		t.Errorf("link-time stamp: %+v %v", b, err)
	}
}

func TestPseudoVersionCommit(t *testing.T) {
	for v, want := range map[string]string{
		"v0.0.0-20261201051716-abcdef123456":                    "abcdef123456",
		"v0.1.1-0.20261201051716-abcdef123456":                  "abcdef123456",
		"v1.2.3-pre.0.20261201051716-0123456789ab+incompatible": "0123456789ab",
		"v0.1.0":  "",
		"(devel)": "",
	} {
		m := pseudoCommit.FindStringSubmatch(v)
		got := ""
		if m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%s: %q, want %q", v, got, want)
		}
	}
}
