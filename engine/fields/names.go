package fields

import "strconv"

// Symbolic names used when rendering event arguments the way libsinsp
// does. The values are Linux x86_64 ABI values (driver.Event carries the
// kernel's own numbers); the order of each table is the order libsinsp
// prints the names in.

type nameVal struct {
	name string
	val  uint64
}

// errnoNames maps errno numbers (positive) to their names.
var errnoNames = [...]string{
	1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
	9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
	16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
	23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
	30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG",
	37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 42: "ENOMSG", 43: "EIDRM", 44: "ECHRNG",
	45: "EL2NSYNC", 46: "EL3HLT", 47: "EL3RST", 48: "ELNRNG", 49: "EUNATCH", 50: "ENOCSI", 51: "EL2HLT",
	52: "EBADE", 53: "EBADR", 54: "EXFULL", 55: "ENOANO", 56: "EBADRQC", 57: "EBADSLT", 59: "EBFONT",
	60: "ENOSTR", 61: "ENODATA", 62: "ETIME", 63: "ENOSR", 64: "ENONET", 65: "ENOPKG", 66: "EREMOTE",
	67: "ENOLINK", 68: "EADV", 69: "ESRMNT", 70: "ECOMM", 71: "EPROTO", 72: "EMULTIHOP", 73: "EDOTDOT",
	74: "EBADMSG", 75: "EOVERFLOW", 76: "ENOTUNIQ", 77: "EBADFD", 78: "EREMCHG", 79: "ELIBACC",
	80: "ELIBBAD", 81: "ELIBSCN", 82: "ELIBMAX", 83: "ELIBEXEC", 84: "EILSEQ", 85: "ERESTART",
	86: "ESTRPIPE", 87: "EUSERS", 88: "ENOTSOCK", 89: "EDESTADDRREQ", 90: "EMSGSIZE", 91: "EPROTOTYPE",
	92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT", 94: "ESOCKTNOSUPPORT", 95: "EOPNOTSUPP", 96: "EPFNOSUPPORT",
	97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH",
	102: "ENETRESET", 103: "ECONNABORTED", 104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN",
	107: "ENOTCONN", 108: "ESHUTDOWN", 109: "ETOOMANYREFS", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
	112: "EHOSTDOWN", 113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS", 116: "ESTALE",
	117: "EUCLEAN", 118: "ENOTNAM", 119: "ENAVAIL", 120: "EISNAM", 121: "EREMOTEIO", 122: "EDQUOT",
	123: "ENOMEDIUM", 124: "EMEDIUMTYPE", 125: "ECANCELED", 126: "ENOKEY", 127: "EKEYEXPIRED",
	128: "EKEYREVOKED", 129: "EKEYREJECTED", 130: "EOWNERDEAD", 131: "ENOTRECOVERABLE", 132: "ERFKILL",
	133: "EHWPOISON", 512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
	515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK",
}

// errnoName returns the name for a negative result, or "" if unknown.
func errnoName(res int64) string {
	if res >= 0 || -res >= int64(len(errnoNames)) {
		return ""
	}
	return errnoNames[-res]
}

// appendRes appends a result the way evt.res shows it: SUCCESS for
// non-negative values, the errno name (or the number) otherwise.
func appendRes(dst []byte, res int64) []byte {
	if res >= 0 {
		return append(dst, "SUCCESS"...)
	}
	if n := errnoName(res); n != "" {
		return append(dst, n...)
	}
	return strconv.AppendInt(dst, res, 10)
}

// capNames lists Linux capabilities by bit number.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// appendCaps appends the names of the capabilities set in c, separated by
// spaces, in bit order (libsinsp's rendering of thread.cap_*).
func appendCaps(dst []byte, c uint64) []byte {
	first := true
	for i, n := range capNames {
		if c&(1<<uint(i)) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		dst = append(dst, n...)
	}
	return dst
}

// Linux open(2) flag bits.
const (
	oAccMode   = 0o3
	oWronly    = 0o1
	oRdwr      = 0o2
	oCreat     = 0o100
	oExcl      = 0o200
	oTrunc     = 0o1000
	oAppend    = 0o2000
	oNonblock  = 0o4000
	oDsync     = 0o10000
	oDirect    = 0o40000
	oLargefile = 0o100000
	oDirectory = 0o200000
	oNofollow  = 0o400000
	oNoatime   = 0o1000000
	oCloexec   = 0o2000000
	oSync      = 0o4010000
	oPath      = 0o10000000
	oTmpfile   = 0o20200000
)

