package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
)

const (
	// readyTimeout bounds the wait for "driver started".
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the wait for vigil to exit after SIGTERM; then it
	// is killed.
	stopTimeout = 15 * time.Second
	// clockTick is USER_HZ, the unit of /proc/PID/stat times.
	clockTick = time.Second / 100
)

var (
	reEvents = regexp.MustCompile(`\bevents=(\d+)`)
	reAlerts = regexp.MustCompile(`\balerts=(\d+)`)
	// reDrops matches both the driver's periodic warning (total=N) and a
	// drops=N on the final line, should vigil ever print one.
	reDropsTotal = regexp.MustCompile(`\btotal=(\d+)`)
	reDrops      = regexp.MustCompile(`\bdrops=(\d+)`)
)

// vigilProc is one running `vigil run` started by the harness.
type vigilProc struct {
	cmd     *exec.Cmd
	started time.Time
	ready   chan struct{} // closed at "driver started"
	eof     chan struct{} // closed when stderr ends

	mu    sync.Mutex
	lines []string
}

// startVigil starts vigil and waits until its driver is attached.
func startVigil(ctx context.Context, b *bench) (*vigilProc, error) {
	argv := b.wrap(append([]string{b.vigil}, b.vigilArgs...))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := os.OpenFile(b.path("vigil-alerts.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	cmd.Stdout = out
	// An os.Pipe rather than StderrPipe: Wait closes a StderrPipe as soon
	// as the process exits, which can lose the final "sensor stopped" line.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = pw
	// SIGTERM (not SIGKILL) on cancellation and when the harness dies, so
	// that vigil detaches its programs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	v := &vigilProc{cmd: cmd, ready: make(chan struct{}), eof: make(chan struct{})}
	v.started = time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("starting vigil: %w", err)
	}
	go v.readLog(pr)
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-v.ready:
		return v, nil
	case <-v.eof:
		err = errors.New("vigil exited before its driver started")
	case <-timer.C:
		err = fmt.Errorf("vigil did not log \"driver started\" within %s", readyTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_, _ = v.stop()
	return nil, fmt.Errorf("%w; its log:\n%s", err, v.log())
}

func (v *vigilProc) readLog(r io.ReadCloser) {
	defer close(v.eof)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	isReady := false
	for sc.Scan() {
		line := sc.Text()
		v.mu.Lock()
		v.lines = append(v.lines, line)
		v.mu.Unlock()
		if !isReady && strings.Contains(line, `msg="driver started"`) {
			isReady = true
			close(v.ready)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (v *vigilProc) log() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.lines, "\n")
}

// probe is vigil's state read from /proc and the kernel while it runs.
type probe struct {
	CPU         time.Duration
	HWM         int64
	Drops       uint64
	DropsErr    error
	DropsSource string
}

// snapshot reads vigil's CPU time, peak RSS and kernel drop counter.
func (v *vigilProc) snapshot() probe {
	pid := v.cmd.Process.Pid
	var p probe
	p.CPU, _ = procCPU(pid)
	p.HWM, _ = procHWM(pid)
	p.Drops, p.DropsErr = bpfDrops(pid)
	p.DropsSource = "bpf map"
	return p
}

// stopResult is what vigil reported when it stopped.
type stopResult struct {
	Lifetime       time.Duration
	Events, Alerts uint64
	// LogDrops is the highest drop count vigil logged (0 if none).
	LogDrops uint64
	Warnings []string
	Killed   bool
}

// stop sends SIGTERM, waits for vigil to exit (killing it after
// stopTimeout) and parses its final log line.
func (v *vigilProc) stop() (stopResult, error) {
	var res stopResult
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- v.cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-time.After(stopTimeout):
		_ = v.cmd.Process.Kill()
		waitErr = <-done
		res.Killed = true
	}
	res.Lifetime = time.Since(v.started)
	<-v.eof
	v.mu.Lock()
	lines := v.lines
	v.mu.Unlock()
	stopped := false
	for _, l := range lines {
		if strings.Contains(l, `msg="sensor stopped"`) {
			stopped = true
			res.Events = parseUint(reEvents, l)
			res.Alerts = parseUint(reAlerts, l)
			res.LogDrops = max(res.LogDrops, parseUint(reDrops, l))
		}
		if strings.Contains(l, "kernel dropped events") {
			res.LogDrops = max(res.LogDrops, parseUint(reDropsTotal, l))
		}
		if (strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")) && !expectedWarning(l) {
			res.Warnings = append(res.Warnings, stripTime(l))
		}
	}
	switch {
	case res.Killed:
		return res, fmt.Errorf("vigil did not stop within %s of SIGTERM and was killed; its log:\n%s", stopTimeout, v.log())
	case waitErr != nil:
		return res, fmt.Errorf("vigil: %w; its log:\n%s", waitErr, v.log())
	case !stopped:
		return res, fmt.Errorf("vigil exited without its \"sensor stopped\" line; its log:\n%s", v.log())
	}
	return res, nil
}

// expectedWarning reports the start-up warnings every run with the default
// rules logs.
func expectedWarning(l string) bool {
	return strings.Contains(l, "cannot fire on this driver")
}

func stripTime(l string) string {
	if strings.HasPrefix(l, "time=") {
		if i := strings.IndexByte(l, ' '); i > 0 {
			return l[i+1:]
		}
	}
	return l
}

func parseUint(re *regexp.Regexp, s string) uint64 {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// procCPU returns the user+system time of a process from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3 of stat(5), so utime (14) and
	// stime (15) are at indexes 11 and 12 here.
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * clockTick, nil
}

// procHWM returns VmHWM (peak RSS) of a process in bytes.
func procHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in status")
}

// bpfDrops finds the eBPF driver's `drops` map among the BPF maps the
// process holds open and sums its per-CPU counters.
func bpfDrops(pid int) (uint64, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if l, _ := os.Readlink(dir + "/" + e.Name()); l != "anon_inode:bpf-map" {
			continue
		}
		id, ok := fdinfoID(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()), "map_id:")
		if !ok {
			continue
		}
		n, found, err := readDropsMap(ebpf.MapID(id))
		if err != nil {
			return 0, err
		}
		if found {
			return n, nil
		}
	}
	return 0, errors.New("no BPF map named \"drops\" among vigil's descriptors")
}

