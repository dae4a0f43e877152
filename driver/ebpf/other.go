//go:build !(linux && amd64)

package ebpf

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/vigilsec/vigil/driver"
)

var errPlatform = fmt.Errorf("ebpf: the eBPF driver is built for linux/amd64 only, not %s/%s: %w",
	runtime.GOOS, runtime.GOARCH, driver.ErrNotSupported)

// Stats are the driver's counters.
type Stats struct {
	Events, Drops, DecodeErrors uint64
	DropsPerCPU                 []uint64
}

// Driver is the eBPF event driver; on this platform it cannot be created.
type Driver struct{}

// New returns an error wrapping driver.ErrNotSupported on this platform.
func New(*driver.Options) (*Driver, error) { return nil, errPlatform }

// Name returns "ebpf".
func (*Driver) Name() string { return "ebpf" }

// Coverage returns what the driver would observe.
func (*Driver) Coverage() driver.Coverage { return coverage() }

// Run fails on this platform.
func (*Driver) Run(context.Context, func(*driver.Event)) error { return errors.Unwrap(errPlatform) }

// Close does nothing.
func (*Driver) Close() error { return nil }

// Stats returns zero counters.
func (*Driver) Stats() Stats { return Stats{} }

// Probe returns an error wrapping driver.ErrNotSupported on this platform.
func Probe() error { return errPlatform }

// Factory returns the driver factory; its probe fails on this platform.
func Factory() driver.Factory {
	return driver.Factory{
		Name:     "ebpf",
		Summary:  "eBPF tracepoints (linux/amd64 only)",
		Probe:    Probe,
		Coverage: coverage,
		New:      func(*driver.Options) (driver.Driver, error) { return nil, errPlatform },
		Auto:     true,
	}
}
