package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  string // a file to start from; empty for Default()
		opts  []string
		want  func(c *Config)
		warns []string
	}{
		{name: "bool", opts: []string{"json_output=true"}, want: func(c *Config) { c.JSONOutput = true }},
		{name: "bool spelling", opts: []string{"json_output=yes", "stdout_output.enabled=off"},
			want: func(c *Config) { c.JSONOutput = true; c.StdoutOutput.Enabled = false }},
		{name: "int", opts: []string{"webserver.listen_port=9000"}, want: func(c *Config) { c.Webserver.ListenPort = 9000 }},
		{name: "float", opts: []string{"syscall_event_drops.threshold=0.5"}, want: func(c *Config) { c.SyscallEventDrops.Threshold = 0.5 }},
		{name: "duration", opts: []string{"metrics.interval=30s", "output_timeout=500"},
			want: func(c *Config) { c.Metrics.Interval = 30 * time.Second; c.OutputTimeout = 500 * time.Millisecond }},
		{name: "container metadata wait", opts: []string{"container_engines.metadata_wait=1s", "container_engines.metadata_timeout=2s"},
			want: func(c *Config) {
				c.ContainerEngines.MetadataWait = time.Second
				c.ContainerEngines.MetadataTimeout = 2 * time.Second
			}},
		{name: "container metadata no wait", opts: []string{"container_engines.metadata_wait=0s"},
			want: func(c *Config) { c.ContainerEngines.MetadataWait = 0 }},
		{name: "dotted", opts: []string{"http_output.enabled=true", "http_output.url=http://localhost:2801/a=b"},
			want: func(c *Config) { c.HTTPOutput.Enabled = true; c.HTTPOutput.URL = "http://localhost:2801/a=b" }},
		{name: "empty string", base: "http_output:\n  user_agent: x\n", opts: []string{"http_output.user_agent="},
			want: func(c *Config) { c.HTTPOutput.UserAgent = "" }},
		{name: "string that looks like a number", opts: []string{"http_output.user_agent=1.0"},
			want: func(c *Config) { c.HTTPOutput.UserAgent = "1.0" }},
		{name: "case", opts: []string{"priority=WARNING"}, want: func(c *Config) { c.Priority = "warning" }},
		{name: "list append", base: "rules_files: [/a.yaml]\n", opts: []string{"rules_files[]=/b.yaml", "rules_files[]=/c.yaml"},
			want: func(c *Config) { c.RulesFiles = []string{"/a.yaml", "/b.yaml", "/c.yaml"} }},
		{name: "list append to empty", opts: []string{"rules_files[]=/b.yaml"},
			want: func(c *Config) { c.RulesFiles = []string{"/b.yaml"} }},
		{name: "list replace by scalar", base: "rules_files: [/a.yaml, /b.yaml]\n", opts: []string{"rules_files=/only.yaml"},
			want: func(c *Config) { c.RulesFiles = []string{"/only.yaml"} }},
		{name: "list index", base: "rules_files: [/a.yaml, /b.yaml]\n", opts: []string{"rules_files[1]=/z.yaml", "rules_files[2]=/next.yaml"},
			want: func(c *Config) { c.RulesFiles = []string{"/a.yaml", "/z.yaml", "/next.yaml"} }},
		{name: "flow list", opts: []string{`base_syscalls.custom_set=[clone3, "!read"]`},
			want: func(c *Config) { c.BaseSyscalls.CustomSet = []string{"clone3", "!read"} }},
		{name: "flow list empty", opts: []string{`syscall_event_drops.actions=[]`},
			want: func(c *Config) { c.SyscallEventDrops.Actions = nil }},
		{name: "item field", opts: []string{"append_output[0].extra_output=pid=%proc.pid", "append_output[0].match.tags[]=container"},
			want: func(c *Config) {
				c.AppendOutput[0].ExtraOutput = "pid=%proc.pid"
				c.AppendOutput[0].Match.Tags = []string{"container"}
			}},
		{name: "json item", opts: []string{`append_output[]={"match":{"rule":"x","tags":["a","b"]},"extra_output":"y","extra_fields":["proc.name",{"k":"%proc.pid"}]}`},
			want: func(c *Config) {
				c.AppendOutput = append(c.AppendOutput, AppendOutput{
					Match:       OutputMatch{Rule: "x", Tags: []string{"a", "b"}},
					ExtraOutput: "y",
					ExtraFields: []ExtraField{{Key: "proc.name"}, {Key: "k", Format: "%proc.pid"}},
				})
			}},
		{name: "yaml flow item", opts: []string{`append_output[]={extra_output: "z", suggested_output: yes}`},
			want: func(c *Config) {
				c.AppendOutput = append(c.AppendOutput, AppendOutput{ExtraOutput: "z", SuggestedOutput: true})
			}},
		{name: "escaped dot", opts: []string{`append_output[0].extra_fields[]={"a":"%proc.name"}`, `append_output[0].extra_fields[0].my\.field=%user.name`},
			want: func(c *Config) {
				c.AppendOutput[0].ExtraFields = []ExtraField{{Key: "a", Format: "%proc.name"}, {Key: "my.field", Format: "%user.name"}}
			}},
		{name: "rule selectors", opts: []string{"rules[].disable.rule=*", "rules[].enable.tag=network", `rules[]={enable: {rule: "Terminal shell*"}}`},
			want: func(c *Config) {
				c.Rules = []RuleSelector{{Rule: "*"}, {Enable: true, Tag: "network"}, {Enable: true, Rule: "Terminal shell*"}}
			}},
		{name: "rule selector edit", base: "rules:\n  - disable: {rule: a}\n", opts: []string{"rules[0].disable.rule=b"},
			want: func(c *Config) { c.Rules = []RuleSelector{{Rule: "b"}} }},
		{name: "map value", opts: []string{`http_output={enabled: true, url: "https://x/"}`},
			want: func(c *Config) {
				// A map merges into the section: keys it does not set
				// keep their current values (Falco would reset them).
				c.HTTPOutput.Enabled = true
				c.HTTPOutput.URL = "https://x/"
			}},
		{name: "falco engine kind", opts: []string{"engine.kind=modern_ebpf"},
			want:  func(c *Config) { c.Engine.Kind = KindEBPF },
			warns: []string{"-o engine.kind=modern_ebpf: engine.kind: Falco's modern_ebpf engine is Vigil's ebpf driver; using ebpf"}},
		{name: "legacy rules_file", opts: []string{"rules_file=/r.yaml"},
			want:  func(c *Config) { c.RulesFiles = []string{"/r.yaml"} },
			warns: []string{"-o rules_file=/r.yaml: rules_file: deprecated; use rules_files"}},
		{name: "unsupported falco key", opts: []string{"plugins[0].name=container"},
			want:  func(*Config) {},
			warns: []string{"-o plugins[0].name=container: plugins: Falco plugins are not supported by Vigil; ignored"}},
		{name: "later wins", opts: []string{"priority=error", "priority=notice"}, want: func(c *Config) { c.Priority = "notice" }},
		{name: "secrets survive", base: "elasticsearch_output:\n  username: u\n  password: p\n", opts: []string{"elasticsearch_output.index=x"},
			want: func(c *Config) { c.ElasticsearchOutput.Index = "x" }},
		{name: "no env expansion", opts: []string{"program_output.program=echo ${HOME}"},
			want: func(c *Config) { c.ProgramOutput.Program = "echo ${HOME}" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("base.yaml", []byte(tc.base))
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := Parse("base.yaml", []byte(tc.base))
			tc.want(want)
			warns, err := Apply(c, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range warns {
				got = append(got, w.String())
			}
			if !reflect.DeepEqual(got, tc.warns) {
				t.Errorf("warnings %q, want %q", got, tc.warns)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		opt, want string
	}{
		{"json_output", "-o json_output: expected key=value"},
		{"=x", `-o =x: invalid key "": empty`},
		{"a..b=1", `-o a..b=1: invalid key "a..b": expected a name at offset 2`},
		{"a.=1", `-o a.=1: invalid key "a.": ends with a dot`},
		{".a=1", `-o .a=1: invalid key ".a": expected a name at offset 0`},
		{"a[x]=1", `-o a[x]=1: invalid key "a[x]": expected a list index, got "x"`},
		{"a[-1]=1", `-o a[-1]=1: invalid key "a[-1]": expected a list index, got "-1"`},
		{"a[0=1", `-o a[0=1: invalid key "a[0": unterminated [ at offset 1`},
		{"a[0]b=1", `-o a[0]b=1: invalid key "a[0]b": expected . or [ at offset 4`},
		{"[0]=1", `-o [0]=1: invalid key "[0]": expected a name at offset 0`},
		{"foo=1", "-o foo=1: foo: unknown key"},
		{"foo.bar=1", "-o foo.bar=1: foo: unknown key"},
		{"http_output.urll=x", "-o http_output.urll=x: http_output.urll: unknown key (did you mean url?)"},
		{"json_outptu=true", "-o json_outptu=true: json_outptu: unknown key (did you mean json_output?)"},
		{"http_output.enabled=yes please", `-o http_output.enabled=yes please: http_output.enabled: expected a boolean, got "yes please"`},
		{"http_output.enabled=", `-o http_output.enabled=: http_output.enabled: expected a boolean, got ""`},
		{"webserver.listen_port=99999", "-o webserver.listen_port=99999: webserver.listen_port: expected a value from 0 to 65535, got 99999"},
		{"webserver.listen_port=80.5", `-o webserver.listen_port=80.5: webserver.listen_port: expected an integer, got "80.5"`},
		{"webserver=8765", `-o webserver=8765: webserver: expected a map, got "8765"`},
		{"json_output.x=1", "-o json_output.x=1: json_output is not a map"},
		{"webserver[0]=1", "-o webserver[0]=1: webserver is not a list"},
		{"rules_files[5]=x", "-o rules_files[5]=x: rules_files[5]: index out of range (the list has 0 items)"},
		{"append_output[]={bad", `-o append_output[]={bad: append_output[1]: expected a map, got "{bad"`},
		{"append_output[]={[}", "-o append_output[]={[}: append_output[]: invalid YAML value: did not find expected node content"},
		{`append_output[]={"match":{"rule":1,"tagz":[]}}`, `-o append_output[]={"match":{"rule":1,"tagz":[]}}: append_output[1].match.tagz: unknown key (did you mean tags?)`},
		{"append_output[0].extra_fields=x", ""}, // a single field name is a valid list
		{"rules[].disable.rul=x", "-o rules[].disable.rul=x: rules[0].disable.rul: unknown key (did you mean rule?)"},
		{"priority=loud", `-o priority=loud: priority: expected one of emergency, alert, critical, error, warning, notice, informational, info, debug, got "loud"`},
		{"http_output.enabled=true", "-o http_output.enabled=true: http_output.url: required when http_output is enabled"},
		{"engine.kind=replay", "-o engine.kind=replay: engine.replay.capture_file: required when engine.kind is replay"},
		{"container_engines.metadata_wait=10s", "-o container_engines.metadata_wait=10s: container_engines.metadata_wait: expected at most metadata_timeout (5s), got 10s"},
		{"container_engines.metadata_wait=-1s", "-o container_engines.metadata_wait=-1s: container_engines.metadata_wait: expected 0 or a positive duration, got -1s"},
		{"container_engines.metadata_wait=150", `-o container_engines.metadata_wait=150: container_engines.metadata_wait: expected a duration such as 1h, 30s or 1h30m, got "150"`},
		{"container_engines.metadata_timeout=0s", "-o container_engines.metadata_timeout=0s: container_engines.metadata_timeout: expected a positive duration, got 0s"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			c := Default()
			_, err := Apply(c, []string{tc.opt})
			if tc.want == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("\n got %v\nwant %s", err, tc.want)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Error("config changed despite the error")
			}
		})
	}
}

func TestApplyKeepsPositionsOut(t *testing.T) {
	// A check error caused by the combination of a file and an override
	// still names a key.
	c, _, err := Parse("f.yaml", []byte("http_output:\n  url: http://x/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(c, []string{"http_output.url=", "http_output.enabled=true"}); err == nil ||
		!strings.Contains(err.Error(), "http_output.url: required when http_output is enabled") {
		t.Errorf("got %v", err)
	}
	if _, err := Apply(nil, []string{"a=b"}); err == nil {
		t.Error("Apply(nil) succeeded")
	}
	if w, err := Apply(c, nil); w != nil || err != nil {
		t.Errorf("no overrides: %v %v", w, err)
	}
}

func TestParseKey(t *testing.T) {
	for in, want := range map[string]string{
		"a":              "a",
		"a.b.c":          "a|b|c",
		"a[0].b":         "a|[0]|b",
		"a[]":            "a|[]",
		"m[1][2]":        "m|[1]|[2]",
		`a\.b.c`:         "a.b|c",
		`a\\b`:           `a\b`,
		`x\[0]`:          "x[0]",
		`a\b`:            `a\b`,
		"rules[].enable": "rules|[]|enable",
	} {
		steps, err := parseKey(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		var parts []string
		for _, s := range steps {
			parts = append(parts, s.String())
		}
		if got := strings.Join(parts, "|"); got != want {
			t.Errorf("parseKey(%q) = %s, want %s", in, got, want)
		}
	}
}
