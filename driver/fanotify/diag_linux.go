package fanotify

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

const (
	ipprotoTCP = 6
	ipprotoUDP = 17
	einprogres = 115 // EINPROGRESS
)

// sockDiag polls NETLINK_SOCK_DIAG for inet sockets.
type sockDiag struct {
	fd   int
	seq  uint32
	buf  []byte
	req  []byte
	cur  []inetSock
	seen map[uint64]sockSeen // by socket cookie
	next map[uint64]sockSeen
	// owners maps socket inodes to the process and descriptor holding
	// them, from the last /proc scan.
	owners map[uint32]sockOwner
}

// sockSeen is what was reported of a socket.
type sockSeen struct {
	state    uint8
	reported bool
}

// sockOwner is a process descriptor holding a socket.
type sockOwner struct {
	pid int32
	fd  int32
}

// diagQuery is one dump request: family, protocol and TCP state mask.
type diagQuery struct {
	family, proto uint8
	states        uint32
}

// CLOSE_WAIT is included: a connection whose peer already closed is still
// held (and was still made) by the process that opened it.
var diagQueries = [...]diagQuery{
	{afInet, ipprotoTCP, 1<<tcpEstablished | 1<<tcpSynSent | 1<<tcpCloseWait | 1<<tcpListen},
	{afInet6, ipprotoTCP, 1<<tcpEstablished | 1<<tcpSynSent | 1<<tcpCloseWait | 1<<tcpListen},
	{afInet, ipprotoUDP, 1 << tcpEstablished},
	{afInet6, ipprotoUDP, 1 << tcpEstablished},
}

