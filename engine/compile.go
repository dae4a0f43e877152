package engine

import (
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Filter is a compiled condition. A Filter keeps per-check scratch buffers,
// so one Filter must not be evaluated from several goroutines at once.
type Filter struct {
	eval func(ev *driver.Event) bool
}

// Match reports whether the event satisfies the condition.
func (f *Filter) Match(ev *driver.Event) bool { return f.eval(ev) }

// Warning is a non-fatal remark about a condition (Falco's
// LOAD_COMPILE_CONDITION class of warnings).
type Warning struct {
	Pos parse.Pos
	Msg string
}

// CompileError is a condition that parses but cannot be compiled: unknown
// field, operator not valid for the field's type, bad value, bad regex...
type CompileError struct {
	Pos parse.Pos
	Msg string
}

func (e *CompileError) Error() string { return e.Msg }

// Compile turns a condition (macros already expanded) into a Filter using
// the fields in reg. It returns a *CompileError for an unknown field, an
// operator the field's type does not support, a value that does not parse as
// the field's type, a bad regex or CIDR, or a leftover macro reference.
func Compile(e parse.Expr, reg *fields.Registry) (*Filter, []Warning, error) {
	panic("not implemented yet")
}

// EventTypes returns the set of event types the condition can match, as
// libsinsp infers it: evt.type checks give explicit sets, and unions them,
// or intersects them, negation is pushed to the leaves, and every other check
// matches every type.
func EventTypes(e parse.Expr) driver.EventTypeSet {
	panic("not implemented yet")
}
