//go:build linux && amd64

package ptrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/procscan"
	"github.com/vigilsec/vigil/driver/syscalls"
)

// Options set on the helper until it execs the command (no fork or clone
// following: the Go runtime's own threads are not traced), and from then
// on.
const (
	helperOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEEXEC |
		unix.PTRACE_O_EXITKILL
	traceOptions = helperOptions | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
		unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXIT
)

const procRoot = "/proc"

// Driver traces one command tree. Create it with New; Run starts the
// command and returns when it and every process it started have exited.
type Driver struct {
	opts   driver.Options
	path   string   // the command's executable, resolved
	argv   []string // the command's argv
	cfg    Config
	helper string
	nrs    []uint32

	started atomic.Bool
	mu      sync.Mutex // guards closed, cancel and starting Run
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}

	status     atomic.Int64 // the command's wait status; -1 until it exited
	events     atomic.Uint64
	stops      atomic.Uint64
	processes  atomic.Uint64
	readErrors atomic.Uint64
}

var _ driver.Driver = (*Driver)(nil)

// New prepares a driver that runs argv (argv[0] is looked up in PATH as a
// shell would) under ptrace, stopping on the syscalls opts.EventTypes
// needs (every syscall with an event type when the set is empty). Nothing
// starts before Run. It returns an error when argv is empty or its program
// cannot be found. It needs Linux 4.8 on x86_64 (see Probe).
func New(opts *driver.Options, argv []string, cfg *Config) (*Driver, error) {
	if len(argv) == 0 {
		return nil, errors.New("ptrace: no command to trace")
	}
	d := &Driver{argv: append([]string(nil), argv...), done: make(chan struct{})}
	if opts != nil {
		d.opts = *opts
	}
	if cfg != nil {
		d.cfg = *cfg
	}
	d.helper = d.cfg.Helper
	if d.helper == "" {
		d.helper = "/proc/self/exe"
	}
	path, err := lookPath(argv[0], d.cfg.Dir, d.cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("ptrace: command %s: %w", argv[0], err)
	}
	d.path = path
	d.nrs = TracedSyscalls(d.opts.EventTypes)
	d.status.Store(-1)
	return d, nil
}

