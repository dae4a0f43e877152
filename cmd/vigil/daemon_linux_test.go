package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// daemon is a `vigil run` started by a test, with its output lines.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	logs   []string         // stderr lines
	alerts []map[string]any // decoded stdout lines
	seen   chan struct{}    // a line arrived
	done   chan struct{}    // both pipes are drained
}

// startDaemon starts vigil with args and waits until the driver is attached.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	requireEBPF(t)
	d := &daemon{t: t, cmd: exec.Command(vigilBin, args...), seen: make(chan struct{}, 1), done: make(chan struct{})}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go d.read(&wg, stderr, func(line string) { d.logs = append(d.logs, line) })
	go d.read(&wg, stdout, func(line string) {
		var a map[string]any
		if json.Unmarshal([]byte(line), &a) == nil {
			d.alerts = append(d.alerts, a)
		}
	})
	go func() { wg.Wait(); close(d.done) }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
			_ = d.cmd.Wait()
		}
	})
	d.waitLog("driver started")
	return d
}

func (d *daemon) read(wg *sync.WaitGroup, r io.Reader, add func(string)) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		d.mu.Lock()
		add(sc.Text())
		d.mu.Unlock()
		select {
		case d.seen <- struct{}{}:
		default:
		}
	}
}

// waitFor waits until cond holds for the lines received so far; it fails
// the test with everything received when the deadline passes.
func (d *daemon) waitFor(what string, deadline time.Duration, cond func() bool) {
	d.t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		d.mu.Lock()
		ok := cond()
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.seen:
		case <-d.done:
			d.mu.Lock()
			ok := cond()
			d.mu.Unlock()
			if !ok {
				d.t.Fatalf("vigil exited before %s; logs:\n%s", what, strings.Join(d.logs, "\n"))
			}
			return
		case <-timer.C:
			d.t.Fatalf("no %s within %s; logs:\n%s\n%d alerts", what, deadline, strings.Join(d.logs, "\n"), len(d.alerts))
		}
	}
}

func (d *daemon) waitLog(substr string) {
	d.t.Helper()
	d.waitFor("log line "+strconv.Quote(substr), 30*time.Second, func() bool {
		for _, l := range d.logs {
			if strings.Contains(l, substr) {
				return true
			}
		}
		return false
	})
}

// countAlerts returns how many alerts of rule carry fd.name = file.
func (d *daemon) countAlerts(rule, file string) int {
	n := 0
	for _, a := range d.alerts {
		f, _ := a["output_fields"].(map[string]any)
		if a["rule"] == rule && f["fd.name"] == file {
			n++
		}
	}
	return n
}

// stop sends SIGTERM and checks a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	<-d.done
	if err := d.cmd.Wait(); err != nil {
		d.t.Errorf("vigil exited with %v; logs:\n%s", err, strings.Join(d.logs, "\n"))
	}
}

// TestStartupUncoverable checks that `vigil run` reports at start-up the
// enabled rules that cannot fire on its driver, naming the fields they
// need.
func TestStartupUncoverable(t *testing.T) {
	rules := writeFile(t, "fields.yaml", fieldRules)
	d := startDaemon(t, "run", "--driver", "procscan", "--json", "-r", rules, "-o", "webserver.enabled=false")
	for _, want := range []string{
		`rule="executable created" why="needs evt.arg.mode, unavailable on procscan"`,
		`rule="open or exec on cpu 0" why="needs evt.cpu, unavailable on procscan"`,
	} {
		d.waitLog(want)
	}
	d.mu.Lock()
	for _, l := range d.logs {
		if strings.Contains(l, "open unless executable") {
			t.Errorf("a rule that can fire is reported: %s", l)
		}
	}
	d.mu.Unlock()
	d.stop()
}

// TestSIGTERMAtStart: SIGTERM sent as soon as "driver started" is logged
// stops the sensor cleanly (exit status 0): signals are caught from before
// the driver starts.
func TestSIGTERMAtStart(t *testing.T) {
	d := startDaemon(t, "run", "--driver", "procscan", "-o", "webserver.enabled=false")
	d.stop()
}

func requireEBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if strings.Contains(os.Getenv("VIGIL_REQUIRE_DRIVERS"), "ebpf") {
			t.Fatal("VIGIL_REQUIRE_DRIVERS names ebpf but the test is not running as root")
		}
		t.Skip("needs root")
	}
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

const reloadRuleTmpl = `
- rule: %[1]s
  desc: test
  condition: evt.type in (open, openat) and fd.name = %[2]s
  output: "%[1]s opened %%fd.name"
  priority: WARNING
- rule: steady
  desc: present before and after every reload
  condition: evt.type in (open, openat) and fd.name = %[3]s
  output: "steady %%fd.name"
  priority: NOTICE
`

