package runner

import (
	"os"
	"os/user"
	"strings"
	"time"

	"eng5np/capture"
	"eng5np/config"
	"eng5np/huleedu"
)

// Endpoints are the addresses of the services a run uses. The runner knows
// nothing else about them, in particular not whether they are embedded.
type Endpoints struct {
	Kafka      capture.Conn
	ContentURL string
	CJURL      string
	// Admin gives the CJ admin API's bearer token.
	Admin *huleedu.AdminAuth
	// HTTPTimeout bounds every HTTP request (0: huleedu.DefaultTimeout).
	HTTPTimeout time.Duration
}

// AdminAuth is how the configured settings authenticate to the CJ admin
// API: a token given (HULEEDU_SERVICE_ACCOUNT_TOKEN, HULEEDU_ADMIN_TOKEN,
// cj_admin_token) or one minted with jwt_secret_key.
func AdminAuth(cfg *config.Config) *huleedu.AdminAuth {
	a := cfg.Auth
	return huleedu.NewAdminAuth(huleedu.AuthSettings{
		ServiceAccountToken: a.ServiceAccountToken.Reveal(), AdminToken: a.AdminToken.Reveal(), CJAdminToken: a.CJAdminToken.Reveal(),
		JWTSecretKey: a.JWTSecretKey.Reveal(), Issuer: a.JWTIssuer, Audience: a.JWTAudience, Subject: "eng5np:" + UserID(cfg),
		Environment: a.Environment, EnvironmentVar: a.EnvironmentVar,
	})
}

// UserID is who a run's LLM usage is billed to: user_id, else the login
// name of the user running eng5np.
func UserID(cfg *config.Config) string {
	if cfg.UserID != "" {
		return cfg.UserID
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "eng5np"
}

// KafkaSettings are the configured Kafka connection settings with the given
// bootstrap addresses.
func KafkaSettings(cfg *config.Config, bootstrap []string) capture.Settings {
	k := cfg.Kafka
	return capture.Settings{Bootstrap: bootstrap, ClientID: k.ClientID, SASLMechanism: k.SASLMechanism, SASLUsername: k.SASLUsername,
		SASLPassword: k.SASLPassword.Reveal(), TLS: k.TLS, TLSCAFile: k.TLSCAFile, TLSCertFile: k.TLSCertFile, TLSKeyFile: k.TLSKeyFile,
		TLSInsecureSkipVerify: k.TLSInsecureSkipVerify}
}

// kafkaConn builds the configured connection to bootstrap; a bad TLS or
// SASL setting is a usage error.
func kafkaConn(cfg *config.Config, bootstrap []string) (capture.Conn, error) {
	conn, err := KafkaSettings(cfg, bootstrap).Conn()
	if err != nil {
		return capture.Conn{}, Exitf(ExitUsage, "fix the Kafka TLS/SASL settings", "%v", err)
	}
	return conn, nil
}

// ExternalEndpoints are the services of --stack external, from the
// settings; a missing address is a usage error naming the flags to pass.
func ExternalEndpoints(cfg *config.Config) (Endpoints, error) {
	var missing []string
	if len(cfg.Kafka.Bootstrap) == 0 && !cfg.NoKafka {
		missing = append(missing, "--kafka-bootstrap (or KAFKA_BOOTSTRAP_SERVERS)")
	}
	if cfg.ContentServiceURL == "" {
		missing = append(missing, "--content-service-url")
	}
	if cfg.CJServiceURL == "" {
		missing = append(missing, "--cj-service-url")
	}
	if len(missing) > 0 {
		return Endpoints{}, Exitf(ExitUsage, "pass "+strings.Join(missing, ", ")+", or use --stack embedded", "--stack external needs the addresses of the services")
	}
	conn, err := kafkaConn(cfg, cfg.Kafka.Bootstrap)
	if err != nil {
		return Endpoints{}, err
	}
	return Endpoints{Kafka: conn, ContentURL: huleedu.ContentBase(cfg.ContentServiceURL), CJURL: cfg.CJServiceURL,
		Admin: AdminAuth(cfg), HTTPTimeout: cfg.HTTPTimeout}, nil
}

// ResumeEndpoints are the services recorded in a run directory, each
// replaced by the setting given explicitly (flag, environment or config
// file), with the connection settings (SASL, TLS) of cfg.
func ResumeEndpoints(rd *RunDir, cfg *config.Config) (Endpoints, error) {
	bootstrap := rd.Record.Kafka.Bootstrap
	if cfg.Explicit("kafka_bootstrap") {
		bootstrap = cfg.Kafka.Bootstrap
	}
	conn, err := kafkaConn(cfg, bootstrap)
	if err != nil {
		return Endpoints{}, err
	}
	ep := Endpoints{Kafka: conn, ContentURL: rd.Record.ContentServiceURL, CJURL: rd.Record.CJServiceURL,
		Admin: AdminAuth(cfg), HTTPTimeout: cfg.HTTPTimeout}
	if cfg.Explicit("content_service_url") {
		ep.ContentURL = huleedu.ContentBase(cfg.ContentServiceURL)
	}
	if cfg.Explicit("cj_service_url") {
		ep.CJURL = cfg.CJServiceURL
	}
	return ep, nil
}

// client is the HTTP client of the run's services.
func (ep Endpoints) client() *huleedu.Client {
	c := huleedu.NewClient(ep.ContentURL, ep.CJURL, ep.HTTPTimeout)
	if ep.Admin != nil {
		c.Admin = ep.Admin
	}
	return c
}
