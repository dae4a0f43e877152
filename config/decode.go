package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Pos is a position in a configuration file. Line and Col count from 1; a
// zero Line means the position is the whole of File (an -o override, say),
// and an empty File means no position is known.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", "file" or "".
func (p Pos) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Warning is a problem that does not stop Vigil: an unknown key, a Falco
// key that Vigil ignores, a deprecated spelling.
type Warning struct {
	// Pos is where the key is.
	Pos Pos
	// Key is the key path, such as "http_output.url" or
	// "append_output[0].match.rule".
	Key string
	// Msg says what is wrong.
	Msg string
}

// String returns "file:line:col: key: message".
func (w Warning) String() string { return join(w.Pos, w.Key, w.Msg) }

// Error is a configuration error. The errors that Parse, Load, Apply and
// Validate return are one *Error or several joined with errors.Join; use
// errors.As to get at them.
type Error struct {
	// Pos is where the value (or the key) is.
	Pos Pos
	// Key is the key path, such as "http_output.enabled".
	Key string
	// Msg says what is wrong.
	Msg string
}

// Error returns "file:line:col: key: message".
func (e *Error) Error() string { return join(e.Pos, e.Key, e.Msg) }

func join(p Pos, key, msg string) string {
	var b strings.Builder
	if s := p.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}

// maxNodes bounds the nodes one decode visits, so that YAML aliases cannot
// expand a small file into an enormous tree ("billion laughs").
const maxNodes = 1 << 20

// decoder decodes a yaml.Node tree onto a Config, collecting positions,
// warnings and errors.
type decoder struct {
	// files names the file of nodes that came from another file than their
	// parent (config_files includes, -o overrides); descendants inherit it.
	files map[*yaml.Node]string
	// pos holds the position of every key path decoded, for the checks.
	pos   map[string]Pos
	warns []Warning
	errs  []error
	// failed holds the key paths that failed to decode; checks say nothing
	// about them or the structs that hold them, which kept defaults.
	failed map[string]bool
	// checking is set while the checks run.
	checking bool
	nodes    int
	// strict makes unknown keys errors instead of warnings (overrides).
	strict bool
}

func newDecoder() *decoder {
	return &decoder{files: map[*yaml.Node]string{}, pos: map[string]Pos{}, failed: map[string]bool{}}
}

