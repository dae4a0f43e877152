// Package webserver is Vigil's embedded HTTP server, Falco's webserver:
// GET /healthz (the path is configurable) for Kubernetes probes, GET
// /versions with version information as JSON, and GET /metrics in the
// Prometheus format when a metrics handler is given. It serves HTTPS when
// TLS is enabled, from one PEM file holding the certificate and the key,
// like Falco's webserver.ssl_certificate.
//
// Create a Server with New (which validates the options and loads the
// certificate), bind it with Start, mark it ready with SetReady once the
// driver is attached and the rules are loaded, and stop it with Close.
package webserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHealthzPath is the health endpoint when Options.HealthzPath is
// empty (Falco's webserver.k8s_healthz_endpoint default).
const DefaultHealthzPath = "/healthz"

// Fixed endpoints.
const (
	VersionsPath = "/versions"
	MetricsPath  = "/metrics"
)

// Health bodies. The ready body is byte for byte Falco's.
const (
	healthyBody  = `{"status": "ok"}`
	startingBody = `{"status": "starting"}`
)

// Timeouts of the HTTP server: probes and scrapes are small requests.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Versions is what GET /versions returns.
type Versions struct {
	// Version and Commit identify the Vigil build.
	Version string `json:"vigil_version"`
	Commit  string `json:"vigil_commit"`
	// GoVersion is the Go toolchain that built Vigil.
	GoVersion string `json:"go_version"`
	// EngineVersion is the Falco rules-engine version Vigil is compatible
	// with (rules.EngineVersion, "0.62.0"). It is served as
	// engine_version_semver, and its minor number as engine_version, the
	// keys falcoctl reads from Falco's /versions.
	EngineVersion string `json:"engine_version_semver,omitempty"`
	// Driver is the event driver in use ("ebpf", "fanotify", ...).
	Driver string `json:"driver,omitempty"`
}

// Options configures a Server. The config keys are those of falco.yaml's
// webserver section.
type Options struct {
	// ListenAddress is the address to bind (webserver.listen_address);
	// empty means every interface.
	ListenAddress string
	// ListenPort is the TCP port (webserver.listen_port); 0 lets the
	// kernel choose one (see Server.Addr).
	ListenPort int
	// HealthzPath is the health endpoint
	// (webserver.k8s_healthz_endpoint); empty means DefaultHealthzPath.
	HealthzPath string
	// Metrics, when set, is served on /metrics
	// (webserver.prometheus_metrics_enabled).
	Metrics http.Handler
	// SSLEnabled serves HTTPS (webserver.ssl_enabled) with SSLCertificate,
	// a PEM file holding the certificate chain and the private key
	// (webserver.ssl_certificate).
	SSLEnabled     bool
	SSLCertificate string
	// Versions is served on /versions.
	Versions Versions
	// Logger receives the server's errors; nil discards them.
	Logger *slog.Logger
}

// Server is the embedded HTTP server. Its methods may be called from any
// goroutine.
type Server struct {
	addr     string
	healthz  string
	metrics  http.Handler
	versions []byte
	tls      *tls.Config
	log      *slog.Logger
	srv      *http.Server

	ready atomic.Bool

	mu       sync.Mutex
	started  bool
	closed   bool
	ln       net.Listener
	done     chan struct{} // closed when Serve has returned
	serveErr error         // Serve's error, other than ErrServerClosed
}

