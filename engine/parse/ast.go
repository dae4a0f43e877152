// Package parse turns Falco condition strings into syntax trees: the lexer,
// the recursive-descent parser and the AST with its canonical String form.
package parse

// Pos is a position in a condition string: byte offset (0-based), line and
// column (1-based, columns count bytes).
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// Node is any node of a condition's syntax tree. The set of node types is
// closed (the interface has an unexported method). String returns the
// canonical source text, as libsinsp's ast::as_string prints it.
type Node interface {
	Position() Pos
	String() string
	node()
}

// Expr is a boolean expression: *AndExpr, *OrExpr, *NotExpr, *Identifier
// (a macro reference), *UnaryCheck or *BinaryCheck.
type Expr interface {
	Node
	expr()
}

// Operand is something that yields values from an event: a *FieldExpr or a
// *TransformerExpr. It is the left side of a check and the argument of
// transformers.
type Operand interface {
	Node
	operand()
}

// AndExpr is a flattened n-ary conjunction.
type AndExpr struct {
	Pos      Pos
	Children []Expr
}

// OrExpr is a flattened n-ary disjunction.
type OrExpr struct {
	Pos      Pos
	Children []Expr
}

// NotExpr negates its child.
type NotExpr struct {
	Pos   Pos
	Child Expr
}

// Identifier is a bare name: a macro reference in check position, or a list
// name on the right side of in/intersects/pmatch or a modifier.
type Identifier struct {
	Pos  Pos
	Name string
}

// UnaryCheck is a check without a right side ("exists").
type UnaryCheck struct {
	Pos  Pos
	Left Operand
	Op   string
}

// BinaryCheck compares an operand with a right side.
type BinaryCheck struct {
	Pos      Pos
	Left     Operand
	Op       string // "=", "==", "!=", "<", "<=", ">", ">=", "contains", ..., "in", "intersects", "pmatch"
	Modifier string // "", "oneof", "anyof" or "allof"
	// Right is a *ValueExpr, a *ListExpr, an *Identifier (list name), or a
	// *TransformerExpr (including val(field)).
	Right Node
}

// FieldExpr names a field with an optional argument: proc.aname[2],
// evt.arg[flags]. Dotted arguments (evt.arg.flags) stay in Name; the field
// registry splits them off.
type FieldExpr struct {
	Pos    Pos
	Name   string
	Arg    string
	HasArg bool
	// ArgQuoted records that the argument was written as a quoted string.
	ArgQuoted bool
}

// TransformerExpr applies a transformer to its arguments: tolower(proc.name),
// join(",", (a, b)), getopt(proc.args, "nt:")[t]. val(field) on a right side
// is a TransformerExpr named "val" with one *FieldExpr argument.
type TransformerExpr struct {
	Pos  Pos
	Name string
	// Args are *FieldExpr, *TransformerExpr, *ValueExpr or *ListExpr nodes.
	Args   []Node
	Arg    string
	HasArg bool
	// ArgQuoted records that the argument was written as a quoted string.
	ArgQuoted bool
}

// ValueExpr is a literal string (bare or quoted, already unescaped).
type ValueExpr struct {
	Pos    Pos
	Value  string
	Quoted bool
}

// ListExpr is a parenthesised list literal of strings (Values), or, as a
// transformer argument (join(",", (proc.name, proc.pid))), a list of
// operands and literals (Items: *FieldExpr, *TransformerExpr, *ValueExpr),
// in which case Items is non-nil and Values is nil.
type ListExpr struct {
	Pos    Pos
	Values []string
	Items  []Node
}

func (n *AndExpr) Position() Pos         { return n.Pos }
func (n *OrExpr) Position() Pos          { return n.Pos }
func (n *NotExpr) Position() Pos         { return n.Pos }
func (n *Identifier) Position() Pos      { return n.Pos }
func (n *UnaryCheck) Position() Pos      { return n.Pos }
func (n *BinaryCheck) Position() Pos     { return n.Pos }
func (n *FieldExpr) Position() Pos       { return n.Pos }
func (n *TransformerExpr) Position() Pos { return n.Pos }
func (n *ValueExpr) Position() Pos       { return n.Pos }
func (n *ListExpr) Position() Pos        { return n.Pos }

func (*AndExpr) node()         {}
func (*OrExpr) node()          {}
func (*NotExpr) node()         {}
func (*Identifier) node()      {}
func (*UnaryCheck) node()      {}
func (*BinaryCheck) node()     {}
func (*FieldExpr) node()       {}
func (*TransformerExpr) node() {}
func (*ValueExpr) node()       {}
func (*ListExpr) node()        {}

func (*AndExpr) expr()     {}
func (*OrExpr) expr()      {}
func (*NotExpr) expr()     {}
func (*Identifier) expr()  {}
func (*UnaryCheck) expr()  {}
func (*BinaryCheck) expr() {}

func (*FieldExpr) operand()       {}
func (*TransformerExpr) operand() {}
