package fields

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/driver"
)

// maxAncestors bounds ancestor walks, protecting against a cyclic chain.
const maxAncestors = 64

// ancestor returns the n-th ancestor of p (0 = p itself), or nil.
func ancestor(p *driver.Process, n int) *driver.Process {
	for ; n > 0 && p != nil; n-- {
		p = p.Parent
	}
	return p
}

// procGet builds a string getter reading process level lvl (0 = the
// event's process, 1 = its parent, ...).
func procGet(lvl int, bit driver.Mask, get func(*driver.Process) string) func(*driver.Event) (string, bool) {
	return func(ev *driver.Event) (string, bool) {
		p := ancestor(ev.Proc, lvl)
		if p == nil || !p.Has.Has(bit) {
			return "", false
		}
		return get(p), true
	}
}

func procNum(t Type, lvl int, bit driver.Mask, get func(*driver.Process) int64) Extractor {
	return numX(t, func(ev *driver.Event) (int64, bool) {
		p := ancestor(ev.Proc, lvl)
		if p == nil || !p.Has.Has(bit) {
			return 0, false
		}
		return get(p), true
	})
}

func procBool(bit driver.Mask, get func(*driver.Process) bool) Extractor {
	return procNum(TypeBool, 0, bit, func(p *driver.Process) int64 { return boolNum(get(p)) })
}

// appendCmdline appends name + " " + args (libsinsp's proc.cmdline).
func appendCmdline(dst []byte, p *driver.Process) []byte {
	dst = append(dst, p.Name...)
	for _, a := range p.Args {
		dst = append(dst, ' ')
		dst = append(dst, a...)
	}
	return dst
}

func appendJoined(dst []byte, ss []string) []byte {
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, s...)
	}
	return dst
}

func cmdlineAvail(p *driver.Process) bool {
	return p != nil && p.Has.Has(driver.ProcHasName|driver.ProcHasArgs)
}

// cmdlineAt builds proc.cmdline for ancestor level lvl.
func cmdlineAt(lvl int) func() Extractor {
	return func() Extractor {
		var sc scratch
		return strX(func(ev *driver.Event) (string, bool) {
			p := ancestor(ev.Proc, lvl)
			if !cmdlineAvail(p) {
				return "", false
			}
			return sc.str(appendCmdline(sc.reset(), p)), true
		})
	}
}

// envValue returns the value of key in env ("" when absent).
func envValue(env []string, key string) string {
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}

// ancestorAttr describes one attribute readable on every ancestor.
type ancestorAttr struct {
	bit    driver.Mask
	str    func(*driver.Process) string               // plain string attributes
	render func(dst []byte, p *driver.Process) []byte // computed attributes (cmdline, args, env)
	num    func(*driver.Process) int64                // numeric attributes (pid)
}

func (a *ancestorAttr) avail(p *driver.Process) bool {
	return p != nil && p.Has.Has(a.bit)
}

// bindAncestor binds proc.aname and friends: with an index N the attribute
// of the N-th ancestor (0 = the process itself); without one, the values
// of every ancestor from the parent up, for "any ancestor" matching.
func bindAncestor(name string, t Type, a ancestorAttr) binder {
	return func(arg string, hasArg bool) (Extractor, error) {
		if hasArg {
			n, err := parseIndex(name, arg)
			if err != nil {
				return Extractor{}, err
			}
			if a.num != nil {
				return procNum(t, n, a.bit, a.num), nil
			}
			if a.str != nil {
				return strX(procGet(n, a.bit, a.str)), nil
			}
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				p := ancestor(ev.Proc, n)
				if !a.avail(p) {
					return "", false
				}
				return sc.str(a.render(sc.reset(), p)), true
			}), nil
		}
		if a.render == nil {
			return Extractor{Type: t, Multi: func(ev *driver.Event, dst []Value) []Value {
				if ev.Proc == nil {
					return dst
				}
				i := 0
				for p := ev.Proc.Parent; p != nil && i < maxAncestors; p, i = p.Parent, i+1 {
					switch {
					case !a.avail(p):
					case a.num != nil:
						dst = append(dst, Value{Num: a.num(p)})
					default:
						dst = append(dst, Value{Str: a.str(p)})
					}
				}
				return dst
			}}, nil
		}
		// Computed attributes render every ancestor into one buffer and
		// slice the strings out of it afterwards (the buffer may move
		// while growing). Value.Num temporarily holds each end offset.
		var sc scratch
		return Extractor{Type: t, Multi: func(ev *driver.Event, dst []Value) []Value {
			if ev.Proc == nil {
				return dst
			}
			b := sc.reset()
			start := len(dst)
			i := 0
			for p := ev.Proc.Parent; p != nil && i < maxAncestors; p, i = p.Parent, i+1 {
				if a.avail(p) {
					b = a.render(b, p)
					dst = append(dst, Value{Num: int64(len(b))})
				}
			}
			sc.b = b
			all := bytesString(b)
			off := 0
			for j := start; j < len(dst); j++ {
				end := int(dst[j].Num)
				dst[j] = Value{Str: all[off:end]}
				off = end
			}
			return dst
		}}, nil
	}
}

