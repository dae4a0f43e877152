package fields

import (
	"net/netip"
	"strconv"

	"github.com/vigilsec/vigil/driver"
)

// argKind says where an event argument lives in driver.Event and how
// libsinsp renders it.
type argKind uint8

const (
	akNone          argKind = iota
	akRes                   // Res; errno name when negative
	akResFD                 // Res holding a returned fd; errno name when negative
	akFD                    // FD
	akDirFD                 // DirFD; AT_FDCWD for -100
	akPath                  // Path
	akOldPath               // OldPath
	akNewPath               // NewPath
	akName                  // Name
	akOpenFlags             // Flags as O_* names
	akMode                  // Mode as S_* names
	akUID                   // UID (user name when the state layer resolved it)
	akGID                   // GID
	akTargetPID             // TargetPID
	akPtraceReq             // Request as PTRACE_* name
	akIoctlReq              // Request in hex
	akSignal                // Signal as SIG* name
	akBPFCmd                // Cmd as BPF_* name
	akPrctlOpt              // Cmd as PR_* name
	akSockDomain            // Domain as AF_* name
	akSockType              // SockType, decimal
	akSockProto             // Proto, decimal
	akTuple                 // Sock as client->server tuple
	akSockAddr              // Sock local address
	akData                  // Data
	akSize                  // len(Data)
	akDev                   // Dev
	akIno                   // Ino
	akMountSrc              // MountSource
	akMountTarget           // MountTarget
	akMountType             // MountFSType
	akMountFlags            // Flags as mount flag names
	akUmountFlags           // Flags as umount flag names
	akUnlinkatFlags         // Flags as AT_REMOVEDIR
	akLinkatFlags           // Flags as AT_* names
	akRenameFlags           // Flags as RENAME_* names
	akMemfdFlags            // Flags as MFD_* names
	akNSFlags               // Flags as CLONE_NEW* names (setns, unshare)
	akFlagsNum              // Flags, decimal
	akExe                   // Proc.Exe
	akExecArgs              // Args, NUL-separated as libsinsp prints them ('.')
	akTid                   // Tid
	akPid                   // Proc.Pid
	akPtid                  // Proc.PPid
	akCwd                   // Proc.Cwd
	akComm                  // Proc.Name
	akEnv                   // Proc.Env
	akTTY                   // Proc.TTY
	akPGID                  // Proc.VPGID
	akLoginUID              // Proc.LoginUID
	akCapInh                // Proc.CapInheritable
	akCapPerm               // Proc.CapPermitted
	akCapEff                // Proc.CapEffective
	akExeIno                // Proc.ExeIno
	akExeCtime              // Proc.ExeInoCtime
	akExeMtime              // Proc.ExeInoMtime
	akProcUID               // Proc.UID
	akProcGID               // Proc.GID
	akExePath               // Proc.ExePath
	numArgKinds
)

// param is one named parameter of an event type.
type param struct {
	name string
	kind argKind
}

// paramTable maps every event type to its exit-event parameters, with
// Falco's names and in Falco's order (evt.arg[N] indexes into it).
type paramTable [driver.NumEventTypes][]param

func p(name string, k argKind) param { return param{name, k} }

// execParams are the parameters of execve/execveat (and clone-like
// events), read from the process as it is after the exec.
var execParams = []param{
	p("res", akRes), p("exe", akExe), p("args", akExecArgs), p("tid", akTid), p("pid", akPid),
	p("ptid", akPtid), p("cwd", akCwd), p("comm", akComm), p("env", akEnv), p("tty", akTTY),
	p("vpgid", akPGID), p("loginuid", akLoginUID), p("cap_inheritable", akCapInh),
	p("cap_permitted", akCapPerm), p("cap_effective", akCapEff), p("exe_ino", akExeIno),
	p("exe_ino_ctime", akExeCtime), p("exe_ino_mtime", akExeMtime), p("uid", akProcUID),
	p("trusted_exepath", akExePath), p("gid", akProcGID), p("filename", akPath),
}

