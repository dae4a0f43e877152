package rules

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

// defaultFS holds Vigil's own default ruleset (rules/default/*.yaml).
//
//go:embed default/*.yaml
var defaultFS embed.FS

// DefaultFiles returns the embedded default ruleset, in file-name order,
// named "default/<file>" so that messages point at them.
func DefaultFiles() []File {
	names, err := fs.Glob(defaultFS, "default/*.yaml")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	sort.Strings(names)
	files := make([]File, 0, len(names))
	for _, n := range names {
		data, err := defaultFS.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		files = append(files, File{Name: path.Join("default", path.Base(n)), Data: data})
	}
	return files
}
