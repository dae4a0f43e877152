package engine

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/glob"
	"github.com/vigilsec/vigil/engine/parse"
)

// transformer compiles tolower/toupper/b64/basename/len/join/concat/getopt.
// Transformers allocate their results; none of the upstream rules uses them.
func (c *compiler) transformer(e *parse.TransformerExpr) (*operand, error) {
	if e.HasArg && e.Name != "getopt" {
		return nil, errorf(e, "filter error: transformer '%s' does not support field arguments", e.Name)
	}
	switch e.Name {
	case "tolower", "toupper", "b64", "basename", "len":
		return c.unaryTransformer(e)
	case "join", "concat", "getopt":
		return c.multiTransformer(e)
	}
	return nil, errorf(e, "unknown transformer '%s'", e.Name)
}

func (c *compiler) unaryTransformer(e *parse.TransformerExpr) (*operand, error) {
	if len(e.Args) != 1 {
		return nil, errorf(e, "transformer '%s' takes exactly one argument", e.Name)
	}
	in, err := c.operand(e.Args[0], false)
	if err != nil {
		return nil, err
	}
	if in.flags&fields.NoTransform != 0 {
		return nil, errorf(e, "%s does not support transformers", in.name)
	}
	cl := classOf(in.typ)
	out := &operand{name: "transformer " + e.String(), typ: fields.TypeString}
	var fn func(v *fields.Value) (fields.Value, bool)
	switch e.Name {
	case "tolower", "toupper", "basename":
		if cl != classString {
			return nil, errorf(e, "transformer '%s' needs a string argument, %s is of type %s", e.Name, in.name, in.typ)
		}
		conv := strings.ToLower
		switch e.Name {
		case "toupper":
			conv = strings.ToUpper
		case "basename":
			conv = baseName
		}
		fn = func(v *fields.Value) (fields.Value, bool) { return fields.Value{Str: conv(v.Str)}, true }
	case "b64":
		if cl != classString && cl != classBytes {
			return nil, errorf(e, "transformer 'b64' needs a string or buffer argument, %s is of type %s", in.name, in.typ)
		}
		out.typ = in.typ
		fn = func(v *fields.Value) (fields.Value, bool) {
			src := v.Str
			if cl == classBytes {
				src = string(v.Bytes)
			}
			d, err := base64.StdEncoding.DecodeString(src)
			if err != nil {
				return fields.Value{}, false
			}
			if cl == classBytes {
				return fields.Value{Bytes: d}, true
			}
			return fields.Value{Str: string(d)}, true
		}
	case "len":
		if cl != classString && cl != classBytes && !in.multi {
			return nil, errorf(e, "transformer 'len' needs a string, buffer or list argument, %s is of type %s", in.name, in.typ)
		}
		out.typ = fields.TypeUint
		if in.multi {
			var buf []fields.Value
			out.x = fields.Extractor{Type: fields.TypeUint, Num: func(ev *driver.Event) (int64, bool) {
				buf = in.values(ev, buf[:0])
				return int64(len(buf)), true
			}}
			return out, nil
		}
		fn = func(v *fields.Value) (fields.Value, bool) {
			if cl == classBytes {
				return fields.Value{Num: int64(len(v.Bytes))}, true
			}
			return fields.Value{Num: int64(len(v.Str))}, true
		}
	}
	out.x = mapExtractor(in, out.typ, fn)
	out.multi = in.multi
	return out, nil
}

func baseName(s string) string {
	if s == "" || strings.HasSuffix(s, "/") {
		return ""
	}
	return path.Base(s)
}

// mapExtractor applies fn to every value of in.
func mapExtractor(in *operand, t fields.Type, fn func(v *fields.Value) (fields.Value, bool)) fields.Extractor {
	x := fields.Extractor{Type: t}
	if in.multi {
		var buf []fields.Value
		x.Multi = func(ev *driver.Event, dst []fields.Value) []fields.Value {
			buf = in.values(ev, buf[:0])
			for i := range buf {
				if v, ok := fn(&buf[i]); ok {
					dst = append(dst, v)
				}
			}
			return dst
		}
		return x
	}
	var buf []fields.Value
	one := func(ev *driver.Event) (fields.Value, bool) {
		buf = in.values(ev, buf[:0])
		if len(buf) == 0 {
			return fields.Value{}, false
		}
		return fn(&buf[0])
	}
	switch classOf(t) {
	case classString:
		x.Str = func(ev *driver.Event) (string, bool) { v, ok := one(ev); return v.Str, ok }
	case classBytes:
		x.Bytes = func(ev *driver.Event) ([]byte, bool) { v, ok := one(ev); return v.Bytes, ok }
	default:
		x.Num = func(ev *driver.Event) (int64, bool) { v, ok := one(ev); return v.Num, ok }
	}
	return x
}

