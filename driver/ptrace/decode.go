package ptrace

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

var le = binary.LittleEndian

// x86_64 syscall numbers and Linux constants the driver treats specially.
// They are spelled out (rather than taken from x/sys/unix) so that the
// decoders build, and are fuzzed, on any platform.
const (
	atFDCWD      = -100
	einprogress  = 115
	oCreat       = 0o100
	oExcl        = 0o200
	oWronly      = 0o1
	oTrunc       = 0o1000
	oTmpfile     = 0o20000000 | 0o200000
	sIFMT        = 0o170000
	sIFSOCK      = 0o140000
	sIFDIR       = 0o040000
	sIFIFO       = 0o010000
	afUnix       = 1
	afInet       = 2
	afInet6      = 10
	afNetlink    = 16
	sockStream   = 1
	sockDgram    = 2
	sockRaw      = 3
	ipprotoICMP  = 1
	ipprotoTCP   = 6
	ipprotoUDP   = 17
	ipprotoICMP6 = 58

	// maxPath bounds the bytes of a path or name read from a tracee.
	maxPath = 4096
	// snaplen bounds the I/O bytes captured, as the eBPF driver does.
	snaplen = 80
	// sockaddrMax bounds a user sockaddr read from a tracee.
	sockaddrMax = 128
	// openHowSize is the part of struct open_how read (flags, mode,
	// resolve).
	openHowSize = 24
)

// capture is bytes read from a tracee; ok says the read succeeded.
type capture struct {
	b  []byte
	ok bool
}

func (c *capture) set(b []byte, ok bool) {
	c.b = append(c.b[:0], b...)
	c.ok = ok
}

// sockDesc describes a socket descriptor: its kind and its raw local and
// peer addresses (as getsockname and getpeername return them).
type sockDesc struct {
	ok          bool
	family      uint16
	typ, proto  int32
	local, peer []byte
	listening   bool
}

// fdDesc describes a descriptor as /proc shows it.
type fdDesc struct {
	ok    bool
	num   int64
	link  string // target of /proc/TID/fd/N
	mode  uint32 // st_mode of what it refers to
	dev   uint32 // st_dev, in stat(2)'s encoding
	ino   uint64
	flags uint32 // flags from /proc/TID/fdinfo/N
	mntID uint64
	sock  sockDesc
}

func (f *fdDesc) reset() {
	local, peer := f.sock.local[:0], f.sock.peer[:0]
	*f = fdDesc{sock: sockDesc{local: local, peer: peer}}
}

// call is one traced syscall as captured from a tracee: its number, raw
// arguments and result, and what was read from the tracee's memory and
// /proc at the entry and exit stops. decodeCall turns it into an Event.
type call struct {
	nr   uint64
	args [6]uint64
	res  int64

	path, path2 capture // path arguments as the process passed them
	base, base2 string  // directories relative paths are relative to ("" unknown)
	str, str2   capture // mount fstype and source; memfd and module names
	how         capture // openat2's struct open_how
	sockaddr    capture // user socket address
	data        capture // first bytes of an I/O buffer
	existed     bool    // an O_CREAT open's path existed at entry
	existedOK   bool    // existed is known
	fd          fdDesc  // the descriptor the event is about
}

// reset clears c for a new syscall, keeping its buffers.
func (c *call) reset() {
	keep := func(p capture) capture { return capture{b: p.b[:0]} }
	fd := c.fd
	fd.reset()
	*c = call{
		path: keep(c.path), path2: keep(c.path2), str: keep(c.str), str2: keep(c.str2),
		how: keep(c.how), sockaddr: keep(c.sockaddr), data: keep(c.data), fd: fd,
	}
}

// decoder turns captured calls into events. It keeps a bounded string
// cache so that paths seen again do not allocate. The zero value works.
type decoder struct {
	strs map[string]string
	buf  []byte
}

const strCacheMax = 8192

