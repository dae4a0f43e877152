// Package state keeps what Vigil knows about the processes, users and
// containers of the machine, and enriches every event with it before the
// rule engine sees the event.
//
// A State is seeded from a /proc snapshot (procscan.Snapshot), then kept
// current by the lifecycle events the driver delivers (clone/fork/vfork/
// clone3 in the child, execve/execveat, procexit). Handle applies an event
// and points Event.Proc at the process table's entry, whose Parent chain
// reaches the process's ancestors, and Event.Container at the process's
// container ("host", named "host" as Falco names it, for host processes).
//
// A process's container comes from its cgroup: from /proc/PID/cgroup when
// the process is first read, and from the cgroup v2 path the driver reports
// in fork and exec events (driver.ProcHasCgroup), which still tells the
// container of a process that exec'd in a container's cgroup and exited
// before /proc could be read. A v2 path that names no container means the
// host only where the host has no cgroup v1 hierarchies (a container may
// show in those alone); elsewhere /proc decides as before.
//
// A State is not safe for concurrent use: one goroutine (the event
// pipeline) calls Handle. Memory stays bounded: exited processes leave the
// table, the table never holds more than Options.MaxProcs entries, and a
// container leaves the cache with its last process.
package state

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/procscan"
)

// Options configure a State. The zero value (or a nil *Options) gives the
// defaults documented on each field.
type Options struct {
	// ProcRoot is the procfs mount to read processes from; default "/proc".
	ProcRoot string
	// EtcDir holds the host's passwd and group files; default "/etc".
	EtcDir string
	// MaxProcs bounds the process table; default 65536. When a new
	// process would exceed it, the least recently active entries go.
	MaxProcs int
	// MaxNegative bounds the cache of pids that were looked up in /proc
	// and not found; default 4096.
	MaxNegative int
	// NegativeTTL is how long (in event time) a pid stays in that cache,
	// so that a reused pid is found again; default 1s.
	NegativeTTL time.Duration
	// MaxLazyDepth bounds how many ancestors a lookup of an unknown
	// process reads from /proc; default 64.
	MaxLazyDepth int
	// HostUsersOnly resolves the user and group names of containerised
	// processes in the host's files instead of the container's own
	// /etc/passwd and /etc/group.
	HostUsersOnly bool
}

// userCheckInterval is how often, in event time, the host's passwd and
// group files are checked for changes.
const userCheckInterval = int64(time.Second)

// kind classifies event types for the state layer.
type kind uint8

const (
	kindOther  kind = iota
	kindFork        // clone, fork, vfork, clone3
	kindExec        // execve, execveat
	kindExit        // procexit
	kindSetuid      // setuid, setreuid, setresuid: UID is the new effective uid
	kindSetgid      // setgid, setregid, setresgid: GID is the new effective gid
	kindUIDArg      // chown family: UID names a user
)

// Stats are counters describing a State.
type Stats struct {
	Procs       int    // entries in the process table
	Containers  int    // containers in the cache (the host not counted)
	LazyReads   uint64 // processes read from /proc on first sight
	LazyMisses  uint64 // lookups of pids that /proc did not have
	Evictions   uint64 // entries dropped to stay within MaxProcs
	UserReloads uint64 // loads of the host's passwd and group files
}

// State is the process table with its user and container caches.
type State struct {
	unknown driver.Process // what Handle knows of a process it has no entry for: its pid
	// exited keeps the last processes removed from the table, so that
	// events a driver reports after a process's exit (fanotify resolves
	// opens and writes after the fact) still carry its context.
	exited     [exitedKept]exitedProc
	exitedNext int

	procRoot      string
	hostRootDir   string // see hostRoot
	maxProcs      int
	maxNeg        int
	negTTL        int64
	maxDepth      int
	hostUsersOnly bool

	kinds [driver.NumEventTypes]kind

	procs    map[int64]*entry
	clockOld *entry // least recently inserted end of the eviction ring
	clockNew *entry
	last     *entry // the entry of the previous event
	pending  *entry // exited process, removed by the next Handle

	host       *container
	containers map[string]*container
	cgroups    cgroupMode // what the /proc/PID/cgroup files read so far show

	users     *hostUsers
	userCheck int64 // event time of the last check of the user files
	gen       uint64

	neg   map[int64]int64 // pid -> event time of the failed lookup
	stats Stats

	meta      metaState // container metadata lookups and events (meta.go)
	metaStats MetaStats
}

