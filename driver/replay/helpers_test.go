package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// testOpts gives recordings fixed header fields, so that they are
// byte-for-byte reproducible.
var testOpts = &WriterOptions{
	Hostname:     "testhost",
	VigilVersion: "v0.0.0-test",
	Created:      time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC),
}

// fullProcess returns a process with every member set (Parent nil), made
// distinct by n.
func fullProcess(n int64) *driver.Process {
	s := func(what string) string { return fmt.Sprintf("%s-%d", what, n) }
	return &driver.Process{
		Has: knownProcessMask,
		Pid: 1000 + n, Tid: 1001 + n, PPid: 999 + n,
		VPid: 10 + n, VTid: 11 + n,
		SID: 500 + n, PGID: 600 + n, VPGID: 60 + n,
		Name: s("comm"), Exe: s("exe"), ExePath: s("/usr/bin/exe"),
		Args: []string{s("arg1"), "", "arg with spaces", "ünïcödé"},
		Env:  []string{"PATH=/usr/bin", s("HOME=/root")},
		Cwd:  s("/home/user") + "/",
		TTY:  34816 + uint32(n),
		UID:  1000 + uint32(n), GID: 1001 + uint32(n),
		LoginUID: -1, UserName: s("user"), HomeDir: s("/home"), Shell: "/bin/bash",
		GroupName: s("group"), LoginName: s("login"),
		StartTime:    1_700_000_000_000_000_000 + n,
		CapPermitted: 0x1ffffffffff, CapEffective: 1 << 21, CapInheritable: 1 << 63,
		ExeWritable: true, ExeUpperLayer: true, ExeLowerLayer: true, ExeFromMemfd: true,
		ExeIno: 1 << 40, ExeInoCtime: -5, ExeInoMtime: 1_700_000_000_000_000_001,
		IsVPGIDLeader: true, IsSIDLeader: true,
		Cgroup: s("/system.slice/docker-ünï.scope"),
	}
}

// chain returns a process with depth ancestors, all fully set, made
// distinct by base.
func chain(base int64, depth int) *driver.Process {
	var parent *driver.Process
	for i := depth; i >= 0; i-- {
		p := fullProcess(base + int64(i))
		p.Parent = parent
		parent = p
	}
	return parent
}

func fullContainer(n int) *driver.Container {
	s := func(what string) string { return fmt.Sprintf("%s-%d", what, n) }
	return &driver.Container{
		Has:             knownContainerMask,
		ID:              fmt.Sprintf("%012x", 0xabc000+n),
		FullID:          strings.Repeat(fmt.Sprintf("%08x", n), 8),
		Name:            s("name"),
		Image:           s("docker.io/library/nginx:1.27"),
		ImageRepository: "docker.io/library/nginx",
		ImageTag:        "1.27",
		ImageID:         s("sha256:feed"),
		ImageDigest:     s("sha256:beef"),
		Type:            "containerd",
		Privileged:      true,
		Mounts: []driver.Mount{
			{Source: "/var/lib/x", Dest: "/x", Mode: "rw", RW: true, Propagation: "rprivate"},
			{Source: "/proc", Dest: "/host/proc", Mode: "ro", RW: false, Propagation: ""},
		},
		StartTime:        1_700_000_000_000_000_000 + int64(n),
		User:             s("user"),
		IP:               "10.0.0.7",
		HostPID:          true,
		HostNetwork:      true,
		HostIPC:          true,
		PodName:          s("pod"),
		PodUID:           s("uid"),
		Namespace:        "default",
		PodLabels:        []driver.Label{{Key: "app", Value: "web"}, {Key: "tier", Value: ""}},
		K8sContainerName: s("ctr"),
	}
}

// fullEvent returns an event with every member set.
func fullEvent(n int64, proc *driver.Process, cont *driver.Container) *driver.Event {
	return &driver.Event{
		Type: driver.MustEventType("openat"),
		Has:  knownEventMask,
		Num:  uint64(n), Time: 1_700_000_000_000_000_000 + n, CPU: -3,
		Tid: 4242 + n, Pid: 4240 + n, Res: -13,
		FD: 7, DirFD: -100,
		Path: fmt.Sprintf("/etc/shadow-%d", n), OldPath: "/tmp/old", NewPath: "/tmp/new",
		Name:  "memfd:payload",
		Flags: 0o2101102, Mode: 0o4755, UID: 4294967295, GID: 1,
		TargetPID: -1, Request: 16896, Signal: 9, Cmd: -5,
		Domain: 10, SockType: 1, Proto: 6,
		Sock: driver.SockAddr{
			Family: 10, L4Proto: driver.L4TCP,
			LocalAddr:  netip.MustParseAddr("fe80::1%eth0"),
			LocalPort:  443,
			RemoteAddr: netip.MustParseAddr("192.0.2.1"), RemotePort: 65535,
			UnixPath: "@abstract", Server: true,
		},
		Data:        []byte{0, 1, 2, 0xff, 'x'},
		Dev:         0x801,
		Ino:         1<<64 - 1,
		MountSource: "/dev/sda1", MountTarget: "/mnt", MountFSType: "ext4",
		Args: []string{"-c", "", "cat /etc/shadow"},
		FDInfo: driver.FDInfo{
			Num: 7, Type: driver.FDIPv6, Name: "a->b", NameRaw: "raw", OpenFlags: 2,
			Sock: driver.SockAddr{Family: 2, L4Proto: driver.L4UDP, LocalAddr: netip.MustParseAddr("::ffff:127.0.0.1"),
				LocalPort: 53, RemoteAddr: netip.MustParseAddr("2001:db8::2"), RemotePort: 1, UnixPath: "/run/x", Server: true},
			Dev: 3, Ino: 4, MountID: 5, NameChanged: true, Connected: true,
		},
		Proc:      proc,
		Container: cont,
		Created:   true,
		UIDName:   "nobody",
	}
}

