package fields

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Registry is a set of fields addressable by name. The registry returned by
// Default is shared and must not be modified; build your own with
// NewRegistry to add fields (tests add mock fields that way).
type Registry struct {
	byName  map[string]*Field
	order   []*Field
	classes []string // classes in order of first appearance
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: make(map[string]*Field)}
}

// Add registers f. It returns an error when f is nil, has no name, class,
// description or Bind function, or when a field with the same name exists.
func (r *Registry) Add(f *Field) error {
	switch {
	case f == nil:
		return errors.New("fields: add nil field")
	case f.Name == "":
		return errors.New("fields: add field with empty name")
	case f.Class == "":
		return fmt.Errorf("fields: add %s: empty class", f.Name)
	case f.Bind == nil:
		return fmt.Errorf("fields: add %s: nil Bind", f.Name)
	case strings.ContainsAny(f.Name, "[] \t"):
		return fmt.Errorf("fields: add %s: invalid character in name", f.Name)
	}
	if _, dup := r.byName[f.Name]; dup {
		return fmt.Errorf("fields: add %s: duplicate field", f.Name)
	}
	r.byName[f.Name] = f
	r.order = append(r.order, f)
	known := false
	for _, c := range r.classes {
		if c == f.Class {
			known = true
			break
		}
	}
	if !known {
		r.classes = append(r.classes, f.Class)
	}
	return nil
}

// Field returns the field named exactly name, without argument parsing.
func (r *Registry) Field(name string) (*Field, bool) {
	f, ok := r.byName[name]
	return f, ok
}

// Lookup resolves a field reference as written in a condition or output:
// "proc.name", "proc.aname[2]", "evt.arg[flags]" or the dotted argument
// forms "evt.arg.flags", "proc.env.HOME", "k8s.pod.label.app". A dotted
// argument is split at the longest known field name that accepts an
// argument. hasArg is false when the reference has no argument. ok is
// false when no field matches.
func (r *Registry) Lookup(name string) (f *Field, arg string, hasArg bool, ok bool) {
	if f, ok := r.byName[name]; ok {
		return f, "", false, true
	}
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		if f, ok := r.byName[name[:i]]; ok {
			return f, name[i+1 : len(name)-1], true, true
		}
		return nil, "", false, false
	}
	// Dotted argument: try the longest prefix first.
	for i := len(name) - 1; i > 0; i-- {
		if name[i] != '.' {
			continue
		}
		f, ok := r.byName[name[:i]]
		if !ok || f.Flags&(ArgRequired|ArgAllowed) == 0 || i+1 >= len(name) {
			continue
		}
		return f, name[i+1:], true, true
	}
	return nil, "", false, false
}

// All returns every field grouped by class (classes in the order they were
// first added) and in definition order within a class. The slice is a
// fresh copy; the fields are shared.
func (r *Registry) All() []*Field {
	out := make([]*Field, 0, len(r.order))
	for _, c := range r.classes {
		for _, f := range r.order {
			if f.Class == c {
				out = append(out, f)
			}
		}
	}
	return out
}

// Len returns the number of fields.
func (r *Registry) Len() int { return len(r.order) }

var defaultRegistry = sync.OnceValue(func() *Registry {
	r := NewRegistry()
	needs := needsTable()
	for _, defs := range [][]*Field{
		evtFields(),
		procFields(),
		threadFields(),
		userFields(),
		groupFields(),
		fdFields(),
		fsPathFields(),
		containerFields(),
		k8sFields(),
	} {
		for _, f := range defs {
			if f.Needs = needs[f.Name]; f.Needs == nil {
				panic("fields: " + f.Name + " does not declare its needs") // a bug in the built-in tables
			}
			if err := r.Add(f); err != nil {
				panic(err) // a bug in the built-in tables
			}
		}
	}
	return r
})

// Default returns the registry of every built-in field. It is built once
// and must be treated as read-only.
func Default() *Registry { return defaultRegistry() }
