package fanotify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// Driver is the fanotify + proc connector + sock_diag driver. Create it with
// New; Run delivers events from one goroutine.
type Driver struct {
	opts     driver.Options
	cfg      Config
	feat     features
	want     driver.EventTypeSet
	procRoot string
	selfPID  int32
	selfNS   uint64 // the driver's mount namespace inode (0: unknown)

	fan  *fanWatch
	cn   *procConn
	diag *sockDiag // nil when socket polling is disabled
	wake int       // eventfd that interrupts Run's poll

	mu      sync.Mutex
	running bool
	runDone chan struct{}
	closed  bool

	events, drops, overflows, resyncs, decodeErrors atomic.Uint64

	// Run's state, touched only by the goroutine running Run.
	loop loopState
}

// loopState is what Run keeps between iterations.
type loopState struct {
	emit    func(*driver.Event)
	ev      driver.Event
	num     uint64
	iter    uint64
	monoOff int64 // wall-clock minus monotonic nanoseconds

	opens    openTable
	creates  map[openKey]createRec
	writers  map[openKey]struct{}
	hints    map[int32]execHint
	comms    map[int32]commName
	attrs    map[fileKey]fileAttr
	moveFrom moveRec

	proc    driver.Process // the snapshot ev.Proc points to
	fdPaths []string       // "/proc/self/fd/N" by N
	scan    fdScanCache
	lnk     []byte
	ns      nsCache // processes' mount namespaces, for container paths
}

// New creates the driver: it initialises the fanotify groups and marks the
// mounted filesystems, subscribes to the proc connector and opens the
// sock_diag socket, so that every failure surfaces here rather than in Run.
// Errors wrap driver.ErrNotSupported or driver.ErrPermission as Probe's do.
// It needs Linux 4.20 (filesystem marks; older kernels get mount marks),
// CAP_SYS_ADMIN and CAP_NET_ADMIN.
func New(opts *driver.Options, cfg *Config) (*Driver, error) {
	d := &Driver{wake: -1}
	if opts != nil {
		d.opts = *opts
	}
	if cfg != nil {
		d.cfg = *cfg
	}
	if d.cfg.SockPollInterval == 0 {
		d.cfg.SockPollInterval = DefaultSockPollInterval
	}
	if d.cfg.OpenWait <= 0 {
		d.cfg.OpenWait = DefaultOpenWait
	}
	d.procRoot = d.cfg.ProcRoot
	if d.procRoot == "" {
		d.procRoot = "/proc"
	}
	d.selfPID = int32(d.opts.SelfPID)
	d.selfNS, _ = nsInode(d.procRoot, "self")
	d.want = d.opts.EventTypes
	if d.want.Empty() {
		d.want = driver.AllEventTypes()
	}
	// The state layer needs the process lifecycle whatever the rules say.
	d.want.Add(evtClone)
	d.want.Add(evtExecve)
	d.want.Add(evtProcexit)

	feat, err := probeFeatures()
	if err != nil {
		return nil, err
	}
	d.feat = feat
	ok := false
	defer func() {
		if !ok {
			d.closeFDs()
		}
	}()
	if d.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("fanotify: eventfd: %w", err)
	}
	if d.fan, err = newFanWatch(feat, d.needs()); err != nil {
		return nil, err
	}
	if d.cn, err = newProcConn(); err != nil {
		return nil, err
	}
	if d.cfg.SockPollInterval > 0 && d.wantsAny(evtConnect, evtAccept, evtListen) {
		if d.diag, err = newSockDiag(); err != nil {
			return nil, err
		}
		// The first listing is the baseline: sockets that exist before
		// the driver is created are not reported.
		if err := d.pollSockets(true); err != nil {
			return nil, err
		}
	}
	ok = true
	return d, nil
}

// needs says which fanotify events the wanted event types require.
func (d *Driver) needs() fanNeeds {
	return fanNeeds{
		open:   d.want.Has(evtOpenat),
		dirent: d.wantsAny(evtUnlinkat, evtRenameat2, evtMkdirat, evtChmod, evtChown, evtSymlinkat, evtOpenat),
	}
}

func (d *Driver) wantsAny(ts ...driver.EventType) bool {
	for _, t := range ts {
		if d.want.Has(t) {
			return true
		}
	}
	return false
}

// Name returns "fanotify".
func (d *Driver) Name() string { return Name }

