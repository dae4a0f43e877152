package fanotify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// Capability bits.
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// Probe reports whether the driver can run here, by doing what New does:
// fanotify_init with the driver's flags and a mark on the root filesystem,
// a proc connector subscription (waiting for the kernel's acknowledgement)
// and a sock_diag dump. It returns nil, an error wrapping
// driver.ErrNotSupported naming the missing kernel feature and the first
// kernel with it, an error wrapping driver.ErrPermission naming the cause
// (a missing capability, a seccomp filter, a user namespace), or another
// error when the probe is inconclusive. Optional features (filesystem
// marks, FAN_OPEN_EXEC, FAN_REPORT_DFID_NAME, FAN_RENAME) do not fail the
// probe; Coverage says what their absence costs.
func Probe() error {
	if _, err := probeFeatures(); err != nil {
		return err
	}
	if err := probeConnector(time.Second); err != nil {
		return err
	}
	s, err := newSockDiag()
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.dump(diagQueries[0]); err != nil {
		return fmt.Errorf("fanotify: sock_diag dump: %w", err)
	}
	return nil
}

// Coverage returns what the driver observes on this kernel. When the
// kernel's features cannot be probed (no privileges), it returns what the
// driver observes on a kernel that has them all.
func Coverage() driver.Coverage {
	f, err := probeFeatures()
	if err != nil {
		f = features{filesystemMark: true, openExec: true, dfidName: true, rename: true}
	}
	return coverageFor(f)
}

// probeFeatures initialises throwaway fanotify groups with the driver's
// flags and marks the root filesystem, to learn which optional features the
// kernel has. It fails when fanotify itself cannot be used.
func probeFeatures() (features, error) {
	var f features
	g1, err := unix.FanotifyInit(fanInitFlags, fanEventFlags)
	if err != nil {
		return f, fanInitError(err, "")
	}
	defer unix.Close(g1)
	err = unix.FanotifyMark(g1, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, fileMask, unix.AT_FDCWD, "/")
	if err != nil {
		return f, markError(err, "mount mark with FAN_OPEN, FAN_MODIFY and FAN_CLOSE (2.6.37)")
	}
	err = unix.FanotifyMark(g1, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fileMask, unix.AT_FDCWD, "/")
	switch {
	case err == nil:
		f.filesystemMark = true
	case errors.Is(err, unix.EINVAL):
		// No FAN_MARK_FILESYSTEM (4.20).
	case errors.Is(err, unix.EPERM):
		return f, markError(err, "")
	default:
		// The kernel has filesystem marks; the root filesystem does not
		// take one (mount marks are used there).
		f.filesystemMark = true
	}
	f.openExec = unix.FanotifyMark(g1, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, unix.FAN_OPEN_EXEC, unix.AT_FDCWD, "/") == nil

	g2, err := unix.FanotifyInit(fanInitFlags|unix.FAN_REPORT_DFID_NAME, fanEventFlags)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return f, nil // no FAN_REPORT_DFID_NAME (5.9)
		}
		return f, fanInitError(err, "FAN_REPORT_DFID_NAME (5.9)")
	}
	defer unix.Close(g2)
	if !f.filesystemMark {
		return f, nil
	}
	err = unix.FanotifyMark(g2, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, direntMask, unix.AT_FDCWD, "/")
	switch {
	case err == nil:
		f.dfidName = true
		f.rename = unix.FanotifyMark(g2, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_RENAME, unix.AT_FDCWD, "/") == nil
	case errors.Is(err, unix.EINVAL):
	default:
		// The root filesystem has no file handles (overlayfs, ...);
		// others may: find one to probe FAN_RENAME on.
		f.dfidName = true
		f.rename = probeRenameElsewhere(g2)
	}
	return f, nil
}

// probeRenameElsewhere tries FAN_RENAME on the filesystems likely to have
// file handles when the root filesystem has none.
func probeRenameElsewhere(g int) bool {
	for _, p := range []string{"/tmp", "/dev/shm", "/run", "/var"} {
		if unix.FanotifyMark(g, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_CREATE, unix.AT_FDCWD, p) != nil {
			continue
		}
		return unix.FanotifyMark(g, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_RENAME, unix.AT_FDCWD, p) == nil
	}
	return false
}

