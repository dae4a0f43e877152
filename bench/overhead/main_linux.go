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
	// procscanBin is a vigil whose procscan polls every procscanInterval
	// ("" when the harness did not build one: -vigil was given).
	procscanBin      string
	procscanInterval time.Duration
	nice             int
	cpus             int
	bpfStats         bool
	settle           time.Duration
	iters            struct{ open, exec, connect, build int }
	procscan         struct {
		procs int
		time  time.Duration
	}
	churn struct {
		execs, opens int
		pause        time.Duration
	}
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

// options are the flags that do not live in bench.
type options struct {
	rounds            int
	workloads, config string
	vigilBin          string
	idle              time.Duration
}

func run() int {
	var (
		b         bench
		o         options
		vigilArgs = flag.String("vigil-args", "-o webserver.enabled=false", "arguments after `vigil run --driver NAME` (space-separated); the web server is off so that the harness neither takes nor needs port 8765 that concurrent vigil instances use")
		scale     = flag.Float64("scale", 1, "multiply every iteration count (e.g. 0.2 for a quick try)")
		jsonOut   = flag.Bool("json", false, "print the result as JSON on stdout instead of the table")
		bpfStats  = flag.Bool("bpf-stats", false, "enable the kernel's BPF run-time statistics and report the time the ebpf driver's programs take per iteration (a diagnostic: the statistics themselves add a little overhead)")
	)
	flag.IntVar(&o.rounds, "rounds", 7, "interleaved rounds (one run without a sensor and one per configuration, order rotating) per workload")
	flag.StringVar(&o.workloads, "workloads", "open,exec,connect,build", "comma-separated workloads to run")
	flag.StringVar(&o.config, "drivers", "ebpf,fanotify,procscan,auditd", "comma-separated configurations to compare with the baseline: vigil drivers (ebpf, fanotify, procscan) and auditd")
	flag.StringVar(&o.vigilBin, "vigil", "", "vigil binary to measure (default: build ./cmd/vigil of the committed HEAD into the scratch directory; procscan then runs at its built-in interval)")
	flag.DurationVar(&o.idle, "idle", 3*time.Second, "run each vigil this long with no workload first, to measure the machine's background event rate (0: skip)")
	flag.DurationVar(&b.procscanInterval, "procscan-interval", 100*time.Millisecond, "procscan's poll interval (the harness builds a vigil with it)")
	flag.IntVar(&b.iters.open, "open-iters", 800000, "open/read/close iterations per open run")
	flag.IntVar(&b.iters.exec, "exec-iters", 2000, "fork+exec iterations per exec run")
	flag.IntVar(&b.iters.connect, "connect-iters", 60000, "connections per connect run")
	flag.IntVar(&b.iters.build, "build-reps", 3, "builds of the C project per build run")
	flag.IntVar(&b.procscan.procs, "procscan-procs", 500, "idle processes to start for the procscan CPU measurement")
	flag.DurationVar(&b.procscan.time, "procscan-time", 20*time.Second, "how long to measure procscan's CPU among the idle processes (0: skip)")
	flag.IntVar(&b.churn.execs, "churn-execs", 10000, "short-lived processes of the RSS churn measurement (0 and -churn-opens 0: skip)")
	flag.IntVar(&b.churn.opens, "churn-opens", 100000, "file opens of the RSS churn measurement")
	flag.DurationVar(&b.churn.pause, "churn-pause", 3*time.Second, "wait after the churn before reading vigil's RSS again")
	flag.IntVar(&b.nice, "nice", 0, "run the workloads and the sensors under nice -n N (e.g. -5 to shield them from other load; all sides alike)")
	flag.DurationVar(&b.settle, "settle", 300*time.Millisecond, "wait after a sensor is ready (vigil's \"driver started\") before a run, so its start-up (process table seeding) is over")
	textFrom := flag.String("text", "", "print the tables of a report saved with -json from `FILE` and exit")
	flag.Parse()
	if *textFrom != "" {
		if err := printSaved(*textFrom); err != nil {
			fmt.Fprintln(os.Stderr, "bench-overhead:", err)
			return 1
		}
		return 0
	}
	b.vigilArgs = strings.Fields(*vigilArgs)
	b.bpfStats = *bpfStats
	b.cpus = runtime.NumCPU()
	for _, n := range []*int{&b.iters.open, &b.iters.exec, &b.iters.connect, &b.iters.build} {
		*n = max(1, int(float64(*n)**scale))
	}

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench-overhead: must run as root (the ebpf and fanotify drivers and auditd need it)")
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
	rep, err := b.measure(ctx, o)
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

func (b *bench) measure(ctx context.Context, o options) (*report, error) {
	if o.rounds < 1 {
		return nil, errors.New("-rounds must be at least 1")
	}
	all := b.workloads()
	var selected []workload
	for _, n := range strings.Split(o.workloads, ",") {
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
		Rounds:   o.rounds,
		Machine:  machineInfo(),
	}
	if err := b.prepare(ctx, o.vigilBin, &rep.Vigil); err != nil {
		return nil, err
	}
	cfgs, err := b.configs(o.config)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(cfgs, func(c config) bool { return c.name == "auditd" }); i >= 0 {
		rep.Audit = &auditInfo{}
		restore, err := b.prepareAudit(ctx, rep.Audit)
		if err != nil {
			progress("auditd is not measured: %v", err)
			cfgs = slices.Delete(cfgs, i, i+1)
		} else {
			defer restore()
		}
	}
	for _, c := range cfgs {
		rep.Configs = append(rep.Configs, configInfo{Name: c.name, Command: c.argv, Note: c.note})
	}

	if o.idle > 0 {
		for _, c := range cfgs {
			if !c.vigil {
				continue
			}
			progress("idle: vigil --driver %s for %s with no workload", c.name, o.idle)
			s, err := b.idle(ctx, c, o.idle)
			if err != nil {
				return nil, fmt.Errorf("idle %s: %w", c.name, err)
			}
			rep.Idle = append(rep.Idle, *s)
			progress("idle %s: %d events (%.0f/s), vigil CPU %.3f, VmHWM %s, drops %d", c.name, s.Events, s.EventsPerSec, s.CPUShare, mb(s.HWM), s.Drops)
		}
	}

	for _, w := range selected {
		res, err := b.measureWorkload(ctx, w, cfgs, o.rounds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		rep.Workloads = append(rep.Workloads, res)
	}
	if i := slices.IndexFunc(cfgs, func(c config) bool { return c.name == "procscan" }); i >= 0 && b.procscan.time > 0 {
		p, err := b.procscanCPU(ctx, cfgs[i])
		if err != nil {
			return nil, fmt.Errorf("procscan CPU: %w", err)
		}
		rep.Procscan = p
	}
	if b.churn.execs > 0 || b.churn.opens > 0 {
		for _, c := range cfgs {
			if !c.vigil {
				continue
			}
			s, err := b.churnRSS(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("churn %s: %w", c.name, err)
			}
			rep.Churn = append(rep.Churn, s)
		}
	}
	rep.Machine.UptimeEnd = uptime()
	rep.Duration = time.Since(rep.Started)
	rep.computeTargets()
	return rep, nil
}

// measureWorkload runs w in rounds: each round one run without a sensor
// and one with each configuration, the order rotating by one place per
// round so that every side takes every place.
func (b *bench) measureWorkload(ctx context.Context, w workload, cfgs []config, rounds int) (workloadResult, error) {
	res := workloadResult{Name: w.name, Description: w.desc, Iterations: w.iterations, Unit: w.unit}
	for _, c := range cfgs {
		res.Configs = append(res.Configs, configResult{Config: c.name, Target: w.targets[c.name]})
	}
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
	sides := len(cfgs) + 1 // side 0 is the baseline
	for i := range rounds {
		order := make([]int, sides)
		for k := range sides {
			order[(k+i)%sides] = k
		}
		var base runSample
		basePos := 0
		with := make([]round, len(cfgs))
		for pos, k := range order {
			if k == 0 {
				s, err := w.run(ctx, b)
				if err != nil {
					return res, err
				}
				base, basePos = s, pos
				continue
			}
			s, sen, err := b.runWith(ctx, cfgs[k-1], w)
			if err != nil {
				return res, fmt.Errorf("with %s: %w", cfgs[k-1].name, err)
			}
			with[k-1] = round{Position: pos, With: s, Sensor: sen}
		}
		line := fmt.Sprintf("%s round %d/%d: baseline %.3fs (load %.1f)", w.name, i+1, rounds, base.Wall.Seconds(), base.Load1)
		for k := range with {
			r := &with[k]
			r.Without, r.BaselinePosition = base, basePos
			res.Configs[k].Rounds = append(res.Configs[k].Rounds, *r)
			line += fmt.Sprintf("; %s %.3fs ×%.3f (%d events, %d drops, CPU %.2f, %s)", cfgs[k].name, r.With.Wall.Seconds(), r.Ratio(),
				r.Sensor.Events, r.Sensor.Drops, r.Sensor.CPU.Seconds()/r.With.Wall.Seconds(), mb(r.Sensor.HWM))
		}
		progress("%s", line)
	}
	for k := range res.Configs {
		summarize(&res.Configs[k], w.iterations)
	}
	return res, nil
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
