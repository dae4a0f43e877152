package fields

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/driver"
)

var fdTypeNames = [...]string{
	driver.FDUnknown:     "",
	driver.FDFile:        "file",
	driver.FDDirectory:   "directory",
	driver.FDIPv4:        "ipv4",
	driver.FDIPv6:        "ipv6",
	driver.FDUnix:        "unix",
	driver.FDPipe:        "pipe",
	driver.FDEvent:       "event",
	driver.FDSignalFD:    "signalfd",
	driver.FDEventPoll:   "eventpoll",
	driver.FDInotify:     "inotify",
	driver.FDTimerFD:     "timerfd",
	driver.FDNetlink:     "netlink",
	driver.FDBPF:         "bpf",
	driver.FDUserfaultFD: "userfaultfd",
	driver.FDIOUring:     "io_uring",
	driver.FDMemfd:       "memfd",
	driver.FDPidfd:       "pidfd",
}

var fdTypeChars = [...]string{
	driver.FDUnknown:     "o",
	driver.FDFile:        "f",
	driver.FDDirectory:   "d",
	driver.FDIPv4:        "4",
	driver.FDIPv6:        "6",
	driver.FDUnix:        "u",
	driver.FDPipe:        "p",
	driver.FDEvent:       "e",
	driver.FDSignalFD:    "s",
	driver.FDEventPoll:   "l",
	driver.FDInotify:     "i",
	driver.FDTimerFD:     "t",
	driver.FDNetlink:     "n",
	driver.FDBPF:         "b",
	driver.FDUserfaultFD: "u",
	driver.FDIOUring:     "r",
	driver.FDMemfd:       "m",
	driver.FDPidfd:       "P",
}

func fdTypeName(t driver.FDType) string {
	if int(t) < len(fdTypeNames) {
		return fdTypeNames[t]
	}
	return ""
}

func fdTypeChar(t driver.FDType) string {
	if int(t) < len(fdTypeChars) {
		return fdTypeChars[t]
	}
	return "o"
}

// fdinfo returns the event's fd description, or nil when unavailable.
func fdinfo(ev *driver.Event) *driver.FDInfo {
	if !ev.Has.Has(driver.HasFDInfo) {
		return nil
	}
	return &ev.FDInfo
}

// ipSock returns the socket of an IPv4/IPv6 descriptor, or nil.
func ipSock(ev *driver.Event) *driver.SockAddr {
	fi := fdinfo(ev)
	if fi == nil || (fi.Type != driver.FDIPv4 && fi.Type != driver.FDIPv6) {
		return nil
	}
	return &fi.Sock
}

func isFileFD(t driver.FDType) bool {
	return t == driver.FDFile || t == driver.FDDirectory || t == driver.FDMemfd
}

// fdDirectory returns the directory part of a file fd name as libsinsp
// does: the name itself for directories, the part before the last '/'
// otherwise ("/" for files in the root).
func fdDirectory(fi *driver.FDInfo) (string, bool) {
	if fi.Type == driver.FDDirectory {
		return fi.Name, true
	}
	if fi.Type != driver.FDFile && fi.Type != driver.FDMemfd {
		return "", false
	}
	i := strings.LastIndexByte(fi.Name, '/')
	switch {
	case i < 0:
		return "", false
	case i == 0:
		return "/", true
	}
	return fi.Name[:i], true
}

type endSel uint8

const (
	endClient endSel = iota
	endServer
	endLocal
	endRemote
)

func sockEnd(s *driver.SockAddr, e endSel) (netip.Addr, uint16) {
	switch e {
	case endLocal:
		return s.LocalAddr, s.LocalPort
	case endRemote:
		return s.RemoteAddr, s.RemotePort
	}
	cip, cport, sip, sport := clientServer(s)
	if e == endClient {
		return cip, cport
	}
	return sip, sport
}

func ipField(e endSel, t Type) Extractor {
	return Extractor{Type: t, Addr: func(ev *driver.Event) (netip.Addr, bool) {
		s := ipSock(ev)
		if s == nil {
			return netip.Addr{}, false
		}
		a, _ := sockEnd(s, e)
		return a.Unmap(), a.IsValid()
	}}
}

func portField(e endSel) Extractor {
	return numX(TypePort, func(ev *driver.Event) (int64, bool) {
		s := ipSock(ev)
		if s == nil {
			return 0, false
		}
		_, p := sockEnd(s, e)
		return int64(p), true
	})
}

