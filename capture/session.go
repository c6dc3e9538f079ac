package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"eng5np/journal"
)

// maxGroup bounds how many records one journal append (one fsync) takes.
const maxGroup = 2048

// Session reads the consumed topics from given offsets into the journal and
// yields every group of records once it is durably there. It never calls
// back into its owner: the owner receives from Groups and decides.
type Session struct {
	Conn    Conn
	From    Offsets // where to start reading, per topic and partition
	Journal *journal.Writer
	Capture int // session number recorded on every record
	Log     *slog.Logger
	// Discover is how often the topics are checked for partitions added
	// while the session runs (default 10s; negative: never). A new
	// partition is read from its first record.
	Discover time.Duration

	groups   chan []journal.Record
	cancel   context.CancelFunc
	readCtx  context.Context
	deliver  func(kafka.Message) bool
	stopOnce sync.Once
	stopped  chan struct{} // closed by Stop: the appender takes nothing more
	appendMu sync.Mutex
	errAppnd error

	mu   sync.Mutex
	next Offsets // the offset after the last journaled record

	brokerErrors atomic.Int64
	lastErr      atomic.Value // string
	// failing are the partitions whose reader reported an error and has
	// not delivered a record since: each logs one warning when it starts
	// failing and one line when it recovers, not one per retry.
	failMu  sync.Mutex
	failing map[partitionKey]bool
	// ended drops reader error reports once the session has stopped: readers
	// close in the background and their last words are noise.
	ended atomic.Bool
}

// Start positions a reader on every partition and starts journaling. Groups
// then yields each journaled group, in journal order.
func (s *Session) Start(ctx context.Context) error {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.next = s.From.Clone()
	s.failing = map[partitionKey]bool{}
	s.groups = make(chan []journal.Record, 2)
	s.stopped = make(chan struct{})
	readCtx, cancel := context.WithCancel(ctx)
	s.readCtx, s.cancel = readCtx, cancel
	msgs := make(chan journal.Record, 4*maxGroup)
	s.deliver = func(m kafka.Message) bool {
		s.recovered(m.Topic, m.Partition)
		select {
		case msgs <- s.record(m):
			return true
		case <-readCtx.Done():
			return false
		}
	}
	if _, err := Follow(readCtx, s.Conn, s.From, FollowOptions{OnError: s.readerError}, s.deliver); err != nil {
		cancel()
		return err
	}
	go s.append(msgs)
	if s.Discover >= 0 {
		every := s.Discover
		if every == 0 {
			every = 10 * time.Second
		}
		go Discover(readCtx, s.Conn, s.From, every, func(fresh Offsets) { _, _ = s.AddPartitions(fresh) })
	}
	return nil
}

type partitionKey struct {
	topic     string
	partition int
}

// AddPartitions starts reading the partitions of offs that the session
// does not read yet, each from its offset: partitions added to a topic
// while the run captures. It returns how many it added.
func (s *Session) AddPartitions(offs Offsets) (int, error) {
	s.mu.Lock()
	add := Offsets{}
	n := 0
	for t, ps := range offs {
		if _, known := s.next[t]; !known {
			continue // not a topic of this session
		}
		for p, off := range ps {
			if _, ok := s.next[t][p]; ok {
				continue
			}
			if add[t] == nil {
				add[t] = map[int]int64{}
			}
			add[t][p], s.next[t][p] = off, off
			n++
		}
	}
	s.mu.Unlock()
	if n == 0 || s.readCtx.Err() != nil {
		return 0, nil
	}
	for t, ps := range add {
		for p, off := range ps {
			s.Log.Warn("partition_added", "event", "partition_added", "topic", t, "partition", p, "from_offset", off)
		}
	}
	if _, err := Follow(s.readCtx, s.Conn, add, FollowOptions{OnError: s.readerError}, s.deliver); err != nil {
		return 0, err
	}
	return n, nil
}