func procFields() []*Field {
	const c = "proc"
	d := func(name string, t Type, fl Flags, desc string, x Extractor) *Field {
		return def(c, name, t, fl, desc, stat(x))
	}
	name := func(p *driver.Process) string { return p.Name }
	exe := func(p *driver.Process) string { return p.Exe }
	exepath := func(p *driver.Process) string { return p.ExePath }
	const anc = ArgAllowed | NoRHS | NoTransform | Any
	return []*Field{
		d("proc.exe", TypeString, 0, "First command-line argument (argv[0]) of the process, usually the program name or path as invoked.", strX(procGet(0, driver.ProcHasExe, exe))),
		d("proc.pexe", TypeString, 0, "argv[0] of the parent process.", strX(procGet(1, driver.ProcHasExe, exe))),
		{Name: "proc.aexe", Class: c, Type: TypeString, Flags: anc,
			Desc: "argv[0] of an ancestor: proc.aexe[N] reads level N (0 = the process, 1 = its parent); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.aexe", TypeString, ancestorAttr{bit: driver.ProcHasExe, str: exe})},
		d("proc.exepath", TypeString, 0, "Full path of the executable file of the process, symlinks resolved.", strX(procGet(0, driver.ProcHasExePath, exepath))),
		d("proc.pexepath", TypeString, 0, "Executable path of the parent process.", strX(procGet(1, driver.ProcHasExePath, exepath))),
		{Name: "proc.aexepath", Class: c, Type: TypeString, Flags: anc,
			Desc: "Executable path of an ancestor: proc.aexepath[N] reads level N (0 = the process); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.aexepath", TypeString, ancestorAttr{bit: driver.ProcHasExePath, str: exepath})},
		d("proc.name", TypeString, 0, "Name of the process (the kernel's comm, at most 15 characters).", strX(procGet(0, driver.ProcHasName, name))),
		d("proc.pname", TypeString, 0, "Name (comm) of the parent process.", strX(procGet(1, driver.ProcHasName, name))),
		{Name: "proc.aname", Class: c, Type: TypeString, Flags: anc,
			Desc: "Name (comm) of an ancestor: proc.aname[N] reads level N (0 = the process, 1 = its parent, 2 = the grandparent); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.aname", TypeString, ancestorAttr{bit: driver.ProcHasName, str: name})},
		{Name: "proc.args", Class: c, Type: TypeString, Flags: ArgAllowed,
			Desc: "Command-line arguments after argv[0], joined by spaces; proc.args[N] is the N-th of them (0-based).",
			Bind: bindArgs},
		{Name: "proc.aargs", Class: c, Type: TypeString, Flags: ArgAllowed | Any,
			Desc: "Arguments (as proc.args) of an ancestor: proc.aargs[N] reads level N (0 = the process); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.aargs", TypeString, ancestorAttr{bit: driver.ProcHasArgs, render: func(dst []byte, p *driver.Process) []byte { return appendJoined(dst, p.Args) }})},
		def(c, "proc.cmdline", TypeString, 0, "Process name followed by its arguments, separated by spaces (proc.name + proc.args).", cmdlineAt(0)),
		def(c, "proc.pcmdline", TypeString, 0, "Command line (name and arguments) of the parent process.", cmdlineAt(1)),
		{Name: "proc.acmdline", Class: c, Type: TypeString, Flags: anc,
			Desc: "Command line of an ancestor: proc.acmdline[N] reads level N (0 = the process); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.acmdline", TypeString, ancestorAttr{bit: driver.ProcHasName | driver.ProcHasArgs, render: appendCmdline})},
		d("proc.cmdnargs", TypeUint, 0, "Number of command-line arguments after argv[0].",
			procNum(TypeUint, 0, driver.ProcHasArgs, func(p *driver.Process) int64 { return int64(len(p.Args)) })),
		d("proc.cmdlenargs", TypeUint, 0, "Total length of the arguments after argv[0], not counting separators.",
			procNum(TypeUint, 0, driver.ProcHasArgs, func(p *driver.Process) int64 {
				n := 0
				for _, a := range p.Args {
					n += len(a)
				}
				return int64(n)
			})),
		def(c, "proc.exeline", TypeString, 0, "argv[0] followed by the other arguments (proc.exe + proc.args).", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				p := ev.Proc
				if p == nil || !p.Has.Has(driver.ProcHasExe|driver.ProcHasArgs) {
					return "", false
				}
				b := append(sc.reset(), p.Exe...)
				for _, a := range p.Args {
					b = append(append(b, ' '), a...)
				}
				return sc.str(b), true
			})
		}),
		{Name: "proc.env", Class: c, Type: TypeString, Flags: ArgAllowed,
			Desc: "Environment of the process as space-separated NAME=value pairs; proc.env[NAME] (or proc.env.NAME) is the value of one variable, empty when unset.",
			Bind: bindEnv},
		{Name: "proc.aenv", Class: c, Type: TypeString, Flags: anc,
			Desc: "Environment of ancestors: proc.aenv[N] is the whole environment of level N, proc.aenv[NAME] the first non-empty value of NAME among the ancestors (parent up, at most 20 levels); without an argument it matches any ancestor's environment.",
			Bind: bindAEnv},
		d("proc.cwd", TypeFSPath, 0, "Current working directory of the process, with a trailing slash.", pathX(procGet(0, driver.ProcHasCwd, func(p *driver.Process) string { return p.Cwd }))),
		d("proc.loginshellid", TypeInt, 0, "Pid of the oldest ancestor (or the process itself) whose name ends in \"sh\".",
			numX(TypeInt, func(ev *driver.Event) (int64, bool) {
				var pid int64
				found := false
				i := 0
				for p := ev.Proc; p != nil && i < maxAncestors; p, i = p.Parent, i+1 {
					if p.Has.Has(driver.ProcHasName|driver.ProcHasPid) && strings.HasSuffix(p.Name, "sh") {
						pid, found = p.Pid, true
					}
				}
				return pid, found
			})),
		d("proc.tty", TypeUint, 0, "Controlling terminal device number of the process; 0 when it has none.",
			procNum(TypeUint, 0, driver.ProcHasTTY, func(p *driver.Process) int64 { return int64(p.TTY) })),
		d("proc.pid", TypeInt, 0, "Process id (host pid namespace).", procNum(TypeInt, 0, driver.ProcHasPid, func(p *driver.Process) int64 { return p.Pid })),
		d("proc.ppid", TypeInt, 0, "Process id of the parent.", procNum(TypeInt, 0, driver.ProcHasPPid, func(p *driver.Process) int64 { return p.PPid })),
		{Name: "proc.apid", Class: c, Type: TypeInt, Flags: anc,
			Desc: "Pid of an ancestor: proc.apid[N] reads level N (0 = the process); without an index it matches any ancestor from the parent up.",
			Bind: bindAncestor("proc.apid", TypeInt, ancestorAttr{bit: driver.ProcHasPid, num: func(p *driver.Process) int64 { return p.Pid }})},
		d("proc.vpid", TypeInt, 0, "Process id as seen in the process's own pid namespace.", procNum(TypeInt, 0, driver.ProcHasVPid, func(p *driver.Process) int64 { return p.VPid })),
		d("proc.pvpid", TypeInt, 0, "Parent's process id as seen in its own pid namespace.", procNum(TypeInt, 1, driver.ProcHasVPid, func(p *driver.Process) int64 { return p.VPid })),
		d("proc.sid", TypeInt, 0, "Session id of the process.", procNum(TypeInt, 0, driver.ProcHasSID, func(p *driver.Process) int64 { return p.SID })),
		d("proc.sname", TypeString, 0, "Name of the session leader: the oldest ancestor (or the process itself) sharing the process's session id.", strX(leaderGet(sidOf, driver.ProcHasSID, name))),
		d("proc.sid.exe", TypeString, 0, "argv[0] of the session leader.", strX(leaderGet(sidOf, driver.ProcHasSID, exe))),
		d("proc.sid.exepath", TypeString, 0, "Executable path of the session leader.", strX(leaderGet(sidOf, driver.ProcHasSID, exepath))),
		d("proc.vpgid", TypeInt, 0, "Process group id as seen in the process's pid namespace.", procNum(TypeInt, 0, driver.ProcHasPGID, func(p *driver.Process) int64 { return p.VPGID })),
		d("proc.vpgid.name", TypeString, 0, "Name of the process group leader (oldest ancestor with the same virtual group id).", strX(leaderGet(vpgidOf, driver.ProcHasPGID, name))),
		d("proc.vpgid.exe", TypeString, 0, "argv[0] of the process group leader.", strX(leaderGet(vpgidOf, driver.ProcHasPGID, exe))),
		d("proc.vpgid.exepath", TypeString, 0, "Executable path of the process group leader.", strX(leaderGet(vpgidOf, driver.ProcHasPGID, exepath))),
		d("proc.pgid", TypeInt, 0, "Process group id (host pid namespace).", procNum(TypeInt, 0, driver.ProcHasPGID, func(p *driver.Process) int64 { return p.PGID })),
		d("proc.pgid.name", TypeString, 0, "Name of the process group leader (oldest ancestor with the same group id).", strX(leaderGet(pgidOf, driver.ProcHasPGID, name))),
		d("proc.pgid.exe", TypeString, 0, "argv[0] of the process group leader.", strX(leaderGet(pgidOf, driver.ProcHasPGID, exe))),
		d("proc.pgid.exepath", TypeString, 0, "Executable path of the process group leader.", strX(leaderGet(pgidOf, driver.ProcHasPGID, exepath))),
		d("proc.duration", TypeRelTime, 0, "Nanoseconds from the start of the process to the event.", startDelta(0)),
		d("proc.ppid.duration", TypeRelTime, 0, "Nanoseconds from the start of the parent process to the event.", startDelta(1)),
		d("proc.pid.ts", TypeRelTime, 0, "Start time of the process, nanoseconds since the epoch.", procNum(TypeRelTime, 0, driver.ProcHasStart, func(p *driver.Process) int64 { return p.StartTime })),
		d("proc.ppid.ts", TypeRelTime, 0, "Start time of the parent process, nanoseconds since the epoch.", procNum(TypeRelTime, 1, driver.ProcHasStart, func(p *driver.Process) int64 { return p.StartTime })),
		d("proc.is_exe_writable", TypeBool, 0, "True when the executable file is writable by the user running the process.", procBool(driver.ProcHasExeFlags, func(p *driver.Process) bool { return p.ExeWritable })),
		d("proc.is_exe_upper_layer", TypeBool, 0, "True when the executable lives in the upper (writable) layer of an overlay file system, as files added to a container do.", procBool(driver.ProcHasExeFlags, func(p *driver.Process) bool { return p.ExeUpperLayer })),
		d("proc.is_exe_lower_layer", TypeBool, 0, "True when the executable lives in a lower (image) layer of an overlay file system.", procBool(driver.ProcHasExeFlags, func(p *driver.Process) bool { return p.ExeLowerLayer })),
		d("proc.is_exe_from_memfd", TypeBool, 0, "True when the process runs an anonymous memfd_create file, executed through its descriptor (fileless execution).", procBool(driver.ProcHasExeFlags, func(p *driver.Process) bool { return p.ExeFromMemfd })),
		d("proc.is_sid_leader", TypeBool, 0, "True when the process leads its session (session id equals its virtual pid).",
			procNum(TypeBool, 0, driver.ProcHasSID|driver.ProcHasVPid, func(p *driver.Process) int64 { return boolNum(p.SID == p.VPid) })),
		d("proc.is_vpgid_leader", TypeBool, 0, "True when the process leads its process group (virtual group id equals its virtual pid).",
			procNum(TypeBool, 0, driver.ProcHasPGID|driver.ProcHasVPid, func(p *driver.Process) int64 { return boolNum(p.VPGID == p.VPid) })),
		d("proc.is_pgid_leader", TypeBool, 0, "True when the process leads its process group (group id equals its pid).",
			procNum(TypeBool, 0, driver.ProcHasPGID|driver.ProcHasPid, func(p *driver.Process) int64 { return boolNum(p.PGID == p.Pid) })),
		d("proc.exe_ino", TypeInt, 0, "Inode number of the executable file.", nonZero(TypeInt, func(p *driver.Process) int64 { return int64(p.ExeIno) })),
		d("proc.exe_ino.ctime", TypeAbsTime, 0, "Last status change (ctime) of the executable file, nanoseconds since the epoch.", nonZero(TypeAbsTime, func(p *driver.Process) int64 { return p.ExeInoCtime })),
		d("proc.exe_ino.mtime", TypeAbsTime, 0, "Last modification (mtime) of the executable file, nanoseconds since the epoch.", nonZero(TypeAbsTime, func(p *driver.Process) int64 { return p.ExeInoMtime })),
		d("proc.exe_ino.ctime_duration_proc_start", TypeAbsTime, 0, "Nanoseconds between the executable's last status change and the start of the process; small values hint at a freshly dropped binary.",
			numX(TypeAbsTime, func(ev *driver.Event) (int64, bool) {
				p := ev.Proc
				if p == nil || !p.Has.Has(driver.ProcHasExeIno|driver.ProcHasStart) || p.ExeInoCtime == 0 || p.StartTime == 0 {
					return 0, false
				}
				d := p.StartTime - p.ExeInoCtime
				return d, d > 0
			})),
	}
}

