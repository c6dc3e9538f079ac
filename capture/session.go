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

	groups   chan []journal.Record
	cancel   context.CancelFunc
	readers  <-chan struct{}
	stopOnce sync.Once
	stopped  chan struct{} // closed by Stop: the appender takes nothing more
	appendMu sync.Mutex
	errAppnd error

	mu   sync.Mutex
	next Offsets // the offset after the last journaled record

	brokerErrors atomic.Int64
	lastErr      atomic.Value // string
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
	s.groups = make(chan []journal.Record, 2)
	s.stopped = make(chan struct{})
	readCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	msgs := make(chan journal.Record, 4*maxGroup)
	readers, err := Follow(readCtx, s.Conn, s.From, FollowOptions{OnError: s.readerError}, func(m kafka.Message) bool {
		select {
		case msgs <- s.record(m):
			return true
		case <-readCtx.Done():
			return false
		}
	})
	if err != nil {
		cancel()
		return err
	}
	s.readers = readers
	go s.append(msgs)
	return nil
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
func (s *Session) readerError(topic string, partition int, msg string) {
	if s.ended.Load() {
		return
	}
	s.brokerErrors.Add(1)
	s.lastErr.Store(msg)
	s.Log.Warn("kafka_reader_error", "event", "kafka_reader_error", "topic", topic, "partition", partition, "error", msg)
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
