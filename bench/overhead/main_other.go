//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench-overhead: Linux only (it measures vigil's eBPF driver)")
	os.Exit(2)
}
