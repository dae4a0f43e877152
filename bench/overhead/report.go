package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Targets from DESIGN.md "Performance budget" and the acceptance of
// issues 3 and 4.
const (
	targetBuildRatio        = 1.05 // ebpf
	targetOpenRatio         = 1.25 // ebpf
	targetFanotifyOpenRatio = 1.15
	// targetProcscanCPU is procscan's CPU share of one core at a 100 ms
	// interval with 500 processes.
	targetProcscanCPU = 0.05
	targetRSSBytes    = 60 << 20
)

// runSample is one timed run of a workload.
type runSample struct {
	Wall time.Duration `json:"wall_ns"`
	// User and Sys are the CPU times of the workload and the descendants
	// it waited for (rusage of the child).
	User time.Duration `json:"user_ns"`
	Sys  time.Duration `json:"sys_ns"`
	// Load1 is the one-minute load average when the run started.
	Load1 float64 `json:"load1"`
	// OtherVigils counts vigil processes not started by the harness that
	// were running when the run started (other people's tests).
	OtherVigils int `json:"other_vigils,omitempty"`
}

// CPU is the workload's own CPU time.
func (s runSample) CPU() time.Duration { return s.User + s.Sys }

// sensorSample is what one sensor (vigil or auditd) reported around one
// "with" run.
type sensorSample struct {
	// Ready is the time from starting vigil to its "driver started" line.
	Ready time.Duration `json:"ready_ns"`
	// Lifetime is the time from starting vigil to its exit.
	Lifetime time.Duration `json:"lifetime_ns"`
	// CPU is the sensor's user+system time during the workload run.
	CPU time.Duration `json:"cpu_during_run_ns"`
	// Events and Alerts are from vigil's "sensor stopped" line; for
	// auditd, Events counts the SYSCALL records it logged.
	Events uint64 `json:"events"`
	Alerts uint64 `json:"alerts"`
	// Drops is the drop counter: for ebpf the driver's `drops` map, read
	// just before stopping vigil, or vigil's own report if higher; for
	// the other drivers vigil's report; for auditd the kernel's lost
	// records.
	Drops uint64 `json:"drops"`
	// DropsSource says where Drops came from.
	DropsSource string `json:"drops_source"`
	// HWM is VmHWM (peak resident set) just before stopping the sensor.
	HWM int64 `json:"vm_hwm_bytes"`
	// Programs are the run statistics of vigil's BPF programs during the
	// run (times only with -bpf-stats).
	Programs map[string]progStat `json:"bpf_programs,omitempty"`
	// Warnings are vigil's WARN/ERROR log lines, minus the expected ones.
	Warnings []string `json:"warnings,omitempty"`
}

// progStat is the kernel's run statistics of one of vigil's BPF programs.
type progStat struct {
	Runs uint64        `json:"runs"`
	Time time.Duration `json:"run_time_ns"`
	// Misses counts runs the kernel skipped because another BPF program
	// was already running on the CPU (events vigil never saw). Counted
	// even without -bpf-stats.
	Misses uint64 `json:"recursion_misses"`
}

// round is one run with a sensor and the baseline run of the same round.
type round struct {
	// Position is the place of the run with the sensor in its round
	// (0 first); BaselinePosition that of the run without.
	Position         int          `json:"position"`
	BaselinePosition int          `json:"baseline_position"`
	Without          runSample    `json:"without"`
	With             runSample    `json:"with"`
	Sensor           sensorSample `json:"sensor"`
}

// Ratio is the wall-time slowdown of the pair.
func (r round) Ratio() float64 { return seconds(r.With.Wall) / seconds(r.Without.Wall) }

// CPURatio is the slowdown of the workload's own CPU time.
func (r round) CPURatio() float64 { return seconds(r.With.CPU()) / seconds(r.Without.CPU()) }

// workloadResult gathers the rounds of one workload per configuration.
type workloadResult struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Iterations  int            `json:"iterations"`
	Unit        string         `json:"unit"`
	Configs     []configResult `json:"configs"`
}

