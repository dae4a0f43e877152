package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets from DESIGN.md "Performance budget" and the acceptance of issue 3.
const (
	targetBuildRatio = 1.05
	targetOpenRatio  = 1.25
	targetRSSBytes   = 60 << 20
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

// sensorSample is what one vigil instance reported around one "with" run.
type sensorSample struct {
	// Ready is the time from starting vigil to its "driver started" line.
	Ready time.Duration `json:"ready_ns"`
	// Lifetime is the time from starting vigil to its exit.
	Lifetime time.Duration `json:"lifetime_ns"`
	// CPU is vigil's user+system time during the workload run.
	CPU time.Duration `json:"cpu_during_run_ns"`
	// Events and Alerts are from vigil's "sensor stopped" line.
	Events uint64 `json:"events"`
	Alerts uint64 `json:"alerts"`
	// Drops is the kernel drop counter (the driver's `drops` map, read
	// just before stopping vigil, or vigil's own report if higher).
	Drops uint64 `json:"drops"`
	// DropsSource says where Drops came from.
	DropsSource string `json:"drops_source"`
	// HWM is VmHWM (peak resident set) just before stopping vigil.
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

// round is one interleaved pair of runs.
type round struct {
	VigilFirst bool         `json:"vigil_first"`
	Without    runSample    `json:"without"`
	With       runSample    `json:"with"`
	Sensor     sensorSample `json:"sensor"`
}

// Ratio is the wall-time slowdown of the pair.
func (r round) Ratio() float64 { return seconds(r.With.Wall) / seconds(r.Without.Wall) }

// CPURatio is the slowdown of the workload's own CPU time.
func (r round) CPURatio() float64 { return seconds(r.With.CPU()) / seconds(r.Without.CPU()) }

// workloadResult gathers the rounds of one workload and their summary.
type workloadResult struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Iterations  int     `json:"iterations"`
	Unit        string  `json:"unit"`
	Target      float64 `json:"target_ratio,omitempty"`
	Rounds      []round `json:"rounds"`
	Summary     summary `json:"summary"`
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
	// VigilCPUShare is vigil's CPU time during the run over the run's
	// wall time (1.0 = one full CPU).
	VigilCPUShare spread `json:"vigil_cpu_share"`
	ReadySec      spread `json:"ready_s"`
	Load1         spread `json:"load1"`
	Drops         uint64 `json:"drops_total"`
	PeakRSS       int64  `json:"peak_rss_bytes"`
	Met           *bool  `json:"target_met,omitempty"`
	OtherVigils   int    `json:"runs_with_other_vigils"`
	// Misses sums the recursion misses of vigil's programs (runs the
	// kernel skipped: events lost without a drop being counted).
	Misses uint64 `json:"bpf_recursion_misses"`
	// Programs sums the BPF program statistics over the rounds.
	Programs map[string]progStat `json:"bpf_programs,omitempty"`
}

func summarize(w *workloadResult) {
	var without, with, ratio, cpuRatio, added, events, perOp, share, ready, load []float64
	s := summary{}
	for _, r := range w.Rounds {
		without = append(without, seconds(r.Without.Wall))
		with = append(with, seconds(r.With.Wall))
		ratio = append(ratio, r.Ratio())
		if r.Without.CPU() > 0 {
			cpuRatio = append(cpuRatio, r.CPURatio())
		}
		added = append(added, 1e6*(seconds(r.With.Wall)-seconds(r.Without.Wall))/float64(w.Iterations))
		events = append(events, float64(r.Sensor.Events))
		perOp = append(perOp, float64(r.Sensor.Events)/float64(w.Iterations))
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
		if r.Without.OtherVigils > 0 {
			s.OtherVigils++
		}
		if r.With.OtherVigils > 0 {
			s.OtherVigils++
		}
	}
	s.WithoutSec, s.WithSec, s.Ratio, s.CPURatio = newSpread(without), newSpread(with), newSpread(ratio), newSpread(cpuRatio)
	if s.WithoutSec.Min > 0 {
		s.MinRatio = s.WithSec.Min / s.WithoutSec.Min
	}
	s.AddedPerOp, s.Events, s.EventsPerOp = newSpread(added), newSpread(events), newSpread(perOp)
	s.VigilCPUShare, s.ReadySec, s.Load1 = newSpread(share), newSpread(ready), newSpread(load)
	if w.Target > 0 && len(w.Rounds) > 0 {
		met := s.Ratio.Median <= w.Target
		s.Met = &met
	}
	w.Summary = s
}

// report is the whole result, as printed with -json.
type report struct {
	BPFStats  bool             `json:"bpf_stats"`
	Command   string           `json:"command"`
	Started   time.Time        `json:"started"`
	Duration  time.Duration    `json:"duration_ns"`
	Machine   machine          `json:"machine"`
	Vigil     vigilInfo        `json:"vigil"`
	Rounds    int              `json:"rounds"`
	Idle      *idleSample      `json:"idle,omitempty"`
	Workloads []workloadResult `json:"workloads"`
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
	Binary  string   `json:"binary"`
	Version string   `json:"version"`
	Args    []string `json:"args"`
	Nice    int      `json:"nice"`
}

// idleSample is vigil running with no workload: the background event
// rate of the machine and vigil's own idle cost.
type idleSample struct {
	Duration     time.Duration `json:"duration_ns"`
	Events       uint64        `json:"events"`
	EventsPerSec float64       `json:"events_per_s"`
	CPUShare     float64       `json:"vigil_cpu_share"`
	HWM          int64         `json:"vm_hwm_bytes"`
	Drops        uint64        `json:"drops"`
}

type targetResult struct {
	What     string `json:"what"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func (r *report) computeTargets() {
	r.Targets = nil
	var drops uint64
	var rss int64
	for _, w := range r.Workloads {
		if w.Summary.Met != nil {
			r.Targets = append(r.Targets, targetResult{
				What:     w.Name + " median ratio",
				Target:   fmt.Sprintf("≤ %.2f", w.Target),
				Measured: fmt.Sprintf("%.3f", w.Summary.Ratio.Median),
				Met:      *w.Summary.Met,
			})
		}
		drops += w.Summary.Drops
		rss = max(rss, w.Summary.PeakRSS)
	}
	if r.Idle != nil {
		drops += r.Idle.Drops
		rss = max(rss, r.Idle.HWM)
	}
	r.Targets = append(r.Targets,
		targetResult{What: "kernel drops (all runs)", Target: "0", Measured: fmt.Sprint(drops), Met: drops == 0},
		targetResult{What: "vigil peak RSS (VmHWM)", Target: "≤ 60 MB", Measured: mb(rss), Met: rss <= targetRSSBytes},
	)
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(out io.Writer) {
	fmt.Fprintf(out, "\nOverhead of `%s` — %d interleaved rounds per workload\n", strings.Join(append([]string{"vigil"}, r.Vigil.Args...), " "), r.Rounds)
	fmt.Fprintf(out, "machine: %d vCPU %s, %s RAM, Linux %s, %s\n", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotal, r.Machine.Kernel, r.Machine.GoVersion)
	fmt.Fprintf(out, "vigil:   %s (%s)", r.Vigil.Binary, r.Vigil.Version)
	if r.Vigil.Nice != 0 {
		fmt.Fprintf(out, ", workloads and vigil at nice %d", r.Vigil.Nice)
	}
	fmt.Fprintf(out, "\nload:    start %s\n         end   %s\n", r.Machine.UptimeStart, r.Machine.UptimeEnd)
	fmt.Fprintf(out, "took:    %s\n\n", r.Duration.Round(time.Second))

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\titerations\twithout s (min–max)\twith s (min–max)\tratio median\tratio min–max\ttarget\tmet\tmin/min\tCPU ratio\tadded/iter\t")
	for _, w := range r.Workloads {
		s := w.Summary
		target, met := "—", "—"
		if s.Met != nil {
			target = fmt.Sprintf("≤ %.2f", w.Target)
			met = yesNo(*s.Met)
		}
		fmt.Fprintf(tw, "%s\t%d %s\t%.3f (%.3f–%.3f)\t%.3f (%.3f–%.3f)\t%.3f\t%.3f–%.3f\t%s\t%s\t%.3f\t%.3f\t%s\t\n",
			w.Name, w.Iterations, w.Unit,
			s.WithoutSec.Median, s.WithoutSec.Min, s.WithoutSec.Max,
			s.WithSec.Median, s.WithSec.Min, s.WithSec.Max,
			s.Ratio.Median, s.Ratio.Min, s.Ratio.Max, target, met, s.MinRatio,
			s.CPURatio.Median, perIter(s.AddedPerOp.Median))
	}
	tw.Flush()

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tdrops\tBPF misses\tevents/run\tevents/iter\tevents/s\tvigil CPU/wall\tpeak RSS\tready s\tload1 median (min–max)\t")
	for _, w := range r.Workloads {
		s := w.Summary
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.0f\t%.2f\t%s\t%.2f\t%.1f (%.1f–%.1f)\t\n",
			w.Name, s.Drops, s.Misses, s.Events.Median, s.EventsPerOp.Median, s.Events.Median/s.WithSec.Median,
			s.VigilCPUShare.Median, mb(s.PeakRSS), s.ReadySec.Median,
			s.Load1.Median, s.Load1.Min, s.Load1.Max)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(tw, "(idle %s)\t%d\t\t%d\t—\t%.0f\t%.2f\t%s\t\t\t\n", i.Duration.Round(time.Millisecond), i.Drops, i.Events, i.EventsPerSec, i.CPUShare, mb(i.HWM))
	}
	tw.Flush()

	if r.BPFStats {
		r.writeProgStats(out)
	}

	fmt.Fprintln(out, "\ntargets (DESIGN.md performance budget; ratios are medians of per-round with/without wall times):")
	for _, t := range r.Targets {
		fmt.Fprintf(out, "  %-28s target %-8s measured %-10s %s\n", t.What, t.Target, t.Measured, map[bool]string{true: "met", false: "NOT MET"}[t.Met])
	}
	var notes []string
	for _, w := range r.Workloads {
		if w.Summary.OtherVigils > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d runs had another vigil process running (someone else's tests)", w.Name, w.Summary.OtherVigils))
		}
		seen := map[string]bool{}
		for _, rd := range w.Rounds {
			for _, l := range rd.Sensor.Warnings {
				if !seen[l] {
					seen[l] = true
					notes = append(notes, fmt.Sprintf("%s: vigil logged: %s", w.Name, l))
				}
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(out, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(out, "  "+n)
		}
	}
	fmt.Fprint(out, `
columns: ratio = with/without wall time of the same round; min/min = fastest run with vigil over
fastest without; CPU ratio = the same for the workload's own user+sys time (includes the in-kernel
BPF cost, not vigil's user space); added/iter = median added wall time per iteration; vigil
CPU/wall = vigil's CPU time during the run over its wall time; events = vigil's "sensor stopped"
count over its whole life (includes the machine's background activity, see the idle row);
drops = the driver's kernel drop counter; BPF misses = runs of vigil's programs the kernel skipped.
`)
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

// writeProgStats prints where the kernel-side time of vigil's programs
// goes, per workload iteration.
func (r *report) writeProgStats(out io.Writer) {
	fmt.Fprintln(out, "\nBPF programs of vigil during the \"with\" runs (-bpf-stats; tail-called handlers count in sys_exit's dispatcher):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tprogram\truns/iter\tns/run\tkernel time/iter\tmisses\t")
	for _, w := range r.Workloads {
		names := slices.Sorted(maps.Keys(w.Summary.Programs))
		iters := float64(w.Iterations * len(w.Rounds))
		for _, n := range names {
			p := w.Summary.Programs[n]
			if p.Runs == 0 && p.Misses == 0 {
				continue
			}
			ns := 0.0
			if p.Runs > 0 {
				ns = float64(p.Time.Nanoseconds()) / float64(p.Runs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.0f\t%s\t%d\t\n", w.Name, n, float64(p.Runs)/iters, ns,
				perIter(float64(p.Time.Nanoseconds())/1e3/iters), p.Misses)
		}
	}
	tw.Flush()
}
