package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// bench is the harness's configuration and scratch directory.
type bench struct {
	dir       string
	vigil     string
	vigilArgs []string
	nice      int
	cpus      int
	bpfStats  bool
	settle    time.Duration
	iters     struct{ open, exec, connect, build int }
	// vigilPID is the harness's own vigil while one runs.
	vigilPID int
}

func (b *bench) path(name string) string { return filepath.Join(b.dir, name) }

// wrap runs argv under nice(1) when -nice is set.
func (b *bench) wrap(argv []string) []string {
	if b.nice == 0 {
		return argv
	}
	return append([]string{"nice", "-n", strconv.Itoa(b.nice)}, argv...)
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		b         bench
		rounds    = flag.Int("rounds", 7, "interleaved rounds (one run without and one with vigil) per workload")
		names     = flag.String("workloads", "open,exec,connect,build", "comma-separated workloads to run")
		vigilBin  = flag.String("vigil", "", "vigil binary to measure (default: build ./cmd/vigil of the committed HEAD into the scratch directory)")
		vigilArgs = flag.String("vigil-args", "run --driver ebpf -o webserver.enabled=false", "arguments for vigil (space-separated); the web server is off so that the harness neither takes nor needs port 8765 that concurrent vigil instances use")
		scale     = flag.Float64("scale", 1, "multiply every iteration count (e.g. 0.2 for a quick try)")
		idle      = flag.Duration("idle", 3*time.Second, "run vigil this long with no workload first, to measure the machine's background event rate (0: skip)")
		jsonOut   = flag.Bool("json", false, "print the result as JSON on stdout instead of the table")
		bpfStats  = flag.Bool("bpf-stats", false, "enable the kernel's BPF run-time statistics and report the time vigil's programs take per iteration (a diagnostic: the statistics themselves add a little overhead)")
	)
	flag.IntVar(&b.iters.open, "open-iters", 800000, "open/read/close iterations per open run")
	flag.IntVar(&b.iters.exec, "exec-iters", 2000, "fork+exec iterations per exec run")
	flag.IntVar(&b.iters.connect, "connect-iters", 60000, "connections per connect run")
	flag.IntVar(&b.iters.build, "build-reps", 3, "builds of the C project per build run")
	flag.IntVar(&b.nice, "nice", 0, "run the workloads and vigil under nice -n N (e.g. -5 to shield them from other load; both sides alike)")
	flag.DurationVar(&b.settle, "settle", 300*time.Millisecond, "wait after vigil's \"driver started\" before a run, so its start-up (process table seeding) is over")
	flag.Parse()
	b.vigilArgs = strings.Fields(*vigilArgs)
	b.bpfStats = *bpfStats
	b.cpus = runtime.NumCPU()
	for _, n := range []*int{&b.iters.open, &b.iters.exec, &b.iters.connect, &b.iters.build} {
		*n = max(1, int(float64(*n)**scale))
	}

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench-overhead: must run as root (vigil's eBPF driver needs it)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()

	dir, err := os.MkdirTemp("", "vigil-bench-overhead-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-overhead:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	b.dir = dir

	if *bpfStats {
		// Enabled while the returned descriptor is open; the kernel turns
		// the statistics off again when the harness exits, however it exits.
		closer, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-overhead: enabling BPF statistics:", err)
			return 1
		}
		defer closer.Close()
	}
	rep, err := b.measure(ctx, *rounds, *names, *vigilBin, *idle)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-overhead:", err)
		return 1
	}
	if *jsonOut {
		if err := rep.writeJSON(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench-overhead:", err)
			return 1
		}
	} else {
		rep.writeText(os.Stdout)
	}
	return 0
}

