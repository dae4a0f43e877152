package engine

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Filter is a compiled condition. A Filter keeps per-check scratch buffers,
// so one Filter must not be evaluated from several goroutines at once.
type Filter struct {
	eval pred
	gen  *uint64 // evaluation generation shared with the Compiler's memo
}

// Match reports whether the event satisfies the condition.
func (f *Filter) Match(ev *driver.Event) bool {
	*f.gen++
	return f.eval(ev)
}

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

// pred is a compiled boolean expression.
type pred func(ev *driver.Event) bool

// compiler holds the state of one compilation.
type compiler struct {
	reg      *fields.Registry
	output   bool // compiling an output template rather than a condition
	warnings []Warning
	shared   *Compiler // nil: no memoisation
}

// Compiler compiles the conditions of rules that are evaluated together
// against each event (the rules of one Engine). Sub-expressions that occur
// in several conditions (the expansions of shared macros such as open_write
// or spawned_process) are evaluated once per event and their result reused.
// Filters from one Compiler must be evaluated by one goroutine, and each
// event must be offered through an Engine or Filter.Match, which start a new
// evaluation generation.
type Compiler struct {
	reg   *fields.Registry
	count map[string]int // occurrences of and/or sub-expressions (see Count)
	memo  map[string]*memo
	bound map[string]fields.Extractor // shared extractors by field use
	gen   *uint64
}

// memo caches the value of one shared sub-expression for one generation.
type memo struct {
	p   pred
	gen uint64
	val bool
}

// NewCompiler returns a Compiler resolving fields in reg.
func NewCompiler(reg *fields.Registry) *Compiler {
	return &Compiler{reg: reg, memo: map[string]*memo{}, bound: map[string]fields.Extractor{}, gen: new(uint64)}
}

// Count registers a condition that will be compiled later. When every
// condition of a rule set is counted first, only sub-expressions that occur
// more than once are memoised; the others are evaluated directly, saving the
// memo's cost. Without Count, every and/or sub-expression is memoised.
func (cc *Compiler) Count(e parse.Expr) {
	if cc.count == nil {
		cc.count = map[string]int{}
	}
	var walk func(e parse.Expr)
	walk = func(e parse.Expr) {
		var children []parse.Expr
		switch n := e.(type) {
		case *parse.AndExpr:
			children = n.Children
		case *parse.OrExpr:
			children = n.Children
		case *parse.NotExpr:
			walk(n.Child)
			return
		default:
			return
		}
		cc.count[e.String()]++
		for _, c := range children {
			walk(c)
		}
	}
	walk(e)
}

// Compile turns a condition (macros already expanded) into a Filter. See
// the package-level Compile for the errors it returns.
func (cc *Compiler) Compile(e parse.Expr) (*Filter, []Warning, error) {
	c := &compiler{reg: cc.reg, shared: cc}
	p, err := c.expr1(e) // the whole condition is not worth memoising
	if err != nil {
		return nil, c.warnings, err
	}
	return &Filter{eval: p, gen: cc.gen}, c.warnings, nil
}

// Compile turns a condition (macros already expanded) into a Filter using
// the fields in reg. It returns a *CompileError for an unknown field, an
// operator the field's type does not support, a value that does not parse as
// the field's type, a bad regex or CIDR, or a leftover macro reference.
func Compile(e parse.Expr, reg *fields.Registry) (*Filter, []Warning, error) {
	return NewCompiler(reg).Compile(e)
}

func errorf(n parse.Node, format string, args ...any) error {
	return &CompileError{Pos: n.Position(), Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) warnf(n parse.Node, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{Pos: n.Position(), Msg: fmt.Sprintf(format, args...)})
}

// expr compiles a boolean expression. With a shared Compiler, every and/or
// sub-expression is memoised under its canonical text, so that repeats
// across conditions share one evaluation per event. It is compiled each
// time all the same, so that every condition gets its own errors and
// warnings.
func (c *compiler) expr(e parse.Expr) (pred, error) {
	p, err := c.expr1(e)
	if err != nil || c.shared == nil {
		return p, err
	}
	switch e.(type) {
	case *parse.AndExpr, *parse.OrExpr:
	default:
		return p, nil // a single check costs about as much as the memo
	}
	key := e.String()
	if c.shared.count != nil && c.shared.count[key] < 2 {
		return p, nil
	}
	m, ok := c.shared.memo[key]
	if !ok {
		m = &memo{p: p}
		c.shared.memo[key] = m
	}
	return m.eval(c.shared.gen), nil
}

// eval returns a predicate that computes the memoised expression once per
// generation.
func (m *memo) eval(gen *uint64) pred {
	return func(ev *driver.Event) bool {
		if m.gen != *gen {
			m.gen = *gen
			m.val = m.p(ev)
		}
		return m.val
	}
}

