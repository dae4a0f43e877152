package fanotify

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// Open flags (Linux O_*), as Event.Flags carries them.
const (
	oWronly = 0o1
	oAccess = 0o3
	oCreat  = 0o100

	atRemoveDir = 0x200 // AT_REMOVEDIR
)

// openKey identifies a file opened by a process.
type openKey struct {
	pid      int32
	dev, ino uint64
}

// fileKey identifies a file.
type fileKey struct{ dev, ino uint64 }

// fileAttr is what an attribute change is compared with.
type fileAttr struct {
	mode, uid, gid uint32
	fromAttrib     bool // seen by an attribute change (not a creation)
}

// openRec is an open waiting for its close (or for its descriptor to be
// looked up) to learn its access mode.
type openRec struct {
	key     openKey
	path    string
	wall    int64 // event time
	due     int64 // wall-clock deadline for the descriptor lookup
	dir     bool
	write   bool // a modification was seen
	created bool // the open created the file (FAN_CREATE matched)
	done    bool
	next    *openRec // the next open of the same key
}

// openTable holds the pending opens by key and in arrival order.
type openTable struct {
	byKey map[openKey]*openRec
	q     []*openRec
	head  int
	free  []*openRec
}

// maxPendingOpens bounds the opens waiting for their close.
const maxPendingOpens = 8192

func (t *openTable) init() { t.byKey = make(map[openKey]*openRec) }

func (t *openTable) len() int { return len(t.q) - t.head }

// add queues a new open.
func (t *openTable) add(k openKey, path string, wall, due int64) *openRec {
	var r *openRec
	if n := len(t.free); n > 0 {
		r, t.free = t.free[n-1], t.free[:n-1]
	} else {
		r = new(openRec)
	}
	*r = openRec{key: k, path: path, wall: wall, due: due}
	if h := t.byKey[k]; h != nil {
		for h.next != nil {
			h = h.next
		}
		h.next = r
	} else {
		t.byKey[k] = r
	}
	if t.head > 0 && (t.head == len(t.q) || t.head >= 1024 && t.head*2 >= len(t.q)) {
		n := copy(t.q, t.q[t.head:])
		clear(t.q[n:])
		t.q, t.head = t.q[:n], 0
	}
	t.q = append(t.q, r)
	return r
}

// first returns the oldest pending open of k.
func (t *openTable) first(k openKey) *openRec { return t.byKey[k] }

// remove takes r out of its key's chain and marks it done; its queue slot
// is reclaimed when it reaches the head.
func (t *openTable) remove(r *openRec) {
	h := t.byKey[r.key]
	switch {
	case h == r:
		if r.next != nil {
			t.byKey[r.key] = r.next
		} else {
			delete(t.byKey, r.key)
		}
	case h != nil:
		for h.next != nil && h.next != r {
			h = h.next
		}
		if h.next == r {
			h.next = r.next
		}
	}
	r.next = nil
	r.done = true
}

// peek returns the oldest open still pending, reclaiming finished ones.
func (t *openTable) peek() *openRec {
	for t.head < len(t.q) {
		r := t.q[t.head]
		if !r.done {
			return r
		}
		t.q[t.head] = nil
		t.head++
		r.path = ""
		t.free = append(t.free, r)
	}
	return nil
}

// createRec is a file creation waiting for the open that created it.
type createRec struct {
	path string
	wall int64
	due  int64
	iter uint64
}

// execHint is the first file a process opened for execution.
type execHint struct {
	path string
	wall int64 // when it was read
}

// commName is a process name from a proc connector comm event.
type commName struct {
	b [16]byte
	n uint8
}

func (c commName) String() string { return string(c.b[:c.n]) }

// moveRec is a FAN_MOVED_FROM waiting for its FAN_MOVED_TO.
type moveRec struct {
	set  bool
	pid  int32
	wall int64
	path string
	ok   bool
}

// hintWindow is how far apart an exec open and its exec may be: an older
// hint is from an exec that failed after opening the file.
const hintWindow = int64(time.Second)

// execHints records the files opened for execution in a batch (before the
// proc connector's exec messages are handled): the first one after an exec
// is the program (a script, or an ELF file); the interpreter and the
// dynamic loader follow.
func (d *Driver) execHints(recs []fanRecord, wall int64) {
	for i := range recs {
		r := &recs[i]
		if r.Mask&unix.FAN_OPEN_EXEC == 0 || r.FD < 0 || r.Pid == d.selfPID {
			continue
		}
		if h, ok := d.loop.hints[r.Pid]; ok && wall-h.wall < hintWindow {
			continue // the interpreter or loader after the program
		}
		if p, ok := d.readlink(d.fdPath(r.FD)); ok {
			d.loop.hints[r.Pid] = execHint{path: trimDeleted(p), wall: wall}
		}
	}
	if len(d.loop.hints) > 4096 {
		for pid, h := range d.loop.hints {
			if wall-h.wall > hintWindow {
				delete(d.loop.hints, pid)
			}
		}
	}
}

