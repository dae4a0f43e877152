package grpcout

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/output/grpcout/outputspb"
)

var testTime = time.Date(2026, 11, 3, 12, 34, 56, 123456789, time.UTC)

func testAlert() *output.Alert {
	return &output.Alert{
		Time:     testTime,
		Rule:     "Terminal shell in container",
		Priority: engine.PriorityWarning,
		Source:   "syscall",
		Tags:     []string{"shell", "container", "mitre_execution", "shell"},
		Hostname: "node-1",
		Message:  "A shell was spawned (user=root proc.name=bash fd.name=<NA>)",
		Fields:   []byte(`{"user.name":"root","proc.name":"bash","fd.name":null,"proc.pid":42,"evt.is_open_read":true,"proc.cmdline":"bash -c \"ls\""}`),
	}
}

// wantAlert is testAlert as the stream carries it, formatted in UTC.
func wantAlert() *outputspb.Alert {
	return &outputspb.Alert{
		Time:     timestamppb.New(testTime),
		Priority: outputspb.Priority_PRIORITY_WARNING,
		Rule:     "Terminal shell in container",
		Output:   "12:34:56.123456789: Warning A shell was spawned (user=root proc.name=bash fd.name=<NA>)",
		OutputFields: map[string]string{
			"user.name":        "root",
			"proc.name":        "bash",
			"fd.name":          "<NA>",
			"proc.pid":         "42",
			"evt.is_open_read": "true",
			"proc.cmdline":     `bash -c "ls"`,
			"evt.time":         strconv.FormatInt(testTime.UnixNano(), 10),
		},
		Hostname: "node-1",
		Tags:     []string{"container", "mitre_execution", "shell"},
		Source:   "syscall",
	}
}

// quiet keeps the server's logs out of the test output.
var quiet = slog.New(slog.DiscardHandler)

// utcText formats the text form in UTC, so that wantAlert holds anywhere.
func utcText() *output.Formatter {
	f := output.DefaultFormatter()
	f.Location = time.UTC
	return f
}

func newServer(t *testing.T, o *Options) *Server {
	t.Helper()
	if o.Formatter == nil {
		o.Formatter = utcText()
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, target string, creds credentials.TransportCredentials, extra ...grpc.DialOption) outputspb.OutputsClient {
	t.Helper()
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return outputspb.NewOutputsClient(conn)
}

// subscribe opens a stream and waits until the server has registered it.
func subscribe(t *testing.T, c outputspb.OutputsClient) grpc.ServerStreamingClient[outputspb.Alert] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := c.Subscribe(ctx, &outputspb.SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Header(); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return st
}

func recv(t *testing.T, st grpc.ServerStreamingClient[outputspb.Alert]) *outputspb.Alert {
	t.Helper()
	a, err := st.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return a
}

func checkAlert(t *testing.T, got, want *outputspb.Alert) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("alert:\ngot  %v\nwant %v", prototext.Format(got), prototext.Format(want))
	}
}