func (c *compiler) expr1(e parse.Expr) (pred, error) {
	switch n := e.(type) {
	case *parse.AndExpr:
		ps, err := c.exprs(n.Children)
		if err != nil {
			return nil, err
		}
		return andPred(ps), nil
	case *parse.OrExpr:
		ps, err := c.exprs(n.Children)
		if err != nil {
			return nil, err
		}
		return orPred(ps), nil
	case *parse.NotExpr:
		p, err := c.expr(n.Child)
		if err != nil {
			return nil, err
		}
		return func(ev *driver.Event) bool { return !p(ev) }, nil
	case *parse.Identifier:
		return nil, errorf(n, "Undefined macro '%s' used in filter.", n.Name)
	case *parse.UnaryCheck:
		return c.unary(n)
	case *parse.BinaryCheck:
		return c.binary(n)
	case nil:
		return nil, &CompileError{Msg: "empty condition"}
	}
	return nil, errorf(e, "unexpected expression %T", e)
}

func (c *compiler) exprs(es []parse.Expr) ([]pred, error) {
	ps := make([]pred, len(es))
	for i, e := range es {
		p, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

func andPred(ps []pred) pred {
	switch len(ps) {
	case 1:
		return ps[0]
	case 2:
		a, b := ps[0], ps[1]
		return func(ev *driver.Event) bool { return a(ev) && b(ev) }
	case 3:
		a, b, d := ps[0], ps[1], ps[2]
		return func(ev *driver.Event) bool { return a(ev) && b(ev) && d(ev) }
	}
	return func(ev *driver.Event) bool {
		for _, p := range ps {
			if !p(ev) {
				return false
			}
		}
		return true
	}
}

func orPred(ps []pred) pred {
	switch len(ps) {
	case 1:
		return ps[0]
	case 2:
		a, b := ps[0], ps[1]
		return func(ev *driver.Event) bool { return a(ev) || b(ev) }
	case 3:
		a, b, d := ps[0], ps[1], ps[2]
		return func(ev *driver.Event) bool { return a(ev) || b(ev) || d(ev) }
	}
	return func(ev *driver.Event) bool {
		for _, p := range ps {
			if p(ev) {
				return true
			}
		}
		return false
	}
}

func (c *compiler) unary(n *parse.UnaryCheck) (pred, error) {
	if n.Op != "exists" {
		return nil, errorf(n, "unknown unary operator '%s'", n.Op)
	}
	o, err := c.operand(n.Left, false)
	if err != nil {
		return nil, err
	}
	return o.exists(), nil
}

// opsByClass lists the operators each class of field type supports, as
// libsinsp's operator/type table does.
var opsByClass = map[valueClass]string{
	classString: " = != < <= > >= contains icontains startswith endswith glob iglob regex in intersects pmatch exists ",
	classNum:    " = != < <= > >= in intersects exists ",
	classBool:   " = != in intersects exists ",
	classBytes:  " = != contains startswith endswith bcontains bstartswith in intersects exists ",
	classAddr:   " = != in intersects exists ",
}

// modifierOps lists the operators that accept oneof/anyof/allof.
const modifierOps = " = != contains icontains bcontains startswith bstartswith endswith glob iglob regex "

func opAllowed(cl valueClass, op string) bool {
	return strings.Contains(opsByClass[cl], " "+op+" ")
}

func (c *compiler) binary(n *parse.BinaryCheck) (pred, error) {
	op := n.Op
	if op == "==" {
		op = "="
	}
	lhs, err := c.operand(n.Left, false)
	if err != nil {
		return nil, err
	}
	if p, ok := eventTypeCheck(n, op); ok {
		return p, nil
	}
	cl := classOf(lhs.typ)
	if !opAllowed(cl, op) {
		return nil, errorf(n, "operator '%s' is not supported by %s of type %s", n.Op, lhs.name, lhs.typ)
	}
	if n.Modifier != "" {
		if !strings.Contains(modifierOps, " "+op+" ") || (cl == classAddr && op != "=" && op != "!=") {
			return nil, errorf(n, "operator '%s %s' is not supported by %s of type %s", n.Op, n.Modifier, lhs.name, lhs.typ)
		}
	}
	switch r := n.Right.(type) {
	case *parse.ValueExpr:
		if isListOp(op) {
			return nil, errorf(r, "operator '%s' needs a list, found value '%s'", n.Op, r.Value)
		}
		if n.Modifier != "" {
			return nil, errorf(r, "modifier '%s' needs a list", n.Modifier)
		}
		c.checkConstWarning(r, r.Value)
		if op == "regex" {
			c.checkRegexWarning(r, r.Value)
		}
		if lhs.flags&fields.EitherEnd != 0 && op == "!=" {
			// fd.ip != x holds when neither end is x (libsinsp's rule).
			m, err := c.matcher(r, lhs, "=", r.Value)
			if err != nil {
				return nil, err
			}
			return lhs.checkNone(m), nil
		}
		m, err := c.matcher(r, lhs, op, r.Value)
		if err != nil {
			return nil, err
		}
		return lhs.check(m), nil
	case *parse.ListExpr:
		for _, v := range r.Values {
			c.checkConstWarning(r, v)
		}
		if n.Modifier != "" {
			return c.modified(n, lhs, op, r)
		}
		if !isListOp(op) {
			return nil, errorf(r, "operator '%s' needs a single value, found a list", n.Op)
		}
		m, err := c.setMatcher(r, lhs, op, r.Values)
		if err != nil {
			return nil, err
		}
		if lhs.list && op == "in" {
			return lhs.checkAll(m), nil
		}
		return lhs.check(m), nil
	case *parse.Identifier:
		return nil, errorf(r, "undefined list '%s' used in filter", r.Name)
	case *parse.TransformerExpr:
		if n.Modifier != "" {
			return nil, errorf(r, "modifier '%s' needs a list of values", n.Modifier)
		}
		return c.fieldCompare(n, lhs, op, r)
	}
	return nil, errorf(n, "unexpected right-hand side %T", n.Right)
}

func isListOp(op string) bool { return op == "in" || op == "intersects" || op == "pmatch" }

// modified compiles "<op> oneof|anyof|allof (list)".
func (c *compiler) modified(n *parse.BinaryCheck, lhs *operand, op string, l *parse.ListExpr) (pred, error) {
	ms := make([]matcher, len(l.Values))
	for i, v := range l.Values {
		m, err := c.matcher(l, lhs, op, v)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	var combined matcher
	switch n.Modifier {
	case "anyof":
		combined = combine(cl(lhs), ms, func(hits, total int) bool { return hits > 0 })
	case "allof":
		combined = combine(cl(lhs), ms, func(hits, total int) bool { return total > 0 && hits == total })
	case "oneof":
		combined = combine(cl(lhs), ms, func(hits, total int) bool { return hits == 1 })
	default:
		return nil, errorf(n, "unknown modifier '%s'", n.Modifier)
	}
	return lhs.check(combined), nil
}

func cl(o *operand) valueClass { return classOf(o.typ) }

// checkConstWarning warns when a constant looks like a field or a field
// transformer, which usually means val() was forgotten.
func (c *compiler) checkConstWarning(n parse.Node, v string) {
	t := strings.TrimSpace(v)
	if t == "" {
		return
	}
	if f, _, _, ok := c.reg.Lookup(t); ok && f != nil && strings.Contains(t, ".") {
		c.warnf(n, "'%s' may be a valid field misused as a const string value", v)
		return
	}
	if strings.Contains(t, "(") {
		if op, used, err := parse.ParseOperand(t); err == nil && used == len(t) {
			if _, isT := op.(*parse.TransformerExpr); isT {
				if _, err := c.operand(op, false); err == nil {
					c.warnf(n, "'%s' may be a valid field transformer misused as a const string value", v)
				}
			}
		}
	}
}

// checkRegexWarning warns when a regex only anchors a literal, which a
// simpler operator (=, startswith, endswith, contains) does faster.
func (c *compiler) checkRegexWarning(n parse.Node, p string) {
	core := p
	core = strings.TrimPrefix(core, "^")
	for _, pre := range []string{".*", ".+", ".?"} {
		if strings.HasPrefix(core, pre) {
			core = core[len(pre):]
			break
		}
	}
	core = strings.TrimSuffix(core, "$")
	for _, suf := range []string{".*", ".+", ".?"} {
		if strings.HasSuffix(core, suf) {
			core = core[:len(core)-len(suf)]
			break
		}
	}
	if core != "" && !strings.ContainsAny(core, `\.+*?()|[]{}^$`) {
		c.warnf(n, "regex '%s' matches a literal string: a simpler operator (=, startswith, endswith, contains) is faster", p)
	}
}

// eventTypeCheck compiles evt.type/syscall.type compared with constant
// names (=, != or in) into a bit test on the event's type instead of a
// string comparison. It returns false for any other check.
func eventTypeCheck(n *parse.BinaryCheck, op string) (pred, bool) {
	f, ok := n.Left.(*parse.FieldExpr)
	if !ok || f.HasArg || n.Modifier != "" || (f.Name != "evt.type" && f.Name != "syscall.type") {
		return nil, false
	}
	var set driver.EventTypeSet
	var names []string
	switch r := n.Right.(type) {
	case *parse.ValueExpr:
		if op != "=" && op != "!=" {
			return nil, false
		}
		names = []string{r.Value}
	case *parse.ListExpr:
		if op != "in" && op != "intersects" {
			return nil, false
		}
		names = r.Values
	default:
		return nil, false
	}
	for _, name := range names {
		t, ok := driver.EventTypeByName(name)
		if !ok || name == driver.EventUnknown.String() {
			return nil, false // keep string semantics for names Vigil does not know
		}
		set.Add(t)
	}
	if op == "!=" {
		return func(ev *driver.Event) bool { return !set.Has(ev.Type) }, true
	}
	return func(ev *driver.Event) bool { return set.Has(ev.Type) }, true
}
