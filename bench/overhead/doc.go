// Command overhead measures the slowdown that Vigil's drivers (ebpf,
// fanotify, procscan) and, for comparison, Debian's auditd with equivalent
// rules cause on a few workloads (`make bench-overhead`).
//
// For each workload it runs N rounds. A round is one run without any
// sensor (the baseline) and one run with each configuration: a fresh
// `vigil run --driver NAME`, or a fresh auditd with rules for execs, opens
// under /etc and connects, started and ready before the run and stopped
// after it. The order within a round rotates by one place per round, so
// that drift in the machine's load hits every side alike. It prints per
// workload and configuration the median wall times, the median and
// extremes of the per-round with/baseline ratio, the drops, the events the
// sensor handled, its CPU use and its peak RSS, next to the targets of
// DESIGN.md and issue 4. Then it measures procscan's own CPU among many
// idle processes, and each vigil's RSS and descriptors before and after
// many short-lived processes and file opens.
//
// procscan runs at -procscan-interval (100 ms): vigil has no setting for
// its poll interval, so the harness builds a second vigil with
// procscan.DefaultPollInterval changed.
//
// auditd's log goes to the scratch directory; after each auditd run the
// harness deletes the rules and loads "-a never,task" (it stays loaded),
// so that tasks started later do not keep the audit slow path; at exit it
// restores the kernel's audit enabled flag.
//
// It needs root, gcc, make and auditd, and git and a Go toolchain to
// build Vigil from the committed HEAD (uncommitted edits are not
// measured), or -vigil PATH. Everything it creates lives in one temporary
// directory that is removed at exit, and no sensor it started outlives it.
//
//	go run ./bench/overhead [-rounds 7] [-drivers ebpf,fanotify,procscan,auditd] [-workloads open,exec,connect,build] [-json]
package main