// handleFile handles one event of the file group.
func (d *Driver) handleFile(r *fanRecord, wall int64) {
	if r.Mask&unix.FAN_Q_OVERFLOW != 0 {
		d.lost(true)
		return
	}
	if r.FD < 0 || r.Pid == d.selfPID || r.Pid <= 0 {
		return
	}
	if r.Mask&unix.FAN_OPEN_EXEC != 0 {
		// The exec's own opens are not open syscalls; execHints used it.
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(r.FD), &st); err != nil {
		return
	}
	key := openKey{pid: r.Pid, dev: st.Dev, ino: st.Ino}
	var path string
	if e := d.foreignNS(r.Pid); e != nil {
		p, ok := d.readlink(d.fdPath(r.FD))
		if !ok {
			return
		}
		if path = trimDeleted(p); d.backingEvent(e, path, st.Dev) {
			return
		}
	}
	if r.Mask&unix.FAN_OPEN != 0 {
		p, ok := path, path != ""
		if !ok {
			p, ok = d.readlink(d.fdPath(r.FD))
		}
		if ok {
			o := &d.loop.opens
			if o.len() >= maxPendingOpens {
				d.resolveOpen(o.peek(), time.Now().UnixNano(), true)
			}
			p, _ = d.containerPath(r.Pid, trimDeleted(p), true)
			rec := o.add(key, p, wall, wall+int64(d.cfg.OpenWait))
			rec.dir = st.Mode&unix.S_IFMT == unix.S_IFDIR
			if _, ok := d.loop.creates[key]; ok {
				rec.created = true
				delete(d.loop.creates, key)
			}
		}
	}
	if r.Mask&unix.FAN_MODIFY != 0 {
		if rec := d.loop.opens.first(key); rec != nil {
			rec.write = true
		} else if _, ok := d.loop.writers[key]; !ok {
			d.inferredWrite(r, key, wall)
		}
	}
	if r.Mask&unix.FAN_CLOSE_WRITE != 0 {
		if rec := d.loop.opens.first(key); rec != nil {
			rec.write = true
			d.closeOpen(rec)
		} else if _, ok := d.loop.writers[key]; !ok {
			d.inferredWrite(r, key, wall)
		}
		delete(d.loop.writers, key)
	}
	if r.Mask&unix.FAN_CLOSE_NOWRITE != 0 {
		if rec := d.loop.opens.first(key); rec != nil {
			d.closeOpen(rec)
		}
	}
}

// closeOpen reports an open whose close was seen: the close says whether
// it was opened for writing.
func (d *Driver) closeOpen(rec *openRec) {
	var flags uint32
	if rec.write {
		flags = oWronly
	}
	if rec.created {
		flags |= oCreat
	}
	d.emitOpen(rec, UnknownFD, flags, true)
	d.loop.opens.remove(rec)
}

// resolveOpen reports an open that is still pending: it looks its
// descriptor up in /proc.
func (d *Driver) resolveOpen(rec *openRec, now int64, fresh bool) {
	if rec == nil {
		return
	}
	if fresh {
		d.loop.scan.reset()
	}
	fd, flags, ok := d.lookupFD(rec.key, rec.write)
	switch {
	case ok:
		if rec.created {
			flags |= oCreat
		}
		if rec.write && flags&oAccess == 0 {
			flags |= oWronly
		}
		if flags&oAccess != 0 {
			d.loop.writers[rec.key] = struct{}{}
		}
		d.emitOpen(rec, int64(fd), flags, true)
	case rec.write:
		d.loop.writers[rec.key] = struct{}{}
		d.emitOpen(rec, UnknownFD, oWronly, true)
	default:
		// The descriptor is closed but the file is still referenced
		// (typically mapped: the close event comes at munmap or exit).
		// No write was seen: report a read. Should it have been opened
		// for writing, the close-write that comes later reports it.
		var flags uint32
		if rec.created {
			flags = oCreat | oWronly
		}
		d.emitOpen(rec, UnknownFD, flags, true)
	}
	d.loop.opens.remove(rec)
	if len(d.loop.writers) > 1<<16 {
		clear(d.loop.writers)
	}
}

// inferredWrite reports an open for writing that was not seen (the file
// was opened before the driver started, or the descriptor was inherited)
// when a write to it is.
func (d *Driver) inferredWrite(r *fanRecord, key openKey, wall int64) {
	p, ok := d.readlink(d.fdPath(r.FD))
	if !ok {
		return
	}
	d.loop.writers[key] = struct{}{}
	p, _ = d.containerPath(r.Pid, trimDeleted(p), true)
	rec := openRec{key: key, path: p, wall: wall, write: true}
	d.loop.scan.reset()
	fd, flags, found := d.lookupFD(key, true)
	if !found || flags&oAccess == 0 {
		fd, flags = UnknownFD, oWronly
	}
	d.emitOpen(&rec, int64(fd), flags, true)
}

