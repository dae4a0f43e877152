package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// idle runs the vigil of c for d with no workload.
func (b *bench) idle(ctx context.Context, c config, d time.Duration) (*idleSample, error) {
	inst, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	time.Sleep(b.settle)
	cpu0, _ := procCPU(inst.pid())
	sleep(ctx, d)
	p := inst.snapshot()
	res, err := inst.stop()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return &idleSample{
		Config:       c.name,
		Duration:     d,
		Events:       res.Events,
		EventsPerSec: float64(res.Events) / res.Lifetime.Seconds(),
		CPUShare:     (p.CPU - cpu0).Seconds() / d.Seconds(),
		HWM:          p.HWM,
		Drops:        max(p.Drops, res.LogDrops),
	}, nil
}

// procscanCPU starts b.procscan.procs idle processes and measures the CPU
// that the procscan vigil c uses among them for b.procscan.time.
func (b *bench) procscanCPU(ctx context.Context, c config) (*procscanCPU, error) {
	n := b.procscan.procs
	progress("procscan CPU: starting %d idle processes", n)
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	for range n {
		p := exec.Command("sleep", "3600")
		p.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := p.Start(); err != nil {
			return nil, fmt.Errorf("starting idle process %d: %w", len(procs)+1, err)
		}
		procs = append(procs, p)
	}
	inst, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	// A second for the process table seeding and the first polls.
	sleep(ctx, time.Second)
	res := &procscanCPU{Interval: b.procscanInterval, Started: n, Processes: processes()}
	if b.procscanBin == "" {
		res.Interval = 0
	}
	cpu0, err0 := procCPU(inst.pid())
	t0 := time.Now()
	sleep(ctx, b.procscan.time)
	cpu1, err1 := procCPU(inst.pid())
	res.Duration = time.Since(t0)
	res.Processes = (res.Processes + processes()) / 2
	p := inst.snapshot()
	st, err2 := inst.stop()
	if err := errors.Join(err0, err1, err2, ctx.Err()); err != nil {
		return nil, err
	}
	res.CPU = cpu1 - cpu0
	res.Share = res.CPU.Seconds() / res.Duration.Seconds()
	res.Events, res.HWM = st.Events, p.HWM
	progress("procscan CPU: %.1f%% of one core over %s with %d processes (interval %s), VmHWM %s",
		100*res.Share, res.Duration.Round(time.Millisecond), res.Processes, res.Interval, mb(res.HWM))
	return res, nil
}

// churnRSS runs b.churn.execs short-lived processes and b.churn.opens file
// opens under the vigil of c and reads its RSS and descriptor count before
// and after.
func (b *bench) churnRSS(ctx context.Context, c config) (churnSample, error) {
	s := churnSample{Config: c.name, Execs: b.churn.execs, Opens: b.churn.opens}
	progress("churn %s: %d execs and %d opens", c.name, s.Execs, s.Opens)
	inst, err := c.start(ctx)
	if err != nil {
		return s, err
	}
	b.vigilPID = inst.pid()
	defer func() { b.vigilPID = 0 }()
	sleep(ctx, b.settle+time.Second)
	pid := inst.pid()
	var errs [6]error
	s.RSSBefore, errs[0] = procRSS(pid)
	s.FDsBefore, errs[1] = procFDs(pid)
	var runErr error
	for _, argv := range [][]string{
		{b.path("loops"), "exec", strconv.Itoa(s.Execs), "/bin/true"},
		{b.path("loops"), "open", strconv.Itoa(s.Opens), b.path("scratch.dat")},
	} {
		if argv[2] == "0" {
			continue
		}
		r, err := b.timed(ctx, "", argv)
		s.Wall += r.Wall
		if runErr = err; err != nil {
			break
		}
	}
	sleep(ctx, b.churn.pause)
	s.RSSAfter, errs[2] = procRSS(pid)
	s.FDsAfter, errs[3] = procFDs(pid)
	s.HWM, errs[4] = procHWM(pid)
	p := inst.snapshot()
	res, stopErr := inst.stop()
	errs[5] = stopErr
	if err := errors.Join(append(errs[:], runErr, ctx.Err())...); err != nil {
		return s, err
	}
	s.Events, s.Drops = res.Events, max(p.Drops, res.LogDrops)
	progress("churn %s: RSS %s → %s (peak %s), descriptors %d → %d, %d events, %d drops, took %s",
		c.name, mb(s.RSSBefore), mb(s.RSSAfter), mb(s.HWM), s.FDsBefore, s.FDsAfter, s.Events, s.Drops, s.Wall.Round(time.Millisecond))
	return s, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