// lookPath finds the program file as execvp would, relative to dir for a
// name with a slash, in env's PATH (or Vigil's) otherwise.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if dir != "" && !strings.HasPrefix(p, "/") {
			p = dir + "/" + p
		}
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return name, nil
	}
	pathEnv, found := os.LookupEnv("PATH")
	if env != nil {
		pathEnv, found = "", false
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				pathEnv, found = v, true
			}
		}
	}
	if !found {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	for _, d := range strings.Split(pathEnv, ":") {
		if d == "" {
			d = "."
		}
		p := d + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Name returns "ptrace".
func (*Driver) Name() string { return Name }

// Coverage returns what the driver observes.
func (*Driver) Coverage() driver.Coverage { return coverage() }

// ExitCode returns the traced command's exit status once Run returned: its
// exit code, or 128 plus the signal that killed it; -1 if it has not
// exited (or was never started).
func (d *Driver) ExitCode() int {
	ws := d.status.Load()
	if ws < 0 {
		return -1
	}
	st := unix.WaitStatus(ws)
	switch {
	case st.Exited():
		return st.ExitStatus()
	case st.Signaled():
		return 128 + int(st.Signal())
	}
	return -1
}

// Stats returns the driver's counters.
func (d *Driver) Stats() Stats {
	return Stats{Events: d.events.Load(), Stops: d.stops.Load(), Processes: d.processes.Load(), ReadErrors: d.readErrors.Load()}
}

// Run starts the command and delivers the events of its process tree to
// emit until the command and all its descendants have exited, then returns
// nil (see ExitCode). When ctx ends first, the whole tree is killed
// (SIGKILL) and reaped before Run returns ctx's error. Run fails when the
// command cannot be started under ptrace (an error wrapping
// driver.ErrPermission when ptrace or the seccomp filter is refused). It
// may be called once.
func (d *Driver) Run(ctx context.Context, emit func(*driver.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return errors.New("ptrace: Run after Close")
	case d.started.Load():
		d.mu.Unlock()
		return errors.New("ptrace: Run called more than once")
	}
	d.started.Store(true)
	d.cancel = cancel
	d.mu.Unlock()
	defer close(d.done)
	errc := make(chan error, 1)
	go func() {
		// Every ptrace call is made from this thread, which started the
		// tracee. The goroutine never unlocks it, so the thread ends with
		// the goroutine: should a tracee remain, PTRACE_O_EXITKILL kills it.
		runtime.LockOSThread()
		errc <- d.trace(ctx, emit)
	}()
	return <-errc
}

// Close kills the traced tree if Run is still running and waits for Run to
// return. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	cancel, started := d.cancel, d.started.Load()
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if started {
		<-d.done
	}
	return nil
}

// thread is a traced task.
type thread struct {
	tid, tgid  int
	inSys      bool  // stopped at a traced syscall's entry and resumed to its exit
	expectStop bool  // auto-attached: its initial SIGSTOP is still to come
	execed     bool  // the traced exec succeeded; its event is due at the syscall exit
	exiting    bool  // past its PTRACE_EVENT_EXIT stop: it will create no more tasks
	phase      uint8 // phaseStart, phaseHelper or phaseTraced
	c          call
}

// Phases of the root process.
const (
	phaseTraced = iota // following everything
	phaseStart         // the helper is about to report its own exec (SIGTRAP)
	phaseHelper        // the helper runs until it execs the command
)

// proc is a traced thread group.
type proc struct {
	tgid    int
	threads int
	pidfd   int
	killed  bool
	ppid    int64
	comm    string
}

// tracer is the state of one Run, owned by the locked thread (procs is
// also read by the canceller, under mu).
type tracer struct {
	d       *Driver
	ctx     context.Context
	emit    func(*driver.Event)
	root    int
	threads map[int]*thread
	newborn map[int]bool

	mu      sync.Mutex
	procs   map[int]*proc
	killing atomic.Bool

	traceThreads bool // report the creation of threads (clone/clone3 requested)
	rootExeced   bool
	helperStatus unix.WaitStatus

	dec  decoder
	ev   driver.Event
	num  uint64
	regs unix.PtraceRegs
	mem  memReader
	fds  fdReader
}

func (d *Driver) trace(ctx context.Context, emit func(*driver.Event)) error {
	t := &tracer{
		d: d, ctx: ctx, emit: emit,
		threads: make(map[int]*thread), newborn: make(map[int]bool), procs: make(map[int]*proc),
	}
	t.traceThreads = d.opts.EventTypes.Empty() || d.opts.EventTypes.Has(evtClone) || d.opts.EventTypes.Has(evtClone3)
	t.fds.mem = &t.mem
	t.fds.errs = &d.readErrors

	env := d.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	var spec strings.Builder
	spec.WriteString(helperEnv + "=exec:")
	for i, nr := range d.nrs {
		if i > 0 {
			spec.WriteByte(',')
		}
		spec.WriteString(strconv.FormatUint(uint64(nr), 10))
	}
	env = append(env[:len(env):len(env)], spec.String())
	files := []uintptr{0, 1, 2}
	for i, f := range []*os.File{d.cfg.Stdin, d.cfg.Stdout, d.cfg.Stderr} {
		if f != nil {
			files[i] = f.Fd()
		}
	}
	argv := append([]string{d.path}, d.argv...)
	pid, err := syscall.ForkExec(d.helper, argv, &syscall.ProcAttr{
		Dir:   d.cfg.Dir,
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Ptrace: true},
	})
	runtime.KeepAlive(d.cfg.Stdin)
	runtime.KeepAlive(d.cfg.Stdout)
	runtime.KeepAlive(d.cfg.Stderr)
	if err != nil {
		return startError(err)
	}
	t.root = pid
	t.threads[pid] = &thread{tid: pid, tgid: pid, phase: phaseStart}
	t.addProc(pid)

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			t.killAll()
		case <-stop:
		}
	}()
	err = t.loop()
	if err == nil && t.killing.Load() {
		err = ctx.Err()
	}
	return err
}

