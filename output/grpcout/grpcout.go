// Package grpcout serves Vigil's alerts as a gRPC stream: the
// vigil.outputs.v1.Outputs service (see proto/ and package outputspb), the
// successor of the gRPC outputs API that Falco removed in 0.44.
//
// A [Server] is an output.Sink: give it to output.New with the other sinks.
// Every client that calls Subscribe gets every alert written from the
// moment its subscription is active until it hangs up or the server shuts
// down. Each subscriber has its own bounded buffer; a subscriber that reads
// too slowly loses alerts (counted in [Stats]) and never delays Write or the
// other subscribers.
//
// The server listens on a unix socket (mode 0660) or on a TCP address. A TCP
// address must be a loopback address unless TLS is configured; with a client
// CA, clients must present a certificate that chains to it (mutual TLS).
//
// The package lives apart from package output so that only programs that
// serve gRPC depend on google.golang.org/grpc.
package grpcout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/output/grpcout/outputspb"
)

// DefaultAddress is the listening address when Options.Address is empty
// (Vigil's default grpc.bind_address).
const DefaultAddress = "unix:///run/vigil/vigil.sock"

// DefaultBufferSize is the number of alerts each subscriber may have
// waiting when Options.BufferSize is 0.
const DefaultBufferSize = 1024

// DefaultShutdownTimeout bounds Close when Options.ShutdownTimeout is 0.
const DefaultShutdownTimeout = 5 * time.Second

// SocketMode is the permission of the unix socket: the owner and the
// owner's group may connect.
const SocketMode os.FileMode = 0o660

// NotAvailable is the output_fields value of a field the driver could not
// fill (JSON null in Alert.Fields), as Falco renders it.
const NotAvailable = "<NA>"

// Options configures a Server. The fields map to the grpc keys of the
// configuration (falco.yaml's grpc section); the zero value serves plain
// gRPC on DefaultAddress.
type Options struct {
	// Address is "unix:///path/to/socket" or "host:port" (grpc.bind_address);
	// empty means DefaultAddress. A TCP host must be a loopback address
	// (127.0.0.0/8, ::1 or "localhost") unless TLS is configured; an empty
	// host means every interface. Port 0 picks a free port (see Server.Addr).
	Address string
	// CertChain and PrivateKey are PEM files with the server's certificate
	// chain and its key (grpc.cert_chain, grpc.private_key). Setting both
	// enables TLS; setting one alone is an error.
	CertChain, PrivateKey string
	// RootCerts is a PEM file of the CAs that client certificates must chain
	// to (grpc.root_certs). Setting it requires TLS and enables mutual TLS:
	// clients without a valid certificate are refused.
	RootCerts string
	// Threadiness is the number of goroutines serving streams
	// (grpc.threadiness); 0 means one goroutine per stream, which suits
	// long-lived subscriptions.
	Threadiness int
	// Formatter renders the Alert.output text and names the event-time key
	// of output_fields (evt.time, or evt.time.iso8601 with ISO8601); pass the
	// Outputs' formatter so that the text matches the other sinks. Only its
	// text options are used. nil means output.DefaultFormatter().
	Formatter *output.Formatter
	// BufferSize is the number of alerts each subscriber may have waiting;
	// when its buffer is full, alerts are dropped for that subscriber. 0
	// means DefaultBufferSize.
	BufferSize int
	// ShutdownTimeout bounds how long Close waits for subscribers to receive
	// what is buffered for them before it cuts the connections; 0 means
	// DefaultShutdownTimeout. output.Outputs calls Close without a
	// deadline of its own, so keep this within the deadline given to
	// Outputs.Close.
	ShutdownTimeout time.Duration
	// Logger receives the server's own messages (not alerts); nil means
	// slog.Default().
	Logger *slog.Logger
}

// Stats are a Server's counters, as from Server.Stats.
type Stats struct {
	// Subscribers is the number of active subscriptions now.
	Subscribers int
	// Sent counts alerts sent to subscribers (one per subscriber).
	Sent uint64
	// Dropped counts alerts not buffered for a subscriber because its
	// buffer was full.
	Dropped uint64
}

