package parse

import "strings"

// The token recognisers below reproduce libsinsp's lexer, which matches
// anchored POSIX (leftmost-longest) regular expressions and literal prefixes
// at the cursor. Blanks between tokens are space, \t, \b, \r and \n; the
// "not" keyword and word operators are followed by [[:space:]] or blanks as
// libsinsp does. Every recogniser either consumes its token and returns true,
// or leaves the cursor untouched and returns false.

// scanner is the cursor over a condition string.
type scanner struct {
	input string
	pos   Pos
	// last is the text of the last token lexed (libsinsp's m_last_token),
	// used in the "unexpected token after" message. Blanks never update it.
	last string
}

// advance moves the cursor over n bytes, keeping line and column up to date
// the way libsinsp does: '\r' and '\n' each start a new line.
func (s *scanner) advance(n int) {
	for i := 0; i < n; i++ {
		c := s.input[s.pos.Offset]
		s.pos.Col++
		if c == '\r' || c == '\n' {
			s.pos.Col = 1
			s.pos.Line++
		}
		s.pos.Offset++
	}
}

func (s *scanner) rest() string { return s.input[s.pos.Offset:] }

func (s *scanner) atEnd() bool { return s.pos.Offset >= len(s.input) }

// isBlank reports the characters libsinsp skips between tokens.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\b' || c == '\r' || c == '\n'
}

// isSpace is POSIX [[:space:]].
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isIdentChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// blank skips blanks and reports whether there were any. It does not touch
// the last token.
func (s *scanner) blank() bool {
	n := 0
	r := s.rest()
	for n < len(r) && isBlank(r[n]) {
		n++
	}
	s.advance(n)
	return n > 0
}

// literal consumes str if the input continues with it.
func (s *scanner) literal(str string) bool {
	if !strings.HasPrefix(s.rest(), str) {
		return false
	}
	s.last = str
	s.advance(len(str))
	return true
}

// token consumes the first n bytes as a token.
func (s *scanner) token(n int) bool {
	if n <= 0 {
		return false
	}
	s.last = s.rest()[:n]
	s.advance(n)
	return true
}

// identLen is the length of [a-zA-Z]+[a-zA-Z0-9_]* at the start of r, or 0.
func identLen(r string) int {
	if len(r) == 0 || !isLetter(r[0]) {
		return 0
	}
	n := 1
	for n < len(r) && isIdentChar(r[n]) {
		n++
	}
	return n
}

// fieldNameLen is the length of ident(\.ident)+ at the start of r, or 0.
func fieldNameLen(r string) int {
	n := identLen(r)
	if n == 0 {
		return 0
	}
	dots := 0
	for n < len(r) && r[n] == '.' {
		m := identLen(r[n+1:])
		if m == 0 {
			break
		}
		n += 1 + m
		dots++
	}
	if dots == 0 {
		return 0
	}
	return n
}

// numberLen is the length of [+\-]?[0-9]+[.]?[0-9]*([eE][+\-][0-9]+)? at
// the start of r, or 0.
func numberLen(r string) int {
	n := 0
	if n < len(r) && (r[n] == '+' || r[n] == '-') {
		n++
	}
	d := n
	for n < len(r) && isDigit(r[n]) {
		n++
	}
	if n == d {
		return 0
	}
	if n < len(r) && r[n] == '.' {
		n++
	}
	for n < len(r) && isDigit(r[n]) {
		n++
	}
	if n+2 < len(r) && (r[n] == 'e' || r[n] == 'E') && (r[n+1] == '+' || r[n+1] == '-') && isDigit(r[n+2]) {
		n += 3
		for n < len(r) && isDigit(r[n]) {
			n++
		}
	}
	return n
}

// hexNumberLen is the length of 0[xX][0-9a-fA-F]+ at the start of r, or 0.
func hexNumberLen(r string) int {
	if len(r) < 3 || r[0] != '0' || (r[1] != 'x' && r[1] != 'X') || !isHexDigit(r[2]) {
		return 0
	}
	n := 3
	for n < len(r) && isHexDigit(r[n]) {
		n++
	}
	return n
}

// bareStrLen is the length of [^()"'[:space:]=,]+ at the start of r.
func bareStrLen(r string) int {
	n := 0
	for n < len(r) {
		c := r[n]
		if c == '(' || c == ')' || c == '"' || c == '\'' || c == '=' || c == ',' || isSpace(c) {
			break
		}
		n++
	}
	return n
}

