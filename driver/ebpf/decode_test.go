package ebpf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

// records returns the captured kernel records in testdata/records (see
// TestPrivilegedCaptureRecords), by file name.
func records(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "records", "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured records in testdata/records: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestDecodeCaptured(t *testing.T) {
	for name, b := range records(t) {
		var ev driver.Event
		if err := decodeEvent(b, &ev); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _, _ := strings.Cut(name, "-")
		if ev.Type.String() != want {
			t.Errorf("%s: type %s", name, ev.Type)
		}
		if ev.Tid == 0 || ev.Pid == 0 || !ev.Has.Has(driver.HasRes|driver.HasCPU) {
			t.Errorf("%s: tid %d pid %d has %#x", name, ev.Tid, ev.Pid, ev.Has)
		}
		switch want {
		case "open", "openat":
			if ev.Res >= 0 && (!strings.HasPrefix(ev.Path, "/") || !ev.Has.Has(driver.HasFDInfo) || ev.FDInfo.Name != ev.Path) {
				t.Errorf("%s: path %q fdinfo %+v", name, ev.Path, ev.FDInfo)
			}
		case "connect", "sendto":
			if !ev.Has.Has(driver.HasAddr) || ev.FDInfo.Type != driver.FDIPv4 || !strings.Contains(ev.FDInfo.Name, "->127.0.0.1:") {
				t.Errorf("%s: sock %+v fdinfo %+v", name, ev.Sock, ev.FDInfo)
			}
		case "execve", "execveat", "clone", "clone3":
			p := ev.Proc
			if p == nil || !p.Has.Has(driver.ProcHasPid|driver.ProcHasArgs|driver.ProcHasExePath|driver.ProcHasCwd) ||
				!strings.HasPrefix(p.ExePath, "/") || !strings.HasSuffix(p.Cwd, "/") {
				t.Errorf("%s: proc %+v", name, p)
			}
		case "procexit":
			if ev.Proc == nil || ev.Proc.Name == "" {
				t.Errorf("%s: proc %+v", name, ev.Proc)
			}
		case "rename":
			if !strings.HasSuffix(ev.OldPath, "/rel.txt") || !strings.HasSuffix(ev.NewPath, "/renamed.txt") {
				t.Errorf("%s: %q -> %q", name, ev.OldPath, ev.NewPath)
			}
		}
	}
}

func TestAppendJoin(t *testing.T) {
	for _, c := range []struct{ base, rel, want string }{
		{"/a/b", "c", "/a/b/c"},
		{"/a/b", "./c/../d", "/a/b/d"},
		{"/a/b", "../../../x", "/x"},
		{"/a/b", "/etc//passwd", "/etc/passwd"},
		{"/", "x/", "/x"},
		{"/a", "", "/a"},
		{"", "..", "/"},
		{"/a/b/", "c//d/.", "/a/b/c/d"},
	} {
		if got := string(appendJoin(nil, []byte(c.base), []byte(c.rel))); got != c.want {
			t.Errorf("join(%q, %q) = %q, want %q", c.base, c.rel, got, c.want)
		}
	}
}

