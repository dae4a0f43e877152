package procscan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigilsec/vigil/driver"
)

const (
	oLargefile  = 0o100000 // O_LARGEFILE, which the kernel adds to every 64-bit open
	einprogress = 115      // EINPROGRESS
	maxLink     = 4096     // PATH_MAX
)

// Kinds of tracked descriptors.
const (
	fdkOther uint8 = iota
	fdkFile
	fdkSocket
)

// Poller is the polling driver: it reads /proc at an interval and reports
// what changed as events. Create it with NewPoller; Run polls from one
// goroutine.
type Poller struct {
	opts    driver.Options
	cfg     PollConfig
	want    driver.EventTypeSet
	rootFD  int
	selfPID int32
	privil  bool
	// wantFDs is set when the wanted events need the descriptors of
	// processes (openat, or socket events, which find sockets through
	// them).
	wantFDs bool

	mu      sync.Mutex
	running bool
	runDone chan struct{}
	closed  bool
	stop    chan struct{}

	events, polls, truncated atomic.Uint64
	nprocs, nfds, nsocks     atomic.Int64
	lastPoll                 atomic.Int64

	// st is touched by NewPoller (the baseline) and then only by the
	// goroutine running Run.
	st pollState
}

// pollState is what the driver keeps between polls, and its buffers.
type pollState struct {
	gen       uint32
	baseline  bool
	procs     map[int32]*pollProc
	peakProcs int
	selfNetns uint64
	rd        reader // for ReadProcess-like reads of new processes

	emit func(*driver.Event)
	ev   driver.Event
	proc driver.Process
	num  uint64
	wall int64

	path    []byte // NUL-terminated path scratch
	buf     []byte // file contents scratch
	lnk     []byte // link target scratch
	dents   []byte // getdents buffer
	pids    []int32
	fdnums  []int32
	scratch []pollFD
	name    []byte

	owners    []sockOwner          // sockets held by the processes of this poll, in scan order
	socks     map[uint64]*sockInfo // by inode: the sockets held by the processes scanned
	peakSocks int
	arena     []byte // /proc/net tables of this poll
	net       []netEnt
	netIdx    map[uint64]int32
	needs     []netNeed
	listeners []int32 // indexes of TCP listeners in net
}

// sockInfo is what is known of a socket held by a scanned process.
type sockInfo struct {
	gen   uint32 // the last poll that found it held
	bits  uint8  // sockListen, sockConn, sockDone: what was reported
	class uint8  // sockTCP, ...: which table lists it
}

// netTables are the tables by class (index class-1).
var netTables = [...]struct {
	name string
	l4   uint8
}{{"net/tcp", driver.L4TCP}, {"net/tcp6", driver.L4TCP}, {"net/udp", driver.L4UDP}, {"net/udp6", driver.L4UDP}, {"net/unix", driver.L4Unknown}}

// netNeed is a network namespace whose tables a poll reads.
type netNeed struct {
	ns     uint64
	pid    int32 // a process in it; -1 for the driver's own namespace
	tables uint8 // bit class-1 for each table
}

// pollProc is what is kept of a process between polls.
type pollProc struct {
	start   uint64 // start time in clock ticks after boot: the identity with the pid
	ident   uint64 // hash of the exe link and the command line
	netns   uint64 // network namespace inode, 0 when unknown
	comm    string
	ppid    int32
	gen     uint32
	exited  bool // reported as exited (a zombie)
	kthread bool
	fds     []pollFD // by number
}

// pollFD is a tracked descriptor: its number and a hash of its link.
type pollFD struct {
	num  int32
	kind uint8
	hash uint64
}

// sockOwner is a descriptor holding a socket.
type sockOwner struct {
	ino uint64
	pid int32
	fd  int32
}