// appendOpenFlags renders open flags as libsinsp does, e.g.
// "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC". created adds O_F_CREATED.
func appendOpenFlags(dst []byte, f uint32, created bool) []byte {
	start := len(dst)
	add := func(n string) {
		if len(dst) > start {
			dst = append(dst, '|')
		}
		dst = append(dst, n...)
	}
	tmp := f&oTmpfile == oTmpfile
	if f&oLargefile != 0 {
		add("O_LARGEFILE")
	}
	if f&oDirectory != 0 && !tmp {
		add("O_DIRECTORY")
	}
	if f&oDirect != 0 {
		add("O_DIRECT")
	}
	if f&oTrunc != 0 {
		add("O_TRUNC")
	}
	sync := f&oSync == oSync
	if sync {
		add("O_SYNC")
	}
	if f&oNonblock != 0 {
		add("O_NONBLOCK")
	}
	if f&oExcl != 0 {
		add("O_EXCL")
	}
	if f&oDsync != 0 && !sync {
		add("O_DSYNC")
	}
	if f&oAppend != 0 {
		add("O_APPEND")
	}
	if f&oCreat != 0 {
		add("O_CREAT")
	}
	switch f & oAccMode {
	case oRdwr:
		add("O_RDWR")
	case oWronly:
		add("O_WRONLY")
	default:
		add("O_RDONLY")
	}
	if f&oCloexec != 0 {
		add("O_CLOEXEC")
	}
	if tmp {
		add("O_TMPFILE")
	}
	if f&oNofollow != 0 {
		add("O_NOFOLLOW")
	}
	if f&oNoatime != 0 {
		add("O_NOATIME")
	}
	if f&oPath != 0 {
		add("O_PATH")
	}
	if created {
		add("O_F_CREATED")
	}
	return dst
}

// modeNames are the permission bits in libsinsp's print order.
var modeNames = []nameVal{
	{"S_IXOTH", 0o1}, {"S_IWOTH", 0o2}, {"S_IROTH", 0o4},
	{"S_IXGRP", 0o10}, {"S_IWGRP", 0o20}, {"S_IRGRP", 0o40},
	{"S_IXUSR", 0o100}, {"S_IWUSR", 0o200}, {"S_IRUSR", 0o400},
	{"S_ISVTX", 0o1000}, {"S_ISGID", 0o2000}, {"S_ISUID", 0o4000},
}

// appendMode renders file mode bits ("S_IXUSR|S_IWUSR|S_IRUSR"), or the
// octal number ("0") when no named bit is set.
func appendMode(dst []byte, m uint32) []byte {
	if n := appendBits(dst, uint64(m), modeNames); len(n) > len(dst) {
		return n
	}
	if m == 0 {
		return append(dst, '0')
	}
	dst = append(dst, '0')
	return strconv.AppendUint(dst, uint64(m), 8)
}

// appendBits appends the names of every table entry whose bits are all set
// in v, separated by '|'. Matched bits are cleared so overlapping entries
// are not repeated.
func appendBits(dst []byte, v uint64, table []nameVal) []byte {
	start := len(dst)
	for _, nv := range table {
		if nv.val != 0 && v&nv.val == nv.val {
			if len(dst) > start {
				dst = append(dst, '|')
			}
			dst = append(dst, nv.name...)
			v &^= nv.val
		}
	}
	return dst
}

// appendEnum appends the name of the entry equal to v, or v in decimal.
func appendEnum(dst []byte, v int64, table []nameVal) []byte {
	for _, nv := range table {
		if int64(nv.val) == v {
			return append(dst, nv.name...)
		}
	}
	return strconv.AppendInt(dst, v, 10)
}

// appendFlagsOrNum appends the flag names of v, or its decimal value when
// no name matches (0 included).
func appendFlagsOrNum(dst []byte, v uint64, table []nameVal) []byte {
	if n := appendBits(dst, v, table); len(n) > len(dst) {
		return n
	}
	return strconv.AppendUint(dst, v, 10)
}

