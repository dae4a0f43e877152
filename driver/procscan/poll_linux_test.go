package procscan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// helperEnv makes the test binary act as a helper process (see TestMain).
const helperEnv = "VIGIL_PROCSCAN_HELPER"

// TestMain runs the helper processes of the polling tests: the test binary
// started with helperEnv set does one thing, prints "ready ..." and waits
// for its standard input to close.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(mode string, args []string) int {
	var keep []io.Closer
	switch mode {
	case "openwrite":
		f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, f)
		fmt.Println("ready")
	case "listen":
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, l)
		fmt.Println("ready", l.Addr().(*net.TCPAddr).Port)
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- c
			}
		}()
		defer func() {
			select {
			case c := <-accepted:
				c.Close()
			default:
			}
		}()
	case "unixlisten":
		l, err := net.Listen("unix", args[0])
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, l)
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- c
			}
		}()
		defer func() {
			select {
			case c := <-accepted:
				c.Close()
			default:
			}
		}()
		fmt.Println("ready")
	case "unixconnect":
		c, err := net.Dial("unix", args[0])
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, c)
		fmt.Println("ready")
	case "connect", "udpconnect":
		network := "tcp4"
		if mode == "udpconnect" {
			network = "udp4"
		}
		c, err := net.Dial(network, "127.0.0.1:"+args[0])
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		keep = append(keep, c)
		_, p, _ := net.SplitHostPort(c.LocalAddr().String())
		fmt.Println("ready", p)
	case "churn":
		// Open and close files as fast as possible.
		n, _ := strconv.Atoi(args[1])
		for i := 0; i < n; i++ {
			f, err := os.Create(filepath.Join(args[0], strconv.Itoa(i%50)))
			if err == nil {
				f.Close()
			}
		}
		fmt.Println("ready")
	default:
		fmt.Println("ready")
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range keep {
		c.Close()
	}
	return 0
}

// child is a running helper process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready []string // the fields after "ready"
}

// startHelper starts the test binary as helper mode and waits for it to be
// ready.
func startHelper(t *testing.T, mode string, args ...string) *child {
	t.Helper()
	return startCmd(t, exec.Command(os.Args[0], args...), helperEnv+"="+mode)
}

// startCmd starts cmd, which must print "ready ..." and wait for its
// standard input to close.
func startCmd(t *testing.T, cmd *exec.Cmd, env ...string) *child {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: in}
	t.Cleanup(c.stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) == 0 || f[0] != "ready" {
		t.Fatalf("%v: not ready: %q, %v", cmd.Args, line, err)
	}
	c.ready = f[1:]
	return c
}

func (c *child) pid() int64 { return int64(c.cmd.Process.Pid) }

// stop closes the child's input and waits for it to exit.
func (c *child) stop() {
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
}

// requireProc skips the test when /proc cannot be used, unless
// VIGIL_REQUIRE_DRIVERS names procscan: then it fails.
func requireProc(t *testing.T) {
	t.Helper()
	err := ProbePoll()
	if err == nil {
		return
	}
	if slices.ContainsFunc(strings.Split(os.Getenv("VIGIL_REQUIRE_DRIVERS"), ","), func(s string) bool {
		return strings.TrimSpace(s) == PollName
	}) {
		t.Fatalf("VIGIL_REQUIRE_DRIVERS names %s but the probe fails: %v", PollName, err)
	}
	t.Skipf("procfs not usable: %v", err)
}

// collector keeps copies of every emitted event.
type collector struct {
	mu     sync.Mutex
	events []driver.Event
	notify chan struct{}
}

// emit copies ev (the driver reuses it) and its process snapshot.
func (c *collector) emit(ev *driver.Event) {
	cp := *ev
	cp.Args = slices.Clone(ev.Args)
	if ev.Proc != nil {
		p := *ev.Proc
		p.Args = slices.Clone(ev.Proc.Args)
		p.Env = nil
		cp.Proc = &p
	}
	c.mu.Lock()
	c.events = append(c.events, cp)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []driver.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// waitFor returns the first event matching pred, waiting up to timeout.
func (c *collector) waitFor(t *testing.T, what string, timeout time.Duration, pred func(*driver.Event) bool) *driver.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		evs := c.snapshot()
		for i := seen; i < len(evs); i++ {
			if pred(&evs[i]) {
				return &evs[i]
			}
		}
		seen = len(evs)
		select {
		case <-c.notify:
		case <-deadline.C:
			var b strings.Builder
			for i := range evs {
				if i >= len(evs)-100 {
					b.WriteString(describe(&evs[i]) + "\n")
				}
			}
			t.Fatalf("no %s within %v; %d events, the last ones:\n%s", what, timeout, len(evs), b.String())
			return nil
		}
	}
}

