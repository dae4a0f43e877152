package fanotify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vigilsec/vigil/driver"
)

// The decoders in this file are pure functions over the bytes the kernel
// returns: they never panic, allocate nothing on success and point into b
// rather than copying it.

var le = binary.LittleEndian // x86_64, arm64: the kernel's byte order for these structures

var errShort = errors.New("truncated record")

// fanotify record layout (struct fanotify_event_metadata and the info
// records that follow it with FAN_REPORT_DFID_NAME).
const (
	fanMetaLen     = 24 // sizeof(struct fanotify_event_metadata)
	fanMetaVersion = 3  // FANOTIFY_METADATA_VERSION
	fanInfoHdrLen  = 4  // struct fanotify_event_info_header
	fanFidHdrLen   = 12 // header + __kernel_fsid_t
	fileHandleHdr  = 8  // struct file_handle: handle_bytes, handle_type

	fanInfoDFIDName    = 2  // FAN_EVENT_INFO_TYPE_DFID_NAME
	fanInfoDFID        = 3  // FAN_EVENT_INFO_TYPE_DFID
	fanInfoOldDFIDName = 10 // FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
	fanInfoNewDFIDName = 12 // FAN_EVENT_INFO_TYPE_NEW_DFID_NAME
)

// fanName is a directory file handle and an entry name from a
// FAN_REPORT_DFID_NAME info record. Handle is a whole struct file_handle
// (handle_bytes, handle_type, f_handle) as open_by_handle_at takes it.
type fanName struct {
	Kind   uint8
	FSID   uint64
	Handle []byte
	Name   []byte // empty or "." for events on the directory itself
}

// fanRecord is one fanotify event.
type fanRecord struct {
	Mask uint64
	FD   int32 // event file descriptor (FAN_NOFD = -1 for fid groups)
	Pid  int32 // thread group id of the process that caused the event
	// Dir holds the directory entries the event names: Dir[0] the entry
	// (or the old one of FAN_RENAME), Dir[1] the new one of FAN_RENAME.
	Dir  [2]fanName
	NDir int
}

// decodeFanotify decodes the events of one read(2) on a fanotify
// descriptor into recs (reused) and returns them. It stops at the first
// malformed record and returns the records before it with an error. The
// caller owns every record's FD, including those of records after a
// decoding error that it can still find (see fanFDs).
func decodeFanotify(b []byte, recs []fanRecord) ([]fanRecord, error) {
	recs = recs[:0]
	for len(b) > 0 {
		if len(b) < fanMetaLen {
			return recs, fmt.Errorf("fanotify event: %w: %d bytes", errShort, len(b))
		}
		evLen := int(le.Uint32(b))
		metaLen := int(le.Uint16(b[6:]))
		if b[4] != fanMetaVersion {
			return recs, fmt.Errorf("fanotify event: metadata version %d, want %d", b[4], fanMetaVersion)
		}
		if metaLen < fanMetaLen || evLen < metaLen || evLen > len(b) {
			return recs, fmt.Errorf("fanotify event: %w: length %d, metadata %d, have %d", errShort, evLen, metaLen, len(b))
		}
		r := fanRecord{
			Mask: le.Uint64(b[8:]),
			FD:   int32(le.Uint32(b[16:])),
			Pid:  int32(le.Uint32(b[20:])),
		}
		if err := decodeFanInfo(b[metaLen:evLen], &r); err != nil {
			recs = append(recs, r) // keep the FD visible to the caller
			return recs, err
		}
		recs = append(recs, r)
		b = b[evLen:]
	}
	return recs, nil
}

