//go:build linux && amd64

package ptrace

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// memReader reads a tracee's memory: process_vm_readv (Linux 3.2), or
// PTRACE_PEEKDATA where that is not allowed.
type memReader struct {
	noVM   bool
	local  [1]unix.Iovec
	remote [1]unix.RemoteIovec
}

// read reads len(dst) bytes at addr in tid's memory (fewer when the range
// is not all mapped).
func (m *memReader) read(tid int, addr uint64, dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if !m.noVM {
		m.local[0].Base = &dst[0]
		m.local[0].SetLen(len(dst))
		m.remote[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(dst)}
		n, err := unix.ProcessVMReadv(tid, m.local[:], m.remote[:], 0)
		m.local[0].Base = nil
		if err == nil || (err != unix.ENOSYS && err != unix.EPERM) {
			return n, err
		}
		m.noVM = true
	}
	return unix.PtracePeekData(tid, uintptr(addr), dst)
}

// str reads the NUL-terminated string at addr (at most maxPath bytes) into
// dst. A NULL or unreadable pointer leaves dst not ok.
func (m *memReader) str(tid int, addr uint64, dst *capture) {
	dst.b, dst.ok = dst.b[:0], false
	if addr == 0 {
		return
	}
	for len(dst.b) < maxPath {
		n := min(pageSize-int(addr%pageSize), maxPath-len(dst.b))
		off := len(dst.b)
		dst.b = slices.Grow(dst.b, n)[:off+n]
		k, _ := m.read(tid, addr, dst.b[off:])
		if k <= 0 {
			dst.b = dst.b[:off]
			return
		}
		if i := bytes.IndexByte(dst.b[off:off+k], 0); i >= 0 {
			dst.b, dst.ok = dst.b[:off+i], true
			return
		}
		dst.b = dst.b[:off+k]
		addr += uint64(k)
	}
	dst.ok = true // truncated at maxPath
}

// bytes reads n bytes at addr into dst; dst is ok when some could be read.
func (m *memReader) bytes(tid int, addr uint64, n int, dst *capture) {
	dst.b, dst.ok = dst.b[:0], false
	if addr == 0 || n <= 0 {
		return
	}
	dst.b = slices.Grow(dst.b, n)[:n]
	k, _ := m.read(tid, addr, dst.b)
	if k <= 0 {
		dst.b = dst.b[:0]
		return
	}
	dst.b, dst.ok = dst.b[:k], true
}

// fdReader describes a tracee's descriptors and directories from /proc.
type fdReader struct {
	mem     *memReader
	errs    *atomic.Uint64
	noGetfd bool
	path    []byte
	link    []byte
	info    []byte
}

// procPath returns "/proc/TID/name[/n]".
func (f *fdReader) procPath(tid int, name string, n int64) string {
	b := append(f.path[:0], procRoot+"/"...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(append(b, '/'), name...)
	if n >= 0 {
		b = strconv.AppendInt(append(b, '/'), n, 10)
	}
	f.path = b
	return string(b)
}

// readlink returns the target of a /proc link ("" on failure).
func (f *fdReader) readlink(p string) string {
	if cap(f.link) < maxPath {
		f.link = make([]byte, maxPath)
	}
	n, err := unix.Readlink(p, f.link[:maxPath])
	if err != nil || n <= 0 {
		f.errs.Add(1)
		return ""
	}
	return string(f.link[:n])
}

// dir returns the directory a relative path given with dirfd starts from:
// tid's working directory for AT_FDCWD, else dirfd's path; "" when unknown.
func (f *fdReader) dir(tid int, dirfd int64) string {
	var p string
	if dirfd == atFDCWD {
		p = f.procPath(tid, "cwd", -1)
	} else {
		if dirfd < 0 {
			return ""
		}
		p = f.procPath(tid, "fd", dirfd)
	}
	l := strings.TrimSuffix(f.readlink(p), " (deleted)")
	if !strings.HasPrefix(l, "/") {
		return "" // not a directory in the file tree (e.g. a socket)
	}
	return l
}

// exists reports whether the path raw (relative to base) exists in tid's
// view of the file tree; ok is false when that cannot be told.
func (f *fdReader) exists(tid int, base string, raw []byte) (existed, ok bool) {
	if len(raw) == 0 || raw[0] != '/' && base == "" {
		return false, false
	}
	b := append(f.path[:0], procRoot+"/"...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = appendJoin(append(b, "/root"...), base, raw)
	f.path = b
	var st unix.Stat_t
	switch err := unix.Stat(string(b), &st); err {
	case nil:
		return true, true
	case unix.ENOENT:
		return false, true
	}
	return false, false
}

// describe fills out with descriptor fd of tid; pidfd (-1 if none) is the
// process's, used to inspect sockets.
func (f *fdReader) describe(tid, pidfd int, fd int64, out *fdDesc) {
	out.reset()
	if fd < 0 {
		return
	}
	p := f.procPath(tid, "fd", fd)
	out.link = f.readlink(p)
	if out.link == "" {
		return
	}
	out.ok, out.num = true, fd
	var st unix.Stat_t
	if unix.Stat(p, &st) == nil {
		out.mode, out.dev, out.ino = st.Mode, uint32(st.Dev), st.Ino
	}
	if b, err := f.readFile(f.procPath(tid, "fdinfo", fd)); err == nil {
		out.flags, out.mntID, _ = parseFDInfo(b)
	}
	if out.mode&sIFMT == sIFSOCK {
		f.sock(pidfd, fd, &out.sock)
	}
}

// readFile reads a small /proc file into a reused buffer.
func (f *fdReader) readFile(p string) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if cap(f.info) < 4096 {
		f.info = make([]byte, 4096)
	}
	n, err := unix.Read(fd, f.info[:4096])
	if err != nil {
		return nil, err
	}
	return f.info[:n], nil
}

// sock describes socket fd of the process with pidfd from a duplicate of
// it (pidfd_getfd, Linux 5.6).
func (f *fdReader) sock(pidfd int, fd int64, out *sockDesc) {
	if pidfd < 0 || f.noGetfd {
		return
	}
	lfd, err := unix.PidfdGetfd(pidfd, int(fd), 0)
	if err != nil {
		if err == unix.ENOSYS {
			f.noGetfd = true
		}
		f.errs.Add(1)
		return
	}
	defer unix.Close(lfd)
	dom, err := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return
	}
	typ, _ := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, _ := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	acc, _ := unix.GetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	out.ok, out.family, out.typ, out.proto, out.listening = true, uint16(dom), int32(typ), int32(proto), acc != 0
	out.local = rawName(unix.SYS_GETSOCKNAME, lfd, out.local)
	out.peer = rawName(unix.SYS_GETPEERNAME, lfd, out.peer)
}

// rawName returns the raw sockaddr getsockname or getpeername (nr) gives
// for fd, appended to dst[:0]; empty when the call fails.
func rawName(nr uintptr, fd int, dst []byte) []byte {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return dst[:0]
	}
	b := (*[unix.SizeofSockaddrAny]byte)(unsafe.Pointer(&rsa))
	return append(dst[:0], b[:min(int(l), len(b))]...)
}