// entry is one process of the table. proc is what Event.Proc points at.
type entry struct {
	proc driver.Process

	parent                       *entry
	firstChild, prevSib, nextSib *entry
	older, newer                 *entry // eviction ring, oldest first
	ref                          bool   // active since the eviction clock last passed
	removed                      bool

	cont    *container
	userGen uint64 // generation of the user database the names came from
}

// cgroupMode says which cgroup hierarchies the host has, as far as the
// /proc/PID/cgroup files read so far show.
type cgroupMode uint8

const (
	cgroupsUnknown cgroupMode = iota // no file read yet
	cgroupsV2                        // only the unified hierarchy ("0::/path")
	cgroupsV1                        // v1 hierarchies too (v1-only or hybrid)
)

// container is one cached container.
type container struct {
	c     driver.Container
	refs  int
	users *userDB // the container's own users; nil = the host's
	m     contMeta

	// The mounts of the last mount namespace one of its processes
	// executed in (its mnt link), for proc.is_exe_upper_layer.
	mntns  string
	mounts []mount
}

// New returns an empty State. It reads the host's passwd and group files
// (unreadable files leave user and group names unavailable; see UsersErr)
// and returns an error only for invalid options.
func New(opts *Options) (*State, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxProcs < 0 || o.MaxNegative < 0 || o.NegativeTTL < 0 || o.MaxLazyDepth < 0 {
		return nil, errors.New("state: negative bound in options")
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.EtcDir == "" {
		o.EtcDir = "/etc"
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = 65536
	}
	if o.MaxNegative == 0 {
		o.MaxNegative = 4096
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = time.Second
	}
	if o.MaxLazyDepth == 0 {
		o.MaxLazyDepth = 64
	}
	s := &State{
		procRoot:      o.ProcRoot,
		maxProcs:      o.MaxProcs,
		maxNeg:        o.MaxNegative,
		negTTL:        int64(o.NegativeTTL),
		maxDepth:      o.MaxLazyDepth,
		hostUsersOnly: o.HostUsersOnly,
		procs:         make(map[int64]*entry),
		containers:    make(map[string]*container),
		neg:           make(map[int64]int64),
		host:          &container{c: driver.Container{Has: driver.ContHasID | driver.ContHasName, ID: "host", FullID: "host", Name: "host"}},
	}
	s.users = newHostUsers(o.EtcDir, &s.gen)
	for _, k := range []struct {
		k     kind
		names string
	}{
		{kindFork, "clone fork vfork clone3"},
		{kindExec, "execve execveat"},
		{kindExit, "procexit"},
		{kindSetuid, "setuid setreuid setresuid"},
		{kindSetgid, "setgid setregid setresgid"},
		{kindUIDArg, "chown lchown fchown fchownat"},
	} {
		for _, n := range strings.Fields(k.names) {
			if t, ok := driver.EventTypeByName(n); ok {
				s.kinds[t] = k.k
			}
		}
	}
	return s, nil
}

// UsersErr returns the error of the last load of the host's passwd or
// group file, or nil.
func (s *State) UsersErr() error { return s.users.err }

// Stats returns the State's counters.
func (s *State) Stats() Stats {
	st := s.stats
	st.Procs = len(s.procs)
	st.Containers = len(s.containers)
	st.UserReloads = s.users.reloads
	return st
}

// Lookup returns the table's entry for process pid, or nil. It never reads
// /proc. The result is valid until the next call to Handle or Seed.
func (s *State) Lookup(pid int64) *driver.Process {
	if e := s.procs[pid]; e != nil {
		return &e.proc
	}
	return nil
}

// Seed adds the processes of a snapshot to the table (replacing entries of
// the same pids) and links each to its parent.
func (s *State) Seed(procs []procscan.Proc) {
	added := make([]*entry, 0, len(procs))
	for i := range procs {
		if procs[i].Pid <= 0 {
			continue
		}
		added = append(added, s.insertScanned(&procs[i]))
	}
	for _, e := range added {
		if e.removed || e.proc.PPid <= 0 {
			continue
		}
		if p := s.procs[e.proc.PPid]; p != nil && p != e {
			s.link(e, p)
		}
	}
}

// SeedFromProc seeds the table from a snapshot of Options.ProcRoot.
func (s *State) SeedFromProc() error {
	procs, err := procscan.Snapshot(s.procRoot)
	if err != nil {
		return err
	}
	s.Seed(procs)
	return nil
}

// Handle applies ev to the state and enriches it: Event.Proc becomes the
// table's entry for ev.Pid (read from /proc on first sight of an unknown
// process), Event.Container its container, and Event.UIDName the name of
// a uid argument. Lifecycle events update the table first; the entry of an
// exited process stays valid until the next call.
//
// For an event of a known process that is not a lifecycle event, Handle
// neither allocates nor touches /proc; the only file access on that path
// is a stat of the host's passwd and group files once per second of event
// time (Event.Time; events without a time never trigger it).
//
// When the process is unknown and cannot be read, Event.Proc and
// Event.Container keep what the driver put there (a driver that reuses its
// Event must clear them). A known process whose cgroup could not be read
// gets a nil Container (container fields unavailable).
func (s *State) Handle(ev *driver.Event) {
	if s.pending != nil {
		e := s.pending
		s.pending = nil
		if !e.removed {
			s.remove(e)
		}
	}
	// Events from different CPUs may be slightly out of order: only a
	// large step back (the clock was set) restarts the interval.
	if t := ev.Time; t != 0 && (t-s.userCheck >= userCheckInterval || t-s.userCheck < -60*userCheckInterval) {
		s.userCheck = t
		s.users.check(&s.gen)
	}
	var k kind
	if int(ev.Type) < len(s.kinds) {
		k = s.kinds[ev.Type]
	}
	var e *entry
	switch k {
	case kindFork:
		e = s.fork(ev)
	case kindExec:
		e = s.exec(ev)
	default:
		if e = s.last; e == nil || e.proc.Pid != ev.Pid || e.removed {
			e = s.find(ev.Pid, ev.Time)
		}
	}
	if e == nil {
		if ev.Proc == nil && ev.Pid > 0 {
			if x := s.recentlyExited(ev.Pid); x != nil {
				// A late event of a process that has exited.
				ev.Proc, ev.Container = &x.proc, x.cont
				return
			}
			// A process that cannot be read: at least proc.pid is known.
			s.unknown = driver.Process{Has: driver.ProcHasPid, Pid: ev.Pid, Tid: ev.Tid}
			ev.Proc = &s.unknown
		}
		return
	}
	s.last = e
	e.ref = true
	switch k {
	case kindSetuid:
		if ev.Res == 0 && ev.Has.Has(driver.HasUID) && ev.UID != ^uint32(0) && e.proc.Has.Has(driver.ProcHasUser) {
			e.proc.UID = ev.UID
			e.userGen = 0
		}
	case kindSetgid:
		if ev.Res == 0 && ev.Has.Has(driver.HasGID) && ev.GID != ^uint32(0) && e.proc.Has.Has(driver.ProcHasUser) {
			e.proc.GID = ev.GID
			e.userGen = 0
		}
	case kindExit:
		if ev.Tid == ev.Pid || ev.Tid == 0 {
			s.pending = e
		}
	}
	db := s.users.db
	if e.cont != nil && e.cont.users != nil {
		db = e.cont.users
	}
	if e.userGen != db.gen {
		fillNames(&e.proc, db)
		e.userGen = db.gen
	}
	if c := e.cont; c != nil && c.m.state != metaDone && c != s.host {
		s.metaHandle(c, e.proc.Pid, ev.Time)
	}
	ev.Proc = &e.proc
	if e.cont != nil {
		ev.Container = &e.cont.c
	} else {
		ev.Container = nil
	}
	if (k == kindSetuid || k == kindUIDArg) && ev.Has.Has(driver.HasUID) {
		if u := db.user(ev.UID); u != nil {
			ev.UIDName = u.name
			ev.Has |= driver.HasUIDName
		}
	}
}

// fillNames sets the user, group and login names of p from db.
func fillNames(p *driver.Process, db *userDB) {
	p.Has &^= driver.ProcHasUserName | driver.ProcHasGroupName | driver.ProcHasLoginName
	p.UserName, p.HomeDir, p.Shell, p.GroupName, p.LoginName = "", "", "", "", ""
	if p.Has.Has(driver.ProcHasUser) {
		if u := db.user(p.UID); u != nil {
			p.UserName, p.HomeDir, p.Shell = u.name, u.home, u.shell
			p.Has |= driver.ProcHasUserName
		}
		if g, ok := db.group(p.GID); ok {
			p.GroupName = g
			p.Has |= driver.ProcHasGroupName
		}
	}
	if p.Has.Has(driver.ProcHasLoginUID) && p.LoginUID >= 0 && p.LoginUID < 1<<32-1 {
		if u := db.user(uint32(p.LoginUID)); u != nil {
			p.LoginName = u.name
			p.Has |= driver.ProcHasLoginName
		}
	}
}

// find returns the entry of pid, reading it from /proc when unknown.
func (s *State) find(pid, now int64) *entry {
	if pid <= 0 {
		return nil
	}
	if e := s.procs[pid]; e != nil {
		return e
	}
	return s.lazy(pid, now)
}

// lazy reads an unknown process, and its unknown ancestors up to
// MaxLazyDepth, from /proc. Pids that /proc does not have are remembered
// for NegativeTTL of event time.
func (s *State) lazy(pid, now int64) *entry {
	if t, ok := s.neg[pid]; ok {
		if now == 0 || uint64(now-t) < uint64(s.negTTL) {
			return nil
		}
		delete(s.neg, pid)
	}
	var chain []procscan.Proc
	for next := pid; next > 0 && len(chain) <= s.maxDepth; {
		p, err := procscan.ReadProcess(s.procRoot, int(next))
		if err == nil && p.Zombie {
			// Exited already (its procexit was seen or is lost): do not
			// bring it back.
			err = procscan.ErrGone
		}
		if err != nil {
			s.stats.LazyMisses++
			s.negative(next, now)
			break
		}
		s.stats.LazyReads++
		chain = append(chain, p)
		next = p.PPid
		if next == p.Pid || s.procs[next] != nil {
			break
		}
	}
	if len(chain) == 0 {
		return nil
	}
	// Insert from the oldest ancestor down so each parent exists first.
	var child *entry
	for i := len(chain) - 1; i >= 0; i-- {
		child = s.insertScanned(&chain[i])
		if p := s.procs[child.proc.PPid]; p != nil && p != child {
			p.ref = true
			s.link(child, p)
		}
	}
	if child.removed {
		return nil // evicted at once: MaxProcs is tiny
	}
	if child.proc.Pid != pid {
		// pid was a thread id (events should carry the process id):
		// do not read it again and again.
		s.negative(pid, now)
		return nil
	}
	return child
}

// negative remembers a failed lookup, bounded by MaxNegative.
func (s *State) negative(pid, now int64) {
	if len(s.neg) >= s.maxNeg {
		clear(s.neg)
	}
	s.neg[pid] = now
}

// insertScanned adds a process read from /proc, with its container.
func (s *State) insertScanned(p *procscan.Proc) *entry {
	e := &entry{proc: p.Process}
	e.proc.Parent = nil
	e.proc.Tid = e.proc.Pid
	delete(s.neg, e.proc.Pid)
	s.insert(e)
	s.setContainer(e, s.containerFor(p.Cgroup, e.proc.Pid))
	return e
}

// fork applies the child side of clone/fork/vfork/clone3: a new process
// whose state is its parent's, overlaid with what the driver reports.
func (s *State) fork(ev *driver.Event) *entry {
	if ev.Res != 0 || ev.Tid != ev.Pid || ev.Pid <= 0 {
		// The parent's side, a failed call, or a new thread.
		return s.find(ev.Pid, ev.Time)
	}
	dp := ev.Proc
	var parent *entry
	if dp != nil && dp.Has.Has(driver.ProcHasPPid) && dp.PPid > 0 && dp.PPid != ev.Pid {
		parent = s.find(dp.PPid, ev.Time)
	}
	delete(s.neg, ev.Pid)
	if parent == nil {
		// Without the parent, the child is all there is to go by.
		if old := s.procs[ev.Pid]; old != nil {
			s.remove(old)
		}
		e := s.lazy(ev.Pid, ev.Time)
		if e == nil && dp != nil {
			e = &entry{}
			e.proc.Pid = ev.Pid
			s.insert(e)
		}
		if e != nil && dp != nil {
			merge(&e.proc, dp, dp.Has)
			e.proc.Pid, e.proc.Tid = ev.Pid, ev.Pid
			e.proc.Has |= driver.ProcHasPid
			e.userGen = 0
			if dp.Has.Has(driver.ProcHasCgroup) {
				if c, ok := s.cgroupContainer(dp.Cgroup, ev.Pid); ok {
					s.setContainer(e, c)
				}
			}
		}
		return e
	}
	parent.ref = true // keep it through the insert below
	pc := parent.cont
	e := &entry{proc: parent.proc, userGen: parent.userGen}
	p := &e.proc
	p.Parent = nil
	p.Pid, p.Tid, p.PPid = ev.Pid, ev.Pid, parent.proc.Pid
	p.Has |= driver.ProcHasPid | driver.ProcHasPPid
	// Identity the parent cannot lend: the namespace pid and start time.
	if parent.proc.VPid != parent.proc.Pid {
		p.Has &^= driver.ProcHasVPid
	}
	p.VPid, p.VTid = ev.Pid, ev.Pid
	p.StartTime = ev.Time
	if ev.Time == 0 {
		p.Has &^= driver.ProcHasStart
	} else {
		p.Has |= driver.ProcHasStart
	}
	p.ExeIno, p.ExeInoCtime, p.ExeInoMtime = parent.proc.ExeIno, parent.proc.ExeInoCtime, parent.proc.ExeInoMtime
	if dp != nil {
		before := p.UID<<1 | p.GID
		merge(p, dp, dp.Has&^driver.ProcHasPid)
		if p.UID<<1|p.GID != before {
			e.userGen = 0
		}
	}
	leaders(p)
	s.insert(e)
	// The child starts in its parent's cgroup, unless the driver says
	// otherwise (clone3 into a cgroup, or a parent that moved since it
	// was last seen, as runc's init does).
	if dp != nil && dp.Has.Has(driver.ProcHasCgroup) &&
		(!parent.proc.Has.Has(driver.ProcHasCgroup) || dp.Cgroup != parent.proc.Cgroup) {
		if c, ok := s.cgroupContainer(dp.Cgroup, ev.Pid); ok {
			pc = c
		}
	}
	s.setContainer(e, pc)
	if !parent.removed {
		s.link(e, parent)
	}
	return e
}

// execFields are the Process fields an exec replaces.
const execFields = driver.ProcHasName | driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs |
	driver.ProcHasEnv | driver.ProcHasCaps | driver.ProcHasExeFlags | driver.ProcHasExeIno

// exec applies a successful execve/execveat.
func (s *State) exec(ev *driver.Event) *entry {
	known := s.procs[ev.Pid] != nil
	e := s.find(ev.Pid, ev.Time)
	if e == nil || ev.Res != 0 {
		return e
	}
	p := &e.proc
	var have driver.Mask
	if ev.Proc != nil {
		have = ev.Proc.Has
	}
	const key = driver.ProcHasName | driver.ProcHasExe | driver.ProcHasArgs | driver.ProcHasExePath
	got := have
	// runc and friends exec the container's first program from a process
	// they moved into the container's cgroup: look again on exec, in the
	// cgroup the driver saw at the exec (the process may be gone by the
	// time /proc could be read), else in /proc.
	recheck := known && (e.cont == nil || e.cont == s.host)
	if have.Has(driver.ProcHasCgroup) {
		if c, ok := s.cgroupContainer(ev.Proc.Cgroup, ev.Pid); ok {
			s.setContainer(e, c)
			recheck = false
		}
	}
	if known && !have.Has(key) {
		// The driver left out what matters most: ask /proc for the rest.
		if rp, err := procscan.ReadProcess(s.procRoot, int(ev.Pid)); err == nil {
			merge(p, &rp.Process, (execFields|driver.ProcHasUser|driver.ProcHasCwd)&^have)
			got |= rp.Has & (execFields | driver.ProcHasUser | driver.ProcHasCwd)
			if recheck && rp.Cgroup != "" {
				s.setContainer(e, s.containerFor(rp.Cgroup, ev.Pid))
				recheck = false
			}
		}
	} else if !known {
		got |= p.Has & execFields // just read from /proc, after the exec
	}
	// What neither source gave would describe the old program.
	p.Has &^= execFields &^ got
	if ev.Proc != nil {
		oldPPid := p.PPid
		merge(p, ev.Proc, have&^driver.ProcHasPid)
		if have.Has(driver.ProcHasPPid) && p.PPid != oldPPid {
			if np := s.find(p.PPid, ev.Time); np != nil && np != e {
				s.link(e, np)
			} else {
				s.link(e, nil)
			}
		}
	}
	if !p.Has.Has(driver.ProcHasArgs) && ev.Has.Has(driver.HasArgs) {
		p.Args = cloneStrings(ev.Args)
		p.Has |= driver.ProcHasArgs
	}
	leaders(p)
	e.userGen = 0
	if recheck {
		if cg, err := procscan.ReadCgroup(s.procRoot, int(ev.Pid)); err == nil {
			s.setContainer(e, s.containerFor(cg, ev.Pid))
		}
	}
	s.exeLayer(e.cont, p)
	return e
}

// leaders recomputes the leader flags from the ids.
func leaders(p *driver.Process) {
	p.IsVPGIDLeader = p.Has.Has(driver.ProcHasPGID|driver.ProcHasVPid) && p.VPGID == p.VPid
	p.IsSIDLeader = p.Has.Has(driver.ProcHasSID|driver.ProcHasVPid) && p.SID == p.VPid
}

// containerFor returns the cached container for a /proc/PID/cgroup text:
// the host when it names no container, nil when it is empty (unknown).
func (s *State) containerFor(cgroup string, pid int64) *container {
	if cgroup == "" {
		return nil
	}
	s.noteHierarchies(cgroup)
	id, ok := ParseCgroup(cgroup)
	if !ok {
		return s.host
	}
	return s.containerByID(id, pid)
}

// cgroupContainer returns the container for a cgroup v2 path a driver
// reported (driver.Process.Cgroup), and false when the path does not
// decide: it names no container and the host may have cgroup v1
// hierarchies, in which a container may show instead.
func (s *State) cgroupContainer(path string, pid int64) (*container, bool) {
	id, ok := ParseCgroupPath(path)
	switch {
	case ok:
		return s.containerByID(id, pid), true
	case s.cgroups == cgroupsV2:
		return s.host, true
	}
	return nil, false
}

// noteHierarchies learns from a /proc/PID/cgroup text whether the host has
// cgroup v1 hierarchies (every process's file lists all hierarchies).
func (s *State) noteHierarchies(cgroup string) {
	if s.cgroups == cgroupsV1 {
		return
	}
	for line := range strings.Lines(cgroup) {
		if line != "\n" && !strings.HasPrefix(line, "0::") {
			s.cgroups = cgroupsV1
			return
		}
	}
	s.cgroups = cgroupsV2
}

// containerByID returns the cached container id, creating it (with the
// users of process pid's root) when new.
func (s *State) containerByID(id CgroupID, pid int64) *container {
	if c := s.containers[id.FullID]; c != nil {
		return c
	}
	c := &container{c: driver.Container{
		Has:    driver.ContHasID,
		ID:     strings.Clone(id.ID()),
		FullID: strings.Clone(id.FullID),
		Type:   id.Type,
		PodUID: strings.Clone(id.PodUID),
	}}
	if id.Type != "" {
		c.c.Has |= driver.ContHasType
	}
	if !s.hostUsersOnly {
		c.users = loadContainerUsers(s.procRoot, pid, &s.gen)
	}
	s.containers[c.c.FullID] = c
	return c
}

// setContainer moves e to container c, dropping a container that loses its
// last process from the cache.
func (s *State) setContainer(e *entry, c *container) {
	old := e.cont
	if old == c {
		return
	}
	if old != nil {
		old.refs--
		if old.refs <= 0 && old != s.host && s.containers[old.c.FullID] == old {
			delete(s.containers, old.c.FullID)
		}
	}
	e.cont = c
	if c != nil {
		c.refs++
	}
	e.userGen = 0
}

// insert adds e to the table, replacing an entry of the same pid and
// evicting the least recently active entries beyond MaxProcs.
func (s *State) insert(e *entry) {
	pid := e.proc.Pid
	if old := s.procs[pid]; old != nil {
		s.remove(old)
	}
	for len(s.procs) >= s.maxProcs && s.clockOld != nil {
		s.evict()
	}
	s.procs[pid] = e
	e.ref = true
	e.older, e.newer = s.clockNew, nil
	if s.clockNew != nil {
		s.clockNew.newer = e
	} else {
		s.clockOld = e
	}
	s.clockNew = e
}

// evict removes one entry by the clock algorithm: the oldest entry not
// active since the clock last passed it.
func (s *State) evict() {
	for range 2*len(s.procs) + 1 {
		e := s.clockOld
		if !e.ref || e.newer == nil {
			s.stats.Evictions++
			s.remove(e)
			return
		}
		e.ref = false
		// Move to the new end.
		s.clockOld = e.newer
		s.clockOld.older = nil
		e.older, e.newer = s.clockNew, nil
		s.clockNew.newer = e
		s.clockNew = e
	}
	s.stats.Evictions++
	s.remove(s.clockOld)
}

// remove drops e from the table. Its children move to its parent (or to no
// parent), so that nothing keeps the removed entry alive.
func (s *State) remove(e *entry) {
	if e.removed {
		return
	}
	for c := e.firstChild; c != nil; {
		next := c.nextSib
		s.link(c, e.parent)
		c = next
	}
	s.link(e, nil)
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		s.clockOld = e.newer
	}
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		s.clockNew = e.older
	}
	e.older, e.newer = nil, nil
	if s.procs[e.proc.Pid] == e {
		delete(s.procs, e.proc.Pid)
	}
	x := &s.exited[s.exitedNext]
	s.exitedNext = (s.exitedNext + 1) % exitedKept
	x.proc, x.cont = e.proc, nil
	if e.cont != nil {
		c := e.cont.c
		x.cont = &c
	}
	s.setContainer(e, nil)
	e.removed = true
	if s.pending == e {
		s.pending = nil
	}
	if s.last == e {
		s.last = nil
	}
}

