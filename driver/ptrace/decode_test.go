package ptrace

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

func TestAppendJoin(t *testing.T) {
	for _, tc := range []struct{ base, rel, want string }{
		{"/a/b", "c", "/a/b/c"},
		{"/a/b", "../c", "/a/c"},
		{"/a/b", "./c/./d/", "/a/b/c/d"},
		{"/", "../../x", "/x"},
		{"/a", "/abs/./x/../y", "/abs/y"},
		{"/a/b", "", "/a/b"},
		{"/a/b/", "..", "/a"},
		{"/", "", "/"},
		{"/a", "//x//y", "/x/y"},
		{"/a", "..", "/"},
	} {
		if got := string(appendJoin(nil, tc.base, []byte(tc.rel))); got != tc.want {
			t.Errorf("join(%q, %q) = %q, want %q", tc.base, tc.rel, got, tc.want)
		}
	}
	var d decoder
	if got := d.resolve([]byte("rel/x"), ""); got != "rel/x" {
		t.Errorf("resolve without base = %q", got)
	}
}

func sockaddrIn(ip string, port uint16) []byte {
	a := netip.MustParseAddr(ip)
	if a.Is4() {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], port)
		copy(b[4:], a.AsSlice())
		return b
	}
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[8:], a.AsSlice())
	return b
}

func sockaddrUn(path string) []byte {
	b := make([]byte, 2, 110)
	binary.LittleEndian.PutUint16(b, afUnix)
	return append(b, path...)
}

func TestParseSockaddr(t *testing.T) {
	fam, addr, port, _, ok := parseSockaddr(sockaddrIn("10.1.2.3", 4444))
	if !ok || fam != afInet || addr != netip.MustParseAddr("10.1.2.3") || port != 4444 {
		t.Errorf("inet: %d %v %d %v", fam, addr, port, ok)
	}
	fam, addr, port, _, ok = parseSockaddr(sockaddrIn("::1", 22))
	if !ok || fam != afInet6 || addr != netip.IPv6Loopback() || port != 22 {
		t.Errorf("inet6: %d %v %d %v", fam, addr, port, ok)
	}
	_, _, _, path, ok := parseSockaddr(sockaddrUn("/run/x.sock\x00\x00"))
	if !ok || string(appendUnixPath(nil, path)) != "/run/x.sock" {
		t.Errorf("unix: %q", path)
	}
	_, _, _, path, _ = parseSockaddr(sockaddrUn("\x00abstract\x00"))
	if got := string(appendUnixPath(nil, path)); got != "@abstract" {
		t.Errorf("abstract: %q", got)
	}
	for _, b := range [][]byte{nil, {2}, {2, 0, 1}, {10, 0, 1, 2, 3}, {99, 0}} {
		if _, _, _, _, ok := parseSockaddr(b); ok {
			t.Errorf("parseSockaddr(%v) ok", b)
		}
	}
}

func TestClassifyLink(t *testing.T) {
	for _, tc := range []struct {
		link string
		mode uint32
		typ  driver.FDType
		name string
	}{
		{"/etc/passwd", 0o100644, driver.FDFile, "/etc/passwd"},
		{"/tmp/x (deleted)", 0o100644, driver.FDFile, "/tmp/x"},
		{"/tmp", 0o040755, driver.FDDirectory, "/tmp"},
		{"pipe:[1234]", 0o010600, driver.FDPipe, "pipe:[1234]"},
		{"anon_inode:[eventfd]", 0o600, driver.FDEvent, "anon_inode:[eventfd]"},
		{"anon_inode:inotify", 0o600, driver.FDInotify, "anon_inode:inotify"},
		{"anon_inode:bpf-map", 0o600, driver.FDBPF, "anon_inode:bpf-map"},
		{"anon_inode:[pidfd]", 0o600, driver.FDPidfd, "anon_inode:[pidfd]"},
		{"pidfd:[55]", 0o600, driver.FDPidfd, "anon_inode:[pidfd]"},
		{"/memfd:payload (deleted)", 0o100777, driver.FDMemfd, "/memfd:payload (deleted)"},
		{"socket:[99]", 0o140777, driver.FDUnknown, ""},
		{"/dev/null", 0o020666, driver.FDFile, "/dev/null"},
	} {
		typ, name := classifyLink(tc.link, tc.mode)
		if typ != tc.typ || name != tc.name {
			t.Errorf("classifyLink(%q, %#o) = %v %q, want %v %q", tc.link, tc.mode, typ, name, tc.typ, tc.name)
		}
	}
}

