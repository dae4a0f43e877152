package grpcout

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
)

func TestOutputFields(t *testing.T) {
	ts := time.Unix(1, 5)
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"none", "", map[string]string{}},
		{"empty", "{}", map[string]string{}},
		{"strings", `{"proc.name":"bash","fd.name":"/etc/pass\u0077d","e":""}`, map[string]string{"proc.name": "bash", "fd.name": "/etc/passwd", "e": ""}},
		{"null", `{"fd.name":null}`, map[string]string{"fd.name": "<NA>"}},
		{"numbers", `{"proc.pid":42,"evt.rawres":-1,"f":1.5e3}`, map[string]string{"proc.pid": "42", "evt.rawres": "-1", "f": "1.5e3"}},
		{"bools", `{"a":true,"b":false}`, map[string]string{"a": "true", "b": "false"}},
		{"compound", `{"l":[ "a", 1 ],"o":{ "k" : null }}`, map[string]string{"l": `["a",1]`, "o": `{"k":null}`}},
		{"duplicate keys: last wins", `{"a":"1","a":"2"}`, map[string]string{"a": "2"}},
		{"not an object", `["a"]`, map[string]string{}},
		{"broken", `{"a":`, map[string]string{}},
		{"own evt.time replaced", `{"evt.time":"x"}`, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := maps.Clone(tc.want)
			want["evt.time"] = "1000000005"
			if got := outputFields([]byte(tc.in), "evt.time", ts); !maps.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	f := output.DefaultFormatter()
	f.ISO8601 = true
	s := &Server{format: f, timeKey: "evt.time.iso8601"}

	// Falco's priorities keep their numbers and names.
	for p := engine.PriorityEmergency; p <= engine.PriorityDebug; p++ {
		a := &output.Alert{Priority: p}
		got := s.convert(a).Priority
		if want := "PRIORITY_" + strings.ToUpper(p.String()); got.String() != want {
			t.Errorf("priority %v: got %v, want %s", p, got, want)
		}
	}

	// A zero time is the epoch, as in the other outputs; ISO 8601 names the
	// time field as Falco does.
	m := s.convert(&output.Alert{Priority: engine.PriorityError, Message: "m"})
	if m.Time.AsTime() != time.Unix(0, 0).UTC() || m.Output != "1970-01-01T00:00:00.000000000Z: Error m" {
		t.Errorf("zero time: %v %q", m.Time.AsTime(), m.Output)
	}
	if m.OutputFields["evt.time.iso8601"] != "0" || len(m.OutputFields) != 1 {
		t.Errorf("output fields %v", m.OutputFields)
	}
	if m.Tags != nil {
		t.Errorf("tags %v, want none", m.Tags)
	}

	// The alert's tags are not modified.
	a := testAlert()
	s.convert(a)
	if a.Tags[0] != "shell" || len(a.Tags) != 4 {
		t.Errorf("alert's tags modified: %v", a.Tags)
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, network, address string }{
		{"unix:///run/vigil/vigil.sock", "unix", "/run/vigil/vigil.sock"},
		{"unix:///run//vigil/../vigil.sock", "unix", "/run/vigil.sock"},
		{"unix:/run/x", "unix", "/run/x"},
		{"127.0.0.1:5060", "tcp", "127.0.0.1:5060"},
		{"[::1]:5060", "tcp", "[::1]:5060"},
		{"localhost:0", "tcp", "localhost:0"},
	} {
		network, address, err := parseAddress(tc.in)
		if err != nil || network != tc.network || address != tc.address {
			t.Errorf("%s: got %s %s %v, want %s %s", tc.in, network, address, err, tc.network, tc.address)
		}
	}
	for _, in := range []string{"", "unix://", "unix:run/x", "unix://run/x", "http://localhost:80", "localhost", "localhost:http", "127.0.0.1:65536"} {
		if _, _, err := parseAddress(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:1", "127.1.2.3:1", "[::1]:1", "localhost:1", "LocalHost:1"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{":1", "0.0.0.0:1", "[::]:1", "10.0.0.1:1", "host.example:1", "[::ffff:10.0.0.1]:1"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
