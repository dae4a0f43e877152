// Package driver defines what every Vigil event source produces: the flat
// Event record, the event-type enumeration shared with Falco's rule language,
// and the availability masks that say which fields a source could fill.
//
// The package uses the standard library only so that the rule engine can
// depend on it on any operating system.
package driver

import "net/netip"

// Mask says which optional fields of an Event (or of a Process or Container)
// hold a value. A field whose bit is clear is unavailable: the engine treats
// every comparison on it as false and outputs render it as <NA>.
type Mask uint64

// Has reports whether every bit of f is set in m.
func (m Mask) Has(f Mask) bool { return m&f == f }

// Availability bits for Event fields.
const (
	HasRes       Mask = 1 << iota // Res (the syscall return value)
	HasFD                         // FD
	HasDirFD                      // DirFD
	HasPath                       // Path
	HasOldPath                    // OldPath
	HasNewPath                    // NewPath
	HasFlags                      // Flags
	HasMode                       // Mode
	HasUID                        // UID
	HasGID                        // GID
	HasTargetPID                  // TargetPID
	HasRequest                    // Request
	HasSignal                     // Signal
	HasCmd                        // Cmd
	HasSocket                     // Domain, SockType, Proto
	HasAddr                       // Sock (tuple of the connection or bound address)
	HasData                       // Data
	HasDev                        // Dev, Ino
	HasMount                      // MountSource, MountTarget, MountFSType
	HasArgs                       // Exec argv in Args (execve/execveat)
	HasFDInfo                     // FDInfo (the file descriptor the event is about)
	HasCPU                        // CPU
	HasNum                        // Num
	HasName                       // Name (memfd_create name, module params, ...)
	HasCreated                    // Created (open/openat/openat2/creat created the file)
	HasUIDName                    // UIDName (user name of the UID argument, resolved by the state layer)
)

// Event is one kernel or user-space event, as produced by a driver and
// enriched by the state layer. Only exit-side (completed) events exist: Res
// holds the result. The meaning of the argument fields depends on Type; the
// parameter table (Params) maps Falco's argument names onto them.
//
// An *Event handed to an emit callback is valid only during that call.
type Event struct {
	Type EventType
	Has  Mask   // which optional fields below are filled
	Num  uint64 // sequence number, starting at 1
	Time int64  // wall-clock timestamp, nanoseconds since the Unix epoch
	CPU  int16
	Tid  int64 // thread that performed the event (host pid namespace)
	Pid  int64 // its thread group (process) id (host pid namespace)
	Res  int64 // return value; negative errno on failure

	// Arguments.
	FD          int64    // fd argument, or fd returned by open/socket/accept/dup
	DirFD       int64    // dirfd of *at syscalls (AT_FDCWD = -100)
	Path        string   // the path operated on, absolute when the driver can resolve it
	OldPath     string   // rename/link source; symlink target
	NewPath     string   // rename/link destination; symlink link path
	Name        string   // other name argument (memfd_create name, module parameters)
	Flags       uint32   // open flags (Linux O_*), unlinkat/renameat2/memfd flags, ...
	Mode        uint32   // file mode bits (open with O_CREAT, chmod, mkdir)
	UID         uint32   // setuid/setresuid/chown uid
	GID         uint32   // setgid/setresgid/chown gid
	TargetPID   int64    // ptrace/kill target
	Request     int64    // ptrace request, ioctl request
	Signal      int32    // kill/tkill signal
	Cmd         int64    // bpf command, prctl option, fcntl command
	Domain      int32    // socket domain (AF_*)
	SockType    int32    // socket type (SOCK_*)
	Proto       int32    // socket protocol
	Sock        SockAddr // connection tuple or bound/listened address
	Data        []byte   // I/O buffer (snaplen-limited)
	Dev         uint32   // device of the opened file
	Ino         uint64   // inode of the opened file
	MountSource string   // mount source
	MountTarget string   // mount/umount target
	MountFSType string   // mount filesystem type
	Args        []string // execve argv (without argv[0] as Falco's proc.args)
	FDInfo      FDInfo   // what the event's file descriptor refers to
	// Proc is the process (thread group) that performed the event. A
	// driver may point it at what it knows of the process (it must for
	// clone/fork/vfork/clone3 in the child, execve/execveat and procexit,
	// where it describes the process as it is after the event); the state
	// layer merges that into its process table and replaces Proc with the
	// table's entry, which carries the Parent chain and user names.
	Proc      *Process
	Container *Container // its container; nil or ID "host" for host processes
	Created   bool       // the open created the file (kernel FMODE_CREATED); see HasCreated
	UIDName   string     // user name for UID (setuid, chown, ...), as evt.arg.uid shows it; see HasUIDName
}

// SockAddr is a socket address or a connection tuple.
type SockAddr struct {
	Family     uint8      // AF_INET, AF_INET6, AF_UNIX, ...
	L4Proto    uint8      // L4TCP, L4UDP, ...
	LocalAddr  netip.Addr // client side for outbound connections, server side for inbound
	LocalPort  uint16
	RemoteAddr netip.Addr
	RemotePort uint16
	UnixPath   string // AF_UNIX path (abstract sockets start with "@")
	Server     bool   // the local end is the server (accept, listen, bind)
}

// Layer-4 protocol identifiers used in SockAddr.L4Proto and FDInfo.
const (
	L4Unknown uint8 = iota
	L4TCP
	L4UDP
	L4ICMP
	L4Raw
)

// FDType is the kind of object a file descriptor refers to, as Falco's
// fd.type / fd.typechar.
type FDType uint8

// File descriptor kinds.
const (
	FDUnknown FDType = iota
	FDFile
	FDDirectory
	FDIPv4
	FDIPv6
	FDUnix
	FDPipe
	FDEvent
	FDSignalFD
	FDEventPoll
	FDInotify
	FDTimerFD
	FDNetlink
	FDBPF
	FDUserfaultFD
	FDIOUring
	FDMemfd
	FDPidfd
)

// FDInfo describes the file descriptor an event refers to.
type FDInfo struct {
	Num       int64  // descriptor number
	Type      FDType // what it refers to
	Name      string // path for files; "ip:port->ip:port" for sockets
	NameRaw   string // the name as passed by the process, before resolution
	OpenFlags uint32 // flags the descriptor was opened with
	Sock      SockAddr
	Dev       uint32
	Ino       uint64
	MountID   uint64
	// NameChanged reports that the event changed the fd's name (for example a
	// connect or rename updated it).
	NameChanged bool
	// Connected reports a connected socket.
	Connected bool
}
