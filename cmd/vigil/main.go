// Command vigil is the Vigil runtime-security sensor: it loads
// Falco-compatible rules, watches process, file and network activity through
// an event driver and reports the events that match.
//
// See README.md for usage; `vigil --help` lists the commands and flags.
package main

import "os"

// Set at link time by `make build` (-ldflags -X).
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
