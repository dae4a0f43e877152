package fanotify

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// The testdata/*.bin files are kernel output recorded by TestCapture
// (go test -run TestCapture -capture, as root).

func readSeed(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecodeFanotifyFileGroup(t *testing.T) {
	b := readSeed(t, "fan_file.bin")
	recs, err := decodeFanotify(b, nil)
	if err != nil {
		t.Fatalf("decodeFanotify: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	var open, exec, closes int
	for _, r := range recs {
		if r.FD < 0 || r.Pid <= 0 || r.NDir != 0 {
			t.Errorf("record %+v: want an fd, a pid and no names", r)
		}
		if r.Mask&unix.FAN_OPEN != 0 {
			open++
		}
		if r.Mask&unix.FAN_OPEN_EXEC != 0 {
			exec++
		}
		if r.Mask&(unix.FAN_CLOSE_WRITE|unix.FAN_CLOSE_NOWRITE) != 0 {
			closes++
		}
	}
	if open == 0 || exec == 0 || closes == 0 {
		t.Errorf("opens %d, exec opens %d, closes %d: want each", open, exec, closes)
	}
	var fds int
	fanFDs(b, func(int32) { fds++ })
	if fds != len(recs) {
		t.Errorf("fanFDs found %d descriptors, want %d", fds, len(recs))
	}
}

func TestDecodeFanotifyDirentGroup(t *testing.T) {
	recs, err := decodeFanotify(readSeed(t, "fan_dirent.bin"), nil)
	if err != nil {
		t.Fatalf("decodeFanotify: %v", err)
	}
	type want struct {
		mask      uint64
		name, new string
		dir       bool
	}
	wants := []want{
		{mask: unix.FAN_CREATE, name: "seed.txt"},
		{mask: unix.FAN_RENAME, name: "seed.txt", new: "seed.txt.moved"},
		{mask: unix.FAN_MOVED_FROM, name: "seed.txt"},
		{mask: unix.FAN_MOVED_TO, name: "seed.txt.moved"},
		{mask: unix.FAN_ATTRIB, name: "seed.txt.moved"},
		{mask: unix.FAN_CREATE, name: "d", dir: true},
		{mask: unix.FAN_DELETE, name: "d", dir: true},
		{mask: unix.FAN_DELETE, name: "seed.txt.moved"},
	}
	for _, w := range wants {
		found := false
		for _, r := range recs {
			if r.Mask&w.mask == 0 || (r.Mask&unix.FAN_ONDIR != 0) != w.dir || string(r.Dir[0].Name) != w.name {
				continue
			}
			if w.new != "" && (r.NDir != 2 || string(r.Dir[1].Name) != w.new) {
				continue
			}
			found = true
			if r.FD != -1 {
				t.Errorf("%+v: fd %d, want FAN_NOFD", w, r.FD)
			}
			for i := range r.NDir {
				h := r.Dir[i].Handle
				if len(h) < fileHandleHdr || int(le.Uint32(h))+fileHandleHdr != len(h) {
					t.Errorf("%+v: bad handle % x", w, h)
				}
			}
		}
		if !found {
			t.Errorf("no record %+v", w)
		}
	}
}

func TestDecodeFanotifyBad(t *testing.T) {
	good := readSeed(t, "fan_dirent.bin")
	first := int(le.Uint32(good))
	rec := append([]byte(nil), good[:first]...)
	cases := map[string][]byte{
		"short header":  rec[:10],
		"short event":   rec[:first-1],
		"bad version":   func() []byte { b := bytes.Clone(rec); b[4] = 2; return b }(),
		"zero length":   func() []byte { b := bytes.Clone(rec); le.PutUint32(b, 0); return b }(),
		"meta too long": func() []byte { b := bytes.Clone(rec); le.PutUint16(b[6:], uint16(first+1)); return b }(),
		"info too long": func() []byte { b := bytes.Clone(rec); le.PutUint16(b[fanMetaLen+2:], 0xffff); return b }(),
		"handle too long": func() []byte {
			b := bytes.Clone(rec)
			le.PutUint32(b[fanMetaLen+fanFidHdrLen:], 0xfffffff0)
			return b
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeFanotify(b, nil); err == nil {
				t.Error("no error")
			}
		})
	}
}

// procSeeds splits the recorded proc connector messages.
func procSeeds(tb testing.TB) [][]byte {
	b := readSeed(tb, "proc_events.bin")
	var out [][]byte
	for len(b) > 0 {
		_, _, rest, ok := nextNlmsg(b)
		if !ok {
			tb.Fatalf("bad netlink framing in proc_events.bin")
		}
		out = append(out, b[:len(b)-len(rest)])
		b = rest
	}
	return out
}

func TestDecodeProcEvents(t *testing.T) {
	var ack, fork, exec, exit3, uid bool
	for _, m := range procSeeds(t) {
		var ev driver.Event
		var pe procEvent
		if err := decodeProcEvent(m, &ev, &pe); err != nil {
			t.Fatalf("decodeProcEvent(% x): %v", m, err)
		}
		switch pe.What {
		case procEventNone:
			ack = ack || pe.A == 0
		case procEventFork:
			if pe.Pid == pe.Tgid {
				fork = true
				if ev.Type != evtClone || ev.Pid != int64(pe.Tgid) || pe.PTgid <= 0 {
					t.Errorf("fork: %+v %+v", ev, pe)
				}
			}
		case procEventExec:
			exec = true
			if ev.Type != evtExecve || ev.Pid <= 0 {
				t.Errorf("exec: %+v", ev)
			}
		case procEventExit:
			if pe.Pid == pe.Tgid && pe.A == 3<<8 {
				exit3 = true
				if ev.Type != evtProcexit || ev.Res != 3<<8 || ev.Has.Has(driver.HasSignal) {
					t.Errorf("exit: %+v", ev)
				}
			}
		case procEventUID:
			if pe.B == 65534 {
				uid = true
				if ev.Type != evtSetuid || ev.UID != 65534 || !ev.Has.Has(driver.HasUID) {
					t.Errorf("uid: %+v", ev)
				}
			}
		}
		if ev.Type != driver.EventUnknown && !ev.Has.Has(driver.HasCPU|driver.HasRes) {
			t.Errorf("%s: has %#x", ev.Type, ev.Has)
		}
	}
	if !ack || !fork || !exec || !exit3 || !uid {
		t.Errorf("ack %v fork %v exec %v exit(3) %v setuid(65534) %v: want all", ack, fork, exec, exit3, uid)
	}
}

func TestDecodeProcEventKinds(t *testing.T) {
	msg := func(what uint32, data ...uint32) []byte {
		b := make([]byte, nlmsgHdrLen+cnMsgLen+procEventHdrLen+len(data)*4)
		le.PutUint32(b, uint32(len(b)))
		le.PutUint16(b[4:], nlmsgDone)
		p := b[nlmsgHdrLen:]
		le.PutUint32(p, cnIdxProc)
		le.PutUint32(p[4:], cnValProc)
		le.PutUint16(p[16:], uint16(procEventHdrLen+len(data)*4))
		e := p[cnMsgLen:]
		le.PutUint32(e, what)
		le.PutUint32(e[4:], 1)
		for i, v := range data {
			le.PutUint32(e[procEventHdrLen+4*i:], v)
		}
		return b
	}
	comm := func(pid uint32, name string) []byte {
		var w [6]uint32
		w[0], w[1] = pid, pid
		var c [16]byte
		copy(c[:], name)
		for i := range 4 {
			w[2+i] = le.Uint32(c[4*i:])
		}
		return msg(procEventComm, w[:]...)
	}
	tests := []struct {
		name string
		b    []byte
		want driver.Event
	}{
		{"thread fork", msg(procEventFork, 10, 10, 11, 10), driver.Event{}},
		{"ptrace attach", msg(procEventPtrace, 20, 20, 30, 30), driver.Event{Type: evtPtrace, Tid: 30, Pid: 30, TargetPID: 20, Request: ptraceAttach}},
		{"ptrace detach", msg(procEventPtrace, 20, 20, 0, 0), driver.Event{}},
		{"setgid", msg(procEventGID, 5, 5, 0, 7), driver.Event{Type: evtSetgid, Tid: 5, Pid: 5, GID: 7}},
		{"setsid", msg(procEventSID, 6, 6), driver.Event{Type: evtSetsid, Tid: 6, Pid: 6, Res: 6}},
		{"killed", msg(procEventExit, 8, 8, 9, 17, 1, 1), driver.Event{Type: evtProcexit, Tid: 8, Pid: 8, Res: 9, Signal: 9}},
		{"thread exit", msg(procEventExit, 9, 8, 0, 17, 1, 1), driver.Event{}},
		{"comm", comm(4, "renamed"), driver.Event{Type: evtPrctl, Tid: 4, Pid: 4, Cmd: prSetName}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev driver.Event
			var pe procEvent
			if err := decodeProcEvent(tc.b, &ev, &pe); err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.want.Type {
				t.Fatalf("type %s, want %s", ev.Type, tc.want.Type)
			}
			if ev.Type == driver.EventUnknown {
				return
			}
			if ev.Tid != tc.want.Tid || ev.Pid != tc.want.Pid || ev.TargetPID != tc.want.TargetPID ||
				ev.Request != tc.want.Request || ev.GID != tc.want.GID || ev.Res != tc.want.Res ||
				ev.Signal != tc.want.Signal || ev.Cmd != tc.want.Cmd {
				t.Errorf("got %+v\nwant %+v", ev, tc.want)
			}
			if tc.name == "comm" && string(pe.Comm) != "renamed" {
				t.Errorf("comm %q", pe.Comm)
			}
		})
	}
	// Truncations are errors, never panics.
	full := msg(procEventExit, 8, 8, 9, 17, 1, 1)
	for n := range len(full) - 8 {
		b := bytes.Clone(full[:n])
		if n >= 4 {
			le.PutUint32(b, uint32(n))
		}
		var ev driver.Event
		var pe procEvent
		if err := decodeProcEvent(b, &ev, &pe); err == nil {
			t.Errorf("%d bytes: no error", n)
		}
	}
}

func TestDecodeInetDiag(t *testing.T) {
	b := readSeed(t, "diag_tcp4.bin")
	var socks []inetSock
	done := false
	for len(b) > 0 && !done {
		var err error
		socks, done, err = decodeInetDiag(b, driver.L4TCP, socks)
		if err != nil {
			t.Fatal(err)
		}
		b = nil
	}
	if !done {
		t.Error("no NLMSG_DONE")
	}
	lo := netip.MustParseAddr("127.0.0.1")
	var listen, client, server *inetSock
	for i := range socks {
		s := &socks[i]
		if s.Family != afInet || s.Proto != driver.L4TCP {
			t.Errorf("socket %+v: want TCP/IPv4", s)
		}
		switch {
		case s.State == tcpListen && s.LocalAddr == lo:
			listen = s
		case s.State == tcpEstablished && s.LocalAddr == lo && s.RemoteAddr == lo:
			if client == nil {
				client = s
			} else {
				server = s
			}
		}
	}
	if listen == nil || client == nil || server == nil {
		t.Fatalf("listener %v, connection ends %v %v in %+v", listen, client, server, socks)
	}
	if client.LocalPort != server.RemotePort || client.RemotePort != server.LocalPort {
		t.Errorf("ends do not match: %+v %+v", client, server)
	}
	if client.RemotePort != listen.LocalPort && server.RemotePort != listen.LocalPort {
		t.Errorf("connection %+v/%+v is not to listener port %d", client, server, listen.LocalPort)
	}
	if listen.Inode == 0 || listen.Cookie == 0 {
		t.Errorf("listener without inode or cookie: %+v", listen)
	}
	if _, _, err := decodeInetDiag([]byte{1, 2, 3}, driver.L4TCP, nil); err == nil {
		t.Error("3 bytes: no error")
	}
	errMsg := make([]byte, nlmsgHdrLen+4)
	le.PutUint32(errMsg, uint32(len(errMsg)))
	le.PutUint16(errMsg[4:], nlmsgError)
	le.PutUint32(errMsg[nlmsgHdrLen:], uint32(0xffffffff-1)) // -2: ENOENT
	if _, done, err := decodeInetDiag(errMsg, driver.L4TCP, nil); err == nil || !done {
		t.Errorf("error message: done %v err %v", done, err)
	}
}

func TestParseMountinfo(t *testing.T) {
	in := []byte("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"23 22 0:21 / /proc rw,nosuid - proc proc rw\n" +
		"24 22 0:45 / /mnt/with\\040space rw master:3 - tmpfs tmpfs rw\n" +
		"garbage\n" +
		"25 22 x:y / /bad rw - tmpfs tmpfs rw\n")
	got := parseMountinfo(in, nil)
	want := []mount{
		{id: 22, dev: 254 << 32, root: "/", point: "/", fstype: "ext4", super: "rw"},
		{id: 23, dev: 21, root: "/", point: "/proc", fstype: "proc", super: "rw"},
		{id: 24, dev: 45, root: "/", point: "/mnt/with space", fstype: "tmpfs", super: "rw"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mount %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseFdinfoFlags(t *testing.T) {
	f, ok := parseFdinfoFlags([]byte("pos:\t0\nflags:\t0102001\nmnt_id:\t25\nino:\t12\n"))
	if !ok || f != 0o102001 {
		t.Errorf("got %#o %v", f, ok)
	}
	if _, ok := parseFdinfoFlags([]byte("pos:\t0\n")); ok {
		t.Error("no flags line: ok")
	}
}

func TestTupleName(t *testing.T) {
	s := driver.SockAddr{
		LocalAddr: netip.MustParseAddr("10.0.0.1"), LocalPort: 40000,
		RemoteAddr: netip.MustParseAddr("10.0.0.2"), RemotePort: 443,
	}
	if got := tupleName(&s); got != "10.0.0.1:40000->10.0.0.2:443" {
		t.Errorf("client: %s", got)
	}
	s.Server = true
	if got := tupleName(&s); got != "10.0.0.2:443->10.0.0.1:40000" {
		t.Errorf("server: %s", got)
	}
	l := driver.SockAddr{LocalAddr: netip.MustParseAddr("0.0.0.0"), LocalPort: 22, Server: true}
	if got := tupleName(&l); got != "0.0.0.0:0->0.0.0.0:22" {
		t.Errorf("listener: %s", got)
	}
}

func TestInbound(t *testing.T) {
	any4 := inetSock{LocalAddr: netip.MustParseAddr("0.0.0.0"), LocalPort: 80, State: tcpListen}
	lo := inetSock{LocalAddr: netip.MustParseAddr("127.0.0.1"), LocalPort: 8080, State: tcpListen}
	ls := []inetSock{any4, lo}
	conn := func(addr string, port uint16) *inetSock {
		return &inetSock{LocalAddr: netip.MustParseAddr(addr), LocalPort: port}
	}
	if !inbound(conn("10.1.1.1", 80), ls) || !inbound(conn("127.0.0.1", 8080), ls) {
		t.Error("inbound connection not recognised")
	}
	if inbound(conn("10.1.1.1", 8080), ls) || inbound(conn("10.1.1.1", 50000), ls) {
		t.Error("outbound connection taken for inbound")
	}
}

func TestOpenTable(t *testing.T) {
	var o openTable
	o.init()
	k := openKey{pid: 1, dev: 2, ino: 3}
	a := o.add(k, "/a", 1, 10)
	b := o.add(k, "/a", 2, 20)
	c := o.add(openKey{pid: 9}, "/c", 3, 30)
	if o.first(k) != a || o.peek() != a {
		t.Fatal("first/peek is not the oldest")
	}
	o.remove(a)
	if o.first(k) != b || o.peek() != b {
		t.Fatal("after remove: not the next")
	}
	o.remove(c)
	o.remove(b)
	if o.first(k) != nil || o.peek() != nil || len(o.byKey) != 0 {
		t.Fatal("table not empty")
	}
	for i := range 5000 {
		r := o.add(openKey{pid: int32(i)}, "/x", int64(i), int64(i))
		if i%2 == 0 {
			o.remove(r)
		}
		if p := o.peek(); p != nil && i > 10 && p.due < int64(i-10) {
			o.remove(p)
		}
	}
	if len(o.q) > 5000 {
		t.Errorf("queue not compacted: %d", len(o.q))
	}
}

func TestEncodeDev(t *testing.T) {
	if got := encodeDev(unix.Mkdev(254, 1)); got != 254<<8|1 {
		t.Errorf("254:1 → %#x", got)
	}
	if got := encodeDev(unix.Mkdev(8, 300)); got != 300&0xff|8<<8|(300&^0xff)<<12 {
		t.Errorf("8:300 → %#x", got)
	}
}

func FuzzDecodeFanotify(f *testing.F) {
	f.Add(readSeed(f, "fan_file.bin"))
	f.Add(readSeed(f, "fan_dirent.bin"))
	d := readSeed(f, "fan_dirent.bin")
	f.Add(d[:le.Uint32(d)])
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, _ := decodeFanotify(b, nil)
		for _, r := range recs {
			for i := range r.NDir {
				if h := r.Dir[i].Handle; len(h) > 0 && len(h) < fileHandleHdr {
					t.Fatalf("handle of %d bytes", len(h))
				}
			}
		}
		fanFDs(b, func(int32) {})
	})
}

func FuzzDecodeProcEvent(f *testing.F) {
	for _, m := range procSeeds(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev driver.Event
		var pe procEvent
		if err := decodeProcEvent(b, &ev, &pe); err != nil && ev.Type != driver.EventUnknown {
			t.Fatalf("error %v with type %s", err, ev.Type)
		}
		if len(pe.Comm) > 16 {
			t.Fatalf("comm of %d bytes", len(pe.Comm))
		}
	})
}

func FuzzDecodeInetDiag(f *testing.F) {
	b := readSeed(f, "diag_tcp4.bin")
	f.Add(b)
	f.Add(b[:nlmsgAlign(int(le.Uint32(b)))])
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, _, _ := decodeInetDiag(b, driver.L4TCP, nil)
		for _, s := range socks {
			if !s.LocalAddr.IsValid() || !s.RemoteAddr.IsValid() {
				t.Fatalf("socket without addresses: %+v", s)
			}
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n24 22 0:45 / /a\\040b rw - tmpfs t rw\n"))
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range parseMountinfo(b, nil) {
			if m.fstype == "" {
				t.Fatalf("mount without type: %+v", m)
			}
		}
	})
}

func TestCommOf(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/sh":                   "sh",
		"/opt/a-very-long-program-name": "a-very-long-pro",
		"relative":                      "relative",
	} {
		if got := commOf(in); got != want {
			t.Errorf("commOf(%q) = %q, want %q", in, got, want)
		}
	}
}
