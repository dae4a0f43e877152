package state

import (
	"context"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// MetadataFunc looks up a container's metadata from its runtime and fills
// c, which holds the container's id, type and pod uid from its cgroup. It
// runs on its own goroutine and must honour ctx. An error leaves the
// container's metadata unavailable; the lookup is retried with backoff.
type MetadataFunc func(ctx context.Context, id CgroupID, c *driver.Container) error

// MetadataOptions configure container metadata lookups and container
// events. The zero value gives the defaults documented on each field.
type MetadataOptions struct {
	// Lookup fetches metadata; nil leaves containers with their ids only.
	Lookup MetadataFunc
	// Wait bounds how long Handle waits, on the first event of a new
	// container, for its metadata, so that the first alerts of a
	// container carry it; default 150ms, negative: no wait. Handle never
	// waits for a container's metadata again.
	Wait time.Duration
	// Timeout bounds one lookup; default 5s.
	Timeout time.Duration
	// MaxConcurrent bounds the lookups in flight; default 16.
	MaxConcurrent int
	// Events queues a container event (evt.type=container) for every new
	// container, to be taken with NextContainerEvent: when its metadata
	// arrives or its first lookup fails (or at once without Lookup).
	Events bool
}

// Lookup retry bounds (in event time).
const (
	metaMinRetry = int64(time.Second)
	metaMaxRetry = int64(time.Minute)
	metaMaxTries = 8
	// maxContainerEvents bounds the queue of container events not taken.
	maxContainerEvents = 1024
)

// containerEventType is evt.type=container.
var containerEventType, _ = driver.EventTypeByName("container")

// metaState is a State's metadata configuration and queues.
type metaState struct {
	opts   MetadataOptions
	on     bool
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	events []*container // containers whose event is due
}

// Where a container's metadata stands.
const (
	metaNew     uint8 = iota // not seen by Handle yet
	metaLooking              // a lookup is in flight
	metaRetry                // the last lookup failed; retry at retryAt
	metaDone                 // found, given up, or no lookups configured
)

// contMeta is a container's metadata lookup state.
type contMeta struct {
	state     uint8
	announced bool // its container event was queued
	tries     int
	retryAt   int64
	firstPid  int64
	l         *metaLookup
}

// metaLookup is one lookup in flight: the goroutine fills c and err, then
// closes done.
type metaLookup struct {
	done chan struct{}
	c    driver.Container
	err  error
}

// SetMetadata enables container metadata lookups and container events
// (see MetadataOptions); lookups start at once for the containers already
// in the cache. Call it before the first Handle; CloseMetadata stops the
// lookups in flight.
func (s *State) SetMetadata(o *MetadataOptions) {
	if o != nil {
		s.meta.opts = *o
	}
	mo := &s.meta.opts
	if mo.Wait == 0 {
		mo.Wait = 150 * time.Millisecond
	}
	if mo.Timeout <= 0 {
		mo.Timeout = 5 * time.Second
	}
	if mo.MaxConcurrent <= 0 {
		mo.MaxConcurrent = 16
	}
	s.meta.on = true
	s.meta.ctx, s.meta.cancel = context.WithCancel(context.Background())
	s.meta.sem = make(chan struct{}, mo.MaxConcurrent)
	if mo.Lookup != nil {
		for _, c := range s.containers {
			if c.m.state == metaNew {
				s.startLookup(c)
			}
		}
	}
}

// CloseMetadata cancels the lookups in flight.
func (s *State) CloseMetadata() {
	if s.meta.cancel != nil {
		s.meta.cancel()
	}
}

// MetaStats are counters of container metadata lookups.
type MetaStats struct {
	Lookups      uint64 // lookups started
	Found        uint64 // lookups that filled metadata
	Failed       uint64 // lookups that failed
	WaitTimeouts uint64 // first events that went on without the metadata
	Events       uint64 // container events queued
	EventDrops   uint64 // container events dropped from a full queue
}

// MetaStats returns the metadata counters.
func (s *State) MetaStats() MetaStats { return s.metaStats }

// metaHandle advances the metadata of e's container c, which is not
// metaDone: on the first event, start a lookup and wait for it up to
// MetadataOptions.Wait; later, take a finished lookup or start a due retry.
func (s *State) metaHandle(c *container, pid, now int64) {
	if !s.meta.on {
		return
	}
	switch c.m.state {
	case metaNew:
		c.m.firstPid = pid
		if s.meta.opts.Lookup == nil {
			c.m.state = metaDone
			s.announce(c)
			return
		}
		s.startLookup(c)
		if w := s.meta.opts.Wait; w > 0 {
			t := time.NewTimer(w)
			select {
			case <-c.m.l.done:
			case <-t.C:
				s.metaStats.WaitTimeouts++
			}
			t.Stop()
		}
		s.poll(c, now)
	case metaLooking:
		s.poll(c, now)
	case metaRetry:
		if now == 0 {
			now = time.Now().UnixNano()
		}
		if now >= c.m.retryAt {
			s.startLookup(c)
		}
	}
}

// startLookup starts a lookup of c's metadata on a new goroutine.
func (s *State) startLookup(c *container) {
	l := &metaLookup{done: make(chan struct{}), c: driver.Container{
		Has: c.c.Has, ID: c.c.ID, FullID: c.c.FullID, Type: c.c.Type, PodUID: c.c.PodUID,
	}}
	id := CgroupID{FullID: c.c.FullID, Type: c.c.Type, PodUID: c.c.PodUID}
	c.m.l, c.m.state = l, metaLooking
	s.metaStats.Lookups++
	ctx, fn, timeout, sem := s.meta.ctx, s.meta.opts.Lookup, s.meta.opts.Timeout, s.meta.sem
	go func() {
		defer close(l.done)
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
		case <-ctx.Done():
			l.err = ctx.Err()
			return
		}
		lctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		l.err = fn(lctx, id, &l.c)
	}()
}

