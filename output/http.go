package output

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// DefaultUserAgent is the HTTP sink's User-Agent when HTTPOptions.UserAgent
// is empty. Callers that know the version should pass "vigil/<version>".
const DefaultUserAgent = "vigil"

// HTTPOptions configures an HTTP sink; the keys are Falco's http_output
// keys where Falco has them. The zero value means: text/plain bodies,
// system CAs, DefaultUserAgent, a 10 s timeout per attempt, 4 attempts with
// backoff from 100 ms to 5 s.
type HTTPOptions struct {
	// JSON sends "Content-Type: application/json"; otherwise text/plain.
	// Set it from json_output, as Falco does.
	JSON bool
	// UserAgent is the User-Agent header (user_agent).
	UserAgent string
	// Insecure skips verification of the server's certificate (insecure).
	Insecure bool
	// CACert and CABundle name PEM files of trusted CAs, and CAPath a
	// directory of them (ca_cert, ca_bundle, ca_path). The first one set
	// replaces the system's CAs; the others are ignored, as in Falco.
	CACert, CABundle, CAPath string
	// MTLS presents ClientCert and ClientKey (PEM files) to the server
	// (mtls, client_cert, client_key).
	MTLS                  bool
	ClientCert, ClientKey string
	// Timeout bounds each attempt; 0 means 10 s.
	Timeout time.Duration
	// Attempts is how many times an alert is tried in all: after network
	// errors, timeouts and 408, 429 and 5xx answers. 0 means 4.
	Attempts int
	// BackoffMin and BackoffMax bound the wait between attempts, which
	// doubles from BackoffMin with random jitter; 0 means 100 ms and 5 s.
	BackoffMin, BackoffMax time.Duration
}

// HTTP is a sink that POSTs each alert to a URL, Falco's http_output. The
// body is the formatted alert (JSON when the Outputs formats JSON).
type HTTP struct {
	url         string
	contentType string
	c           *httpClient
}

// NewHTTP returns a sink posting alerts to rawURL; opts may be nil. A URL
// in single or double quotes is unquoted, as Falco does. It returns an error
// for a URL that is not http or https with a host, and for CA or client
// certificate files that cannot be read or parsed.
func NewHTTP(rawURL string, opts *HTTPOptions) (*HTTP, error) {
	var o HTTPOptions
	if opts != nil {
		o = *opts
	}
	if n := len(rawURL); n >= 2 && (rawURL[0] == '"' && rawURL[n-1] == '"' || rawURL[0] == '\'' && rawURL[n-1] == '\'') {
		rawURL = rawURL[1 : n-1]
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("output http: url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output http: url %q: want http:// or https:// and a host", rawURL)
	}
	c, err := newHTTPClient("http", &o)
	if err != nil {
		return nil, err
	}
	s := &HTTP{url: u.String(), contentType: "text/plain", c: c}
	if o.JSON {
		s.contentType = "application/json"
	}
	return s, nil
}

// tlsConfigFor builds the client TLS configuration from the options, for
// the sink named sink (used in errors).
func (o *HTTPOptions) tlsConfigFor(sink string) (*tls.Config, error) {
	// InsecureSkipVerify is Falco's http_output.insecure, off by default.
	conf := &tls.Config{InsecureSkipVerify: o.Insecure}
	var pem [][]byte
	switch {
	case o.CACert != "" || o.CABundle != "":
		name, key := o.CACert, "ca_cert"
		if name == "" {
			name, key = o.CABundle, "ca_bundle"
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("output %s: %s: %w", sink, key, err)
		}
		pem = append(pem, b)
	case o.CAPath != "":
		entries, err := os.ReadDir(o.CAPath)
		if err != nil {
			return nil, fmt.Errorf("output %s: ca_path: %w", sink, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(o.CAPath, e.Name()))
			if err != nil {
				continue // dangling links and unreadable files are not CAs
			}
			pem = append(pem, b)
		}
	}
	if pem != nil {
		pool := x509.NewCertPool()
		ok := false
		for _, b := range pem {
			ok = pool.AppendCertsFromPEM(b) || ok
		}
		if !ok {
			return nil, fmt.Errorf("output %s: no PEM certificates in ca_cert, ca_bundle or ca_path", sink)
		}
		conf.RootCAs = pool
	}
	if o.MTLS {
		if o.ClientCert == "" || o.ClientKey == "" {
			return nil, fmt.Errorf("output %s: mtls needs client_cert and client_key", sink)
		}
		cert, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("output %s: client_cert/client_key: %w", sink, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Name returns "http".
func (s *HTTP) Name() string { return "http" }

// statusError is a receiver's answer other than 2xx.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("status %d", e.code)
	}
	return fmt.Sprintf("status %d: %s", e.code, e.body)
}

// retryable reports whether a failed attempt is worth repeating.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code == http.StatusRequestTimeout || se.code == http.StatusTooManyRequests || se.code >= 500
	}
	return true // network errors and timeouts
}

// Write POSTs line, retrying with exponential backoff and jitter after
// network errors, timeouts and 408/429/5xx answers, until the attempts are
// used up or ctx is done. It returns the last attempt's error.
func (s *HTTP) Write(ctx context.Context, _ *Alert, line []byte) error {
	header := http.Header{"Content-Type": {s.contentType}}
	err := s.c.retry.do(ctx, func() error {
		_, err := s.c.post(ctx, s.url, header, line, 0)
		return err
	}, retryable)
	if err != nil {
		return fmt.Errorf("output http: post %s: %w", s.url, err)
	}
	return nil
}

// Close closes idle connections.
func (s *HTTP) Close() error {
	s.c.close()
	return nil
}
