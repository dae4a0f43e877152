package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotSupported is wrapped by probe errors when the kernel lacks something
// a driver needs. The message names the missing feature and the first kernel
// version that has it.
var ErrNotSupported = errors.New("not supported by this kernel")

// ErrPermission is wrapped by probe errors when privileges or policy forbid a
// driver: a missing capability, kernel lockdown, a seccomp filter or Yama.
// The message names the cause.
var ErrPermission = errors.New("not permitted")

// Driver is an event source. Run delivers events to emit until ctx ends or
// a fatal error occurs; the *Event passed to emit is valid only during the
// call. Close releases kernel resources; it is safe to call after Run
// returned and more than once.
type Driver interface {
	Name() string
	Coverage() Coverage
	Run(ctx context.Context, emit func(*Event)) error
	Close() error
}

// Coverage says what a driver can observe.
type Coverage struct {
	// Events is the set of event types the driver can produce.
	Events EventTypeSet
	// Fields, ProcFields and ContainerFields are the Event, Process and
	// Container availability bits the driver (with the state layer) can
	// ever fill.
	Fields          Mask
	ProcFields      Mask
	ContainerFields Mask
	// Notes describe blind spots in words, for `vigil probe` and the docs.
	Notes []string
}

// Options configure a driver when it is created.
type Options struct {
	// EventTypes are the event types the loaded rules need; a driver may
	// drop every other type as early as it can (in the kernel).
	EventTypes EventTypeSet
	// SelfPID is Vigil's own pid: drivers must not report (or react to)
	// their own activity where that could loop.
	SelfPID int
	// Resync, when set, is called by a driver that lost events it cannot
	// recover (a kernel queue overflowed), so that the state layer can
	// reread /proc. It is called from the goroutine that calls emit, never
	// during an emit call.
	Resync func()
}

// Factory describes a driver that Vigil knows how to build.
type Factory struct {
	Name string
	// Summary is a one-line description for `vigil probe`.
	Summary string
	// Probe reports whether the driver can run here: nil, an error wrapping
	// ErrNotSupported or ErrPermission, or any other error when the probe
	// is inconclusive.
	Probe func() error
	// Coverage is what the driver observes when it runs.
	Coverage func() Coverage
	// New creates the driver.
	New func(opts *Options) (Driver, error)
	// Auto reports whether --driver auto may pick this driver.
	Auto bool
}

// Skipped records why Select passed over a driver.
type Skipped struct {
	Name string
	Err  error
}

// ErrNoDriver is returned by Select when no driver can run.
var ErrNoDriver = errors.New("no usable event driver")

// Select picks a driver from factories: by name, or with "auto" (or "")
// the first factory with Auto set whose probe passes, in order. It returns
// the chosen factory and, for auto, the drivers it skipped and why. An
// explicitly named driver whose probe fails is returned as an error
// wrapping the probe's error. When nothing can run it returns an error
// wrapping ErrNoDriver.
func Select(name string, factories []Factory) (Factory, []Skipped, error) {
	if name == "" || name == "auto" {
		var skipped []Skipped
		for _, f := range factories {
			if !f.Auto {
				continue
			}
			if err := f.Probe(); err != nil {
				skipped = append(skipped, Skipped{Name: f.Name, Err: err})
				continue
			}
			return f, skipped, nil
		}
		var why []string
		for _, s := range skipped {
			why = append(why, s.Name+": "+s.Err.Error())
		}
		return Factory{}, skipped, fmt.Errorf("%w (%s)", ErrNoDriver, strings.Join(why, "; "))
	}
	var known []string
	for _, f := range factories {
		if f.Name != name {
			known = append(known, f.Name)
			continue
		}
		if err := f.Probe(); err != nil {
			return Factory{}, nil, fmt.Errorf("driver %s cannot run: %w", name, err)
		}
		return f, nil, nil
	}
	return Factory{}, nil, fmt.Errorf("unknown driver %q (known: auto, %s)", name, strings.Join(known, ", "))
}

// DropCounter is implemented by drivers that can lose events (a full
// kernel buffer, a queue overflow). Drops returns the number lost since
// the driver started; it may be called from any goroutine.
type DropCounter interface {
	Drops() uint64
}