// eitherIP yields the client and the server address (fd.ip, fd.net).
func eitherIP(t Type) Extractor {
	return Extractor{Type: t, Multi: func(ev *driver.Event, dst []Value) []Value {
		s := ipSock(ev)
		if s == nil {
			return dst
		}
		cip, _, sip, _ := clientServer(s)
		if cip.IsValid() {
			dst = append(dst, Value{Addr: cip.Unmap()})
		}
		if sip.IsValid() {
			dst = append(dst, Value{Addr: sip.Unmap()})
		}
		return dst
	}}
}

func eitherPort() Extractor {
	return Extractor{Type: TypePort, Multi: func(ev *driver.Event, dst []Value) []Value {
		s := ipSock(ev)
		if s == nil {
			return dst
		}
		_, cport, _, sport := clientServer(s)
		return append(dst, Value{Num: int64(cport)}, Value{Num: int64(sport)})
	}}
}

var l4Names = [...]string{driver.L4TCP: "tcp", driver.L4UDP: "udp", driver.L4ICMP: "icmp", driver.L4Raw: "raw"}

func fdFields() []*Field {
	const c = "fd"
	d := func(name string, t Type, fl Flags, desc string, x Extractor) *Field {
		return def(c, name, t, fl, desc, stat(x))
	}
	fdStr := func(get func(fi *driver.FDInfo) (string, bool)) Extractor {
		return strX(func(ev *driver.Event) (string, bool) {
			fi := fdinfo(ev)
			if fi == nil {
				return "", false
			}
			return get(fi)
		})
	}
	fdBool := func(get func(fi *driver.FDInfo) (bool, bool)) Extractor {
		return numX(TypeBool, func(ev *driver.Event) (int64, bool) {
			fi := fdinfo(ev)
			if fi == nil {
				return 0, false
			}
			b, ok := get(fi)
			return boolNum(b), ok
		})
	}
	const dnsNote = " Vigil does not resolve names yet, so the value is always unavailable."
	const filt = FilterOnly | NoRHS | NoTransform | EitherEnd
	return []*Field{
		d("fd.num", TypeInt, 0, "Number of the file descriptor the event refers to.",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) {
				fi := fdinfo(ev)
				if fi == nil {
					return 0, false
				}
				return fi.Num, true
			})),
		d("fd.type", TypeString, 0, "Kind of object behind the descriptor: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd or pidfd.",
			fdStr(func(fi *driver.FDInfo) (string, bool) { n := fdTypeName(fi.Type); return n, n != "" })),
		d("fd.typechar", TypeString, 0, "Descriptor kind as one character: f file, d directory, 4 and 6 IP sockets, u unix socket or userfaultfd, p pipe, e eventfd, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, r io_uring, m memfd, P pidfd, o other.",
			fdStr(func(fi *driver.FDInfo) (string, bool) { return fdTypeChar(fi.Type), true })),
		d("fd.name", TypeFSPath, 0, "Full name of the descriptor: the absolute path for files, the connection tuple (client->server) for IP sockets, the path for unix sockets.",
			fdStr(func(fi *driver.FDInfo) (string, bool) { return fi.Name, true })),
		d("fd.directory", TypeFSPath, 0, "For files, the directory holding the file; for directories, the directory itself.",
			fdStr(fdDirectory)),
		d("fd.filename", TypeFSPath, 0, "For files, the last path component of the name.",
			fdStr(func(fi *driver.FDInfo) (string, bool) {
				if !isFileFD(fi.Type) {
					return "", false
				}
				i := strings.LastIndexByte(fi.Name, '/')
				if i < 0 {
					return fi.Name, fi.Name != ""
				}
				return fi.Name[i+1:], true
			})),
		d("fd.ip", TypeIPAddr, filt, "Matches the IP address of either end (client or server) of the socket.", eitherIP(TypeIPAddr)),
		d("fd.cip", TypeIPAddr, 0, "IP address of the client end of the socket.", ipField(endClient, TypeIPAddr)),
		d("fd.sip", TypeIPAddr, 0, "IP address of the server end of the socket.", ipField(endServer, TypeIPAddr)),
		d("fd.lip", TypeIPAddr, 0, "IP address of the local end of the socket.", ipField(endLocal, TypeIPAddr)),
		d("fd.rip", TypeIPAddr, 0, "IP address of the remote end of the socket.", ipField(endRemote, TypeIPAddr)),
		d("fd.port", TypePort, filt, "Matches the TCP/UDP port of either end (client or server) of the socket.", eitherPort()),
		d("fd.cport", TypePort, 0, "TCP/UDP port of the client end of the socket.", portField(endClient)),
		d("fd.sport", TypePort, 0, "TCP/UDP port of the server end of the socket.", portField(endServer)),
		d("fd.lport", TypePort, 0, "TCP/UDP port of the local end of the socket.", portField(endLocal)),
		d("fd.rport", TypePort, 0, "TCP/UDP port of the remote end of the socket.", portField(endRemote)),
		d("fd.l4proto", TypeString, 0, "Transport protocol of an IP socket: tcp, udp, icmp or raw.",
			strX(func(ev *driver.Event) (string, bool) {
				s := ipSock(ev)
				if s == nil || int(s.L4Proto) >= len(l4Names) || l4Names[s.L4Proto] == "" {
					return "", false
				}
				return l4Names[s.L4Proto], true
			})),
		d("fd.sockfamily", TypeString, 0, "Socket family: ip for IPv4/IPv6 sockets, unix for unix sockets.",
			fdStr(func(fi *driver.FDInfo) (string, bool) {
				switch fi.Type {
				case driver.FDIPv4, driver.FDIPv6:
					return "ip", true
				case driver.FDUnix:
					return "unix", true
				}
				return "", false
			})),
		d("fd.is_server", TypeBool, 0, "True when the process owns the server end of the socket.",
			fdBool(func(fi *driver.FDInfo) (bool, bool) {
				switch fi.Type {
				case driver.FDIPv4, driver.FDIPv6, driver.FDUnix:
					return fi.Sock.Server, true
				}
				return false, true
			})),
		def(c, "fd.uid", TypeString, 0, "Identifier of the descriptor made of its number and the thread id.", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				fi := fdinfo(ev)
				if fi == nil {
					return "", false
				}
				b := strconv.AppendInt(sc.reset(), fi.Num, 10)
				b = strconv.AppendInt(b, ev.Tid, 10)
				return sc.str(b), true
			})
		}),
		def(c, "fd.containername", TypeString, 0, "Container id followed by the descriptor name.", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				fi, ct := fdinfo(ev), ev.Container
				if fi == nil || ct == nil || !ct.Has.Has(driver.ContHasID) {
					return "", false
				}
				b := append(append(sc.reset(), ct.ID...), fi.Name...)
				return sc.str(b), true
			})
		}),
		def(c, "fd.containerdirectory", TypeString, 0, "Container id followed by the descriptor's directory.", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				fi, ct := fdinfo(ev), ev.Container
				if fi == nil || ct == nil || !ct.Has.Has(driver.ContHasID) {
					return "", false
				}
				dir, ok := fdDirectory(fi)
				if !ok {
					return "", false
				}
				b := append(append(sc.reset(), ct.ID...), dir...)
				return sc.str(b), true
			})
		}),
		d("fd.net", TypeIPNet, filt, "Matches the IP network of either end (client or server) of the socket; compare it with a CIDR.", eitherIP(TypeIPNet)),
		d("fd.cnet", TypeIPNet, FilterOnly|NoRHS|NoTransform, "Matches the IP network of the client end of the socket.", ipField(endClient, TypeIPNet)),
		d("fd.snet", TypeIPNet, FilterOnly|NoRHS|NoTransform, "Matches the IP network of the server end of the socket.", ipField(endServer, TypeIPNet)),
		d("fd.lnet", TypeIPNet, FilterOnly|NoRHS|NoTransform, "Matches the IP network of the local end of the socket.", ipField(endLocal, TypeIPNet)),
		d("fd.rnet", TypeIPNet, FilterOnly|NoRHS|NoTransform, "Matches the IP network of the remote end of the socket.", ipField(endRemote, TypeIPNet)),
		d("fd.connected", TypeBool, 0, "True for a connected socket; false for any other descriptor.",
			fdBool(func(fi *driver.FDInfo) (bool, bool) { return fi.Connected, true })),
		d("fd.name_changed", TypeBool, 0, "True when this event changed the descriptor's name (for example a UDP socket whose tuple changed).",
			fdBool(func(fi *driver.FDInfo) (bool, bool) { return fi.NameChanged, true })),
		d("fd.cip.name", TypeString, NoRHS|NoTransform, "Domain name of the client IP address."+dnsNote, unavailable(TypeString)),
		d("fd.sip.name", TypeString, NoRHS|NoTransform, "Domain name of the server IP address."+dnsNote, unavailable(TypeString)),
		d("fd.lip.name", TypeString, NoRHS|NoTransform, "Domain name of the local IP address."+dnsNote, unavailable(TypeString)),
		d("fd.rip.name", TypeString, NoRHS|NoTransform, "Domain name of the remote IP address."+dnsNote, unavailable(TypeString)),
		{Name: "fd.dev", Class: c, Type: TypeInt, Desc: "Device number (Linux user-space encoding) of the file system holding the file; printed in hex.",
			Bind: fixed("fd.dev", func() Extractor {
				x := numX(TypeInt, func(ev *driver.Event) (int64, bool) {
					fi := fdinfo(ev)
					if fi == nil || !isFileFD(fi.Type) {
						return 0, false
					}
					return int64(fi.Dev), true
				})
				x.Hex = true
				return x
			})},
		d("fd.dev.major", TypeInt, 0, "Major number of the device holding the file.",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) {
				fi := fdinfo(ev)
				if fi == nil || !isFileFD(fi.Type) {
					return 0, false
				}
				return int64((fi.Dev >> 8) & 0xfff), true
			})),
		d("fd.dev.minor", TypeInt, 0, "Minor number of the device holding the file.",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) {
				fi := fdinfo(ev)
				if fi == nil || !isFileFD(fi.Type) {
					return 0, false
				}
				return int64((fi.Dev & 0xff) | ((fi.Dev >> 12) & 0xfff00)), true
			})),
		d("fd.ino", TypeInt, 0, "Inode number of the file.",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) {
				fi := fdinfo(ev)
				if fi == nil || !isFileFD(fi.Type) {
					return 0, false
				}
				return int64(fi.Ino), true
			})),
		d("fd.nameraw", TypeFSPath, 0, "Descriptor name as the process gave it, before Vigil made it absolute.",
			fdStr(func(fi *driver.FDInfo) (string, bool) { return fi.NameRaw, true })),
		{Name: "fd.types", Class: c, Type: TypeString, Flags: ArgAllowed | List | NoRHS,
			Desc: "List of descriptor kinds in use. Vigil only knows the descriptor of the event, so the list holds at most that one; fd.types[N] restricts it to descriptor N.",
			Bind: bindFDTypes},
	}
}