func threadFields() []*Field {
	const c = "thread"
	caps := func(name, desc string, get func(*driver.Process) uint64) *Field {
		return def(c, name, TypeString, 0, desc, func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				p := ev.Proc
				if p == nil || !p.Has.Has(driver.ProcHasCaps) {
					return "", false
				}
				return sc.str(appendCaps(sc.reset(), get(p))), true
			})
		})
	}
	return []*Field{
		caps("thread.cap_permitted", "Permitted capability set, as space-separated names (CAP_CHOWN CAP_KILL ...).", func(p *driver.Process) uint64 { return p.CapPermitted }),
		caps("thread.cap_inheritable", "Inheritable capability set, as space-separated names.", func(p *driver.Process) uint64 { return p.CapInheritable }),
		caps("thread.cap_effective", "Effective capability set, as space-separated names.", func(p *driver.Process) uint64 { return p.CapEffective }),
		def(c, "thread.tid", TypeInt, 0, "Id of the thread that performed the event (host pid namespace).",
			stat(numX(TypeInt, func(ev *driver.Event) (int64, bool) { return ev.Tid, true }))),
		def(c, "thread.ismain", TypeBool, 0, "True when the event comes from the main thread of the process.",
			stat(numX(TypeBool, func(ev *driver.Event) (int64, bool) {
				p := ev.Proc
				if p == nil || !p.Has.Has(driver.ProcHasPid) {
					return 0, false
				}
				return boolNum(ev.Tid == p.Pid), true
			}))),
		def(c, "thread.cpu", TypeDouble, 0, "CPU consumed by the thread in the last second; Vigil does not sample CPU use, so it is unavailable.",
			stat(numX(TypeDouble, func(*driver.Event) (int64, bool) { return 0, false }))),
		def(c, "thread.vtid", TypeInt, 0, "Thread id as seen in the thread's pid namespace.",
			stat(procNum(TypeInt, 0, driver.ProcHasVPid, func(p *driver.Process) int64 { return p.VTid }))),
	}
}

