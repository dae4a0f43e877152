package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// alertDeadline is how long an expected alert may take to arrive after the
// action that causes it (the acceptance criterion).
const alertDeadline = 2 * time.Second

// startDeadline and stopDeadline bound start-up (loading BPF programs,
// seeding /proc) and shutdown; they are guards, not measurements.
const (
	startDeadline = 60 * time.Second
	stopDeadline  = 30 * time.Second
)

// pidFields are added to every alert's output_fields (append_output) so
// that alerts can be attributed to the processes a test started.
var pidFields = []string{"proc.pid", "proc.ppid", "proc.apid[2]", "proc.apid[3]", "proc.apid[4]", "proc.apid[5]"}

// alert is one decoded JSON alert line.
type alert struct {
	Rule     string         `json:"rule"`
	Priority string         `json:"priority"`
	Output   string         `json:"output"`
	Fields   map[string]any `json:"output_fields"`
	raw      string
}

// str returns output_fields[name] as a string ("<null>" for null, "<missing>"
// when absent).
func (a *alert) str(name string) string {
	v, ok := a.Fields[name]
	switch {
	case !ok:
		return "<missing>"
	case v == nil:
		return "<null>"
	}
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// pids returns the process and ancestor pids of the alert (pidFields) that
// are known.
func (a *alert) pids() []int {
	var out []int
	for _, f := range pidFields {
		if n, err := strconv.Atoi(a.str(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// from reports whether the alert comes from process pid or one of its
// descendants (up to the depth of pidFields).
func (a *alert) from(pid int) bool {
	for _, p := range a.pids() {
		if p == pid {
			return true
		}
	}
	return false
}

// alertLog is the alerts received so far from one sensor, or from every
// `vigil trace` a test ran, and what vigil logged.
type alertLog struct {
	mu      sync.Mutex
	alerts  []*alert
	bad     []string      // alert stream lines that are not JSON alerts
	changed chan struct{} // closed and replaced when alerts grow or the stream ends
	eof     bool          // the sensor's alert stream ended: no more alerts will come
	stderr  strings.Builder
}

func newAlertLog() *alertLog {
	return &alertLog{changed: make(chan struct{})}
}

// notifyLocked wakes up the waiters of expect; l.mu is held.
func (l *alertLog) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// read adds the alerts of r, one JSON alert per line, until r ends.
func (l *alertLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		a := &alert{raw: line}
		err := json.Unmarshal([]byte(line), a)
		l.mu.Lock()
		if err != nil || a.Rule == "" {
			l.bad = append(l.bad, line)
		} else {
			l.alerts = append(l.alerts, a)
		}
		l.notifyLocked()
		l.mu.Unlock()
	}
}

// end records that no more alerts will come.
func (l *alertLog) end() {
	l.mu.Lock()
	l.eof = true
	l.notifyLocked()
	l.mu.Unlock()
}

// Write appends vigil's log output (stderr).
func (l *alertLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stderr.Write(b)
}

// sensor is a running `vigil run` and the alerts it printed so far.
type sensor struct {
	*alertLog
	driver string
	cmd    *exec.Cmd

	stdoutDone chan struct{}
	stderrDone chan struct{}
	exited     chan struct{}
	waitErr    error
}

// sensorArgs returns the arguments of `vigil run` with driver, before the
// test's own.
func sensorArgs(driver string) []string {
	// The webserver is off: several sensors may run at once (other test
	// packages) and its port is not what these tests are about.
	return append([]string{"run", "--driver", driver, "-o", "webserver.enabled=false"}, alertArgs()...)
}

// alertArgs are the arguments that make vigil print JSON alerts of every
// matching rule, with pidFields.
func alertArgs() []string {
	args := []string{"--json", "-o", "rule_matching=all"}
	for _, f := range pidFields {
		// One entry per -o: the flag splits its values at commas.
		args = append(args, "-o", fmt.Sprintf(`append_output[]={"extra_fields":[{%q:"%%%s"}]}`, f, f))
	}
	return args
}

// startSensor runs `vigil run --driver DRIVER --json -o rule_matching=all`
// with extra arguments, and returns once the driver is attached (the
// "driver started" log line). The sensor is killed when the test ends if
// stop was not called.
func startSensor(t *testing.T, driver string, extra ...string) *sensor {
	t.Helper()
	cmd := exec.Command(vigilBin, append(sensorArgs(driver), extra...)...)
	return startVigil(t, driver, cmd)
}

// startVigil starts cmd, a `vigil run` (possibly through a wrapper that
// execs it), and returns once its driver is attached.
func startVigil(t *testing.T, driver string, cmd *exec.Cmd) *sensor {
	t.Helper()
	s := &sensor{
		alertLog:   newAlertLog(),
		driver:     driver,
		cmd:        cmd,
		stdoutDone: make(chan struct{}),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("started %s", strings.Join(s.cmd.Args, " "))
	started := make(chan struct{})
	go func() {
		defer close(s.stdoutDone)
		s.read(stdout)
		s.end()
	}()
	go s.readStderr(stderr, started)
	go func() {
		<-s.stdoutDone
		<-s.stderrDone
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case <-started:
	case <-s.exited:
		t.Fatalf("vigil exited before its driver started (%v); stderr:\n%s", s.waitErr, s.stderrText())
	case <-time.After(startDeadline):
		t.Fatalf("vigil did not log \"driver started\" within %v; stderr:\n%s", startDeadline, s.stderrText())
	}
	return s
}

func (s *sensor) readStderr(r io.Reader, started chan<- struct{}) {
	defer close(s.stderrDone)
	sc := bufio.NewScanner(r)
	once := false
	for sc.Scan() {
		line := sc.Text()
		_, _ = s.Write([]byte(line + "\n"))
		if !once && strings.Contains(line, `msg="driver started"`) {
			once = true
			close(started)
		}
	}
}

func (l *alertLog) stderrText() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stderr.String()
}

// expect waits up to alertDeadline for an alert that satisfies match and
// returns it. On timeout it fails the test with every alert received so
// far (the ones from this test's processes first).
func (l *alertLog) expect(t *testing.T, what string, match func(*alert) bool) *alert {
	t.Helper()
	return l.expectWithin(t, alertDeadline, what, match)
}

// expectWithin is expect with another deadline.
func (l *alertLog) expectWithin(t *testing.T, d time.Duration, what string, match func(*alert) bool) *alert {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		for _, a := range l.alerts[seen:] {
			if match(a) {
				l.mu.Unlock()
				t.Logf("alert: %s", a.raw)
				return a
			}
		}
		seen = len(l.alerts)
		changed, eof := l.changed, l.eof
		l.mu.Unlock()
		if eof {
			t.Fatalf("vigil stopped before %s; %s", what, l.dump())
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no alert %s within %v; %s", what, d, l.dump())
		}
	}
}

// expectRule waits for an alert of rule from process pid or a descendant
// that also satisfies match (nil: any), and returns it.
func (l *alertLog) expectRule(t *testing.T, rule string, pid int, match func(*alert) bool) *alert {
	t.Helper()
	return l.expect(t, fmt.Sprintf("%q from pid %d or its descendants", rule, pid), func(a *alert) bool {
		return a.Rule == rule && a.from(pid) && (match == nil || match(a))
	})
}

// since returns the alerts received after the first n.
func (l *alertLog) since(n int) []*alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*alert(nil), l.alerts[n:]...)
}

// count returns how many alerts were received so far.
func (l *alertLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.alerts)
}

