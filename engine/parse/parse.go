package parse

import (
	"fmt"
	"strings"
)

// DefaultMaxDepth is the recursion limit Parse uses: Falco parses rule
// conditions with a limit of 1000 (libsinsp's own default is 100).
const DefaultMaxDepth = 1000

// maxDepthCap bounds the recursion whatever limit a caller asks for.
const maxDepthCap = 100000

// SyntaxError is a condition that does not parse. Pos is where the parser
// stood when it gave up; Msg is libsinsp's message for the same failure.
type SyntaxError struct {
	Pos Pos
	Msg string
}

// Error returns "line:col: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Parse parses a Falco condition with the recursion limit Falco uses for
// rule conditions (DefaultMaxDepth). It returns a *SyntaxError if cond is
// empty or not a valid condition. It never panics.
func Parse(cond string) (Expr, error) {
	return ParseDepth(cond, DefaultMaxDepth)
}

// ParseDepth is Parse with an explicit recursion limit, counted like
// libsinsp counts it: nesting beyond it fails with "exceeded max depth limit
// of N". A limit <= 0 means DefaultMaxDepth; limits above 100000 are lowered
// to 100000 so that recursion stays bounded.
func ParseDepth(cond string, maxDepth int) (Expr, error) {
	e, _, err := parseCondition(cond, maxDepth)
	return e, err
}

// parseCondition parses a whole condition and also returns the position the
// parser stopped at.
func parseCondition(cond string, maxDepth int) (e Expr, end Pos, err error) {
	p := newParser(cond, maxDepth)
	defer p.recover(&err)
	if cond == "" {
		p.fail("filter input string is empty")
	}
	e = p.parseOr()
	if !p.atEnd() {
		p.fail("unexpected token after '" + p.last + "', expecting 'or', 'and'")
	}
	return e, p.pos, nil
}

// ParseOperand parses the field or transformer expression at the very start
// of s (no leading blanks), as libsinsp does for the %field tokens of output
// formats: "proc.aname[2] rest" gives a *FieldExpr and 13, the number of
// bytes consumed. When a field name is followed by a malformed argument
// ("proc.name[x"), the field without argument is returned, which is what
// libsinsp's formatter ends up with after retrying shorter prefixes. It
// returns a *SyntaxError if s does not start with a field or transformer.
func ParseOperand(s string) (op Operand, n int, err error) {
	p := newParser(s, DefaultMaxDepth)
	func() {
		defer p.recover(&err)
		op = p.parseOperand()
	}()
	if err != nil {
		if m := fieldNameLen(s); m > 0 && m < len(s) && s[m] == '[' {
			return &FieldExpr{Pos: Pos{Offset: 0, Line: 1, Col: 1}, Name: s[:m]}, m, nil
		}
		return nil, 0, err
	}
	return op, p.pos.Offset, nil
}

// transformers are the field transformers usable on either side of a
// check, in the order libsinsp tries them. "val" is separate: right side
// only.
var transformers = []string{"tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"}

// Operators, in the order libsinsp tries them. Word operators must be
// followed by a blank.
var (
	numOps  = []string{"<=", "<", ">=", ">"}
	strOps  = []string{"==", "=", "!=", "glob", "iglob", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "regex"}
	listOps = []string{"intersects", "in", "pmatch"}
	// modifiers may follow a string operator, before a list.
	modifiers = []string{"oneof", "anyof", "allof"}
)

func isWordOp(op string) bool { return isLetter(op[0]) }

func quoteList(prefix []string, items []string) string {
	var b strings.Builder
	for _, l := range [][]string{prefix, items} {
		for _, it := range l {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString("'" + it + "'")
		}
	}
	return b.String()
}

var (
	msgBadOperator = "expected a valid check operator: one of " +
		quoteList([]string{"exists"}, append(append(append([]string{}, numOps...), strOps...), listOps...))
	msgTransformers = quoteList([]string{"val"}, transformers)
)

// parser is a recursive-descent parser following libsinsp's parser.cpp
// step for step, so that it accepts, rejects and reports positions exactly
// as libsinsp does.
type parser struct {
	scanner
	depth    int
	maxDepth int
}

func newParser(input string, maxDepth int) *parser {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if maxDepth > maxDepthCap {
		maxDepth = maxDepthCap
	}
	return &parser{
		scanner:  scanner{input: input, pos: Pos{Offset: 0, Line: 1, Col: 1}},
		maxDepth: maxDepth,
	}
}

// bailout carries a syntax error up the recursion to recover.
type bailout struct{ err *SyntaxError }

func (p *parser) fail(msg string) {
	panic(bailout{&SyntaxError{Pos: p.pos, Msg: msg}})
}

// recover turns a bailout into an error; other panics are bugs and go on.
func (p *parser) recover(errp *error) {
	if r := recover(); r != nil {
		b, ok := r.(bailout)
		if !ok {
			panic(r)
		}
		*errp = b.err
	}
}

