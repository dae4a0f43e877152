package replay

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"net/netip"

	"github.com/vigilsec/vigil/driver"
)

// encoder appends record payloads. It counts list elements (for the table
// cost of definitions) and remembers the first bound that was exceeded.
type encoder struct {
	b     []byte
	elems int
	err   error
}

func (e *encoder) reset() {
	e.b, e.elems, e.err = e.b[:0], 0, nil
}

func (e *encoder) u(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) i(v int64)  { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) tooLarge(what string, n, limit int) {
	if e.err == nil {
		e.err = fmt.Errorf("%w: %s of %d exceeds %d", ErrTooLarge, what, n, limit)
	}
}

func (e *encoder) str(s string) {
	if len(s) > maxStringLen {
		e.tooLarge("string length", len(s), maxStringLen)
		return
	}
	e.u(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bytes(s []byte) {
	if len(s) > maxStringLen {
		e.tooLarge("data length", len(s), maxStringLen)
		return
	}
	e.u(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) list(n int) bool {
	if n > maxListLen {
		e.tooLarge("list length", n, maxListLen)
		return false
	}
	e.u(uint64(n))
	e.elems += n
	return true
}

func (e *encoder) strs(ss []string) {
	if e.list(len(ss)) {
		for _, s := range ss {
			e.str(s)
		}
	}
}

func (e *encoder) addr(a netip.Addr) {
	// 0, 4 or 16 address bytes, then for 16 the zone.
	switch {
	case !a.IsValid():
		e.b = append(e.b, 0)
	case a.Is4():
		b := a.As4()
		e.b = append(e.b, 4)
		e.b = append(e.b, b[:]...)
	default:
		b := a.As16()
		e.b = append(e.b, 16)
		e.b = append(e.b, b[:]...)
		e.str(a.Zone())
	}
}

func (e *encoder) sock(s *driver.SockAddr) {
	e.b = append(e.b, s.Family, s.L4Proto)
	e.addr(s.LocalAddr)
	e.u(uint64(s.LocalPort))
	e.addr(s.RemoteAddr)
	e.u(uint64(s.RemotePort))
	e.str(s.UnixPath)
	e.bool(s.Server)
}

// event appends the payload of an event record.
func (e *encoder) event(ev *driver.Event, code uint64, has driver.Mask, proc, cont uint64) {
	e.u(code)
	e.u(uint64(has))
	e.i(ev.Time)
	e.i(ev.Tid)
	e.i(ev.Pid)
	e.u(proc)
	e.u(cont)
	if has.Has(driver.HasRes) {
		e.i(ev.Res)
	}
	if has.Has(driver.HasFD) {
		e.i(ev.FD)
	}
	if has.Has(driver.HasDirFD) {
		e.i(ev.DirFD)
	}
	if has.Has(driver.HasPath) {
		e.str(ev.Path)
	}
	if has.Has(driver.HasOldPath) {
		e.str(ev.OldPath)
	}
	if has.Has(driver.HasNewPath) {
		e.str(ev.NewPath)
	}
	if has.Has(driver.HasFlags) {
		e.u(uint64(ev.Flags))
	}
	if has.Has(driver.HasMode) {
		e.u(uint64(ev.Mode))
	}
	if has.Has(driver.HasUID) {
		e.u(uint64(ev.UID))
	}
	if has.Has(driver.HasGID) {
		e.u(uint64(ev.GID))
	}
	if has.Has(driver.HasTargetPID) {
		e.i(ev.TargetPID)
	}
	if has.Has(driver.HasRequest) {
		e.i(ev.Request)
	}
	if has.Has(driver.HasSignal) {
		e.i(int64(ev.Signal))
	}
	if has.Has(driver.HasCmd) {
		e.i(ev.Cmd)
	}
	if has.Has(driver.HasSocket) {
		e.i(int64(ev.Domain))
		e.i(int64(ev.SockType))
		e.i(int64(ev.Proto))
	}
	if has.Has(driver.HasAddr) {
		e.sock(&ev.Sock)
	}
	if has.Has(driver.HasData) {
		e.bytes(ev.Data)
	}
	if has.Has(driver.HasDev) {
		e.u(uint64(ev.Dev))
		e.u(ev.Ino)
	}
	if has.Has(driver.HasMount) {
		e.str(ev.MountSource)
		e.str(ev.MountTarget)
		e.str(ev.MountFSType)
	}
	if has.Has(driver.HasArgs) {
		e.strs(ev.Args)
	}
	if has.Has(driver.HasFDInfo) {
		f := &ev.FDInfo
		e.i(f.Num)
		e.b = append(e.b, byte(f.Type))
		e.str(f.Name)
		e.str(f.NameRaw)
		e.u(uint64(f.OpenFlags))
		e.sock(&f.Sock)
		e.u(uint64(f.Dev))
		e.u(f.Ino)
		e.u(f.MountID)
		e.bool(f.NameChanged)
		e.bool(f.Connected)
	}
	if has.Has(driver.HasCPU) {
		e.i(int64(ev.CPU))
	}
	if has.Has(driver.HasNum) {
		e.u(ev.Num)
	}
	if has.Has(driver.HasName) {
		e.str(ev.Name)
	}
	if has.Has(driver.HasCreated) {
		e.bool(ev.Created)
	}
	if has.Has(driver.HasUIDName) {
		e.str(ev.UIDName)
	}
}

// Bits of the flags byte of a process definition (members without an
// availability bit of their own).
const (
	procVPGIDLeader = 1 << iota
	procSIDLeader
)

// process appends the payload of a process definition (the members of
// version 1; see processExt for the others).
func (e *encoder) process(p *driver.Process, slot, parent uint64) {
	has := p.Has & baseProcessMask
	e.u(slot)
	e.u(parent)
	e.u(uint64(has))
	var flags byte
	if p.IsVPGIDLeader {
		flags |= procVPGIDLeader
	}
	if p.IsSIDLeader {
		flags |= procSIDLeader
	}
	e.b = append(e.b, flags)
	if has.Has(driver.ProcHasPid) {
		e.i(p.Pid)
		e.i(p.Tid)
	}
	if has.Has(driver.ProcHasPPid) {
		e.i(p.PPid)
	}
	if has.Has(driver.ProcHasVPid) {
		e.i(p.VPid)
		e.i(p.VTid)
	}
	if has.Has(driver.ProcHasName) {
		e.str(p.Name)
	}
	if has.Has(driver.ProcHasExe) {
		e.str(p.Exe)
	}
	if has.Has(driver.ProcHasExePath) {
		e.str(p.ExePath)
	}
	if has.Has(driver.ProcHasArgs) {
		e.strs(p.Args)
	}
	if has.Has(driver.ProcHasEnv) {
		e.strs(p.Env)
	}
	if has.Has(driver.ProcHasCwd) {
		e.str(p.Cwd)
	}
	if has.Has(driver.ProcHasTTY) {
		e.u(uint64(p.TTY))
	}
	if has.Has(driver.ProcHasSID) {
		e.i(p.SID)
	}
	if has&(driver.ProcHasSID|driver.ProcHasPGID) != 0 {
		e.i(p.VPGID)
	}
	if has.Has(driver.ProcHasLoginUID) {
		e.i(p.LoginUID)
	}
	if has.Has(driver.ProcHasUser) {
		e.u(uint64(p.UID))
		e.u(uint64(p.GID))
	}
	if has.Has(driver.ProcHasUserName) {
		e.str(p.UserName)
		e.str(p.HomeDir)
		e.str(p.Shell)
	}
	if has.Has(driver.ProcHasGroupName) {
		e.str(p.GroupName)
	}
	if has.Has(driver.ProcHasLoginName) {
		e.str(p.LoginName)
	}
	if has.Has(driver.ProcHasStart) {
		e.i(p.StartTime)
	}
	if has.Has(driver.ProcHasCaps) {
		e.u(p.CapPermitted)
		e.u(p.CapEffective)
		e.u(p.CapInheritable)
	}
	if has.Has(driver.ProcHasExeFlags) {
		e.bool(p.ExeWritable)
		e.bool(p.ExeUpperLayer)
		e.bool(p.ExeLowerLayer)
		e.bool(p.ExeFromMemfd)
	}
	if has.Has(driver.ProcHasExeIno) {
		e.u(p.ExeIno)
		e.i(p.ExeInoCtime)
		e.i(p.ExeInoMtime)
	}
	if has.Has(driver.ProcHasPGID) {
		e.i(p.PGID)
	}
}

// processExt appends the payload of a process extension, the members of p
// newer than a process definition: slot, then a list of (bit, bytes). It
// appends nothing when p has none of them.
func (e *encoder) processExt(p *driver.Process, slot uint64) {
	has := p.Has & extProcessMask
	if has == 0 {
		return
	}
	e.u(slot)
	e.u(uint64(bits.OnesCount64(uint64(has))))
	if has.Has(driver.ProcHasCgroup) {
		e.u(uint64(bits.TrailingZeros64(uint64(driver.ProcHasCgroup))))
		e.str(p.Cgroup)
	}
}

// container appends the payload of a container definition.
func (e *encoder) container(c *driver.Container, slot uint64) {
	has := c.Has & knownContainerMask
	e.u(slot)
	e.u(uint64(has))
	if has.Has(driver.ContHasID) {
		e.str(c.ID)
		e.str(c.FullID)
	}
	if has.Has(driver.ContHasName) {
		e.str(c.Name)
	}
	if has.Has(driver.ContHasImage) {
		e.str(c.Image)
		e.str(c.ImageRepository)
		e.str(c.ImageTag)
	}
	if has.Has(driver.ContHasImageID) {
		e.str(c.ImageID)
		e.str(c.ImageDigest)
	}
	if has.Has(driver.ContHasType) {
		e.str(c.Type)
	}
	if has.Has(driver.ContHasPrivileged) {
		e.bool(c.Privileged)
	}
	if has.Has(driver.ContHasMounts) && e.list(len(c.Mounts)) {
		for i := range c.Mounts {
			m := &c.Mounts[i]
			e.str(m.Source)
			e.str(m.Dest)
			e.str(m.Mode)
			e.bool(m.RW)
			e.str(m.Propagation)
		}
	}
	if has.Has(driver.ContHasStart) {
		e.i(c.StartTime)
	}
	if has.Has(driver.ContHasK8s) {
		e.str(c.PodName)
		e.str(c.PodUID)
		e.str(c.Namespace)
		if e.list(len(c.PodLabels)) {
			for _, l := range c.PodLabels {
				e.str(l.Key)
				e.str(l.Value)
			}
		}
		e.str(c.K8sContainerName)
	}
	if has.Has(driver.ContHasHostNS) {
		e.bool(c.HostPID)
		e.bool(c.HostNetwork)
		e.bool(c.HostIPC)
	}
	if has.Has(driver.ContHasUser) {
		e.str(c.User)
	}
	if has.Has(driver.ContHasIP) {
		e.str(c.IP)
	}
}

// decoder reads a record payload. The first problem is kept in err (a
// detail for a FormatError); after it every read returns a zero value.
type decoder struct {
	b     []byte
	off   int
	elems int
	err   error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint at payload byte %d", d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint at payload byte %d", d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) u32() uint32 {
	v := d.u()
	if v > math.MaxUint32 {
		d.fail("value %d out of range for 32 bits", v)
		return 0
	}
	return uint32(v)
}

func (d *decoder) i32() int32 {
	v := d.i()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("value %d out of range for 32 bits", v)
		return 0
	}
	return int32(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("payload ends early")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) bool() bool {
	switch c := d.byte(); c {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad boolean %d at payload byte %d", c, d.off-1)
		return false
	}
}

// raw returns the next length-prefixed byte string without copying.
func (d *decoder) raw() []byte {
	n := d.u()
	if d.err != nil {
		return nil
	}
	if n > maxStringLen || n > uint64(len(d.b)-d.off) {
		d.fail("string length %d at payload byte %d exceeds the record", n, d.off)
		return nil
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) str() string {
	if s := d.raw(); len(s) > 0 {
		return string(s)
	}
	return ""
}

// list reads a list length, bounded by maxListLen and by the bytes left
// (every element takes at least minSize bytes).
func (d *decoder) list(minSize int) int {
	n := d.u()
	if d.err != nil {
		return 0
	}
	if n > maxListLen || n*uint64(minSize) > uint64(len(d.b)-d.off) {
		d.fail("list length %d at payload byte %d exceeds the record", n, d.off)
		return 0
	}
	d.elems += int(n)
	return int(n)
}

// strs reads a list of strings, appending to dst[:0]; an empty list is nil.
func (d *decoder) strs(dst []string) []string {
	n := d.list(1)
	if n == 0 {
		return nil
	}
	dst = dst[:0]
	if cap(dst) < n {
		dst = make([]string, 0, n)
	}
	for range n {
		dst = append(dst, d.str())
	}
	if d.err != nil {
		return nil
	}
	return dst
}

func (d *decoder) addr() netip.Addr {
	switch n := d.byte(); n {
	case 0:
		return netip.Addr{}
	case 4:
		if len(d.b)-d.off < 4 {
			d.fail("payload ends early")
			return netip.Addr{}
		}
		a := netip.AddrFrom4([4]byte(d.b[d.off:]))
		d.off += 4
		return a
	case 16:
		if len(d.b)-d.off < 16 {
			d.fail("payload ends early")
			return netip.Addr{}
		}
		a := netip.AddrFrom16([16]byte(d.b[d.off:]))
		d.off += 16
		if z := d.raw(); len(z) > 0 {
			a = a.WithZone(string(z))
		}
		return a
	default:
		if d.err == nil {
			d.fail("bad address length %d at payload byte %d", n, d.off-1)
		}
		return netip.Addr{}
	}
}

func (d *decoder) sock(s *driver.SockAddr) {
	s.Family = d.byte()
	s.L4Proto = d.byte()
	s.LocalAddr = d.addr()
	s.LocalPort = d.port()
	s.RemoteAddr = d.addr()
	s.RemotePort = d.port()
	s.UnixPath = d.str()
	s.Server = d.bool()
}

func (d *decoder) port() uint16 {
	v := d.u()
	if v > math.MaxUint16 {
		d.fail("port %d out of range", v)
		return 0
	}
	return uint16(v)
}

// done fails unless the whole payload was read.
func (d *decoder) done() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d unexpected bytes at the end of the record", len(d.b)-d.off)
	}
}

// eventHead is the part of an event record that the Reader resolves
// against its tables.
type eventHead struct {
	code       uint64
	proc, cont uint64
}

// event decodes an event record payload into ev, reusing args and data as
// buffers. It returns the head for the caller to resolve.
func (d *decoder) event(ev *driver.Event, args []string, data []byte) (eventHead, []string, []byte) {
	var h eventHead
	h.code = d.u()
	has := driver.Mask(d.u())
	if has&^knownEventMask != 0 {
		d.fail("unknown event availability bits %#x", uint64(has&^knownEventMask))
		return h, args, data
	}
	ev.Has = has
	ev.Time = d.i()
	ev.Tid = d.i()
	ev.Pid = d.i()
	h.proc = d.u()
	h.cont = d.u()
	if has.Has(driver.HasRes) {
		ev.Res = d.i()
	}
	if has.Has(driver.HasFD) {
		ev.FD = d.i()
	}
	if has.Has(driver.HasDirFD) {
		ev.DirFD = d.i()
	}
	if has.Has(driver.HasPath) {
		ev.Path = d.str()
	}
	if has.Has(driver.HasOldPath) {
		ev.OldPath = d.str()
	}
	if has.Has(driver.HasNewPath) {
		ev.NewPath = d.str()
	}
	if has.Has(driver.HasFlags) {
		ev.Flags = d.u32()
	}
	if has.Has(driver.HasMode) {
		ev.Mode = d.u32()
	}
	if has.Has(driver.HasUID) {
		ev.UID = d.u32()
	}
	if has.Has(driver.HasGID) {
		ev.GID = d.u32()
	}
	if has.Has(driver.HasTargetPID) {
		ev.TargetPID = d.i()
	}
	if has.Has(driver.HasRequest) {
		ev.Request = d.i()
	}
	if has.Has(driver.HasSignal) {
		ev.Signal = d.i32()
	}
	if has.Has(driver.HasCmd) {
		ev.Cmd = d.i()
	}
	if has.Has(driver.HasSocket) {
		ev.Domain = d.i32()
		ev.SockType = d.i32()
		ev.Proto = d.i32()
	}
	if has.Has(driver.HasAddr) {
		d.sock(&ev.Sock)
	}
	if has.Has(driver.HasData) {
		if b := d.raw(); len(b) > 0 {
			data = append(data[:0], b...)
			ev.Data = data
		}
	}
	if has.Has(driver.HasDev) {
		ev.Dev = d.u32()
		ev.Ino = d.u()
	}
	if has.Has(driver.HasMount) {
		ev.MountSource = d.str()
		ev.MountTarget = d.str()
		ev.MountFSType = d.str()
	}
	if has.Has(driver.HasArgs) {
		ev.Args = d.strs(args)
		if cap(ev.Args) > cap(args) {
			args = ev.Args
		}
	}
	if has.Has(driver.HasFDInfo) {
		f := &ev.FDInfo
		f.Num = d.i()
		f.Type = driver.FDType(d.byte())
		f.Name = d.str()
		f.NameRaw = d.str()
		f.OpenFlags = d.u32()
		d.sock(&f.Sock)
		f.Dev = d.u32()
		f.Ino = d.u()
		f.MountID = d.u()
		f.NameChanged = d.bool()
		f.Connected = d.bool()
	}
	if has.Has(driver.HasCPU) {
		v := d.i()
		if v < math.MinInt16 || v > math.MaxInt16 {
			d.fail("cpu %d out of range", v)
		}
		ev.CPU = int16(v)
	}
	if has.Has(driver.HasNum) {
		ev.Num = d.u()
	}
	if has.Has(driver.HasName) {
		ev.Name = d.str()
	}
	if has.Has(driver.HasCreated) {
		ev.Created = d.bool()
	}
	if has.Has(driver.HasUIDName) {
		ev.UIDName = d.str()
	}
	d.done()
	return h, args, data
}

// process decodes a process definition payload into p (which must be
// zero) and returns its slot and its parent's slot.
func (d *decoder) process(p *driver.Process) (slot, parent uint64) {
	slot = d.u()
	parent = d.u()
	has := driver.Mask(d.u())
	if has&^baseProcessMask != 0 {
		// Including the bits of members that extensions carry.
		d.fail("unknown process availability bits %#x", uint64(has&^baseProcessMask))
		return slot, parent
	}
	p.Has = has
	flags := d.byte()
	if flags&^(procVPGIDLeader|procSIDLeader) != 0 {
		d.fail("unknown process flags %#x", flags)
	}
	p.IsVPGIDLeader = flags&procVPGIDLeader != 0
	p.IsSIDLeader = flags&procSIDLeader != 0
	if has.Has(driver.ProcHasPid) {
		p.Pid = d.i()
		p.Tid = d.i()
	}
	if has.Has(driver.ProcHasPPid) {
		p.PPid = d.i()
	}
	if has.Has(driver.ProcHasVPid) {
		p.VPid = d.i()
		p.VTid = d.i()
	}
	if has.Has(driver.ProcHasName) {
		p.Name = d.str()
	}
	if has.Has(driver.ProcHasExe) {
		p.Exe = d.str()
	}
	if has.Has(driver.ProcHasExePath) {
		p.ExePath = d.str()
	}
	if has.Has(driver.ProcHasArgs) {
		p.Args = d.strs(nil)
	}
	if has.Has(driver.ProcHasEnv) {
		p.Env = d.strs(nil)
	}
	if has.Has(driver.ProcHasCwd) {
		p.Cwd = d.str()
	}
	if has.Has(driver.ProcHasTTY) {
		p.TTY = d.u32()
	}
	if has.Has(driver.ProcHasSID) {
		p.SID = d.i()
	}
	if has&(driver.ProcHasSID|driver.ProcHasPGID) != 0 {
		p.VPGID = d.i()
	}
	if has.Has(driver.ProcHasLoginUID) {
		p.LoginUID = d.i()
	}
	if has.Has(driver.ProcHasUser) {
		p.UID = d.u32()
		p.GID = d.u32()
	}
	if has.Has(driver.ProcHasUserName) {
		p.UserName = d.str()
		p.HomeDir = d.str()
		p.Shell = d.str()
	}
	if has.Has(driver.ProcHasGroupName) {
		p.GroupName = d.str()
	}
	if has.Has(driver.ProcHasLoginName) {
		p.LoginName = d.str()
	}
	if has.Has(driver.ProcHasStart) {
		p.StartTime = d.i()
	}
	if has.Has(driver.ProcHasCaps) {
		p.CapPermitted = d.u()
		p.CapEffective = d.u()
		p.CapInheritable = d.u()
	}
	if has.Has(driver.ProcHasExeFlags) {
		p.ExeWritable = d.bool()
		p.ExeUpperLayer = d.bool()
		p.ExeLowerLayer = d.bool()
		p.ExeFromMemfd = d.bool()
	}
	if has.Has(driver.ProcHasExeIno) {
		p.ExeIno = d.u()
		p.ExeInoCtime = d.i()
		p.ExeInoMtime = d.i()
	}
	if has.Has(driver.ProcHasPGID) {
		p.PGID = d.i()
	}
	d.done()
	return slot, parent
}

// processExt decodes a process extension payload: its slot and the members
// this build knows, as their bits and values (members of bits it does not
// know are skipped).
func (d *decoder) processExt(p *driver.Process) (slot uint64, has driver.Mask) {
	slot = d.u()
	n := d.list(2) // a bit and an empty value take two bytes
	last := uint64(firstExtBit - 1)
	for range n {
		bit := d.u()
		val := d.raw()
		if d.err != nil {
			break
		}
		if bit <= last || bit > 63 {
			d.fail("process extension member bit %d (after %d)", bit, last)
			break
		}
		last = bit
		switch m := driver.Mask(1) << bit; m {
		case driver.ProcHasCgroup:
			p.Cgroup = string(val)
			has |= m
		}
	}
	d.done()
	return slot, has
}

// container decodes a container definition payload into c (which must be
// zero) and returns its slot.
func (d *decoder) container(c *driver.Container) (slot uint64) {
	slot = d.u()
	has := driver.Mask(d.u())
	if has&^knownContainerMask != 0 {
		d.fail("unknown container availability bits %#x", uint64(has&^knownContainerMask))
		return slot
	}
	c.Has = has
	if has.Has(driver.ContHasID) {
		c.ID = d.str()
		c.FullID = d.str()
	}
	if has.Has(driver.ContHasName) {
		c.Name = d.str()
	}
	if has.Has(driver.ContHasImage) {
		c.Image = d.str()
		c.ImageRepository = d.str()
		c.ImageTag = d.str()
	}
	if has.Has(driver.ContHasImageID) {
		c.ImageID = d.str()
		c.ImageDigest = d.str()
	}
	if has.Has(driver.ContHasType) {
		c.Type = d.str()
	}
	if has.Has(driver.ContHasPrivileged) {
		c.Privileged = d.bool()
	}
	if has.Has(driver.ContHasMounts) {
		// A mount takes at least 5 bytes: four empty strings and a bool.
		if n := d.list(5); n > 0 {
			c.Mounts = make([]driver.Mount, n)
			for i := range c.Mounts {
				m := &c.Mounts[i]
				m.Source = d.str()
				m.Dest = d.str()
				m.Mode = d.str()
				m.RW = d.bool()
				m.Propagation = d.str()
			}
		}
	}
	if has.Has(driver.ContHasStart) {
		c.StartTime = d.i()
	}
	if has.Has(driver.ContHasK8s) {
		c.PodName = d.str()
		c.PodUID = d.str()
		c.Namespace = d.str()
		if n := d.list(2); n > 0 {
			c.PodLabels = make([]driver.Label, n)
			for i := range c.PodLabels {
				c.PodLabels[i].Key = d.str()
				c.PodLabels[i].Value = d.str()
			}
		}
		c.K8sContainerName = d.str()
	}
	if has.Has(driver.ContHasHostNS) {
		c.HostPID = d.bool()
		c.HostNetwork = d.bool()
		c.HostIPC = d.bool()
	}
	if has.Has(driver.ContHasUser) {
		c.User = d.str()
	}
	if has.Has(driver.ContHasIP) {
		c.IP = d.str()
	}
	d.done()
	return slot
}
