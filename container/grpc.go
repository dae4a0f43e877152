package container

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// grpcConn is a lazily dialed gRPC connection to the first existing of a
// list of unix sockets, redialed (the socket chosen again) after a failure.
type grpcConn struct {
	sockets []string
	mu      sync.Mutex
	conn    *grpc.ClientConn
}

// get returns the connection, dialing it if needed.
func (g *grpcConn) get() (*grpc.ClientConn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn != nil {
		return g.conn, nil
	}
	p, err := socketPath(g.sockets)
	if err != nil {
		return nil, err
	}
	c, err := grpc.NewClient("unix://"+p, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", p, ErrUnavailable, err)
	}
	g.conn = c
	return c, nil
}

// drop closes the connection so that the next get dials again.
func (g *grpcConn) drop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn != nil {
		_ = g.conn.Close()
		g.conn = nil
	}
}

// Close closes the connection.
func (g *grpcConn) Close() error {
	g.drop()
	return nil
}

// classify maps a gRPC error onto ErrNotFound / ErrUnavailable. It reports
// whether the runtime itself answered (the error says nothing about its
// reachability).
func classify(name string, err error) (answered bool, _ error) {
	if errors.Is(err, ErrUnavailable) {
		return false, err
	}
	switch status.Code(err) {
	case codes.NotFound:
		return true, fmt.Errorf("%s: %w", name, ErrNotFound)
	case codes.Unavailable, codes.Unimplemented, codes.DeadlineExceeded, codes.Canceled:
		return false, fmt.Errorf("%s: %w: %w", name, ErrUnavailable, err)
	}
	return true, fmt.Errorf("%s: %w", name, err)
}
