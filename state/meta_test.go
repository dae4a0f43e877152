package state

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// fakeMeta is a MetadataFunc whose answers the test controls.
type fakeMeta struct {
	calls   atomic.Int32
	delay   time.Duration
	release chan struct{} // when set, lookups wait for it
	fail    atomic.Int32  // the next fail lookups fail
}

func (f *fakeMeta) lookup(ctx context.Context, id CgroupID, c *driver.Container) error {
	f.calls.Add(1)
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	time.Sleep(f.delay)
	if f.fail.Add(-1) >= 0 {
		return errors.New("runtime down")
	}
	c.Name = "name-" + id.ID()
	c.Image, c.ImageRepository, c.ImageTag = "docker.io/local/busybox:1", "docker.io/local/busybox", "1"
	c.Privileged = true
	c.Has |= driver.ContHasName | driver.ContHasImage | driver.ContHasPrivileged
	return nil
}

func containerProc(f *fakeFS, pid int, id string) {
	f.add(fakeProc{pid: pid, ppid: 150, exe: "/bin/sh", cmdline: []string{"sh"}, cgroup: v1("/docker/" + id), nspid: fmt.Sprintf("%d\t1", pid)})
}

func TestMetadataFirstEvent(t *testing.T) {
	f, s := seeded(t, nil)
	fm := &fakeMeta{delay: 10 * time.Millisecond}
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: 5 * time.Second, Events: true})
	defer s.CloseMetadata()
	containerProc(f, 500, hexA)
	ev := openEv(500, 500)
	s.Handle(ev)
	if c := ev.Container; c == nil || c.Name != "name-"+hexA[:12] || !c.Has.Has(driver.ContHasName|driver.ContHasPrivileged|driver.ContHasID|driver.ContHasType) ||
		c.ID != hexA[:12] || c.Type != "docker" {
		t.Fatalf("first event's container = %+v", c)
	}
	var cev driver.Event
	if !s.NextContainerEvent(&cev) {
		t.Fatal("no container event")
	}
	if cev.Type.String() != "container" || cev.Container != ev.Container || cev.Proc == nil || cev.Proc.Pid != 500 || cev.Time == 0 {
		t.Errorf("container event = %+v", cev)
	}
	if s.NextContainerEvent(&cev) {
		t.Error("second container event")
	}
	// Later events: no new lookup, no new event.
	s.Handle(openEv(500, 500))
	s.Handle(forkEv(501, 500, 2))
	if n := fm.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want 1", n)
	}
	if s.NextContainerEvent(&cev) {
		t.Error("container event for a known container")
	}
	if st := s.MetaStats(); st.Lookups != 1 || st.Found != 1 || st.Events != 1 || st.WaitTimeouts != 0 {
		t.Errorf("MetaStats = %+v", st)
	}
}

func TestMetadataBoundedWait(t *testing.T) {
	f, s := seeded(t, nil)
	fm := &fakeMeta{release: make(chan struct{})}
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: 30 * time.Millisecond, Events: true})
	defer s.CloseMetadata()
	containerProc(f, 500, hexA)
	ev := openEv(500, 500)
	start := time.Now()
	s.Handle(ev)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Handle took %v with a stuck lookup", d)
	}
	if c := ev.Container; c == nil || c.ID != hexA[:12] || c.Has.Has(driver.ContHasName) {
		t.Fatalf("container while the lookup hangs = %+v", c)
	}
	var cev driver.Event
	if s.NextContainerEvent(&cev) {
		t.Error("container event before the metadata")
	}
	// Later events never wait.
	start = time.Now()
	for range 100 {
		s.Handle(openEv(500, 500))
	}
	if d := time.Since(start); d > 25*time.Millisecond {
		t.Errorf("100 events took %v while the lookup hangs", d)
	}
	close(fm.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev = openEv(500, 500)
		s.Handle(ev)
		if ev.Container.Has.Has(driver.ContHasName) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if c := ev.Container; c.Name != "name-"+hexA[:12] {
		t.Errorf("container after the lookup = %+v", c)
	}
	if !s.NextContainerEvent(&cev) || cev.Container.Name == "" {
		t.Errorf("container event after the metadata: %+v", cev.Container)
	}
	if st := s.MetaStats(); st.WaitTimeouts != 1 || st.Found != 1 {
		t.Errorf("MetaStats = %+v", st)
	}
}

