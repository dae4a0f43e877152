// Package procscan reads processes from a Linux procfs mount (normally
// /proc). Snapshot lists every process, as the state layer needs to seed its
// process table when a driver starts; ReadProcess reads one process, for lazy
// lookups of processes whose creation a driver missed.
//
// The package also holds Vigil's last-resort event driver, Poller
// (PollFactory): it polls /proc for new and exited processes, new file
// descriptors and new connections and listeners (/proc/net), and reports
// them as execve, clone, procexit, openat, connect, accept and listen
// events. It needs nothing but a readable procfs and misses whatever
// starts and ends between two polls (see PollCoverage).
//
// The package only reads files: it needs no privileges beyond what procfs
// grants the caller (root reads every process; others see less, and the
// fields they could not read are left unavailable).
package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/driver"
)

// Bounds on what is read from a process, as libscap bounds them.
const (
	// MaxArgsBytes bounds the bytes of /proc/PID/cmdline read per process.
	MaxArgsBytes = 4096
	// MaxEnvBytes bounds the bytes of /proc/PID/environ read per process.
	MaxEnvBytes = 4096
	// MaxCgroupBytes bounds the bytes of /proc/PID/cgroup read per process.
	MaxCgroupBytes = 8192
	// maxSmallFile bounds stat, status and similar one-page files.
	maxSmallFile = 16384
)

// userHZ is the unit of /proc/PID/stat times (USER_HZ, 100 on every Linux
// architecture's user-space ABI).
const userHZ = 100

// ErrGone is wrapped by ReadProcess when the process does not exist (any
// more). It matches fs.ErrNotExist too.
var ErrGone = fmt.Errorf("process gone: %w", fs.ErrNotExist)

// Proc is one process as read from procfs. The embedded Process has the
// ProcHas* bits set for what could be read; Parent is always nil and the
// user and group names are left to the state layer.
//
// Of the exe flags, /proc tells ExeFromMemfd (the exe link names a memfd)
// and ExeWritable (computed from the executable's owner, mode and the
// process's effective ids and CAP_DAC_OVERRIDE); ExeUpperLayer and
// ExeLowerLayer are not determined and stay false. VPid is the innermost
// NSpid value, SID the innermost NSsid (so that it compares with VPid), PGID
// the host value and VPGID the innermost NSpgid. UID and GID are the
// effective ids.
type Proc struct {
	driver.Process
	// Cgroup is the raw contents of /proc/PID/cgroup (one
	// "hierarchy-id:controllers:path" line per hierarchy; "0::/path" for
	// cgroup v2), empty when unreadable.
	Cgroup string
	// ExeDeleted reports that the executable was unlinked (the exe link
	// ended in " (deleted)", which is stripped from ExePath).
	ExeDeleted bool
	// Zombie reports a process that has exited but not been reaped.
	Zombie bool
}

