package webserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigilsec/vigil/metrics"
	"github.com/vigilsec/vigil/output"
)

// start returns a started Server on 127.0.0.1 with a kernel-chosen port,
// closed when the test ends, and its base URL.
func start(t *testing.T, opts *Options) (*Server, string) {
	t.Helper()
	if opts.ListenAddress == "" {
		opts.ListenAddress = "127.0.0.1"
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	scheme := "http"
	if opts.SSLEnabled {
		scheme = "https"
	}
	return s, scheme + "://" + s.Addr().String()
}

type response struct {
	code int
	ct   string
	body string
}

func get(t *testing.T, c *http.Client, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func TestHealthzFlipsToReady(t *testing.T) {
	s, base := start(t, &Options{})
	c := http.DefaultClient

	want := func(code int, body string) {
		t.Helper()
		r := get(t, c, http.MethodGet, base+"/healthz")
		if r.code != code || r.body != body || r.ct != "application/json" {
			t.Errorf("GET /healthz = %d %q (%s), want %d %q (application/json)", r.code, r.body, r.ct, code, body)
		}
	}
	want(http.StatusServiceUnavailable, `{"status": "starting"}`)
	s.SetReady(true)
	want(http.StatusOK, `{"status": "ok"}`) // Falco's body, byte for byte
	if r := get(t, c, http.MethodHead, base+"/healthz"); r.code != http.StatusOK || r.body != "" {
		t.Errorf("HEAD /healthz = %d %q", r.code, r.body)
	}
	s.SetReady(false)
	want(http.StatusServiceUnavailable, `{"status": "starting"}`)
}

func TestRoutes(t *testing.T) {
	_, base := start(t, &Options{HealthzPath: "/ready"})
	c := http.DefaultClient
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/ready", http.StatusServiceUnavailable},
		{http.MethodGet, "/healthz", http.StatusNotFound}, // replaced by /ready
		{http.MethodGet, "/metrics", http.StatusNotFound}, // no metrics handler
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodPost, "/ready", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/versions", http.StatusMethodNotAllowed},
	} {
		if r := get(t, c, tc.method, base+tc.path); r.code != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, r.code, tc.code)
		}
	}
}

func TestVersions(t *testing.T) {
	v := Versions{Version: "1.2.3", Commit: "abc123", GoVersion: "go1.26.1", EngineVersion: "0.62.0", Driver: "ebpf"}
	_, base := start(t, &Options{Versions: v})
	r := get(t, http.DefaultClient, http.MethodGet, base+"/versions")
	if r.code != http.StatusOK || r.ct != "application/json" {
		t.Fatalf("GET /versions = %d (%s)", r.code, r.ct)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("/versions is not a JSON object of strings: %v: %s", err, r.body)
	}
	want := map[string]string{
		"vigil_version":         "1.2.3",
		"vigil_commit":          "abc123",
		"go_version":            "go1.26.1",
		"engine_version_semver": "0.62.0",
		"engine_version":        "62", // Falco's key, the minor number
		"driver":                "ebpf",
	}
	if len(got) != len(want) {
		t.Errorf("/versions = %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("/versions[%s] = %q, want %q", k, got[k], w)
		}
	}
}

// The acceptance test: a real server's /metrics, parsed with Prometheus's
// text parser, carries what the pipeline's Stats say.
func TestMetricsEndpoint(t *testing.T) {
	m, err := metrics.New(&metrics.Options{Build: metrics.BuildInfo{Version: "1.2.3", Commit: "abc123"}})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSources(metrics.Sources{
		Driver: "fanotify",
		Outputs: func() output.Stats {
			return output.Stats{Sinks: []output.SinkStats{{Name: "http", Delivered: 41, Dropped: 3}}}
		},
	})
	m.RecordReload(true)
	_, base := start(t, &Options{Metrics: m.Handler()})

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, n := range []string{"vigil_build_info", "vigil_output_deliveries_total", "vigil_reloads_total", "go_goroutines", "process_resident_memory_bytes"} {
		if fams[n] == nil {
			t.Errorf("family %s missing", n)
		}
	}
	var delivered float64
	for _, mt := range fams["vigil_output_deliveries_total"].GetMetric() {
		delivered += mt.GetCounter().GetValue()
	}
	if delivered != 41 {
		t.Errorf("deliveries = %v, want 41", delivered)
	}
}