// multiArg is one argument of join/concat/getopt: an operand or a constant.
type multiArg struct {
	op    *operand
	konst string
}

func (a *multiArg) strings(ev *driver.Event, buf []fields.Value, dst []string) ([]string, []fields.Value) {
	if a.op == nil {
		return append(dst, a.konst), buf
	}
	buf = a.op.values(ev, buf[:0])
	for i := range buf {
		dst = append(dst, valueString(a.op.typ, &buf[i]))
	}
	return dst, buf
}

func valueString(t fields.Type, v *fields.Value) string {
	switch classOf(t) {
	case classString:
		return v.Str
	case classBytes:
		return string(v.Bytes)
	case classAddr:
		return v.Addr.String()
	case classBool:
		return strconv.FormatBool(v.Num != 0)
	}
	if t == fields.TypeUint || t == fields.TypePort {
		return strconv.FormatUint(uint64(v.Num), 10)
	}
	return strconv.FormatInt(v.Num, 10)
}

// multiArgs compiles transformer arguments; a list argument is flattened and its
// elements that name fields become operands.
func (c *compiler) multiArgs(nodes []parse.Node) ([]multiArg, error) {
	var out []multiArg
	for _, n := range nodes {
		switch a := n.(type) {
		case *parse.ValueExpr:
			out = append(out, multiArg{konst: a.Value})
		case *parse.ListExpr:
			if a.Items != nil {
				items, err := c.multiArgs(a.Items)
				if err != nil {
					return nil, err
				}
				out = append(out, items...)
				continue
			}
			for _, v := range a.Values {
				if f, _, _, ok := c.reg.Lookup(v); ok && f != nil && strings.Contains(v, ".") {
					o, err := c.operand(&parse.FieldExpr{Pos: a.Pos, Name: v}, false)
					if err != nil {
						return nil, err
					}
					out = append(out, multiArg{op: o})
					continue
				}
				out = append(out, multiArg{konst: v})
			}
		default:
			o, err := c.operand(n, false)
			if err != nil {
				return nil, err
			}
			out = append(out, multiArg{op: o})
		}
	}
	return out, nil
}

func (c *compiler) multiTransformer(e *parse.TransformerExpr) (*operand, error) {
	out := &operand{name: "transformer " + e.String(), typ: fields.TypeString}
	switch e.Name {
	case "join":
		if len(e.Args) < 2 {
			return nil, errorf(e, "transformer 'join' takes a separator and a list of values")
		}
		sep, ok := e.Args[0].(*parse.ValueExpr)
		if !ok {
			return nil, errorf(e, "transformer 'join' needs a constant separator")
		}
		args, err := c.multiArgs(e.Args[1:])
		if err != nil {
			return nil, err
		}
		out.x = stringsExtractor(args, func(ss []string) (string, bool) { return strings.Join(ss, sep.Value), true })
	case "concat":
		args, err := c.multiArgs(e.Args)
		if err != nil {
			return nil, err
		}
		out.x = stringsExtractor(args, func(ss []string) (string, bool) { return strings.Join(ss, ""), true })
	case "getopt":
		if len(e.Args) != 2 || !e.HasArg {
			return nil, errorf(e, "transformer 'getopt' takes the arguments, an option string and an [option] argument")
		}
		spec, ok := e.Args[1].(*parse.ValueExpr)
		if !ok {
			return nil, errorf(e, "transformer 'getopt' needs a constant option string")
		}
		args, err := c.multiArgs(e.Args[:1])
		if err != nil {
			return nil, err
		}
		opt := e.Arg
		out.x = stringsExtractor(args, func(ss []string) (string, bool) {
			var words []string
			for _, s := range ss {
				words = append(words, strings.Fields(s)...)
			}
			return getopt(words, spec.Value, opt)
		})
	}
	return out, nil
}

func stringsExtractor(args []multiArg, join func([]string) (string, bool)) fields.Extractor {
	var buf []fields.Value
	return fields.Extractor{Type: fields.TypeString, Str: func(ev *driver.Event) (string, bool) {
		var ss []string
		for i := range args {
			n := len(ss)
			ss, buf = args[i].strings(ev, buf, ss)
			if len(ss) == n && args[i].op != nil {
				return "", false
			}
		}
		return join(ss)
	}}
}

