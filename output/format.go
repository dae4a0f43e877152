package output

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Formatter renders alerts as Falco does. Its fields are Falco's
// configuration keys; [DefaultFormatter] returns Falco's defaults. A
// Formatter is not modified by formatting and may be shared by goroutines.
type Formatter struct {
	// JSON selects the JSON form in Append (json_output).
	JSON bool
	// IncludeOutput adds "output", the text form
	// (json_include_output_property, default true).
	IncludeOutput bool
	// IncludeTags adds "tags" (json_include_tags_property, default true).
	IncludeTags bool
	// IncludeMessage adds "message", the rule output without the time and
	// priority prefix (json_include_message_property, default false).
	IncludeMessage bool
	// IncludeFields adds "output_fields" (json_include_output_fields_property,
	// default true).
	IncludeFields bool
	// ISO8601 writes the text form's time as ISO 8601 in UTC with
	// nanoseconds instead of a local time of day (time_format_iso_8601).
	// In output_fields the time key is then "evt.time.iso8601", as in Falco.
	ISO8601 bool
	// Location is the time zone of the text form's time of day; nil means
	// time.Local.
	Location *time.Location
}

// DefaultFormatter returns a text formatter with Falco's default JSON
// options (output, tags and output_fields included; message not).
func DefaultFormatter() *Formatter {
	return &Formatter{IncludeOutput: true, IncludeTags: true, IncludeFields: true}
}

// Layouts of the alert times: Falco's %evt.time (local time of day) and
// %evt.time.iso8601 and the JSON "time" (UTC, always nine fraction digits).
const (
	layoutTimeOfDay = "15:04:05.000000000"
	layoutISO8601   = "2006-01-02T15:04:05.000000000Z"
)

// Append appends the alert in the form the formatter is configured for
// (JSON or text), without a trailing newline.
func (f *Formatter) Append(dst []byte, a *Alert) []byte {
	if f.JSON {
		return f.AppendJSON(dst, a)
	}
	return f.AppendText(dst, a)
}

// AppendText appends Falco's text form of the alert,
// "<time>: <Priority> <message>", without a trailing newline. The message
// is written as given: escaping field values is the engine's business.
func (f *Formatter) AppendText(dst []byte, a *Alert) []byte {
	dst = f.appendTime(dst, alertTime(a))
	dst = append(dst, ": "...)
	dst = append(dst, a.Priority.String()...)
	dst = append(dst, ' ')
	return append(dst, a.Message...)
}

// alertTime returns the alert's time, or the epoch for the zero time.
func alertTime(a *Alert) time.Time {
	if a.Time.IsZero() {
		return time.Unix(0, 0)
	}
	return a.Time
}

func (f *Formatter) appendTime(dst []byte, t time.Time) []byte {
	if f.ISO8601 {
		return t.UTC().AppendFormat(dst, layoutISO8601)
	}
	loc := f.Location
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).AppendFormat(dst, layoutTimeOfDay)
}

// AppendJSON appends Falco's JSON form of the alert, without a trailing
// newline: one compact object with its keys in Falco's (sorted) order,
// hostname, message, output, output_fields, priority, rule, source, tags,
// time, of which message, output, output_fields and tags depend on the
// options. Strings are escaped as Falco's JSON library escapes them
// (control characters, quotes and backslashes; other characters as UTF-8,
// invalid UTF-8 replaced by U+FFFD). output_fields holds the alert's Fields
// with their keys sorted, plus the event time in nanoseconds since the
// epoch as "evt.time" (or "evt.time.iso8601" with ISO8601). Fields that are
// not a valid JSON object are replaced by an empty object. A zero Time is
// written as the epoch.
func (f *Formatter) AppendJSON(dst []byte, a *Alert) []byte {
	dst = append(dst, `{"hostname":`...)
	dst = appendString(dst, a.Hostname)
	if f.IncludeMessage {
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, a.Message)
	}
	if f.IncludeOutput {
		dst = append(dst, `,"output":`...)
		sc := scratchPool.Get().(*scratch)
		sc.arena = f.AppendText(sc.arena[:0], a)
		dst = appendString(dst, sc.arena)
		scratchPool.Put(sc)
	}
	if f.IncludeFields {
		dst = append(dst, `,"output_fields":`...)
		key := "evt.time"
		if f.ISO8601 {
			key = "evt.time.iso8601"
		}
		dst = appendFields(dst, a.Fields, key, alertTime(a).UnixNano())
	}
	dst = append(dst, `,"priority":`...)
	dst = appendString(dst, a.Priority.String())
	dst = append(dst, `,"rule":`...)
	dst = appendString(dst, a.Rule)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, a.Source)
	if f.IncludeTags {
		dst = append(dst, `,"tags":[`...)
		dst = appendTags(dst, a.Tags)
		dst = append(dst, ']')
	}
	dst = append(dst, `,"time":"`...)
	dst = alertTime(a).UTC().AppendFormat(dst, layoutISO8601)
	return append(dst, `"}`...)
}

