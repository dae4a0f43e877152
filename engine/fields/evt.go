package fields

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// eventParams is the shared, read-only parameter table.
var eventParams = sync.OnceValue(buildParams)

// firstMetaEvent is the first non-syscall event type.
var firstMetaEvent = driver.MustEventType("procexit")

// eventInfo holds per-event-type classification used by evt.category and
// the evt.is_io* fields.
type eventInfo struct {
	category string
	ioRead   bool
	ioWrite  bool
	wait     bool
}

var eventInfos = sync.OnceValue(func() *[driver.NumEventTypes]eventInfo {
	var t [driver.NumEventTypes]eventInfo
	set := func(cat string, names ...string) {
		for _, n := range names {
			if et, ok := driver.EventTypeByName(n); ok {
				t[et].category = cat
			}
		}
	}
	for i := 1; i < driver.NumEventTypes; i++ {
		if driver.EventType(i) < firstMetaEvent {
			t[i].category = "other"
		} else {
			t[i].category = "internal"
		}
	}
	set("file", "open", "openat", "openat2", "creat", "open_by_handle_at", "close", "stat", "fstat", "lstat",
		"newfstatat", "statx", "lseek", "access", "faccessat", "faccessat2", "truncate", "ftruncate", "getdents",
		"getdents64", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "unlink",
		"unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown",
		"fchown", "lchown", "fchownat", "umask", "mknod", "mknodat", "flock", "fsync", "fdatasync", "dup", "dup2",
		"dup3", "fcntl", "ioctl", "utime", "utimes", "utimensat", "futimesat", "chdir", "fchdir", "getcwd",
		"chroot", "mount", "umount2", "inotify_init", "inotify_init1", "inotify_add_watch", "memfd_create",
		"splice", "sendfile", "copy_file_range", "fallocate", "setxattr", "getxattr", "fsetxattr", "fgetxattr")
	set("net", "socket", "connect", "accept", "accept4", "bind", "listen", "shutdown", "getsockname",
		"getpeername", "socketpair", "setsockopt", "getsockopt", "sendmmsg", "recvmmsg")
	set("process", "execve", "execveat", "clone", "clone3", "fork", "vfork", "exit", "exit_group", "kill",
		"tkill", "tgkill", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setns",
		"unshare", "ptrace", "prctl", "capset", "getpid", "gettid", "setsid", "setpgid", "procexit",
		"seccomp", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "setrlimit", "prlimit64")
	set("memory", "mmap", "munmap", "mprotect", "brk", "mremap", "madvise", "mlock", "munlock", "userfaultfd")
	set("IPC", "pipe", "pipe2", "eventfd", "eventfd2", "signalfd", "signalfd4", "shmget", "shmat", "msgget",
		"semget", "futex", "mq_open")
	set("system", "init_module", "finit_module", "delete_module", "bpf", "reboot", "sethostname", "syslog",
		"kexec_load", "kexec_file_load", "perf_event_open")
	set("sleep", "nanosleep", "clock_nanosleep")
	set("signal", "rt_sigaction", "rt_sigprocmask", "signaldeliver")
	set("time", "gettimeofday", "clock_gettime", "time")
	set("wait", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "wait4", "waitid")
	for _, n := range []string{"read", "pread64", "readv", "preadv", "recvfrom", "recvmsg"} {
		if et, ok := driver.EventTypeByName(n); ok {
			t[et].ioRead = true
		}
	}
	for _, n := range []string{"write", "pwrite64", "writev", "pwritev", "sendto", "sendmsg"} {
		if et, ok := driver.EventTypeByName(n); ok {
			t[et].ioWrite = true
		}
	}
	for _, n := range []string{"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "nanosleep", "clock_nanosleep", "wait4", "waitid", "futex", "pause"} {
		if et, ok := driver.EventTypeByName(n); ok {
			t[et].wait = true
		}
	}
	return &t
})

func evtType(t driver.EventType) driver.EventType {
	if int(t) >= driver.NumEventTypes {
		return driver.EventUnknown
	}
	return t
}

func isOpenType(t driver.EventType) bool {
	switch t.String() {
	case "open", "openat", "openat2", "open_by_handle_at":
		return true
	}
	return false
}