// fieldArgBareLen is the length of [^][\"'[:space:]]+ at the start of r.
func fieldArgBareLen(r string) int {
	n := 0
	for n < len(r) {
		c := r[n]
		if c == '[' || c == ']' || c == '"' || c == '\'' || isSpace(c) {
			break
		}
		n++
	}
	return n
}

// notBlankLen is the length of not[[:space:]]+ at the start of r, or 0.
func notBlankLen(r string) int {
	if !strings.HasPrefix(r, "not") {
		return 0
	}
	n := 3
	for n < len(r) && isSpace(r[n]) {
		n++
	}
	if n == 3 {
		return 0
	}
	return n
}

func (s *scanner) identifier() bool      { return s.token(identLen(s.rest())) }
func (s *scanner) fieldName() bool       { return s.token(fieldNameLen(s.rest())) }
func (s *scanner) number() bool          { return s.token(numberLen(s.rest())) }
func (s *scanner) hexNumber() bool       { return s.token(hexNumberLen(s.rest())) }
func (s *scanner) bareStr() bool         { return s.token(bareStrLen(s.rest())) }
func (s *scanner) fieldArgBareStr() bool { return s.token(fieldArgBareLen(s.rest())) }
func (s *scanner) notBlank() bool        { return s.token(notBlankLen(s.rest())) }

// quotedStr lexes a '…' or "…" string. Like libsinsp, a delimiter preceded
// by a backslash never closes the string (even when that backslash is itself
// escaped), and an unterminated string is not a token. On success the last
// token is the unescaped value; an invalid escape is an error reported after
// the closing delimiter.
func (s *scanner) quotedStr() (ok bool, err error) {
	r := s.rest()
	if len(r) == 0 || (r[0] != '"' && r[0] != '\'') {
		return false, nil
	}
	delim := r[0]
	prev := byte('\\')
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c == delim && prev != '\\' {
			s.advance(i + 1)
			v, err := unescape(r[:i+1])
			if err != nil {
				return false, err
			}
			s.last = v
			return true, nil
		}
		prev = c
	}
	// libsinsp leaves the partial text in its last token.
	s.last = r
	return false, nil
}

// escapeError is an invalid escape inside a quoted string.
type escapeError string

func (e escapeError) Error() string { return string(e) }

// unescape decodes a quoted string including its delimiters, accepting
// libsinsp's escapes: \b \f \n \r \t \\ \/, \" only inside "…", \' only
// inside '…', \xHH (two hex digits), and backslash-space (decoded as a
// backslash, a legacy quirk).
func unescape(q string) (string, error) {
	var b strings.Builder
	escaped := false
	for i := 1; i < len(q)-1; i++ {
		c := q[i]
		if !escaped {
			if c == '\\' {
				escaped = true
			} else {
				b.WriteByte(c)
			}
			continue
		}
		switch c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case ' ', '\\':
			b.WriteByte('\\')
		case '/':
			b.WriteByte('/')
		case '"':
			if q[0] != c {
				return "", escapeError(`invalid \" escape in '-quoted string`)
			}
			b.WriteByte(c)
		case '\'':
			if q[0] != c {
				return "", escapeError(`invalid \' escape in "-quoted string`)
			}
			b.WriteByte(c)
		case 'x':
			// \xHH (libs master; not in Falco 0.44's libs 0.25.4, where \x
			// is an error). Accepting it is a superset of 0.44's grammar.
			if i+2 >= len(q)-1 || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return "", escapeError(`invalid \x escape: want two hex digits`)
			}
			b.WriteByte(hexVal(q[i+1])<<4 | hexVal(q[i+2]))
			i += 2
		default:
			return "", escapeError(`unsupported string escape sequence: \` + string(c))
		}
		escaped = false
	}
	return b.String(), nil
}

// escape renders a string value the way libsinsp's escape_str does: control
// characters, backslashes and double quotes are escaped, and the result is
// wrapped in double quotes when anything was escaped or the value contains a
// space or a single quote. The empty string renders as "" (libsinsp prints
// nothing, which would not parse back).
func escape(v string) string {
	if v == "" {
		return `""`
	}
	quote := false
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case ' ', '\'':
			b.WriteByte(c)
		default:
			b.WriteByte(c)
			continue
		}
		quote = true
	}
	if quote {
		return `"` + b.String() + `"`
	}
	return v
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
