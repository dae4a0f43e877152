package fields

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/glob"
)

func et(n string) driver.EventType { return driver.MustEventType(n) }

const allProc = driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
	driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv | driver.ProcHasCwd |
	driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasLoginUID | driver.ProcHasUser |
	driver.ProcHasUserName | driver.ProcHasGroupName | driver.ProcHasLoginName | driver.ProcHasStart |
	driver.ProcHasCaps | driver.ProcHasExeFlags | driver.ProcHasExeIno | driver.ProcHasPGID

func procChain() *driver.Process {
	initp := &driver.Process{Has: allProc, Pid: 1, Name: "systemd", Exe: "/sbin/init", ExePath: "/usr/lib/systemd/systemd", SID: 1}
	sshd := &driver.Process{Has: allProc, Pid: 100, PPid: 1, Name: "sshd", Exe: "sshd", ExePath: "/usr/sbin/sshd", Args: []string{"-D"}, SID: 100, Parent: initp}
	bash := &driver.Process{Has: allProc, Pid: 200, PPid: 100, Name: "bash", Exe: "-bash", ExePath: "/usr/bin/bash", SID: 200, VPid: 200, VPGID: 300, Parent: sshd,
		Env: []string{"HOME=/root", "TERM=xterm"}}
	return &driver.Process{
		Has: allProc, Pid: 300, Tid: 300, PPid: 200, VPid: 300, VTid: 300, SID: 200, PGID: 300, VPGID: 300,
		Name: "curl", Exe: "curl", ExePath: "/usr/bin/curl", Args: []string{"-s", "http://x"},
		Env: []string{"HOME=/root", "HTTP_PROXY=http://p:3128"}, Cwd: "/root/", TTY: 34816,
		UID: 0, GID: 0, LoginUID: 1000, UserName: "root", HomeDir: "/root", Shell: "/bin/bash",
		GroupName: "root", LoginName: "alice", StartTime: 1_000_000_000,
		CapPermitted: 1<<0 | 1<<1 | 1<<21, CapEffective: 1 << 21, ExeUpperLayer: true,
		ExeIno: 42, ExeInoCtime: 900_000_000, ExeInoMtime: 800_000_000, Parent: bash,
	}
}

func bindOf(t *testing.T, ref string) Extractor {
	t.Helper()
	f, arg, hasArg, ok := Default().Lookup(ref)
	if !ok {
		t.Fatalf("Lookup(%q) failed", ref)
	}
	x, err := f.Bind(arg, hasArg)
	if err != nil {
		t.Fatalf("Bind(%q): %v", ref, err)
	}
	return x
}

// text renders a field reference for ev, "<NA>" when unavailable.
func text(t *testing.T, ref string, ev *driver.Event) string {
	t.Helper()
	x := bindOf(t, ref)
	b, ok := x.AppendText(nil, ev)
	if !ok {
		return "<NA>"
	}
	return string(b)
}

type tcase struct {
	ref  string
	want string
}

func runCases(t *testing.T, ev *driver.Event, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		if got := text(t, c.ref, ev); got != c.want {
			t.Errorf("%s = %q, want %q", c.ref, got, c.want)
		}
	}
}