// str returns b as a string, from the cache when it was seen before.
func (d *decoder) str(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if d.strs == nil {
		d.strs = make(map[string]string, 256)
	} else if len(d.strs) >= strCacheMax {
		clear(d.strs)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

// resolve returns raw made absolute against base when it is relative,
// cleaned. A relative path without a base stays as the process passed it.
func (d *decoder) resolve(raw []byte, base string) string {
	if len(raw) > 0 && raw[0] != '/' && base == "" {
		return d.str(raw)
	}
	d.buf = appendJoin(d.buf[:0], base, raw)
	return d.str(d.buf)
}

// appendJoin appends the cleaned join of base and rel (rel relative unless
// it starts with '/') to dst, as Falco normalises paths: "." and empty
// components dropped, ".." removing the previous component (never above
// the root). Symlinks are not followed.
func appendJoin(dst []byte, base string, rel []byte) []byte {
	start := len(dst)
	dst = append(dst, '/')
	add := func(p []byte) {
		for len(p) > 0 {
			i := bytes.IndexByte(p, '/')
			var c []byte
			if i < 0 {
				c, p = p, nil
			} else {
				c, p = p[:i], p[i+1:]
			}
			switch {
			case len(c) == 0 || string(c) == ".":
			case string(c) == "..":
				j := len(dst) - 1
				for j > start && dst[j] != '/' {
					j--
				}
				dst = dst[:j]
				if len(dst) == start {
					dst = append(dst, '/')
				}
			default:
				if dst[len(dst)-1] != '/' {
					dst = append(dst, '/')
				}
				dst = append(dst, c...)
			}
		}
	}
	if len(rel) == 0 || rel[0] != '/' {
		add([]byte(base))
	}
	add(rel)
	return dst
}

// decodeCall fills ev from the captured syscall c (which must have
// completed: c.res holds its result). Tid, Pid, Time and Num are left to
// the caller; everything else ev held is replaced, ev.Data's backing array
// reused. It never panics, whatever c holds.
func (d *decoder) decodeCall(c *call, ev *driver.Event) {
	data := ev.Data[:0]
	*ev = driver.Event{Data: data, Type: nrType(c.nr), Res: c.res, Has: driver.HasRes}
	if f := &c.fd; f.ok && f.mode&sIFMT == sIFSOCK && !f.sock.ok && c.sockaddr.ok {
		// The socket could not be inspected (no pidfd_getfd): describe it
		// by the address the process passed.
		synthSock(c)
	}
	a := c.args
	i32 := func(i int) int64 { return int64(int32(a[i])) }
	u32 := func(i int) uint32 { return uint32(a[i]) }
	setPath := func() {
		if c.path.ok {
			ev.Path = d.resolve(c.path.b, c.base)
			ev.Has |= driver.HasPath
		}
	}
	setDirFD := func(i int) { ev.DirFD = i32(i); ev.Has |= driver.HasDirFD }
	setFD := func(fd int64) { ev.FD = fd; ev.Has |= driver.HasFD }
	setFlags := func(f uint32) { ev.Flags = f; ev.Has |= driver.HasFlags }
	setMode := func(m uint32) { ev.Mode = m; ev.Has |= driver.HasMode }
	setUID := func(u uint32) { ev.UID = u; ev.Has |= driver.HasUID }
	setGID := func(g uint32) { ev.GID = g; ev.Has |= driver.HasGID }
	setName := func(p capture) {
		if p.ok {
			ev.Name = d.str(p.b)
			ev.Has |= driver.HasName
		}
	}
	twoPaths := func() {
		if c.path.ok {
			ev.OldPath = d.resolve(c.path.b, c.base)
			ev.Has |= driver.HasOldPath
		}
		if c.path2.ok {
			ev.NewPath = d.resolve(c.path2.b, c.base2)
			ev.Has |= driver.HasNewPath
		}
	}

	switch c.nr {
	case syscalls.Open, syscalls.Creat, syscalls.Openat, syscalls.Openat2:
		flags, mode := openFlags(c)
		switch c.nr {
		case syscalls.Openat, syscalls.Openat2:
			setDirFD(0)
		}
		if flags&(oCreat|oTmpfile) == 0 {
			mode = 0
		}
		setFlags(flags)
		setMode(mode & 0o7777)
		setPath()
		if c.res >= 0 {
			setFD(c.res)
			if c.fd.ok {
				d.fillFDInfo(ev, &c.fd)
				ev.FDInfo.Name = ev.Path
				if c.path.ok {
					ev.FDInfo.NameRaw = d.str(c.path.b)
				}
				ev.FDInfo.OpenFlags = flags
				ev.Dev, ev.Ino = ev.FDInfo.Dev, ev.FDInfo.Ino
				ev.Has |= driver.HasDev
			}
			switch {
			case flags&oCreat == 0:
				ev.Created = false
				ev.Has |= driver.HasCreated
			case flags&oExcl != 0:
				ev.Created = true
				ev.Has |= driver.HasCreated
			case c.existedOK:
				ev.Created = !c.existed
				ev.Has |= driver.HasCreated
			}
		}

	case syscalls.Execve, syscalls.Execveat:
		// A failed exec (successful ones are decoded by decodeExec).
		if c.nr == syscalls.Execveat {
			setDirFD(0)
		}
		if c.path.ok {
			ev.Path = d.str(c.path.b)
			ev.Has |= driver.HasPath
		}

	case syscalls.Unlink, syscalls.Rmdir, syscalls.Chdir, syscalls.Chroot:
		setPath()
	case syscalls.Unlinkat:
		setDirFD(0)
		setPath()
		setFlags(u32(2))
	case syscalls.Mkdir:
		setPath()
		setMode(u32(1))
	case syscalls.Mkdirat:
		setDirFD(0)
		setPath()
		setMode(u32(2))
	case syscalls.Chmod:
		setPath()
		setMode(u32(1))
	case syscalls.Fchmodat, syscalls.Fchmodat2:
		setDirFD(0)
		setPath()
		setMode(u32(2))
	case syscalls.Chown, syscalls.Lchown:
		setPath()
		setUID(u32(1))
		setGID(u32(2))
	case syscalls.Fchownat:
		setDirFD(0)
		setPath()
		setUID(u32(2))
		setGID(u32(3))
		setFlags(u32(4))

	case syscalls.Rename, syscalls.Link:
		twoPaths()
	case syscalls.Renameat, syscalls.Renameat2, syscalls.Linkat:
		setDirFD(0)
		twoPaths()
		if c.nr != syscalls.Renameat {
			setFlags(u32(4))
		}
	case syscalls.Symlink, syscalls.Symlinkat:
		if c.nr == syscalls.Symlinkat {
			setDirFD(1)
		}
		if c.path.ok {
			ev.OldPath = d.str(c.path.b)
			ev.Has |= driver.HasOldPath
		}
		if c.path2.ok {
			ev.NewPath = d.resolve(c.path2.b, c.base2)
			ev.Has |= driver.HasNewPath
		}

	case syscalls.Mount:
		if c.path.ok {
			ev.MountTarget = d.resolve(c.path.b, c.base)
		}
		if c.str.ok {
			ev.MountFSType = d.str(c.str.b)
		}
		if c.str2.ok {
			ev.MountSource = d.str(c.str2.b)
		}
		ev.Has |= driver.HasMount
		setFlags(u32(3))
	case syscalls.Umount2:
		if c.path.ok {
			ev.MountTarget = d.resolve(c.path.b, c.base)
		}
		ev.Has |= driver.HasMount
		setFlags(u32(1))

	case syscalls.MemfdCreate:
		setName(c.str)
		setFlags(u32(1))
		if c.res >= 0 {
			setFD(c.res)
			d.fillFDInfo(ev, &c.fd)
		}
	case syscalls.InitModule:
		setName(c.str)
	case syscalls.FinitModule:
		setFD(i32(0))
		setName(c.str)
		setFlags(u32(2))
		d.fillFDInfo(ev, &c.fd)

	case syscalls.Fchmod:
		setFD(i32(0))
		setMode(u32(1))
		d.fillFDInfo(ev, &c.fd)
	case syscalls.Fchown:
		setFD(i32(0))
		setUID(u32(1))
		setGID(u32(2))
		d.fillFDInfo(ev, &c.fd)
	case syscalls.Fchdir, syscalls.Close:
		setFD(i32(0))
		d.fillFDInfo(ev, &c.fd)
	case syscalls.Setns:
		setFD(i32(0))
		setFlags(u32(1))
		d.fillFDInfo(ev, &c.fd)
	case syscalls.Unshare, syscalls.Userfaultfd:
		setFlags(u32(0))
	case syscalls.Dup, syscalls.Dup2, syscalls.Dup3:
		setFD(i32(0))
		if c.nr == syscalls.Dup3 {
			setFlags(u32(2))
		}
		d.fillFDInfo(ev, &c.fd)

	case syscalls.Socket:
		ev.Domain, ev.SockType, ev.Proto = int32(a[0]), int32(a[1]), int32(a[2])
		ev.Has |= driver.HasSocket
		if c.res >= 0 {
			setFD(c.res)
			d.fillFDInfo(ev, &c.fd)
		}
	case syscalls.Connect, syscalls.Sendto, syscalls.Sendmsg, syscalls.Recvfrom, syscalls.Recvmsg:
		setFD(i32(0))
		if c.data.ok {
			ev.Data = append(ev.Data[:0], c.data.b...)
			ev.Has |= driver.HasData
		}
		d.fillFDInfo(ev, &c.fd)
		if d.sockTuple(c, ev, false) {
			ev.Has |= driver.HasAddr
		}
		if c.nr == syscalls.Connect && ev.Has.Has(driver.HasFDInfo) {
			ev.FDInfo.Connected = c.res == 0 || c.res == -einprogress
			ev.FDInfo.NameChanged = true
		}
	case syscalls.Bind, syscalls.Listen:
		setFD(i32(0))
		d.fillFDInfo(ev, &c.fd)
		if d.sockTuple(c, ev, true) {
			ev.Has |= driver.HasAddr
		}
	case syscalls.Accept, syscalls.Accept4:
		if c.res >= 0 {
			setFD(c.res)
			d.fillFDInfo(ev, &c.fd)
			if d.sockTuple(c, ev, true) {
				ev.Has |= driver.HasAddr
			}
			if ev.Has.Has(driver.HasFDInfo) {
				ev.FDInfo.Connected = true
			}
		}
		if c.nr == syscalls.Accept4 {
			setFlags(u32(3))
		}

	case syscalls.Setuid:
		setUID(u32(0))
	case syscalls.Setgid:
		setGID(u32(0))
	case syscalls.Setreuid, syscalls.Setresuid:
		setUID(u32(1))
	case syscalls.Setregid, syscalls.Setresgid:
		setGID(u32(1))
	case syscalls.Ptrace:
		ev.Request = int64(a[0])
		ev.TargetPID = i32(1)
		ev.Has |= driver.HasRequest | driver.HasTargetPID
	case syscalls.Kill, syscalls.Tkill:
		ev.TargetPID = i32(0)
		ev.Signal = int32(a[1])
		ev.Has |= driver.HasTargetPID | driver.HasSignal
	case syscalls.Tgkill:
		ev.TargetPID = i32(1)
		ev.Signal = int32(a[2])
		ev.Has |= driver.HasTargetPID | driver.HasSignal
	case syscalls.BPF, syscalls.Prctl:
		ev.Cmd = i32(0)
		ev.Has |= driver.HasCmd
	case syscalls.PidfdOpen:
		ev.TargetPID = i32(0)
		ev.Has |= driver.HasTargetPID
		setFlags(u32(1))
	}
}

// synthSock describes c's socket descriptor by the user address of the
// call: its family, and the address as the local end for bind, listen and
// accept or the peer otherwise.
func synthSock(c *call) {
	fam, _, _, _, ok := parseSockaddr(c.sockaddr.b)
	if !ok {
		return
	}
	s := &c.fd.sock
	s.ok, s.family = true, fam
	s.typ = 0 // unknown: L4Unknown
	switch c.nr {
	case syscalls.Bind, syscalls.Listen, syscalls.Accept, syscalls.Accept4:
		s.local = append(s.local[:0], c.sockaddr.b...)
	default:
		s.peer = append(s.peer[:0], c.sockaddr.b...)
	}
}

// openFlags returns the open flags and mode of an open-family call.
func openFlags(c *call) (flags, mode uint32) {
	switch c.nr {
	case syscalls.Open:
		return uint32(c.args[1]), uint32(c.args[2])
	case syscalls.Creat:
		return oCreat | oWronly | oTrunc, uint32(c.args[1])
	case syscalls.Openat:
		return uint32(c.args[2]), uint32(c.args[3])
	case syscalls.Openat2:
		if c.how.ok && len(c.how.b) >= 16 {
			return uint32(le.Uint64(c.how.b)), uint32(le.Uint64(c.how.b[8:]))
		}
	}
	return 0, 0
}

// decodeExec fills ev for a successful exec: c is the execve or execveat
// captured at its entry, p the process as it is after the exec (owned by
// the event from now on).
func (d *decoder) decodeExec(c *call, p *driver.Process, ev *driver.Event) {
	data := ev.Data[:0]
	*ev = driver.Event{Data: data, Type: evtExecve, Has: driver.HasRes}
	if c.nr == syscalls.Execveat {
		ev.Type = evtExecveat
		ev.DirFD = int64(int32(c.args[0]))
		ev.Has |= driver.HasDirFD
	}
	if c.path.ok {
		ev.Path = d.str(c.path.b)
		ev.Has |= driver.HasPath
	}
	if p != nil {
		ev.Args = p.Args
		if ev.Args == nil {
			ev.Args = []string{}
		}
		ev.Has |= driver.HasArgs
	}
	ev.Proc = p
}

// cloneType returns the event type of the child side of the process
// creation syscall nr.
func cloneType(nr uint64) driver.EventType {
	switch nr {
	case syscalls.Fork:
		return evtFork
	case syscalls.Vfork:
		return evtVfork
	case syscalls.Clone3:
		return evtClone3
	}
	return evtClone
}

// fillFDInfo describes descriptor f in ev.FDInfo, as the eBPF driver does
// from the kernel's file.
func (d *decoder) fillFDInfo(ev *driver.Event, f *fdDesc) {
	if !f.ok {
		return
	}
	info := &ev.FDInfo
	info.Num = f.num
	info.Ino = f.ino
	info.Dev = f.dev
	info.OpenFlags = f.flags
	info.MountID = f.mntID
	ev.Has |= driver.HasFDInfo
	info.Type, info.Name = classifyLink(f.link, f.mode)
	if info.Type == driver.FDUnknown && f.mode&sIFMT == sIFSOCK {
		d.fillSock(info, &f.sock)
	}
}

// classifyLink returns the kind and fd.name of a descriptor from the
// target of its /proc/TID/fd/N link and the st_mode of what it refers to.
// Sockets are returned as FDUnknown with no name: fillSock names them.
func classifyLink(link string, mode uint32) (driver.FDType, string) {
	if name, ok := strings.CutPrefix(link, "anon_inode:"); ok {
		return anonType(name), link
	}
	if strings.HasPrefix(link, "pidfd:") {
		return driver.FDPidfd, "anon_inode:[pidfd]"
	}
	switch mode & sIFMT {
	case sIFSOCK:
		return driver.FDUnknown, ""
	case sIFDIR:
		return driver.FDDirectory, strings.TrimSuffix(link, " (deleted)")
	case sIFIFO:
		return driver.FDPipe, link
	}
	if strings.HasPrefix(link, "/memfd:") {
		if !strings.HasSuffix(link, " (deleted)") {
			link += " (deleted)"
		}
		return driver.FDMemfd, link
	}
	if strings.HasPrefix(link, "socket:[") {
		return driver.FDUnknown, ""
	}
	return driver.FDFile, strings.TrimSuffix(link, " (deleted)")
}

// anonType classifies an anonymous-inode descriptor by its name.
func anonType(name string) driver.FDType {
	switch name {
	case "[eventfd]":
		return driver.FDEvent
	case "[eventpoll]":
		return driver.FDEventPoll
	case "[signalfd]":
		return driver.FDSignalFD
	case "[timerfd]":
		return driver.FDTimerFD
	case "inotify":
		return driver.FDInotify
	case "[userfaultfd]":
		return driver.FDUserfaultFD
	case "[io_uring]":
		return driver.FDIOUring
	case "[pidfd]":
		return driver.FDPidfd
	case "bpf-map", "bpf-prog", "bpf_link", "btf", "bpf_iter", "bpf-token":
		return driver.FDBPF
	}
	return driver.FDUnknown
}

// fillSock fills the socket kind and endpoints of info from s.
func (d *decoder) fillSock(info *driver.FDInfo, s *sockDesc) {
	if !s.ok {
		info.Type = driver.FDUnknown
		return
	}
	sa := &info.Sock
	sa.Family = uint8(s.family)
	sa.L4Proto = l4proto(s.typ, s.proto)
	_, laddr, lport, lpath, _ := parseSockaddr(s.local)
	_, raddr, rport, rpath, rok := parseSockaddr(s.peer)
	switch s.family {
	case afInet:
		info.Type = driver.FDIPv4
		sa.LocalAddr, sa.RemoteAddr = unmapOr(laddr, 4), unmapOr(raddr, 4)
	case afInet6:
		info.Type = driver.FDIPv6
		sa.LocalAddr, sa.RemoteAddr = unmapOr(laddr, 6), unmapOr(raddr, 6)
		if v4ish(sa.LocalAddr) && v4ish(sa.RemoteAddr) && (sa.LocalAddr.Is4In6() || sa.RemoteAddr.Is4In6()) {
			info.Type = driver.FDIPv4
			sa.LocalAddr, sa.RemoteAddr = sa.LocalAddr.Unmap(), sa.RemoteAddr.Unmap()
		}
	case afUnix:
		info.Type = driver.FDUnix
		path := lpath
		if rok && len(unixPathBytes(rpath)) > 0 {
			path = rpath
		}
		d.buf = appendUnixPath(d.buf[:0], path)
		sa.UnixPath = d.str(d.buf)
		info.Name = sa.UnixPath
		return
	case afNetlink:
		info.Type = driver.FDNetlink
		return
	default:
		info.Type = driver.FDUnknown
		return
	}
	sa.LocalPort, sa.RemotePort = lport, rport
	sa.Server = s.listening
	d.buf = appendTupleName(d.buf[:0], sa)
	info.Name = d.str(d.buf)
}

// unmapOr returns a, or the unspecified address of the family (4 or 6)
// when a is not valid.
func unmapOr(a netip.Addr, family int) netip.Addr {
	if a.IsValid() {
		return a
	}
	if family == 4 {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// v4ish reports an IPv4-mapped or unspecified IPv6 address.
func v4ish(a netip.Addr) bool { return a.Is4In6() || a.IsUnspecified() }

func l4proto(typ, proto int32) uint8 {
	switch proto {
	case ipprotoTCP:
		return driver.L4TCP
	case ipprotoUDP:
		return driver.L4UDP
	case ipprotoICMP, ipprotoICMP6:
		if typ&0xf == sockRaw {
			return driver.L4Raw
		}
		return driver.L4ICMP
	}
	switch typ & 0xf {
	case sockStream:
		return driver.L4TCP
	case sockDgram:
		return driver.L4UDP
	case sockRaw:
		return driver.L4Raw
	}
	return driver.L4Unknown
}

// parseSockaddr parses a struct sockaddr into an address, port and unix
// path (sun_path as stored, NULs included).
func parseSockaddr(p []byte) (family uint16, addr netip.Addr, port uint16, path []byte, ok bool) {
	if len(p) < 2 {
		return 0, netip.Addr{}, 0, nil, false
	}
	family = le.Uint16(p)
	switch family {
	case afInet:
		if len(p) < 8 {
			return family, netip.Addr{}, 0, nil, false
		}
		return family, netip.AddrFrom4([4]byte(p[4:8])), binary.BigEndian.Uint16(p[2:]), nil, true
	case afInet6:
		if len(p) < 24 {
			return family, netip.Addr{}, 0, nil, false
		}
		return family, netip.AddrFrom16([16]byte(p[8:24])), binary.BigEndian.Uint16(p[2:]), nil, true
	case afUnix:
		return family, netip.Addr{}, 0, p[2:], true
	}
	return family, netip.Addr{}, 0, nil, false
}

// unixPathBytes returns a sun_path up to its first NUL, or the whole
// abstract name (leading NUL) without trailing NULs.
func unixPathBytes(p []byte) []byte {
	if len(p) > 0 && p[0] == 0 {
		return bytes.TrimRight(p, "\x00")
	}
	if i := bytes.IndexByte(p, 0); i >= 0 {
		return p[:i]
	}
	return p
}

// appendUnixPath appends a sun_path as Falco shows it: up to the first NUL,
// or "@name" for an abstract socket.
func appendUnixPath(dst, p []byte) []byte {
	if len(p) > 0 && p[0] == 0 {
		return append(append(dst, '@'), bytes.TrimRight(p[1:], "\x00")...)
	}
	return append(dst, unixPathBytes(p)...)
}

// sockTuple completes the event's socket tuple (ev.Sock and the FDInfo
// name) from the socket and the user sockaddr, and reports whether there
// is one. server says the local end is the server (bind, listen, accept).
func (d *decoder) sockTuple(c *call, ev *driver.Event, server bool) bool {
	info := &ev.FDInfo
	if !ev.Has.Has(driver.HasFDInfo) {
		// No descriptor: only the user address (e.g. a failed connect).
		if !c.sockaddr.ok {
			return false
		}
		fam, addr, port, path, ok := parseSockaddr(c.sockaddr.b)
		if !ok {
			return false
		}
		ev.Sock = driver.SockAddr{Family: uint8(fam), Server: server}
		switch {
		case fam == afUnix:
			d.buf = appendUnixPath(d.buf[:0], path)
			ev.Sock.UnixPath = d.str(d.buf)
		case server:
			ev.Sock.LocalAddr, ev.Sock.LocalPort = addr, port
		default:
			ev.Sock.RemoteAddr, ev.Sock.RemotePort = addr, port
		}
		return true
	}
	s := &info.Sock
	s.Server = server
	switch info.Type {
	case driver.FDIPv4, driver.FDIPv6:
		if c.sockaddr.ok {
			if fam, addr, port, _, ok := parseSockaddr(c.sockaddr.b); ok && (fam == afInet || fam == afInet6) {
				if info.Type == driver.FDIPv4 {
					addr = addr.Unmap()
				}
				if server && c.nr == syscalls.Bind && c.res != 0 {
					// A failed bind: what the process asked for.
					s.LocalAddr, s.LocalPort = addr, port
				} else if !server {
					s.RemoteAddr, s.RemotePort = addr, port
				}
			}
		}
		d.buf = appendTupleName(d.buf[:0], s)
		info.Name = d.str(d.buf)
	case driver.FDUnix:
		if c.sockaddr.ok {
			if fam, _, _, p, ok := parseSockaddr(c.sockaddr.b); ok && fam == afUnix {
				d.buf = appendUnixPath(d.buf[:0], p)
				s.UnixPath = d.str(d.buf)
				info.Name = s.UnixPath
			}
		}
	default:
		return false
	}
	ev.Sock = *s
	return true
}

// appendTupleName renders "cip:cport->sip:sport" as Falco's fd.name.
func appendTupleName(dst []byte, s *driver.SockAddr) []byte {
	cip, cport, sip, sport := s.LocalAddr, s.LocalPort, s.RemoteAddr, s.RemotePort
	if s.Server {
		cip, cport, sip, sport = sip, sport, cip, cport
	}
	dst = appendIP(dst, cip)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(cport), 10)
	dst = append(dst, "->"...)
	dst = appendIP(dst, sip)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(sport), 10)
}

func appendIP(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, "0.0.0.0"...)
	}
	return a.Unmap().AppendTo(dst)
}