// NewPoller creates the polling driver and takes the baseline: processes,
// descriptors and sockets that exist now are never reported. It returns an
// error wrapping driver.ErrNotSupported or driver.ErrPermission when /proc
// cannot be used (see ProbePoll). It needs Linux procfs and no privileges.
func NewPoller(opts *driver.Options, cfg *PollConfig) (*Poller, error) {
	d := &Poller{rootFD: -1, stop: make(chan struct{})}
	if opts != nil {
		d.opts = *opts
	}
	if cfg != nil {
		d.cfg = *cfg
	}
	if d.cfg.Interval <= 0 {
		d.cfg.Interval = DefaultPollInterval
	}
	if d.cfg.MaxFDs <= 0 {
		d.cfg.MaxFDs = DefaultMaxFDs
	}
	if d.cfg.ProcRoot == "" {
		d.cfg.ProcRoot = "/proc"
	}
	d.privil = os.Geteuid() == 0
	if err := probePoll(d.cfg.ProcRoot, d.privil); err != nil {
		return nil, err
	}
	d.selfPID = int32(d.opts.SelfPID)
	d.want = d.opts.EventTypes
	if d.want.Empty() {
		d.want = driver.AllEventTypes()
	}
	// The state layer needs the process lifecycle whatever the rules say.
	d.want.Add(evtClone)
	d.want.Add(evtExecve)
	d.want.Add(evtProcexit)
	d.wantFDs = d.want.Has(evtOpenat) || d.want.Has(evtConnect) || d.want.Has(evtAccept) || d.want.Has(evtListen)

	btime, err := BootTime(d.cfg.ProcRoot)
	if err != nil {
		return nil, err
	}
	root := append([]byte(d.cfg.ProcRoot), 0)
	if d.rootFD, err = openat(-100, root, syscall.O_RDONLY|syscall.O_DIRECTORY); err != nil {
		return nil, fmt.Errorf("procscan: open %s: %w", d.cfg.ProcRoot, err)
	}
	s := &d.st
	*s = pollState{
		procs:  make(map[int32]*pollProc),
		rd:     reader{root: d.cfg.ProcRoot, btime: btime},
		lnk:    make([]byte, maxLink),
		dents:  make([]byte, 16<<10),
		socks:  make(map[uint64]*sockInfo),
		netIdx: make(map[uint64]int32),
	}
	if l, ok := d.readlink(-1, "self/ns/net"); ok {
		s.selfNetns, _ = decodeNetnsLink(l)
	}
	s.baseline = true
	d.poll()
	s.baseline = false
	return d, nil
}

// Name returns "procscan".
func (d *Poller) Name() string { return PollName }

// Coverage returns what the driver observes with its settings.
func (d *Poller) Coverage() driver.Coverage {
	return pollCoverage(d.cfg.Interval, d.cfg.MaxFDs, d.privil)
}

// Stats returns the driver's counters. It is safe to call concurrently
// with Run.
func (d *Poller) Stats() PollStats {
	return PollStats{
		Polls:        d.polls.Load(),
		Events:       d.events.Load(),
		Procs:        int(d.nprocs.Load()),
		FDs:          int(d.nfds.Load()),
		Sockets:      int(d.nsocks.Load()),
		TruncatedFDs: d.truncated.Load(),
		LastPoll:     time.Duration(d.lastPoll.Load()),
	}
}

// Run polls /proc every interval and delivers events to emit until ctx
// ends or Close is called; it then returns nil. Run may be called once.
func (d *Poller) Run(ctx context.Context, emit func(*driver.Event)) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("procscan: driver closed")
	}
	if d.runDone != nil {
		d.mu.Unlock()
		return errors.New("procscan: Run called twice")
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
	d.st.emit = emit
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.stop:
			return nil
		case <-t.C:
		}
		d.poll()
	}
}

// Close stops Run (waiting for it to return) and releases the driver's
// descriptor. It is safe to call more than once.
func (d *Poller) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.stop)
	running, done := d.running, d.runDone
	d.mu.Unlock()
	if running {
		<-done
	}
	if d.rootFD >= 0 {
		syscall.Close(d.rootFD)
		d.rootFD = -1
	}
	return nil
}

