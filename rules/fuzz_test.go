package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no rules file makes the loader panic or recurse
// without bound, and that every message carries a position.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("- macro: a\n  condition: b and b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: info\n"))
	f.Add([]byte("- list: a\n  items: [b, b, b]\n- list: b\n  items: [c, c, c]\n- rule: r\n  desc: d\n  condition: proc.name in (a)\n  output: o\n  priority: info\n"))
	f.Add([]byte("x: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		rs, res := LoadFiles([]File{{Name: "fuzz.yaml", Data: data}}, nil)
		if rs == nil || res == nil {
			t.Fatal("nil result")
		}
		for _, m := range append(append([]Message(nil), res.Errors...), res.Warnings...) {
			if m.File != "fuzz.yaml" || m.Line < 1 || m.Col < 1 || m.Code == "" {
				t.Fatalf("bad message position or code: %+v", m)
			}
		}
		for _, r := range rs.Rules {
			if r.Filter == nil || r.Condition == nil {
				t.Fatalf("rule %q not compiled", r.Name)
			}
			_ = r.Condition.String()
		}
	})
}

func TestSeedFiles(t *testing.T) {
	rs, res := Load([]string{filepath.Join("testdata", "basic.yaml"), filepath.Join("testdata", "overrides.yaml")}, nil)
	for _, m := range res.Warnings {
		t.Logf("warning: %s [%s]", m, m.Code)
	}
	if !res.OK() {
		t.Fatal(res.Err())
	}
	if len(rs.Rules) != 3 {
		t.Fatalf("%d rules", len(rs.Rules))
	}
	want := `(((evt.type in (open, openat, openat2) and evt.is_open_write = true) and fd.name startswith /etc/ and proc.name in (vi, vim, nano, "visual studio", emacs)) and not (proc.name = vi and fd.name startswith /etc/vim))`
	if got := rs.Rule("Editor writes below etc").Condition.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s := rs.Rule("Shell in container")
	if s.Enabled || s.Priority.String() != "Error" || s.Condition.String() != "(evt.type = execve and (proc.name in (bash, sh) or proc.name = zsh) and container.id != host and not proc.pname = sshd)" {
		t.Errorf("shell rule: enabled=%v priority=%v cond=%s", s.Enabled, s.Priority, s.Condition)
	}
	_, res = Load([]string{filepath.Join("testdata", "bad.yaml")}, nil)
	if len(res.Errors) < 5 {
		t.Errorf("bad.yaml: %d errors, want every problem reported: %v", len(res.Errors), res.Err())
	}
	for _, m := range res.Errors {
		t.Logf("%s [%s]", m, m.Code)
	}
}
