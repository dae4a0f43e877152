//go:build linux && amd64

package ebpf

import (
	"testing"
	"unsafe"
)

// TestLayout checks the decoder's offsets against the C structs, through
// the Go types bpf2go generated from the object's BTF.
func TestLayout(t *testing.T) {
	var (
		h  vigilRecHdr
		it vigilItemHdr
		fi vigilFileInfo
		si vigilSockInfo
		pi vigilProcInfo
	)
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"rec_hdr.ts", unsafe.Offsetof(h.Ts), hdrTs},
		{"rec_hdr.res", unsafe.Offsetof(h.Res), hdrRes},
		{"rec_hdr.args", unsafe.Offsetof(h.Args), hdrArgs},
		{"rec_hdr.tid", unsafe.Offsetof(h.Tid), hdrTid},
		{"rec_hdr.pid", unsafe.Offsetof(h.Pid), hdrPid},
		{"rec_hdr.kind", unsafe.Offsetof(h.Kind), hdrKind},
		{"rec_hdr.cpu", unsafe.Offsetof(h.Cpu), hdrCPU},
		{"rec_hdr.len", unsafe.Offsetof(h.Len), hdrLen},
		{"sizeof rec_hdr", unsafe.Sizeof(h), hdrSize},
		{"item_hdr.tag", unsafe.Offsetof(it.Tag), itemTag},
		{"item_hdr.flags", unsafe.Offsetof(it.Flags), itemFlags},
		{"item_hdr.len", unsafe.Offsetof(it.Len), itemLen},
		{"sizeof item_hdr", unsafe.Sizeof(it), itemSize},
		{"file_info.ino", unsafe.Offsetof(fi.Ino), fiIno},
		{"file_info.dev", unsafe.Offsetof(fi.Dev), fiDev},
		{"file_info.flags", unsafe.Offsetof(fi.Flags), fiFlags},
		{"file_info.fmode", unsafe.Offsetof(fi.Fmode), fiFmode},
		{"file_info.imode", unsafe.Offsetof(fi.Imode), fiImode},
		{"file_info.magic", unsafe.Offsetof(fi.Magic), fiMagic},
		{"file_info.fd", unsafe.Offsetof(fi.Fd), fiFD},
		{"sizeof file_info", unsafe.Sizeof(fi), fiSize},
		{"sock_info.saddr", unsafe.Offsetof(si.Saddr), siSaddr},
		{"sock_info.daddr", unsafe.Offsetof(si.Daddr), siDaddr},
		{"sock_info.sport", unsafe.Offsetof(si.Sport), siSport},
		{"sock_info.dport", unsafe.Offsetof(si.Dport), siDport},
		{"sock_info.family", unsafe.Offsetof(si.Family), siFamily},
		{"sock_info.type", unsafe.Offsetof(si.Type), siType},
		{"sock_info.proto", unsafe.Offsetof(si.Proto), siProto},
		{"sock_info.state", unsafe.Offsetof(si.State), siState},
		{"sizeof sock_info", unsafe.Sizeof(si), siSize},
		{"proc_info.start", unsafe.Offsetof(pi.Start), piStart},
		{"proc_info.cap_inh", unsafe.Offsetof(pi.CapInh), piCapInh},
		{"proc_info.cap_perm", unsafe.Offsetof(pi.CapPerm), piCapPerm},
		{"proc_info.cap_eff", unsafe.Offsetof(pi.CapEff), piCapEff},
		{"proc_info.exe_ino", unsafe.Offsetof(pi.ExeIno), piExeIno},
		{"proc_info.exe_ctime", unsafe.Offsetof(pi.ExeCtime), piExeCtime},
		{"proc_info.exe_mtime", unsafe.Offsetof(pi.ExeMtime), piExeMtime},
		{"proc_info.ppid", unsafe.Offsetof(pi.Ppid), piPpid},
		{"proc_info.vpid", unsafe.Offsetof(pi.Vpid), piVpid},
		{"proc_info.vtid", unsafe.Offsetof(pi.Vtid), piVtid},
		{"proc_info.sid", unsafe.Offsetof(pi.Sid), piSid},
		{"proc_info.pgid", unsafe.Offsetof(pi.Pgid), piPgid},
		{"proc_info.vpgid", unsafe.Offsetof(pi.Vpgid), piVpgid},
		{"proc_info.uid", unsafe.Offsetof(pi.Uid), piUID},
		{"proc_info.gid", unsafe.Offsetof(pi.Gid), piGID},
		{"proc_info.euid", unsafe.Offsetof(pi.Euid), piEuid},
		{"proc_info.egid", unsafe.Offsetof(pi.Egid), piEgid},
		{"proc_info.fsuid", unsafe.Offsetof(pi.Fsuid), piFsuid},
		{"proc_info.fsgid", unsafe.Offsetof(pi.Fsgid), piFsgid},
		{"proc_info.loginuid", unsafe.Offsetof(pi.Loginuid), piLoginUID},
		{"proc_info.tty_major", unsafe.Offsetof(pi.TtyMajor), piTTYMajor},
		{"proc_info.tty_minor", unsafe.Offsetof(pi.TtyMinor), piTTYMinor},
		{"proc_info.exe_mode", unsafe.Offsetof(pi.ExeMode), piExeMode},
		{"proc_info.exe_uid", unsafe.Offsetof(pi.ExeUid), piExeUID},
		{"proc_info.exe_gid", unsafe.Offsetof(pi.ExeGid), piExeGID},
		{"proc_info.exe_nlink", unsafe.Offsetof(pi.ExeNlink), piExeNlink},
		{"proc_info.exe_magic", unsafe.Offsetof(pi.ExeMagic), piExeMagic},
		{"proc_info.exe_sbflags", unsafe.Offsetof(pi.ExeSbflags), piExeSbflags},
		{"proc_info.exe_iflags", unsafe.Offsetof(pi.ExeIflags), piExeIflags},
		{"proc_info.exit_code", unsafe.Offsetof(pi.ExitCode), piExitCode},
		{"proc_info.flags", unsafe.Offsetof(pi.Flags), piFlags},
		{"proc_info.comm", unsafe.Offsetof(pi.Comm), piComm},
		{"sizeof proc_info", unsafe.Sizeof(pi), piSize},
	} {
		if c.got != c.want {
			t.Errorf("%s: C offset %d, decoder uses %d", c.name, c.got, c.want)
		}
	}
}
