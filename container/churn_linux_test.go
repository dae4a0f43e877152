//go:build linux

package container

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/internal/runtimetest"
	"github.com/vigilsec/vigil/state"
)

// started is a container a test started: its runtime id and host pid.
type started struct {
	id, name string
	pid      int
}

// startContainers starts n containers running sleep, par at a time, with
// ctr (kind "ctr", namespace default) or docker (kind "docker"), named
// prefix-0 ... prefix-(n-1), and returns them in that order.
func startContainers(t testing.TB, r *runtimetest.Runtimes, kind, prefix string, n, par int) []started {
	t.Helper()
	out := make([]started, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for i := range next {
				name := prefix + "-" + strconv.Itoa(i)
				out[i].name = name
				switch kind {
				case "ctr":
					id := runtimetest.RandomID()
					_, errs[i] = r.Ctr("default", "run", "-d", "--label", "name="+name, runtimetest.Image, id, "sleep", "600")
					out[i].id = id
				case "docker":
					out[i].id, errs[i] = r.Docker("run", "-d", "--name", name, "local/busybox:1", "sleep", "600")
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting %s: %v", out[i].name, err)
		}
	}
	pids := map[string]int{}
	switch kind {
	case "ctr":
		ls, err := r.Ctr("default", "task", "ls")
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(ls) {
			if f := strings.Fields(l); len(f) >= 3 && f[2] == "RUNNING" {
				pids[f[0]], _ = strconv.Atoi(f[1])
			}
		}
	case "docker":
		args := []string{"inspect", "-f", "{{.Id}} {{.State.Pid}}"}
		for _, c := range out {
			args = append(args, c.id)
		}
		ls, err := r.Docker(args...)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(ls) {
			if f := strings.Fields(l); len(f) == 2 {
				pids[f[0]], _ = strconv.Atoi(f[1])
			}
		}
	}
	for i := range out {
		if out[i].pid = pids[out[i].id]; out[i].pid <= 0 {
			t.Fatalf("no pid for %s (%s)", out[i].name, out[i].id)
		}
	}
	return out
}

// removeContainers stops and removes containers startContainers started,
// par at a time; their processes have exited when it returns.
func removeContainers(t testing.TB, r *runtimetest.Runtimes, kind string, cs []started, par int) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	next := make(chan started)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for c := range next {
				var err error
				switch kind {
				case "ctr":
					if _, err = r.Ctr("default", "task", "rm", "-f", c.id); err == nil {
						_, err = r.Ctr("default", "containers", "rm", c.id)
					}
				case "docker":
					_, err = r.Docker("rm", "-f", c.id)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("removing %s: %w", c.name, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, c := range cs {
		next <- c
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
}

// Churn size and parallelism. ctr starts and removes containers about
// twice as fast as docker here (40 containers, 8 at a time: 2.3 s and
// 1.3 s with ctr, 4.8 s and 3.2 s with docker).
const (
	churnN   = 200
	churnPar = 8
)

var procexit = driver.MustEventType("procexit")

// TestRealRuntimeChurn: 200 containers started and removed, one event per
// container process and then its exit (and its shim's), as a driver
// delivers them: the state's container cache grows by 200, each with its
// metadata, and returns to its size before, as does the process table; no
// lookup goroutine or connection is left behind (the Resolver and its
// sources keep no per-container state).
func TestRealRuntimeChurn(t *testing.T) {
	r := runtimetest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := NewResolver([]Source{NewCRI([]string{r.Sock}), NewDocker(TypeDocker, []string{r.DockerSock}), NewContainerd([]string{r.Sock})}, nil)
	defer res.Close()
	st, err := state.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFromProc(); err != nil {
		t.Fatal(err)
	}
	st.SetMetadata(&state.MetadataOptions{Events: true,
		Lookup: func(ctx context.Context, id state.CgroupID, c *driver.Container) error {
			return res.Fill(ctx, id.FullID, id.Type, c)
		}})
	defer st.CloseMetadata()
	// Connect the sources before counting goroutines.
	if _, err := res.Lookup(ctx, runtimetest.RandomID(), ""); err == nil {
		t.Fatal("a random id was found")
	}
	now := time.Now().UnixNano()
	tick := func() int64 { now += int64(time.Millisecond); return now }
	self := os.Getpid()
	flush := func() { ev := openEvent(self, tick()); st.Handle(&ev); containerEvents(st) }
	flush()
	before, goBefore, metaBefore := st.Stats(), runtime.NumGoroutine(), st.MetaStats()

	start := time.Now()
	cs := startContainers(t, r, "ctr", "churn", churnN, churnPar)
	t.Logf("%d ctr containers started in %v (%d at a time)", churnN, time.Since(start).Round(time.Millisecond), churnPar)
	removed := false
	defer func() {
		if !removed {
			removeContainers(t, r, "ctr", cs, churnPar)
		}
	}()

	start = time.Now()
	for _, c := range cs {
		ev := openEvent(c.pid, tick())
		st.Handle(&ev)
		if ev.Container == nil || ev.Container.FullID != c.id {
			t.Fatalf("%s (pid %d): container %+v", c.name, c.pid, ev.Container)
		}
	}
	first := time.Since(start)
	// Lookups that outlasted the first event's wait land on a later event.
	unnamed := func() error {
		n := 0
		for _, c := range cs {
			ev := openEvent(c.pid, tick())
			st.Handle(&ev)
			if ev.Container == nil || ev.Container.Name != c.name || ev.Container.Image != runtimetest.Image {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("%d containers without their metadata", n)
		}
		return nil
	}
	if err := runtimetest.WaitFor(30*time.Second, unnamed); err != nil {
		t.Fatal(err)
	}
	ms := st.MetaStats()
	t.Logf("first events of %d new containers handled in %v; meta stats %+v", churnN, first.Round(time.Millisecond), ms)
	if got := st.Stats().Containers; got != before.Containers+churnN {
		t.Errorf("containers in the cache: %d, want %d + %d", got, before.Containers, churnN)
	}
	if found := ms.Found - metaBefore.Found; found != churnN {
		t.Errorf("%d lookups found metadata, want %d", found, churnN)
	}
	if got := len(containerEvents(st)); got != churnN {
		t.Errorf("%d container events, want %d", got, churnN)
	}

	// Each container's process was read from /proc with its parent, the
	// runtime's shim (a host process), which exits with the container.
	shims := make([]int64, len(cs))
	for i, c := range cs {
		if p := st.Lookup(int64(c.pid)); p != nil {
			shims[i] = p.PPid
		}
	}

	start = time.Now()
	removeContainers(t, r, "ctr", cs, churnPar)
	removed = true
	t.Logf("%d containers removed in %v", churnN, time.Since(start).Round(time.Millisecond))
	for i, c := range cs {
		for _, pid := range []int64{int64(c.pid), shims[i]} {
			ev := driver.Event{Type: procexit, Time: tick(), Pid: pid, Tid: pid}
			st.Handle(&ev)
		}
	}
	flush() // the last exit is applied by the next event
	after := st.Stats()
	t.Logf("state before %+v, after %+v", before, after)
	if after.Containers != before.Containers || after.Procs != before.Procs {
		t.Errorf("containers in the cache: %d after the churn, %d before; processes %d after, %d before",
			after.Containers, before.Containers, after.Procs, before.Procs)
	}
	if ms := st.MetaStats(); ms.Lookups-metaBefore.Lookups != churnN {
		t.Errorf("%d lookups for %d containers: %+v", ms.Lookups-metaBefore.Lookups, churnN, ms)
	}
	// Lookup goroutines end with their lookups; the sources keep their
	// one connection each.
	err = runtimetest.WaitFor(10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > goBefore {
			return fmt.Errorf("%d goroutines, %d before the churn", n, goBefore)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if rs := res.Stats(); rs.Found != churnN || rs.Failed != 0 || len(rs.Down) != 0 {
		t.Errorf("resolver stats %+v, want %d found", rs, churnN)
	}
}

// BenchmarkRealEnrichment measures state.Handle (process, user and
// container enrichment) with 200 live ctr containers known to the state,
// their metadata found: events round-robin over the containers' processes
// ("containers=200"), and for comparison all from one of them
// ("containers=1"). Event time advances 1 µs per event, so the check of
// the host's user files happens once per million events. It needs
// VIGIL_REQUIRE_RUNTIMES (~20 s of set-up).
func BenchmarkRealEnrichment(b *testing.B) {
	r := runtimetest.Require(b)
	res := NewResolver([]Source{NewCRI([]string{r.Sock}), NewDocker(TypeDocker, []string{r.DockerSock}), NewContainerd([]string{r.Sock})}, nil)
	defer res.Close()
	st, err := state.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.SeedFromProc(); err != nil {
		b.Fatal(err)
	}
	st.SetMetadata(&state.MetadataOptions{Events: true,
		Lookup: func(ctx context.Context, id state.CgroupID, c *driver.Container) error {
			return res.Fill(ctx, id.FullID, id.Type, c)
		}})
	defer st.CloseMetadata()
	cs := startContainers(b, r, "ctr", "bench", churnN, churnPar)
	defer removeContainers(b, r, "ctr", cs, churnPar)
	now := time.Now().UnixNano()
	err = runtimetest.WaitFor(30*time.Second, func() error {
		n := 0
		for _, c := range cs {
			now += int64(time.Millisecond)
			ev := openEvent(c.pid, now)
			st.Handle(&ev)
			if ev.Container == nil || ev.Container.Name != c.name {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("%d containers without their metadata", n)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	containerEvents(st)
	if got := st.Stats().Containers; got < churnN {
		b.Fatalf("%d containers in the cache", got)
	}
	for _, k := range []int{churnN, 1} {
		b.Run("containers="+strconv.Itoa(k), func(b *testing.B) {
			evs := make([]driver.Event, k)
			for i := range evs {
				evs[i] = openEvent(cs[i].pid, 0)
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				now += int64(time.Microsecond)
				ev := &evs[i]
				ev.Time, ev.Proc, ev.Container = now, nil, nil
				st.Handle(ev)
				if i++; i == k {
					i = 0
				}
			}
			b.StopTimer()
			if c := evs[0].Container; c == nil || c.Name != cs[0].name {
				b.Fatalf("event not enriched: %+v", c)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