// startError classifies a failure to start the helper under ptrace.
func startError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("ptrace: start the command: %w: %s", driver.ErrPermission, permissionCause())
	}
	return fmt.Errorf("ptrace: start the command: %w", err)
}

// permissionCause names what most likely forbids ptrace here.
func permissionCause() string {
	if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil {
		switch strings.TrimSpace(string(b)) {
		case "3":
			return "Yama ptrace_scope is 3 (no ptrace at all until reboot)"
		case "2":
			return "Yama ptrace_scope is 2 (ptrace needs CAP_SYS_PTRACE)"
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Seccomp:"); ok && strings.TrimSpace(v) == "2" {
				return "ptrace(PTRACE_TRACEME) was refused; Vigil runs under a seccomp filter, which likely forbids ptrace"
			}
		}
	}
	return "ptrace(PTRACE_TRACEME) was refused (an LSM policy or a missing CAP_SYS_PTRACE)"
}

// addProc records a new traced process.
func (t *tracer) addProc(tgid int) *proc {
	p := &proc{tgid: tgid, threads: 1, pidfd: -1, ppid: -1}
	if fd, err := unix.PidfdOpen(tgid, 0); err == nil {
		p.pidfd = fd
	}
	t.mu.Lock()
	t.procs[tgid] = p
	if t.killing.Load() {
		t.killLocked(p)
	}
	t.mu.Unlock()
	t.d.processes.Add(1)
	return p
}

// removeProc forgets a process that has exited.
func (t *tracer) removeProc(p *proc) {
	t.mu.Lock()
	delete(t.procs, p.tgid)
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	t.mu.Unlock()
}

// killAll kills every traced process (ctx ended). New processes are killed
// as they appear.
func (t *tracer) killAll() {
	t.mu.Lock()
	t.killing.Store(true)
	for _, p := range t.procs {
		t.killLocked(p)
	}
	t.mu.Unlock()
}

func (t *tracer) killLocked(p *proc) {
	if p.killed {
		return
	}
	p.killed = true
	if p.pidfd >= 0 {
		if err := unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0); err == nil {
			return
		}
	}
	// Without a pidfd: the process is traced and not yet reaped (it is
	// removed under mu before its pid can be reused), so the pid is its.
	_ = unix.Kill(p.tgid, unix.SIGKILL)
}

// loop waits for the tracees' stops until none is left.
func (t *tracer) loop() error {
	for len(t.threads) > 0 || len(t.newborn) > 0 {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.ECHILD {
				break
			}
			return fmt.Errorf("ptrace: wait for the tracees: %w", err)
		}
		t.d.stops.Add(1)
		t.handle(pid, ws)
	}
	if !t.rootExeced && t.helperStatus.Exited() {
		if err := helperError(t.helperStatus.ExitStatus()); err != nil {
			return err
		}
	}
	return nil
}

// helperError explains a helper that exited before it could exec the
// command, or returns nil for the command's own exit codes.
func helperError(code int) error {
	switch code {
	case helperNoFilter:
		return fmt.Errorf("ptrace: install the seccomp filter: %w: seccomp filters need Linux 3.5 with CONFIG_SECCOMP_FILTER", driver.ErrNotSupported)
	case helperFilterPerm, helperNoNewPrivs:
		return fmt.Errorf("ptrace: install the seccomp filter: %w: refused (a seccomp policy or LSM forbids seccomp or no_new_privs)", driver.ErrPermission)
	case helperUsage:
		return errors.New("ptrace: the helper rejected its request (is the helper a binary that imports driver/ptrace?)")
	}
	return nil
}