var ptraceRequests = []nameVal{
	{"PTRACE_TRACEME", 0}, {"PTRACE_PEEKTEXT", 1}, {"PTRACE_PEEKDATA", 2}, {"PTRACE_PEEKUSR", 3},
	{"PTRACE_POKETEXT", 4}, {"PTRACE_POKEDATA", 5}, {"PTRACE_POKEUSR", 6}, {"PTRACE_CONT", 7},
	{"PTRACE_KILL", 8}, {"PTRACE_SINGLESTEP", 9}, {"PTRACE_GETREGS", 12}, {"PTRACE_SETREGS", 13},
	{"PTRACE_GETFPREGS", 14}, {"PTRACE_SETFPREGS", 15}, {"PTRACE_ATTACH", 16}, {"PTRACE_DETACH", 17},
	{"PTRACE_GETFPXREGS", 18}, {"PTRACE_SETFPXREGS", 19}, {"PTRACE_SYSCALL", 24},
	{"PTRACE_SETOPTIONS", 0x4200}, {"PTRACE_GETEVENTMSG", 0x4201}, {"PTRACE_GETSIGINFO", 0x4202},
	{"PTRACE_SETSIGINFO", 0x4203}, {"PTRACE_GETREGSET", 0x4204}, {"PTRACE_SETREGSET", 0x4205},
	{"PTRACE_SEIZE", 0x4206}, {"PTRACE_INTERRUPT", 0x4207}, {"PTRACE_LISTEN", 0x4208},
	{"PTRACE_PEEKSIGINFO", 0x4209}, {"PTRACE_GETSIGMASK", 0x420a}, {"PTRACE_SETSIGMASK", 0x420b},
	{"PTRACE_SECCOMP_GET_FILTER", 0x420c}, {"PTRACE_SECCOMP_GET_METADATA", 0x420d},
	{"PTRACE_GET_SYSCALL_INFO", 0x420e},
}