func buildParams() *paramTable {
	var t paramTable
	set := func(name string, ps ...param) {
		if et, ok := driver.EventTypeByName(name); ok {
			t[et] = ps
		}
	}
	ioParams := []param{p("res", akRes), p("data", akData), p("fd", akFD), p("size", akSize)}
	set("open", p("fd", akResFD), p("name", akPath), p("flags", akOpenFlags), p("mode", akMode), p("dev", akDev), p("ino", akIno))
	set("openat", p("fd", akResFD), p("dirfd", akDirFD), p("name", akPath), p("flags", akOpenFlags), p("mode", akMode), p("dev", akDev), p("ino", akIno))
	set("openat2", p("fd", akResFD), p("dirfd", akDirFD), p("name", akPath), p("flags", akOpenFlags), p("mode", akMode), p("resolve", akNone), p("dev", akDev), p("ino", akIno))
	set("creat", p("fd", akResFD), p("name", akPath), p("mode", akMode), p("dev", akDev), p("ino", akIno))
	set("open_by_handle_at", p("fd", akResFD), p("mountfd", akDirFD), p("flags", akOpenFlags), p("path", akPath), p("dev", akDev), p("ino", akIno))
	set("execve", execParams...)
	set("execveat", execParams...)
	set("clone", execParams[:len(execParams)-1]...)
	set("clone3", execParams[:len(execParams)-1]...)
	set("fork", execParams[:len(execParams)-1]...)
	set("vfork", execParams[:len(execParams)-1]...)
	set("close", p("res", akRes), p("fd", akFD))
	set("read", ioParams...)
	set("write", ioParams...)
	set("pread64", ioParams...)
	set("pwrite64", ioParams...)
	set("readv", ioParams...)
	set("writev", ioParams...)
	set("socket", p("fd", akResFD), p("domain", akSockDomain), p("type", akSockType), p("proto", akSockProto))
	set("connect", p("res", akRes), p("tuple", akTuple), p("fd", akFD))
	set("accept", p("fd", akResFD), p("tuple", akTuple), p("queuepct", akNone), p("queuelen", akNone), p("queuemax", akNone))
	set("accept4", p("fd", akResFD), p("tuple", akTuple), p("queuepct", akNone), p("queuelen", akNone), p("queuemax", akNone))
	set("bind", p("res", akRes), p("addr", akSockAddr), p("fd", akFD))
	set("listen", p("res", akRes), p("fd", akFD), p("backlog", akNone))
	set("sendto", p("res", akRes), p("data", akData), p("fd", akFD), p("size", akSize), p("tuple", akTuple))
	set("sendmsg", p("res", akRes), p("data", akData), p("fd", akFD), p("size", akSize), p("tuple", akTuple))
	set("recvfrom", p("res", akRes), p("data", akData), p("tuple", akTuple), p("fd", akFD), p("size", akSize))
	set("recvmsg", p("res", akRes), p("size", akSize), p("data", akData), p("tuple", akTuple), p("msgcontrol", akNone), p("fd", akFD))
	set("shutdown", p("res", akRes), p("fd", akFD), p("how", akNone))
	set("dup", p("res", akResFD), p("oldfd", akFD))
	set("dup2", p("res", akResFD), p("oldfd", akFD), p("newfd", akNone))
	set("dup3", p("res", akResFD), p("oldfd", akFD), p("newfd", akNone), p("flags", akFlagsNum))
	set("unlink", p("res", akRes), p("path", akPath))
	set("unlinkat", p("res", akRes), p("dirfd", akDirFD), p("name", akPath), p("flags", akUnlinkatFlags))
	set("rmdir", p("res", akRes), p("path", akPath))
	set("rename", p("res", akRes), p("oldpath", akOldPath), p("newpath", akNewPath))
	set("renameat", p("res", akRes), p("olddirfd", akDirFD), p("oldpath", akOldPath), p("newdirfd", akNone), p("newpath", akNewPath))
	set("renameat2", p("res", akRes), p("olddirfd", akDirFD), p("oldpath", akOldPath), p("newdirfd", akNone), p("newpath", akNewPath), p("flags", akRenameFlags))
	set("link", p("res", akRes), p("oldpath", akOldPath), p("newpath", akNewPath))
	set("linkat", p("res", akRes), p("olddir", akDirFD), p("oldpath", akOldPath), p("newdir", akNone), p("newpath", akNewPath), p("flags", akLinkatFlags))
	set("symlink", p("res", akRes), p("target", akOldPath), p("linkpath", akNewPath))
	set("symlinkat", p("res", akRes), p("target", akOldPath), p("linkdirfd", akDirFD), p("linkpath", akNewPath))
	set("mkdir", p("res", akRes), p("path", akPath), p("mode", akMode))
	set("mkdirat", p("res", akRes), p("dirfd", akDirFD), p("path", akPath), p("mode", akMode))
	set("chmod", p("res", akRes), p("filename", akPath), p("mode", akMode))
	set("fchmod", p("res", akRes), p("fd", akFD), p("mode", akMode))
	set("fchmodat", p("res", akRes), p("dirfd", akDirFD), p("filename", akPath), p("mode", akMode))
	set("chown", p("res", akRes), p("path", akPath), p("uid", akUID), p("gid", akGID))
	set("lchown", p("res", akRes), p("path", akPath), p("uid", akUID), p("gid", akGID))
	set("fchown", p("res", akRes), p("fd", akFD), p("uid", akUID), p("gid", akGID))
	set("fchownat", p("res", akRes), p("dirfd", akDirFD), p("pathname", akPath), p("uid", akUID), p("gid", akGID), p("flags", akFlagsNum))
	set("setuid", p("res", akRes), p("uid", akUID))
	set("setgid", p("res", akRes), p("gid", akGID))
	set("setreuid", p("res", akRes), p("ruid", akNone), p("euid", akUID))
	set("setregid", p("res", akRes), p("rgid", akNone), p("egid", akGID))
	set("setresuid", p("res", akRes), p("ruid", akNone), p("euid", akUID), p("suid", akNone))
	set("setresgid", p("res", akRes), p("rgid", akNone), p("egid", akGID), p("sgid", akNone))
	set("ptrace", p("res", akRes), p("addr", akNone), p("data", akNone), p("request", akPtraceReq), p("pid", akTargetPID))
	set("bpf", p("fd", akResFD), p("cmd", akBPFCmd))
	set("init_module", p("res", akRes), p("img", akNone), p("length", akNone), p("uargs", akName))
	set("finit_module", p("res", akRes), p("fd", akFD), p("uargs", akName), p("flags", akFlagsNum))
	set("memfd_create", p("fd", akResFD), p("name", akName), p("flags", akMemfdFlags))
	set("mount", p("res", akRes), p("dev", akMountSrc), p("dir", akMountTarget), p("type", akMountType), p("flags", akMountFlags))
	set("umount2", p("res", akRes), p("name", akMountTarget), p("flags", akUmountFlags))
	set("kill", p("res", akRes), p("pid", akTargetPID), p("sig", akSignal))
	set("tkill", p("res", akRes), p("tid", akTargetPID), p("sig", akSignal))
	set("tgkill", p("res", akRes), p("pid", akNone), p("tid", akTargetPID), p("sig", akSignal))
	set("setns", p("res", akRes), p("fd", akFD), p("nstype", akNSFlags))
	set("unshare", p("res", akRes), p("flags", akNSFlags))
	set("userfaultfd", p("res", akResFD), p("flags", akFlagsNum))
	set("ioctl", p("res", akRes), p("fd", akFD), p("request", akIoctlReq), p("argument", akNone))
	set("prctl", p("res", akRes), p("option", akPrctlOpt), p("arg2_str", akName), p("arg2_int", akNone))
	set("chdir", p("res", akRes), p("path", akPath))
	set("fchdir", p("res", akRes), p("fd", akFD))
	set("chroot", p("res", akRes), p("path", akPath))
	set("capset", p("res", akRes), p("cap_inheritable", akCapInh), p("cap_permitted", akCapPerm), p("cap_effective", akCapEff))
	set("pidfd_open", p("fd", akResFD), p("pid", akTargetPID), p("flags", akFlagsNum))
	set("pidfd_getfd", p("fd", akResFD), p("pid_fd", akNone), p("target_fd", akNone), p("flags", akFlagsNum))
	set("procexit", p("status", akRes), p("ret", akNone), p("sig", akSignal), p("core", akNone), p("reaper_tid", akNone))
	set("getcwd", p("res", akRes), p("path", akPath))
	return &t
}

// argAvail reports whether the argument of kind k is available in ev.
func argAvail(k argKind, ev *driver.Event) bool {
	pr := ev.Proc
	switch k {
	case akRes, akResFD:
		return ev.Has.Has(driver.HasRes)
	case akFD:
		return ev.Has.Has(driver.HasFD)
	case akDirFD:
		return ev.Has.Has(driver.HasDirFD)
	case akPath:
		return ev.Has.Has(driver.HasPath)
	case akOldPath:
		return ev.Has.Has(driver.HasOldPath)
	case akNewPath:
		return ev.Has.Has(driver.HasNewPath)
	case akName:
		return ev.Has.Has(driver.HasName)
	case akOpenFlags, akMountFlags, akUmountFlags, akUnlinkatFlags, akLinkatFlags, akRenameFlags,
		akMemfdFlags, akNSFlags, akFlagsNum:
		return ev.Has.Has(driver.HasFlags)
	case akMode:
		return ev.Has.Has(driver.HasMode)
	case akUID:
		return ev.Has.Has(driver.HasUID)
	case akGID:
		return ev.Has.Has(driver.HasGID)
	case akTargetPID:
		return ev.Has.Has(driver.HasTargetPID)
	case akPtraceReq, akIoctlReq:
		return ev.Has.Has(driver.HasRequest)
	case akSignal:
		return ev.Has.Has(driver.HasSignal)
	case akBPFCmd, akPrctlOpt:
		return ev.Has.Has(driver.HasCmd)
	case akSockDomain, akSockType, akSockProto:
		return ev.Has.Has(driver.HasSocket)
	case akTuple, akSockAddr:
		return ev.Has.Has(driver.HasAddr)
	case akData, akSize:
		return ev.Has.Has(driver.HasData)
	case akDev, akIno:
		return ev.Has.Has(driver.HasDev)
	case akMountSrc, akMountTarget, akMountType:
		return ev.Has.Has(driver.HasMount)
	case akExecArgs:
		return ev.Has.Has(driver.HasArgs)
	case akTid:
		return true
	case akExe:
		return pr != nil && pr.Has.Has(driver.ProcHasExe)
	case akPid:
		return pr != nil && pr.Has.Has(driver.ProcHasPid)
	case akPtid:
		return pr != nil && pr.Has.Has(driver.ProcHasPPid)
	case akCwd:
		return pr != nil && pr.Has.Has(driver.ProcHasCwd)
	case akComm:
		return pr != nil && pr.Has.Has(driver.ProcHasName)
	case akEnv:
		return pr != nil && pr.Has.Has(driver.ProcHasEnv)
	case akTTY:
		return pr != nil && pr.Has.Has(driver.ProcHasTTY)
	case akPGID:
		return pr != nil && pr.Has.Has(driver.ProcHasPGID)
	case akLoginUID:
		return pr != nil && pr.Has.Has(driver.ProcHasLoginUID)
	case akCapInh, akCapPerm, akCapEff:
		return pr != nil && pr.Has.Has(driver.ProcHasCaps)
	case akExeIno, akExeCtime, akExeMtime:
		return pr != nil && pr.Has.Has(driver.ProcHasExeIno)
	case akProcUID, akProcGID:
		return pr != nil && pr.Has.Has(driver.ProcHasUser)
	case akExePath:
		return pr != nil && pr.Has.Has(driver.ProcHasExePath)
	}
	return false
}