// emitOpen reports an openat.
func (d *Driver) emitOpen(rec *openRec, fd int64, flags uint32, hasFlags bool) {
	ev := d.resetEvent(evtOpenat, rec.key.pid, rec.wall)
	ev.Res, ev.FD = fd, fd
	ev.Path = rec.path
	ev.Dev, ev.Ino = encodeDev(rec.key.dev), rec.key.ino
	ev.Has |= driver.HasRes | driver.HasFD | driver.HasPath | driver.HasDev | driver.HasFDInfo
	if hasFlags {
		ev.Flags = flags
		ev.Has |= driver.HasFlags
	}
	if d.fan.g2 >= 0 {
		ev.Created = rec.created
		ev.Has |= driver.HasCreated
	}
	ev.FDInfo = driver.FDInfo{
		Num: fd, Type: driver.FDFile, Name: rec.path, NameRaw: rec.path,
		OpenFlags: flags, Dev: ev.Dev, Ino: ev.Ino,
	}
	if rec.dir {
		ev.FDInfo.Type = driver.FDDirectory
	}
	d.send(ev)
}

// encodeDev converts a stat(2) device number into the 32-bit encoding
// Falco's fd.dev uses.
func encodeDev(dev uint64) uint32 {
	major, minor := unix.Major(dev), unix.Minor(dev)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// trimDeleted removes the " (deleted)" readlink appends for unlinked files.
func trimDeleted(p string) string {
	return strings.TrimSuffix(p, " (deleted)")
}

// nextDue returns when the earliest pending open or creation must be
// resolved.
func (d *Driver) nextDue() (time.Time, bool) {
	var due int64
	if r := d.loop.opens.peek(); r != nil {
		due = r.due
	}
	for _, c := range d.loop.creates {
		if due == 0 || c.due < due {
			due = c.due
		}
	}
	if due == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, due), true
}

// expire resolves the opens and creations whose wait is over.
func (d *Driver) expire(now time.Time) {
	n := now.UnixNano()
	d.loop.scan.reset()
	o := &d.loop.opens
	for r := o.peek(); r != nil && r.due <= n; r = o.peek() {
		d.resolveOpen(r, n, false)
	}
	for k, c := range d.loop.creates {
		if c.due <= n && c.iter < d.loop.iter {
			d.emitCreate(k, c)
			delete(d.loop.creates, k)
		}
	}
}

// emitCreate reports a created file that no open claimed.
func (d *Driver) emitCreate(k openKey, c createRec) {
	rec := openRec{key: k, path: c.path, wall: c.wall, created: true}
	d.emitOpen(&rec, UnknownFD, oCreat|oWronly, true)
}

// fdEnt is one descriptor of a process.
type fdEnt struct {
	fd       int
	dev, ino uint64
	used     bool
}

// fdScanCache keeps the descriptor lists read during one expiry pass.
type fdScanCache struct {
	pids map[int32][]fdEnt
}

func (c *fdScanCache) reset() {
	if c.pids == nil {
		c.pids = make(map[int32][]fdEnt)
	}
	clear(c.pids)
}

// maxScanFDs bounds the descriptors examined per process.
const maxScanFDs = 4096

// lookupFD finds the descriptor of process k.pid that refers to the file
// k (and is open for writing, with write set) and returns its number and
// open flags (from /proc/PID/fdinfo).
func (d *Driver) lookupFD(k openKey, write bool) (int, uint32, bool) {
	ents, ok := d.loop.scan.pids[k.pid]
	if !ok {
		ents = d.scanFDs(k.pid)
		d.loop.scan.pids[k.pid] = ents
	}
	for i := range ents {
		e := &ents[i]
		if e.used || e.dev != k.dev || e.ino != k.ino {
			continue
		}
		flags, ok := d.fdFlags(k.pid, e.fd)
		if !ok || (write && flags&oAccess == 0) {
			continue
		}
		e.used = true
		return e.fd, flags, true
	}
	return 0, 0, false
}

// scanFDs lists the file descriptors of pid with the file each refers to.
func (d *Driver) scanFDs(pid int32) []fdEnt {
	dir := d.procRoot + "/" + strconv.Itoa(int(pid)) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	names, err := f.Readdirnames(maxScanFDs)
	if err != nil && len(names) == 0 {
		return nil
	}
	dfd := int(f.Fd())
	ents := make([]fdEnt, 0, len(names))
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(dfd, n, &st, 0) != nil {
			continue
		}
		ents = append(ents, fdEnt{fd: fd, dev: st.Dev, ino: st.Ino})
	}
	// Newest descriptors last in creation order is unknown; prefer the
	// highest numbers, usually the most recent opens.
	for i, j := 0, len(ents)-1; i < j; i, j = i+1, j-1 {
		ents[i], ents[j] = ents[j], ents[i]
	}
	return ents
}

// fdFlags reads the flags line of /proc/PID/fdinfo/FD.
func (d *Driver) fdFlags(pid int32, fd int) (uint32, bool) {
	b, err := os.ReadFile(d.procRoot + "/" + strconv.Itoa(int(pid)) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	return parseFdinfoFlags(b)
}

// parseFdinfoFlags returns the octal flags field of an fdinfo file.
func parseFdinfoFlags(b []byte) (uint32, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			f, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 32)
			return uint32(f), err == nil
		}
	}
	return 0, false
}