func expectEOF(t *testing.T, st grpc.ServerStreamingClient[outputspb.Alert]) {
	t.Helper()
	if a, err := st.Recv(); err != io.EOF {
		t.Errorf("after close: got %v, %v; want io.EOF", a, err)
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "vigil.sock")
	s := newServer(t, &Options{Address: "unix://" + path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != SocketMode {
		t.Errorf("socket mode %v, want socket %v", fi.Mode(), SocketMode)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("socket directory holds %d entries, want only the socket", len(entries))
	}

	// Alerts before the subscription are not replayed.
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "unix://"+path, insecure.NewCredentials())
	st1 := subscribe(t, c)
	st2 := subscribe(t, c)
	if n := s.Stats().Subscribers; n != 2 {
		t.Errorf("subscribers: %d, want 2", n)
	}
	for i := range 3 {
		a := testAlert()
		a.Rule = fmt.Sprintf("rule %d", i)
		if err := s.Write(context.Background(), a, []byte("ignored")); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []grpc.ServerStreamingClient[outputspb.Alert]{st1, st2} {
		for i := range 3 {
			want := wantAlert()
			want.Rule = fmt.Sprintf("rule %d", i)
			checkAlert(t, recv(t, st), want)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, st1)
	expectEOF(t, st2)
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	if st := s.Stats(); st.Sent != 6 || st.Dropped != 0 || st.Subscribers != 0 {
		t.Errorf("stats %+v, want 6 sent, none dropped, no subscribers", st)
	}
	if err := s.Write(context.Background(), testAlert(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second close: %v, want ErrClosed", err)
	}
}

func TestUnixSocketStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.sock")

	// A socket nobody listens on any more is replaced.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	s := newServer(t, &Options{Address: "unix://" + path})

	// A live one is not.
	if _, err := New(&Options{Address: "unix://" + path, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Errorf("second server on a live socket: %v", err)
	}
	// The first server still works.
	st := subscribe(t, dial(t, "unix://"+path, insecure.NewCredentials()))
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	checkAlert(t, recv(t, st), wantAlert())

	// Nor is a file that is not a socket.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&Options{Address: "unix://" + file, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("server on a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("regular file was touched")
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	s := newServer(t, &Options{
		Address:    "127.0.0.1:0",
		CertChain:  p.serverCert,
		PrivateKey: p.serverKey,
		RootCerts:  p.caFile,
	})
	target := s.Addr().String()

	good := subscribe(t, dial(t, target, credentials.NewTLS(p.clientTLS(t, p.clientCert, p.clientKey))))

	// Without a client certificate, or with one from another CA, the
	// handshake fails and no subscription starts.
	other := newCA(t, "other CA")
	otherCert, otherKey := other.issue(t, t.TempDir(), "rogue", "rogue", x509.ExtKeyUsageClientAuth)
	for name, conf := range map[string]credentials.TransportCredentials{
		"no certificate":          credentials.NewTLS(p.clientTLS(t, "", "")),
		"unknown CA":              credentials.NewTLS(p.clientTLS(t, otherCert, otherKey)),
		"server-only certificate": credentials.NewTLS(p.clientTLS(t, p.serverCert, p.serverKey)),
		"plaintext":               insecure.NewCredentials(),
	} {
		t.Run(name, func(t *testing.T) {
			st, err := dial(t, target, conf).Subscribe(context.Background(), &outputspb.SubscribeRequest{})
			if err == nil {
				_, err = st.Recv()
			}
			if err == nil {
				t.Fatal("subscription accepted")
			}
		})
	}
	if n := s.Stats().Subscribers; n != 1 {
		t.Errorf("subscribers: %d, want 1", n)
	}

	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	checkAlert(t, recv(t, good), wantAlert())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, good)
}

func TestTLSWithoutClientCA(t *testing.T) {
	p := newPKI(t)
	s := newServer(t, &Options{Address: "localhost:0", CertChain: p.serverCert, PrivateKey: p.serverKey})
	st := subscribe(t, dial(t, s.Addr().String(), credentials.NewTLS(p.clientTLS(t, "", ""))))
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	checkAlert(t, recv(t, st), wantAlert())
}

func TestNonLoopbackNeedsTLS(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:5060", "example.com:5060"} {
		_, err := New(&Options{Address: addr, Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "needs TLS") {
			t.Errorf("%s without TLS: %v, want a refusal", addr, err)
		}
	}
	p := newPKI(t)
	s := newServer(t, &Options{Address: ":0", CertChain: p.serverCert, PrivateKey: p.serverKey, RootCerts: p.caFile})
	port := s.Addr().(*net.TCPAddr).Port
	st := subscribe(t, dial(t, fmt.Sprintf("localhost:%d", port), credentials.NewTLS(p.clientTLS(t, p.clientCert, p.clientKey))))
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	checkAlert(t, recv(t, st), wantAlert())
}

func TestOptionErrors(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"scheme", Options{Address: "tcp://127.0.0.1:0"}, "want unix:///path or host:port"},
		{"relative socket", Options{Address: "unix://vigil.sock"}, "absolute"},
		{"no port", Options{Address: "127.0.0.1"}, "want unix:///path or host:port"},
		{"root certs alone", Options{Address: "127.0.0.1:0", RootCerts: p.caFile}, "root_certs is set"},
		{"cert alone", Options{Address: "127.0.0.1:0", CertChain: p.serverCert}, "both cert_chain and private_key"},
		{"missing key", Options{Address: "127.0.0.1:0", CertChain: p.serverCert, PrivateKey: missing}, "load certificate"},
		{"missing CA", Options{Address: "127.0.0.1:0", CertChain: p.serverCert, PrivateKey: p.serverKey, RootCerts: missing}, "read root certificates"},
		{"CA not PEM", Options{Address: "127.0.0.1:0", CertChain: p.serverCert, PrivateKey: p.serverKey, RootCerts: p.serverKey}, "no PEM certificate"},
		{"negative threadiness", Options{Address: "127.0.0.1:0", Threadiness: -1}, "threadiness"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Logger = quiet
			s, err := New(&tc.o)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "grpcout: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}

	// A port in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := New(&Options{Address: l.Addr().String(), Logger: quiet}); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("port in use: %v", err)
	}
}

// bigAlert is an alert of over 1 MiB, more than a stream's flow-control
// window (64 KiB below) and the server's write quota per stream (64 KiB)
// together: once a server has sent one of them to a client that does not
// read, its next Send blocks until the client reads.
func bigAlert(i int) *output.Alert {
	a := testAlert()
	a.Rule = fmt.Sprint(i)
	a.Message = strings.Repeat("x", 1<<20)
	return a
}

// smallWindow fixes the client's flow-control windows at 64 KiB (which
// also turns off their growth), so that a client that does not read stops
// the server's sends at once.
var smallWindow = []grpc.DialOption{grpc.WithInitialWindowSize(64 << 10), grpc.WithInitialConnWindowSize(64 << 10)}

// fillSlow writes big alerts until one is dropped for a subscriber that
// does not read, while fast receives each alert before the next is written,
// so that its buffer never holds more than one. Every Write returning is
// the proof that a stuck subscriber does not block writers. It returns the
// number of alerts written.
//
// With a buffer of 2 the drop means that the slow subscriber's buffer held
// two alerts, so its handler has at least two Sends to make, and the second
// cannot finish until the client reads: the slow stream is stuck.
func fillSlow(t *testing.T, s *Server, fast grpc.ServerStreamingClient[outputspb.Alert]) int {
	t.Helper()
	n := 0
	for s.Stats().Dropped == 0 {
		if n == 100 {
			t.Fatal("no alert dropped for the subscriber that does not read")
		}
		if err := s.Write(context.Background(), bigAlert(n), nil); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, fast).Rule; got != fmt.Sprint(n) {
			t.Fatalf("fast subscriber got alert %s, want %d", got, n)
		}
		n++
	}
	return n
}

func TestSlowSubscriber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.sock")
	s := newServer(t, &Options{Address: "unix://" + path, BufferSize: 2})
	target := "unix://" + path
	slow := subscribe(t, dial(t, target, insecure.NewCredentials(), smallWindow...))
	fast := subscribe(t, dial(t, target, insecure.NewCredentials()))

	n := fillSlow(t, s, fast)
	// More alerts: the fast subscriber still gets each one.
	for range 10 {
		if err := s.Write(context.Background(), bigAlert(n), nil); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, fast).Rule; got != fmt.Sprint(n) {
			t.Fatalf("fast subscriber got alert %s, want %d", got, n)
		}
		n++
	}

	// The slow subscriber reads at last: it gets what was buffered for it,
	// in order, and everything else was counted as dropped.
	type result struct {
		rules []string
		err   error
	}
	done := make(chan result)
	go func() {
		var r result
		for {
			a, err := slow.Recv()
			if err != nil {
				r.err = err
				done <- r
				return
			}
			r.rules = append(r.rules, a.Rule)
		}
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != io.EOF {
		t.Errorf("slow subscriber's stream ended with %v, want io.EOF", r.err)
	}
	expectEOF(t, fast)
	st := s.Stats()
	if got := uint64(len(r.rules)) + st.Dropped; got != uint64(n) {
		t.Errorf("slow subscriber: %d received + %d dropped = %d, want %d written", len(r.rules), st.Dropped, got, n)
	}
	if st.Sent != uint64(n+len(r.rules)) {
		t.Errorf("sent %d, want %d", st.Sent, n+len(r.rules))
	}
	prev := -1
	for _, rule := range r.rules {
		cur, err := strconv.Atoi(rule)
		if err != nil || cur <= prev || cur >= n {
			t.Fatalf("slow subscriber got alerts out of order: %v", r.rules)
		}
		prev = cur
	}
}

