package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Locked-down hosts, simulated: vigil runs through the helper's @lockdown
// action, which denies syscalls with a seccomp filter and drops
// capabilities from the bounding set before it execs vigil. `vigil probe`
// must name the reason each driver cannot run, and `--driver auto` must
// fall back to a driver that can, and detect.
//
// The third locked-down case of issue 4, `vigil trace` as an unprivileged
// user (uid 65534) detecting a shell spawned by the traced command, is
// TestTraceUnprivileged in cmd/vigil (trace_test.go).

// probeReport is the part of `vigil probe --json` these tests read.
type probeReport struct {
	Drivers []struct {
		Name, Status, Reason string
	}
	Auto string
}

// driver returns the probe result of the driver name.
func (p *probeReport) driver(t *testing.T, name string) (status, reason string) {
	t.Helper()
	for _, d := range p.Drivers {
		if d.Name == name {
			return d.Status, d.Reason
		}
	}
	t.Fatalf("vigil probe does not list driver %s", name)
	return "", ""
}

// lockedDown returns a command that runs vigil with args under the
// seccomp filter denying the syscalls deny and without the capabilities
// drop (comma-separated, "-" for none).
func lockedDown(deny, drop string, args ...string) *exec.Cmd {
	return command(helperBin, append([]string{"@lockdown", deny, drop, vigilBin}, args...)...)
}

// probeLockedDown runs `vigil probe --json` locked down.
func probeLockedDown(t *testing.T, deny, drop string) *probeReport {
	t.Helper()
	cmd := lockedDown(deny, drop, "probe", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var p probeReport
	if jerr := json.Unmarshal(out, &p); jerr != nil {
		t.Fatalf("vigil probe --json (deny %s, drop %s): %v (exit: %v)\n%s\nstderr:\n%s", deny, drop, jerr, err, out, stderr.String())
	}
	t.Logf("vigil probe --json (deny %s, drop %s): %s", deny, drop, out)
	return &p
}

// wantUnavailable checks that the probe says driver cannot run, for a
// reason that contains every word of because (case-insensitive).
func (p *probeReport) wantUnavailable(t *testing.T, driver string, because ...string) {
	t.Helper()
	status, reason := p.driver(t, driver)
	if status == "available" {
		t.Errorf("vigil probe says %s is available", driver)
		return
	}
	for _, w := range because {
		if !strings.Contains(strings.ToLower(reason), strings.ToLower(w)) {
			t.Errorf("vigil probe: %s is %s because %q, want a reason that names %s", driver, status, reason, w)
		}
	}
}

// startLockedDown starts `vigil run --driver auto` locked down and checks
// that it picked driver.
func startLockedDown(t *testing.T, driver, deny, drop string) *sensor {
	t.Helper()
	s := startVigil(t, "auto", lockedDown(deny, drop, sensorArgs("auto")...))
	if log := s.stderrText(); !strings.Contains(log, `msg="driver started" driver=`+driver+" ") {
		t.Errorf("vigil run --driver auto (deny %s, drop %s) did not start %s:\n%s", deny, drop, driver, log)
	}
	return s
}

// TestLockdownNoBPF: with bpf(2) denied by seccomp, the eBPF driver cannot
// run and says seccomp is why; auto picks fanotify, which detects a read
// of /etc/shadow.
func TestLockdownNoBPF(t *testing.T) {
	requireDriver(t, "ebpf")
	requireDriver(t, "fanotify")
	p := probeLockedDown(t, "bpf", "-")
	p.wantUnavailable(t, "ebpf", "seccomp")
	if p.Auto != "fanotify" {
		t.Errorf("vigil probe: auto = %q, want fanotify", p.Auto)
	}
	s := startLockedDown(t, "fanotify", "bpf", "-")
	e := &env{alerts: s.alertLog, dir: scratchDir(t, ""), self: selfComm(t)}
	pid := e.run(t, command("/bin/cat", "/etc/shadow"), false)
	a := e.alerts.expectRule(t, "Sensitive file read by untrusted program", pid, nil)
	fieldsWant(t, a, map[string]string{"fd.name": "/etc/shadow", "proc.pname": e.self})
	s.stop(t)
}

// TestLockdownNoBPFNoFanotify: with bpf(2) and fanotify_init denied by
// seccomp, or without CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON, neither the
// eBPF nor the fanotify driver can run and probe says why; auto picks
// procscan, which detects a miner that keeps running.
func TestLockdownNoBPFNoFanotify(t *testing.T) {
	requireDriver(t, "ebpf")
	requireDriver(t, "procscan")
	for _, tc := range []struct {
		name, deny, drop string
		because          []string // words the reasons must contain
	}{
		{name: "seccomp", deny: "bpf,fanotify_init", drop: "-", because: []string{"seccomp"}},
		{name: "capabilities", deny: "-", drop: "CAP_SYS_ADMIN,CAP_BPF,CAP_PERFMON", because: []string{"CAP_"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := probeLockedDown(t, tc.deny, tc.drop)
			p.wantUnavailable(t, "ebpf", tc.because...)
			p.wantUnavailable(t, "fanotify", tc.because...)
			if p.Auto != "procscan" {
				t.Errorf("vigil probe: auto = %q, want procscan", p.Auto)
			}
			s := startLockedDown(t, "procscan", tc.deny, tc.drop)
			e := &env{alerts: s.alertLog, dir: scratchDir(t, ""), self: selfComm(t)}
			path := program(t, e.dir, "xmrig")
			e.heldAlert(t, "Cryptocurrency miner launched", command(path, "--threads", "1"), map[string]string{
				"proc.name":    "xmrig",
				"proc.exepath": path,
				"proc.pname":   e.self,
			})
			s.stop(t)
		})
	}
}