// poll reads /proc once and reports what changed since the last poll.
func (d *Poller) poll() {
	t0 := time.Now()
	s := &d.st
	s.gen++
	s.wall = t0.UnixNano()
	s.owners = s.owners[:0]

	s.pids = s.pids[:0]
	if fd, err := openat(d.rootFD, append(s.path[:0], '.', 0), syscall.O_RDONLY|syscall.O_DIRECTORY); err == nil {
		s.pids, _, _ = appendDirNums(fd, s.dents, s.pids, 1<<22)
		syscall.Close(fd)
	}
	for _, pid := range s.pids {
		if pid > 0 && pid != d.selfPID {
			d.pollProc(pid)
		}
	}
	nfds := 0
	for pid, p := range s.procs {
		if p.gen != s.gen {
			if !p.exited && !p.kthread {
				d.emitExit(pid, p)
			}
			delete(s.procs, pid)
			continue
		}
		nfds += len(p.fds)
	}
	// Maps keep their peak size: start afresh after a churn.
	if n := len(s.procs); n > s.peakProcs {
		s.peakProcs = n
	} else if s.peakProcs > 4096 && n < s.peakProcs/4 {
		m := make(map[int32]*pollProc, n)
		for k, v := range s.procs {
			m[k] = v
		}
		s.procs, s.peakProcs = m, n
	}
	d.pollSockets()

	d.polls.Add(1)
	d.nprocs.Store(int64(len(s.procs)))
	d.nfds.Store(int64(nfds))
	d.nsocks.Store(int64(len(s.socks)))
	d.lastPoll.Store(int64(time.Since(t0)))
}

// relPath sets s.path to "PID/name\x00".
func (s *pollState) relPath(pid int32, name string) []byte {
	p := strconv.AppendInt(s.path[:0], int64(pid), 10)
	p = append(p, '/')
	p = append(p, name...)
	s.path = append(p, 0)
	return s.path
}

// readlink reads the link PID/name (pid -1: name alone) under the procfs
// root into s.lnk.
func (d *Poller) readlink(pid int32, name string) ([]byte, bool) {
	s := &d.st
	var p []byte
	if pid < 0 {
		p = append(append(s.path[:0], name...), 0)
		s.path = p
	} else {
		p = s.relPath(pid, name)
	}
	n, err := readlinkat(d.rootFD, p, s.lnk)
	if err != nil {
		return nil, false
	}
	return s.lnk[:n], true
}

// pollProc compares one process with what the last poll saw.
func (d *Poller) pollProc(pid int32) {
	s := &d.st
	var err error
	s.buf, err = appendFile(d.rootFD, s.relPath(pid, "stat"), s.buf[:0], maxSmallFile)
	p := s.procs[pid]
	if err != nil {
		if p != nil && !errGoneSys(err) {
			p.gen = s.gen // unreadable, not gone
		}
		return
	}
	st, ok := decodeStatLite(s.buf)
	if !ok {
		if p != nil {
			p.gen = s.gen
		}
		return
	}
	if p != nil && p.start != st.start {
		// The pid was reused: the old process is gone.
		if !p.exited && !p.kthread {
			d.emitExit(pid, p)
		}
		delete(s.procs, pid)
		p = nil
	}
	zombie := st.state == 'Z' || st.state == 'X'
	if p == nil {
		p = &pollProc{start: st.start, ppid: int32(st.ppid), gen: s.gen, comm: string(st.comm),
			kthread: pid == 2 || st.ppid == 2}
		s.procs[pid] = p
		if p.kthread {
			return
		}
		if zombie {
			p.exited = true // born and dead between two polls
			return
		}
		p.ident = d.ident(pid)
		p.netns = d.netns(pid)
		if !s.baseline && !d.newProcess(pid, p) {
			return
		}
		d.scanFDs(pid, p, true)
		return
	}
	p.gen = s.gen
	if p.kthread || p.exited {
		return
	}
	if zombie {
		p.exited = true
		d.emitExit(pid, p)
		p.fds = nil
		return
	}
	p.ppid = int32(st.ppid)
	if string(st.comm) != p.comm {
		p.comm = string(st.comm)
		// A new name: an exec, or a rename (prctl PR_SET_NAME) when the
		// executable and command line are the same.
		if id := d.ident(pid); id != p.ident {
			p.ident = id
			p.netns = d.netns(pid)
			if !d.emitExec(pid) {
				return
			}
		}
	}
	d.scanFDs(pid, p, false)
}

