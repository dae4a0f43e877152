package fields

import (
	"sync"

	"github.com/vigilsec/vigil/driver"
)

// Need is one set of availability bits that, all filled, let a field have
// a value: bits of driver.Event.Has (driver.Has*), of driver.Process.Has
// (driver.ProcHas*) and of driver.Container.Has (driver.ContHas*).
type Need struct {
	Event, Proc, Container driver.Mask
}

// Covers reports whether have holds every bit of n.
func (n Need) Covers(have Need) bool {
	return have.Event.Has(n.Event) && have.Proc.Has(n.Proc) && have.Container.Has(n.Container)
}

// Avail says what a field use needs to have a value on events of one
// type. It is a necessary condition: when no alternative is covered the
// field is unavailable; when one is, the field usually has a value (some
// values still depend on the event: a missing ancestor, an unset label).
type Avail struct {
	// Never is set when the field has no value on this event type whatever
	// a driver fills (no such argument, a field Vigil has no source for).
	Never bool
	// AnyOf lists the alternatives: the field can have a value only when
	// every bit of at least one of them is filled. Empty means that the
	// field needs nothing.
	AnyOf []Need
}

// Possible reports whether a driver filling the bits of have can give the
// field a value.
func (a Avail) Possible(have Need) bool {
	if a.Never {
		return false
	}
	if len(a.AnyOf) == 0 {
		return true
	}
	for _, n := range a.AnyOf {
		if n.Covers(have) {
			return true
		}
	}
	return false
}

// NeedsByType says what a bound field use needs, per event type.
type NeedsByType func(t driver.EventType) Avail

// needsFor resolves a field use (with its argument) into its needs.
type needsFor = func(arg string, hasArg bool) NeedsByType

// FieldNeeds returns what the use of f with argument arg needs, per event
// type. Fields without a declaration (f.Needs nil) need nothing.
func FieldNeeds(f *Field, arg string, hasArg bool) NeedsByType {
	if f == nil || f.Needs == nil {
		return func(driver.EventType) Avail { return Avail{} }
	}
	return f.Needs(arg, hasArg)
}

// Static declarations.
func constant(a Avail) needsFor {
	by := func(driver.EventType) Avail { return a }
	return func(string, bool) NeedsByType { return by }
}

var (
	needNothing = constant(Avail{})
	needNever   = constant(Avail{Never: true})
)

func needEv(m driver.Mask) needsFor   { return constant(avEv(m)) }
func needProc(m driver.Mask) needsFor { return constant(Avail{AnyOf: []Need{{Proc: m}}}) }
func needCont(m driver.Mask) needsFor { return constant(Avail{AnyOf: []Need{{Container: m}}}) }

func avEv(m driver.Mask) Avail { return Avail{AnyOf: []Need{{Event: m}}} }

// byType declares needs that depend on the event type only.
func byType(f func(t driver.EventType) Avail) needsFor {
	var tab [driver.NumEventTypes]Avail
	for i := range tab {
		tab[i] = f(driver.EventType(i))
	}
	by := func(t driver.EventType) Avail { return tab[evtType(t)] }
	return func(string, bool) NeedsByType { return by }
}

// argNeeds is what an event argument of kind k needs; it mirrors argAvail.
func argNeeds(k argKind) Avail {
	ev := func(m driver.Mask) Avail { return avEv(m) }
	pr := func(m driver.Mask) Avail { return Avail{AnyOf: []Need{{Proc: m}}} }
	switch k {
	case akNone:
		return Avail{Never: true}
	case akTid:
		return Avail{}
	case akRes, akResFD:
		return ev(driver.HasRes)
	case akFD:
		return ev(driver.HasFD)
	case akDirFD:
		return ev(driver.HasDirFD)
	case akPath:
		return ev(driver.HasPath)
	case akOldPath:
		return ev(driver.HasOldPath)
	case akNewPath:
		return ev(driver.HasNewPath)
	case akName:
		return ev(driver.HasName)
	case akOpenFlags, akMountFlags, akUmountFlags, akUnlinkatFlags, akLinkatFlags, akRenameFlags,
		akMemfdFlags, akNSFlags, akFlagsNum:
		return ev(driver.HasFlags)
	case akMode:
		return ev(driver.HasMode)
	case akUID:
		return ev(driver.HasUID)
	case akGID:
		return ev(driver.HasGID)
	case akTargetPID:
		return ev(driver.HasTargetPID)
	case akPtraceReq, akIoctlReq:
		return ev(driver.HasRequest)
	case akSignal:
		return ev(driver.HasSignal)
	case akBPFCmd, akPrctlOpt:
		return ev(driver.HasCmd)
	case akSockDomain, akSockType, akSockProto:
		return ev(driver.HasSocket)
	case akTuple, akSockAddr:
		return ev(driver.HasAddr)
	case akData, akSize:
		return ev(driver.HasData)
	case akDev, akIno:
		return ev(driver.HasDev)
	case akMountSrc, akMountTarget, akMountType:
		return ev(driver.HasMount)
	case akExecArgs:
		return ev(driver.HasArgs)
	case akExe:
		return pr(driver.ProcHasExe)
	case akPid:
		return pr(driver.ProcHasPid)
	case akPtid:
		return pr(driver.ProcHasPPid)
	case akCwd:
		return pr(driver.ProcHasCwd)
	case akComm:
		return pr(driver.ProcHasName)
	case akEnv:
		return pr(driver.ProcHasEnv)
	case akTTY:
		return pr(driver.ProcHasTTY)
	case akPGID:
		return pr(driver.ProcHasPGID)
	case akLoginUID:
		return pr(driver.ProcHasLoginUID)
	case akCapInh, akCapPerm, akCapEff:
		return pr(driver.ProcHasCaps)
	case akExeIno, akExeCtime, akExeMtime:
		return pr(driver.ProcHasExeIno)
	case akProcUID, akProcGID:
		return pr(driver.ProcHasUser)
	case akExePath:
		return pr(driver.ProcHasExePath)
	}
	return Avail{Never: true}
}

