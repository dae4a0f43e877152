package config

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("http_output:\n  enabled: yes please\n"))
	f.Add([]byte("rules:\n  - disable: {rule: x}\n  - enable: {tag: y}\n"))
	f.Add([]byte("append_output:\n  - match: {source: syscall, tags: [a]}\n    extra_fields: [a, {b: c}]\n"))
	f.Add([]byte("a: &x [1, 2]\nb: *x\nrules_files: *x\n"))
	f.Add([]byte("rules_file: x\nrules_files: [y]\n"))
	f.Add([]byte("metrics:\n  interval: 1h30m\noutput_timeout: 3s\n"))
	f.Add([]byte("http_output:\n  url: ${HOME}$${X}\n"))
	f.Add([]byte("engine: {kind: kmod}\n"))
	if dir := os.Getenv("VIGIL_FALCO_RULES_DIR"); dir != "" {
		if b, err := os.ReadFile(dir + "/falco.yaml"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := Validate(c); err != nil {
			t.Fatalf("Parse accepted what Validate rejects: %v", err)
		}
		out, err := Marshal(c, &MarshalOptions{ShowSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsRune(out, '$') {
			return // Falco's ${ escaping does not round-trip every string
		}
		back, warns, err := Parse("printed.yaml", out)
		if err != nil || len(warns) != 0 {
			t.Fatalf("printed configuration does not parse: %v %v\n%s", warns, err, out)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", back, c, out)
		}
	})
}

func FuzzApply(f *testing.F) {
	for _, s := range []string{
		"json_output=true",
		"http_output.url=http://x/",
		"rules_files[]=/x.yaml",
		"append_output[0].extra_output=x",
		`append_output[]={"match":{"rule":"x"},"extra_output":"y"}`,
		`append_output[0].extra_fields[]={"a.b":"%proc.name"}`,
		`a\.b[0][1].c=[1, {x: y}]`,
		"rules[].disable.rule=*",
		"webserver.listen_port=99999",
		"plugins[0].init_config={a: b}",
		"rules_file=x",
		"=",
	} {
		f.Add(s, "priority=info")
	}
	f.Fuzz(func(t *testing.T, o1, o2 string) {
		c := Default()
		if _, err := Apply(c, []string{o1, o2}); err != nil {
			if !reflect.DeepEqual(c, Default()) {
				t.Fatal("config changed despite the error")
			}
			return
		}
		if _, err := Validate(c); err != nil {
			t.Fatalf("Apply accepted what Validate rejects: %v", err)
		}
		// Applying the result's own values again changes nothing.
		before := *c
		if _, err := Apply(c, []string{"priority=" + c.Priority}); err != nil || !reflect.DeepEqual(*c, before) {
			t.Fatalf("re-apply: %v", err)
		}
	})
}
