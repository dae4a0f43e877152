package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// FuzzReader feeds arbitrary bytes to the Reader: it must not panic, must
// end with io.EOF or a *FormatError, and what it reads must survive being
// written and read again.
func FuzzReader(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkRecording)
}

// FuzzRecords fuzzes the record decoders behind the checksums: its input is
// a sequence of records, each a kind byte, a uvarint payload length and the
// payload, which it frames with valid checksums (and a trailer after an end
// record) behind a valid file prefix.
func FuzzRecords(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(unframe(f, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRecording(t, reframe(data))
	})
}

// unframe turns a recording into FuzzRecords input.
func unframe(f *testing.F, b []byte) []byte {
	var out []byte
	for _, fr := range frames(f, b) {
		payload := b[fr.off+frameHeaderSize : fr.off+fr.size]
		if fr.kind == kindEnd {
			payload = payload[:len(payload)-trailerSize]
		}
		out = append(out, fr.kind)
		out = binary.AppendUvarint(out, uint64(len(payload)))
		out = append(out, payload...)
	}
	return out
}

// reframe turns FuzzRecords input into a recording.
func reframe(data []byte) []byte {
	out := []byte(Magic + "\x01\x00\x00\x00")
	for len(data) > 0 {
		kind := data[0]
		n, k := binary.Uvarint(data[1:])
		if k <= 0 || n > uint64(len(data)-1-k) {
			return append(out, data...) // a cut record
		}
		payload := data[1+k : 1+k+int(n)]
		data = data[1+k+int(n):]
		out = append(out, frame(kind, payload)...)
		if kind == kindEnd {
			out = binary.LittleEndian.AppendUint32(out, uint32(frameHeaderSize+len(payload)))
			out = append(out, trailerMagic...)
		}
	}
	return out
}

// checkRecording reads b: it must not panic, must end with io.EOF or a
// *FormatError, and what it reads must survive being written and read
// again.
func checkRecording(t *testing.T, b []byte) {
	var got []driver.Event
	n, err := readAll(b, func(_ int, ev *driver.Event) { got = append(got, cloneEvent(ev, maxDepth)) })
	var fe *FormatError
	if err != io.EOF && !errors.As(err, &fe) {
		t.Fatalf("after %d events: %v is neither io.EOF nor a *FormatError", n, err)
	}
	if _, _, err := ReadSummary(bytes.NewReader(b), int64(len(b))); err != nil && !errors.As(err, &fe) {
		t.Fatalf("summary: %v is not a *FormatError", err)
	}
	if len(got) == 0 {
		return
	}
	events := make([]*driver.Event, len(got))
	for i := range got {
		events[i] = &got[i]
	}
	again, _ := record(t, events, true)
	m, err := readAll(again, func(i int, ev *driver.Event) {
		if d := diffEvent(ev, &got[i]); d != "" {
			t.Errorf("event %d changed when written again:\n%s", i, d)
		}
	})
	if m != len(got) || err != io.EOF {
		t.Fatalf("rewritten: %d events, then %v", m, err)
	}
}

// fuzzSeeds returns small recordings (short event-type tables, short
// strings) that between them use every record kind and most members.
func fuzzSeeds(f *testing.F) [][]byte {
	types := []driver.EventType{1, 2, 3, 4, 5}
	rec := func(events []*driver.Event, closeIt bool, limit func(w *Writer)) []byte {
		var buf bytes.Buffer
		w, err := newWriter(&buf, testOpts, 6)
		if err != nil {
			f.Fatal(err)
		}
		if limit != nil {
			limit(w)
		}
		for _, ev := range events {
			if err := w.Write(ev); err != nil {
				f.Fatal(err)
			}
		}
		if closeIt {
			w.Close()
		}
		w.Flush()
		return buf.Bytes()
	}
	root := &driver.Process{Has: driver.ProcHasPid | driver.ProcHasName | driver.ProcHasArgs, Pid: 1, Name: "init", Args: []string{"a"}}
	sh := &driver.Process{Has: knownProcessMask, Pid: 7, Tid: 7, Name: "sh", Exe: "sh", Args: []string{"-c", "x"}, Env: []string{"A=1"},
		Cwd: "/", UserName: "root", IsSIDLeader: true, LoginUID: -1, Parent: root, Cgroup: "/c"}
	c := &driver.Container{Has: knownContainerMask, ID: "abc", Name: "n", Mounts: []driver.Mount{{Source: "/a", Dest: "/b", RW: true}},
		PodLabels: []driver.Label{{Key: "k", Value: "v"}}, Privileged: true}
	ev := func(i int, p *driver.Process, c *driver.Container) *driver.Event {
		e := fullEvent(int64(i), p, c)
		e.Type = types[i%len(types)]
		e.Path, e.OldPath, e.NewPath, e.Name = "/p", "/o", "/n", "m"
		e.Args = []string{"x"}
		e.Data = []byte{1}
		e.FDInfo.Name, e.FDInfo.NameRaw = "f", ""
		e.MountSource, e.MountTarget, e.MountFSType = "", "/m", ""
		return e
	}
	simple := []*driver.Event{ev(0, sh, c), ev(1, root, nil), ev(2, nil, nil)}
	exit := &driver.Event{Type: driver.MustEventType("procexit"), Tid: 7, Pid: 7, Proc: sh}
	// With a table of 6 names procexit reads as unknown, but the writer
	// still frees the slot.
	other := &driver.Process{Has: driver.ProcHasPid, Pid: 9, Parent: root}
	churn := []*driver.Event{ev(0, sh, c), exit, ev(1, other, c), ev(2, sh, nil)}
	return [][]byte{
		rec(simple, true, nil),
		rec(simple, false, nil),
		rec(nil, true, nil),
		rec(churn, true, func(w *Writer) { w.maxProcs, w.maxConts, w.maxDepth = 2, 1, 2 }),
	}
}

// benchEvent is a typical openat from a process with five ancestors in a
// container.
func benchEvent() *driver.Event {
	p := chain(1, 5)
	for q := p; q != nil; q = q.Parent {
		q.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=xterm"}
	}
	return &driver.Event{
		Type: driver.MustEventType("openat"),
		Has:  driver.HasRes | driver.HasFD | driver.HasDirFD | driver.HasPath | driver.HasFlags | driver.HasMode | driver.HasFDInfo | driver.HasCPU | driver.HasNum,
		Num:  1, Time: 1_700_000_000_000_000_000, CPU: 1, Tid: 1000, Pid: 1000,
		Res: 3, FD: 3, DirFD: -100, Path: "/etc/ld.so.cache", Flags: 0o2000000, Mode: 0,
		FDInfo:    driver.FDInfo{Num: 3, Type: driver.FDFile, Name: "/etc/ld.so.cache", OpenFlags: 0o2000000},
		Proc:      p,
		Container: fullContainer(1),
	}
}

func BenchmarkWrite(b *testing.B) {
	ev := benchEvent()
	w, err := NewWriter(io.Discard, testOpts)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev.Num = uint64(i)
		ev.Time += 1000
		if err := w.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	ev := benchEvent()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOpts)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	for i := range n {
		ev.Num = uint64(i)
		if err := w.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data) / n))
	b.ReportAllocs()
	br := bytes.NewReader(data)
	r, err := NewReader(br)
	if err != nil {
		b.Fatal(err)
	}
	var got driver.Event
	b.ResetTimer()
	for range b.N {
		if err := r.Next(&got); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			b.StopTimer()
			br.Reset(data)
			if r, err = NewReader(br); err != nil {
				b.Fatal(err)
			}
			if err := r.Next(&got); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}