// argRawType is the type of evt.rawarg for an argument kind.
func argRawType(k argKind) Type {
	switch k {
	case akPath, akOldPath, akNewPath, akMountSrc, akMountTarget, akCwd, akExePath:
		return TypeFSPath
	case akName, akExe, akComm, akMountType, akEnv, akExecArgs, akTuple, akSockAddr:
		return TypeString
	case akData:
		return TypeBytes
	case akOpenFlags, akMode, akUID, akGID, akMountFlags, akUmountFlags, akUnlinkatFlags,
		akLinkatFlags, akRenameFlags, akMemfdFlags, akNSFlags, akFlagsNum, akTTY, akDev,
		akIno, akCapInh, akCapPerm, akCapEff, akExeIno, akProcUID, akProcGID, akSize:
		return TypeUint
	}
	return TypeInt
}

// argStr returns a string-typed raw argument. Call only when available.
func argStr(k argKind, ev *driver.Event) string {
	switch k {
	case akPath:
		return ev.Path
	case akOldPath:
		return ev.OldPath
	case akNewPath:
		return ev.NewPath
	case akName:
		return ev.Name
	case akMountSrc:
		return ev.MountSource
	case akMountTarget:
		return ev.MountTarget
	case akMountType:
		return ev.MountFSType
	case akExe:
		return ev.Proc.Exe
	case akComm:
		return ev.Proc.Name
	case akCwd:
		return ev.Proc.Cwd
	case akExePath:
		return ev.Proc.ExePath
	}
	return ""
}