// fdinfoID returns the ID on the line starting with key ("map_id:",
// "prog_id:") of a BPF object's fdinfo.
func fdinfoID(path, key string) (uint32, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, key); ok {
			id, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 32)
			return uint32(id), err == nil
		}
	}
	return 0, false
}

func readDropsMap(id ebpf.MapID) (uint64, bool, error) {
	m, err := ebpf.NewMapFromID(id)
	if err != nil {
		return 0, false, nil // gone or not ours to open; keep looking
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil || info.Name != "drops" || m.Type() != ebpf.PerCPUArray {
		return 0, false, nil
	}
	var per []uint64
	if err := m.Lookup(uint32(0), &per); err != nil {
		return 0, true, fmt.Errorf("reading the drops map: %w", err)
	}
	var sum uint64
	for _, v := range per {
		sum += v
	}
	return sum, true, nil
}

// otherVigils counts running processes named vigil that are not in skip.
func otherVigils(skip int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == skip {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(b)) == "vigil" {
			n++
		}
	}
	return n
}

// bpfProgStats returns the run statistics of the BPF programs the process
// holds open, by program name. Runs and Time stay zero unless statistics
// are enabled (-bpf-stats); tail-called programs count in their caller.
func bpfProgStats(pid int) (map[string]progStat, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	stats := map[string]progStat{}
	for _, e := range ents {
		if l, _ := os.Readlink(dir + "/" + e.Name()); l != "anon_inode:bpf-prog" {
			continue
		}
		id, ok := fdinfoID(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()), "prog_id:")
		if !ok {
			continue
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			continue
		}
		info, err1 := p.Info()
		st, err2 := p.Stats()
		p.Close()
		if err1 != nil || err2 != nil {
			continue
		}
		s := stats[info.Name]
		s.Runs += st.RunCount
		s.Time += st.Runtime
		s.Misses += st.RecursionMisses
		stats[info.Name] = s
	}
	return stats, nil
}

// diffProgStats returns b − a per program.
func diffProgStats(a, b map[string]progStat) map[string]progStat {
	d := map[string]progStat{}
	for name, s := range b {
		p := a[name]
		d[name] = progStat{Runs: s.Runs - p.Runs, Time: s.Time - p.Time, Misses: s.Misses - p.Misses}
	}
	return d
}
