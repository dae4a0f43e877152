package driver

import (
	"errors"
	"fmt"
	"testing"
)

func fakeFactory(name string, auto bool, probe error) Factory {
	return Factory{Name: name, Auto: auto, Probe: func() error { return probe }}
}

func TestSelect(t *testing.T) {
	noBPF := fmt.Errorf("bpf(2) denied by seccomp: %w", ErrPermission)
	old := fmt.Errorf("BPF ring buffer needs Linux 5.8: %w", ErrNotSupported)
	fs := []Factory{
		fakeFactory("ebpf", true, noBPF),
		fakeFactory("fanotify", true, old),
		fakeFactory("procscan", true, nil),
		fakeFactory("ptrace", false, nil),
	}

	got, skipped, err := Select("auto", fs)
	if err != nil || got.Name != "procscan" {
		t.Fatalf("auto: got %q, %v; want procscan", got.Name, err)
	}
	if len(skipped) != 2 || !errors.Is(skipped[0].Err, ErrPermission) || !errors.Is(skipped[1].Err, ErrNotSupported) {
		t.Errorf("auto: skipped %+v, want ebpf (permission) and fanotify (not supported)", skipped)
	}

	if _, _, err := Select("ebpf", fs); !errors.Is(err, ErrPermission) {
		t.Errorf("explicit ebpf: got %v, want an ErrPermission error", err)
	}
	if got, _, err := Select("ptrace", fs); err != nil || got.Name != "ptrace" {
		t.Errorf("explicit ptrace: got %q, %v", got.Name, err)
	}
	if _, _, err := Select("nope", fs); err == nil {
		t.Error("unknown driver: want an error")
	}
	if _, _, err := Select("", fs[:2]); !errors.Is(err, ErrNoDriver) {
		t.Errorf("nothing usable: got %v, want ErrNoDriver", err)
	}
}

func TestEventTypeSet(t *testing.T) {
	open, execve := MustEventType("open"), MustEventType("execve")
	s := NewEventTypeSet(open, execve)
	if !s.Has(open) || !s.Has(execve) || s.Has(MustEventType("openat")) || s.Len() != 2 {
		t.Fatalf("set %v", s)
	}
	if c := s.Complement(); c.Has(open) || c.Has(EventUnknown) || c.Len() != NumEventTypes-3 {
		t.Errorf("complement has %d types", c.Len())
	}
	if got := s.Union(NewEventTypeSet(MustEventType("connect"))).String(); got != "open, connect, execve" {
		t.Errorf("union = %q", got)
	}
	if got := s.Intersect(NewEventTypeSet(execve)).String(); got != "execve" {
		t.Errorf("intersect = %q", got)
	}
	if AllEventTypes().String() != "all" {
		t.Error("all types should print as all")
	}
	if _, ok := EventTypeByName("nosuch"); ok {
		t.Error("unknown name resolved")
	}
	for _, n := range []string{"execve", "openat2", "procexit", "container", "connect", "userfaultfd"} {
		if t2, ok := EventTypeByName(n); !ok || t2.String() != n {
			t.Errorf("%s does not round-trip", n)
		}
	}
}
