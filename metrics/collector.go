package metrics

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/driver"
)

// Descriptors of the metrics the stats collector reads from Sources.
var (
	descEvents = desc("events_total",
		"Events received from the driver, by driver and event type.", "driver", "type")
	descKernelDrops = desc("kernel_drops_total",
		"Events lost before they reached Vigil (kernel buffers, queues, sockets), by driver and reason.", "driver", "reason")
	descKernelDropsCPU = desc("kernel_drops_per_cpu_total",
		"Events lost in the kernel, by driver and CPU.", "driver", "cpu")
	descUserDrops = desc("user_drops_total",
		"Events lost inside Vigil (records that could not be decoded), by driver and reason.", "driver", "reason")
	descLastEvent = desc("last_event_timestamp_seconds",
		"Wall-clock time at which the last event was received.")
	descRecorderErrors = desc("recorder_errors_total",
		"Events the recorder (vigil run --record) failed to write.")

	descAlerts = desc("alerts_total",
		"Rule matches turned into alerts, by rule and priority.", "rule", "priority")
	descRulesLoaded = desc("rules_loaded",
		"Rules loaded from the rules files, enabled or not.")
	descRulesEnabled = desc("rules_enabled",
		"Rules enabled and evaluated.")

	descOutputAlerts = desc("output_alerts_total",
		"Alerts offered to the outputs.")
	descDeliveries = desc("output_deliveries_total",
		"Alerts delivered, by sink.", "sink")
	descOutputErrors = desc("output_errors_total",
		"Alert deliveries that failed after the sink's own retries, by sink.", "sink")
	descOutputDrops = desc("output_drops_total",
		"Alerts a sink did not receive, by sink and reason (queue_full, rate_limited, abandoned).", "sink", "reason")
	descQueueLength = desc("output_queue_length",
		"Alerts waiting in the sink's queue.", "sink")
	descQueueCapacity = desc("output_queue_capacity",
		"Size of the sink's queue.", "sink")

	descProcs = desc("state_processes",
		"Entries in the process table.")
	descContainers = desc("state_containers",
		"Containers in the metadata cache.")
	descLazyReads = desc("state_lazy_reads_total",
		"Processes read from /proc on first sight.")
	descLazyMisses = desc("state_lazy_misses_total",
		"Process lookups that /proc could not answer.")
	descEvictions = desc("state_evictions_total",
		"Process-table entries evicted to stay within the size limit.")
	descUserReloads = desc("state_user_reloads_total",
		"Loads of the host's passwd and group files.")

	descContainerLookups = desc("container_lookups_total",
		"Container metadata lookups, by result (found, not_found, failed: a runtime could not be asked or answered with an error).", "result")
	descRuntimeUp = desc("container_runtime_up",
		"1 when the container runtime answered the last metadata lookup that asked it (before any, when its socket exists), else 0, by source (kind and sockets).", "source")
)

var allDescs = []*prometheus.Desc{
	descEvents, descKernelDrops, descKernelDropsCPU, descUserDrops, descLastEvent, descRecorderErrors,
	descAlerts, descRulesLoaded, descRulesEnabled,
	descOutputAlerts, descDeliveries, descOutputErrors, descOutputDrops, descQueueLength, descQueueCapacity,
	descProcs, descContainers, descLazyReads, descLazyMisses, descEvictions, descUserReloads,
	descContainerLookups, descRuntimeUp,
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// statsCollector turns the Sources' snapshots into metrics at scrape time.
type statsCollector struct{ m *Metrics }

// Describe sends every descriptor the collector may use.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads every source once.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.src.Load()
	ri := c.m.rules.Load()
	e := emitter{ch: ch}

	e.gauge(descRulesLoaded, float64(ri.loaded))
	e.gauge(descRulesEnabled, float64(ri.enabled))

	drv := src.Driver
	if drv == "" {
		drv = "unknown"
	}
	if src.Sensor != nil {
		c.collectSensor(&e, drv, src, ri)
	}
	if src.DriverStats != nil {
		c.collectDriver(&e, drv, src.DriverStats())
	}
	if src.Outputs != nil {
		collectOutputs(&e, src)
	}
	if src.State != nil {
		st := src.State()
		e.gauge(descProcs, float64(st.Procs))
		e.gauge(descContainers, float64(st.Containers))
		e.counter(descLazyReads, st.LazyReads)
		e.counter(descLazyMisses, st.LazyMisses)
		e.counter(descEvictions, st.Evictions)
		e.counter(descUserReloads, st.UserReloads)
	}
	if src.Containers != nil {
		collectContainers(&e, src.Containers())
	}
}

