package procscan

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// littleEndian reports whether the tests run where /proc/net prints
// addresses as the captured lines below (x86, arm64).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// hexWords renders an address as the kernel prints it in /proc/net: each
// 32-bit word with %08X in host byte order.
func hexWords(a netip.Addr) string {
	b := a.AsSlice()
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&s, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return s.String()
}

func TestDecodeInetLine(t *testing.T) {
	a := netip.MustParseAddr
	type want struct {
		ok     bool
		family uint8
		state  uint8
		inode  uint64
		la     netip.Addr
		lp     uint16
		ra     netip.Addr
		rp     uint16
	}
	tests := []struct {
		name, line string
		le         bool // captured on a little-endian machine
		want       want
	}{
		{"header", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", false, want{}},
		{"listener (captured)", "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 124 1 00000000fce8a0d9 100 0 0 10 0                       ",
			true, want{true, afInet, tcpListen, 124, a("0.0.0.0"), 2024, a("0.0.0.0"), 0}},
		{"time-wait (captured)", "   1: 020200C0:AA82 507100CB:01BB 06 00000000:00000000 03:00001191 00000000     0        0 0 3 00000000be5579a2",
			true, want{true, afInet, tcpTimeWait, 0, a("192.0.2.2"), 0xaa82, a("203.0.113.80"), 443}},
		{"loopback established", fmt.Sprintf("   2: %s:D996 %s:A67B 01 00000000:00000000 00:00000000 00000000  1000        0 98765 1 0 20 4 30 10 -1", hexWords(a("127.0.0.1")), hexWords(a("127.0.0.1"))),
			false, want{true, afInet, tcpEstablished, 98765, a("127.0.0.1"), 0xd996, a("127.0.0.1"), 0xa67b}},
		{"ipv6", fmt.Sprintf("   0: %s:0016 %s:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0", hexWords(a("2001:db8::1")), hexWords(a("::"))),
			false, want{true, afInet6, tcpListen, 555, a("2001:db8::1"), 22, a("::"), 0}},
		{"ipv6 (little-endian ::1)", "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 556 1 0 100 0 0 10 0",
			true, want{true, afInet6, tcpListen, 556, a("::1"), 8080, a("::"), 0}},
		{"v4-mapped (little-endian)", "   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 557 1 0 100 0 0 10 0",
			true, want{true, afInet6, tcpEstablished, 557, a("::ffff:127.0.0.1"), 8080, a("::ffff:127.0.0.1"), 0xc000}},
		{"udp connected", fmt.Sprintf(" 1234: %s:A000 %s:0035 01 00000000:00000000 00:00000000 00000000   101        0 4242 2 0000000000000000 0", hexWords(a("10.0.0.2")), hexWords(a("10.0.0.1"))),
			false, want{true, afInet, tcpEstablished, 4242, a("10.0.0.2"), 0xa000, a("10.0.0.1"), 53}},
		{"mixed families", "   0: 00000000:0016 00000000000000000000000000000000:0000 0A 0:0 00:0 0 0 0 1 1", false, want{}},
		{"bad address", "   0: 0000000G:0016 00000000:0000 0A 0:0 00:0 0 0 0 1 1", false, want{}},
		{"bad port", "   0: 00000000:10000 00000000:0000 0A 0:0 00:0 0 0 0 1 1", false, want{}},
		{"short address", "   0: 000000:0016 00000000:0000 0A 0:0 00:0 0 0 0 1 1", false, want{}},
		{"bad state", "   0: 00000000:0016 00000000:0000 1FF 0:0 00:0 0 0 0 1 1", false, want{}},
		{"bad inode", "   0: 00000000:0016 00000000:0000 0A 0:0 00:0 0 0 0 x 1", false, want{}},
		{"too few fields", "   0: 00000000:0016 00000000:0000 0A", false, want{}},
		{"empty", "", false, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.le && !littleEndian {
				t.Skip("captured on a little-endian machine")
			}
			var e netEnt
			ok := decodeInetLine([]byte(tt.line), driver.L4TCP, &e)
			if ok != tt.want.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.want.ok, e)
			}
			if !ok {
				return
			}
			got := want{ok, e.family, e.state, e.inode, e.localAddr, e.localPort, e.remoteAddr, e.remotePort}
			if got != tt.want || e.l4 != driver.L4TCP {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeUnixLine(t *testing.T) {
	tests := []struct {
		line       string
		ok         bool
		inode      uint64
		flags      uint32
		typ        uint16
		state      uint8
		path       string
		listening  bool
		connection bool
	}{
		{"Num       RefCount Protocol Flags    Type St Inode Path", false, 0, 0, 0, 0, "", false, false},
		{"0000000099f89230: 00000003 00000000 00000000 0001 03   120", true, 120, 0, 1, 3, "", false, true},
		{"0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/systemd/private", true, 31337, unixAcceptCon, 1, 1, "/run/systemd/private", true, false},
		{"0000000000000000: 00000002 00000000 00010000 0005 01 7 @/tmp/.X11-unix/X0", true, 7, unixAcceptCon, 5, 1, "@/tmp/.X11-unix/X0", true, false},
		{"0000000000000000: 00000003 00000000 00000000 0001 03 8 /run/with space/sock\n", true, 8, 0, 1, 3, "/run/with space/sock", false, true},
		{"0000000000000000: 00000002 00000000 00000000 0002 01 9 /dev/log", true, 9, 0, 2, 1, "/dev/log", false, false},
		{"0000000000000000: 00000002 00000000 0001000G 0001 01 9 /x", false, 0, 0, 0, 0, "", false, false},
		{"0000000000000000: 00000002 00000000 00010000 0001 01", false, 0, 0, 0, 0, "", false, false},
		{"0000000000000000 00000002 00000000 00010000 0001 01 9", false, 0, 0, 0, 0, "", false, false},
		{"", false, 0, 0, 0, 0, "", false, false},
	}
	for _, tt := range tests {
		var e netEnt
		ok := decodeUnixLine([]byte(tt.line), &e)
		if ok != tt.ok {
			t.Errorf("%q: ok = %v", tt.line, ok)
			continue
		}
		if !ok {
			continue
		}
		if e.inode != tt.inode || e.unixFlags != tt.flags || e.sockType != tt.typ || e.state != tt.state ||
			string(e.path) != tt.path || e.family != afUnix {
			t.Errorf("%q: got %+v", tt.line, e)
		}
		if got := stateBits(&e); (got&sockListen != 0) != tt.listening || (got&sockConn != 0) != tt.connection {
			t.Errorf("%q: state bits %b", tt.line, got)
		}
	}
}

func TestDecodeFdinfo(t *testing.T) {
	tests := []struct {
		in    string
		ok    bool
		flags uint32
		mnt   uint64
		ino   uint64
	}{
		{"pos:\t0\nflags:\t0100000\nmnt_id:\t24\nino:\t3\n", true, 0o100000, 24, 3},
		{"pos:\t12\nflags:\t02102001\nmnt_id:\t31\n", true, 0o2102001, 31, 0},
		{"flags:\t01", true, 1, 0, 0},
		{"eventfd-count: 0\nflags:\t02\n", true, 2, 0, 0},
		{"pos:\t0\nmnt_id:\t24\n", false, 0, 24, 0},
		{"flags:\t08\n", false, 0, 0, 0},
		{"flags:\t777777777777\n", false, 0, 0, 0},
		{"", false, 0, 0, 0},
	}
	for _, tt := range tests {
		fi, ok := decodeFdinfo([]byte(tt.in))
		if ok != tt.ok || ok && fi.flags != tt.flags || fi.mntID != tt.mnt || fi.ino != tt.ino {
			t.Errorf("%q: got %+v, %v", tt.in, fi, ok)
		}
	}
}

func TestDecodeStatLite(t *testing.T) {
	tests := []struct {
		in    string
		ok    bool
		comm  string
		state byte
		ppid  int64
		start uint64
	}{
		{"8589 (cat) R 8569 8569 4990 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 384687 3133440 389 18446744073709551615 0 0\n", true, "cat", 'R', 8569, 384687},
		{statLine(42, "my (weird) prog", 'S', 1, 42, 42, 34816, 250), true, "my (weird) prog", 'S', 1, 250},
		{statLine(7, "a b", 'Z', 3, 7, 7, 0, 9), true, "a b", 'Z', 3, 9},
		{"1 (x) S 0 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 5", true, "x", 'S', 0, 5},
		{"1 (x) S 0 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0", false, "", 0, 0, 0},
		{"1 (x) SS 0 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 5", false, "", 0, 0, 0},
		{"1 (x) S -1 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 5", false, "", 0, 0, 0},
		{"1 (x) S 0 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 y", false, "", 0, 0, 0},
		{"1 x) S", false, "", 0, 0, 0},
		{")(", false, "", 0, 0, 0},
		{"", false, "", 0, 0, 0},
	}
	for _, tt := range tests {
		st, ok := decodeStatLite([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("%q: ok = %v", tt.in, ok)
			continue
		}
		if ok && (string(st.comm) != tt.comm || st.state != tt.state || st.ppid != tt.ppid || st.start != tt.start) {
			t.Errorf("%q: got %+v", tt.in, st)
		}
	}
}

func TestDecodeLinks(t *testing.T) {
	for _, tt := range []struct {
		in  string
		ino uint64
		ok  bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[]", 0, false},
		{"socket:[12a]", 0, false},
		{"socket:[1", 0, false},
		{"pipe:[5]", 0, false},
		{"/tmp/socket:[1]", 0, false},
	} {
		ino, ok := decodeSocketLink([]byte(tt.in))
		if ino != tt.ino || ok != tt.ok {
			t.Errorf("socket %q: %d, %v", tt.in, ino, ok)
		}
	}
	if ns, ok := decodeNetnsLink([]byte("net:[4026531840]")); !ok || ns != 4026531840 {
		t.Errorf("netns: %d, %v", ns, ok)
	}
	if _, ok := decodeNetnsLink([]byte("mnt:[4026531840]")); ok {
		t.Error("mnt link decoded as a network namespace")
	}
}

func TestParseDirents(t *testing.T) {
	rec := func(name string) []byte {
		n := 19 + len(name) + 1
		n = (n + 7) &^ 7
		b := make([]byte, n)
		binary.NativeEndian.PutUint64(b[0:], 1)
		binary.NativeEndian.PutUint16(b[16:], uint16(n))
		b[18] = 10 // DT_LNK
		copy(b[19:], name)
		return b
	}
	var b []byte
	for _, n := range []string{".", "..", "0", "1", "self", "255", "99999999999", "12"} {
		b = append(b, rec(n)...)
	}
	got, trunc := parseDirents(b, nil, 10)
	if fmt.Sprint(got) != "[0 1 255 12]" || trunc {
		t.Errorf("got %v, %v", got, trunc)
	}
	got, trunc = parseDirents(b, nil, 2)
	if fmt.Sprint(got) != "[0 1]" || !trunc {
		t.Errorf("capped: got %v, %v", got, trunc)
	}
	// A damaged record length stops the walk.
	bad := append([]byte(nil), b...)
	binary.NativeEndian.PutUint16(bad[16:], 3)
	if got, _ := parseDirents(bad, nil, 10); len(got) != 0 {
		t.Errorf("damaged: got %v", got)
	}
}

func TestHidepid(t *testing.T) {
	tests := []struct {
		mi   string
		want string
		ok   bool
	}{
		{"22 27 0:21 / /proc rw,relatime - proc proc rw\n", "", false},
		{"22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw,hidepid=2\n", "2", true},
		{"22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=4\n", "invisible", true},
		{"22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=off\n", "", false},
		{"22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=0\n", "", false},
		// Old kernels list it among the per-mount options.
		{"22 27 0:21 / /proc rw,relatime,hidepid=1 - proc proc rw\n", "1", true},
		// Another mount point, or not a procfs.
		{"22 27 0:21 / /mnt/proc rw - proc proc rw,hidepid=2\n", "", false},
		{"22 27 0:21 / /proc rw - tmpfs tmpfs rw,hidepid=2\n", "", false},
		// The last mount on /proc wins.
		{"22 27 0:21 / /proc rw - proc proc rw,hidepid=2\n23 22 0:22 / /proc rw - proc proc rw\n", "", false},
		{"garbage\n\n - \n", "", false},
	}
	for _, tt := range tests {
		v, ok := hidepid([]byte(tt.mi), "/proc")
		if v != tt.want || ok != tt.ok {
			t.Errorf("%q: %q, %v", tt.mi, v, ok)
		}
	}
}

func TestTupleName(t *testing.T) {
	a := netip.MustParseAddr
	for _, tt := range []struct {
		s    driver.SockAddr
		want string
	}{
		{driver.SockAddr{LocalAddr: a("10.0.0.2"), LocalPort: 40000, RemoteAddr: a("10.0.0.1"), RemotePort: 443}, "10.0.0.2:40000->10.0.0.1:443"},
		{driver.SockAddr{LocalAddr: a("10.0.0.1"), LocalPort: 443, RemoteAddr: a("10.0.0.2"), RemotePort: 40000, Server: true}, "10.0.0.2:40000->10.0.0.1:443"},
		{driver.SockAddr{LocalAddr: a("::1"), LocalPort: 22, Server: true}, "0.0.0.0:0->::1:22"},
		{driver.SockAddr{LocalAddr: a("::ffff:1.2.3.4"), LocalPort: 1, RemoteAddr: a("5.6.7.8"), RemotePort: 65535}, "1.2.3.4:1->5.6.7.8:65535"},
	} {
		if got := string(tupleName(nil, &tt.s)); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestEncodeDev(t *testing.T) {
	// makedev(8, 1) and makedev(259, 65536): Falco's encoding keeps the
	// minor's low byte, the major above it and the rest of the minor above
	// that.
	if got := encodeDev(8<<8 | 1); got != 0x801 {
		t.Errorf("8:1 = %#x", got)
	}
	dev := uint64(259&0xfff)<<8 | uint64(65536&0xff) | uint64(65536&^0xff)<<12
	if got := encodeDev(dev); got != 0&0xff|259<<8|(65536&^0xff)<<12 {
		t.Errorf("259:65536 = %#x", got)
	}
}

func FuzzDecodeInetLine(f *testing.F) {
	f.Add("   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 124 1 00000000fce8a0d9 100 0 0 10 0")
	f.Add("   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 556 1 0 100 0 0 10 0")
	f.Add("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
	f.Fuzz(func(t *testing.T, line string) {
		var e netEnt
		if !decodeInetLine([]byte(line), driver.L4UDP, &e) {
			return
		}
		if !e.localAddr.IsValid() || !e.remoteAddr.IsValid() || e.localAddr.Is4() != (e.family == afInet) || e.l4 != driver.L4UDP {
			t.Fatalf("inconsistent entry %+v", e)
		}
		_ = tupleName(nil, &driver.SockAddr{LocalAddr: e.localAddr, RemoteAddr: e.remoteAddr})
	})
}

func FuzzDecodeUnixLine(f *testing.F) {
	f.Add("0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/systemd/private")
	f.Add("0000000099f89230: 00000003 00000000 00000000 0001 03   120")
	f.Add("Num       RefCount Protocol Flags    Type St Inode Path")
	f.Fuzz(func(t *testing.T, line string) {
		var e netEnt
		if decodeUnixLine([]byte(line), &e) {
			if e.family != afUnix || len(e.path) > len(line) {
				t.Fatalf("inconsistent entry %+v", e)
			}
			_ = stateBits(&e)
		}
	})
}

func FuzzDecodeFdinfo(f *testing.F) {
	f.Add("pos:\t0\nflags:\t0100000\nmnt_id:\t24\nino:\t3\n")
	f.Add("flags:\t02102001")
	f.Fuzz(func(t *testing.T, in string) {
		fi, ok := decodeFdinfo([]byte(in))
		if ok != fi.hasFlag {
			t.Fatalf("ok %v, hasFlag %v", ok, fi.hasFlag)
		}
	})
}

func FuzzDecodeStatLite(f *testing.F) {
	f.Add("8589 (cat) R 8569 8569 4990 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 384687 3133440 389 18446744073709551615 0 0\n")
	f.Add(statLine(42, "my (weird) prog", 'S', 1, 42, 42, 34816, 250))
	f.Fuzz(func(t *testing.T, in string) {
		st, ok := decodeStatLite([]byte(in))
		if ok && (st.ppid < 0 || len(st.comm) > len(in)) {
			t.Fatalf("inconsistent %+v", st)
		}
	})
}

func FuzzHidepid(f *testing.F) {
	f.Add("22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw,hidepid=2\n")
	f.Fuzz(func(t *testing.T, in string) {
		if v, ok := hidepid([]byte(in), "/proc"); ok && (v == "" || v == "0" || v == "off") {
			t.Fatalf("hidepid %q reported as hiding", v)
		}
	})
}

func FuzzParseDirents(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 10, '1', '2', 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _ := parseDirents(b, nil, 16)
		if len(got) > 16 {
			t.Fatalf("%d names beyond the cap", len(got))
		}
	})
}
