// Command eng5np runs comparative-judgement essay batches through Kafka into
// schema-valid, hash-verified artefacts. See README.md.
package main

import (
	"os"
	"runtime/debug"

	"eng5np/cli"
)

func main() {
	// A capture allocates briskly but keeps little: its live heap is mostly
	// the fold's compact state. Collecting at 50% growth instead of 100%
	// keeps the peak near 1.5× that state for about 1% more CPU (a million
	// callbacks: peak RSS about 230 MB instead of 300). GOGC, when set, wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
