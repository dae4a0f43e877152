package e2e

import (
	"fmt"
	"os"
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
		{name: "benign control", run: benignControl},
	},
}

// shellInContainer: a shell exec'd by a runc-like parent in a process
// whose cgroup is a docker container's and which has its own pid, mount
// and uts namespaces.
func shellInContainer(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	cmd := c.command(false, "/bin/sh", "-c", "read line; exit 0")
	in := start(t, cmd)
	a := e.s.expectRule(t, "Shell spawned in a container", cmd.Process.Pid, nil)
	finish(t, cmd, in)
	fieldsWant(t, a, map[string]string{
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
	pid := runProg(t, helperBin, "@open-write", path)
	a := e.s.expectRule(t, "File below /etc opened for writing", pid, nil)
	fieldsWant(t, a, map[string]string{
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
	pid := run(t, command("/bin/cat", "/etc/shadow"), false)
	a := e.s.expectRule(t, "Sensitive file read by untrusted program", pid, nil)
	fieldsWant(t, a, map[string]string{
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
	pid := runProg(t, helperBin, "@connect", addr)
	client := l.client(t)
	a := e.s.expectRule(t, "Connection to a suspicious port", pid, nil)
	fieldsWant(t, a, map[string]string{
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
		pid := runProg(t, program(t, e.dir, "xmrig"), "--threads", "1")
		a := e.s.expectRule(t, "Cryptocurrency miner launched", pid, nil)
		fieldsWant(t, a, map[string]string{
			"proc.name":    "xmrig",
			"proc.cmdline": "xmrig --threads 1",
			"proc.pname":   e.self,
			"proc.exepath": filepath.Join(e.dir, "xmrig"),
			"user.name":    "root",
			"container.id": "host",
		})
	})
	t.Run("stratum URL", func(t *testing.T) {
		pid := runProg(t, program(t, e.dir, "worker"), "-o", "stratum+tcp://pool.invalid:3333", "-u", "x")
		a := e.s.expectRule(t, "Cryptocurrency miner launched", pid, nil)
		fieldsWant(t, a, map[string]string{
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
	pid := runProg(t, path, "payload")
	a := e.s.expectRule(t, "Execution from /dev/shm", pid, nil)
	fieldsWant(t, a, map[string]string{
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
			pid := runProg(t, helperBin, "@memfd-exec", how, "/bin/true", "memfd-payload", "arg1")
			a := e.s.expectRule(t, "Fileless execution from memfd", pid, nil)
			fieldsWant(t, a, map[string]string{
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

// ptraceAttach: a program attaches to a sleeping child of its own with
// PTRACE_ATTACH, and with PTRACE_SEIZE.
func ptraceAttach(t *testing.T, e *env) {
	for _, req := range []string{"attach", "seize"} {
		t.Run(req, func(t *testing.T) {
			pid := runProg(t, helperBin, "@ptrace-attach", req)
			a := e.s.expectRule(t, "Process attached with ptrace", pid, func(a *alert) bool {
				return a.str("proc.pid") == strconv.Itoa(pid)
			})
			fieldsWant(t, a, map[string]string{
				"proc.name":    "e2ehelper",
				"proc.cmdline": "e2ehelper @ptrace-attach " + req,
				"proc.pname":   e.self,
				"user.name":    "root",
				"container.id": "host",
			})
			if want := "PTRACE_" + strings.ToUpper(req); !strings.Contains(a.Output, "request="+want) {
				t.Errorf("output %q does not name the request %s", a.Output, want)
			}
		})
	}
}

// netcatExec: nc started with -e. Real netcat is not needed (nor run): a
// dummy program named nc with the same command line is what the rule sees.
func netcatExec(t *testing.T, e *env) {
	pid := runProg(t, program(t, e.dir, "nc"), "-e", "/bin/sh", "127.0.0.1", "4444")
	a := e.s.expectRule(t, "Netcat with command execution", pid, nil)
	fieldsWant(t, a, map[string]string{
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
	pid := runProg(t, helperBin, "@open-write", path)
	a := e.s.expectRule(t, "Write below a binary directory", pid, nil)
	fieldsWant(t, a, map[string]string{
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
	pid := run(t, command("/bin/cat", key), false)
	a := e.s.expectRule(t, "SSH private key or authorized_keys read", pid, nil)
	fieldsWant(t, a, map[string]string{
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
	pid := runProg(t, program(t, e.dir, "bash"), "@dup-connect", addr)
	client := l.client(t)
	a := e.s.expectRule(t, "Shell with standard streams redirected to the network", pid, nil)
	fieldsWant(t, a, map[string]string{
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
		a := e.s.expectRule(t, "Write below /tmp in a container", pid, nil)
		fieldsWant(t, a, map[string]string{
			"fd.name":      path,
			"proc.cmdline": "e2ehelper @open-write " + path,
			"container.id": c.shortID(),
		})
	}
	t.Run("held", func(t *testing.T) {
		path := filepath.Join(e.dir, "held")
		h := startHeld(t, c.command(false, helperBin, "@open-write", path))
		check(t, h.pid, path)
		h.done(t)
	})
	t.Run("short-lived", func(t *testing.T) {
		knownBug(t, containerShortLivedBug)
		path := filepath.Join(e.dir, "short")
		check(t, run(t, c.command(false, helperBin, "@open-write", path), false), path)
	})
}

// containerPackageManager: apt run in a container; once while it stays
// alive until the alert, and once short-lived.
func containerPackageManager(t *testing.T, e *env) {
	c := newContainer(t, e.dir)
	apt := program(t, e.dir, "apt")
	check := func(t *testing.T, pid int) {
		t.Helper()
		a := e.s.expectRule(t, "Package manager launched in a container", pid, nil)
		fieldsWant(t, a, map[string]string{
			"proc.name":    "apt",
			"proc.cmdline": "apt install -y curl",
			"proc.pname":   "runc",
			"user.name":    "root",
			"container.id": c.shortID(),
		})
	}
	t.Run("held", func(t *testing.T) {
		h := startHeld(t, c.command(false, apt, "install", "-y", "curl"))
		check(t, h.pid)
		h.done(t)
	})
	t.Run("short-lived", func(t *testing.T) {
		knownBug(t, containerShortLivedBug)
		check(t, run(t, c.command(false, apt, "install", "-y", "curl"), false))
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
	n := e.s.count()
	var pids []int
	pids = append(pids, run(t, command("/bin/ls", "-la", e.dir), false))
	pids = append(pids, run(t, command("/bin/cat", file), false))
	pids = append(pids, runProg(t, helperBin, "@connect", fmt.Sprintf("127.0.0.1:%d", l.port())))
	l.client(t)
	e.s.barrier(t, e.dir)
	for _, a := range e.s.since(n) {
		for _, pid := range pids {
			if a.from(pid) {
				t.Errorf("benign process %d raised %q: %s", pid, a.Rule, a.raw)
			}
		}
	}
}