// appendTags appends tags as JSON strings, sorted and without duplicates
// (Falco keeps them in a std::set).
func appendTags(dst []byte, tags []string) []byte {
	if !slices.IsSorted(tags) {
		sc := scratchPool.Get().(*scratch)
		defer scratchPool.Put(sc)
		sc.tags = append(sc.tags[:0], tags...)
		slices.Sort(sc.tags)
		tags = sc.tags
	}
	for i, t := range tags {
		if i > 0 && t == tags[i-1] {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, t)
	}
	return dst
}

// appendString appends s as a JSON string escaped the way nlohmann::json
// dumps it with ensure_ascii=false and the replace error handler: the short
// escapes for \b \f \n \r \t " and \, \u00xx (lower-case hex) for other
// control characters, everything else as UTF-8, and U+FFFD for each byte of
// an invalid UTF-8 sequence.
func appendString[T ~string | ~[]byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// scratch is the reusable working memory of one JSON formatting call.
type scratch struct {
	arena   []byte   // decoded keys and re-encoded values
	members []member // a stack of object members, spans into arena
	tags    []string // sorted tags
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// span is a range of scratch.arena.
type span struct{ start, end int }

// member is one key of a parsed JSON object: its decoded key and its
// re-encoded value.
type member struct{ key, val span }

// appendFields appends the JSON object fields re-encoded as Falco would
// print it (keys sorted, the last of duplicate keys kept, strings
// re-escaped, no insignificant whitespace), with timeKey set to ns. Input
// that is not a JSON object counts as an empty object.
func appendFields(dst, fields []byte, timeKey string, ns int64) []byte {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	p := jsonParser{src: fields, sc: sc}
	sc.arena, sc.members = sc.arena[:0], sc.members[:0]
	p.skipSpace()
	if p.peek() == '{' {
		ok := p.object(0)
		p.skipSpace()
		if !ok || p.pos != len(p.src) {
			sc.arena, sc.members = sc.arena[:0], sc.members[:0]
		}
	}
	k := span{start: len(sc.arena)}
	sc.arena = append(sc.arena, timeKey...)
	k.end = len(sc.arena)
	v := span{start: k.end}
	sc.arena = strconv.AppendInt(sc.arena, ns, 10)
	v.end = len(sc.arena)
	sc.members = append(sc.members, member{key: k, val: v})
	return appendMembers(dst, sc.members, sc.arena)
}

// appendMembers appends members as a JSON object sorted by key (byte-wise,
// as std::map sorts std::string); of equal keys the last one wins, as when
// nlohmann::json parses duplicates. It sorts members in place.
func appendMembers(dst []byte, members []member, arena []byte) []byte {
	slices.SortStableFunc(members, func(a, b member) int {
		return bytes.Compare(arena[a.key.start:a.key.end], arena[b.key.start:b.key.end])
	})
	dst = append(dst, '{')
	first := true
	for i, m := range members {
		key := arena[m.key.start:m.key.end]
		if i+1 < len(members) && bytes.Equal(arena[members[i+1].key.start:members[i+1].key.end], key) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, key)
		dst = append(dst, ':')
		dst = append(dst, arena[m.val.start:m.val.end]...)
	}
	return append(dst, '}')
}

// maxDepth bounds the nesting of output field values.
const maxDepth = 32

// jsonParser re-encodes JSON values canonically into its scratch arena. It
// is only used on output_fields, which the engine renders, so it favours
// simplicity over speed.
type jsonParser struct {
	src []byte
	pos int
	sc  *scratch
}

func (p *jsonParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// object parses an object at p.pos (which is '{') and pushes its members
// on p.sc.members.
func (p *jsonParser) object(depth int) bool {
	if depth > maxDepth {
		return false
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		return true
	}
	for {
		p.skipSpace()
		if p.peek() != '"' {
			return false
		}
		k := span{start: len(p.sc.arena)}
		if !p.str() {
			return false
		}
		k.end = len(p.sc.arena)
		p.skipSpace()
		if p.peek() != ':' {
			return false
		}
		p.pos++
		p.skipSpace()
		v := span{start: len(p.sc.arena)}
		if !p.value(depth + 1) {
			return false
		}
		v.end = len(p.sc.arena)
		p.sc.members = append(p.sc.members, member{key: k, val: v})
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// value parses the value at p.pos and appends its canonical form to the
// arena.
func (p *jsonParser) value(depth int) bool {
	if depth > maxDepth {
		return false
	}
	sc := p.sc
	switch c := p.peek(); {
	case c == '{':
		base, start := len(sc.members), len(sc.arena)
		if !p.object(depth) {
			return false
		}
		// The nested object's members sit above base on the stack and
		// their keys and values above start in the arena: render the
		// object past the end, move it to start, and pop the members.
		end := len(sc.arena)
		sc.arena = appendMembers(sc.arena, sc.members[base:], sc.arena)
		sc.arena = append(sc.arena[:start], sc.arena[end:]...)
		sc.members = sc.members[:base]
		return true
	case c == '[':
		p.pos++
		sc.arena = append(sc.arena, '[')
		p.skipSpace()
		if p.peek() == ']' {
			p.pos++
			sc.arena = append(sc.arena, ']')
			return true
		}
		for {
			p.skipSpace()
			if !p.value(depth + 1) {
				return false
			}
			p.skipSpace()
			switch p.peek() {
			case ',':
				p.pos++
				sc.arena = append(sc.arena, ',')
			case ']':
				p.pos++
				sc.arena = append(sc.arena, ']')
				return true
			default:
				return false
			}
		}
	case c == '"':
		// Decode past the end of the arena, then escape it into place.
		start := len(sc.arena)
		if !p.str() {
			return false
		}
		end := len(sc.arena)
		sc.arena = appendString(sc.arena, sc.arena[start:end])
		sc.arena = append(sc.arena[:start], sc.arena[end:]...)
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if !p.number() {
			return false
		}
		sc.arena = append(sc.arena, p.src[start:p.pos]...)
		return true
	default:
		for _, lit := range [...]string{"null", "true", "false"} {
			if len(p.src)-p.pos >= len(lit) && string(p.src[p.pos:p.pos+len(lit)]) == lit {
				p.pos += len(lit)
				sc.arena = append(sc.arena, lit...)
				return true
			}
		}
		return false
	}
}

// number scans a JSON number at p.pos.
func (p *jsonParser) number() bool {
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.peek() == '-' {
		p.pos++
	}
	if p.peek() == '0' {
		p.pos++
	} else if digits() == 0 {
		return false
	}
	if p.peek() == '.' {
		p.pos++
		if digits() == 0 {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// str decodes the JSON string at p.pos (which is '"') onto the arena.
// Unpaired surrogate escapes decode to U+FFFD; invalid UTF-8 is copied (and
// replaced when re-encoded).
func (p *jsonParser) str() bool {
	p.pos++ // '"'
	sc := p.sc
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			sc.arena = append(sc.arena, p.src[start:p.pos]...)
			p.pos++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			sc.arena = append(sc.arena, p.src[start:p.pos]...)
			p.pos++
			if p.pos >= len(p.src) {
				return false
			}
			e := p.src[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				sc.arena = append(sc.arena, e)
			case 'b':
				sc.arena = append(sc.arena, '\b')
			case 'f':
				sc.arena = append(sc.arena, '\f')
			case 'n':
				sc.arena = append(sc.arena, '\n')
			case 'r':
				sc.arena = append(sc.arena, '\r')
			case 't':
				sc.arena = append(sc.arena, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return false
				}
				if r >= 0xD800 && r < 0xDC00 && p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					lo, ok := p.hex4()
					if ok && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					} else {
						p.pos = save
					}
				}
				sc.arena = utf8.AppendRune(sc.arena, r) // surrogates left over become U+FFFD
			default:
				return false
			}
			start = p.pos
		default:
			p.pos++
		}
	}
	return false
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.src)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.src[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}