// handle acts on one wait status.
func (t *tracer) handle(pid int, ws unix.WaitStatus) {
	if ws.Stopped() && ws.TrapCause() == unix.PTRACE_EVENT_EXEC {
		t.execStop(pid)
		return
	}
	th := t.threads[pid]
	if ws.Exited() || ws.Signaled() {
		t.gone(pid, th, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	if th == nil {
		t.newbornStop(pid, ws)
		return
	}
	sig := ws.StopSignal()
	switch cause := ws.TrapCause(); {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(th)
	case cause == unix.PTRACE_EVENT_SECCOMP:
		t.seccompStop(th)
	case cause == unix.PTRACE_EVENT_FORK || cause == unix.PTRACE_EVENT_VFORK || cause == unix.PTRACE_EVENT_CLONE:
		t.forkStop(th, cause)
	case cause == unix.PTRACE_EVENT_EXIT:
		t.exitStop(th)
	case cause > 0:
		t.resume(th, 0)
	case sig == unix.SIGTRAP && th.phase == phaseStart:
		// The helper's own exec: follow only it until it execs the command.
		th.phase = phaseHelper
		if err := unix.PtraceSetOptions(th.tid, helperOptions); err != nil {
			_ = unix.Kill(th.tid, unix.SIGKILL)
		}
		t.resume(th, 0)
	case sig == unix.SIGSTOP && th.expectStop:
		th.expectStop = false
		t.resume(th, 0)
	default:
		t.signalStop(th, sig)
	}
}

// resume restarts th, to the exit of its syscall when one is traced.
func (t *tracer) resume(th *thread, sig unix.Signal) {
	// An error is ESRCH: killed meanwhile; its death is reported next.
	if th.inSys {
		_ = unix.PtraceSyscall(th.tid, int(sig))
	} else {
		_ = unix.PtraceCont(th.tid, int(sig))
	}
}

// signalStop handles a signal-delivery-stop (the signal is delivered) or a
// group-stop (resumed at once: job control is not supported).
func (t *tracer) signalStop(th *thread, sig unix.Signal) {
	var si [128]byte
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(th.tid), 0, uintptr(unsafe.Pointer(&si)), 0, 0)
	if e == unix.EINVAL {
		t.resume(th, 0)
		return
	}
	t.resume(th, sig)
}

// getRegs reads th's registers.
func (t *tracer) getRegs(tid int) bool {
	return unix.PtraceGetRegs(tid, &t.regs) == nil
}

// seccompStop records a traced syscall's arguments at its entry and lets it
// run to its exit.
func (t *tracer) seccompStop(th *thread) {
	c := &th.c
	c.reset()
	if t.killing.Load() || !t.getRegs(th.tid) {
		t.resume(th, 0)
		return
	}
	r := &t.regs
	c.nr = r.Orig_rax
	c.args = [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}
	t.entry(th)
	th.inSys = true
	t.resume(th, 0)
}

// syscallStop handles the exit of a traced syscall.
func (t *tracer) syscallStop(th *thread) {
	if !th.inSys {
		t.resume(th, 0)
		return
	}
	th.inSys = false
	execed := th.execed
	th.execed = false
	if t.killing.Load() || !t.getRegs(th.tid) {
		t.resume(th, 0)
		return
	}
	res := int64(t.regs.Rax)
	switch {
	case execed:
		t.emitExec(th)
	case isRestart(res):
		// Not completed: it is restarted (and stops again) or fails with
		// EINTR once a signal handler ran.
	default:
		th.c.res = res
		t.exit(th)
		t.dec.decodeCall(&th.c, &t.ev)
		t.send(th)
	}
	t.resume(th, 0)
}

// send emits t.ev as th's event.
func (t *tracer) send(th *thread) {
	if t.killing.Load() {
		return
	}
	t.num++
	t.ev.Num = t.num
	t.ev.Tid, t.ev.Pid = int64(th.tid), int64(th.tgid)
	t.ev.Time = time.Now().UnixNano()
	t.d.events.Add(1)
	t.emit(&t.ev)
}

// snapshot reads process tid from /proc as the event's driver-owned
// Process.
func (t *tracer) snapshot(tid, tgid int) *driver.Process {
	p := new(driver.Process)
	rp, err := procscan.ReadProcess(procRoot, tid)
	if err != nil {
		t.d.readErrors.Add(1)
		p.Pid, p.Tid = int64(tgid), int64(tid)
		p.Has = driver.ProcHasPid
		return p
	}
	*p = rp.Process
	p.Tid = int64(tid)
	if pr := t.procs[tgid]; pr != nil {
		pr.ppid, pr.comm = p.PPid, p.Name
	}
	return p
}

// execStop handles PTRACE_EVENT_EXEC: pid is the thread group leader's id,
// which the execing thread has taken over.
func (t *tracer) execStop(pid int) {
	former := pid
	if msg, err := unix.PtraceGetEventMsg(pid); err == nil {
		former = int(msg)
	}
	th := t.threads[pid]
	if former != pid {
		if old := t.threads[former]; old != nil {
			delete(t.threads, former)
			if th != nil {
				// The old leader is gone without a death notice.
				if p := t.procs[th.tgid]; p != nil {
					p.threads--
				}
			}
			old.tid = pid
			t.threads[pid] = old
			th = old
		}
	}
	if th == nil {
		_ = unix.PtraceCont(pid, 0)
		return
	}
	if th.phase == phaseHelper {
		th.phase = phaseTraced
		t.rootExeced = true
		if err := unix.PtraceSetOptions(pid, traceOptions); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	if th.inSys && (th.c.nr == syscalls.Execve || th.c.nr == syscalls.Execveat) {
		th.execed = true
	} else {
		// An exec whose entry was not seen.
		th.c.reset()
		th.c.nr = syscalls.Execve
		t.emitExec(th)
	}
	t.resume(th, 0)
}

// emitExec emits th's successful exec.
func (t *tracer) emitExec(th *thread) {
	if t.killing.Load() {
		return
	}
	p := t.snapshot(th.tid, th.tgid)
	t.dec.decodeExec(&th.c, p, &t.ev)
	t.send(th)
}

// forkStop handles PTRACE_EVENT_FORK/VFORK/CLONE in the parent: the child
// is registered and its side of the event emitted.
func (t *tracer) forkStop(parent *thread, cause int) {
	msg, err := unix.PtraceGetEventMsg(parent.tid)
	if err != nil {
		t.resume(parent, 0)
		return
	}
	child := int(msg)
	var nr uint64 = syscalls.Clone
	var flags uint64
	if t.getRegs(parent.tid) {
		nr = t.regs.Orig_rax
		switch nr {
		case syscalls.Clone:
			flags = t.regs.Rdi
		case syscalls.Clone3:
			var b [8]byte
			if n, err := t.mem.read(parent.tid, t.regs.Rdi, b[:]); err == nil && n == 8 {
				flags = le.Uint64(b[:])
			}
		}
	}
	isThread := cause == unix.PTRACE_EVENT_CLONE && flags&unix.CLONE_THREAD != 0
	nt := &thread{tid: child, tgid: child, expectStop: true}
	if isThread {
		nt.tgid = parent.tgid
	}
	stopped := t.newborn[child]
	if !stopped && (child <= 0 || t.threads[child] != nil || unix.Tgkill(nt.tgid, child, 0) == unix.ESRCH) {
		// Nothing to register: a child adopted already (adoptOrphan), or
		// one that died and was reaped before this event was seen (killed
		// before its first stop, which was then PTRACE_EVENT_EXIT), or no
		// child id at all (the event message was seen to be 0 when the
		// creator's thread group was killed as it reported the event: its
		// child, if it stops, is handled as a newborn whose creator is
		// gone).
		t.resume(parent, 0)
		return
	}
	if stopped {
		delete(t.newborn, child)
		nt.expectStop = false
	}
	t.threads[child] = nt
	if isThread {
		if p := t.procs[nt.tgid]; p != nil {
			p.threads++
		}
	} else {
		t.addProc(child)
	}
	if !isThread || t.traceThreads {
		t.emitClone(nt, parent, nr)
	}
	if stopped {
		t.resume(nt, 0)
	}
	t.resume(parent, 0)
}

// emitClone emits the child side of a process or thread creation.
func (t *tracer) emitClone(child, parent *thread, nr uint64) {
	if t.killing.Load() {
		return
	}
	p := t.snapshot(child.tid, child.tgid)
	if !p.Has.Has(driver.ProcHasPPid) {
		p.PPid = int64(parent.tgid)
		p.Has |= driver.ProcHasPPid
	}
	data := t.ev.Data[:0]
	t.ev = driver.Event{Data: data, Type: cloneType(nr), Has: driver.HasRes, Proc: p}
	t.send(child)
}

// newbornStop handles a stop of a task not known yet: an auto-attached
// child whose creator's fork or clone event has not been seen. Normally
// that is the child's initial SIGSTOP, and the child stays stopped until
// the creator's event (see adoptOrphan for creators that died first).
//
// A child can also be killed before it ever runs: when its creator's
// thread group exits (exit_group, a fatal signal, an exec by another
// thread) between the clone and the tracer's wait for the creator's
// PTRACE_EVENT_CLONE stop, the kernel wakes the creator from that stop (or
// skips it: a fatal signal is pending) and the event is never reported,
// while the child goes from ret_from_fork straight to do_exit and stops at
// PTRACE_EVENT_EXIT with its SIGSTOP still pending. Holding that stop
// would hold the whole process: its zombie leader is not reported while a
// thread is left, and SIGKILL no longer reaches a group that is exiting.
// Such a child is resumed at once; it never returned from the clone, so it
// gets no clone event.
func (t *tracer) newbornStop(pid int, ws unix.WaitStatus) {
	if ws.TrapCause() == unix.PTRACE_EVENT_EXIT {
		delete(t.newborn, pid)
		_ = unix.PtraceCont(pid, 0)
		return
	}
	if t.killing.Load() {
		_ = unix.Kill(pid, unix.SIGKILL)
		_ = unix.PtraceCont(pid, 0)
	}
	t.newborn[pid] = true
	t.adoptOrphan(pid)
}

// adoptOrphans registers and resumes the newborns whose creator's event
// will never come (see adoptOrphan).
func (t *tracer) adoptOrphans() {
	for pid := range t.newborn {
		t.adoptOrphan(pid)
	}
}

// adoptOrphan registers and resumes newborn pid if its creator's event
// will never come, so that it does not wait forever: a process whose
// parent is not traced (any more), a thread whose process is not, or a
// thread of a process whose every known thread is gone or exiting (past
// PTRACE_EVENT_EXIT, which comes after any clone event of that thread).
// A creator's event that arrives after all is then ignored (forkStop).
func (t *tracer) adoptOrphan(pid int) {
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return
	}
	tgid, ppid, ok := parseStatusIDs(b)
	if !ok {
		return
	}
	isThread := tgid != int64(pid)
	p := t.procs[int(tgid)]
	if isThread && p != nil && t.creatorLeft(p.tgid) || !isThread && t.procs[int(ppid)] != nil {
		return // the creator is alive: its event will come
	}
	delete(t.newborn, pid)
	th := &thread{tid: pid, tgid: int(tgid)}
	t.threads[pid] = th
	switch {
	case !isThread:
		t.addProc(pid)
		t.emitClone(th, &thread{tid: int(ppid), tgid: int(ppid)}, syscalls.Clone)
	case p != nil:
		p.threads++
	}
	t.resume(th, 0)
}

// creatorLeft reports whether a known thread of process tgid may still
// report a clone event: one that has not reached PTRACE_EVENT_EXIT.
func (t *tracer) creatorLeft(tgid int) bool {
	for _, th := range t.threads {
		if th.tgid == tgid && !th.exiting {
			return true
		}
	}
	return false
}

// exitStop handles PTRACE_EVENT_EXIT: the last thread of a process
// refreshes what procexit reports.
func (t *tracer) exitStop(th *thread) {
	th.inSys = false
	th.exiting = true
	if p := t.procs[th.tgid]; p != nil && p.threads == 1 {
		if b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(th.tid) + "/stat"); err == nil {
			if comm, ppid, ok := parseStat(b); ok {
				p.comm, p.ppid = comm, ppid
			}
		}
	}
	t.resume(th, 0)
	if len(t.newborn) > 0 {
		t.adoptOrphans()
	}
}

