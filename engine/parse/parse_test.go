package parse

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, cond string) Expr {
	t.Helper()
	e, err := Parse(cond)
	if err != nil {
		t.Fatalf("Parse(%q): %v", cond, err)
	}
	return e
}

// TestCanonical checks precedence, chain flattening and the canonical text
// of every construct.
func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		// precedence: not > and > or; chains are one n-ary node
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"a and b and c", "(a and b and c)"},
		{"a or b or c or d", "(a or b or c or d)"},
		{"a and (b and c)", "(a and (b and c))"},
		{"(a or b) or c", "((a or b) or c)"},
		{"((a))", "a"},
		{"not a and b", "(not a and b)"},
		{"not (a and b)", "not (a and b)"},
		{"not not a", "a"},
		{"not not not a", "not a"},
		{"not(not(a))", "not not a"}, // parentheses keep both nots
		{"not not not not not(not not(not not_macro))", "not not not_macro"},
		{"a and(b)or(c)", "((a and b) or c)"},
		{"(a)and(not(b))", "(a and not b)"},
		{"macro and not_macro and or_macro", "(macro and not_macro and or_macro)"},
		// checks
		{"proc.name exists", "proc.name exists"},
		{"proc.name existsand a", "(proc.name exists and a)"},
		{"proc.name=cat", "proc.name = cat"},
		{"proc.name  ==  cat", "proc.name == cat"},
		{"proc.pid>=1", "proc.pid >= 1"},
		{"proc.pid < -1.5e+3", "proc.pid < -1.5e+3"},
		{"fd.port <= 0XaB", "fd.port <= 0XaB"},
		{"evt.type in(open,openat)", "evt.type in (open, openat)"},
		{"evt.type in ()", "evt.type in ()"},
		{"evt.type in my_list", "evt.type in my_list"},
		{"fd.name pmatch (/tmp, '/var/x y')", `fd.name pmatch (/tmp, "/var/x y")`},
		{"fd.types intersects (ipv4)", "fd.types intersects (ipv4)"},
		{"fd.name = runc:[0:PARENT]", "fd.name = runc:[0:PARENT]"},
		{"proc.name in (<NA>, N/A)", "proc.name in (<NA>, N/A)"},
		// escaping of values
		{`proc.cmdline contains "curl 127.0.0.1"`, `proc.cmdline contains "curl 127.0.0.1"`},
		{`proc.name = "cat"`, "proc.name = cat"},
		{`proc.name = 'it''s'`, "(parse error)"},
		{`proc.name = "it's"`, `proc.name = "it's"`},
		{`proc.name = 'say "hi"'`, `proc.name = "say \"hi\""`},
		{`proc.name = "a\tb"`, `proc.name = "a\tb"`},
		{`proc.name = "a\\b"`, `proc.name = "a\\b"`},
		{`proc.name = "a\/b"`, "proc.name = a/b"},
		{`proc.name = ""`, `proc.name = ""`},
		{`proc.name in ("a b", c, "")`, `proc.name in ("a b", c, "")`},
		// field arguments
		{"proc.aname[2] = sshd", "proc.aname[2] = sshd"},
		{`evt.arg["key with space"] = value`, `evt.arg["key with space"] = value`},
		{`evt.arg["key"] = value`, "evt.arg[key] = value"},
		{`evt.arg[""] = value`, `evt.arg[""] = value`},
		{"container.mount.dest[/proc*] exists", "container.mount.dest[/proc*] exists"},
		{"evt.arg.flags contains O_TRUNC", "evt.arg.flags contains O_TRUNC"},
		// modifiers
		{"proc.name startswith oneof (sshd, sudo)", "proc.name startswith oneof (sshd, sudo)"},
		{"proc.name == anyof my_list", "proc.name == anyof my_list"},
		{"proc.name = allof ()", "proc.name = allof ()"},
		{"proc.name == oneof", "proc.name == oneof"},
		{"proc.name == oneof and a", "(proc.name == oneof and a)"},
		{"proc.name == anyof or a", "(proc.name == anyof or a)"},
		{"proc.name ==oneof", "proc.name == oneof"},
		// transformers
		{"not tolower(proc.name) = test", "not tolower(proc.name) = test"},
		{"toupper( b64(proc.name) ) exists", "toupper(b64(proc.name)) exists"},
		{`getopt(proc.args, "nt:")[t] = value`, "getopt(proc.args,nt:)[t] = value"},
		{`getopt(proc.args, "nt:")["t"] = value`, "getopt(proc.args,nt:)[t] = value"},
		{"proc.name = val(proc.pname)", "proc.name = val(proc.pname)"},
		{"proc.name = toupper(proc.pname)", "proc.name = toupper(proc.pname)"},
		{"proc.name in val(proc.pname)", "proc.name in val(proc.pname)"},
		{"len(proc.args) > 3", "len(proc.args) > 3"},
		{`join("-", (fd.name, fd.directory)) = x`, "join(-,(fd.name, fd.directory)) = x"},
		{`concat(proc.name, "-", proc.pid) = x`, "concat(proc.name,-,proc.pid) = x"},
		{`basename(fd.name) = x`, "basename(fd.name) = x"},
		// libsinsp's operator-lexing quirk: a word operator glued to the next
		// word fails, and the lookup resumes after it.
		{"a.b containsin (x)", "a.b in (x)"},
		// and libsinsp's first-list-element quirk: a bad first element reads
		// as an empty list.
		{`a.b in ("x\q")`, "a.b in ()"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		got := "(parse error)"
		if err == nil {
			got = e.String()
		}
		if got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q (err %v)", tt.in, got, tt.want, err)
		}
	}
}

