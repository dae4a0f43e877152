package fanotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// requireRoot skips the test when not root, unless VIGIL_REQUIRE_DRIVERS
// names this driver: then it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if requireDriver() {
		t.Fatalf("VIGIL_REQUIRE_DRIVERS names %s but the test does not run as root", Name)
	}
	t.Skip("needs root (fanotify needs CAP_SYS_ADMIN, the proc connector CAP_NET_ADMIN)")
}

func requireDriver() bool {
	for _, n := range strings.Split(os.Getenv("VIGIL_REQUIRE_DRIVERS"), ",") {
		if strings.TrimSpace(n) == Name {
			return true
		}
	}
	return false
}

// collector keeps copies of every emitted event.
type collector struct {
	mu     sync.Mutex
	events []driver.Event
	notify chan struct{}
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

// emit copies ev (the driver reuses it) and its process snapshot.
func (c *collector) emit(ev *driver.Event) {
	cp := *ev
	cp.Args = append([]string(nil), ev.Args...)
	if ev.Proc != nil {
		p := *ev.Proc
		p.Args = append([]string(nil), ev.Proc.Args...)
		p.Env = nil
		cp.Proc = &p
	}
	c.mu.Lock()
	c.events = append(c.events, cp)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// snapshot returns the events so far.
func (c *collector) snapshot() []driver.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]driver.Event(nil), c.events...)
}

// waitFor returns the first event (in emission order) matching pred,
// waiting up to timeout for it.
func (c *collector) waitFor(t *testing.T, what string, timeout time.Duration, pred func(*driver.Event) bool) *driver.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		evs := c.snapshot()
		for i := seen; i < len(evs); i++ {
			if pred(&evs[i]) {
				return &evs[i]
			}
		}
		seen = len(evs)
		select {
		case <-c.notify:
		case <-deadline.C:
			t.Fatalf("no %s within %v; %d events, relevant ones:\n%s", what, timeout, len(evs), c.dump(func(ev *driver.Event) bool {
				return ev.Pid == int64(os.Getpid())
			}))
			return nil
		}
	}
}

// find reports whether an event matching pred arrives within timeout.
func (c *collector) find(timeout time.Duration, pred func(*driver.Event) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		evs := c.snapshot()
		for i := seen; i < len(evs); i++ {
			if pred(&evs[i]) {
				return true
			}
		}
		seen = len(evs)
		select {
		case <-c.notify:
		case <-deadline.C:
			return false
		}
	}
}

// dump renders the events matching keep, for failure messages.
func (c *collector) dump(keep func(*driver.Event) bool) string {
	var b strings.Builder
	n := 0
	for _, ev := range c.snapshot() {
		if keep(&ev) && n < 200 {
			b.WriteString(describe(&ev))
			b.WriteByte('\n')
			n++
		}
	}
	return b.String()
}

// describe renders an event for test output.
func describe(ev *driver.Event) string {
	s := fmt.Sprintf("#%d %s pid=%d tid=%d res=%d has=%#x", ev.Num, ev.Type, ev.Pid, ev.Tid, ev.Res, uint64(ev.Has))
	if ev.Has.Has(driver.HasPath) {
		s += " path=" + ev.Path
	}
	if ev.Has.Has(driver.HasOldPath) {
		s += " old=" + ev.OldPath
	}
	if ev.Has.Has(driver.HasNewPath) {
		s += " new=" + ev.NewPath
	}
	if ev.Has.Has(driver.HasFlags) {
		s += fmt.Sprintf(" flags=%#o", ev.Flags)
	}
	if ev.Has.Has(driver.HasMode) {
		s += fmt.Sprintf(" mode=%#o", ev.Mode)
	}
	if ev.Has.Has(driver.HasFDInfo) {
		s += fmt.Sprintf(" fd.num=%d fd.name=%s fd.type=%d", ev.FDInfo.Num, ev.FDInfo.Name, ev.FDInfo.Type)
	}
	if ev.Has.Has(driver.HasArgs) {
		s += fmt.Sprintf(" args=%q", ev.Args)
	}
	if p := ev.Proc; p != nil {
		s += fmt.Sprintf(" proc{pid=%d ppid=%d name=%q exepath=%q args=%q has=%#x}", p.Pid, p.PPid, p.Name, p.ExePath, p.Args, uint64(p.Has))
	}
	return s
}

// startDriver creates and runs the driver until the test ends.
func startDriver(t *testing.T, opts *driver.Options, cfg *Config) (*Driver, *collector) {
	t.Helper()
	requireRoot(t)
	if opts == nil {
		opts = &driver.Options{}
	}
	if cfg == nil {
		cfg = &Config{SockPollInterval: 50 * time.Millisecond}
	}
	d, err := New(opts, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d, c
}
