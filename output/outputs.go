package output

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sink delivers formatted alerts somewhere. Outputs calls Write and Close
// from one goroutine per sink, never concurrently.
type Sink interface {
	// Name identifies the sink in statistics ("stdout", "file", "http").
	Name() string
	// Write delivers one alert. line is the alert as the Outputs'
	// formatter rendered it, without a trailing newline; a and line are
	// shared with the other sinks and must not be modified, but they may
	// be retained. Write should return when ctx is done; ctx is cancelled
	// when Outputs.Close runs out of time.
	Write(ctx context.Context, a *Alert, line []byte) error
	// Close flushes and releases the sink. It is called once, after the
	// last Write.
	Close() error
}

// DefaultQueueCapacity is the per-sink queue capacity when
// Options.QueueCapacity is 0.
const DefaultQueueCapacity = 1024

// Options configures Outputs. The zero value (or nil) means Falco's
// default formatting, DefaultQueueCapacity and no rate limit.
type Options struct {
	// Formatter renders each alert once for all sinks; nil means
	// DefaultFormatter() (text).
	Formatter *Formatter
	// QueueCapacity is the number of alerts each sink may have waiting;
	// when its queue is full an alert is dropped for that sink. 0 means
	// DefaultQueueCapacity.
	QueueCapacity int
	// Rate and MaxBurst enable Falco's token-bucket alert rate limit
	// (outputs.rate, outputs.max_burst): up to MaxBurst alerts at once,
	// refilled at Rate alerts per second. Alerts over the limit are
	// dropped for every sink and counted in Stats.RateLimited. Rate 0
	// means no limit; MaxBurst below 1 means 1.
	Rate     float64
	MaxBurst int

	// now is the rate limiter's clock (tests); nil means time.Now.
	now func() time.Time
}

// Stats are counters of an Outputs, as from Outputs.Stats.
type Stats struct {
	// Emitted counts alerts passed to Emit.
	Emitted uint64
	// RateLimited counts alerts dropped by the rate limit.
	RateLimited uint64
	// Sinks has one entry per sink, in the order given to New.
	Sinks []SinkStats
}

// SinkStats are one sink's counters.
type SinkStats struct {
	Name string
	// Delivered counts successful writes.
	Delivered uint64
	// Errors counts writes that failed (after the sink's own retries).
	Errors uint64
	// Dropped counts alerts not queued because the queue was full or the
	// Outputs was closed.
	Dropped uint64
	// Abandoned counts queued alerts not delivered because Close ran out
	// of time.
	Abandoned uint64
	// Queued is the number of alerts waiting in the queue now, and
	// Capacity the queue's size.
	Queued   int
	Capacity int
}

// Outputs fans alerts out to sinks, each behind its own bounded queue and
// goroutine. Emit may be called from several goroutines.
type Outputs struct {
	format  *Formatter
	queues  []*queue
	limiter *tokenBucket

	emitted     atomic.Uint64
	rateLimited atomic.Uint64

	// mu orders Emit (read side) against Close (write side) so that no
	// alert is queued after the queues are closed.
	mu     sync.RWMutex
	closed bool

	cancel context.CancelFunc
}

type item struct {
	alert *Alert
	line  []byte
}

type queue struct {
	sink Sink
	ch   chan item
	done chan struct{}

	delivered, errors, dropped, abandoned atomic.Uint64
	closeErr                              error // set by run before done is closed
}