func TestAppendWalk(t *testing.T) {
	for _, c := range []struct {
		data  string
		flags uint8
		want  string
	}{
		{"c\x00b\x00a\x00", ifRoot, "/a/b/c"},
		{"", ifRoot, "/"},
		{"memfd:x\x00", ifDisconnected, "/memfd:x"},
		{"x\x00\x00", ifRoot, "//x"},
	} {
		if got := string(appendWalk(nil, item{flags: c.flags, data: []byte(c.data), ok: true})); got != c.want {
			t.Errorf("walk(%q) = %q, want %q", c.data, got, c.want)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	hdr := func(n uint32) []byte {
		b := make([]byte, hdrSize)
		binary.LittleEndian.PutUint32(b[hdrLen:], n)
		binary.LittleEndian.PutUint16(b[hdrKind:], syscalls.Openat)
		return b
	}
	item := append(hdr(hdrSize+4), itPath, 0, 200, 0) // claims 200 bytes
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short header":  make([]byte, hdrSize-1),
		"length zero":   hdr(0),
		"length beyond": hdr(hdrSize + 10),
		"item overflow": item,
		"item header":   append(hdr(hdrSize+2), 1, 0),
		"unknown kind":  func() []byte { b := hdr(hdrSize); binary.LittleEndian.PutUint16(b[hdrKind:], 999); return b }(),
		"exec no proc":  func() []byte { b := hdr(hdrSize); binary.LittleEndian.PutUint16(b[hdrKind:], kindExec); return b }(),
	} {
		var ev driver.Event
		if err := decodeEvent(b, &ev); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestDecodeAllocs checks that decoding a repeated file open does not
// allocate once the decoder has seen its strings.
func TestDecodeAllocs(t *testing.T) {
	recs := records(t)
	for _, name := range []string{"openat-1.bin", "connect-1.bin", "unlinkat-1.bin", "read-1.bin"} {
		b, ok := recs[name]
		if !ok {
			t.Fatalf("missing record %s", name)
		}
		var d decoder
		var ev driver.Event
		if err := d.decode(b, &ev); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = d.decode(b, &ev) }); n != 0 {
			t.Errorf("%s: %v allocations per decode", name, n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	recs := records(b)
	for _, name := range []string{"openat-1.bin", "connect-1.bin", "execve-1.bin"} {
		rec := recs[name]
		b.Run(strings.TrimSuffix(name, ".bin"), func(b *testing.B) {
			var d decoder
			var ev driver.Event
			b.ReportAllocs()
			for b.Loop() {
				if err := d.decode(rec, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, b := range records(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev driver.Event
		if err := decodeEvent(b, &ev); err != nil {
			return
		}
		if ev.Type == driver.EventUnknown {
			t.Fatalf("decoded without a type")
		}
		if ev.Has.Has(driver.HasPath) && ev.Path == "" && ev.Type != evtExecve && ev.Type != evtExecveat {
			// An empty user path stays empty; anything resolved is absolute.
			return
		}
		// Decoding again into the used event gives the same result.
		first := ev.Path + "|" + ev.FDInfo.Name
		if err := decodeEvent(b, &ev); err != nil || ev.Path+"|"+ev.FDInfo.Name != first {
			t.Fatalf("second decode differs: %v", err)
		}
	})
}

// TestDecodeCgroup appends cgroup walks to captured fork and exec records
// (captured before the kernel side reported cgroups, so they also show
// that a record without one decodes without ProcHasCgroup).
func TestDecodeCgroup(t *testing.T) {
	id := strings.Repeat("ab", 32)
	recs := records(t)
	for _, name := range []string{"clone-1.bin", "execve-1.bin"} {
		rec := recs[name]
		var ev driver.Event
		if err := decodeEvent(rec, &ev); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev.Proc == nil || ev.Proc.Has.Has(driver.ProcHasCgroup) || ev.Proc.Cgroup != "" {
			t.Errorf("%s without a cgroup item: proc %+v", name, ev.Proc)
		}
		for _, c := range []struct {
			data  string
			flags uint8
			want  string // "" for none
		}{
			{id + "\x00docker\x00vigil-e2e\x00", ifRoot, "/vigil-e2e/docker/" + id},
			{"docker-" + id + ".scope\x00system.slice\x00", ifRoot, "/system.slice/docker-" + id + ".scope"},
			{"", ifRoot, "/"},
			{id + "\x00pod1234abcd-0000\x00", 0, ".../pod1234abcd-0000/" + id},
			{"", 0, ""},
		} {
			b := append([]byte(nil), rec...)
			b = append(b, itCgroup, c.flags, 0, 0)
			binary.LittleEndian.PutUint16(b[len(b)-2:], uint16(len(c.data)))
			b = append(b, c.data...)
			binary.LittleEndian.PutUint32(b[hdrLen:], uint32(len(b)))
			var ev driver.Event
			if err := decodeEvent(b, &ev); err != nil {
				t.Fatalf("%s with cgroup %q: %v", name, c.data, err)
			}
			if has := ev.Proc.Has.Has(driver.ProcHasCgroup); has != (c.want != "") || ev.Proc.Cgroup != c.want {
				t.Errorf("%s with cgroup %q (flags %d): cgroup %q (has %v), want %q", name, c.data, c.flags, ev.Proc.Cgroup, has, c.want)
			}
		}
	}
}