func collectContainers(e *emitter, st ContainerStats) {
	e.counter(descContainerLookups, st.Found, LookupFound)
	e.counter(descContainerLookups, st.NotFound, LookupNotFound)
	e.counter(descContainerLookups, st.Failed, LookupFailed)
	seen := make(map[string]bool, len(st.Runtimes))
	for _, r := range st.Runtimes {
		// Two sources of one name would be duplicate series: keep the first.
		if seen[r.Source] {
			continue
		}
		seen[r.Source] = true
		up := 0.0
		if r.Up {
			up = 1
		}
		e.gauge(descRuntimeUp, up, r.Source)
	}
}

func (c *statsCollector) collectSensor(e *emitter, drv string, src *Sources, ri *ruleInfo) {
	st := src.Sensor()
	for t, n := range st.EventsByType {
		if n == 0 && (!c.m.includeEmpty || t == int(driver.EventUnknown)) {
			continue
		}
		e.counter(descEvents, n, drv, driver.EventType(t).String())
	}
	if st.LastEventNanos > 0 {
		e.gauge(descLastEvent, float64(st.LastEventNanos)/1e9)
	}
	e.counter(descRecorderErrors, st.RecordErrors)

	seen := make(map[string]bool, len(st.AlertsByRule))
	for rule, n := range st.AlertsByRule {
		seen[rule] = true
		e.counter(descAlerts, n, rule, ri.priorityOf(rule))
	}
	if c.m.includeEmpty {
		for _, rule := range ri.enabledNames {
			if !seen[rule] {
				seen[rule] = true
				e.counter(descAlerts, 0, rule, ri.priorityOf(rule))
			}
		}
	}
}

func (c *statsCollector) collectDriver(e *emitter, drv string, ds DriverStats) {
	for reason, n := range ds.KernelDrops {
		e.counter(descKernelDrops, n, drv, reason)
	}
	for reason, n := range ds.UserDrops {
		e.counter(descUserDrops, n, drv, reason)
	}
	if c.m.perCPU {
		for cpu, n := range ds.KernelDropsPerCPU {
			e.counter(descKernelDropsCPU, n, drv, strconv.Itoa(cpu))
		}
	}
}

// sinkTotals sums the counters of the sinks that share a name, so that
// two sinks of one kind never produce duplicate series.
type sinkTotals struct {
	delivered, errors, dropped, abandoned uint64
	queued, capacity                      int
}

func collectOutputs(e *emitter, src *Sources) {
	st := src.Outputs()
	e.counter(descOutputAlerts, st.Emitted)
	var names []string
	sinks := make(map[string]*sinkTotals, len(st.Sinks))
	for _, s := range st.Sinks {
		t := sinks[s.Name]
		if t == nil {
			t = &sinkTotals{}
			sinks[s.Name] = t
			names = append(names, s.Name)
		}
		t.delivered += s.Delivered
		t.errors += s.Errors
		t.dropped += s.Dropped
		t.abandoned += s.Abandoned
		t.queued += s.Queued
		t.capacity += s.Capacity
	}
	slices.Sort(names)
	for _, name := range names {
		t := sinks[name]
		e.counter(descDeliveries, t.delivered, name)
		e.counter(descOutputErrors, t.errors, name)
		e.counter(descOutputDrops, t.dropped, name, DropQueueFull)
		e.counter(descOutputDrops, st.RateLimited, name, DropRateLimited)
		e.counter(descOutputDrops, t.abandoned, name, DropAbandoned)
		e.gauge(descQueueLength, float64(t.queued), name)
		e.gauge(descQueueCapacity, float64(t.capacity), name)
	}
}

// priorityOf returns the priority label of rule.
func (ri *ruleInfo) priorityOf(rule string) string {
	if p, ok := ri.priority[rule]; ok {
		return p
	}
	return "unknown"
}

// emitter builds const metrics. Label values are made valid UTF-8 first
// (rule and sink names come from user files); any other error becomes an
// invalid metric, which the handler logs without failing the scrape.
type emitter struct{ ch chan<- prometheus.Metric }

func (e *emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.emit(d, prometheus.CounterValue, float64(v), labels)
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.emit(d, prometheus.GaugeValue, v, labels)
}

func (e *emitter) emit(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}
