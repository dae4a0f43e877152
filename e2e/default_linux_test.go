package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// defaultRulesFile is the embedded default ruleset, relative to this
// package's directory.
const defaultRulesFile = "../rules/default/vigil_rules.yaml"

// TestDefaultRules runs vigil with its embedded default rules and checks
// that real actions raise the alerts the acceptance names, with
// their fields, and that a benign control run raises nothing.
func TestDefaultRules(t *testing.T) {
	defaultSuite.run(t)
}

// TestDefaultRulesTables checks that every default rule has a scenario or
// a reason why it cannot be triggered here.
func TestDefaultRulesTables(t *testing.T) {
	defaultSuite.checkTables(t, defaultRulesFile)
}

var defaultSuite = &suite{
	name: "default",
	notTriggerable: map[string]string{
		"Kernel module loaded": "needs a successful init_module/finit_module, that is a real kernel module " +
			"built for the running kernel (and a kernel with module support; this one has none); " +
			"a failed attempt does not match (evt.res = SUCCESS)",
		"Privileged container started": "needs a container event (evt.type = container) with runtime " +
			"metadata (container.privileged), which only a container runtime integration produces",
		"Container with a sensitive host mount started": "needs a container event (evt.type = container) " +
			"with the container's mounts from a container runtime",
	},
	scenarios: []scenario{
		{name: "shell in a container", rules: []string{"Shell spawned in a container"}, run: shellInContainer},
		{name: "write below /etc", rules: []string{"File below /etc opened for writing"}, run: writeBelowEtc},
		{name: "read /etc/shadow", rules: []string{"Sensitive file read by untrusted program"}, run: readShadow},
		{name: "suspicious port", rules: []string{"Connection to a suspicious port"}, run: suspiciousPort},
		{name: "miner", rules: []string{"Cryptocurrency miner launched"}, run: miner},
		{name: "exec from /dev/shm", rules: []string{"Execution from /dev/shm"}, run: execDevShm},
		{name: "exec from memfd", rules: []string{"Fileless execution from memfd"}, run: execMemfd},
		{name: "ptrace attach", rules: []string{"Process attached with ptrace"}, run: ptraceAttach},
		{name: "netcat with exec", rules: []string{"Netcat with command execution"}, run: netcatExec},
		{name: "write below a binary directory", rules: []string{"Write below a binary directory"}, run: writeBinDir},
		{name: "ssh key read", rules: []string{"SSH private key or authorized_keys read"}, run: sshKeyRead},
		{name: "shell stdout to network", rules: []string{"Shell with standard streams redirected to the network"}, run: shellDupSocket},
		{name: "write below /tmp in a container", rules: []string{"Write below /tmp in a container"}, run: containerTmpWrite},
		{name: "package manager in a container", rules: []string{"Package manager launched in a container"}, run: containerPackageManager},
		// The same actions by processes that stay alive, with what they
		// opened, until the alert: what a driver that polls /proc sees.
		{name: "read /etc/shadow, held open", rules: []string{"Sensitive file read by untrusted program"}, run: readShadowHeld},
		{name: "write below /etc, held open", rules: []string{"File below /etc opened for writing"}, run: writeBelowEtcHeld},
		{name: "write below a binary directory, held open", rules: []string{"Write below a binary directory"}, run: writeBinDirHeld},
		{name: "ssh key read, held open", rules: []string{"SSH private key or authorized_keys read"}, run: sshKeyReadHeld},
		{name: "suspicious port, held open", rules: []string{"Connection to a suspicious port"}, run: suspiciousPortHeld(true)},
		{name: "suspicious port, held open, peer closed", rules: []string{"Connection to a suspicious port"}, run: suspiciousPortHeld(false)},
		{name: "miner, kept running", rules: []string{"Cryptocurrency miner launched"}, run: minerHeld},
		{name: "listening netcat shell", rules: []string{"Netcat with command execution"}, run: netcatListening},
		{name: "exec from /dev/shm, kept running", rules: []string{"Execution from /dev/shm"}, run: execDevShmHeld},
		{name: "exec from memfd, kept running", rules: []string{"Fileless execution from memfd"}, run: execMemfdHeld},
		{name: "benign control", run: benignControl},
	},
}

