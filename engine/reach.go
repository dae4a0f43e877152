package engine

import (
	"strings"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Reach says whether a rule can fire on a driver, and if not why, as
// Rule.Reach finds it.
type Reach struct {
	// Fires is false when no event the driver can deliver satisfies the
	// rule's condition.
	Fires bool
	// NoEvents is set when the driver produces none of the rule's event
	// types (Want).
	NoEvents bool
	Want     driver.EventTypeSet
	// Needs lists fields (as written in the condition) that the driver
	// leaves unavailable and each of which the rule needs to fire.
	Needs []string
	// OneOf lists further unavailable fields of which the rule needs one,
	// any one (AnyOne) or some (not AnyOne), besides those of Needs.
	OneOf  []string
	AnyOne bool
	// Never is set when the rule cannot fire on any driver: Needs then
	// lists the fields that never have a value on the rule's events.
	Never bool
	// Without lists, for a rule that can fire, the fields its condition
	// uses that the driver leaves unavailable on some of the rule's event
	// types: checks on them are false there, so the rule fires in fewer
	// cases than it would with them.
	Without []string
}

// Why returns the reason a rule cannot fire on the driver named name, ""
// when it can: "needs evt.arg.flags, unavailable on procscan".
func (r Reach) Why(name string) string {
	switch {
	case r.Fires:
		return ""
	case r.NoEvents:
		return "needs " + r.Want.String() + " events, which " + name + " does not produce"
	case r.Never && len(r.Needs) == 0:
		return "its condition never holds"
	case r.Never:
		return "needs " + joinWords(r.Needs, "and") + ", which no driver fills"
	}
	var b strings.Builder
	b.WriteString("needs ")
	b.WriteString(joinWords(r.Needs, "and"))
	if len(r.OneOf) > 0 {
		switch {
		case len(r.Needs) == 0 && r.AnyOne:
			b.WriteString(joinWords(r.OneOf, "or"))
		case r.AnyOne:
			b.WriteString(" and one of " + strings.Join(r.OneOf, ", "))
		case len(r.Needs) == 0:
			b.WriteString("some of " + strings.Join(r.OneOf, ", "))
		default:
			b.WriteString(" and some of " + strings.Join(r.OneOf, ", "))
		}
	}
	b.WriteString(", unavailable on " + name)
	return b.String()
}

// joinWords joins "a", "a and b", "a, b and c".
func joinWords(ws []string, conj string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " " + conj + " " + ws[len(ws)-1]
}

// Reach works out whether r can fire on a driver with coverage cov, its
// fields resolved in reg: whether the driver produces any of the rule's
// event types and, for each of those, whether the condition can hold
// given the fields the driver fills. It follows Falco's semantics for
// unavailable fields: a check on one is false (!= included), so "and"
// with it is false, "or" drops it and "not" of it is true. Checks on
// evt.type are decided per event type. Anything else is assumed to be
// able to go either way, so a rule reported as unable to fire really
// cannot, while one reported as able may still never match in practice.
// It is meant for start-up, not for the per-event path.
func (r *Rule) Reach(cov driver.Coverage, reg *fields.Registry) Reach {
	types := r.EventTypes.Intersect(cov.Events)
	if types.Empty() {
		return Reach{NoEvents: true, Want: r.EventTypes}
	}
	if r.Condition == nil {
		return Reach{Fires: true}
	}
	a := newReachAnalysis(r.Condition, reg, types.Types())
	have := fields.Need{Event: cov.Fields, Proc: cov.ProcFields, Container: cov.ContainerFields}
	a.have = have
	if a.fires(nil) {
		return Reach{Fires: true, Without: a.unavailable()}
	}
	a.full = true
	if !a.fires(nil) {
		return Reach{Never: true, Needs: a.neverFields()}
	}
	a.full = false
	missing := a.unavailable()
	var needs, rest []string
	for _, f := range missing {
		if !a.fires(setOf(missing, f)) {
			needs = append(needs, f)
		} else {
			rest = append(rest, f)
		}
	}
	out := Reach{Needs: needs}
	if a.fires(setOf(needs, "")) {
		return out
	}
	forced := setOf(needs, "")
	for _, f := range rest {
		forced[f] = true
		if a.fires(forced) {
			out.OneOf = append(out.OneOf, f)
		}
		delete(forced, f)
	}
	out.AnyOne = len(out.OneOf) > 0
	if !out.AnyOne {
		out.OneOf = rest
	}
	return out
}

// setOf returns the names in ns except skip, as a set.
func setOf(ns []string, skip string) map[string]bool {
	m := make(map[string]bool, len(ns))
	for _, n := range ns {
		if n != skip {
			m[n] = true
		}
	}
	return m
}

// tri is a three-valued truth: a check on an unavailable field is
// definitely false, evt.type checks are decided, the rest may go either
// way.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triMaybe
)

// fieldUse is one field reference of the condition.
type fieldUse struct {
	name  string
	needs fields.NeedsByType
	multi bool // the bound extractor yields several values
}

// reachAnalysis evaluates a condition over abstract events.
type reachAnalysis struct {
	cond  parse.Expr
	types []driver.EventType
	reg   *fields.Registry
	uses  map[*parse.FieldExpr]*fieldUse
	order []*fieldUse // in order of first appearance
	have  fields.Need
	full  bool // every bit filled
	// forced are field names taken as available (where they can be).
	forced map[string]bool
	t      driver.EventType
}