func bindFDTypes(arg string, hasArg bool) (Extractor, error) {
	want := int64(-1)
	if hasArg {
		n, err := parseIndex("fd.types", arg)
		if err != nil {
			return Extractor{}, fmt.Errorf("%w", err)
		}
		want = int64(n)
	}
	x := Extractor{Type: TypeString, listStyle: true}
	x.Multi = func(ev *driver.Event, dst []Value) []Value {
		fi := fdinfo(ev)
		if fi == nil || (want >= 0 && fi.Num != want) {
			return dst
		}
		if n := fdTypeName(fi.Type); n != "" {
			dst = append(dst, Value{Str: n})
		}
		return dst
	}
	return x, nil
}

func fsPathFields() []*Field {
	const c = "fs.path"
	evStr := func(bit driver.Mask, get func(ev *driver.Event) string) Extractor {
		return pathX(func(ev *driver.Event) (string, bool) {
			if !ev.Has.Has(bit) {
				return "", false
			}
			return get(ev), true
		})
	}
	return []*Field{
		def(c, "fs.path.name", TypeFSPath, 0, "Path a file-system syscall operates on (open, mkdir, unlink, chmod, ...), made absolute when the driver could resolve it.",
			stat(evStr(driver.HasPath, func(ev *driver.Event) string { return ev.Path }))),
		def(c, "fs.path.source", TypeFSPath, 0, "Source path of a two-path syscall (rename, link, symlink target).",
			stat(evStr(driver.HasOldPath, func(ev *driver.Event) string { return ev.OldPath }))),
		def(c, "fs.path.target", TypeFSPath, 0, "Target path of a two-path syscall (rename destination, new link).",
			stat(evStr(driver.HasNewPath, func(ev *driver.Event) string { return ev.NewPath }))),
	}
}
