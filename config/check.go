package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// Validate checks c as Parse does after decoding: values in range, one of
// their allowed words, required keys of enabled outputs present, URLs well
// formed. It normalises in place what Parse normalises (allowed words to
// lower case, Falco's engine kinds to Vigil's) and returns the warnings
// that produces. The errors carry key paths but no positions.
func Validate(c *Config) ([]Warning, error) {
	if c == nil {
		return nil, &Error{Msg: "nil configuration"}
	}
	d := newDecoder()
	d.check(c)
	return d.warns, d.err()
}

// checker is implemented by structs with checks beyond their fields' tags.
type checker interface {
	check(ctx *checkCtx)
}

// checkCtx reports problems of the struct at path.
type checkCtx struct {
	d    *decoder
	path string
}

// at returns the position recorded for the key path, or the nearest
// enclosing one.
func (d *decoder) at(path string) Pos {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.pos[""]
		}
		path = path[:i]
	}
}

// under reports whether key path p is inside the section at path sect.
func under(p, sect string) bool {
	return strings.HasPrefix(p, sect+".") || strings.HasPrefix(p, sect+"[")
}

func (c *checkCtx) key(k string) string {
	if k == "" {
		return c.path
	}
	return childPath(c.path, k)
}

func (c *checkCtx) errorf(k, format string, args ...any) {
	key := c.key(k)
	for f := range c.d.failed {
		// The key, a section holding it or, below the top level, a
		// sibling failed to decode and kept its default: say nothing more.
		if f == key || under(key, f) || (c.path != "" && under(f, c.path)) {
			return
		}
	}
	p := c.d.at(key)
	if p == (Pos{}) {
		p = c.d.within(c.path)
	}
	c.d.errorf(p, key, format, args...)
}

// within returns the position of the first key path (in sorted order) in
// the section at sect that has one: for a problem in a section that -o
// overrides touched, the override.
func (d *decoder) within(sect string) Pos {
	best, found := "", Pos{}
	for k, p := range d.pos {
		if p == (Pos{}) || (sect != "" && k != sect && !under(k, sect)) {
			continue
		}
		if found == (Pos{}) || k < best {
			best, found = k, p
		}
	}
	return found
}

func (c *checkCtx) warnf(k, format string, args ...any) {
	key := c.key(k)
	c.d.warnf(c.d.at(key), key, format, args...)
}

// check walks c, applying the field tags (oneof, min, max) and the
// checker methods.
func (d *decoder) check(c *Config) {
	d.checking = true
	defer func() { d.checking = false }()
	d.checkValue("", reflect.ValueOf(c).Elem(), fieldInfo{})
}

func (d *decoder) checkValue(path string, v reflect.Value, fi fieldInfo) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == durationType {
			break
		}
		for _, f := range fieldsOf(v.Type()) {
			d.checkValue(childPath(path, f.name), v.Field(f.index), f)
		}
		if ch, ok := v.Addr().Interface().(checker); ok {
			ch.check(&checkCtx{d: d, path: path})
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			d.checkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), fi)
		}
		return
	case reflect.String:
		if fi.oneof == nil {
			return
		}
		s := v.String()
		for _, w := range fi.oneof {
			if strings.EqualFold(s, w) {
				v.SetString(w)
				return
			}
		}
		d.errorf(d.at(path), path, "expected one of %s, got %q", strings.Join(fi.oneof, ", "), s)
		return
	}
	if fi.min == nil && fi.max == nil {
		return
	}
	var x float64
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		x = float64(v.Int())
	case reflect.Float64:
		x = v.Float()
	default:
		return
	}
	switch {
	case fi.min != nil && fi.max != nil && (x < *fi.min || x > *fi.max):
		d.errorf(d.at(path), path, "expected a value from %g to %g, got %g", *fi.min, *fi.max, x)
	case fi.min != nil && x < *fi.min:
		d.errorf(d.at(path), path, "expected a value of at least %g, got %g", *fi.min, x)
	case fi.max != nil && x > *fi.max:
		d.errorf(d.at(path), path, "expected a value of at most %g, got %g", *fi.max, x)
	}
}