func (d *decoder) posOf(file string, n *yaml.Node) Pos {
	if n == nil || n.Line == 0 {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(p Pos, key, format string, args ...any) {
	if !d.checking {
		d.failed[key] = true
	}
	d.errs = append(d.errs, &Error{Pos: p, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(p Pos, key, format string, args ...any) {
	d.warns = append(d.warns, Warning{Pos: p, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// fieldInfo describes one struct field with a yaml tag.
type fieldInfo struct {
	name   string
	index  int
	oneof  []string
	min    *float64
	max    *float64
	unit   string
	secret string
}

func fieldsOf(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fi := fieldInfo{name: name, index: i, unit: f.Tag.Get("unit"), secret: f.Tag.Get("secret")}
		if s := f.Tag.Get("oneof"); s != "" {
			fi.oneof = strings.Split(s, ",")
		}
		if s := f.Tag.Get("min"); s != "" {
			v, _ := strconv.ParseFloat(s, 64)
			fi.min = &v
		}
		if s := f.Tag.Get("max"); s != "" {
			v, _ := strconv.ParseFloat(s, 64)
			fi.max = &v
		}
		out = append(out, fi)
	}
	return out
}

func fieldByName(fs []fieldInfo, name string) (fieldInfo, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return fieldInfo{}, false
}

var durationType = reflect.TypeFor[time.Duration]()

// reflectValue returns the addressable value p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// isNull reports whether n is YAML's null: a plain ~, null or nothing.
func isNull(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return n.Tag == "" || n.Tag == "!!null" || n.Tag == "!!str"
	}
	return false
}

// resolve follows aliases and counts nodes.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			return nil, false
		}
		n = n.Alias
	}
	d.nodes++
	return n, n != nil && d.nodes <= maxNodes
}

func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeValue decodes n onto v (addressable). Structs are merged onto
// their current value; lists and scalars are replaced. A null leaves v as
// it is, except that it empties a list.
func (d *decoder) decodeValue(file, path string, n *yaml.Node, v reflect.Value, fi fieldInfo) {
	if f, ok := d.files[n]; ok {
		file = f
	}
	n, ok := d.resolve(n)
	if !ok {
		if d.nodes == maxNodes+1 {
			d.errorf(Pos{File: file}, path, "too many nodes (aliases nested too deep?)")
		}
		return
	}
	p := d.posOf(file, n)
	d.pos[path] = p

	switch x := v.Addr().Interface().(type) {
	case *RuleSelector:
		d.decodeRuleSelector(file, path, n, x)
		return
	case *ConfigFile:
		if n.Kind == yaml.ScalarNode && !isNull(n) {
			*x = ConfigFile{Path: n.Value, Strategy: "append"}
			return
		}
		x.Strategy = "append"
	}

	if v.Type() == durationType {
		d.decodeDuration(p, path, n, v, fi)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(p, path, "expected a map, got %s", kindName(n))
			return
		}
		d.decodeStruct(file, path, n, v)
	case reflect.Slice:
		d.decodeSlice(file, path, n, v)
	case reflect.Bool:
		if isNull(n) {
			return
		}
		b, ok := parseBool(n)
		if !ok {
			d.errorf(p, path, "expected a boolean, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if isNull(n) {
			return
		}
		i, ok := parseInt(n)
		if !ok || v.OverflowInt(i) {
			d.errorf(p, path, "expected an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if isNull(n) {
			return
		}
		f, ok := parseFloat(n)
		if !ok {
			d.errorf(p, path, "expected a number, got %s", kindName(n))
			return
		}
		v.SetFloat(f)
	case reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.errorf(p, path, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	default:
		d.errorf(p, path, "cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(file, path string, n *yaml.Node, v reflect.Value) {
	fs := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kfile := file
		if f, ok := d.files[k]; ok {
			kfile = f
		}
		if f, ok := d.files[val]; ok {
			kfile = f
		}
		kp := d.posOf(kfile, k)
		if k.Kind != yaml.ScalarNode {
			d.errorf(kp, path, "expected a string key, got %s", kindName(k))
			continue
		}
		key := childPath(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errorf(kp, key, "key given twice (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		f, ok := fieldByName(fs, k.Value)
		if !ok {
			d.unknownKey(kp, key, fs)
			continue
		}
		d.decodeValue(file, key, val, v.Field(f.index), f)
		if r, ok := d.resolve(val); ok && (r.Kind == yaml.MappingNode || r.Kind == yaml.SequenceNode) {
			// Problems with a section as a whole point at its key.
			d.pos[key] = kp
		}
	}
}

// unknownKey reports a key that Config has no field for.
func (d *decoder) unknownKey(p Pos, key string, fs []fieldInfo) {
	if why := unsupported(schemaPath(key)); why != "" {
		d.warnf(p, key, "%s; ignored", why)
		return
	}
	msg := "unknown key"
	if s := suggest(key[strings.LastIndexByte(key, '.')+1:], fs); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	if d.strict {
		d.errorf(p, key, "%s", msg)
		return
	}
	d.warnf(p, key, "%s; ignored", msg)
}

// suggest returns the field name closest to name, if it is close.
func suggest(name string, fs []fieldInfo) string {
	best, bestDist := "", 3
	if len(name) > 64 {
		return ""
	}
	for _, f := range fs {
		dist := editDistance(name, f.name)
		if dist < bestDist && (dist == 1 || dist <= len(name)/3) {
			best, bestDist = f.name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// schemaPath drops list indexes from a key path: a[0].b is a.b.
func schemaPath(key string) string {
	var b strings.Builder
	depth := 0
	for _, r := range key {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsupported says why a Falco key that Vigil does not implement is
// ignored, or "" for keys Falco does not have either.
func unsupported(key string) string {
	switch key {
	case "load_plugins", "plugins", "plugins_hostinfo":
		return "Falco plugins are not supported by Vigil"
	case "libs_logger":
		return "Vigil has no libs logger (log_level covers all of its logs)"
	case "capture":
		return "captures are not supported by Vigil"
	case "buffer_format_base64":
		return "Vigil does not render data buffers"
	case "static_fields":
		return "static fields are not supported by Vigil"
	case "falco_libs":
		return "Falco libs tuning does not apply to Vigil"
	case "engine.kmod", "engine.ebpf", "engine.gvisor", "engine.nodriver":
		return "Vigil has no " + strings.TrimPrefix(key, "engine.") + " engine settings"
	case "container_engines.lxc", "container_engines.libvirt_lxc", "container_engines.bpm",
		"container_engines.cri.disable_async":
		return "not supported by Vigil"
	case "syscall_buf_size_preset", "modern_bpf", "syscall_drop_failed":
		return "removed from Falco; use engine.modern_ebpf"
	case "metadata_download":
		return "Vigil does not download Kubernetes metadata"
	}
	return ""
}

func (d *decoder) decodeSlice(file, path string, n *yaml.Node, v reflect.Value) {
	if isNull(n) {
		v.SetZero()
		return
	}
	var items []*yaml.Node
	switch {
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	case n.Kind == yaml.ScalarNode && (v.Type().Elem().Kind() == reflect.String ||
		v.Type() == reflect.TypeFor[[]ConfigFile]() || v.Type() == reflect.TypeFor[[]ExtraField]()):
		// A single string stands for a one-item list, as in Falco.
		items = []*yaml.Node{n}
	default:
		d.errorf(d.posOf(file, n), path, "expected a list, got %s", kindName(n))
		return
	}
	if v.Type() == reflect.TypeFor[[]ExtraField]() {
		d.decodeExtraFields(file, path, items, v)
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(items))
	for i, item := range items {
		e := reflect.New(v.Type().Elem()).Elem()
		d.decodeValue(file, fmt.Sprintf("%s[%d]", path, i), item, e, fieldInfo{})
		out = reflect.Append(out, e)
	}
	if out.Len() == 0 {
		out = reflect.Zero(v.Type())
	}
	v.Set(out)
}

// decodeExtraFields decodes append_output[].extra_fields: a list of maps
// {key: format} and field names.
func (d *decoder) decodeExtraFields(file, path string, items []*yaml.Node, v reflect.Value) {
	var out []ExtraField
	for i, item := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		f := file
		if ff, ok := d.files[item]; ok {
			f = ff
		}
		item, ok := d.resolve(item)
		if !ok {
			return
		}
		p := d.posOf(f, item)
		d.pos[ip] = p
		switch item.Kind {
		case yaml.ScalarNode:
			if isNull(item) || item.Value == "" {
				d.errorf(p, ip, "expected a field name or a map of names to output formats, got %s", kindName(item))
				continue
			}
			out = append(out, ExtraField{Key: item.Value})
		case yaml.MappingNode:
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, val := item.Content[j], item.Content[j+1]
				if val, ok = d.resolve(val); !ok {
					return
				}
				kp := childPath(ip, k.Value)
				if k.Kind != yaml.ScalarNode || k.Value == "" {
					d.errorf(d.posOf(f, k), ip, "expected a field name, got %s", kindName(k))
					continue
				}
				if val.Kind != yaml.ScalarNode || isNull(val) {
					d.errorf(d.posOf(f, val), kp, "expected an output format string, got %s", kindName(val))
					continue
				}
				d.pos[kp] = d.posOf(f, val)
				out = append(out, ExtraField{Key: k.Value, Format: val.Value})
			}
		default:
			d.errorf(p, ip, "expected a field name or a map of names to output formats, got %s", kindName(item))
		}
	}
	v.Set(reflect.ValueOf(out))
}

// decodeRuleSelector decodes "enable: {rule: X}" or "disable: {tag: Y}".
func (d *decoder) decodeRuleSelector(file, path string, n *yaml.Node, x *RuleSelector) {
	p := d.posOf(file, n)
	const want = "expected a map with enable or disable"
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		d.errorf(p, path, "%s, got %s", want, kindName(n))
		return
	}
	k, val := n.Content[0], n.Content[1]
	switch k.Value {
	case "enable":
		x.Enable = true
	case "disable":
		x.Enable = false
	default:
		d.errorf(d.posOf(file, k), childPath(path, k.Value), "%s, got %q", want, k.Value)
		return
	}
	sp := childPath(path, k.Value)
	val, ok := d.resolve(val)
	if !ok {
		return
	}
	d.pos[sp] = d.posOf(file, val)
	var sel struct {
		Rule string `yaml:"rule"`
		Tag  string `yaml:"tag"`
	}
	if val.Kind != yaml.MappingNode {
		d.errorf(d.posOf(file, val), sp, "expected a map with rule or tag, got %s", kindName(val))
		return
	}
	d.decodeStruct(file, sp, val, reflect.ValueOf(&sel).Elem())
	x.Rule, x.Tag = sel.Rule, sel.Tag
}

func (d *decoder) decodeDuration(p Pos, path string, n *yaml.Node, v reflect.Value, fi fieldInfo) {
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode {
		if i, ok := parseInt(n); ok && fi.unit == "ms" {
			if i >= 0 && i <= math.MaxInt64/int64(time.Millisecond) {
				v.SetInt(i * int64(time.Millisecond))
				return
			}
		} else if dur, err := parseDuration(n.Value); err == nil {
			v.SetInt(int64(dur))
			return
		}
	}
	if fi.unit == "ms" {
		d.errorf(p, path, "expected milliseconds or a duration such as 2s, got %s", kindName(n))
		return
	}
	d.errorf(p, path, "expected a duration such as 1h, 30s or 1h30m, got %s", kindName(n))
}

// parseBool accepts the spellings yaml-cpp (and so Falco) accepts.
func parseBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch n.Value {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON":
		return true, true
	case "false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

func parseInt(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	s := strings.TrimPrefix(n.Value, "+")
	base := 10
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	switch {
	case strings.HasPrefix(body, "0x"), strings.HasPrefix(body, "0X"):
		base, body = 16, body[2:]
	case strings.HasPrefix(body, "0o"):
		base, body = 8, body[2:]
	}
	if body == "" || strings.HasPrefix(body, "+") || strings.HasPrefix(body, "-") {
		return 0, false
	}
	u, err := strconv.ParseUint(body, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func parseFloat(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	s := n.Value
	if strings.ContainsAny(s, "_xXpP") || strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") ||
		strings.EqualFold(strings.TrimLeft(s, "+-"), "infinity") || strings.EqualFold(s, "nan") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// parseDuration parses Prometheus durations (1h, 30m, 1h30m, 100ms, 1d,
// 1w, 1y) and, failing that, Go's (1.5h).
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	units := []struct {
		name string
		d    time.Duration
	}{
		{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
		{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour},
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 12 {
			return time.ParseDuration(s)
		}
		num, _ := strconv.ParseInt(rest[:i], 10, 64)
		rest = rest[i:]
		found := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.name) {
				if num > int64(math.MaxInt64/u.d) || total > math.MaxInt64-time.Duration(num)*u.d {
					return 0, fmt.Errorf("duration %q out of range", s)
				}
				total += time.Duration(num) * u.d
				rest = rest[len(u.name):]
				found = true
				break
			}
		}
		if !found {
			return time.ParseDuration(s)
		}
	}
	return total, nil
}

// formatDuration writes d in the Prometheus form parseDuration reads.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d < 0 || d%time.Millisecond != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return b.String()
}
