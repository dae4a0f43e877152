package output

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vigilsec/vigil/engine"
)

// NATSOptions configures a NATS sink. The zero value publishes every alert
// under the subject prefix "vigil", without authentication or TLS beyond
// what the URL says, with a 10 s timeout per attempt.
type NATSOptions struct {
	// SubjectPrefix starts every subject: an alert is published to
	// <SubjectPrefix>.<priority in lower case>, such as
	// vigil.warning; empty means "vigil".
	SubjectPrefix string
	// MinimumPriority is the least severe priority published; empty means
	// debug, every alert. Alerts below it are skipped: Write returns nil.
	MinimumPriority string
	// Name is the connection's name, shown by the server's monitoring;
	// empty means "vigil".
	Name string
	// CredentialsFile is a .creds file (user JWT and NKey seed).
	CredentialsFile string
	// Token, or User and Password, authenticate without credentials
	// files; user information in the URL works too.
	Token          string
	User, Password string
	// CACert names a PEM file of trusted CAs, and ClientCert and
	// ClientKey PEM files of the client's certificate and key; Insecure
	// skips verification of the server's certificate. Setting any of them
	// requires TLS, as does a tls:// URL.
	CACert, ClientCert, ClientKey string
	Insecure                      bool
	// Formatter renders alerts in Falco's JSON form whatever its JSON
	// field says; nil means DefaultFormatter().
	Formatter *Formatter
	// Timeout bounds each attempt to publish an alert and have the server
	// confirm it, and each attempt to connect; 0 means 10 s.
	Timeout time.Duration
	// ReconnectWait is the pause between attempts to reconnect to the
	// same server; 0 means 2 s, the NATS client's default.
	ReconnectWait time.Duration
	// BackoffMin and BackoffMax bound the wait between attempts to publish
	// while connected, as in HTTPOptions.
	BackoffMin, BackoffMax time.Duration
	// OnError receives the connection's asynchronous errors (lost
	// connections, errors the server reports); nil drops them. It is
	// called from the client's goroutine.
	OnError func(error)
}

// NATS is a sink publishing each alert's JSON form to a NATS subject per
// priority, through the official client (github.com/nats-io/nats.go),
// which keeps reconnecting to the servers forever.
//
// Write returns once the server has confirmed the alert (a PING after the
// PUBLISH has been answered). While no server can be reached, Write waits
// for the connection to come back, until its context is done: the alerts
// that arrive meanwhile wait in the sink's queue of the Outputs, and those
// beyond its capacity are dropped and counted there. The client's own
// buffer for publications during a reconnection is disabled so that the
// queue is the only one. A server that restarts may receive an alert
// twice.
type NATS struct {
	nc       *nats.Conn
	label    string
	subjects [engine.PriorityDebug + 1]string
	min      engine.Priority
	format   *Formatter
	timeout  time.Duration
	retry    retryPolicy
	buf      []byte

	mu        sync.Mutex
	connected chan struct{} // closed and replaced at every (re)connection
}