// push enters one level of recursion, failing beyond the limit; pop leaves
// it.
func (p *parser) push() {
	p.depth++
	if p.depth >= p.maxDepth {
		p.fail(fmt.Sprintf("exceeded max depth limit of %d", p.maxDepth))
	}
}

func (p *parser) pop() { p.depth-- }

// quoted lexes a quoted string, failing on a bad escape.
func (p *parser) quoted() bool {
	ok, err := p.quotedStr()
	if err != nil {
		p.fail(err.Error())
	}
	return ok
}

// transformerName lexes a transformer name with its opening parenthesis.
func (p *parser) transformerName() (string, bool) {
	r := p.rest()
	for _, t := range transformers {
		if len(r) > len(t) && r[len(t)] == '(' && strings.HasPrefix(r, t) {
			p.advance(len(t) + 1)
			p.last = t
			return t, true
		}
	}
	return "", false
}

// Expr := OrExpr
// OrExpr := AndExpr ('or' (BLANK AndExpr | '(' Expr ')'))*
func (p *parser) parseOr() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	children := []Expr{p.parseAnd()}
	p.blank()
	for p.literal("or") {
		var child Expr
		if !p.blank() {
			if !p.literal("(") {
				p.fail("expected blank or '(' after 'or'")
			}
			child = p.parseEmbeddedRemainder()
		} else {
			child = p.parseAnd()
		}
		children = append(children, child)
		p.blank()
	}
	if len(children) > 1 {
		return &OrExpr{Pos: pos, Children: children}
	}
	return children[0]
}

// AndExpr := NotExpr ('and' (BLANK NotExpr | '(' Expr ')'))*
func (p *parser) parseAnd() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	children := []Expr{p.parseNot()}
	p.blank()
	for p.literal("and") {
		var child Expr
		if !p.blank() {
			if !p.literal("(") {
				p.fail("expected blank or '(' after 'and'")
			}
			child = p.parseEmbeddedRemainder()
		} else {
			child = p.parseNot()
		}
		children = append(children, child)
		p.blank()
	}
	if len(children) > 1 {
		return &AndExpr{Pos: pos, Children: children}
	}
	return children[0]
}

// NotExpr := ('not' BLANK+)* ('not(' Expr ')' | Check); repeated nots toggle.
func (p *parser) parseNot() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	negate := false
	p.blank()
	for p.notBlank() {
		negate = !negate
	}
	var child Expr
	if p.literal("not(") {
		negate = !negate
		child = p.parseEmbeddedRemainder()
	} else {
		child = p.parseCheck()
	}
	if negate {
		return &NotExpr{Pos: pos, Child: child}
	}
	return child
}

// parseEmbeddedRemainder parses "Expr )" after an opening parenthesis.
func (p *parser) parseEmbeddedRemainder() Expr {
	p.push()
	defer p.pop()
	p.blank()
	child := p.parseOr()
	p.blank()
	if !p.literal(")") {
		p.fail("expected a ')' token")
	}
	return child
}

// Check := '(' Expr ')' | Field Condition | FieldTransformer Condition | Identifier
func (p *parser) parseCheck() Expr {
	p.push()
	defer p.pop()
	pos := p.pos
	p.blank()
	if p.literal("(") {
		return p.parseEmbeddedRemainder()
	}
	if p.fieldName() {
		left := p.parseFieldRemainder(p.last, pos)
		return p.parseCondition(left, pos)
	}
	if name, ok := p.transformerName(); ok {
		p.blank()
		left := p.parseTransformerRemainder(name, pos)
		return p.parseCondition(left, pos)
	}
	if p.identifier() {
		return &Identifier{Pos: pos, Name: p.last}
	}
	p.fail("expected a '(' token, a field check, or an identifier")
	return nil
}

// parseOperand parses a field or a transformer at the cursor.
func (p *parser) parseOperand() Operand {
	p.push()
	defer p.pop()
	pos := p.pos
	if p.fieldName() {
		return p.parseFieldRemainder(p.last, pos)
	}
	if name, ok := p.transformerName(); ok {
		p.blank()
		return p.parseTransformerRemainder(name, pos)
	}
	p.fail("expected a field or a field transformer")
	return nil
}

// parseArgSuffix parses an optional "[arg]" where arg is a quoted or a bare
// string.
func (p *parser) parseArgSuffix() (arg string, has, quoted bool) {
	if !p.literal("[") {
		return "", false, false
	}
	if p.quoted() {
		quoted = true
	} else if !p.fieldArgBareStr() {
		p.fail("expected a valid field argument: a quoted string or a bare string")
	}
	arg = p.last
	if !p.literal("]") {
		p.fail("expected a ']' token")
	}
	return arg, true, quoted
}

