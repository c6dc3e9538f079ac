package runner

import (
	"strings"

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
	return Endpoints{Kafka: conn, ContentURL: huleedu.ContentBase(cfg.ContentServiceURL), CJURL: cfg.CJServiceURL}, nil
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
	ep := Endpoints{Kafka: conn, ContentURL: rd.Record.ContentServiceURL, CJURL: rd.Record.CJServiceURL}
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
	return huleedu.NewClient(ep.ContentURL, ep.CJURL, 0)
}
