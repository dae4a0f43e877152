//go:build !linux

package fanotify

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vigilsec/vigil/driver"
)

var errPlatform = fmt.Errorf("fanotify: fanotify and the proc connector are Linux interfaces, not available on %s: %w",
	runtime.GOOS, driver.ErrNotSupported)

// Driver is the fanotify driver; on this platform it cannot be created.
type Driver struct{}

// New returns an error wrapping driver.ErrNotSupported on this platform.
func New(*driver.Options, *Config) (*Driver, error) { return nil, errPlatform }

// Probe returns an error wrapping driver.ErrNotSupported on this platform.
func Probe() error { return errPlatform }

// Coverage returns what the driver observes on a Linux kernel with every
// feature it uses.
func Coverage() driver.Coverage {
	return coverageFor(features{filesystemMark: true, openExec: true, dfidName: true, rename: true})
}

// Name returns "fanotify".
func (*Driver) Name() string { return Name }

// Coverage returns what the driver would observe.
func (*Driver) Coverage() driver.Coverage { return Coverage() }

// Run returns an error wrapping driver.ErrNotSupported.
func (*Driver) Run(context.Context, func(*driver.Event)) error { return errPlatform }

// Close does nothing.
func (*Driver) Close() error { return nil }

// Stats returns zero counters.
func (*Driver) Stats() Stats { return Stats{} }