// slotNeeds turns a per-type argument table into needs.
func slotNeeds(slots *[driver.NumEventTypes]argKind, keep func(k argKind) bool) NeedsByType {
	var tab [driver.NumEventTypes]Avail
	for i, k := range slots {
		if keep != nil && k != akNone && !keep(k) {
			k = akNone
		}
		tab[i] = argNeeds(k)
	}
	return func(t driver.EventType) Avail { return tab[evtType(t)] }
}

func needsEvtArg(arg string, hasArg bool) NeedsByType {
	slots, err := argSlots("evt.arg", arg)
	if !hasArg || err != nil {
		return FieldNeeds(nil, "", false)
	}
	return slotNeeds(slots, nil)
}

func needsRawArg(arg string, hasArg bool) NeedsByType {
	slots, err := argSlots("evt.rawarg", arg)
	if !hasArg || err != nil || isIndex(arg) {
		return FieldNeeds(nil, "", false)
	}
	t := TypeInt
	for _, k := range slots {
		if k != akNone {
			t = argRawType(k)
			break
		}
	}
	return slotNeeds(slots, func(k argKind) bool { return argRawType(k) == t })
}

func needsAbsPath(arg string, hasArg bool) NeedsByType {
	slots, err := absPathSlots(arg, hasArg)
	if err != nil {
		return FieldNeeds(nil, "", false)
	}
	return slotNeeds(slots, nil)
}

// needsAEnv: proc.aenv[NAME] always has a value (empty when unset), the
// other forms need the environment.
func needsAEnv(arg string, hasArg bool) NeedsByType {
	if !hasArg || isIndex(arg) {
		return needProc(driver.ProcHasEnv)(arg, hasArg)
	}
	return needNothing(arg, hasArg)
}

