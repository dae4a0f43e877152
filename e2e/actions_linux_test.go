package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
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

// marker returns a random string that names this run's scratch files.
func marker(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "vigil-e2e-" + hex.EncodeToString(b[:])
}

// scratchDir creates a directory under parent ("" for the temp dir) that
// is removed when the test ends, readable and searchable by everyone.
func scratchDir(t *testing.T, parent string) string {
	t.Helper()
	if parent == "" {
		parent = os.TempDir()
	}
	dir := filepath.Join(parent, marker(t))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// removeAtEnd removes path when the test ends (if it exists).
func removeAtEnd(t *testing.T, path string) {
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// program copies the helper into dir under name and returns its path.
func program(t *testing.T, dir, name string) string {
	t.Helper()
	return copyFile(t, helperBin, filepath.Join(dir, name), 0o755)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	return to
}

// command returns a command for path whose argv[0] is path's base name,
// the way a shell runs a program found on PATH.
func command(path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Args[0] = filepath.Base(path)
	return cmd
}

// exitDeadline bounds how long a helper may take to exit once told to; a
// guard against hanging the test run, not a measurement.
const exitDeadline = 20 * time.Second

// finish closes stdin and waits for cmd, failing the test on an error.
func finish(t *testing.T, cmd *exec.Cmd, in io.Closer) {
	t.Helper()
	in.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
		}
	case <-time.After(exitDeadline):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit within %v of its stdin closing", strings.Join(cmd.Args, " "), exitDeadline)
	}
}

// selfComm is the test binary's process name, the proc.pname of the
// processes it starts.
func selfComm(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// agent is a long-lived helper (@agent) that performs actions on request.
type agent struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// do asks the agent to perform one action and waits for its answer.
func (a *agent) do(t *testing.T, action ...string) {
	t.Helper()
	if _, err := io.WriteString(a.in, strings.Join(action, " ")+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := a.out.ReadString('\n')
	if err != nil {
		t.Fatalf("agent %v: %v", action, err)
	}
	if line != "ok\n" {
		t.Fatalf("agent %v: %s", action, line)
	}
}

// listener accepts loopback TCP connections and reports the client
// addresses of the ones it accepted.
type listener struct {
	ln      net.Listener
	clients chan string
}

// portLocks serialises the tests that listen on the same fixed port (the
// drivers' suites run in parallel): addr → *sync.Mutex.
var portLocks sync.Map

// listen listens on addr (host:port), or skips the test if the port is
// taken by another program. Tests of this package that listen on the same
// fixed port take turns.
func listen(t *testing.T, addr string) *listener {
	t.Helper()
	return listenKeep(t, addr, false)
}

// listenKeep is listen; with keep, the listener keeps the connections it
// accepted open until the test ends, instead of closing them at once.
func listenKeep(t *testing.T, addr string, keep bool) *listener {
	t.Helper()
	if !strings.HasSuffix(addr, ":0") {
		mu, _ := portLocks.LoadOrStore(addr, new(sync.Mutex))
		mu.(*sync.Mutex).Lock()
		t.Cleanup(mu.(*sync.Mutex).Unlock) // after the listener closes
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	l := &listener{ln: ln, clients: make(chan string, 16)}
	var mu sync.Mutex
	var kept []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range kept {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case l.clients <- c.RemoteAddr().String():
			default:
			}
			mu.Lock()
			if keep {
				kept = append(kept, c)
			} else {
				c.Close()
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

// port returns the port the listener is bound to.
func (l *listener) port() int {
	return l.ln.Addr().(*net.TCPAddr).Port
}

// client returns the address of the next accepted client.
func (l *listener) client(t *testing.T) string {
	t.Helper()
	select {
	case c := <-l.clients:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the listener accepted no connection")
	}
	return ""
}

// fakeContainer is a cgroup named the way docker names a container's, in
// which processes run in new pid, mount and uts namespaces. Vigil sees
// such processes as the container's; it has no runtime to ask for
// metadata (name, image, privileged).
type fakeContainer struct {
	id      string // 64 hex digits
	cgroup  string // the container's cgroup directory
	launch  string // the helper copy (named runc) that starts processes in it
	workdir string
}

// shortID is the container.id Vigil reports: 12 hex digits.
func (c *fakeContainer) shortID() string { return c.id[:12] }

// newContainer creates the cgroup /vigil-e2e-<random>/docker/<id> in the
// cgroup v2 hierarchy (or the v1 pids hierarchy) and removes it when the
// test ends, after killing anything left in it.
func newContainer(t *testing.T, dir string) *fakeContainer {
	t.Helper()
	mnt := cgroupMount(t)
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	top := filepath.Join(mnt, marker(t))
	cg := filepath.Join(top, "docker", id)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatalf("creating a container cgroup: %v", err)
	}
	t.Cleanup(func() {
		for _, d := range []string{cg, filepath.Dir(cg), top} {
			if err := removeCgroup(d); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return &fakeContainer{id: id, cgroup: cg, launch: program(t, dir, "runc"), workdir: dir}
}

// removeCgroup kills the processes left in cgroup dir and removes it.
// Removal waits for killed processes to be reaped; it gives up after a
// few seconds.
func removeCgroup(dir string) error {
	var err error
	for range 100 {
		b, rerr := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if errors.Is(rerr, os.ErrNotExist) {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, perr := strconv.Atoi(f); perr == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// command returns a command that runs path with args in the container;
// with tty the process gets a controlling terminal.
func (c *fakeContainer) command(tty bool, path string, args ...string) *exec.Cmd {
	a := []string{"@container", c.cgroup}
	if tty {
		a = append(a, "--tty")
	}
	return command(c.launch, append(append(a, path), args...)...)
}

// cgroupMount returns the cgroup v2 mount point, or else the v1 pids
// hierarchy's, or skips the test.
func cgroupMount(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Skip(err)
	}
	v1 := ""
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 4 {
			continue
		}
		switch {
		case fs[2] == "cgroup2":
			return fs[1]
		case fs[2] == "cgroup" && v1 == "" && strings.Contains(","+fs[3]+",", ",pids,"):
			v1 = fs[1]
		}
	}
	if v1 == "" {
		t.Skip("no cgroup hierarchy is mounted")
	}
	return v1
}

// held is a process started with VIGIL_E2E_HOLD=1 (env.startHeld): it
// performs its action and then waits for its stdin to close, so that it,
// and what it opened, are still there when Vigil handles its events.
type held struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	pid int
}

// done lets the process exit and checks its status.
func (h *held) done(t *testing.T) {
	t.Helper()
	finish(t, h.cmd, h.in)
}

// sleeper starts a process that sleeps until the test ends, outside of
// any trace, and returns its pid.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// knownBug skips a test that reproduces a known Vigil bug unless
// VIGIL_E2E_KNOWN_BUGS=1 asks to run it.
func knownBug(t *testing.T, bug string) {
	t.Helper()
	if os.Getenv("VIGIL_E2E_KNOWN_BUGS") != "1" {
		t.Skip("known bug (set VIGIL_E2E_KNOWN_BUGS=1 to run): " + bug)
	}
}
