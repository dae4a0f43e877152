package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// auditRules is what the auditd configuration loads (auditctl -R): the
// backlog settings of Debian's /etc/audit/rules.d/audit.rules and rules
// equivalent to what the default ruleset needs from the kernel: execs,
// opens under /etc, connects. The workloads are 64-bit, so arch=b32 rules
// are left out.
var auditRules = []string{
	"-D",
	"-b 8192",
	"--backlog_wait_time 60000",
	"-f 1",
	"-a always,exit -F arch=b64 -S execve,execveat -k vigil-bench",
	"-a always,exit -F arch=b64 -S open,openat,openat2 -F dir=/etc -k vigil-bench",
	"-a always,exit -F arch=b64 -S connect -k vigil-bench",
}

// neverTask is the rule that keeps new tasks out of syscall auditing.
// Once auditing has been enabled, the kernel gives every new task an
// audit context (a slower syscall path) even with no rules, unless this
// rule is loaded; it stays loaded between auditd runs so that the other
// configurations' runs do not pay for auditd's.
const neverTask = "-a never,task"

// auditdConf is auditd.conf with the log in the scratch directory;
// %[1]s is that directory. Log format and flushing are Debian's defaults;
// the space and error actions never suspend logging.
const auditdConf = `local_events = yes
write_logs = yes
log_file = %[1]s/audit.log
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 4096
num_logs = 2
max_log_file_action = ROTATE
space_left = 75
space_left_action = IGNORE
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
plugin_dir = %[1]s/plugins
q_depth = 2000
overflow_action = IGNORE
end_of_event_timeout = 2
`

// auditctl runs auditctl with args and returns its output.
func auditctl(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "auditctl", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("auditctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// auditStatus returns the fields of `auditctl -s`.
func auditStatus(ctx context.Context) (map[string]string, string, error) {
	out, err := auditctl(ctx, "-s")
	if err != nil {
		return nil, out, err
	}
	st := map[string]string{}
	for l := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
			st[k] = v
		}
	}
	return st, out, nil
}

// prepareAudit checks that auditd can be measured here: auditd installed,
// the kernel audit subsystem answering, no audit daemon running and no
// audit rules but neverTask loaded. It then loads neverTask. The returned
// restore sets the kernel's enabled flag back; neverTask stays. A non-nil
// error means auditd cannot be measured; info.Unavailable says why.
func (b *bench) prepareAudit(ctx context.Context, info *auditInfo) (restore func(), err error) {
	info.Rules = auditRules
	defer func() {
		if err != nil {
			info.Unavailable = err.Error()
		}
	}()
	for _, bin := range []string{"auditd", "auditctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install auditd): %w", bin, err)
		}
	}
	st, raw, err := auditStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("the kernel audit subsystem does not answer: %w", err)
	}
	info.Status = strings.TrimSpace(raw)
	if pid := st["pid"]; pid != "" && pid != "0" {
		return nil, fmt.Errorf("an audit daemon (pid %s) is already running", pid)
	}
	rules, err := auditctl(ctx, "-l")
	if err != nil {
		return nil, err
	}
	haveNever := false
	for l := range strings.Lines(rules) {
		switch l = strings.TrimSpace(l); l {
		case "No rules", "":
		case neverTask:
			haveNever = true
		default:
			return nil, fmt.Errorf("audit rules are loaded (%q); the harness would delete them", l)
		}
	}
	if !haveNever {
		if _, err := auditctl(ctx, strings.Fields(neverTask)...); err != nil {
			return nil, err
		}
		info.Notes = append(info.Notes, "loaded \""+neverTask+"\" (left loaded: it keeps new tasks off the audit slow path)")
	}
	dir := b.path("audit")
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o750); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), fmt.Appendf(nil, auditdConf, dir), 0o640); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.rules"), []byte(strings.Join(auditRules, "\n")+"\n"), 0o640); err != nil {
		return nil, err
	}
	enabled := st["enabled"]
	return func() {
		if enabled == "" {
			return
		}
		if _, err := auditctl(context.Background(), "-e", enabled); err != nil {
			progress("restoring the audit enabled flag: %v", err)
		}
	}, nil
}

