package procscan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vigilsec/vigil/driver"
)

// procSuperMagic is procfs's statfs f_type (PROC_SUPER_MAGIC).
const procSuperMagic = 0x9fa0

// ProbePoll reports whether the polling driver can run here, by reading
// /proc as the driver does: it returns nil when a procfs is mounted at
// /proc and readable (as a user other than root only that user's
// descriptors are visible, which PollCoverage says), an error wrapping
// driver.ErrNotSupported when /proc is missing or not a procfs, an error
// wrapping driver.ErrPermission when it cannot be read or hides other
// users' processes (hidepid) from a user other than root, and another
// error when the probe is inconclusive. It needs Linux procfs
// (CONFIG_PROC_FS) and no privileges.
func ProbePoll() error {
	return probePoll("/proc", os.Geteuid() == 0)
}

// probePoll probes the procfs mounted at root.
func probePoll(root string, privileged bool) error {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(root, &fs); err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("procscan: %s does not exist: procfs (CONFIG_PROC_FS) is not mounted: %w", root, driver.ErrNotSupported)
		case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
			return fmt.Errorf("procscan: statfs %s: %w (%v)", root, driver.ErrPermission, err)
		}
		return fmt.Errorf("procscan: statfs %s: %w", root, err)
	}
	if fs.Type != procSuperMagic {
		return fmt.Errorf("procscan: %s is not a procfs mount (filesystem type %#x): %w", root, fs.Type, driver.ErrNotSupported)
	}
	d, err := os.Open(root)
	if err != nil {
		return probeErr(root, err)
	}
	_, err = d.Readdirnames(64)
	d.Close()
	if err != nil {
		return probeErr(root, err)
	}
	if _, err := os.ReadFile(filepath.Join(root, "self", "stat")); err != nil {
		return probeErr(filepath.Join(root, "self", "stat"), err)
	}
	if _, err := os.ReadDir(filepath.Join(root, "self", "fd")); err != nil {
		return probeErr(filepath.Join(root, "self", "fd"), err)
	}
	if _, err := BootTime(root); err != nil {
		return fmt.Errorf("procscan: %w", err)
	}
	if privileged {
		return nil
	}
	mi, err := os.ReadFile(filepath.Join(root, "self", "mountinfo"))
	if err != nil {
		return nil // the mount options are unknown; the rest works
	}
	if v, ok := hidepid(mi, root); ok {
		return fmt.Errorf("procscan: %s is mounted with hidepid=%s: other users' processes are hidden from a user other than root (remount with hidepid=0 or run as root): %w",
			root, v, driver.ErrPermission)
	}
	return nil
}

// probeErr classifies a failed read of procfs.
func probeErr(what string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("procscan: read %s: %w (%v)", what, driver.ErrPermission, err)
	}
	return fmt.Errorf("procscan: read %s: %w", what, err)
}