// dump describes everything received so far, this test's alerts first.
func (l *alertLog) dump() string {
	self := os.Getpid()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	var ours, others []string
	for _, a := range l.alerts {
		if a.from(self) {
			ours = append(ours, a.raw)
		} else {
			others = append(others, a.raw)
		}
	}
	fmt.Fprintf(&b, "%d alerts received, %d from this test's processes:\n", len(l.alerts), len(ours))
	for _, l := range ours {
		b.WriteString("  " + l + "\n")
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "alerts from other processes:\n")
		for _, l := range others {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, l := range l.bad {
		b.WriteString("stdout line that is not an alert: " + l + "\n")
	}
	b.WriteString("vigil stderr:\n" + l.stderr.String())
	return b.String()
}

// stop sends SIGTERM and checks that vigil exits with status 0 and printed
// nothing but alerts on stdout.
func (s *sensor) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopDeadline):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("vigil did not exit within %v of SIGTERM; stderr:\n%s", stopDeadline, s.stderrText())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(s.waitErr, &ee):
		t.Errorf("vigil exited with %v after SIGTERM, want status 0; stderr:\n%s", ee.ProcessState, s.stderrText())
	case s.waitErr != nil:
		t.Errorf("waiting for vigil: %v", s.waitErr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) > 0 {
		t.Errorf("vigil printed %d stdout lines that are not JSON alerts, first: %s", len(s.bad), s.bad[0])
	}
	if !strings.Contains(s.stderr.String(), `msg="sensor stopped"`) {
		t.Errorf("vigil did not log \"sensor stopped\"; stderr:\n%s", s.stderr.String())
	}
	t.Logf("vigil %s: %d alerts; log:\n%s", s.driver, len(s.alerts), s.stderr.String())
}

// fieldsWant checks output_fields of a against want (field name to value;
// values compare as strings).
func fieldsWant(t *testing.T, a *alert, want map[string]string) {
	t.Helper()
	checkFields(t, a, want, nil)
}

// checkFields is fieldsWant, except that a field of inexact (field name
// to reason) that differs is logged with the reason instead of failing.
// A field the output does not have at all fails even then.
func checkFields(t *testing.T, a *alert, want, inexact map[string]string) {
	t.Helper()
	for k, v := range want {
		got := a.str(k)
		switch {
		case got == v:
		case inexact[k] != "" && got != "<missing>":
			t.Logf("rule %q: output_fields[%s] = %q, not %q: %s", a.Rule, k, got, v, inexact[k])
		default:
			t.Errorf("rule %q: output_fields[%s] = %q, want %q\nalert: %s", a.Rule, k, got, v, a.raw)
		}
	}
}
