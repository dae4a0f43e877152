package fields

import (
	"net/netip"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

var hotRefs = []string{
	"evt.type", "proc.name", "proc.pname", "proc.cmdline", "proc.pcmdline", "proc.args", "proc.aname[2]",
	"proc.aname", "proc.exepath", "proc.tty", "user.name", "user.uid", "evt.arg.flags", "evt.arg.name",
	"evt.arg.mode", "evt.res", "evt.rawres", "evt.is_open_read", "fd.name", "fd.directory", "fd.typechar",
	"fd.net", "fd.sport", "fd.sip", "container.id", "container.image.repository",
	"container.mount.dest[/proc*]", "k8s.ns.name", "thread.cap_permitted", "proc.env", "evt.time",
}

func hotEvent() *driver.Event {
	return &driver.Event{Type: et("openat"), Has: driver.HasRes | driver.HasDirFD | driver.HasPath | driver.HasFlags | driver.HasMode | driver.HasFDInfo,
		Res: 3, DirFD: -100, Path: "/etc/shadow", Flags: oWronly | oCreat | oTrunc, Mode: 0o644, Proc: procChain(), Time: 1_700_000_000_000_000_000,
		FDInfo: driver.FDInfo{Num: 3, Type: driver.FDIPv4, Name: "/etc/shadow", Sock: driver.SockAddr{
			LocalAddr: netip.MustParseAddr("10.0.0.1"), LocalPort: 1, RemoteAddr: netip.MustParseAddr("10.0.0.2"), RemotePort: 2}},
		Container: &driver.Container{Has: driver.ContHasID | driver.ContHasImage | driver.ContHasMounts | driver.ContHasK8s,
			ID: "abc", ImageRepository: "nginx", Namespace: "ns", Mounts: []driver.Mount{{Source: "/proc", Dest: "/host/proc"}}}}
}

// extractOnce runs the extractor's getter the way the compiled condition
// does, reusing buf for Multi values.
func extractOnce(x *Extractor, ev *driver.Event, buf []Value) []Value {
	switch {
	case x.Multi != nil:
		return x.Multi(ev, buf[:0])
	case x.Str != nil:
		x.Str(ev)
	case x.Num != nil:
		x.Num(ev)
	case x.Addr != nil:
		x.Addr(ev)
	case x.Bytes != nil:
		x.Bytes(ev)
	}
	return buf
}

func TestHotGettersDoNotAllocate(t *testing.T) {
	ev := hotEvent()
	for _, ref := range hotRefs {
		x := bindOf(t, ref)
		var buf []Value
		buf = extractOnce(&x, ev, buf) // grow buffers once
		if n := testing.AllocsPerRun(100, func() { buf = extractOnce(&x, ev, buf) }); n != 0 {
			t.Errorf("%s: %v allocs per extraction", ref, n)
		}
		var out []byte
		out, _ = x.AppendText(out[:0], ev)
		if n := testing.AllocsPerRun(100, func() { out, _ = x.AppendText(out[:0], ev) }); n != 0 {
			t.Errorf("%s: %v allocs per AppendText", ref, n)
		}
		out, _ = x.AppendJSON(out[:0], ev)
		if n := testing.AllocsPerRun(100, func() { out, _ = x.AppendJSON(out[:0], ev) }); n != 0 {
			t.Errorf("%s: %v allocs per AppendJSON", ref, n)
		}
	}
}

func BenchmarkGetters(b *testing.B) {
	ev := hotEvent()
	for _, ref := range hotRefs {
		f, arg, hasArg, _ := Default().Lookup(ref)
		x, err := f.Bind(arg, hasArg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(ref, func(b *testing.B) {
			var buf []Value
			b.ReportAllocs()
			for b.Loop() {
				buf = extractOnce(&x, ev, buf)
			}
		})
	}
}

func BenchmarkAppendText(b *testing.B) {
	ev := hotEvent()
	for _, ref := range []string{"proc.cmdline", "evt.arg.flags", "proc.aname", "fd.sport", "evt.time"} {
		f, arg, hasArg, _ := Default().Lookup(ref)
		x, _ := f.Bind(arg, hasArg)
		b.Run(ref, func(b *testing.B) {
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				out, _ = x.AppendText(out[:0], ev)
			}
		})
	}
}
