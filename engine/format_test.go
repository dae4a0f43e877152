package engine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

func TestFormat(t *testing.T) {
	reg := testRegistry(t)
	ev := testEvent()
	cases := []struct {
		tmpl, want string
	}{
		{"plain text", "plain text"},
		{"file=%t.str res=%t.num", "file=/etc/Shadow.bak res=-2"},
		{"%t.str%t.num", "/etc/Shadow.bak-2"},
		{"(%t.port)", "(443)"},
		{"ip=%t.ip conn=%t.bool", "ip=10.1.2.3 conn=true"},
		{"parent=%t.any[1] missing=%t.any[7]", "parent=sshd missing=<NA>"},
		{"low=%tolower(t.str)", "low=/etc/shadow.bak"},
		{"[%8t.port]", "[443     ]"},
		{"[%4t.str]", "[/etc]"},
		{"name=%t.str.", "name=/etc/Shadow.bak."},
		{"x=%container.info", "x="},
	}
	for _, c := range cases {
		f, err := CompileOutput(c.tmpl, reg)
		if err != nil {
			t.Errorf("CompileOutput(%q): %v", c.tmpl, err)
			continue
		}
		if got := string(f.Append(nil, ev)); got != c.want {
			t.Errorf("%q: got %q, want %q", c.tmpl, got, c.want)
		}
	}
	empty := &driver.Event{}
	f, err := CompileOutput("a=%t.str b=%t.num", reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Append(nil, empty)); got != "a=<NA> b=<NA>" {
		t.Errorf("unavailable fields: got %q", got)
	}
}

func TestFormatErrors(t *testing.T) {
	reg := testRegistry(t)
	for tmpl, want := range map[string]string{
		"trailing %":          "trailing '%'",
		"x=%t.nope":           "nonexistent field t.nope",
		"line\nbad=%(":        "invalid formatting token",
		"x=%toupper(t.num) y": "needs a string argument",
	} {
		_, err := CompileOutput(tmpl, reg)
		var ce *CompileError
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, want) {
			t.Errorf("%q: got %v, want an error containing %q", tmpl, err, want)
		}
	}
	_, err := CompileOutput("line one\nbad=%t.nope", reg)
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Pos.Line != 2 || ce.Pos.Col != 6 {
		t.Errorf("error position: got %v, want line 2 col 6", err)
	}
}

func TestFormatFieldsJSON(t *testing.T) {
	reg := testRegistry(t)
	f, err := CompileOutput("%t.str %t.num %t.bool %t.any[1] %t.any[7] %t.str %t.ip", reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.FieldNames(), ","); got != "t.str,t.num,t.bool,t.any[1],t.any[7],t.ip" {
		t.Errorf("FieldNames() = %s", got)
	}
	out := f.AppendFieldsJSON(nil, testEvent())
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	want := map[string]any{"t.str": "/etc/Shadow.bak", "t.num": float64(-2), "t.bool": true,
		"t.any[1]": "sshd", "t.any[7]": nil, "t.ip": "10.1.2.3"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("output_fields[%s] = %#v, want %#v (all: %s)", k, m[k], v, out)
		}
	}
}