// cloneEvent deep-copies ev as a reader returns it: the process chain cut
// after depth processes, empty lists nil.
func cloneEvent(ev *driver.Event, depth int) driver.Event {
	c := *ev
	c.Has &= knownEventMask
	normalize(reflect.ValueOf(&c).Elem(), c.Has, eventGating)
	c.Args = cloneStrs(ev.Args)
	c.Data = nil
	if len(ev.Data) > 0 {
		c.Data = slices.Clone(ev.Data)
	}
	parent := &c.Proc
	seen := map[*driver.Process]bool{}
	for p, i := ev.Proc, 0; p != nil && i < depth && !seen[p]; p, i = p.Parent, i+1 {
		seen[p] = true
		q := *p
		q.Has &= knownProcessMask
		q.Args, q.Env = cloneStrs(p.Args), cloneStrs(p.Env)
		q.Parent = nil
		normalize(reflect.ValueOf(&q).Elem(), q.Has, processGating)
		*parent = &q
		parent = &q.Parent
	}
	if ev.Container != nil {
		k := *ev.Container
		k.Has &= knownContainerMask
		k.Mounts = nil
		if len(ev.Container.Mounts) > 0 {
			k.Mounts = slices.Clone(ev.Container.Mounts)
		}
		k.PodLabels = nil
		if len(ev.Container.PodLabels) > 0 {
			k.PodLabels = slices.Clone(ev.Container.PodLabels)
		}
		normalize(reflect.ValueOf(&k).Elem(), k.Has, containerGating)
		c.Container = &k
	}
	return c
}

// normalize zeroes the members of v whose availability bits are clear in
// has, as a reader leaves them.
func normalize(v reflect.Value, has driver.Mask, table []gating) {
	for _, g := range table {
		if has&g.bit != 0 {
			continue
		}
		for _, m := range g.members {
			f := v.FieldByName(m)
			f.Set(reflect.Zero(f.Type()))
		}
	}
}

func cloneStrs(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// record writes events to a fresh recording, closing it when closeIt is
// set. It returns the recording and, for each event, the offset of the end
// of its event record.
func record(t testing.TB, events []*driver.Event, closeIt bool) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	ends := make([]int, len(events))
	for i, ev := range events {
		if err := w.Write(ev); err != nil {
			t.Fatalf("write event %d: %v", i, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends[i] = buf.Len()
	}
	if closeIt {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), ends
}

// readAll reads a recording, calling check for each event, and returns
// the number of events and the error that ended the reading (io.EOF for a
// clean end).
func readAll(b []byte, check func(i int, ev *driver.Event)) (int, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	var ev driver.Event
	n := 0
	for {
		if err := r.Next(&ev); err != nil {
			return n, err
		}
		if check != nil {
			check(n, &ev)
		}
		n++
	}
}

// frameInfo describes one record of a recording.
type frameInfo struct {
	off, size int // offset and total size (header, payload, and for the end record its trailer)
	kind      byte
}

// frames splits a well-formed recording into its records (the file header
// prefix is not one).
func frames(t testing.TB, b []byte) []frameInfo {
	t.Helper()
	var out []frameInfo
	for off := headerPrefix; off < len(b); {
		if len(b)-off < frameHeaderSize {
			t.Fatalf("frame at %d cut short", off)
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		f := frameInfo{off: off, size: frameHeaderSize + n, kind: b[off+4]}
		if f.kind == kindEnd {
			f.size += trailerSize
		}
		out = append(out, f)
		off += f.size
	}
	return out
}

func countKinds(t testing.TB, b []byte) map[byte]int {
	m := map[byte]int{}
	for _, f := range frames(t, b) {
		m[f.kind]++
	}
	return m
}

// diffEvent describes how got differs from want, member by member, or
// returns "".
func diffEvent(got, want *driver.Event) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	var out []string
	diffValue(&out, "ev", reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem(), 0)
	if len(out) == 0 {
		return "differ (no member-level difference found)"
	}
	return strings.Join(out, "\n")
}

func diffValue(out *[]string, path string, g, w reflect.Value, depth int) {
	if depth > 50 || len(*out) > 20 {
		return
	}
	switch g.Kind() {
	case reflect.Pointer:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: got nil=%v, want nil=%v", path, g.IsNil(), w.IsNil()))
			}
			return
		}
		diffValue(out, path, g.Elem(), w.Elem(), depth+1)
	case reflect.Struct:
		if g.Type() == reflect.TypeFor[netip.Addr]() {
			if g.Interface() != w.Interface() {
				*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g.Interface(), w.Interface()))
			}
			return
		}
		for i := range g.NumField() {
			diffValue(out, path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i), depth+1)
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, g.Interface(), w.Interface()))
		}
	}
}

// checkAllSet fails for every member of v (recursively, through structs,
// slices and their elements, not through pointers) that holds its zero
// value, so that a member added to the driver types without a place in the
// format fails the round-trip tests.
func checkAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		return
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[netip.Addr]() {
			if !v.Interface().(netip.Addr).IsValid() {
				t.Errorf("%s is not set", path)
			}
			return
		}
		for i := range v.NumField() {
			checkAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		if v.Len() > 0 && v.Index(0).Kind() == reflect.Struct {
			checkAllSet(t, path+"[0]", v.Index(0))
		}
	default:
		if v.IsZero() {
			t.Errorf("%s is not set", path)
		}
	}
}
