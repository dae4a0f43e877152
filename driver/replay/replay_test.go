package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/vigilsec/vigil/driver"
)

func TestFixturesSetEveryMember(t *testing.T) {
	ev := fullEvent(1, chain(1, 5), fullContainer(1))
	checkAllSet(t, "Event", reflect.ValueOf(ev).Elem())
	checkAllSet(t, "Process", reflect.ValueOf(ev.Proc).Elem())
	checkAllSet(t, "Container", reflect.ValueOf(ev.Container).Elem())
}

// TestKnownMasks checks that the masks the format stores cover every
// availability bit the driver package declares.
func TestKnownMasks(t *testing.T) {
	fset := token.NewFileSet()
	count := map[string]int{}
	for _, file := range []string{"../event.go", "../process.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for _, name := range vs.Names {
				for _, prefix := range []string{"Has", "ProcHas", "ContHas"} {
					if strings.HasPrefix(name.Name, prefix) && !strings.HasPrefix(strings.TrimPrefix(name.Name, prefix), "Has") {
						count[prefix]++
					}
				}
			}
			return true
		})
	}
	for prefix, mask := range map[string]driver.Mask{"Has": knownEventMask, "ProcHas": knownProcessMask, "ContHas": knownContainerMask} {
		if want := driver.Mask(1)<<count[prefix] - 1; mask != want {
			t.Errorf("%s bits: the format knows %#x, the driver package declares %d bits (%#x)", prefix, mask, count[prefix], want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	shared := chain(100, 4) // 5 processes
	a := fullProcess(1)     // two siblings under shared
	b := fullProcess(2)
	a.Parent, b.Parent = shared, shared
	deep := chain(200, 5) // a process with 5 ancestors
	c1, c2 := fullContainer(1), fullContainer(2)
	events := []*driver.Event{
		fullEvent(1, a, c1),
		fullEvent(2, b, c1),
		fullEvent(3, deep, c2),
		fullEvent(4, a, nil),
		fullEvent(5, nil, c2),
		fullEvent(6, nil, nil),
		{Type: driver.MustEventType("procexit"), Tid: 3, Pid: 3},
		fullEvent(8, shared, c1),
	}
	var want []driver.Event
	for _, ev := range events {
		want = append(want, cloneEvent(ev, maxDepth))
	}
	b1, _ := record(t, events, true)
	n, err := readAll(b1, func(i int, ev *driver.Event) {
		if d := diffEvent(ev, &want[i]); d != "" {
			t.Errorf("event %d:\n%s", i, d)
		}
	})
	if err != io.EOF || n != len(events) {
		t.Fatalf("read %d events, then %v; want %d, then EOF", n, err, len(events))
	}
	// Every process and container is defined once.
	k := countKinds(t, b1)
	if procs := 5 + 2 + 6; k[kindProcess] != procs || k[kindProcessExt] != procs || k[kindContainer] != 2 || k[kindEvent] != len(events) {
		t.Errorf("records: %d processes (%d extensions), %d containers, %d events; want %d (%d), 2, %d",
			k[kindProcess], k[kindProcessExt], k[kindContainer], k[kindEvent], procs, procs, len(events))
	}
	// The reader shares parents too.
	r, err := NewReader(bytes.NewReader(b1))
	if err != nil {
		t.Fatal(err)
	}
	var ev driver.Event
	if err := r.Next(&ev); err != nil {
		t.Fatal(err)
	}
	pa := ev.Proc.Parent
	if err := r.Next(&ev); err != nil {
		t.Fatal(err)
	}
	if ev.Proc.Parent != pa {
		t.Error("siblings do not share their parent after reading")
	}
	h := r.Header()
	if h.Hostname != "testhost" || h.VigilVersion != "v0.0.0-test" || !h.Created.Equal(testOpts.Created) || h.Version != Version || len(h.EventTypes) != driver.NumEventTypes {
		t.Errorf("header %+v", h)
	}
	for r.Next(&ev) == nil {
	}
	s, ok := r.Summary()
	// Members of process extensions are not summarized (readers that
	// predate them reject unknown bits in the end record).
	if !ok || s.Events != int64(len(events)) || s.Fields != knownEventMask || s.ProcFields != baseProcessMask || s.ContainerFields != knownContainerMask ||
		s.EventTypes != driver.NewEventTypeSet(driver.MustEventType("openat"), driver.MustEventType("procexit")) {
		t.Errorf("summary %+v, %v", s, ok)
	}
}

// gating lists the members each availability bit governs.
type gating struct {
	bit     driver.Mask
	members []string
}

var eventGating = []gating{
	{driver.HasRes, []string{"Res"}}, {driver.HasFD, []string{"FD"}}, {driver.HasDirFD, []string{"DirFD"}},
	{driver.HasPath, []string{"Path"}}, {driver.HasOldPath, []string{"OldPath"}}, {driver.HasNewPath, []string{"NewPath"}},
	{driver.HasFlags, []string{"Flags"}}, {driver.HasMode, []string{"Mode"}}, {driver.HasUID, []string{"UID"}},
	{driver.HasGID, []string{"GID"}}, {driver.HasTargetPID, []string{"TargetPID"}}, {driver.HasRequest, []string{"Request"}},
	{driver.HasSignal, []string{"Signal"}}, {driver.HasCmd, []string{"Cmd"}},
	{driver.HasSocket, []string{"Domain", "SockType", "Proto"}}, {driver.HasAddr, []string{"Sock"}},
	{driver.HasData, []string{"Data"}}, {driver.HasDev, []string{"Dev", "Ino"}},
	{driver.HasMount, []string{"MountSource", "MountTarget", "MountFSType"}}, {driver.HasArgs, []string{"Args"}},
	{driver.HasFDInfo, []string{"FDInfo"}}, {driver.HasCPU, []string{"CPU"}}, {driver.HasNum, []string{"Num"}},
	{driver.HasName, []string{"Name"}}, {driver.HasCreated, []string{"Created"}}, {driver.HasUIDName, []string{"UIDName"}},
}

var processGating = []gating{
	{driver.ProcHasPid, []string{"Pid", "Tid"}}, {driver.ProcHasPPid, []string{"PPid"}},
	{driver.ProcHasVPid, []string{"VPid", "VTid"}}, {driver.ProcHasName, []string{"Name"}},
	{driver.ProcHasExe, []string{"Exe"}}, {driver.ProcHasExePath, []string{"ExePath"}},
	{driver.ProcHasArgs, []string{"Args"}}, {driver.ProcHasEnv, []string{"Env"}}, {driver.ProcHasCwd, []string{"Cwd"}},
	{driver.ProcHasTTY, []string{"TTY"}}, {driver.ProcHasSID, []string{"SID"}}, {driver.ProcHasLoginUID, []string{"LoginUID"}},
	{driver.ProcHasUser, []string{"UID", "GID"}}, {driver.ProcHasUserName, []string{"UserName", "HomeDir", "Shell"}},
	{driver.ProcHasGroupName, []string{"GroupName"}}, {driver.ProcHasLoginName, []string{"LoginName"}},
	{driver.ProcHasStart, []string{"StartTime"}}, {driver.ProcHasCaps, []string{"CapPermitted", "CapEffective", "CapInheritable"}},
	{driver.ProcHasExeFlags, []string{"ExeWritable", "ExeUpperLayer", "ExeLowerLayer", "ExeFromMemfd"}},
	{driver.ProcHasExeIno, []string{"ExeIno", "ExeInoCtime", "ExeInoMtime"}}, {driver.ProcHasPGID, []string{"PGID"}},
	{driver.ProcHasSID | driver.ProcHasPGID, []string{"SID", "PGID", "VPGID"}},
	{driver.ProcHasCgroup, []string{"Cgroup"}},
}

var containerGating = []gating{
	{driver.ContHasID, []string{"ID", "FullID"}}, {driver.ContHasName, []string{"Name"}},
	{driver.ContHasImage, []string{"Image", "ImageRepository", "ImageTag"}},
	{driver.ContHasImageID, []string{"ImageID", "ImageDigest"}}, {driver.ContHasType, []string{"Type"}},
	{driver.ContHasPrivileged, []string{"Privileged"}}, {driver.ContHasMounts, []string{"Mounts"}},
	{driver.ContHasStart, []string{"StartTime"}},
	{driver.ContHasK8s, []string{"PodName", "PodUID", "Namespace", "PodLabels", "K8sContainerName"}},
	{driver.ContHasHostNS, []string{"HostPID", "HostNetwork", "HostIPC"}}, {driver.ContHasUser, []string{"User"}},
	{driver.ContHasIP, []string{"IP"}},
}

// roundTrip writes one event and reads it back.
func roundTrip(t *testing.T, ev *driver.Event) driver.Event {
	t.Helper()
	b, _ := record(t, []*driver.Event{ev}, true)
	var got driver.Event
	n, err := readAll(b, func(_ int, ev *driver.Event) { got = cloneEvent(ev, maxDepth) })
	if n != 1 || err != io.EOF {
		t.Fatalf("read %d events, then %v", n, err)
	}
	return got
}

// TestGating checks that a member whose availability bit is clear reads
// as zero, and every other member is kept.
func TestGating(t *testing.T) {
	zero := func(v reflect.Value, members []string) {
		for _, m := range members {
			f := v.FieldByName(m)
			f.Set(reflect.Zero(f.Type()))
		}
	}
	// Members stored whatever the mask says.
	always := map[string]bool{"Type": true, "Has": true, "Time": true, "Tid": true, "Pid": true, "Proc": true, "Container": true,
		"IsVPGIDLeader": true, "IsSIDLeader": true, "Parent": true}
	covered := func(name string, typ reflect.Type, table []gating) {
		seen := map[string]bool{}
		for _, g := range table {
			for _, m := range g.members {
				seen[m] = true
			}
		}
		for i := range typ.NumField() {
			if f := typ.Field(i).Name; !seen[f] && !always[f] {
				t.Errorf("%s.%s is governed by no availability bit in the test's table", name, f)
			}
		}
	}
	covered("Event", reflect.TypeFor[driver.Event](), eventGating)
	covered("Process", reflect.TypeFor[driver.Process](), processGating)
	covered("Container", reflect.TypeFor[driver.Container](), containerGating)

	for _, g := range eventGating {
		ev := fullEvent(1, nil, nil)
		ev.Has &^= g.bit
		want := cloneEvent(ev, maxDepth)
		zero(reflect.ValueOf(&want).Elem(), g.members)
		got := roundTrip(t, ev)
		if d := diffEvent(&got, &want); d != "" {
			t.Errorf("event without %v:\n%s", g.members, d)
		}
	}
	for _, g := range processGating {
		p := fullProcess(1)
		p.Has &^= g.bit
		want := cloneEvent(&driver.Event{Proc: p}, maxDepth)
		zero(reflect.ValueOf(want.Proc).Elem(), g.members)
		got := roundTrip(t, &driver.Event{Proc: p})
		if d := diffEvent(&got, &want); d != "" {
			t.Errorf("process without %v:\n%s", g.members, d)
		}
	}
	for _, g := range containerGating {
		c := fullContainer(1)
		c.Has &^= g.bit
		want := cloneEvent(&driver.Event{Container: c}, maxDepth)
		zero(reflect.ValueOf(want.Container).Elem(), g.members)
		got := roundTrip(t, &driver.Event{Container: c})
		if d := diffEvent(&got, &want); d != "" {
			t.Errorf("container without %v:\n%s", g.members, d)
		}
	}
	// Bits the format does not know are dropped.
	ev := fullEvent(1, fullProcess(1), fullContainer(1))
	ev.Has |= 1 << 63
	ev.Proc.Has |= 1 << 63
	ev.Container.Has |= 1 << 63
	got := roundTrip(t, ev)
	if got.Has != knownEventMask || got.Proc.Has != knownProcessMask || got.Container.Has != knownContainerMask {
		t.Errorf("unknown bits kept: %#x %#x %#x", got.Has, got.Proc.Has, got.Container.Has)
	}
}

// TestInPlaceUpdates checks that changes the state layer makes to its
// entries between events reach the reader.
func TestInPlaceUpdates(t *testing.T) {
	root := fullProcess(1)
	parent := fullProcess(2)
	parent.Parent = root
	child := fullProcess(3)
	child.Parent = parent
	other := fullProcess(4)
	cont := fullContainer(1)

	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var want []driver.Event
	write := func(ev *driver.Event) {
		t.Helper()
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, cloneEvent(ev, maxDepth))
	}
	write(fullEvent(1, child, cont))
	parent.Name = "exec'd" // the parent execs
	parent.Args = []string{"new", "args"}
	write(fullEvent(2, child, cont))
	child.Parent = other // reparented
	write(fullEvent(3, child, cont))
	other.Parent = root
	root.Env = nil
	write(fullEvent(4, child, cont))
	cont.Name = "renamed"
	write(fullEvent(5, child, cont))
	child.Parent = nil
	write(fullEvent(6, child, cont))
	write(fullEvent(7, parent, cont)) // the old parent, unchanged
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := readAll(buf.Bytes(), func(i int, ev *driver.Event) {
		if d := diffEvent(ev, &want[i]); d != "" {
			t.Errorf("event %d:\n%s", i, d)
		}
	})
	if n != len(want) || err != io.EOF {
		t.Fatalf("read %d events, then %v", n, err)
	}
}

// TestCycle checks that a cyclic parent chain (which the state layer
// should never produce) is cut rather than followed forever.
func TestCycle(t *testing.T) {
	a, b := fullProcess(1), fullProcess(2)
	a.Parent, b.Parent = b, a
	got := roundTrip(t, fullEvent(1, a, nil))
	if got.Proc == nil || got.Proc.Parent == nil || got.Proc.Parent.Parent != nil || got.Proc.Parent.Pid != b.Pid {
		t.Errorf("cycle not cut after two processes: %+v", got.Proc)
	}
	self := fullProcess(3)
	self.Parent = self
	got = roundTrip(t, fullEvent(1, self, nil))
	if got.Proc == nil || got.Proc.Parent != nil {
		t.Errorf("self-parent not cut")
	}
}

// randomWorld is a process tree and containers that change as events are
// written, as the state layer's would.
type randomWorld struct {
	rng   *rand.Rand
	procs []*driver.Process
	conts []*driver.Container
	n     int64
}

func (w *randomWorld) step() *driver.Event {
	r := w.rng
	w.n++
	switch r.IntN(10) {
	case 0: // fork
		p := fullProcess(w.n)
		p.Has = driver.Mask(r.Uint64()) & knownProcessMask
		if !p.Has.Has(driver.ProcHasArgs) {
			p.Args = nil
		}
		if !p.Has.Has(driver.ProcHasEnv) {
			p.Env = nil
		}
		if len(w.procs) > 0 {
			p.Parent = w.procs[r.IntN(len(w.procs))]
		}
		w.procs = append(w.procs, p)
	case 1: // exec
		if len(w.procs) > 0 {
			p := w.procs[r.IntN(len(w.procs))]
			p.Name = p.Name + "x"
			p.Args = append(p.Args, "more")
			p.Has |= driver.ProcHasArgs | driver.ProcHasName
		}
	case 2: // a new container, or a changed one
		if len(w.conts) == 0 || r.IntN(2) == 0 {
			c := fullContainer(int(w.n))
			c.Has = driver.Mask(r.Uint64()) & knownContainerMask
			if !c.Has.Has(driver.ContHasMounts) {
				c.Mounts = nil
			}
			if !c.Has.Has(driver.ContHasK8s) {
				c.PodLabels = nil
			}
			w.conts = append(w.conts, c)
		} else {
			c := w.conts[r.IntN(len(w.conts))]
			c.Privileged = !c.Privileged
		}
	case 3: // exit
		if len(w.procs) > 0 {
			i := r.IntN(len(w.procs))
			p := w.procs[i]
			w.procs[i] = w.procs[len(w.procs)-1]
			w.procs = w.procs[:len(w.procs)-1]
			return &driver.Event{Type: driver.MustEventType("procexit"), Tid: p.Pid, Pid: p.Pid, Proc: p, Has: driver.HasNum, Num: uint64(w.n)}
		}
	}
	ev := fullEvent(w.n, nil, nil)
	ev.Type = driver.EventType(r.IntN(driver.NumEventTypes))
	ev.Has = driver.Mask(r.Uint64()) & knownEventMask
	if !ev.Has.Has(driver.HasArgs) {
		ev.Args = nil
	}
	if !ev.Has.Has(driver.HasData) {
		ev.Data = nil
	}
	if len(w.procs) > 0 && r.IntN(8) != 0 {
		ev.Proc = w.procs[r.IntN(len(w.procs))]
	}
	if len(w.conts) > 0 && r.IntN(3) != 0 {
		ev.Container = w.conts[r.IntN(len(w.conts))]
	}
	return ev
}

// TestManyEvents writes events from a changing world, with the writer's
// limits at their defaults and lowered so that it resets its tables.
func TestManyEvents(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		maxProcs, maxConts, maxDep int
		maxCost                    int64
		wantReset                  bool
	}{
		{name: "defaults", maxProcs: maxProcesses, maxConts: maxContainers, maxDep: maxDepth, maxCost: maxTableCost},
		{name: "few slots", maxProcs: 12, maxConts: 3, maxDep: 4, maxCost: maxTableCost, wantReset: true},
		{name: "small budget", maxProcs: maxProcesses, maxConts: maxContainers, maxDep: 8, maxCost: 16 << 10, wantReset: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world := &randomWorld{rng: rand.New(rand.NewPCG(1, 2))}
			var buf bytes.Buffer
			w, err := NewWriter(&buf, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			w.maxProcs, w.maxConts, w.maxDepth, w.maxCost = tc.maxProcs, tc.maxConts, tc.maxDep, tc.maxCost
			var want []driver.Event
			for range 5000 {
				ev := world.step()
				if err := w.Write(ev); err != nil {
					t.Fatal(err)
				}
				want = append(want, cloneEvent(ev, tc.maxDep))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			errs := 0
			n, err := readAll(buf.Bytes(), func(i int, ev *driver.Event) {
				if d := diffEvent(ev, &want[i]); d != "" && errs < 5 {
					errs++
					t.Errorf("event %d:\n%s", i, d)
				}
			})
			if n != len(want) || err != io.EOF {
				t.Fatalf("read %d events, then %v", n, err)
			}
			k := countKinds(t, buf.Bytes())
			if (k[kindReset] > 0) != tc.wantReset {
				t.Errorf("%d resets", k[kindReset])
			}
			t.Logf("%d bytes, %d events, %d process and %d container definitions, %d resets",
				buf.Len(), k[kindEvent], k[kindProcess], k[kindContainer], k[kindReset])
		})
	}
}

// smallRecording is a recording of a few events, for the damage tests.
func smallRecording(t testing.TB) ([]byte, []int) {
	p := chain(1, 2)
	c := fullContainer(1)
	events := []*driver.Event{
		fullEvent(1, p, c),
		{Type: driver.MustEventType("execve"), Tid: 5, Pid: 5, Has: driver.HasArgs | driver.HasRes, Args: []string{"x"}, Proc: p.Parent},
		fullEvent(3, p, nil),
		{Type: driver.MustEventType("procexit"), Tid: 1001, Pid: 1001, Proc: p},
		fullEvent(5, nil, c),
	}
	return record(t, events, true)
}

func TestTruncated(t *testing.T) {
	b, ends := smallRecording(t)
	hdrEnd := frames(t, b)[0].off + frames(t, b)[0].size
	for cut := 0; cut <= len(b); cut++ {
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		n, err := readAll(b[:cut], nil)
		if cut == len(b) {
			if err != io.EOF || n != len(ends) {
				t.Errorf("whole file: %d events, then %v", n, err)
			}
			continue
		}
		var fe *FormatError
		if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) {
			t.Errorf("cut at %d: %d events, then %v; want ErrTruncated", cut, n, err)
			continue
		}
		if n != want {
			t.Errorf("cut at %d: %d events before the error, want %d", cut, n, want)
		}
		if fe.Offset > int64(cut) || (cut >= hdrEnd && fe.Record == 0) {
			t.Errorf("cut at %d: error %v", cut, err)
		}
	}
}

