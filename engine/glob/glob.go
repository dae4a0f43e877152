// Package glob matches shell patterns the way POSIX fnmatch(3) does without
// FNM_PATHNAME: '*' matches any run of characters including '/', which is
// what Falco's glob and iglob operators (and container.mount.dest[GLOB])
// mean. Go's path.Match differs ('*' stops at '/').
package glob

// Match reports whether s matches the shell pattern p with the semantics
// of POSIX fnmatch(p, s, 0) (or FNM_CASEFOLD when fold is set): '*' matches
// any run of characters including '/', '?' one character, '[...]' a
// bracket expression ('!' or '^' negates, ranges with '-'), and '\' quotes
// the next character. It never allocates.
func Match(p, s string, fold bool) bool {
	// Iterative matcher with single-star backtracking: on mismatch, retry
	// from the last '*' consuming one more character of s.
	px, sx := 0, 0
	starP, starS := -1, -1
	for sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				for px < len(p) && p[px] == '*' {
					px++
				}
				if px == len(p) {
					return true
				}
				starP, starS = px, sx
				continue
			case '?':
				px++
				sx++
				continue
			case '[':
				if ok, n, valid := matchBracket(p[px:], s[sx], fold); valid {
					if ok {
						px += n
						sx++
						continue
					}
				} else if s[sx] == '[' { // an unclosed '[' is an ordinary character
					px++
					sx++
					continue
				}
			case '\\':
				if px+1 < len(p) {
					if eqByte(p[px+1], s[sx], fold) {
						px += 2
						sx++
						continue
					}
				} else if s[sx] == '\\' {
					px++
					sx++
					continue
				}
			default:
				if eqByte(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		px, sx = starP, starS
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// matchBracket matches c against the bracket expression at the start of p
// ("[...]"). It returns whether c matched, the length of the expression and
// whether the expression is well formed (closed by ']').
func matchBracket(p string, c byte, fold bool) (matched bool, n int, valid bool) {
	i := 1
	negate := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		i++
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi = p[i+1]
			if hi == '\\' && i+2 < len(p) {
				hi = p[i+2]
				i++
			}
			i += 2
		}
		if inRange(c, lo, hi) || (fold && (inRange(lower(c), lower(lo), lower(hi)) || inRange(upper(c), upper(lo), upper(hi)))) {
			matched = true
		}
	}
	return false, 0, false
}

func inRange(c, lo, hi byte) bool { return lo <= c && c <= hi }

func eqByte(a, b byte, fold bool) bool {
	return a == b || (fold && lower(a) == lower(b))
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