func TestShutdownDeadline(t *testing.T) {
	s := newServer(t, &Options{Address: "127.0.0.1:0", BufferSize: 2})
	slow := subscribe(t, dial(t, s.Addr().String(), insecure.NewCredentials(), smallWindow...))
	fast := subscribe(t, dial(t, s.Addr().String(), insecure.NewCredentials()))
	fillSlow(t, s, fast)
	// The fast subscriber's stream ends cleanly. The slow subscriber's
	// buffer is full and its window closed: only cutting its connection,
	// when the deadline comes, ends its stream.
	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error)
	go func() { shut <- s.Shutdown(ctx) }()
	expectEOF(t, fast)
	cancel()
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Errorf("shutdown: %v, want context.Canceled", err)
	}
	for {
		if _, err := slow.Recv(); err != nil {
			if err == io.EOF {
				t.Error("slow subscriber's stream ended cleanly, want an error")
			}
			break
		}
	}
}

// recorder is a sink that hands each line to a channel.
type recorder struct{ lines chan string }

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Write(_ context.Context, _ *output.Alert, line []byte) error {
	r.lines <- string(line)
	return nil
}
func (r *recorder) Close() error { close(r.lines); return nil }

func TestThroughOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.sock")
	f := utcText()
	f.JSON = true
	s := newServer(t, &Options{Address: "unix://" + path, Formatter: f})
	rec := &recorder{lines: make(chan string, 8)}
	o := output.New([]output.Sink{s, rec}, &output.Options{Formatter: f})
	st := subscribe(t, dial(t, "unix://"+path, insecure.NewCredentials()))

	o.Emit(testAlert())
	// The JSON formatter does not change the stream's text form.
	checkAlert(t, recv(t, st), wantAlert())
	if line := <-rec.lines; !strings.HasPrefix(line, `{"hostname":"node-1",`) {
		t.Errorf("other sink got %q", line)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, st)
	stats := o.Stats()
	if stats.Sinks[0].Name != "grpc" || stats.Sinks[0].Delivered != 1 || stats.Sinks[1].Delivered != 1 {
		t.Errorf("outputs stats %+v", stats)
	}
}

func TestSubscribeAfterClose(t *testing.T) {
	s := newServer(t, &Options{Address: "127.0.0.1:0"})
	c := dial(t, s.Addr().String(), insecure.NewCredentials())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Subscribe(context.Background(), &outputspb.SubscribeRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	if err == nil {
		t.Error("subscribed to a closed server")
	}
}

func TestClientHangsUp(t *testing.T) {
	s := newServer(t, &Options{Address: "127.0.0.1:0"})
	c := dial(t, s.Addr().String(), insecure.NewCredentials())
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.Subscribe(ctx, &outputspb.SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Header(); err != nil {
		t.Fatal(err)
	}
	keep := subscribe(t, c)
	cancel()
	// The server notices the hang-up; Write keeps serving the other one.
	if _, err := st.Recv(); err == nil {
		t.Fatal("recv after cancel succeeded")
	}
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	checkAlert(t, recv(t, keep), wantAlert())
}