// shellInContainer: a shell exec'd by a runc-like parent in a process
// whose cgroup is a docker container's and which has its own pid, mount
// and uts namespaces.
func shellInContainer(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	cmd := c.command(false, "/bin/sh", "-c", "read line; exit 0")
	in := e.start(t, cmd)
	a := e.alerts.expectRule(t, "Shell spawned in a container", cmd.Process.Pid, nil)
	finish(t, cmd, in)
	e.fieldsWant(t, a, map[string]string{
		"proc.name":    "sh",
		"proc.cmdline": "sh -c read line; exit 0",
		"proc.pname":   "runc",
		"user.name":    "root",
		"user.uid":     "0",
		"container.id": c.shortID(),
	})
}

// writeBelowEtc: a program that does not manage configuration writes a
// scratch file under /etc.
func writeBelowEtc(t *testing.T, e *env) {
	path := filepath.Join("/etc", marker(t))
	removeAtEnd(t, path)
	pid := e.runProg(t, helperBin, "@open-write", path)
	a := e.alerts.expectRule(t, "File below /etc opened for writing", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path,
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// readShadow: cat reads /etc/shadow.
func readShadow(t *testing.T, e *env) {
	pid := e.run(t, command("/bin/cat", "/etc/shadow"), false)
	a := e.alerts.expectRule(t, "Sensitive file read by untrusted program", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      "/etc/shadow",
		"proc.name":    "cat",
		"proc.cmdline": "cat /etc/shadow",
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// suspiciousPort: a child process connects to a listener of the test on
// 127.0.0.1:4444 (a port on vigil_suspicious_ports).
func suspiciousPort(t *testing.T, e *env) {
	l := listen(t, "127.0.0.1:4444")
	addr := "127.0.0.1:4444"
	pid := e.runProg(t, helperBin, "@connect", addr)
	client := l.client(t)
	a := e.alerts.expectRule(t, "Connection to a suspicious port", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      client + "->" + addr,
		"fd.rport":     "4444",
		"fd.l4proto":   "tcp",
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @connect " + addr,
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// miner: a program named xmrig, and a program given a stratum pool URL.
func miner(t *testing.T, e *env) {
	t.Run("name", func(t *testing.T) {
		pid := e.runProg(t, program(t, e.dir, "xmrig"), "--threads", "1")
		a := e.alerts.expectRule(t, "Cryptocurrency miner launched", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "xmrig",
			"proc.cmdline": "xmrig --threads 1",
			"proc.pname":   e.self,
			"proc.exepath": filepath.Join(e.dir, "xmrig"),
			"user.name":    "root",
			"container.id": "host",
		})
	})
	t.Run("stratum URL", func(t *testing.T) {
		pid := e.runProg(t, program(t, e.dir, "worker"), "-o", "stratum+tcp://pool.invalid:3333", "-u", "x")
		a := e.alerts.expectRule(t, "Cryptocurrency miner launched", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "worker",
			"proc.cmdline": "worker -o stratum+tcp://pool.invalid:3333 -u x",
			"proc.pname":   e.self,
			"user.name":    "root",
		})
	})
}

// execDevShm: a program copied to /dev/shm and run from there.
func execDevShm(t *testing.T, e *env) {
	dir := scratchDir(t, "/dev/shm")
	path := program(t, dir, "shmprog")
	pid := e.runProg(t, path, "payload")
	a := e.alerts.expectRule(t, "Execution from /dev/shm", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.exepath": path,
		"proc.cmdline": "shmprog payload",
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// execMemfd: a program copied into a memfd and executed from it, with
// execveat(AT_EMPTY_PATH) and through /proc/self/fd as fexecve did.
func execMemfd(t *testing.T, e *env) {
	for _, how := range []string{"execveat", "proc"} {
		t.Run(how, func(t *testing.T) {
			pid := e.runProg(t, helperBin, "@memfd-exec", how, "/bin/true", "memfd-payload", "arg1")
			a := e.alerts.expectRule(t, "Fileless execution from memfd", pid, nil)
			e.fieldsWant(t, a, map[string]string{
				"proc.pname":   e.self,
				"user.name":    "root",
				"container.id": "host",
			})
			// The kernel names the process after the descriptor ("3"),
			// and so does Falco's proc.name; the arguments follow.
			if got := a.str("proc.cmdline"); !strings.HasSuffix(got, " arg1") {
				t.Errorf("proc.cmdline = %q, want the payload's arguments (ending in \" arg1\")", got)
			}
			if got := a.str("proc.exepath"); !strings.HasPrefix(got, "/memfd:vigil-e2e") {
				t.Errorf("proc.exepath = %q, want /memfd:vigil-e2e (deleted), as Falco shows it", got)
			}
		})
	}
}

// ptraceAttach: a program attaches to a sleeping process with
// PTRACE_ATTACH, and with PTRACE_SEIZE. The target is started by the test,
// not by the program: under the ptrace driver the program's own children
// are traced by vigil, and a process has one tracer.
func ptraceAttach(t *testing.T, e *env) {
	for _, req := range []string{"attach", "seize"} {
		t.Run(req, func(t *testing.T) {
			target := sleeper(t)
			pid := e.runProg(t, helperBin, "@ptrace-attach", req, strconv.Itoa(target))
			a := e.alerts.expectRule(t, "Process attached with ptrace", pid, nil)
			e.fieldsWant(t, a, map[string]string{
				"proc.name":       "e2ehelper",
				"proc.cmdline":    "e2ehelper @ptrace-attach " + req + " " + strconv.Itoa(target),
				"proc.pname":      e.self,
				"user.name":       "root",
				"container.id":    "host",
				"evt.arg.pid":     strconv.Itoa(target),
				"evt.arg.request": "PTRACE_" + strings.ToUpper(req),
			})
		})
	}
}

// netcatExec: nc started with -e. Real netcat is not needed (nor run): a
// dummy program named nc with the same command line is what the rule sees.
func netcatExec(t *testing.T, e *env) {
	pid := e.runProg(t, program(t, e.dir, "nc"), "-e", "/bin/sh", "127.0.0.1", "4444")
	a := e.alerts.expectRule(t, "Netcat with command execution", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"proc.cmdline": "nc -e /bin/sh 127.0.0.1 4444",
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// writeBinDir: a scratch file written in /usr/local/bin.
func writeBinDir(t *testing.T, e *env) {
	if err := os.MkdirAll("/usr/local/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("/usr/local/bin", marker(t))
	removeAtEnd(t, path)
	pid := e.runProg(t, helperBin, "@open-write", path)
	a := e.alerts.expectRule(t, "Write below a binary directory", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path,
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// sshKeyRead: a private key in a scratch home's .ssh read by cat.
func sshKeyRead(t *testing.T, e *env) {
	key := filepath.Join(e.dir, ".ssh", "id_rsa")
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid := e.run(t, command("/bin/cat", key), false)
	a := e.alerts.expectRule(t, "SSH private key or authorized_keys read", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      key,
		"proc.name":    "cat",
		"proc.cmdline": "cat " + key,
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// shellDupSocket: a program named bash connects to a loopback listener and
// duplicates the socket onto its stdout.
func shellDupSocket(t *testing.T, e *env) {
	l := listen(t, "127.0.0.1:0")
	addr := fmt.Sprintf("127.0.0.1:%d", l.port())
	pid := e.runProg(t, program(t, e.dir, "bash"), "@dup-connect", addr)
	client := l.client(t)
	a := e.alerts.expectRule(t, "Shell with standard streams redirected to the network", pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      client + "->" + addr,
		"proc.name":    "bash",
		"proc.cmdline": "bash @dup-connect " + addr,
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// containerShortLivedBug describes the bug the short-lived container
// scenarios reproduce.
const containerShortLivedBug = "a process that execs in a container's cgroup after its parent moved there " +
	"(as runc's init does) and exits within milliseconds is attributed to the host: state re-reads " +
	"/proc/PID/cgroup when it handles the exec event, the process is gone by then, and the eBPF exec " +
	"record carries no cgroup"

// containerTmpWrite: a process in a container writes a file below /tmp;
// once while it stays alive until the alert, and once short-lived.
func containerTmpWrite(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	if !strings.HasPrefix(e.dir, "/tmp/") {
		t.Skipf("the scratch directory %s is not below /tmp (TMPDIR is set)", e.dir)
	}
	check := func(t *testing.T, pid int, path string) {
		t.Helper()
		a := e.alerts.expectRule(t, "Write below /tmp in a container", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"fd.name":      path,
			"proc.cmdline": "e2ehelper @open-write " + path,
			"container.id": c.shortID(),
		})
	}
	t.Run("held", func(t *testing.T) {
		path := filepath.Join(e.dir, "held")
		h := e.startHeld(t, c.command(false, helperBin, "@open-write", path))
		check(t, h.pid, path)
		h.done(t)
	})
	t.Run("short-lived", func(t *testing.T) {
		knownBug(t, containerShortLivedBug)
		path := filepath.Join(e.dir, "short")
		check(t, e.run(t, c.command(false, helperBin, "@open-write", path), false), path)
	})
}

// containerPackageManager: apt run in a container; once while it stays
// alive until the alert, and once short-lived.
func containerPackageManager(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	apt := program(t, e.dir, "apt")
	check := func(t *testing.T, pid int) {
		t.Helper()
		a := e.alerts.expectRule(t, "Package manager launched in a container", pid, nil)
		e.fieldsWant(t, a, map[string]string{
			"proc.name":    "apt",
			"proc.cmdline": "apt install -y curl",
			"proc.pname":   "runc",
			"user.name":    "root",
			"container.id": c.shortID(),
		})
	}
	t.Run("held", func(t *testing.T) {
		h := e.startHeld(t, c.command(false, apt, "install", "-y", "curl"))
		check(t, h.pid)
		h.done(t)
	})
	t.Run("short-lived", func(t *testing.T) {
		knownBug(t, containerShortLivedBug)
		check(t, e.run(t, c.command(false, apt, "install", "-y", "curl"), false))
	})
}

// benignControl: ls, cat of an ordinary file and a loopback connection to
// an ordinary port raise nothing. A barrier process that does raise an
// alert runs afterwards, so every event of the control processes has been
// evaluated when the test looks.
func benignControl(t *testing.T, e *env) {
	file := filepath.Join(e.dir, "notes.txt")
	if err := os.WriteFile(file, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := listen(t, "127.0.0.1:0")
	n := e.alerts.count()
	var pids []int
	pids = append(pids, e.run(t, command("/bin/ls", "-la", e.dir), false))
	pids = append(pids, e.run(t, command("/bin/cat", file), false))
	pids = append(pids, e.runProg(t, helperBin, "@connect", fmt.Sprintf("127.0.0.1:%d", l.port())))
	l.client(t)
	e.barrier(t)
	for _, a := range e.alerts.since(n) {
		for _, pid := range pids {
			if a.from(pid) {
				t.Errorf("benign process %d raised %q: %s", pid, a.Rule, a.raw)
			}
		}
	}
}

// heldAlert starts cmd held (env.startHeld), waits for the alert of rule
// from it, checks the alert's fields and lets the process exit.
func (e *env) heldAlert(t *testing.T, rule string, cmd *exec.Cmd, want map[string]string) *alert {
	t.Helper()
	h := e.startHeld(t, cmd)
	a := e.alerts.expectRule(t, rule, h.pid, nil)
	e.fieldsWant(t, a, want)
	h.done(t)
	return a
}

// readShadowHeld: a program opens /etc/shadow and keeps it open.
func readShadowHeld(t *testing.T, e *env) {
	e.heldAlert(t, "Sensitive file read by untrusted program", command(helperBin, "@open-read", "/etc/shadow"), map[string]string{
		"fd.name":      "/etc/shadow",
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-read /etc/shadow",
		"proc.pname":   e.self,
		"user.name":    "root",
		"container.id": "host",
	})
}

// writeBelowEtcHeld: a scratch file under /etc opened for writing and
// kept open.
func writeBelowEtcHeld(t *testing.T, e *env) {
	path := filepath.Join("/etc", marker(t))
	removeAtEnd(t, path)
	e.heldAlert(t, "File below /etc opened for writing", command(helperBin, "@open-write", path), map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path,
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// writeBinDirHeld: a scratch file in /usr/local/bin opened for writing and
// kept open.
func writeBinDirHeld(t *testing.T, e *env) {
	if err := os.MkdirAll("/usr/local/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("/usr/local/bin", marker(t))
	removeAtEnd(t, path)
	e.heldAlert(t, "Write below a binary directory", command(helperBin, "@open-write", path), map[string]string{
		"fd.name":      path,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-write " + path,
		"proc.pname":   e.self,
	})
}

// sshKeyReadHeld: a private key in a scratch home opened and kept open.
func sshKeyReadHeld(t *testing.T, e *env) {
	key := filepath.Join(e.dir, ".ssh", "id_ed25519")
	if err := os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.heldAlert(t, "SSH private key or authorized_keys read", command(helperBin, "@open-read", key), map[string]string{
		"fd.name":      key,
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @open-read " + key,
		"proc.pname":   e.self,
	})
}

// suspiciousPortHeld: a connection to 127.0.0.1:4444 that the client keeps
// open until the alert; the server keeps its end open too with peerOpen,
// and closes it at once (the client's socket is then in CLOSE_WAIT)
// without.
func suspiciousPortHeld(peerOpen bool) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		suspiciousPortHeldRun(t, e, peerOpen)
	}
}

func suspiciousPortHeldRun(t *testing.T, e *env, peerOpen bool) {
	addr := "127.0.0.1:4444"
	l := listenKeep(t, addr, peerOpen)
	h := e.startHeld(t, command(helperBin, "@connect", addr))
	client := l.client(t)
	a := e.alerts.expectRule(t, "Connection to a suspicious port", h.pid, nil)
	e.fieldsWant(t, a, map[string]string{
		"fd.name":      client + "->" + addr,
		"fd.rport":     "4444",
		"fd.l4proto":   "tcp",
		"proc.name":    "e2ehelper",
		"proc.cmdline": "e2ehelper @connect " + addr,
		"proc.pname":   e.self,
		"user.name":    "root",
	})
	h.done(t)
}

// minerHeld: a program named xmrig that keeps running.
func minerHeld(t *testing.T, e *env) {
	path := program(t, e.dir, "xmrig")
	e.heldAlert(t, "Cryptocurrency miner launched", command(path, "--threads", "1"), map[string]string{
		"proc.name":    "xmrig",
		"proc.cmdline": "xmrig --threads 1",
		"proc.pname":   e.self,
		"proc.exepath": path,
		"user.name":    "root",
		"container.id": "host",
	})
}

// netcatListening: a bind shell: a program named nc, started to serve a
// shell on a port, that listens on a loopback port and keeps running.
func netcatListening(t *testing.T, e *env) {
	cmd := command(program(t, e.dir, "nc"), "-l", "-p", "0", "-e", "/bin/sh")
	cmd.Env = append(os.Environ(), "VIGIL_E2E_LISTEN=127.0.0.1:0")
	e.heldAlert(t, "Netcat with command execution", cmd, map[string]string{
		"proc.cmdline": "nc -l -p 0 -e /bin/sh",
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// execDevShmHeld: a program run from /dev/shm that keeps running.
func execDevShmHeld(t *testing.T, e *env) {
	path := program(t, scratchDir(t, "/dev/shm"), "shmprog")
	e.heldAlert(t, "Execution from /dev/shm", command(path, "payload"), map[string]string{
		"proc.exepath": path,
		"proc.cmdline": "shmprog payload",
		"proc.pname":   e.self,
		"user.name":    "root",
	})
}

// execMemfdHeld: a copy of the helper executed from a memfd, which keeps
// running.
func execMemfdHeld(t *testing.T, e *env) {
	a := e.heldAlert(t, "Fileless execution from memfd",
		command(helperBin, "@memfd-exec", "execveat", helperBin, "memfd-payload", "arg1"), map[string]string{
			"proc.pname": e.self,
			"user.name":  "root",
		})
	if got := a.str("proc.exepath"); !strings.HasPrefix(got, "/memfd:vigil-e2e") {
		t.Errorf("proc.exepath = %q, want /memfd:vigil-e2e (deleted)", got)
	}
}
