package output

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a sink that hands every line to a channel (buffered enough for
// the test) and records Close.
type recorder struct {
	name   string
	lines  chan string
	closed chan struct{}
}

func newRecorder(name string, n int) *recorder {
	return &recorder{name: name, lines: make(chan string, n), closed: make(chan struct{})}
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Write(_ context.Context, _ *Alert, line []byte) error {
	r.lines <- string(line)
	return nil
}
func (r *recorder) Close() error { close(r.closed); return nil }

// blocker is a sink whose Write signals started, then waits for release (or
// for ctx, when honourCtx).
type blocker struct {
	started   chan struct{}
	release   chan struct{}
	honourCtx bool
	once      sync.Once
	writes    int
}

func newBlocker(honourCtx bool) *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{}), honourCtx: honourCtx}
}

func (b *blocker) Name() string { return "blocker" }
func (b *blocker) Write(ctx context.Context, _ *Alert, _ []byte) error {
	b.once.Do(func() { close(b.started) })
	b.writes++
	if b.honourCtx {
		select {
		case <-b.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	<-b.release
	return nil
}
func (b *blocker) Close() error { return nil }

// failer fails every write.
type failer struct{}

func (failer) Name() string                                { return "failer" }
func (failer) Write(context.Context, *Alert, []byte) error { return errors.New("boom") }
func (failer) Close() error                                { return errors.New("close boom") }

func alertN(i int) *Alert {
	a := testAlert()
	a.Message = fmt.Sprintf("alert %d", i)
	return a
}

func sinkStats(t *testing.T, o *Outputs, name string) SinkStats {
	t.Helper()
	for _, s := range o.Stats().Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %q in stats", name)
	return SinkStats{}
}

func TestFanOut(t *testing.T) {
	const n = 50
	a, b := newRecorder("a", n), newRecorder("b", n)
	f := &Formatter{Location: testZone}
	o := New([]Sink{a, b}, &Options{Formatter: f})
	for i := range n {
		o.Emit(alertN(i))
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*recorder{a, b} {
		<-r.closed
		close(r.lines)
		i := 0
		for line := range r.lines {
			if want := string(f.AppendText(nil, alertN(i))); line != want {
				t.Errorf("%s line %d = %q, want %q", r.name, i, line, want)
			}
			i++
		}
		if i != n {
			t.Errorf("%s got %d lines, want %d", r.name, i, n)
		}
		if s := sinkStats(t, o, r.name); s.Delivered != n || s.Dropped != 0 || s.Errors != 0 || s.Queued != 0 || s.Capacity != DefaultQueueCapacity {
			t.Errorf("%s stats %+v", r.name, s)
		}
	}
	if s := o.Stats(); s.Emitted != n {
		t.Errorf("emitted %d", s.Emitted)
	}
}

// TestBlockedSink checks that a sink that never returns neither blocks Emit
// nor the other sinks, and that its overflow is counted.
func TestBlockedSink(t *testing.T) {
	const n, capacity = 20, 3
	blk := newBlocker(false)
	rec := newRecorder("rec", n)
	o := New([]Sink{blk, rec}, &Options{QueueCapacity: capacity})

	o.Emit(alertN(0))
	<-blk.started // the blocker holds alert 0; its queue is empty
	<-rec.lines
	// Each alert reaches the healthy sink while the blocker stays stuck
	// (the healthy sink's queue has the same small capacity, so wait for
	// each one before emitting the next).
	emitted := make(chan struct{})
	go func() {
		for i := 1; i < n; i++ {
			o.Emit(alertN(i))
			<-rec.lines
		}
		close(emitted)
	}()
	select {
	case <-emitted:
	case <-time.After(time.Minute): // a safety net, not a timing assertion
		t.Fatal("Emit or the healthy sink blocked behind a stuck sink")
	}
	s := sinkStats(t, o, "blocker")
	if s.Dropped != n-1-capacity || s.Queued != capacity {
		t.Errorf("blocker stats %+v, want %d dropped and %d queued", s, n-1-capacity, capacity)
	}
	close(blk.release)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := sinkStats(t, o, "blocker"); s.Delivered != 1+capacity || s.Queued != 0 {
		t.Errorf("blocker stats after close %+v", s)
	}
	if s := sinkStats(t, o, "rec"); s.Delivered != n || s.Dropped != 0 {
		t.Errorf("rec stats %+v", s)
	}
}

// TestCloseDeadline checks that Close gives up when its context ends,
// cancels the write in progress and counts the queued alerts as abandoned.
func TestCloseDeadline(t *testing.T) {
	blk := newBlocker(true)
	o := New([]Sink{blk}, &Options{QueueCapacity: 8})
	for i := range 4 {
		o.Emit(alertN(i))
		if i == 0 {
			<-blk.started
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := o.Close(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	<-o.queues[0].done // the cancelled write returns on its own
	if s := o.Stats().Sinks[0]; s.Abandoned != 4 || s.Delivered != 0 || s.Queued != 0 || s.Errors != 0 {
		t.Errorf("stats %+v, want 4 abandoned", s)
	}
	if blk.writes != 1 {
		t.Errorf("%d writes after the deadline, want only the one in progress", blk.writes)
	}
}

// TestCloseStuckSink checks that Close returns at its deadline even when a
// sink ignores its context, and names the sink.
func TestCloseStuckSink(t *testing.T) {
	blk := newBlocker(false)
	defer close(blk.release)
	rec := newRecorder("rec", 4)
	o := New([]Sink{blk, rec}, nil)
	o.Emit(alertN(0))
	o.Emit(alertN(1))
	<-blk.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := o.Close(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	if got := err.Error(); !strings.Contains(got, "blocker") {
		t.Errorf("error %q does not name the stuck sink", got)
	}
	if s := sinkStats(t, o, "blocker"); s.Abandoned != 1 || s.Queued != 0 {
		t.Errorf("blocker stats %+v, want the queued alert abandoned", s)
	}
}

func TestEmitAfterClose(t *testing.T) {
	rec := newRecorder("rec", 1)
	o := New([]Sink{rec}, nil)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.Emit(alertN(0))
	if s := o.Stats(); s.Emitted != 1 || s.Sinks[0].Dropped != 1 || s.Sinks[0].Delivered != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := o.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestSinkErrors(t *testing.T) {
	o := New([]Sink{failer{}}, nil)
	o.Emit(alertN(0))
	o.Emit(alertN(1))
	err := o.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "close boom") {
		t.Errorf("Close = %v, want the sink's close error", err)
	}
	if s := o.Stats().Sinks[0]; s.Errors != 2 || s.Delivered != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	rec := newRecorder("rec", 10)
	o := New([]Sink{rec}, &Options{Rate: 1, MaxBurst: 2, now: func() time.Time { return now }})
	for i := range 5 {
		o.Emit(alertN(i))
	}
	now = now.Add(1500 * time.Millisecond) // 1.5 tokens back
	for i := range 3 {
		o.Emit(alertN(5 + i))
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := o.Stats(); s.Emitted != 8 || s.RateLimited != 5 || s.Sinks[0].Delivered != 3 {
		t.Errorf("stats %+v, want 8 emitted, 5 rate-limited, 3 delivered", s)
	}
}

// TestConcurrentEmitClose races emitters against Close (run with -race):
// every alert is delivered, dropped or abandoned, never lost or sent on a
// closed channel.
func TestConcurrentEmitClose(t *testing.T) {
	const emitters, each = 4, 200
	rec := newRecorder("rec", emitters*each)
	o := New([]Sink{rec}, &Options{QueueCapacity: 16})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range emitters {
		wg.Go(func() {
			<-start
			for i := range each {
				o.Emit(alertN(i))
			}
		})
	}
	close(start)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s := o.Stats()
	k := s.Sinks[0]
	if s.Emitted != emitters*each || k.Delivered+k.Dropped+k.Abandoned != s.Emitted {
		t.Errorf("stats %+v do not add up", s)
	}
}
