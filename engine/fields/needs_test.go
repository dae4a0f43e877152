package fields

import (
	"math/bits"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

const (
	allEventBits     = driver.HasUIDName<<1 - 1
	allProcBits      = driver.ProcHasCgroup<<1 - 1
	allContainerBits = driver.ContHasIP<<1 - 1
)

// needsEvent builds an event of type t whose values make every field
// computable, in one of two variants (a file descriptor with O_RDONLY, or
// an IPv4 socket with O_TMPFILE|O_RDWR), with the availability bits of
// have.
func needsEvent(t driver.EventType, sock bool, have Need) *driver.Event {
	proc := procChain()
	for p := proc; p != nil; p = p.Parent {
		p.Has = have.Proc & allProcBits
		if p.StartTime == 0 {
			p.StartTime = 500_000_000
		}
	}
	ev := &driver.Event{
		Type: t, Time: 2_000_000_000, Tid: 300, Has: have.Event & allEventBits,
		Res: 3, FD: 3, DirFD: -100, Path: "/etc/passwd", OldPath: "/tmp/a", NewPath: "/tmp/b",
		Mode: 0o755, UID: 0, GID: 0, TargetPID: 1, Request: 16, Signal: 9, Cmd: 1,
		Domain: 2, SockType: 1, Proto: 6, Data: []byte("abc"), Dev: 2049, Ino: 7,
		MountSource: "/dev/sda1", MountTarget: "/mnt", MountFSType: "ext4",
		Args: []string{"a", "b"}, CPU: 1, Num: 1, Name: "memfd", Created: true, UIDName: "root",
		FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: "/etc/passwd", NameRaw: "passwd", Dev: 2049, Ino: 7},
		Proc:   proc,
		Container: &driver.Container{
			Has: have.Container & allContainerBits, ID: "0123456789ab", FullID: "0123456789abcdef",
			Name: "web", Image: "nginx:1", ImageRepository: "nginx", ImageTag: "1", ImageID: "sha256:1",
			ImageDigest: "sha256:2", Type: "docker", StartTime: 1_000_000_000, User: "root", IP: "10.0.0.2",
			Mounts:  []driver.Mount{{Source: "/var/run/docker.sock", Dest: "/var/run/docker.sock", Mode: "rw", RW: true}},
			PodName: "pod", PodUID: "uid", Namespace: "ns", K8sContainerName: "c",
			PodLabels: []driver.Label{{Key: "app", Value: "web"}},
		},
	}
	if sock {
		ev.Flags = oTmpfile | oRdwr
		sa := driver.SockAddr{Family: 2, L4Proto: driver.L4TCP,
			LocalAddr: netip.MustParseAddr("10.0.0.1"), LocalPort: 40000,
			RemoteAddr: netip.MustParseAddr("10.0.0.2"), RemotePort: 443}
		ev.Sock = sa
		ev.FDInfo = driver.FDInfo{Num: 3, Type: driver.FDIPv4, Name: "10.0.0.1:40000->10.0.0.2:443", Sock: sa, Connected: true}
	}
	return ev
}

// available reports whether x yields a value for ev.
func available(x Extractor, ev *driver.Event) bool {
	var ok bool
	switch {
	case x.Multi != nil:
		ok = len(x.Multi(ev, nil)) > 0
	case x.Str != nil:
		_, ok = x.Str(ev)
	case x.Num != nil:
		_, ok = x.Num(ev)
	case x.Bytes != nil:
		_, ok = x.Bytes(ev)
	case x.Addr != nil:
		_, ok = x.Addr(ev)
	}
	return ok
}

// availableIn reports whether x yields a value in at least one variant.
func availableIn(x Extractor, t driver.EventType, have Need) bool {
	return available(x, needsEvent(t, false, have)) || available(x, needsEvent(t, true, have))
}

// needBit is one availability bit of a Need.
type needBit struct {
	kind int // 0 event, 1 process, 2 container
	bit  driver.Mask
}

func (n Need) bits() []needBit {
	var out []needBit
	for kind, m := range []driver.Mask{n.Event, n.Proc, n.Container} {
		for m != 0 {
			b := driver.Mask(1) << bits.TrailingZeros64(uint64(m))
			out = append(out, needBit{kind, b})
			m &^= b
		}
	}
	return out
}

func (n Need) without(b needBit) Need {
	switch b.kind {
	case 0:
		n.Event &^= b.bit
	case 1:
		n.Proc &^= b.bit
	default:
		n.Container &^= b.bit
	}
	return n
}

