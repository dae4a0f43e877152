package config

import (
	_ "embed"
	"slices"
)

//go:embed vigil.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded vigil.yaml: Vigil's defaults with a
// comment on every key, what `vigil config print` shows. Parsing it gives
// Default(). The caller may modify the returned slice.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }
