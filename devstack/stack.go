// Package devstack is the other side of the wire (docs/CONTRACT.md, "Dev
// stack"): an in-process Kafka-protocol broker (kfake) on loopback TCP with
// the five topics, a content service and CJ admin API on one HTTP port, a CJ
// Assessment service and a mock LLM provider, with seeded fault injection. It
// is started by `eng5np stack up`, by execute's embedded stack and by tests;
// whoever uses it gets only its addresses.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/capture"
	"eng5np/config"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/huleedu"
)

// Options configure a stack. Zero ports pick free ones.
type Options struct {
	KafkaPort   int
	HTTPPort    int
	Partitions  int // of the comparison-result topic; default 3
	TopicPrefix string
	Seed        int64
	MockLatency time.Duration
	LateDelay   time.Duration
	Faults      fault.Set
	// GroundTruth maps essay and anchor ids to latent quality for the mock
	// judge; essays it does not list are judged by HeuristicQuality.
	GroundTruth map[string]float64
	Pricing     config.Pricing
	// DataDir, when set, persists the broker's log so it survives a
	// restart of the broker (RestartBroker) or of the whole stack.
	DataDir string
	// JWTSecret signs and checks the admin API's tokens, as the CJ
	// service's JWT_SECRET_KEY (random when empty: Stack.JWTSecret says
	// which); JWTIssuer and JWTAudience default to the services'.
	JWTSecret   string
	JWTIssuer   string
	JWTAudience string
	// Assignments are set up before the stack answers, as on a dev
	// deployment: their instructions, student prompt and rubric.
	Assignments []Assignment
	// MaxComparisons caps every batch's comparisons, as the CJ service's
	// MAX_PAIRWISE_COMPARISONS does (default 120; benchmarks lift it).
	MaxComparisons int
	Logger         *slog.Logger
	// Metrics, when set, receives the stack's metrics.
	Metrics prometheus.Registerer
}

// Stack is a running dev stack.
type Stack struct {
	// Bootstrap is the broker's host:port on 127.0.0.1.
	Bootstrap string
	// URL is the base URL of the content service and the CJ admin API.
	URL string
	// JWTSecret is the secret of the admin API's tokens.
	JWTSecret string

	opts     Options
	topics   events.Topics
	log      *slog.Logger
	content  *contentStore
	cj       *cjStore
	cjsvc    *cjService
	provider *provider
	writer   *kafka.Writer
	http     *http.Server
	metrics  *stackMetrics

	brokerMu sync.Mutex
	cluster  *kfake.Cluster

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (o *Options) defaults() {
	if o.Partitions <= 0 {
		o.Partitions = 3
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = events.DefaultTopicPrefix
	}
	if o.Pricing == nil {
		o.Pricing = config.DefaultPricing()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Faults == nil {
		o.Faults = fault.Set{}
	}
	if o.MaxComparisons <= 0 {
		o.MaxComparisons = DefaultMaxComparisons
	}
	if o.JWTIssuer == "" {
		o.JWTIssuer = huleedu.DefaultIssuer
	}
	if o.JWTAudience == "" {
		o.JWTAudience = huleedu.DefaultAudience
	}
}

// randomSecret is a dev deployment's JWT secret: 32 random bytes in hex.
func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start runs a stack until Close. The topics exist and the CJ service is
// reading them before Start returns, so a request published right after
// cannot be missed.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts.defaults()
	s := &Stack{opts: opts, topics: events.NewTopics(opts.TopicPrefix), log: opts.Logger, JWTSecret: opts.JWTSecret,
		content: newContentStore(), cj: newCJStore(), metrics: newStackMetrics(opts.Metrics)}
	if s.JWTSecret == "" {
		s.JWTSecret = randomSecret()
	}
	if err := s.seed(opts.Assignments); err != nil {
		return nil, err
	}
	if err := s.startBroker(opts.KafkaPort); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.HTTPPort)))
	if err != nil {
		s.closeBroker()
		return nil, fmt.Errorf("content/CJ HTTP port %d: %w (choose another with --http-port)", opts.HTTPPort, err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.writer = &kafka.Writer{
		Addr:         kafka.TCP(s.Bootstrap),
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    500,
	}
	s.provider = &provider{
		seed: opts.Seed, latency: opts.MockLatency, lateDelay: opts.LateDelay, faults: opts.Faults, pricing: opts.Pricing,
		judge: &judge{seed: opts.Seed, groundTruth: opts.GroundTruth, anchorLabel: s.cj.labelOf}, topic: s.topics.ComparisonResult(),
		out: s.writer, log: s.log, metrics: s.metrics, ctx: runCtx,
	}
	s.cjsvc = &cjService{
		seed: opts.Seed, faults: opts.Faults, topics: s.topics, content: s.content, store: s.cj, maxComparisons: opts.MaxComparisons,
		provider: s.provider, out: s.writer, log: s.log, metrics: s.metrics,
		requests: make(chan kafka.Message, 64), callbacks: make(chan kafka.Message, 4096),
		batches: map[string]*cjBatch{}, byCorrelation: map[string]*cjBatch{},
	}
	if err := s.startReaders(ctx, runCtx); err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.cjsvc.run(runCtx)
	}()
	s.log.Info("dev stack started", "bootstrap", s.Bootstrap, "url", s.URL, "seed", opts.Seed, "faults", opts.Faults.String())
	return s, nil
}

