package huleedu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The claims a HuleEdu admin token carries, as the services validate them.
const (
	DefaultIssuer   = "huleedu-identity-service"
	DefaultAudience = "huleedu-platform"
	AdminRole       = "admin"
	mintedTTL       = time.Hour
)

// Where an admin token may come from, in the order they are looked for.
const (
	SourceServiceAccount = "HULEEDU_SERVICE_ACCOUNT_TOKEN"
	SourceAdminToken     = "HULEEDU_ADMIN_TOKEN"
	SourceCJAdminToken   = "cj_admin_token (ENG5NP_CJ_ADMIN_TOKEN)"
	SourceMinted         = "minted from jwt_secret_key (ENG5NP_JWT_SECRET_KEY)"
)

// TokenOptions names every way to give eng5np an admin token, for messages.
const TokenOptions = "set HULEEDU_SERVICE_ACCOUNT_TOKEN (a service account), HULEEDU_ADMIN_TOKEN or ENG5NP_CJ_ADMIN_TOKEN " +
	"(a token you were given), or, on a development deployment, ENG5NP_JWT_SECRET_KEY (the CJ service's JWT_SECRET_KEY) to mint one"

// AuthSettings are what eng5np was given to authenticate to the admin API.
type AuthSettings struct {
	ServiceAccountToken string // HULEEDU_SERVICE_ACCOUNT_TOKEN
	AdminToken          string // HULEEDU_ADMIN_TOKEN
	CJAdminToken        string // config key cj_admin_token
	JWTSecretKey        string // config key jwt_secret_key: mint a token with it
	Issuer, Audience    string // of a minted token (defaults DefaultIssuer, DefaultAudience)
	Subject             string // of a minted token
	// Environment is the value of ENVIRONMENT or HULEEDU_ENVIRONMENT and
	// which of them gave it: minting is refused in production or staging.
	Environment, EnvironmentVar string
}

// AdminAuth gives the bearer token of every admin request: a token eng5np
// was given, else one it mints with the CJ service's secret. It is a
// huleedu.TokenSource.
type AdminAuth struct {
	s      AuthSettings
	token  string
	source string
	now    func() time.Time

	mu        sync.Mutex
	minted    string
	mintedExp time.Time
}

// NewAdminAuth picks the token source: HULEEDU_SERVICE_ACCOUNT_TOKEN, then
// HULEEDU_ADMIN_TOKEN, then cj_admin_token, then minting with
// jwt_secret_key.
func NewAdminAuth(s AuthSettings) *AdminAuth {
	if s.Issuer == "" {
		s.Issuer = DefaultIssuer
	}
	if s.Audience == "" {
		s.Audience = DefaultAudience
	}
	if s.Subject == "" {
		s.Subject = "eng5np"
	}
	a := &AdminAuth{s: s, now: time.Now}
	for _, c := range []struct{ tok, src string }{
		{s.ServiceAccountToken, SourceServiceAccount}, {s.AdminToken, SourceAdminToken}, {s.CJAdminToken, SourceCJAdminToken},
	} {
		if strings.TrimSpace(c.tok) != "" {
			a.token, a.source = strings.TrimSpace(c.tok), c.src
			return a
		}
	}
	if s.JWTSecretKey != "" {
		a.source = SourceMinted
	}
	return a
}

// Source names where the token comes from ("" when nowhere); never the
// token itself.
func (a *AdminAuth) Source() string { return a.source }

// Minting reports whether the token is minted locally.
func (a *AdminAuth) Minting() bool { return a.source == SourceMinted }

// NoTokenError says that no token is available, and how to give one.
type NoTokenError struct{ Reason string }

func (e *NoTokenError) Error() string { return e.Reason }

// Ready says why no token can be had, or nil.
func (a *AdminAuth) Ready() error {
	switch {
	case a.source == "":
		return &NoTokenError{Reason: "no admin token for the CJ admin API: " + TokenOptions}
	case a.Minting() && productionLike(a.s.Environment):
		return &NoTokenError{Reason: fmt.Sprintf("refusing to mint an admin token: %s=%s says this is not a development deployment; "+
			"set HULEEDU_SERVICE_ACCOUNT_TOKEN (or HULEEDU_ADMIN_TOKEN) instead", a.s.EnvironmentVar, a.s.Environment)}
	}
	return nil
}

func productionLike(env string) bool {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "production", "prod", "staging":
		return true
	}
	return false
}

