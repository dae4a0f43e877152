package output

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/engine"
)

// slackWebhook is a test receiver that decodes what an incoming webhook
// gets, strictly: unknown keys are an error.
type slackWebhook struct {
	t     *testing.T
	codes []int
	msgs  chan slackMessage
	paths chan string
}

func newSlackWebhook(t *testing.T, codes ...int) (*slackWebhook, *httptest.Server) {
	wh := &slackWebhook{t: t, codes: codes, msgs: make(chan slackMessage, 64), paths: make(chan string, 64)}
	srv := httptest.NewServer(wh)
	t.Cleanup(srv.Close)
	return wh, srv
}

func (wh *slackWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		wh.t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var m slackMessage
	if err := dec.Decode(&m); err != nil {
		wh.t.Errorf("payload: %v", err)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	wh.paths <- r.URL.Path
	wh.msgs <- m
	if len(wh.codes) > 0 {
		code := wh.codes[0]
		wh.codes = wh.codes[1:]
		http.Error(w, "rate_limited", code)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func TestSlack(t *testing.T) {
	wh, srv := newSlackWebhook(t)
	s, err := NewSlack(srv.URL+"/services/T000/B000/XXXX", &SlackOptions{
		MinimumPriority: "notice",
		Channel:         "#security",
		Username:        "vigil",
		IconURL:         "https://example.com/vigil.png",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := New([]Sink{s}, nil)
	a := testAlert()
	a.Message = "A shell was spawned <script> & more"
	o.Emit(a)
	debug := alertN(1)
	debug.Priority = engine.PriorityDebug
	o.Emit(debug) // below the minimum: not posted
	crit := alertN(2)
	crit.Priority = engine.PriorityCritical
	crit.Fields = nil
	o.Emit(crit)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats().Sinks[0]; st.Delivered != 3 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := len(wh.msgs); n != 2 {
		t.Fatalf("%d messages posted, want 2", n)
	}
	if p := <-wh.paths; p != "/services/T000/B000/XXXX" {
		t.Errorf("path %q", p)
	}
	m := <-wh.msgs
	if m.Text != "Warning: Terminal shell in container on node-1" || m.Channel != "#security" || m.Username != "vigil" || m.IconURL != "https://example.com/vigil.png" {
		t.Errorf("message %+v", m)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	att := m.Attachments[0]
	if att.Color != slackColor(engine.PriorityWarning) || att.Text != "A shell was spawned &lt;script&gt; &amp; more" || att.Timestamp != a.Time.Unix() {
		t.Errorf("attachment %+v", att)
	}
	got := map[string]string{}
	var titles []string
	for _, f := range att.Fields {
		got[f.Title] = f.Value
		titles = append(titles, f.Title)
	}
	want := map[string]string{
		"rule":      "Terminal shell in container",
		"priority":  "Warning",
		"time":      a.Time.UTC().Format(time.RFC3339Nano),
		"hostname":  "node-1",
		"user.name": "root",
		"proc.name": "bash",
		"fd.name":   "&lt;NA&gt;", // Slack shows it as <NA>
		"proc.pid":  "42",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) || strings.Join(titles[4:], ",") != "fd.name,proc.name,proc.pid,user.name" {
		t.Errorf("fields %v", titles)
	}
	<-wh.paths
	m = <-wh.msgs
	if att := m.Attachments[0]; att.Color != slackColor(engine.PriorityCritical) || len(att.Fields) != 4 {
		t.Errorf("critical alert: %+v", att)
	}
}

func TestSlackColors(t *testing.T) {
	want := map[engine.Priority]string{
		engine.PriorityEmergency: "#e01e5a", engine.PriorityAlert: "#e01e5a", engine.PriorityCritical: "#e01e5a",
		engine.PriorityError: "#ff8c00", engine.PriorityWarning: "#ecb22e", engine.PriorityNotice: "#2eb67d",
		engine.PriorityInformational: "#36c5f0", engine.PriorityDebug: "#9e9e9e",
	}
	for p, c := range want {
		if got := slackColor(p); got != c {
			t.Errorf("%v: %s, want %s", p, got, c)
		}
	}
}

func TestSlackOutputFormats(t *testing.T) {
	for _, c := range []struct {
		format       string
		text, fields bool
	}{{"", true, true}, {"all", true, true}, {"text", true, false}, {"fields", false, true}} {
		s, err := NewSlack("https://hooks.example.com/x", &SlackOptions{OutputFormat: c.format})
		if err != nil {
			t.Fatal(err)
		}
		var m slackMessage
		if err := json.Unmarshal(s.appendPayload(nil, testAlert()), &m); err != nil {
			t.Fatal(err)
		}
		att := m.Attachments[0]
		if (att.Text != "") != c.text || (len(att.Fields) > 0) != c.fields || att.Fallback == "" {
			t.Errorf("format %q: %+v", c.format, att)
		}
	}
}

// TestSlackRetries checks that a rate-limited post is retried and that
// errors do not show the webhook URL, which is a secret.
func TestSlackRetries(t *testing.T) {
	wh, srv := newSlackWebhook(t, http.StatusTooManyRequests)
	s, err := NewSlack(srv.URL+"/services/SECRET", &SlackOptions{HTTP: *fastRetry(&HTTPOptions{Attempts: 2})})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), testAlert(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(wh.msgs); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
	srv.Close()
	err = s.Write(context.Background(), testAlert(), nil)
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("Write to a closed server = %v, want an error without the URL", err)
	}
	if _, err := NewSlack("https://hooks.example.com/SECRET", &SlackOptions{MinimumPriority: "loud"}); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad minimum priority: %v", err)
	}
}

func TestNewSlackErrors(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts SlackOptions
		want string
	}{
		{"", SlackOptions{}, "webhook_url"},
		{"ftp://h/SECRET", SlackOptions{}, "webhook_url"},
		{"https://h/x", SlackOptions{MinimumPriority: "loud"}, "minimum_priority"},
		{"https://h/x", SlackOptions{OutputFormat: "html"}, "output_format"},
		{"https://h/x", SlackOptions{HTTP: HTTPOptions{CACert: "/nonexistent"}}, "output slack: ca_cert"},
	} {
		_, err := NewSlack(c.url, &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("NewSlack(%q, %+v) = %v, want an error with %q", c.url, c.opts, err, c.want)
		}
	}
}

func TestOutputFields(t *testing.T) {
	got := outputFields([]byte(`{"b":1.5,"a":"x\"y","c":null,"d":true,"e":[1]}`))
	var b bytes.Buffer
	for _, f := range got {
		b.WriteString(f[0] + "=" + f[1] + ";")
	}
	if b.String() != `a=x"y;b=1.5;c=<NA>;d=true;e=[1];` {
		t.Errorf("got %s", b.String())
	}
	if outputFields([]byte("not json")) != nil || outputFields(nil) != nil {
		t.Error("fields from invalid JSON")
	}
}
