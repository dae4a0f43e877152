package procscan

import (
	"os"
	"strconv"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// PollName is the polling driver's name.
const PollName = "procscan"

// Defaults for PollConfig.
const (
	// DefaultPollInterval is how often the polling driver reads /proc.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultMaxFDs bounds the descriptors examined per process and poll.
	DefaultMaxFDs = 1024
	// maxNetBytes bounds the bytes read of one /proc/net table.
	maxNetBytes = 32 << 20
)

// PollConfig holds the polling driver's own settings; nil means the
// defaults.
type PollConfig struct {
	// Interval is the time between two polls; 0 means
	// DefaultPollInterval.
	Interval time.Duration
	// ProcRoot is the procfs mount, "/proc" when empty.
	ProcRoot string
	// MaxFDs bounds the descriptors examined per process and poll (the
	// lowest numbers are kept); 0 means DefaultMaxFDs.
	MaxFDs int
}

// PollStats are the polling driver's counters and the size of its state.
type PollStats struct {
	// Polls is the number of completed polls, the baseline included.
	Polls uint64
	// Events is the number of events emitted.
	Events uint64
	// Procs is the number of processes tracked after the last poll.
	Procs int
	// FDs is the number of descriptors tracked after the last poll.
	FDs int
	// Sockets is the number of sockets remembered after the last poll.
	Sockets int
	// TruncatedFDs counts processes whose descriptors were cut at MaxFDs.
	TruncatedFDs uint64
	// LastPoll is how long the last poll took.
	LastPoll time.Duration
}

// Event types the polling driver produces.
var (
	evtClone    = driver.MustEventType("clone")
	evtExecve   = driver.MustEventType("execve")
	evtProcexit = driver.MustEventType("procexit")
	evtOpenat   = driver.MustEventType("openat")
	evtConnect  = driver.MustEventType("connect")
	evtAccept   = driver.MustEventType("accept")
	evtListen   = driver.MustEventType("listen")
)

// PollFactory returns the polling driver's factory for driver.Select. It
// is meant to come last in automatic selection: it needs nothing but a
// readable /proc and sees least.
func PollFactory() driver.Factory {
	return driver.Factory{
		Name:     PollName,
		Summary:  "polls /proc for processes, open descriptors and sockets (no privileges needed; misses short-lived activity)",
		Probe:    ProbePoll,
		Coverage: PollCoverage,
		New: func(opts *driver.Options) (driver.Driver, error) {
			d, err := NewPoller(opts, nil)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
		Auto: true,
	}
}

// PollCoverage returns what the polling driver observes, with the default
// interval and as the current user (a user other than root sees only the
// descriptors of its own processes).
func PollCoverage() driver.Coverage {
	return pollCoverage(DefaultPollInterval, DefaultMaxFDs, os.Geteuid() == 0)
}

// pollCoverage lists what the driver observes with the given settings,
// as root or as another user.
func pollCoverage(interval time.Duration, maxFDs int, root bool) driver.Coverage {
	notes := []string{
		"activity is seen by polling /proc every " + interval.String() + ": events are late by up to one interval and carry the time of the poll, not of the syscall",
		"processes that start and exit within one interval are missed entirely; an exec in a known process is seen when its name (comm) changed between polls and its executable or command line differ, so an exec of a program with the same name as the one it replaces is missed, and of several execs within one interval only the last is seen",
		"a new process is reported as clone and, when it runs another program than its parent, execve; both are synthesized after the fact, with the process's state at the poll",
		"procexit has no exit status or signal; a process is reported as exited when it becomes a zombie or disappears",
		"files opened and closed between two polls are missed; openat is reported for descriptors that appeared since the last poll, with the path from /proc/PID/fd and the flags the kernel keeps (/proc/PID/fdinfo): O_CREAT, O_EXCL, O_TRUNC and O_NOCTTY are never set, no dirfd, no mode, and descriptors inherited from the parent are not reported",
		"no syscall arguments and no failed calls: no reads or writes, no unlink, rename, mkdir, chmod, setuid, ptrace, mount, kill, bpf or module events",
		"connections and listeners come from /proc/net/{tcp,tcp6,udp,udp6,unix} of each network namespace in use: TCP connect/accept/listen, connected UDP sockets as connect, listening unix sockets as listen and accepted unix connections as accept; connections shorter than the interval are missed, the client side of unix connections is not seen, and sockets are attributed to processes by inode through /proc/PID/fd (a socket no readable process holds is not reported)",
		"descriptors beyond the first " + strconv.Itoa(maxFDs) + " of a process (PollConfig.MaxFDs) are not examined; kernel threads are not reported",
	}
	if !root {
		notes = append(notes, "not running as root: only this user's processes' descriptors and sockets are visible; other users' processes are seen only as exec and exit")
	}
	return driver.Coverage{
		Events: driver.NewEventTypeSet(evtClone, evtExecve, evtProcexit, evtOpenat, evtConnect, evtAccept, evtListen),
		Fields: driver.HasRes | driver.HasFD | driver.HasPath | driver.HasFlags | driver.HasAddr |
			driver.HasDev | driver.HasArgs | driver.HasFDInfo | driver.HasNum,
		ProcFields: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
			driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv |
			driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasLoginUID |
			driver.ProcHasUser | driver.ProcHasStart | driver.ProcHasCaps | driver.ProcHasExeFlags |
			driver.ProcHasExeIno | driver.ProcHasPGID,
		Notes: notes,
	}
}