// ErrClosed is returned by Write, Close and Shutdown once the server has
// been shut down.
var ErrClosed = errors.New("grpcout: server closed")

// Server is a gRPC server streaming alerts to subscribers. It implements
// output.Sink; Write never blocks.
type Server struct {
	log             *slog.Logger
	format          *output.Formatter
	timeKey         string
	bufSize         int
	shutdownTimeout time.Duration

	grpc       *grpc.Server
	addr       net.Addr
	socketPath string // the unix socket to remove on shutdown, or ""
	served     chan struct{}

	// mu orders Write and subscribe (read side) against shutdown (write
	// side), so that no alert is buffered after a subscriber's channel is
	// closed.
	mu     sync.RWMutex
	subs   map[*subscriber]struct{}
	closed bool

	sent, dropped atomic.Uint64
}

type subscriber struct {
	ch      chan *outputspb.Alert
	dropped atomic.Uint64
	peer    string
}

// New listens on opts.Address and starts serving the Outputs service in
// the background; opts may be nil. Close must be called to stop it.
//
// It returns an error for an address that is neither unix:///path nor
// host:port, a non-loopback TCP address without TLS, TLS files that cannot
// be read or parsed, a unix socket path that exists and is not a socket or
// has a live listener, and any error from listening.
func New(opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	s := &Server{
		log:             o.Logger,
		format:          o.Formatter,
		timeKey:         "evt.time",
		bufSize:         o.BufferSize,
		shutdownTimeout: o.ShutdownTimeout,
		subs:            make(map[*subscriber]struct{}),
		served:          make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.format == nil {
		s.format = output.DefaultFormatter()
	}
	if s.format.ISO8601 {
		s.timeKey = "evt.time.iso8601"
	}
	if s.bufSize <= 0 {
		s.bufSize = DefaultBufferSize
	}
	if s.shutdownTimeout <= 0 {
		s.shutdownTimeout = DefaultShutdownTimeout
	}
	if o.Threadiness < 0 {
		return nil, fmt.Errorf("grpcout: threadiness %d is negative", o.Threadiness)
	}

	tlsConf, err := serverTLS(&o)
	if err != nil {
		return nil, err
	}
	network, address, err := parseAddress(o.Address)
	if err != nil {
		return nil, err
	}
	if network == "tcp" && tlsConf == nil {
		if err := checkLoopback(address); err != nil {
			return nil, err
		}
	}
	if network == "tcp" && tlsConf != nil && tlsConf.ClientCAs == nil {
		if checkLoopback(address) != nil {
			s.log.Warn("grpc: serving alerts to any TLS client without client certificates; set root_certs for mutual TLS", "address", address)
		}
	}

	var lis net.Listener
	if network == "unix" {
		lis, err = listenUnix(address)
		s.socketPath = address
	} else {
		lis, err = net.Listen("tcp", address)
	}
	if err != nil {
		return nil, fmt.Errorf("grpcout: listen on %s: %w", o.Address, err)
	}
	s.addr = lis.Addr()

	sopts := []grpc.ServerOption{
		// Find subscribers whose host or network vanished, so that their
		// buffers do not outlive them.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		// Let clients keep idle subscriptions alive with their own pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if tlsConf != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(tlsConf)))
	}
	if o.Threadiness > 0 {
		sopts = append(sopts, grpc.NumStreamWorkers(uint32(o.Threadiness)))
	}
	s.grpc = grpc.NewServer(sopts...)
	outputspb.RegisterOutputsServer(s.grpc, &service{s: s})
	go func() {
		defer close(s.served)
		if err := s.grpc.Serve(lis); err != nil {
			s.log.Error("grpc: serving stopped", "address", s.addr.String(), "err", err)
		}
	}()
	return s, nil
}

// Name returns "grpc".
func (s *Server) Name() string { return "grpc" }

// Addr returns the address the server listens on, with the port chosen when
// Options.Address had port 0.
func (s *Server) Addr() net.Addr { return s.addr }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.subs)
	s.mu.RUnlock()
	return Stats{Subscribers: n, Sent: s.sent.Load(), Dropped: s.dropped.Load()}
}

