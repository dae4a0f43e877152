package rules

import (
	"strings"
)

// Operators of the condition language (libsinsp parser::supported_operators).
var (
	listOps     = []string{"in", "intersects", "pmatch"}
	allOps      = []string{"=", "==", "!=", "<=", ">=", "<", ">", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob", "regex", "in", "intersects", "pmatch", "exists"}
	modifierOps = []string{"=", "==", "!=", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob", "regex"}
	modifiers   = []string{"oneof", "anyof", "allof"}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// normalizeComp collapses the blanks of an exception comp ("  startswith
// oneof " -> "startswith oneof").
func normalizeComp(s string) string { return strings.Join(strings.Fields(s), " ") }

// isModifierComp reports whether comp is "<string operator> <modifier>".
func isModifierComp(comp string) bool {
	op, mod, ok := strings.Cut(comp, " ")
	return ok && contains(modifierOps, op) && contains(modifiers, mod)
}

func isOperator(comp string) bool { return contains(allOps, comp) || isModifierComp(comp) }

// isListComp reports whether a comp takes a list on its right side.
func isListComp(comp string) bool { return contains(listOps, comp) || isModifierComp(comp) }

// validateException checks an exception's shape and fills in default comps
// (Falco's validate_exception_info, with 0.44's modifier operators).
func (c *collector) validateException(checkFields bool, ex *exceptionInfo) *itemErr {
	fail := func(msg string) *itemErr { return &itemErr{code: ErrValidate, msg: msg, at: ex.at} }
	if ex.fields.isList {
		if !ex.comps.isValid() {
			ex.comps = entry{isList: true}
			for range ex.fields.items {
				ex.comps.items = append(ex.comps.items, entry{item: "="})
			}
		}
		if !ex.comps.isList || len(ex.fields.items) != len(ex.comps.items) {
			return fail("Fields and comps lists must have equal length")
		}
		for i := range ex.comps.items {
			ci := &ex.comps.items[i]
			if ci.isList {
				return fail("'(list)' is not a supported comparison operator")
			}
			ci.item = normalizeComp(ci.item)
			if !isOperator(ci.item) {
				return fail("'" + ci.item + "' is not a supported comparison operator")
			}
		}
		for _, f := range ex.fields.items {
			if f.isList {
				return fail("exception fields must be strings")
			}
			if checkFields && c.fieldOK != nil && !c.fieldOK(f.item) {
				return fail("'" + f.item + "' is not a supported filter field")
			}
		}
		return nil
	}
	if !ex.comps.isValid() {
		ex.comps = entry{item: "in"}
	}
	if ex.comps.isList {
		return fail("Fields and comps must both be strings")
	}
	ex.comps.item = normalizeComp(ex.comps.item)
	if !contains(listOps, ex.comps.item) && !isModifierComp(ex.comps.item) {
		return fail("When fields is a single value, comps must be one of (in, pmatch, intersects) or a string operator with a modifier (oneof, anyof, allof)")
	}
	if checkFields && c.fieldOK != nil && !c.fieldOK(ex.fields.item) {
		return fail("'" + ex.fields.item + "' is not a supported filter field")
	}
	return nil
}

// quoteItem wraps a value containing a space in double quotes unless it
// already starts with a quote (Falco's quote_item; values are not escaped).
func quoteItem(s string) string {
	if strings.Contains(s, " ") && !strings.HasPrefix(s, `"`) && !strings.HasPrefix(s, "'") {
		return `"` + s + `"`
	}
	return s
}

// parenItem wraps a value in parentheses unless it starts with one.
func parenItem(s string) string {
	if !strings.HasPrefix(s, "(") {
		return "(" + s + ")"
	}
	return s
}

// renderExceptions returns the condition text Falco builds from a rule's
// exceptions: " and not <exc1> and not <exc2> ...". Exceptions without
// values contribute nothing.
func renderExceptions(exs []*exceptionInfo) (string, *itemErr) {
	var b strings.Builder
	for _, ex := range exs {
		var icond string
		if !ex.fields.isList {
			var parts []string
			for _, v := range ex.values {
				if v.isList {
					return "", &itemErr{code: ErrValidate, msg: "Expected values array to contain a list of strings", at: ex.at}
				}
				parts = append(parts, quoteItem(v.item))
			}
			if len(parts) > 0 {
				icond = "(" + ex.fields.item + " " + ex.comps.item + " (" + strings.Join(parts, ", ") + "))"
			}
		} else {
			var ors []string
			for _, vals := range ex.values {
				if len(ex.fields.items) != len(vals.items) {
					return "", &itemErr{code: ErrValidate, msg: "Fields and values lists must have equal length", at: ex.at}
				}
				var ands []string
				for k, f := range ex.fields.items {
					val := vals.items[k]
					comp := ex.comps.items[k].item
					var istr string
					if val.isList {
						var vs []string
						for _, v := range val.items {
							vs = append(vs, quoteItem(v.item))
						}
						istr = "(" + strings.Join(vs, ", ") + ")"
					} else if isListComp(comp) {
						istr = parenItem(val.item)
					} else {
						istr = quoteItem(val.item)
					}
					ands = append(ands, " "+f.item+" "+comp+" "+istr)
				}
				ors = append(ors, "("+strings.Join(ands, " and ")+")")
			}
			if len(ors) > 0 {
				icond = "(" + strings.Join(ors, " or ") + ")"
			}
		}
		if icond != "" {
			b.WriteString(" and not ")
			b.WriteString(icond)
		}
	}
	return b.String(), nil
}
