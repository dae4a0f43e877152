package fanotify

import (
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// maxDirCache bounds the directory-handle → path cache.
const maxDirCache = 4096

// handleDirent handles one event of the directory-entry group
// (FAN_REPORT_DFID_NAME).
func (d *Driver) handleDirent(r *fanRecord, wall int64) {
	if r.Mask&unix.FAN_Q_OVERFLOW != 0 {
		d.flushMove()
		d.lost(true)
		return
	}
	if r.Mask&unix.FAN_MOVED_TO == 0 {
		d.flushMove()
	}
	if r.Pid == d.selfPID || r.Pid <= 0 || r.NDir == 0 {
		return
	}
	m := r.Mask
	dir := m&unix.FAN_ONDIR != 0
	if dir && m&(unix.FAN_RENAME|unix.FAN_MOVED_FROM|unix.FAN_MOVED_TO|unix.FAN_DELETE) != 0 {
		// Cached directory paths below it may be stale now.
		clear(d.dirCache())
	}
	if m&unix.FAN_RENAME != 0 {
		oldP, oldOK := d.direntPath(&r.Dir[0])
		var newP string
		var newOK bool
		if r.NDir > 1 {
			newP, newOK = d.direntPath(&r.Dir[1])
		}
		d.emitRename(r.Pid, wall, oldP, oldOK, newP, newOK)
	}
	if m&unix.FAN_MOVED_FROM != 0 {
		d.flushMove()
		p, ok := d.direntPath(&r.Dir[0])
		d.loop.moveFrom = moveRec{set: true, pid: r.Pid, wall: wall, path: p, ok: ok}
	}
	if m&unix.FAN_MOVED_TO != 0 {
		mv := d.loop.moveFrom
		if !mv.set || mv.pid != r.Pid {
			d.flushMove()
			mv = moveRec{pid: r.Pid, wall: wall}
		}
		d.loop.moveFrom = moveRec{}
		newP, newOK := d.direntPath(&r.Dir[0])
		d.emitRename(r.Pid, mv.wall, mv.path, mv.ok, newP, newOK)
	}
	if m&unix.FAN_CREATE != 0 {
		d.created(r, dir, wall)
	}
	if m&unix.FAN_ATTRIB != 0 {
		d.attrib(r, wall)
	}
	if m&unix.FAN_DELETE != 0 {
		p, ok := d.direntPath(&r.Dir[0])
		var rule *pathRule
		if ok {
			if p, rule = d.containerPath(r.Pid, p, false); rule != nil && rule.kind == pathWork {
				return // the overlay cleaning up after a copy-up or whiteout
			}
		}
		d.emitUnlink(r.Pid, wall, p, ok, dir)
	}
}

// emitUnlink reports an unlinkat (with AT_REMOVEDIR for a directory).
func (d *Driver) emitUnlink(pid int32, wall int64, path string, ok, dir bool) {
	ev := d.resetEvent(evtUnlinkat, pid, wall)
	ev.Has |= driver.HasRes | driver.HasFlags
	if dir {
		ev.Flags = atRemoveDir
	}
	if ok {
		ev.Path = path
		ev.Has |= driver.HasPath
	}
	d.send(ev)
}

// emitRename reports a rename of host path oldP to host path newP (each
// known or not) by pid, with the paths pid sees. Renames out of an
// overlay's work directory are the overlay's: a copy-up to the upper layer
// is not reported, a whiteout moved there is the removal of a file of a
// lower layer (reported as unlinkat). Renames into a work directory (the
// other half of an exchange) are not reported either.
func (d *Driver) emitRename(pid int32, wall int64, oldP string, oldOK bool, newP string, newOK bool) {
	var oldR, newR *pathRule
	hostNew := newP
	if oldOK {
		oldP, oldR = d.containerPath(pid, oldP, false)
	}
	if newOK {
		newP, newR = d.containerPath(pid, newP, false)
	}
	if newR != nil && newR.kind == pathWork {
		return
	}
	if oldR != nil && oldR.kind == pathWork {
		var st unix.Stat_t
		if newOK && unix.Lstat(hostNew, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			d.emitUnlink(pid, wall, newP, true, false)
		}
		return
	}
	ev := d.resetEvent(evtRenameat2, pid, wall)
	ev.Has |= driver.HasRes
	if oldOK {
		ev.OldPath = oldP
		ev.Has |= driver.HasOldPath
	}
	if newOK {
		ev.NewPath = newP
		ev.Has |= driver.HasNewPath
	}
	d.send(ev)
}

// flushMove reports a FAN_MOVED_FROM whose FAN_MOVED_TO did not follow
// (the entry left the watched filesystems).
func (d *Driver) flushMove() {
	mv := d.loop.moveFrom
	if !mv.set {
		return
	}
	d.loop.moveFrom = moveRec{}
	d.emitRename(mv.pid, mv.wall, mv.path, mv.ok, "", false)
}

// created handles FAN_CREATE: a directory (mkdirat), a symlink (symlinkat)
// or a file, which waits for the open that created it.
func (d *Driver) created(r *fanRecord, dir bool, wall int64) {
	p, ok := d.direntPath(&r.Dir[0])
	if !ok {
		return
	}
	var st unix.Stat_t
	statOK := unix.Lstat(p, &st) == nil
	if statOK {
		d.rememberAttr(&st, false)
	}
	host := p
	p, rule := d.containerPath(r.Pid, p, false)
	if rule != nil && rule.kind == pathWork {
		return // a copy-up or whiteout being prepared
	}
	switch {
	case dir:
		ev := d.resetEvent(evtMkdirat, r.Pid, wall)
		ev.Path = p
		ev.Has |= driver.HasRes | driver.HasPath
		if statOK {
			ev.Mode = st.Mode & 0o7777
			ev.Has |= driver.HasMode
		}
		d.send(ev)
	case !statOK:
		// Gone already: report the creation on its own.
		d.emitCreate(openKey{pid: r.Pid}, createRec{path: p, wall: wall})
	case rule != nil && rule.kind == pathUpper && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0:
		// A whiteout: a file of a lower layer removed.
		d.emitUnlink(r.Pid, wall, p, true, false)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		ev := d.resetEvent(evtSymlinkat, r.Pid, wall)
		ev.NewPath = p
		ev.Has |= driver.HasRes | driver.HasNewPath
		if t, ok := d.readlink(host); ok {
			ev.OldPath = t
			ev.Has |= driver.HasOldPath
		}
		d.send(ev)
	case st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink <= 1:
		k := openKey{pid: r.Pid, dev: st.Dev, ino: st.Ino}
		if rule != nil && rule.kind == pathUpper {
			// The open comes through the overlay, whose files have its
			// device number and (for an upper file) the upper inode.
			k.dev = rule.dev
		}
		if rec := d.loop.opens.first(k); rec != nil {
			// The open was read first (the groups' queues are read
			// one after the other) and is still pending.
			rec.created = true
			return
		}
		c := createRec{path: p, wall: wall, due: wall + int64(d.cfg.OpenWait), iter: d.loop.iter}
		if d.fan.mask1&unix.FAN_OPEN == 0 {
			d.emitCreate(k, c)
			return
		}
		if len(d.loop.creates) >= maxPendingOpens {
			for k2, c2 := range d.loop.creates {
				d.emitCreate(k2, c2)
				delete(d.loop.creates, k2)
				break
			}
		}
		d.loop.creates[k] = c
	}
}

// attrib handles FAN_ATTRIB: a mode change is reported as chmod, an owner
// change as chown (when the previous owner is known).
func (d *Driver) attrib(r *fanRecord, wall int64) {
	p, ok := d.direntPath(&r.Dir[0])
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil {
		return
	}
	k := fileKey{dev: st.Dev, ino: st.Ino}
	prev, known := d.loop.attrs[k]
	cur := d.rememberAttr(&st, true)
	p, rule := d.containerPath(r.Pid, p, false)
	if rule != nil && rule.kind == pathWork {
		return
	}
	if known && (prev.uid != cur.uid || prev.gid != cur.gid) {
		ev := d.resetEvent(evtChown, r.Pid, wall)
		ev.Path = p
		ev.UID, ev.GID = cur.uid, cur.gid
		ev.Has |= driver.HasRes | driver.HasPath | driver.HasUID | driver.HasGID
		d.send(ev)
	}
	// Without the syscall, a mode change cannot be told from other
	// attribute changes (times, xattrs, links), and the mode is read after
	// the fact: a mode seen at creation may already be the changed one.
	// Report the first attribute change of a file as chmod with the mode
	// after it, and later ones when the mode differs from the last seen.
	if !known || !prev.fromAttrib || prev.mode != cur.mode {
		ev := d.resetEvent(evtChmod, r.Pid, wall)
		ev.Path = p
		ev.Mode = cur.mode
		ev.Has |= driver.HasRes | driver.HasPath | driver.HasMode
		d.send(ev)
	}
}

// rememberAttr records a file's mode and owner for later attribute
// changes.
func (d *Driver) rememberAttr(st *unix.Stat_t, fromAttrib bool) fileAttr {
	a := fileAttr{mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid, fromAttrib: fromAttrib}
	if len(d.loop.attrs) >= 1<<15 {
		clear(d.loop.attrs)
	}
	d.loop.attrs[fileKey{dev: st.Dev, ino: st.Ino}] = a
	return a
}

// dirCache returns the directory-handle → path cache.
func (d *Driver) dirCache() map[string]string {
	if d.fan.dirs == nil {
		d.fan.dirs = make(map[string]string)
	}
	return d.fan.dirs
}

// direntPath resolves a directory handle and entry name to an absolute
// path. It reports false when the directory cannot be opened any more.
func (d *Driver) direntPath(n *fanName) (string, bool) {
	cache := d.dirCache()
	key := append(d.fan.key[:0], byte(n.FSID), byte(n.FSID>>8), byte(n.FSID>>16), byte(n.FSID>>24),
		byte(n.FSID>>32), byte(n.FSID>>40), byte(n.FSID>>48), byte(n.FSID>>56))
	key = append(key, n.Handle...)
	d.fan.key = key
	dir, ok := cache[string(key)]
	if !ok {
		fd := d.fan.openHandle(n.FSID, n.Handle)
		if fd < 0 {
			return "", false
		}
		p, ok := d.readlink(d.fdPath(int32(fd)))
		unix.Close(fd)
		if !ok || len(p) == 0 || p[0] != '/' {
			return "", false
		}
		dir = trimDeleted(p)
		if len(cache) >= maxDirCache {
			clear(cache)
		}
		cache[string(key)] = dir
	}
	name := n.Name
	if len(name) == 0 || string(name) == "." {
		return dir, true
	}
	if dir == "/" {
		return "/" + string(name), true
	}
	return dir + "/" + string(name), true
}
