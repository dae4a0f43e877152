package procscan

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/vigilsec/vigil/driver"
)

// Address families, as driver.SockAddr.Family holds them.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// TCP states as /proc/net/tcp prints them (include/net/tcp_states.h). UDP
// sockets use tcpEstablished for connected sockets and tcpClose otherwise.
const (
	tcpEstablished = 0x01
	tcpSynSent     = 0x02
	tcpSynRecv     = 0x03
	tcpFinWait1    = 0x04
	tcpFinWait2    = 0x05
	tcpTimeWait    = 0x06
	tcpClose       = 0x07
	tcpCloseWait   = 0x08
	tcpLastAck     = 0x09
	tcpListen      = 0x0a
	tcpClosing     = 0x0b
)

// Unix socket constants of /proc/net/unix.
const (
	unixAcceptCon = 0x10000 // __SO_ACCEPTCON: a listening socket
	unixConnected = 3       // SS_CONNECTED
	sockStream    = 1       // SOCK_STREAM
	sockSeqPacket = 5       // SOCK_SEQPACKET
)

// netEnt is one socket of a /proc/net table.
type netEnt struct {
	inode      uint64
	netns      uint64 // network namespace inode (set by the caller)
	class      uint8  // sockTCP, ... (set by the caller)
	family     uint8  // afInet, afInet6 or afUnix
	l4         uint8  // driver.L4TCP, driver.L4UDP; L4Unknown for unix
	state      uint8  // TCP state; SS_* for unix sockets
	sockType   uint16
	unixFlags  uint32
	localAddr  netip.Addr
	localPort  uint16
	remoteAddr netip.Addr
	remotePort uint16
	// path is the unix socket's path ("@name" for abstract sockets); for
	// decodeUnixLine it is a subslice of the line.
	path []byte
}

// decodeInetLine decodes one line of /proc/net/{tcp,tcp6,udp,udp6}:
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
//
// Addresses are hexadecimal words in the kernel's byte order (4 bytes for
// IPv4, 16 for IPv6), ports hexadecimal. The header line and malformed lines
// return false. l4 is stored in the entry.
func decodeInetLine(line []byte, l4 uint8, ent *netEnt) bool {
	var f [10][]byte
	n := 0
	rest := line
	for n < len(f) {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 {
			break
		}
		i := bytes.IndexAny(rest, " \t\n")
		if i < 0 {
			i = len(rest)
		}
		f[n], rest = rest[:i], rest[i:]
		n++
	}
	if n < len(f) || len(f[0]) < 2 || f[0][len(f[0])-1] != ':' {
		return false
	}
	la, lp, ok1 := decodeHexAddrPort(f[1])
	ra, rp, ok2 := decodeHexAddrPort(f[2])
	st, ok3 := parseHexUint(f[3], 8)
	ino, ok4 := parseDecUint(f[9])
	if !ok1 || !ok2 || !ok3 || !ok4 || la.Is4() != ra.Is4() {
		return false
	}
	*ent = netEnt{
		inode: ino, l4: l4, state: uint8(st),
		localAddr: la, localPort: lp, remoteAddr: ra, remotePort: rp,
		family: afInet,
	}
	if la.Is6() {
		ent.family = afInet6
	}
	return true
}

// decodeHexAddrPort decodes "0100007F:0277" (IPv4) or a 32-digit IPv6
// address and a port.
func decodeHexAddrPort(b []byte) (netip.Addr, uint16, bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return netip.Addr{}, 0, false
	}
	hexAddr, hexPort := b[:i], b[i+1:]
	port, ok := parseHexUint(hexPort, 16)
	if !ok {
		return netip.Addr{}, 0, false
	}
	// The kernel prints each 32-bit word of the address with %08X in host
	// byte order.
	var raw [16]byte
	switch len(hexAddr) {
	case 8, 32:
	default:
		return netip.Addr{}, 0, false
	}
	for w := 0; w*8 < len(hexAddr); w++ {
		v, ok := parseHexUint(hexAddr[w*8:w*8+8], 32)
		if !ok {
			return netip.Addr{}, 0, false
		}
		binary.NativeEndian.PutUint32(raw[w*4:], uint32(v))
	}
	if len(hexAddr) == 8 {
		return netip.AddrFrom4([4]byte(raw[:4])), uint16(port), true
	}
	return netip.AddrFrom16(raw), uint16(port), true
}

