// Package metrics exposes Vigil's counters to Prometheus.
//
// A Metrics owns its own registry (never the global one) holding a build-info
// gauge, the Go runtime and process collectors, reload counters, and one
// collector that reads the pipeline's Stats snapshots (sensor, outputs,
// driver, state, container runtimes) when /metrics is scraped. Nothing is counted on the event
// path: the sensor, drivers and outputs keep their own atomic counters, and
// a scrape only copies them.
//
// Typical wiring:
//
//	m, err := metrics.New(&metrics.Options{Build: metrics.BuildInfo{Version: version, Commit: commit}})
//	// ... serve m.Handler() on /metrics, build the pipeline ...
//	m.SetSources(metrics.Sources{
//		Driver:      d.Name(),
//		Sensor:      s.Stats,
//		Outputs:     outs.Stats,
//		DriverStats: func() metrics.DriverStats { return metrics.EBPFStats(d.Stats()) },
//		State:       st.Stats,
//		Containers:  func() metrics.ContainerStats { ... }, // from container.Resolver.Stats
//	})
//	m.SetRules(rs.Rules)
//	// on every reload: m.RecordReload(err == nil); m.SetRules(newRules)
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/sensor"
	"github.com/vigilsec/vigil/state"
)

// Namespace prefixes every Vigil metric name.
const Namespace = "vigil"

// Reload results, the values of the result label of vigil_reloads_total.
const (
	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// Output drop reasons, the values of the reason label of
// vigil_output_drops_total.
const (
	// DropQueueFull: the sink's queue was full (or the outputs closed).
	DropQueueFull = "queue_full"
	// DropRateLimited: the outputs.rate token bucket refused the alert.
	// The limit applies before the fan-out, so every sink counts the
	// same number.
	DropRateLimited = "rate_limited"
	// DropAbandoned: queued alerts not delivered because shutdown ran out
	// of time.
	DropAbandoned = "abandoned"
)

// BuildInfo labels vigil_build_info.
type BuildInfo struct {
	Version string // "dev" when empty
	Commit  string // "unknown" when empty
	// GoVersion is runtime.Version() when empty.
	GoVersion string
}

// Options configures a Metrics. The zero value (or nil) is valid.
type Options struct {
	Build BuildInfo
	// IncludeEmpty exports per-event-type and per-rule series whose value
	// is zero (Falco's metrics.include_empty_values). By default a series
	// appears once its counter is non-zero.
	IncludeEmpty bool
	// KernelDropsPerCPU exports vigil_kernel_drops_per_cpu_total (Falco's
	// metrics.kernel_event_counters_per_cpu_enabled).
	KernelDropsPerCPU bool
	// Logger receives errors met while serving a scrape; nil discards them.
	Logger *slog.Logger
}

// DriverStats are a driver's loss counters as the metrics see them. Each
// driver has its own Stats type; EBPFStats and FanotifyStats convert
// theirs.
type DriverStats struct {
	// KernelDrops are events lost before they reached Vigil, by reason
	// (for example "ringbuf_full", "fanotify_overflow",
	// "proc_connector_enobufs").
	KernelDrops map[string]uint64
	// KernelDropsPerCPU are kernel drops per CPU, when the driver knows.
	KernelDropsPerCPU []uint64
	// UserDrops are events lost inside Vigil, by reason (for example
	// "decode_error").
	UserDrops map[string]uint64
}

// Sources are the functions a scrape reads. Each may be nil, and its
// metrics are then absent. They are called concurrently with the event
// path and with each other, once per scrape; every Stats method of the
// sensor, output, driver and state packages is safe for that.
type Sources struct {
	// Driver names the driver (the driver label): "ebpf", "fanotify", ...
	Driver string
	// Sensor provides events by type, alerts by rule and recorder errors.
	Sensor func() sensor.Stats
	// Outputs provides per-sink deliveries, errors, drops and queues.
	Outputs func() output.Stats
	// DriverStats provides the driver's drops.
	DriverStats func() DriverStats
	// State provides process-table and container-cache figures.
	State func() state.Stats
	// Containers provides the container metadata lookups and the
	// reachability of the container runtimes.
	Containers func() ContainerStats
}

// Lookup results, the values of the result label of
// vigil_container_lookups_total.
const (
	// LookupFound: a runtime answered with the container's metadata.
	LookupFound = "found"
	// LookupNotFound: every runtime answered, none knew the container.
	LookupNotFound = "not_found"
	// LookupFailed: no runtime knew the container and one could not be
	// asked (socket missing, runtime down) or answered with an error.
	LookupFailed = "failed"
)

// ContainerStats are the container metadata resolver's counters as the
// metrics see them (cmd converts container.ResolverStats; this package
// does not import the runtime clients).
type ContainerStats struct {
	// Lookups by result: LookupFound, LookupNotFound, LookupFailed.
	Found, NotFound, Failed uint64
	// Runtimes are the configured runtime sources.
	Runtimes []RuntimeState
}

// RuntimeState is one container runtime source: vigil_container_runtime_up.
type RuntimeState struct {
	// Source names it: its kind and sockets ("docker /var/run/docker.sock").
	Source string
	// Up: the runtime answered the last lookup that asked it (before
	// any, its socket exists).
	Up bool
}

// Metrics is Vigil's Prometheus registry. Its methods may be called from
// any goroutine.
type Metrics struct {
	reg     *prometheus.Registry
	reloads *prometheus.CounterVec
	log     *slog.Logger

	includeEmpty bool
	perCPU       bool

	src   atomic.Pointer[Sources]
	rules atomic.Pointer[ruleInfo]
}

// ruleInfo is what SetRules keeps: counts and each rule's priority.
type ruleInfo struct {
	loaded, enabled int
	priority        map[string]string // rule name → priority
	enabledNames    []string
}

// New returns a Metrics with its own registry holding the build info, Go
// runtime and process collectors, the reload counters and the Stats
// collector (with no sources until SetSources). opts may be nil. It
// returns an error only if a collector cannot be registered.
func New(opts *Options) (*Metrics, error) {
	if opts == nil {
		opts = &Options{}
	}
	m := &Metrics{
		reg:          prometheus.NewRegistry(),
		log:          opts.Logger,
		includeEmpty: opts.IncludeEmpty,
		perCPU:       opts.KernelDropsPerCPU,
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.src.Store(&Sources{})
	m.rules.Store(&ruleInfo{})

	b := opts.Build
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.GoVersion == "" {
		b.GoVersion = runtime.Version()
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Vigil's version, commit and Go version as labels; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	build.Set(1)
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace,
		Name:      "reloads_total",
		Help:      "Rules and configuration reloads, by result (success, failure).",
	}, []string{"result"})
	m.reloads.WithLabelValues(ReloadSuccess)
	m.reloads.WithLabelValues(ReloadFailure)

	for _, c := range []prometheus.Collector{
		build,
		m.reloads,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&statsCollector{m: m},
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register collector: %w", err)
		}
	}
	return m, nil
}

