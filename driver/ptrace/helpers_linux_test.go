//go:build linux && amd64

package ptrace

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// requireDriver skips the test when the driver cannot run here (not root,
// or the probe fails), unless VIGIL_REQUIRE_DRIVERS names ptrace, in which
// case it fails instead.
func requireDriver(t *testing.T, root bool) {
	t.Helper()
	required := slices.Contains(strings.FieldsFunc(os.Getenv("VIGIL_REQUIRE_DRIVERS"), func(r rune) bool {
		return r == ',' || r == ' '
	}), Name)
	fail := t.Skipf
	if required {
		fail = t.Fatalf
	}
	if root && os.Geteuid() != 0 {
		fail("not root")
		return
	}
	if err := Probe(); err != nil {
		fail("ptrace probe: %v", err)
	}
}

// collector keeps copies of the events a driver emits.
type collector struct {
	mu  sync.Mutex
	evs []driver.Event
}

func (c *collector) emit(ev *driver.Event) {
	cp := *ev
	cp.Data = append([]byte(nil), ev.Data...)
	if ev.Proc != nil {
		p := *ev.Proc
		cp.Proc = &p
	}
	c.mu.Lock()
	c.evs = append(c.evs, cp)
	c.mu.Unlock()
}

func (c *collector) all() []driver.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.evs)
}

// find returns the first event of type typ for which match holds.
func (c *collector) find(typ string, match func(*driver.Event) bool) *driver.Event {
	et := driver.MustEventType(typ)
	for _, ev := range c.all() {
		if ev.Type == et && (match == nil || match(&ev)) {
			return &ev
		}
	}
	return nil
}

// mustFind fails the test when find finds nothing.
func (c *collector) mustFind(t *testing.T, typ string, match func(*driver.Event) bool) *driver.Event {
	t.Helper()
	ev := c.find(typ, match)
	if ev == nil {
		var seen []string
		for _, e := range c.all() {
			seen = append(seen, e.Type.String()+" "+e.Path)
		}
		t.Fatalf("no %s event matched; saw:\n%s", typ, strings.Join(seen, "\n"))
	}
	return ev
}

// trace runs argv under a new driver for the event types and returns the
// events and the command's exit code.
func trace(t *testing.T, evTypes driver.EventTypeSet, cfg *Config, argv ...string) (*collector, int) {
	t.Helper()
	d, err := New(&driver.Options{EventTypes: evTypes, SelfPID: os.Getpid()}, argv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := &collector{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Run(ctx, c.emit); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the traced command did not finish in time")
	}
	return c, d.ExitCode()
}

// actionEnv selects a test action when the test binary is started as a
// child (a traced command, or the tracer run as another user).
const actionEnv = "VIGIL_PTRACE_TEST_ACTION"

func TestMain(m *testing.M) {
	if action := os.Getenv(actionEnv); action != "" {
		os.Exit(runAction(action, os.Args[1:]))
	}
	os.Exit(m.Run())
}