// Write offers the alert to every subscriber without blocking: a subscriber
// whose buffer is full loses it, and the loss is counted. line is not used:
// the stream carries the alert's fields and its text form. Write returns
// ErrClosed after Close.
func (s *Server) Write(_ context.Context, a *output.Alert, _ []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.subs) == 0 {
		return nil
	}
	// One message for all subscribers: it is only read from here on.
	msg := s.convert(a)
	for sub := range s.subs {
		select {
		case sub.ch <- msg:
		default:
			sub.dropped.Add(1)
			s.dropped.Add(1)
		}
	}
	return nil
}

// Close shuts the server down as Shutdown does, waiting at most
// Options.ShutdownTimeout.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	return s.Shutdown(ctx)
}

// Shutdown stops accepting subscriptions and alerts, lets every subscriber
// receive what is buffered for it, ends the streams (clients see the end of
// the stream, io.EOF) and stops the server. When ctx ends first, the
// remaining connections are closed at once and Shutdown returns an error
// wrapping ctx's error. The unix socket is removed. A second call returns
// ErrClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	for sub := range s.subs {
		close(sub.ch)
	}
	s.mu.Unlock()

	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		err = fmt.Errorf("grpcout: shutdown: subscribers did not finish: %w", ctx.Err())
	}
	<-s.served
	if s.socketPath != "" {
		if rerr := os.Remove(s.socketPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("grpcout: remove socket: %w", rerr))
		}
	}
	return err
}

// subscribe registers a subscriber, or returns nil when the server is
// shutting down.
func (s *Server) subscribe(peer string) *subscriber {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	sub := &subscriber{ch: make(chan *outputspb.Alert, s.bufSize), peer: peer}
	s.subs[sub] = struct{}{}
	return sub
}

