// Package capture is the only part of the runner that talks Kafka: broker and
// topic checks, end offsets, publishing the CJ request with acks=all, and the
// capture session that reads the consumed topics, appends every record to the
// journal (fsync'd) and only then hands it on.
package capture

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Conn is how to reach a Kafka cluster.
type Conn struct {
	Bootstrap []string
	ClientID  string
	SASL      sasl.Mechanism // nil: none
	TLS       *tls.Config    // nil: plaintext
}

// Settings are how to reach a cluster, as configured: addresses, client id,
// SASL and TLS.
type Settings struct {
	Bootstrap             []string
	ClientID              string
	SASLMechanism         string // "", plain, scram-sha-256 or scram-sha-512
	SASLUsername          string
	SASLPassword          string
	TLS                   bool
	TLSCAFile             string
	TLSCertFile           string
	TLSKeyFile            string
	TLSInsecureSkipVerify bool
}

// Conn builds the connection the settings describe, loading TLS files.
func (k Settings) Conn() (Conn, error) {
	c := Conn{Bootstrap: k.Bootstrap, ClientID: k.ClientID}
	switch k.SASLMechanism {
	case "":
	case "plain":
		c.SASL = plain.Mechanism{Username: k.SASLUsername, Password: k.SASLPassword}
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if k.SASLMechanism == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, k.SASLUsername, k.SASLPassword)
		if err != nil {
			return Conn{}, fmt.Errorf("SASL %s: %w", k.SASLMechanism, err)
		}
		c.SASL = m
	default:
		return Conn{}, fmt.Errorf("unknown SASL mechanism %q", k.SASLMechanism)
	}
	if k.TLS || k.TLSCAFile != "" || k.TLSCertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: k.TLSInsecureSkipVerify} //nolint:gosec // opt-in for testing only
		if k.TLSCAFile != "" {
			pem, err := os.ReadFile(k.TLSCAFile)
			if err != nil {
				return Conn{}, fmt.Errorf("kafka_tls_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return Conn{}, fmt.Errorf("kafka_tls_ca_file %s holds no PEM certificate", k.TLSCAFile)
			}
			tc.RootCAs = pool
		}
		if k.TLSCertFile != "" {
			cert, err := tls.LoadX509KeyPair(k.TLSCertFile, k.TLSKeyFile)
			if err != nil {
				return Conn{}, fmt.Errorf("kafka client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		c.TLS = tc
	}
	return c, nil
}

// String names the cluster for messages.
func (c Conn) String() string { return strings.Join(c.Bootstrap, ",") }

func (c Conn) dialer() *kafka.Dialer {
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, SASLMechanism: c.SASL, TLS: c.TLS}
}

func (c Conn) transport() *kafka.Transport {
	return &kafka.Transport{ClientID: c.ClientID, DialTimeout: 5 * time.Second, SASL: c.SASL, TLS: c.TLS, MetadataTTL: 5 * time.Second}
}

// client is a one-off client; close releases its connections (a transport
// keeps them, with their goroutines, until told).
func (c Conn) client(timeout time.Duration) (cl *kafka.Client, close func()) {
	tr := c.transport()
	return &kafka.Client{Addr: kafka.TCP(c.Bootstrap...), Timeout: timeout, Transport: tr}, tr.CloseIdleConnections
}

// UnreachableError says which broker addresses could not be reached.
type UnreachableError struct {
	Addrs []string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("Kafka broker %s is unreachable: %v", strings.Join(e.Addrs, ", "), e.Err)
}

// CheckBroker connects to the cluster within timeout and returns its
// partition counts by topic.
func CheckBroker(ctx context.Context, c Conn, timeout time.Duration) (map[string]int, error) {
	if len(c.Bootstrap) == 0 {
		return nil, errors.New("no Kafka bootstrap address: set kafka_bootstrap (--kafka-bootstrap or KAFKA_BOOTSTRAP_SERVERS)")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A plain TCP dial first gives a clear "connection refused" for a broker
	// that is down, instead of a protocol error later.
	var dialErr error
	reached := false
	for _, addr := range c.Bootstrap {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			reached = true
			break
		}
		dialErr = err
	}
	if !reached {
		return nil, &UnreachableError{Addrs: c.Bootstrap, Err: dialErr}
	}
	cl, closeClient := c.client(timeout)
	defer closeClient()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, &UnreachableError{Addrs: c.Bootstrap, Err: err}
	}
	parts := map[string]int{}
	for _, t := range md.Topics {
		if t.Error == nil {
			parts[t.Name] = len(t.Partitions)
		}
	}
	return parts, nil
}

// Offsets are positions by topic and partition.
type Offsets map[string]map[int]int64

// Clone copies the offsets.
func (o Offsets) Clone() Offsets {
	out := Offsets{}
	for t, ps := range o {
		out[t] = map[int]int64{}
		for p, v := range ps {
			out[t][p] = v
		}
	}
	return out
}

// StartOffsets returns the first offset of every partition of the topics
// (the oldest record retention kept).
func StartOffsets(ctx context.Context, c Conn, topics []string) (Offsets, error) {
	return offsetsAt(ctx, c, topics, kafka.FirstOffset)
}

// EndOffsets returns the next offset of every partition of the topics: the
// point from which a capture that starts now misses nothing.
func EndOffsets(ctx context.Context, c Conn, topics []string) (Offsets, error) {
	return offsetsAt(ctx, c, topics, kafka.LastOffset)
}

// offsetsAt lists the first (kafka.FirstOffset) or next (kafka.LastOffset)
// offset of every partition of the topics.
func offsetsAt(ctx context.Context, c Conn, topics []string, which int64) (Offsets, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cl, closeClient := c.client(10 * time.Second)
	defer closeClient()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("metadata from %s: %w", c, err)
	}
	reqs := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			reqs[t.Name] = append(reqs[t.Name], kafka.OffsetRequest{Partition: p.ID, Timestamp: which})
		}
	}
	for _, t := range topics {
		if len(reqs[t]) == 0 {
			return nil, fmt.Errorf("topic %s does not exist on %s", t, c)
		}
	}
	res, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		return nil, fmt.Errorf("offsets from %s: %w", c, err)
	}
	out := Offsets{}
	for t, ps := range res.Topics {
		out[t] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("offset of %s/%d: %w", t, p.Partition, p.Error)
			}
			if which == kafka.FirstOffset {
				out[t][p.Partition] = p.FirstOffset
			} else {
				out[t][p.Partition] = p.LastOffset
			}
		}
	}
	return out, nil
}

// Publish writes one record with acks=all and returns when the broker has
// acknowledged it, with the time of the acknowledgement.
func Publish(ctx context.Context, c Conn, topic string, key, value []byte) (time.Time, error) {
	w := &kafka.Writer{
		Addr: kafka.TCP(c.Bootstrap...), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{},
		BatchTimeout: time.Millisecond, MaxAttempts: 5, Transport: c.transport(), AllowAutoTopicCreation: false,
	}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: key, Value: value}); err != nil {
		return time.Time{}, fmt.Errorf("publish to %s on %s: %w", topic, c, err)
	}
	return time.Now().UTC(), nil
}

// MissingTopics lists the topics absent from a broker's partition counts.
func MissingTopics(parts map[string]int, want []string) []string {
	var missing []string
	for _, t := range want {
		if parts[t] == 0 {
			missing = append(missing, t)
		}
	}
	sort.Strings(missing)
	return missing
}
