package sensor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
)

// DropRule is the rule name of drop alerts, as Falco names them, so that
// alert routing written for Falco keeps working.
const DropRule = "Falco internal: syscall event drop"

// ErrDropExit is returned by MonitorDrops when events were dropped and the
// policy's actions include "exit".
var ErrDropExit = errors.New("events were dropped and syscall_event_drops.actions includes exit")

// DropPolicy says what to do when the driver loses events (Falco's
// syscall_event_drops).
type DropPolicy struct {
	// Actions are "ignore", "log", "alert" and/or "exit"; empty means
	// ignore.
	Actions []string
	// Threshold is the fraction of a second's events (dropped ones
	// included) that must be dropped before the actions run; 0 means any
	// drop.
	Threshold float64
	// Rate and MaxBurst limit how often the actions run: a token bucket
	// refilled at Rate per second holding at most MaxBurst (at least 1).
	// Rate 0 means no limit.
	Rate     float64
	MaxBurst int
	// Simulate pretends that every second drops events (for tests).
	Simulate bool
	// Interval is how often drops are checked; 0 means every second.
	Interval time.Duration
}

// MonitorDrops checks drops() (the driver's running count of lost events)
// every interval until ctx ends, and runs the policy's actions when the
// share of dropped events in the interval exceeds the threshold. It returns
// ErrDropExit when an "exit" action ran, nil when ctx ended.
func (s *Sensor) MonitorDrops(ctx context.Context, drops func() uint64, p DropPolicy) error {
	if len(p.Actions) == 0 || (len(p.Actions) == 1 && p.Actions[0] == "ignore") {
		return nil
	}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tokens, maxTokens := float64(max(p.MaxBurst, 1)), float64(max(p.MaxBurst, 1))
	lastDrops, lastEvents, last := drops(), s.events.Load(), time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			d, ev := drops(), s.events.Load()
			nDrops, nEvents := d-lastDrops, ev-lastEvents
			lastDrops, lastEvents = d, ev
			if p.Simulate && nDrops == 0 {
				nDrops = 1
			}
			if p.Rate > 0 {
				tokens = min(maxTokens, tokens+now.Sub(last).Seconds()*p.Rate)
			}
			last = now
			total := nDrops + nEvents
			if nDrops == 0 || float64(nDrops) <= p.Threshold*float64(total) {
				continue
			}
			if p.Rate > 0 {
				if tokens < 1 {
					continue
				}
				tokens--
			}
			if s.dropActions(p.Actions, nDrops, total, now) {
				return ErrDropExit
			}
		}
	}
}

// dropActions runs the actions for one interval with drops; it reports
// whether one of them is "exit".
func (s *Sensor) dropActions(actions []string, nDrops, nEvents uint64, now time.Time) bool {
	msg := fmt.Sprintf("%s. %d system calls dropped in last second.", DropRule, nDrops)
	if slices.Contains(actions, "log") {
		s.log.Error(msg, "n_drops", nDrops, "n_evts", nEvents)
	}
	if slices.Contains(actions, "alert") {
		s.alerts.Add(1)
		s.cfg.Outputs.Emit(&output.Alert{
			Time:     now,
			Rule:     DropRule,
			Priority: engine.PriorityCritical,
			Source:   "syscall",
			Hostname: s.cfg.Hostname,
			Message:  fmt.Sprintf("%s(n_drops=%d n_evts=%d)", msg, nDrops, nEvents),
			Fields:   fmt.Appendf(nil, `{"n_drops":%d,"n_evts":%d}`, nDrops, nEvents),
		})
	}
	return slices.Contains(actions, "exit")
}