// gone handles the death of a task.
func (t *tracer) gone(pid int, th *thread, ws unix.WaitStatus) {
	if th == nil {
		delete(t.newborn, pid)
		return
	}
	delete(t.threads, pid)
	if pid == t.root && !t.rootExeced {
		t.helperStatus = ws
	}
	p := t.procs[th.tgid]
	if p == nil {
		return
	}
	p.threads--
	if p.threads > 0 {
		if len(t.newborn) > 0 {
			t.adoptOrphans()
		}
		return
	}
	if p.tgid == t.root {
		t.d.status.Store(int64(ws))
	}
	if t.rootExeced || p.tgid != t.root {
		t.emitExit(th, p, ws)
	}
	t.removeProc(p)
	if len(t.newborn) > 0 {
		t.adoptOrphans()
	}
}

// emitExit emits procexit for p, whose last thread th ended with ws.
func (t *tracer) emitExit(th *thread, p *proc, ws unix.WaitStatus) {
	data := t.ev.Data[:0]
	t.ev = driver.Event{Data: data, Type: evtProcexit, Has: driver.HasRes, Res: int64(ws)}
	if ws.Signaled() {
		t.ev.Signal = int32(ws.Signal())
		t.ev.Has |= driver.HasSignal
	}
	pr := &driver.Process{Has: driver.ProcHasPid, Pid: int64(p.tgid), Tid: int64(th.tid)}
	if p.ppid >= 0 {
		pr.PPid = p.ppid
		pr.Has |= driver.ProcHasPPid
	}
	if p.comm != "" {
		pr.Name = p.comm
		pr.Has |= driver.ProcHasName
	}
	t.ev.Proc = pr
	t.send(th)
}

