package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/engine"
)

// bulkEndpoint is a test receiver speaking Elasticsearch's bulk protocol:
// it validates each request's NDJSON strictly and answers as Elasticsearch
// does, rejecting documents whose rule is "reject me" (400) and the first
// attempt of those whose rule is "busy" (429).
type bulkEndpoint struct {
	t    *testing.T
	auth string // the Authorization header expected

	mu       sync.Mutex
	docs     map[string][]map[string]any // by index
	busySeen map[string]bool
	requests chan int // the number of documents of each request
}

func newBulkEndpoint(t *testing.T, auth string) *bulkEndpoint {
	return &bulkEndpoint{t: t, auth: auth, docs: map[string][]map[string]any{}, busySeen: map[string]bool{}, requests: make(chan int, 64)}
}

func (ep *bulkEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		ep.t.Errorf(format, args...)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"type":"illegal_argument_exception","reason":%q},"status":400}`, fmt.Sprintf(format, args...))
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/_bulk") {
		fail("%s %s", r.Method, r.URL.Path)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		fail("Content-Type %q", ct)
		return
	}
	if got := r.Header.Get("Authorization"); got != ep.auth {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 || body[len(body)-1] != '\n' {
		fail("body does not end with a newline")
		return
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines)%2 != 0 {
		fail("%d lines: actions and documents do not pair", len(lines))
		return
	}
	type item struct {
		Index       string         `json:"_index"`
		ID          string         `json:"_id,omitempty"`
		Version     int            `json:"_version,omitempty"`
		Result      string         `json:"result,omitempty"`
		Shards      map[string]int `json:"_shards,omitempty"`
		SeqNo       int            `json:"_seq_no,omitempty"`
		PrimaryTerm int            `json:"_primary_term,omitempty"`
		Status      int            `json:"status"`
		Error       map[string]any `json:"error,omitempty"`
	}
	var items []map[string]item
	errs := false
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for i := 0; i < len(lines); i += 2 {
		dec := json.NewDecoder(strings.NewReader(lines[i]))
		dec.DisallowUnknownFields()
		var action struct {
			Create *struct {
				Index string `json:"_index"`
			} `json:"create"`
		}
		if err := dec.Decode(&action); err != nil || action.Create == nil || action.Create.Index == "" {
			fail("action %q: %v", lines[i], err)
			return
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(lines[i+1]), &doc); err != nil {
			fail("document %q: %v", lines[i+1], err)
			return
		}
		for _, k := range []string{"@timestamp", "hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"} {
			if _, ok := doc[k]; !ok {
				fail("document without %s: %s", k, lines[i+1])
				return
			}
		}
		idx := action.Create.Index
		it := item{Index: idx, Status: http.StatusCreated}
		switch rule := doc["rule"]; {
		case rule == "reject me":
			it.Status = http.StatusBadRequest
			it.Error = map[string]any{"type": "document_parsing_exception", "reason": "[1:42] failed to parse field [output_fields.proc.pid] of type [long]"}
		case rule == "busy" && !ep.busySeen[doc["output"].(string)]:
			ep.busySeen[doc["output"].(string)] = true
			it.Status = http.StatusTooManyRequests
			it.Error = map[string]any{"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}
		default:
			it.ID = fmt.Sprintf("id-%d", len(ep.docs[idx]))
			it.Version, it.Result, it.SeqNo, it.PrimaryTerm = 1, "created", len(ep.docs[idx]), 1
			it.Shards = map[string]int{"total": 2, "successful": 1, "failed": 0}
			ep.docs[idx] = append(ep.docs[idx], doc)
		}
		errs = errs || it.Error != nil
		items = append(items, map[string]item{"create": it})
	}
	ep.requests <- len(lines) / 2
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 7, "errors": errs, "items": items})
}

func (ep *bulkEndpoint) indexed(index string) []map[string]any {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.docs[index]
}

func alertAt(i int, t time.Time) *Alert {
	a := alertN(i)
	a.Time = t
	return a
}

func TestElasticsearch(t *testing.T) {
	ep := newBulkEndpoint(t, "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==") // elastic:changeme
	srv := httptest.NewServer(ep)
	defer srv.Close()
	f := DefaultFormatter()
	f.IncludeMessage = true
	s, err := NewElasticsearch(srv.URL+"/prefix/", &ElasticsearchOptions{
		Index:           "alerts-%Y.%m.%d-%H",
		Username:        "elastic",
		Password:        "changeme",
		MinimumPriority: "informational",
		Formatter:       f,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := New([]Sink{s}, nil) // a text Outputs: the sink formats JSON itself
	day1 := time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, time.UTC)
	day2 := time.Date(2026, 11, 28, 0, 0, 1, 0, time.FixedZone("CET", 3600)) // 2026-11-27 23:00 UTC
	a1, a2 := alertAt(1, day1), alertAt(2, day2)
	debug := alertAt(3, day1)
	debug.Priority = engine.PriorityDebug
	for _, a := range []*Alert{a1, a2, debug} {
		o.Emit(a)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats().Sinks[0]; st.Delivered != 3 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	docs := ep.indexed("alerts-2026.11.27-23") // both alerts are from that UTC hour
	if len(docs) != 2 {
		t.Fatalf("indexed %v, want 2 documents", ep.docs)
	}
	var want map[string]any
	if err := json.Unmarshal(f.AppendJSON(nil, a1), &want); err != nil {
		t.Fatal(err)
	}
	want["@timestamp"] = "2026-11-27T23:59:59.999000000Z"
	got, _ := json.Marshal(docs[0])
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("document\n%s\nwant\n%s", got, wantJSON)
	}
	if docs[1]["message"] != "alert 2" {
		t.Errorf("second document %v", docs[1])
	}
}

func TestElasticsearchAPIKey(t *testing.T) {
	ep := newBulkEndpoint(t, "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
	srv := httptest.NewServer(ep)
	defer srv.Close()
	s, err := NewElasticsearch(srv.URL, &ElasticsearchOptions{
		APIKey:   "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
		Username: "ignored", // the API key wins
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(ep.indexed("vigil-" + testTime.UTC().Format("2006.01.02"))); n != 1 {
		t.Errorf("%d documents in the default index", n)
	}
	// Wrong credentials: 401, not retried.
	bad, _ := NewElasticsearch(srv.URL, &ElasticsearchOptions{APIKey: "wrong", HTTP: HTTPOptions{Attempts: 3}})
	defer bad.Close()
	if err := bad.Write(context.Background(), testAlert(), nil); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("Write with a wrong key = %v", err)
	}
}

// TestElasticsearchItemErrors checks that documents Elasticsearch rejects
// are errors, and that those rejected with 429 are sent again.
func TestElasticsearchItemErrors(t *testing.T) {
	ep := newBulkEndpoint(t, "")
	srv := httptest.NewServer(ep)
	defer srv.Close()
	s, err := NewElasticsearch(srv.URL, &ElasticsearchOptions{HTTP: *fastRetry(&HTTPOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	o := New([]Sink{s}, nil)
	ok, rejected, busy := alertN(1), alertN(2), alertN(3)
	rejected.Rule, busy.Rule = "reject me", "busy"
	for _, a := range []*Alert{ok, rejected, busy} {
		o.Emit(a)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats().Sinks[0]; st.Delivered != 2 || st.Errors != 1 {
		t.Errorf("stats %+v, want 2 delivered and 1 error", st)
	}
	index := "vigil-" + testTime.UTC().Format("2006.01.02")
	if docs := ep.indexed(index); len(docs) != 2 || docs[1]["rule"] != "busy" {
		t.Errorf("indexed %v", docs)
	}
	// The reason reaches the error.
	err = s.flush(context.Background(), []esDoc{s.appendDoc(nil, rejected)}, s.c.retry)
	if err == nil || !strings.Contains(err.Error(), "1 of 1 alerts not indexed: status 400: document_parsing_exception") {
		t.Errorf("flush = %v", err)
	}
}

func TestElasticsearchBatches(t *testing.T) {
	ep := newBulkEndpoint(t, "")
	srv := httptest.NewServer(ep)
	defer srv.Close()
	errs := make(chan error, 8)
	s, err := NewElasticsearch(srv.URL, &ElasticsearchOptions{
		BatchSize:     3,
		FlushInterval: 10 * time.Millisecond,
		OnError:       func(err error) { errs <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 { // a full batch is sent by the Write that fills it
		if err := s.Write(ctx, alertN(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-ep.requests; n != 3 {
		t.Errorf("first request with %d documents, want 3", n)
	}
	if err := s.Write(ctx, alertN(3), nil); err != nil { // sent by the timer
		t.Fatal(err)
	}
	if n := <-ep.requests; n != 1 {
		t.Errorf("second request with %d documents, want 1", n)
	}
	rejected := alertN(4)
	rejected.Rule = "reject me"
	if err := s.Write(ctx, rejected, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !strings.Contains(err.Error(), "document_parsing_exception") {
		t.Errorf("OnError got %v", err)
	}
	<-ep.requests

	// Close sends what is still waiting.
	s2, _ := NewElasticsearch(srv.URL, &ElasticsearchOptions{BatchSize: 10, FlushInterval: time.Hour})
	for i := range 2 {
		if err := s2.Write(ctx, alertN(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if n := <-ep.requests; n != 2 {
		t.Errorf("request at Close with %d documents, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(ep.indexed("vigil-" + testTime.UTC().Format("2006.01.02"))); n != 6 {
		t.Errorf("%d documents indexed, want 6", n)
	}
}

// TestElasticsearchDownThenBack checks that alerts fail while the cluster
// is unreachable and are indexed again once it is back.
func TestElasticsearchDownThenBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := NewElasticsearch("http://"+addr, &ElasticsearchOptions{HTTP: *fastRetry(&HTTPOptions{Attempts: 2})})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Write(ctx, alertN(1), nil); err == nil || !strings.Contains(err.Error(), "1 of 1 alerts not indexed") {
		t.Fatalf("Write with the cluster down = %v", err)
	}
	if l, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	ep := newBulkEndpoint(t, "")
	srv := httptest.NewUnstartedServer(ep)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	if err := s.Write(ctx, alertN(2), nil); err != nil {
		t.Fatal(err)
	}
	if n := <-ep.requests; n != 1 {
		t.Errorf("%d documents", n)
	}
}

func TestElasticsearchBadResponses(t *testing.T) {
	for _, c := range []struct {
		body string
		want string
	}{
		{`not json`, "not JSON"},
		{`{"took":1}`, "no errors key"},
		{`{"errors":true,"items":[]}`, "0 items for 1 documents"},
		{`{"errors":true,"items":[{"create":{"status":201},"index":{"status":201}}]}`, "2 actions"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, c.body)
		}))
		s, _ := NewElasticsearch(srv.URL, &ElasticsearchOptions{HTTP: HTTPOptions{Attempts: 3}})
		err := s.Write(context.Background(), testAlert(), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("answer %s: %v, want %q", c.body, err, c.want)
		}
		s.Close()
		srv.Close()
	}
}

func TestIndexPattern(t *testing.T) {
	tm := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", -7*3600)) // 12:06 UTC
	for _, c := range []struct{ pattern, want string }{
		{"vigil-%Y.%m.%d", "vigil-2026.03.04"},
		{"vigil-%Y.%m.%d.%H", "vigil-2026.03.04.12"},
		{"falco", "falco"},
		{"a%%b-%Y", "a%b-2026"},
	} {
		parts, err := parseIndexPattern(c.pattern)
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		if got := string(appendIndex(nil, parts, tm)); got != c.want {
			t.Errorf("%q: %q, want %q", c.pattern, got, c.want)
		}
	}
	for _, p := range []string{"vigil-%", "vigil-%y", "Vigil", "a b", "-vigil", "_x", "a/b", "a,b", "."} {
		if _, err := parseIndexPattern(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestNewElasticsearchErrors(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts ElasticsearchOptions
		want string
	}{
		{"ftp://h", ElasticsearchOptions{}, "want http"},
		{"http://user:SECRET@", ElasticsearchOptions{}, "want http"},
		{"://x", ElasticsearchOptions{}, "url"},
		{"http://h", ElasticsearchOptions{Index: "Vigil"}, "index"},
		{"http://h", ElasticsearchOptions{MinimumPriority: "loud"}, "minimum_priority"},
		{"https://h", ElasticsearchOptions{HTTP: HTTPOptions{CACert: "/nonexistent"}}, "output elasticsearch: ca_cert"},
	} {
		_, err := NewElasticsearch(c.url, &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("NewElasticsearch(%q, %+v) = %v, want an error with %q", c.url, c.opts, err, c.want)
		}
	}
}