// Registry returns the registry, for packages that add their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the /metrics handler: the registry in the Prometheus
// text format (or another format the scraper negotiates). A collector
// error is logged and the other metrics are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            logAdapter{m.log},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg, // promhttp_metric_handler_errors_total
		MaxRequestsInFlight: 4,
	})
}

// SetSources replaces the functions scrapes read. Call it once the
// pipeline exists (scrapes before that carry no pipeline metrics), and
// again whenever a component is replaced.
func (m *Metrics) SetSources(s Sources) { m.src.Store(&s) }

// SetRules records the loaded rules (all of them, enabled or not, as
// rules.Ruleset.Rules): vigil_rules_loaded and vigil_rules_enabled, and
// the priority that labels each rule's vigil_alerts_total. Call it after
// every successful load.
func (m *Metrics) SetRules(rules []*engine.Rule) {
	ri := &ruleInfo{loaded: len(rules), priority: make(map[string]string, len(rules))}
	for _, r := range rules {
		ri.priority[r.Name] = r.Priority.String()
		if r.Enabled {
			ri.enabled++
			ri.enabledNames = append(ri.enabledNames, r.Name)
		}
	}
	m.rules.Store(ri)
}

// RecordReload counts one reload attempt in vigil_reloads_total, as
// result "success" when ok and "failure" otherwise.
func (m *Metrics) RecordReload(ok bool) {
	if ok {
		m.reloads.WithLabelValues(ReloadSuccess).Inc()
	} else {
		m.reloads.WithLabelValues(ReloadFailure).Inc()
	}
}

// logAdapter lets promhttp log through slog.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) Println(v ...any) {
	l.log.Error("metrics: "+strings.TrimSuffix(fmt.Sprintln(v...), "\n"), "component", "metrics")
}
