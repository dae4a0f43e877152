package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Redacted replaces secrets in Marshal's output.
const Redacted = "<redacted>"

// MarshalOptions tune Marshal. A nil *MarshalOptions means the defaults.
type MarshalOptions struct {
	// ShowSecrets prints passwords, API keys, webhook URLs and the
	// credentials in URLs instead of Redacted.
	ShowSecrets bool
}

// Marshal returns c as YAML that Parse reads back to an equal Config
// (unless secrets are redacted). It is what `vigil config print -c FILE`
// shows: the effective configuration, without comments.
func Marshal(c *Config, opts *MarshalOptions) ([]byte, error) {
	if c == nil {
		return nil, &Error{Msg: "nil configuration"}
	}
	eo := encOpts{redact: opts == nil || !opts.ShowSecrets, escape: true}
	n := encodeValue(reflect.ValueOf(c).Elem(), fieldInfo{}, eo)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("marshal configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal configuration: %w", err)
	}
	return b.Bytes(), nil
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func str(s string) *yaml.Node {
	n := scalar("!!str", s)
	if s == "" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func mapping(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

// encOpts tune encodeValue: redact hides secrets, escape writes ${ as $${
// so that parsing the text does not expand it.
type encOpts struct{ redact, escape bool }

// encode returns c as a tree that the decoder reads back to c.
func encode(c *Config) *yaml.Node {
	return encodeValue(reflect.ValueOf(c).Elem(), fieldInfo{}, encOpts{})
}

func encodeValue(v reflect.Value, fi fieldInfo, eo encOpts) *yaml.Node {
	switch x := v.Interface().(type) {
	case RuleSelector:
		verb := "disable"
		if x.Enable {
			verb = "enable"
		}
		var sel *yaml.Node
		if x.Tag != "" {
			sel = mapping(str("tag"), str(x.Tag))
		} else {
			sel = mapping(str("rule"), str(x.Rule))
		}
		return mapping(str(verb), sel)
	case []ExtraField:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, f := range x {
			if f.Format == "" {
				seq.Content = append(seq.Content, str(f.Key))
			} else {
				seq.Content = append(seq.Content, mapping(str(f.Key), str(f.Format)))
			}
		}
		if len(x) == 0 {
			seq.Style = yaml.FlowStyle
		}
		return seq
	case time.Duration:
		if fi.unit == "ms" && x%time.Millisecond == 0 {
			return scalar("!!int", strconv.FormatInt(int64(x/time.Millisecond), 10))
		}
		return str(formatDuration(x))
	}
	switch v.Kind() {
	case reflect.Struct:
		m := mapping()
		for _, f := range fieldsOf(v.Type()) {
			m.Content = append(m.Content, str(f.name), encodeValue(v.Field(f.index), f, eo))
		}
		return m
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			seq.Content = append(seq.Content, encodeValue(v.Index(i), fi, eo))
		}
		if v.Len() == 0 {
			seq.Style = yaml.FlowStyle
		}
		return seq
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		return scalar("!!float", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.String:
		s := v.String()
		if eo.escape {
			s = strings.ReplaceAll(s, "${", "$${")
		}
		if eo.redact && s != "" {
			switch fi.secret {
			case "all":
				s = Redacted
			case "url":
				s = redactURL(s)
			}
		}
		return str(s)
	}
	return scalar("!!null", "")
}

// redactURL hides the password and the query values of a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
