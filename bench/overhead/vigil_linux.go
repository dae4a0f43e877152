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
	// bpf says the driver is ebpf, whose kernel drop counter snapshot reads.
	bpf   bool
	ready chan struct{} // closed at "driver started"
	eof   chan struct{} // closed when stderr ends

	mu    sync.Mutex
	lines []string
}

// startVigil starts vigil (argv, binary first) and waits until its driver
// is attached. bpf says the driver is ebpf.
func startVigil(ctx context.Context, b *bench, argv []string, bpf bool) (*vigilProc, error) {
	argv = b.wrap(argv)
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
	v := &vigilProc{cmd: cmd, bpf: bpf, ready: make(chan struct{}), eof: make(chan struct{})}
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

// pid returns vigil's process id.
func (v *vigilProc) pid() int { return v.cmd.Process.Pid }

// snapshot reads vigil's CPU time, peak RSS and, for the eBPF driver, its
// kernel drop counter (the other drivers report theirs in the log).
func (v *vigilProc) snapshot() probe {
	pid := v.pid()
	var p probe
	p.CPU, _ = procCPU(pid)
	p.HWM, _ = procHWM(pid)
	if v.bpf {
		p.Drops, p.DropsErr = bpfDrops(pid)
		p.DropsSource = "bpf map"
	}
	return p
}

// stopResult is what vigil reported when it stopped.
type stopResult struct {
	Lifetime       time.Duration
	Events, Alerts uint64
	// LogDrops is the highest drop count the sensor reported (0 if none).
	LogDrops uint64
	// DropsSource says where LogDrops came from.
	DropsSource string
	Warnings    []string
	Killed      bool
}

// stop sends SIGTERM, waits for vigil to exit (killing it after
// stopTimeout) and parses its final log line.
func (v *vigilProc) stop() (stopResult, error) {
	res := stopResult{DropsSource: "vigil log"}
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
// rules logs: rules a driver cannot fire, and the syslog output off on a
// machine without /dev/log.
func expectedWarning(l string) bool {
	return strings.Contains(l, "cannot fire on this driver") || strings.Contains(l, "/dev/log does not exist")
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
