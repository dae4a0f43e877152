package output

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilsec/vigil/engine"
)

// DefaultElasticsearchIndex is the index pattern of an Elasticsearch sink
// when ElasticsearchOptions.Index is empty.
const DefaultElasticsearchIndex = "vigil-%Y.%m.%d"

// ElasticsearchOptions configures an Elasticsearch sink. The zero value
// indexes every alert into DefaultElasticsearchIndex without
// authentication, one bulk request per alert.
type ElasticsearchOptions struct {
	// Index is the index name, in which %Y, %m, %d and %H stand for the
	// alert's UTC year, month, day and hour and %% for a percent sign;
	// empty means DefaultElasticsearchIndex. It may also name a data
	// stream: documents are sent with the create action and an
	// @timestamp field.
	Index string
	// Username and Password are HTTP basic authentication; user
	// information in the URL works too.
	Username, Password string
	// APIKey is sent as "Authorization: ApiKey <APIKey>" (the encoded key
	// Elasticsearch returns); it takes precedence over basic
	// authentication.
	APIKey string
	// MinimumPriority is the least severe priority indexed; empty means
	// debug, every alert. Alerts below it are skipped: Write returns nil.
	MinimumPriority string
	// BatchSize is the largest number of alerts in one bulk request. Up to
	// 1 (the default), Write sends its alert at once and returns the
	// outcome. Above 1, Write returns once the alert is in the batch
	// (with the error of the bulk request when its alert filled the
	// batch), and a batch that does not fill within FlushInterval is sent
	// in the background: errors of those requests go to OnError, not to
	// Write's caller.
	BatchSize int
	// FlushInterval is the longest an alert waits in a batch; 0 means 1 s.
	FlushInterval time.Duration
	// OnError receives the errors of background bulk requests (a batch
	// sent by its timer, or by Close); nil drops them. It is called from
	// the timer's goroutine.
	OnError func(error)
	// Formatter renders the documents in Falco's JSON form whatever its
	// JSON field says; nil means DefaultFormatter().
	Formatter *Formatter
	// HTTP holds the transport's TLS settings, timeout, User-Agent and
	// retries; its JSON field is ignored.
	HTTP HTTPOptions
}

// Elasticsearch is a sink indexing alerts with Elasticsearch's bulk API
// (POST /_bulk with NDJSON, one create action per alert). A request is
// retried after network errors and 408, 429 and 5xx answers, and the
// documents Elasticsearch rejected with 429 are retried in the next
// attempt; documents rejected otherwise are errors.
type Elasticsearch struct {
	bulkURL string
	label   string // the URL without credentials, for errors
	header  http.Header
	c       *httpClient
	index   []indexPart
	min     engine.Priority
	format  *Formatter

	batchSize int
	interval  time.Duration
	onError   func(error)

	// mu guards the batch, which Write and the flush timer share.
	mu    sync.Mutex
	batch []esDoc
	timer *time.Timer
	// bg is the context of the timer's requests, cancelled by Close.
	bg       context.Context
	bgCancel context.CancelFunc
}

// esDoc is one document of a bulk request: its action and source lines.
type esDoc []byte

// indexPart is a literal piece of an index pattern (verb 0) or a date verb.
type indexPart struct {
	lit  string
	verb byte
}

// NewElasticsearch returns a sink indexing into the cluster at rawURL
// (http or https, optionally with a path prefix); opts may be nil. It
// returns an error for an invalid URL, index pattern or minimum priority,
// and for unreadable TLS files.
func NewElasticsearch(rawURL string, opts *ElasticsearchOptions) (*Elasticsearch, error) {
	var o ElasticsearchOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("output elasticsearch: url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output elasticsearch: url %q: want http:// or https:// and a host", u.Redacted())
	}
	s := &Elasticsearch{
		label:     u.Redacted(),
		header:    http.Header{"Content-Type": {"application/x-ndjson"}},
		format:    o.Formatter,
		batchSize: max(o.BatchSize, 1),
		interval:  o.FlushInterval,
		onError:   o.OnError,
	}
	s.bg, s.bgCancel = context.WithCancel(context.Background())
	bulk := *u
	bulk.Path = strings.TrimSuffix(u.Path, "/") + "/_bulk"
	bulk.RawPath = ""
	bulk.RawQuery = "filter_path=errors,items.*.status,items.*.error"
	s.bulkURL = bulk.String()
	switch {
	case o.APIKey != "":
		s.header.Set("Authorization", "ApiKey "+o.APIKey)
	case o.Username != "" || o.Password != "":
		s.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(o.Username+":"+o.Password)))
	}
	pattern := o.Index
	if pattern == "" {
		pattern = DefaultElasticsearchIndex
	}
	if s.index, err = parseIndexPattern(pattern); err != nil {
		return nil, fmt.Errorf("output elasticsearch: index: %w", err)
	}
	if s.min, err = minimumPriority(o.MinimumPriority); err != nil {
		return nil, fmt.Errorf("output elasticsearch: minimum_priority: %w", err)
	}
	if s.format == nil {
		s.format = DefaultFormatter()
	}
	if s.interval <= 0 {
		s.interval = time.Second
	}
	if s.c, err = newHTTPClient("elasticsearch", &o.HTTP); err != nil {
		return nil, err
	}
	return s, nil
}

