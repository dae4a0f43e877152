package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// Name is the name of the replay driver.
const Name = "replay"

// Options configure the replay driver.
type Options struct {
	// Speed paces the replay by the events' timestamps: 0 (the default)
	// emits events as fast as possible, 1 at the pace they were recorded,
	// 2 twice as fast, and so on.
	Speed float64
}

// Driver replays a recording file. It implements driver.Driver.
type Driver struct {
	path  string
	speed float64
	hdr   Header
	cov   driver.Coverage

	mu     sync.Mutex
	f      *os.File
	closed bool
}

var _ driver.Driver = (*Driver)(nil)

// Open opens the recording at path and reads its header and summary. opts
// may be nil. It returns the error of opening the file, or a *FormatError
// when the header is damaged. A recording without an intact end record
// opens (its events replay up to the damage), with a coverage of every
// event type and field.
func Open(path string, opts *Options) (*Driver, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Speed < 0 {
		return nil, fmt.Errorf("replay: negative speed %v", o.Speed)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	d := &Driver{path: path, speed: o.Speed, f: f}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	hdr, sum, err := ReadSummary(f, st.Size())
	var fe *FormatError
	switch {
	case err == nil:
		d.cov = driver.Coverage{
			Events:          sum.EventTypes,
			Fields:          sum.Fields,
			ProcFields:      sum.ProcFields,
			ContainerFields: sum.ContainerFields,
		}
	case errors.As(err, &fe) && fe.Record != 0:
		// The header is sound; the damage shows when the events are read.
		d.cov = driver.Coverage{
			Events:          driver.AllEventTypes(),
			Fields:          knownEventMask,
			ProcFields:      knownProcessMask,
			ContainerFields: knownContainerMask,
			Notes:           []string{"the recording has no intact end record: " + err.Error()},
		}
	default:
		f.Close()
		return nil, fmt.Errorf("replay: %s: %w", path, err)
	}
	d.hdr = hdr
	d.cov.Notes = append(d.cov.Notes, fmt.Sprintf("events recorded on %s at %s by vigil %s",
		orUnknown(hdr.Hostname), hdr.Created.UTC().Format(time.RFC3339), orUnknown(hdr.VigilVersion)))
	return d, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// Factory describes the replay driver for the recording at path, for
// driver.Select. Its probe opens the recording and checks the header; it
// is never picked by --driver auto.
func Factory(path string, opts *Options) driver.Factory {
	return driver.Factory{
		Name:    Name,
		Summary: "replays events recorded with vigil run --record, without the kernel",
		Probe: func() error {
			d, err := Open(path, opts)
			if err != nil {
				return err
			}
			return d.Close()
		},
		Coverage: func() driver.Coverage {
			d, err := Open(path, opts)
			if err != nil {
				return driver.Coverage{Notes: []string{err.Error()}}
			}
			defer d.Close()
			return d.Coverage()
		},
		New: func(*driver.Options) (driver.Driver, error) {
			return Open(path, opts)
		},
	}
}

// Name returns "replay".
func (d *Driver) Name() string { return Name }

// Header returns the recording's header.
func (d *Driver) Header() Header { return d.hdr }

// Coverage returns the event types and fields the recording holds, from
// its end record, or everything when it has none.
func (d *Driver) Coverage() driver.Coverage { return d.cov }

// Run emits the recorded events in order, paced if Options.Speed says so.
// It returns nil after the last event of a complete recording or when ctx
// ends; on a damaged recording it returns the *FormatError after emitting
// every event before the damage. Run reads the file from the start each
// time it is called; it fails after Close.
func (d *Driver) Run(ctx context.Context, emit func(*driver.Event)) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("replay: driver is closed")
	}
	f := d.f
	d.mu.Unlock()
	r, err := NewReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 256<<10))
	if err != nil {
		return d.runErr(err)
	}
	var (
		ev    driver.Event
		done  = ctx.Done()
		pace  pacer
		count int
	)
	if d.speed > 0 {
		pace.speed = d.speed
	}
	for {
		if count++; count&255 == 0 || pace.speed > 0 {
			select {
			case <-done:
				return nil
			default:
			}
		}
		if err := r.Next(&ev); err != nil {
			if err == io.EOF {
				return nil
			}
			return d.runErr(err)
		}
		if pace.speed > 0 && !pace.wait(ctx, ev.Time) {
			return nil
		}
		emit(&ev)
	}
}

func (d *Driver) runErr(err error) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed && !errors.As(err, new(*FormatError)) {
		return nil // Close during Run
	}
	return fmt.Errorf("replay: %s: %w", d.path, err)
}

// Close closes the recording file. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.f.Close()
}

// pacer sleeps so that events are emitted at speed times the pace of their
// timestamps.
type pacer struct {
	speed  float64
	first  int64 // timestamp of the first event
	start  time.Time
	timer  *time.Timer
	primed bool
}

// wait sleeps until the event at timestamp ts is due. It returns false if
// ctx ended first.
func (p *pacer) wait(ctx context.Context, ts int64) bool {
	if !p.primed {
		p.primed, p.first, p.start = true, ts, time.Now()
		return true
	}
	gap := float64(ts-p.first) / p.speed
	if gap > math.MaxInt64/2 {
		gap = math.MaxInt64 / 2
	}
	due := p.start.Add(time.Duration(gap))
	delay := time.Until(due)
	if delay <= 0 {
		return true
	}
	if p.timer == nil {
		p.timer = time.NewTimer(delay)
	} else {
		p.timer.Reset(delay)
	}
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return false
	case <-p.timer.C:
		return true
	}
}