// parseFieldRemainder parses the optional argument after a field name.
func (p *parser) parseFieldRemainder(name string, pos Pos) *FieldExpr {
	p.push()
	defer p.pop()
	f := &FieldExpr{Pos: pos, Name: name}
	f.Arg, f.HasArg, f.ArgQuoted = p.parseArgSuffix()
	return f
}

// parseTransformerRemainder parses "Arg (, Arg)* ) [ '[' arg ']' ]" after
// "name(".
func (p *parser) parseTransformerRemainder(name string, pos Pos) *TransformerExpr {
	p.push()
	defer p.pop()
	p.blank()
	var args []Node
	for {
		args = append(args, p.parseTransformerArg(p.pos))
		p.blank()
		if !p.literal(",") {
			break
		}
	}
	p.blank()
	if !p.literal(")") {
		p.fail("expected a ')' token closing the transformer")
	}
	t := &TransformerExpr{Pos: pos, Name: name, Args: args}
	t.Arg, t.HasArg, t.ArgQuoted = p.parseArgSuffix()
	return t
}

// Arg := Number | QuotedStr | '(' [ListArg (',' ListArg)*] ')' | FieldTransformer | Field
func (p *parser) parseTransformerArg(pos Pos) Node {
	p.push()
	defer p.pop()
	p.blank()
	if p.hexNumber() || p.number() {
		return &ValueExpr{Pos: pos, Value: p.last}
	}
	if p.quoted() {
		return &ValueExpr{Pos: pos, Value: p.last, Quoted: true}
	}
	if p.literal("(") {
		return p.parseTransformerList(pos)
	}
	if name, ok := p.transformerName(); ok {
		return p.parseTransformerRemainder(name, pos)
	}
	if p.fieldName() {
		return p.parseFieldRemainder(p.last, pos)
	}
	p.fail("expected field transformer argument: field, transformer, quoted string, number, or transformer list")
	return nil
}

// parseTransformerList parses the rest of a transformer-argument list after
// its '('. Elements are fields, transformers, quoted strings or numbers.
func (p *parser) parseTransformerList(pos Pos) *ListExpr {
	items := []Node{}
	p.blank()
	if p.literal(")") {
		return &ListExpr{Pos: pos, Items: items}
	}
	items = append(items, p.parseTransformerListArg())
	p.blank()
	for p.literal(",") {
		p.blank()
		items = append(items, p.parseTransformerListArg())
		p.blank()
	}
	if !p.literal(")") {
		p.fail("expected ')'")
	}
	return &ListExpr{Pos: pos, Items: items}
}

func (p *parser) parseTransformerListArg() Node {
	pos := p.pos
	if p.fieldName() {
		return p.parseFieldRemainder(p.last, pos)
	}
	if name, ok := p.transformerName(); ok {
		p.blank()
		return p.parseTransformerRemainder(name, pos)
	}
	if p.quoted() {
		return &ValueExpr{Pos: pos, Value: p.last, Quoted: true}
	}
	if p.hexNumber() || p.number() {
		return &ValueExpr{Pos: pos, Value: p.last}
	}
	p.fail("expected transformer list argument: field, transformer, quoted string, or number")
	return nil
}

// Condition := 'exists' | NumOp NumValue | StrOp [Modifier ListValue | StrValue] | ListOp ListValue
func (p *parser) parseCondition(left Operand, pos Pos) Expr {
	p.push()
	defer p.pop()
	p.blank()
	if p.literal("exists") {
		return &UnaryCheck{Pos: pos, Left: left, Op: "exists"}
	}
	p.blank()
	check := &BinaryCheck{Pos: pos, Left: left}
	if op, ok := p.nonWordOp(numOps); ok {
		check.Op = op
		check.Right = p.parseNumValue()
	} else if op, ok := p.strOp(); ok {
		check.Op = op
		check.Modifier, check.Right = p.parseStrRight(isWordOp(op))
	} else if op, ok := p.nonWordOp(listOps); ok {
		check.Op = op
		check.Right = p.parseListValue(true)
	} else {
		p.fail(msgBadOperator)
	}
	return check
}

// nonWordOp lexes the first operator of ops found at the cursor. libsinsp
// matches them as plain prefixes, so "in" also matches "info".
func (p *parser) nonWordOp(ops []string) (string, bool) {
	for _, op := range ops {
		if p.literal(op) {
			return op, true
		}
	}
	return "", false
}

// strOp lexes a string operator. Like libsinsp, a word operator not followed
// by a blank makes the whole lookup fail, but the cursor stays after it.
func (p *parser) strOp() (string, bool) {
	for _, op := range strOps {
		if !p.literal(op) {
			continue
		}
		if isWordOp(op) {
			return op, p.blank()
		}
		return op, true
	}
	return "", false
}

