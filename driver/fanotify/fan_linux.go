package fanotify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fanotify masks.
const (
	fanInitFlags  = unix.FAN_CLASS_NOTIF | unix.FAN_CLOEXEC | unix.FAN_NONBLOCK
	fanEventFlags = unix.O_RDONLY | unix.O_LARGEFILE | unix.O_CLOEXEC

	fileMask   = unix.FAN_OPEN | unix.FAN_MODIFY | unix.FAN_CLOSE_WRITE | unix.FAN_CLOSE_NOWRITE
	execMask   = unix.FAN_OPEN_EXEC
	direntMask = unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_ATTRIB | unix.FAN_ONDIR
	moveMask   = unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO

	readBufSize = 256 << 10
)

// skipFS are filesystem types that hold no files worth watching (or that
// fanotify cannot watch).
var skipFS = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true,
	"debugfs": true, "tracefs": true, "securityfs": true, "pstore": true, "bpf": true,
	"configfs": true, "fusectl": true, "autofs": true, "binfmt_misc": true, "nsfs": true,
	"efivarfs": true, "rpc_pipefs": true, "selinuxfs": true, "hugetlbfs": true, "pipefs": true,
	"sockfs": true, "anon_inodefs": true,
}

// fanNeeds says which fanotify events to ask for.
type fanNeeds struct {
	open   bool // FAN_OPEN and friends (openat)
	dirent bool // the FAN_REPORT_DFID_NAME group
}

// fanWatch holds the fanotify groups and their marks.
type fanWatch struct {
	feat      features
	g1, g2    int    // file group; directory-entry group (-1 without)
	mask1     uint64 // g1 mark mask
	mask2     uint64 // g2 mark mask
	mountinfo int    // /proc/self/mountinfo, polled for POLLPRI

	fsMarked  map[uint64]bool   // devices with a g1 filesystem mark
	mntMarked map[int]bool      // mount ids with a g1 mount mark
	fs2Tried  map[uint64]bool   // devices tried for g2
	mountFDs  map[uint64]int    // fsid → descriptor for open_by_handle_at
	devOfFSID map[uint64]uint64 // fsid → device, to drop mountFDs

	buf1, buf2   []byte
	recs1, recs2 []fanRecord
	handle       []byte            // aligned copy of a file handle
	dirs         map[string]string // fsid+handle → directory path
	key          []byte            // scratch for dirs keys
	mounts       []mount           // the driver's mount table at the last rescan

	nmarks     atomic.Int64
	markErrors atomic.Uint64
}

func newFanWatch(f features, need fanNeeds) (*fanWatch, error) {
	w := &fanWatch{
		feat: f, g1: -1, g2: -1, mountinfo: -1,
		fsMarked: map[uint64]bool{}, mntMarked: map[int]bool{}, fs2Tried: map[uint64]bool{},
		mountFDs: map[uint64]int{}, devOfFSID: map[uint64]uint64{},
		handle: make([]byte, 256),
	}
	fd, err := unix.FanotifyInit(fanInitFlags, fanEventFlags)
	if err != nil {
		return nil, fanInitError(err, "")
	}
	w.g1 = fd
	w.buf1 = make([]byte, readBufSize)
	if need.open {
		w.mask1 |= fileMask
	}
	if f.openExec {
		w.mask1 |= execMask
	}
	if f.dfidName && need.dirent {
		fd, err := unix.FanotifyInit(fanInitFlags|unix.FAN_REPORT_DFID_NAME, fanEventFlags)
		if err != nil {
			w.close()
			return nil, fanInitError(err, "FAN_REPORT_DFID_NAME")
		}
		w.g2 = fd
		w.buf2 = make([]byte, readBufSize)
		w.mask2 = direntMask
		if f.rename {
			w.mask2 |= unix.FAN_RENAME
		} else {
			w.mask2 |= moveMask
		}
	}
	if mi, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		w.mountinfo = mi
	}
	if err := w.rescan(); err != nil {
		w.close()
		return nil, err
	}
	if w.mask1 != 0 && w.nmarks.Load() == 0 {
		w.close()
		return nil, errors.New("fanotify: no filesystem could be marked")
	}
	return w, nil
}