func TestParseFDInfo(t *testing.T) {
	flags, mnt, ok := parseFDInfo([]byte("pos:\t0\nflags:\t02100002\nmnt_id:\t29\nino:\t1234\n"))
	if !ok || flags != 0o2100002 || mnt != 29 {
		t.Errorf("parseFDInfo = %#o %d %v", flags, mnt, ok)
	}
	if _, _, ok := parseFDInfo([]byte("pos: 0\n")); ok {
		t.Error("no flags line, ok")
	}
}

func TestParseStat(t *testing.T) {
	comm, ppid, ok := parseStat([]byte("123 (my (odd) comm) S 45 123 123 0 -1 4194560 ..."))
	if !ok || comm != "my (odd) comm" || ppid != 45 {
		t.Errorf("parseStat = %q %d %v", comm, ppid, ok)
	}
	for _, s := range []string{"", "1 (x", "1 (x) S", "1 (x) S y"} {
		if _, _, ok := parseStat([]byte(s)); ok {
			t.Errorf("parseStat(%q) ok", s)
		}
	}
}

func TestFilterProgram(t *testing.T) {
	nrs := TracedSyscalls(types("openat", "connect", "clone", "exit_group"))
	if !slices.Equal(nrs, []uint32{syscalls.Connect, syscalls.Execve, syscalls.Openat, syscalls.Execveat}) {
		t.Errorf("TracedSyscalls = %v", nrs)
	}
	prog := buildFilter(nrs)
	for nr := uint32(0); nr < 500; nr++ {
		want := uint32(seccompRetAllow)
		if slices.Contains(nrs, nr) {
			want = seccompRetTrace
		}
		if got := runFilter(prog, auditArchX86_64, nr); got != want {
			t.Errorf("syscall %d: %#x, want %#x", nr, got, want)
		}
		if got := runFilter(prog, 0x40000003, nr); got != seccompRetAllow {
			t.Errorf("i386 syscall %d: %#x", nr, got)
		}
	}
	if got := runFilter(prog, auditArchX86_64, x32SyscallBit|syscalls.Openat); got != seccompRetAllow {
		t.Errorf("x32 openat: %#x", got)
	}
	all := TracedSyscalls(driver.EventTypeSet{})
	if len(all) < 300 || slices.Contains(all, syscalls.Clone) || slices.Contains(all, syscalls.ExitGroup) {
		t.Errorf("all: %d syscalls", len(all))
	}
	if p := buildFilter(all); p == nil || runFilter(p, auditArchX86_64, syscalls.Openat) != seccompRetTrace {
		t.Error("filter for every syscall")
	}
	if buildFilter(make([]uint32, bpfMaxInsn)) != nil {
		t.Error("oversized filter built")
	}
}

func TestCoverage(t *testing.T) {
	cov := Coverage()
	for _, n := range []string{"execve", "openat", "connect", "clone", "vfork", "procexit", "setuid"} {
		if !cov.Events.Has(driver.MustEventType(n)) {
			t.Errorf("coverage lacks %s", n)
		}
	}
	if cov.Events.Has(driver.MustEventType("container")) || cov.Fields.Has(driver.HasCPU) {
		t.Error("coverage claims container events or evt.cpu")
	}
}

func types(names ...string) driver.EventTypeSet {
	var s driver.EventTypeSet
	for _, n := range names {
		s.Add(driver.MustEventType(n))
	}
	return s
}