// parseIndexPattern splits an index pattern into literals and date verbs
// and checks that the names it gives are valid index names.
func parseIndexPattern(p string) ([]indexPart, error) {
	var parts []indexPart
	var lit strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			lit.WriteByte(p[i])
			continue
		}
		if i+1 == len(p) {
			return nil, fmt.Errorf("%q ends with %%", p)
		}
		i++
		switch v := p[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'H':
			if lit.Len() > 0 {
				parts = append(parts, indexPart{lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, indexPart{verb: v})
		default:
			return nil, fmt.Errorf("%q: unknown verb %%%c (want %%Y, %%m, %%d, %%H or %%%%)", p, v)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, indexPart{lit: lit.String()})
	}
	name := string(appendIndex(nil, parts, time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)))
	switch {
	case name == "" || name == "." || name == "..":
		return nil, fmt.Errorf("%q: invalid index name", p)
	case name != strings.ToLower(name):
		return nil, fmt.Errorf("%q: index names are lowercase", p)
	case strings.ContainsAny(name, "\\/*?\"<>| ,#:"):
		return nil, fmt.Errorf("%q: index names cannot contain spaces or any of %s", p, `\/*?"<>|,#:`)
	case strings.ContainsAny(name[:1], "-_+"):
		return nil, fmt.Errorf("%q: index names cannot start with -, _ or +", p)
	case len(name) > 255:
		return nil, fmt.Errorf("%q: index names are at most 255 bytes", p)
	}
	return parts, nil
}

// appendIndex appends the index name for time t (UTC).
func appendIndex(dst []byte, parts []indexPart, t time.Time) []byte {
	t = t.UTC()
	for _, p := range parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.lit...)
		case 'Y':
			dst = appendPadded(dst, t.Year(), 4)
		case 'm':
			dst = appendPadded(dst, int(t.Month()), 2)
		case 'd':
			dst = appendPadded(dst, t.Day(), 2)
		case 'H':
			dst = appendPadded(dst, t.Hour(), 2)
		}
	}
	return dst
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// Name returns "elasticsearch".
func (s *Elasticsearch) Name() string { return "elasticsearch" }

// Write indexes the alert unless it is below the minimum priority: at once
// without batching, otherwise as ElasticsearchOptions.BatchSize describes.
// It returns an error when the bulk request fails after its retries or
// Elasticsearch rejects documents.
func (s *Elasticsearch) Write(ctx context.Context, a *Alert, _ []byte) error {
	if a.Priority > s.min {
		return nil
	}
	doc := s.appendDoc(nil, a)
	if s.batchSize <= 1 {
		return s.flush(ctx, []esDoc{doc}, s.c.retry)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch = append(s.batch, doc)
	if len(s.batch) >= s.batchSize {
		return s.flushBatchLocked(ctx)
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.interval, s.flushTimer)
	}
	return nil
}

// flushTimer sends the batch when it did not fill in time.
func (s *Elasticsearch) flushTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.batch) == 0 {
		return
	}
	if err := s.flushBatchLocked(s.bg); err != nil && s.onError != nil {
		s.onError(err)
	}
}

// flushBatchLocked sends the batch and starts a new one; s.mu is held.
func (s *Elasticsearch) flushBatchLocked(ctx context.Context) error {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	batch := s.batch
	s.batch = nil
	return s.flush(ctx, batch, s.c.retry)
}

