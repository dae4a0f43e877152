// Package fanotify is Vigil's event driver for kernels where eBPF cannot
// run: file events from fanotify, process events from the netlink proc
// connector, and connections from polling netlink sock_diag. From these it
// synthesizes the same driver.Event types the eBPF driver produces (openat,
// execve, clone, procexit, unlinkat, renameat2, mkdirat, chmod, connect,
// accept, listen, ...) and leaves unavailable what it cannot observe.
//
// It needs Linux with fanotify (CAP_SYS_ADMIN in the initial user
// namespace), the proc connector (CONFIG_PROC_EVENTS, CAP_NET_ADMIN) and
// sock_diag (CONFIG_INET_DIAG). Filesystem marks need 4.20, FAN_OPEN_EXEC
// 5.0 and directory-entry events (FAN_REPORT_DFID_NAME) 5.9; on older
// kernels the driver falls back to mount marks and reports fewer event
// types (see Coverage).
package fanotify

import (
	"time"

	"github.com/vigilsec/vigil/driver"
)

// Name is the driver's name.
const Name = "fanotify"

// Defaults for Config.
const (
	// DefaultSockPollInterval is how often sockets are listed.
	DefaultSockPollInterval = time.Second
	// DefaultOpenWait is how long an open waits for its close (which tells
	// whether it was opened for writing) before the driver looks the
	// descriptor up in /proc.
	DefaultOpenWait = 20 * time.Millisecond
)

// UnknownFD is the descriptor number (Event.Res, FD and FDInfo.Num) of an
// open whose descriptor was closed before the driver could find it in
// /proc/PID/fd. fanotify reports only successful opens, so the number is
// non-negative (Falco's open_read/open_write macros test fd.num>=0), but it
// is not the process's real descriptor number.
const UnknownFD = 1<<31 - 1

// Config holds the driver's own settings; nil means the defaults.
type Config struct {
	// SockPollInterval is how often sock_diag is polled for new
	// connections and listeners; 0 means DefaultSockPollInterval and a
	// negative value disables socket events.
	SockPollInterval time.Duration
	// OpenWait is how long an open waits for its close before its
	// descriptor is looked up; 0 means DefaultOpenWait.
	OpenWait time.Duration
	// ProcRoot is the procfs mount, "/proc" when empty.
	ProcRoot string
}

// Stats are the driver's counters.
type Stats struct {
	// Events is the number of events emitted.
	Events uint64
	// Drops counts losses: fanotify queue overflows (FAN_Q_OVERFLOW) and
	// proc connector messages the socket buffer could not hold (ENOBUFS).
	Drops uint64
	// Overflows is the part of Drops due to fanotify queue overflows.
	Overflows uint64
	// Resyncs counts the state resynchronisations requested after drops.
	Resyncs uint64
	// DecodeErrors counts records that could not be decoded.
	DecodeErrors uint64
	// Marks is the number of filesystem or mount marks in place.
	Marks int
	// MarkErrors counts filesystems that could not be marked.
	MarkErrors uint64
}

// Event types the driver produces.
var (
	evtOpenat    = driver.MustEventType("openat")
	evtExecve    = driver.MustEventType("execve")
	evtClone     = driver.MustEventType("clone")
	evtProcexit  = driver.MustEventType("procexit")
	evtSetuid    = driver.MustEventType("setuid")
	evtSetgid    = driver.MustEventType("setgid")
	evtSetsid    = driver.MustEventType("setsid")
	evtPtrace    = driver.MustEventType("ptrace")
	evtPrctl     = driver.MustEventType("prctl")
	evtUnlinkat  = driver.MustEventType("unlinkat")
	evtRenameat2 = driver.MustEventType("renameat2")
	evtMkdirat   = driver.MustEventType("mkdirat")
	evtChmod     = driver.MustEventType("chmod")
	evtChown     = driver.MustEventType("chown")
	evtSymlinkat = driver.MustEventType("symlinkat")
	evtConnect   = driver.MustEventType("connect")
	evtAccept    = driver.MustEventType("accept")
	evtListen    = driver.MustEventType("listen")
)

