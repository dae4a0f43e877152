package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigilsec/vigil/engine"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testTime is the event time of the test alerts; testZone is the local
// zone of their text form.
var (
	testTime = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)
	testZone = time.FixedZone("CET", 3600)
)

func testAlert() *Alert {
	return &Alert{
		Time:     testTime,
		Rule:     "Terminal shell in container",
		Priority: engine.PriorityWarning,
		Source:   "syscall",
		Tags:     []string{"shell", "container", "mitre_execution"},
		Hostname: "node-1",
		Message:  "A shell was spawned (user=root proc.name=bash fd.name=<NA>)",
		Fields:   []byte(`{"user.name":"root","proc.name":"bash","fd.name":null,"proc.pid":42}`),
	}
}

// formatCase is one formatter golden case.
type formatCase struct {
	name  string
	f     Formatter
	alert func(a *Alert)
}

func formatCases() []formatCase {
	var cases []formatCase
	// Every combination of the JSON options, and of ISO 8601.
	for mask := range 32 {
		f := Formatter{
			JSON:           true,
			IncludeOutput:  mask&1 != 0,
			IncludeTags:    mask&2 != 0,
			IncludeMessage: mask&4 != 0,
			IncludeFields:  mask&8 != 0,
			ISO8601:        mask&16 != 0,
		}
		cases = append(cases, formatCase{name: fmt.Sprintf("json output=%t tags=%t message=%t fields=%t iso8601=%t",
			f.IncludeOutput, f.IncludeTags, f.IncludeMessage, f.IncludeFields, f.ISO8601), f: f})
	}
	all := Formatter{JSON: true, IncludeOutput: true, IncludeTags: true, IncludeMessage: true, IncludeFields: true}
	cases = append(cases,
		formatCase{name: "text", f: Formatter{}},
		formatCase{name: "text iso8601", f: Formatter{ISO8601: true}},
		formatCase{name: "text priorities", f: Formatter{}, alert: func(a *Alert) { a.Priority = engine.PriorityInformational }},
		formatCase{name: "json no tags", f: all, alert: func(a *Alert) { a.Tags = nil }},
		formatCase{name: "json duplicate tags", f: all, alert: func(a *Alert) { a.Tags = []string{"b", "a", "b", "a"} }},
		formatCase{name: "json no fields", f: all, alert: func(a *Alert) { a.Fields = nil }},
		formatCase{name: "json bad fields", f: all, alert: func(a *Alert) { a.Fields = []byte(`{"proc.name":`) }},
		formatCase{name: "json fields not an object", f: all, alert: func(a *Alert) { a.Fields = []byte(`["x"]`) }},
		formatCase{name: "json fields with evt.time", f: all, alert: func(a *Alert) {
			a.Fields = []byte(`{"evt.time":1,"proc.name":"sh"}`)
		}},
		formatCase{name: "json fields typed and nested", f: all, alert: func(a *Alert) {
			a.Fields = []byte(` { "z" : [1, -2.5e3, true, false, null, "s"], "a":{"y":1,"x":"\u00e9\ud83d\ude00"} , "a":"dup wins", "n":{"y":{},"x":"\u00e9\ud83d\ude00"} } `)
		}},
		formatCase{name: "json escaping", f: all, alert: func(a *Alert) {
			a.Rule = `Rule "quoted" \ back`
			a.Hostname = "host<&>"
			a.Message = "line1\nline2\ttab\r\x00\x01\x1f\x7f \"q\" \\ é \u2028 \xff\xfe end"
			a.Fields = []byte(`{"proc.cmdline":"sh -c \"echo\u0001\u000a\"\/","fd.name":"\u2028<>&"}`)
			a.Tags = []string{"t\"ag", "t\nag"}
		}},
		formatCase{name: "json empty", f: all, alert: func(a *Alert) { *a = Alert{} }},
	)
	return cases
}

// TestFormatGolden compares every case with testdata/format.golden (go test
// -update rewrites it), and checks that JSON cases decode with exactly the
// keys the options ask for, in Falco's order.
func TestFormatGolden(t *testing.T) {
	var got bytes.Buffer
	for _, c := range formatCases() {
		a := testAlert()
		if c.alert != nil {
			c.alert(a)
		}
		f := c.f
		f.Location = testZone
		line := f.Append(nil, a)
		fmt.Fprintf(&got, "-- %s --\n%s\n", c.name, line)
		if f.JSON {
			checkJSON(t, c.name, &f, a, line)
		}
	}
	golden := filepath.Join("testdata", "format.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
			}
		}
		t.Log("run go test ./output -run TestFormatGolden -update to accept")
	}
}

