package capture

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// FollowOptions tune Follow.
type FollowOptions struct {
	// MaxBytes bounds one fetch (default 2 MiB: a couple of thousand
	// callbacks, while several readers' buffers stay small).
	MaxBytes int
	// OnError hears every error a reader reports; it retries by itself.
	OnError func(topic string, partition int, err string)
}

// Follow reads every partition of start from its offset until ctx ends,
// handing each message to deliver in partition order; deliver returns false
// to stop that partition's reader (ctx ending). Follow returns once every
// reader is positioned; the returned channel closes when all have returned.
//
// Every reader is a plain partition reader: no consumer group and no
// commits, so positions come only from start (eng5np keeps its own offset
// record).
func Follow(ctx context.Context, c Conn, start Offsets, opts FollowOptions, deliver func(kafka.Message) bool) (<-chan struct{}, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 2 << 20
	}
	report := opts.OnError
	if report == nil {
		report = func(string, int, string) {}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	var readers []*kafka.Reader
	for topic, parts := range start {
		for p, off := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: c.Bootstrap, Topic: topic, Partition: p, Dialer: c.dialer(),
				// kafka-go gives up reading at MaxWait and asks the broker to
				// answer before it: a quarter earlier below 1s, 1s earlier
				// from there. At 100ms (and 500ms) a loaded machine missed
				// the margin and idle partitions reported i/o timeouts; 2s
				// leaves a second. A fetch returns as soon as a record
				// arrives, so the longer poll costs no latency.
				MinBytes: 1, MaxBytes: opts.MaxBytes, MaxWait: 2 * time.Second, QueueCapacity: 1000,
				ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
				ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
					report(topic, p, fmt.Sprintf(format, args...))
				}),
			})
			if err := r.SetOffset(off); err != nil {
				r.Close()
				for _, started := range readers {
					go started.Close()
				}
				return nil, fmt.Errorf("start reading %s/%d at %d: %w", topic, p, off, err)
			}
			readers = append(readers, r)
		}
	}
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Close waits for a fetch in flight (up to one poll); nothing
			// depends on it (no group, no commits), so it runs apart.
			defer func() { go r.Close() }()
			cfg := r.Config()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					report(cfg.Topic, cfg.Partition, err.Error())
					select {
					case <-time.After(200 * time.Millisecond):
					case <-ctx.Done():
						return
					}
					continue
				}
				if !deliver(m) {
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done, nil
}

// Discover checks the topics of known every period for partitions that
// known lacks and hands each new set to add, with each partition's first
// offset (a partition created while a reader runs holds only records
// written since), until ctx ends.
func Discover(ctx context.Context, c Conn, known Offsets, every time.Duration, add func(Offsets)) {
	seen := known.Clone()
	topics := make([]string, 0, len(seen))
	for t := range seen {
		topics = append(topics, t)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		first, err := StartOffsets(ctx, c, topics)
		if err != nil {
			continue // the readers report broker trouble
		}
		fresh := Offsets{}
		for t, ps := range first {
			for p, off := range ps {
				if _, ok := seen[t][p]; ok {
					continue
				}
				if fresh[t] == nil {
					fresh[t] = map[int]int64{}
				}
				fresh[t][p], seen[t][p] = off, off
			}
		}
		if len(fresh) > 0 {
			add(fresh)
		}
	}
}
