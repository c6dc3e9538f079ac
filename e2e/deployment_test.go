package e2e

// A real deployment's prerequisites, against `eng5np stack up` in another
// process behaving like the HuleEdu services: the admin token, the
// assignment's instructions, the anchors; doctor only reads.

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"eng5np/huleedu"
	"eng5np/internal/testkit"
	"eng5np/runner"
)

const freshAssignment = "11111111-2222-4333-8444-555555555555"

// doctorAt runs doctor against the stack process with env and extra args.
func doctorAt(t *testing.T, sp *stackProc, env []string, args ...string) (int, string, string) {
	t.Helper()
	base := append([]string{"doctor", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir()}, sp.addresses()...)
	return runCLI(t, env, append(base, args...)...)
}

// checkLine returns doctor's line for a check.
func checkLine(stdout, title string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "check ") && strings.Contains(l, " "+title+" ") {
			return l
		}
	}
	return ""
}

func posts(t *testing.T, sp *stackProc) float64 {
	t.Helper()
	return value(scrape(t, sp.metrics), "eng5np_devstack_http_requests_total", map[string]string{"method": "POST"})
}

func TestDoctorAgainstADeployment(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t, "--metrics-addr", "127.0.0.1:0")
	before := posts(t, sp)

	// No token and no secret: the options are named.
	code, out, _ := doctorAt(t, sp, nil)
	if line := checkLine(out, "admin auth"); code != runner.ExitFailure || !strings.Contains(line, "check fail") ||
		!strings.Contains(line, "HULEEDU_SERVICE_ACCOUNT_TOKEN") || !strings.Contains(line, "ENG5NP_JWT_SECRET_KEY") {
		t.Errorf("no token: exit %d, %q", code, line)
	}
	if !strings.Contains(checkLine(out, "assignment instructions"), "check skip") {
		t.Errorf("the instructions check ran without a token: %q", checkLine(out, "assignment instructions"))
	}

	// A minted token: every check passes.
	code, out, errs := doctorAt(t, sp, sp.env())
	if code != 0 || !strings.Contains(checkLine(out, "admin auth"), "check pass") || !strings.Contains(checkLine(out, "assignment instructions"), "research_experiment") {
		t.Fatalf("minted token: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(checkLine(out, "anchors registered"), "check warn") {
		t.Errorf("the sample's anchors are not registered yet; doctor should say so: %q", checkLine(out, "anchors registered"))
	}

	// A token without the admin role.
	teacher, err := huleedu.MintToken(sp.secret, "teacher", huleedu.DefaultIssuer, huleedu.DefaultAudience, []string{"teacher"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = doctorAt(t, sp, []string{"HULEEDU_ADMIN_TOKEN=" + teacher})
	if line := checkLine(out, "admin auth"); code != runner.ExitFailure || !strings.Contains(line, "admin role") || !strings.Contains(line, "403") {
		t.Errorf("no admin role: exit %d, %q", code, line)
	}
	if strings.Contains(out, teacher) {
		t.Error("doctor printed the token")
	}

	// An assignment without instructions, then set up.
	code, out, _ = doctorAt(t, sp, sp.env(), "--assignment-id", freshAssignment)
	if line := checkLine(out, "assignment instructions"); code != runner.ExitFailure || !strings.Contains(line, "eng5np assignment setup") {
		t.Errorf("no instructions: exit %d, %q", code, line)
	}
	if doctored := posts(t, sp); doctored != before {
		t.Errorf("doctor issued %v POST requests", doctored-before)
	}
	code, out, errs = runCLI(t, sp.env(), "assignment", "setup", "--inputs", testkit.Sample(t), "--assignment-id", freshAssignment,
		"--content-service-url", sp.url+"/v1/content", "--cj-service-url", sp.url)
	if code != 0 || !strings.Contains(out, "instructions") || !strings.Contains(out, "created") {
		t.Fatalf("setup: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := doctorAt(t, sp, sp.env(), "--assignment-id", freshAssignment); code != 0 {
		t.Errorf("after setup: exit %d\n%s\n%s", code, out, errs)
	}
}

// The deployed CJ service answers every admin error with a bare 500; doctor
// still names the likely cause.
func TestDoctorReasonsAboutBare500s(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t, "--fault", "bare_500=1")
	code, out, _ := doctorAt(t, sp, nil)
	if line := checkLine(out, "admin auth"); code != runner.ExitFailure || !strings.Contains(line, "no admin token") {
		t.Errorf("no token: exit %d, %q", code, line)
	}
	wrong := []string{"ENG5NP_JWT_SECRET_KEY=not-the-stack-secret"}
	code, out, _ = doctorAt(t, sp, wrong)
	if line := checkLine(out, "admin auth"); code != runner.ExitFailure || !strings.Contains(line, "bare 500") || !strings.Contains(line, "JWT_SECRET_KEY") {
		t.Errorf("wrong secret: exit %d, %q", code, line)
	}
	code, out, _ = doctorAt(t, sp, sp.env(), "--assignment-id", freshAssignment)
	if line := checkLine(out, "assignment instructions"); code != runner.ExitFailure || !strings.Contains(line, "bare 500") ||
		!strings.Contains(line, "no assessment instructions") || !strings.Contains(line, "eng5np assignment setup") {
		t.Errorf("no instructions: exit %d, %q", code, line)
	}
	sp2 := startStackProcess(t, "--fault", "admin_disabled=1")
	code, out, _ = doctorAt(t, sp2, sp2.env())
	if line := checkLine(out, "admin auth"); code != runner.ExitFailure || !strings.Contains(line, "admin API disabled") {
		t.Errorf("admin off: exit %d, %q", code, line)
	}
}

// A CJ service that accepts the connection but never answers fails its
// check within the request timeout, and the checks that need it are
// skipped: doctor returns.
func TestDoctorWithASilentCJService(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	start := time.Now()
	code, out, _ := runCLI(t, sp.env(), "doctor", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--stack", "external",
		"--kafka-bootstrap", sp.bootstrap, "--content-service-url", sp.url, "--cj-service-url", "http://"+ln.Addr().String())
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("doctor took %v with a silent CJ service", took)
	}
	if code != runner.ExitFailure || !strings.Contains(checkLine(out, "CJ service reachable"), "check fail") ||
		!strings.Contains(checkLine(out, "admin auth"), "check skip") || !strings.Contains(checkLine(out, "anchors registered"), "check skip") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestAssignmentAndAnchorCommands(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t)
	svc := []string{"--content-service-url", sp.url, "--cj-service-url", sp.url, "--inputs", testkit.Sample(t)}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, sp.env(), append(args, svc...)...)
	}
	// A fresh assignment: show says it is not set up; setup creates it,
	// then changes nothing the second time.
	code, out, errs := run("assignment", "show", "--assignment-id", freshAssignment)
	if code != 0 || !strings.Contains(out, "Not set up") {
		t.Errorf("show before setup: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run("assignment", "setup", "--assignment-id", freshAssignment, "--rubric", "--json")
	var rep runner.SetupReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Changed() {
		t.Fatalf("setup: exit %d\n%s\n%s", code, out, errs)
	}
	actions := map[string]string{}
	for _, c := range rep.Changes {
		actions[c.What] = c.Action
	}
	if actions["instructions"] != "created" || actions["student prompt"] != "stored" || actions["judge rubric"] != "stored" {
		t.Errorf("first setup: %v", actions)
	}
	code, out, _ = run("assignment", "setup", "--assignment-id", freshAssignment, "--rubric")
	if code != 0 || !strings.Contains(out, "Nothing changed") || strings.Contains(out, "created") || strings.Contains(out, "stored") {
		t.Errorf("second setup is not idempotent: exit %d\n%s", code, out)
	}
	// An assignment someone set up on another grade scale: setup refuses
	// the batch before writing anything, and show and doctor say so.
	swedish := "33333333-4444-4555-8666-777777777777"
	c := huleedu.NewClient(sp.url, sp.url, 0)
	c.Admin = huleedu.NewAdminAuth(huleedu.AuthSettings{JWTSecretKey: sp.secret})
	if _, err := c.UpsertInstructions(t.Context(), huleedu.InstructionsUpsert{AssignmentID: swedish, InstructionsText: "Bedöm uppsatserna.", GradeScale: "swedish_8_anchor"}); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run("assignment", "setup", "--assignment-id", swedish)
	if code != runner.ExitUsage || !strings.Contains(errs, "swedish_8_anchor") || !strings.Contains(errs, "eng5_np_legacy_9_step") {
		t.Errorf("scale mismatch: exit %d %s", code, errs)
	}
	if _, out, _ := run("assignment", "show", "--assignment-id", swedish); !strings.Contains(out, "--grade-scale swedish_8_anchor") {
		t.Errorf("show does not name the scale to use:\n%s", out)
	}
	if code, out, _ := doctorAt(t, sp, sp.env(), "--assignment-id", swedish); code != runner.ExitFailure ||
		!strings.Contains(checkLine(out, "assignment instructions"), "grade scale swedish_8_anchor, the batch on eng5_np_legacy_9_step") {
		t.Errorf("doctor on a mismatched scale: exit %d %q", code, checkLine(out, "assignment instructions"))
	}
	// And so is a context origin that differs from the stored one.
	code, _, errs = run("assignment", "setup", "--assignment-id", freshAssignment, "--context-origin", "canonical_national")
	if code != runner.ExitUsage || !strings.Contains(errs, "research_experiment") {
		t.Errorf("origin change: exit %d %s", code, errs)
	}

	// Anchors: registered once, then unchanged; show lists them with their ids.
	code, out, errs = run("anchors", "register", "--assignment-id", freshAssignment, "--json")
	var reg runner.RegisterReport
	if code != 0 || json.Unmarshal([]byte(out), &reg) != nil || len(reg.Changes) != 12 || reg.Changes[0].Action != "registered" {
		t.Fatalf("register: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run("anchors", "register", "--assignment-id", freshAssignment)
	if code != 0 || strings.Count(out, "unchanged") != 12 {
		t.Errorf("second register: exit %d\n%s", code, out)
	}
	code, out, _ = run("assignment", "show", "--assignment-id", freshAssignment, "--json")
	var v runner.AssignmentView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Anchors) != 12 || !v.Anchors[0].InBatch || v.Anchors[0].ID == 0 ||
		v.JudgeRubric == "" || v.StudentPrompt == "" || v.Instructions.GradeScale != "eng5_np_legacy_9_step" {
		t.Errorf("show after setup: exit %d\n%s", code, out)
	}

	// Without instructions, anchors cannot be registered: the fix is named.
	other := "22222222-3333-4444-8555-666666666666"
	code, _, errs = run("anchors", "register", "--assignment-id", other)
	if code != runner.ExitFailure || !strings.Contains(errs, "eng5np assignment setup") {
		t.Errorf("register without instructions: exit %d %s", code, errs)
	}
	// Without the service URLs, the command says which flags it needs.
	code, _, errs = runCLI(t, sp.env(), "assignment", "show", "--inputs", testkit.Sample(t))
	if code != runner.ExitUsage || !strings.Contains(errs, "--content-service-url") {
		t.Errorf("no URLs: exit %d %s", code, errs)
	}
}
