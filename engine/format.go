package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Format is a compiled output template ("%proc.name opened %fd.name"). Like
// a Filter, a Format must not be used from several goroutines at once.
type Format struct {
	text     string
	tokens   []token
	names    []string // distinct field expressions, in order of first use
	byName   []*operand
	warnings []Warning
}

// token is a literal run of text or a field to render (op != nil).
type token struct {
	lit   string
	op    *operand
	width int
}

// missing is how an unavailable value renders (Falco's "*" format mode, which
// it always uses for rule outputs).
const missing = "<NA>"

// CompileOutput compiles an output template. %field and %field[arg] tokens
// (and transformer expressions such as %tolower(proc.name)), optionally
// with a width (%20fd.name), are resolved in reg; missing values render as
// <NA>. It returns an error for a trailing %, an unknown field or a field
// that cannot be printed. The deprecated %container.info renders as nothing
// and adds a warning (see Warnings).
func CompileOutput(format string, reg *fields.Registry) (*Format, error) {
	c := &compiler{reg: reg, output: true}
	f := &Format{text: format}
	seen := map[string]bool{}
	lit := strings.Builder{}
	flush := func() {
		if lit.Len() > 0 {
			f.tokens = append(f.tokens, token{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); {
		ch := format[i]
		if ch != '%' {
			lit.WriteByte(ch)
			i++
			continue
		}
		i++
		width := 0
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			width = width*10 + int(format[i]-'0')
			i++
		}
		if i >= len(format) {
			return nil, &CompileError{Pos: offsetPos(format, i), Msg: "invalid formatting token: trailing '%'"}
		}
		op, n, err := c.outputOperand(format[i:])
		if err != nil {
			var ce *CompileError
			if e, ok := err.(*CompileError); ok {
				ce = e
			} else {
				ce = &CompileError{Msg: err.Error()}
			}
			ce.Pos = offsetPos(format, i)
			return nil, ce
		}
		i += n
		if op == nil { // %container.info
			continue
		}
		flush()
		f.tokens = append(f.tokens, token{op: op, width: width})
		if !seen[op.name] {
			seen[op.name] = true
			f.names = append(f.names, op.name)
			f.byName = append(f.byName, op)
		}
	}
	flush()
	f.warnings = c.warnings
	return f, nil
}

// outputOperand parses the longest field or transformer expression at the
// start of s that also compiles, and returns it with the bytes consumed. It
// returns a nil operand for the deprecated container.info.
func (c *compiler) outputOperand(s string) (*operand, int, error) {
	node, n, err := parse.ParseOperand(s)
	if err != nil {
		return nil, 0, &CompileError{Msg: fmt.Sprintf("invalid formatting token %%%s: %v", firstWord(s), err)}
	}
	if fe, ok := node.(*parse.FieldExpr); ok && fe.Name == "container.info" && !fe.HasArg {
		c.warnings = append(c.warnings, Warning{Msg: "%container.info is deprecated and renders as an empty string; use %container.id, %container.name and friends"})
		return nil, n, nil
	}
	op, err := c.operand(node, false)
	for err != nil {
		// A dotted suffix may be text rather than a field argument
		// ("%proc.name." or "%fd.name.bak"): retry with shorter names.
		fe, ok := node.(*parse.FieldExpr)
		if !ok || fe.HasArg {
			break
		}
		i := strings.LastIndexByte(fe.Name, '.')
		if i < 0 || !strings.Contains(fe.Name[:i], ".") {
			break
		}
		short := &parse.FieldExpr{Pos: fe.Pos, Name: fe.Name[:i]}
		if op2, err2 := c.operand(short, false); err2 == nil {
			return op2, len(short.Name), nil
		}
		node = short
	}
	if err != nil {
		return nil, 0, err
	}
	op.name = node.String()
	return op, n, nil
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// offsetPos converts a byte offset in s to a position.
func offsetPos(s string, off int) parse.Pos {
	if off > len(s) {
		off = len(s)
	}
	line := 1 + strings.Count(s[:off], "\n")
	col := off - strings.LastIndexByte(s[:off], '\n')
	return parse.Pos{Offset: off, Line: line, Col: col}
}

// Warnings returns the remarks collected while compiling the template, such
// as uses of deprecated fields.
func (f *Format) Warnings() []Warning { return f.warnings }

// String returns the template as written.
func (f *Format) String() string { return f.text }

// Append renders the template for ev onto dst.
func (f *Format) Append(dst []byte, ev *driver.Event) []byte {
	for i := range f.tokens {
		t := &f.tokens[i]
		if t.op == nil {
			dst = append(dst, t.lit...)
			continue
		}
		start := len(dst)
		var ok bool
		dst, ok = t.op.x.AppendText(dst, ev)
		if !ok {
			dst = append(dst[:start], missing...)
		}
		if t.width > 0 {
			dst = fitWidth(dst, start, t.width)
		}
	}
	return dst
}

// fitWidth pads or truncates dst[start:] to width runes.
func fitWidth(dst []byte, start, width int) []byte {
	n := utf8.RuneCount(dst[start:])
	if n < width {
		for ; n < width; n++ {
			dst = append(dst, ' ')
		}
		return dst
	}
	cut, count := start, 0
	for cut < len(dst) && count < width {
		_, size := utf8.DecodeRune(dst[cut:])
		cut += size
		count++
	}
	return dst[:cut]
}

// FieldNames returns the fields the template uses, in order of first use,
// as written (e.g. "proc.aname[2]"); they are the keys of Falco's JSON
// output_fields.
func (f *Format) FieldNames() []string { return f.names }

// AppendFieldsJSON renders the template's fields as a JSON object
// ({"proc.name":"bash","proc.pid":42,"fd.name":null}) onto dst: typed
// values, null for unavailable ones.
func (f *Format) AppendFieldsJSON(dst []byte, ev *driver.Event) []byte {
	dst = append(dst, '{')
	for i, op := range f.byName {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.names[i])
		dst = append(dst, ':')
		start := len(dst)
		var ok bool
		dst, ok = op.x.AppendJSON(dst, ev)
		if !ok {
			dst = append(dst[:start], "null"...)
		}
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