func (c *Config) check(ctx *checkCtx) {
	if c.GRPCOutput.Enabled && !c.GRPC.Enabled {
		ctx.warnf("grpc_output.enabled", "the gRPC output needs grpc.enabled: true; no alerts will be streamed")
	}
	if c.OutputTimeout < 0 {
		ctx.errorf("output_timeout", "expected a positive duration, got %s", c.OutputTimeout)
	}
}

func (c *ConfigFile) check(ctx *checkCtx) {
	if c.Path == "" {
		ctx.errorf("path", "missing path")
	}
	if c.Strategy == "" {
		c.Strategy = "append"
	}
}

func (s *RuleSelector) check(ctx *checkCtx) {
	switch {
	case s.Rule == "" && s.Tag == "":
		ctx.errorf("", "expected a rule or a tag")
	case s.Rule != "" && s.Tag != "":
		ctx.errorf("", "expected a rule or a tag, not both")
	}
}

func (e *Engine) check(ctx *checkCtx) {
	switch e.Kind {
	case KindAuto, KindEBPF, KindFanotify, KindProcscan, KindPtrace, KindReplay:
	case "modern_ebpf", "kmod":
		ctx.warnf("kind", "Falco's %s engine is Vigil's ebpf driver; using ebpf", e.Kind)
		e.Kind = KindEBPF
	case "nodriver", "gvisor":
		ctx.errorf("kind", "Falco's %s engine is not supported by Vigil; use one of auto, ebpf, fanotify, procscan, ptrace, replay", e.Kind)
	default:
		ctx.errorf("kind", "expected one of auto, ebpf, fanotify, procscan, ptrace, replay, got %q", e.Kind)
	}
	if e.Kind == KindReplay && e.Replay.CaptureFile == "" {
		ctx.errorf("replay.capture_file", "required when engine.kind is replay")
	}
}

// checkURL checks that raw is an absolute URL with one of schemes and a
// host.
func checkURL(ctx *checkCtx, key, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	if err != nil {
		ctx.errorf(key, "invalid URL %q: %v", redactURL(raw), unwrapURLError(err))
		return
	}
	ok := false
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			ok = true
		}
	}
	switch {
	case !ok:
		ctx.errorf(key, "invalid URL %q: the scheme must be %s", redactURL(raw), strings.Join(schemes, " or "))
	case u.Host == "":
		ctx.errorf(key, "invalid URL %q: no host", redactURL(raw))
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (o *SyslogOutput) check(ctx *checkCtx) {
	if o.Address == "" {
		return
	}
	u, err := url.Parse(o.Address)
	if err != nil {
		ctx.errorf("address", "invalid address %q: %v", o.Address, unwrapURLError(err))
		return
	}
	switch u.Scheme {
	case "unix", "unixgram":
		if u.Path == "" {
			ctx.errorf("address", "invalid address %q: no socket path", o.Address)
		}
	case "udp", "tcp":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			ctx.errorf("address", "invalid address %q: expected %s://host:port", o.Address, u.Scheme)
		}
	default:
		ctx.errorf("address", "invalid address %q: expected unix:///path, unixgram:///path, udp://host:port or tcp://host:port", o.Address)
	}
}

func (o *FileOutput) check(ctx *checkCtx) {
	if o.Enabled && o.Filename == "" {
		ctx.errorf("filename", "required when file_output is enabled")
	}
}

func (o *HTTPOutput) check(ctx *checkCtx) {
	switch {
	case o.URL != "":
		checkURL(ctx, "url", o.URL, "http", "https")
	case o.Enabled:
		ctx.errorf("url", "required when http_output is enabled")
	}
	if o.Enabled && o.MTLS && (o.ClientCert == "" || o.ClientKey == "") {
		ctx.errorf("mtls", "needs client_cert and client_key")
	}
}

func (o *ProgramOutput) check(ctx *checkCtx) {
	if o.Enabled && strings.TrimSpace(o.Program) == "" {
		ctx.errorf("program", "required when program_output is enabled")
	}
}