// ident hashes the executable link and the command line of pid.
func (d *Poller) ident(pid int32) uint64 {
	s := &d.st
	h := uint64(fnvOffset)
	if l, ok := d.readlink(pid, "exe"); ok {
		h = fnv64(h, l)
	}
	h = fnv64(h, []byte{0})
	var err error
	s.buf, err = appendFile(d.rootFD, s.relPath(pid, "cmdline"), s.buf[:0], MaxArgsBytes)
	if err == nil {
		h = fnv64(h, s.buf)
	}
	return h
}

// netns returns the network namespace inode of pid, or 0.
func (d *Poller) netns(pid int32) uint64 {
	l, ok := d.readlink(pid, "ns/net")
	if !ok {
		return 0
	}
	ns, _ := decodeNetnsLink(l)
	return ns
}

// newProcess reports a process that appeared since the last poll: clone,
// and execve when it runs another program than its parent. It returns
// false when the process could not be read (it is gone).
func (d *Poller) newProcess(pid int32, p *pollProc) bool {
	s := &d.st
	rp, err := s.rd.read(int(pid))
	if err != nil {
		p.exited = true // gone already: nothing to report
		return false
	}
	parent := s.procs[int32(rp.PPid)]
	forkOnly := parent != nil && !parent.kthread && parent.ident == p.ident && parent.comm == p.comm

	ev := d.resetEvent(evtClone, pid)
	ev.Has |= driver.HasRes
	pr := &s.proc
	if forkOnly {
		*pr = rp.Process
	} else {
		// The state layer lends the child its parent's program; the
		// execve below brings the child's own.
		*pr = driver.Process{
			Has: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasStart | driver.ProcHasVPid,
			Pid: rp.Pid, Tid: rp.Tid, PPid: rp.PPid, VPid: rp.VPid, VTid: rp.VTid, StartTime: rp.StartTime,
		}
	}
	pr.Parent = nil
	ev.Proc = pr
	d.send(ev)
	if !forkOnly {
		d.execEvent(pid, &rp)
	}
	return true
}

// emitExec reports an exec in a known process. It returns false when the
// process is gone.
func (d *Poller) emitExec(pid int32) bool {
	rp, err := d.st.rd.read(int(pid))
	if err != nil {
		return false
	}
	d.execEvent(pid, &rp)
	return true
}

// execEvent sends an execve with the process read after it.
func (d *Poller) execEvent(pid int32, rp *Proc) {
	s := &d.st
	ev := d.resetEvent(evtExecve, pid)
	ev.Has |= driver.HasRes
	s.proc = rp.Process
	s.proc.Parent = nil
	if rp.Has.Has(driver.ProcHasExePath) {
		ev.Path = rp.ExePath
		ev.Has |= driver.HasPath
	}
	if rp.Has.Has(driver.ProcHasArgs) {
		ev.Args = rp.Args
		ev.Has |= driver.HasArgs
	}
	ev.Proc = &s.proc
	d.send(ev)
}