// decodeUnixLine decodes one line of /proc/net/unix:
//
//	Num: RefCount Protocol Flags Type St Inode [Path]
//
// The path (which may hold spaces; abstract names start with '@') is the
// rest of the line. The header line and malformed lines return false.
func decodeUnixLine(line []byte, ent *netEnt) bool {
	line = bytes.TrimRight(line, "\n")
	var f [7][]byte
	rest := line
	for n := range f {
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			return false
		}
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			i = len(rest)
		}
		f[n], rest = rest[:i], rest[i:]
	}
	if len(f[0]) < 2 || f[0][len(f[0])-1] != ':' {
		return false
	}
	flags, ok1 := parseHexUint(f[3], 32)
	typ, ok2 := parseHexUint(f[4], 16)
	st, ok3 := parseHexUint(f[5], 8)
	ino, ok4 := parseDecUint(f[6])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return false
	}
	*ent = netEnt{inode: ino, family: afUnix, state: uint8(st), sockType: uint16(typ), unixFlags: uint32(flags)}
	if len(rest) > 1 && rest[0] == ' ' {
		ent.path = rest[1:]
	}
	return true
}

// fdinfo is what Vigil uses of /proc/PID/fdinfo/FD.
type fdinfo struct {
	flags   uint32 // the file's flags (octal in the file)
	mntID   uint64
	ino     uint64
	hasMnt  bool
	hasIno  bool
	hasFlag bool
}

// decodeFdinfo decodes the "key:\tvalue" lines of /proc/PID/fdinfo/FD. It
// returns false when there is no valid flags line.
func decodeFdinfo(b []byte) (fdinfo, bool) {
	var fi fdinfo
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch string(k) {
		case "flags":
			if f, ok := parseOctUint(v); ok && f <= 0xffffffff {
				fi.flags, fi.hasFlag = uint32(f), true
			}
		case "mnt_id":
			fi.mntID, fi.hasMnt = parseDecUint(v)
		case "ino":
			fi.ino, fi.hasIno = parseDecUint(v)
		}
	}
	return fi, fi.hasFlag
}

// statLite is what a poll uses of /proc/PID/stat.
type statLite struct {
	comm  []byte // subslice of the input
	state byte
	ppid  int64
	start uint64 // start time, clock ticks after boot
}

// decodeStatLite decodes /proc/PID/stat without allocating: comm (which
// ends at the last ')'), the state, the parent pid and the start time
// (field 22).
func decodeStatLite(b []byte) (statLite, bool) {
	var st statLite
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, false
	}
	st.comm = b[open+1 : end]
	rest := b[end+1:]
	// Fields 3 (state) to 22 (starttime).
	for field := 3; field <= 22; field++ {
		rest = bytes.TrimLeft(rest, " ")
		i := bytes.IndexAny(rest, " \n")
		if i < 0 {
			i = len(rest)
		}
		if i == 0 {
			return st, false
		}
		v := rest[:i]
		rest = rest[i:]
		switch field {
		case 3:
			if len(v) != 1 {
				return st, false
			}
			st.state = v[0]
		case 4:
			p, ok := parseDecUint(v)
			if !ok || p > 1<<31 {
				return st, false
			}
			st.ppid = int64(p)
		case 22:
			s, ok := parseDecUint(v)
			if !ok {
				return st, false
			}
			st.start = s
		}
	}
	return st, true
}

// decodeSocketLink returns the inode of a descriptor link "socket:[N]".
func decodeSocketLink(l []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(l, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parseDecUint(rest[:len(rest)-1])
}

// decodeNetnsLink returns the inode of a namespace link "net:[N]".
func decodeNetnsLink(l []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(l, []byte("net:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parseDecUint(rest[:len(rest)-1])
}

// parseHexUint parses a hexadecimal number of at most bits bits.
func parseHexUint(b []byte, bits int) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	if bits < 64 && v>>bits != 0 {
		return 0, false
	}
	return v, true
}

// parseDecUint parses a decimal number that fits in 63 bits.
func parseDecUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parseOctUint parses an octal number that fits in 63 bits.
func parseOctUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 21 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v<<3 | uint64(c-'0')
	}
	return v, true
}

// tupleName renders Falco's fd.name of a socket: "cip:cport->sip:sport".
func tupleName(dst []byte, s *driver.SockAddr) []byte {
	cip, cport, sip, sport := s.LocalAddr, s.LocalPort, s.RemoteAddr, s.RemotePort
	if s.Server {
		cip, cport, sip, sport = sip, sport, cip, cport
	}
	dst = appendIP(dst, cip)
	dst = append(dst, ':')
	dst = appendUint(dst, uint64(cport))
	dst = append(dst, "->"...)
	dst = appendIP(dst, sip)
	dst = append(dst, ':')
	return appendUint(dst, uint64(sport))
}

func appendIP(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "0.0.0.0"...)
	}
	return a.Unmap().AppendTo(b)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// fnv64 hashes b (FNV-1a), continuing from h (start with fnvOffset).