func TestProc(t *testing.T) {
	ev := &driver.Event{Type: et("execve"), Time: 3_000_000_000, Tid: 300, Proc: procChain()}
	runCases(t, ev, []tcase{
		{"proc.name", "curl"},
		{"proc.exe", "curl"},
		{"proc.exepath", "/usr/bin/curl"},
		{"proc.args", "-s http://x"},
		{"proc.args[1]", "http://x"},
		{"proc.args[5]", "<NA>"},
		{"proc.cmdline", "curl -s http://x"},
		{"proc.pname", "bash"},
		{"proc.pcmdline", "bash"},
		{"proc.pexe", "-bash"},
		{"proc.pexepath", "/usr/bin/bash"},
		{"proc.ppid", "200"},
		{"proc.aname[0]", "curl"},
		{"proc.aname[1]", "bash"},
		{"proc.aname[2]", "sshd"},
		{"proc.aname[3]", "systemd"},
		{"proc.aname[4]", "<NA>"},
		{"proc.aname", "bash sshd systemd"},
		{"proc.aexe[2]", "sshd"},
		{"proc.aexepath[2]", "/usr/sbin/sshd"},
		{"proc.acmdline[2]", "sshd -D"},
		{"proc.acmdline", "bash sshd -D systemd"},
		{"proc.apid", "200 100 1"},
		{"proc.apid[1]", "200"},
		{"proc.env", "HOME=/root HTTP_PROXY=http://p:3128"},
		{"proc.env[HOME]", "/root"},
		{"proc.env.HTTP_PROXY", "http://p:3128"},
		{"proc.env[NOPE]", ""},
		{"proc.aenv[TERM]", "xterm"},
		{"proc.aenv[1]", "HOME=/root TERM=xterm"},
		{"proc.cwd", "/root/"},
		{"proc.tty", "34816"},
		{"proc.vpid", "300"},
		{"proc.sid", "200"},
		{"proc.sname", "bash"},
		{"proc.is_vpgid_leader", "true"},
		{"proc.is_sid_leader", "false"},
		{"proc.duration", "2000000000"},
		{"proc.exe_ino", "42"},
		{"proc.exe_ino.ctime", "900000000"},
		{"proc.exe_ino.mtime", "800000000"},
		{"proc.exe_ino.ctime_duration_proc_start", "100000000"},
		{"proc.is_exe_upper_layer", "true"},
		{"proc.is_exe_from_memfd", "false"},
		{"proc.loginshellid", "200"},
		{"thread.cap_permitted", "CAP_CHOWN CAP_DAC_OVERRIDE CAP_SYS_ADMIN"},
		{"thread.cap_effective", "CAP_SYS_ADMIN"},
		{"thread.tid", "300"},
		{"thread.ismain", "true"},
		{"user.uid", "0"},
		{"user.name", "root"},
		{"user.homedir", "/root"},
		{"user.shell", "/bin/bash"},
		{"user.loginuid", "1000"},
		{"user.loginname", "alice"},
		{"group.gid", "0"},
		{"group.name", "root"},
	})
}

func TestProcAvailability(t *testing.T) {
	noProc := &driver.Event{Type: et("execve")}
	partial := &driver.Event{Type: et("execve"), Proc: &driver.Process{Has: driver.ProcHasName, Name: "x", Args: []string{"a"}}}
	orphan := &driver.Event{Type: et("execve"), Proc: &driver.Process{Has: allProc, Name: "x"}}
	for _, ref := range []string{"proc.name", "proc.cmdline", "proc.pname", "proc.aname", "proc.aname[1]",
		"user.uid", "user.name", "thread.cap_permitted", "proc.tty", "proc.env", "proc.is_exe_upper_layer", "proc.sname"} {
		if got := text(t, ref, noProc); got != "<NA>" {
			t.Errorf("nil Proc: %s = %q, want <NA>", ref, got)
		}
	}
	for _, ref := range []string{"proc.exe", "proc.cmdline", "proc.args", "user.uid", "proc.tty", "proc.vpid", "thread.cap_effective", "proc.exe_ino.ctime"} {
		if got := text(t, ref, partial); got != "<NA>" {
			t.Errorf("masked: %s = %q, want <NA>", ref, got)
		}
	}
	if got := text(t, "proc.name", partial); got != "x" {
		t.Errorf("proc.name = %q", got)
	}
	for _, ref := range []string{"proc.pname", "proc.aname", "proc.aname[1]", "proc.pcmdline", "proc.ppid.duration"} {
		if got := text(t, ref, orphan); got != "<NA>" {
			t.Errorf("orphan: %s = %q, want <NA>", ref, got)
		}
	}
}

