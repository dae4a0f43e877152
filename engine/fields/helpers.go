package fields

import (
	"fmt"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/vigilsec/vigil/driver"
)

// Concurrency and lifetime of extracted strings: fields whose value is
// computed (proc.cmdline, evt.arg.flags, evt.time, ...) render into a
// buffer owned by the bound Extractor and return a string aliasing it. Such
// a string stays valid until the next call of a getter on the same
// Extractor; copy it (strings.Clone) to keep it longer. An Extractor must
// therefore not be used by several goroutines at once: Bind again per
// goroutine (Bind is cheap). Fields read straight from the event return
// the event's own strings.

// scratch is a per-extractor reusable byte buffer.
type scratch struct{ b []byte }

// reset empties the buffer and returns it for appending.
func (s *scratch) reset() []byte { return s.b[:0] }

// str keeps b as the buffer and returns it as a string without copying.
func (s *scratch) str(b []byte) string {
	s.b = b
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// bytesString views b as a string without copying.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

type binder = func(arg string, hasArg bool) (Extractor, error)

// fixed binds a field that takes no argument; mk builds a fresh extractor
// per use so that each use owns its scratch buffers.
func fixed(name string, mk func() Extractor) binder {
	return func(arg string, hasArg bool) (Extractor, error) {
		if hasArg {
			return Extractor{}, fmt.Errorf("field %s does not take an argument (got %q)", name, arg)
		}
		return mk(), nil
	}
}

func strX(f func(*driver.Event) (string, bool)) Extractor {
	return Extractor{Type: TypeString, Str: f}
}

func pathX(f func(*driver.Event) (string, bool)) Extractor {
	return Extractor{Type: TypeFSPath, Str: f}
}

func numX(t Type, f func(*driver.Event) (int64, bool)) Extractor {
	return Extractor{Type: t, Num: f}
}

func boolNum(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// def builds a Field whose use takes no argument.
func def(class, name string, t Type, flags Flags, desc string, mk func() Extractor) *Field {
	return &Field{Name: name, Class: class, Type: t, Flags: flags, Desc: desc, Bind: fixed(name, mk)}
}

// stat wraps a stateless extractor for def.
func stat(x Extractor) func() Extractor { return func() Extractor { return x } }

// unavailable is an extractor of type t that never yields a value: the
// field exists (so rules load) but Vigil has no source for it yet.
func unavailable(t Type) Extractor {
	switch t {
	case TypeString, TypeFSPath:
		return Extractor{Type: t, Str: func(*driver.Event) (string, bool) { return "", false }}
	case TypeBytes:
		return Extractor{Type: t, Bytes: func(*driver.Event) ([]byte, bool) { return nil, false }}
	case TypeIPAddr, TypeIPNet:
		return Extractor{Type: t, Addr: func(*driver.Event) (netip.Addr, bool) { return netip.Addr{}, false }}
	}
	return Extractor{Type: t, Num: func(*driver.Event) (int64, bool) { return 0, false }}
}

// parseIndex parses a non-negative decimal field index.
func parseIndex(name, arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("field %s: argument %q is not a non-negative index", name, arg)
	}
	return n, nil
}

// isIndex reports whether arg is all digits.
func isIndex(arg string) bool {
	if arg == "" {
		return false
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] < '0' || arg[i] > '9' {
			return false
		}
	}
	return true
}