// emitExit reports a process that exited.
func (d *Poller) emitExit(pid int32, p *pollProc) {
	s := &d.st
	ev := d.resetEvent(evtProcexit, pid)
	s.proc = driver.Process{
		Has: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasName,
		Pid: int64(pid), Tid: int64(pid), PPid: int64(p.ppid), Name: p.comm,
	}
	ev.Proc = &s.proc
	d.send(ev)
}

// scanFDs reads the descriptors of pid, records the sockets among them,
// and (after the baseline) emits openat for files that are new since the
// last poll. The descriptors of a new process (newProc) that it inherited
// from its parent are not reported.
func (d *Poller) scanFDs(pid int32, p *pollProc, newProc bool) {
	s := &d.st
	if !d.wantFDs {
		return
	}
	dirfd, err := openat(d.rootFD, s.relPath(pid, "fd"), syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		p.fds = nil // not ours to read (or gone)
		return
	}
	defer syscall.Close(dirfd)
	nums, truncated, _ := appendDirNums(dirfd, s.dents, s.fdnums[:0], d.cfg.MaxFDs)
	s.fdnums = nums
	if truncated {
		d.truncated.Add(1)
	}
	if !slices.IsSorted(nums) {
		slices.Sort(nums)
	}
	report := !s.baseline && d.want.Has(evtOpenat)
	var parent *pollProc
	if newProc {
		parent = s.procs[p.ppid]
	}
	old := p.fds
	cur := s.scratch[:0]
	j := 0
	for _, fd := range nums {
		s.name = append(strconv.AppendInt(s.name[:0], int64(fd), 10), 0)
		n, err := readlinkat(dirfd, s.name, s.lnk)
		if err != nil {
			continue
		}
		l := s.lnk[:n]
		kind, h := fdkOther, fnv64(fnvOffset, l)
		switch {
		case len(l) > 0 && l[0] == '/':
			kind = fdkFile
		case bytes.HasPrefix(l, []byte("socket:[")):
			kind = fdkSocket
			if ino, ok := decodeSocketLink(l); ok {
				d.ownSocket(ino, pid, fd)
			}
		}
		cur = append(cur, pollFD{num: fd, kind: kind, hash: h})
		for j < len(old) && old[j].num < fd {
			j++
		}
		if j < len(old) && old[j].num == fd && old[j].hash == h {
			continue
		}
		if !report || kind != fdkFile || (newProc && inherited(parent, fd, h)) {
			continue
		}
		d.emitOpen(pid, fd, l)
	}
	s.scratch = cur
	if cap(p.fds) >= len(cur) && cap(p.fds) <= 2*len(cur)+8 {
		p.fds = append(p.fds[:0], cur...)
	} else {
		p.fds = slices.Clone(cur)
	}
	if p.fds == nil {
		p.fds = []pollFD{} // scanned: no longer a new process
	}
}

// inherited reports whether descriptor fd of a new process (with link
// hash h) is one it inherited from parent. Without a known parent, the
// standard streams count as inherited.
func inherited(parent *pollProc, fd int32, h uint64) bool {
	if parent == nil || parent.fds == nil {
		return fd <= 2
	}
	i, ok := slices.BinarySearchFunc(parent.fds, fd, func(f pollFD, n int32) int { return int(f.num) - int(n) })
	return ok && parent.fds[i].hash == h
}