func TestAncestorMulti(t *testing.T) {
	ev := &driver.Event{Type: et("execve"), Proc: procChain()}
	x := bindOf(t, "proc.aname")
	if x.Multi == nil || x.Str != nil {
		t.Fatal("proc.aname without index must be Multi")
	}
	vals := x.Multi(ev, nil)
	var got []string
	for _, v := range vals {
		got = append(got, v.Str)
	}
	if strings.Join(got, ",") != "bash,sshd,systemd" {
		t.Errorf("proc.aname values = %v", got)
	}
	if y := bindOf(t, "proc.aname[2]"); y.Multi != nil || y.Str == nil {
		t.Error("proc.aname[2] must be a scalar string")
	}
	f, _, _, _ := Default().Lookup("proc.aname")
	if f.Flags&Any == 0 || f.Flags&NoRHS == 0 || f.Flags&ArgAllowed == 0 {
		t.Errorf("proc.aname flags = %b", f.Flags)
	}
	if _, err := f.Bind("x", true); err == nil {
		t.Error("proc.aname[x] should fail")
	}
}

func TestEvtArg(t *testing.T) {
	proc := procChain()
	open := &driver.Event{Type: et("openat"), Has: driver.HasRes | driver.HasDirFD | driver.HasPath | driver.HasFlags | driver.HasMode | driver.HasFDInfo,
		Res: 3, DirFD: -100, Path: "/etc/shadow", Flags: oWronly | oCreat | oTrunc | oCloexec, Mode: 0o644, Proc: proc,
		FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: "/etc/shadow"}}
	runCases(t, open, []tcase{
		{"evt.arg.flags", "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC"},
		{"evt.arg[flags]", "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC"},
		{"evt.arg.name", "/etc/shadow"},
		{"evt.arg[2]", "/etc/shadow"},
		{"evt.arg.mode", "S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR"},
		{"evt.arg.dirfd", "AT_FDCWD"},
		{"evt.arg.fd", "<f>/etc/shadow"},
		{"evt.arg[0]", "<f>/etc/shadow"},
		{"evt.arg.dev", "<NA>"},
		{"evt.arg.newpath", "<NA>"},
		{"evt.rawarg.flags", "524865"},
		{"evt.rawarg.name", "/etc/shadow"},
		{"evt.res", "SUCCESS"},
		{"evt.rawres", "3"},
		{"evt.failed", "false"},
		{"evt.is_open_read", "false"},
		{"evt.is_open_write", "true"},
		{"evt.is_open_exec", "false"},
		{"evt.type", "openat"},
		{"syscall.type", "openat"},
		{"evt.category", "file"},
		{"evt.dir", "<"},
		{"evt.source", "syscall"},
		{"evt.abspath[src]", "/etc/shadow"},
		{"evt.args", "fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=/etc/shadow flags=524865(O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC) mode=0644(S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR)"},
	})
	rdonly := &driver.Event{Type: et("open"), Has: driver.HasRes | driver.HasFlags, Res: -2, Flags: 0}
	runCases(t, rdonly, []tcase{
		{"evt.arg.flags", "O_RDONLY"},
		{"evt.arg.fd", "ENOENT"},
		{"evt.res", "ENOENT"},
		{"evt.rawres", "-2"},
		{"evt.failed", "true"},
		{"evt.is_open_read", "true"},
		{"evt.is_open_write", "false"},
	})
	chmod := &driver.Event{Type: et("fchmodat"), Has: driver.HasRes | driver.HasPath | driver.HasMode | driver.HasDirFD, Path: "x", DirFD: -100, Mode: 0o4755, Proc: proc}
	runCases(t, chmod, []tcase{
		{"evt.arg.mode", "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"},
		{"evt.arg.filename", "x"},
		{"evt.abspath[src]", "/root/x"},
		{"evt.arg.fd", "<NA>"},
	})
	ptrace := &driver.Event{Type: et("ptrace"), Has: driver.HasRes | driver.HasRequest | driver.HasTargetPID, Request: 16, TargetPID: 42}
	runCases(t, ptrace, []tcase{{"evt.arg.request", "PTRACE_ATTACH"}, {"evt.arg.pid", "42"}, {"evt.arg.addr", "<NA>"}})
	bpf := &driver.Event{Type: et("bpf"), Has: driver.HasRes | driver.HasCmd, Res: 7, Cmd: 5}
	runCases(t, bpf, []tcase{{"evt.arg.cmd", "BPF_PROG_LOAD"}, {"evt.rawarg.cmd", "5"}, {"evt.arg.fd", "7"}})
	sock := &driver.Event{Type: et("socket"), Has: driver.HasRes | driver.HasSocket, Res: 4, Domain: 17, SockType: 3}
	runCases(t, sock, []tcase{{"evt.arg.domain", "AF_PACKET"}, {"evt.arg.type", "3"}})
	setuid := &driver.Event{Type: et("setuid"), Has: driver.HasRes | driver.HasUID, UID: 65534}
	runCases(t, setuid, []tcase{{"evt.arg.uid", "65534"}})
	setuid.Has |= driver.HasUIDName
	setuid.UIDName = "nobody"
	runCases(t, setuid, []tcase{{"evt.arg.uid", "nobody"}, {"evt.rawarg.uid", "65534"}})
	ren := &driver.Event{Type: et("renameat2"), Has: driver.HasRes | driver.HasOldPath | driver.HasNewPath | driver.HasFlags, OldPath: "/a", NewPath: "/b", Flags: 1}
	runCases(t, ren, []tcase{{"evt.arg.oldpath", "/a"}, {"evt.arg.newpath", "/b"}, {"evt.arg.flags", "RENAME_NOREPLACE"}, {"evt.abspath[dst]", "/b"}})
	sym := &driver.Event{Type: et("symlinkat"), Has: driver.HasRes | driver.HasOldPath | driver.HasNewPath, OldPath: "/etc/shadow", NewPath: "/tmp/l"}
	runCases(t, sym, []tcase{{"evt.arg.target", "/etc/shadow"}, {"evt.arg.linkpath", "/tmp/l"}})
	unl := &driver.Event{Type: et("unlinkat"), Has: driver.HasRes | driver.HasPath | driver.HasFlags, Path: "/d", Flags: 0x200}
	runCases(t, unl, []tcase{{"evt.arg.name", "/d"}, {"evt.arg.flags", "AT_REMOVEDIR"}})
	mk := &driver.Event{Type: et("mkdir"), Has: driver.HasRes | driver.HasPath | driver.HasMode, Path: "/bin/x", Mode: 0}
	runCases(t, mk, []tcase{{"evt.arg.path", "/bin/x"}, {"evt.arg.mode", "0"}})
	memfd := &driver.Event{Type: et("memfd_create"), Has: driver.HasRes | driver.HasName | driver.HasFlags, Res: 3, Name: "x", Flags: 1}
	runCases(t, memfd, []tcase{{"evt.arg.name", "x"}, {"evt.arg.flags", "MFD_CLOEXEC"}})
	exec := &driver.Event{Type: et("execve"), Has: driver.HasRes | driver.HasPath, Path: "/usr/bin/curl", Proc: proc}
	runCases(t, exec, []tcase{{"evt.arg.filename", "/usr/bin/curl"}, {"evt.arg.exe", "curl"}, {"evt.arg.res", "0"}})

	if _, err := Default().byName["evt.arg"].Bind("", false); err == nil {
		t.Error("evt.arg without argument should fail")
	}
	if _, err := Default().byName["evt.arg"].Bind("no_such_arg", true); err == nil {
		t.Error("evt.arg with unknown name should fail")
	}
}

