//go:build linux && amd64

package ebpf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

const (
	// ringSize is the size of the BPF ring buffer.
	ringSize = 8 << 20
	// wakeupBytes is how much pending data makes the kernel side wake the
	// reader; below it the reader polls every pollInterval, which keeps
	// wake-ups (and their cost per event) rare under load.
	wakeupBytes  = 256 << 10
	pollInterval = 10 * time.Millisecond
	// dropLogInterval bounds how often new drops are logged.
	dropLogInterval = 5 * time.Second
)

// handler names the kernel program that records a syscall's arguments.
type handler uint8

const (
	hPlain handler = iota // numbers only
	hOpen
	hPath
	hPath2
	hFD
)

// syscallHandlers assigns the syscalls with non-numeric arguments to their
// kernel programs; every other syscall uses hPlain.
var syscallHandlers = map[uint64]handler{
	syscalls.Open: hOpen, syscalls.Creat: hOpen, syscalls.Openat: hOpen, syscalls.Openat2: hOpen,

	syscalls.Execve: hPath, syscalls.Execveat: hPath, syscalls.Unlink: hPath, syscalls.Unlinkat: hPath, syscalls.Rmdir: hPath,
	syscalls.Mkdir: hPath, syscalls.Mkdirat: hPath, syscalls.Chmod: hPath, syscalls.Fchmodat: hPath, syscalls.Fchmodat2: hPath,
	syscalls.Chown: hPath, syscalls.Lchown: hPath, syscalls.Fchownat: hPath, syscalls.Umount2: hPath, syscalls.Mount: hPath,
	syscalls.MemfdCreate: hPath, syscalls.InitModule: hPath, syscalls.FinitModule: hPath, syscalls.Chdir: hPath, syscalls.Chroot: hPath,

	syscalls.Rename: hPath2, syscalls.Renameat: hPath2, syscalls.Renameat2: hPath2, syscalls.Link: hPath2, syscalls.Linkat: hPath2,
	syscalls.Symlink: hPath2, syscalls.Symlinkat: hPath2,

	syscalls.Connect: hFD, syscalls.Bind: hFD, syscalls.Listen: hFD, syscalls.Accept: hFD, syscalls.Accept4: hFD, syscalls.Socket: hFD,
	syscalls.Sendto: hFD, syscalls.Recvfrom: hFD, syscalls.Sendmsg: hFD, syscalls.Recvmsg: hFD, syscalls.Dup: hFD, syscalls.Dup2: hFD,
	syscalls.Dup3: hFD, syscalls.Fchmod: hFD, syscalls.Fchown: hFD, syscalls.Setns: hFD, syscalls.Fchdir: hFD,
}

// childSide reports the syscalls that are reported from the scheduler's
// fork tracepoint (the child side) rather than at syscall exit, and those
// that never return.
func childSide(nr uint64) bool {
	switch nr {
	case syscalls.Clone, syscalls.Fork, syscalls.Vfork, syscalls.Clone3, syscalls.Exit, syscalls.ExitGroup:
		return true
	}
	return false
}

// Stats are the driver's counters.
type Stats struct {
	// Events is the number of records decoded and emitted.
	Events uint64
	// Drops is the number of records the kernel side could not queue
	// because the ring buffer was full, summed over CPUs.
	Drops uint64
	// DropsPerCPU holds Drops per CPU.
	DropsPerCPU []uint64
	// DecodeErrors counts records that could not be decoded.
	DecodeErrors uint64
	// Startup is how long New took to load and attach the programs.
	Startup time.Duration
}

// Driver is the eBPF event driver. Create it with New.
type Driver struct {
	opts    driver.Options
	objs    vigilObjects
	links   []link.Link
	rd      *ringbuf.Reader
	syscall int // number of syscalls with a handler installed

	events       atomic.Uint64
	decodeErrors atomic.Uint64
	startup      time.Duration

	// raw, when set (by tests), sees every record before it is decoded.
	raw func([]byte)

	closed      atomic.Bool
	finalDrops  uint64 // drop counters as they were at Close
	finalPerCPU []uint64

	closeOnce sync.Once
	closeErr  error
	log       *slog.Logger
}

var _ driver.Driver = (*Driver)(nil)