// TestOperators parses every operator and checks what the AST records.
func TestOperators(t *testing.T) {
	for _, op := range append(append(append([]string{}, numOps...), strOps...), listOps...) {
		rhs := "x"
		switch {
		case contains(numOps, op):
			rhs = "1"
		case contains(listOps, op):
			rhs = "(x, y)"
		}
		cond := "a.b " + op + " " + rhs
		e := mustParse(t, cond)
		c, ok := e.(*BinaryCheck)
		if !ok {
			t.Errorf("%q: got %T, want *BinaryCheck", cond, e)
			continue
		}
		if c.Op != op || c.Modifier != "" {
			t.Errorf("%q: Op %q Modifier %q", cond, c.Op, c.Modifier)
		}
		if f, ok := c.Left.(*FieldExpr); !ok || f.Name != "a.b" {
			t.Errorf("%q: Left = %#v", cond, c.Left)
		}
		if contains(listOps, op) {
			if l, ok := c.Right.(*ListExpr); !ok || !reflect.DeepEqual(l.Values, []string{"x", "y"}) {
				t.Errorf("%q: Right = %#v", cond, c.Right)
			}
		} else if v, ok := c.Right.(*ValueExpr); !ok || v.Value != strings.Trim(rhs, "()") {
			t.Errorf("%q: Right = %#v", cond, c.Right)
		}
		if e.String() != cond {
			t.Errorf("String() = %q, want %q", e.String(), cond)
		}
		// word operators need a blank after them; symbols do not
		glued := "a.b " + op + rhs
		_, err := Parse(glued)
		if wantErr := isWordOp(op) && !contains(listOps, op); (err != nil) != wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", glued, err, wantErr)
		}
	}
	e := mustParse(t, "a.b exists")
	if u, ok := e.(*UnaryCheck); !ok || u.Op != "exists" {
		t.Errorf("exists: %#v", e)
	}
	for _, bad := range []string{"a.b ExIsTs", "a.b === x", "a.b !== x", "a.b > x", "a.b in", "a.b = (x)", "a.b =", "macro > 1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestModifiers(t *testing.T) {
	tests := []struct {
		in       string
		op, mod  string
		right    Node
		rejected bool
	}{
		{in: "proc.name == oneof (cat, nginx)", op: "==", mod: "oneof", right: &ListExpr{Values: []string{"cat", "nginx"}}},
		{in: "proc.name != anyof my_list", op: "!=", mod: "anyof", right: &Identifier{Name: "my_list"}},
		{in: "proc.name contains allof ()", op: "contains", mod: "allof", right: &ListExpr{Values: []string{}}},
		{in: "proc.name glob oneof ('a*', \"b c\")", op: "glob", mod: "oneof", right: &ListExpr{Values: []string{"a*", "b c"}}},
		{in: "proc.name == oneof", op: "==", right: &ValueExpr{Value: "oneof"}},
		{in: "proc.name == 'oneof'", op: "==", right: &ValueExpr{Value: "oneof", Quoted: true}},
		{in: "proc.name == oneof_x", op: "==", right: &ValueExpr{Value: "oneof_x"}},
		{in: "proc.name == oneof oneof", op: "==", mod: "oneof", right: &Identifier{Name: "oneof"}},
		{in: "proc.name ==oneof (cat)", rejected: true},
		{in: "proc.name == oneof(cat)", rejected: true},
		{in: "proc.name == ONEOF (cat)", rejected: true},
		{in: "proc.name in oneof (cat)", rejected: true},
		{in: "proc.num > oneof (1)", rejected: true},
		{in: "proc.name == oneof (cat,)", rejected: true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if tt.rejected {
			if err == nil {
				t.Errorf("Parse(%q) = %s, want an error", tt.in, e)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		c := e.(*BinaryCheck)
		if c.Op != tt.op || c.Modifier != tt.mod || !equalIgnoringPos(c.Right, tt.right) {
			t.Errorf("Parse(%q) = op %q mod %q right %#v", tt.in, c.Op, c.Modifier, c.Right)
		}
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: `"plain"`, want: "plain"},
		{in: `'single'`, want: "single"},
		{in: `""`, want: ""},
		{in: `"\b\f\n\r\t\\\/"`, want: "\b\f\n\r\t\\/"},
		{in: `"a\"b"`, want: `a"b`},
		{in: `'a\'b'`, want: "a'b"},
		{in: `'a"b'`, want: `a"b`},
		{in: `"a'b"`, want: "a'b"},
		{in: `"bad \ escape"`, want: `bad \escape`},
		{in: `'a\"b'`, err: `invalid \" escape in '-quoted string`},
		{in: `"a\'b"`, err: `invalid \' escape in "-quoted string`},
		{in: `"a\x41"`, want: "aA"},
		{in: `"a\x4"`, err: `invalid \x escape: want two hex digits`},
		{in: `"a\xzz"`, err: `invalid \x escape: want two hex digits`},
		{in: `"a\qb"`, err: `unsupported string escape sequence: \q`},
		{in: `"unterminated`, err: "expected a string value or a field with a valid transformer: " + msgTransformers},
		// an escaped backslash still keeps the next quote from closing
		{in: `"a\\"`, err: "expected a string value or a field with a valid transformer: " + msgTransformers},
	}
	for _, tt := range tests {
		cond := "a.b = " + tt.in
		e, err := Parse(cond)
		if tt.err != "" {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Msg != tt.err {
				t.Errorf("Parse(%q) error = %v, want %q", cond, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", cond, err)
			continue
		}
		v := e.(*BinaryCheck).Right.(*ValueExpr)
		if v.Value != tt.want || !v.Quoted {
			t.Errorf("Parse(%q) value %q quoted %v, want %q", cond, v.Value, v.Quoted, tt.want)
		}
	}
	// escape is the inverse of unescape for every byte libsinsp can escape
	for _, v := range []string{"", "a", "a b", `a"b`, "a'b", "a\\b", "\b\f\n\r\t", "x\x01y"} {
		s := escape(v)
		if !strings.HasPrefix(s, `"`) {
			if s != v {
				t.Errorf("escape(%q) = %q", v, s)
			}
			continue
		}
		back, err := unescape(s)
		if err != nil || back != v {
			t.Errorf("unescape(escape(%q)) = %q, %v", v, back, err)
		}
	}
}

func TestFieldArgs(t *testing.T) {
	tests := []struct {
		in          string
		name, arg   string
		has, quoted bool
	}{
		{in: "proc.name", name: "proc.name"},
		{in: "proc.aname[2]", name: "proc.aname", arg: "2", has: true},
		{in: "evt.arg[flags]", name: "evt.arg", arg: "flags", has: true},
		{in: `evt.arg["a b"]`, name: "evt.arg", arg: "a b", has: true, quoted: true},
		{in: `evt.arg['x']`, name: "evt.arg", arg: "x", has: true, quoted: true},
		{in: `evt.arg[""]`, name: "evt.arg", arg: "", has: true, quoted: true},
		{in: "evt.arg.flags", name: "evt.arg.flags"},
		{in: "k8s.pod.label.app", name: "k8s.pod.label.app"},
		{in: "a.b[0a!@#456:/\\.;!$%^&*(){}|]", name: "a.b", arg: "0a!@#456:/\\.;!$%^&*(){}|", has: true},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.in+" exists")
		f := e.(*UnaryCheck).Left.(*FieldExpr)
		if f.Name != tt.name || f.Arg != tt.arg || f.HasArg != tt.has || f.ArgQuoted != tt.quoted {
			t.Errorf("%q: %+v", tt.in, *f)
		}
	}
	for _, bad := range []string{"a.b[] exists", "a.b[ x] exists", "a.b[x exists", "a.b[[] exists", "a.b]] exists", "a.b['''] exists", "a. exists"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestTransformers(t *testing.T) {
	e := mustParse(t, `getopt(proc.args, "nt:")["t"] = join(",", (tolower(fd.name), 'x', 12))`)
	want := &BinaryCheck{
		Op: "=",
		Left: &TransformerExpr{Name: "getopt", Args: []Node{
			&FieldExpr{Name: "proc.args"},
			&ValueExpr{Value: "nt:", Quoted: true},
		}, Arg: "t", HasArg: true, ArgQuoted: true},
		Right: &TransformerExpr{Name: "join", Args: []Node{
			&ValueExpr{Value: ",", Quoted: true},
			&ListExpr{Items: []Node{
				&TransformerExpr{Name: "tolower", Args: []Node{&FieldExpr{Name: "fd.name"}}},
				&ValueExpr{Value: "x", Quoted: true},
				&ValueExpr{Value: "12"},
			}},
		}},
	}
	if !equalIgnoringPos(e, want) {
		t.Errorf("got %#v", e)
	}
	e = mustParse(t, "proc.name = val(proc.pname[1])")
	want = &BinaryCheck{Op: "=", Left: &FieldExpr{Name: "proc.name"},
		Right: &TransformerExpr{Name: "val", Args: []Node{&FieldExpr{Name: "proc.pname", Arg: "1", HasArg: true}}}}
	if !equalIgnoringPos(e, want) {
		t.Errorf("got %#v", e)
	}
	for _, name := range transformers {
		mustParse(t, name+"(a.b) exists")
		mustParse(t, "a.b = "+name+"(c.d)")
	}
	for _, bad := range []string{
		"val(a.b) exists", "b64(val(a.b)) exists", "a.b = val(b64(c.d))", "b64 (a.b) exists",
		"a.b in (b64(c.d))", "join(\"-\", (macro)) = x", "join(\"-\", ((a.b))) = x", "nope(a.b) exists",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// equalIgnoringPos compares two trees, ignoring positions.
func equalIgnoringPos(a, b Node) bool {
	return reflect.DeepEqual(stripPos(a), stripPos(b))
}

func stripPos(n Node) Node {
	switch n := n.(type) {
	case *AndExpr:
		c := *n
		c.Pos = Pos{}
		c.Children = stripExprs(n.Children)
		return &c
	case *OrExpr:
		c := *n
		c.Pos = Pos{}
		c.Children = stripExprs(n.Children)
		return &c
	case *NotExpr:
		c := *n
		c.Pos = Pos{}
		c.Child = stripPos(n.Child).(Expr)
		return &c
	case *Identifier:
		c := *n
		c.Pos = Pos{}
		return &c
	case *UnaryCheck:
		c := *n
		c.Pos = Pos{}
		c.Left = stripPos(n.Left).(Operand)
		return &c
	case *BinaryCheck:
		c := *n
		c.Pos = Pos{}
		c.Left = stripPos(n.Left).(Operand)
		c.Right = stripPos(n.Right)
		return &c
	case *FieldExpr:
		c := *n
		c.Pos = Pos{}
		return &c
	case *TransformerExpr:
		c := *n
		c.Pos = Pos{}
		c.Args = stripNodes(n.Args)
		return &c
	case *ValueExpr:
		c := *n
		c.Pos = Pos{}
		return &c
	case *ListExpr:
		c := *n
		c.Pos = Pos{}
		if n.Items != nil {
			c.Items = stripNodes(n.Items)
		}
		return &c
	}
	return n
}

func stripExprs(l []Expr) []Expr {
	out := make([]Expr, len(l))
	for i, e := range l {
		out[i] = stripPos(e).(Expr)
	}
	return out
}

func stripNodes(l []Node) []Node {
	out := make([]Node, len(l))
	for i, e := range l {
		out[i] = stripPos(e)
	}
	return out
}

// TestErrors checks messages and line:col positions of syntax errors.
func TestErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "1:1: filter input string is empty"},
		{`evt.arg["x" = value`, "1:12: expected a ']' token"},
		{"evt.arg[] = value", "1:9: expected a valid field argument: a quoted string or a bare string"},
		{"a and", "1:6: expected blank or '(' after 'and'"},
		{"a orb", "1:5: expected blank or '(' after 'or'"},
		{"(a.b = 1", "1:9: expected a ')' token"},
		{`a.b = "x\q"`, `1:12: unsupported string escape sequence: \q`},
		{"a.a xoperator xxx", "1:5: " + msgBadOperator},
		// "in" is lexed as a prefix, as libsinsp does
		{"a.a invalidoperator xxx", "1:21: unexpected token after 'validoperator', expecting 'or', 'and'"},
		{"a and\n  b c", "2:5: unexpected token after 'b', expecting 'or', 'and'"},
		{"a and\r\n b c", "3:4: unexpected token after 'b', expecting 'or', 'and'"},
		{"a.b in (x,", "1:11: expected a string value"},
		{"b64(x) exists", "1:5: expected field transformer argument: field, transformer, quoted string, number, or transformer list"},
		{"a.b = val(x)", "1:11: expected a field within 'val' transformer"},
		{"a.b = b64(c.d", "1:14: expected a ')' token closing the transformer"},
		{"a.b > x", "1:7: expected a number value or a field with a valid transformer: " + msgTransformers},
		{"a.b in )", "1:8: expected a list, an identifier, or a field with a valid transformer: " + msgTransformers},
		{"a.b = ", "1:7: expected a string value or a field with a valid transformer: " + msgTransformers},
		{"=", "1:1: expected a '(' token, a field check, or an identifier"},
		{`join("-", (a.b,)) = x`, "1:16: expected transformer list argument: field, transformer, quoted string, or number"},
		{`join("-", (a.b c.d)) = x`, "1:16: expected ')'"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) accepted", tt.in)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error\n got %q\nwant %q", tt.in, err.Error(), tt.want)
		}
	}
}

func TestPositions(t *testing.T) {
	e := mustParse(t, "a and\n  not proc.aname[2] in (x, y)")
	and := e.(*AndExpr)
	not := and.Children[1].(*NotExpr)
	check := not.Child.(*BinaryCheck)
	list := check.Right.(*ListExpr)
	for _, tt := range []struct {
		n    Node
		want Pos
	}{
		{and, Pos{0, 1, 1}},
		{and.Children[0], Pos{0, 1, 1}},
		{not, Pos{8, 2, 3}},
		{check, Pos{12, 2, 7}},
		{check.Left, Pos{12, 2, 7}},
		{list, Pos{29, 2, 24}},
	} {
		if got := tt.n.Position(); got != tt.want {
			t.Errorf("%T %s at %+v, want %+v", tt.n, tt.n, got, tt.want)
		}
	}
}

func TestDepth(t *testing.T) {
	deep := strings.Repeat("(", 100000)
	_, err := Parse(deep)
	if err == nil || !strings.HasSuffix(err.Error(), "exceeded max depth limit of 1000") {
		t.Fatalf("Parse(100000 '('): %v", err)
	}
	_, err = ParseDepth(deep, 100)
	if err == nil || !strings.HasSuffix(err.Error(), "exceeded max depth limit of 100") {
		t.Fatalf("ParseDepth(100000 '(', 100): %v", err)
	}
	// the limit is clamped, so even an absurd one keeps recursion bounded
	_, err = ParseDepth(deep+"a"+strings.Repeat(")", 100000), maxDepthCap*10)
	if err == nil || !strings.HasSuffix(err.Error(), "exceeded max depth limit of 100000") {
		t.Fatalf("ParseDepth(huge limit): %v", err)
	}
	for _, s := range []string{
		strings.Repeat("tolower(", 100000),
		"a.b = " + strings.Repeat("b64(", 100000),
		`join("-", ` + strings.Repeat(`(join("-", `, 100000),
	} {
		if _, err := Parse(s); err == nil || !strings.Contains(err.Error(), "max depth") {
			t.Errorf("deep transformer nesting: %v", err)
		}
	}
	// 40 levels of parentheses fit the Falco limit
	mustParse(t, strings.Repeat("(", 40)+"a"+strings.Repeat(")", 40))
	// long chains and repeated nots are loops, not recursion
	mustParse(t, strings.Repeat("a and ", 50000)+"a")
	mustParse(t, strings.Repeat("not ", 50000)+"a")
}

func TestParseOperand(t *testing.T) {
	tests := []struct {
		in   string
		want string
		n    int
	}{
		{"proc.aname[2] rest", "proc.aname[2]", 13},
		{"proc.name", "proc.name", 9},
		{"proc.name)x", "proc.name", 9},
		{"evt.arg.flags, more", "evt.arg.flags", 13},
		{"proc.name[unterminated", "proc.name", 9},
		{`tolower(proc.name) x`, "tolower(proc.name)", 18},
		{`getopt(proc.args, "nt:")[t]!`, "getopt(proc.args,nt:)[t]", 27},
	}
	for _, tt := range tests {
		op, n, err := ParseOperand(tt.in)
		if err != nil {
			t.Errorf("ParseOperand(%q): %v", tt.in, err)
			continue
		}
		if op.String() != tt.want || n != tt.n {
			t.Errorf("ParseOperand(%q) = %s, %d; want %s, %d", tt.in, op, n, tt.want, tt.n)
		}
	}
	for _, bad := range []string{"", " proc.name", "name", "val(proc.name)", "tolower(x)"} {
		if _, _, err := ParseOperand(bad); err == nil {
			t.Errorf("ParseOperand(%q) accepted", bad)
		}
	}
}
