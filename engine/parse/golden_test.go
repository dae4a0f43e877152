package parse

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// goldenInputs reads testdata/canonical.txt.
func goldenInputs(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "canonical.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// TestGolden pins the canonical String() of the conditions in
// testdata/canonical.txt to testdata/canonical.golden.
func TestGolden(t *testing.T) {
	var b strings.Builder
	for _, in := range goldenInputs(t) {
		b.WriteString("in:  " + in + "\n")
		e, err := Parse(in)
		if err != nil {
			b.WriteString("err: " + err.Error() + "\n\n")
			continue
		}
		b.WriteString("out: " + e.String() + "\n\n")
	}
	got := b.String()
	path := filepath.Join("testdata", "canonical.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s:%d differs (run with -update if intended)\n got %q\nwant %q", path, i+1, g, w)
			}
		}
	}
}

// roundTrippable reports whether the canonical form of n is expected to
// parse back to the same tree. libsinsp's form loses the quotes of literal
// transformer arguments and of values that contain '(', ')', ',' or '='
// (and, in field arguments, '[' or ']'); a vertical tab is not escaped; a
// value ending in a backslash prints as "…\\", where the escaped backslash
// still keeps the closing quote from closing; and a negation of a negation
// prints as "not not x", which parses as x.
func roundTrippable(n Node) bool {
	ok := true
	var walk func(n Node, inTransformer bool)
	badValue := func(v string) bool { return strings.ContainsAny(v, "(),=\v") || strings.HasSuffix(v, `\`) }
	badArg := func(a string) bool { return strings.ContainsAny(a, "[]\v") || strings.HasSuffix(a, `\`) }
	walk = func(n Node, inTransformer bool) {
		switch n := n.(type) {
		case *AndExpr:
			for _, c := range n.Children {
				walk(c, false)
			}
		case *OrExpr:
			for _, c := range n.Children {
				walk(c, false)
			}
		case *NotExpr:
			if _, double := n.Child.(*NotExpr); double {
				ok = false
			}
			walk(n.Child, false)
		case *UnaryCheck:
			walk(n.Left, false)
		case *BinaryCheck:
			walk(n.Left, false)
			walk(n.Right, false)
		case *FieldExpr:
			if n.HasArg && badArg(n.Arg) {
				ok = false
			}
		case *TransformerExpr:
			if n.HasArg && badArg(n.Arg) {
				ok = false
			}
			for _, a := range n.Args {
				walk(a, true)
			}
		case *ValueExpr:
			if (inTransformer && n.Quoted) || badValue(n.Value) {
				ok = false
			}
		case *ListExpr:
			for _, v := range n.Values {
				if badValue(v) {
					ok = false
				}
			}
			for _, it := range n.Items {
				walk(it, true)
			}
		}
	}
	walk(n, false)
	return ok
}

// checkRoundTrip asserts Parse(String(e)).String() == String(e) where the
// canonical form is expected to survive.
func checkRoundTrip(t *testing.T, in string, e Expr) {
	t.Helper()
	s := e.String()
	e2, err := Parse(s)
	if !roundTrippable(e) {
		return
	}
	if err != nil {
		t.Errorf("%q: canonical form %q does not parse: %v", in, s, err)
		return
	}
	if s2 := e2.String(); s2 != s {
		t.Errorf("%q: canonical form %q re-parses as %q", in, s, s2)
	}
	if !equalIgnoringPos(e, e2) && !equalIgnoringQuoting(e, e2) {
		t.Errorf("%q: canonical form %q re-parses to a different tree", in, s)
	}
}

// equalIgnoringQuoting compares trees by canonical text only; quoting flags
// legitimately change ("cat" prints as cat).
func equalIgnoringQuoting(a, b Node) bool { return a.String() == b.String() }

func TestRoundTrip(t *testing.T) {
	inputs := goldenInputs(t)
	if os.Getenv("VIGIL_FALCO_CONFORMANCE_DIR") != "" {
		for _, c := range loadParserCases(t) {
			if c.Valid {
				inputs = append(inputs, c.Cond)
			}
		}
	}
	n := 0
	for _, in := range inputs {
		e, err := Parse(in)
		if err != nil {
			continue
		}
		checkRoundTrip(t, in, e)
		n++
	}
	if n < 20 {
		t.Fatalf("only %d conditions round-tripped", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"evt.type = open and proc.name = cat",
		"(a or b) and not c",
		`proc.cmdline contains "curl 127.0.0.1"`,
		"proc.name startswith oneof (sshd, sudo)",
		`getopt(proc.args, "nt:")["t"] = value`,
		`join("-", (fd.name, tolower(fd.directory), 12)) = x`,
		"proc.name = val(proc.pname) or proc.aname[2] in (a, 'b c')",
		"not not(not a.b exists)",
		`a.b = 'x\'y' and c.d = "\t\\"`,
		"a.b pmatch my_list and c.d in()",
		"((((a))))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, end, err := parseCondition(in, DefaultMaxDepth)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Pos.Offset < 0 || se.Pos.Offset > len(in) || se.Pos.Line < 1 || se.Pos.Col < 1 {
				t.Fatalf("error position %+v out of range", se.Pos)
			}
			return
		}
		if end.Offset != len(in) {
			t.Fatalf("accepted but stopped at %d of %d", end.Offset, len(in))
		}
		checkRoundTrip(t, in, e)
	})
}

func BenchmarkParse(b *testing.B) {
	var parts []string
	for i := 0; i < 200; i++ {
		parts = append(parts, `(evt.type in (open, openat, openat2) and fd.name startswith /etc/ and not proc.name in (a, b, "c d", e) and proc.aname[2] != sshd and tolower(proc.cmdline) contains "curl ")`)
	}
	cond := strings.Join(parts, " or ")
	b.SetBytes(int64(len(cond)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(cond); err != nil {
			b.Fatal(err)
		}
	}
}