// Coverage returns what the driver observes on this kernel.
func (d *Driver) Coverage() driver.Coverage { return coverageFor(d.feat) }

// Stats returns the driver's counters. It is safe to call concurrently with
// Run.
func (d *Driver) Stats() Stats {
	s := Stats{
		Events:       d.events.Load(),
		Drops:        d.drops.Load(),
		Overflows:    d.overflows.Load(),
		Resyncs:      d.resyncs.Load(),
		DecodeErrors: d.decodeErrors.Load(),
	}
	if d.fan != nil {
		s.Marks = int(d.fan.nmarks.Load())
		s.MarkErrors = d.fan.markErrors.Load()
	}
	return s
}

var errClosed = errors.New("fanotify: driver closed")

// Run delivers events to emit until ctx ends or Close is called; it then
// returns nil. It returns an error when a kernel descriptor fails. Run may
// be called once.
func (d *Driver) Run(ctx context.Context, emit func(*driver.Event)) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errClosed
	}
	if d.running || d.runDone != nil {
		d.mu.Unlock()
		return errors.New("fanotify: Run called twice")
	}
	d.running = true
	d.runDone = make(chan struct{})
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		close(d.runDone)
		d.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, d.interrupt)
	defer stop()

	d.loop = loopState{
		emit:    emit,
		creates: make(map[openKey]createRec),
		writers: make(map[openKey]struct{}),
		hints:   make(map[int32]execHint),
		comms:   make(map[int32]commName),
		attrs:   make(map[fileKey]fileAttr),
		lnk:     make([]byte, unix.PathMax),
	}
	d.loop.opens.init()
	d.loop.ns.init(d.selfNS)
	d.updateClock()
	nextDiag := time.Now().Add(d.cfg.SockPollInterval)

	fds := make([]unix.PollFd, 0, 5)
	fds = append(fds, unix.PollFd{Fd: int32(d.wake), Events: unix.POLLIN})
	iMounts := -1
	if d.fan.mountinfo >= 0 {
		iMounts = len(fds)
		fds = append(fds, unix.PollFd{Fd: int32(d.fan.mountinfo), Events: unix.POLLPRI})
	}
	iCn := len(fds)
	fds = append(fds, unix.PollFd{Fd: int32(d.cn.fd), Events: unix.POLLIN})
	iG2 := -1
	if d.fan.g2 >= 0 {
		iG2 = len(fds)
		fds = append(fds, unix.PollFd{Fd: int32(d.fan.g2), Events: unix.POLLIN})
	}
	iG1 := len(fds)
	fds = append(fds, unix.PollFd{Fd: int32(d.fan.g1), Events: unix.POLLIN})

	for {
		timeout := -1
		now := time.Now()
		if d.diag != nil {
			timeout = msUntil(now, nextDiag)
		}
		if due, ok := d.nextDue(); ok {
			if t := msUntil(now, due); timeout < 0 || t < timeout {
				timeout = t
			}
		}
		for i := range fds {
			fds[i].Revents = 0
		}
		if _, err := unix.Poll(fds, timeout); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("fanotify: poll: %w", err)
		}
		if ctx.Err() != nil || d.isClosed() {
			return nil
		}
		if fds[0].Revents != 0 {
			var b [8]byte
			_, _ = unix.Read(d.wake, b[:])
		}
		for i := 1; i < len(fds); i++ {
			if fds[i].Revents&unix.POLLNVAL != 0 {
				return fmt.Errorf("fanotify: descriptor %d closed under Run", fds[i].Fd)
			}
		}
		d.loop.iter++
		d.updateClock()
		if iMounts >= 0 && fds[iMounts].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
			if err := d.fan.rescan(); err != nil {
				// The mount table could not be read: new mounts are
				// marked at the next change.
				d.fan.markErrors.Add(1)
			}
		}
		// Read the proc connector first and fanotify second: file events
		// of a process that forked, executed or exited in this batch are
		// then already queued, and are handled after its fork and exec
		// but before its exit.
		var msgs [][]byte
		if fds[iCn].Revents != 0 {
			var err error
			if msgs, err = d.cn.drain(); err != nil {
				if errors.Is(err, unix.ENOBUFS) {
					d.lost(false)
				} else {
					return err
				}
			}
		}
		var recs2, recs1 []fanRecord
		if iG2 >= 0 && fds[iG2].Revents != 0 {
			recs2 = d.readFan(d.fan.g2, &d.fan.buf2, &d.fan.recs2, false)
		}
		if fds[iG1].Revents != 0 {
			recs1 = d.readFan(d.fan.g1, &d.fan.buf1, &d.fan.recs1, true)
		}
		wall := time.Now().UnixNano()
		d.execHints(recs1, wall)
		d.handleProc(msgs, false)
		for i := range recs2 {
			d.handleDirent(&recs2[i], wall)
		}
		for i := range recs1 {
			d.handleFile(&recs1[i], wall)
		}
		closeRecordFDs(recs1)
		closeRecordFDs(recs2)
		d.handleProc(msgs, true)

		d.expire(time.Now())
		if d.diag != nil && !time.Now().Before(nextDiag) {
			if err := d.pollSockets(false); err != nil {
				return err
			}
			nextDiag = time.Now().Add(d.cfg.SockPollInterval)
		}
	}
}

