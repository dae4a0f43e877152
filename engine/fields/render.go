package fields

import (
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/vigilsec/vigil/driver"
)

// AppendText appends the value of the field use for ev as Falco prints it
// in text outputs and returns the extended buffer. Booleans print as
// true/false, numbers, ports and times in decimal (fd.dev in hex),
// addresses in their usual notation, byte buffers with non-printable bytes
// as '.'. Multi-valued uses print their values separated by spaces, or as
// "(a,b)" for list fields. It returns dst unchanged and false when the
// value is unavailable (the caller prints <NA>). Apart from growing dst it
// does not allocate once the extractor's internal buffer has grown.
func (x *Extractor) AppendText(dst []byte, ev *driver.Event) ([]byte, bool) {
	if x.Multi != nil {
		x.vals = x.Multi(ev, x.vals[:0])
		if len(x.vals) == 0 {
			return dst, false
		}
		if x.listStyle {
			dst = append(dst, '(')
		}
		for i := range x.vals {
			if i > 0 {
				if x.listStyle {
					dst = append(dst, ',')
				} else {
					dst = append(dst, ' ')
				}
			}
			dst = x.appendValueText(dst, &x.vals[i])
		}
		if x.listStyle {
			dst = append(dst, ')')
		}
		return dst, true
	}
	switch x.Type {
	case TypeString, TypeFSPath:
		if x.Str == nil {
			return dst, false
		}
		s, ok := x.Str(ev)
		if !ok {
			return dst, false
		}
		return append(dst, s...), true
	case TypeBytes:
		if x.Bytes == nil {
			return dst, false
		}
		b, ok := x.Bytes(ev)
		if !ok {
			return dst, false
		}
		return appendPrintable(dst, b), true
	case TypeIPAddr, TypeIPNet:
		if x.Addr == nil {
			return dst, false
		}
		a, ok := x.Addr(ev)
		if !ok {
			return dst, false
		}
		return appendAddr(dst, a), true
	}
	if x.Num == nil {
		return dst, false
	}
	n, ok := x.Num(ev)
	if !ok {
		return dst, false
	}
	return x.appendValueText(dst, &Value{Num: n}), true
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return dst
	}
	return a.Unmap().AppendTo(dst)
}

// appendValueText renders one Value of the extractor's type.
func (x *Extractor) appendValueText(dst []byte, v *Value) []byte {
	switch x.Type {
	case TypeString, TypeFSPath:
		return append(dst, v.Str...)
	case TypeBytes:
		return appendPrintable(dst, v.Bytes)
	case TypeIPAddr, TypeIPNet:
		return appendAddr(dst, v.Addr)
	case TypeBool:
		if v.Num != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case TypeUint, TypePort:
		if x.Hex {
			return strconv.AppendUint(dst, uint64(v.Num), 16)
		}
		return strconv.AppendUint(dst, uint64(v.Num), 10)
	case TypeDouble:
		return strconv.AppendFloat(dst, float64frombits(v.Num), 'f', -1, 64)
	}
	if x.Hex {
		return appendUpperHex(dst, uint64(uint32(v.Num)))
	}
	return strconv.AppendInt(dst, v.Num, 10)
}

func appendUpperHex(dst []byte, v uint64) []byte {
	start := len(dst)
	dst = strconv.AppendUint(dst, v, 16)
	for i := start; i < len(dst); i++ {
		if c := dst[i]; c >= 'a' && c <= 'f' {
			dst[i] = c - 'a' + 'A'
		}
	}
	return dst
}

// AppendJSON appends the value of the field use for ev as a JSON value, as
// Falco writes it in output_fields: numbers, ports and times as JSON
// numbers, booleans as true/false, everything else (addresses, byte
// buffers, text) as an escaped JSON string; Multi values as a JSON array.
// It returns dst unchanged and false when the value is unavailable (the
// caller writes null).
func (x *Extractor) AppendJSON(dst []byte, ev *driver.Event) ([]byte, bool) {
	if x.Multi != nil {
		x.vals = x.Multi(ev, x.vals[:0])
		if len(x.vals) == 0 {
			return dst, false
		}
		dst = append(dst, '[')
		for i := range x.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = x.appendValueJSON(dst, &x.vals[i])
		}
		return append(dst, ']'), true
	}
	var v Value
	var ok bool
	switch x.Type {
	case TypeString, TypeFSPath:
		if x.Str != nil {
			v.Str, ok = x.Str(ev)
		}
	case TypeBytes:
		if x.Bytes != nil {
			v.Bytes, ok = x.Bytes(ev)
		}
	case TypeIPAddr, TypeIPNet:
		if x.Addr != nil {
			v.Addr, ok = x.Addr(ev)
		}
	default:
		if x.Num != nil {
			v.Num, ok = x.Num(ev)
		}
	}
	if !ok {
		return dst, false
	}
	return x.appendValueJSON(dst, &v), true
}

func (x *Extractor) appendValueJSON(dst []byte, v *Value) []byte {
	switch x.Type {
	case TypeString, TypeFSPath:
		return appendJSONString(dst, v.Str)
	case TypeBytes:
		dst = append(dst, '"')
		for _, c := range v.Bytes {
			if c >= 0x20 && c < 0x7f {
				if c == '"' || c == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, c)
			} else {
				dst = append(dst, '.')
			}
		}
		return append(dst, '"')
	case TypeIPAddr, TypeIPNet:
		dst = append(dst, '"')
		dst = appendAddr(dst, v.Addr)
		return append(dst, '"')
	case TypeBool:
		if v.Num != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	}
	if x.Hex {
		dst = append(dst, '"')
		dst = x.appendValueText(dst, v)
		return append(dst, '"')
	}
	return x.appendValueText(dst, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping quotes,
// backslashes and control characters, and replacing invalid UTF-8 with
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func float64frombits(n int64) float64 { return math.Float64frombits(uint64(n)) }