// append journals whatever the readers deliver, in groups (one fsync each),
// and hands each group on once it is durable. It stops at Stop or on the
// first append error, and closes Groups.
func (s *Session) append(msgs <-chan journal.Record) {
	defer close(s.groups)
	for {
		select {
		case <-s.stopped:
			return
		default:
		}
		var first journal.Record
		select {
		case <-s.stopped:
			return
		case first = <-msgs:
		}
		group := make([]journal.Record, 0, 64)
		group = append(group, first)
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-msgs:
				group = append(group, r)
			default:
				break drain
			}
		}
		if err := s.Journal.Append(group); err != nil {
			s.appendMu.Lock()
			s.errAppnd = fmt.Errorf("journal append: %w", err)
			s.appendMu.Unlock()
			return
		}
		s.mu.Lock()
		for _, r := range group {
			if r.Offset+1 > s.next[r.Topic][r.Partition] {
				s.next[r.Topic][r.Partition] = r.Offset + 1
			}
		}
		s.mu.Unlock()
		// The group is durable: it must reach the owner, even when Stop
		// comes now (Stop collects what is still in flight).
		s.groups <- group
	}
}

// Groups yields each group of records after it is durably journaled. It is
// closed when the session stops or the journal cannot be appended to (then
// Err says why).
func (s *Session) Groups() <-chan []journal.Record { return s.groups }

// Err is the journal error that ended the session, if any.
func (s *Session) Err() error {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	return s.errAppnd
}

// Stop ends reading and returns every group that was journaled but not yet
// received from Groups, so that the journal and the owner's state never
// disagree. Messages read but not yet journaled are not lost: they lie after
// Next, and a resume reads them again.
func (s *Session) Stop() ([][]journal.Record, error) {
	s.stopOnce.Do(func() {
		close(s.stopped)
		s.cancel()
		s.ended.Store(true)
	})
	var rest [][]journal.Record
	for g := range s.groups {
		rest = append(rest, g)
	}
	return rest, s.Err()
}

// Next returns, per topic and partition, the offset after the last record
// journaled (or the start offset): where a resume continues.
func (s *Session) Next() Offsets {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		return s.From.Clone()
	}
	return s.next.Clone()
}

// BrokerErrors counts the errors the readers reported, and the last one.
func (s *Session) BrokerErrors() (int64, string) {
	last, _ := s.lastErr.Load().(string)
	return s.brokerErrors.Load(), last
}

// readerError records an error a reader reported while the session runs.
// Readers retry by themselves, many times a second while a broker is away:
// each partition logs the first error of an outage only.
func (s *Session) readerError(topic string, partition int, msg string) {
	if s.ended.Load() {
		return
	}
	s.brokerErrors.Add(1)
	s.lastErr.Store(msg)
	k := partitionKey{topic, partition}
	s.failMu.Lock()
	was := s.failing[k]
	s.failing[k] = true
	s.failMu.Unlock()
	if !was {
		s.Log.Warn("kafka_reader_error", "event", "kafka_reader_error", "topic", topic, "partition", partition, "error", msg,
			"note", "the reader retries; further errors of this partition are counted, not logged, until it reads again")
	}
}

// recovered notes that a partition delivered a record again.
func (s *Session) recovered(topic string, partition int) {
	k := partitionKey{topic, partition}
	s.failMu.Lock()
	was := s.failing[k]
	delete(s.failing, k)
	s.failMu.Unlock()
	if was {
		s.Log.Info("kafka_reader_recovered", "event", "kafka_reader_recovered", "topic", topic, "partition", partition)
	}
}

// Failing is how many partitions' readers are failing now (an error, and no
// record since).
func (s *Session) Failing() int {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return len(s.failing)
}

// record turns a message into a journal record; a value that is not a JSON
// document is quarantined at once.
func (s *Session) record(m kafka.Message) journal.Record {
	r := journal.NewRecord(m.Topic, m.Partition, m.Offset, m.Key, m.Value, m.Time, time.Now(), s.Capture)
	switch {
	case r.IsJSON():
	case !utf8.Valid(m.Value):
		r.Quarantined = "not UTF-8"
	case !json.Valid(m.Value):
		r.Quarantined = "not JSON"
	}
	return r
}
