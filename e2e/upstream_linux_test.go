package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upstreamRules returns the path of the upstream falco_rules.yaml from
// VIGIL_FALCO_RULES_DIR. It skips the test when the variable is unset and
// fails it when the variable is set but the file is missing.
func upstreamRules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_RULES_DIR is not set (it names the directory of the upstream Falco rules)")
	}
	path := filepath.Join(dir, "falco_rules.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("VIGIL_FALCO_RULES_DIR is set but: %v", err)
	}
	return path
}

// TestUpstreamRules runs vigil with Falco's falco_rules.yaml and triggers
// every rule of it that can fire on a plain host, for real.
func TestUpstreamRules(t *testing.T) {
	path := upstreamRules(t)
	upstreamSuite.run(t, "-r", path, "-o", "priority=debug")
}

// TestUpstreamRulesAllFiles runs the same scenarios with the incubating
// and sandbox rules files loaded after falco_rules.yaml, as a deployment
// that enables them does: the later files must not change what the stable
// rules detect.
func TestUpstreamRulesAllFiles(t *testing.T) {
	path := upstreamRules(t)
	args := []string{"-r", path}
	for _, f := range []string{"falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"} {
		p := filepath.Join(filepath.Dir(path), f)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("VIGIL_FALCO_RULES_DIR is set but: %v", err)
		}
		args = append(args, "-r", p)
	}
	upstreamSuite.run(t, append(args, "-o", "priority=debug")...)
}

// TestUpstreamRulesTables checks that every rule of falco_rules.yaml has a
// scenario or a reason why it cannot be triggered here.
func TestUpstreamRulesTables(t *testing.T) {
	upstreamSuite.checkTables(t, upstreamRules(t))
}

// trustedAfterStartup is the age Falco's proc_is_new macro allows (5 s)
// plus a margin: a process older than that is no longer "new".
const trustedAfterStartup = 6 * time.Second

var upstreamSuite = &suite{
	name: "upstream",
	notTriggerable: map[string]string{
		"Contact K8S API Server From Container": "needs fd.sip.name = kubernetes.default.svc.cluster.local: " +
			"a Kubernetes API server behind cluster DNS, and Vigil does not resolve names yet " +
			"(fd.sip.name is always unavailable)",
		"Debugfs Launched in Privileged Container": "needs container.privileged = true, runtime metadata " +
			"that only a container runtime integration provides (unavailable for a cgroup-only container)",
	},
	setup: func(t *testing.T, e *env) {
		// A web server that has been running for a while (see
		// trustedAfterStartup); started first so that the other scenarios
		// use up most of the wait.
		e.oldServer = e.startAgent(t, program(t, e.dir, "nginx"))
		e.oldServerStart = time.Now()
	},
	scenarios: []scenario{
		{name: "Directory traversal monitored file read", rules: []string{"Directory traversal monitored file read"}, run: upDirectoryTraversal},
		{name: "Read sensitive file untrusted", rules: []string{"Read sensitive file untrusted"}, run: upReadSensitiveUntrusted},
		{name: "Run shell untrusted", rules: []string{"Run shell untrusted"}, run: upRunShellUntrusted},
		{name: "System user interactive", rules: []string{"System user interactive"}, run: upSystemUserInteractive},
		{name: "Terminal shell in container", rules: []string{"Terminal shell in container"}, run: upTerminalShellInContainer},
		{name: "Netcat Remote Code Execution in Container", rules: []string{"Netcat Remote Code Execution in Container"}, run: upNetcatInContainer},
		{name: "Search Private Keys or Passwords", rules: []string{"Search Private Keys or Passwords"}, run: upSearchPrivateKeys},
		{name: "Clear Log Activities", rules: []string{"Clear Log Activities"}, run: upClearLog},
		{name: "Remove Bulk Data from Disk", rules: []string{"Remove Bulk Data from Disk"}, run: upRemoveBulkData},
		{name: "Create Symlink Over Sensitive Files", rules: []string{"Create Symlink Over Sensitive Files"}, run: upSymlink},
		{name: "Create Hardlink Over Sensitive Files", rules: []string{"Create Hardlink Over Sensitive Files"}, run: upHardlink},
		{name: "Packet socket created in container", rules: []string{"Packet socket created in container"}, run: upPacketSocket},
		{name: "Redirect STDOUT/STDIN to Network Connection in Container", rules: []string{"Redirect STDOUT/STDIN to Network Connection in Container"}, run: upRedirectStdout},
		{name: "Linux Kernel Module Injection Detected", rules: []string{"Linux Kernel Module Injection Detected"}, run: upKernelModule},
		{name: "Detect release_agent File Container Escapes", rules: []string{"Detect release_agent File Container Escapes"}, run: upReleaseAgent},
		{name: "PTRACE attached to process", rules: []string{"PTRACE attached to process"}, run: upPtraceAttach},
		{name: "PTRACE anti-debug attempt", rules: []string{"PTRACE anti-debug attempt"}, run: upPtraceTraceme},
		{name: "Find AWS Credentials", rules: []string{"Find AWS Credentials"}, run: upFindAWSCredentials},
		{name: "Execution from /dev/shm", rules: []string{"Execution from /dev/shm"}, run: upExecDevShm},
		{name: "Drop and execute new binary in container", rules: []string{"Drop and execute new binary in container"}, run: upDropAndExecute},
		{name: "Disallowed SSH Connection Non Standard Port", rules: []string{"Disallowed SSH Connection Non Standard Port"}, run: upSSHNonStandardPort},
		{name: "Fileless execution via memfd_create", rules: []string{"Fileless execution via memfd_create"}, run: upMemfd},
		// Last: it waits for the server started by setup to be old enough.
		{name: "Read sensitive file trusted after startup", rules: []string{"Read sensitive file trusted after startup"}, run: upReadSensitiveTrusted},
	},
}