// poll applies c's lookup if it has finished.
func (s *State) poll(c *container, now int64) {
	l := c.m.l
	select {
	case <-l.done:
	default:
		return
	}
	c.m.l = nil
	if l.err == nil {
		s.metaStats.Found++
		nc := l.c
		nc.Has |= driver.ContHasID
		nc.ID, nc.FullID = c.c.ID, c.c.FullID
		if nc.PodUID == "" {
			nc.PodUID = c.c.PodUID
		}
		c.c = nc
		c.m.state = metaDone
	} else {
		s.metaStats.Failed++
		c.m.tries++
		if c.m.tries >= metaMaxTries {
			c.m.state = metaDone
		} else {
			if now == 0 {
				now = time.Now().UnixNano()
			}
			c.m.state = metaRetry
			c.m.retryAt = now + min(metaMinRetry<<(c.m.tries-1), metaMaxRetry)
		}
	}
	s.announce(c)
}

// announce queues c's container event, once.
func (s *State) announce(c *container) {
	if !s.meta.opts.Events || c.m.announced {
		return
	}
	c.m.announced = true
	if len(s.meta.events) >= maxContainerEvents {
		s.metaStats.EventDrops++
		copy(s.meta.events, s.meta.events[1:])
		s.meta.events = s.meta.events[:len(s.meta.events)-1]
	}
	s.meta.events = append(s.meta.events, c)
	s.metaStats.Events++
}

// NextContainerEvent takes the next due container event into ev (cleared
// first) and reports whether there was one. Call it after each Handle
// until it returns false; the event describes the container (with its
// metadata when the lookup succeeded) and, while it lives, the first
// process seen in it, and is valid until the next Handle.
func (s *State) NextContainerEvent(ev *driver.Event) bool {
	if len(s.meta.events) == 0 {
		return false
	}
	c := s.meta.events[0]
	s.meta.events[0] = nil
	s.meta.events = s.meta.events[1:]
	if len(s.meta.events) == 0 {
		s.meta.events = s.meta.events[:0:0]
	}
	*ev = driver.Event{Type: containerEventType, Time: time.Now().UnixNano(), Container: &c.c}
	if e := s.procs[c.m.firstPid]; e != nil && e.cont == c {
		ev.Pid, ev.Tid, ev.Proc = e.proc.Pid, e.proc.Pid, &e.proc
	}
	return true
}