// New loads the probe, installs the syscall filter for opts.EventTypes
// (all covered types when the set is empty), attaches the tracepoints and
// opens the ring buffer. Events are queued in the kernel from then on;
// Run delivers them. It needs Linux 5.17 (x86_64) with BTF and CAP_BPF plus
// CAP_PERFMON (or CAP_SYS_ADMIN); errors wrap driver.ErrNotSupported or
// driver.ErrPermission when the failure is one of those.
func New(opts *driver.Options) (*Driver, error) {
	start := time.Now()
	d := &Driver{log: slog.Default()}
	if opts != nil {
		d.opts = *opts
	}
	types := d.opts.EventTypes
	if types.Empty() {
		types = driver.AllEventTypes()
	}
	_ = rlimit.RemoveMemlock() // needed before 5.11 only; failure shows at load

	spec, err := loadVigil()
	if err != nil {
		return nil, fmt.Errorf("ebpf: load program spec: %w", err)
	}
	spec.Maps["events"].MaxEntries = ringSize
	set := func(name string, v any) error {
		vs, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("ebpf: program has no variable %s", name)
		}
		if err := vs.Set(v); err != nil {
			return fmt.Errorf("ebpf: set %s: %w", name, err)
		}
		return nil
	}
	var st unix.Stat_t
	selfPID := d.opts.SelfPID
	if selfPID != 0 {
		if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
			return nil, fmt.Errorf("ebpf: pid namespace of self: %w", err)
		}
	}
	threads := uint32(0)
	if types.Has(evtClone) || types.Has(evtClone3) {
		threads = 1
	}
	for _, e := range []error{
		set("self_pid", uint32(selfPID)),
		set("pidns_dev", uint64(st.Dev)),
		set("pidns_ino", st.Ino),
		set("wakeup_bytes", uint64(wakeupBytes)),
		set("emit_threads", threads),
	} {
		if e != nil {
			return nil, e
		}
	}
	if err := spec.LoadAndAssign(&d.objs, nil); err != nil {
		return nil, classify("load programs", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = d.release()
		}
	}()

	// Learn Vigil's own tgid in the root pid namespace by running a tiny
	// program in this task; without it the kernel side compares through
	// the pid namespace on every event.
	if selfPID == os.Getpid() {
		if _, err := d.objs.VigilWhoami.Run(&ebpf.RunOptions{Context: make([]byte, 16)}); err != nil {
			d.log.Debug("ebpf: self lookup by test run failed; filtering by pid namespace", "err", err)
		}
	}

	progs := map[handler]*ebpf.Program{
		hPlain: d.objs.VigilSysPlain,
		hOpen:  d.objs.VigilSysOpen,
		hPath:  d.objs.VigilSysPath,
		hPath2: d.objs.VigilSysPath2,
		hFD:    d.objs.VigilSysFd,
	}
	for nr := range syscalls.Count {
		t := syscalls.Type(uint64(nr))
		if t == driver.EventUnknown || !types.Has(t) || nr >= 512 || childSide(uint64(nr)) {
			continue
		}
		if err := d.objs.Handlers.Put(uint32(nr), progs[syscallHandlers[uint64(nr)]]); err != nil {
			return nil, fmt.Errorf("ebpf: install handler for %s: %w", t, err)
		}
		d.syscall++
	}

	attach := func(name string, p *ebpf.Program) error {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: name, Program: p})
		if err != nil {
			return classify("attach raw tracepoint "+name, err)
		}
		d.links = append(d.links, l)
		return nil
	}
	if err := attach("sched_process_fork", d.objs.VigilFork); err != nil {
		return nil, err
	}
	if err := attach("sched_process_exec", d.objs.VigilExec); err != nil {
		return nil, err
	}
	if err := attach("sched_process_exit", d.objs.VigilExit); err != nil {
		return nil, err
	}
	if d.syscall > 0 {
		if err := attach("sys_exit", d.objs.VigilSysExit); err != nil {
			return nil, err
		}
	}
	d.rd, err = ringbuf.NewReader(d.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("ebpf: open ring buffer reader: %w", err)
	}
	ok = true
	d.startup = time.Since(start)
	d.log.Debug("ebpf: attached", "syscalls", d.syscall, "startup", d.startup)
	return d, nil
}

