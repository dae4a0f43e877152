package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigilsec/vigil/engine"
)

// startNATS starts an embedded NATS server on 127.0.0.1 with opts (a
// random port when opts.Port is 0) and stops it when the test ends.
func startNATS(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	opts.Host = "127.0.0.1"
	if opts.Port == 0 {
		opts.Port = -1
	}
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func natsPort(t *testing.T, ns *server.Server) int {
	t.Helper()
	return ns.Addr().(*net.TCPAddr).Port
}

func TestNATS(t *testing.T) {
	ns := startNATS(t, server.Options{})
	sub, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.SubscribeSync("vigil.alerts.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}

	f := DefaultFormatter()
	f.IncludeMessage = true
	s, err := NewNATS(ns.ClientURL(), &NATSOptions{SubjectPrefix: "vigil.alerts", MinimumPriority: "notice", Name: "vigil-test", Formatter: f})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	if conns, err := ns.Connz(nil); err == nil {
		for _, c := range conns.Conns {
			named = named || c.Name == "vigil-test"
		}
	}
	if !named {
		t.Error("no connection named vigil-test")
	}
	o := New([]Sink{s}, nil) // a text Outputs: the sink formats JSON itself
	warn, debug, crit := alertN(1), alertN(2), alertN(3)
	debug.Priority, crit.Priority = engine.PriorityDebug, engine.PriorityCritical
	for _, a := range []*Alert{warn, debug, crit} {
		o.Emit(a)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats().Sinks[0]; st.Delivered != 3 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, want := range []struct {
		subject string
		a       *Alert
	}{{"vigil.alerts.warning", warn}, {"vigil.alerts.critical", crit}} {
		m, err := msgs.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want.subject || string(m.Data) != string(f.AppendJSON(nil, want.a)) {
			t.Errorf("got %s %s, want %s %s", m.Subject, m.Data, want.subject, f.AppendJSON(nil, want.a))
		}
	}
	if n, _, _ := msgs.Pending(); n != 0 {
		t.Errorf("%d more messages: the debug alert was published", n)
	}
}

func TestNATSSubjects(t *testing.T) {
	s, err := NewNATS("nats://127.0.0.1:1", &NATSOptions{Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{"vigil.emergency", "vigil.alert", "vigil.critical", "vigil.error", "vigil.warning", "vigil.notice", "vigil.informational", "vigil.debug"}
	if got := strings.Join(s.subjects[:], " "); got != strings.Join(want, " ") {
		t.Errorf("subjects %s", got)
	}
}

// TestNATSAuthTLS checks user and password over mutual TLS, and a token.
func TestNATSAuthTLS(t *testing.T) {
	p := newTestPKI(t)
	ns := startNATS(t, server.Options{
		Username: "vigil", Password: "s3cret",
		TLS: true, TLSVerify: true, TLSTimeout: 5,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{p.serverCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    p.pool,
			MinVersion:   tls.VersionTLS12,
		},
	})
	url := fmt.Sprintf("tls://127.0.0.1:%d", natsPort(t, ns))
	sub, err := nats.Connect(url, nats.UserInfo("vigil", "s3cret"), nats.RootCAs(p.caFile), nats.ClientCert(p.clientCert, p.clientKey))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, _ := sub.SubscribeSync("vigil.>")
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	s, err := NewNATS(url, &NATSOptions{User: "vigil", Password: "s3cret", CACert: p.caFile, ClientCert: p.clientCert, ClientKey: p.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if m, err := msgs.NextMsg(30 * time.Second); err != nil || m.Subject != "vigil.warning" {
		t.Errorf("got %v, %v", m, err)
	}

	// Without a client certificate the handshake fails; Write waits for
	// a connection until its context ends.
	noCert, err := NewNATS(url, &NATSOptions{User: "vigil", Password: "s3cret", CACert: p.caFile, Timeout: time.Second, BackoffMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := noCert.Write(ctx, testAlert(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Write without a certificate = %v, want context.Canceled", err)
	}

	tok := startNATS(t, server.Options{Authorization: "t0ken"})
	received, err := nats.Connect(tok.ClientURL(), nats.Token("t0ken"))
	if err != nil {
		t.Fatal(err)
	}
	defer received.Close()
	tmsgs, _ := received.SubscribeSync(">")
	_ = received.Flush()
	ts, err := NewNATS(tok.ClientURL(), &NATSOptions{Token: "t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if err := ts.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tmsgs.NextMsg(30 * time.Second); err != nil {
		t.Error(err)
	}
}

// TestNATSServerRestart stops the server while alerts keep coming: they
// wait in the sink's queue, those beyond its capacity are dropped and
// counted, and once the server is back every queued alert is delivered.
// The alerts are kept by a JetStream stream on disk, which survives the
// restart, so that none published before a subscriber could reconnect is
// missed.
func TestNATSServerRestart(t *testing.T) {
	opts := server.Options{JetStream: true, StoreDir: t.TempDir()}
	ns := startNATS(t, opts)
	opts.Port = natsPort(t, ns)
	admin, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ALERTS", Subjects: []string{"vigil.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	admin.Close()

	s, err := NewNATS(ns.ClientURL(), &NATSOptions{ReconnectWait: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, alertN(0), nil); err != nil { // confirmed before the server stops
		t.Fatal(err)
	}
	const n, capacity = 10, 4
	o := New([]Sink{s}, &Options{QueueCapacity: capacity})
	ns.Shutdown()
	ns.WaitForShutdown()
	for i := 1; i <= n; i++ {
		o.Emit(alertN(i))
	}
	ns = startNATS(t, opts)
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := o.Stats().Sinks[0]
	if st.Delivered+st.Dropped != n || st.Dropped < n-capacity-1 || st.Errors != 0 || st.Abandoned != 0 {
		t.Errorf("stats %+v, want every alert delivered or dropped, at most %d queued", st, capacity+1)
	}

	// The stream holds alert 0, then the alerts that were queued, in order.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "ALERTS")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Alert 0 was acknowledged before the shutdown, but JetStream writes
	// to disk asynchronously, so the stream may have lost it across the
	// restart (the server had it). The alerts the sink delivered after the
	// restart, 1 to Delivered, must all be there, in order, once.
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := int(info.State.Msgs)
	if want != int(st.Delivered) && want != 1+int(st.Delivered) {
		t.Fatalf("stream has %d messages, want %d (or %d without alert 0)", want, 1+st.Delivered, st.Delivered)
	}
	batch, err := cons.Fetch(want, jetstream.FetchMaxWait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	next := 1 + int(st.Delivered) - want // 0 when alert 0 survived, else 1
	got := 0
	for m := range batch.Messages() {
		if w := fmt.Sprintf(`alert %d"`, next); !strings.Contains(string(m.Data()), w) || m.Subject() != "vigil.warning" {
			t.Errorf("message %d: %s %s, want alert %d on vigil.warning", got, m.Subject(), m.Data(), next)
		}
		got++
		next++
	}
	if err := batch.Error(); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%d messages fetched, want %d", got, want)
	}
}

func TestNewNATSErrors(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts NATSOptions
		want string
	}{
		{"", NATSOptions{}, "url"},
		{" , ", NATSOptions{}, "url"},
		{"nats://127.0.0.1:1", NATSOptions{SubjectPrefix: "vigil.*"}, "subject_prefix"},
		{"nats://127.0.0.1:1", NATSOptions{SubjectPrefix: "vigil."}, "subject_prefix"},
		{"nats://127.0.0.1:1", NATSOptions{MinimumPriority: "loud"}, "minimum_priority"},
		{"nats://127.0.0.1:1", NATSOptions{CredentialsFile: "/nonexistent.creds"}, "credentials_file"},
		{"nats://127.0.0.1:1", NATSOptions{CACert: "/nonexistent.pem"}, "output nats: ca_cert"},
		{"nats://127.0.0.1:1", NATSOptions{ClientCert: "/nonexistent.pem"}, "output nats: mtls needs"},
	} {
		s, err := NewNATS(c.url, &c.opts)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewNATS(%q, %+v) = %v, want an error with %q", c.url, c.opts, err, c.want)
		}
	}
	if got := redactURL("nats://user:pass@host:4222"); got != "nats://xxxxx@host:4222" {
		t.Errorf("redactURL: %s", got)
	}
}