// Token returns the bearer token: the one given, or a minted one (reused
// until five minutes before it expires).
func (a *AdminAuth) Token(context.Context) (string, error) {
	if err := a.Ready(); err != nil {
		return "", err
	}
	if !a.Minting() {
		return a.token, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.minted != "" && now.Before(a.mintedExp.Add(-5*time.Minute)) {
		return a.minted, nil
	}
	tok, err := MintAdminToken(a.s.JWTSecretKey, a.s.Subject, a.s.Issuer, a.s.Audience, now, mintedTTL)
	if err != nil {
		return "", err
	}
	a.minted, a.mintedExp = tok, now.Add(mintedTTL)
	return tok, nil
}

// Claims are what eng5np can read of a token without its key.
type Claims struct {
	Subject   string
	Roles     []string
	Issuer    string
	Audience  []string
	ExpiresAt time.Time // zero: no exp
}

// Inspect reads a given token's claims without verifying its signature (it
// cannot: the key is the service's), so that a rejection can be explained:
// expired, without the admin role, another issuer or audience. ok is false
// when the token is not a JWT eng5np can read, or is minted.
func (a *AdminAuth) Inspect() (Claims, bool) {
	if a.token == "" {
		return Claims{}, false
	}
	var mc jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(a.token, &mc); err != nil {
		return Claims{}, false
	}
	c := Claims{}
	c.Subject, _ = mc.GetSubject()
	c.Issuer, _ = mc.GetIssuer()
	aud, _ := mc.GetAudience()
	c.Audience = aud
	if exp, _ := mc.GetExpirationTime(); exp != nil {
		c.ExpiresAt = exp.Time
	}
	c.Roles = rolesOf(mc)
	return c, true
}

// Problems lists what is wrong with a given token's claims, as far as
// eng5np can tell without the key: expired, no admin role, an issuer or
// audience the services do not accept.
func (c Claims) Problems(now time.Time) []string {
	var out []string
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		out = append(out, fmt.Sprintf("it expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	if !slices.Contains(c.Roles, AdminRole) {
		out = append(out, fmt.Sprintf("its roles %v lack %q", c.Roles, AdminRole))
	}
	if c.Issuer != "" && c.Issuer != DefaultIssuer {
		out = append(out, fmt.Sprintf("its issuer is %q, not %q", c.Issuer, DefaultIssuer))
	}
	if len(c.Audience) > 0 && !slices.Contains(c.Audience, DefaultAudience) {
		out = append(out, fmt.Sprintf("its audience %v lacks %q", c.Audience, DefaultAudience))
	}
	return out
}

// MintAdminToken signs an admin token with HS256, as the HuleEdu
// development tooling does: sub, roles ["admin"], iat, exp, iss, aud.
func MintAdminToken(secret, subject, issuer, audience string, now time.Time, ttl time.Duration) (string, error) {
	return MintToken(secret, subject, issuer, audience, []string{AdminRole}, now, ttl)
}

// MintToken signs a token with the given roles (the dev stack's tests also
// make tokens without the admin role).
func MintToken(secret, subject, issuer, audience string, roles []string, now time.Time, ttl time.Duration) (string, error) {
	if secret == "" {
		return "", errors.New("no JWT secret to sign with")
	}
	claims := jwt.MapClaims{"sub": subject, "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "iss": issuer, "aud": audience}
	if roles != nil {
		claims["roles"] = roles
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// Authorization errors, as the CJ service raises them.
var (
	ErrNoAuthorization = errors.New("Authorization header required")
	ErrBadToken        = errors.New("invalid token")
	ErrNotAdmin        = errors.New("admin role required")
)

// VerifyAdmin checks an Authorization header the way the CJ service's admin
// routes do: a Bearer JWT signed with secret (HS256), of the issuer and
// audience, not expired, with the admin role. ErrNoAuthorization and
// ErrBadToken (wrapped) mean 401, ErrNotAdmin 403.
func VerifyAdmin(header, secret, issuer, audience string, now time.Time) (Claims, error) {
	if header == "" {
		return Claims{}, ErrNoAuthorization
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return Claims{}, fmt.Errorf("%w: expected 'Authorization: Bearer <token>'", ErrBadToken)
	}
	var mc jwt.MapClaims
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now })).
		ParseWithClaims(strings.TrimSpace(tok), &mc, func(*jwt.Token) (any, error) { return []byte(secret), nil })
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	c := Claims{}
	c.Subject, _ = mc.GetSubject()
	c.Roles = rolesOf(mc)
	if !slices.Contains(c.Roles, AdminRole) {
		return c, ErrNotAdmin
	}
	return c, nil
}

// rolesOf reads a token's roles claim (a list of strings).
func rolesOf(mc jwt.MapClaims) []string {
	var out []string
	if roles, ok := mc["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
