package ebpf

import (
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

// coverage returns the event types and fields the eBPF driver produces.
func coverage() driver.Coverage {
	var ev driver.EventTypeSet
	for nr := range syscalls.Count {
		if t := syscalls.Type(uint64(nr)); t != driver.EventUnknown {
			ev.Add(t)
		}
	}
	ev.Add(evtProcexit)
	return driver.Coverage{
		Events: ev,
		Fields: driver.HasRes | driver.HasFD | driver.HasDirFD | driver.HasPath | driver.HasOldPath |
			driver.HasNewPath | driver.HasFlags | driver.HasMode | driver.HasUID | driver.HasGID |
			driver.HasTargetPID | driver.HasRequest | driver.HasSignal | driver.HasCmd | driver.HasSocket |
			driver.HasAddr | driver.HasData | driver.HasDev | driver.HasMount | driver.HasArgs |
			driver.HasFDInfo | driver.HasCPU | driver.HasName | driver.HasCreated,
		ProcFields: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
			driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv |
			driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasLoginUID |
			driver.ProcHasUser | driver.ProcHasStart | driver.ProcHasCaps | driver.ProcHasExeFlags |
			driver.ProcHasExeIno | driver.ProcHasPGID | driver.ProcHasCgroup,
		Notes: []string{
			"every x86_64 syscall can be reported with its result; arguments are decoded for the file, network, process, privilege, module, mount, bpf and namespace syscalls Falco rules use",
			"32-bit (ia32 compat) syscalls are not reported",
			"paths are made absolute against the dirfd or the working directory without following symlinks, as Falco does",
			"proc.is_exe_upper_layer and proc.is_exe_lower_layer are computed in user space after the exec, from the overlay mounts of the process's mount namespace (mountinfo) and the upper directory's files",
			"procexit is reported when the last thread of a process exits; thread creation is reported only when clone or clone3 events are requested",
			"fork and exec events carry the process's cgroup v2 path (at most its last 16 levels), so that short-lived container processes are attributed to their container; cgroup v1 hierarchies are not read",
		},
	}
}
