package parse

import "strings"

// The String methods print libsinsp's canonical form (ast::as_string), the
// text Falco shows as a rule's compiled condition:
//
//   - and/or: "(a and b and c)", always parenthesised, one node per chain;
//   - not: "not " + child;
//   - checks: "field op value", "field exists", "field op modifier (list)";
//   - field arguments, right-side values and list elements are escaped with
//     libsinsp's escape_str: wrapped in double quotes when they contain a
//     space, a quote, a backslash or a control character (\b \f \n \r \t),
//     which are then backslash-escaped; otherwise printed bare;
//   - lists: "(a, b, c)";
//   - transformers: "name(arg1,arg2)" with an optional "[arg]"; literal
//     arguments of transformers are printed unescaped, as libsinsp does.
//
// Two deliberate differences keep the output parseable: an empty value or
// field argument prints as "" (libsinsp prints nothing), and an empty but
// present field argument prints as [""] (libsinsp drops it).
//
// Like libsinsp's, this form does not always parse back: bare values that
// contain '(', ')', ',' or '=' and literal transformer arguments lose their
// quotes; a value ending in a backslash prints as "…\\", which the lexer
// cannot close; and a negated negation prints as "not not x", which parses
// as x. Everything else round-trips: Parse(e.String()).String() ==
// e.String().

// String returns the canonical (libsinsp as_string) form.
func (n *AndExpr) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *OrExpr) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *NotExpr) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *Identifier) String() string { return n.Name }

// String returns the canonical (libsinsp as_string) form.
func (n *UnaryCheck) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *BinaryCheck) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *FieldExpr) String() string { return nodeString(n) }

// String returns the canonical (libsinsp as_string) form.
func (n *TransformerExpr) String() string { return nodeString(n) }

// String returns the value as it is printed on the right side of a check:
// escaped and quoted if needed.
// String returns the canonical (libsinsp as_string) form.
func (n *ValueExpr) String() string { return escape(n.Value) }

// String returns "(a, b)"; string values are escaped, items printed as
// transformer arguments.
// String returns the canonical (libsinsp as_string) form.
func (n *ListExpr) String() string { return nodeString(n) }

func nodeString(n Node) string {
	var b strings.Builder
	writeNode(&b, n, true)
	return b.String()
}

// writeNode prints n; escapeValues says whether a *ValueExpr is escaped
// (true on the right side of a check, false inside transformer arguments).
func writeNode(b *strings.Builder, n Node, escapeValues bool) {
	switch n := n.(type) {
	case *AndExpr:
		writeChain(b, "and", n.Children)
	case *OrExpr:
		writeChain(b, "or", n.Children)
	case *NotExpr:
		b.WriteString("not ")
		writeNode(b, n.Child, true)
	case *Identifier:
		b.WriteString(n.Name)
	case *UnaryCheck:
		writeNode(b, n.Left, false)
		b.WriteString(" ")
		b.WriteString(n.Op)
	case *BinaryCheck:
		writeNode(b, n.Left, false)
		b.WriteString(" ")
		b.WriteString(n.Op)
		b.WriteString(" ")
		if n.Modifier != "" {
			b.WriteString(n.Modifier)
			b.WriteString(" ")
		}
		writeNode(b, n.Right, true)
	case *FieldExpr:
		b.WriteString(n.Name)
		writeArg(b, n.Arg, n.HasArg)
	case *TransformerExpr:
		b.WriteString(n.Name)
		b.WriteString("(")
		for i, a := range n.Args {
			if i > 0 {
				b.WriteString(",")
			}
			writeNode(b, a, false)
		}
		b.WriteString(")")
		writeArg(b, n.Arg, n.HasArg)
	case *ValueExpr:
		if escapeValues {
			b.WriteString(escape(n.Value))
		} else {
			b.WriteString(n.Value)
		}
	case *ListExpr:
		b.WriteString("(")
		if n.Items != nil {
			for i, it := range n.Items {
				if i > 0 {
					b.WriteString(", ")
				}
				writeNode(b, it, false)
			}
		} else {
			for i, v := range n.Values {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(escape(v))
			}
		}
		b.WriteString(")")
	case nil:
		b.WriteString("<nil>")
	}
}

func writeChain(b *strings.Builder, op string, children []Expr) {
	b.WriteString("(")
	for i, c := range children {
		if i > 0 {
			b.WriteString(" ")
			b.WriteString(op)
			b.WriteString(" ")
		}
		writeNode(b, c, true)
	}
	b.WriteString(")")
}

func writeArg(b *strings.Builder, arg string, has bool) {
	if !has {
		return
	}
	b.WriteString("[")
	b.WriteString(escape(arg))
	b.WriteString("]")
}