// Factory returns the driver's factory for driver.Select.
func Factory() driver.Factory {
	return driver.Factory{
		Name:     Name,
		Summary:  "fanotify file events, netlink proc connector process events and sock_diag socket polling",
		Probe:    Probe,
		Coverage: Coverage,
		New: func(opts *driver.Options) (driver.Driver, error) {
			d, err := New(opts, nil)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
		Auto: true,
	}
}

// coverageFor lists what the driver observes with the given kernel
// features.
func coverageFor(f features) driver.Coverage {
	ev := driver.NewEventTypeSet(evtOpenat, evtExecve, evtClone, evtProcexit, evtSetuid, evtSetgid,
		evtSetsid, evtPtrace, evtPrctl, evtConnect, evtAccept, evtListen)
	notes := []string{
		"file opens are reported after the fact (fanotify notification mode): openat has the absolute path, dev and inode but no dirfd, no mode and no failed opens",
		"open flags come from /proc/PID/fdinfo when the descriptor is still open, otherwise the access mode is inferred from the close (close-write or close-nowrite) or a modification; O_CREAT is set for files the open created; other flags of short-lived descriptors are unavailable",
		"the descriptor number of an open that was closed before the driver looked is reported as 2147483647 (UnknownFD); so is that of a socket whose process was not found, whose event then has pid 0",
		"FAN_Q_OVERFLOW (more than 16384 queued file events) and proc connector overruns are counted as drops and trigger a state resync (Options.Resync)",
		"fanotify merges queued events on the same file by the same process: repeated opens of one file while the driver lags are reported once",
		"file events carry the process id only: their thread id is the process id",
		"exec, fork, exit, uid, gid, session and ptrace-attach events come from the proc connector; execve arguments, executable, cwd and credentials are read from /proc/PID after the fact, so processes that exit within microseconds may lack them (the executable path then comes from fanotify's exec open)",
		"setuid/setgid events report the effective id after any credential change (setuid, setreuid, setresuid, setuid executables); the syscall's arguments and failed calls are not seen",
		"ptrace is reported only for PTRACE_ATTACH/PTRACE_SEIZE (as PTRACE_ATTACH) with the target pid; other requests are not seen",
		"prctl events are reported only for process renames (PR_SET_NAME) from the proc connector's comm events",
		"connections and listeners are seen by polling sock_diag (TCP and UDP over IPv4 and IPv6): connections shorter than the poll interval are missed, events are late by up to one interval, and sockets are attributed to processes by inode through /proc/PID/fd",
		"filesystems are marked as the driver's mount namespace shows them; when a process of another mount namespace (a container) is first seen, the filesystems mounted there (its overlay root, its own tmpfs mounts) are marked too, so a container's file events before that are seen only on filesystems the host mounts",
		"file events of processes in other mount namespaces carry the paths those processes see: opens come through the container's own mounts; directory-entry events (unlinkat, mkdirat, renameat2, chmod, chown, symlinkat, creations) are resolved on the host's mounts and mapped back from the overlay's upper and lower directories and from bind-mount sources to the container's mount points, using the namespace's mountinfo read once per namespace (bounded cache); the overlay's own work in its work directory (copy-ups, whiteouts) is not reported, except that a whiteout is reported as the unlinkat of the image file it hides; a directory's copy-up to the upper layer is reported as a chmod of that directory",
		"overlayfs opens a layer's file beneath a container process's file and fanotify reports both: the layer's event is dropped once the overlay is marked, for processes whose namespace was read while they lived; a process that exited before the driver saw its exec, or a host process reading a container's files through /proc/PID/root, may have its opens reported twice (once with the layer's device and inode), and the directory-entry events of a process gone before its namespace was read are mapped with the overlay layers of the namespaces already seen",
		"overlayfs has no decodable file handles, so directory entries are watched on the upper layer's filesystem; when a container's layers are not all on one filesystem and the overlay has no xino, a file's creation and its open are reported as two openat events; mounts made inside a container after its namespace was read are not mapped",
		"no syscall arguments beyond these: no read/write data, no sendto/recvfrom, no mount, kill, bpf, module or namespace syscalls",
	}
	fields := driver.HasRes | driver.HasFD | driver.HasPath | driver.HasFlags | driver.HasUID | driver.HasGID |
		driver.HasTargetPID | driver.HasRequest | driver.HasSignal | driver.HasCmd | driver.HasAddr |
		driver.HasDev | driver.HasArgs | driver.HasFDInfo | driver.HasCPU | driver.HasNum | driver.HasCreated |
		driver.HasName
	if f.dfidName {
		ev.Add(evtUnlinkat)
		ev.Add(evtMkdirat)
		ev.Add(evtChmod)
		ev.Add(evtChown)
		ev.Add(evtSymlinkat)
		fields |= driver.HasMode
		if f.rename {
			ev.Add(evtRenameat2)
			fields |= driver.HasOldPath | driver.HasNewPath
		}
		notes = append(notes,
			"directory-entry events (FAN_REPORT_DFID_NAME): file deletions and directory removals as unlinkat (AT_REMOVEDIR), directory creation as mkdirat, symlinks as symlinkat, renames as renameat2 (no flags), attribute changes as chmod with the mode after the change and as chown when the owner changed; paths are resolved from directory handles and are unavailable when the directory is already gone")
	} else {
		notes = append(notes, "this kernel has no FAN_REPORT_DFID_NAME (5.9): no unlink, rename, mkdir, chmod or chown events")
	}
	if !f.filesystemMark {
		notes = append(notes, "this kernel has no filesystem marks (FAN_MARK_FILESYSTEM, 4.20): mounts are marked one by one")
	}
	if !f.openExec {
		notes = append(notes, "this kernel has no FAN_OPEN_EXEC (5.0): execve has no filename when /proc is already gone")
	}
	return driver.Coverage{
		Events: ev,
		Fields: fields,
		ProcFields: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
			driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv |
			driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasLoginUID |
			driver.ProcHasUser | driver.ProcHasStart | driver.ProcHasCaps | driver.ProcHasExeFlags |
			driver.ProcHasExeIno | driver.ProcHasPGID,
		Notes: notes,
	}
}

// features are the optional kernel features the driver adapts to.
type features struct {
	filesystemMark bool // FAN_MARK_FILESYSTEM (4.20)
	openExec       bool // FAN_OPEN_EXEC (5.0)
	dfidName       bool // FAN_REPORT_DFID_NAME (5.9)
	rename         bool // FAN_RENAME (5.17)
}