func newReachAnalysis(cond parse.Expr, reg *fields.Registry, types []driver.EventType) *reachAnalysis {
	a := &reachAnalysis{cond: cond, types: types, reg: reg, uses: map[*parse.FieldExpr]*fieldUse{}}
	byName := map[string]*fieldUse{}
	var visit func(n parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.AndExpr:
			for _, c := range n.Children {
				visit(c)
			}
		case *parse.OrExpr:
			for _, c := range n.Children {
				visit(c)
			}
		case *parse.NotExpr:
			visit(n.Child)
		case *parse.UnaryCheck:
			visit(n.Left)
		case *parse.BinaryCheck:
			if _, ok := checkTypes(n); ok {
				return // decided by the event type alone
			}
			visit(n.Left)
			if t, ok := n.Right.(*parse.TransformerExpr); ok {
				visit(t)
			}
		case *parse.TransformerExpr:
			for _, c := range n.Args {
				visit(c)
			}
		case *parse.ListExpr:
			for _, c := range n.Items {
				visit(c)
			}
		case *parse.FieldExpr:
			name := n.String()
			u := byName[name]
			if u == nil {
				u = a.resolve(n)
				byName[name] = u
				a.order = append(a.order, u)
			}
			a.uses[n] = u
		}
	}
	visit(cond)
	return a
}

// resolve returns a field reference with what it needs; a reference
// that does not resolve (it would not have compiled) needs nothing.
func (a *reachAnalysis) resolve(n *parse.FieldExpr) *fieldUse {
	u := &fieldUse{name: n.String()}
	f, arg, hasArg, ok := a.reg.Lookup(n.Name)
	if !ok {
		u.needs = fields.FieldNeeds(nil, "", false)
		return u
	}
	if n.HasArg {
		arg, hasArg = n.Arg, true
	}
	u.needs = fields.FieldNeeds(f, arg, hasArg)
	if x, err := f.Bind(arg, hasArg); err == nil {
		u.multi = x.Multi != nil
	}
	return u
}

// avail reports whether u can have a value on events of type a.t.
func (a *reachAnalysis) avail(u *fieldUse) bool {
	av := u.needs(a.t)
	switch {
	case av.Never:
		return false
	case a.full || a.forced[u.name]:
		return true
	}
	return av.Possible(a.have)
}

// fires reports whether the condition can hold on some event type, with
// the fields in forced taken as available.
func (a *reachAnalysis) fires(forced map[string]bool) bool {
	a.forced = forced
	for _, t := range a.types {
		a.t = t
		if a.eval(a.cond) != triFalse {
			return true
		}
	}
	return false
}

func (a *reachAnalysis) eval(e parse.Expr) tri {
	switch n := e.(type) {
	case *parse.AndExpr:
		v := triTrue
		for _, c := range n.Children {
			switch a.eval(c) {
			case triFalse:
				return triFalse
			case triMaybe:
				v = triMaybe
			}
		}
		return v
	case *parse.OrExpr:
		v := triFalse
		for _, c := range n.Children {
			switch a.eval(c) {
			case triTrue:
				return triTrue
			case triMaybe:
				v = triMaybe
			}
		}
		return v
	case *parse.NotExpr:
		switch a.eval(n.Child) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triMaybe
	case *parse.BinaryCheck:
		if s, ok := checkTypes(n); ok {
			if s.Has(a.t) {
				return triTrue
			}
			return triFalse
		}
		if !a.operandAvail(n.Left) {
			return triFalse
		}
		if t, ok := n.Right.(*parse.TransformerExpr); ok && !a.operandAvail(t) {
			return triFalse
		}
		return triMaybe
	case *parse.UnaryCheck:
		if !a.operandAvail(n.Left) {
			return triFalse
		}
		return triMaybe
	}
	return triMaybe
}

// operandAvail reports whether an operand can have a value: a field that
// can, or a transformer whose field arguments all can (len() of anything
// always has one, so it is taken as available).
func (a *reachAnalysis) operandAvail(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldExpr:
		if u := a.uses[n]; u != nil {
			return a.avail(u)
		}
	case *parse.TransformerExpr:
		if n.Name == "len" && len(n.Args) == 1 && a.multi(n.Args[0]) {
			return true // the length of no values is 0
		}
		for _, c := range n.Args {
			if !a.operandAvail(c) {
				return false
			}
		}
	case *parse.ListExpr:
		for _, c := range n.Items {
			if !a.operandAvail(c) {
				return false
			}
		}
	}
	return true
}

// multi reports whether n is a field yielding several values.
func (a *reachAnalysis) multi(n parse.Node) bool {
	f, ok := n.(*parse.FieldExpr)
	return ok && a.uses[f] != nil && a.uses[f].multi
}

// unavailable lists the fields that are unavailable under the driver's
// coverage on some of the event types where they could have a value.
func (a *reachAnalysis) unavailable() []string {
	var out []string
	for _, u := range a.order {
		for _, t := range a.types {
			if av := u.needs(t); !av.Never && !av.Possible(a.have) {
				out = append(out, u.name)
				break
			}
		}
	}
	return out
}

// neverFields lists the fields that have no value on any of the event
// types.
func (a *reachAnalysis) neverFields() []string {
	var out []string
	for _, u := range a.order {
		never := true
		for _, t := range a.types {
			if !u.needs(t).Never {
				never = false
				break
			}
		}
		if never {
			out = append(out, u.name)
		}
	}
	return out
}