func TestEvtMisc(t *testing.T) {
	ev := &driver.Event{Type: et("read"), Has: driver.HasNum | driver.HasData | driver.HasRes | driver.HasCPU, Num: 7, Res: 5, CPU: 1,
		Data: []byte("ab\x00cd"), Time: 1_700_000_000_123_456_789}
	runCases(t, ev, []tcase{
		{"evt.num", "7"},
		{"evt.cpu", "1"},
		{"evt.buffer", "ab.cd"},
		{"evt.buflen", "5"},
		{"evt.is_io_read", "true"},
		{"evt.is_open_read", "false"},
		{"evt.time.iso8601", "2023-11-14T22:13:20.123456789Z"},
		{"evt.rawtime", "1700000000123456789"},
		{"evt.type.is.read", "1"},
		{"evt.type.is.open", "0"},
	})
	if s := text(t, "evt.time", ev); len(s) != len("15:04:05.000000000") || !strings.HasSuffix(s, ".123456789") {
		t.Errorf("evt.time = %q", s)
	}
	if got := text(t, "syscall.type", &driver.Event{Type: et("procexit")}); got != "<NA>" {
		t.Errorf("syscall.type on procexit = %q", got)
	}
	if got := text(t, "evt.num", &driver.Event{Type: et("read")}); got != "<NA>" {
		t.Errorf("evt.num unmasked = %q", got)
	}
}