// timeField formats the event time with layout, in UTC when utc is set
// and in local time otherwise.
func timeField(layout string, utc bool) func() Extractor {
	return func() Extractor {
		var sc scratch
		return strX(func(ev *driver.Event) (string, bool) {
			t := time.Unix(0, ev.Time)
			if utc {
				t = t.UTC()
			}
			return sc.str(t.AppendFormat(sc.reset(), layout)), true
		})
	}
}

func evtFields() []*Field {
	const c = "evt"
	d := func(name string, t Type, fl Flags, desc string, x Extractor) *Field {
		return def(c, name, t, fl, desc, stat(x))
	}
	infos := eventInfos()
	ioFlag := func(get func(*eventInfo) bool) Extractor {
		return numX(TypeBool, func(ev *driver.Event) (int64, bool) { return boolNum(get(&infos[evtType(ev.Type)])), true })
	}
	openTypes := make([]bool, driver.NumEventTypes)
	for i := range openTypes {
		openTypes[i] = isOpenType(driver.EventType(i))
	}
	creatType := driver.MustEventType("creat")
	isOpen := func(ev *driver.Event) bool { return openTypes[evtType(ev.Type)] }
	hasRes := func(ev *driver.Event) bool { return ev.Has.Has(driver.HasRes) }
	zero := func(t Type) Extractor { return numX(t, func(*driver.Event) (int64, bool) { return 0, true }) }
	return []*Field{
		d("evt.latency", TypeRelTime, Deprecated, "Deprecated; always 0.", zero(TypeRelTime)),
		d("evt.latency.s", TypeRelTime, Deprecated, "Deprecated; always 0.", zero(TypeRelTime)),
		d("evt.latency.ns", TypeRelTime, Deprecated, "Deprecated; always 0.", zero(TypeRelTime)),
		d("evt.latency.human", TypeString, Deprecated, "Deprecated; always \"0ns\".", strX(func(*driver.Event) (string, bool) { return "0ns", true })),
		def(c, "evt.outputtime", TypeString, PrintOnly, "Event time as printed at the start of text alerts (same as evt.time).", timeField("15:04:05.000000000", false)),
		d("evt.dir", TypeString, Deprecated, "Deprecated event direction; always \"<\" because Vigil only produces exit events.", strX(func(*driver.Event) (string, bool) { return "<", true })),
		d("evt.type", TypeString, 0, "Name of the event: the syscall name (open, execve, connect, ...) or a meta event (procexit, container, ...).",
			strX(func(ev *driver.Event) (string, bool) { return ev.Type.String(), true })),
		{Name: "evt.type.is", Class: c, Type: TypeUint, Flags: ArgRequired,
			Desc: "1 when the event is of the type given as argument (evt.type.is.open), 0 otherwise.",
			Bind: func(arg string, hasArg bool) (Extractor, error) {
				et, ok := driver.EventTypeByName(arg)
				if !hasArg || !ok {
					return Extractor{}, fmt.Errorf("field evt.type.is: unknown event type %q", arg)
				}
				return numX(TypeUint, func(ev *driver.Event) (int64, bool) { return boolNum(ev.Type == et), true }), nil
			}},
		d("syscall.type", TypeString, 0, "Syscall name for syscall events; unavailable for meta events.",
			strX(func(ev *driver.Event) (string, bool) {
				if ev.Type == driver.EventUnknown || ev.Type >= firstMetaEvent {
					return "", false
				}
				return ev.Type.String(), true
			})),
		d("evt.category", TypeString, 0, "Broad class of the event: file, net, process, memory, IPC, system, sleep, signal, time, wait, internal or other.",
			strX(func(ev *driver.Event) (string, bool) {
				cat := infos[evtType(ev.Type)].category
				if infos[evtType(ev.Type)].ioRead || infos[evtType(ev.Type)].ioWrite {
					if fi := fdinfo(ev); fi != nil {
						switch fi.Type {
						case driver.FDFile, driver.FDDirectory, driver.FDMemfd:
							return "file", true
						case driver.FDIPv4, driver.FDIPv6:
							return "net", true
						case driver.FDUnix, driver.FDPipe, driver.FDEvent, driver.FDSignalFD, driver.FDInotify, driver.FDUserfaultFD:
							return "ipc", true
						}
					}
					return "unknown", true
				}
				return cat, cat != ""
			})),
		d("evt.cpu", TypeInt, 0, "CPU the event happened on.",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) { return int64(ev.CPU), ev.Has.Has(driver.HasCPU) })),
		def(c, "evt.args", TypeString, 0, "Every argument of the event as name=value pairs, with the decoded form in parentheses where libsinsp shows one.", bindArgsAll),
		{Name: "evt.arg", Class: c, Type: TypeString, Flags: ArgRequired,
			Desc: "One argument of the event, by name (evt.arg.flags, evt.arg[name]) or by position (evt.arg[0]), rendered as Falco shows it: flags and modes as symbolic names (O_RDWR|O_CREAT, S_ISUID), errors as errno names, known descriptors as <type>name.",
			Bind: bindEvtArg},
		{Name: "evt.rawarg", Class: c, Type: TypeInt, Flags: ArgRequired | NoRHS | NoTransform,
			Desc: "One argument of the event by name, as its raw value (numbers stay numbers); the bound extractor's type depends on the argument.",
			Bind: bindRawArg},
		def(c, "evt.info", TypeString, 0, "Same as evt.args.", bindArgsAll),
		d("evt.buffer", TypeBytes, 0, "Data buffer of I/O events (read, write, sendto, recvfrom, ...), limited by the capture length; compare with contains or bcontains.",
			Extractor{Type: TypeBytes, Bytes: func(ev *driver.Event) ([]byte, bool) { return ev.Data, ev.Has.Has(driver.HasData) }}),
		d("evt.buflen", TypeUint, 0, "Length of the I/O data transferred by the event (its non-negative result).",
			numX(TypeUint, func(ev *driver.Event) (int64, bool) {
				if !ev.Has.Has(driver.HasData) {
					return 0, false
				}
				if hasRes(ev) && ev.Res >= 0 {
					return ev.Res, true
				}
				return int64(len(ev.Data)), true
			})),
		def(c, "evt.res", TypeString, 0, "Result of the event as text: SUCCESS for non-negative results, otherwise the errno name (ENOENT, EACCES, ...).", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				if !hasRes(ev) {
					return "", false
				}
				if ev.Res >= 0 {
					return "SUCCESS", true
				}
				return sc.str(appendRes(sc.reset(), ev.Res)), true
			})
		}),
		d("evt.rawres", TypeInt, 0, "Result of the event as a number (a negative errno on failure).",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) { return ev.Res, hasRes(ev) })),
		d("evt.failed", TypeBool, 0, "True when the event returned an error.",
			numX(TypeBool, func(ev *driver.Event) (int64, bool) { return boolNum(ev.Res < 0), hasRes(ev) })),
		d("evt.is_io", TypeBool, 0, "True for events that read or write data through a descriptor.", ioFlag(func(i *eventInfo) bool { return i.ioRead || i.ioWrite })),
		d("evt.is_io_read", TypeBool, 0, "True for events that read data through a descriptor.", ioFlag(func(i *eventInfo) bool { return i.ioRead })),
		d("evt.is_io_write", TypeBool, 0, "True for events that write data through a descriptor.", ioFlag(func(i *eventInfo) bool { return i.ioWrite })),
		d("evt.io_dir", TypeString, 0, "\"read\" or \"write\" for I/O events; unavailable otherwise.",
			strX(func(ev *driver.Event) (string, bool) {
				switch i := &infos[evtType(ev.Type)]; {
				case i.ioWrite:
					return "write", true
				case i.ioRead:
					return "read", true
				}
				return "", false
			})),
		d("evt.is_wait", TypeBool, 0, "True for events that make the thread wait (sleep, poll, select, ...).", ioFlag(func(i *eventInfo) bool { return i.wait })),
		d("evt.count", TypeUint, 0, "Always 1; useful for counting events.", numX(TypeUint, func(*driver.Event) (int64, bool) { return 1, true })),
		d("evt.count.error", TypeUint, 0, "1 when the event returned an error, 0 otherwise.",
			numX(TypeUint, func(ev *driver.Event) (int64, bool) { return boolNum(ev.Res < 0), hasRes(ev) })),
		d("evt.count.exit", TypeUint, 0, "Always 1: every Vigil event is an exit event.", numX(TypeUint, func(*driver.Event) (int64, bool) { return 1, true })),
		{Name: "evt.abspath", Class: c, Type: TypeString, Flags: ArgRequired,
			Desc: "Absolute path of a *at syscall's path argument, resolved against its directory descriptor or the working directory: evt.abspath.src / evt.abspath.dst for the two paths of renameat and linkat, evt.abspath[0..2] likewise.",
			Bind: bindAbsPath},
		d("evt.is_open_read", TypeBool, 0, "True for open, openat, openat2 and open_by_handle_at events that opened the file for reading.",
			numX(TypeBool, func(ev *driver.Event) (int64, bool) {
				if !isOpen(ev) {
					return 0, true
				}
				if !ev.Has.Has(driver.HasFlags) {
					return 0, false
				}
				return boolNum(ev.Flags&oAccMode != oWronly), true
			})),
		d("evt.is_open_write", TypeBool, 0, "True for open, openat, openat2 and open_by_handle_at events that opened the file for writing.",
			numX(TypeBool, func(ev *driver.Event) (int64, bool) {
				if !isOpen(ev) {
					return 0, true
				}
				if !ev.Has.Has(driver.HasFlags) {
					return 0, false
				}
				acc := ev.Flags & oAccMode
				return boolNum(acc == oWronly || acc == oRdwr), true
			})),
		d("evt.is_open_exec", TypeBool, 0, "True for open-family or creat events that create a file with an execute permission bit.",
			numX(TypeBool, func(ev *driver.Event) (int64, bool) {
				const exec = 0o111
				switch {
				case ev.Type == creatType:
					if !ev.Has.Has(driver.HasMode) {
						return 0, false
					}
					return boolNum(ev.Mode&exec != 0), true
				case isOpen(ev):
					if !ev.Has.Has(driver.HasFlags) {
						return 0, false
					}
					if ev.Flags&(oCreat|oTmpfile&^oDirectory) == 0 {
						return 0, true
					}
					if !ev.Has.Has(driver.HasMode) {
						return 0, false
					}
					return boolNum(ev.Mode&exec != 0), true
				}
				return 0, true
			})),
		d("evt.is_open_create", TypeBool, 0, "True for open-family events that created the file (needs the driver to report creation; O_TMPFILE opens count when they succeed).",
			numX(TypeBool, func(ev *driver.Event) (int64, bool) {
				if !isOpen(ev) {
					return 0, true
				}
				if ev.Has.Has(driver.HasCreated) && ev.Created {
					return 1, true
				}
				if ev.Has.Has(driver.HasFlags) && ev.Flags&oTmpfile == oTmpfile && hasRes(ev) && ev.Res >= 0 {
					return 1, true
				}
				return 0, ev.Has.Has(driver.HasCreated)
			})),
		d("evt.num", TypeUint, 0, "Sequence number of the event.",
			numX(TypeUint, func(ev *driver.Event) (int64, bool) { return int64(ev.Num), ev.Has.Has(driver.HasNum) })),
		def(c, "evt.time", TypeString, 0, "Event time in local time as HH:MM:SS.nnnnnnnnn.", timeField("15:04:05.000000000", false)),
		def(c, "evt.time.s", TypeString, 0, "Event time in local time as HH:MM:SS.", timeField("15:04:05", false)),
		def(c, "evt.time.iso8601", TypeString, 0, "Event time in UTC, ISO 8601 with nanoseconds (2006-01-02T15:04:05.000000000Z).", timeField("2006-01-02T15:04:05.000000000Z", true)),
		def(c, "evt.datetime", TypeString, 0, "Event date and local time as YYYY-MM-DD HH:MM:SS.nnnnnnnnn.", timeField("2006-01-02 15:04:05.000000000", false)),
		def(c, "evt.datetime.s", TypeString, 0, "Event date and local time as YYYY-MM-DD HH:MM:SS.", timeField("2006-01-02 15:04:05", false)),
		d("evt.rawtime", TypeAbsTime, 0, "Event time in nanoseconds since the epoch.", numX(TypeAbsTime, func(ev *driver.Event) (int64, bool) { return ev.Time, true })),
		d("evt.rawtime.s", TypeAbsTime, 0, "Whole seconds of the event time since the epoch.", numX(TypeAbsTime, func(ev *driver.Event) (int64, bool) { return ev.Time / 1e9, true })),
		d("evt.rawtime.ns", TypeAbsTime, 0, "Nanosecond part of the event time.", numX(TypeAbsTime, func(ev *driver.Event) (int64, bool) { return ev.Time % 1e9, true })),
		d("evt.source", TypeString, 0, "Event source; always \"syscall\".", strX(func(*driver.Event) (string, bool) { return "syscall", true })),
		d("evt.plugininfo", TypeString, 0, "Summary of a plugin event as its plugin formats it; unavailable for syscall events, the only source Vigil has.",
			strX(func(*driver.Event) (string, bool) { return "", false })),
		d("evt.is_async", TypeBool, 0, "True for asynchronous meta events; Vigil produces none, so always false.", numX(TypeBool, func(*driver.Event) (int64, bool) { return 0, true })),
		{Name: "evt.hostname", Class: c, Type: TypeString,
			Desc: "Host name of the machine: $FALCO_HOSTNAME when set, otherwise the kernel's host name, read when the field is bound.",
			Bind: fixed("evt.hostname", func() Extractor {
				h := os.Getenv("FALCO_HOSTNAME")
				if h == "" {
					h, _ = os.Hostname()
				}
				return strX(func(*driver.Event) (string, bool) { return h, h != "" })
			})},
	}
}

