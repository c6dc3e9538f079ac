// Command eng5np runs comparative-judgement essay batches through Kafka into
// schema-valid, hash-verified artefacts. See README.md.
package main

import (
	"os"

	"eng5np/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