func describe(ev *driver.Event) string {
	s := fmt.Sprintf("#%d %s pid=%d res=%d has=%#x", ev.Num, ev.Type, ev.Pid, ev.Res, uint64(ev.Has))
	if ev.Has.Has(driver.HasPath) {
		s += " path=" + ev.Path
	}
	if ev.Has.Has(driver.HasFlags) {
		s += fmt.Sprintf(" flags=%#o", ev.Flags)
	}
	if ev.Has.Has(driver.HasFDInfo) {
		s += fmt.Sprintf(" fd=%d fdname=%s", ev.FDInfo.Num, ev.FDInfo.Name)
	}
	if ev.Proc != nil {
		s += fmt.Sprintf(" proc=%s exe=%s ppid=%d", ev.Proc.Name, ev.Proc.ExePath, ev.Proc.PPid)
	}
	return s
}

// runPoller creates the driver (taking the baseline), runs it and returns
// it with its collector; Close happens at cleanup.
func runPoller(t *testing.T, opts *driver.Options, cfg *PollConfig) (*Poller, *collector) {
	t.Helper()
	d, err := NewPoller(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d, c
}

// waitPolls waits until the driver completed n more polls.
func waitPolls(t *testing.T, d *Poller, n uint64) {
	t.Helper()
	want := d.Stats().Polls + n
	deadline := time.Now().Add(20 * time.Second)
	for d.Stats().Polls < want {
		if time.Now().After(deadline) {
			t.Fatalf("the driver did not poll %d times", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const wait = 15 * time.Second

func TestPollProcesses(t *testing.T) {
	requireProc(t)
	_, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})

	sh := startCmd(t, exec.Command("/bin/sh", "-c", "echo ready; read x; echo bye"))
	pid := sh.pid()
	clone := c.waitFor(t, "clone of sh", wait, func(ev *driver.Event) bool {
		return ev.Type == evtClone && ev.Pid == pid
	})
	if clone.Proc == nil || clone.Proc.PPid != int64(os.Getpid()) || clone.Tid != pid || clone.Res != 0 {
		t.Errorf("clone: %s", describe(clone))
	}
	exe := c.waitFor(t, "execve of sh", wait, func(ev *driver.Event) bool {
		return ev.Type == evtExecve && ev.Pid == pid
	})
	if exe.Num <= clone.Num {
		t.Errorf("execve #%d before clone #%d", exe.Num, clone.Num)
	}
	p := exe.Proc
	if p == nil || !p.Has.Has(driver.ProcHasExePath|driver.ProcHasArgs|driver.ProcHasName|driver.ProcHasPPid) {
		t.Fatalf("execve without a process snapshot: %s", describe(exe))
	}
	shPath, _ := filepath.EvalSymlinks("/bin/sh")
	if p.ExePath != shPath || exe.Path != shPath {
		t.Errorf("exe path %q, event path %q; want %q", p.ExePath, exe.Path, shPath)
	}
	if !slices.Equal(p.Args, []string{"-c", "echo ready; read x; echo bye"}) || !slices.Equal(exe.Args, p.Args) {
		t.Errorf("args %q, event args %q", p.Args, exe.Args)
	}
	if p.Exe != "/bin/sh" || p.PPid != int64(os.Getpid()) || !p.Has.Has(driver.ProcHasStart) || p.StartTime == 0 {
		t.Errorf("process: exe %q ppid %d start %d", p.Exe, p.PPid, p.StartTime)
	}

	// It exits: procexit.
	sh.stop()
	exit := c.waitFor(t, "procexit of sh", wait, func(ev *driver.Event) bool {
		return ev.Type == evtProcexit && ev.Pid == pid
	})
	if exit.Proc == nil || exit.Proc.Name != "sh" && exit.Proc.Name != filepath.Base(shPath) || exit.Has.Has(driver.HasRes) {
		t.Errorf("procexit: %s", describe(exit))
	}
	// An exec in a known process (sh, then exec of another program).
	sh2 := startCmd(t, exec.Command("/bin/sh", "-c", "echo ready; read x; exec sleep 60"))
	c.waitFor(t, "execve of the second sh", wait, func(ev *driver.Event) bool {
		return ev.Type == evtExecve && ev.Pid == sh2.pid()
	})
	sh2.stdin.Close()
	ex := c.waitFor(t, "execve of sleep", wait, func(ev *driver.Event) bool {
		return ev.Type == evtExecve && ev.Pid == sh2.pid() && ev.Proc != nil && ev.Proc.Name == "sleep"
	})
	if !slices.Equal(ex.Args, []string{"60"}) {
		t.Errorf("sleep args %q", ex.Args)
	}
	_ = sh2.cmd.Process.Kill()
	c.waitFor(t, "procexit of sleep", wait, func(ev *driver.Event) bool {
		return ev.Type == evtProcexit && ev.Pid == sh2.pid()
	})
	for _, ev := range c.snapshot() {
		if ev.Type == evtClone && ev.Pid == sh2.pid() && ev.Num > ex.Num {
			t.Errorf("exec reported as a new process: %s", describe(&ev))
		}
	}
}

func TestPollOpenWrite(t *testing.T) {
	requireProc(t)
	_, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})
	path := filepath.Join(t.TempDir(), "written")
	w := startHelper(t, "openwrite", path)
	ev := c.waitFor(t, "openat of "+path, wait, func(ev *driver.Event) bool {
		return ev.Type == evtOpenat && ev.Pid == w.pid() && ev.Path == path
	})
	if !ev.Has.Has(driver.HasFlags | driver.HasFD | driver.HasRes | driver.HasFDInfo | driver.HasDev) {
		t.Fatalf("openat lacks fields: %s", describe(ev))
	}
	if ev.Flags&syscall.O_ACCMODE != syscall.O_WRONLY || ev.Flags&syscall.O_APPEND == 0 || ev.Flags&oLargefile != 0 {
		t.Errorf("flags %#o, want O_WRONLY|O_APPEND", ev.Flags)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	fi := ev.FDInfo
	if fi.Num != ev.Res || ev.FD != ev.Res || ev.Res < 3 || fi.Type != driver.FDFile || fi.Name != path ||
		fi.OpenFlags != ev.Flags || fi.Ino != st.Ino || ev.Ino != st.Ino || ev.Dev != encodeDev(st.Dev) {
		t.Errorf("openat: %s; fdinfo %+v", describe(ev), fi)
	}
	// Its inherited standard streams are not reported.
	for _, e := range c.snapshot() {
		if e.Type == evtOpenat && e.Pid == w.pid() && e.FD <= 2 {
			t.Errorf("inherited descriptor reported: %s", describe(&e))
		}
	}
}

func TestPollSockets(t *testing.T) {
	requireProc(t)
	_, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})
	srv := startHelper(t, "listen")
	port, _ := strconv.Atoi(srv.ready[0])
	ls := c.waitFor(t, "listen", wait, func(ev *driver.Event) bool {
		return ev.Type == evtListen && ev.Pid == srv.pid()
	})
	want := driver.SockAddr{Family: afInet, L4Proto: driver.L4TCP, LocalAddr: mustAddr("127.0.0.1"), LocalPort: uint16(port), Server: true}
	if ls.Sock != want || ls.FDInfo.Type != driver.FDIPv4 || ls.FDInfo.Name != "0.0.0.0:0->127.0.0.1:"+srv.ready[0] || ls.Res != 0 || ls.FD < 3 {
		t.Errorf("listen: %s %+v", describe(ls), ls.Sock)
	}

	cli := startHelper(t, "connect", srv.ready[0])
	cport, _ := strconv.Atoi(cli.ready[0])
	cn := c.waitFor(t, "connect", wait, func(ev *driver.Event) bool {
		return ev.Type == evtConnect && ev.Pid == cli.pid()
	})
	want = driver.SockAddr{Family: afInet, L4Proto: driver.L4TCP, LocalAddr: mustAddr("127.0.0.1"), LocalPort: uint16(cport),
		RemoteAddr: mustAddr("127.0.0.1"), RemotePort: uint16(port)}
	name := fmt.Sprintf("127.0.0.1:%d->127.0.0.1:%d", cport, port)
	if cn.Sock != want || cn.FDInfo.Name != name || !cn.FDInfo.Connected || cn.Res != 0 || cn.FD < 3 || cn.FDInfo.Sock != want {
		t.Errorf("connect: %s %+v", describe(cn), cn.Sock)
	}
	ac := c.waitFor(t, "accept", wait, func(ev *driver.Event) bool {
		return ev.Type == evtAccept && ev.Pid == srv.pid()
	})
	want = driver.SockAddr{Family: afInet, L4Proto: driver.L4TCP, LocalAddr: mustAddr("127.0.0.1"), LocalPort: uint16(port),
		RemoteAddr: mustAddr("127.0.0.1"), RemotePort: uint16(cport), Server: true}
	if ac.Sock != want || ac.FDInfo.Name != name || ac.Res != ac.FD || ac.FD < 3 {
		t.Errorf("accept: %s %+v", describe(ac), ac.Sock)
	}
	// Reported once, though they stay open across polls.
	n := 0
	for _, ev := range c.snapshot() {
		if ev.Type == evtConnect && ev.Pid == cli.pid() || ev.Type == evtAccept && ev.Pid == srv.pid() || ev.Type == evtListen && ev.Pid == srv.pid() {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d socket events, want 3", n)
	}

	// A connected UDP socket.
	udp := startHelper(t, "udpconnect", "53")
	uport, _ := strconv.Atoi(udp.ready[0])
	uc := c.waitFor(t, "UDP connect", wait, func(ev *driver.Event) bool {
		return ev.Type == evtConnect && ev.Pid == udp.pid()
	})
	want = driver.SockAddr{Family: afInet, L4Proto: driver.L4UDP, LocalAddr: mustAddr("127.0.0.1"), LocalPort: uint16(uport),
		RemoteAddr: mustAddr("127.0.0.1"), RemotePort: 53}
	if uc.Sock != want || uc.FDInfo.Name != fmt.Sprintf("127.0.0.1:%d->127.0.0.1:53", uport) {
		t.Errorf("UDP connect: %s %+v", describe(uc), uc.Sock)
	}
}

func TestPollUnixSockets(t *testing.T) {
	requireProc(t)
	d, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})
	path := filepath.Join(t.TempDir(), "sock")
	srv := startHelper(t, "unixlisten", path)
	ls := c.waitFor(t, "unix listen", wait, func(ev *driver.Event) bool {
		return ev.Type == evtListen && ev.Pid == srv.pid()
	})
	want := driver.SockAddr{Family: afUnix, UnixPath: path, Server: true}
	if ls.Sock != want || ls.FDInfo.Type != driver.FDUnix || ls.FDInfo.Name != path || ls.FD < 3 {
		t.Errorf("listen: %s %+v", describe(ls), ls.Sock)
	}
	cli := startHelper(t, "unixconnect", path)
	ac := c.waitFor(t, "unix accept", wait, func(ev *driver.Event) bool {
		return ev.Type == evtAccept && ev.Pid == srv.pid()
	})
	if ac.Sock != want || ac.FDInfo.Name != path || ac.Res != ac.FD || ac.FD == ls.FD || !ac.FDInfo.Connected {
		t.Errorf("accept: %s %+v", describe(ac), ac.Sock)
	}
	// The client's side has no path in /proc/net/unix: not reported.
	c.waitFor(t, "the client's execve", wait, func(ev *driver.Event) bool {
		return ev.Type == evtExecve && ev.Pid == cli.pid()
	})
	waitPolls(t, d, 2)
	for _, ev := range c.snapshot() {
		if ev.Pid == cli.pid() && (ev.Type == evtConnect || ev.Type == evtAccept) {
			t.Errorf("client side reported: %s", describe(&ev))
		}
	}
}