// entry reads what a traced syscall's event needs from the tracee at its
// entry: path strings (and the directory relative ones start from) and
// names, which execve and rename would make unreadable at the exit.
func (t *tracer) entry(th *thread) {
	c := &th.c
	a := c.args
	tid := th.tid
	path := func(dst *capture, base *string, addr uint64, dirfd int64) {
		t.mem.str(tid, addr, dst)
		if dst.ok && (len(dst.b) == 0 || dst.b[0] != '/') {
			*base = t.fds.dir(tid, dirfd)
		}
	}
	raw := func(dst *capture, addr uint64) { t.mem.str(tid, addr, dst) }
	at := func(i int) int64 { return int64(int32(a[i])) }
	switch c.nr {
	case syscalls.Open, syscalls.Creat:
		path(&c.path, &c.base, a[0], atFDCWD)
	case syscalls.Openat:
		path(&c.path, &c.base, a[1], at(0))
	case syscalls.Openat2:
		path(&c.path, &c.base, a[1], at(0))
		n := min(a[3], openHowSize)
		t.mem.bytes(tid, a[2], int(n), &c.how)
	case syscalls.Execve:
		raw(&c.path, a[0])
	case syscalls.Execveat:
		raw(&c.path, a[1])
	case syscalls.Unlinkat, syscalls.Mkdirat, syscalls.Fchmodat, syscalls.Fchownat, syscalls.Fchmodat2:
		path(&c.path, &c.base, a[1], at(0))
	case syscalls.Unlink, syscalls.Rmdir, syscalls.Mkdir, syscalls.Chmod, syscalls.Chown, syscalls.Lchown, syscalls.Umount2, syscalls.Chdir, syscalls.Chroot:
		path(&c.path, &c.base, a[0], atFDCWD)
	case syscalls.Mount:
		path(&c.path, &c.base, a[1], atFDCWD)
		raw(&c.str, a[2])
		raw(&c.str2, a[0])
	case syscalls.MemfdCreate:
		raw(&c.str, a[0])
	case syscalls.InitModule:
		raw(&c.str, a[2])
	case syscalls.FinitModule:
		raw(&c.str, a[1])
	case syscalls.Rename, syscalls.Link:
		path(&c.path, &c.base, a[0], atFDCWD)
		path(&c.path2, &c.base2, a[1], atFDCWD)
	case syscalls.Renameat, syscalls.Renameat2, syscalls.Linkat:
		path(&c.path, &c.base, a[1], at(0))
		path(&c.path2, &c.base2, a[3], at(2))
	case syscalls.Symlink:
		raw(&c.path, a[0])
		path(&c.path2, &c.base2, a[1], atFDCWD)
	case syscalls.Symlinkat:
		raw(&c.path, a[0])
		path(&c.path2, &c.base2, a[2], at(1))
	}
	switch c.nr {
	case syscalls.Open, syscalls.Creat, syscalls.Openat, syscalls.Openat2:
		flags, _ := openFlags(c)
		if flags&oCreat != 0 && flags&oExcl == 0 && c.path.ok {
			c.existed, c.existedOK = t.fds.exists(tid, c.base, c.path.b)
		}
	}
}

