//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench-overhead: Linux only (it measures vigil's Linux drivers and auditd)")
	os.Exit(2)
}