// bindArgsAll binds evt.args / evt.info.
func bindArgsAll() Extractor {
	tab := eventParams()
	var sc scratch
	return strX(func(ev *driver.Event) (string, bool) {
		ps := tab[evtType(ev.Type)]
		b := sc.reset()
		for _, p := range ps {
			if p.kind == akNone || !argAvail(p.kind, ev) {
				continue
			}
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, p.name...)
			b = append(b, '=')
			b = appendArgWithRaw(b, p.kind, ev)
		}
		return sc.str(b), true
	})
}

// appendArgWithRaw renders "raw(decoded)" for arguments libsinsp decodes,
// the plain value otherwise.
func appendArgWithRaw(dst []byte, k argKind, ev *driver.Event) []byte {
	switch k {
	case akOpenFlags, akMountFlags, akUmountFlags, akUnlinkatFlags, akLinkatFlags, akRenameFlags,
		akMemfdFlags, akNSFlags, akSignal, akBPFCmd, akPrctlOpt, akSockDomain, akPtraceReq:
		dst = strconv.AppendInt(dst, argNum(k, ev), 10)
	case akMode:
		dst = append(dst, '0')
		dst = strconv.AppendUint(dst, uint64(ev.Mode), 8)
	case akUID:
		if !ev.Has.Has(driver.HasUIDName) {
			return strconv.AppendUint(dst, uint64(ev.UID), 10)
		}
		dst = strconv.AppendUint(dst, uint64(ev.UID), 10)
	case akRes, akResFD, akFD, akDirFD:
		mark := len(dst)
		dst = strconv.AppendInt(dst, argNum(k, ev), 10)
		raw := len(dst)
		dst = append(dst, '(')
		dst = appendArg(dst, k, ev)
		if string(dst[raw+1:]) == string(dst[mark:raw]) {
			return dst[:raw]
		}
		return append(dst, ')')
	default:
		return appendArg(dst, k, ev)
	}
	dst = append(dst, '(')
	dst = appendArg(dst, k, ev)
	return append(dst, ')')
}