func newSockDiag() (*sockDiag, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("fanotify: sock_diag socket: NETLINK_SOCK_DIAG (3.3, CONFIG_INET_DIAG): %w", unsupported(err))
		}
		return nil, fmt.Errorf("fanotify: sock_diag socket: %w", err)
	}
	// A dump never blocks for long, but never wait forever either.
	tv := unix.NsecToTimeval(int64(2 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &sockDiag{
		fd: fd, buf: make([]byte, 64<<10), req: make([]byte, nlmsgHdrLen+inetDiagReqLen),
		seen: map[uint64]sockSeen{}, next: map[uint64]sockSeen{}, owners: map[uint32]sockOwner{},
	}, nil
}

func (s *sockDiag) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// dump lists the sockets of one query, appending them to s.cur.
func (s *sockDiag) dump(q diagQuery) error {
	s.seq++
	b := s.req
	clear(b)
	le.PutUint32(b[0:], uint32(len(b)))
	le.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	le.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	le.PutUint32(b[8:], s.seq)
	r := b[nlmsgHdrLen:]
	r[0] = q.family
	r[1] = q.proto
	le.PutUint32(r[4:], q.states)
	if err := unix.Sendto(s.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("fanotify: sock_diag request: %w", err)
	}
	l4 := driver.L4TCP
	if q.proto == ipprotoUDP {
		l4 = driver.L4UDP
	}
	for {
		n, _, err := unix.Recvfrom(s.fd, s.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("fanotify: sock_diag receive: %w", err)
		}
		var done bool
		s.cur, done, err = decodeInetDiag(s.buf[:n], l4, s.cur)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// pollSockets lists the sockets and reports new connections and
// listeners. With baseline set it only records what exists.
func (d *Driver) pollSockets(baseline bool) error {
	s := d.diag
	s.cur = s.cur[:0]
	for _, q := range diagQueries {
		if err := s.dump(q); err != nil {
			if baseline {
				return err
			}
			d.decodeErrors.Add(1)
			return nil
		}
	}
	clear(s.next)
	wall := time.Now().UnixNano()
	scanned := false
	var listeners []inetSock
	for i := range s.cur {
		if s.cur[i].State == tcpListen && s.cur[i].Proto == driver.L4TCP {
			listeners = append(listeners, s.cur[i])
		}
	}
	for i := range s.cur {
		k := &s.cur[i]
		prev := s.seen[k.Cookie]
		seen := sockSeen{state: k.State, reported: prev.reported}
		if baseline {
			seen.reported = true
		}
		if !seen.reported && k.Inode != 0 {
			o, ok := s.owners[k.Inode]
			if !ok && !scanned {
				d.scanSockets(s)
				scanned = true
				o, ok = s.owners[k.Inode]
			}
			seen.reported = true
			if !ok || o.pid != d.selfPID {
				d.emitSock(k, o, ok, listeners, wall)
			}
		}
		s.next[k.Cookie] = seen
	}
	s.seen, s.next = s.next, s.seen
	// Forget owners of sockets that are gone.
	if len(s.owners) > 2*len(s.cur)+64 {
		live := make(map[uint32]bool, len(s.cur))
		for i := range s.cur {
			live[s.cur[i].Inode] = true
		}
		for ino := range s.owners {
			if !live[ino] {
				delete(s.owners, ino)
			}
		}
	}
	return nil
}

// emitSock reports a new socket: listen, accept (an established socket on
// a listener's port) or connect.
func (d *Driver) emitSock(k *inetSock, o sockOwner, owned bool, listeners []inetSock, wall int64) {
	var t driver.EventType
	server := false
	res := int64(0)
	switch {
	case k.State == tcpListen:
		t, server = evtListen, true
	case k.Proto == driver.L4TCP && inbound(k, listeners):
		t, server = evtAccept, true
	case k.State == tcpSynSent:
		t, res = evtConnect, -einprogres
	default:
		t = evtConnect
	}
	if !d.want.Has(t) {
		return
	}
	pid := int32(0)
	if owned {
		pid = o.pid
	}
	ev := d.resetEvent(t, pid, wall)
	sa := driver.SockAddr{
		Family: k.Family, L4Proto: k.Proto, Server: server,
		LocalAddr: k.LocalAddr, LocalPort: k.LocalPort,
		RemoteAddr: k.RemoteAddr, RemotePort: k.RemotePort,
	}
	typ := driver.FDIPv4
	if k.Family == afInet6 {
		typ = driver.FDIPv6
		if v4ish(sa.LocalAddr) && v4ish(sa.RemoteAddr) && (sa.LocalAddr.Is4In6() || sa.RemoteAddr.Is4In6()) {
			typ = driver.FDIPv4
			sa.Family = afInet
			sa.LocalAddr, sa.RemoteAddr = sa.LocalAddr.Unmap(), sa.RemoteAddr.Unmap()
		}
	}
	if t == evtListen {
		sa.RemoteAddr, sa.RemotePort = netip.Addr{}, 0
	}
	ev.Sock = sa
	ev.Res = res
	ev.Has |= driver.HasRes | driver.HasAddr | driver.HasFDInfo
	ev.FDInfo = driver.FDInfo{
		Num: UnknownFD, Type: typ, Sock: sa, Connected: t != evtListen,
		Name: tupleName(&sa), NameChanged: t == evtConnect,
	}
	if owned {
		ev.FDInfo.Num = int64(o.fd)
		ev.FD = int64(o.fd)
		ev.Has |= driver.HasFD
		if t == evtAccept {
			ev.Res = int64(o.fd)
		}
	} else if t == evtAccept {
		ev.Res = UnknownFD
	}
	d.send(ev)
}

// inbound reports whether an established socket is the server side of a
// connection: a listener has its local port and address.
func inbound(k *inetSock, listeners []inetSock) bool {
	for i := range listeners {
		l := &listeners[i]
		if l.LocalPort != k.LocalPort {
			continue
		}
		if l.LocalAddr.IsUnspecified() || l.LocalAddr.Unmap() == k.LocalAddr.Unmap() {
			return true
		}
	}
	return false
}

// v4ish reports an IPv4-mapped or unspecified IPv6 address.
func v4ish(a netip.Addr) bool { return a.Is4In6() || a.IsUnspecified() }

// tupleName renders Falco's fd.name of a socket: "cip:cport->sip:sport".
func tupleName(s *driver.SockAddr) string {
	cip, cport, sip, sport := s.LocalAddr, s.LocalPort, s.RemoteAddr, s.RemotePort
	if s.Server {
		cip, cport, sip, sport = sip, sport, cip, cport
	}
	var b []byte
	b = appendIP(b, cip)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(cport), 10)
	b = append(b, "->"...)
	b = appendIP(b, sip)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(sport), 10)
	return string(b)
}

func appendIP(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "0.0.0.0"...)
	}
	return a.Unmap().AppendTo(b)
}

// scanSockets maps socket inodes to their holders by reading every
// process's descriptors (only sockets of the current listing are kept).
func (d *Driver) scanSockets(s *sockDiag) {
	want := make(map[uint32]bool, len(s.cur))
	for i := range s.cur {
		if s.cur[i].Inode != 0 {
			want[s.cur[i].Inode] = true
		}
	}
	procs, err := os.Open(d.procRoot)
	if err != nil {
		return
	}
	names, _ := procs.Readdirnames(-1)
	procs.Close()
	buf := d.loop.lnk
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || int32(pid) == d.selfPID {
			continue
		}
		dir := d.procRoot + "/" + n + "/fd"
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		fds, _ := f.Readdirnames(-1)
		dfd := int(f.Fd())
		for _, fdn := range fds {
			m, err := unix.Readlinkat(dfd, fdn, buf)
			if err != nil {
				continue
			}
			l := buf[:m]
			rest, ok := bytes.CutPrefix(l, []byte("socket:["))
			if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
				continue
			}
			ino, err := strconv.ParseUint(string(rest[:len(rest)-1]), 10, 32)
			if err != nil || !want[uint32(ino)] {
				continue
			}
			if _, dup := s.owners[uint32(ino)]; dup {
				continue
			}
			fd, _ := strconv.Atoi(fdn)
			s.owners[uint32(ino)] = sockOwner{pid: int32(pid), fd: int32(fd)}
		}
		f.Close()
	}
}