func TestPollOwnActivity(t *testing.T) {
	requireProc(t)
	d, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})
	// This process (the driver's) opens a file for writing and a
	// connection to itself.
	f, err := os.Create(filepath.Join(t.TempDir(), "mine"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A marker: a child's open, seen after this process's activity.
	marker := startHelper(t, "openwrite", filepath.Join(t.TempDir(), "marker"))
	c.waitFor(t, "the marker's openat", wait, func(ev *driver.Event) bool {
		return ev.Type == evtOpenat && ev.Pid == marker.pid()
	})
	waitPolls(t, d, 3)
	for _, ev := range c.snapshot() {
		if ev.Pid == int64(os.Getpid()) {
			t.Errorf("own activity reported: %s", describe(&ev))
		}
	}
}

func TestPollBaseline(t *testing.T) {
	requireProc(t)
	// A process with an open file and a listener that exist before the
	// driver: nothing of them is reported.
	w := startHelper(t, "openwrite", filepath.Join(t.TempDir(), "before"))
	srv := startHelper(t, "listen")
	d, c := runPoller(t, &driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 20 * time.Millisecond})
	waitPolls(t, d, 3)
	for _, ev := range c.snapshot() {
		if ev.Pid == w.pid() || ev.Pid == srv.pid() {
			t.Errorf("pre-existing activity reported: %s", describe(&ev))
		}
	}
}