func (b *bench) measure(ctx context.Context, rounds int, names, vigilBin string, idle time.Duration) (*report, error) {
	if rounds < 1 {
		return nil, errors.New("-rounds must be at least 1")
	}
	all := b.workloads()
	var selected []workload
	for _, n := range strings.Split(names, ",") {
		i := slices.IndexFunc(all, func(w workload) bool { return w.name == strings.TrimSpace(n) })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q (have open, exec, connect, build)", n)
		}
		selected = append(selected, all[i])
	}

	rep := &report{
		BPFStats: b.bpfStats,
		Command:  strings.Join(os.Args, " "),
		Started:  time.Now(),
		Rounds:   rounds,
		Machine:  machineInfo(),
	}
	if err := b.prepare(ctx, vigilBin, &rep.Vigil); err != nil {
		return nil, err
	}

	if idle > 0 {
		progress("idle: vigil for %s with no workload", idle)
		s, err := b.idle(ctx, idle)
		if err != nil {
			return nil, err
		}
		rep.Idle = s
		progress("idle: %d events (%.0f/s), vigil CPU %.2f, VmHWM %s, drops %d", s.Events, s.EventsPerSec, s.CPUShare, mb(s.HWM), s.Drops)
	}

	for _, w := range selected {
		res, err := b.measureWorkload(ctx, w, rounds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		rep.Workloads = append(rep.Workloads, res)
	}
	rep.Machine.UptimeEnd = uptime()
	rep.Duration = time.Since(rep.Started)
	rep.computeTargets()
	return rep, nil
}

