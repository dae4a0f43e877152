package container

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Backoff bounds for a source whose runtime cannot be reached.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// socketPath returns the first of paths that is a unix socket, or an error
// wrapping ErrUnavailable.
func socketPath(paths []string) (string, error) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w at %v", errNoSocket, paths)
}

// errNoSocket: none of a source's sockets exists.
var errNoSocket = fmt.Errorf("%w: no socket", ErrUnavailable)

// health keeps a source's reachability and the backoff of its retries.
type health struct {
	mu    sync.Mutex
	down  error     // the last failure, nil while the runtime answers
	next  time.Time // no new attempt before this while down
	delay time.Duration
	now   func() time.Time
}

// check returns the last failure while a retry is not yet due.
func (h *health) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down != nil && h.clock().Before(h.next) {
		return h.down
	}
	return nil
}

// fail records a failure to reach the runtime and schedules the next try.
func (h *health) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.delay == 0 {
		h.delay = minBackoff
	} else {
		h.delay = min(2*h.delay, maxBackoff)
	}
	h.down = err
	h.next = h.clock().Add(h.delay)
}

// ok records an answer from the runtime.
func (h *health) ok() {
	h.mu.Lock()
	h.down, h.delay = nil, 0
	h.mu.Unlock()
}

func (h *health) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}
