//go:build !(linux && amd64)

package ptrace

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vigilsec/vigil/driver"
)

var errPlatform = fmt.Errorf("ptrace: the ptrace driver is built for linux/amd64 only, not %s/%s: %w",
	runtime.GOOS, runtime.GOARCH, driver.ErrNotSupported)

// Driver is the ptrace driver; on this platform it cannot be created.
type Driver struct{}

// New returns an error wrapping driver.ErrNotSupported on this platform.
func New(*driver.Options, []string, *Config) (*Driver, error) { return nil, errPlatform }

// Probe returns an error wrapping driver.ErrNotSupported on this platform.
func Probe() error { return errPlatform }

// Name returns "ptrace".
func (*Driver) Name() string { return Name }

// Coverage returns what the driver would observe.
func (*Driver) Coverage() driver.Coverage { return coverage() }

// Run returns an error wrapping driver.ErrNotSupported.
func (*Driver) Run(context.Context, func(*driver.Event)) error { return errPlatform }

// Close does nothing.
func (*Driver) Close() error { return nil }

// ExitCode returns -1.
func (*Driver) ExitCode() int { return -1 }

// Stats returns zero counters.
func (*Driver) Stats() Stats { return Stats{} }
