// Package fields is the catalogue of fields that conditions and outputs can
// use (evt.*, proc.*, fd.*, container.*, ...): their types, descriptions and
// extractors reading them from a driver.Event.
package fields

import (
	"net/netip"

	"github.com/vigilsec/vigil/driver"
)

// Type is the value type of a field, following libsinsp's parameter
// types closely enough for Falco's operator rules.
type Type uint8

// Field value types.
const (
	TypeString  Type = iota // PT_CHARBUF and friends
	TypeFSPath              // PT_FSPATH: a string holding a path
	TypeInt                 // signed integers (PT_INT*, PT_ERRNO, PT_PID, PT_FD)
	TypeUint                // unsigned integers (PT_UINT*); Num holds the bit pattern
	TypeBool                // PT_BOOL: Num is 0 or 1
	TypeBytes               // PT_BYTEBUF
	TypeIPAddr              // PT_IPADDR
	TypeIPNet               // PT_IPNET: extracts an address; comparisons take a CIDR
	TypePort                // PT_PORT
	TypeRelTime             // PT_RELTIME: nanoseconds
	TypeAbsTime             // PT_ABSTIME: nanoseconds since the epoch
	TypeDouble              // PT_DOUBLE: Num holds math.Float64bits
)

// String returns a short name for the type ("string", "int64", ...).
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeFSPath:
		return "fspath"
	case TypeInt:
		return "int64"
	case TypeUint:
		return "uint64"
	case TypeBool:
		return "bool"
	case TypeBytes:
		return "bytebuf"
	case TypeIPAddr:
		return "ipaddr"
	case TypeIPNet:
		return "ipnet"
	case TypePort:
		return "port"
	case TypeRelTime:
		return "reltime"
	case TypeAbsTime:
		return "abstime"
	case TypeDouble:
		return "double"
	}
	return "unknown"
}

// Flags describe how a field may be used.
type Flags uint16

// Field flags (libsinsp's EPF_* flags plus Vigil's own).
const (
	ArgRequired Flags = 1 << iota // an argument must be given
	ArgAllowed                    // an argument may be given
	ArgIndex                      // the argument is a number (proc.aname[2])
	NoRHS                         // cannot be used on a right side (val()) or compared to a field
	NoTransform                   // cannot be wrapped in a transformer
	List                          // yields a list of values (in = all elements in set)
	Any                           // without an argument yields several values; a check holds if it holds for any
	Deprecated                    // using it warns
	FilterOnly                    // usable in conditions only, not in outputs
	PrintOnly                     // usable in outputs only
	TableOnly                     // internal to libsinsp's tables; listed but not usable
	// EitherEnd marks fields that match either end of a connection (fd.ip,
	// fd.net, fd.port, fd.proto). Their Multi getter yields the client and
	// the server value; = and in hold when either matches, while != holds
	// only when neither matches (libsinsp's rule, unlike plain Any fields).
	EitherEnd
)

// Value is one extracted value. Which member is meaningful depends on the
// field type: Str for strings and paths, Num for integers, booleans, ports
// and times, Bytes for byte buffers, Addr for addresses.
type Value struct {
	Str   string
	Num   int64
	Bytes []byte
	Addr  netip.Addr
}

// Extractor reads one field use (a field with its bound argument) from an
// event. Exactly one getter matching Type is set, except for List and
// Any uses, which set Multi. A getter returns false when the value is
// unavailable.
type Extractor struct {
	Type  Type
	Str   func(ev *driver.Event) (string, bool)
	Num   func(ev *driver.Event) (int64, bool)
	Bytes func(ev *driver.Event) ([]byte, bool)
	Addr  func(ev *driver.Event) (netip.Addr, bool)
	// Multi appends every value of the field to dst and returns it; an
	// empty result means unavailable. Callers pass a reused buffer so that
	// steady-state extraction does not allocate.
	Multi func(ev *driver.Event, dst []Value) []Value

	// Hex asks renderers to print the number in upper-case hexadecimal
	// (libsinsp's PF_HEX, used by fd.dev).
	Hex bool
	// listStyle makes AppendText print Multi values as "(a,b)" (List
	// fields) instead of space-separated (ancestor fields).
	listStyle bool
	vals      []Value // reused by AppendText / AppendJSON for Multi fields
}

// Field describes one field of the catalogue.
type Field struct {
	Name  string // e.g. "proc.aname"
	Class string // e.g. "proc"; used to group `vigil list fields`
	Type  Type
	Flags Flags
	Desc  string
	// Bind resolves one use of the field with its argument (arg is "" and
	// hasArg false when none was given) into an extractor. It returns an
	// error naming the problem for a missing, superfluous or bad argument.
	Bind func(arg string, hasArg bool) (Extractor, error)
	// Needs says which availability bits a use of the field (with its
	// argument) needs to have a value, per event type; see FieldNeeds.
	// Nil means that the field needs nothing. Every built-in field
	// declares it.
	Needs func(arg string, hasArg bool) NeedsByType
}
