package capture

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/journal"
)

const topic = "t.events"

func cluster(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func connFor(t *testing.T, addr, mechanism, user, pass string) Conn {
	t.Helper()
	c, err := Settings{Bootstrap: []string{addr}, ClientID: "test", SASLMechanism: mechanism, SASLUsername: user, SASLPassword: pass}.Conn()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip publishes one record and captures it back into a journal.
func roundTrip(t *testing.T, c Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	parts, err := CheckBroker(ctx, c, 5*time.Second)
	if err != nil || parts[topic] != 2 {
		t.Fatalf("check broker: %v %v", parts, err)
	}
	start, err := EndOffsets(ctx, c, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, c, topic, []byte("key"), []byte(`{"hello":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, c, topic, []byte("key"), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	jo, err := journal.Open(filepath.Join(t.TempDir(), "j.jsonl"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer jo.Writer.Close()
	var got []journal.Record
	s := &Session{Conn: c, From: start, Journal: jo.Writer, Capture: 1}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for g := range s.Groups() {
		if got = append(got, g...); len(got) >= 2 {
			break
		}
	}
	rest, err := s.Stop()
	if err != nil || len(rest) != 0 {
		t.Fatalf("stop: %v, %d groups left", err, len(rest))
	}
	if len(got) != 2 || string(got[0].Bytes()) != `{"hello":1}` || got[0].Quarantined != "" || got[1].Quarantined != "not JSON" || got[0].Seq != 1 {
		t.Fatalf("captured %+v", got)
	}
	next := s.Next()[topic]
	if next[got[0].Partition] != got[1].Offset+1 {
		t.Errorf("next offsets %v after %+v", next, got)
	}
}

func TestPlaintextRoundTrip(t *testing.T) {
	roundTrip(t, connFor(t, cluster(t), "", "", ""))
}

func TestSASLPlainAndSCRAM(t *testing.T) {
	addr := cluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "runner", "s3cret-plain"), kfake.Superuser("SCRAM-SHA-256", "scrammer", "s3cret-scram"))
	t.Run("plain", func(t *testing.T) { roundTrip(t, connFor(t, addr, "plain", "runner", "s3cret-plain")) })
	t.Run("scram-sha-256", func(t *testing.T) { roundTrip(t, connFor(t, addr, "scram-sha-256", "scrammer", "s3cret-scram")) })
	t.Run("wrong password", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := CheckBroker(ctx, connFor(t, addr, "plain", "runner", "wrong"), 5*time.Second)
		if err == nil {
			t.Fatal("a wrong password was accepted")
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("the error shows the password: %v", err)
		}
	})
}

func TestCheckBrokerNamesTheAddress(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err := CheckBroker(context.Background(), Conn{Bootstrap: []string{addr}}, 5*time.Second)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want the address named", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if _, err := CheckBroker(context.Background(), Conn{}, time.Second); err == nil || !strings.Contains(err.Error(), "bootstrap") {
		t.Errorf("no bootstrap: %v", err)
	}
}
