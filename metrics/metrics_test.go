package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/ebpf"
	"github.com/vigilsec/vigil/driver/fanotify"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/sensor"
	"github.com/vigilsec/vigil/state"
)

// scrape GETs url and parses the body with Prometheus's text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: status %s: %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include want ("k=v" pairs), failing the test unless exactly one matches.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("family %s missing", name)
	}
	var found []float64
	for _, m := range f.GetMetric() {
		if hasLabels(m, want) {
			found = append(found, metricValue(m))
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series match, want 1; family:\n%v", name, want, len(found), f)
	}
	return found[0]
}

func hasLabels(m *dto.Metric, want []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// labelSets lists the label sets of a family, sorted, as "k=v,k=v".
func labelSets(fams map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range fams[name].GetMetric() {
		var kv []string
		for _, l := range m.GetLabel() {
			kv = append(kv, l.GetName()+"="+l.GetValue())
		}
		out = append(out, strings.Join(kv, ","))
	}
	sort.Strings(out)
	return out
}

func wantType(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) {
	t.Helper()
	if f := fams[name]; f == nil {
		t.Errorf("family %s missing", name)
	} else if f.GetType() != typ {
		t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
	}
}

const lastEvent = int64(1_700_000_000_500_000_000)

func fakeSources() Sources {
	var byType [driver.NumEventTypes]uint64
	byType[driver.MustEventType("execve")] = 7
	byType[driver.MustEventType("openat")] = 3
	return Sources{
		Driver: "ebpf",
		Sensor: func() sensor.Stats {
			return sensor.Stats{
				Events:       10,
				EventsByType: byType,
				Alerts:       3,
				RecordErrors: 1,
				AlertsByRule: map[string]uint64{
					"Read sensitive file": 2,
					"Gone rule":           1, // no longer loaded
				},
				LastEventNanos: lastEvent,
			}
		},
		Outputs: func() output.Stats {
			return output.Stats{
				Emitted:     12,
				RateLimited: 2,
				Sinks: []output.SinkStats{
					{Name: "stdout", Delivered: 9, Errors: 0, Dropped: 1, Queued: 0, Capacity: 1024},
					{Name: "http", Delivered: 5, Errors: 2, Dropped: 3, Abandoned: 1, Queued: 4, Capacity: 16},
					{Name: "http", Delivered: 1, Errors: 1, Dropped: 0, Abandoned: 2, Queued: 1, Capacity: 16},
				},
			}
		},
		DriverStats: func() DriverStats {
			return EBPFStats(ebpf.Stats{Events: 10, Drops: 5, DropsPerCPU: []uint64{2, 3}, DecodeErrors: 4})
		},
		State: func() state.Stats {
			return state.Stats{Procs: 120, Containers: 3, LazyReads: 8, LazyMisses: 2, Evictions: 1, UserReloads: 5}
		},
		Containers: func() ContainerStats {
			return ContainerStats{Found: 11, NotFound: 2, Failed: 4, Runtimes: []RuntimeState{
				{Source: "docker /var/run/docker.sock", Up: true},
				{Source: "containerd /run/containerd/containerd.sock", Up: false},
				{Source: "docker /var/run/docker.sock", Up: false}, // a duplicate: the first counts
			}}
		},
	}
}

func fakeRules() []*engine.Rule {
	return []*engine.Rule{
		{Name: "Read sensitive file", Priority: engine.PriorityWarning, Enabled: true},
		{Name: "Shell in container", Priority: engine.PriorityNotice, Enabled: true},
		{Name: "Disabled rule", Priority: engine.PriorityCritical, Enabled: false},
	}
}

func TestScrape(t *testing.T) {
	m, err := New(&Options{Build: BuildInfo{Version: "1.2.3", Commit: "abc123"}})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(fakeSources())
	m.SetRules(fakeRules())
	m.RecordReload(true)
	m.RecordReload(false)
	m.RecordReload(false)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := scrape(t, srv.URL)

	counters := []string{
		"vigil_events_total", "vigil_kernel_drops_total", "vigil_user_drops_total", "vigil_alerts_total",
		"vigil_output_alerts_total", "vigil_output_deliveries_total", "vigil_output_errors_total",
		"vigil_output_drops_total", "vigil_reloads_total", "vigil_recorder_errors_total",
		"vigil_state_lazy_reads_total", "vigil_state_lazy_misses_total", "vigil_state_evictions_total",
		"vigil_state_user_reloads_total", "vigil_container_lookups_total",
	}
	gauges := []string{
		"vigil_output_queue_length", "vigil_output_queue_capacity", "vigil_rules_loaded", "vigil_rules_enabled",
		"vigil_build_info", "vigil_last_event_timestamp_seconds", "vigil_state_processes", "vigil_state_containers",
		"vigil_container_runtime_up", "process_resident_memory_bytes", "go_goroutines",
	}
	for _, n := range counters {
		wantType(t, fams, n, dto.MetricType_COUNTER)
	}
	for _, n := range gauges {
		wantType(t, fams, n, dto.MetricType_GAUGE)
	}
	if fams["vigil_events_total"].GetHelp() == "" {
		t.Error("vigil_events_total has no help text")
	}

	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vigil_build_info", []string{"version=1.2.3", "commit=abc123", "goversion=" + runtime.Version()}, 1},
		{"vigil_events_total", []string{"driver=ebpf", "type=execve"}, 7},
		{"vigil_events_total", []string{"driver=ebpf", "type=openat"}, 3},
		{"vigil_kernel_drops_total", []string{"driver=ebpf", "reason=ringbuf_full"}, 5},
		{"vigil_user_drops_total", []string{"driver=ebpf", "reason=decode_error"}, 4},
		{"vigil_alerts_total", []string{"rule=Read sensitive file", "priority=Warning"}, 2},
		{"vigil_alerts_total", []string{"rule=Gone rule", "priority=unknown"}, 1},
		{"vigil_recorder_errors_total", nil, 1},
		{"vigil_last_event_timestamp_seconds", nil, float64(lastEvent) / 1e9},
		{"vigil_rules_loaded", nil, 3},
		{"vigil_rules_enabled", nil, 2},
		{"vigil_reloads_total", []string{"result=success"}, 1},
		{"vigil_reloads_total", []string{"result=failure"}, 2},
		{"vigil_output_alerts_total", nil, 12},
		{"vigil_output_deliveries_total", []string{"sink=stdout"}, 9},
		{"vigil_output_deliveries_total", []string{"sink=http"}, 6},
		{"vigil_output_errors_total", []string{"sink=stdout"}, 0},
		{"vigil_output_errors_total", []string{"sink=http"}, 3},
		{"vigil_output_drops_total", []string{"sink=stdout", "reason=queue_full"}, 1},
		{"vigil_output_drops_total", []string{"sink=stdout", "reason=rate_limited"}, 2},
		{"vigil_output_drops_total", []string{"sink=stdout", "reason=abandoned"}, 0},
		{"vigil_output_drops_total", []string{"sink=http", "reason=queue_full"}, 3},
		{"vigil_output_drops_total", []string{"sink=http", "reason=rate_limited"}, 2},
		{"vigil_output_drops_total", []string{"sink=http", "reason=abandoned"}, 3},
		{"vigil_output_queue_length", []string{"sink=http"}, 5},
		{"vigil_output_queue_capacity", []string{"sink=http"}, 32},
		{"vigil_output_queue_length", []string{"sink=stdout"}, 0},
		{"vigil_output_queue_capacity", []string{"sink=stdout"}, 1024},
		{"vigil_state_processes", nil, 120},
		{"vigil_state_containers", nil, 3},
		{"vigil_state_lazy_reads_total", nil, 8},
		{"vigil_state_lazy_misses_total", nil, 2},
		{"vigil_state_evictions_total", nil, 1},
		{"vigil_state_user_reloads_total", nil, 5},
		{"vigil_container_lookups_total", []string{"result=found"}, 11},
		{"vigil_container_lookups_total", []string{"result=not_found"}, 2},
		{"vigil_container_lookups_total", []string{"result=failed"}, 4},
		{"vigil_container_runtime_up", []string{"source=docker /var/run/docker.sock"}, 1},
		{"vigil_container_runtime_up", []string{"source=containerd /run/containerd/containerd.sock"}, 0},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Only non-zero event types and alerting rules appear by default.
	if got, want := labelSets(fams, "vigil_events_total"), []string{"driver=ebpf,type=execve", "driver=ebpf,type=openat"}; !equal(got, want) {
		t.Errorf("vigil_events_total series %v, want %v", got, want)
	}
	if got := len(fams["vigil_alerts_total"].GetMetric()); got != 2 {
		t.Errorf("vigil_alerts_total has %d series, want 2", got)
	}
	// Per-CPU drops are off by default.
	if fams["vigil_kernel_drops_per_cpu_total"] != nil {
		t.Error("vigil_kernel_drops_per_cpu_total present without KernelDropsPerCPU")
	}
	if f := fams["vigil_output_deliveries_total"]; len(f.GetMetric()) != 2 {
		t.Errorf("same-named sinks not merged: %v", f)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIncludeEmptyAndPerCPU(t *testing.T) {
	m, err := New(&Options{IncludeEmpty: true, KernelDropsPerCPU: true})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(fakeSources())
	m.SetRules(fakeRules())
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := scrape(t, srv.URL)

	// Every known event type but "unknown" has a series.
	if got := len(fams["vigil_events_total"].GetMetric()); got != driver.NumEventTypes-1 {
		t.Errorf("vigil_events_total has %d series, want %d", got, driver.NumEventTypes-1)
	}
	if got := value(t, fams, "vigil_events_total", "type=connect"); got != 0 {
		t.Errorf("connect = %v, want 0", got)
	}
	// Enabled rules without alerts appear with 0; disabled rules do not.
	if got := value(t, fams, "vigil_alerts_total", "rule=Shell in container", "priority=Notice"); got != 0 {
		t.Errorf("Shell in container = %v, want 0", got)
	}
	for _, ls := range labelSets(fams, "vigil_alerts_total") {
		if strings.Contains(ls, "Disabled rule") {
			t.Errorf("disabled rule exported: %s", ls)
		}
	}
	if got := value(t, fams, "vigil_kernel_drops_per_cpu_total", "driver=ebpf", "cpu=1"); got != 3 {
		t.Errorf("cpu 1 drops = %v, want 3", got)
	}
	if got := value(t, fams, "vigil_build_info", "version=dev", "commit=unknown"); got != 1 {
		t.Errorf("default build info = %v", got)
	}
}

func TestNoSources(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := scrape(t, srv.URL)
	for _, n := range []string{"vigil_build_info", "vigil_reloads_total", "vigil_rules_loaded", "go_goroutines", "process_cpu_seconds_total"} {
		if fams[n] == nil {
			t.Errorf("%s missing", n)
		}
	}
	for _, n := range []string{"vigil_events_total", "vigil_output_deliveries_total", "vigil_kernel_drops_total", "vigil_state_processes",
		"vigil_container_lookups_total", "vigil_container_runtime_up"} {
		if fams[n] != nil {
			t.Errorf("%s present without a source", n)
		}
	}
	if got := value(t, fams, "vigil_reloads_total", "result=failure"); got != 0 {
		t.Errorf("reload failures = %v, want 0", got)
	}
}

// Label values from user files (rule names, sink names) that are not
// valid UTF-8 must not break the scrape.
func TestInvalidUTF8Labels(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(Sources{
		Sensor: func() sensor.Stats {
			return sensor.Stats{AlertsByRule: map[string]uint64{"bad \xff rule": 1}}
		},
	})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := scrape(t, srv.URL)
	if got := value(t, fams, "vigil_alerts_total", "rule=bad \uFFFD rule"); got != 1 {
		t.Errorf("alerts = %v, want 1", got)
	}
}

// Events from Sources without a driver name are labelled driver="unknown".
func TestUnnamedDriver(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	src := fakeSources()
	src.Driver = ""
	m.SetSources(src)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := scrape(t, srv.URL)
	if got := value(t, fams, "vigil_events_total", "driver=unknown", "type=execve"); got != 7 {
		t.Errorf("execve = %v, want 7", got)
	}
}

func TestFanotifyStats(t *testing.T) {
	ds := FanotifyStats(fanotify.Stats{Drops: 7, Overflows: 4, DecodeErrors: 1})
	if ds.KernelDrops[ReasonFanotifyOverflow] != 4 || ds.KernelDrops[ReasonProcConnectorENOBUFS] != 3 ||
		ds.UserDrops[ReasonDecodeError] != 1 {
		t.Errorf("FanotifyStats = %+v", ds)
	}
	// Inconsistent snapshots (Overflows read after Drops) never underflow.
	if ds := FanotifyStats(fanotify.Stats{Drops: 1, Overflows: 2}); ds.KernelDrops[ReasonProcConnectorENOBUFS] != 0 {
		t.Errorf("underflow: %+v", ds)
	}
}

// Scrapes run concurrently with each other and with SetSources, SetRules
// and RecordReload (go test -race).
func TestConcurrentScrapes(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				scrape(t, srv.URL)
			}
		})
	}
	for i := range 20 {
		m.SetSources(fakeSources())
		m.SetRules(fakeRules())
		m.RecordReload(i%2 == 0)
	}
	wg.Wait()
	fams := scrape(t, srv.URL)
	if got := value(t, fams, "vigil_reloads_total", "result=success"); got != 10 {
		t.Errorf("reload successes = %v, want 10", got)
	}
}

// The registry is the Metrics' own: two instances do not collide, and
// the global registry is untouched.
func TestOwnRegistry(t *testing.T) {
	for range 2 {
		if _, err := New(nil); err != nil {
			t.Fatal(err)
		}
	}
}