// needsTable declares, for every built-in field, the availability bits
// its extractor tests. TestNeeds checks each declaration against the
// extractor, so the two cannot drift apart.
var needsTable = sync.OnceValue(func() map[string]needsFor {
	infos := eventInfos()
	creat := driver.MustEventType("creat")
	openOnly := func(a Avail) needsFor {
		return byType(func(t driver.EventType) Avail {
			if isOpenType(t) {
				return a
			}
			return Avail{}
		})
	}
	const (
		fdi = driver.HasFDInfo
	)
	m := map[string]needsFor{
		"evt.type.is": needNothing,
		"syscall.type": byType(func(t driver.EventType) Avail {
			return Avail{Never: t == driver.EventUnknown || t >= firstMetaEvent}
		}),
		"evt.category": byType(func(t driver.EventType) Avail {
			return Avail{Never: infos[t].category == "" && !infos[t].ioRead && !infos[t].ioWrite}
		}),
		"evt.cpu":     needEv(driver.HasCPU),
		"evt.arg":     needsEvtArg,
		"evt.rawarg":  needsRawArg,
		"evt.buffer":  needEv(driver.HasData),
		"evt.buflen":  needEv(driver.HasData),
		"evt.res":     needEv(driver.HasRes),
		"evt.rawres":  needEv(driver.HasRes),
		"evt.failed":  needEv(driver.HasRes),
		"evt.abspath": needsAbsPath,
		"evt.io_dir": byType(func(t driver.EventType) Avail {
			return Avail{Never: !infos[t].ioRead && !infos[t].ioWrite}
		}),
		"evt.count.error":   needEv(driver.HasRes),
		"evt.is_open_read":  openOnly(avEv(driver.HasFlags)),
		"evt.is_open_write": openOnly(avEv(driver.HasFlags)),
		"evt.is_open_exec": byType(func(t driver.EventType) Avail {
			switch {
			case t == creat:
				return avEv(driver.HasMode)
			case isOpenType(t):
				return avEv(driver.HasFlags) // and the mode when O_CREAT is set
			}
			return Avail{}
		}),
		"evt.is_open_create": openOnly(Avail{AnyOf: []Need{{Event: driver.HasCreated}, {Event: driver.HasFlags | driver.HasRes}}}),
		"evt.num":            needEv(driver.HasNum),
		"evt.plugininfo":     needNever,

		"proc.exe":                               needProc(driver.ProcHasExe),
		"proc.pexe":                              needProc(driver.ProcHasExe),
		"proc.aexe":                              needProc(driver.ProcHasExe),
		"proc.exepath":                           needProc(driver.ProcHasExePath),
		"proc.pexepath":                          needProc(driver.ProcHasExePath),
		"proc.aexepath":                          needProc(driver.ProcHasExePath),
		"proc.name":                              needProc(driver.ProcHasName),
		"proc.pname":                             needProc(driver.ProcHasName),
		"proc.aname":                             needProc(driver.ProcHasName),
		"proc.args":                              needProc(driver.ProcHasArgs),
		"proc.aargs":                             needProc(driver.ProcHasArgs),
		"proc.cmdline":                           needProc(driver.ProcHasName | driver.ProcHasArgs),
		"proc.pcmdline":                          needProc(driver.ProcHasName | driver.ProcHasArgs),
		"proc.acmdline":                          needProc(driver.ProcHasName | driver.ProcHasArgs),
		"proc.cmdnargs":                          needProc(driver.ProcHasArgs),
		"proc.cmdlenargs":                        needProc(driver.ProcHasArgs),
		"proc.exeline":                           needProc(driver.ProcHasExe | driver.ProcHasArgs),
		"proc.env":                               needProc(driver.ProcHasEnv),
		"proc.aenv":                              needsAEnv,
		"proc.cwd":                               needProc(driver.ProcHasCwd),
		"proc.loginshellid":                      needProc(driver.ProcHasName | driver.ProcHasPid),
		"proc.tty":                               needProc(driver.ProcHasTTY),
		"proc.pid":                               needProc(driver.ProcHasPid),
		"proc.ppid":                              needProc(driver.ProcHasPPid),
		"proc.apid":                              needProc(driver.ProcHasPid),
		"proc.vpid":                              needProc(driver.ProcHasVPid),
		"proc.pvpid":                             needProc(driver.ProcHasVPid),
		"proc.sid":                               needProc(driver.ProcHasSID),
		"proc.sname":                             needProc(driver.ProcHasSID),
		"proc.sid.exe":                           needProc(driver.ProcHasSID),
		"proc.sid.exepath":                       needProc(driver.ProcHasSID),
		"proc.vpgid":                             needProc(driver.ProcHasPGID),
		"proc.vpgid.name":                        needProc(driver.ProcHasPGID),
		"proc.vpgid.exe":                         needProc(driver.ProcHasPGID),
		"proc.vpgid.exepath":                     needProc(driver.ProcHasPGID),
		"proc.pgid":                              needProc(driver.ProcHasPGID),
		"proc.pgid.name":                         needProc(driver.ProcHasPGID),
		"proc.pgid.exe":                          needProc(driver.ProcHasPGID),
		"proc.pgid.exepath":                      needProc(driver.ProcHasPGID),
		"proc.duration":                          needProc(driver.ProcHasStart),
		"proc.ppid.duration":                     needProc(driver.ProcHasStart),
		"proc.pid.ts":                            needProc(driver.ProcHasStart),
		"proc.ppid.ts":                           needProc(driver.ProcHasStart),
		"proc.is_exe_writable":                   needProc(driver.ProcHasExeFlags),
		"proc.is_exe_upper_layer":                needProc(driver.ProcHasExeFlags),
		"proc.is_exe_lower_layer":                needProc(driver.ProcHasExeFlags),
		"proc.is_exe_from_memfd":                 needProc(driver.ProcHasExeFlags),
		"proc.is_sid_leader":                     needProc(driver.ProcHasSID | driver.ProcHasVPid),
		"proc.is_vpgid_leader":                   needProc(driver.ProcHasPGID | driver.ProcHasVPid),
		"proc.is_pgid_leader":                    needProc(driver.ProcHasPGID | driver.ProcHasPid),
		"proc.exe_ino":                           needProc(driver.ProcHasExeIno),
		"proc.exe_ino.ctime":                     needProc(driver.ProcHasExeIno),
		"proc.exe_ino.mtime":                     needProc(driver.ProcHasExeIno),
		"proc.exe_ino.ctime_duration_proc_start": needProc(driver.ProcHasExeIno | driver.ProcHasStart),

		"thread.cap_permitted":   needProc(driver.ProcHasCaps),
		"thread.cap_inheritable": needProc(driver.ProcHasCaps),
		"thread.cap_effective":   needProc(driver.ProcHasCaps),
		"thread.ismain":          needProc(driver.ProcHasPid),
		"thread.cpu":             needNever,
		"thread.vtid":            needProc(driver.ProcHasVPid),

		"user.uid":       needProc(driver.ProcHasUser),
		"user.name":      needProc(driver.ProcHasUserName),
		"user.homedir":   needProc(driver.ProcHasUserName),
		"user.shell":     needProc(driver.ProcHasUserName),
		"user.loginuid":  needProc(driver.ProcHasLoginUID),
		"user.loginname": needProc(driver.ProcHasLoginName),
		"group.gid":      needProc(driver.ProcHasUser),
		"group.name":     needProc(driver.ProcHasGroupName),

		"fd.containername":      constant(Avail{AnyOf: []Need{{Event: fdi, Container: driver.ContHasID}}}),
		"fd.containerdirectory": constant(Avail{AnyOf: []Need{{Event: fdi, Container: driver.ContHasID}}}),
		"fd.cip.name":           needNever,
		"fd.sip.name":           needNever,
		"fd.lip.name":           needNever,
		"fd.rip.name":           needNever,

		"fs.path.name":   needEv(driver.HasPath),
		"fs.path.source": needEv(driver.HasOldPath),
		"fs.path.target": needEv(driver.HasNewPath),

		"container.id":                needCont(driver.ContHasID),
		"container.full_id":           needCont(driver.ContHasID),
		"container.name":              needCont(driver.ContHasName),
		"container.image":             needCont(driver.ContHasImage),
		"container.image.id":          needCont(driver.ContHasImageID),
		"container.type":              needCont(driver.ContHasType),
		"container.privileged":        needCont(driver.ContHasPrivileged),
		"container.mounts":            needCont(driver.ContHasMounts),
		"container.mount":             needCont(driver.ContHasMounts),
		"container.mount.source":      needCont(driver.ContHasMounts),
		"container.mount.dest":        needCont(driver.ContHasMounts),
		"container.mount.mode":        needCont(driver.ContHasMounts),
		"container.mount.rdwr":        needCont(driver.ContHasMounts),
		"container.mount.propagation": needCont(driver.ContHasMounts),
		"container.image.repository":  needCont(driver.ContHasImage),
		"container.image.tag":         needCont(driver.ContHasImage),
		"container.image.digest":      needCont(driver.ContHasImageID),
		"container.healthcheck":       needNever,
		"container.liveness_probe":    needNever,
		"container.readiness_probe":   needNever,
		"container.start_ts":          needCont(driver.ContHasStart),
		"container.duration":          needCont(driver.ContHasStart),
		"container.ip":                needCont(driver.ContHasIP),
		"container.user":              needCont(driver.ContHasUser),
		"container.host_pid":          needCont(driver.ContHasHostNS),
		"container.host_network":      needCont(driver.ContHasHostNS),
		"container.host_ipc":          needCont(driver.ContHasHostNS),
		"container.label":             needNever, // labels are not collected yet
		"container.labels":            needNever,

		"k8s.pod.name":       needCont(driver.ContHasK8s),
		"k8s.ns.name":        needCont(driver.ContHasK8s),
		"k8s.pod.id":         needCont(driver.ContHasK8s),
		"k8s.pod.uid":        needCont(driver.ContHasK8s),
		"k8s.pod.label":      needCont(driver.ContHasK8s),
		"k8s.pod.labels":     needCont(driver.ContHasK8s),
		"k8s.pod.ip":         needCont(driver.ContHasIP),
		"k8s.container.name": needCont(driver.ContHasK8s),
	}
	// Every other fd.* field reads the event's descriptor.
	for _, f := range fdFields() {
		if _, ok := m[f.Name]; !ok {
			m[f.Name] = needEv(fdi)
		}
	}
	// The deprecated k8s stubs never have a value.
	for _, f := range k8sFields() {
		if _, ok := m[f.Name]; !ok && f.Flags&Deprecated != 0 {
			m[f.Name] = needNever
		}
	}
	// The remaining evt.* fields (time, type, counters, ...) need nothing.
	for _, f := range evtFields() {
		if _, ok := m[f.Name]; !ok {
			m[f.Name] = needNothing
		}
	}
	for _, f := range threadFields() {
		if _, ok := m[f.Name]; !ok {
			m[f.Name] = needNothing
		}
	}
	return m
})
