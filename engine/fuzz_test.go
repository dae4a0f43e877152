package engine

import (
	"testing"

	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// FuzzCompile parses, compiles and evaluates arbitrary conditions and output
// templates against the real field catalogue: whatever the input, Compile
// and CompileOutput return an error or a working evaluator, never panic.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"evt.type = openat and fd.name startswith /etc/",
		"proc.aname[2] in (bash, sshd) or not proc.pname exists",
		"fd.net != 127.0.0.0/8 and fd.sport >= 1024",
		"evt.arg.flags contains O_WRONLY and evt.rawres >= 0",
		"container.mount.dest[/proc*] exists",
		"tolower(proc.name) glob 'ba*' and len(proc.args) > 3",
		"proc.cmdline regex '.*(curl|wget).*' and evt.buffer bcontains 0a0b",
		"fd.name pmatch (/tmp, /var/*/x) and proc.name startswith anyof (a, b)",
		"join(',', (proc.name, proc.pname)) = x and getopt(proc.args, 'nt:')[t] = 1",
		"proc.name = val(proc.pname)",
	} {
		f.Add(s)
	}
	reg := fields.Default()
	ev := testEvent()
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := parse.Parse(s); err == nil {
			if flt, _, err := Compile(e, reg); err == nil {
				flt.Match(ev)
			}
			EventTypes(e)
		}
		if fm, err := CompileOutput(s, reg); err == nil {
			fm.Append(nil, ev)
			fm.AppendFieldsJSON(nil, ev)
		}
	})
}