// argNum returns a numeric raw argument. Call only when available.
func argNum(k argKind, ev *driver.Event) int64 {
	pr := ev.Proc
	switch k {
	case akRes, akResFD:
		return ev.Res
	case akFD:
		return ev.FD
	case akDirFD:
		return ev.DirFD
	case akOpenFlags, akMountFlags, akUmountFlags, akUnlinkatFlags, akLinkatFlags, akRenameFlags,
		akMemfdFlags, akNSFlags, akFlagsNum:
		return int64(ev.Flags)
	case akMode:
		return int64(ev.Mode)
	case akUID:
		return int64(ev.UID)
	case akGID:
		return int64(ev.GID)
	case akTargetPID:
		return ev.TargetPID
	case akPtraceReq, akIoctlReq:
		return ev.Request
	case akSignal:
		return int64(ev.Signal)
	case akBPFCmd, akPrctlOpt:
		return ev.Cmd
	case akSockDomain:
		return int64(ev.Domain)
	case akSockType:
		return int64(ev.SockType)
	case akSockProto:
		return int64(ev.Proto)
	case akSize:
		return int64(len(ev.Data))
	case akDev:
		return int64(ev.Dev)
	case akIno:
		return int64(ev.Ino)
	case akTid:
		return ev.Tid
	case akPid:
		return pr.Pid
	case akPtid:
		return pr.PPid
	case akTTY:
		return int64(pr.TTY)
	case akPGID:
		return pr.VPGID
	case akLoginUID:
		return pr.LoginUID
	case akCapInh:
		return int64(pr.CapInheritable)
	case akCapPerm:
		return int64(pr.CapPermitted)
	case akCapEff:
		return int64(pr.CapEffective)
	case akExeIno:
		return int64(pr.ExeIno)
	case akExeCtime:
		return pr.ExeInoCtime
	case akExeMtime:
		return pr.ExeInoMtime
	case akProcUID:
		return int64(pr.UID)
	case akProcGID:
		return int64(pr.GID)
	}
	return 0
}