// hittingSets returns every way to pick one bit of each alternative.
func hittingSets(alts []Need) [][]needBit {
	sets := [][]needBit{nil}
	for _, a := range alts {
		var next [][]needBit
		for _, s := range sets {
			for _, b := range a.bits() {
				next = append(next, append(append([]needBit(nil), s...), b))
			}
		}
		sets = next
	}
	return sets
}

// sampleArgs lists the arguments each field is checked with ("" alone
// means no argument).
func sampleArgs(f *Field) []string {
	switch f.Name {
	case "evt.type.is":
		return []string{"openat"}
	case "evt.arg", "evt.rawarg":
		seen := map[string]bool{}
		for _, ps := range eventParams() {
			for _, p := range ps {
				seen[p.name] = true
			}
		}
		var out []string
		for n := range seen {
			out = append(out, n)
		}
		sort.Strings(out)
		if f.Name == "evt.arg" {
			out = append(out, "0", "1", "2", "5", "21")
		}
		return out
	case "evt.abspath":
		return []string{"", "src", "dst"}
	case "proc.env", "proc.aenv":
		return []string{"", "HOME", "1"}
	case "proc.args":
		return []string{"", "0", "1"}
	case "fd.types":
		return []string{"", "3"}
	case "k8s.pod.label", "container.label":
		return []string{"app"}
	}
	switch {
	case strings.HasPrefix(f.Name, "container.mount"):
		return []string{"0", "/var/run/*"}
	case f.Flags&ArgRequired != 0:
		return []string{"x"}
	case f.Flags&ArgAllowed != 0:
		return []string{"", "0", "1", "2"}
	}
	return []string{""}
}

// TestNeeds cross-checks every field's declared needs against its
// extractor, for every event type: a field declared Never has no value
// even with every bit filled; one that needs nothing has a value with no
// bit filled; otherwise every alternative alone gives a value, and
// removing one bit of each alternative (every way of doing it) from a
// full event leaves none.
func TestNeeds(t *testing.T) {
	full := Need{Event: allEventBits, Proc: allProcBits, Container: allContainerBits}
	for _, f := range Default().All() {
		if f.Needs == nil {
			t.Errorf("%s declares no needs", f.Name)
			continue
		}
		for _, arg := range sampleArgs(f) {
			hasArg := arg != ""
			x, err := f.Bind(arg, hasArg)
			if err != nil {
				continue // an argument this field refuses
			}
			use := f.Name
			if hasArg {
				use += "[" + arg + "]"
			}
			needs := FieldNeeds(f, arg, hasArg)
			for i := 0; i < driver.NumEventTypes; i++ {
				et := driver.EventType(i)
				a := needs(et)
				switch {
				case a.Never:
					if availableIn(x, et, full) {
						t.Errorf("%s on %s: declared never available, has a value with every bit", use, et)
					}
				case len(a.AnyOf) == 0:
					if !availableIn(x, et, Need{}) {
						t.Errorf("%s on %s: declared to need nothing, has no value without bits", use, et)
					}
				default:
					for _, n := range a.AnyOf {
						if !availableIn(x, et, n) {
							t.Errorf("%s on %s: has no value with only %+v", use, et, n)
						}
					}
					for _, hs := range hittingSets(a.AnyOf) {
						have := full
						for _, b := range hs {
							have = have.without(b)
						}
						if availableIn(x, et, have) {
							t.Errorf("%s on %s: has a value without %+v", use, et, hs)
						}
					}
				}
			}
		}
	}
}

func TestAvailPossible(t *testing.T) {
	a := Avail{AnyOf: []Need{{Event: driver.HasCreated}, {Event: driver.HasFlags | driver.HasRes}}}
	for _, c := range []struct {
		have Need
		want bool
	}{
		{Need{}, false},
		{Need{Event: driver.HasCreated}, true},
		{Need{Event: driver.HasFlags}, false},
		{Need{Event: driver.HasFlags | driver.HasRes | driver.HasPath}, true},
	} {
		if got := a.Possible(c.have); got != c.want {
			t.Errorf("Possible(%+v) = %v, want %v", c.have, got, c.want)
		}
	}
	if (Avail{Never: true}).Possible(Need{Event: allEventBits}) {
		t.Error("Never is possible")
	}
	if !(Avail{}).Possible(Need{}) {
		t.Error("needing nothing is not possible")
	}
}