func TestPollEventTypes(t *testing.T) {
	requireProc(t)
	// Only listen is wanted (and the process lifecycle, which the state
	// layer needs): no openat.
	_, c := runPoller(t, &driver.Options{SelfPID: os.Getpid(), EventTypes: driver.NewEventTypeSet(evtListen)},
		&PollConfig{Interval: 20 * time.Millisecond})
	w := startHelper(t, "openwrite", filepath.Join(t.TempDir(), "unwanted"))
	srv := startHelper(t, "listen")
	c.waitFor(t, "listen", wait, func(ev *driver.Event) bool { return ev.Type == evtListen && ev.Pid == srv.pid() })
	c.waitFor(t, "execve", wait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == w.pid() })
	for _, ev := range c.snapshot() {
		if ev.Type == evtOpenat {
			t.Errorf("unwanted event: %s", describe(&ev))
		}
	}
}

func TestPollChurn(t *testing.T) {
	requireProc(t)
	fdsBefore := countFDs(t)
	d, err := NewPoller(&driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := &collector{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.emit) }()
	base := d.Stats()
	// Short-lived processes, one of which opens and closes many files, and
	// processes that live across polls with files open.
	dir := t.TempDir()
	churn := startHelper(t, "churn", dir, "5000")
	churn.stop()
	var kids []*child
	for i := 0; i < 20; i++ {
		kids = append(kids, startHelper(t, "openwrite", filepath.Join(dir, "kid"+strconv.Itoa(i))))
	}
	for i := 0; i < 300; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	last := kids[len(kids)-1]
	c.waitFor(t, "an openat of the last kid", wait, func(ev *driver.Event) bool {
		return ev.Type == evtOpenat && ev.Pid == last.pid()
	})
	peak := d.Stats()
	for _, k := range kids {
		k.stop()
	}
	c.waitFor(t, "procexit of the last kid", wait, func(ev *driver.Event) bool {
		return ev.Type == evtProcexit && ev.Pid == last.pid()
	})
	waitPolls(t, d, 2)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Run has returned: the state can be inspected.
	after := d.Stats()
	t.Logf("tracked: before %d procs/%d fds, peak %d/%d, after %d/%d/%d sockets; %d events, last poll %v",
		base.Procs, base.FDs, peak.Procs, peak.FDs, after.Procs, after.FDs, after.Sockets, after.Events, after.LastPoll)
	if peak.Procs < base.Procs+15 {
		t.Errorf("peak %d processes tracked, want at least %d", peak.Procs, base.Procs+15)
	}
	for _, k := range append(kids, churn) {
		// The pid may have been reused: then it is the new process that is
		// tracked, with its own start time.
		if p := d.st.procs[int32(k.pid())]; p != nil {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", k.pid()))
			st, ok := decodeStatLite(b)
			if err != nil || !ok || st.start != p.start {
				t.Errorf("exited process %d still tracked", k.pid())
			}
		}
	}
	// What is tracked is what lives: every tracked pid was in /proc at the
	// last poll, and the sockets are those the tracked processes hold.
	live, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.st.procs); n > len(live) {
		t.Errorf("%d processes tracked, %d entries in /proc", n, len(live))
	}
	nfds := 0
	for _, p := range d.st.procs {
		nfds += len(p.fds)
		if cap(p.fds) > 2*len(p.fds)+8 && cap(p.fds) > 16 {
			t.Errorf("descriptor slice of cap %d for %d descriptors", cap(p.fds), len(p.fds))
		}
	}
	if nfds != after.FDs || len(d.st.socks) > nfds {
		t.Errorf("%d descriptors tracked (stats %d), %d sockets", nfds, after.FDs, len(d.st.socks))
	}
	if n := countFDs(t); n > fdsBefore+2 {
		t.Errorf("descriptors of this process: %d before, %d after", fdsBefore, n)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestPollClose(t *testing.T) {
	requireProc(t)
	d, err := NewPoller(&driver.Options{SelfPID: os.Getpid()}, &PollConfig{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background(), func(*driver.Event) {}) }()
	// Close stops a running Run; a second Close does nothing.
	for !d.isRunning() {
		time.Sleep(time.Millisecond)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), func(*driver.Event) {}); err == nil {
		t.Fatal("Run after Close succeeded")
	}
	if d.Name() != PollName || !coverageHas(d.Coverage(), evtOpenat) {
		t.Errorf("name %q, coverage %+v", d.Name(), d.Coverage())
	}
}

