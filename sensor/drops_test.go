package sensor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
)

func dropSensor(t *testing.T, sink output.Sink) *Sensor {
	t.Helper()
	outs := output.New([]output.Sink{sink}, nil)
	t.Cleanup(func() { _ = outs.Close(context.Background()) })
	s, err := New(Config{Driver: &fakeDriver{}, Engine: engine.New(nil, nil), Outputs: outs, Hostname: "h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDropAlert(t *testing.T) {
	sink := &captureSink{got: make(chan struct{}, 100)}
	s := dropSensor(t, sink)
	var drops atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The driver loses 7 events between any two checks.
		done <- s.MonitorDrops(ctx, func() uint64 { return drops.Add(7) },
			DropPolicy{Actions: []string{"log", "alert"}, Interval: time.Millisecond})
	}()
	<-sink.got
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	line := sink.lines[0]
	sink.mu.Unlock()
	if !strings.Contains(line, "Critical "+DropRule+". 7 system calls dropped in last second.(n_drops=7 n_evts=7)") {
		t.Errorf("drop alert: %q", line)
	}
}

func TestDropExitAndThreshold(t *testing.T) {
	sink := &captureSink{got: make(chan struct{}, 100)}
	s := dropSensor(t, sink)
	var drops atomic.Uint64
	// Below the threshold (1 drop in 1001 events, threshold 10%): nothing,
	// until the share rises above it.
	s.events.Add(1000)
	drops.Add(1)
	err := s.MonitorDrops(context.Background(), func() uint64 {
		if s.events.Load() < 2000 {
			s.events.Add(1000) // a busy driver: many events, few drops
			drops.Add(1)
		} else {
			drops.Add(500)
		}
		return drops.Load()
	}, DropPolicy{Actions: []string{"exit"}, Threshold: 0.1, Interval: time.Millisecond})
	if !errors.Is(err, ErrDropExit) {
		t.Fatalf("got %v, want ErrDropExit", err)
	}
	if s.events.Load() < 2000 {
		t.Error("the exit action ran below the threshold")
	}
}

func TestDropSimulateAndRateLimit(t *testing.T) {
	sink := &captureSink{got: make(chan struct{}, 100)}
	s := dropSensor(t, sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = s.MonitorDrops(ctx, func() uint64 { return 0 },
			DropPolicy{Actions: []string{"alert"}, Simulate: true, Rate: 1e-9, MaxBurst: 2, Interval: time.Millisecond})
	}()
	<-sink.got
	<-sink.got
	// The bucket held two tokens and refills at one per ~30 years: no
	// third alert, however long the monitor runs.
	cancel()
	if n := s.alerts.Load(); n != 2 {
		t.Errorf("%d drop alerts, want 2 (rate-limited)", n)
	}
}
