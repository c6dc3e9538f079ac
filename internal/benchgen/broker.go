package benchgen

import (
	"context"
	"path/filepath"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/events"
	"eng5np/inputs"
)

// BatchUUID is the batch of the events a Broker holds.
const BatchUUID = "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66"

// Broker is an in-process kfake broker holding n callbacks of BatchUUID over
// the sample batch's essays (3 partitions), then the batch's completion and
// result: what the capture benchmarks read.
type Broker struct {
	Cluster  *kfake.Cluster
	Topics   events.Topics
	Snapshot inputs.Snapshot // the sample batch's
	Bytes    int64           // of the callbacks' values
}

const (
	chunk      = 50_000 // callbacks generated and held at once
	partitions = 3      // of the comparison-result topic
)

// NewBroker starts the broker and produces the events; root is the
// repository root (the sample batch is examples/sample under it).
func NewBroker(root string, n int, seed uint64) (*Broker, error) {
	batch, err := inputs.Load(filepath.Join(root, "examples", "sample"), inputs.Options{})
	if err != nil {
		return nil, err
	}
	b := &Broker{Topics: events.NewTopics(events.DefaultTopicPrefix), Snapshot: batch.Snapshot()}
	var wires []string
	for _, e := range b.Snapshot.Essays() {
		wires = append(wires, e.WireID)
	}
	b.Cluster, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, b.Topics.ComparisonResult()),
		kfake.SeedTopics(1, b.Topics.Completed(), b.Topics.Result(), b.Topics.Failed()))
	if err != nil {
		return nil, err
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Bootstrap()...), Balancer: &kafka.RoundRobin{}, BatchSize: 2000, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx := context.Background()
	var last *Stream
	for done := 0; done < n; done += chunk {
		last, err = Generate(b.Topics, BatchUUID, wires, done, min(chunk, n-done), seed+uint64(done))
		if err != nil {
			b.Close()
			return nil, err
		}
		msgs := make([]kafka.Message, 0, len(last.Callbacks))
		for _, v := range last.Callbacks {
			msgs = append(msgs, kafka.Message{Topic: b.Topics.ComparisonResult(), Value: v})
			b.Bytes += int64(len(v))
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			b.Close()
			return nil, err
		}
	}
	if last != nil {
		err = w.WriteMessages(ctx, kafka.Message{Topic: b.Topics.Completed(), Value: last.Completed}, kafka.Message{Topic: b.Topics.Result(), Value: last.Result})
		if err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Bootstrap is the broker's address.
func (b *Broker) Bootstrap() []string { return b.Cluster.ListenAddrs() }

// Close stops the broker.
func (b *Broker) Close() { b.Cluster.Close() }

// StartOffsets is where a capture of everything a Broker holds begins:
// offset 0 of every partition of the consumed topics.
func StartOffsets(topics events.Topics) map[string]map[int]int64 {
	start := map[string]map[int]int64{}
	for _, t := range topics.Consumed() {
		start[t] = map[int]int64{0: 0}
	}
	for p := 1; p < partitions; p++ {
		start[topics.ComparisonResult()][p] = 0
	}
	return start
}