// NewNATS returns a sink publishing to the NATS servers at urls, one or a
// comma-separated list of nats:// or tls:// URLs; opts may be nil. It does
// not wait for a server: the connection is made, and made again, in the
// background. It returns an error for an invalid URL, subject prefix or
// minimum priority, and for unreadable credentials or TLS files.
func NewNATS(urls string, opts *NATSOptions) (*NATS, error) {
	var o NATSOptions
	if opts != nil {
		o = *opts
	}
	s := &NATS{
		format:    o.Formatter,
		timeout:   o.Timeout,
		retry:     newRetryPolicy(1, o.BackoffMin, o.BackoffMax),
		connected: make(chan struct{}),
	}
	if s.format == nil {
		s.format = DefaultFormatter()
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	var err error
	if s.min, err = minimumPriority(o.MinimumPriority); err != nil {
		return nil, fmt.Errorf("output nats: minimum_priority: %w", err)
	}
	prefix := o.SubjectPrefix
	if prefix == "" {
		prefix = "vigil"
	}
	if strings.ContainsAny(prefix, " \t\r\n*>") || strings.HasPrefix(prefix, ".") || strings.HasSuffix(prefix, ".") || strings.Contains(prefix, "..") {
		return nil, fmt.Errorf("output nats: subject_prefix %q: want tokens separated by dots, without spaces or wildcards", prefix)
	}
	for p := range s.subjects {
		s.subjects[p] = prefix + "." + strings.ToLower(engine.Priority(p).String())
	}
	var servers []string
	for u := range strings.SplitSeq(urls, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		servers = append(servers, u)
	}
	if len(servers) == 0 {
		return nil, errors.New("output nats: url: none given")
	}

	name := o.Name
	if name == "" {
		name = "vigil"
	}
	onError := o.OnError
	if onError == nil {
		onError = func(error) {}
	}
	signal := func(*nats.Conn) {
		s.mu.Lock()
		close(s.connected)
		s.connected = make(chan struct{})
		s.mu.Unlock()
	}
	copts := []nats.Option{
		nats.Name(name),
		nats.Timeout(s.timeout),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1), // the Outputs queue holds what waits
		nats.ConnectHandler(signal),
		nats.ReconnectHandler(signal),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				onError(fmt.Errorf("output nats: disconnected: %w", err))
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			onError(fmt.Errorf("output nats: %w", err))
		}),
	}
	if o.ReconnectWait > 0 {
		copts = append(copts, nats.ReconnectWait(o.ReconnectWait))
	}
	if o.CredentialsFile != "" {
		// The client reads the file at every connection; check it now.
		if _, err := os.ReadFile(o.CredentialsFile); err != nil {
			return nil, fmt.Errorf("output nats: credentials_file: %w", err)
		}
		copts = append(copts, nats.UserCredentials(o.CredentialsFile))
	}
	if o.Token != "" {
		copts = append(copts, nats.Token(o.Token))
	}
	if o.User != "" || o.Password != "" {
		copts = append(copts, nats.UserInfo(o.User, o.Password))
	}
	if o.CACert != "" || o.ClientCert != "" || o.ClientKey != "" || o.Insecure {
		h := HTTPOptions{
			Insecure:   o.Insecure,
			CACert:     o.CACert,
			MTLS:       o.ClientCert != "" || o.ClientKey != "",
			ClientCert: o.ClientCert,
			ClientKey:  o.ClientKey,
		}
		conf, err := h.tlsConfigFor("nats")
		if err != nil {
			return nil, err
		}
		copts = append(copts, nats.Secure(conf))
	}
	labels := make([]string, len(servers))
	for i, u := range servers {
		labels[i] = redactURL(u)
	}
	s.label = strings.Join(labels, ",")
	if s.nc, err = nats.Connect(strings.Join(servers, ","), copts...); err != nil {
		return nil, fmt.Errorf("output nats: connect %s: %w", s.label, err)
	}
	return s, nil
}

// redactURL hides the password or token in a server URL.
func redactURL(u string) string {
	at := strings.LastIndexByte(u, '@')
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	return u[:scheme+3] + "xxxxx" + u[at:]
}

// Name returns "nats".
func (s *NATS) Name() string { return "nats" }

// Write publishes the alert unless it is below the minimum priority, and
// waits for the server to confirm it. While the connection is down it
// waits for it to come back; after other failures it tries again with
// backoff; in both cases until ctx is done. It returns an error at once
// for an alert the server cannot take (larger than its maximum payload),
// and after the sink is closed.
func (s *NATS) Write(ctx context.Context, a *Alert, _ []byte) error {
	if a.Priority > s.min {
		return nil
	}
	subject := s.subjects[engine.PriorityDebug]
	if a.Priority >= 0 && int(a.Priority) < len(s.subjects) {
		subject = s.subjects[a.Priority]
	}
	s.buf = s.format.AppendJSON(s.buf[:0], a)
	for attempt := 1; ; attempt++ {
		err := s.publish(ctx, subject)
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) || s.nc.IsClosed() {
			return fmt.Errorf("output nats: publish to %s: %w", subject, err)
		}
		if werr := s.wait(ctx, attempt); werr != nil {
			return fmt.Errorf("output nats: publish to %s: %w (after %d attempts: %w)", subject, werr, attempt, err)
		}
	}
}

// publish sends s.buf and waits for the server's confirmation.
func (s *NATS) publish(ctx context.Context, subject string) error {
	if err := s.nc.Publish(subject, s.buf); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.nc.FlushWithContext(fctx)
}

// wait returns when the connection is (re)established if it is down, or
// after a backoff if it is up, or with ctx's error when ctx is done first.
func (s *NATS) wait(ctx context.Context, attempt int) error {
	s.mu.Lock()
	connected := s.connected
	s.mu.Unlock()
	d := s.retry.backoff(attempt)
	if !s.nc.IsConnected() {
		// The handlers signal the reconnection; the timer only guards
		// against a signal missed between the failure and now.
		d = s.retry.backoffMax
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-connected:
	case <-t.C:
	}
	return nil
}

// Close closes the connection. Alerts Write returned for have been
// confirmed by the server already.
func (s *NATS) Close() error {
	s.nc.Close()
	return nil
}
