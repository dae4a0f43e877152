package engine

import (
	"net/netip"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// testRegistry returns a registry of small test fields, each reading one
// member of driver.Event, so that operator semantics can be tested apart from
// the real catalogue:
//
//	evt.type string   ev.Type      (always)
//	t.str    string   ev.Path      (HasPath)
//	t.path   fspath   ev.NewPath   (HasNewPath)
//	t.num    int64    ev.Res       (HasRes)
//	t.uint   uint64   ev.Ino       (HasDev)
//	t.port   port     ev.Sock.RemotePort (HasAddr)
//	t.bool   bool     ev.FDInfo.Connected (HasFDInfo)
//	t.bytes  bytebuf  ev.Data      (HasData)
//	t.ip     ipaddr   ev.Sock.RemoteAddr (HasAddr)
//	t.net    ipnet    ev.Sock.RemoteAddr (HasAddr)
//	t.list   list     ev.Args      (HasArgs)
//	t.any    any      ev.Args      (HasArgs), [N] selects one element
//	t.norhs  string   ev.Name, flagged NoRHS
func testRegistry(t testing.TB) *fields.Registry {
	t.Helper()
	r := fields.NewRegistry()
	str := func(name string, typ fields.Type, flags fields.Flags, get func(*driver.Event) (string, bool)) {
		add(t, r, &fields.Field{Name: name, Class: "t", Type: typ, Flags: flags, Desc: "test field",
			Bind: func(string, bool) (fields.Extractor, error) { return fields.Extractor{Type: typ, Str: get}, nil }})
	}
	num := func(name string, typ fields.Type, get func(*driver.Event) (int64, bool)) {
		add(t, r, &fields.Field{Name: name, Class: "t", Type: typ, Desc: "test field",
			Bind: func(string, bool) (fields.Extractor, error) { return fields.Extractor{Type: typ, Num: get}, nil }})
	}
	str("evt.type", fields.TypeString, 0, func(ev *driver.Event) (string, bool) { return ev.Type.String(), true })
	str("t.str", fields.TypeString, 0, func(ev *driver.Event) (string, bool) { return ev.Path, ev.Has.Has(driver.HasPath) })
	str("t.path", fields.TypeFSPath, 0, func(ev *driver.Event) (string, bool) { return ev.NewPath, ev.Has.Has(driver.HasNewPath) })
	str("t.norhs", fields.TypeString, fields.NoRHS, func(ev *driver.Event) (string, bool) { return ev.Name, ev.Has.Has(driver.HasName) })
	num("t.num", fields.TypeInt, func(ev *driver.Event) (int64, bool) { return ev.Res, ev.Has.Has(driver.HasRes) })
	num("t.uint", fields.TypeUint, func(ev *driver.Event) (int64, bool) { return int64(ev.Ino), ev.Has.Has(driver.HasDev) })
	num("t.port", fields.TypePort, func(ev *driver.Event) (int64, bool) {
		return int64(ev.Sock.RemotePort), ev.Has.Has(driver.HasAddr)
	})
	num("t.bool", fields.TypeBool, func(ev *driver.Event) (int64, bool) {
		if ev.FDInfo.Connected {
			return 1, ev.Has.Has(driver.HasFDInfo)
		}
		return 0, ev.Has.Has(driver.HasFDInfo)
	})
	add(t, r, &fields.Field{Name: "t.bytes", Class: "t", Type: fields.TypeBytes, Desc: "test field",
		Bind: func(string, bool) (fields.Extractor, error) {
			return fields.Extractor{Type: fields.TypeBytes, Bytes: func(ev *driver.Event) ([]byte, bool) {
				return ev.Data, ev.Has.Has(driver.HasData)
			}}, nil
		}})
	for _, n := range []struct {
		name string
		typ  fields.Type
	}{{"t.ip", fields.TypeIPAddr}, {"t.net", fields.TypeIPNet}} {
		typ := n.typ
		add(t, r, &fields.Field{Name: n.name, Class: "t", Type: typ, Desc: "test field",
			Bind: func(string, bool) (fields.Extractor, error) {
				return fields.Extractor{Type: typ, Addr: func(ev *driver.Event) (netip.Addr, bool) {
					return ev.Sock.RemoteAddr, ev.Has.Has(driver.HasAddr)
				}}, nil
			}})
	}
	multi := func(ev *driver.Event, dst []fields.Value) []fields.Value {
		if !ev.Has.Has(driver.HasArgs) {
			return dst
		}
		for _, a := range ev.Args {
			dst = append(dst, fields.Value{Str: a})
		}
		return dst
	}
	add(t, r, &fields.Field{Name: "t.list", Class: "t", Type: fields.TypeString, Flags: fields.List, Desc: "test field",
		Bind: func(string, bool) (fields.Extractor, error) {
			return fields.Extractor{Type: fields.TypeString, Multi: multi}, nil
		}})
	add(t, r, &fields.Field{Name: "t.any", Class: "t", Type: fields.TypeString, Flags: fields.Any | fields.ArgAllowed | fields.ArgIndex, Desc: "test field",
		Bind: func(arg string, hasArg bool) (fields.Extractor, error) {
			if !hasArg {
				return fields.Extractor{Type: fields.TypeString, Multi: multi}, nil
			}
			i := int(arg[0] - '0')
			return fields.Extractor{Type: fields.TypeString, Str: func(ev *driver.Event) (string, bool) {
				if !ev.Has.Has(driver.HasArgs) || i >= len(ev.Args) {
					return "", false
				}
				return ev.Args[i], true
			}}, nil
		}})
	return r
}

func add(t testing.TB, r *fields.Registry, f *fields.Field) {
	t.Helper()
	if err := r.Add(f); err != nil {
		t.Fatal(err)
	}
}

// mustCompile parses and compiles cond or fails the test.
func mustCompile(t testing.TB, reg *fields.Registry, cond string) *Filter {
	t.Helper()
	e, err := parse.Parse(cond)
	if err != nil {
		t.Fatalf("parse %q: %v", cond, err)
	}
	f, _, err := Compile(e, reg)
	if err != nil {
		t.Fatalf("compile %q: %v", cond, err)
	}
	return f
}
