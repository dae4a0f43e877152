package state

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

func realState(t *testing.T) *State {
	t.Helper()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no procfs:", err)
	}
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeedFromProc(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRealProc(t *testing.T) {
	s := realState(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self := int64(os.Getpid())
	ev := &driver.Event{Type: et("openat"), Tid: self, Pid: self, Time: time.Now().UnixNano()}
	s.Handle(ev)
	p := ev.Proc
	if p == nil {
		t.Fatal("own process not in the table")
	}
	if p.ExePath != exe || p.PPid != int64(os.Getppid()) || p.UID != uint32(os.Geteuid()) {
		t.Errorf("own entry: exepath %q ppid %d uid %d; want %q %d %d", p.ExePath, p.PPid, p.UID, exe, os.Getppid(), os.Geteuid())
	}
	if os.Geteuid() == 0 && p.UserName != "root" {
		t.Errorf("user.name = %q, want root", p.UserName)
	}
	// The ancestors chain up to pid 1.
	top := p
	n := 0
	for ; top.Parent != nil && n < 64; top, n = top.Parent, n+1 {
		if top.Parent.Pid != top.PPid {
			t.Errorf("pid %d: Parent %d but PPid %d", top.Pid, top.Parent.Pid, top.PPid)
		}
	}
	if top.Pid != 1 {
		t.Errorf("chain %s ends at pid %d, not 1", chain(p), top.Pid)
	}
	if ev.Container == nil || !ev.Container.Has.Has(driver.ContHasID) {
		t.Errorf("Container = %+v", ev.Container)
	}
	t.Logf("chain: %s; container %s", chain(p), ev.Container.ID)

	// A process started after the seed is read on first sight, with its
	// parent (this test) as Parent.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pid := int64(cmd.Process.Pid)
	var cp *driver.Process
	for i := 0; i < 100; i++ {
		// Wait for the exec to happen.
		if b, _ := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/comm"); string(b) == "sleep\n" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ev = &driver.Event{Type: et("openat"), Tid: pid, Pid: pid, Time: time.Now().UnixNano()}
	s.Handle(ev)
	cp = ev.Proc
	if cp == nil || cp.Name != "sleep" || len(cp.Args) != 1 || cp.Args[0] != "30" || cp.Parent != p {
		t.Errorf("lazily read child = %+v", cp)
	}
}

func BenchmarkHandle(b *testing.B) {
	_, s := seeded(b, nil)
	ev := openEv(100, 100)
	ev.Time = 1e9
	s.Handle(ev)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev.Time += 100
		s.Handle(ev)
	}
}

func BenchmarkHandleMixed(b *testing.B) {
	_, s := seeded(b, nil)
	// 3 seeded + 2000 forked processes; events alternate between them.
	for i := 0; i < 2000; i++ {
		s.Handle(forkEv(int64(1000+i), 100, 1))
	}
	evs := make([]*driver.Event, 64)
	for i := range evs {
		evs[i] = openEv(int64(1000+i*31%2000), int64(1000+i*31%2000))
		if i%8 == 0 {
			evs[i].Type = et("fchownat")
			evs[i].Has |= driver.HasUID
			evs[i].UID = 1001
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Handle(evs[i%len(evs)])
	}
}

func BenchmarkForkExecExit(b *testing.B) {
	_, s := seeded(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pid := int64(1000 + i%30000)
		s.Handle(forkEv(pid, 100, int64(i)))
		ev := execEv(pid, "/bin/true")
		ev.Proc.Args = nil
		s.Handle(ev)
		s.Handle(exitEv(pid))
	}
}