func TestDecodeCall(t *testing.T) {
	var d decoder
	var ev driver.Event

	// openat of a relative path, created.
	c := &call{nr: syscalls.Openat, args: [6]uint64{uint64(0xffffff9c), 0, oCreat | oWronly, 0o644}, res: 3, existedOK: true}
	c.path.set([]byte("../out.txt"), true)
	c.base = "/home/u/dir"
	c.fd = fdDesc{ok: true, num: 3, link: "/home/u/out.txt", mode: 0o100644, dev: 0x803, ino: 77, flags: 0o100001}
	d.decodeCall(c, &ev)
	if ev.Type.String() != "openat" || ev.Path != "/home/u/out.txt" || ev.DirFD != atFDCWD || ev.Mode != 0o644 ||
		!ev.Created || ev.FD != 3 || ev.Dev != 0x803 || ev.Ino != 77 {
		t.Errorf("openat: %+v", ev)
	}
	if fi := ev.FDInfo; fi.Type != driver.FDFile || fi.Name != "/home/u/out.txt" || fi.NameRaw != "../out.txt" || fi.OpenFlags != oCreat|oWronly {
		t.Errorf("openat fdinfo: %+v", fi)
	}

	// A failed open: no descriptor, the path still resolved.
	c = &call{nr: syscalls.Open, args: [6]uint64{0, 0}, res: -2}
	c.path.set([]byte("missing"), true)
	c.base = "/tmp"
	d.decodeCall(c, &ev)
	if ev.Path != "/tmp/missing" || ev.Res != -2 || ev.Has.Has(driver.HasFD) || ev.Has.Has(driver.HasFDInfo) || ev.Has.Has(driver.HasCreated) {
		t.Errorf("failed open: %+v", ev)
	}

	// connect of an inspected TCP socket.
	c = &call{nr: syscalls.Connect, args: [6]uint64{5}, res: -115}
	c.sockaddr.set(sockaddrIn("10.0.0.9", 4444), true)
	c.fd = fdDesc{ok: true, num: 5, link: "socket:[1]", mode: 0o140777, sock: sockDesc{
		ok: true, family: afInet, typ: sockStream, proto: ipprotoTCP,
		local: sockaddrIn("10.0.0.1", 40000), peer: nil,
	}}
	d.decodeCall(c, &ev)
	if ev.FDInfo.Name != "10.0.0.1:40000->10.0.0.9:4444" || !ev.FDInfo.Connected || ev.FDInfo.Type != driver.FDIPv4 ||
		ev.Sock.RemotePort != 4444 || ev.Sock.L4Proto != driver.L4TCP || !ev.Has.Has(driver.HasAddr) {
		t.Errorf("connect: %+v", ev)
	}

	// connect of a socket that could not be inspected: described by the
	// address the process passed.
	c.fd.sock = sockDesc{}
	d.decodeCall(c, &ev)
	if ev.FDInfo.Type != driver.FDIPv4 || ev.Sock.RemoteAddr != netip.MustParseAddr("10.0.0.9") || ev.FDInfo.Name != "0.0.0.0:0->10.0.0.9:4444" {
		t.Errorf("connect without socket info: %+v", ev)
	}

	// accept on an IPv6 socket with a v4-mapped peer.
	c = &call{nr: syscalls.Accept4, args: [6]uint64{3, 0, 0, 0o4000}, res: 6}
	c.fd = fdDesc{ok: true, num: 6, link: "socket:[2]", mode: 0o140777, sock: sockDesc{
		ok: true, family: afInet6, typ: sockStream, proto: ipprotoTCP,
		local: sockaddrIn("::ffff:127.0.0.1", 8080), peer: sockaddrIn("::ffff:127.0.0.1", 50000),
	}}
	d.decodeCall(c, &ev)
	if ev.FDInfo.Type != driver.FDIPv4 || ev.FDInfo.Name != "127.0.0.1:50000->127.0.0.1:8080" || !ev.Sock.Server || ev.Flags != 0o4000 {
		t.Errorf("accept4: %+v", ev)
	}

	// A unix connect.
	c = &call{nr: syscalls.Connect, args: [6]uint64{4}, res: 0}
	c.sockaddr.set(sockaddrUn("/run/docker.sock\x00"), true)
	c.fd = fdDesc{ok: true, num: 4, link: "socket:[3]", mode: 0o140777, sock: sockDesc{ok: true, family: afUnix, typ: sockStream, local: sockaddrUn("")}}
	d.decodeCall(c, &ev)
	if ev.FDInfo.Type != driver.FDUnix || ev.FDInfo.Name != "/run/docker.sock" || ev.Sock.UnixPath != "/run/docker.sock" {
		t.Errorf("unix connect: %+v", ev)
	}

	// renameat2 and symlinkat.
	c = &call{nr: syscalls.Renameat2, args: [6]uint64{uint64(0xffffff9c), 0, 7, 0, 1}, res: 0}
	c.path.set([]byte("a"), true)
	c.base = "/w"
	c.path2.set([]byte("b/../c"), true)
	c.base2 = "/x"
	d.decodeCall(c, &ev)
	if ev.OldPath != "/w/a" || ev.NewPath != "/x/c" || ev.Flags != 1 || ev.DirFD != atFDCWD {
		t.Errorf("renameat2: %+v", ev)
	}
	c = &call{nr: syscalls.Symlinkat, args: [6]uint64{0, uint64(0xffffff9c)}, res: 0}
	c.path.set([]byte("../target"), true)
	c.path2.set([]byte("link"), true)
	c.base2 = "/d"
	d.decodeCall(c, &ev)
	if ev.OldPath != "../target" || ev.NewPath != "/d/link" || ev.DirFD != atFDCWD {
		t.Errorf("symlinkat: %+v", ev)
	}

	// sendto with data, kill, setuid.
	c = &call{nr: syscalls.Sendto, args: [6]uint64{3}, res: 5}
	c.data.set([]byte("hello"), true)
	d.decodeCall(c, &ev)
	if string(ev.Data) != "hello" || !ev.Has.Has(driver.HasData) || ev.FD != 3 {
		t.Errorf("sendto: %+v", ev)
	}
	d.decodeCall(&call{nr: syscalls.Kill, args: [6]uint64{42, 9}}, &ev)
	if ev.TargetPID != 42 || ev.Signal != 9 {
		t.Errorf("kill: %+v", ev)
	}
	d.decodeCall(&call{nr: syscalls.Setuid, args: [6]uint64{0}}, &ev)
	if !ev.Has.Has(driver.HasUID) || ev.UID != 0 {
		t.Errorf("setuid: %+v", ev)
	}

	// A successful exec.
	c = &call{nr: syscalls.Execveat, args: [6]uint64{3}}
	c.path.set([]byte(""), true)
	p := &driver.Process{Args: []string{"-c", "x"}}
	d.decodeExec(c, p, &ev)
	if ev.Type.String() != "execveat" || ev.Res != 0 || ev.DirFD != 3 || !slices.Equal(ev.Args, p.Args) || ev.Proc != p {
		t.Errorf("execveat: %+v", ev)
	}
}

