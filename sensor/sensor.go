// Package sensor wires Vigil's detection pipeline: a driver delivers events,
// the state layer enriches them with process and container context, the
// engine matches them against the rules, and every match becomes an alert
// offered to the outputs.
//
// Everything from the driver's callback to output.Outputs.Emit runs on the
// driver's delivery goroutine, one event at a time; nothing on that path
// waits for a sink.
package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/state"
)

// Recorder receives every event after enrichment (for `vigil run --record`).
// Flush is called about once a second, so that a crash loses little.
type Recorder interface {
	Write(ev *driver.Event) error
	Flush() error
}

// recordFlushInterval is how often the recorder is flushed.
const recordFlushInterval = time.Second

// Config is what a Sensor is made of. Driver, Engine and Outputs are
// required.
type Config struct {
	Driver  driver.Driver
	State   *state.State // nil: events reach the engine as the driver made them
	Engine  *engine.Engine
	Outputs *output.Outputs
	// Recorder, when set, is given every event before matching. A write
	// error stops recording (it is logged once and counted) but never
	// detection.
	Recorder Recorder
	Hostname string
	Logger   *slog.Logger
}

// Stats are the sensor's counters since it started.
type Stats struct {
	Events         uint64                       // events received from the driver
	EventsByType   [driver.NumEventTypes]uint64 // per event type
	Alerts         uint64                       // rule matches turned into alerts
	RecordErrors   uint64                       // events the recorder failed to write
	RecordStopped  bool                         // recording stopped after an error
	AlertsByRule   map[string]uint64            // per rule name
	LastEventNanos int64                        // wall clock of the last event
}

// Sensor runs the pipeline.
type Sensor struct {
	cfg Config
	log *slog.Logger

	// Counters, updated by the delivery goroutine and read by Stats.
	events       atomic.Uint64
	byType       [driver.NumEventTypes]atomic.Uint64
	alerts       atomic.Uint64
	recordErrors atomic.Uint64
	recordOff    atomic.Bool
	lastEvent    atomic.Int64
	rules        atomic.Pointer[ruleSet] // swapped by SetRules (reload)

	retiredMu sync.Mutex
	retired   map[string]uint64 // alerts per rule of rule sets replaced by SetRules

	cev       driver.Event   // reused container event
	matched   []*engine.Rule // reused match buffer
	msg       []byte         // reused message buffer
	lastFlush int64          // when the recorder was last flushed (ns)
}

// ruleSet is the engine in use with its per-rule alert counters.
type ruleSet struct {
	eng    *engine.Engine
	byRule map[*engine.Rule]*atomic.Uint64
}

func newRuleSet(eng *engine.Engine, rules []*engine.Rule) *ruleSet {
	rs := &ruleSet{eng: eng, byRule: make(map[*engine.Rule]*atomic.Uint64, len(rules))}
	for _, r := range rules {
		rs.byRule[r] = new(atomic.Uint64)
	}
	return rs
}