func sidOf(p *driver.Process) int64   { return p.SID }
func vpgidOf(p *driver.Process) int64 { return p.VPGID }
func pgidOf(p *driver.Process) int64  { return p.PGID }

// leaderGet finds the oldest ancestor (or the process itself) whose id
// (session or group) equals the process's, and reads get from it.
func leaderGet(id func(*driver.Process) int64, bit driver.Mask, get func(*driver.Process) string) func(*driver.Event) (string, bool) {
	return func(ev *driver.Event) (string, bool) {
		p := ev.Proc
		if p == nil || !p.Has.Has(bit) {
			return "", false
		}
		want, leader := id(p), p
		i := 0
		for q := p.Parent; q != nil && i < maxAncestors; q, i = q.Parent, i+1 {
			if !q.Has.Has(bit) || id(q) != want {
				break
			}
			leader = q
		}
		return get(leader), true
	}
}

func startDelta(lvl int) Extractor {
	return numX(TypeRelTime, func(ev *driver.Event) (int64, bool) {
		p := ancestor(ev.Proc, lvl)
		if p == nil || !p.Has.Has(driver.ProcHasStart) || p.StartTime == 0 {
			return 0, false
		}
		d := ev.Time - p.StartTime
		return d, d >= 0
	})
}

// nonZero reads an exe-inode attribute; 0 means unknown, as in libsinsp.
func nonZero(t Type, get func(*driver.Process) int64) Extractor {
	return numX(t, func(ev *driver.Event) (int64, bool) {
		p := ev.Proc
		if p == nil || !p.Has.Has(driver.ProcHasExeIno) {
			return 0, false
		}
		v := get(p)
		return v, v != 0
	})
}