// auditConfig returns the configuration "auditd with auditRules".
func (b *bench) auditConfig() config {
	return config{
		name: "auditd",
		argv: auditRules[4:],
		start: func(ctx context.Context) (instance, error) {
			return startAuditd(ctx, b)
		},
	}
}

// auditProc is one running auditd started by the harness.
type auditProc struct {
	cmd     *exec.Cmd
	dir     string
	started time.Time
	lost0   uint64
	done    chan error
}

// startAuditd starts auditd in the foreground with the scratch
// configuration, waits until the kernel knows it as the audit daemon, and
// loads auditRules.
func startAuditd(ctx context.Context, b *bench) (*auditProc, error) {
	dir := b.path("audit")
	if err := os.Remove(filepath.Join(dir, "audit.log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "auditd.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	argv := b.wrap([]string{"auditd", "-n", "-c", dir})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	a := &auditProc{cmd: cmd, dir: dir, started: time.Now(), done: make(chan error, 1)}
	if st, _, err := auditStatus(ctx); err == nil {
		a.lost0, _ = strconv.ParseUint(st["lost"], 10, 64)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting auditd: %w", err)
	}
	go func() { a.done <- cmd.Wait() }()
	want := strconv.Itoa(cmd.Process.Pid)
	deadline := time.Now().Add(readyTimeout)
	for {
		st, _, err := auditStatus(ctx)
		if err == nil && st["pid"] == want {
			break
		}
		select {
		case err := <-a.done:
			log, _ := os.ReadFile(filepath.Join(dir, "auditd.out"))
			return nil, fmt.Errorf("auditd exited at start (%v): %s", err, tail(string(log), 2000))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_, _ = a.stop()
			log, _ := os.ReadFile(filepath.Join(dir, "auditd.out"))
			return nil, fmt.Errorf("auditd did not register with the kernel within %s: %s", readyTimeout, tail(string(log), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := auditctl(ctx, "-R", filepath.Join(dir, "audit.rules")); err != nil {
		_, _ = a.stop()
		return nil, err
	}
	return a, nil
}

func (a *auditProc) pid() int { return a.cmd.Process.Pid }

// snapshot reads auditd's CPU time and peak RSS, and the records the
// kernel lost since auditd started.
func (a *auditProc) snapshot() probe {
	p := probe{DropsSource: "auditctl -s lost"}
	p.CPU, _ = procCPU(a.pid())
	p.HWM, _ = procHWM(a.pid())
	st, _, err := auditStatus(context.Background())
	if err != nil {
		p.DropsErr = err
		return p
	}
	lost, _ := strconv.ParseUint(st["lost"], 10, 64)
	p.Drops = lost - min(lost, a.lost0)
	return p
}

// stop deletes the rules (loading neverTask again), stops auditd and
// counts the syscall records it logged.
func (a *auditProc) stop() (stopResult, error) {
	res := stopResult{DropsSource: "auditctl -s lost"}
	ctx := context.Background()
	_, err1 := auditctl(ctx, "-D")
	_, err2 := auditctl(ctx, strings.Fields(neverTask)...)
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	var waitErr error
	select {
	case waitErr = <-a.done:
	case <-time.After(stopTimeout):
		_ = a.cmd.Process.Kill()
		waitErr = <-a.done
		res.Killed = true
	}
	res.Lifetime = time.Since(a.started)
	n, err3 := countRecords(filepath.Join(a.dir, "audit.log"), "type=SYSCALL ")
	res.Events = n
	if res.Killed {
		return res, fmt.Errorf("auditd did not stop within %s of SIGTERM and was killed", stopTimeout)
	}
	if waitErr != nil {
		log, _ := os.ReadFile(filepath.Join(a.dir, "auditd.out"))
		waitErr = fmt.Errorf("auditd: %w: %s", waitErr, tail(string(log), 2000))
	}
	return res, errors.Join(err1, err2, err3, waitErr)
}

// countRecords counts the lines of an audit log starting with prefix.
func countRecords(path, prefix string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var n uint64
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(prefix)) {
			n++
		}
	}
	return n, sc.Err()
}
