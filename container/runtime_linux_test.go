//go:build linux

package container

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/internal/runtimetest"
	"github.com/vigilsec/vigil/metrics"
	"github.com/vigilsec/vigil/state"
)

// TestRealRuntimes starts real runtimes (internal/runtimetest; only with
// VIGIL_REQUIRE_RUNTIMES set) and checks each source against them.

// cgroupOf reads a process's container identity from its cgroup file.
func cgroupOf(t *testing.T, pid int) state.CgroupID {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := state.ParseCgroup(string(b))
	if !ok {
		t.Fatalf("pid %d: no container in its cgroup:\n%s", pid, b)
	}
	return id
}

func hasMount(m *Meta, src, dest string, rw bool) bool {
	return slices.ContainsFunc(m.Mounts, func(mt Mount) bool { return mt.Source == src && mt.Dest == dest && mt.RW == rw })
}

func TestRealRuntimes(t *testing.T) {
	r := runtimetest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resolver := NewResolver([]Source{NewCRI([]string{r.Sock}), NewDocker(TypeDocker, []string{r.DockerSock}), NewContainerd([]string{r.Sock})}, nil)
	defer resolver.Close()

	var ctrID string
	t.Run("ctr", func(t *testing.T) {
		id, pid := r.CtrRun(t, "vigil-ctr", false)
		cg := cgroupOf(t, pid)
		if cg.FullID != id || cg.Type != TypeContainerd {
			t.Errorf("cgroup identity %+v, want %s (containerd)", cg, id)
		}
		m, err := NewContainerd([]string{r.Sock}).Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ctr %s (pid %d, cgroup %+v): %s", id[:12], pid, cg, js(m))
		if m.Name != "vigil-ctr" || m.Image != "docker.io/local/busybox:1" || m.ImageRepository != "docker.io/local/busybox" ||
			m.ImageTag != "1" || m.Type != TypeContainerd || m.Privileged || !m.PrivilegedKnown || !hasMount(m, r.HostData, "/data", false) || m.Start.IsZero() {
			t.Errorf("ctr container: %s", js(m))
		}
		// The resolver asks CRI first, which does not know ctr containers.
		m, err = resolver.Lookup(ctx, cg.FullID, cg.Type)
		if err != nil || m.Name != "vigil-ctr" {
			t.Errorf("resolver: %+v, %v", m, err)
		}
		id2, pid2 := r.CtrRun(t, "vigil-ctr-priv", true)
		m, err = NewContainerd([]string{r.Sock}).Lookup(ctx, id2)
		if err != nil || !m.Privileged || m.Name != "vigil-ctr-priv" {
			t.Errorf("privileged ctr container: %+v, %v (pid %d)", m, err, pid2)
		}
		ctrID = id
	})

	t.Run("cri", func(t *testing.T) {
		id, pid := r.CRIRun(ctx, t, "web-0", "shop", "app")
		cg := cgroupOf(t, pid)
		if cg.FullID != id || cg.Type != state.TypeCRI || cg.PodUID == "" {
			t.Errorf("cgroup identity %+v, want %s (cri, pod uid)", cg, id)
		}
		m, err := resolver.Lookup(ctx, cg.FullID, cg.Type)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("CRI %s (pid %d, cgroup %+v): %s", id[:12], pid, cg, js(m))
		if m.Name != "app" || m.PodName != "web-0" || m.PodNamespace != "shop" || m.K8sContainerName != "app" || m.PodUID != cg.PodUID ||
			m.ImageRepository != "docker.io/local/busybox" || m.ImageTag != "1" || m.Type != TypeContainerd ||
			!m.PrivilegedKnown || m.Privileged || !hasMount(m, r.HostData, "/data", false) || m.PodLabels["app"] != "web-0" ||
			!m.HostNSKnown || !m.HostNetwork {
			t.Errorf("CRI container: %s", js(m))
		}
	})

	t.Run("docker", func(t *testing.T) {
		did, err := r.Docker("run", "-d", "--name", "vigil-priv", "--privileged", "-v", "/etc:/host/etc:ro", "local/busybox:1", "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := r.Docker("inspect", "-f", "{{.State.Pid}}", did)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(ps)
		cg := cgroupOf(t, pid)
		if cg.FullID != did || cg.Type != TypeDocker {
			t.Errorf("cgroup identity %+v, want %s (docker)", cg, did)
		}
		m, err := resolver.Lookup(ctx, cg.FullID, cg.Type)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("docker %s (pid %d, cgroup %+v): %s", did[:12], pid, cg, js(m))
		if m.Name != "vigil-priv" || !m.Privileged || m.ImageRepository != "local/busybox" || m.ImageTag != "1" || m.Type != TypeDocker ||
			!hasMount(m, "/etc", "/host/etc", false) || m.ImageID == "" || m.Start.IsZero() {
			t.Errorf("docker container: %s", js(m))
		}
		// containerd's own API sees docker's containers in namespace moby.
		if m, err := NewContainerd([]string{r.Sock}).Lookup(ctx, did); err != nil || m.ID != did {
			t.Errorf("docker container through containerd: %+v, %v", m, err)
		}

		// The whole path: state on the real /proc, metadata from the
		// runtimes, the container event.
		st, err := state.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		st.SetMetadata(&state.MetadataOptions{Events: true, Wait: 2 * time.Second,
			Lookup: func(ctx context.Context, id state.CgroupID, c *driver.Container) error {
				return resolver.Fill(ctx, id.FullID, id.Type, c)
			}})
		defer st.CloseMetadata()
		ev := driver.Event{Type: driver.MustEventType("openat"), Time: time.Now().UnixNano(), Pid: int64(pid), Tid: int64(pid)}
		st.Handle(&ev)
		c := ev.Container
		if c == nil || c.ID != did[:12] || c.Name != "vigil-priv" || !c.Privileged || c.ImageRepository != "local/busybox" ||
			!c.Has.Has(driver.ContHasName|driver.ContHasPrivileged|driver.ContHasImage|driver.ContHasMounts) {
			t.Errorf("enriched container: %+v", c)
		}
		t.Logf("first event of pid %d: container.id=%s name=%s privileged=%v image=%s:%s mounts=%v",
			pid, c.ID, c.Name, c.Privileged, c.ImageRepository, c.ImageTag, c.Mounts)
		var cev driver.Event
		if !st.NextContainerEvent(&cev) || cev.Container != c {
			t.Errorf("no container event for %s", did[:12])
		}
	})

	t.Run("docker socket missing", func(t *testing.T) { socketMissing(ctx, t, r) })

	t.Run("containerd down", func(t *testing.T) {
		if ctrID == "" {
			t.Skip("no ctr container")
		}
		restartContainerd(ctx, t, r, ctrID)
	})
}

// restartContainerd is the runtime-down fault: while containerd is
// stopped, lookups fail fast with ErrUnavailable, the Resolver says so
// once, /metrics shows the runtime down and the failed lookups, and once
// containerd is back, lookups succeed again and the runtime is up.
func restartContainerd(ctx context.Context, t *testing.T, r *runtimetest.Runtimes, id string) {
	var logs strings.Builder
	src := NewContainerd([]string{r.Sock})
	res := NewResolver([]Source{src}, slog.New(slog.NewTextHandler(&logs, nil)))
	defer res.Close()
	m := resolverMetrics(t, res)
	if _, err := res.Lookup(ctx, id, TypeContainerd); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	up := func() float64 { return gathered(t, m, "vigil_container_runtime_up", "source", src.Name()) }
	failed := func() float64 { return gathered(t, m, "vigil_container_lookups_total", "result", "failed") }
	if up() != 1 || failed() != 0 {
		t.Errorf("containerd running: runtime_up %v, failed lookups %v, want 1 and 0", up(), failed())
	}
	r.StopContainerd()
	start := time.Now()
	for range 20 {
		if _, err := res.Lookup(ctx, id, TypeContainerd); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("containerd stopped: %v", err)
		}
	}
	t.Logf("20 lookups with containerd down took %v", time.Since(start).Round(time.Microsecond))
	if up() != 0 || failed() != 20 {
		t.Errorf("containerd stopped: runtime_up %v, failed lookups %v, want 0 and 20", up(), failed())
	}
	if err := r.StartContainerd(); err != nil {
		t.Fatalf("restarting containerd: %v", err)
	}
	err := runtimetest.WaitFor(40*time.Second, func() error { _, err := res.Lookup(ctx, id, TypeContainerd); return err })
	if err != nil {
		t.Fatalf("after containerd came back: %v", err)
	}
	t.Logf("recovered %v after the restart; log:\n%s", time.Since(start).Round(time.Millisecond), logs.String())
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Errorf("%d warnings for one outage:\n%s", n, logs.String())
	}
	if st := res.Stats(); len(st.Down) != 0 {
		t.Errorf("still down: %+v", st)
	}
	if up() != 1 {
		t.Errorf("containerd back: runtime_up %v, want 1", up())
	}
	if got := gathered(t, m, "vigil_container_lookups_total", "result", "found"); got < 2 {
		t.Errorf("found lookups %v, want at least 2 (before and after the restart)", got)
	}
}

// resolverMetrics returns a metrics registry reading res's counters, the
// way cmd/vigil wires it.
func resolverMetrics(t *testing.T, res *Resolver) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(metrics.Sources{Containers: func() metrics.ContainerStats {
		st := res.Stats()
		out := metrics.ContainerStats{Found: st.Found, NotFound: st.NotFound, Failed: st.Failed}
		for _, s := range st.Sources {
			out.Runtimes = append(out.Runtimes, metrics.RuntimeState{Source: s.Name, Up: s.Up})
		}
		return out
	}})
	return m
}

// gathered returns the value of the series of family name whose label
// has value, failing the test unless there is exactly one.
func gathered(t *testing.T, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found []float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					found = append(found, s.GetGauge().GetValue()+s.GetCounter().GetValue())
				}
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s{%s=%q}: %d series", name, label, value, len(found))
	}
	return found[0]
}