// emitOpen reports a new file descriptor as openat, with its flags from
// /proc/PID/fdinfo and its device and inode.
func (d *Poller) emitOpen(pid, fd int32, link []byte) {
	s := &d.st
	path := string(bytes.TrimSuffix(link, []byte(" (deleted)")))
	ev := d.resetEvent(evtOpenat, pid)
	ev.Res, ev.FD = int64(fd), int64(fd)
	ev.Path = path
	ev.Has |= driver.HasRes | driver.HasFD | driver.HasPath | driver.HasFDInfo
	ev.FDInfo = driver.FDInfo{Num: int64(fd), Type: driver.FDFile, Name: path, NameRaw: path}
	if bytes.HasPrefix(link, []byte("/memfd:")) {
		ev.FDInfo.Type = driver.FDMemfd
	}
	var err error
	s.buf, err = appendFile(d.rootFD, s.relPath(pid, "fdinfo/"+strconv.Itoa(int(fd))), s.buf[:0], maxSmallFile)
	if err == nil {
		if fi, ok := decodeFdinfo(s.buf); ok {
			ev.Flags = fi.flags &^ oLargefile
			ev.FDInfo.OpenFlags = ev.Flags
			ev.Has |= driver.HasFlags
			if fi.hasMnt {
				ev.FDInfo.MountID = fi.mntID
			}
		}
	}
	var st syscall.Stat_t
	if syscall.Stat(d.cfg.ProcRoot+"/"+strconv.Itoa(int(pid))+"/fd/"+strconv.Itoa(int(fd)), &st) == nil {
		ev.Dev, ev.Ino = encodeDev(st.Dev), st.Ino
		ev.FDInfo.Dev, ev.FDInfo.Ino = ev.Dev, ev.Ino
		ev.Has |= driver.HasDev
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			ev.FDInfo.Type = driver.FDDirectory
		}
	}
	d.send(ev)
}

// ownSocket records that descriptor fd of pid holds socket ino, the first
// holder found in this poll.
func (d *Poller) ownSocket(ino uint64, pid, fd int32) {
	s := &d.st
	si := s.socks[ino]
	if si == nil {
		si = &sockInfo{class: d.sockClass(pid, fd)}
		s.socks[ino] = si
	} else if si.gen == s.gen {
		return // shared with a process scanned before
	}
	si.gen = s.gen
	s.owners = append(s.owners, sockOwner{ino: ino, pid: pid, fd: fd})
}

// sockClass classifies the socket of descriptor fd of pid by its protocol
// name (the "system.sockprotoname" attribute of sockfs).
func (d *Poller) sockClass(pid, fd int32) uint8 {
	var b [32]byte
	n, err := syscall.Getxattr(d.cfg.ProcRoot+"/"+strconv.Itoa(int(pid))+"/fd/"+strconv.Itoa(int(fd)), "system.sockprotoname", b[:])
	if err != nil || n <= 0 {
		return sockUnknown
	}
	return classifyProto(bytes.TrimRight(b[:n], "\x00"))
}

// pending reports whether something may still be reported of a socket.
func (si *sockInfo) pending() bool {
	return si.class != sockOther && si.bits == 0
}

// pollSockets reads the tables listing the sockets of this poll that may
// still change (new ones, and unconnected ones that may connect or
// listen), in the network namespaces of their holders, and reports new
// connections and listeners.
func (d *Poller) pollSockets() {
	s := &d.st
	s.needs = s.needs[:0]
	for _, o := range s.owners {
		si := s.socks[o.ino]
		if !si.pending() {
			continue
		}
		tables := netTableMask(si.class)
		pid, ns := int32(-1), s.selfNetns
		if p := s.procs[o.pid]; p != nil && p.netns != 0 && p.netns != s.selfNetns {
			pid, ns = o.pid, p.netns
		}
		k := slices.IndexFunc(s.needs, func(n netNeed) bool { return n.ns == ns })
		if k < 0 {
			s.needs = append(s.needs, netNeed{ns: ns, pid: pid})
			k = len(s.needs) - 1
		}
		s.needs[k].tables |= tables
	}
	if len(s.needs) > 0 {
		s.net = s.net[:0]
		s.arena = s.arena[:0]
		s.listeners = s.listeners[:0]
		clear(s.netIdx)
		for _, n := range s.needs {
			d.loadNet(n)
		}
		for _, o := range s.owners {
			si := s.socks[o.ino]
			if !si.pending() {
				continue
			}
			i, ok := s.netIdx[o.ino]
			if !ok {
				continue // not connected, bound or listening yet
			}
			e := &s.net[i]
			si.class = e.class
			if s.baseline {
				si.bits = stateBits(e)
			} else {
				si.bits = d.sockEvent(e, o, si.bits)
			}
		}
	}
	// Forget the sockets no scanned process holds any more.
	for ino, si := range s.socks {
		if si.gen != s.gen {
			delete(s.socks, ino)
		}
	}
	if n := len(s.socks); n > s.peakSocks {
		s.peakSocks = n
	} else if s.peakSocks > 4096 && n < s.peakSocks/4 {
		m := make(map[uint64]*sockInfo, n)
		for k, v := range s.socks {
			m[k] = v
		}
		s.socks, s.peakSocks = m, n
	}
	if cap(s.arena) > 4<<20 && len(s.arena) < cap(s.arena)/4 {
		s.arena = nil
	}
}