// bindEvtArg binds evt.arg[name|N]: the slot table is computed once here,
// so the getter does one array index per event.
func bindEvtArg(arg string, hasArg bool) (Extractor, error) {
	if !hasArg || arg == "" {
		return Extractor{}, fmt.Errorf("field evt.arg requires an argument name or index")
	}
	slots, err := argSlots("evt.arg", arg)
	if err != nil {
		return Extractor{}, err
	}
	var sc scratch
	return strX(func(ev *driver.Event) (string, bool) {
		k := slots[evtType(ev.Type)]
		if k == akNone || !argAvail(k, ev) {
			return "", false
		}
		switch k {
		case akPath, akOldPath, akNewPath, akName, akMountSrc, akMountTarget, akMountType, akExe, akComm, akCwd, akExePath:
			return argStr(k, ev), true
		}
		return sc.str(appendArg(sc.reset(), k, ev)), true
	}), nil
}

// argSlots resolves an argument name or index for every event type.
func argSlots(field, arg string) (*[driver.NumEventTypes]argKind, error) {
	tab := eventParams()
	var slots [driver.NumEventTypes]argKind
	found := false
	idx := -1
	if isIndex(arg) {
		n, err := parseIndex(field, arg)
		if err != nil {
			return nil, err
		}
		idx = n
	}
	for t := range tab {
		for i, p := range tab[t] {
			if (idx >= 0 && i == idx) || (idx < 0 && p.name == arg) {
				slots[t] = p.kind
				found = true
				break
			}
		}
	}
	if !found && idx < 0 {
		return nil, fmt.Errorf("field %s: no event type has an argument named %q", field, arg)
	}
	return &slots, nil
}