func TestMetadataRetry(t *testing.T) {
	f, s := seeded(t, nil)
	fm := &fakeMeta{}
	fm.fail.Store(1)
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: 5 * time.Second, Events: true})
	defer s.CloseMetadata()
	containerProc(f, 500, hexA)
	ev := openEv(500, 500)
	ev.Time = 1e9
	s.Handle(ev)
	if c := ev.Container; c.Has.Has(driver.ContHasName) || c.ID != hexA[:12] {
		t.Fatalf("after a failed lookup: %+v", c)
	}
	// The event goes out with the ids when the first lookup fails.
	var cev driver.Event
	if !s.NextContainerEvent(&cev) || cev.Container.ID != hexA[:12] {
		t.Fatal("no container event after a failed lookup")
	}
	// Not retried before the backoff, in event time.
	ev = openEv(500, 500)
	ev.Time = 1e9 + int64(500*time.Millisecond)
	s.Handle(ev)
	if n := fm.calls.Load(); n != 1 {
		t.Errorf("%d lookups before the retry is due", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for now := int64(3e9); ; now += 1e6 {
		ev = openEv(500, 500)
		ev.Time = now
		s.Handle(ev)
		if ev.Container.Has.Has(driver.ContHasName) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if ev.Container.Name == "" || fm.calls.Load() != 2 {
		t.Errorf("after the retry: %+v, %d lookups", ev.Container, fm.calls.Load())
	}
	if s.NextContainerEvent(&cev) {
		t.Error("a second container event")
	}
}

func TestMetadataNoLookup(t *testing.T) {
	f, s := seeded(t, nil)
	s.SetMetadata(&MetadataOptions{Events: true})
	containerProc(f, 500, hexA)
	s.Handle(openEv(500, 500))
	var cev driver.Event
	if !s.NextContainerEvent(&cev) || cev.Container.ID != hexA[:12] || cev.Container.Has != driver.ContHasID|driver.ContHasType {
		t.Errorf("container event without lookups: %+v", cev.Container)
	}
	// The host has no container event.
	s.Handle(openEv(100, 100))
	if s.NextContainerEvent(&cev) {
		t.Errorf("host container event: %+v", cev.Container)
	}
}

func TestMetadataChurn(t *testing.T) {
	f, s := seeded(t, nil)
	fm := &fakeMeta{}
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: time.Second, Events: true})
	defer s.CloseMetadata()
	before := s.Stats().Containers
	var cev driver.Event
	for i := range 200 {
		pid := 1000 + i
		containerProc(f, pid, fmt.Sprintf("%064x", i+1))
		s.Handle(openEv(int64(pid), int64(pid)))
		for s.NextContainerEvent(&cev) {
		}
	}
	if st := s.Stats(); st.Containers != before+200 {
		t.Errorf("%d containers, want %d", st.Containers, before+200)
	}
	for i := range 200 {
		s.Handle(exitEv(int64(1000 + i)))
	}
	s.Handle(openEv(1, 1))
	if st := s.Stats(); st.Containers != before {
		t.Errorf("%d containers after they went, want %d", st.Containers, before)
	}
	if st := s.MetaStats(); st.Found != 200 || st.Events != 200 {
		t.Errorf("MetaStats = %+v", st)
	}
}

func TestMetadataNoAlloc(t *testing.T) {
	f, s := seeded(t, nil)
	fm := &fakeMeta{}
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: 5 * time.Second, Events: true})
	defer s.CloseMetadata()
	containerProc(f, 500, hexA)
	ev := openEv(500, 500)
	ev.Time = 1e9
	s.Handle(ev)
	var cev driver.Event
	for s.NextContainerEvent(&cev) {
	}
	allocs := testing.AllocsPerRun(1000, func() {
		ev.Time += 1e3
		s.Handle(ev)
		s.NextContainerEvent(&cev)
	})
	if allocs != 0 {
		t.Errorf("Handle allocates %.1f times per run in a container", allocs)
	}
}

// BenchmarkHandleContainers measures enrichment of events from 200 live
// containers whose metadata is known.
func BenchmarkHandleContainers(b *testing.B) {
	f, s := seeded(b, nil)
	fm := &fakeMeta{}
	s.SetMetadata(&MetadataOptions{Lookup: fm.lookup, Wait: 5 * time.Second, Events: true})
	defer s.CloseMetadata()
	const n = 200
	evs := make([]*driver.Event, n)
	var cev driver.Event
	for i := range n {
		pid := 1000 + i
		containerProc(f, pid, fmt.Sprintf("%064x", i+1))
		evs[i] = openEv(int64(pid), int64(pid))
		evs[i].Time = 1e9
		s.Handle(evs[i])
		for s.NextContainerEvent(&cev) {
		}
		if !evs[i].Container.Has.Has(driver.ContHasName) {
			b.Fatalf("container %d has no metadata", i)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := evs[i%n]
		ev.Time += 1e3
		s.Handle(ev)
		s.NextContainerEvent(&cev)
	}
}
