package glob

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		fold bool
		want bool
	}{
		{"*", "", false, true},
		{"*", "/a/b", false, true},
		{"/a/*/c", "/a/x/y/c", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"[a-c]x", "bx", false, true},
		{"[!a-c]x", "bx", false, false},
		{"[^a-c]x", "dx", false, true},
		{"[]]", "]", false, true},
		{`\*`, "*", false, true},
		{`\*`, "a", false, false},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
		{"[a", "[a", false, true},
		{"ABC*", "abcdef", true, true},
		{"[A-C]x", "bx", true, true},
	}
	for _, c := range cases {
		if got := Match(c.p, c.s, c.fold); got != c.want {
			t.Errorf("glob(%q, %q, fold=%v) = %v, want %v", c.p, c.s, c.fold, got, c.want)
		}
	}
}
