package procscan

import (
	"os"
	"syscall"

	"github.com/vigilsec/vigil/driver"
)

var errESRCH error = syscall.ESRCH

// capDACOverride is CAP_DAC_OVERRIDE's bit.
const capDACOverride = 1 << 1

// statExe fills the executable's inode attributes and ExeWritable from a
// stat of /proc/PID/exe (which reaches the file even when it was deleted).
func statExe(path string, pr *driver.Process) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	pr.ExeIno = st.Ino
	pr.ExeInoCtime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	pr.ExeInoMtime = st.Mtim.Sec*1e9 + st.Mtim.Nsec
	pr.Has |= driver.ProcHasExeIno
	pr.ExeWritable = exeWritable(st.Mode, st.Uid, st.Gid, pr)
}

// exeWritable approximates the kernel's write-permission check on the
// executable for the process's effective ids, as the eBPF driver computes
// proc.is_exe_writable: owner, group and other write bits, or
// CAP_DAC_OVERRIDE. Supplementary groups are not considered.
func exeWritable(mode, uid, gid uint32, pr *driver.Process) bool {
	if !pr.Has.Has(driver.ProcHasUser) {
		return false
	}
	switch {
	case pr.Has.Has(driver.ProcHasCaps) && pr.CapEffective&capDACOverride != 0:
		return true
	case pr.UID == uid:
		return mode&0o200 != 0
	case pr.GID == gid:
		return mode&0o020 != 0
	}
	return mode&0o002 != 0
}
