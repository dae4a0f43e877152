package driver

import (
	"math/bits"
	"strings"
)

// EventType identifies the kind of an event with Falco's names (evt.type):
// syscall names such as "execve" or "openat", and meta events such as
// "procexit" or "container".
type EventType uint16

// NumEventTypes is the number of known event types, including EventUnknown.
const NumEventTypes = len(eventNames)

// EventUnknown is the zero EventType.
const EventUnknown EventType = 0

var eventByName = func() map[string]EventType {
	m := make(map[string]EventType, NumEventTypes)
	for i, n := range eventNames {
		m[n] = EventType(i)
	}
	return m
}()

// String returns Falco's name for the event type.
func (t EventType) String() string {
	if int(t) < NumEventTypes {
		return eventNames[t]
	}
	return "unknown"
}

// EventTypeByName returns the event type with Falco's name n.
// It returns false when the name is not known.
func EventTypeByName(n string) (EventType, bool) {
	t, ok := eventByName[n]
	return t, ok
}

// MustEventType returns the event type named n and panics when it is not
// known. It is meant for package-level tables of built-in names.
func MustEventType(n string) EventType {
	t, ok := eventByName[n]
	if !ok {
		panic("driver: unknown event type " + n)
	}
	return t
}

// EventTypeSet is a set of event types.
type EventTypeSet struct {
	w [(NumEventTypes + 63) / 64]uint64
}

// AllEventTypes returns the set of every known event type except
// EventUnknown.
func AllEventTypes() EventTypeSet {
	var s EventTypeSet
	for t := 1; t < NumEventTypes; t++ {
		s.Add(EventType(t))
	}
	return s
}

// NewEventTypeSet returns a set holding types.
func NewEventTypeSet(types ...EventType) EventTypeSet {
	var s EventTypeSet
	for _, t := range types {
		s.Add(t)
	}
	return s
}

// Add puts t in the set.
func (s *EventTypeSet) Add(t EventType) {
	if int(t) < NumEventTypes {
		s.w[t/64] |= 1 << (t % 64)
	}
}

// Has reports whether t is in the set.
func (s *EventTypeSet) Has(t EventType) bool {
	return int(t) < NumEventTypes && s.w[t/64]&(1<<(t%64)) != 0
}

// Union returns s ∪ o.
func (s EventTypeSet) Union(o EventTypeSet) EventTypeSet {
	for i := range s.w {
		s.w[i] |= o.w[i]
	}
	return s
}

// Intersect returns s ∩ o.
func (s EventTypeSet) Intersect(o EventTypeSet) EventTypeSet {
	for i := range s.w {
		s.w[i] &= o.w[i]
	}
	return s
}

// Complement returns every known event type not in s.
func (s EventTypeSet) Complement() EventTypeSet {
	return AllEventTypes().Intersect(EventTypeSet{w: notWords(s.w)})
}

func notWords(w [(NumEventTypes + 63) / 64]uint64) [(NumEventTypes + 63) / 64]uint64 {
	for i := range w {
		w[i] = ^w[i]
	}
	return w
}

// Len returns the number of types in the set.
func (s EventTypeSet) Len() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// Empty reports whether the set is empty.
func (s EventTypeSet) Empty() bool { return s.Len() == 0 }

// Types returns the members in EventType order.
func (s EventTypeSet) Types() []EventType {
	out := make([]EventType, 0, s.Len())
	for t := 1; t < NumEventTypes; t++ {
		if s.Has(EventType(t)) {
			out = append(out, EventType(t))
		}
	}
	return out
}

// Names returns the members' names in EventType order.
func (s EventTypeSet) Names() []string {
	ts := s.Types()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

// String returns the names, comma-separated, or "all" for every type.
func (s EventTypeSet) String() string {
	if s == AllEventTypes() {
		return "all"
	}
	return strings.Join(s.Names(), ", ")
}