func (s *Server) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// convert builds the message for a.
func (s *Server) convert(a *output.Alert) *outputspb.Alert {
	t := a.Time
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	tags := slices.Clone(a.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	return &outputspb.Alert{
		Time:         timestamppb.New(t),
		Priority:     outputspb.Priority(a.Priority),
		Rule:         a.Rule,
		Output:       string(s.format.AppendText(nil, a)),
		OutputFields: outputFields(a.Fields, s.timeKey, t),
		Hostname:     a.Hostname,
		Tags:         tags,
		Source:       a.Source,
	}
}

// outputFields turns the JSON object of an alert's fields into strings:
// strings as they are, null as NotAvailable, numbers, booleans, arrays and
// objects as their JSON text. timeKey is set to t in nanoseconds since the
// epoch, as in Falco's JSON output_fields. Fields that are not a JSON object
// count as none.
func outputFields(fields []byte, timeKey string, t time.Time) map[string]string {
	var raw map[string]json.RawMessage
	if len(fields) > 0 && json.Unmarshal(fields, &raw) != nil {
		raw = nil
	}
	m := make(map[string]string, len(raw)+1)
	for k, v := range raw {
		m[k] = fieldString(v)
	}
	m[timeKey] = strconv.FormatInt(t.UnixNano(), 10)
	return m
}

func fieldString(v json.RawMessage) string {
	switch {
	case len(v) == 0:
		return ""
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case string(v) == "null":
		return NotAvailable
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return string(v)
	}
	return b.String()
}

// service implements the generated OutputsServer for a Server.
type service struct {
	outputspb.UnimplementedOutputsServer
	s *Server
}

// Subscribe streams alerts until the client hangs up or the server shuts
// down. The response headers are sent once the subscription is active, so
// a client that waits for them (ClientStream.Header) misses no alert
// written afterwards.
func (v *service) Subscribe(_ *outputspb.SubscribeRequest, stream grpc.ServerStreamingServer[outputspb.Alert]) error {
	ctx := stream.Context()
	sub := v.s.subscribe(peerName(ctx))
	if sub == nil {
		return status.Error(codes.Unavailable, "vigil is shutting down")
	}
	v.s.log.Debug("grpc: subscriber connected", "peer", sub.peer)
	defer func() {
		v.s.unsubscribe(sub)
		if n := sub.dropped.Load(); n > 0 {
			v.s.log.Warn("grpc: subscriber lost alerts: it read too slowly", "peer", sub.peer, "dropped", n)
		}
		v.s.log.Debug("grpc: subscriber disconnected", "peer", sub.peer)
	}()
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for {
		select {
		case msg, ok := <-sub.ch:
			if !ok {
				return nil // shutting down; everything buffered was sent
			}
			if err := stream.Send(msg); err != nil {
				return err
			}
			v.s.sent.Add(1)
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// parseAddress splits a grpc.bind_address into a network and an address.
// Unix sockets are unix:///path or unix:/path, as gRPC names them.
func parseAddress(addr string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if p, ok := strings.CutPrefix(path, "//"); ok {
			path = p
		}
		if !filepath.IsAbs(path) {
			return "", "", fmt.Errorf("grpcout: address %q: want unix:///absolute/path", addr)
		}
		return "unix", filepath.Clean(path), nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("grpcout: address %q: want unix:///path or host:port: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || strings.Contains(addr, "/") {
		return "", "", fmt.Errorf("grpcout: address %q: want unix:///path or host:port with a numeric port", addr)
	}
	return "tcp", addr, nil
}

// checkLoopback returns an error unless the host of a host:port address is
// a loopback address or "localhost".
func checkLoopback(addr string) error {
	host, _, _ := net.SplitHostPort(addr)
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	what := fmt.Sprintf("%q is not a loopback address", host)
	if host == "" {
		what = "an empty host means every interface"
	}
	return fmt.Errorf("grpcout: address %s: %s: serving alerts beyond this host needs TLS "+
		"(cert_chain and private_key, and root_certs for mutual TLS), "+
		"or bind to 127.0.0.1 or a unix:/// socket", addr, what)
}

// serverTLS returns the TLS configuration the options ask for, or nil for
// none.
func serverTLS(o *Options) (*tls.Config, error) {
	if o.CertChain == "" && o.PrivateKey == "" {
		if o.RootCerts != "" {
			return nil, errors.New("grpcout: root_certs is set but cert_chain and private_key are not: mutual TLS needs the server's certificate and key")
		}
		return nil, nil
	}
	if o.CertChain == "" || o.PrivateKey == "" {
		return nil, errors.New("grpcout: TLS needs both cert_chain and private_key")
	}
	cert, err := tls.LoadX509KeyPair(o.CertChain, o.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("grpcout: load certificate %s and key %s: %w", o.CertChain, o.PrivateKey, err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.RootCerts != "" {
		pem, err := os.ReadFile(o.RootCerts)
		if err != nil {
			return nil, fmt.Errorf("grpcout: read root certificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("grpcout: root certificates %s: no PEM certificate found", o.RootCerts)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// listenUnix listens on a unix socket at path with mode SocketMode. A
// stale socket (one nobody listens on) is removed first; a live one, or a
// file that is not a socket, is an error. The socket is created in a
// private directory and renamed into place, so that it is never reachable
// with looser permissions.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, ".vigil-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tmpPath := filepath.Join(tmp, "s")
	lis, err := net.Listen("unix", tmpPath)
	if err != nil {
		return nil, err
	}
	// The socket's name moves; Shutdown removes it by its final path.
	lis.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmpPath, SocketMode); err != nil {
		lis.Close()
		return nil, err
	}
	if err := os.Rename(tmpPath, path); err != nil {
		lis.Close()
		return nil, err
	}
	return lis, nil
}

// peerName returns the remote address of the call in ctx, and the subject
// of its verified client certificate, for logs.
func peerName(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "unknown"
	}
	name := "unix socket"
	if p.Addr != nil && p.Addr.Network() != "unix" && p.Addr.String() != "" {
		name = p.Addr.String()
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 && len(ti.State.VerifiedChains[0]) > 0 {
		name += " (" + ti.State.VerifiedChains[0][0].Subject.String() + ")"
	}
	return name
}