func TestSmallHelpers(t *testing.T) {
	for _, tc := range []struct {
		res  int64
		want bool
	}{{-512, true}, {-516, true}, {-4, false}, {-517, false}, {0, false}} {
		if isRestart(tc.res) != tc.want {
			t.Errorf("isRestart(%d) = %v", tc.res, !tc.want)
		}
	}
	for nr, want := range map[uint64]string{syscalls.Clone: "clone", syscalls.Fork: "fork", syscalls.Vfork: "vfork", syscalls.Clone3: "clone3", 0: "clone"} {
		if got := cloneType(nr).String(); got != want {
			t.Errorf("cloneType(%d) = %s", nr, got)
		}
	}
	c := &call{nr: syscalls.Open, res: 3, existed: true}
	c.path.set([]byte("/x"), true)
	c.fd = fdDesc{ok: true, link: "/x", sock: sockDesc{ok: true, local: []byte{1, 0}}}
	c.reset()
	if c.nr != 0 || c.path.ok || len(c.path.b) != 0 || cap(c.path.b) == 0 || c.fd.ok || c.fd.sock.ok || c.existed {
		t.Errorf("reset left %+v", c)
	}
	if maxPath < 4096 || snaplen != 80 || sockaddrMax < 110 || openHowSize != 24 {
		t.Error("bounds changed")
	}
}

func TestParseMsghdr(t *testing.T) {
	b := make([]byte, msghdrSize)
	binary.LittleEndian.PutUint64(b, 0x1000)
	binary.LittleEndian.PutUint32(b[8:], 16)
	binary.LittleEndian.PutUint64(b[16:], 0x2000)
	binary.LittleEndian.PutUint64(b[24:], 2)
	name, namelen, iov, iovlen := parseMsghdr(b)
	if name != 0x1000 || namelen != 16 || iov != 0x2000 || iovlen != 2 {
		t.Errorf("parseMsghdr = %#x %d %#x %d", name, namelen, iov, iovlen)
	}
	if name, _, _, _ := parseMsghdr(b[:10]); name != 0 {
		t.Error("short msghdr parsed")
	}
}

// callFromBytes builds a call from fuzz input: the syscall number, result
// and arguments, then length-prefixed byte strings for the captures.
func callFromBytes(b []byte) *call {
	c := &call{}
	take := func(n int) []byte {
		if len(b) < n {
			n = len(b)
		}
		p := b[:n]
		b = b[n:]
		return p
	}
	u64 := func() uint64 {
		var x [8]byte
		copy(x[:], take(8))
		return binary.LittleEndian.Uint64(x[:])
	}
	str := func() ([]byte, bool) {
		n := take(1)
		if len(n) == 0 {
			return nil, false
		}
		return take(int(n[0])), n[0]&1 == 0
	}
	c.nr = u64() % 460
	c.res = int64(u64())
	for i := range c.args {
		c.args[i] = u64()
	}
	for _, p := range []*capture{&c.path, &c.path2, &c.str, &c.str2, &c.how, &c.sockaddr, &c.data} {
		v, ok := str()
		p.set(v, ok)
	}
	base, _ := str()
	c.base = string(base)
	base2, _ := str()
	c.base2 = string(base2)
	link, ok := str()
	c.fd.ok, c.fd.link, c.fd.mode, c.fd.num = ok, string(link), uint32(u64()), int64(u64())
	local, ok := str()
	peer, _ := str()
	c.fd.sock = sockDesc{ok: ok, family: uint16(u64()), typ: int32(u64()), proto: int32(u64()), local: local, peer: peer}
	c.existed, c.existedOK = b != nil && len(b)%2 == 0, len(b)%3 == 0
	return c
}