// decodeFanInfo decodes the info records of one event.
func decodeFanInfo(b []byte, r *fanRecord) error {
	for len(b) > 0 {
		if len(b) < fanInfoHdrLen {
			return fmt.Errorf("fanotify info: %w", errShort)
		}
		typ := b[0]
		n := int(le.Uint16(b[2:]))
		if n < fanInfoHdrLen || n > len(b) {
			return fmt.Errorf("fanotify info type %d: %w: length %d of %d", typ, errShort, n, len(b))
		}
		info := b[:n]
		b = b[n:]
		switch typ {
		case fanInfoDFIDName, fanInfoDFID, fanInfoOldDFIDName, fanInfoNewDFIDName:
		default:
			continue // pidfd, error, range, ...: not used
		}
		if len(info) < fanFidHdrLen+fileHandleHdr {
			return fmt.Errorf("fanotify fid info: %w", errShort)
		}
		hb := int(le.Uint32(info[fanFidHdrLen:]))
		end := fanFidHdrLen + fileHandleHdr + hb
		if hb > len(info) || end > len(info) {
			return fmt.Errorf("fanotify fid info: %w: handle of %d bytes", errShort, hb)
		}
		nm := fanName{
			Kind:   typ,
			FSID:   le.Uint64(info[4:]),
			Handle: info[fanFidHdrLen:end],
		}
		if typ != fanInfoDFID {
			nm.Name = cstr(info[end:])
		}
		i := 0
		if typ == fanInfoNewDFIDName {
			i = 1
		} else if r.NDir > 0 && r.Dir[0].Kind != 0 {
			continue // a second name for slot 0: keep the first
		}
		r.Dir[i] = nm
		if i+1 > r.NDir {
			r.NDir = i + 1
		}
	}
	return nil
}

// fanFDs calls fn with the descriptor of every well-formed record header in
// b, even past a record whose info part does not decode, so that a caller
// can close every event descriptor of a read.
func fanFDs(b []byte, fn func(fd int32)) {
	for len(b) >= fanMetaLen {
		evLen := int(le.Uint32(b))
		if evLen < fanMetaLen || evLen > len(b) {
			return
		}
		if fd := int32(le.Uint32(b[16:])); fd >= 0 {
			fn(fd)
		}
		b = b[evLen:]
	}
}

// cstr returns b up to its first NUL.
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// Netlink framing.
const (
	nlmsgHdrLen = 16
	nlmsgError  = 2 // NLMSG_ERROR
	nlmsgDone   = 3 // NLMSG_DONE
)

// nlmsgAlign rounds n up to the netlink alignment.
func nlmsgAlign(n int) int { return (n + 3) &^ 3 }

// nextNlmsg splits the first netlink message off b. It returns the
// message type, its payload, the rest of b, and false when b holds no
// complete message.
func nextNlmsg(b []byte) (typ uint16, payload, rest []byte, ok bool) {
	if len(b) < nlmsgHdrLen {
		return 0, nil, nil, false
	}
	n := int(le.Uint32(b))
	if n < nlmsgHdrLen || n > len(b) {
		return 0, nil, nil, false
	}
	typ = le.Uint16(b[4:])
	payload = b[nlmsgHdrLen:n]
	if a := nlmsgAlign(n); a <= len(b) {
		rest = b[a:]
	}
	return typ, payload, rest, true
}

// Proc connector (include/uapi/linux/connector.h, cn_proc.h).
const (
	cnIdxProc = 1 // CN_IDX_PROC
	cnValProc = 1 // CN_VAL_PROC
	cnMsgLen  = 20

	procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN

	procEventNone     = 0x00000000
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	procEventUID      = 0x00000004
	procEventGID      = 0x00000040
	procEventSID      = 0x00000080
	procEventPtrace   = 0x00000100
	procEventComm     = 0x00000200
	procEventCoredump = 0x40000000
	procEventExit     = 0x80000000

	procEventHdrLen = 16 // what, cpu, timestamp_ns
)

// procEvent is a decoded proc connector message, with the fields that have
// no place in driver.Event.
type procEvent struct {
	What uint32
	CPU  uint32
	Mono uint64 // timestamp, CLOCK_MONOTONIC nanoseconds
	// Pid and Tgid are the thread and process the event is about (the child
	// of a fork, the tracee of a ptrace attach).
	Pid, Tgid int32
	// PPid and PTgid are the parent (fork, exit) or the tracer (ptrace).
	PPid, PTgid int32
	// A and B are ruid and euid (uid), rgid and egid (gid), exit code and
	// exit signal (exit), the acknowledged error (none).
	A, B uint32
	Comm []byte // comm event: the new name, without NUL
}

const (
	ptraceAttach = 16 // PTRACE_ATTACH
	prSetName    = 15 // PR_SET_NAME
)

