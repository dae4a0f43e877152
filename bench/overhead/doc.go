// Command overhead measures the slowdown that `vigil run --driver ebpf`
// causes on a few workloads (`make bench-overhead`).
//
// For each workload it runs N interleaved rounds. A round is one run
// without Vigil and one run with a fresh `vigil run` started and attached
// (its "driver started" line seen) before the run and stopped after it;
// the order within a round alternates so that drift in the machine's load
// hits both sides alike. It prints per workload the median wall times, the
// median and extremes of the per-round with/without ratio, the kernel drop
// counter of Vigil's eBPF driver, the events Vigil handled, its CPU use
// and its peak RSS, next to the targets of DESIGN.md.
//
// It needs root, gcc and make, and git and a Go toolchain to build Vigil
// from the committed HEAD (uncommitted edits are not measured), or -vigil
// PATH. Everything it creates lives in one temporary directory
// that is removed at exit, and no Vigil it started outlives it.
//
//	go run ./bench/overhead [-rounds 7] [-workloads open,exec,connect,build] [-json]
package main