// bindRawArg binds evt.rawarg[name]: the raw value, typed after the first
// event type defining the argument.
func bindRawArg(arg string, hasArg bool) (Extractor, error) {
	if !hasArg || arg == "" || isIndex(arg) {
		return Extractor{}, fmt.Errorf("field evt.rawarg requires an argument name")
	}
	slots, err := argSlots("evt.rawarg", arg)
	if err != nil {
		return Extractor{}, err
	}
	t := TypeInt
	for _, k := range slots {
		if k != akNone {
			t = argRawType(k)
			break
		}
	}
	get := func(ev *driver.Event) (argKind, bool) {
		k := slots[evtType(ev.Type)]
		if k == akNone || argRawType(k) != t || !argAvail(k, ev) {
			return akNone, false
		}
		return k, true
	}
	switch t {
	case TypeString, TypeFSPath:
		var sc scratch
		return Extractor{Type: t, Str: func(ev *driver.Event) (string, bool) {
			k, ok := get(ev)
			if !ok {
				return "", false
			}
			switch k {
			case akEnv, akExecArgs, akTuple, akSockAddr:
				return sc.str(appendArg(sc.reset(), k, ev)), true
			}
			return argStr(k, ev), true
		}}, nil
	case TypeBytes:
		return Extractor{Type: t, Bytes: func(ev *driver.Event) ([]byte, bool) {
			if _, ok := get(ev); !ok {
				return nil, false
			}
			return ev.Data, true
		}}, nil
	}
	return numX(t, func(ev *driver.Event) (int64, bool) {
		k, ok := get(ev)
		if !ok {
			return 0, false
		}
		return argNum(k, ev), true
	}), nil
}