// appendDoc appends a's bulk action and document, each ending in a
// newline. The document is Falco's JSON form with an @timestamp field.
func (s *Elasticsearch) appendDoc(dst []byte, a *Alert) []byte {
	dst = append(dst, `{"create":{"_index":"`...)
	dst = appendIndex(dst, s.index, alertTime(a))
	dst = append(dst, `"}}`+"\n"...)
	dst = append(dst, `{"@timestamp":"`...)
	dst = alertTime(a).UTC().AppendFormat(dst, layoutISO8601)
	dst = append(dst, `",`...)
	// AppendJSON's object without its opening brace.
	start := len(dst)
	dst = s.format.AppendJSON(dst, a)
	dst = append(dst[:start], dst[start+1:]...)
	return append(dst, '\n')
}

// errRetryItems marks an attempt after which some documents were rejected
// with 429 and are to be sent again.
var errRetryItems = errors.New("documents rejected with 429 Too Many Requests")

// bulkResponseError is a bulk answer that cannot be understood.
type bulkResponseError struct{ msg string }

func (e *bulkResponseError) Error() string { return "bulk response: " + e.msg }

// flush sends docs in one bulk request, with retries. It returns an error
// naming how many documents were not indexed, and why for the first.
func (s *Elasticsearch) flush(ctx context.Context, docs []esDoc, policy retryPolicy) error {
	pending := docs
	failed := 0
	var firstReason string
	var body []byte
	err := policy.do(ctx, func() error {
		body = body[:0]
		for _, d := range pending {
			body = append(body, d...)
		}
		resp, err := s.c.post(ctx, s.bulkURL, s.header, body, 16<<20)
		if err != nil {
			return err
		}
		retry, rejected, reason, err := parseBulkResponse(resp, pending)
		if err != nil {
			return err
		}
		if rejected > 0 && firstReason == "" {
			firstReason = reason
		}
		failed += rejected
		pending = retry
		if len(pending) > 0 {
			return errRetryItems
		}
		return nil
	}, func(err error) bool {
		var be *bulkResponseError
		return errors.Is(err, errRetryItems) || !errors.As(err, &be) && retryable(err)
	})
	if err == nil && failed == 0 {
		return nil
	}
	failed += len(pending)
	switch {
	case err != nil && failed == len(docs):
		return fmt.Errorf("output elasticsearch: bulk %s: %d of %d alerts not indexed: %w", s.label, failed, len(docs), err)
	case err != nil:
		return fmt.Errorf("output elasticsearch: bulk %s: %d of %d alerts not indexed: %s; %w", s.label, failed, len(docs), firstReason, err)
	default:
		return fmt.Errorf("output elasticsearch: bulk %s: %d of %d alerts not indexed: %s", s.label, failed, len(docs), firstReason)
	}
}

// bulkItem is one item of a bulk response.
type bulkItem struct {
	Status int `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// parseBulkResponse reads a bulk answer for docs. It returns the documents
// to send again (rejected with 429), how many others were rejected, and
// the reason of the first rejection.
func parseBulkResponse(b []byte, docs []esDoc) (retry []esDoc, rejected int, reason string, err error) {
	var r struct {
		Errors *bool                 `json:"errors"`
		Items  []map[string]bulkItem `json:"items"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, 0, "", &bulkResponseError{fmt.Sprintf("not JSON: %v", err)}
	}
	if r.Errors == nil {
		return nil, 0, "", &bulkResponseError{"no errors key"}
	}
	if !*r.Errors {
		return nil, 0, "", nil
	}
	if len(r.Items) != len(docs) {
		return nil, 0, "", &bulkResponseError{fmt.Sprintf("%d items for %d documents", len(r.Items), len(docs))}
	}
	for i, it := range r.Items {
		if len(it) != 1 {
			return nil, 0, "", &bulkResponseError{fmt.Sprintf("item %d has %d actions", i, len(it))}
		}
		for _, res := range it {
			switch {
			case res.Status >= 200 && res.Status < 300:
			case res.Status == http.StatusTooManyRequests:
				retry = append(retry, docs[i])
			default:
				rejected++
				if reason == "" {
					reason = fmt.Sprintf("status %d", res.Status)
					if res.Error != nil {
						reason += ": " + res.Error.Type + ": " + res.Error.Reason
					}
				}
			}
		}
	}
	return retry, rejected, reason, nil
}

// Close cancels a background request in progress, sends the batch still
// waiting, making one attempt bounded by the HTTP timeout, and closes idle
// connections. It returns the error of that last request.
func (s *Elasticsearch) Close() error {
	s.bgCancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	var err error
	if len(s.batch) > 0 {
		once := s.c.retry
		once.attempts = 1
		err = s.flush(context.Background(), s.batch, once)
		s.batch = nil
	}
	s.c.close()
	return err
}
