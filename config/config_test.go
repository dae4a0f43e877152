package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultYAML(t *testing.T) {
	c, warns, err := Parse("vigil.yaml", DefaultYAML())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("parsed vigil.yaml differs from Default():\n got %+v\nwant %+v", c, want)
	}
	if _, err := Validate(Default()); err != nil {
		t.Errorf("Validate(Default()): %v", err)
	}
}

// TestDefaultYAMLComments checks that every key in vigil.yaml has a comment
// right above it, at its indentation. Keys inside list items are described
// by the comment on their list.
func TestDefaultYAMLComments(t *testing.T) {
	lines := strings.Split(string(DefaultYAML()), "\n")
	indentOf := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	item := -1 // indentation of the list item we are in, or -1
	for i, l := range lines {
		trim := strings.TrimSpace(l)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if item >= 0 && indentOf(l) > item {
			continue
		}
		item = -1
		if strings.HasPrefix(trim, "- ") {
			item = indentOf(l)
			continue
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") || indentOf(lines[i-1]) != indentOf(l) {
			t.Errorf("vigil.yaml:%d: %q has no comment above it", i+1, trim)
		}
	}
}

func TestDefaultYAMLIndependent(t *testing.T) {
	b := DefaultYAML()
	b[0] = 'X'
	if DefaultYAML()[0] == 'X' {
		t.Error("DefaultYAML returns the embedded slice itself")
	}
}

// leaf is one key of Config with a wrong value for it, and what the error
// should say.
type leaf struct {
	path string // key path, as in messages
	yaml string // a file setting it to a wrong value marked by «»
	want string // the message after "path: "
}

// badValue returns a wrong value for a field of type t and the expected
// message, or ok=false when every scalar is acceptable.
func badValue(t reflect.Type, fi fieldInfo) (val, want string) {
	switch {
	case t == durationType && fi.unit == "ms":
		return "soon", `expected milliseconds or a duration such as 2s, got "soon"`
	case t == durationType:
		return "soon", `expected a duration such as 1h, 30s or 1h30m, got "soon"`
	case t == reflect.TypeFor[RuleSelector]():
		return "x", `expected a map with enable or disable, got "x"`
	case t == reflect.TypeFor[[]ConfigFile](), t == reflect.TypeFor[[]ExtraField]():
		return "{a: 1}", "expected a list, got a map"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "maybe", `expected a boolean, got "maybe"`
	case reflect.Int:
		return "many", `expected an integer, got "many"`
	case reflect.Float64:
		return "lots", `expected a number, got "lots"`
	case reflect.String:
		return "{a: 1}", "expected a string, got a map"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "{a: 1}", "expected a list, got a map"
		}
		return "x", `expected a list, got "x"`
	case reflect.Struct:
		return "x", `expected a map, got "x"`
	}
	panic("no bad value for " + t.String())
}

// leaves lists every key of t, with YAML that sets it (and only it) to a
// wrong value. Lists of structs are entered through their first item.
func leaves(t reflect.Type, path string, indent int, item bool) []leaf {
	var out []leaf
	for _, f := range fieldsOf(t) {
		ft := t.Field(f.index).Type
		p := childPath(path, f.name)
		pad := strings.Repeat(" ", indent)
		if item {
			pad = strings.Repeat(" ", indent-2) + "- "
		}
		val, want := badValue(ft, f)
		out = append(out, leaf{p, pad + f.name + ": «" + val + "»\n", want})
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			for _, l := range leaves(ft, p, indent+2, false) {
				out = append(out, leaf{l.path, pad + f.name + ":\n" + l.yaml, l.want})
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct &&
			ft.Elem() != reflect.TypeFor[RuleSelector]() && ft.Elem() != reflect.TypeFor[ExtraField]():
			for _, l := range leaves(ft.Elem(), p+"[0]", indent+4, true) {
				out = append(out, leaf{l.path, pad + f.name + ":\n" + l.yaml, l.want})
			}
		}
	}
	return out
}