// loadNet appends the tables n.tables of one network namespace:
// /proc/net (pid -1, the driver's own namespace) or /proc/PID/net.
func (d *Poller) loadNet(n netNeed) {
	s := &d.st
	for ti, t := range netTables {
		if n.tables&(1<<ti) == 0 {
			continue
		}
		var p []byte
		if n.pid < 0 {
			p = append(append(s.path[:0], t.name...), 0)
			s.path = p
		} else {
			p = s.relPath(n.pid, t.name)
		}
		start := len(s.arena)
		var err error
		s.arena, err = appendFile(d.rootFD, p, s.arena, maxNetBytes)
		if err != nil {
			continue
		}
		b := s.arena[start:]
		unix := t.l4 == driver.L4Unknown
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line, b = b[:i], b[i+1:]
			} else {
				b = nil
			}
			var e netEnt
			if unix {
				if !decodeUnixLine(line, &e) {
					continue
				}
			} else if !decodeInetLine(line, t.l4, &e) {
				continue
			}
			if e.inode == 0 {
				continue
			}
			held := s.socks[e.inode]
			isHeld := held != nil && held.gen == s.gen
			listener := e.l4 == driver.L4TCP && e.state == tcpListen
			if !isHeld && !listener {
				continue // of no interest: keep memory small
			}
			e.netns, e.class = n.ns, uint8(ti+1)
			idx := int32(len(s.net))
			if listener {
				s.listeners = append(s.listeners, idx) // for inbound()
			}
			if isHeld {
				if _, dup := s.netIdx[e.inode]; dup {
					continue
				}
				s.netIdx[e.inode] = idx
			}
			s.net = append(s.net, e)
		}
	}
}

// sockEvent reports what is new of a socket held by o, given what was
// reported of it (bits), and returns the new bits.
func (d *Poller) sockEvent(e *netEnt, o sockOwner, bits uint8) uint8 {
	if e.family == afUnix {
		// Only sockets with a path can be reported: listeners and the
		// server side of accepted connections (the client side has no
		// path in /proc/net/unix).
		switch {
		case e.unixFlags&unixAcceptCon != 0:
			if bits&sockListen == 0 && len(e.path) > 0 {
				d.emitSock(evtListen, e, o, 0)
			}
			bits |= sockListen
		case e.state == unixConnected:
			if bits&sockConn == 0 && len(e.path) > 0 && (e.sockType == sockStream || e.sockType == sockSeqPacket) {
				d.emitSock(evtAccept, e, o, int64(o.fd))
			}
			bits |= sockConn
		case e.sockType != sockStream && e.sockType != sockSeqPacket:
			bits |= sockDone
		}
		return bits
	}
	switch {
	case e.l4 == driver.L4TCP && e.state == tcpListen:
		if bits&sockListen == 0 {
			bits |= sockListen
			d.emitSock(evtListen, e, o, 0)
		}
	case e.l4 == driver.L4TCP && tcpConnected(e.state):
		if bits&sockConn == 0 {
			bits |= sockConn
			switch {
			case d.inbound(e):
				d.emitSock(evtAccept, e, o, int64(o.fd))
			case e.state == tcpSynSent:
				d.emitSock(evtConnect, e, o, -einprogress)
			default:
				d.emitSock(evtConnect, e, o, 0)
			}
		}
	case e.l4 == driver.L4UDP && e.state == tcpEstablished:
		if bits&sockConn == 0 {
			bits |= sockConn
			d.emitSock(evtConnect, e, o, 0)
		}
	}
	return bits
}