// decodeProcEvent decodes one proc connector netlink message (header
// included) into pe, and into ev the fields an Event carries: Type (left
// EventUnknown for messages that make no event, such as acknowledgements,
// thread creation and exit, ptrace detach), CPU, Tid, Pid, Res and the
// type's arguments. Time and Proc are left to the caller.
func decodeProcEvent(b []byte, ev *driver.Event, pe *procEvent) error {
	*pe = procEvent{}
	typ, p, _, ok := nextNlmsg(b)
	if !ok {
		return fmt.Errorf("proc connector: %w: netlink header", errShort)
	}
	// The connector sends its messages as NLMSG_DONE (single-part).
	if typ == nlmsgError {
		return fmt.Errorf("proc connector: netlink error message")
	}
	if len(p) < cnMsgLen {
		return fmt.Errorf("proc connector: %w: connector header", errShort)
	}
	if le.Uint32(p) != cnIdxProc || le.Uint32(p[4:]) != cnValProc {
		return fmt.Errorf("proc connector: message for connector %d.%d", le.Uint32(p), le.Uint32(p[4:]))
	}
	n := int(le.Uint16(p[16:]))
	p = p[cnMsgLen:]
	if n > len(p) {
		return fmt.Errorf("proc connector: %w: payload %d of %d bytes", errShort, n, len(p))
	}
	p = p[:n]
	if len(p) < procEventHdrLen {
		return fmt.Errorf("proc connector: %w: event header", errShort)
	}
	pe.What = le.Uint32(p)
	pe.CPU = le.Uint32(p[4:])
	pe.Mono = le.Uint64(p[8:])
	d := p[procEventHdrLen:]
	i32 := func(off int) int32 { return int32(le.Uint32(d[off:])) }
	need := func(k int) error {
		if len(d) < k {
			return fmt.Errorf("proc connector event %#x: %w: %d bytes of data, want %d", pe.What, errShort, len(d), k)
		}
		return nil
	}
	ev.Type = driver.EventUnknown
	ev.Has = driver.HasCPU | driver.HasRes
	ev.CPU = int16(pe.CPU)
	ev.Res = 0
	switch pe.What {
	case procEventNone:
		if err := need(4); err != nil {
			return err
		}
		pe.A = le.Uint32(d)
		return nil
	case procEventFork:
		if err := need(16); err != nil {
			return err
		}
		pe.PPid, pe.PTgid, pe.Pid, pe.Tgid = i32(0), i32(4), i32(8), i32(12)
		if pe.Pid == pe.Tgid {
			ev.Type = evtClone
		}
	case procEventExec, procEventSID:
		if err := need(8); err != nil {
			return err
		}
		pe.Pid, pe.Tgid = i32(0), i32(4)
		if pe.What == procEventExec {
			ev.Type = evtExecve
		} else {
			ev.Type = evtSetsid
			ev.Res = int64(pe.Tgid) // setsid returns the new session id
		}
	case procEventUID, procEventGID:
		if err := need(16); err != nil {
			return err
		}
		pe.Pid, pe.Tgid = i32(0), i32(4)
		pe.A, pe.B = le.Uint32(d[8:]), le.Uint32(d[12:])
		if pe.What == procEventUID {
			ev.Type = evtSetuid
			ev.UID = pe.B
			ev.Has |= driver.HasUID
		} else {
			ev.Type = evtSetgid
			ev.GID = pe.B
			ev.Has |= driver.HasGID
		}
	case procEventPtrace:
		if err := need(16); err != nil {
			return err
		}
		pe.Pid, pe.Tgid, pe.PPid, pe.PTgid = i32(0), i32(4), i32(8), i32(12)
		if pe.PPid != 0 { // attach; a detach reports tracer 0
			ev.Type = evtPtrace
			ev.Request = ptraceAttach
			ev.TargetPID = int64(pe.Pid)
			ev.Has |= driver.HasRequest | driver.HasTargetPID
			// The event is the tracer's.
			ev.Tid, ev.Pid = int64(pe.PPid), int64(pe.PTgid)
			return nil
		}
	case procEventComm:
		if err := need(24); err != nil {
			return err
		}
		pe.Pid, pe.Tgid = i32(0), i32(4)
		pe.Comm = cstr(d[8:24])
		ev.Type = evtPrctl
		ev.Cmd = prSetName
		ev.Has |= driver.HasCmd
	case procEventCoredump:
		if err := need(16); err != nil {
			return err
		}
		pe.Pid, pe.Tgid, pe.PPid, pe.PTgid = i32(0), i32(4), i32(8), i32(12)
	case procEventExit:
		if err := need(16); err != nil {
			return err
		}
		pe.Pid, pe.Tgid = i32(0), i32(4)
		pe.A, pe.B = le.Uint32(d[8:]), le.Uint32(d[12:])
		if len(d) >= 24 { // parent since 4.18
			pe.PPid, pe.PTgid = i32(16), i32(20)
		}
		if pe.Pid == pe.Tgid {
			ev.Type = evtProcexit
			ev.Res = int64(pe.A)
			if sig := pe.A & 0x7f; sig != 0 {
				ev.Signal = int32(sig)
				ev.Has |= driver.HasSignal
			}
		}
	default:
		return nil
	}
	ev.Tid, ev.Pid = int64(pe.Pid), int64(pe.Tgid)
	return nil
}

