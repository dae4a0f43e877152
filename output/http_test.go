package output

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
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// request is what a test receiver saw.
type request struct {
	method, contentType, userAgent, body, clientCN string
}

// receiver records requests and answers with the status codes in codes, in
// turn (200 once they run out).
type receiver struct {
	mu    sync.Mutex
	codes []int
	reqs  chan request
}

func newReceiver(codes ...int) *receiver {
	return &receiver{codes: codes, reqs: make(chan request, 64)}
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	req := request{method: r.Method, contentType: r.Header.Get("Content-Type"), userAgent: r.UserAgent(), body: string(b)}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.clientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	rv.reqs <- req
	rv.mu.Lock()
	code := http.StatusOK
	if len(rv.codes) > 0 {
		code, rv.codes = rv.codes[0], rv.codes[1:]
	}
	rv.mu.Unlock()
	w.WriteHeader(code)
}

// fastRetry keeps the backoff between attempts short.
func fastRetry(o *HTTPOptions) *HTTPOptions {
	o.BackoffMin, o.BackoffMax = time.Millisecond, 2*time.Millisecond
	return o
}

func TestHTTPJSON(t *testing.T) {
	rv := newReceiver()
	srv := httptest.NewServer(rv)
	defer srv.Close()
	s, err := NewHTTP(srv.URL, &HTTPOptions{JSON: true, UserAgent: "vigil/1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	f := DefaultFormatter()
	f.JSON = true
	o := New([]Sink{s}, &Options{Formatter: f})
	a := testAlert()
	o.Emit(a)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := <-rv.reqs
	if req.method != http.MethodPost || req.contentType != "application/json" || req.userAgent != "vigil/1.2.3" {
		t.Errorf("request %+v", req)
	}
	if want := string(f.AppendJSON(nil, a)); req.body != want {
		t.Errorf("body %s, want %s", req.body, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(req.body), &v); err != nil || v["rule"] != a.Rule {
		t.Errorf("body does not decode: %v %v", err, v)
	}
	if s := o.Stats().Sinks[0]; s.Delivered != 1 || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestHTTPTextAndDefaults(t *testing.T) {
	rv := newReceiver()
	srv := httptest.NewServer(rv)
	defer srv.Close()
	s, err := NewHTTP(`"`+srv.URL+`/alerts"`, nil) // quoted, as Falco accepts
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), testAlert(), []byte("a text line")); err != nil {
		t.Fatal(err)
	}
	req := <-rv.reqs
	if req.contentType != "text/plain" || req.userAgent != DefaultUserAgent || req.body != "a text line" {
		t.Errorf("request %+v", req)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestHTTPRetries(t *testing.T) {
	t.Run("5xx then success", func(t *testing.T) {
		rv := newReceiver(500, 503, 429)
		srv := httptest.NewServer(rv)
		defer srv.Close()
		s, err := NewHTTP(srv.URL, fastRetry(&HTTPOptions{Attempts: 4}))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), nil, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if n := len(rv.reqs); n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("attempts used up", func(t *testing.T) {
		rv := newReceiver(500, 500, 500, 500)
		srv := httptest.NewServer(rv)
		defer srv.Close()
		s, _ := NewHTTP(srv.URL, fastRetry(&HTTPOptions{Attempts: 3}))
		err := s.Write(context.Background(), nil, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "status 500") {
			t.Errorf("Write = %v, want status 500", err)
		}
		if n := len(rv.reqs); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("4xx not retried", func(t *testing.T) {
		rv := newReceiver(400)
		srv := httptest.NewServer(rv)
		defer srv.Close()
		s, _ := NewHTTP(srv.URL, fastRetry(&HTTPOptions{}))
		if err := s.Write(context.Background(), nil, []byte("x")); err == nil {
			t.Error("Write succeeded on 400")
		}
		if n := len(rv.reqs); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("backoff bounded by context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			cancel() // the sink is now waiting an hour to retry, or would be
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		s, _ := NewHTTP(srv.URL, &HTTPOptions{BackoffMin: time.Hour, BackoffMax: time.Hour})
		if err := s.Write(ctx, nil, []byte("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Write = %v, want context.Canceled", err)
		}
	})
	t.Run("receiver down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String()
		l.Close()
		s, _ := NewHTTP(url, fastRetry(&HTTPOptions{Attempts: 2}))
		if err := s.Write(context.Background(), nil, []byte("x")); err == nil {
			t.Error("Write to a closed port succeeded")
		}
	})
}

// TestHTTPSlowReceiver checks that a receiver that never answers slows
// neither Emit nor the other sinks, and that Close gives up at its deadline.
func TestHTTPSlowReceiver(t *testing.T) {
	arrived := make(chan struct{}, 64)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := NewHTTP(srv.URL, &HTTPOptions{Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const n, capacity = 10, 2
	rec := newRecorder("rec", n)
	o := New([]Sink{s, rec}, &Options{QueueCapacity: capacity})
	o.Emit(alertN(0))
	<-arrived // the HTTP sink is stuck on alert 0
	<-rec.lines
	for i := 1; i < n; i++ {
		o.Emit(alertN(i))
		<-rec.lines
	}
	if st := sinkStats(t, o, "http"); st.Dropped != n-1-capacity {
		t.Errorf("http stats %+v, want %d dropped", st, n-1-capacity)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	<-o.queues[0].done // the request is cancelled with the context
	if st := sinkStats(t, o, "http"); st.Abandoned != 1+capacity || st.Delivered != 0 {
		t.Errorf("http stats %+v, want %d abandoned", st, 1+capacity)
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                           string
	caFile, clientCert, clientKey string
	serverCert                    tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.serverCert = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, "vigil-client", x509.ExtKeyUsageClientAuth)
	p.clientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientKey = writePEM(t, dir, "client-key.pem", "PRIVATE KEY", keyDER)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) server(t *testing.T, rv http.Handler, mtls bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(rv)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.serverCert}}
	if mtls {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = p.pool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPTLS(t *testing.T) {
	p := newTestPKI(t)
	rv := newReceiver()
	srv := p.server(t, rv, false)
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "ca.crt"), mustRead(t, p.caFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "README"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts HTTPOptions
		ok   bool
	}{
		{"system CAs", HTTPOptions{}, false},
		{"ca_cert", HTTPOptions{CACert: p.caFile}, true},
		{"ca_bundle", HTTPOptions{CABundle: p.caFile}, true},
		{"ca_path", HTTPOptions{CAPath: caDir}, true},
		{"insecure", HTTPOptions{Insecure: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Attempts = 1
			s, err := NewHTTP(srv.URL, &o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Write(context.Background(), nil, []byte("{}"))
			if c.ok && err != nil {
				t.Errorf("Write: %v", err)
			}
			if !c.ok && err == nil {
				t.Error("Write succeeded against an unknown CA")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	rv := newReceiver()
	srv := p.server(t, rv, true)

	s, err := NewHTTP(srv.URL, &HTTPOptions{CACert: p.caFile, MTLS: true, ClientCert: p.clientCert, ClientKey: p.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("{}")); err != nil {
		t.Fatalf("Write with a client certificate: %v", err)
	}
	if req := <-rv.reqs; req.clientCN != "vigil-client" {
		t.Errorf("server saw client %q", req.clientCN)
	}

	noCert, err := NewHTTP(srv.URL, &HTTPOptions{CACert: p.caFile, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := noCert.Write(context.Background(), nil, []byte("{}")); err == nil {
		t.Error("Write without a client certificate succeeded")
	}
}

func TestNewHTTPErrors(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		opts HTTPOptions
		want string
	}{
		{"ftp://host/", HTTPOptions{}, "want http"},
		{"http://", HTTPOptions{}, "want http"},
		{"://bad", HTTPOptions{}, "url"},
		{"https://h/", HTTPOptions{CACert: missing}, "ca_cert"},
		{"https://h/", HTTPOptions{CABundle: missing}, "ca_bundle"},
		{"https://h/", HTTPOptions{CAPath: missing}, "ca_path"},
		{"https://h/", HTTPOptions{CACert: notPEM}, "no PEM"},
		{"https://h/", HTTPOptions{MTLS: true}, "client_cert"},
		{"https://h/", HTTPOptions{MTLS: true, ClientCert: p.clientCert, ClientKey: missing}, "client_key"},
	} {
		_, err := NewHTTP(c.url, &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewHTTP(%q, %+v) = %v, want an error with %q", c.url, c.opts, err, c.want)
		}
	}
}