// Name returns "ebpf".
func (d *Driver) Name() string { return "ebpf" }

// Coverage returns what the driver observes.
func (d *Driver) Coverage() driver.Coverage { return coverage() }

// Run reads records until ctx ends, the driver is closed, or reading fails,
// and calls emit for each event. It returns nil when ctx ended or Close was
// called. Run must not be called more than once.
func (d *Driver) Run(ctx context.Context, emit func(*driver.Event)) error {
	if d.rd == nil {
		return errors.New("ebpf: driver is closed")
	}
	dec := decoder{bootOffset: bootOffset()}
	var (
		ev        driver.Event
		rec       ringbuf.Record
		num       uint64
		lastDrops uint64
		lastCheck = time.Now()
	)
	d.rd.SetDeadline(time.Now().Add(pollInterval))
	for {
		err := d.rd.ReadInto(&rec)
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				if ctx.Err() != nil {
					return nil
				}
				if now := time.Now(); now.Sub(lastCheck) >= dropLogInterval {
					lastCheck = now
					if drops, _ := d.drops(); drops > lastDrops {
						d.log.Warn("ebpf: kernel dropped events (ring buffer full)", "new", drops-lastDrops, "total", drops)
						lastDrops = drops
					}
				}
				d.rd.SetDeadline(time.Now().Add(pollInterval))
				continue
			case errors.Is(err, ringbuf.ErrClosed):
				return nil
			}
			return fmt.Errorf("ebpf: read ring buffer: %w", err)
		}
		if d.raw != nil {
			d.raw(rec.RawSample)
		}
		if err := dec.decode(rec.RawSample, &ev); err != nil {
			d.decodeErrors.Add(1)
			continue
		}
		num++
		ev.Num = num
		d.events.Add(1)
		emit(&ev)
	}
}

// Stats returns the driver's counters. Drops are read from the kernel.
func (d *Driver) Stats() Stats {
	s := Stats{Events: d.events.Load(), DecodeErrors: d.decodeErrors.Load(), Startup: d.startup}
	s.Drops, s.DropsPerCPU = d.drops()
	return s
}

func (d *Driver) drops() (uint64, []uint64) {
	if d.objs.Drops == nil || d.closed.Load() {
		return d.finalDrops, d.finalPerCPU
	}
	var per []uint64
	if err := d.objs.Drops.Lookup(uint32(0), &per); err != nil {
		return 0, nil
	}
	var sum uint64
	for _, v := range per {
		sum += v
	}
	return sum, per
}

// Close detaches the programs and frees the kernel objects. It is safe to
// call more than once and concurrently with Run, which then returns.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		start := time.Now()
		d.finalDrops, d.finalPerCPU = d.drops()
		d.closed.Store(true)
		d.closeErr = d.release()
		d.log.Debug("ebpf: detached", "took", time.Since(start))
	})
	return d.closeErr
}

func (d *Driver) release() error {
	var errs []error
	// Detach the dispatcher first so that no new records arrive.
	for i := len(d.links) - 1; i >= 0; i-- {
		errs = append(errs, d.links[i].Close())
	}
	d.links = nil
	if d.rd != nil {
		errs = append(errs, d.rd.Close())
	}
	errs = append(errs, d.objs.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ebpf: close: %w", err)
	}
	return nil
}

// bootOffset returns CLOCK_REALTIME minus CLOCK_BOOTTIME in nanoseconds.
func bootOffset() int64 {
	var rt, bt unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	return rt.Nano() - bt.Nano()
}

// Factory returns the driver factory for `--driver ebpf` and auto
// selection.
func Factory() driver.Factory {
	return driver.Factory{
		Name:     "ebpf",
		Summary:  "eBPF raw tracepoints (syscall exit, fork, exec, exit) with an in-kernel syscall filter and a BPF ring buffer",
		Probe:    Probe,
		Coverage: coverage,
		New: func(opts *driver.Options) (driver.Driver, error) {
			d, err := New(opts)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
		Auto: true,
	}
}

// Drops returns the number of events the kernel side could not queue
// (driver.DropCounter).
func (d *Driver) Drops() uint64 { return d.Stats().Drops }