// exitedKept is how many removed processes State keeps for late events.
const exitedKept = 64

// exitedProc is a removed process as it was, with a copy of its container.
type exitedProc struct {
	proc driver.Process
	cont *driver.Container
}

// recentlyExited returns the most recently removed process with pid, or
// nil.
func (s *State) recentlyExited(pid int64) *exitedProc {
	for i := 1; i <= exitedKept; i++ {
		x := &s.exited[(s.exitedNext-i+exitedKept)%exitedKept]
		if x.proc.Pid == pid && x.proc.Has.Has(driver.ProcHasPid) {
			return x
		}
	}
	return nil
}

// maxLinkCheck bounds the walk that keeps Parent chains free of cycles.
const maxLinkCheck = 1024

// link makes p the parent of c (nil: no parent), keeping Process.Parent
// and PPid in step. A link that would close a cycle becomes no link.
func (s *State) link(c, p *entry) {
	for a, i := p, 0; a != nil && i < maxLinkCheck; a, i = a.parent, i+1 {
		if a == c {
			p = nil
			break
		}
	}
	if c.parent == p {
		return
	}
	if old := c.parent; old != nil {
		if c.prevSib != nil {
			c.prevSib.nextSib = c.nextSib
		} else {
			old.firstChild = c.nextSib
		}
		if c.nextSib != nil {
			c.nextSib.prevSib = c.prevSib
		}
		c.prevSib, c.nextSib = nil, nil
	}
	c.parent = p
	if p == nil {
		c.proc.Parent = nil
		return
	}
	c.nextSib = p.firstChild
	if p.firstChild != nil {
		p.firstChild.prevSib = c
	}
	p.firstChild = c
	c.proc.Parent = &p.proc
	c.proc.PPid = p.proc.Pid
	c.proc.Has |= driver.ProcHasPPid
}