// TestEveryKeyTypeError sets every key of Config to a value of the wrong
// type and checks the error's position, key and message.
func TestEveryKeyTypeError(t *testing.T) {
	all := leaves(reflect.TypeFor[Config](), "", 0, false)
	if len(all) < 150 {
		t.Fatalf("only %d keys generated", len(all))
	}
	for _, l := range all {
		t.Run(l.path, func(t *testing.T) {
			at := strings.Index(l.yaml, "«")
			line := strings.Count(l.yaml[:at], "\n") + 1
			col := at - strings.LastIndex(l.yaml[:at], "\n")
			src := strings.NewReplacer("«", "", "»", "").Replace(l.yaml)
			_, _, err := Parse("bad.yaml", []byte(src))
			want := fmt.Sprintf("bad.yaml:%d:%d: %s: %s", line, col, l.path, l.want)
			if err == nil || err.Error() != want {
				t.Errorf("%s\n got %v\nwant %s", src, err, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Key != l.path || e.Pos.Line != line || e.Pos.Col != col {
				t.Errorf("errors.As: %#v", e)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // each a line of the error
	}{
		{"quoted bool", "http_output:\n  enabled: \"yes please\"\n",
			[]string{`bad.yaml:2:12: http_output.enabled: expected a boolean, got "yes please"`}},
		{"int overflow", "webserver:\n  listen_port: 99999999999999999999\n",
			[]string{`bad.yaml:2:16: webserver.listen_port: expected an integer, got "99999999999999999999"`}},
		{"float for int", "outputs_queue:\n  capacity: 1.5\n",
			[]string{`bad.yaml:2:13: outputs_queue.capacity: expected an integer, got "1.5"`}},
		{"nan", "syscall_event_drops:\n  rate: .nan\n",
			[]string{`bad.yaml:2:9: syscall_event_drops.rate: expected a number, got ".nan"`}},
		{"port range", "webserver:\n  listen_port: 70000\n",
			[]string{`bad.yaml:2:16: webserver.listen_port: expected a value from 0 to 65535, got 70000`}},
		{"negative", "outputs_queue:\n  capacity: -1\n",
			[]string{`bad.yaml:2:13: outputs_queue.capacity: expected a value of at least 0, got -1`}},
		{"threshold", "syscall_event_drops:\n  threshold: 1.5\n",
			[]string{`bad.yaml:2:14: syscall_event_drops.threshold: expected a value from 0 to 1, got 1.5`}},
		{"priority", "priority: loud\n",
			[]string{`bad.yaml:1:11: priority: expected one of emergency, alert, critical, error, warning, notice, informational, info, debug, got "loud"`}},
		{"rule_matching", "rule_matching: some\n",
			[]string{`bad.yaml:1:16: rule_matching: expected one of first, all, got "some"`}},
		{"drop action", "syscall_event_drops:\n  actions: [log, shout]\n",
			[]string{`bad.yaml:2:18: syscall_event_drops.actions[1]: expected one of ignore, log, alert, exit, got "shout"`}},
		{"engine kind", "engine:\n  kind: kvm\n",
			[]string{`bad.yaml:2:9: engine.kind: expected one of auto, ebpf, fanotify, procscan, ptrace, replay, got "kvm"`}},
		{"gvisor", "engine:\n  kind: gvisor\n",
			[]string{`bad.yaml:2:9: engine.kind: Falco's gvisor engine is not supported by Vigil; use one of auto, ebpf, fanotify, procscan, ptrace, replay`}},
		{"replay without file", "engine:\n  kind: replay\n",
			[]string{`bad.yaml:1:1: engine.replay.capture_file: required when engine.kind is replay`}},
		{"http without url", "http_output:\n  enabled: true\n",
			[]string{`bad.yaml:1:1: http_output.url: required when http_output is enabled`}},
		{"http bad scheme", "http_output:\n  url: ftp://host/x\n",
			[]string{`bad.yaml:2:8: http_output.url: invalid URL "ftp://host/x": the scheme must be http or https`}},
		{"http no host", "http_output:\n  url: http:///x\n",
			[]string{`bad.yaml:2:8: http_output.url: invalid URL "http:///x": no host`}},
		{"http bad url", "http_output:\n  url: \"http://[::1\"\n",
			[]string{`bad.yaml:2:8: http_output.url: invalid URL "<redacted>": missing ']' in host`}},
		{"program", "program_output:\n  enabled: true\n",
			[]string{`bad.yaml:1:1: program_output.program: required when program_output is enabled`}},
		{"slack", "slack_output:\n  enabled: true\n  minimum_priority: meh\n",
			[]string{
				`bad.yaml:3:21: slack_output.minimum_priority: expected one of emergency, alert, critical, error, warning, notice, informational, info, debug, got "meh"`,
				`bad.yaml:1:1: slack_output.webhook_url: required when slack_output is enabled`,
			}},
		{"elasticsearch", "elasticsearch_output:\n  url: http://es:9200\n  password: x\n  api_key: k\n  username: u\n",
			[]string{`bad.yaml:4:12: elasticsearch_output.api_key: set either username and password or api_key, not both`}},
		{"elasticsearch password", "elasticsearch_output:\n  password: x\n",
			[]string{`bad.yaml:2:13: elasticsearch_output.password: needs a username`}},
		{"nats", "nats_output:\n  url: http://n:4222\n  subject_prefix: a b\n",
			[]string{
				`bad.yaml:2:8: nats_output.url: invalid URL "http://n:4222": the scheme must be nats or tls or ws or wss`,
				`bad.yaml:3:19: nats_output.subject_prefix: invalid NATS subject prefix "a b"`,
			}},
		{"grpc", "grpc:\n  enabled: true\n  bind_address: localhost\n",
			[]string{`bad.yaml:3:17: grpc.bind_address: invalid address "localhost": expected unix:///path or host:port`}},
		{"grpc tls", "grpc:\n  enabled: true\n  bind_address: 127.0.0.1:5060\n  private_key: k.pem\n",
			[]string{`bad.yaml:1:1: grpc: TLS needs both private_key and cert_chain`}},
		{"syslog address", "syslog_output:\n  address: udp://nohostport\n",
			[]string{`bad.yaml:2:12: syslog_output.address: invalid address "udp://nohostport": expected udp://host:port`}},
		{"healthz", "webserver:\n  k8s_healthz_endpoint: healthz\n",
			[]string{`bad.yaml:2:25: webserver.k8s_healthz_endpoint: expected a path starting with /, got "healthz"`}},
		{"metrics interval", "metrics:\n  enabled: true\n  interval: 50ms\n",
			[]string{`bad.yaml:3:13: metrics.interval: expected at least 100ms, got 50ms`}},
		{"selector both", "rules:\n  - disable: {rule: x, tag: y}\n",
			[]string{`bad.yaml:2:5: rules[0]: expected a rule or a tag, not both`}},
		{"selector verb", "rules:\n  - drop: {rule: x}\n",
			[]string{`bad.yaml:2:5: rules[0].drop: expected a map with enable or disable, got "drop"`}},
		{"selector value", "rules:\n  - enable: x\n",
			[]string{`bad.yaml:2:13: rules[0].enable: expected a map with rule or tag, got "x"`}},
		{"selector empty", "rules:\n  - enable: {}\n",
			[]string{`bad.yaml:2:5: rules[0]: expected a rule or a tag`}},
		{"extra_fields nested", "append_output:\n  - extra_fields:\n      - a: {b: c}\n",
			[]string{`bad.yaml:3:12: append_output[0].extra_fields[0].a: expected an output format string, got a map`}},
		{"extra_fields list", "append_output:\n  - extra_fields:\n      - [a]\n",
			[]string{`bad.yaml:3:9: append_output[0].extra_fields[0]: expected a field name or a map of names to output formats, got a list`}},
		{"both rules keys", "rules_file: /a.yaml\nrules_files: [/b.yaml]\n",
			[]string{`bad.yaml:1:1: rules_file: rules_file and rules_files are both set; use rules_files only`}},
		{"duplicate key", "json_output: true\njson_output: false\n",
			[]string{`bad.yaml:2:1: json_output: key given twice (first at line 1)`}},
		{"config_files entry", "config_files:\n  - strategy: override\n",
			[]string{`bad.yaml:2:5: config_files[0].path: missing path`}},
		{"config_files strategy", "config_files:\n  - {path: /x, strategy: merge}\n",
			[]string{`bad.yaml:2:26: config_files[0].strategy: expected one of append, override, add-only, got "merge"`}},
		{"top-level list", "- a\n- b\n",
			[]string{`bad.yaml:1:1: expected a map of configuration keys, got a list`}},
		{"syntax", "a: b\n c: d\n",
			[]string{`bad.yaml:2: invalid YAML: mapping values are not allowed in this context`}},
		{"tab", "a:\n\tb: 1\n",
			[]string{`bad.yaml:2: invalid YAML: found character that cannot start any token`}},
		{"key not scalar", "? [a]\n: 1\n",
			[]string{`bad.yaml:1:3: expected a string key, got a list`}},
		{"alias bomb", aliasBomb(),
			[]string{`bad.yaml:9:5: base_syscalls.custom_set[0]: expected a string, got a list`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("bad.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error for\n%s", tc.src)
			}
			got := err.Error()
			if tc.name == "alias bomb" {
				// Decoding follows the schema, so aliases cannot make it
				// descend further than a plain file would.
				if n := strings.Count(got, "\n") + 1; n > 10 || !strings.HasPrefix(got, tc.want[0]) {
					t.Errorf("got %d errors: %v", n, err)
				}
				return
			}
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

// aliasBomb is a small file whose aliases expand to billions of nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("x0: &a0 [c, c, c, c, c, c, c, c, c, c]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("base_syscalls:\n  custom_set: *a9\n")
	return b.String()
}

func TestWarnings(t *testing.T) {
	src := `foo: 1
http_output:
  urll: http://x/
append_output:
  - matchh: {}
rules:
  - disable: {rulee: x, rule: y}
engine:
  kind: kmod
  kmod:
    buf_size_preset: 4
rules_file: /etc/falco/falco_rules.yaml
plugins: []
container_engines:
  lxc: {enabled: true}
  cri:
    disable_async: false
`
	c, warns, err := Parse("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		"w.yaml:12:1: rules_file: deprecated; use rules_files",
		"w.yaml:1:1: foo: unknown key; ignored",
		"w.yaml:3:3: http_output.urll: unknown key (did you mean url?); ignored",
		"w.yaml:5:5: append_output[0].matchh: unknown key (did you mean match?); ignored",
		"w.yaml:7:15: rules[0].disable.rulee: unknown key (did you mean rule?); ignored",
		"w.yaml:10:3: engine.kmod: Vigil has no kmod engine settings; ignored",
		"w.yaml:13:1: plugins: Falco plugins are not supported by Vigil; ignored",
		"w.yaml:15:3: container_engines.lxc: not supported by Vigil; ignored",
		"w.yaml:17:5: container_engines.cri.disable_async: not supported by Vigil; ignored",
		"w.yaml:9:9: engine.kind: Falco's kmod engine is Vigil's ebpf driver; using ebpf",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Engine.Kind != KindEBPF {
		t.Errorf("engine.kind = %q", c.Engine.Kind)
	}
	if !reflect.DeepEqual(c.RulesFiles, []string{"/etc/falco/falco_rules.yaml"}) {
		t.Errorf("rules_files = %q", c.RulesFiles)
	}
	if want := []RuleSelector{{Rule: "y"}}; !reflect.DeepEqual(c.Rules, want) {
		t.Errorf("rules = %+v", c.Rules)
	}
}

func TestParseValues(t *testing.T) {
	src := `
rules_files: /only.yaml
rules:
  - disable: {rule: "*"}
  - enable: {tag: network}
  - enable:
      rule: Terminal shell in container
priority: WARNING
json_output: yes
buffered_outputs: On
output_timeout: 3s
outputs:
  rate: 0.5
  max_burst: 0x10
metrics:
  interval: 1h30m
elasticsearch_output:
  flush_interval: 1d
append_output:
  - match:
      source: syscall
      tags: [container, mitre_execution]
      rule: Terminal shell in container
    extra_output: "pod=%k8s.pod.name"
    extra_fields:
      - proc.exepath
      - {a.b: "%proc.pid", c: "%user.name"}
    suggested_output: false
  - extra_output: only text
base_syscalls:
  custom_set: [clone3, "!read"]
config_files:
  - /etc/vigil/a.yaml
  - {path: b.d, strategy: add-only}
webserver:
  listen_port: +8766
stdout_output: ~
file_output:
  filename: null
http_output:
  url: https://user:pw@h/x?token=1
`
	c, warns, err := Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	want := Default()
	want.RulesFiles = []string{"/only.yaml"}
	want.Rules = []RuleSelector{{Rule: "*"}, {Enable: true, Tag: "network"}, {Enable: true, Rule: "Terminal shell in container"}}
	want.Priority = "warning"
	want.JSONOutput = true
	want.BufferedOutputs = true
	want.OutputTimeout = 3 * time.Second
	want.Outputs = Outputs{Rate: 0.5, MaxBurst: 16}
	want.Metrics.Interval = 90 * time.Minute
	want.ElasticsearchOutput.FlushInterval = 24 * time.Hour
	want.AppendOutput = []AppendOutput{
		{
			Match:       OutputMatch{Source: "syscall", Tags: []string{"container", "mitre_execution"}, Rule: "Terminal shell in container"},
			ExtraOutput: "pod=%k8s.pod.name",
			ExtraFields: []ExtraField{{Key: "proc.exepath"}, {Key: "a.b", Format: "%proc.pid"}, {Key: "c", Format: "%user.name"}},
		},
		{ExtraOutput: "only text"},
	}
	want.BaseSyscalls.CustomSet = []string{"clone3", "!read"}
	want.ConfigFiles = []ConfigFile{{Path: "/etc/vigil/a.yaml", Strategy: "append"}, {Path: "b.d", Strategy: "add-only"}}
	want.Webserver.ListenPort = 8766
	want.HTTPOutput.URL = "https://user:pw@h/x?token=1"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "\n", "# nothing\n", "---\n", "~\n"} {
		c, warns, err := Parse("e.yaml", []byte(src))
		if err != nil || len(warns) != 0 || !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: %v %v", src, warns, err)
		}
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true}, {"15m", 15 * time.Minute, true}, {"100ms", 100 * time.Millisecond, true},
		{"1h30m", 90 * time.Minute, true}, {"2d", 48 * time.Hour, true}, {"1w", 7 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true}, {"1.5h", 90 * time.Minute, true}, {"1h0m0s", time.Hour, true},
		{"", 0, false}, {"h", 0, false}, {"10", 0, false}, {"5min", 0, false}, {"99999999999y", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok {
			if back, err := parseDuration(formatDuration(got)); err != nil || back != got {
				t.Errorf("formatDuration(%v) = %q does not read back: %v %v", got, formatDuration(got), back, err)
			}
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("VIGIL_TEST_URL", "http://receiver:2801/")
	t.Setenv("VIGIL_TEST_TRUE", "true")
	t.Setenv("VIGIL_TEST_PORT", "9999")
	t.Setenv("VIGIL_TEST_EMPTY", "")
	src := `
http_output:
  enabled: ${VIGIL_TEST_TRUE}
  url: ${VIGIL_TEST_URL}
  user_agent: "vigil/${VIGIL_TEST_PORT}-${VIGIL_TEST_UNSET_X}x"
  ca_cert: $${VIGIL_TEST_URL}
  client_cert: ${VIGIL_TEST_EMPTY}
  client_key: $HOME ${VIGIL_TEST_URL}
  ca_bundle: "${VIGIL_TEST_URL"
webserver:
  listen_port: ${VIGIL_TEST_PORT}
json_output: ${VIGIL_TEST_UNSET_X}
program_output:
  program: "jq '{text: .output}' | curl -d @- $URL"
rules_files:
  - ${VIGIL_TEST_PORT}.yaml
${VIGIL_TEST_URL}: 1
`
	c, warns, err := Parse("env.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	h := c.HTTPOutput
	for _, tc := range []struct{ got, want any }{
		{h.Enabled, true},
		{h.URL, "http://receiver:2801/"},
		{h.UserAgent, "vigil/9999-x"},
		{h.CACert, "${VIGIL_TEST_URL}"},
		{h.ClientCert, "/etc/ssl/certs/client.crt"}, // empty expansion: the default stays
		{h.ClientKey, "$HOME ${VIGIL_TEST_URL}"},    // Falco stops at a $ that starts no ${
		{h.CABundle, "${VIGIL_TEST_URL"},
		{c.Webserver.ListenPort, 9999},
		{c.JSONOutput, false},
		{c.ProgramOutput.Program, "jq '{text: .output}' | curl -d @- $URL"},
		{c.RulesFiles, []string{"9999.yaml"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("got %#v, want %#v", tc.got, tc.want)
		}
	}
	// Keys are not expanded.
	if len(warns) != 1 || warns[0].Key != "${VIGIL_TEST_URL}" {
		t.Errorf("warnings: %v", warns)
	}

	t.Setenv("VIGIL_TEST_BAD", "yes please")
	_, _, err = Parse("env.yaml", []byte("stdout_output:\n  enabled: ${VIGIL_TEST_BAD}\n"))
	if want := `env.yaml:2:12: stdout_output.enabled: expected a boolean, got "yes please"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestExpandString(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two", "E": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"":              "",
		"plain":         "plain",
		"${A}":          "1",
		"x${A}y${B}z":   "x1ytwoz",
		"${NOPE}":       "",
		"${E}-":         "-",
		"$${A}":         "${A}",
		"$${A}${B}":     "${A}two",
		"${A":           "${A",
		"a$b ${A}":      "a$b ${A}",
		"${A}$":         "1$",
		"${}":           "",
		"$$${A}":        "$$${A}",
		"${A}}":         "1}",
		"${A${B}}":      "}",
		"cost: 5$ ${A}": "cost: 5$ ${A}",
	} {
		if got := expandString(in, lookup); got != want {
			t.Errorf("expandString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write("vigil.yaml", `config_files:
  - conf.d
  - {path: over.yaml, strategy: override}
  - {path: add.yaml, strategy: add-only}
  - missing.yaml
rules_files: [/a.yaml]
priority: error
`)
	write("conf.d/10-first.yaml", "rules_files: [/b.yaml]\njson_output: true\n")
	write("conf.d/20-second.yml", "rules_files:\n  - /c.yaml\nfoo: 1\n")
	write("conf.d/notes.txt", "not: yaml: at: all")
	write("over.yaml", "syscall_event_drops:\n  actions: [exit]\n")
	write("add.yaml", "priority: debug\nlog_level: debug\n")

	c, warns, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/a.yaml", "/b.yaml", "/c.yaml"}; !reflect.DeepEqual(c.RulesFiles, want) {
		t.Errorf("rules_files = %q, want %q", c.RulesFiles, want)
	}
	if !c.JSONOutput || c.Priority != "error" || c.LogLevel != "debug" ||
		!reflect.DeepEqual(c.SyscallEventDrops.Actions, []string{"exit"}) {
		t.Errorf("merged config: %+v", c)
	}
	wantWarn := filepath.Join(dir, "conf.d/20-second.yml") + ":3:1: foo: unknown key; ignored"
	if len(warns) != 1 || warns[0].String() != wantWarn {
		t.Errorf("warnings %v, want %s", warns, wantWarn)
	}

	// Errors point into the included file.
	write("conf.d/30-bad.yaml", "webserver:\n  listen_port: x\n")
	_, _, err = Load(main)
	want := filepath.Join(dir, "conf.d/30-bad.yaml") + `:2:16: webserver.listen_port: expected an integer, got "x"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	os.Remove(filepath.Join(dir, "conf.d/30-bad.yaml"))

	// Included files cannot include.
	write("conf.d/40-nested.yaml", "config_files: [x.yaml]\n")
	_, _, err = Load(main)
	want = filepath.Join(dir, "conf.d/40-nested.yaml") + ":1:1: config_files: an included file may not include others"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	os.Remove(filepath.Join(dir, "conf.d/40-nested.yaml"))

	// A syntax error in an included file.
	write("conf.d/50-syntax.yaml", "a: [\n")
	_, _, err = Load(main)
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "conf.d/50-syntax.yaml")+":") {
		t.Errorf("got %v", err)
	}
	os.Remove(filepath.Join(dir, "conf.d/50-syntax.yaml"))

	// Self-inclusion.
	self := write("self.yaml", "config_files: [self.yaml]\n")
	if _, _, err := Load(self); err == nil || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("self include: %v", err)
	}

	if _, _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestMarshal(t *testing.T) {
	c := Default()
	c.SlackOutput.WebhookURL = "https://hooks.slack.com/services/T/B/secret"
	c.ElasticsearchOutput.Password = "hunter2"
	c.ElasticsearchOutput.Username = "elastic"
	c.HTTPOutput.URL = "https://u:pw@receiver/x?token=abc"
	c.Rules = []RuleSelector{{Rule: "a*"}, {Enable: true, Tag: "t"}}
	c.AppendOutput[0].ExtraFields = []ExtraField{{Key: "proc.name"}, {Key: "x", Format: "%proc.pid"}}
	c.ProgramOutput.Program = "echo ${NOT_EXPANDED}"
	c.OutputTimeout = 1500 * time.Millisecond

	shown, err := Marshal(c, &MarshalOptions{ShowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	back, warns, err := Parse("marshal.yaml", shown)
	if err != nil || len(warns) != 0 {
		t.Fatalf("%v %v\n%s", warns, err, shown)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", back, c, shown)
	}

	hidden, err := Marshal(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret", "hunter2", "pw@", "abc"} {
		if strings.Contains(string(hidden), secret) {
			t.Errorf("redacted output shows %q:\n%s", secret, hidden)
		}
	}
	if !strings.Contains(string(hidden), "https://u:xxxxx@receiver/x?token=xxxxx") {
		t.Errorf("URL not redacted as expected:\n%s", hidden)
	}
	if _, err := Marshal(nil, nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	c.Engine.Kind = "modern_ebpf"
	c.Priority = "Notice"
	warns, err := Validate(c)
	if err != nil || len(warns) != 1 || c.Engine.Kind != KindEBPF || c.Priority != "notice" {
		t.Errorf("%v %v %+v", warns, err, c.Engine)
	}
	c.HTTPOutput.Enabled = true
	c.Webserver.ListenPort = -1
	_, err = Validate(c)
	want := "http_output.url: required when http_output is enabled\nwebserver.listen_port: expected a value from 0 to 65535, got -1"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if _, err := Validate(nil); err == nil {
		t.Error("Validate(nil) succeeded")
	}
}