// upDirectoryTraversal: a program (whose parent is not a shell) opens
// /etc/passwd through a relative path that climbs out of its directory.
func upDirectoryTraversal(t *testing.T, e *env) {
	rel := "../../etc/passwd"
	cmd := command(helperBin, "@open-read", rel)
	cmd.Dir = e.dir // /tmp/vigil-e2e-...: ../../etc/passwd is /etc/passwd
	if filepath.Join(e.dir, rel) != "/etc/passwd" {
		t.Skipf("the scratch directory %s is not two levels below /", e.dir)
	}
	pid := e.run(t, cmd, false)
	a := e.alerts.expectRule(t, "Directory traversal monitored file read", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      "/etc/passwd",
		"fd.nameraw":   rel,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-read " + rel,
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// upReadSensitiveUntrusted: cat reads /etc/shadow.
func upReadSensitiveUntrusted(t *testing.T, e *env) {
	pid := e.run(t, command("/bin/cat", "/etc/shadow"), false)
	a := e.alerts.expectRule(t, "Read sensitive file untrusted", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      "/etc/shadow",
		"proc.name":    "cat",
		"proc.cmdline": "cat /etc/shadow",
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// upReadSensitiveTrusted: a web server that has run for longer than 5 s
// reads /etc/shadow.
func upReadSensitiveTrusted(t *testing.T, e *env) {
	// The rule's own condition (not proc_is_new) needs an old process;
	// this waits for the process to age, it does not synchronise.
	time.Sleep(time.Until(e.oldServerStart.Add(trustedAfterStartup)))
	e.oldServer.do(t, "@open-read", "/etc/shadow")
	a := e.alerts.expectRule(t, "Read sensitive file trusted after startup", e.oldServer.cmd.Process.Pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      "/etc/shadow",
		"proc.name":    "nginx",
		"proc.cmdline": "nginx @agent",
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// upRunShellUntrusted: a program named nginx spawns a shell.
func upRunShellUntrusted(t *testing.T, e *env) {
	pid := e.runProg(t, program(t, e.dir, "nginx"), "@spawn", "/bin/sh", "-c", "exit 0")
	a := e.alerts.expectRule(t, "Run shell untrusted", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "sh",
		"proc.cmdline": "sh -c exit 0",
		"proc.pname":   "nginx",
		"user.name":    "root",
	})
}

// upSystemUserInteractive: below a process named sshd, a program runs as
// the system user nobody.
func upSystemUserInteractive(t *testing.T, e *env) {
	pid := e.runProg(t, program(t, e.dir, "sshd"), "@spawn", "--uid", "65534", "/bin/true", "from-sshd")
	a := e.alerts.expectRule(t, "System user interactive", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "true",
		"proc.cmdline": "true from-sshd",
		"proc.pname":   "sshd",
		"user.name":    "nobody",
		"user.uid":     "65534",
	})
}

// upTerminalShellInContainer: a shell with a terminal started by runc in a
// container.
func upTerminalShellInContainer(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	cmd := c.command(true, "/bin/sh", "-c", "read line; exit 0")
	in := e.start(t, cmd)
	a := e.alerts.expectRule(t, "Terminal shell in container", cmd.Process.Pid, nil)
	finish(t, cmd, in)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "sh",
		"proc.cmdline": "sh -c read line; exit 0",
		"proc.pname":   "runc",
		"user.name":    "root",
	})
	if tty := a.str("proc.tty"); tty == "0" || strings.HasPrefix(tty, "<") {
		t.Errorf("proc.tty = %s, want the terminal's device number", tty)
	}
	containerWant(t, a, c)
}

// suggestedOutputBug describes why upstream alerts lack container fields.
const suggestedOutputBug = "output_fields has no container.id: the upstream rules do not name the container " +
	"fields in their outputs; Falco appends them (container_id=%container.id container_name=%container.name) " +
	"because append_output's suggested_output is true by default, and Vigil parses suggested_output " +
	"but does not implement it"

// containerWant checks the container.id of an upstream rule's alert. Its
// absence is a known bug, reported as an error only with
// VIGIL_E2E_KNOWN_BUGS=1.
func containerWant(t *testing.T, a *alert, c *fakeContainer) {
	t.Helper()
	if _, ok := a.Fields["container.id"]; !ok {
		if os.Getenv("VIGIL_E2E_KNOWN_BUGS") == "1" {
			t.Errorf("%s", suggestedOutputBug)
		} else {
			t.Logf("known bug (set VIGIL_E2E_KNOWN_BUGS=1 to fail on it): %s", suggestedOutputBug)
		}
		return
	}
	fieldsWant(t, a, map[string]string{"container.id": c.shortID()})
}

// upNetcatInContainer: nc -e in a container (a dummy program named nc).
func upNetcatInContainer(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	h := e.startHeld(t, c.command(false, program(t, e.dir, "nc"), "-e", "/bin/sh", "127.0.0.1", "4444"))
	a := e.alerts.expectRule(t, "Netcat Remote Code Execution in Container", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "nc",
		"proc.cmdline": "nc -e /bin/sh 127.0.0.1 4444",
		"proc.pname":   "runc",
		"user.name":    "root",
	})
	containerWant(t, a, c)
}

// upSearchPrivateKeys: grep for a private key header, and find looking for
// id_rsa, in a scratch directory.
func upSearchPrivateKeys(t *testing.T, e *env) {
	t.Run("grep", func(t *testing.T) {
		pid := e.run(t, command("/bin/grep", "-rl", "BEGIN RSA PRIVATE", e.dir), true) // no match: status 1
		a := e.alerts.expectRule(t, "Search Private Keys or Passwords", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "grep",
			"proc.cmdline": "grep -rl BEGIN RSA PRIVATE " + e.dir,
			"proc.pname":   e.self,
		})
	})
	t.Run("find", func(t *testing.T) {
		pid := e.run(t, command(findPath(t), e.dir, "-name", "id_rsa"), false)
		a := e.alerts.expectRule(t, "Search Private Keys or Passwords", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "find",
			"proc.cmdline": "find " + e.dir + " -name id_rsa",
		})
	})
}

func findPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("find")
	if err != nil {
		t.Skip("no find here:", err)
	}
	return p
}

// upClearLog: a log file (a scratch auth.log) truncated on open.
func upClearLog(t *testing.T, e *env) {
	path := filepath.Join(e.dir, "auth.log")
	pid := e.runProg(t, helperBin, "@open-write", path, "trunc")
	a := e.alerts.expectRule(t, "Clear Log Activities", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path + " trunc",
		"proc.pname":   e.self,
	})
}

// upRemoveBulkData: shred of a scratch file.
func upRemoveBulkData(t *testing.T, e *env) {
	shred, err := exec.LookPath("shred")
	if err != nil {
		t.Skip("no shred here:", err)
	}
	path := filepath.Join(e.dir, "data")
	if err := os.WriteFile(path, []byte("data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid := e.run(t, command(shred, "-u", path), false)
	a := e.alerts.expectRule(t, "Remove Bulk Data from Disk", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "shred",
		"proc.cmdline": "shred -u " + path,
		"proc.pname":   e.self,
	})
}

// upSymlink: a symlink to /etc/shadow in a scratch directory.
func upSymlink(t *testing.T, e *env) {
	link := filepath.Join(e.dir, "shadow")
	pid := e.run(t, command("/bin/ln", "-s", "/etc/shadow", link), false)
	a := e.alerts.expectRule(t, "Create Symlink Over Sensitive Files", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"evt.arg.target":   "/etc/shadow",
		"evt.arg.linkpath": link,
		"proc.name":        "ln",
		"proc.cmdline":     "ln -s /etc/shadow " + link,
	})
}

