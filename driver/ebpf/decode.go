package ebpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

var le = binary.LittleEndian

// x86_64 syscall numbers the decoder treats specially.
const (
	atFDCWD        = -100
	einprogress    = 115
	fmodeCreated   = 0x100000
	oCreat         = 0o100
	oWronly        = 0o1
	oTrunc         = 0o1000
	oTmpfile       = 0o20000000 | 0o200000
	sIFMT          = 0o170000
	sIFSOCK        = 0o140000
	sIFREG         = 0o100000
	sIFDIR         = 0o040000
	sIFIFO         = 0o010000
	sIFCHR         = 0o020000
	sIFBLK         = 0o060000
	afUnix         = 1
	afInet         = 2
	afInet6        = 10
	afNetlink      = 16
	sockStream     = 1
	sockDgram      = 2
	sockRaw        = 3
	ipprotoICMP    = 1
	ipprotoTCP     = 6
	ipprotoUDP     = 17
	ipprotoICMPv6  = 58
	anonInodeMagic = 0x09041934
	pidfsMagic     = 0x50494446
	pipefsMagic    = 0x50495045
	sbRdonly       = 1
	sImmutable     = 8
	capDacOverride = 1
	tcpListen      = 10
)

// nrType returns the event type of syscall nr.
func nrType(nr uint64) driver.EventType { return syscalls.Type(nr) }

var (
	evtProcexit = driver.MustEventType("procexit")
	evtClone    = driver.MustEventType("clone")
	evtFork     = driver.MustEventType("fork")
	evtVfork    = driver.MustEventType("vfork")
	evtClone3   = driver.MustEventType("clone3")
	evtExecve   = driver.MustEventType("execve")
	evtExecveat = driver.MustEventType("execveat")
)

// errShort reports a record too short for what it claims to hold.
var errShort = errors.New("truncated record")

// item is one parsed item of a record.
type item struct {
	flags uint8
	data  []byte
	ok    bool
}