// parseStrRight parses the right side of a string operator: a modifier and
// a list, or a string value or transformer. A modifier is recognised only
// when the operator is followed by a blank, the modifier itself by blanks,
// and then by '(' or a list name (not the keywords and/or), so that values
// such as "oneof" keep working: "proc.name == oneof and x.y exists".
func (p *parser) parseStrRight(blankAfterOp bool) (string, Node) {
	if blankAfterOp || (!p.atEnd() && isBlank(p.rest()[0])) {
		save := p.scanner
		p.blank()
		if m := p.modifier(); m != "" {
			return m, p.parseListValue(false)
		}
		p.scanner = save
	}
	return "", p.parseStrValue(false)
}

// modifier lexes oneof/anyof/allof when a list follows it.
func (p *parser) modifier() string {
	r := p.rest()
	for _, m := range modifiers {
		if !strings.HasPrefix(r, m) {
			continue
		}
		k := len(m)
		for k < len(r) && isBlank(r[k]) {
			k++
		}
		if k == len(m) || k == len(r) {
			return ""
		}
		if r[k] != '(' {
			n := identLen(r[k:])
			if n == 0 {
				return ""
			}
			if id := r[k : k+n]; id == "and" || id == "or" {
				return ""
			}
		}
		p.literal(m)
		return m
	}
	return ""
}

// parseNumValue parses a number or a transformer.
func (p *parser) parseNumValue() Node {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if t := p.tryTransformerOrVal(); t != nil {
		return t
	}
	if p.hexNumber() || p.number() {
		return &ValueExpr{Pos: pos, Value: p.last}
	}
	p.fail("expected a number value or a field with a valid transformer: " + msgTransformers)
	return nil
}

// parseStrValue parses a quoted or bare string, or (unless noTransformer) a
// transformer.
func (p *parser) parseStrValue(noTransformer bool) Node {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if !noTransformer {
		if t := p.tryTransformerOrVal(); t != nil {
			return t
		}
	}
	if p.quoted() {
		return &ValueExpr{Pos: pos, Value: p.last, Quoted: true}
	}
	if p.bareStr() {
		return &ValueExpr{Pos: pos, Value: p.last}
	}
	if noTransformer {
		p.fail("expected a string value")
	}
	p.fail("expected a string value or a field with a valid transformer: " + msgTransformers)
	return nil
}

// parseListValue parses a list literal, a list name, or (if
// allowTransformer) a transformer.
func (p *parser) parseListValue(allowTransformer bool) Node {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if p.literal("(") {
		values := []string{}
		p.blank()
		if v, ok := p.tryFirstListValue(); ok {
			values = append(values, v)
			p.blank()
			for p.literal(",") {
				values = append(values, p.parseStrValue(true).(*ValueExpr).Value)
				p.blank()
			}
		}
		if !p.literal(")") {
			p.fail("expected a ')' token")
		}
		return &ListExpr{Pos: pos, Values: values}
	}
	if allowTransformer {
		if t := p.tryTransformerOrVal(); t != nil {
			return t
		}
	}
	if p.identifier() {
		return &Identifier{Pos: pos, Name: p.last}
	}
	if !allowTransformer {
		p.fail("expected a list or an identifier")
	}
	p.fail("expected a list, an identifier, or a field with a valid transformer: " + msgTransformers)
	return nil
}

// tryFirstListValue parses the first element of a list literal. As in
// libsinsp, any failure means "the list is empty" and the parser goes on
// from wherever the failed attempt left the cursor.
func (p *parser) tryFirstListValue() (v string, ok bool) {
	depth := p.depth
	defer func() {
		if r := recover(); r != nil {
			if _, isBailout := r.(bailout); !isBailout {
				panic(r)
			}
			p.depth = depth
			v, ok = "", false
		}
	}()
	return p.parseStrValue(true).(*ValueExpr).Value, true
}

// tryTransformerOrVal parses a transformer or val(field) if one starts at
// the cursor, and returns nil otherwise.
func (p *parser) tryTransformerOrVal() *TransformerExpr {
	p.push()
	defer p.pop()
	p.blank()
	pos := p.pos
	if p.literal("val(") {
		p.last = "val"
		p.blank()
		fieldPos := p.pos
		if !p.fieldName() {
			p.fail("expected a field within 'val' transformer")
		}
		f := p.parseFieldRemainder(p.last, fieldPos)
		p.blank()
		if !p.literal(")") {
			p.fail("expected a ')' token closing the transformer")
		}
		t := &TransformerExpr{Pos: pos, Name: "val", Args: []Node{f}}
		t.Arg, t.HasArg, t.ArgQuoted = p.parseArgSuffix()
		return t
	}
	if name, ok := p.transformerName(); ok {
		p.blank()
		return p.parseTransformerRemainder(name, pos)
	}
	return nil
}