// checkJSON decodes line and checks its keys, their order and the values
// that do not depend on escaping choices.
func checkJSON(t *testing.T, name string, f *Formatter, a *Alert, line []byte) {
	t.Helper()
	keys := topKeys(t, line)
	want := []string{"hostname"}
	if f.IncludeMessage {
		want = append(want, "message")
	}
	if f.IncludeOutput {
		want = append(want, "output")
	}
	if f.IncludeFields {
		want = append(want, "output_fields")
	}
	want = append(want, "priority", "rule", "source")
	if f.IncludeTags {
		want = append(want, "tags")
	}
	want = append(want, "time")
	if !slices.Equal(keys, want) {
		t.Errorf("%s: keys %v, want %v", name, keys, want)
	}
	var v struct {
		Hostname     string
		Message      *string
		Output       *string
		OutputFields json.RawMessage `json:"output_fields"`
		Priority     string
		Rule         string
		Source       string
		Tags         []string
		Time         string
	}
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, line)
	}
	valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	if v.Hostname != valid(a.Hostname) || v.Rule != valid(a.Rule) || v.Source != a.Source || v.Priority != a.Priority.String() {
		t.Errorf("%s: decoded %+v", name, v)
	}
	if v.Time != alertTime(a).UTC().Format("2006-01-02T15:04:05.000000000Z") {
		t.Errorf("%s: time %q", name, v.Time)
	}
	if f.IncludeMessage && *v.Message != invalidToFFFD(a.Message) {
		t.Errorf("%s: message %q", name, *v.Message)
	}
	if f.IncludeOutput && *v.Output != invalidToFFFD(string(f.AppendText(nil, a))) {
		t.Errorf("%s: output %q", name, *v.Output)
	}
	if f.IncludeFields {
		key := "evt.time"
		if f.ISO8601 {
			key = "evt.time.iso8601"
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(v.OutputFields, &fields); err != nil {
			t.Fatalf("%s: output_fields: %v", name, err)
		}
		if got := string(fields[key]); got != fmt.Sprint(alertTime(a).UnixNano()) {
			t.Errorf("%s: output_fields[%s] = %s", name, key, got)
		}
		if ks := topKeys(t, v.OutputFields); !slices.IsSorted(ks) {
			t.Errorf("%s: output_fields keys not sorted: %v", name, ks)
		}
	}
}

// invalidToFFFD replaces each invalid byte by U+FFFD, as the formatter does.
func invalidToFFFD(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// topKeys returns the keys of the JSON object in b, in order.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestFormatTextLayout(t *testing.T) {
	a := testAlert()
	f := Formatter{Location: testZone}
	if got, want := string(f.AppendText(nil, a)), "10:00:00.123456789: Warning "+a.Message; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	f.ISO8601 = true
	if got, want := string(f.AppendText(nil, a)), "2026-11-27T09:00:00.123456789Z: Warning "+a.Message; got != want {
		t.Errorf("iso8601 text = %q, want %q", got, want)
	}
	// Whole seconds keep all nine digits.
	a.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f = Formatter{JSON: true}
	if got := string(f.AppendJSON(nil, a)); !strings.Contains(got, `"time":"2026-01-02T03:04:05.000000000Z"`) {
		t.Errorf("json time: %s", got)
	}
	// Append appends.
	if got := string(f.Append([]byte("x"), a)); !strings.HasPrefix(got, `x{"hostname"`) {
		t.Errorf("Append does not append: %s", got)
	}
}

// TestFieldsOrder checks the raw output_fields text: keys byte-wise sorted,
// evt.time merged in, null kept.
func TestFieldsOrder(t *testing.T) {
	got := string(appendFields(nil, []byte(`{"proc.name":"bash","fd.name":null,"Z":1,"evt.time":5}`), "evt.time", 7))
	want := `{"Z":1,"evt.time":7,"fd.name":null,"proc.name":"bash"}`
	if got != want {
		t.Errorf("fields = %s, want %s", got, want)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\x7f", "é😀", "\b\f\n\r\t", "<>&\u2028\u2029", "\xff"} {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if back != invalidToFFFD(s) {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}

// FuzzFormatJSON checks that any message, tag and fields produce valid
// JSON whose strings decode to the input, and whose output_fields are the
// input fields (when they are a JSON object) plus evt.time.
func FuzzFormatJSON(f *testing.F) {
	f.Add("msg", "tag", []byte(`{"proc.name":"bash","fd.name":null}`))
	f.Add("a\x00\"\\\n\xff", "t\t", []byte(`{"a":[1,{"b":"\ud800"}],"a":2.5e-3}`))
	f.Add("", "", []byte(`{`))
	f.Add("é", "x", []byte(`{"evt.time":"x"}`))
	f.Fuzz(func(t *testing.T, msg, tag string, fields []byte) {
		fm := Formatter{JSON: true, IncludeOutput: true, IncludeTags: true, IncludeMessage: true, IncludeFields: true}
		a := testAlert()
		a.Message, a.Tags, a.Fields = msg, []string{tag}, fields
		line := fm.AppendJSON(nil, a)
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %s", line)
		}
		var v struct {
			Message      string
			Tags         []string
			OutputFields json.RawMessage `json:"output_fields"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatal(err)
		}
		if v.Message != invalidToFFFD(msg) || len(v.Tags) != 1 || v.Tags[0] != invalidToFFFD(tag) {
			t.Fatalf("message %q tags %q from %q %q", v.Message, v.Tags, msg, tag)
		}
		var in map[string]any
		d := json.NewDecoder(bytes.NewReader(fields))
		d.UseNumber()
		if err := d.Decode(&in); err != nil || in == nil || d.More() || !json.Valid(fields) {
			in = map[string]any{}
		}
		in["evt.time"] = json.Number(fmt.Sprint(a.Time.UnixNano()))
		var out map[string]any
		d = json.NewDecoder(bytes.NewReader(v.OutputFields))
		d.UseNumber()
		if err := d.Decode(&out); err != nil {
			t.Fatal(err)
		}
		wantB, _ := json.Marshal(in)
		gotB, _ := json.Marshal(out)
		if !bytes.Equal(wantB, gotB) {
			t.Fatalf("output_fields %s, want %s (from %q)", gotB, wantB, fields)
		}
	})
}
