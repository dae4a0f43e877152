package engine

import (
	"bytes"
	"encoding/hex"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/glob"
	"github.com/vigilsec/vigil/engine/parse"
)

// matcher compiles "<lhs> op v" for a constant v parsed into the operand's
// type.
func (c *compiler) matcher(n parse.Node, lhs *operand, op, v string) (matcher, error) {
	switch classOf(lhs.typ) {
	case classString:
		if strings.IndexByte(v, 0) >= 0 {
			return matcher{}, errorf(n, "string value for %s contains a NUL character", lhs.name)
		}
		f, err := stringMatcher(op, v)
		if err != nil {
			return matcher{}, errorf(n, "%v", err)
		}
		return matcher{str: f}, nil
	case classBytes:
		f, err := bytesMatcher(op, v)
		if err != nil {
			return matcher{}, errorf(n, "%s: %v", lhs.name, err)
		}
		return matcher{bytes: f}, nil
	case classAddr:
		pfx, err := parseAddrOrPrefix(v, lhs.typ)
		if err != nil {
			return matcher{}, errorf(n, "%s: %v", lhs.name, err)
		}
		eq := func(a netip.Addr) bool { return pfx.Contains(a.Unmap()) }
		if op == "!=" {
			return matcher{addr: func(a netip.Addr) bool { return !eq(a) }}, nil
		}
		return matcher{addr: eq}, nil
	}
	x, err := parseNum(v, lhs.typ)
	if err != nil {
		return matcher{}, errorf(n, "%s: %v", lhs.name, err)
	}
	return matcher{num: numMatcher(op, x, lhs.typ)}, nil
}

// setMatcher compiles in/intersects/pmatch against a list of constants.
func (c *compiler) setMatcher(n parse.Node, lhs *operand, op string, vs []string) (matcher, error) {
	cl := classOf(lhs.typ)
	if cl == classString {
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				return matcher{}, errorf(n, "string value for %s contains a NUL character", lhs.name)
			}
		}
	}
	if op == "pmatch" {
		if cl != classString {
			return matcher{}, errorf(n, "operator pmatch is not supported by %s of type %s", lhs.name, lhs.typ)
		}
		pp := newPathPrefixes(vs)
		return matcher{str: pp.match}, nil
	}
	switch cl {
	case classString:
		set := make(map[string]struct{}, len(vs))
		for _, v := range vs {
			set[v] = struct{}{}
		}
		if len(vs) <= 4 {
			list := append([]string(nil), vs...)
			return matcher{str: func(s string) bool {
				for _, v := range list {
					if s == v {
						return true
					}
				}
				return false
			}}, nil
		}
		return matcher{str: func(s string) bool { _, ok := set[s]; return ok }}, nil
	case classBytes:
		list := make([][]byte, len(vs))
		for i, v := range vs {
			list[i] = []byte(v)
		}
		return matcher{bytes: func(b []byte) bool {
			for _, v := range list {
				if bytes.Equal(b, v) {
					return true
				}
			}
			return false
		}}, nil
	case classAddr:
		pfxs := make([]netip.Prefix, len(vs))
		for i, v := range vs {
			p, err := parseAddrOrPrefix(v, lhs.typ)
			if err != nil {
				return matcher{}, errorf(n, "%s: %v", lhs.name, err)
			}
			pfxs[i] = p
		}
		return matcher{addr: func(a netip.Addr) bool {
			a = a.Unmap()
			for _, p := range pfxs {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}}, nil
	}
	set := make(map[int64]struct{}, len(vs))
	for _, v := range vs {
		x, err := parseNum(v, lhs.typ)
		if err != nil {
			return matcher{}, errorf(n, "%s: %v", lhs.name, err)
		}
		set[x] = struct{}{}
	}
	return matcher{num: func(x int64) bool { _, ok := set[x]; return ok }}, nil
}

// stringMatcher compiles a string comparison with a constant.
func stringMatcher(op, v string) (func(string) bool, error) {
	switch op {
	case "=":
		return func(s string) bool { return s == v }, nil
	case "!=":
		return func(s string) bool { return s != v }, nil
	case "<":
		return func(s string) bool { return s < v }, nil
	case "<=":
		return func(s string) bool { return s <= v }, nil
	case ">":
		return func(s string) bool { return s > v }, nil
	case ">=":
		return func(s string) bool { return s >= v }, nil
	case "contains":
		return func(s string) bool { return strings.Contains(s, v) }, nil
	case "icontains":
		low := asciiLower(v)
		return func(s string) bool { return containsFold(s, low) }, nil
	case "startswith":
		return func(s string) bool { return strings.HasPrefix(s, v) }, nil
	case "endswith":
		return func(s string) bool { return strings.HasSuffix(s, v) }, nil
	case "glob":
		return func(s string) bool { return glob.Match(v, s, false) }, nil
	case "iglob":
		return func(s string) bool { return glob.Match(v, s, true) }, nil
	case "regex":
		re, err := compileRegex(v)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	case "in", "intersects":
		return func(s string) bool { return s == v }, nil
	}
	return nil, errorUnsupported(op)
}