// New validates opts and, when TLS is enabled, loads the certificate. It
// does not bind the port: Start does. opts may be nil (every interface,
// a port the kernel chooses, no metrics, no TLS). Errors name the config
// key at fault.
func New(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.ListenPort < 0 || opts.ListenPort > 65535 {
		return nil, fmt.Errorf("webserver: listen_port %d: out of range 0-65535", opts.ListenPort)
	}
	healthz := opts.HealthzPath
	if healthz == "" {
		healthz = DefaultHealthzPath
	}
	if !strings.HasPrefix(healthz, "/") {
		return nil, fmt.Errorf("webserver: k8s_healthz_endpoint %q: must start with /", healthz)
	}
	if healthz == VersionsPath || healthz == MetricsPath {
		return nil, fmt.Errorf("webserver: k8s_healthz_endpoint %q: path is reserved", healthz)
	}
	s := &Server{
		addr:    net.JoinHostPort(opts.ListenAddress, strconv.Itoa(opts.ListenPort)),
		healthz: healthz,
		metrics: opts.Metrics,
		log:     opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.versions, err = versionsJSON(opts.Versions); err != nil {
		return nil, fmt.Errorf("webserver: versions: %w", err)
	}
	if opts.SSLEnabled {
		cert, err := loadCertificate(opts.SSLCertificate)
		if err != nil {
			return nil, err
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.srv = &http.Server{
		Handler:           s,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Failed TLS handshakes and broken connections are the client's
		// business; keep them out of the error log.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// loadCertificate reads a PEM file holding a certificate chain and its
// private key.
func loadCertificate(path string) (tls.Certificate, error) {
	if path == "" {
		return tls.Certificate{}, errors.New("webserver: ssl_certificate: required when ssl_enabled is true")
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("webserver: ssl_certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("webserver: ssl_certificate %s: %w", path, err)
	}
	return cert, nil
}

// versionsJSON renders v with Falco's engine_version (the minor number of
// the engine's semantic version) added.
func versionsJSON(v Versions) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || v.EngineVersion == "" {
		return b, err
	}
	parts := strings.SplitN(v.EngineVersion, ".", 3)
	if len(parts) < 2 {
		return b, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["engine_version"] = parts[1]
	return json.Marshal(m)
}

// Start binds the address and serves in the background. When the port is
// taken the error wraps the bind error, so that errors.Is(err,
// syscall.EADDRINUSE) holds, and nothing is left running. Start fails if
// the Server was started or closed before.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("webserver: start: server closed")
	}
	if s.started {
		return errors.New("webserver: start: already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("webserver: listen_address/listen_port %s: %w", s.addr, err)
	}
	s.started = true
	s.ln = ln
	s.done = make(chan struct{})
	go s.serve(ln)
	return nil
}

func (s *Server) serve(ln net.Listener) {
	defer close(s.done)
	var err error
	if s.tls != nil {
		err = s.srv.ServeTLS(ln, "", "")
	} else {
		err = s.srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("webserver: serve", "addr", ln.Addr().String(), "err", err)
		s.mu.Lock()
		s.serveErr = fmt.Errorf("webserver: serve: %w", err)
		s.mu.Unlock()
	}
}

// Addr returns the address the Server is bound to, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// SetReady sets what the health endpoint answers: 200 {"status": "ok"}
// when ready, 503 {"status": "starting"} otherwise (the initial state).
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Close stops accepting connections and waits for the requests in
// progress until ctx is done, then closes the remaining connections. It
// returns ctx's error when it had to cut connections, or the error that
// stopped the server earlier; nil otherwise. Later calls return nil.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("webserver: shutdown: %w", err))
		_ = s.srv.Close() // cut what Shutdown waited for in vain
	}
	<-s.done
	s.mu.Lock()
	errs = append(errs, s.serveErr)
	s.mu.Unlock()
	return errors.Join(errs...)
}

// ServeHTTP routes a request to the health, versions or metrics endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var h func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case s.healthz:
		h = s.serveHealthz
	case VersionsPath:
		h = s.serveVersions
	case MetricsPath:
		if s.metrics != nil {
			h = s.metrics.ServeHTTP
		}
	}
	if h == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h(w, r)
}

func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	code, body := http.StatusOK, healthyBody
	if !s.ready.Load() {
		code, body = http.StatusServiceUnavailable, startingBody
	}
	writeJSON(w, code, []byte(body))
}

func (s *Server) serveVersions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.versions)
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body) // the client went away; nothing to do
}
