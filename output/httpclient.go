package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// httpClient is the HTTP plumbing shared by the HTTP, Slack and
// Elasticsearch sinks: a transport with the HTTPOptions' TLS settings, a
// timeout per attempt, a User-Agent and the retry policy.
type httpClient struct {
	client    *http.Client
	transport *http.Transport
	userAgent string
	retry     retryPolicy
	// redact hides the request URL in errors (a Slack webhook URL is a
	// secret as a whole).
	redact bool
}

// newHTTPClient builds the client described by o for the sink named sink
// (used in errors). It fails when CA or client certificate files cannot be
// read or parsed.
func newHTTPClient(sink string, o *HTTPOptions) (*httpClient, error) {
	tlsConf, err := o.tlsConfigFor(sink)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := &httpClient{
		client:    &http.Client{Transport: tr, Timeout: timeout},
		transport: tr,
		userAgent: o.UserAgent,
		retry:     newRetryPolicy(o.Attempts, o.BackoffMin, o.BackoffMax),
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	return c, nil
}

// post sends one POST request with body and the given headers. It returns
// up to limit bytes of a 2xx answer's body (none for limit 0: the body is
// drained so that the connection can be reused), a *statusError for other
// answers, and the transport's error otherwise.
func (c *httpClient) post(ctx context.Context, rawURL string, header http.Header, body []byte, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, c.clean(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.clean(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if limit <= 0 {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
			return nil, nil
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
		if err != nil {
			return nil, fmt.Errorf("read answer: %w", c.clean(err))
		}
		return b, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	return nil, &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
}

// clean drops the URL from a transport error when the client redacts.
func (c *httpClient) clean(err error) error {
	var ue *url.Error
	if c.redact && errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// close closes idle connections.
func (c *httpClient) close() { c.transport.CloseIdleConnections() }