func TestFD(t *testing.T) {
	conn := &driver.Event{Type: et("connect"), Has: driver.HasRes | driver.HasFD | driver.HasFDInfo | driver.HasAddr,
		FD: 5, FDInfo: driver.FDInfo{Num: 5, Type: driver.FDIPv4, Name: "10.0.0.2:40000->10.96.0.1:443", Connected: true,
			Sock: driver.SockAddr{Family: 2, L4Proto: driver.L4TCP, LocalAddr: netip.MustParseAddr("10.0.0.2"), LocalPort: 40000,
				RemoteAddr: netip.MustParseAddr("10.96.0.1"), RemotePort: 443}}}
	conn.Sock = conn.FDInfo.Sock
	runCases(t, conn, []tcase{
		{"fd.num", "5"},
		{"fd.type", "ipv4"},
		{"fd.typechar", "4"},
		{"fd.name", "10.0.0.2:40000->10.96.0.1:443"},
		{"fd.cip", "10.0.0.2"},
		{"fd.sip", "10.96.0.1"},
		{"fd.lip", "10.0.0.2"},
		{"fd.rip", "10.96.0.1"},
		{"fd.cport", "40000"},
		{"fd.sport", "443"},
		{"fd.lport", "40000"},
		{"fd.rport", "443"},
		{"fd.l4proto", "tcp"},
		{"fd.sockfamily", "ip"},
		{"fd.is_server", "false"},
		{"fd.connected", "true"},
		{"fd.directory", "<NA>"},
		{"fd.filename", "<NA>"},
		{"fd.sip.name", "<NA>"},
		{"fd.ip", "10.0.0.2 10.96.0.1"},
		{"fd.port", "40000 443"},
		{"evt.arg.tuple", "10.0.0.2:40000->10.96.0.1:443"},
		{"evt.arg.fd", "<4>10.0.0.2:40000->10.96.0.1:443"},
		{"evt.category", "net"},
	})
	// fd.net: both ends for "any" matching, each a single address for snet etc.
	x := bindOf(t, "fd.net")
	vals := x.Multi(conn, nil)
	pfx := netip.MustParsePrefix("10.96.0.0/12")
	if len(vals) != 2 || pfx.Contains(vals[0].Addr) || !pfx.Contains(vals[1].Addr) {
		t.Errorf("fd.net values = %v", vals)
	}
	if f, _, _, _ := Default().Lookup("fd.net"); f.Flags&EitherEnd == 0 || f.Type != TypeIPNet {
		t.Error("fd.net must be an EitherEnd IPNET field")
	}
	if a, ok := bindOf(t, "fd.snet").Addr(conn); !ok || !pfx.Contains(a) {
		t.Errorf("fd.snet = %v %v", a, ok)
	}
	// server side: accept
	acc := *conn
	acc.FDInfo.Sock.Server = true
	runCases(t, &acc, []tcase{{"fd.sip", "10.0.0.2"}, {"fd.sport", "40000"}, {"fd.cip", "10.96.0.1"}, {"fd.is_server", "true"}})

	file := &driver.Event{Type: et("openat"), Has: driver.HasFDInfo, FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: "/etc/passwd", NameRaw: "passwd", Dev: 0x803, Ino: 99}}
	runCases(t, file, []tcase{
		{"fd.directory", "/etc"},
		{"fd.filename", "passwd"},
		{"fd.nameraw", "passwd"},
		{"fd.typechar", "f"},
		{"fd.cip", "<NA>"},
		{"fd.sport", "<NA>"},
		{"fd.ip", "<NA>"},
		{"fd.connected", "false"},
		{"fd.dev", "803"},
		{"fd.dev.major", "8"},
		{"fd.dev.minor", "3"},
		{"fd.ino", "99"},
		{"fd.types", "(file)"},
		{"fd.types[3]", "(file)"},
		{"fd.types[4]", "<NA>"},
	})
	root := &driver.Event{Type: et("open"), Has: driver.HasFDInfo, FDInfo: driver.FDInfo{Type: driver.FDFile, Name: "/x"}}
	runCases(t, root, []tcase{{"fd.directory", "/"}, {"fd.filename", "x"}})
	none := &driver.Event{Type: et("open")}
	for _, ref := range []string{"fd.name", "fd.num", "fd.type", "fd.typechar", "fd.connected", "fd.types", "fd.net"} {
		if got := text(t, ref, none); got != "<NA>" {
			t.Errorf("no FDInfo: %s = %q", ref, got)
		}
	}
}

