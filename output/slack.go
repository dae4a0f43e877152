package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/engine"
)

// SlackOptions configures a Slack sink. The zero value posts every alert
// with its text and fields, as the webhook's own channel, user name and
// icon, through a transport with HTTPOptions' defaults.
type SlackOptions struct {
	// MinimumPriority is the least severe priority posted ("warning"
	// posts warnings and worse); empty means debug, every alert. Alerts
	// below it are skipped: Write returns nil for them.
	MinimumPriority string
	// Channel, Username and IconURL override the webhook's defaults when
	// set.
	Channel, Username, IconURL string
	// OutputFormat is "all" (the alert's text and a table of its fields,
	// the default), "text" or "fields".
	OutputFormat string
	// HTTP holds the transport's TLS settings, timeout, User-Agent and
	// retries; its JSON field is ignored.
	HTTP HTTPOptions
}

// Slack is a sink posting each alert to a Slack incoming webhook as a
// message with one attachment coloured by priority: red for critical and
// worse, orange for error, yellow for warning, green for notice, blue for
// informational, grey for debug. The attachment holds the alert's text
// and fields for its rule, priority, time, host and output fields.
type Slack struct {
	url     string
	c       *httpClient
	min     engine.Priority
	opts    SlackOptions
	text    bool
	fields  bool
	payload []byte
}

// NewSlack returns a sink posting to webhookURL; opts may be nil. It
// returns an error for a URL that is not http or https with a host, an
// unknown minimum priority or output format, and unreadable TLS files.
// Errors never show the URL, which holds the webhook's secret.
func NewSlack(webhookURL string, opts *SlackOptions) (*Slack, error) {
	var o SlackOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output slack: webhook_url: want http:// or https:// and a host")
	}
	s := &Slack{url: u.String(), opts: o}
	if s.min, err = minimumPriority(o.MinimumPriority); err != nil {
		return nil, fmt.Errorf("output slack: minimum_priority: %w", err)
	}
	switch o.OutputFormat {
	case "", "all":
		s.text, s.fields = true, true
	case "text":
		s.text = true
	case "fields":
		s.fields = true
	default:
		return nil, fmt.Errorf("output slack: output_format %q: want all, text or fields", o.OutputFormat)
	}
	if s.c, err = newHTTPClient("slack", &o.HTTP); err != nil {
		return nil, err
	}
	s.c.redact = true
	return s, nil
}

// minimumPriority parses a minimum priority; empty means debug.
func minimumPriority(name string) (engine.Priority, error) {
	if name == "" {
		return engine.PriorityDebug, nil
	}
	return engine.ParsePriority(name)
}

// Name returns "slack".
func (s *Slack) Name() string { return "slack" }

// Write posts the alert unless it is below the minimum priority, retrying
// as the HTTP sink does (Slack answers 429 when rate limiting). It returns
// the last attempt's error.
func (s *Slack) Write(ctx context.Context, a *Alert, _ []byte) error {
	if a.Priority > s.min {
		return nil
	}
	s.payload = s.appendPayload(s.payload[:0], a)
	header := http.Header{"Content-Type": {"application/json"}}
	err := s.c.retry.do(ctx, func() error {
		_, err := s.c.post(ctx, s.url, header, s.payload, 0)
		return err
	}, retryable)
	if err != nil {
		return fmt.Errorf("output slack: post to webhook: %w", err)
	}
	return nil
}

// slackColor returns the attachment colour for a priority.
func slackColor(p engine.Priority) string {
	switch {
	case p <= engine.PriorityCritical:
		return "#e01e5a" // red
	case p == engine.PriorityError:
		return "#ff8c00" // orange
	case p == engine.PriorityWarning:
		return "#ecb22e" // yellow
	case p == engine.PriorityNotice:
		return "#2eb67d" // green
	case p == engine.PriorityInformational:
		return "#36c5f0" // blue
	default:
		return "#9e9e9e" // grey
	}
}

// slackField is one row of an attachment's table.
type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

type slackAttachment struct {
	Fallback   string       `json:"fallback"`
	Color      string       `json:"color"`
	Text       string       `json:"text,omitempty"`
	Fields     []slackField `json:"fields,omitempty"`
	Footer     string       `json:"footer"`
	Timestamp  int64        `json:"ts,omitempty"`
	MarkdownIn []string     `json:"mrkdwn_in,omitempty"`
}

type slackMessage struct {
	Text        string            `json:"text"`
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	IconURL     string            `json:"icon_url,omitempty"`
	Attachments []slackAttachment `json:"attachments"`
}

// slackEscape escapes the three characters Slack's message formatting
// reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// appendPayload appends the webhook's JSON payload for a.
func (s *Slack) appendPayload(dst []byte, a *Alert) []byte {
	t := alertTime(a).UTC()
	prio := a.Priority.String()
	summary := fmt.Sprintf("%s: %s", prio, a.Rule)
	if a.Hostname != "" {
		summary += " on " + a.Hostname
	}
	att := slackAttachment{
		Fallback:  slackEscape.Replace(summary + ": " + a.Message),
		Color:     slackColor(a.Priority),
		Footer:    "vigil",
		Timestamp: t.Unix(),
	}
	if s.text {
		att.Text = slackEscape.Replace(a.Message)
	}
	if s.fields {
		short := func(v string) bool { return len(v) <= 40 }
		att.Fields = []slackField{
			{Title: "rule", Value: slackEscape.Replace(a.Rule), Short: short(a.Rule)},
			{Title: "priority", Value: prio, Short: true},
			{Title: "time", Value: t.Format(time.RFC3339Nano), Short: true},
		}
		if a.Hostname != "" {
			att.Fields = append(att.Fields, slackField{Title: "hostname", Value: slackEscape.Replace(a.Hostname), Short: short(a.Hostname)})
		}
		for _, f := range outputFields(a.Fields) {
			att.Fields = append(att.Fields, slackField{Title: f[0], Value: slackEscape.Replace(f[1]), Short: short(f[1])})
		}
	}
	msg := slackMessage{
		Text:        slackEscape.Replace(summary),
		Channel:     s.opts.Channel,
		Username:    s.opts.Username,
		IconURL:     s.opts.IconURL,
		Attachments: []slackAttachment{att},
	}
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)                // & < > are already Slack's entities
	if err := enc.Encode(msg); err != nil { // cannot happen: strings, numbers and bools
		return append(dst, "{}"...)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// outputFields returns the alert's output fields as sorted name, value
// pairs: strings as they are, null as Falco's "<NA>", other values in
// their JSON form. Fields that are not a JSON object give none.
func outputFields(fields []byte) [][2]string {
	if len(fields) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(fields, &m); err != nil {
		return nil
	}
	out := make([][2]string, 0, len(m))
	for k, raw := range m {
		var v string
		switch {
		case string(raw) == "null":
			v = "<NA>"
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &v); err != nil {
				v = string(raw)
			}
		default:
			v = string(raw)
		}
		out = append(out, [2]string{k, v})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// Close closes idle connections.
func (s *Slack) Close() error {
	s.c.close()
	return nil
}
