package fanotify

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Limits of the mount-namespace caches.
const (
	// maxNamespaces bounds the mount namespaces whose path rules are
	// kept; the least recently used one goes first.
	maxNamespaces = 64
	// maxNSPids bounds the process → namespace map (it is cleared when
	// full; entries are then looked up again).
	maxNSPids = 1 << 15
	// nsExitDelay is how many process exits an exited process's entry
	// outlives, for its file events that arrive after its exit.
	nsExitDelay = 256
)

// nsEntry is what the driver knows of a mount namespace other than its
// own.
type nsEntry struct {
	ino  uint64  // the namespace's inode (stat /proc/PID/ns/mnt)
	root fileKey // its root directory (stat /proc/PID/root)
	// paths maps host paths to the namespace's paths.
	paths pathMap
	// mounts are the namespace's mounts, to tell a process's own files
	// from the overlay's backing files.
	mounts []mountPoint
	// markedAt holds, for each of mounts, the loop iteration in which the
	// driver marked its filesystem (0: it did not).
	markedAt []uint64
	used     uint64 // last use, for the LRU
}

// nsCache is Run's view of the processes' mount namespaces. Namespace
// inode numbers are reused once a namespace is gone, so an entry is known
// by its inode and its root directory together.
type nsCache struct {
	self uint64 // the driver's own namespace inode (0: unknown)
	// host and gone are sentinels: a process in the driver's namespace, a
	// process whose namespace could not be read (it exited).
	host, gone nsEntry
	pids       map[int32]*nsEntry
	entries    []*nsEntry
	tick       uint64
	exited     [nsExitDelay]int32 // ring of exited processes
	next       int
	mi         []mount // scratch for a namespace's mount table
}

// init prepares the cache; self is the driver's namespace inode.
func (c *nsCache) init(self uint64) {
	c.self = self
	c.pids = make(map[int32]*nsEntry)
}