// prepare builds the helpers and vigil and writes the scratch file.
func (b *bench) prepare(ctx context.Context, vigilBin string, info *vigilInfo) error {
	src, err := helperSource()
	if err != nil {
		return err
	}
	progress("building the workload helper (gcc)")
	if out, err := exec.CommandContext(ctx, "gcc", "-O2", "-Wall", "-o", b.path("loops"), src).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %s: %w\n%s", src, err, out)
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(b.path("scratch.dat"), data, 0o644); err != nil {
		return err
	}

	info.Args = b.vigilArgs
	info.Nice = b.nice
	if vigilBin != "" {
		abs, err := filepath.Abs(vigilBin)
		if err != nil {
			return err
		}
		b.vigil = abs
		info.Binary = abs
		info.Version = "given with -vigil"
		return nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	// Build the committed tree (git archive HEAD), not the working tree:
	// the checkout is shared, and others' uncommitted edits must not end
	// up in the measured binary.
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--tags", "--always").Output()
	if err != nil {
		return fmt.Errorf("git describe (pass -vigil to measure a binary outside git): %w", err)
	}
	version := strings.TrimSpace(string(out))
	tree := b.path("src")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return err
	}
	progress("building vigil %s (git archive HEAD of %s)", version, root)
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive --format=tar HEAD | tar -x -C "$2"`, "sh", root, tree)
	if out, err := archive.CombinedOutput(); err != nil {
		return fmt.Errorf("git archive HEAD: %w\n%s", err, out)
	}
	b.vigil = b.path("vigil")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", b.vigil, "./cmd/vigil")
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/vigil: %w\n%s", err, out)
	}
	if err := os.RemoveAll(tree); err != nil {
		return err
	}
	info.Binary = "./cmd/vigil at HEAD, built by the harness"
	info.Version = version
	return nil
}

// helperSource finds csrc/loops.c beside this program's source.
func helperSource() (string, error) {
	cands := []string{"bench/overhead/csrc/loops.c", "csrc/loops.c"}
	if _, file, _, ok := runtime.Caller(0); ok {
		cands = append([]string{filepath.Join(filepath.Dir(file), "csrc", "loops.c")}, cands...)
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("cannot find csrc/loops.c; run from the repository root")
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the vigil module; run from the repository root or pass -vigil")
	}
	return filepath.Dir(mod), nil
}

// idle runs vigil for d with no workload.
func (b *bench) idle(ctx context.Context, d time.Duration) (*idleSample, error) {
	v, err := startVigil(ctx, b)
	if err != nil {
		return nil, err
	}
	time.Sleep(b.settle)
	cpu0, _ := procCPU(v.cmd.Process.Pid)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	p := v.snapshot()
	res, err := v.stop()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return &idleSample{
		Duration:     d,
		Events:       res.Events,
		EventsPerSec: float64(res.Events) / res.Lifetime.Seconds(),
		CPUShare:     (p.CPU - cpu0).Seconds() / d.Seconds(),
		HWM:          p.HWM,
		Drops:        max(p.Drops, res.LogDrops),
	}, nil
}

func (b *bench) measureWorkload(ctx context.Context, w workload, rounds int) (workloadResult, error) {
	res := workloadResult{Name: w.name, Description: w.desc, Iterations: w.iterations, Unit: w.unit, Target: w.target}
	if w.prepare != nil {
		if err := w.prepare(ctx, b); err != nil {
			return res, err
		}
	}
	// One unmeasured run warms the page cache and the helpers.
	progress("%s: warm-up run (%s)", w.name, w.desc)
	if _, err := w.run(ctx, b); err != nil {
		return res, err
	}
	for i := range rounds {
		r := round{VigilFirst: i%2 == 1}
		var err error
		if r.VigilFirst {
			if r.With, r.Sensor, err = b.runWith(ctx, w); err == nil {
				r.Without, err = w.run(ctx, b)
			}
		} else {
			if r.Without, err = w.run(ctx, b); err == nil {
				r.With, r.Sensor, err = b.runWith(ctx, w)
			}
		}
		if err != nil {
			return res, err
		}
		res.Rounds = append(res.Rounds, r)
		progress("%s round %d/%d: without %.3fs, with %.3fs, ratio %.3f (CPU ratio %.3f); vigil: %d events, %d drops, CPU/wall %.2f, VmHWM %s; load %.1f",
			w.name, i+1, rounds, r.Without.Wall.Seconds(), r.With.Wall.Seconds(), r.Ratio(), r.CPURatio(),
			r.Sensor.Events, r.Sensor.Drops, r.Sensor.CPU.Seconds()/r.With.Wall.Seconds(), mb(r.Sensor.HWM), r.With.Load1)
	}
	summarize(&res)
	return res, nil
}

// runWith starts vigil, runs the workload once, and stops vigil.
func (b *bench) runWith(ctx context.Context, w workload) (runSample, sensorSample, error) {
	var sen sensorSample
	v, err := startVigil(ctx, b)
	if err != nil {
		return runSample{}, sen, err
	}
	b.vigilPID = v.cmd.Process.Pid
	defer func() { b.vigilPID = 0 }()
	sen.Ready = time.Since(v.started)
	time.Sleep(b.settle)
	pid := v.cmd.Process.Pid
	cpu0, _ := procCPU(pid)
	prog0, _ := bpfProgStats(pid)
	s, runErr := w.run(ctx, b)
	p := v.snapshot()
	prog1, _ := bpfProgStats(pid)
	res, stopErr := v.stop()
	if err := errors.Join(runErr, stopErr); err != nil {
		return s, sen, err
	}
	sen.Lifetime = res.Lifetime
	sen.CPU = p.CPU - cpu0
	sen.Events, sen.Alerts = res.Events, res.Alerts
	sen.HWM = p.HWM
	sen.Warnings = res.Warnings
	sen.Programs = diffProgStats(prog0, prog1)
	sen.Drops, sen.DropsSource = p.Drops, p.DropsSource
	if p.DropsErr != nil {
		sen.DropsSource = "vigil log only (" + p.DropsErr.Error() + ")"
	}
	if res.LogDrops > sen.Drops {
		sen.Drops, sen.DropsSource = res.LogDrops, "vigil log"
	}
	return s, sen, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), UptimeStart: uptime()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		m.MemTotal = fmt.Sprintf("%.0f GiB", float64(si.Totalram)*float64(si.Unit)/(1<<30))
	}
	return m
}

// uptime returns uptime(1)'s line, or /proc/loadavg without it.
func uptime() string {
	if out, err := exec.Command("uptime").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	b, _ := os.ReadFile("/proc/loadavg")
	return "loadavg " + strings.TrimSpace(string(b))
}
