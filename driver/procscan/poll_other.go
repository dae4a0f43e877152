//go:build !linux

package procscan

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vigilsec/vigil/driver"
)

var errPollPlatform = fmt.Errorf("procscan: the polling driver reads Linux procfs, not available on %s: %w",
	runtime.GOOS, driver.ErrNotSupported)

// Poller is the polling driver; on this platform it cannot be created.
type Poller struct{}

// NewPoller returns an error wrapping driver.ErrNotSupported on this
// platform.
func NewPoller(*driver.Options, *PollConfig) (*Poller, error) { return nil, errPollPlatform }

// ProbePoll returns an error wrapping driver.ErrNotSupported on this
// platform.
func ProbePoll() error { return errPollPlatform }

// Name returns "procscan".
func (*Poller) Name() string { return PollName }

// Coverage returns what the driver would observe on Linux as root.
func (*Poller) Coverage() driver.Coverage {
	return pollCoverage(DefaultPollInterval, DefaultMaxFDs, true)
}

// Run returns an error wrapping driver.ErrNotSupported.
func (*Poller) Run(context.Context, func(*driver.Event)) error { return errPollPlatform }

// Close does nothing.
func (*Poller) Close() error { return nil }

// Stats returns zero counters.
func (*Poller) Stats() PollStats { return PollStats{} }
