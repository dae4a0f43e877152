package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// writeText prints the report as tables.
func (r *report) writeText(out io.Writer) {
	fmt.Fprintf(out, "\nOverhead of vigil's drivers and auditd — %d interleaved rounds per workload (baseline + each configuration, order rotating)\n", r.Rounds)
	fmt.Fprintf(out, "machine: %d vCPU %s, %s RAM, Linux %s, %s\n", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemTotal, r.Machine.Kernel, r.Machine.GoVersion)
	fmt.Fprintf(out, "vigil:   %s (%s)", r.Vigil.Binary, r.Vigil.Version)
	if r.Vigil.Nice != 0 {
		fmt.Fprintf(out, ", workloads and sensors at nice %d", r.Vigil.Nice)
	}
	fmt.Fprintln(out)
	for _, c := range r.Configs {
		cmd := strings.Join(c.Command, " ")
		if c.Name == "auditd" {
			cmd = "auditd -n (log in the scratch directory), rules: " + strings.Join(c.Command, "; ")
		}
		fmt.Fprintf(out, "  %-9s %s\n", c.Name+":", cmd)
		if c.Note != "" {
			fmt.Fprintf(out, "  %-9s %s\n", "", c.Note)
		}
	}
	if a := r.Audit; a != nil && a.Unavailable != "" {
		fmt.Fprintf(out, "  auditd:   not measured: %s\n", a.Unavailable)
	}
	fmt.Fprintf(out, "load:    start %s\n         end   %s\n", r.Machine.UptimeStart, r.Machine.UptimeEnd)
	fmt.Fprintf(out, "took:    %s\n\n", r.Duration.Round(time.Second))

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tconfig\twithout s (min–max)\twith s (min–max)\tratio median\tratio min–max\ttarget\tmet\tmin/min\tCPU ratio\tadded/iter\t")
	for _, w := range r.Workloads {
		for _, c := range w.Configs {
			s := c.Summary
			target, met := "—", "—"
			if s.Met != nil {
				target = fmt.Sprintf("≤ %.2f", c.Target)
				met = yesNo(*s.Met)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.3f (%.3f–%.3f)\t%.3f (%.3f–%.3f)\t%.3f\t%.3f–%.3f\t%s\t%s\t%.3f\t%.3f\t%s\t\n",
				fmt.Sprintf("%s (%d %s)", w.Name, w.Iterations, w.Unit), c.Config,
				s.WithoutSec.Median, s.WithoutSec.Min, s.WithoutSec.Max,
				s.WithSec.Median, s.WithSec.Min, s.WithSec.Max,
				s.Ratio.Median, s.Ratio.Min, s.Ratio.Max, target, met, s.MinRatio,
				s.CPURatio.Median, perIter(s.AddedPerOp.Median))
		}
	}
	tw.Flush()

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tconfig\tdrops\tevents/run\tevents/iter\tevents/s\tsensor CPU/wall\tpeak RSS\tready s\tload1 median (min–max)\t")
	for _, w := range r.Workloads {
		for _, c := range w.Configs {
			s := c.Summary
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f\t%.0f\t%.3f\t%s\t%.2f\t%.1f (%.1f–%.1f)\t\n",
				w.Name, c.Config, s.Drops, s.Events.Median, s.EventsPerOp.Median, s.Events.Median/s.WithSec.Median,
				s.SensorCPUShare.Median, mb(s.PeakRSS), s.ReadySec.Median,
				s.Load1.Median, s.Load1.Min, s.Load1.Max)
		}
	}
	for _, i := range r.Idle {
		fmt.Fprintf(tw, "(idle %s)\t%s\t%d\t%d\t—\t%.0f\t%.3f\t%s\t\t\t\n", i.Duration.Round(time.Millisecond), i.Config, i.Drops, i.Events, i.EventsPerSec, i.CPUShare, mb(i.HWM))
	}
	tw.Flush()

	r.writeScenarios(out)
	if r.BPFStats {
		r.writeProgStats(out)
	}

	fmt.Fprintln(out, "\ntargets (DESIGN.md performance budget, issues 3 and 4; ratios are medians of per-round with/without wall times):")
	for _, t := range r.Targets {
		fmt.Fprintf(out, "  %-38s target %-9s measured %-16s %s\n", t.What, t.Target, t.Measured, map[bool]string{true: "met", false: "NOT MET"}[t.Met])
	}
	r.writeNotes(out)
	fmt.Fprint(out, `
columns: ratio = with/without wall time of the same round; min/min = fastest run with the sensor
over fastest without; CPU ratio = the same for the workload's own user+sys time (includes the
in-kernel cost of BPF programs, fanotify and audit, not the sensor's user space); added/iter =
median added wall time per iteration; sensor CPU/wall = the sensor's (vigil's or auditd's) CPU
time during the run over its wall time; events = vigil's "sensor stopped" count over its whole
life (includes the machine's background activity, see the idle rows), for auditd the SYSCALL
records it logged; drops = the ebpf driver's kernel drop counter, the other drivers' own count,
for auditd the kernel's lost records.
`)
}

