package parse

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// parserCase is one record of Falco's parser conformance data
// (parser_cases.jsonl, taken from libsinsp's filter_parser.ut.cpp).
type parserCase struct {
	Cond       string   `json:"cond"`
	Valid      bool     `json:"valid"`
	Kind       string   `json:"kind"`
	Test       string   `json:"test"`
	Line       int      `json:"line"`
	WSVariants bool     `json:"ws_variants"`
	AsString   *string  `json:"as_string"`
	Error      *string  `json:"error"`
	PosTrace   *string  `json:"pos_trace"`
	PosTraceIn []string `json:"pos_trace_contains"`
	EndPos     *struct {
		Idx  int `json:"idx"`
		Line int `json:"line"`
		Col  int `json:"col"`
	} `json:"end_pos"`
}

// conformanceDepth is libsinsp's default parser depth, which its tests use.
const conformanceDepth = 100

// loadParserCases reads the conformance data, skipping when
// VIGIL_FALCO_CONFORMANCE_DIR is unset and failing when it is set but the
// file is missing or malformed.
func loadParserCases(t testing.TB) []parserCase {
	t.Helper()
	dir := os.Getenv("VIGIL_FALCO_CONFORMANCE_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_CONFORMANCE_DIR not set")
	}
	f, err := os.Open(filepath.Join(dir, "parser_cases.jsonl"))
	if err != nil {
		t.Fatalf("VIGIL_FALCO_CONFORMANCE_DIR is set but: %v", err)
	}
	defer f.Close()
	var cases []parserCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c parserCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("parser_cases.jsonl:%d: %v", n, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("parser_cases.jsonl holds no cases")
	}
	return cases
}

func TestConformance(t *testing.T) {
	cases := loadParserCases(t)
	pass := 0
	for i, c := range cases {
		name := fmt.Sprintf("%03d_%s_L%d", i, c.Test, c.Line)
		ok := t.Run(name, func(t *testing.T) { checkParserCase(t, c) })
		if ok {
			pass++
		}
	}
	t.Logf("parser conformance: %d/%d cases pass", pass, len(cases))
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

func checkParserCase(t *testing.T, c parserCase) {
	e, end, err := parseCondition(c.Cond, conformanceDepth)
	if !c.Valid {
		if err == nil {
			t.Fatalf("%q: accepted as %s, Falco rejects it", shorten(c.Cond), e)
		}
		if _, ok := err.(*SyntaxError); !ok {
			t.Fatalf("%q: error %T is not a *SyntaxError", shorten(c.Cond), err)
		}
		if c.Error != nil && err.(*SyntaxError).Msg != *c.Error {
			t.Fatalf("%q: error %q, want %q", shorten(c.Cond), err.(*SyntaxError).Msg, *c.Error)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v", c.Cond, err)
	}
	if c.AsString != nil && e.String() != *c.AsString {
		t.Errorf("%q: String() = %q, want %q", c.Cond, e.String(), *c.AsString)
	}
	if c.EndPos != nil {
		want := Pos{Offset: c.EndPos.Idx, Line: c.EndPos.Line, Col: c.EndPos.Col}
		if end != want {
			t.Errorf("%q: end position %+v, want %+v", c.Cond, end, want)
		}
	}
	if c.PosTrace != nil {
		if got := posTrace(e); got != *c.PosTrace {
			t.Errorf("%q: position trace\n got %s\nwant %s", c.Cond, got, *c.PosTrace)
		}
	}
	for _, frag := range c.PosTraceIn {
		if got := posTrace(e); !strings.Contains(got, frag) {
			t.Errorf("%q: position trace %s lacks %s", c.Cond, got, frag)
		}
	}
	if c.WSVariants {
		for _, v := range []string{
			" " + c.Cond + " ",
			strings.ReplaceAll(c.Cond, " ", "\n"),
			strings.ReplaceAll(c.Cond, " ", "\t"),
		} {
			if _, err := ParseDepth(v, conformanceDepth); err != nil {
				t.Errorf("whitespace variant %q: %v", v, err)
			}
		}
	}
}

// posTrace renders node kinds and positions in the order and format of
// libsinsp's pos_visitor test helper ("binary0 1 1field0 1 1value10 1 11").
func posTrace(n Node) string {
	var b strings.Builder
	var walk func(Node)
	add := func(kind string, p Pos) {
		b.WriteString(kind + strconv.Itoa(p.Offset) + " " + strconv.Itoa(p.Line) + " " + strconv.Itoa(p.Col))
	}
	walk = func(n Node) {
		switch n := n.(type) {
		case *AndExpr:
			add("and", n.Pos)
			for _, c := range n.Children {
				walk(c)
			}
		case *OrExpr:
			add("or", n.Pos)
			for _, c := range n.Children {
				walk(c)
			}
		case *NotExpr:
			add("not", n.Pos)
			walk(n.Child)
		case *Identifier:
			add("identifier", n.Pos)
		case *ValueExpr:
			add("value", n.Pos)
		case *ListExpr:
			if n.Items != nil {
				add("transformer_list", n.Pos)
			} else {
				add("list", n.Pos)
			}
		case *UnaryCheck:
			add("unary", n.Pos)
			walk(n.Left)
		case *BinaryCheck:
			add("binary", n.Pos)
			walk(n.Left)
			walk(n.Right)
		case *FieldExpr:
			add("field", n.Pos)
		case *TransformerExpr:
			add("transformer", n.Pos)
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	walk(n)
	return b.String()
}
