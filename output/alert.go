// Package output formats alerts in Falco's text and JSON forms and delivers
// them to sinks (stdout, files, HTTP receivers, programs, syslog, Slack,
// Elasticsearch, NATS).
//
// Detection never waits for delivery: [Outputs.Emit] formats an alert once
// and offers it to every sink's bounded queue without blocking; each sink
// drains its queue on its own goroutine. A full queue drops the alert for
// that sink only, and counts it (see [Outputs.Stats]).
//
// The package builds on any OS and imports only the standard library,
// package engine and the NATS client.
package output

import (
	"time"

	"github.com/vigilsec/vigil/engine"
)

// Alert is one rule match, ready to format. It owns all its data: the
// detecting goroutine builds it from an event that is only valid during the
// emit callback, so every string and slice here must be a copy. Once passed
// to [Outputs.Emit] an Alert is shared read-only by all sinks and must not be
// modified.
type Alert struct {
	// Time is the event's time (Falco's evt.time).
	Time time.Time
	// Rule is the name of the rule that matched.
	Rule string
	// Priority is the rule's priority.
	Priority engine.Priority
	// Source is the event source ("syscall").
	Source string
	// Tags are the rule's tags, in any order; JSON output sorts them and
	// drops duplicates, as Falco does.
	Tags []string
	// Hostname is the host the event happened on.
	Hostname string
	// Message is the rule's rendered output, without the time and priority
	// prefix.
	Message string
	// Fields is the JSON object of the rule's output fields as the engine
	// rendered them ({"proc.name":"bash","fd.name":null}), or nil for none.
	// The formatter adds the event time (evt.time, nanoseconds since the
	// epoch) as Falco does.
	Fields []byte
}