// selfSigned writes a PEM file holding a self-signed certificate for
// 127.0.0.1 and its key (in that order, as Falco's falco.pem), and
// returns its path and the certificate.
func selfSigned(t *testing.T, withKey bool) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vigil test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if withKey {
		kb, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	}
	path := filepath.Join(t.TempDir(), "vigil.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

func TestTLS(t *testing.T) {
	path, cert := selfSigned(t, true)
	s, base := start(t, &Options{SSLEnabled: true, SSLCertificate: path})
	s.SetReady(true)

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	if r := get(t, c, http.MethodGet, base+"/healthz"); r.code != http.StatusOK || r.body != `{"status": "ok"}` {
		t.Errorf("GET /healthz over TLS = %d %q", r.code, r.body)
	}

	// A client that does not trust the certificate is refused.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("GET with an untrusted certificate succeeded")
	}
	// Plain HTTP to the TLS port gets no answer from the handlers.
	if r := get(t, http.DefaultClient, http.MethodGet, "http://"+s.Addr().String()+"/healthz"); r.code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port = %d, want 400", r.code)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	certOnly, _ := selfSigned(t, false)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		is         error
	}{
		{"unset", "", nil},
		{"missing", filepath.Join(t.TempDir(), "nope.pem"), os.ErrNotExist},
		{"no key", certOnly, nil},
		{"not PEM", garbage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&Options{SSLEnabled: true, SSLCertificate: tc.path})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), "ssl_certificate") {
				t.Errorf("error %q does not name ssl_certificate", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
	// Without ssl_enabled the certificate is not read.
	if _, err := New(&Options{SSLCertificate: garbage}); err != nil {
		t.Errorf("New without TLS: %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		key  string
	}{
		{Options{ListenPort: -1}, "listen_port"},
		{Options{ListenPort: 65536}, "listen_port"},
		{Options{HealthzPath: "healthz"}, "k8s_healthz_endpoint"},
		{Options{HealthzPath: "/versions"}, "k8s_healthz_endpoint"},
		{Options{HealthzPath: "/metrics"}, "k8s_healthz_endpoint"},
	} {
		_, err := New(&tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.opts, err, tc.key)
		}
	}
}

func TestPortInUse(t *testing.T) {
	first, _ := start(t, &Options{})
	port := first.Addr().(*net.TCPAddr).Port

	s, err := New(&Options{ListenAddress: "127.0.0.1", ListenPort: port})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start()
	if err == nil {
		t.Fatal("Start on a port in use succeeded")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q is not EADDRINUSE", err)
	}
	for _, want := range []string{"listen_port", "127.0.0.1:" + strconv.Itoa(port), "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// Nothing was started: no address, Close has nothing to do.
	if s.Addr() != nil {
		t.Errorf("Addr after failed Start = %v", s.Addr())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close after failed Start: %v", err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	s, _ := start(t, &Options{})
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}

	n, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
}

// blocking is a metrics handler that waits for release once entered.
type blocking struct{ entered, release chan struct{} }

func (b *blocking) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	close(b.entered)
	<-b.release
	_, _ = io.WriteString(w, "done\n")
}

// Close lets a request in progress finish.
func TestCloseGraceful(t *testing.T) {
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	s, base := start(t, &Options{Metrics: b})
	shutdown := make(chan struct{})
	s.srv.RegisterOnShutdown(func() { close(shutdown) })

	got := make(chan response, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			got <- response{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- response{code: resp.StatusCode, body: string(body)}
	}()
	<-b.entered

	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	<-shutdown // Shutdown has begun: the listener is closed
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("new request accepted during shutdown")
	}
	close(b.release)
	if r := <-got; r.code != http.StatusOK || r.body != "done\n" {
		t.Errorf("request in progress = %d %q, want 200 \"done\\n\"", r.code, r.body)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Close gives up on requests that outlast its context.
func TestCloseDeadline(t *testing.T) {
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(b.release)
	s, base := start(t, &Options{Metrics: b})

	failed := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		failed <- err
	}()
	<-b.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if err := <-failed; err == nil {
		t.Error("the cut request succeeded")
	}
}