func errorUnsupported(op string) error {
	return &CompileError{Msg: "operator '" + op + "' is not supported here"}
}

// compileRegex compiles a POSIX (RE2 POSIX syntax) pattern that must match
// the whole value.
func compileRegex(p string) (*regexp.Regexp, error) {
	re, err := regexp.CompilePOSIX("^(" + p + ")$")
	if err != nil {
		return nil, &CompileError{Msg: "invalid regex '" + p + "': " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
	}
	return re, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

// bytesMatcher compiles a byte-buffer comparison. bcontains and bstartswith
// take a hex string; the other operators take the value's bytes.
func bytesMatcher(op, v string) (func([]byte) bool, error) {
	raw := []byte(v)
	switch op {
	case "bcontains", "bstartswith":
		h, err := hex.DecodeString(v)
		if err != nil || v == "" {
			return nil, &CompileError{Msg: "operator " + op + " needs a hex string, found '" + v + "'"}
		}
		if op == "bcontains" {
			return func(b []byte) bool { return bytes.Contains(b, h) }, nil
		}
		return func(b []byte) bool { return bytes.HasPrefix(b, h) }, nil
	case "=", "in", "intersects":
		return func(b []byte) bool { return bytes.Equal(b, raw) }, nil
	case "!=":
		return func(b []byte) bool { return !bytes.Equal(b, raw) }, nil
	case "contains":
		return func(b []byte) bool { return bytes.Contains(b, raw) }, nil
	case "startswith":
		return func(b []byte) bool { return bytes.HasPrefix(b, raw) }, nil
	case "endswith":
		return func(b []byte) bool { return bytes.HasSuffix(b, raw) }, nil
	}
	return nil, errorUnsupported(op)
}

// parseAddrOrPrefix parses an address (a single-address prefix) or, for
// network fields and values with '/', a CIDR.
func parseAddrOrPrefix(v string, t fields.Type) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, &CompileError{Msg: "invalid CIDR '" + v + "'"}
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		if t == fields.TypeIPNet {
			return netip.Prefix{}, &CompileError{Msg: "invalid CIDR '" + v + "'"}
		}
		return netip.Prefix{}, &CompileError{Msg: "invalid IP address '" + v + "'"}
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseNum parses a constant for a numeric, boolean, port or time field.
func parseNum(v string, t fields.Type) (int64, error) {
	switch t {
	case fields.TypeBool:
		switch v {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, &CompileError{Msg: "'" + v + "' is not a boolean (true or false)"}
	case fields.TypeDouble:
		// libsinsp parses constants for double fields as integers
		// (thread.cpu = 1 compiles, thread.cpu = 1.0 does not).
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, &CompileError{Msg: "'" + v + "' is not an integer"}
		}
		return int64(math.Float64bits(float64(i))), nil
	case fields.TypeUint, fields.TypePort:
		u, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			return 0, &CompileError{Msg: "'" + v + "' is not an unsigned integer"}
		}
		if t == fields.TypePort && u > math.MaxUint16 {
			return 0, &CompileError{Msg: "'" + v + "' is not a port number"}
		}
		return int64(u), nil
	}
	i, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return 0, &CompileError{Msg: "'" + v + "' is not an integer"}
	}
	return i, nil
}

// numMatcher compiles a numeric comparison with the constant x.
func numMatcher(op string, x int64, t fields.Type) func(int64) bool {
	cmp := numCompare(t)
	switch op {
	case "=", "in", "intersects":
		return func(n int64) bool { return n == x }
	case "!=":
		return func(n int64) bool { return n != x }
	case "<":
		return func(n int64) bool { return cmp(n, x) < 0 }
	case "<=":
		return func(n int64) bool { return cmp(n, x) <= 0 }
	case ">":
		return func(n int64) bool { return cmp(n, x) > 0 }
	case ">=":
		return func(n int64) bool { return cmp(n, x) >= 0 }
	}
	return func(int64) bool { return false }
}

// numCompare returns a three-way comparison for values of type t.
func numCompare(t fields.Type) func(a, b int64) int {
	switch t {
	case fields.TypeUint, fields.TypePort:
		return func(a, b int64) int {
			ua, ub := uint64(a), uint64(b)
			switch {
			case ua < ub:
				return -1
			case ua > ub:
				return 1
			}
			return 0
		}
	case fields.TypeDouble:
		return func(a, b int64) int {
			fa, fb := math.Float64frombits(uint64(a)), math.Float64frombits(uint64(b))
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	return func(a, b int64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
}
