package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// instance is one running sensor (a vigil or auditd) around one run.
type instance interface {
	// pid returns the sensor's process id.
	pid() int
	// snapshot reads the sensor's CPU time, peak RSS and drop counter.
	snapshot() probe
	// stop stops the sensor and returns what it reported.
	stop() (stopResult, error)
}

// config is one sensor configuration measured against the baseline.
type config struct {
	name string // the driver's name, or "auditd"
	// vigil says the sensor is a vigil; otherwise it is auditd.
	vigil bool
	// argv is vigil's command line (binary first); for auditd, the rules.
	argv []string
	// note says what differs from a plain run (procscan's interval).
	note  string
	start func(ctx context.Context) (instance, error)
}

// configs returns the configurations named in list (comma-separated),
// in that order. The vigil binaries must have been built.
func (b *bench) configs(list string) ([]config, error) {
	var out []config
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch n {
		case "":
			continue
		case "ebpf", "fanotify", "procscan":
			out = append(out, b.vigilConfig(n))
		case "auditd":
			out = append(out, b.auditConfig())
		default:
			return nil, fmt.Errorf("unknown driver %q in -drivers (have ebpf, fanotify, procscan, auditd)", n)
		}
	}
	for i, c := range out {
		for _, d := range out[:i] {
			if d.name == c.name {
				return nil, fmt.Errorf("-drivers names %s twice", c.name)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-drivers names no driver")
	}
	return out, nil
}

// vigilConfig returns the configuration `vigil run --driver name`.
func (b *bench) vigilConfig(name string) config {
	bin := b.vigil
	c := config{name: name, vigil: true}
	if name == "procscan" && b.procscanBin != "" {
		bin = b.procscanBin
		c.note = "poll interval " + b.procscanInterval.String() + " (a build with procscan.DefaultPollInterval changed: vigil has no setting for it)"
	}
	c.argv = append([]string{bin, "run", "--driver", name}, b.vigilArgs...)
	c.start = func(ctx context.Context) (instance, error) {
		return startVigil(ctx, b, c.argv, name == "ebpf")
	}
	return c
}

// runWith starts the sensor of c, runs the workload once, and stops the
// sensor.
func (b *bench) runWith(ctx context.Context, c config, w workload) (runSample, sensorSample, error) {
	var sen sensorSample
	t0 := time.Now()
	inst, err := c.start(ctx)
	if err != nil {
		return runSample{}, sen, err
	}
	sen.Ready = time.Since(t0)
	if c.vigil {
		b.vigilPID = inst.pid()
		defer func() { b.vigilPID = 0 }()
	}
	time.Sleep(b.settle)
	pid := inst.pid()
	cpu0, _ := procCPU(pid)
	var prog0, prog1 map[string]progStat
	if c.name == "ebpf" {
		prog0, _ = bpfProgStats(pid)
	}
	s, runErr := w.run(ctx, b)
	p := inst.snapshot()
	if c.name == "ebpf" {
		prog1, _ = bpfProgStats(pid)
	}
	res, stopErr := inst.stop()
	if err := errors.Join(runErr, stopErr); err != nil {
		return s, sen, err
	}
	sen.Lifetime = res.Lifetime
	sen.CPU = p.CPU - cpu0
	sen.Events, sen.Alerts = res.Events, res.Alerts
	sen.HWM = p.HWM
	sen.Warnings = res.Warnings
	if prog1 != nil {
		sen.Programs = diffProgStats(prog0, prog1)
	}
	sen.Drops, sen.DropsSource = p.Drops, p.DropsSource
	if p.DropsErr != nil {
		sen.DropsSource = "vigil log only (" + p.DropsErr.Error() + ")"
	}
	if res.LogDrops > sen.Drops || sen.DropsSource == "" {
		sen.Drops, sen.DropsSource = max(sen.Drops, res.LogDrops), res.DropsSource
	}
	return s, sen, nil
}