func bindArgs(arg string, hasArg bool) (Extractor, error) {
	if hasArg {
		n, err := parseIndex("proc.args", arg)
		if err != nil {
			return Extractor{}, err
		}
		return strX(func(ev *driver.Event) (string, bool) {
			p := ev.Proc
			if p == nil || !p.Has.Has(driver.ProcHasArgs) || n >= len(p.Args) {
				return "", false
			}
			return p.Args[n], true
		}), nil
	}
	var sc scratch
	return strX(func(ev *driver.Event) (string, bool) {
		p := ev.Proc
		if p == nil || !p.Has.Has(driver.ProcHasArgs) {
			return "", false
		}
		return sc.str(appendJoined(sc.reset(), p.Args)), true
	}), nil
}

func bindEnv(arg string, hasArg bool) (Extractor, error) {
	if hasArg {
		if arg == "" {
			return Extractor{}, fmt.Errorf("field proc.env: empty variable name")
		}
		return strX(func(ev *driver.Event) (string, bool) {
			p := ev.Proc
			if p == nil || !p.Has.Has(driver.ProcHasEnv) {
				return "", false
			}
			return envValue(p.Env, arg), true
		}), nil
	}
	var sc scratch
	return strX(func(ev *driver.Event) (string, bool) {
		p := ev.Proc
		if p == nil || !p.Has.Has(driver.ProcHasEnv) {
			return "", false
		}
		return sc.str(appendJoined(sc.reset(), p.Env)), true
	}), nil
}

func bindAEnv(arg string, hasArg bool) (Extractor, error) {
	attr := ancestorAttr{bit: driver.ProcHasEnv, render: func(dst []byte, p *driver.Process) []byte { return appendJoined(dst, p.Env) }}
	if !hasArg || isIndex(arg) {
		return bindAncestor("proc.aenv", TypeString, attr)(arg, hasArg)
	}
	return strX(func(ev *driver.Event) (string, bool) {
		if ev.Proc == nil {
			return "", false
		}
		i := 0
		for p := ev.Proc.Parent; p != nil && i < 20; p, i = p.Parent, i+1 {
			if !p.Has.Has(driver.ProcHasEnv) {
				continue
			}
			if v := envValue(p.Env, arg); v != "" {
				return v, true
			}
		}
		return "", true
	}), nil
}