func TestFlippedByte(t *testing.T) {
	b, ends := smallRecording(t)
	fs := frames(t, b)
	for at := range b {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(b)
			d[at] ^= flip
			n, err := readAll(d, nil)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("byte %d ^ %#x: %d events, then %v; want a *FormatError", at, flip, n, err)
				continue
			}
			if at < headerPrefix {
				if !errors.Is(err, ErrNotRecording) && !errors.Is(err, ErrVersion) {
					t.Errorf("byte %d ^ %#x in the file header prefix: %v", at, flip, err)
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("byte %d ^ %#x: %v; want ErrCorrupt", at, flip, err)
				continue
			}
			// The error names the record holding the byte.
			var f frameInfo
			rec := 0
			for i, fi := range fs {
				if at >= fi.off && at < fi.off+fi.size {
					f, rec = fi, i
				}
			}
			if fe.Offset != int64(f.off) || fe.Record != int64(rec) {
				t.Errorf("byte %d ^ %#x: error at record %d byte %d, want record %d byte %d (%v)", at, flip, fe.Record, fe.Offset, rec, f.off, err)
			}
			want := 0
			for _, e := range ends {
				if e <= f.off {
					want++
				}
			}
			if n != want {
				t.Errorf("byte %d ^ %#x: %d events before the error, want %d", at, flip, n, want)
			}
		}
	}
	// Bytes after the end.
	n, err := readAll(append(bytes.Clone(b), 0), nil)
	if !errors.Is(err, ErrCorrupt) || n != len(ends) {
		t.Errorf("trailing byte: %d events, then %v", n, err)
	}
}

