package engine

import (
	"strings"

	"github.com/vigilsec/vigil/engine/glob"
)

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
		if !glob.Match(c, comp, false) {
			return false
		}
		if j < 0 {
			return true
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