// upHardlink: an attempt to hard-link /etc/shadow into /dev/shm; it fails
// (another file system), so no copy of the file's name is left behind, but
// the rule matches the attempt.
func upHardlink(t *testing.T, e *env) {
	dir := scratchDir(t, "/dev/shm")
	link := filepath.Join(dir, "shadow")
	removeAtEnd(t, link) // in case /etc and /dev/shm share a file system
	pid := e.run(t, command("/bin/ln", "/etc/shadow", link), true)
	a := e.alerts.expectRule(t, "Create Hardlink Over Sensitive Files", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"evt.arg.oldpath": "/etc/shadow",
		"evt.arg.newpath": link,
		"proc.name":       "ln",
		"proc.cmdline":    "ln /etc/shadow " + link,
	})
}

// upPacketSocket: an AF_PACKET socket opened in a container (no frame is
// sent).
func upPacketSocket(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	h := e.startHeld(t, c.command(false, helperBin, "@packet-socket"))
	a := e.alerts.expectRule(t, "Packet socket created in container", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @packet-socket",
		"proc.pname":   "runc",
	})
	containerWant(t, a, c)
}

// upRedirectStdout: a process in a container connects to a loopback
// listener and duplicates the socket onto its stdout.
func upRedirectStdout(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	l := listen(t, "127.0.0.1:0")
	addr := fmt.Sprintf("127.0.0.1:%d", l.port())
	h := e.startHeld(t, c.command(false, helperBin, "@dup-connect", addr))
	client := l.client(t)
	a := e.alerts.expectRule(t, "Redirect STDOUT/STDIN to Network Connection in Container", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      client + "->" + addr,
		"fd.rport":     strconv.Itoa(l.port()),
		"fd.type":      "ipv4",
		"fd.l4proto":   "tcp",
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @dup-connect " + addr,
	})
	containerWant(t, a, c)
}

// upKernelModule: finit_module of a file that is not a module, from a
// container whose process has CAP_SYS_MODULE. The call fails (the rule does
// not look at the result): nothing is loaded.
func upKernelModule(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	notModule := filepath.Join(e.dir, "not-a-module.ko")
	if err := os.WriteFile(notModule, []byte("not an ELF module\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := e.startHeld(t, c.command(false, helperBin, "@finit-module", notModule))
	a := e.alerts.expectRule(t, "Linux Kernel Module Injection Detected", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @finit-module " + notModule,
		"proc.pname":   "runc",
	})
	containerWant(t, a, c)
}

// upReleaseAgent: a file named release_agent (a scratch file, not a cgroup
// v1 release_agent) opened for writing by root in a container.
func upReleaseAgent(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	path := filepath.Join(e.dir, "release_agent")
	h := e.startHeld(t, c.command(false, helperBin, "@open-write", path))
	a := e.alerts.expectRule(t, "Detect release_agent File Container Escapes", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path,
	})
	if caps := a.str("thread.cap_effective"); !strings.Contains(caps, "CAP_SYS_ADMIN") {
		t.Errorf("thread.cap_effective = %q, want it to contain CAP_SYS_ADMIN", caps)
	}
	containerWant(t, a, c)
}

