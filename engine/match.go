package engine

import "strings"

// globMatch reports whether s matches the shell pattern p with the semantics
// of POSIX fnmatch(p, s, 0) (or FNM_CASEFOLD when fold is set): '*' matches
// any run of characters including '/', '?' one character, '[...]' a
// bracket expression ('!' or '^' negates, ranges with '-'), and '\' quotes
// the next character. It never allocates.
func globMatch(p, s string, fold bool) bool {
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

// containsFold reports whether s contains the ASCII-lowercased needle
// lowNeedle, comparing case-insensitively in ASCII (as strcasestr). It
// never allocates.
func containsFold(s, lowNeedle string) bool {
	n := len(lowNeedle)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != lowNeedle[0] {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == lowNeedle[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

// pathPrefixes is the right side of pmatch: a set of path prefixes whose
// components may be globs (a wildcard never crosses '/').
type pathPrefixes struct {
	prefixes [][]string // each prefix split into components
	literal  map[string]struct{}
}

func newPathPrefixes(values []string) *pathPrefixes {
	pp := &pathPrefixes{literal: map[string]struct{}{}}
	for _, v := range values {
		v = strings.TrimRight(v, "/")
		if !strings.ContainsAny(v, "*?[\\") {
			pp.literal[v] = struct{}{}
			continue
		}
		pp.prefixes = append(pp.prefixes, strings.Split(v, "/"))
	}
	return pp
}

// match reports whether path equals one of the prefixes or lies below it,
// comparing whole components.
func (pp *pathPrefixes) match(path string) bool {
	if _, ok := pp.literal[""]; ok && strings.HasPrefix(path, "/") {
		return true // "/" matches every absolute path
	}
	// Literal prefixes: path itself and each ancestor directory of it.
	p := strings.TrimRight(path, "/")
	for {
		if _, ok := pp.literal[p]; ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	for _, comps := range pp.prefixes {
		if matchComponents(comps, path) {
			return true
		}
	}
	return false
}

func matchComponents(comps []string, path string) bool {
	rest := path
	for i, c := range comps {
		var comp string
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			comp, rest = rest, ""
			if i < len(comps)-1 {
				return false
			}
		} else {
			comp, rest = rest[:j], rest[j+1:]
		}
		if !globMatch(c, comp, false) {
			return false
		}
		if j < 0 {
			return true
		}
	}
	return true
}