// sock_diag (include/uapi/linux/inet_diag.h).
const (
	inetDiagMsgLen = 72 // struct inet_diag_msg
	inetDiagReqLen = 56 // struct inet_diag_req_v2

	tcpEstablished = 1
	tcpSynSent     = 2
	tcpClose       = 7
	tcpCloseWait   = 8
	tcpListen      = 10
)

// inetSock is one socket of a sock_diag dump.
type inetSock struct {
	Family     uint8
	State      uint8
	Proto      uint8 // driver.L4TCP or driver.L4UDP (set by the caller's request)
	LocalAddr  netip.Addr
	LocalPort  uint16
	RemoteAddr netip.Addr
	RemotePort uint16
	Cookie     uint64
	UID        uint32
	Inode      uint32
}

// decodeInetDiag decodes the netlink messages of one read of a sock_diag
// dump, appending the sockets to socks. done reports the end of the dump
// (NLMSG_DONE). A netlink error message is returned as an error.
func decodeInetDiag(b []byte, proto uint8, socks []inetSock) (out []inetSock, done bool, err error) {
	for len(b) > 0 {
		typ, p, rest, ok := nextNlmsg(b)
		if !ok {
			return socks, false, fmt.Errorf("sock_diag: %w: netlink header", errShort)
		}
		b = rest
		switch typ {
		case nlmsgDone:
			return socks, true, nil
		case nlmsgError:
			if len(p) < 4 {
				return socks, false, fmt.Errorf("sock_diag: %w: error message", errShort)
			}
			if e := int32(le.Uint32(p)); e != 0 {
				return socks, true, fmt.Errorf("sock_diag: kernel error %d", -e)
			}
			continue
		}
		if len(p) < inetDiagMsgLen {
			return socks, false, fmt.Errorf("sock_diag: %w: inet_diag_msg of %d bytes", errShort, len(p))
		}
		s := inetSock{
			Family:     p[0],
			State:      p[1],
			Proto:      proto,
			LocalPort:  binary.BigEndian.Uint16(p[4:]),
			RemotePort: binary.BigEndian.Uint16(p[6:]),
			Cookie:     uint64(le.Uint32(p[44:])) | uint64(le.Uint32(p[48:]))<<32,
			UID:        le.Uint32(p[64:]),
			Inode:      le.Uint32(p[68:]),
		}
		switch s.Family {
		case afInet:
			s.LocalAddr = netip.AddrFrom4([4]byte(p[8:12]))
			s.RemoteAddr = netip.AddrFrom4([4]byte(p[24:28]))
		case afInet6:
			s.LocalAddr = netip.AddrFrom16([16]byte(p[8:24]))
			s.RemoteAddr = netip.AddrFrom16([16]byte(p[24:40]))
		default:
			continue
		}
		socks = append(socks, s)
	}
	return socks, false, nil
}

const (
	afInet  = 2
	afInet6 = 10
)