// upPtraceAttach: PTRACE_ATTACH to a sleeping process (see ptraceAttach).
func upPtraceAttach(t *testing.T, e *env) {
	target := strconv.Itoa(sleeper(t))
	pid := e.runProg(t, helperBin, "@ptrace-attach", "attach", target)
	a := e.alerts.expectRule(t, "PTRACE attached to process", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @ptrace-attach attach " + target,
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// upPtraceTraceme: a child asks to be traced by its parent
// (PTRACE_TRACEME), as anti-debugging code does. Under the ptrace driver
// the child already has a tracer (vigil) and the request fails, which the
// rule does not look at; so the helper may fail.
func upPtraceTraceme(t *testing.T, e *env) {
	pid := e.run(t, command(helperBin, "@traceme"), true)
	a := e.alerts.expectRule(t, "PTRACE anti-debug attempt", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":  "e2ehelper",
		"proc.pname": "e2ehelper",
		"user.name":  "root",
	})
}

// upFindAWSCredentials: grep for an AWS key name, and find naming
// .aws/credentials, in a scratch directory.
func upFindAWSCredentials(t *testing.T, e *env) {
	t.Run("grep", func(t *testing.T) {
		pid := e.run(t, command("/bin/grep", "-r", "aws_secret_access_key", e.dir), true) // no match: status 1
		a := e.alerts.expectRule(t, "Find AWS Credentials", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "grep",
			"proc.cmdline": "grep -r aws_secret_access_key " + e.dir,
		})
	})
	t.Run("find", func(t *testing.T) {
		creds := filepath.Join(e.dir, ".aws", "credentials")
		if err := os.MkdirAll(filepath.Dir(creds), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(creds, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		pid := e.run(t, command(findPath(t), creds), false)
		a := e.alerts.expectRule(t, "Find AWS Credentials", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "find",
			"proc.cmdline": "find " + creds,
		})
	})
}

// upExecDevShm: a program in /dev/shm run by its full path, and as
// ./prog from /dev/shm.
func upExecDevShm(t *testing.T, e *env) {
	dir := scratchDir(t, "/dev/shm")
	path := program(t, dir, "shmprog")
	t.Run("full path", func(t *testing.T) {
		pid := e.run(t, exec.Command(path, "payload"), false)
		a := e.alerts.expectRule(t, "Execution from /dev/shm", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "shmprog",
			"proc.exepath": path,
			"proc.cmdline": "shmprog payload",
			"proc.pname":   e.self,
		})
	})
	t.Run("relative", func(t *testing.T) {
		cmd := exec.Command("./shmprog", "payload")
		cmd.Dir = dir
		pid := e.run(t, cmd, false)
		a := e.alerts.expectRule(t, "Execution from /dev/shm", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "shmprog",
			"proc.exepath": path,
		})
	})
}

// upDropAndExecute: in a container, a program copied into an overlay file
// system (so into its upper layer) and executed.
func upDropAndExecute(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	ovl := filepath.Join(e.dir, "overlay")
	h := e.startHeld(t, c.command(false, helperBin, "@overlay-exec", ovl, helperBin))
	a := e.alerts.expectRule(t, "Drop and execute new binary in container", h.pid, nil)
	h.done(t)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "dropped",
		"proc.exepath": filepath.Join(ovl, "merged", "dropped"),
	})
	containerWant(t, a, c)
}

// upSSHNonStandardPort: a program named ssh connects to port 4444 of an
// address that is neither loopback nor private. The address is given to the
// loopback interface of a network namespace of its own, so nothing leaves
// the machine.
func upSSHNonStandardPort(t *testing.T, e *env) {
	const ip, port = "198.51.100.7", "4444" // TEST-NET-2 (RFC 5737)
	ssh := program(t, e.dir, "ssh")
	pid := e.runProg(t, helperBin, "@netns-connect", ip, port, ssh, "@connect", ip+":"+port)
	a := e.alerts.expectRule(t, "Disallowed SSH Connection Non Standard Port", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.rport":     port,
		"fd.l4proto":   "tcp",
		"proc.name":    "ssh",
		"proc.cmdline": "ssh @connect " + ip + ":" + port,
		"proc.pname":   "e2ehelper",
	})
	if name := a.str("fd.name"); !strings.HasSuffix(name, "->"+ip+":"+port) {
		t.Errorf("fd.name = %q, want a connection to %s:%s", name, ip, port)
	}
}

// upMemfd: a program executed from a memfd.
func upMemfd(t *testing.T, e *env) {
	pid := e.runProg(t, helperBin, "@memfd-exec", "execveat", "/bin/true", "payload", "arg1")
	a := e.alerts.expectRule(t, "Fileless execution via memfd_create", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.pname": e.self,
		"user.name":  "root",
	})
	if got := a.str("proc.exepath"); !strings.HasPrefix(got, "/memfd:vigil-e2e") {
		t.Errorf("proc.exepath = %q, want /memfd:vigil-e2e (deleted)", got)
	}
}