// New returns a Sensor for cfg. The rules are those of cfg.Engine; rules
// lists them so that per-rule alert counters exist up front.
func New(cfg Config, rules []*engine.Rule) (*Sensor, error) {
	if cfg.Driver == nil || cfg.Engine == nil || cfg.Outputs == nil {
		return nil, fmt.Errorf("sensor: driver, engine and outputs are required")
	}
	s := &Sensor{cfg: cfg, log: cfg.Logger, retired: map[string]uint64{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.rules.Store(newRuleSet(cfg.Engine, rules))
	return s, nil
}

// SetRules replaces the engine and its rules (a reload). It may be called
// from any goroutine while the sensor runs: the next event meets the new
// rules and no event is lost. The engine must not be used elsewhere.
func (s *Sensor) SetRules(eng *engine.Engine, rules []*engine.Rule) {
	old := s.rules.Swap(newRuleSet(eng, rules))
	s.retiredMu.Lock()
	for r, c := range old.byRule {
		s.retired[r.Name] += c.Load()
	}
	s.retiredMu.Unlock()
}

// Run delivers events until ctx ends or the driver fails, and returns the
// driver's error (nil when ctx ended it).
func (s *Sensor) Run(ctx context.Context) error {
	err := s.cfg.Driver.Run(ctx, s.Handle)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Handle runs one event through the pipeline. Drivers call it through Run;
// tests and replay may call it directly. It must not be called concurrently.
func (s *Sensor) Handle(ev *driver.Event) {
	s.events.Add(1)
	if int(ev.Type) < len(s.byType) {
		s.byType[ev.Type].Add(1)
	}
	now := time.Now().UnixNano()
	s.lastEvent.Store(now)
	if s.cfg.State != nil {
		s.cfg.State.Handle(ev)
	}
	s.evaluate(ev, now)
	// Containers first seen by this event (see state.MetadataOptions.Events).
	for s.cfg.State != nil && s.cfg.State.NextContainerEvent(&s.cev) {
		s.events.Add(1)
		s.byType[s.cev.Type].Add(1)
		s.evaluate(&s.cev, now)
	}
}

// evaluate records an enriched event and matches it against the rules.
func (s *Sensor) evaluate(ev *driver.Event, now int64) {
	if s.cfg.Recorder != nil && !s.recordOff.Load() {
		err := s.cfg.Recorder.Write(ev)
		if err == nil && now-s.lastFlush > int64(recordFlushInterval) {
			s.lastFlush = now
			err = s.cfg.Recorder.Flush()
		}
		if err != nil {
			s.recordErrors.Add(1)
			s.recordOff.Store(true)
			s.log.Error("recording stopped", "err", err)
		}
	}
	rs := s.rules.Load()
	s.matched = rs.eng.Match(ev, s.matched[:0])
	for _, r := range s.matched {
		s.alert(rs, r, ev)
	}
}

// alert turns a match into an Alert (copying everything it needs out of
// the event) and offers it to the outputs.
func (s *Sensor) alert(rs *ruleSet, r *engine.Rule, ev *driver.Event) {
	s.alerts.Add(1)
	if c := rs.byRule[r]; c != nil {
		c.Add(1)
	}
	s.msg = r.Format.Append(s.msg[:0], ev)
	fields := r.Format.AppendFieldsJSON(nil, ev)
	if len(r.Extra) > 0 {
		fields = appendExtraFields(fields, r.Extra, ev)
	}
	s.cfg.Outputs.Emit(&output.Alert{
		Time:     time.Unix(0, ev.Time),
		Rule:     r.Name,
		Priority: r.Priority,
		Source:   r.Source,
		Tags:     r.Tags,
		Hostname: s.cfg.Hostname,
		Message:  string(s.msg),
		Fields:   fields,
	})
}

// appendExtraFields adds the rule's extra output fields (rendered as
// strings) to the JSON object obj.
func appendExtraFields(obj []byte, extra []engine.OutputField, ev *driver.Event) []byte {
	obj = obj[:len(obj)-1] // drop '}'
	for _, f := range extra {
		if len(obj) > 1 {
			obj = append(obj, ',')
		}
		obj = appendJSONString(obj, f.Key)
		obj = append(obj, ':')
		obj = appendJSONString(obj, string(f.Format.Append(nil, ev)))
	}
	return append(obj, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// Stats returns the counters. It may be called from any goroutine.
func (s *Sensor) Stats() Stats {
	st := Stats{
		Events:         s.events.Load(),
		Alerts:         s.alerts.Load(),
		RecordErrors:   s.recordErrors.Load(),
		RecordStopped:  s.recordOff.Load(),
		LastEventNanos: s.lastEvent.Load(),
		AlertsByRule:   map[string]uint64{},
	}
	for i := range s.byType {
		st.EventsByType[i] = s.byType[i].Load()
	}
	s.retiredMu.Lock()
	for name, n := range s.retired {
		st.AlertsByRule[name] = n
	}
	s.retiredMu.Unlock()
	for r, c := range s.rules.Load().byRule {
		if n := c.Load(); n > 0 {
			st.AlertsByRule[r.Name] += n
		}
	}
	return st
}