var bpfCommands = []nameVal{
	{"BPF_MAP_CREATE", 0}, {"BPF_MAP_LOOKUP_ELEM", 1}, {"BPF_MAP_UPDATE_ELEM", 2},
	{"BPF_MAP_DELETE_ELEM", 3}, {"BPF_MAP_GET_NEXT_KEY", 4}, {"BPF_PROG_LOAD", 5},
	{"BPF_OBJ_PIN", 6}, {"BPF_OBJ_GET", 7}, {"BPF_PROG_ATTACH", 8}, {"BPF_PROG_DETACH", 9},
	{"BPF_PROG_TEST_RUN", 10}, {"BPF_PROG_GET_NEXT_ID", 11}, {"BPF_MAP_GET_NEXT_ID", 12},
	{"BPF_PROG_GET_FD_BY_ID", 13}, {"BPF_MAP_GET_FD_BY_ID", 14}, {"BPF_OBJ_GET_INFO_BY_FD", 15},
	{"BPF_PROG_QUERY", 16}, {"BPF_RAW_TRACEPOINT_OPEN", 17}, {"BPF_BTF_LOAD", 18},
	{"BPF_BTF_GET_FD_BY_ID", 19}, {"BPF_TASK_FD_QUERY", 20}, {"BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21},
	{"BPF_MAP_FREEZE", 22}, {"BPF_BTF_GET_NEXT_ID", 23}, {"BPF_MAP_LOOKUP_BATCH", 24},
	{"BPF_MAP_LOOKUP_AND_DELETE_BATCH", 25}, {"BPF_MAP_UPDATE_BATCH", 26}, {"BPF_MAP_DELETE_BATCH", 27},
	{"BPF_LINK_CREATE", 28}, {"BPF_LINK_UPDATE", 29}, {"BPF_LINK_GET_FD_BY_ID", 30},
	{"BPF_LINK_GET_NEXT_ID", 31}, {"BPF_ENABLE_STATS", 32}, {"BPF_ITER_CREATE", 33},
	{"BPF_LINK_DETACH", 34}, {"BPF_PROG_BIND_MAP", 35}, {"BPF_TOKEN_CREATE", 36},
}

var socketFamilies = []nameVal{
	{"AF_UNSPEC", 0}, {"AF_UNIX", 1}, {"AF_INET", 2}, {"AF_AX25", 3}, {"AF_IPX", 4},
	{"AF_APPLETALK", 5}, {"AF_NETROM", 6}, {"AF_BRIDGE", 7}, {"AF_ATMPVC", 8}, {"AF_X25", 9},
	{"AF_INET6", 10}, {"AF_ROSE", 11}, {"AF_DECnet", 12}, {"AF_NETBEUI", 13}, {"AF_SECURITY", 14},
	{"AF_KEY", 15}, {"AF_NETLINK", 16}, {"AF_PACKET", 17}, {"AF_ASH", 18}, {"AF_ECONET", 19},
	{"AF_ATMSVC", 20}, {"AF_RDS", 21}, {"AF_SNA", 22}, {"AF_IRDA", 23}, {"AF_PPPOX", 24},
	{"AF_WANPIPE", 25}, {"AF_LLC", 26}, {"AF_IB", 27}, {"AF_MPLS", 28}, {"AF_CAN", 29},
	{"AF_TIPC", 30}, {"AF_BLUETOOTH", 31}, {"AF_IUCV", 32}, {"AF_RXRPC", 33}, {"AF_ISDN", 34},
	{"AF_PHONET", 35}, {"AF_IEEE802154", 36}, {"AF_CAIF", 37}, {"AF_ALG", 38}, {"AF_NFC", 39},
	{"AF_VSOCK", 40}, {"AF_KCM", 41}, {"AF_QIPCRTR", 42}, {"AF_SMC", 43}, {"AF_XDP", 44},
}

var signalNames = []nameVal{
	{"SIGHUP", 1}, {"SIGINT", 2}, {"SIGQUIT", 3}, {"SIGILL", 4}, {"SIGTRAP", 5}, {"SIGABRT", 6},
	{"SIGBUS", 7}, {"SIGFPE", 8}, {"SIGKILL", 9}, {"SIGUSR1", 10}, {"SIGSEGV", 11}, {"SIGUSR2", 12},
	{"SIGPIPE", 13}, {"SIGALRM", 14}, {"SIGTERM", 15}, {"SIGSTKFLT", 16}, {"SIGCHLD", 17},
	{"SIGCONT", 18}, {"SIGSTOP", 19}, {"SIGTSTP", 20}, {"SIGTTIN", 21}, {"SIGTTOU", 22},
	{"SIGURG", 23}, {"SIGXCPU", 24}, {"SIGXFSZ", 25}, {"SIGVTALRM", 26}, {"SIGPROF", 27},
	{"SIGWINCH", 28}, {"SIGIO", 29}, {"SIGPWR", 30}, {"SIGSYS", 31},
}

var cloneNSFlags = []nameVal{
	{"CLONE_FILES", 0x400}, {"CLONE_FS", 0x200}, {"CLONE_NEWCGROUP", 0x02000000},
	{"CLONE_NEWUTS", 0x04000000}, {"CLONE_NEWIPC", 0x08000000}, {"CLONE_NEWUSER", 0x10000000},
	{"CLONE_NEWPID", 0x20000000}, {"CLONE_NEWNET", 0x40000000}, {"CLONE_NEWNS", 0x00020000},
	{"CLONE_NEWTIME", 0x80}, {"CLONE_SYSVSEM", 0x40000},
}

var unlinkatFlags = []nameVal{{"AT_REMOVEDIR", 0x200}}

var linkatFlags = []nameVal{{"AT_SYMLINK_FOLLOW", 0x400}, {"AT_EMPTY_PATH", 0x1000}}

var renameat2Flags = []nameVal{{"RENAME_NOREPLACE", 1}, {"RENAME_EXCHANGE", 2}, {"RENAME_WHITEOUT", 4}}

var memfdFlags = []nameVal{{"MFD_CLOEXEC", 1}, {"MFD_ALLOW_SEALING", 2}, {"MFD_HUGETLB", 4}, {"MFD_NOEXEC_SEAL", 8}, {"MFD_EXEC", 0x10}}

var prctlOptions = []nameVal{
	{"PR_SET_PDEATHSIG", 1}, {"PR_GET_PDEATHSIG", 2}, {"PR_GET_DUMPABLE", 3}, {"PR_SET_DUMPABLE", 4},
	{"PR_SET_KEEPCAPS", 8}, {"PR_SET_NAME", 15}, {"PR_GET_NAME", 16}, {"PR_GET_SECCOMP", 21},
	{"PR_SET_SECCOMP", 22}, {"PR_CAPBSET_READ", 23}, {"PR_CAPBSET_DROP", 24},
	{"PR_SET_SECUREBITS", 28}, {"PR_SET_CHILD_SUBREAPER", 36}, {"PR_SET_NO_NEW_PRIVS", 38},
	{"PR_GET_NO_NEW_PRIVS", 39}, {"PR_CAP_AMBIENT", 47},
}

var mountFlags = []nameVal{
	{"RDONLY", 1}, {"NOSUID", 2}, {"NODEV", 4}, {"NOEXEC", 8}, {"SYNCHRONOUS", 16}, {"REMOUNT", 32},
	{"MANDLOCK", 64}, {"DIRSYNC", 128}, {"NOATIME", 1024}, {"NODIRATIME", 2048}, {"BIND", 4096},
	{"MOVE", 8192}, {"REC", 16384}, {"SILENT", 32768}, {"POSIXACL", 1 << 16}, {"UNBINDABLE", 1 << 17},
	{"PRIVATE", 1 << 18}, {"SLAVE", 1 << 19}, {"SHARED", 1 << 20}, {"RELATIME", 1 << 21},
	{"KERNMOUNT", 1 << 22}, {"I_VERSION", 1 << 23}, {"STRICTATIME", 1 << 24}, {"LAZYTIME", 1 << 25},
}

var umountFlags = []nameVal{{"FORCE", 1}, {"DETACH", 2}, {"EXPIRE", 4}, {"NOFOLLOW", 8}}