// absPathSlots returns, for every event type, the argument evt.abspath
// with argument arg reads (akNone for types it does not apply to).
func absPathSlots(arg string, hasArg bool) (*[driver.NumEventTypes]argKind, error) {
	dst := false
	switch arg {
	case "src", "0", "1":
	case "dst", "2":
		dst = true
	default:
		if hasArg {
			return nil, fmt.Errorf("field evt.abspath: argument must be src or dst, got %q", arg)
		}
	}
	two := map[string]bool{"renameat": true, "renameat2": true, "linkat": true}
	newOnly := map[string]bool{"symlinkat": true}
	one := map[string]bool{"openat": true, "openat2": true, "unlinkat": true, "mkdirat": true, "fchmodat": true, "fchownat": true, "open_by_handle_at": true}
	var sel [driver.NumEventTypes]argKind
	for i := 1; i < driver.NumEventTypes; i++ {
		n := driver.EventType(i).String()
		switch {
		case two[n] && dst, newOnly[n]:
			sel[i] = akNewPath
		case two[n]:
			sel[i] = akOldPath
		case one[n]:
			sel[i] = akPath
		}
	}
	return &sel, nil
}

// bindAbsPath binds evt.abspath[src|dst|0|1|2].
func bindAbsPath(arg string, hasArg bool) (Extractor, error) {
	sel, err := absPathSlots(arg, hasArg)
	if err != nil {
		return Extractor{}, err
	}
	var sc scratch
	return strX(func(ev *driver.Event) (string, bool) {
		k := sel[evtType(ev.Type)]
		if k == akNone || !argAvail(k, ev) {
			return "", false
		}
		pth := argStr(k, ev)
		if len(pth) > 0 && pth[0] == '/' {
			return pth, true
		}
		if !ev.Has.Has(driver.HasDirFD) || ev.DirFD != -100 {
			return "", false
		}
		pr := ev.Proc
		if pr == nil || !pr.Has.Has(driver.ProcHasCwd) {
			return "", false
		}
		b := append(sc.reset(), pr.Cwd...)
		if len(b) > 0 && b[len(b)-1] != '/' {
			b = append(b, '/')
		}
		return sc.str(append(b, pth...)), true
	}), nil
}