// exit reads what a traced syscall's event needs at its exit: the
// descriptor it is about, socket addresses and I/O data.
func (t *tracer) exit(th *thread) {
	c := &th.c
	a := c.args
	tid := th.tid
	if fd, ok := eventFD(c); ok {
		pidfd := -1
		if p := t.procs[th.tgid]; p != nil {
			pidfd = p.pidfd
		}
		t.fds.describe(tid, pidfd, fd, &c.fd)
	}
	switch c.nr {
	case syscalls.Connect, syscalls.Bind:
		t.mem.bytes(tid, a[1], int(min(a[2], sockaddrMax)), &c.sockaddr)
	case syscalls.Sendto:
		t.mem.bytes(tid, a[4], int(min(a[5], sockaddrMax)), &c.sockaddr)
		if c.res > 0 {
			t.mem.bytes(tid, a[1], int(min(uint64(c.res), snaplen)), &c.data)
		}
	case syscalls.Recvfrom:
		if a[5] != 0 && a[4] != 0 {
			var b [4]byte
			if n, err := t.mem.read(tid, a[5], b[:]); err == nil && n == 4 {
				t.mem.bytes(tid, a[4], int(min(uint64(le.Uint32(b[:])), sockaddrMax)), &c.sockaddr)
			}
		}
		if c.res > 0 {
			t.mem.bytes(tid, a[1], int(min(uint64(c.res), snaplen)), &c.data)
		}
	case syscalls.Sendmsg, syscalls.Recvmsg:
		var m [msghdrSize]byte
		if n, err := t.mem.read(tid, a[1], m[:]); err != nil || n != len(m) {
			return
		}
		name, namelen, iov, iovlen := parseMsghdr(m[:])
		if name != 0 {
			t.mem.bytes(tid, name, int(min(uint64(namelen), sockaddrMax)), &c.sockaddr)
		}
		if c.res > 0 && iov != 0 && iovlen > 0 {
			var v [16]byte
			if n, err := t.mem.read(tid, iov, v[:]); err == nil && n == len(v) {
				base, l := le.Uint64(v[:]), le.Uint64(v[8:])
				t.mem.bytes(tid, base, int(min(l, uint64(c.res), snaplen)), &c.data)
			}
		}
	}
}

// eventFD returns the descriptor a syscall's event describes, as the eBPF
// driver chooses it.
func eventFD(c *call) (int64, bool) {
	switch c.nr {
	case syscalls.Open, syscalls.Creat, syscalls.Openat, syscalls.Openat2, syscalls.MemfdCreate, syscalls.Socket, syscalls.Accept, syscalls.Accept4:
		return c.res, c.res >= 0
	case syscalls.Dup, syscalls.Dup2, syscalls.Dup3:
		if c.res >= 0 {
			return c.res, true
		}
		return int64(int32(c.args[0])), true
	case syscalls.Fchmod, syscalls.Fchown, syscalls.Setns, syscalls.Fchdir, syscalls.FinitModule, syscalls.Connect, syscalls.Bind, syscalls.Listen,
		syscalls.Sendto, syscalls.Recvfrom, syscalls.Sendmsg, syscalls.Recvmsg:
		return int64(int32(c.args[0])), true
	}
	return -1, false
}