// nsInode returns the inode of the mount namespace of pid (or "self").
func nsInode(procRoot, pid string) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Stat(procRoot+"/"+pid+"/ns/mnt", &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// nsOf returns pid's namespace entry: the host sentinel, the gone
// sentinel, or a foreign namespace's entry. The first call for a process
// reads /proc/PID/ns/mnt (and for a namespace seen for the first time, its
// root and mount table); later ones are a map lookup.
func (d *Driver) nsOf(pid int32) *nsEntry {
	c := &d.loop.ns
	if e, ok := c.pids[pid]; ok {
		return e
	}
	e := d.resolveNS(pid)
	if len(c.pids) >= maxNSPids {
		clear(c.pids)
	}
	c.pids[pid] = e
	return e
}

// resolveNS reads pid's namespace from /proc.
func (d *Driver) resolveNS(pid int32) *nsEntry {
	c := &d.loop.ns
	if c.self == 0 {
		return &c.host
	}
	ps := strconv.Itoa(int(pid))
	ino, ok := nsInode(d.procRoot, ps)
	switch {
	case !ok:
		return &c.gone
	case ino == c.self:
		return &c.host
	}
	var st unix.Stat_t
	if err := unix.Stat(d.procRoot+"/"+ps+"/root", &st); err != nil {
		return &c.gone
	}
	root := fileKey{dev: st.Dev, ino: st.Ino}
	c.tick++
	for _, e := range c.entries {
		if e.ino == ino && e.root == root {
			e.used = c.tick
			return e
		}
	}
	b, err := os.ReadFile(d.procRoot + "/" + ps + "/mountinfo")
	if err != nil {
		return &c.gone
	}
	c.mi = parseMountinfo(b, c.mi[:0])
	e := &nsEntry{ino: ino, root: root, paths: newPathMap(c.mi, d.fan.mounts), mounts: mountPoints(c.mi), used: c.tick}
	e.markedAt = make([]uint64, len(e.mounts))
	d.markNS(e, c.mi, d.procRoot+"/"+ps+"/root")
	clear(c.mi)
	if len(c.entries) < maxNamespaces {
		c.entries = append(c.entries, e)
	} else {
		lru := 0
		for i, x := range c.entries {
			if x.used < c.entries[lru].used {
				lru = i
			}
		}
		c.entries[lru] = e
	}
	return e
}

// nsExec refreshes pid's namespace after an exec: the runtimes enter a
// container's namespaces (setns, pivot_root) between fork and exec.
func (d *Driver) nsExec(pid int32) {
	delete(d.loop.ns.pids, pid)
	d.nsOf(pid)
}

// nsFork gives a new process its parent's namespace, when known.
func (d *Driver) nsFork(parent, child int32) {
	c := &d.loop.ns
	if e, ok := c.pids[parent]; ok && parent != child {
		if len(c.pids) >= maxNSPids {
			clear(c.pids)
		}
		c.pids[child] = e
	}
}

// nsExit forgets an exited process's namespace nsExitDelay exits later.
func (d *Driver) nsExit(pid int32) {
	c := &d.loop.ns
	if old := c.exited[c.next]; old != 0 {
		delete(c.pids, old)
	}
	c.exited[c.next] = pid
	c.next = (c.next + 1) % len(c.exited)
}

// containerPath returns the path a process of pid sees for host path p,
// and the rule that mapped it (nil when p is reported as it is). Processes
// in the driver's namespace see p. For a process that is gone, only the
// overlay layers of the namespaces seen so far are considered (an upper
// directory belongs to one container; lower ones map to the same path in
// every container using them). With overlayOnly set, bind-mount sources
// are not mapped: for paths that came through the process's own mounts,
// which are container paths already.
func (d *Driver) containerPath(pid int32, p string, overlayOnly bool) (string, *pathRule) {
	e := d.nsOf(pid)
	c := &d.loop.ns
	switch e {
	case &c.host:
		return p, nil
	case &c.gone:
		for i := len(c.entries) - 1; i >= 0; i-- {
			if q, r := c.entries[i].paths.translate(p, true); r != nil {
				return q, r
			}
		}
		return p, nil
	}
	return e.paths.translate(p, overlayOnly)
}

// markNS puts filesystem marks (of the file group) on the filesystems
// mounted in another mount namespace, seen through root (/proc/PID/root):
// container runtimes may mount a container's overlay only in its own
// namespace, where the driver's mount table does not show it, and a
// container's own tmpfs mounts (/dev/shm, /run) are nowhere else. Marking
// a filesystem twice changes nothing; the marks go with the filesystems.
// The directory-entry group is not extended: overlayfs has no decodable
// file handles (its filesystem marks fail with EOPNOTSUPP), and the
// overlay's directory operations reach the upper layer's filesystem,
// which the driver marks already.
func (d *Driver) markNS(e *nsEntry, ms []mount, root string) {
	w := d.fan
	if w.mask1 == 0 || !w.feat.filesystemMark {
		return
	}
	for i := range ms {
		m := &ms[i]
		if skipFS[m.fstype] || m.point == "" || m.point[0] != '/' {
			continue
		}
		at := mountAt(e.mounts, m.point)
		if at < 0 || e.mounts[at].dev != m.dev {
			continue // mounted over
		}
		if w.fsMarked[m.dev] {
			continue
		}
		if err := unix.FanotifyMark(w.g1, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, w.mask1, unix.AT_FDCWD, root+m.point); err != nil {
			w.markErrors.Add(1)
			continue
		}
		e.markedAt[at] = d.loop.iter
	}
}

// backingEvent reports whether an event of pid on a file of device dev (as
// fstat reports it) at path p (as pid sees it) is the overlay's: overlayfs
// opens a file of its upper or lower layer beneath the process's file, and
// fanotify reports that one too, with the process's path but the layer's
// device and inode. Such an event is dropped when the mount holding p is
// marked (its own event is then reported) in an earlier loop iteration
// than the one that read the event, so none is lost; and only for a
// process whose namespace is known (not for processes already gone).
func (d *Driver) backingEvent(e *nsEntry, p string, dev uint64) bool {
	i := mountAt(e.mounts, p)
	if i < 0 {
		return false
	}
	m := &e.mounts[i]
	if m.dev == uint64(unix.Major(dev))<<32|uint64(unix.Minor(dev)) {
		return false
	}
	return d.fan.fsMarked[m.dev] || e.markedAt[i] != 0 && e.markedAt[i] < d.loop.iter
}

// foreignNS returns pid's namespace entry when pid is in a known
// namespace other than the driver's, or nil.
func (d *Driver) foreignNS(pid int32) *nsEntry {
	e := d.nsOf(pid)
	if e == &d.loop.ns.host || e == &d.loop.ns.gone {
		return nil
	}
	return e
}