func TestBadHeader(t *testing.T) {
	b, _ := smallRecording(t)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"magic prefix", []byte("VIGIL"), ErrTruncated},
		{"wrong magic", append([]byte("VIGILREX"), b[8:]...), ErrNotRecording},
		{"text", []byte("hello, world\n"), ErrNotRecording},
		{"short text", []byte("{}"), ErrNotRecording},
		{"version 2", append(append([]byte(Magic), 2, 0), b[10:]...), ErrVersion},
		{"version 0", append(append([]byte(Magic), 0, 0), b[10:]...), ErrVersion},
		{"flags", append(append([]byte(Magic), 1, 0, 1, 0), b[12:]...), ErrVersion},
		{"no header record", append(bytes.Clone(b[:headerPrefix]), frame(kindReset, nil)...), ErrCorrupt},
	} {
		_, err := NewReader(bytes.NewReader(tc.in))
		var fe *FormatError
		if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Record != 0 {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// frame builds a record.
func frame(kind byte, payload []byte) []byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	h[4] = kind
	binary.LittleEndian.PutUint32(h[5:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(h[9:], crc32.Checksum(h[:9], castagnoli))
	return append(h[:], payload...)
}

// endRec returns an end record and its trailer, the trailer's size off
// by delta.
func endRec(payload []byte, delta int, magic string) [][]byte {
	tr := binary.LittleEndian.AppendUint32(nil, uint32(frameHeaderSize+len(payload)+delta))
	return [][]byte{frame(kindEnd, payload), append(tr, magic...)}
}

// hugeFrame returns a record header announcing more than maxRecordSize.
func hugeFrame() []byte {
	h := frame(kindEvent, nil)
	binary.LittleEndian.PutUint32(h, maxRecordSize+1)
	binary.LittleEndian.PutUint32(h[9:], crc32.Checksum(h[:9], castagnoli))
	return h
}

// header returns a valid file header with no records after it.
func header(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return buf.Bytes()
}

func uv(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// TestHostile feeds well-checksummed records with bad contents.
func TestHostile(t *testing.T) {
	openat := uint64(driver.MustEventType("openat"))
	proc := func(slot, parent uint64) []byte { return append(uv(slot, parent, 0), 0) }
	for _, tc := range []struct {
		name    string
		records [][]byte
		want    error
		events  int
	}{
		{"cut record header", [][]byte{binary.LittleEndian.AppendUint32(nil, 1<<31)}, ErrTruncated, 0},
		{"huge length", [][]byte{hugeFrame()}, ErrCorrupt, 0},
		{"second header", [][]byte{frame(kindHeader, nil)}, ErrCorrupt, 0},
		{"unknown kind", [][]byte{frame(77, nil)}, ErrCorrupt, 0},
		{"optional kind skipped", [][]byte{frame(200, []byte("x")), frame(kindEvent, uv(openat, 0, 0, 0, 0, 0, 0))}, ErrTruncated, 1},
		{"event type out of table", [][]byte{frame(kindEvent, uv(1<<20, 0, 0, 0, 0, 0, 0))}, ErrCorrupt, 0},
		{"unknown event bit", [][]byte{frame(kindEvent, uv(openat, 1<<62, 0, 0, 0, 0, 0))}, ErrCorrupt, 0},
		{"trailing event bytes", [][]byte{frame(kindEvent, uv(openat, 0, 0, 0, 0, 0, 0, 1))}, ErrCorrupt, 0},
		{"short event", [][]byte{frame(kindEvent, uv(openat, 0, 0))}, ErrCorrupt, 0},
		{"undefined process", [][]byte{frame(kindEvent, uv(openat, 0, 0, 0, 0, 3, 0))}, ErrCorrupt, 0},
		{"undefined container", [][]byte{frame(kindEvent, uv(openat, 0, 0, 0, 0, 0, 1))}, ErrCorrupt, 0},
		{"huge string", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasPath), 0, 0, 0, 0, 0, 1<<40))}, ErrCorrupt, 0},
		{"string past the end", [][]byte{frame(kindEvent, append(uv(openat, uint64(driver.HasPath), 0, 0, 0, 0, 0, 10), "abc"...))}, ErrCorrupt, 0},
		{"huge list", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasArgs), 0, 0, 0, 0, 0, 1<<30))}, ErrCorrupt, 0},
		{"list past the end", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasArgs), 0, 0, 0, 0, 0, 100, 0, 0))}, ErrCorrupt, 0},
		{"bad bool", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasCreated), 0, 0, 0, 0, 0, 2))}, ErrCorrupt, 0},
		{"uint32 overflow", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasFlags), 0, 0, 0, 0, 0, 1<<32))}, ErrCorrupt, 0},
		{"bad address", [][]byte{frame(kindEvent, uv(openat, uint64(driver.HasAddr), 0, 0, 0, 0, 0, 2, 6, 5))}, ErrCorrupt, 0},
		{"process slot 0", [][]byte{frame(kindProcess, proc(0, 0))}, ErrCorrupt, 0},
		{"process slot too big", [][]byte{frame(kindProcess, proc(maxProcesses+1, 0))}, ErrCorrupt, 0},
		{"undefined parent", [][]byte{frame(kindProcess, proc(1, 2))}, ErrCorrupt, 0},
		{"own parent", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcess, proc(1, 1))}, ErrCorrupt, 0},
		{"cycle", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcess, proc(2, 1)), frame(kindProcess, proc(1, 2))}, ErrCorrupt, 0},
		{"unknown process flags", [][]byte{frame(kindProcess, append(uv(1, 0, 0), 4))}, ErrCorrupt, 0},
		{"unknown process bit", [][]byte{frame(kindProcess, append(uv(1, 0, 1<<40), 0))}, ErrCorrupt, 0},
		{"extension bit in a definition", [][]byte{frame(kindProcess, append(uv(1, 0, uint64(driver.ProcHasCgroup)), 0))}, ErrCorrupt, 0},
		{"extension", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, append(uv(1, 1, firstExtBit, 2), "/x"...)),
			frame(kindEvent, uv(openat, 0, 0, 0, 0, 1, 0))}, ErrTruncated, 1},
		{"extension member unknown to this build", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, append(uv(1, 1, 62, 3), "abc"...)),
			frame(kindEvent, uv(openat, 0, 0, 0, 0, 1, 0))}, ErrTruncated, 1},
		{"extension of undefined process", [][]byte{frame(kindProcessExt, append(uv(1, 1, firstExtBit, 2), "/x"...))}, ErrCorrupt, 0},
		{"extension of slot 0", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(0, 0))}, ErrCorrupt, 0},
		{"extension with a definition bit", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(1, 1, 3, 0))}, ErrCorrupt, 0},
		{"extension bits out of order", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(1, 2, 30, 0, 22, 0))}, ErrCorrupt, 0},
		{"extension bit too big", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(1, 1, 64, 0))}, ErrCorrupt, 0},
		{"extension value past the end", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(1, 1, firstExtBit, 9))}, ErrCorrupt, 0},
		{"extension with trailing bytes", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindProcessExt, uv(1, 0, 0))}, ErrCorrupt, 0},
		{"container slot too big", [][]byte{frame(kindContainer, uv(maxContainers+1, 0))}, ErrCorrupt, 0},
		{"huge mount list", [][]byte{frame(kindContainer, uv(1, uint64(driver.ContHasMounts), 1000))}, ErrCorrupt, 0},
		{"reset with payload", [][]byte{frame(kindReset, []byte{0})}, ErrCorrupt, 0},
		{"reset forgets", [][]byte{frame(kindProcess, proc(1, 0)), frame(kindReset, nil), frame(kindEvent, uv(openat, 0, 0, 0, 0, 1, 0))}, ErrCorrupt, 0},
		{"end with wrong count", endRec(uv(1, 0, 0, 0, 0), 0, trailerMagic), ErrCorrupt, 0},
		{"end with bad trailer", endRec(uv(0, 0, 0, 0, 0), 0, "VENX"), ErrCorrupt, 0},
		{"good end", endRec(uv(0, 0, 0, 0, 0), 0, trailerMagic), io.EOF, 0},
		{"end with wrong trailer size", endRec(uv(0, 0, 0, 0, 0), 1, trailerMagic), ErrCorrupt, 0},
		{"end without trailer", [][]byte{frame(kindEnd, uv(0, 0, 0, 0, 0))}, ErrTruncated, 0},
		{"end type out of table", endRec(uv(0, 0, 0, 0, 1, 1<<20), 0, trailerMagic), ErrCorrupt, 0},
		{"end with unknown bits", endRec(uv(0, 1<<60, 0, 0, 0), 0, trailerMagic), ErrCorrupt, 0},
	} {
		in := header(t)
		for _, r := range tc.records {
			in = append(in, r...)
		}
		n, err := readAll(in, nil)
		if !errors.Is(err, tc.want) || n != tc.events {
			t.Errorf("%s: %d events, then %v; want %d, then %v", tc.name, n, err, tc.events, tc.want)
		}
	}
	// A well-formed empty recording.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, testOpts)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := readAll(buf.Bytes(), nil); n != 0 || err != io.EOF {
		t.Errorf("empty recording: %d events, then %v", n, err)
	}
}

