package capture

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/journal"
)

// session starts a session on the cluster's topic from its end, journaling
// into a temporary journal, with log written to buf.
func session(t *testing.T, c Conn, discover time.Duration, buf *bytes.Buffer) *Session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	start, err := EndOffsets(ctx, c, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	jo, err := journal.Open(filepath.Join(t.TempDir(), "j.jsonl"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jo.Writer.Close() })
	s := &Session{Conn: c, From: start, Journal: jo.Writer, Capture: 1, Discover: discover,
		Log: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = s.Stop() })
	return s
}

// Partitions added to a topic while a session runs are found and read from
// their first record.
func TestSessionDiscoversNewPartitions(t *testing.T) {
	t.Parallel()
	addr := cluster(t)
	c := connFor(t, addr, "", "", "")
	var buf bytes.Buffer
	s := session(t, c, 100*time.Millisecond, &buf)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(addr)}
	if _, err := cl.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 4}}}); err != nil {
		t.Fatal(err)
	}
	conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteMessages(kafka.Message{Value: []byte(`{"in":"the new partition"}`)}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case g := <-s.Groups():
		if len(g) != 1 || g[0].Partition != 3 || g[0].Offset != 0 {
			t.Errorf("read %+v", g)
		}
	case <-ctx.Done():
		t.Fatal("the record in the new partition was never read")
	}
	if next := s.Next(); next[topic][3] != 1 {
		t.Errorf("next %v", next)
	}
	if !strings.Contains(buf.String(), `"event":"partition_added"`) {
		t.Errorf("no partition_added log line:\n%s", buf.String())
	}
}

// While the broker is away, each partition logs its first error only;
// Failing counts the partitions that cannot be read.
func TestBrokerOutageLogsOncePerPartition(t *testing.T) {
	t.Parallel()
	cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic))
	if err != nil {
		t.Fatal(err)
	}
	c := connFor(t, cl.ListenAddrs()[0], "", "", "")
	var buf bytes.Buffer
	s := session(t, c, -1, &buf)
	cl.Close()
	deadline := time.Now().Add(20 * time.Second)
	for s.Failing() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d partitions failing after the broker went away", s.Failing())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the readers retry several times a second
	errs, _ := s.BrokerErrors()
	if n := strings.Count(buf.String(), `"event":"kafka_reader_error"`); n != 2 || errs <= 2 {
		t.Errorf("%d warnings for %d errors on 2 partitions; want one per partition:\n%s", n, errs, buf.String())
	}
}
