package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"eng5np/journal"
)

// maxGroup bounds how many records one journal append (one fsync) takes.
const maxGroup = 2048

// Session reads the consumed topics from given offsets into the journal.
type Session struct {
	Conn    Conn
	Start   Offsets // where to start reading, per topic and partition
	Journal *journal.Writer
	Capture int // session number recorded on every record
	Log     *slog.Logger

	// Apply is called, in journal order, with each group of records after
	// the group is durably in the journal. Returning true ends the session
	// (no further record is appended).
	Apply func(recs []journal.Record) (stop bool)
	// Tick is called every TickEvery (and after each group); returning true
	// ends the session. It drives deadlines and artefact writes.
	Tick      func(now time.Time) (stop bool)
	TickEvery time.Duration

	next         Offsets // the offset after the last journaled record
	mu           sync.Mutex
	brokerErrors atomic.Int64
	lastErr      atomic.Value // string

	// Readers close in the background after Run returns; from then on
	// their error reports are dropped, so nothing is logged or counted for
	// a session that has ended.
	reportMu sync.Mutex
	ended    bool
}

// readerError records an error a Kafka reader reported while the session runs.
func (s *Session) readerError(topic string, partition int, msg string) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	if s.ended {
		return
	}
	s.brokerErrors.Add(1)
	s.lastErr.Store(msg)
	s.Log.Warn("kafka_reader_error", "topic", topic, "partition", partition, "error", msg)
}

// Next returns, per topic and partition, the offset after the last record
// journaled (or the start offset): where a resume continues.
func (s *Session) Next() Offsets {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		return s.Start.Clone()
	}
	return s.next.Clone()
}

// BrokerErrors counts connection errors the readers reported, and the last.
func (s *Session) BrokerErrors() (int64, string) {
	last, _ := s.lastErr.Load().(string)
	return s.brokerErrors.Load(), last
}

// Run captures until Apply or Tick says stop, or ctx ends. Messages read
// but not yet journaled when it stops are not lost: they are after Next and
// a resume reads them again.
func (s *Session) Run(ctx context.Context) error {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.TickEvery <= 0 {
		s.TickEvery = 250 * time.Millisecond
	}
	// A capture allocates briskly but keeps little: its live heap is mostly
	// the fold's compact state. Collecting at 50% growth instead of 100%
	// keeps the peak near 1.5× that state for about 1% more CPU (a million
	// callbacks: peak RSS about 230 MB instead of 300). GOGC, when set, wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	s.next = s.Start.Clone()
	s.reportMu.Lock()
	s.ended = false
	s.reportMu.Unlock()
	// Runs last, after every reader goroutine has returned.
	defer func() {
		s.reportMu.Lock()
		s.ended = true
		s.reportMu.Unlock()
	}()
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan journal.Record, 4*maxGroup)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for topic, parts := range s.Start {
		for p, off := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: s.Conn.Bootstrap, Topic: topic, Partition: p, Dialer: s.Conn.dialer(),
				// 2 MiB fetches keep six readers' buffers small while a fetch
				// still carries a couple of thousand callbacks.
				// kafka-go gives up reading at MaxWait and asks the broker to
				// answer before it: a quarter earlier below 1s, 1s earlier
				// from there. At 100ms (and 500ms) a loaded machine missed
				// the margin and idle partitions reported i/o timeouts; 2s
				// leaves a second. A fetch returns as soon as a record
				// arrives, so the longer poll costs no latency.
				MinBytes: 1, MaxBytes: 2 << 20, MaxWait: 2 * time.Second, QueueCapacity: 1000,
				ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
				ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
					s.readerError(topic, p, fmt.Sprintf(format, args...))
				}),
			})
			if err := r.SetOffset(off); err != nil {
				r.Close()
				return fmt.Errorf("start reading %s/%d at %d: %w", topic, p, off, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Close waits for a fetch in flight (up to one poll); nothing
				// depends on it (no group, no commits), so it runs apart.
				defer func() { go r.Close() }()
				for {
					m, err := r.ReadMessage(readCtx)
					if err != nil {
						if readCtx.Err() != nil {
							return
						}
						s.brokerErrors.Add(1)
						s.lastErr.Store(err.Error())
						s.Log.Warn("kafka_read_error", "topic", topic, "partition", p, "error", err)
						select {
						case <-time.After(200 * time.Millisecond):
						case <-readCtx.Done():
							return
						}
						continue
					}
					rec := s.record(m)
					select {
					case msgs <- rec:
					case <-readCtx.Done():
						return
					}
				}
			}()
		}
	}

	// The appender journals groups while the loop below folds the previous
	// one: the fsync and the fold overlap. Every group the appender has
	// journaled is folded, whatever ends the session, so the journal and the
	// state never disagree.
	appended := make(chan []journal.Record, 2)
	stopAppend := make(chan struct{})
	var appendErr error
	go func() {
		defer close(appended)
		for {
			var first journal.Record
			select {
			case <-stopAppend:
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
				appendErr = fmt.Errorf("journal append: %w", err)
				return
			}
			s.mu.Lock()
			for _, r := range group {
				if r.Offset+1 > s.next[r.Topic][r.Partition] {
					s.next[r.Topic][r.Partition] = r.Offset + 1
				}
			}
			s.mu.Unlock()
			appended <- group
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopAppend)
			cancel()
		}
	}
	// finish folds whatever the appender journaled before it stopped.
	finish := func() error {
		stop()
		for group := range appended {
			if s.Apply != nil {
				s.Apply(group)
			}
		}
		return appendErr
	}

	ticker := time.NewTicker(s.TickEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := finish(); err != nil {
				return err
			}
			return ctx.Err()
		case now := <-ticker.C:
			if s.Tick != nil && s.Tick(now) {
				return finish()
			}
		case group, ok := <-appended:
			if !ok {
				return finish()
			}
			if s.Apply != nil && s.Apply(group) {
				return finish()
			}
			if s.Tick != nil && s.Tick(time.Now()) {
				return finish()
			}
		}
	}
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

// ErrStopped is returned by helpers when a session ended by request.
var ErrStopped = errors.New("capture stopped")