func TestContainer(t *testing.T) {
	ct := &driver.Container{
		Has: driver.ContHasID | driver.ContHasImage | driver.ContHasPrivileged | driver.ContHasMounts | driver.ContHasStart | driver.ContHasK8s,
		ID:  "3ad7b26ded6d", Image: "docker.io/library/nginx:1.27", ImageRepository: "docker.io/library/nginx", ImageTag: "1.27",
		Privileged: true, StartTime: 1_000,
		Mounts: []driver.Mount{
			{Source: "/var/lib/docker/volumes/x", Dest: "/data", Mode: "z", RW: true, Propagation: "rprivate"},
			{Source: "/proc/sys", Dest: "/host/proc", Mode: "ro", RW: false, Propagation: "rprivate"},
		},
		PodName: "web-0", Namespace: "prod", PodLabels: []driver.Label{{Key: "app", Value: "web"}, {Key: "tier", Value: ""}},
	}
	ev := &driver.Event{Type: et("execve"), Time: 5_000, Container: ct}
	runCases(t, ev, []tcase{
		{"container.id", "3ad7b26ded6d"},
		{"container.image.repository", "docker.io/library/nginx"},
		{"container.image.tag", "1.27"},
		{"container.privileged", "true"},
		{"container.start_ts", "1000"},
		{"container.duration", "4000"},
		{"container.name", "<NA>"},
		{"container.mounts", "/var/lib/docker/volumes/x:/data:z:true:rprivate,/proc/sys:/host/proc:ro:false:rprivate"},
		{"container.mount[1]", "/proc/sys:/host/proc:ro:false:rprivate"},
		{"container.mount.dest[0]", "/data"},
		{"container.mount.dest[/proc*]", "/host/proc"},
		{"container.mount.dest[/var/run/docker.sock]", "<NA>"},
		{"container.mount.dest[/*]", "/data"},
		{"container.mount.source[/host/*]", "/proc/sys"},
		{"container.mount.rdwr[/proc*]", "false"},
		{"container.mount.dest[5]", "<NA>"},
		{"k8s.pod.name", "web-0"},
		{"k8s.ns.name", "prod"},
		{"k8s.pod.label.app", "web"},
		{"k8s.pod.label[tier]", ""},
		{"k8s.pod.label.nope", "<NA>"},
		{"k8s.pod.labels", "app:web, tier"},
		{"fd.containername", "<NA>"},
	})
	for _, ref := range []string{"container.id", "container.mount.dest[/proc*]", "k8s.ns.name", "container.privileged", "container.mounts"} {
		if got := text(t, ref, &driver.Event{Type: et("execve")}); got != "<NA>" {
			t.Errorf("nil Container: %s = %q", ref, got)
		}
	}
	if _, err := Default().byName["container.mount.dest"].Bind("", false); err == nil {
		t.Error("container.mount.dest without argument should fail")
	}
}