// TestPrivilegedReloadAndHealthz checks hot reload on SIGHUP: a broken
// rules file is reported and the old rules keep running; a good one takes
// effect; a steady stream of events across reloads loses nothing. It also
// checks /healthz and /metrics of the running sensor.
func TestPrivilegedReloadAndHealthz(t *testing.T) {
	requireEBPF(t)
	dir := t.TempDir()
	fileA, fileB, steady := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "steady")
	for _, f := range []string{fileA, fileB, steady} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	writeRules := func(content string) {
		if err := os.WriteFile(rulesFile, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeRules(fmt.Sprintf(reloadRuleTmpl, "rule A", fileA, steady))
	port := freePort(t)
	d := startDaemon(t, "run", "--driver", "ebpf", "--json", "-r", rulesFile, "-o", "rule_matching=all",
		"-o", "webserver.listen_address=127.0.0.1", "-o", "webserver.listen_port="+strconv.Itoa(port),
		"-o", "webserver.prometheus_metrics_enabled=true", "-o", "metrics.enabled=true",
		"-o", "outputs_queue.capacity=100000") // every steady alert must fit: the test counts them

	// /healthz answers 503 until the pipeline runs, then 200.
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ready := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(ready) {
			t.Fatalf("/healthz: %s", resp.Status)
		}
	}

	// A steady stream of opens runs across both reloads (bounded, so that
	// a slow machine does not turn it into a flood).
	const maxSteady = 2000
	stopSteady := make(chan struct{})
	steadyDone := make(chan int)
	go func() {
		n := 0
		for ; n < maxSteady; n++ {
			select {
			case <-stopSteady:
				steadyDone <- n
				return
			default:
			}
			f, err := os.Open(steady)
			if err == nil {
				f.Close()
			}
		}
		<-stopSteady
		steadyDone <- n
	}()

	open := func(p string) {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	open(fileA)
	d.waitFor("rule A alert", 2*time.Second, func() bool { return d.countAlerts("rule A", fileA) == 1 })

	// A broken file: reported, and rule A keeps firing.
	writeRules("- rule: broken\n  condition: evt.type = open and (\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog("reload failed")
	open(fileA)
	d.waitFor("rule A alert after a failed reload", 2*time.Second, func() bool { return d.countAlerts("rule A", fileA) == 2 })

	// A good file: rule B replaces rule A.
	writeRules(fmt.Sprintf(reloadRuleTmpl, "rule B", fileB, steady))
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog("msg=reloaded")
	close(stopSteady)
	open(fileB)
	open(fileA)
	d.waitFor("rule B alert", 2*time.Second, func() bool { return d.countAlerts("rule B", fileB) == 1 })

	n := <-steadyDone
	d.waitFor("every steady open", 5*time.Second, func() bool { return d.countAlerts("steady", steady) == n })

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vigil_reloads_total{result="failure"} 1`, `vigil_reloads_total{result="success"} 1`,
		`vigil_alerts_total{priority="Warning",rule="rule B"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	d.stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	if got := d.countAlerts("rule A", fileA); got != 2 {
		t.Errorf("rule A fired %d times, want 2 (it was replaced by rule B)", got)
	}
}

// TestPrivilegedRecordReplay records a live run and replays it: the
// replay raises the same alerts, with the same fields, as the live run.
func TestPrivilegedRecordReplay(t *testing.T) {
	requireEBPF(t)
	dir := t.TempDir()
	var files []string
	for i := range 5 {
		f := filepath.Join(dir, "f"+strconv.Itoa(i))
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(fmt.Sprintf(reloadRuleTmpl, "marker", files[0], dir+"/f*")+`
- rule: glob marker
  desc: every marker file
  condition: evt.type in (open, openat) and fd.name glob "`+dir+`/f*"
  output: "glob %fd.name %proc.name %proc.pname"
  priority: NOTICE
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "run.vrec")
	d := startDaemon(t, "run", "--driver", "ebpf", "--json", "-r", rulesFile, "-o", "rule_matching=all",
		"-o", "webserver.enabled=false", "--record", rec)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		fh.Close()
	}
	d.waitFor("an alert per marker file", 5*time.Second, func() bool {
		n := 0
		for _, f := range files {
			n += d.countAlerts("glob marker", f)
		}
		return n == len(files)
	})
	d.stop()

	key := func(a map[string]any) string {
		f, _ := a["output_fields"].(map[string]any)
		return fmt.Sprintf("%v|%v|%v", a["rule"], f["fd.name"], a["output"])
	}
	live := map[string]int{}
	d.mu.Lock()
	for _, a := range d.alerts {
		if f, _ := a["output_fields"].(map[string]any); strings.HasPrefix(fmt.Sprint(f["fd.name"]), dir) {
			live[key(a)]++
		}
	}
	d.mu.Unlock()

	r := vigil(t, "replay", "--json", "-r", rulesFile, "-o", "rule_matching=all", rec)
	r.want(t, exitOK)
	replayed := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var a map[string]any
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("replay output: %v: %q", err, line)
		}
		if f, _ := a["output_fields"].(map[string]any); strings.HasPrefix(fmt.Sprint(f["fd.name"]), dir) {
			replayed[key(a)]++
		}
	}
	if len(live) < len(files) {
		t.Fatalf("live run: %d distinct alerts on the markers, want at least %d", len(live), len(files))
	}
	for k, n := range live {
		if replayed[k] != n {
			t.Errorf("alert %q: %d live, %d replayed", k, n, replayed[k])
		}
	}
	for k, n := range replayed {
		if live[k] != n {
			t.Errorf("alert %q: replayed %d times, %d live", k, n, live[k])
		}
	}
}