// Snapshot reads every process under procRoot (normally "/proc").
// Processes that exit while the snapshot is taken are skipped. It returns an
// error only when procRoot itself cannot be listed or its boot time read.
// It needs Linux procfs.
func Snapshot(procRoot string) ([]Proc, error) {
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, fmt.Errorf("procscan: list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("procscan: list processes: %w", err)
	}
	btime, err := BootTime(procRoot)
	if err != nil {
		return nil, err
	}
	r := reader{root: procRoot, btime: btime}
	procs := make([]Proc, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		p, err := r.read(pid)
		if err != nil {
			// Gone, or unreadable: either way not part of the snapshot.
			continue
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// ReadProcess reads process pid under procRoot. It returns an error wrapping
// ErrGone (and fs.ErrNotExist) when the process does not exist, and another
// error when its stat or status file cannot be read or parsed. Other files
// that cannot be read leave their fields unavailable.
func ReadProcess(procRoot string, pid int) (Proc, error) {
	btime, err := BootTime(procRoot)
	if err != nil {
		return Proc{}, err
	}
	r := reader{root: procRoot, btime: btime}
	return r.read(pid)
}

// ReadCgroup returns the contents of /proc/PID/cgroup under procRoot,
// bounded by MaxCgroupBytes. A missing process gives an error wrapping
// ErrGone.
func ReadCgroup(procRoot string, pid int) (string, error) {
	var buf []byte
	b, err := readBounded(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"), buf, MaxCgroupBytes)
	if err != nil {
		return "", goneErr(pid, "cgroup", err)
	}
	return string(b), nil
}

// BootTime returns the boot time (the btime line of procRoot/stat) in
// seconds since the epoch.
func BootTime(procRoot string) (int64, error) {
	f, err := os.Open(filepath.Join(procRoot, "stat"))
	if err != nil {
		return 0, fmt.Errorf("procscan: boot time: %w", err)
	}
	defer f.Close()
	// btime follows the per-CPU lines; read in chunks so that machines with
	// many CPUs need no large buffer.
	buf := make([]byte, 0, 8192)
	chunk := make([]byte, 8192)
	for len(buf) < 1<<22 {
		n, err := f.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if i := bytes.Index(buf, []byte("\nbtime ")); i >= 0 {
			rest := buf[i+len("\nbtime "):]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				return parseBtime(rest[:j])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("procscan: boot time: %w", err)
		}
	}
	return 0, errors.New("procscan: boot time: no btime line in stat")
}

func parseBtime(b []byte) (int64, error) {
	v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("procscan: boot time: bad btime %q", b)
	}
	return v, nil
}

// reader reads processes with a shared buffer.
type reader struct {
	root  string
	btime int64
	buf   []byte
}

func (r *reader) file(pid int, name string, limit int) ([]byte, error) {
	b, err := readBounded(filepath.Join(r.root, strconv.Itoa(pid), name), r.buf, limit)
	r.buf = b[:0]
	return b, err
}

// goneErr turns a missing-file error into ErrGone.
func goneErr(pid int, what string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errESRCH) {
		return fmt.Errorf("procscan: read %s of pid %d: %w", what, pid, ErrGone)
	}
	return fmt.Errorf("procscan: read %s of pid %d: %w", what, pid, err)
}

func (r *reader) read(pid int) (Proc, error) {
	var p Proc
	b, err := r.file(pid, "stat", maxSmallFile)
	if err != nil {
		return p, goneErr(pid, "stat", err)
	}
	st, err := parseStat(b)
	if err != nil {
		return p, fmt.Errorf("procscan: pid %d: %w", pid, err)
	}
	b, err = r.file(pid, "status", maxSmallFile)
	if err != nil {
		return p, goneErr(pid, "status", err)
	}
	ss, err := parseStatus(b)
	if err != nil {
		return p, fmt.Errorf("procscan: pid %d: %w", pid, err)
	}

	pr := &p.Process
	pr.Pid, pr.Tid = int64(pid), int64(pid)
	if ss.tgid > 0 {
		pr.Pid = ss.tgid
	}
	pr.PPid = st.ppid
	pr.Name = st.comm
	pr.PGID = st.pgrp
	pr.SID = st.session
	pr.TTY = uint32(st.ttyNr)
	pr.StartTime = r.btime*1e9 + int64(st.startTicks)*(1e9/userHZ)
	pr.Has |= driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasName |
		driver.ProcHasPGID | driver.ProcHasSID | driver.ProcHasTTY | driver.ProcHasStart
	p.Zombie = st.state == 'Z' || st.state == 'X'

	pr.VPid, pr.VTid, pr.VPGID = pr.Pid, pr.Tid, pr.PGID
	if ss.nspid > 0 {
		pr.VPid, pr.VTid = ss.nspid, ss.nspid
	}
	if ss.nspgid > 0 {
		pr.VPGID = ss.nspgid
	}
	if ss.nssid > 0 {
		// proc.sid is compared with proc.vpid (is_sid_leader): keep it in
		// the process's own namespace.
		pr.SID = ss.nssid
	}
	pr.Has |= driver.ProcHasVPid
	pr.IsVPGIDLeader = pr.VPGID == pr.VPid
	pr.IsSIDLeader = pr.SID == pr.VPid
	if ss.has&hasUID != 0 && ss.has&hasGID != 0 {
		pr.UID, pr.GID = ss.euid, ss.egid
		pr.Has |= driver.ProcHasUser
	}
	if ss.has&hasCaps == hasCaps {
		pr.CapPermitted, pr.CapEffective, pr.CapInheritable = ss.capPrm, ss.capEff, ss.capInh
		pr.Has |= driver.ProcHasCaps
	}

	if b, err := r.file(pid, "cmdline", MaxArgsBytes); err == nil {
		args := splitNUL(b, len(b) >= MaxArgsBytes)
		if len(args) > 0 {
			pr.Exe = args[0]
			pr.Args = args[1:]
		} else {
			// Kernel threads and zombies have no command line; libscap
			// shows their comm as exe.
			pr.Exe = pr.Name
			pr.Args = []string{}
		}
		pr.Has |= driver.ProcHasExe | driver.ProcHasArgs
	}
	if b, err := r.file(pid, "environ", MaxEnvBytes); err == nil {
		pr.Env = splitNUL(b, len(b) >= MaxEnvBytes)
		pr.Has |= driver.ProcHasEnv
	}
	if b, err := r.file(pid, "loginuid", maxSmallFile); err == nil {
		if v, ok := parseLoginUID(b); ok {
			pr.LoginUID = v
			pr.Has |= driver.ProcHasLoginUID
		}
	}
	if b, err := r.file(pid, "cgroup", MaxCgroupBytes); err == nil {
		p.Cgroup = string(b)
	}
	dir := filepath.Join(r.root, strconv.Itoa(pid))
	if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		pr.Cwd = cwdSlash(cwd)
		pr.Has |= driver.ProcHasCwd
	}
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		pr.ExePath, p.ExeDeleted, pr.ExeFromMemfd = parseExeLink(exe)
		pr.Has |= driver.ProcHasExePath | driver.ProcHasExeFlags
		statExe(filepath.Join(dir, "exe"), pr)
	}
	return p, nil
}

