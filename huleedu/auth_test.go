package huleedu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const secret = "dev-secret-for-tests"

func TestTokenSourceOrder(t *testing.T) {
	for _, tc := range []struct {
		s    AuthSettings
		want string
	}{
		{AuthSettings{ServiceAccountToken: "sa", AdminToken: "adm", CJAdminToken: "cj", JWTSecretKey: secret}, SourceServiceAccount},
		{AuthSettings{AdminToken: "adm", CJAdminToken: "cj", JWTSecretKey: secret}, SourceAdminToken},
		{AuthSettings{CJAdminToken: "cj", JWTSecretKey: secret}, SourceCJAdminToken},
		{AuthSettings{JWTSecretKey: secret}, SourceMinted},
		{AuthSettings{ServiceAccountToken: "  "}, ""},
	} {
		if got := NewAdminAuth(tc.s).Source(); got != tc.want {
			t.Errorf("%+v: source %q, want %q", tc.s, got, tc.want)
		}
	}
	tok, err := NewAdminAuth(AuthSettings{AdminToken: "given", JWTSecretKey: secret}).Token(context.Background())
	if err != nil || tok != "given" {
		t.Errorf("a given token is used as is: %q %v", tok, err)
	}
}

func TestNoTokenNamesTheOptions(t *testing.T) {
	_, err := NewAdminAuth(AuthSettings{}).Token(context.Background())
	var nt *NoTokenError
	if !errors.As(err, &nt) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"HULEEDU_SERVICE_ACCOUNT_TOKEN", "HULEEDU_ADMIN_TOKEN", "ENG5NP_CJ_ADMIN_TOKEN", "ENG5NP_JWT_SECRET_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}

func TestMintingIsRefusedInProduction(t *testing.T) {
	for _, env := range []string{"production", "PROD", "Staging"} {
		a := NewAdminAuth(AuthSettings{JWTSecretKey: secret, Environment: env, EnvironmentVar: "ENVIRONMENT"})
		if _, err := a.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "ENVIRONMENT="+env) ||
			!strings.Contains(err.Error(), "HULEEDU_SERVICE_ACCOUNT_TOKEN") {
			t.Errorf("%s: %v", env, err)
		}
	}
	// A given token is fine in production.
	if _, err := NewAdminAuth(AuthSettings{ServiceAccountToken: "sa", Environment: "production"}).Token(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := NewAdminAuth(AuthSettings{JWTSecretKey: secret, Environment: "development"}).Token(context.Background()); err != nil {
		t.Error(err)
	}
}

// A minted token passes the service's own checks; tokens the service
// rejects are told apart.
func TestMintAndVerify(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a := NewAdminAuth(AuthSettings{JWTSecretKey: secret, Subject: "alice"})
	a.now = func() time.Time { return now }
	tok, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := a.Token(context.Background()); again != tok {
		t.Error("a minted token is not reused while valid")
	}
	c, err := VerifyAdmin("Bearer "+tok, secret, DefaultIssuer, DefaultAudience, now.Add(30*time.Minute))
	if err != nil || c.Subject != "alice" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	for _, tc := range []struct {
		name   string
		header string
		at     time.Time
		want   error
	}{
		{"no header", "", now, ErrNoAuthorization},
		{"not bearer", "Basic abc", now, ErrBadToken},
		{"expired", "Bearer " + tok, now.Add(2 * time.Hour), ErrBadToken},
		{"other secret", "Bearer " + mustMint(t, "other", []string{AdminRole}, now), now, ErrBadToken},
		{"no admin role", "Bearer " + mustMint(t, secret, []string{"teacher"}, now), now, ErrNotAdmin},
	} {
		if _, err := VerifyAdmin(tc.header, secret, DefaultIssuer, DefaultAudience, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	wrongIss, _ := MintToken(secret, "x", "someone-else", DefaultAudience, []string{AdminRole}, now, time.Hour)
	if _, err := VerifyAdmin("Bearer "+wrongIss, secret, DefaultIssuer, DefaultAudience, now); !errors.Is(err, ErrBadToken) {
		t.Errorf("wrong issuer: %v", err)
	}
}

func mustMint(t *testing.T, key string, roles []string, now time.Time) string {
	t.Helper()
	tok, err := MintToken(key, "bob", DefaultIssuer, DefaultAudience, roles, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A given token's claims explain a rejection: expired, no admin role,
// another issuer or audience.
func TestInspectGivenToken(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tok, _ := MintToken("their-key", "bob", "elsewhere", "other-aud", []string{"teacher"}, now.Add(-2*time.Hour), time.Hour)
	c, ok := NewAdminAuth(AuthSettings{AdminToken: tok}).Inspect()
	if !ok {
		t.Fatal("the token was not read")
	}
	p := strings.Join(c.Problems(now), "; ")
	for _, want := range []string{"expired", `lack "admin"`, `issuer is "elsewhere"`, "audience"} {
		if !strings.Contains(p, want) {
			t.Errorf("problems %q lack %q", p, want)
		}
	}
	if _, ok := NewAdminAuth(AuthSettings{AdminToken: "not-a-jwt"}).Inspect(); ok {
		t.Error("an opaque token was read as a JWT")
	}
	if _, ok := NewAdminAuth(AuthSettings{JWTSecretKey: secret}).Inspect(); ok {
		t.Error("a minted token needs no inspection")
	}
}