// decoder turns raw records into events. It keeps a bounded cache of
// strings so that paths seen again do not allocate, and the offset from
// boot time to wall-clock time. The zero value works (with boot-relative
// timestamps).
type decoder struct {
	bootOffset int64 // wall-clock ns minus CLOCK_BOOTTIME ns
	strs       map[string]string
	buf        []byte // path assembly
	buf2       []byte
	items      [numItems]item
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

// decodeEvent decodes one raw record into ev, reusing ev's buffers.
// Timestamps are left relative to boot. It returns an error for a
// malformed record; it never panics.
func decodeEvent(b []byte, ev *driver.Event) error {
	var d decoder
	return d.decode(b, ev)
}

// decode decodes one raw record into ev. Everything ev held before is
// replaced; ev.Data's backing array is reused.
func (d *decoder) decode(b []byte, ev *driver.Event) error {
	if len(b) < hdrSize {
		return fmt.Errorf("decode record: %w: %d bytes, header needs %d", errShort, len(b), hdrSize)
	}
	n := le.Uint32(b[hdrLen:])
	if n < hdrSize || int(n) > len(b) {
		return fmt.Errorf("decode record: %w: length field %d, have %d bytes", errShort, n, len(b))
	}
	b = b[:n]
	for i := range d.items {
		d.items[i] = item{}
	}
	for off := hdrSize; off < len(b); {
		if len(b)-off < itemSize {
			return fmt.Errorf("decode record: %w: item header at %d", errShort, off)
		}
		tag, fl, l := b[off+itemTag], b[off+itemFlags], int(le.Uint16(b[off+itemLen:]))
		off += itemSize
		if l > len(b)-off {
			return fmt.Errorf("decode record: %w: item %d at %d claims %d bytes", errShort, tag, off-itemSize, l)
		}
		if int(tag) < numItems && !d.items[tag].ok {
			d.items[tag] = item{flags: fl, data: b[off : off+l : off+l], ok: true}
		}
		off += l
	}

	data := ev.Data[:0]
	*ev = driver.Event{Data: data}
	ev.Time = int64(le.Uint64(b[hdrTs:])) + d.bootOffset
	ev.Res = int64(le.Uint64(b[hdrRes:]))
	ev.Tid = int64(le.Uint32(b[hdrTid:]))
	ev.Pid = int64(le.Uint32(b[hdrPid:]))
	ev.CPU = int16(le.Uint16(b[hdrCPU:]))
	ev.Has = driver.HasCPU | driver.HasRes
	var a [6]uint64
	for i := range a {
		a[i] = le.Uint64(b[hdrArgs+8*i:])
	}
	kind := le.Uint16(b[hdrKind:])
	switch kind {
	case kindExec:
		return d.decodeExec(a, ev)
	case kindFork:
		return d.decodeFork(a, ev)
	case kindExit:
		return d.decodeExit(ev)
	}
	ev.Type = nrType(uint64(kind))
	if ev.Type == driver.EventUnknown {
		return fmt.Errorf("decode record: unknown kind %d", kind)
	}
	d.decodeSyscall(uint64(kind), a, ev)
	return nil
}

// cstr returns the bytes of a NUL-terminated item payload without the NUL.
func cstr(p []byte) []byte {
	for i, c := range p {
		if c == 0 {
			return p[:i]
		}
	}
	return p
}

// appendWalk appends the path of a dentry walk (names leaf first) to dst:
// "/a/b/c", or for a pseudo file the kernel's d_path form.
func appendWalk(dst []byte, it item) []byte {
	p := it.data
	if len(p) > 0 && p[len(p)-1] == 0 {
		p = p[:len(p)-1]
	}
	if len(p) == 0 {
		return append(dst, '/')
	}
	if it.flags&ifDisconnected != 0 && len(cstr(p)) == len(p) {
		// A single pseudo name.
		return append(append(dst, '/'), p...)
	}
	// Walk the names from the end (the root side).
	end := len(p)
	for end > 0 {
		start := end - 1
		for start >= 0 && p[start] != 0 {
			start--
		}
		dst = append(dst, '/')
		dst = append(dst, p[start+1:end]...)
		end = start
	}
	return dst
}

// appendJoin appends the cleaned join of base and rel (rel relative unless
// it starts with '/') to dst, as Falco normalises paths: "." and empty
// components dropped, ".." removing the previous component.
func appendJoin(dst []byte, base, rel []byte) []byte {
	start := len(dst)
	dst = append(dst, '/')
	add := func(p []byte) {
		for len(p) > 0 {
			i := 0
			for i < len(p) && p[i] != '/' {
				i++
			}
			c := p[:i]
			if i < len(p) {
				p = p[i+1:]
			} else {
				p = nil
			}
			switch {
			case len(c) == 0 || (len(c) == 1 && c[0] == '.'):
			case len(c) == 2 && c[0] == '.' && c[1] == '.':
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
		add(base)
	}
	add(rel)
	return dst
}

// resolve returns the path item pi made absolute against the dentry walk
// bi when it is relative, cleaned. A relative path without a base stays
// as the process passed it.
func (d *decoder) resolve(pi, bi item) string {
	raw := cstr(pi.data)
	if len(raw) > 0 && raw[0] != '/' && !bi.ok {
		return d.str(raw)
	}
	var base []byte
	if bi.ok && (len(raw) == 0 || raw[0] != '/') {
		d.buf2 = appendWalk(d.buf2[:0], bi)
		base = d.buf2
	}
	d.buf = appendJoin(d.buf[:0], base, raw)
	return d.str(d.buf)
}

// walkStr returns the path of a dentry walk as a string.
func (d *decoder) walkStr(it item) string {
	d.buf = appendWalk(d.buf[:0], it)
	return d.str(d.buf)
}

// newEncodeDev converts a kernel dev_t (major << 20 | minor) to the
// encoding stat(2) and /proc use.
func newEncodeDev(kdev uint32) uint32 {
	major, minor := kdev>>20, kdev&0xfffff
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

func mkdev(major, minor uint32) uint32 {
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

func (d *decoder) decodeSyscall(nr uint64, a [6]uint64, ev *driver.Event) {
	it := &d.items
	i32 := func(i int) int64 { return int64(int32(a[i])) }
	u32 := func(i int) uint32 { return uint32(a[i]) }
	setPath := func() {
		if it[itPath].ok {
			ev.Path = d.resolve(it[itPath], it[itBase])
			ev.Has |= driver.HasPath
		}
	}
	setDirFD := func(i int) { ev.DirFD = i32(i); ev.Has |= driver.HasDirFD }
	setFD := func(fd int64) { ev.FD = fd; ev.Has |= driver.HasFD }
	setFlags := func(f uint32) { ev.Flags = f; ev.Has |= driver.HasFlags }
	setMode := func(m uint32) { ev.Mode = m; ev.Has |= driver.HasMode }
	setUID := func(u uint32) { ev.UID = u; ev.Has |= driver.HasUID }
	setGID := func(g uint32) { ev.GID = g; ev.Has |= driver.HasGID }
	twoPaths := func() {
		if it[itPath].ok {
			ev.OldPath = d.resolve(it[itPath], it[itBase])
			ev.Has |= driver.HasOldPath
		}
		if it[itPath2].ok {
			ev.NewPath = d.resolve(it[itPath2], it[itBase2])
			ev.Has |= driver.HasNewPath
		}
	}

	switch nr {
	case syscalls.Open, syscalls.Creat, syscalls.Openat, syscalls.Openat2:
		var flags, mode uint32
		switch nr {
		case syscalls.Open:
			flags, mode = u32(1), u32(2)
		case syscalls.Creat:
			flags, mode = oCreat|oWronly|oTrunc, u32(1)
		case syscalls.Openat:
			setDirFD(0)
			flags, mode = u32(2), u32(3)
		case syscalls.Openat2:
			setDirFD(0)
			if h := it[itHow]; h.ok && len(h.data) >= 16 {
				flags, mode = uint32(le.Uint64(h.data)), uint32(le.Uint64(h.data[8:]))
			}
		}
		if flags&(oCreat|oTmpfile) == 0 {
			mode = 0
		}
		setFlags(flags)
		setMode(mode & 0o7777)
		setPath()
		if ev.Res >= 0 {
			setFD(ev.Res)
			if fi := it[itFile]; fi.ok && len(fi.data) >= fiSize {
				d.fillFDInfo(ev, ev.Res)
				ev.FDInfo.Name = ev.Path
				if it[itPath].ok {
					ev.FDInfo.NameRaw = d.str(cstr(it[itPath].data))
				}
				ev.FDInfo.OpenFlags = flags
				ev.Dev, ev.Ino = ev.FDInfo.Dev, ev.FDInfo.Ino
				ev.Created = le.Uint32(fi.data[fiFmode:])&fmodeCreated != 0
				ev.Has |= driver.HasDev | driver.HasCreated
			}
		}

	case syscalls.Execve, syscalls.Execveat:
		// Failed exec (successful ones come as kindExec).
		if nr == syscalls.Execveat {
			setDirFD(0)
		}
		if it[itPath].ok {
			ev.Path = d.str(cstr(it[itPath].data))
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
		if nr != syscalls.Renameat {
			setFlags(u32(4))
		}
	case syscalls.Symlink, syscalls.Symlinkat:
		if nr == syscalls.Symlinkat {
			setDirFD(1)
		}
		if it[itPath].ok {
			ev.OldPath = d.str(cstr(it[itPath].data))
			ev.Has |= driver.HasOldPath
		}
		if it[itPath2].ok {
			ev.NewPath = d.resolve(it[itPath2], it[itBase2])
			ev.Has |= driver.HasNewPath
		}

	case syscalls.Mount:
		if it[itPath].ok {
			ev.MountTarget = d.resolve(it[itPath], it[itBase])
		}
		if it[itStr].ok {
			ev.MountFSType = d.str(cstr(it[itStr].data))
		}
		if it[itStr2].ok {
			ev.MountSource = d.str(cstr(it[itStr2].data))
		}
		ev.Has |= driver.HasMount
		setFlags(u32(3))
	case syscalls.Umount2:
		if it[itPath].ok {
			ev.MountTarget = d.resolve(it[itPath], it[itBase])
		}
		ev.Has |= driver.HasMount
		setFlags(u32(1))

	case syscalls.MemfdCreate:
		if it[itStr].ok {
			ev.Name = d.str(cstr(it[itStr].data))
			ev.Has |= driver.HasName
		}
		setFlags(u32(1))
		if ev.Res >= 0 {
			setFD(ev.Res)
			d.fillFDInfo(ev, ev.Res)
		}
	case syscalls.InitModule:
		if it[itStr].ok {
			ev.Name = d.str(cstr(it[itStr].data))
			ev.Has |= driver.HasName
		}
	case syscalls.FinitModule:
		setFD(i32(0))
		if it[itStr].ok {
			ev.Name = d.str(cstr(it[itStr].data))
			ev.Has |= driver.HasName
		}
		setFlags(u32(2))
		d.fillFDInfo(ev, i32(0))

	case syscalls.Fchmod:
		setFD(i32(0))
		setMode(u32(1))
		d.fillFDInfo(ev, i32(0))
	case syscalls.Fchown:
		setFD(i32(0))
		setUID(u32(1))
		setGID(u32(2))
		d.fillFDInfo(ev, i32(0))
	case syscalls.Fchdir, syscalls.Close:
		setFD(i32(0))
		d.fillFDInfo(ev, i32(0))
	case syscalls.Setns:
		setFD(i32(0))
		setFlags(u32(1))
		d.fillFDInfo(ev, i32(0))
	case syscalls.Unshare, syscalls.Userfaultfd:
		setFlags(u32(0))
	case syscalls.Dup, syscalls.Dup2, syscalls.Dup3:
		setFD(i32(0))
		if nr == syscalls.Dup3 {
			setFlags(u32(2))
		}
		if ev.Res >= 0 {
			d.fillFDInfo(ev, ev.Res)
		} else {
			d.fillFDInfo(ev, i32(0))
		}

	case syscalls.Socket:
		ev.Domain, ev.SockType, ev.Proto = int32(a[0]), int32(a[1]), int32(a[2])
		ev.Has |= driver.HasSocket
		if ev.Res >= 0 {
			setFD(ev.Res)
			d.fillFDInfo(ev, ev.Res)
		}
	case syscalls.Connect, syscalls.Sendto, syscalls.Sendmsg, syscalls.Recvfrom, syscalls.Recvmsg:
		setFD(i32(0))
		if dt := it[itData]; dt.ok {
			ev.Data = append(ev.Data[:0], dt.data...)
			ev.Has |= driver.HasData
		}
		d.fillFDInfo(ev, i32(0))
		if d.sockTuple(ev, false) {
			ev.Has |= driver.HasAddr
		}
		if nr == syscalls.Connect && ev.Has.Has(driver.HasFDInfo) {
			ev.FDInfo.Connected = ev.Res == 0 || ev.Res == -einprogress
			ev.FDInfo.NameChanged = true
		}
	case syscalls.Bind:
		setFD(i32(0))
		d.fillFDInfo(ev, i32(0))
		if d.sockTuple(ev, true) {
			ev.Has |= driver.HasAddr
		}
	case syscalls.Listen:
		setFD(i32(0))
		d.fillFDInfo(ev, i32(0))
		if d.sockTuple(ev, true) {
			ev.Has |= driver.HasAddr
		}
	case syscalls.Accept, syscalls.Accept4:
		if ev.Res >= 0 {
			setFD(ev.Res)
			d.fillFDInfo(ev, ev.Res)
			if d.sockTuple(ev, true) {
				ev.Has |= driver.HasAddr
			}
			if ev.Has.Has(driver.HasFDInfo) {
				ev.FDInfo.Connected = true
			}
		}
		if nr == syscalls.Accept4 {
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
	case syscalls.BPF:
		ev.Cmd = i32(0)
		ev.Has |= driver.HasCmd
	case syscalls.Prctl:
		ev.Cmd = i32(0)
		ev.Has |= driver.HasCmd
	case syscalls.PidfdOpen:
		ev.TargetPID = i32(0)
		ev.Has |= driver.HasTargetPID
		setFlags(u32(1))
	}
}

// fillFDInfo describes descriptor fd from the record's IT_FILE item (and the
// walk or socket items after it).
func (d *decoder) fillFDInfo(ev *driver.Event, fd int64) {
	fi := d.items[itFile]
	if !fi.ok || len(fi.data) < fiSize {
		return
	}
	p := fi.data
	info := &ev.FDInfo
	info.Num = fd
	info.Ino = le.Uint64(p[fiIno:])
	info.Dev = newEncodeDev(le.Uint32(p[fiDev:]))
	info.OpenFlags = le.Uint32(p[fiFlags:])
	imode := le.Uint32(p[fiImode:])
	magic := le.Uint32(p[fiMagic:])
	ev.Has |= driver.HasFDInfo
	walk := d.items[itFilePath]
	var name []byte
	if walk.ok && walk.flags&ifDisconnected != 0 {
		name = cstr(walk.data)
	}
	switch magic {
	case anonInodeMagic:
		info.Type = anonType(name)
		if walk.ok {
			d.buf = append(append(d.buf[:0], "anon_inode:"...), name...)
			info.Name = d.str(d.buf)
		}
		return
	case pidfsMagic:
		info.Type = driver.FDPidfd
		info.Name = "anon_inode:[pidfd]"
		return
	}
	switch imode & sIFMT {
	case sIFSOCK:
		// Named by sockTuple.
		d.fillSock(info)
		return
	case sIFDIR:
		info.Type = driver.FDDirectory
	case sIFIFO:
		info.Type = driver.FDPipe
		if magic == pipefsMagic {
			d.buf = strconv.AppendUint(append(d.buf[:0], "pipe:["...), info.Ino, 10)
			d.buf = append(d.buf, ']')
			info.Name = d.str(d.buf)
			return
		}
	default:
		info.Type = driver.FDFile
		if len(name) >= 6 && string(name[:6]) == "memfd:" {
			info.Type = driver.FDMemfd
			d.buf = append(append(append(d.buf[:0], '/'), name...), " (deleted)"...)
			info.Name = d.str(d.buf)
			return
		}
	}
	if walk.ok {
		info.Name = d.walkStr(walk)
	}
}

// anonType classifies an anonymous-inode descriptor by its name.
func anonType(name []byte) driver.FDType {
	switch string(name) {
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

// fillSock fills the socket kind and endpoints of info from IT_SOCK.
func (d *decoder) fillSock(info *driver.FDInfo) {
	si := d.items[itSock]
	if !si.ok || len(si.data) < siSize {
		info.Type = driver.FDUnknown
		return
	}
	p := si.data
	family := le.Uint16(p[siFamily:])
	s := &info.Sock
	s.Family = uint8(family)
	s.L4Proto = l4proto(le.Uint16(p[siType:]), le.Uint16(p[siProto:]))
	switch family {
	case afInet:
		info.Type = driver.FDIPv4
		s.LocalAddr = netip.AddrFrom4([4]byte(p[siSaddr : siSaddr+4]))
		s.RemoteAddr = netip.AddrFrom4([4]byte(p[siDaddr : siDaddr+4]))
	case afInet6:
		info.Type = driver.FDIPv6
		s.LocalAddr = netip.AddrFrom16([16]byte(p[siSaddr : siSaddr+16]))
		s.RemoteAddr = netip.AddrFrom16([16]byte(p[siDaddr : siDaddr+16]))
		if v4ish(s.LocalAddr) && v4ish(s.RemoteAddr) && (s.LocalAddr.Is4In6() || s.RemoteAddr.Is4In6()) {
			info.Type = driver.FDIPv4
			s.LocalAddr, s.RemoteAddr = s.LocalAddr.Unmap(), s.RemoteAddr.Unmap()
		}
	case afUnix:
		info.Type = driver.FDUnix
		path := d.items[itUnixPeer]
		if !path.ok {
			path = d.items[itUnix]
		}
		s.UnixPath = d.str(appendUnixPath(d.buf[:0], path.data))
		info.Name = s.UnixPath
		return
	case afNetlink:
		info.Type = driver.FDNetlink
		return
	default:
		info.Type = driver.FDUnknown
		return
	}
	s.LocalPort = le.Uint16(p[siSport:])
	s.RemotePort = le.Uint16(p[siDport:])
	s.Server = p[siState] == tcpListen
	d.buf = appendTupleName(d.buf[:0], s)
	info.Name = d.str(d.buf)
}

// v4ish reports an IPv4-mapped or unspecified IPv6 address.
func v4ish(a netip.Addr) bool { return a.Is4In6() || a.IsUnspecified() }

func l4proto(typ, proto uint16) uint8 {
	switch proto {
	case ipprotoTCP:
		return driver.L4TCP
	case ipprotoUDP:
		return driver.L4UDP
	case ipprotoICMP, ipprotoICMPv6:
		if typ == sockRaw {
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

// sockaddr parses a struct sockaddr from user memory into an address, port
// and unix path.
func sockaddr(p []byte) (family uint16, addr netip.Addr, port uint16, path []byte, ok bool) {
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

// appendUnixPath appends a sun_path as Falco shows it: up to the first NUL,
// or "@name" for an abstract socket.
func appendUnixPath(dst, p []byte) []byte {
	if len(p) > 0 && p[0] == 0 {
		dst = append(dst, '@')
		p = p[1:]
		for len(p) > 0 && p[len(p)-1] == 0 {
			p = p[:len(p)-1]
		}
		return append(dst, p...)
	}
	return append(dst, cstr(p)...)
}

// sockTuple completes the event's socket tuple (ev.Sock and the FDInfo
// name) from the kernel socket and the user sockaddr, and reports whether
// there is one. server says the local end is the server (bind, listen,
// accept).
func (d *decoder) sockTuple(ev *driver.Event, server bool) bool {
	info := &ev.FDInfo
	if !ev.Has.Has(driver.HasFDInfo) {
		// No descriptor: only the user address (e.g. a failed connect).
		fam, addr, port, path, ok := sockaddr(d.items[itSockaddr].data)
		if !ok {
			return false
		}
		ev.Sock = driver.SockAddr{Family: uint8(fam), Server: server}
		if fam == afUnix {
			ev.Sock.UnixPath = d.str(appendUnixPath(d.buf[:0], path))
		} else if server {
			ev.Sock.LocalAddr, ev.Sock.LocalPort = addr, port
		} else {
			ev.Sock.RemoteAddr, ev.Sock.RemotePort = addr, port
		}
		return true
	}
	s := &info.Sock
	s.Server = server
	switch info.Type {
	case driver.FDIPv4, driver.FDIPv6:
		if sa := d.items[itSockaddr]; sa.ok {
			if fam, addr, port, _, ok := sockaddr(sa.data); ok && (fam == afInet || fam == afInet6) {
				if info.Type == driver.FDIPv4 {
					addr = addr.Unmap()
				}
				if server && ev.Type == syscalls.Type(syscalls.Bind) && ev.Res != 0 {
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
		var path []byte
		if sa := d.items[itSockaddr]; sa.ok {
			if fam, _, _, p, ok := sockaddr(sa.data); ok && fam == afUnix {
				path = p
			}
		}
		switch {
		case path != nil:
		case !server && d.items[itUnixPeer].ok:
			path = d.items[itUnixPeer].data
		case d.items[itUnix].ok:
			path = d.items[itUnix].data
		case d.items[itUnixPeer].ok:
			path = d.items[itUnixPeer].data
		}
		s.UnixPath = d.str(appendUnixPath(d.buf[:0], path))
		info.Name = s.UnixPath
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

func (d *decoder) decodeExec(a [6]uint64, ev *driver.Event) error {
	ev.Res = 0
	p, err := d.process(ev)
	if err != nil {
		return err
	}
	var fn []byte
	if it := d.items[itPath]; it.ok {
		fn = cstr(it.data)
		ev.Path = d.str(fn)
		ev.Has |= driver.HasPath
	}
	// The kernel rewrites the syscall number to execve's during a
	// successful exec; execveat with a descriptor shows as /dev/fd/N.
	ev.Type = evtExecve
	if int64(a[0]) == syscalls.Execveat || (len(fn) > 8 && string(fn[:8]) == "/dev/fd/") {
		ev.Type = evtExecveat
	}
	ev.Args = p.Args
	ev.Has |= driver.HasArgs
	return nil
}

func (d *decoder) decodeFork(a [6]uint64, ev *driver.Event) error {
	switch int64(a[0]) {
	case syscalls.Fork:
		ev.Type = evtFork
	case syscalls.Vfork:
		ev.Type = evtVfork
	case syscalls.Clone3:
		ev.Type = evtClone3
	default:
		ev.Type = evtClone
	}
	ev.Res = 0
	_, err := d.process(ev)
	return err
}

func (d *decoder) decodeExit(ev *driver.Event) error {
	ev.Type = evtProcexit
	if st := ev.Res; st&0x7f != 0 {
		ev.Signal = int32(st & 0x7f)
		ev.Has |= driver.HasSignal
	}
	pi := d.items[itProc]
	if !pi.ok || len(pi.data) < piSize {
		return fmt.Errorf("decode procexit: %w: no process item", errShort)
	}
	q := pi.data
	ev.Proc = &driver.Process{
		Has:  driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasName,
		Pid:  ev.Pid,
		Tid:  ev.Tid,
		PPid: int64(le.Uint32(q[piPpid:])),
		Name: d.str(cstr(q[piComm : piComm+16])),
	}
	return nil
}

// process builds the driver-owned snapshot of the process an exec or fork
// record describes and points ev.Proc at it.
func (d *decoder) process(ev *driver.Event) (*driver.Process, error) {
	pi := d.items[itProc]
	if !pi.ok || len(pi.data) < piSize {
		return nil, fmt.Errorf("decode %s: %w: no process item", ev.Type, errShort)
	}
	q := pi.data
	u := func(off int) uint32 { return le.Uint32(q[off:]) }
	p := &driver.Process{
		Has: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
			driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasUser | driver.ProcHasStart |
			driver.ProcHasCaps | driver.ProcHasPGID,
		Pid:            ev.Pid,
		Tid:            ev.Tid,
		PPid:           int64(u(piPpid)),
		VPid:           int64(u(piVpid)),
		VTid:           int64(u(piVtid)),
		SID:            int64(u(piSid)),
		PGID:           int64(u(piPgid)),
		VPGID:          int64(u(piVpgid)),
		Name:           d.str(cstr(q[piComm : piComm+16])),
		UID:            u(piEuid),
		GID:            u(piEgid),
		StartTime:      int64(le.Uint64(q[piStart:])) + d.bootOffset,
		CapInheritable: le.Uint64(q[piCapInh:]),
		CapPermitted:   le.Uint64(q[piCapPerm:]),
		CapEffective:   le.Uint64(q[piCapEff:]),
		LoginUID:       -1,
	}
	p.IsVPGIDLeader = p.VPid == p.VPGID
	p.IsSIDLeader = p.SID == p.Pid
	flags := u(piFlags)
	if flags&pfLoginUID != 0 {
		p.Has |= driver.ProcHasLoginUID
		if l := u(piLoginUID); l != 0xffffffff {
			p.LoginUID = int64(l)
		}
	}
	if flags&pfHasTTY != 0 {
		p.TTY = mkdev(u(piTTYMajor), u(piTTYMinor))
	}
	if a := d.items[itArgs]; a.ok {
		args := splitNul(a.data)
		if len(args) > 0 {
			p.Exe = args[0]
			p.Args = args[1:]
			p.Has |= driver.ProcHasExe
		} else {
			p.Args = []string{}
		}
		p.Has |= driver.ProcHasArgs
	}
	if e := d.items[itEnv]; e.ok {
		p.Env = splitNul(e.data)
		p.Has |= driver.ProcHasEnv
	}
	if c := d.items[itCwd]; c.ok {
		d.buf = appendWalk(d.buf[:0], c)
		if d.buf[len(d.buf)-1] != '/' {
			d.buf = append(d.buf, '/')
		}
		p.Cwd = d.str(d.buf)
		p.Has |= driver.ProcHasCwd
	}
	if c := d.items[itCgroup]; c.ok && (c.flags&ifRoot != 0 || len(cstr(c.data)) > 0) {
		p.Cgroup = d.cgroup(c)
		p.Has |= driver.ProcHasCgroup
	}
	exe := d.items[itExePath]
	memfd := false
	if exe.ok {
		name := cstr(exe.data)
		memfd = exe.flags&ifDisconnected != 0 && len(name) >= 6 && string(name[:6]) == "memfd:"
		if memfd {
			d.buf = append(append(append(d.buf[:0], '/'), name...), " (deleted)"...)
			p.ExePath = d.str(d.buf)
		} else {
			p.ExePath = d.walkStr(exe)
		}
		p.Has |= driver.ProcHasExePath
	}
	if flags&pfHasExe != 0 {
		p.ExeIno = le.Uint64(q[piExeIno:])
		p.ExeInoCtime = int64(le.Uint64(q[piExeCtime:]))
		p.ExeInoMtime = int64(le.Uint64(q[piExeMtime:]))
		p.ExeFromMemfd = memfd
		p.ExeWritable = exeWritable(q)
		p.Has |= driver.ProcHasExeIno | driver.ProcHasExeFlags
	}
	ev.Proc = p
	return p, nil
}

// cgroup returns the path of a cgroup walk: "/a/b/c" when it reached the
// hierarchy's root, else the names it has after ".../".
func (d *decoder) cgroup(it item) string {
	if it.flags&ifRoot != 0 {
		return d.walkStr(item{data: it.data})
	}
	d.buf = append(d.buf[:0], "..."...)
	d.buf = appendWalk(d.buf, item{data: it.data})
	return d.str(d.buf)
}

// exeWritable reports whether the process (by its fsuid/fsgid and
// capabilities) could write its executable, as Falco's exe_writable.
func exeWritable(q []byte) bool {
	u := func(off int) uint32 { return le.Uint32(q[off:]) }
	mode := u(piExeMode)
	switch mode & sIFMT {
	case sIFREG, sIFDIR, 0o120000:
		if u(piExeSbflags)&sbRdonly != 0 {
			return false
		}
	}
	if u(piExeIflags)&sImmutable != 0 {
		return false
	}
	switch {
	case u(piFsuid) == u(piExeUID):
		if mode&0o200 != 0 {
			return true
		}
	case u(piFsgid) == u(piExeGID):
		if mode&0o020 != 0 {
			return true
		}
	default:
		if mode&0o002 != 0 {
			return true
		}
	}
	return le.Uint64(q[piCapEff:])&(1<<capDacOverride) != 0
}

// splitNul splits NUL-separated strings (argv, env) into a new slice.
func splitNul(b []byte) []string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return []string{}
	}
	n := 1
	for _, c := range b {
		if c == 0 {
			n++
		}
	}
	out := make([]string, 0, n)
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		out = append(out, string(b[:i]))
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}