// readBounded reads at most limit bytes of the file at path into buf.
func readBounded(path string, buf []byte, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	if cap(buf) < limit+1 {
		buf = make([]byte, 0, limit+1)
	}
	buf = buf[:0]
	for len(buf) < limit {
		n, err := f.Read(buf[len(buf):limit])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf[:0], err
		}
		if n == 0 {
			break
		}
	}
	return buf, nil
}

// cwdSlash returns dir with a trailing slash, as Falco shows proc.cwd.
func cwdSlash(dir string) string {
	dir = strings.TrimSuffix(dir, " (deleted)")
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return dir
}

// parseExeLink interprets the target of /proc/PID/exe: the path without a
// " (deleted)" suffix, whether that suffix was there, and whether the
// executable is a memfd ("/memfd:NAME (deleted)").
func parseExeLink(link string) (path string, deleted, memfd bool) {
	path, deleted = strings.CutSuffix(link, " (deleted)")
	memfd = strings.HasPrefix(link, "/memfd:")
	return path, deleted, memfd
}

func parseLoginUID(b []byte) (int64, bool) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 32)
	if err != nil {
		return 0, false
	}
	if v == 0xffffffff {
		return -1, true
	}
	return int64(v), true
}

// splitNUL splits NUL-separated strings (cmdline, environ). When truncated
// is set the last, possibly cut, string is dropped unless it is the only
// one. A trailing NUL ends the list; a process that rewrote its cmdline may
// use spaces instead, which are kept as they are.
func splitNUL(b []byte, truncated bool) []string {
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] == 0 {
		b = b[:len(b)-1]
		truncated = false
	}
	n := bytes.Count(b, []byte{0}) + 1
	out := make([]string, 0, n)
	s := string(b)
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
	if truncated && len(out) > 1 {
		out = out[:len(out)-1]
	}
	return out
}