// New starts one goroutine per sink and returns the Outputs that feeds
// them. opts may be nil. Close must be called to stop the goroutines.
func New(sinks []Sink, opts *Options) *Outputs {
	if opts == nil {
		opts = &Options{}
	}
	o := &Outputs{format: opts.Formatter}
	if o.format == nil {
		o.format = DefaultFormatter()
	}
	if opts.Rate > 0 {
		o.limiter = newTokenBucket(opts.Rate, opts.MaxBurst, opts.now)
	}
	capacity := opts.QueueCapacity
	if capacity <= 0 {
		capacity = DefaultQueueCapacity
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	for _, s := range sinks {
		q := &queue{sink: s, ch: make(chan item, capacity), done: make(chan struct{})}
		o.queues = append(o.queues, q)
		go q.run(ctx)
	}
	return o
}

// Emit formats a once, on the caller's goroutine, and offers it to every
// sink without blocking: a sink whose queue is full, or an Outputs already
// closed, drops it and counts the drop. Emit takes ownership of a, which
// must not be modified afterwards.
func (o *Outputs) Emit(a *Alert) {
	o.emitted.Add(1)
	if o.limiter != nil && !o.limiter.take() {
		o.rateLimited.Add(1)
		return
	}
	// One allocation per alert: the line is shared by every sink.
	size := 128 + len(a.Rule) + len(a.Message) + len(a.Hostname)
	if o.format.JSON {
		size += len(a.Message) + len(a.Fields) + 16*len(a.Tags)
	}
	it := item{alert: a, line: o.format.Append(make([]byte, 0, size), a)}
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, q := range o.queues {
		if o.closed {
			q.dropped.Add(1)
			continue
		}
		select {
		case q.ch <- it:
		default:
			q.dropped.Add(1)
		}
	}
}

// Stats returns a snapshot of the counters.
func (o *Outputs) Stats() Stats {
	s := Stats{
		Emitted:     o.emitted.Load(),
		RateLimited: o.rateLimited.Load(),
		Sinks:       make([]SinkStats, len(o.queues)),
	}
	for i, q := range o.queues {
		s.Sinks[i] = SinkStats{
			Name:      q.sink.Name(),
			Delivered: q.delivered.Load(),
			Errors:    q.errors.Load(),
			Dropped:   q.dropped.Load(),
			Abandoned: q.abandoned.Load(),
			Queued:    len(q.ch),
			Capacity:  cap(q.ch),
		}
	}
	return s
}

// ErrClosed is returned by a second Close.
var ErrClosed = errors.New("output: already closed")

// Close stops accepting alerts, lets every sink deliver what it has queued
// and closes the sinks, waiting until ctx is done at the latest. When ctx
// ends first, the writes in progress are cancelled, the alerts still queued
// are counted as abandoned, and Close returns an error wrapping ctx's
// error without waiting further (a sink whose Write ignores its context
// may finish later on its own goroutine). Errors from the sinks' Close
// methods are joined into the result.
func (o *Outputs) Close(ctx context.Context) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	o.closed = true
	for _, q := range o.queues {
		close(q.ch)
	}
	o.mu.Unlock()

	var errs []error
	for i, q := range o.queues {
		select {
		case <-q.done:
			if q.closeErr != nil {
				errs = append(errs, fmt.Errorf("output: close %s: %w", q.sink.Name(), q.closeErr))
			}
			continue
		case <-ctx.Done():
		}
		// Out of time: stop every write in progress and count what is left.
		o.cancel()
		var pending []string
		for _, q := range o.queues[i:] {
			for range q.ch {
				q.abandoned.Add(1)
			}
			select {
			case <-q.done:
				if q.closeErr != nil {
					errs = append(errs, fmt.Errorf("output: close %s: %w", q.sink.Name(), q.closeErr))
				}
			default:
				pending = append(pending, q.sink.Name())
			}
		}
		if len(pending) > 0 {
			errs = append(errs, fmt.Errorf("output: close: sinks %v did not finish: %w", pending, ctx.Err()))
		} else {
			errs = append(errs, fmt.Errorf("output: close: %w", ctx.Err()))
		}
		break
	}
	o.cancel()
	return errors.Join(errs...)
}

// run delivers the queue's alerts until the queue is closed and drained,
// then closes the sink. Once ctx is cancelled, remaining alerts are counted
// as abandoned instead of written.
func (q *queue) run(ctx context.Context) {
	defer close(q.done)
	for it := range q.ch {
		if ctx.Err() != nil {
			q.abandoned.Add(1)
			continue
		}
		err := q.sink.Write(ctx, it.alert, it.line)
		switch {
		case err == nil:
			q.delivered.Add(1)
		case ctx.Err() != nil:
			q.abandoned.Add(1)
		default:
			q.errors.Add(1)
		}
	}
	q.closeErr = q.sink.Close()
}

// tokenBucket is Falco's token bucket: it starts full with maxBurst tokens
// and refills at rate tokens per second.
type tokenBucket struct {
	mu       sync.Mutex
	rate     float64
	max      float64
	tokens   float64
	last     time.Time
	now      func() time.Time
	hasStart bool
}

func newTokenBucket(rate float64, maxBurst int, now func() time.Time) *tokenBucket {
	if maxBurst < 1 {
		maxBurst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &tokenBucket{rate: rate, max: float64(maxBurst), tokens: float64(maxBurst), now: now}
}

// take claims one token and reports whether there was one.
func (b *tokenBucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	if b.hasStart {
		if d := t.Sub(b.last); d > 0 {
			b.tokens = min(b.max, b.tokens+d.Seconds()*b.rate)
		}
	}
	b.hasStart = true
	b.last = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