// TestHostileAllocation checks that a record length the input does not
// back costs no more memory than the input.
func TestHostileAllocation(t *testing.T) {
	h := frame(kindEvent, make([]byte, maxRecordSize))[:frameHeaderSize]
	in := append(header(t), h...)
	in = append(in, make([]byte, 1000)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := readAll(in, nil); !errors.Is(err, ErrTruncated) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 1<<20 {
		t.Errorf("%d bytes allocated per read of a %d-byte input", per, len(in))
	}
}

func TestWriterLimits(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	good := fullEvent(1, chain(1, 1), fullContainer(1))
	big := strings.Repeat("x", maxStringLen+1)
	bad := []*driver.Event{
		{Has: driver.HasPath, Path: big},
		{Has: driver.HasData, Data: []byte(big)},
		{Has: driver.HasArgs, Args: make([]string, maxListLen+1)},
		{Proc: &driver.Process{Has: driver.ProcHasName, Name: big}},
		{Proc: &driver.Process{Has: driver.ProcHasEnv, Env: make([]string, maxListLen+1)}},
		{Container: &driver.Container{Has: driver.ContHasID, ID: big}},
		{Has: driver.HasArgs, Args: []string{big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen], big[:maxStringLen]}},
	}
	want := []driver.Event{}
	for i, ev := range bad {
		if err := w.Write(good); err != nil {
			t.Fatal(err)
		}
		want = append(want, cloneEvent(good, maxDepth))
		if err := w.Write(ev); !errors.Is(err, ErrTooLarge) {
			t.Errorf("event %d: %v, want ErrTooLarge", i, err)
		}
	}
	if err := w.Write(nil); err == nil {
		t.Error("nil event written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(good); err == nil {
		t.Error("write after close succeeded")
	}
	n, err := readAll(buf.Bytes(), func(i int, ev *driver.Event) {
		if d := diffEvent(ev, &want[i]); d != "" {
			t.Errorf("event %d:\n%s", i, d)
		}
	})
	if n != len(want) || err != io.EOF {
		t.Errorf("read %d events, then %v", n, err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	if _, err := NewWriter(&failWriter{n: 10}, nil); err != nil {
		t.Fatalf("header error before a flush: %v", err) // buffered
	}
	w, err := NewWriter(&failWriter{n: 100 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := fullEvent(1, chain(1, 3), fullContainer(1))
	for i := 0; ; i++ {
		if err = w.Write(ev); err != nil {
			break
		}
		if i > 10000 {
			t.Fatal("no error from a full disk")
		}
	}
	if !strings.Contains(err.Error(), "disk full") || w.Write(ev) != err || w.Close() != err || w.Flush() != err {
		t.Errorf("error %v is not sticky", err)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGolden(t *testing.T) {
	b, _ := smallRecording(t)
	golden := "testdata/v1.vrec"
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 recordings stay readable, and the writer's output is
	// stable: a change that breaks this needs a new format version.
	if !bytes.Equal(old, b) {
		t.Errorf("the writer's output differs from %s (%d bytes, now %d); run go test -update if the format changed compatibly", golden, len(old), len(b))
	}
	var want []driver.Event
	if _, err := readAll(b, func(_ int, ev *driver.Event) { want = append(want, cloneEvent(ev, maxDepth)) }); err != io.EOF {
		t.Fatal(err)
	}
	n, err := readAll(old, func(i int, ev *driver.Event) {
		if d := diffEvent(ev, &want[i]); d != "" {
			t.Errorf("event %d:\n%s", i, d)
		}
	})
	if n != 5 || err != io.EOF {
		t.Errorf("%s: %d events, then %v", golden, n, err)
	}
}

// TestWriterKeepsNothingAlive checks that the Writer's tables do not keep
// the state layer's processes and containers from being collected.
func TestWriterKeepsNothingAlive(t *testing.T) {
	w, err := NewWriter(io.Discard, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	write := func() (weak.Pointer[driver.Process], weak.Pointer[driver.Container]) {
		p, c := chain(1, 3), fullContainer(1)
		if err := w.Write(fullEvent(1, p, c)); err != nil {
			t.Fatal(err)
		}
		return weak.Make(p), weak.Make(c)
	}
	wp, wc := write()
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil || wc.Value() != nil {
		t.Error("the writer keeps a process or container alive")
	}
	runtime.KeepAlive(w)
}

// withoutExtensions returns the events as a reader that does not know
// process extensions returns them: without the members they carry.
func withoutExtensions(events []driver.Event) []driver.Event {
	out := make([]driver.Event, len(events))
	for i := range events {
		out[i] = cloneEvent(&events[i], maxDepth)
		for p := out[i].Proc; p != nil; p = p.Parent {
			p.Has &^= extProcessMask
			normalize(reflect.ValueOf(p).Elem(), p.Has, processGating)
		}
	}
	return out
}

// TestExtensionsCompatible checks both directions of compatibility of
// process extensions (kind 128): a recording written before they existed
// reads as the same events without their members, and a reader that
// predates them, which skips the optional records it does not know, reads
// a new recording the same way and finds no bit it does not know.
func TestExtensionsCompatible(t *testing.T) {
	b, _ := smallRecording(t)
	var want []driver.Event
	if _, err := readAll(b, func(_ int, ev *driver.Event) { want = append(want, cloneEvent(ev, maxDepth)) }); err != io.EOF {
		t.Fatal(err)
	}
	if want[0].Proc.Cgroup == "" {
		t.Fatal("the recording has no process extension members")
	}
	want = withoutExtensions(want)

	// The recording as an older reader sees it: without kind 128.
	var old []byte
	old = append(old, b[:headerPrefix]...)
	skipped := 0
	for _, f := range frames(t, b) {
		if f.kind == kindProcessExt {
			skipped++
			continue
		}
		old = append(old, b[f.off:f.off+f.size]...)
	}
	if skipped == 0 {
		t.Fatal("no process extension records")
	}
	before, err := os.ReadFile("testdata/v1-no-ext.vrec")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"new recording, extensions skipped": old, "testdata/v1-no-ext.vrec": before} {
		n, err := readAll(in, func(i int, ev *driver.Event) {
			if d := diffEvent(ev, &want[i]); d != "" {
				t.Errorf("%s: event %d:\n%s", name, i, d)
			}
		})
		if n != len(want) || err != io.EOF {
			t.Errorf("%s: %d events, then %v", name, n, err)
		}
		_, s, err := ReadSummary(bytes.NewReader(in), int64(len(in)))
		if err != nil || s.ProcFields&^baseProcessMask != 0 {
			t.Errorf("%s: summary %+v, %v", name, s, err)
		}
	}
}