func TestFnmatch(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"/proc*", "/proc", true},
		{"/proc*", "/proc/sys/kernel", true},
		{"/proc*", "/host/proc", false},
		{"/root*", "/root/.ssh", true},
		{"/", "/", true},
		{"/", "/etc", false},
		{"/etc", "/etc", true},
		{"/e?c", "/etc", true},
		{"/[a-e]tc", "/etc", true},
		{"/[!e]tc", "/etc", false},
		{"*.sock", "/var/run/docker.sock", true},
		{"a\\*", "a*", true},
		{"a\\*", "ab", false},
		{"[", "[", true},
	}
	for _, c := range cases {
		if got := glob.Match(c.pat, c.s, false); got != c.want {
			t.Errorf("glob.Match(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}

func TestRegistryLookup(t *testing.T) {
	r := Default()
	cases := []struct {
		ref, field, arg string
		hasArg          bool
	}{
		{"proc.name", "proc.name", "", false},
		{"evt.arg.flags", "evt.arg", "flags", true},
		{"evt.arg[0]", "evt.arg", "0", true},
		{"proc.env.HOME", "proc.env", "HOME", true},
		{"k8s.pod.label.app", "k8s.pod.label", "app", true},
		{"k8s.pod.label.app.kubernetes.io/name", "k8s.pod.label", "app.kubernetes.io/name", true},
		{"container.label.x", "container.label", "x", true},
		{"fd.sip.name", "fd.sip.name", "", false},
		{"container.mount.dest[/proc*]", "container.mount.dest", "/proc*", true},
		{"proc.aname[2]", "proc.aname", "2", true},
		{"evt.type.is.open", "evt.type.is", "open", true},
	}
	for _, c := range cases {
		f, arg, hasArg, ok := r.Lookup(c.ref)
		if !ok || f.Name != c.field || arg != c.arg || hasArg != c.hasArg {
			t.Errorf("Lookup(%q) = %v %q %v %v", c.ref, f, arg, hasArg, ok)
		}
	}
	for _, bad := range []string{"proc.nope", "proc.name.x", "nope", "evt.arg."} {
		if _, _, _, ok := r.Lookup(bad); ok {
			t.Errorf("Lookup(%q) succeeded", bad)
		}
	}
	mine := NewRegistry()
	mock := &Field{Name: "mock.x", Class: "mock", Desc: "mock", Bind: fixed("mock.x", stat(strX(func(*driver.Event) (string, bool) { return "v", true })))}
	if err := mine.Add(mock); err != nil {
		t.Fatal(err)
	}
	if err := mine.Add(mock); err == nil {
		t.Error("duplicate Add should fail")
	}
	if err := mine.Add(&Field{Name: "x"}); err == nil {
		t.Error("Add without Bind should fail")
	}
	if got := mine.All(); len(got) != 1 || got[0] != mock {
		t.Errorf("All = %v", got)
	}
}

func TestCatalogue(t *testing.T) {
	all := Default().All()
	if len(all) != Default().Len() {
		t.Fatal("All and Len disagree")
	}
	seenClass := map[string]bool{}
	last := ""
	for _, f := range all {
		if f.Desc == "" || f.Bind == nil || f.Class == "" {
			t.Errorf("%s: missing description, class or Bind", f.Name)
		}
		if f.Class != last {
			if seenClass[f.Class] {
				t.Errorf("class %s not contiguous in All()", f.Class)
			}
			seenClass[f.Class] = true
			last = f.Class
		}
		if f.Flags&(ArgRequired|ArgAllowed) == 0 {
			x, err := f.Bind("", false)
			if err != nil {
				t.Errorf("%s: Bind: %v", f.Name, err)
				continue
			}
			checkGetter(t, f.Name, x)
			if _, err := f.Bind("1", true); err == nil {
				t.Errorf("%s: Bind accepted an argument", f.Name)
			}
		}
	}
	// every field renders on an empty event without panicking
	ev := &driver.Event{}
	for _, f := range all {
		arg, has := "", false
		if f.Flags&ArgRequired != 0 {
			arg, has = "0", true
			if f.Name == "evt.type.is" {
				arg = "open"
			}
			if f.Name == "evt.rawarg" || f.Name == "evt.abspath" {
				arg = map[string]string{"evt.rawarg": "fd", "evt.abspath": "src"}[f.Name]
			}
		}
		x, err := f.Bind(arg, has)
		if err != nil {
			t.Errorf("%s[%s]: %v", f.Name, arg, err)
			continue
		}
		x.AppendText(nil, ev)
		x.AppendJSON(nil, ev)
	}
}

func checkGetter(t *testing.T, name string, x Extractor) {
	t.Helper()
	if x.Multi != nil {
		return
	}
	var ok bool
	switch x.Type {
	case TypeString, TypeFSPath:
		ok = x.Str != nil
	case TypeBytes:
		ok = x.Bytes != nil
	case TypeIPAddr, TypeIPNet:
		ok = x.Addr != nil
	default:
		ok = x.Num != nil
	}
	if !ok {
		t.Errorf("%s: extractor of type %v lacks its getter", name, x.Type)
	}
}

// TestRulesAnalysisFields checks that every field the upstream rules use
// resolves. It reads rules_analysis.json from $VIGIL_SPEC_DIR.
func TestRulesAnalysisFields(t *testing.T) {
	dir := os.Getenv("VIGIL_SPEC_DIR")
	if dir == "" {
		t.Skip("VIGIL_SPEC_DIR not set")
	}
	data, err := os.ReadFile(filepath.Join(dir, "rules_analysis.json"))
	if err != nil {
		t.Fatalf("VIGIL_SPEC_DIR is set but: %v", err)
	}
	var files []struct {
		File   string                    `json:"file"`
		Fields map[string]map[string]int `json:"fields"`
	}
	if err := json.Unmarshal(data, &files); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		for _, m := range f.Fields {
			for n := range m {
				names[n] = true
			}
		}
	}
	if len(names) < 77 {
		t.Errorf("only %d fields in rules_analysis.json, expected 77", len(names))
	}
	for n := range names {
		if _, _, _, ok := Default().Lookup(n); !ok {
			t.Errorf("field %s used by upstream rules is not in the catalogue", n)
		}
	}
}

func TestRender(t *testing.T) {
	ev := &driver.Event{Type: et("connect"), Has: driver.HasFDInfo | driver.HasRes, Res: -111, Proc: procChain(),
		FDInfo: driver.FDInfo{Num: 3, Type: driver.FDIPv6, Name: "x", Sock: driver.SockAddr{
			LocalAddr: netip.MustParseAddr("::1"), LocalPort: 5, RemoteAddr: netip.MustParseAddr("::ffff:1.2.3.4"), RemotePort: 80}}}
	cases := []struct{ ref, text, json string }{
		{"proc.name", "curl", `"curl"`},
		{"proc.tty", "34816", "34816"},
		{"proc.is_exe_upper_layer", "true", "true"},
		{"fd.sport", "80", "80"},
		{"fd.sip", "1.2.3.4", `"1.2.3.4"`},
		{"fd.cip", "::1", `"::1"`},
		{"evt.res", "ECONNREFUSED", `"ECONNREFUSED"`},
		{"evt.rawres", "-111", "-111"},
		{"proc.aname", "bash sshd systemd", `["bash","sshd","systemd"]`},
		{"user.loginuid", "1000", "1000"},
		{"proc.duration", "<NA>", "null"},
	}
	for _, c := range cases {
		x := bindOf(t, c.ref)
		b, ok := x.AppendText(nil, ev)
		got := string(b)
		if !ok {
			got = "<NA>"
		}
		if got != c.text {
			t.Errorf("AppendText %s = %q, want %q", c.ref, got, c.text)
		}
		b, ok = x.AppendJSON(nil, ev)
		got = string(b)
		if !ok {
			got = "null"
		}
		if got != c.json {
			t.Errorf("AppendJSON %s = %s, want %s", c.ref, got, c.json)
		}
	}
	if got := string(appendJSONString(nil, "a\"b\\c\n\x01\xff")); got != `"a\"b\\c\n\u0001\ufffd"` {
		t.Errorf("appendJSONString = %s", got)
	}
	// AppendText keeps dst
	x := bindOf(t, "proc.name")
	if b, _ := x.AppendText([]byte("p="), ev); string(b) != "p=curl" {
		t.Errorf("AppendText prefix = %q", b)
	}
}