func FuzzDecodeCall(f *testing.F) {
	f.Add([]byte{})
	f.Add(append(binary.LittleEndian.AppendUint64(nil, syscalls.Openat), make([]byte, 64)...))
	seed := binary.LittleEndian.AppendUint64(nil, syscalls.Connect)
	seed = append(seed, make([]byte, 56)...)
	seed = append(seed, 0, 0, 0, 0, 0, 16)
	seed = append(seed, sockaddrIn("1.2.3.4", 80)...)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var d decoder
		var ev driver.Event
		c := callFromBytes(b)
		d.decodeCall(c, &ev)
		if ev.Type != nrType(c.nr) || ev.Res != c.res {
			t.Fatalf("type %v res %d for nr %d res %d", ev.Type, ev.Res, c.nr, c.res)
		}
		if ev.Has.Has(driver.HasPath) && len(ev.Path) > 0 && ev.Path[0] != '/' && c.base != "" && c.nr != syscalls.Execve && c.nr != syscalls.Execveat {
			t.Fatalf("relative path %q with base %q", ev.Path, c.base)
		}
		d.decodeExec(c, nil, &ev)
	})
}

func FuzzAppendJoin(f *testing.F) {
	f.Add("/a/b", "../c")
	f.Add("/", "../../..")
	f.Add("", "./x//y/")
	f.Fuzz(func(t *testing.T, base, rel string) {
		p := string(appendJoin(nil, base, []byte(rel)))
		if p == "" || p[0] != '/' {
			t.Fatalf("join(%q, %q) = %q: not absolute", base, rel, p)
		}
		if len(p) > 1 && p[len(p)-1] == '/' {
			t.Fatalf("join(%q, %q) = %q: trailing slash", base, rel, p)
		}
		// Cleaning is idempotent.
		if q := string(appendJoin(nil, "/", []byte(p))); q != p {
			t.Fatalf("join(/, %q) = %q", p, q)
		}
	})
}

func FuzzParseSockaddr(f *testing.F) {
	f.Add(sockaddrIn("10.1.2.3", 4444))
	f.Add(sockaddrIn("::1", 22))
	f.Add(sockaddrUn("\x00abstract"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fam, _, _, path, ok := parseSockaddr(b)
		if ok && fam == afUnix {
			appendUnixPath(nil, path)
		}
		var d decoder
		var info driver.FDInfo
		d.fillSock(&info, &sockDesc{ok: true, family: fam, local: b, peer: b})
	})
}

func FuzzParseFDInfo(f *testing.F) {
	f.Add([]byte("pos:\t0\nflags:\t02100002\nmnt_id:\t29\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseFDInfo(b)
	})
}

func TestParseStatusIDs(t *testing.T) {
	tgid, ppid, ok := parseStatusIDs([]byte("Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nNgid:\t0\nPid:\t43\nPPid:\t7\n"))
	if !ok || tgid != 42 || ppid != 7 {
		t.Errorf("parseStatusIDs = %d %d %v", tgid, ppid, ok)
	}
	if _, _, ok := parseStatusIDs([]byte("Tgid:\t42\n")); ok {
		t.Error("no PPid line, ok")
	}
}

func FuzzParseStatusIDs(f *testing.F) {
	f.Add([]byte("Tgid:\t42\nPPid:\t7\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStatusIDs(b)
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(b)
	})
}

func FuzzFilter(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint32(2))
	f.Fuzz(func(t *testing.T, b []byte, nr uint32) {
		var nrs []uint32
		for i := 0; i+1 < len(b); i += 2 {
			nrs = append(nrs, uint32(binary.LittleEndian.Uint16(b[i:])))
		}
		prog := buildFilter(nrs)
		if prog == nil {
			return
		}
		want := uint32(seccompRetAllow)
		if nr < x32SyscallBit && slices.Contains(nrs, nr) {
			want = seccompRetTrace
		}
		if got := runFilter(prog, auditArchX86_64, nr); got != want {
			t.Fatalf("nr %d: %#x, want %#x", nr, got, want)
		}
	})
}