func (g *GRPC) check(ctx *checkCtx) {
	if !g.Enabled {
		return
	}
	if g.BindAddress == "" {
		ctx.errorf("bind_address", "required when grpc is enabled")
		return
	}
	if strings.HasPrefix(g.BindAddress, "unix://") {
		if strings.TrimPrefix(g.BindAddress, "unix://") == "" {
			ctx.errorf("bind_address", "invalid address %q: no socket path", g.BindAddress)
		}
		return
	}
	if _, _, err := net.SplitHostPort(g.BindAddress); err != nil {
		ctx.errorf("bind_address", "invalid address %q: expected unix:///path or host:port", g.BindAddress)
	}
	if (g.PrivateKey == "") != (g.CertChain == "") {
		ctx.errorf("", "TLS needs both private_key and cert_chain")
	}
	if g.RootCerts != "" && g.PrivateKey == "" {
		ctx.errorf("root_certs", "mutual TLS needs private_key and cert_chain too")
	}
}

func (o *SlackOutput) check(ctx *checkCtx) {
	switch {
	case o.WebhookURL != "":
		checkURL(ctx, "webhook_url", o.WebhookURL, "https", "http")
	case o.Enabled:
		ctx.errorf("webhook_url", "required when slack_output is enabled")
	}
}

func (o *ElasticsearchOutput) check(ctx *checkCtx) {
	switch {
	case o.URL != "":
		checkURL(ctx, "url", o.URL, "http", "https")
	case o.Enabled:
		ctx.errorf("url", "required when elasticsearch_output is enabled")
	}
	if o.Enabled && o.Index == "" {
		ctx.errorf("index", "required when elasticsearch_output is enabled")
	}
	if o.Password != "" && o.Username == "" {
		ctx.errorf("password", "needs a username")
	}
	if o.APIKey != "" && o.Username != "" {
		ctx.errorf("api_key", "set either username and password or api_key, not both")
	}
	if o.FlushInterval < 0 {
		ctx.errorf("flush_interval", "expected a positive duration, got %s", o.FlushInterval)
	}
}

func (o *NATSOutput) check(ctx *checkCtx) {
	switch {
	case o.URL != "":
		for i, u := range strings.Split(o.URL, ",") {
			key := "url"
			if i > 0 {
				key = fmt.Sprintf("url (server %d)", i+1)
			}
			checkURL(ctx, key, strings.TrimSpace(u), "nats", "tls", "ws", "wss")
		}
	case o.Enabled:
		ctx.errorf("url", "required when nats_output is enabled")
	}
	if strings.ContainsAny(o.SubjectPrefix, " \t\r\n*>") || strings.HasPrefix(o.SubjectPrefix, ".") || strings.HasSuffix(o.SubjectPrefix, ".") {
		ctx.errorf("subject_prefix", "invalid NATS subject prefix %q", o.SubjectPrefix)
	}
	if o.Enabled && o.SubjectPrefix == "" {
		ctx.errorf("subject_prefix", "required when nats_output is enabled")
	}
}

func (w *Webserver) check(ctx *checkCtx) {
	if !w.Enabled {
		return
	}
	if w.SSLEnabled && w.SSLCertificate == "" {
		ctx.errorf("ssl_certificate", "required when ssl_enabled is true")
	}
	if !strings.HasPrefix(w.K8sHealthzEndpoint, "/") {
		ctx.errorf("k8s_healthz_endpoint", "expected a path starting with /, got %q", w.K8sHealthzEndpoint)
	}
	if w.ListenAddress != "" && net.ParseIP(w.ListenAddress) == nil && strings.ContainsAny(w.ListenAddress, ":/ ") {
		ctx.errorf("listen_address", "expected an IP address or a host name, got %q", w.ListenAddress)
	}
}

func (m *Metrics) check(ctx *checkCtx) {
	if m.Enabled && m.Interval < 100*time.Millisecond {
		ctx.errorf("interval", "expected at least 100ms, got %s", formatDuration(m.Interval))
	}
}

func (e *ContainerEngines) check(ctx *checkCtx) {
	if e.MetadataTimeout <= 0 {
		ctx.errorf("metadata_timeout", "expected a positive duration, got %s", formatDuration(e.MetadataTimeout))
	}
	switch {
	case e.MetadataWait < 0:
		ctx.errorf("metadata_wait", "expected 0 or a positive duration, got %s", formatDuration(e.MetadataWait))
	case e.MetadataTimeout > 0 && e.MetadataWait > e.MetadataTimeout:
		ctx.errorf("metadata_wait", "expected at most metadata_timeout (%s), got %s",
			formatDuration(e.MetadataTimeout), formatDuration(e.MetadataWait))
	}
}
