package main

import "fmt"

// computeTargets sets r.Targets: the ratio targets of each configuration
// and workload, fanotify against auditd on every workload, procscan's
// CPU, and drops and peak RSS per configuration.
func (r *report) computeTargets() {
	r.Targets = nil
	add := func(what, target, measured string, met bool) {
		r.Targets = append(r.Targets, targetResult{What: what, Target: target, Measured: measured, Met: met})
	}
	for _, w := range r.Workloads {
		for _, c := range w.Configs {
			if c.Summary.Met != nil {
				add(fmt.Sprintf("%s %s median ratio", c.Config, w.Name), fmt.Sprintf("≤ %.2f", c.Target),
					fmt.Sprintf("%.3f", c.Summary.Ratio.Median), *c.Summary.Met)
			}
		}
		fan, aud := w.config("fanotify"), w.config("auditd")
		if fan != nil && aud != nil && len(fan.Rounds) > 0 && len(aud.Rounds) > 0 {
			f, a := fan.Summary.Ratio.Median, aud.Summary.Ratio.Median
			add(fmt.Sprintf("fanotify vs auditd, %s", w.Name), "< auditd", fmt.Sprintf("%.3f vs %.3f", f, a), f < a)
		}
	}
	if p := r.Procscan; p != nil {
		add(fmt.Sprintf("procscan CPU, %s, %d procs", p.Interval, p.Processes), fmt.Sprintf("≤ %.0f%%", 100*targetProcscanCPU),
			fmt.Sprintf("%.1f%%", 100*p.Share), p.Share <= targetProcscanCPU)
	}
	for _, ci := range r.Configs {
		var drops uint64
		var rss int64
		for _, w := range r.Workloads {
			if c := w.config(ci.Name); c != nil {
				drops += c.Summary.Drops
				rss = max(rss, c.Summary.PeakRSS)
			}
		}
		for _, i := range r.Idle {
			if i.Config == ci.Name {
				drops += i.Drops
				rss = max(rss, i.HWM)
			}
		}
		add(ci.Name+" drops (all runs)", "0", fmt.Sprint(drops), drops == 0)
		if ci.Name != "auditd" {
			add(ci.Name+" peak RSS (VmHWM)", "≤ 60 MB", mb(rss), rss <= targetRSSBytes)
		}
	}
}