func fnv64(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

const fnvOffset = 14695981039346656037

// hidepid returns the hidepid option of the procfs mounted at mountPoint,
// from a mountinfo file, when it hides anything (a value other than 0 or
// "off"). Mount options are the super-block options after the " - "
// separator (procfs keeps them per mount since 5.8) and, on older kernels,
// the per-mount options.
func hidepid(mountinfo []byte, mountPoint string) (string, bool) {
	var found string
	for len(mountinfo) > 0 {
		line := mountinfo
		if i := bytes.IndexByte(mountinfo, '\n'); i >= 0 {
			line, mountinfo = mountinfo[:i], mountinfo[i+1:]
		} else {
			mountinfo = nil
		}
		f := bytes.Fields(line)
		if len(f) < 6 || string(f[4]) != mountPoint {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if string(f[i]) == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) || string(f[sep+1]) != "proc" {
			continue
		}
		// The last mount at the mount point is the visible one.
		found = ""
		opts := [][]byte{f[5]}
		if sep+3 < len(f) {
			opts = append(opts, f[sep+3])
		}
		for _, o := range opts {
			for _, kv := range bytes.Split(o, []byte(",")) {
				if v, ok := bytes.CutPrefix(kv, []byte("hidepid=")); ok {
					found = string(v)
				}
			}
		}
	}
	if found == "" || found == "0" || found == "off" {
		return "", false
	}
	return found, true
}

// parseDirents appends the numeric names of linux_dirent64 records in b
// to out, stopping at limit of them (and then reporting truncation).
func parseDirents(b []byte, out []int32, limit int) ([]int32, bool) {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		b = b[reclen:]
		v, ok := parseDecUint(name)
		if !ok || v > 1<<31-1 {
			continue
		}
		if len(out) >= limit {
			return out, true
		}
		out = append(out, int32(v))
	}
	return out, false
}

// encodeDev converts a stat(2) device number into the 32-bit encoding
// Falco's fd.dev uses.
func encodeDev(dev uint64) uint32 {
	major := uint32((dev>>8)&0xfff) | uint32((dev>>32)&^0xfff)
	minor := uint32(dev&0xff) | uint32((dev>>12)&^0xff)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// Bits of what was reported of a socket.
const (
	sockListen uint8 = 1 << iota
	sockConn
	sockDone // nothing of it can be reported (a unix datagram or client socket)
)

// stateBits says what the state of a socket at the baseline counts as
// reported.
func stateBits(e *netEnt) uint8 {
	if e.family == afUnix {
		switch {
		case e.unixFlags&unixAcceptCon != 0:
			return sockListen
		case e.state == unixConnected:
			return sockConn
		case e.sockType != sockStream && e.sockType != sockSeqPacket:
			return sockDone
		}
		return 0
	}
	switch {
	case e.l4 == driver.L4TCP && e.state == tcpListen:
		return sockListen
	case e.l4 == driver.L4TCP && tcpConnected(e.state), e.l4 == driver.L4UDP && e.state == tcpEstablished:
		return sockConn
	}
	return 0
}

// tcpConnected reports the states of a socket that connected (or is
// connecting) and has not been closed by the process.
func tcpConnected(st uint8) bool {
	switch st {
	case tcpEstablished, tcpSynSent, tcpFinWait1, tcpFinWait2, tcpCloseWait, tcpLastAck, tcpClosing:
		return true
	}
	return false
}

// classifyProto maps a socket's protocol name (the "system.sockprotoname"
// attribute: "TCP", "TCPv6", "UDP", "UDPv6", "UNIX", "NETLINK", ...) to
// the /proc/net table that lists it.
func classifyProto(name []byte) uint8 {
	switch string(name) {
	case "TCP":
		return sockTCP
	case "TCPv6":
		return sockTCP6
	case "UDP":
		return sockUDP
	case "UDPv6":
		return sockUDP6
	case "UNIX", "UNIX-STREAM", "UNIX-DGRAM", "UNIX-SEQPACKET":
		return sockUnix
	case "MPTCP", "MPTCPv6":
		// Go 1.24 and later listen with multipath TCP where the kernel
		// has it.
		return sockMPTCP
	case "":
		return sockUnknown
	}
	return sockOther
}

// Socket classes: the /proc/net table that lists the socket. A socket is
// classified once, by its "system.sockprotoname" attribute.
const (
	sockUnknown uint8 = iota // not classified: look in every table
	sockTCP
	sockTCP6
	sockUDP
	sockUDP6
	sockUnix
	sockOther // in no table (netlink, packet, ...): never reported
	sockMPTCP // multipath TCP: its subflows are in the tcp or tcp6 table
)

// netTableMask returns the tables (bit class-1) that may list a socket of
// class c.
func netTableMask(c uint8) uint8 {
	switch c {
	case sockTCP, sockTCP6, sockUDP, sockUDP6, sockUnix:
		return 1 << (c - 1)
	case sockMPTCP:
		return 1<<(sockTCP-1) | 1<<(sockTCP6-1)
	case sockOther:
		return 0
	}
	return 1<<(sockUnix) - 1 // every table
}