// markError classifies a fanotify_mark failure.
func markError(err error, feature string) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return fmt.Errorf("fanotify: fanotify_mark /: %w", permissionCause(err, capSysAdmin, "CAP_SYS_ADMIN"))
	case errors.Is(err, unix.EINVAL) && feature != "":
		return fmt.Errorf("fanotify: fanotify_mark /: %s: %w", feature, unsupported(err))
	}
	return fmt.Errorf("fanotify: fanotify_mark /: %w", err)
}

// probeConnector subscribes to the proc connector and waits for the
// kernel's acknowledgement of the subscription.
func probeConnector(wait time.Duration) error {
	c, err := newProcConn()
	if err != nil {
		return err
	}
	defer c.close()
	deadline := time.Now().Add(wait)
	var ev driver.Event
	var pe procEvent
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("fanotify: proc connector: no acknowledgement of the subscription within " + wait.String())
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("fanotify: proc connector: poll: %w", err)
		}
		msgs, err := c.drain()
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			return err
		}
		for _, m := range msgs {
			if decodeProcEvent(m, &ev, &pe) != nil || pe.What != procEventNone {
				continue
			}
			if pe.A == 0 {
				return nil
			}
			e := unix.Errno(pe.A)
			if e == unix.EPERM {
				return fmt.Errorf("fanotify: proc connector: subscribe: %w", permissionCause(e, capNetAdmin, "CAP_NET_ADMIN"))
			}
			return fmt.Errorf("fanotify: proc connector: subscribe: %w", e)
		}
	}
}

// unsupported wraps err as driver.ErrNotSupported.
func unsupported(err error) error {
	return fmt.Errorf("%w (%v)", driver.ErrNotSupported, err)
}

// permissionCause explains an EPERM as driver.ErrPermission: the missing
// capability, a seccomp filter or a user namespace.
func permissionCause(err error, capBit uint, capName string) error {
	status, _ := os.ReadFile("/proc/self/status")
	if eff, ok := statusField(status, "CapEff"); ok {
		if v, perr := strconv.ParseUint(eff, 16, 64); perr == nil && v&(1<<capBit) == 0 {
			return fmt.Errorf("%s is missing from the effective capabilities (CapEff %s): %w (%v)", capName, eff, driver.ErrPermission, err)
		}
	}
	if mode, ok := statusField(status, "Seccomp"); ok && mode == "2" {
		return fmt.Errorf("a seccomp filter denies it (Seccomp mode 2, %s present): %w (%v)", capName, driver.ErrPermission, err)
	}
	if m, rerr := os.ReadFile("/proc/self/uid_map"); rerr == nil && !initialUserNS(m) {
		return fmt.Errorf("running in a user namespace: %s is needed in the initial user namespace: %w (%v)", capName, driver.ErrPermission, err)
	}
	if l, rerr := os.ReadFile("/sys/kernel/security/lockdown"); rerr == nil && !bytes.Contains(l, []byte("[none]")) {
		return fmt.Errorf("kernel lockdown (%s) may forbid it: %w (%v)", bytes.TrimSpace(l), driver.ErrPermission, err)
	}
	return fmt.Errorf("cause unknown (%s present, no seccomp filter, initial user namespace): %w (%v)", capName, driver.ErrPermission, err)
}

// statusField returns a field of /proc/self/status.
func statusField(status []byte, name string) (string, bool) {
	for len(status) > 0 {
		line := status
		if i := bytes.IndexByte(status, '\n'); i >= 0 {
			line, status = status[:i], status[i+1:]
		} else {
			status = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte(name+":")); ok {
			return string(bytes.TrimSpace(v)), true
		}
	}
	return "", false
}

// initialUserNS reports whether a uid_map is the initial namespace's
// identity map.
func initialUserNS(m []byte) bool {
	f := bytes.Fields(m)
	return len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295"
}
