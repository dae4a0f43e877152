package engine

import (
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
)

// Format is a compiled output template ("%proc.name opened %fd.name").
type Format struct {
	text string
}

// CompileOutput compiles an output template. %field and %field[arg] tokens
// (and transformer expressions such as %tolower(proc.name)) are resolved in
// reg; missing values render as <NA>. It returns an error for a trailing %,
// an unknown field or a field that cannot be printed.
func CompileOutput(format string, reg *fields.Registry) (*Format, error) {
	panic("not implemented yet")
}

// Append renders the template for ev onto dst.
func (f *Format) Append(dst []byte, ev *driver.Event) []byte {
	panic("not implemented yet")
}

// FieldNames returns the fields the template uses, in order of first use,
// as written (e.g. "proc.aname[2]"); they are the keys of Falco's JSON
// output_fields.
func (f *Format) FieldNames() []string {
	panic("not implemented yet")
}