// config returns the result of the named configuration, or nil.
func (w *workloadResult) config(name string) *configResult {
	for i := range w.Configs {
		if w.Configs[i].Config == name {
			return &w.Configs[i]
		}
	}
	return nil
}

// configResult is one configuration's rounds of one workload.
type configResult struct {
	Config  string  `json:"config"`
	Target  float64 `json:"target_ratio,omitempty"`
	Rounds  []round `json:"rounds"`
	Summary summary `json:"summary"`
}

// spread is a median with the extremes.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func newSpread(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

type summary struct {
	WithoutSec spread `json:"without_s"`
	WithSec    spread `json:"with_s"`
	Ratio      spread `json:"ratio"`
	CPURatio   spread `json:"cpu_ratio"`
	// MinRatio is the fastest run with vigil over the fastest without:
	// the least disturbed estimate when the machine is busy.
	MinRatio    float64 `json:"ratio_of_minimums"`
	AddedPerOp  spread  `json:"added_us_per_iteration"`
	Events      spread  `json:"events"`
	EventsPerOp spread  `json:"events_per_iteration"`
	// SensorCPUShare is the sensor's CPU time during the run over the
	// run's wall time (1.0 = one full CPU).
	SensorCPUShare spread `json:"sensor_cpu_share"`
	ReadySec       spread `json:"ready_s"`
	Load1          spread `json:"load1"`
	Drops          uint64 `json:"drops_total"`
	PeakRSS        int64  `json:"peak_rss_bytes"`
	Met            *bool  `json:"target_met,omitempty"`
	// OtherVigils counts the runs with the sensor during which a vigil
	// not started by the harness was running.
	OtherVigils int `json:"runs_with_other_vigils"`
	// Misses sums the recursion misses of vigil's programs (runs the
	// kernel skipped: events lost without a drop being counted).
	Misses uint64 `json:"bpf_recursion_misses"`
	// Programs sums the BPF program statistics over the rounds.
	Programs map[string]progStat `json:"bpf_programs,omitempty"`
}

// summarize fills c.Summary from c.Rounds of a workload of iterations.
func summarize(c *configResult, iterations int) {
	var without, with, ratio, cpuRatio, added, events, perOp, share, ready, load []float64
	s := summary{}
	for _, r := range c.Rounds {
		without = append(without, seconds(r.Without.Wall))
		with = append(with, seconds(r.With.Wall))
		ratio = append(ratio, r.Ratio())
		if r.Without.CPU() > 0 {
			cpuRatio = append(cpuRatio, r.CPURatio())
		}
		added = append(added, 1e6*(seconds(r.With.Wall)-seconds(r.Without.Wall))/float64(iterations))
		events = append(events, float64(r.Sensor.Events))
		perOp = append(perOp, float64(r.Sensor.Events)/float64(iterations))
		share = append(share, seconds(r.Sensor.CPU)/seconds(r.With.Wall))
		ready = append(ready, seconds(r.Sensor.Ready))
		load = append(load, r.Without.Load1, r.With.Load1)
		s.Drops += r.Sensor.Drops
		for name, p := range r.Sensor.Programs {
			if s.Programs == nil {
				s.Programs = map[string]progStat{}
			}
			t := s.Programs[name]
			t.Runs += p.Runs
			t.Time += p.Time
			t.Misses += p.Misses
			s.Programs[name] = t
			s.Misses += p.Misses
		}
		s.PeakRSS = max(s.PeakRSS, r.Sensor.HWM)
		if r.With.OtherVigils > 0 {
			s.OtherVigils++
		}
	}
	s.WithoutSec, s.WithSec, s.Ratio, s.CPURatio = newSpread(without), newSpread(with), newSpread(ratio), newSpread(cpuRatio)
	if s.WithoutSec.Min > 0 {
		s.MinRatio = s.WithSec.Min / s.WithoutSec.Min
	}
	s.AddedPerOp, s.Events, s.EventsPerOp = newSpread(added), newSpread(events), newSpread(perOp)
	s.SensorCPUShare, s.ReadySec, s.Load1 = newSpread(share), newSpread(ready), newSpread(load)
	if c.Target > 0 && len(c.Rounds) > 0 {
		met := s.Ratio.Median <= c.Target
		s.Met = &met
	}
	c.Summary = s
}

