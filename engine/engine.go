package engine

import (
	"slices"

	"github.com/vigilsec/vigil/driver"
)

// Options tune how an Engine matches events.
type Options struct {
	// MatchAll reports every matching rule for an event (Falco's
	// rule_matching: all). By default only the first matching rule, in
	// load order, is reported (rule_matching: first).
	MatchAll bool
}

// Engine matches events against a set of enabled rules. Rules are indexed by
// event type, so an event only meets the rules whose condition can match its
// type. An Engine is used by one goroutine at a time.
type Engine struct {
	byType   [driver.NumEventTypes][]*Rule
	gens     []*uint64 // evaluation generations of the rules' compilers
	types    driver.EventTypeSet
	matchAll bool
}

// New returns an Engine over the enabled rules in rules, which must be
// compiled (Filter set). Load order is kept within each event type.
func New(rules []*Rule, opts *Options) *Engine {
	e := &Engine{}
	if opts != nil {
		e.matchAll = opts.MatchAll
	}
	for _, r := range rules {
		if !r.Enabled || r.Filter == nil {
			continue
		}
		if !slices.Contains(e.gens, r.Filter.gen) {
			e.gens = append(e.gens, r.Filter.gen)
		}
		e.types = e.types.Union(r.EventTypes)
		for _, t := range r.EventTypes.Types() {
			e.byType[t] = append(e.byType[t], r)
		}
	}
	return e
}

// EventTypes returns the union of the event types of the enabled rules:
// the set a driver needs to deliver (it may filter everything else in the
// kernel).
func (e *Engine) EventTypes() driver.EventTypeSet { return e.types }

// Match appends to dst the rules that ev satisfies (at most one unless
// MatchAll) and returns it.
func (e *Engine) Match(ev *driver.Event, dst []*Rule) []*Rule {
	if int(ev.Type) >= len(e.byType) {
		return dst
	}
	for _, g := range e.gens {
		*g++
	}
	for _, r := range e.byType[ev.Type] {
		if r.Filter.eval(ev) {
			dst = append(dst, r)
			if !e.matchAll {
				break
			}
		}
	}
	return dst
}
