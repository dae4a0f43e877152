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

// sensor is a running `vigil run` and the alerts it printed so far.
type sensor struct {
	driver string
	cmd    *exec.Cmd

	mu      sync.Mutex
	alerts  []*alert
	bad     []string      // stdout lines that are not JSON alerts
	changed chan struct{} // closed and replaced when alerts grow or stdout ends
	eof     bool
	stderr  strings.Builder

	stdoutDone chan struct{}
	stderrDone chan struct{}
	exited     chan struct{}
	waitErr    error
}

// startSensor runs `vigil run --driver DRIVER --json -o rule_matching=all`
// with extra arguments, and returns once the driver is attached (the
// "driver started" log line). The sensor is killed when the test ends if
// stop was not called.
func startSensor(t *testing.T, driver string, extra ...string) *sensor {
	t.Helper()
	// The webserver is off: several sensors may run at once (other test
	// packages) and its port is not what these tests are about.
	args := []string{"run", "--driver", driver, "--json", "-o", "rule_matching=all", "-o", "webserver.enabled=false"}
	for _, f := range pidFields {
		// One entry per -o: the flag splits its values at commas.
		args = append(args, "-o", fmt.Sprintf(`append_output[]={"extra_fields":[{%q:"%%%s"}]}`, f, f))
	}
	args = append(args, extra...)
	s := &sensor{
		driver:     driver,
		cmd:        exec.Command(vigilBin, args...),
		changed:    make(chan struct{}),
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
	go s.readStdout(stdout)
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

func (s *sensor) readStdout(r io.Reader) {
	defer close(s.stdoutDone)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		a := &alert{raw: line}
		err := json.Unmarshal([]byte(line), a)
		s.mu.Lock()
		if err != nil || a.Rule == "" {
			s.bad = append(s.bad, line)
		} else {
			s.alerts = append(s.alerts, a)
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.eof = true
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *sensor) readStderr(r io.Reader, started chan<- struct{}) {
	defer close(s.stderrDone)
	sc := bufio.NewScanner(r)
	once := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.stderr.WriteString(line)
		s.stderr.WriteByte('\n')
		s.mu.Unlock()
		if !once && strings.Contains(line, `msg="driver started"`) {
			once = true
			close(started)
		}
	}
}

func (s *sensor) stderrText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// expect waits up to alertDeadline for an alert that satisfies match and
// returns it. On timeout it fails the test with every alert received so
// far (the ones from this test's processes first).
func (s *sensor) expect(t *testing.T, what string, match func(*alert) bool) *alert {
	t.Helper()
	deadline := time.NewTimer(alertDeadline)
	defer deadline.Stop()
	seen := 0
	for {
		s.mu.Lock()
		for _, a := range s.alerts[seen:] {
			if match(a) {
				s.mu.Unlock()
				t.Logf("alert: %s", a.raw)
				return a
			}
		}
		seen = len(s.alerts)
		changed, eof := s.changed, s.eof
		s.mu.Unlock()
		if eof {
			t.Fatalf("vigil stopped before %s; %s", what, s.dump())
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no alert %s within %v; %s", what, alertDeadline, s.dump())
		}
	}
}

// expectRule waits for an alert of rule from process pid or a descendant
// that also satisfies match (nil: any), and returns it.
func (s *sensor) expectRule(t *testing.T, rule string, pid int, match func(*alert) bool) *alert {
	t.Helper()
	return s.expect(t, fmt.Sprintf("%q from pid %d or its descendants", rule, pid), func(a *alert) bool {
		return a.Rule == rule && a.from(pid) && (match == nil || match(a))
	})
}

// since returns the alerts received after the first n.
func (s *sensor) since(n int) []*alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*alert(nil), s.alerts[n:]...)
}

// count returns how many alerts were received so far.
func (s *sensor) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.alerts)
}

// dump describes everything received so far, this test's alerts first.
func (s *sensor) dump() string {
	self := os.Getpid()
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	var ours, others []string
	for _, a := range s.alerts {
		if a.from(self) {
			ours = append(ours, a.raw)
		} else {
			others = append(others, a.raw)
		}
	}
	fmt.Fprintf(&b, "%d alerts received, %d from this test's processes:\n", len(s.alerts), len(ours))
	for _, l := range ours {
		b.WriteString("  " + l + "\n")
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "alerts from other processes:\n")
		for _, l := range others {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, l := range s.bad {
		b.WriteString("stdout line that is not an alert: " + l + "\n")
	}
	b.WriteString("vigil stderr:\n" + s.stderr.String())
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
	for k, v := range want {
		if got := a.str(k); got != v {
			t.Errorf("rule %q: output_fields[%s] = %q, want %q\nalert: %s", a.Rule, k, got, v, a.raw)
		}
	}
}