// merge copies into dst the fields of src selected by mask (and present in
// src), copying strings and slices, which the driver may reuse.
func merge(dst, src *driver.Process, mask driver.Mask) {
	m := mask & src.Has
	if m.Has(driver.ProcHasPid) {
		dst.Pid, dst.Tid = src.Pid, src.Tid
	}
	if m.Has(driver.ProcHasPPid) {
		dst.PPid = src.PPid
	}
	if m.Has(driver.ProcHasVPid) {
		dst.VPid, dst.VTid = src.VPid, src.VTid
	}
	if m.Has(driver.ProcHasName) {
		dst.Name = strings.Clone(src.Name)
	}
	if m.Has(driver.ProcHasExe) {
		dst.Exe = strings.Clone(src.Exe)
	}
	if m.Has(driver.ProcHasExePath) {
		dst.ExePath = strings.Clone(src.ExePath)
	}
	if m.Has(driver.ProcHasArgs) {
		dst.Args = cloneStrings(src.Args)
	}
	if m.Has(driver.ProcHasEnv) {
		dst.Env = cloneStrings(src.Env)
	}
	if m.Has(driver.ProcHasCwd) {
		dst.Cwd = strings.Clone(src.Cwd)
	}
	if m.Has(driver.ProcHasTTY) {
		dst.TTY = src.TTY
	}
	if m.Has(driver.ProcHasSID) {
		dst.SID = src.SID
	}
	if m.Has(driver.ProcHasPGID) {
		dst.PGID, dst.VPGID = src.PGID, src.VPGID
	}
	if m.Has(driver.ProcHasLoginUID) {
		dst.LoginUID = src.LoginUID
	}
	if m.Has(driver.ProcHasUser) {
		dst.UID, dst.GID = src.UID, src.GID
	}
	if m.Has(driver.ProcHasStart) {
		dst.StartTime = src.StartTime
	}
	if m.Has(driver.ProcHasCaps) {
		dst.CapPermitted, dst.CapEffective, dst.CapInheritable = src.CapPermitted, src.CapEffective, src.CapInheritable
	}
	if m.Has(driver.ProcHasExeFlags) {
		dst.ExeWritable, dst.ExeUpperLayer, dst.ExeLowerLayer, dst.ExeFromMemfd =
			src.ExeWritable, src.ExeUpperLayer, src.ExeLowerLayer, src.ExeFromMemfd
	}
	if m.Has(driver.ProcHasExeIno) {
		dst.ExeIno, dst.ExeInoCtime, dst.ExeInoMtime = src.ExeIno, src.ExeInoCtime, src.ExeInoMtime
	}
	if m.Has(driver.ProcHasCgroup) && dst.Cgroup != src.Cgroup {
		dst.Cgroup = strings.Clone(src.Cgroup)
	}
	// Names are the state's to fill from its user databases.
	dst.Has |= m &^ (driver.ProcHasUserName | driver.ProcHasGroupName | driver.ProcHasLoginName)
}

func cloneStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := slices.Clone(ss)
	for i := range out {
		out[i] = strings.Clone(out[i])
	}
	return out
}