// msUntil returns the poll timeout in milliseconds until t (at least 0,
// rounded up).
func msUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// updateClock refreshes the offset between CLOCK_MONOTONIC (proc connector
// timestamps) and the wall clock.
func (d *Driver) updateClock() {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return
	}
	d.loop.monoOff = time.Now().UnixNano() - ts.Nano()
}

// lost records a drop and asks the state layer to resynchronise.
func (d *Driver) lost(overflow bool) {
	d.drops.Add(1)
	if overflow {
		d.overflows.Add(1)
	}
	d.resyncs.Add(1)
	if d.opts.Resync != nil {
		d.opts.Resync()
	}
}

// send emits ev if its type is wanted.
func (d *Driver) send(ev *driver.Event) {
	if !d.want.Has(ev.Type) {
		return
	}
	d.loop.num++
	ev.Num = d.loop.num
	ev.Has |= driver.HasNum
	d.events.Add(1)
	d.loop.emit(ev)
}

// resetEvent clears the loop's event for a new one of type t by pid.
func (d *Driver) resetEvent(t driver.EventType, pid int32, wall int64) *driver.Event {
	ev := &d.loop.ev
	args := ev.Args[:0]
	*ev = driver.Event{Type: t, Time: wall, Tid: int64(pid), Pid: int64(pid), Args: args}
	return ev
}

// fdPath returns "/proc/self/fd/N", cached for small N.
func (d *Driver) fdPath(fd int32) string {
	if fd >= 0 && fd < 4096 {
		if int(fd) >= len(d.loop.fdPaths) {
			n := int(fd) + 64
			if n > 4096 {
				n = 4096
			}
			ps := make([]string, n)
			copy(ps, d.loop.fdPaths)
			d.loop.fdPaths = ps
		}
		if p := d.loop.fdPaths[fd]; p != "" {
			return p
		}
		p := "/proc/self/fd/" + strconv.Itoa(int(fd))
		d.loop.fdPaths[fd] = p
		return p
	}
	return "/proc/self/fd/" + strconv.Itoa(int(fd))
}

// readlink returns the target of link, or false.
func (d *Driver) readlink(link string) (string, bool) {
	n, err := unix.Readlink(link, d.loop.lnk)
	if err != nil || n <= 0 {
		return "", false
	}
	return string(d.loop.lnk[:n]), true
}

// interrupt wakes Run's poll.
func (d *Driver) interrupt() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wake >= 0 {
		var one [8]byte
		one[0] = 1
		_, _ = unix.Write(d.wake, one[:])
	}
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close stops Run (waiting for it to return) and releases the kernel
// descriptors. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	running, done := d.running, d.runDone
	if running && d.wake >= 0 {
		var one [8]byte
		one[0] = 1
		_, _ = unix.Write(d.wake, one[:])
	}
	d.mu.Unlock()
	if running {
		<-done
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closeFDs()
	return nil
}

// closeFDs releases every descriptor the driver holds.
func (d *Driver) closeFDs() {
	if d.fan != nil {
		d.fan.close()
	}
	if d.cn != nil {
		d.cn.close()
	}
	if d.diag != nil {
		d.diag.close()
	}
	if d.wake >= 0 {
		unix.Close(d.wake)
		d.wake = -1
	}
}

// Drops returns the number of events lost to queue overflows
// (driver.DropCounter).
func (d *Driver) Drops() uint64 { return d.Stats().Drops }
