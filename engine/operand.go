package engine

import (
	"net/netip"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// valueClass groups field types that compare alike.
type valueClass uint8

const (
	classString valueClass = iota
	classNum
	classBool
	classBytes
	classAddr
)

func classOf(t fields.Type) valueClass {
	switch t {
	case fields.TypeString, fields.TypeFSPath:
		return classString
	case fields.TypeBool:
		return classBool
	case fields.TypeBytes:
		return classBytes
	case fields.TypeIPAddr, fields.TypeIPNet:
		return classAddr
	}
	return classNum
}

// operand is a compiled left side (or val() right side): a field with its
// argument, possibly wrapped in transformers.
type operand struct {
	name  string // as written, for messages
	typ   fields.Type
	multi bool // values come from x.Multi
	list  bool // a list field: "in" needs every element in the set
	flags fields.Flags
	x     fields.Extractor
}

// matcher tests one extracted value against a compiled right side. The
// member matching the operand's value class is set.
type matcher struct {
	str   func(string) bool
	num   func(int64) bool
	bytes func([]byte) bool
	addr  func(netip.Addr) bool
}

// check returns a predicate that extracts the operand and applies m; for a
// multi-valued operand it holds when m holds for any value. An unavailable
// value makes it false.
func (o *operand) check(m matcher) pred {
	if o.multi {
		multi := o.x.Multi
		var buf []fields.Value
		test := valueTester(classOf(o.typ), m)
		return func(ev *driver.Event) bool {
			buf = multi(ev, buf[:0])
			for i := range buf {
				if test(&buf[i]) {
					return true
				}
			}
			return false
		}
	}
	switch classOf(o.typ) {
	case classString:
		get, f := o.x.Str, m.str
		return func(ev *driver.Event) bool {
			s, ok := get(ev)
			return ok && f(s)
		}
	case classBytes:
		get, f := o.x.Bytes, m.bytes
		return func(ev *driver.Event) bool {
			b, ok := get(ev)
			return ok && f(b)
		}
	case classAddr:
		get, f := o.x.Addr, m.addr
		return func(ev *driver.Event) bool {
			a, ok := get(ev)
			return ok && f(a)
		}
	}
	get, f := o.x.Num, m.num
	return func(ev *driver.Event) bool {
		n, ok := get(ev)
		return ok && f(n)
	}
}

// checkAll is "in" on a list field: every element must satisfy m (and
// there must be at least one).
func (o *operand) checkAll(m matcher) pred {
	multi := o.x.Multi
	var buf []fields.Value
	test := valueTester(classOf(o.typ), m)
	return func(ev *driver.Event) bool {
		buf = multi(ev, buf[:0])
		if len(buf) == 0 {
			return false
		}
		for i := range buf {
			if !test(&buf[i]) {
				return false
			}
		}
		return true
	}
}

// checkNone holds when the operand has values and m holds for none of them.
func (o *operand) checkNone(m matcher) pred {
	if !o.multi {
		hit := o.check(m)
		has := o.exists()
		return func(ev *driver.Event) bool { return has(ev) && !hit(ev) }
	}
	multi := o.x.Multi
	var buf []fields.Value
	test := valueTester(classOf(o.typ), m)
	return func(ev *driver.Event) bool {
		buf = multi(ev, buf[:0])
		for i := range buf {
			if test(&buf[i]) {
				return false
			}
		}
		return len(buf) > 0
	}
}

// exists returns a predicate that holds when the operand has a value.
func (o *operand) exists() pred {
	if o.multi {
		multi := o.x.Multi
		var buf []fields.Value
		return func(ev *driver.Event) bool {
			buf = multi(ev, buf[:0])
			return len(buf) > 0
		}
	}
	switch classOf(o.typ) {
	case classString:
		get := o.x.Str
		return func(ev *driver.Event) bool { _, ok := get(ev); return ok }
	case classBytes:
		get := o.x.Bytes
		return func(ev *driver.Event) bool { _, ok := get(ev); return ok }
	case classAddr:
		get := o.x.Addr
		return func(ev *driver.Event) bool { _, ok := get(ev); return ok }
	}
	get := o.x.Num
	return func(ev *driver.Event) bool { _, ok := get(ev); return ok }
}

// values extracts every value of the operand into buf (one for a scalar).
func (o *operand) values(ev *driver.Event, buf []fields.Value) []fields.Value {
	if o.multi {
		return o.x.Multi(ev, buf)
	}
	var v fields.Value
	var ok bool
	switch classOf(o.typ) {
	case classString:
		v.Str, ok = o.x.Str(ev)
	case classBytes:
		v.Bytes, ok = o.x.Bytes(ev)
	case classAddr:
		v.Addr, ok = o.x.Addr(ev)
	default:
		v.Num, ok = o.x.Num(ev)
	}
	if !ok {
		return buf
	}
	return append(buf, v)
}

func valueTester(cl valueClass, m matcher) func(v *fields.Value) bool {
	switch cl {
	case classString:
		return func(v *fields.Value) bool { return m.str(v.Str) }
	case classBytes:
		return func(v *fields.Value) bool { return m.bytes(v.Bytes) }
	case classAddr:
		return func(v *fields.Value) bool { return m.addr(v.Addr) }
	}
	return func(v *fields.Value) bool { return m.num(v.Num) }
}

// combine merges per-element matchers of a modifier into one matcher that
// counts hits and lets decide settle the result.
func combine(cl valueClass, ms []matcher, decide func(hits, total int) bool) matcher {
	total := len(ms)
	switch cl {
	case classString:
		fs := make([]func(string) bool, total)
		for i, m := range ms {
			fs[i] = m.str
		}
		return matcher{str: func(s string) bool {
			hits := 0
			for _, f := range fs {
				if f(s) {
					hits++
				}
			}
			return decide(hits, total)
		}}
	case classBytes:
		fs := make([]func([]byte) bool, total)
		for i, m := range ms {
			fs[i] = m.bytes
		}
		return matcher{bytes: func(b []byte) bool {
			hits := 0
			for _, f := range fs {
				if f(b) {
					hits++
				}
			}
			return decide(hits, total)
		}}
	case classAddr:
		fs := make([]func(netip.Addr) bool, total)
		for i, m := range ms {
			fs[i] = m.addr
		}
		return matcher{addr: func(a netip.Addr) bool {
			hits := 0
			for _, f := range fs {
				if f(a) {
					hits++
				}
			}
			return decide(hits, total)
		}}
	}
	fs := make([]func(int64) bool, total)
	for i, m := range ms {
		fs[i] = m.num
	}
	return matcher{num: func(n int64) bool {
		hits := 0
		for _, f := range fs {
			if f(n) {
				hits++
			}
		}
		return decide(hits, total)
	}}
}

// operand compiles a field or transformer expression. rhs is set for the
// argument of val(), where fields flagged NoRHS are refused.
func (c *compiler) operand(n parse.Node, rhs bool) (*operand, error) {
	switch e := n.(type) {
	case *parse.FieldExpr:
		return c.field(e, rhs)
	case *parse.TransformerExpr:
		if e.Name == "val" {
			return nil, errorf(e, "val() can only be used on the right side of a comparison")
		}
		return c.transformer(e)
	}
	return nil, errorf(n, "expected a field or a transformer, found %s", n.String())
}

func (c *compiler) field(e *parse.FieldExpr, rhs bool) (*operand, error) {
	f, arg, hasArg, ok := c.reg.Lookup(e.Name)
	if !ok || f == nil || f.Flags&fields.TableOnly != 0 {
		return nil, errorf(e, "nonexistent field %s", e.Name)
	}
	if e.HasArg {
		if hasArg {
			return nil, errorf(e, "field %s has two arguments", e.String())
		}
		arg, hasArg = e.Arg, true
	}
	where := "condition"
	if c.output {
		where = "output"
		if f.Flags&fields.FilterOnly != 0 {
			return nil, errorf(e, "field %s can only be used in conditions, not in outputs", f.Name)
		}
	} else if f.Flags&fields.PrintOnly != 0 {
		return nil, errorf(e, "field %s can only be used in outputs, not in conditions", f.Name)
	}
	if rhs && f.Flags&fields.NoRHS != 0 {
		return nil, errorf(e, "field %s cannot be used on the right side of a comparison", f.Name)
	}
	if f.Flags&fields.Deprecated != 0 {
		c.warnf(e, "usage of deprecated field '%s' has been detected in the rule %s", f.Name, where)
	}
	x, err := c.bind(f, arg, hasArg)
	if err != nil {
		return nil, errorf(e, "field %s: %v", e.String(), err)
	}
	o := &operand{name: "field " + e.String(), typ: x.Type, flags: f.Flags, x: x}
	if x.Multi != nil {
		o.multi = true
		o.list = f.Flags&fields.List != 0
	}
	return o, nil
}

// bind binds a field use. With a shared Compiler, every use of the same
// field and argument shares one extractor whose string value is computed
// once per evaluation generation: proc.cmdline, evt.arg.flags and friends
// are built once per event however many rules test them.
func (c *compiler) bind(f *fields.Field, arg string, hasArg bool) (fields.Extractor, error) {
	key := f.Name
	if hasArg {
		key += "[" + arg + "]"
	}
	if c.shared != nil && !c.output {
		if x, ok := c.shared.bound[key]; ok {
			return x, nil
		}
	}
	x, err := f.Bind(arg, hasArg)
	if err != nil {
		return x, err
	}
	if x.Type == fields.TypeString && x.Str == nil && x.Multi == nil {
		x.Type = f.Type // the extractor left the type to the field
	}
	if c.shared != nil && !c.output {
		if x.Str != nil {
			x.Str = cachedStr(x.Str, c.shared.gen)
		}
		if x.Multi != nil {
			x.Multi = cachedMulti(x.Multi, c.shared.gen)
		}
		c.shared.bound[key] = x
	}
	return x, nil
}

// cachedStr wraps a string getter so that it runs once per generation.
func cachedStr(get func(*driver.Event) (string, bool), gen *uint64) func(*driver.Event) (string, bool) {
	var (
		last uint64
		val  string
		ok   bool
	)
	return func(ev *driver.Event) (string, bool) {
		if last != *gen || last == 0 {
			last = *gen
			val, ok = get(ev)
		}
		return val, ok
	}
}

// cachedMulti wraps a multi-value getter so that it runs once per
// generation. Called with an empty dst it returns its own buffer, which the
// caller must only read, and only until the next event.
func cachedMulti(get func(*driver.Event, []fields.Value) []fields.Value, gen *uint64) func(*driver.Event, []fields.Value) []fields.Value {
	var (
		last uint64
		vals []fields.Value
	)
	return func(ev *driver.Event, dst []fields.Value) []fields.Value {
		if last != *gen || last == 0 {
			last = *gen
			vals = get(ev, vals[:0])
		}
		if len(dst) == 0 {
			return vals
		}
		return append(dst, vals...)
	}
}
