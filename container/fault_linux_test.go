//go:build linux

package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/internal/runtimetest"
	"github.com/vigilsec/vigil/state"
)

// dockerRun starts a docker container running sleep and returns its id
// and host pid.
func dockerRun(t testing.TB, r *runtimetest.Runtimes, name string) (string, int) {
	t.Helper()
	id, err := r.Docker("run", "-d", "--name", name, "local/busybox:1", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := r.Docker("inspect", "-f", "{{.State.Pid}}", id)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(ps)
	if err != nil || pid <= 0 {
		t.Fatalf("pid of %s: %q, %v", name, ps, err)
	}
	return id, pid
}

var openat = driver.MustEventType("openat")

// openEvent is an event of process pid at event time ts (nanoseconds).
func openEvent(pid int, ts int64) driver.Event {
	return driver.Event{Type: openat, Time: ts, Pid: int64(pid), Tid: int64(pid)}
}

// containerEvents takes the container events due and returns their
// container ids.
func containerEvents(st *state.State) []string {
	var ids []string
	var ev driver.Event
	for st.NextContainerEvent(&ev) {
		ids = append(ids, ev.Container.ID)
	}
	return ids
}

var shortID = regexp.MustCompile(`^[0-9a-f]{12}$`)

// socketMissing is the fault "runtime socket missing": a Resolver over a
// docker source whose socket does not exist yet, through the state as the
// sensor wires it. A docker container's events carry the right id and type
// without name or image, the Resolver logs one message, the source is down
// in its Stats and /metrics, and Handle does not stall. Once the socket
// appears (a symlink to the real one), a new container gets its name on
// its first events, and the old one when its retry falls due (in event
// time).
func socketMissing(ctx context.Context, t *testing.T, r *runtimetest.Runtimes) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	var logs strings.Builder
	src := NewDocker(TypeDocker, []string{sock})
	res := NewResolver([]Source{src}, slog.New(slog.NewTextHandler(&logs, nil)))
	defer res.Close()
	m := resolverMetrics(t, res)
	st, err := state.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	st.SetMetadata(&state.MetadataOptions{Events: true, // default Wait
		Lookup: func(ctx context.Context, id state.CgroupID, c *driver.Container) error {
			return res.Fill(ctx, id.FullID, id.Type, c)
		}})
	defer st.CloseMetadata()

	idA, pidA := dockerRun(t, r, "vigil-nosock-a")
	t0 := time.Now().UnixNano()
	ev := openEvent(pidA, t0)
	start := time.Now()
	st.Handle(&ev)
	took := time.Since(start)
	c := ev.Container
	if c == nil {
		t.Fatalf("no container for pid %d", pidA)
	}
	t.Logf("first event of %s with the socket missing: Handle took %v (the wait bound is 150ms); container %+v", idA[:12], took, *c)
	if c.ID != idA[:12] || !shortID.MatchString(c.ID) || c.FullID != idA || c.Type != TypeDocker ||
		!c.Has.Has(driver.ContHasID|driver.ContHasType) {
		t.Errorf("container id/type: %+v, want %s (docker)", *c, idA[:12])
	}
	if c.Has&(driver.ContHasName|driver.ContHasImage|driver.ContHasImageID|driver.ContHasPrivileged|driver.ContHasMounts) != 0 || c.Name != "" {
		t.Errorf("metadata available without a socket: %+v", *c)
	}
	if ids := containerEvents(st); !slices.Equal(ids, []string{idA[:12]}) {
		t.Errorf("container events %v, want one for %s", ids, idA[:12])
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), sock) {
		t.Errorf("want one message naming %s, got %d:\n%s", sock, n, logs.String())
	}
	rs := res.Stats()
	if !slices.Equal(rs.Down, []string{src.Name()}) || rs.Failed != 1 {
		t.Errorf("resolver stats %+v, want %q down and one failed lookup", rs, src.Name())
	}
	up := gathered(t, m, "vigil_container_runtime_up", "source", src.Name())
	failed := gathered(t, m, "vigil_container_lookups_total", "result", "failed")
	if up != 0 || failed != 1 {
		t.Errorf("/metrics: runtime_up %v, failed lookups %v, want 0 and 1", up, failed)
	}
	t.Logf("log: %s", logs.String())

	// More events before the retry is due: no lookup, no wait, no message.
	for i := range 100 {
		ev := openEvent(pidA, t0+int64(i)*int64(time.Millisecond))
		st.Handle(&ev)
		if ev.Container == nil || ev.Container.Has.Has(driver.ContHasName) {
			t.Fatalf("event %d: container %+v", i, ev.Container)
		}
	}
	if ms := st.MetaStats(); ms.Lookups != 1 || ms.Failed != 1 {
		t.Errorf("meta stats %+v, want one failed lookup", ms)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("%d messages:\n%s", n, logs.String())
	}

	// The runtime returns: its socket appears at the configured path.
	if err := os.Symlink(r.DockerSock, sock); err != nil {
		t.Fatal(err)
	}
	// The source retries after its backoff (wall clock); poll until then.
	if err := runtimetest.WaitFor(20*time.Second, func() error { _, err := res.Lookup(ctx, idA, TypeDocker); return err }); err != nil {
		t.Fatalf("docker back at %s: %v", sock, err)
	}

	// A new container is named on its first events.
	idB, pidB := dockerRun(t, r, "vigil-nosock-b")
	now := t0 + int64(200*time.Millisecond)
	n := 0
	named := func(pid int, name string) func() error {
		return func() error {
			n++
			now += int64(time.Millisecond)
			ev := openEvent(pid, now)
			st.Handle(&ev)
			if c := ev.Container; c == nil || c.Name != name || !c.Has.Has(driver.ContHasName|driver.ContHasImage) {
				return fmt.Errorf("container of pid %d: %+v", pid, c)
			}
			return nil
		}
	}
	if err := runtimetest.WaitFor(20*time.Second, named(pidB, "vigil-nosock-b")); err != nil {
		t.Fatalf("new container %s after the socket appeared: %v", idB[:12], err)
	}
	t.Logf("new container %s named on its event %d", idB[:12], n)

	// The old one stays unnamed until its retry is due (one second of
	// event time after the failure), then gets its name.
	ev = openEvent(pidA, now)
	st.Handle(&ev)
	if ev.Container == nil || ev.Container.Has.Has(driver.ContHasName) {
		t.Errorf("old container before its retry: %+v", ev.Container)
	}
	now = t0 + int64(2*time.Second)
	n = 0
	if err := runtimetest.WaitFor(20*time.Second, named(pidA, "vigil-nosock-a")); err != nil {
		t.Fatalf("old container %s after its retry: %v", idA[:12], err)
	}
	t.Logf("old container %s named on event %d after its retry fell due", idA[:12], n)
	if ids := containerEvents(st); !slices.Equal(ids, []string{idB[:12]}) {
		t.Errorf("container events %v, want one for %s (the old one was announced already)", ids, idB[:12])
	}
	if rs := res.Stats(); len(rs.Down) != 0 {
		t.Errorf("still down: %+v", rs)
	}
	if up := gathered(t, m, "vigil_container_runtime_up", "source", src.Name()); up != 1 {
		t.Errorf("/metrics: runtime_up %v after the socket appeared, want 1", up)
	}
	if !strings.Contains(logs.String(), "reachable") {
		t.Errorf("no message when the runtime came back:\n%s", logs.String())
	}
}