func TestProbePoll(t *testing.T) {
	requireProc(t)
	if err := ProbePoll(); err != nil {
		t.Fatalf("probe fails on this kernel: %v", err)
	}
	for _, root := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		err := probePoll(root, true)
		if !errors.Is(err, driver.ErrNotSupported) {
			t.Errorf("probe of %s: %v, want ErrNotSupported", root, err)
		}
		if _, err := NewPoller(nil, &PollConfig{ProcRoot: root}); !errors.Is(err, driver.ErrNotSupported) {
			t.Errorf("NewPoller on %s: %v, want ErrNotSupported", root, err)
		}
	}
	f := PollFactory()
	if f.Name != PollName || !f.Auto || f.Probe() != nil {
		t.Errorf("factory %q auto %v", f.Name, f.Auto)
	}
	cov := f.Coverage()
	for _, et := range []driver.EventType{evtClone, evtExecve, evtProcexit, evtOpenat, evtConnect, evtAccept, evtListen} {
		if !coverageHas(cov, et) {
			t.Errorf("coverage lacks %s", et)
		}
	}
	if !strings.Contains(strings.Join(cov.Notes, "\n"), "within one interval are missed") {
		t.Errorf("coverage notes do not state the blind spots: %q", cov.Notes)
	}
	nonRoot := pollCoverage(time.Second, 10, false)
	if !strings.Contains(strings.Join(nonRoot.Notes, "\n"), "only this user's processes") {
		t.Errorf("non-root notes: %q", nonRoot.Notes)
	}
	drv, err := f.New(&driver.Options{SelfPID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	drv.Close()
}

func (d *Poller) isRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func coverageHas(c driver.Coverage, t driver.EventType) bool { return c.Events.Has(t) }

// BenchmarkPoll measures one poll of this machine's /proc (processes,
// descriptors and socket tables) with nothing changing.
func BenchmarkPoll(b *testing.B) {
	if err := ProbePoll(); err != nil {
		b.Skip(err)
	}
	d, err := NewPoller(&driver.Options{SelfPID: os.Getpid()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	d.st.emit = func(*driver.Event) {}
	b.ReportAllocs()
	for b.Loop() {
		d.poll()
	}
	st := d.Stats()
	b.ReportMetric(float64(st.Procs), "procs")
	b.ReportMetric(float64(st.FDs), "fds")
}

func TestPollNoDescriptors(t *testing.T) {
	requireProc(t)
	// Only the process lifecycle is wanted: descriptors are not read.
	d, c := runPoller(t, &driver.Options{SelfPID: os.Getpid(), EventTypes: driver.NewEventTypeSet(evtExecve)},
		&PollConfig{Interval: 20 * time.Millisecond})
	w := startHelper(t, "openwrite", filepath.Join(t.TempDir(), "unseen"))
	c.waitFor(t, "execve", wait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == w.pid() })
	waitPolls(t, d, 2)
	if st := d.Stats(); st.FDs != 0 || st.Sockets != 0 {
		t.Errorf("%d descriptors and %d sockets tracked", st.FDs, st.Sockets)
	}
	for _, ev := range c.snapshot() {
		if ev.Type == evtOpenat {
			t.Errorf("unwanted event: %s", describe(&ev))
		}
	}
}