// appendArg renders an argument as evt.arg shows it (libsinsp's resolved
// form when there is one, the raw form otherwise). Call only when
// available.
func appendArg(dst []byte, k argKind, ev *driver.Event) []byte {
	switch k {
	case akPath, akOldPath, akNewPath, akName, akMountSrc, akMountTarget, akMountType, akExe,
		akComm, akCwd, akExePath:
		return append(dst, argStr(k, ev)...)
	case akRes:
		if ev.Res < 0 {
			if n := errnoName(ev.Res); n != "" {
				return append(dst, n...)
			}
		}
		return strconv.AppendInt(dst, ev.Res, 10)
	case akResFD:
		return appendFD(dst, ev.Res, ev)
	case akFD:
		return appendFD(dst, ev.FD, ev)
	case akDirFD:
		if ev.DirFD == -100 {
			return append(dst, "AT_FDCWD"...)
		}
		return appendFD(dst, ev.DirFD, ev)
	case akOpenFlags:
		return appendOpenFlags(dst, ev.Flags, ev.Has.Has(driver.HasCreated) && ev.Created)
	case akMode:
		return appendMode(dst, ev.Mode)
	case akUID:
		if ev.Has.Has(driver.HasUIDName) {
			return append(dst, ev.UIDName...)
		}
		return strconv.AppendUint(dst, uint64(ev.UID), 10)
	case akPtraceReq:
		return appendEnum(dst, ev.Request, ptraceRequests)
	case akIoctlReq:
		dst = append(dst, "0x"...)
		return strconv.AppendUint(dst, uint64(ev.Request), 16)
	case akSignal:
		return appendEnum(dst, int64(ev.Signal), signalNames)
	case akBPFCmd:
		return appendEnum(dst, ev.Cmd, bpfCommands)
	case akPrctlOpt:
		return appendEnum(dst, ev.Cmd, prctlOptions)
	case akSockDomain:
		return appendEnum(dst, int64(ev.Domain), socketFamilies)
	case akTuple:
		return appendTuple(dst, &ev.Sock)
	case akSockAddr:
		return appendSockAddr(dst, &ev.Sock)
	case akData:
		return appendPrintable(dst, ev.Data)
	case akMountFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), mountFlags)
	case akUmountFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), umountFlags)
	case akUnlinkatFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), unlinkatFlags)
	case akLinkatFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), linkatFlags)
	case akRenameFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), renameat2Flags)
	case akMemfdFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), memfdFlags)
	case akNSFlags:
		return appendFlagsOrNum(dst, uint64(ev.Flags), cloneNSFlags)
	case akExecArgs:
		for _, a := range ev.Args {
			dst = append(dst, a...)
			dst = append(dst, '.')
		}
		return dst
	case akEnv:
		for i, e := range ev.Proc.Env {
			if i > 0 {
				dst = append(dst, '.')
			}
			dst = append(dst, e...)
		}
		return dst
	case akCapInh, akCapPerm, akCapEff:
		return appendCaps(dst, uint64(argNum(k, ev)))
	case akGID, akTTY, akDev, akIno, akExeIno, akProcUID, akProcGID, akSize, akFlagsNum, akSockType, akSockProto:
		return strconv.AppendUint(dst, uint64(argNum(k, ev)), 10)
	}
	return strconv.AppendInt(dst, argNum(k, ev), 10)
}

// appendFD renders a file descriptor argument: "<f>/etc/passwd" when it is
// the event's known descriptor, the errno name when negative, else the
// number.
func appendFD(dst []byte, fd int64, ev *driver.Event) []byte {
	if fd < 0 {
		if n := errnoName(fd); n != "" {
			return append(dst, n...)
		}
		return strconv.AppendInt(dst, fd, 10)
	}
	if ev.Has.Has(driver.HasFDInfo) && ev.FDInfo.Num == fd && ev.FDInfo.Name != "" {
		dst = append(dst, '<')
		dst = append(dst, fdTypeChar(ev.FDInfo.Type)...)
		dst = append(dst, '>')
		return append(dst, ev.FDInfo.Name...)
	}
	return strconv.AppendInt(dst, fd, 10)
}

// clientServer returns the client and server ends of a socket address.
func clientServer(s *driver.SockAddr) (cip netip.Addr, cport uint16, sip netip.Addr, sport uint16) {
	if s.Server {
		return s.RemoteAddr, s.RemotePort, s.LocalAddr, s.LocalPort
	}
	return s.LocalAddr, s.LocalPort, s.RemoteAddr, s.RemotePort
}

// appendTuple renders "cip:cport->sip:sport" (or the unix path).
func appendTuple(dst []byte, s *driver.SockAddr) []byte {
	if !s.LocalAddr.IsValid() && !s.RemoteAddr.IsValid() {
		return append(dst, s.UnixPath...)
	}
	cip, cport, sip, sport := clientServer(s)
	dst = appendIP(dst, cip)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(cport), 10)
	dst = append(dst, "->"...)
	dst = appendIP(dst, sip)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(sport), 10)
}

// appendSockAddr renders the local address "ip:port" (or the unix path).
func appendSockAddr(dst []byte, s *driver.SockAddr) []byte {
	if !s.LocalAddr.IsValid() {
		return append(dst, s.UnixPath...)
	}
	dst = appendIP(dst, s.LocalAddr)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(s.LocalPort), 10)
}

// appendIP renders an address; IPv4-mapped IPv6 addresses print as IPv4
// and the zero address as "0.0.0.0".
func appendIP(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, "0.0.0.0"...)
	}
	return a.Unmap().AppendTo(dst)
}

// appendPrintable appends b with non-printable bytes replaced by '.', as
// libsinsp prints I/O buffers in its normal format.
func appendPrintable(dst []byte, b []byte) []byte {
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			dst = append(dst, c)
		} else {
			dst = append(dst, '.')
		}
	}
	return dst
}