// report is the whole result, as printed with -json.
type report struct {
	BPFStats  bool             `json:"bpf_stats"`
	Command   string           `json:"command"`
	Started   time.Time        `json:"started"`
	Duration  time.Duration    `json:"duration_ns"`
	Machine   machine          `json:"machine"`
	Vigil     vigilInfo        `json:"vigil"`
	Configs   []configInfo     `json:"configs"`
	Audit     *auditInfo       `json:"audit,omitempty"`
	Rounds    int              `json:"rounds"`
	Idle      []idleSample     `json:"idle,omitempty"`
	Workloads []workloadResult `json:"workloads"`
	Procscan  *procscanCPU     `json:"procscan_cpu,omitempty"`
	Churn     []churnSample    `json:"churn,omitempty"`
	Targets   []targetResult   `json:"targets"`
}

type machine struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	// Uptime lines (uptime(1) format) at the start and the end.
	UptimeStart string `json:"uptime_start"`
	UptimeEnd   string `json:"uptime_end"`
}

type vigilInfo struct {
	Binary  string `json:"binary"`
	Version string `json:"version"`
	Nice    int    `json:"nice"`
}

// configInfo says how one configuration ran.
type configInfo struct {
	Name    string   `json:"name"`
	Command []string `json:"command"`
	Note    string   `json:"note,omitempty"`
}

// idleSample is vigil running with no workload: the background event
// rate of the machine and vigil's own idle cost.
type idleSample struct {
	Config       string        `json:"config"`
	Duration     time.Duration `json:"duration_ns"`
	Events       uint64        `json:"events"`
	EventsPerSec float64       `json:"events_per_s"`
	CPUShare     float64       `json:"vigil_cpu_share"`
	HWM          int64         `json:"vm_hwm_bytes"`
	Drops        uint64        `json:"drops"`
}

// auditInfo is what the report says about the kernel audit subsystem.
type auditInfo struct {
	Rules []string `json:"rules"`
	// Status is `auditctl -s` before the harness changed anything.
	Status string `json:"status_before"`
	// Unavailable says why auditd was not measured.
	Unavailable string `json:"unavailable,omitempty"`
	// Notes are the changes the harness made and left.
	Notes []string `json:"notes,omitempty"`
}

// procscanCPU is procscan's own cost polling many idle processes.
type procscanCPU struct {
	Interval time.Duration `json:"interval_ns"`
	// Started is the number of idle processes the harness started;
	// Processes the number on the machine during the measurement.
	Started   int           `json:"started"`
	Processes int           `json:"processes"`
	Duration  time.Duration `json:"duration_ns"`
	CPU       time.Duration `json:"cpu_ns"`
	// Share is CPU over Duration (1.0 = one full core).
	Share  float64 `json:"cpu_share"`
	Events uint64  `json:"events"`
	HWM    int64   `json:"vm_hwm_bytes"`
}

// churnSample is one vigil's resident set and descriptors before and
// after many short-lived processes and file opens.
type churnSample struct {
	Config string `json:"config"`
	Execs  int    `json:"execs"`
	Opens  int    `json:"opens"`
	// RSS (VmRSS) and FDs after start-up, and after the churn and a pause.
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	HWM       int64 `json:"vm_hwm_bytes"`
	FDsBefore int   `json:"fds_before"`
	FDsAfter  int   `json:"fds_after"`
	// Wall is the time the churn took with this vigil running.
	Wall   time.Duration `json:"churn_wall_ns"`
	Events uint64        `json:"events"`
	Drops  uint64        `json:"drops"`
}

type targetResult struct {
	What     string `json:"what"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// printSaved prints the tables of a report saved with -json.
func printSaved(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r report
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.writeText(os.Stdout)
	return nil
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// perIter formats microseconds per iteration as a duration.
func perIter(us float64) string {
	d := time.Duration(us * 1e3)
	switch {
	case d.Abs() >= time.Millisecond:
		d = d.Round(100 * time.Microsecond)
	case d.Abs() >= time.Microsecond:
		d = d.Round(10 * time.Nanosecond)
	}
	return d.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