// parseFDInfo reads the flags (octal) and mnt_id lines of a
// /proc/PID/fdinfo/N file.
func parseFDInfo(b []byte) (flags uint32, mntID uint64, ok bool) {
	var haveFlags bool
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "flags":
			n, err := strconv.ParseUint(string(v), 8, 32)
			if err == nil {
				flags, haveFlags = uint32(n), true
			}
		case "mnt_id":
			if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
				mntID = n
			}
		}
	}
	return flags, mntID, haveFlags
}

// parseStat returns the comm and ppid fields of a /proc/PID/stat line.
func parseStat(b []byte) (comm string, ppid int64, ok bool) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	comm = string(b[open+1 : end])
	f := bytes.Fields(b[end+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return "", 0, false
	}
	return comm, n, true
}

// parseStatusIDs returns the Tgid and PPid lines of a /proc/PID/status
// file.
func parseStatusIDs(b []byte) (tgid, ppid int64, ok bool) {
	var have int
	for len(b) > 0 && have != 3 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "Tgid":
			tgid, have = n, have|1
		case "PPid":
			ppid, have = n, have|2
		}
	}
	return tgid, ppid, have == 3
}

// isRestart reports the kernel-internal results of a syscall that is
// about to be restarted (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
// ERESTART_RESTARTBLOCK): it has not completed.
func isRestart(res int64) bool { return res <= -512 && res >= -516 }

// msghdrSize is the size of struct msghdr on x86_64.
const msghdrSize = 56

// parseMsghdr returns the name pointer and length and the iovec pointer
// and count of a struct msghdr (x86_64 layout).
func parseMsghdr(b []byte) (name uint64, namelen uint32, iov, iovlen uint64) {
	if len(b) < 32 {
		return 0, 0, 0, 0
	}
	return le.Uint64(b), le.Uint32(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
}