// mount is one line of /proc/PID/mountinfo.
type mount struct {
	id     int
	dev    uint64 // major<<32 | minor
	root   string // the mount's root directory within its filesystem
	point  string
	fstype string
	super  string // super options, still escaped (overlay layers: see overlayLayers)
}

// parseMountinfo parses /proc/PID/mountinfo, skipping malformed lines.
func parseMountinfo(b []byte, out []mount) []mount {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		f := bytes.Fields(line)
		// id parent major:minor root point opts [optional...] - fstype source superopts
		if len(f) < 7 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if string(f[i]) == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		id, err := strconv.Atoi(string(f[0]))
		if err != nil {
			continue
		}
		mm := f[2]
		c := bytes.IndexByte(mm, ':')
		if c < 0 {
			continue
		}
		maj, err1 := strconv.ParseUint(string(mm[:c]), 10, 32)
		minor, err2 := strconv.ParseUint(string(mm[c+1:]), 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		m := mount{id: id, dev: maj<<32 | minor, root: unescapeMount(f[3]), point: unescapeMount(f[4]), fstype: string(f[sep+1])}
		if sep+3 < len(f) {
			m.super = string(f[sep+3])
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 for space, ...) of
// mountinfo paths.
func unescapeMount(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && isOct(b[i+1]) && isOct(b[i+2]) && isOct(b[i+3]) {
			out = append(out, (b[i+1]-'0')<<6|(b[i+2]-'0')<<3|(b[i+3]-'0'))
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

// rescan reads the mount table and marks filesystems not marked yet.
func (w *fanWatch) rescan() error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("fanotify: read mount table: %w", err)
	}
	if w.mountinfo >= 0 {
		// Reading from the polled descriptor acknowledges the change.
		var tmp [4096]byte
		_, _ = unix.Seek(w.mountinfo, 0, 0)
		for {
			n, err := unix.Read(w.mountinfo, tmp[:])
			if n <= 0 || err != nil {
				break
			}
		}
	}
	mounts := parseMountinfo(b, nil)
	w.mounts = mounts
	present := make(map[uint64]bool, len(mounts))
	presentID := make(map[int]bool, len(mounts))
	for _, m := range mounts {
		present[m.dev] = true
		presentID[m.id] = true
	}
	// Forget what was unmounted, so that a later mount is marked again.
	for dev := range w.fsMarked {
		if !present[dev] {
			delete(w.fsMarked, dev)
			w.nmarks.Add(-1)
		}
	}
	for id := range w.mntMarked {
		if !presentID[id] {
			delete(w.mntMarked, id)
			w.nmarks.Add(-1)
		}
	}
	for dev := range w.fs2Tried {
		if !present[dev] {
			delete(w.fs2Tried, dev)
		}
	}
	for fsid, dev := range w.devOfFSID {
		if !present[dev] {
			unix.Close(w.mountFDs[fsid])
			delete(w.mountFDs, fsid)
			delete(w.devOfFSID, fsid)
		}
	}
	for _, m := range mounts {
		if skipFS[m.fstype] {
			continue
		}
		w.mark(m)
	}
	return nil
}

// mark puts the marks for mount m in place.
func (w *fanWatch) mark(m mount) {
	if w.mask1 != 0 && !w.fsMarked[m.dev] && !w.mntMarked[m.id] {
		done := false
		if w.feat.filesystemMark {
			err := unix.FanotifyMark(w.g1, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, w.mask1, unix.AT_FDCWD, m.point)
			if err == nil {
				w.fsMarked[m.dev] = true
				w.nmarks.Add(1)
				done = true
			}
		}
		if !done {
			// No filesystem marks here (old kernel, or a filesystem
			// without them): watch this mount.
			if err := unix.FanotifyMark(w.g1, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, w.mask1, unix.AT_FDCWD, m.point); err == nil {
				w.mntMarked[m.id] = true
				w.nmarks.Add(1)
			} else {
				w.markErrors.Add(1)
			}
		}
	}
	if w.g2 >= 0 && !w.fs2Tried[m.dev] {
		w.fs2Tried[m.dev] = true
		if err := unix.FanotifyMark(w.g2, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, w.mask2, unix.AT_FDCWD, m.point); err != nil {
			// Filesystems without file handles (or btrfs subvolumes
			// and the like) cannot report directory entries.
			w.markErrors.Add(1)
			return
		}
		var st unix.Statfs_t
		if err := unix.Statfs(m.point, &st); err != nil {
			return
		}
		fsid := fsidKey(st.Fsid.Val)
		if _, ok := w.mountFDs[fsid]; ok {
			return
		}
		fd, err := unix.Open(m.point, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		w.mountFDs[fsid] = fd
		w.devOfFSID[fsid] = m.dev
	}
}

// fsidKey packs a __kernel_fsid_t as the fanotify info record carries it.
func fsidKey(v [2]int32) uint64 { return uint64(uint32(v[0])) | uint64(uint32(v[1]))<<32 }

// openHandle opens the directory a file handle (struct file_handle bytes)
// names on the filesystem fsid, as O_PATH. It returns -1 when it cannot.
func (w *fanWatch) openHandle(fsid uint64, h []byte) int {
	mfd, ok := w.mountFDs[fsid]
	if !ok || len(h) < fileHandleHdr {
		return -1
	}
	if len(h) > len(w.handle) {
		w.handle = make([]byte, len(h))
	}
	copy(w.handle, h)
	fd, _, errno := unix.Syscall(unix.SYS_OPEN_BY_HANDLE_AT, uintptr(mfd),
		uintptr(unsafe.Pointer(&w.handle[0])), uintptr(unix.O_PATH|unix.O_CLOEXEC|unix.O_DIRECTORY))
	if errno != 0 {
		return -1
	}
	return int(fd)
}

func (w *fanWatch) close() {
	for _, fd := range []*int{&w.g1, &w.g2, &w.mountinfo} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	for fsid, fd := range w.mountFDs {
		unix.Close(fd)
		delete(w.mountFDs, fsid)
	}
}

// readFan reads one batch of events from a fanotify group. With many set
// (the file group, whose records do not point into the buffer) it reads
// until the queue is drained or maxReads buffers were read, so that exec
// opens queued before a proc connector exec message are all seen with it.
// Descriptors of records that could not be decoded are closed here; the
// caller closes the others with closeRecordFDs.
func (d *Driver) readFan(fd int, buf *[]byte, recs *[]fanRecord, many bool) []fanRecord {
	const maxReads = 8
	out := (*recs)[:0]
	var tmp []fanRecord
	for range maxReads {
		n, err := unix.Read(fd, *buf)
		if err != nil || n <= 0 {
			break
		}
		b := (*buf)[:n]
		var derr error
		if many {
			tmp, derr = decodeFanotify(b, tmp)
			out = append(out, tmp...)
		} else {
			out, derr = decodeFanotify(b, out)
		}
		if derr != nil {
			d.decodeErrors.Add(1)
			closeUndecoded(b, out)
		}
		if !many || n < len(*buf)/2 {
			break
		}
	}
	*recs = out
	return out
}

// closeUndecoded closes the descriptors of the records in b that the
// decoder could not hand over.
func closeUndecoded(b []byte, decoded []fanRecord) {
	seen := make(map[int32]bool, len(decoded))
	for _, r := range decoded {
		seen[r.FD] = true
	}
	fanFDs(b, func(fd int32) {
		if !seen[fd] {
			unix.Close(int(fd))
		}
	})
}

// closeRecordFDs closes every event descriptor of recs.
func closeRecordFDs(recs []fanRecord) {
	for i := range recs {
		if recs[i].FD >= 0 {
			unix.Close(int(recs[i].FD))
			recs[i].FD = -1
		}
	}
}

// fanInitError classifies a fanotify_init failure.
func fanInitError(err error, feature string) error {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("fanotify: fanotify_init: fanotify (2.6.37, CONFIG_FANOTIFY): %w", unsupported(err))
	case errors.Is(err, unix.EINVAL) && feature != "":
		return fmt.Errorf("fanotify: fanotify_init: %s: %w", feature, unsupported(err))
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("fanotify: fanotify_init: %w", permissionCause(err, capSysAdmin, "CAP_SYS_ADMIN"))
	}
	return fmt.Errorf("fanotify: fanotify_init: %w", err)
}