// getopt returns the value of option opt in args parsed with the getopt(3)
// option string spec: the option's argument, "" for a flag, or false when
// the option is absent.
func getopt(args []string, spec, opt string) (string, bool) {
	takesArg := func(c byte) (known, hasArg bool) {
		i := strings.IndexByte(spec, c)
		if i < 0 || c == ':' {
			return false, false
		}
		return true, i+1 < len(spec) && spec[i+1] == ':'
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		for j := 1; j < len(a); j++ {
			known, hasArg := takesArg(a[j])
			if !known {
				continue
			}
			val := ""
			if hasArg {
				if j+1 < len(a) {
					val = a[j+1:]
				} else if i+1 < len(args) {
					i++
					val = args[i]
				}
			}
			if string(a[j]) == opt {
				return val, true
			}
			if hasArg {
				break
			}
		}
	}
	return "", false
}

// fieldCompare compiles a comparison whose right side is another field
// (val(field)) or a transformer.
func (c *compiler) fieldCompare(n *parse.BinaryCheck, lhs *operand, op string, r *parse.TransformerExpr) (pred, error) {
	var rhs *operand
	if r.Name == "val" {
		if r.HasArg {
			return nil, errorf(r, "filter error: transformer 'val' does not support field arguments")
		}
		if len(r.Args) != 1 {
			return nil, errorf(r, "val() takes exactly one field")
		}
		f, ok := r.Args[0].(*parse.FieldExpr)
		if !ok {
			return nil, errorf(r, "val() takes a field, not %s", r.Args[0].String())
		}
		var err error
		if rhs, err = c.field(f, true); err != nil {
			return nil, err
		}
	} else {
		var err error
		if rhs, err = c.transformer(r); err != nil {
			return nil, err
		}
	}
	if lhs.flags&fields.NoRHS != 0 {
		return nil, errorf(n, "%s cannot be compared with another field", lhs.name)
	}
	if op == "regex" || op == "pmatch" {
		return nil, errorf(n, "operator '%s' needs constant values on its right side", op)
	}
	cl := classOf(lhs.typ)
	if classOf(rhs.typ) != cl {
		return nil, errorf(n, "cannot compare %s of type %s with %s of type %s", lhs.name, lhs.typ, rhs.name, rhs.typ)
	}
	var lbuf, rbuf []fields.Value
	cmp := numCompare(lhs.typ)
	all := lhs.list && op == "in"
	return func(ev *driver.Event) bool {
		lbuf = lhs.values(ev, lbuf[:0])
		rbuf = rhs.values(ev, rbuf[:0])
		if len(lbuf) == 0 || len(rbuf) == 0 {
			return false
		}
		for i := range lbuf {
			hit := false
			for j := range rbuf {
				if dynCompare(op, cl, cmp, &lbuf[i], &rbuf[j]) {
					hit = true
					break
				}
			}
			if hit && !all {
				return true
			}
			if !hit && all {
				return false
			}
		}
		return all
	}, nil
}

// dynCompare applies op to two extracted values of class cl.
func dynCompare(op string, cl valueClass, cmp func(a, b int64) int, l, r *fields.Value) bool {
	switch cl {
	case classString:
		a, b := l.Str, r.Str
		switch op {
		case "=", "in", "intersects":
			return a == b
		case "!=":
			return a != b
		case "<":
			return a < b
		case "<=":
			return a <= b
		case ">":
			return a > b
		case ">=":
			return a >= b
		case "contains":
			return strings.Contains(a, b)
		case "icontains":
			return containsFold(a, asciiLower(b))
		case "startswith":
			return strings.HasPrefix(a, b)
		case "endswith":
			return strings.HasSuffix(a, b)
		case "glob":
			return glob.Match(b, a, false)
		case "iglob":
			return glob.Match(b, a, true)
		}
	case classBytes:
		a, b := l.Bytes, r.Bytes
		switch op {
		case "=", "in", "intersects":
			return bytes.Equal(a, b)
		case "!=":
			return !bytes.Equal(a, b)
		case "contains", "bcontains":
			return bytes.Contains(a, b)
		case "startswith", "bstartswith":
			return bytes.HasPrefix(a, b)
		case "endswith":
			return bytes.HasSuffix(a, b)
		}
	case classAddr:
		eq := addrEqual(l.Addr, r.Addr)
		if op == "!=" {
			return !eq
		}
		return eq
	default:
		d := cmp(l.Num, r.Num)
		switch op {
		case "=", "in", "intersects":
			return d == 0
		case "!=":
			return d != 0
		case "<":
			return d < 0
		case "<=":
			return d <= 0
		case ">":
			return d > 0
		case ">=":
			return d >= 0
		}
	}
	return false
}

func addrEqual(a, b netip.Addr) bool { return a.Unmap() == b.Unmap() }
