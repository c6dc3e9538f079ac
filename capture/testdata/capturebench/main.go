// Command capturebench measures the capture path out of process, so that its
// peak RSS is the runner's alone and kcat can read the same topics:
//
//	capturebench serve -n 1000000      # broker with pre-produced events; prints READY <bootstrap> <batch>
//	capturebench capture -bootstrap B -batch U -n N
//
// capture/testdata/bench_capture.sh drives both and times kcat. Run from the
// repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/inputs"
	"eng5np/internal/benchgen"
	"eng5np/journal"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: capturebench serve|capture [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "capture":
		err = captureRun(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "callbacks to pre-produce")
	_ = fs.Parse(args)
	br, err := benchgen.NewBroker(".", *n, 1)
	if err != nil {
		return err
	}
	defer br.Close()
	fmt.Printf("READY %s %s\n", br.Bootstrap()[0], benchgen.BatchUUID)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

func captureRun(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "broker")
	n := fs.Int("n", 1_000_000, "callbacks to expect")
	dir := fs.String("dir", os.TempDir(), "where to put the journal")
	prof := fs.String("cpuprofile", "", "write a CPU profile of the capture here")
	_ = fs.Parse(args)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	batch, err := inputs.Load("examples/sample", inputs.Options{})
	if err != nil {
		return err
	}
	snap := batch.Snapshot()
	topics := events.NewTopics(events.DefaultTopicPrefix)
	conn := capture.Conn{Bootstrap: []string{*bootstrap}}
	start := benchgen.StartOffsets(topics)
	path := filepath.Join(*dir, "capturebench-journal.jsonl")
	os.Remove(path)
	defer os.Remove(path)
	jo, err := journal.Open(path, false)
	if err != nil {
		return err
	}
	defer jo.Writer.Close()
	h := hydrator.New(hydrator.Batch{Snapshot: snap, BatchUUID: benchgen.BatchUUID, Topics: topics})
	applied := 0
	// As eng5np's main does: collect at 50% heap growth (see main.go).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	s := &capture.Session{Conn: conn, From: start, Journal: jo.Writer, Capture: 1}
	t0 := time.Now()
	if err := s.Start(context.Background()); err != nil {
		return err
	}
	for recs := range s.Groups() {
		h.ApplyAll(recs)
		applied += len(recs)
		if c := h.Completion(); applied == *n+2 && c.Completed && c.HasResult {
			break
		}
	}
	if _, err := s.Stop(); err != nil {
		return err
	}
	el := time.Since(t0)
	st := h.Stats()
	fi, _ := os.Stat(path)
	fmt.Printf("captured %d events (%d comparisons) in %.2fs: %.0f events/s; journal %d MB; peak RSS %s\n",
		applied, st.Comparisons, el.Seconds(), float64(applied)/el.Seconds(), fi.Size()>>20, peakRSS())
	return nil
}

// peakRSS reads the process's high-water resident set size.
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &kb)
			return fmt.Sprintf("%d MB", kb>>10)
		}
	}
	return "unknown"
}
