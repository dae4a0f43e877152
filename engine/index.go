package engine

import (
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/parse"
)

// EventTypes returns the set of event types the condition can match, as
// libsinsp infers it: evt.type (or syscall.type) compared with =, ==, != or
// in gives an explicit set; "and" intersects and "or" unions the sets of its
// children; negation is pushed to the leaves (De Morgan), complementing
// explicit sets; evt.num = 0 can never hold; every other check matches every
// type. Unknown event-type names contribute nothing.
func EventTypes(e parse.Expr) driver.EventTypeSet {
	return eventTypes(e, false)
}

func eventTypes(e parse.Expr, neg bool) driver.EventTypeSet {
	switch n := e.(type) {
	case *parse.AndExpr:
		return combineTypes(n.Children, neg, !neg)
	case *parse.OrExpr:
		return combineTypes(n.Children, neg, neg)
	case *parse.NotExpr:
		return eventTypes(n.Child, !neg)
	case *parse.BinaryCheck:
		if s, ok := checkTypes(n); ok {
			if neg {
				return s.Complement()
			}
			return s
		}
	}
	return driver.AllEventTypes()
}

// combineTypes intersects (intersect=true) or unions the children's sets.
func combineTypes(children []parse.Expr, neg, intersect bool) driver.EventTypeSet {
	var s driver.EventTypeSet
	for i, c := range children {
		cs := eventTypes(c, neg)
		switch {
		case i == 0:
			s = cs
		case intersect:
			s = s.Intersect(cs)
		default:
			s = s.Union(cs)
		}
	}
	return s
}

// checkTypes returns the explicit set of a check on evt.type, or false when
// the check does not restrict event types.
func checkTypes(n *parse.BinaryCheck) (driver.EventTypeSet, bool) {
	f, ok := n.Left.(*parse.FieldExpr)
	if !ok || f.HasArg || n.Modifier != "" {
		return driver.EventTypeSet{}, false
	}
	if f.Name == "evt.num" {
		if v, ok := n.Right.(*parse.ValueExpr); ok && (n.Op == "=" || n.Op == "==") && v.Value == "0" {
			return driver.EventTypeSet{}, true
		}
		return driver.EventTypeSet{}, false
	}
	if f.Name != "evt.type" && f.Name != "syscall.type" {
		return driver.EventTypeSet{}, false
	}
	var s driver.EventTypeSet
	switch r := n.Right.(type) {
	case *parse.ValueExpr:
		if t, ok := driver.EventTypeByName(r.Value); ok {
			s.Add(t)
		}
		switch n.Op {
		case "=", "==":
			return s, true
		case "!=":
			return s.Complement(), true
		}
	case *parse.ListExpr:
		if n.Op != "in" && n.Op != "intersects" {
			return driver.EventTypeSet{}, false
		}
		for _, v := range r.Values {
			if t, ok := driver.EventTypeByName(v); ok {
				s.Add(t)
			}
		}
		return s, true
	}
	return driver.EventTypeSet{}, false
}