func (s *Stack) startBroker(port int) error {
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(s.opts.Partitions), s.topics.ComparisonResult()),
		kfake.SeedTopics(1, s.topics.Requested(), s.topics.Completed(), s.topics.Result(), s.topics.Failed()),
	}
	if port > 0 {
		kopts = append(kopts, kfake.Ports(port))
	}
	if s.opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(s.opts.DataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return fmt.Errorf("start the broker on port %d: %w (choose another with --kafka-port)", port, err)
	}
	s.brokerMu.Lock()
	s.cluster = c
	s.Bootstrap = c.ListenAddrs()[0]
	s.brokerMu.Unlock()
	return nil
}

func (s *Stack) closeBroker() {
	s.brokerMu.Lock()
	defer s.brokerMu.Unlock()
	if s.cluster != nil {
		s.cluster.Close()
		s.cluster = nil
	}
}

// startReaders records the end of the request and callback topics and starts
// reading there, before Start returns.
func (s *Stack) startReaders(ctx, runCtx context.Context) error {
	conn := capture.Conn{Bootstrap: []string{s.Bootstrap}}
	for _, t := range []struct {
		topic string
		ch    chan kafka.Message
	}{{s.topics.Requested(), s.cjsvc.requests}, {s.topics.ComparisonResult(), s.cjsvc.callbacks}} {
		ends, err := capture.EndOffsets(ctx, conn, []string{t.topic})
		if err != nil {
			return err
		}
		opts := capture.FollowOptions{
			MaxBytes: 16 << 20,
			OnError: func(topic string, partition int, msg string) {
				s.log.Warn("stack reader", "topic", topic, "partition", partition, "error", msg)
			},
		}
		ch := t.ch
		deliver := func(m kafka.Message) bool {
			select {
			case ch <- m:
				return true
			case <-runCtx.Done():
				return false
			}
		}
		follow := func(from capture.Offsets) error {
			done, err := capture.Follow(runCtx, conn, from, opts, deliver)
			if err != nil {
				return err
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); <-done }()
			return nil
		}
		if err := follow(ends); err != nil {
			return err
		}
		// Like the services' consumer groups, the stack reads partitions
		// added to its topics while it runs.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			capture.Discover(runCtx, conn, ends, time.Second, func(fresh capture.Offsets) {
				s.log.Info("stack reader: partitions added", "offsets", fresh)
				if err := follow(fresh); err != nil {
					s.log.Warn("stack reader: cannot read the added partitions", "error", err)
				}
			})
		}()
	}
	return nil
}

// RestartBroker stops the broker, waits down, and starts it again on the same
// port. With Options.DataDir the topics keep their records; the services'
// clients reconnect by themselves.
func (s *Stack) RestartBroker(down time.Duration) error {
	if s.opts.DataDir == "" {
		return errors.New("restarting the broker needs Options.DataDir, or its records are lost")
	}
	_, portStr, _ := net.SplitHostPort(s.Bootstrap)
	port, _ := strconv.Atoi(portStr)
	s.closeBroker()
	time.Sleep(down)
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.startBroker(port); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// StopBroker stops the broker without restarting it (for tests of an
// unreachable broker).
func (s *Stack) StopBroker() { s.closeBroker() }

// Close stops everything; it is safe to call more than once.
func (s *Stack) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	// The CJ loop submits provider jobs, so it must have stopped before the
	// provider's jobs are waited for.
	s.wg.Wait()
	if s.provider != nil {
		s.provider.wait()
	}
	if s.writer != nil {
		_ = s.writer.Close()
	}
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.http.Shutdown(ctx)
		cancel()
	}
	s.closeBroker()
	return nil
}