// writeScenarios prints the procscan CPU and RSS churn measurements.
func (r *report) writeScenarios(out io.Writer) {
	if p := r.Procscan; p != nil {
		interval := p.Interval.String()
		if p.Interval == 0 {
			interval = "built-in"
		}
		fmt.Fprintf(out, "\nprocscan CPU: %.1f%% of one core (%s of CPU over %s), interval %s, %d processes on the machine (%d idle ones started), %d events, VmHWM %s\n",
			100*p.Share, p.CPU, p.Duration.Round(time.Millisecond), interval, p.Processes, p.Started, p.Events, mb(p.HWM))
	}
	if len(r.Churn) == 0 {
		return
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "churn\tconfig\tRSS start\tRSS after\tchange\tpeak RSS\tfds start\tfds after\tevents\tdrops\ttook\t")
	for _, c := range r.Churn {
		fmt.Fprintf(tw, "%d execs + %d opens\t%s\t%s\t%s\t%+.1f MB\t%s\t%d\t%d\t%d\t%d\t%s\t\n",
			c.Execs, c.Opens, c.Config, mb(c.RSSBefore), mb(c.RSSAfter), float64(c.RSSAfter-c.RSSBefore)/(1<<20), mb(c.HWM),
			c.FDsBefore, c.FDsAfter, c.Events, c.Drops, c.Wall.Round(time.Millisecond))
	}
	tw.Flush()
}

// writeNotes prints other vigils seen, vigil's unexpected warnings and
// what the harness left changed in the audit configuration.
func (r *report) writeNotes(out io.Writer) {
	var notes []string
	for _, w := range r.Workloads {
		runs, others := 0, 0
		for i, c := range w.Configs {
			runs += len(c.Rounds)
			others += c.Summary.OtherVigils
			for _, rd := range c.Rounds {
				if i == 0 {
					runs++
					if rd.Without.OtherVigils > 0 {
						others++
					}
				}
			}
		}
		if others > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d of %d runs had a vigil not started by the harness running (someone else's tests)", w.Name, others, runs))
		}
		for _, c := range w.Configs {
			seen := map[string]bool{}
			for _, rd := range c.Rounds {
				for _, l := range rd.Sensor.Warnings {
					if !seen[l] {
						seen[l] = true
						notes = append(notes, fmt.Sprintf("%s/%s: vigil logged: %s", w.Name, c.Config, l))
					}
				}
			}
		}
	}
	if r.Audit != nil {
		notes = append(notes, r.Audit.Notes...)
	}
	if len(notes) > 0 {
		fmt.Fprintln(out, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(out, "  "+n)
		}
	}
}

// writeProgStats prints where the kernel-side time of the ebpf driver's
// programs goes, per workload iteration.
func (r *report) writeProgStats(out io.Writer) {
	fmt.Fprintln(out, "\nBPF programs of vigil (ebpf) during the \"with\" runs (-bpf-stats; tail-called handlers count in sys_exit's dispatcher):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tprogram\truns/iter\tns/run\tkernel time/iter\tmisses\t")
	for _, w := range r.Workloads {
		c := w.config("ebpf")
		if c == nil {
			continue
		}
		iters := float64(w.Iterations * len(c.Rounds))
		for _, n := range slices.Sorted(maps.Keys(c.Summary.Programs)) {
			p := c.Summary.Programs[n]
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