// inbound reports whether a connected TCP socket is the server side of its
// connection: a listener of its namespace has its local port and address.
func (d *Poller) inbound(e *netEnt) bool {
	s := &d.st
	for _, i := range s.listeners {
		l := &s.net[i]
		if l.netns != e.netns || l.localPort != e.localPort {
			continue
		}
		if l.localAddr.IsUnspecified() || l.localAddr.Unmap() == e.localAddr.Unmap() {
			return true
		}
	}
	return false
}

// emitSock reports a connect, accept or listen on descriptor o.fd.
func (d *Poller) emitSock(t driver.EventType, e *netEnt, o sockOwner, res int64) {
	if !d.want.Has(t) {
		return
	}
	s := &d.st
	ev := d.resetEvent(t, o.pid)
	server := t != evtConnect
	ev.Res, ev.FD = res, int64(o.fd)
	ev.Has |= driver.HasRes | driver.HasFD | driver.HasAddr | driver.HasFDInfo
	ev.FDInfo = driver.FDInfo{Num: int64(o.fd), Connected: t != evtListen, NameChanged: t == evtConnect}
	if e.family == afUnix {
		path := string(e.path)
		ev.Sock = driver.SockAddr{Family: afUnix, UnixPath: path, Server: server}
		ev.FDInfo.Type = driver.FDUnix
		ev.FDInfo.Name = path
		ev.FDInfo.Sock = ev.Sock
		d.send(ev)
		return
	}
	sa := driver.SockAddr{
		Family: e.family, L4Proto: e.l4, Server: server,
		LocalAddr: e.localAddr, LocalPort: e.localPort,
		RemoteAddr: e.remoteAddr, RemotePort: e.remotePort,
	}
	typ := driver.FDIPv4
	if e.family == afInet6 {
		typ = driver.FDIPv6
		if v4ish(sa.LocalAddr) && v4ish(sa.RemoteAddr) && (sa.LocalAddr.Is4In6() || sa.RemoteAddr.Is4In6()) {
			typ = driver.FDIPv4
			sa.Family = afInet
			sa.LocalAddr, sa.RemoteAddr = sa.LocalAddr.Unmap(), sa.RemoteAddr.Unmap()
		}
	}
	if t == evtListen {
		sa.RemoteAddr, sa.RemotePort = netip.Addr{}, 0
	}
	ev.Sock = sa
	ev.FDInfo.Type = typ
	ev.FDInfo.Sock = sa
	s.name = tupleName(s.name[:0], &sa)
	ev.FDInfo.Name = string(s.name)
	d.send(ev)
}

// v4ish reports an IPv4-mapped or unspecified IPv6 address.
func v4ish(a netip.Addr) bool { return a.Is4In6() || a.IsUnspecified() }

// resetEvent clears the driver's event for a new one of type t by pid.
func (d *Poller) resetEvent(t driver.EventType, pid int32) *driver.Event {
	ev := &d.st.ev
	*ev = driver.Event{Type: t, Time: d.st.wall, Tid: int64(pid), Pid: int64(pid)}
	return ev
}

// send emits ev if its type is wanted (never during the baseline).
func (d *Poller) send(ev *driver.Event) {
	s := &d.st
	if s.baseline || s.emit == nil || !d.want.Has(ev.Type) {
		return
	}
	s.num++
	ev.Num = s.num
	ev.Has |= driver.HasNum
	d.events.Add(1)
	s.emit(ev)
}
