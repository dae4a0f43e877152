package engine

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/parse"
)

// testEvent is the event the operator table runs against.
func testEvent() *driver.Event {
	return &driver.Event{
		Type: driver.MustEventType("openat"),
		Has: driver.HasPath | driver.HasNewPath | driver.HasRes | driver.HasDev | driver.HasAddr |
			driver.HasFDInfo | driver.HasData | driver.HasArgs,
		Path:    "/etc/Shadow.bak",
		NewPath: "/tmp/hello/world",
		Res:     -2,
		Ino:     1 << 63,
		Sock:    driver.SockAddr{RemoteAddr: netip.MustParseAddr("10.1.2.3"), RemotePort: 443},
		FDInfo:  driver.FDInfo{Connected: true},
		Data:    []byte("GET /\x00\x01 HTTP"),
		Args:    []string{"bash", "sshd", "init"},
	}
}

func TestOperators(t *testing.T) {
	reg := testRegistry(t)
	ev := testEvent()
	cases := []struct {
		cond string
		want bool
	}{
		// equality and ordering on strings (strcmp)
		{"t.str = /etc/Shadow.bak", true},
		{"t.str == /etc/Shadow.bak", true},
		{"t.str = /etc/shadow.bak", false},
		{"t.str != /etc/shadow.bak", true},
		{"t.str < 1", true}, // strcmp: "/" sorts before "1"
		{"t.str <= 1", true},
		{"t.str > 1", false},
		{"t.str >= 0", false},
		// substring family
		{"t.str contains Shadow", true},
		{"t.str contains shadow", false},
		{"t.str icontains sHADOW", true},
		{"t.str icontains passwd", false},
		{"t.str startswith /etc/", true},
		{"t.str startswith /tmp/", false},
		{"t.str endswith .bak", true},
		{"t.str endswith .bk", false},
		// glob is fnmatch without FNM_PATHNAME: * crosses '/'
		{"t.str glob /etc/*", true},
		{"t.str glob '/*/Shadow*'", true},
		{"t.str glob /*.bak", true},
		{"t.str glob /etc/?hadow.bak", true},
		{"t.str glob '/etc/[RS]hadow.bak'", true},
		{"t.str glob '/etc/[!S]hadow.bak'", false},
		{"t.str glob /etc/shadow*", false},
		{"t.str iglob /ETC/SHADOW*", true},
		// regex is a full match
		{"t.str regex '/etc/.*'", true},
		{"t.str regex 'etc'", false},
		{"t.str regex '.*etc.*'", true},
		{"t.str regex '/etc/S[a-z]+[.]bak'", true},
		// in / intersects / pmatch
		{"t.str in (/etc/passwd, /etc/Shadow.bak)", true},
		{"t.str in (/etc/passwd)", false},
		{"t.str in ()", false},
		{"t.str in (a, b, c, d, e, /etc/Shadow.bak)", true},
		{"t.str intersects (/etc/Shadow.bak)", true},
		{"t.path pmatch (/tmp/hello)", true},
		{"t.path pmatch (/tmp/hello/world)", true},
		{"t.path pmatch (/tmp/hell)", false},
		{"t.path pmatch (/tmp/hello/world/x)", false},
		{"t.path pmatch (/usr, /tmp/)", true},
		{"t.path pmatch (/tmp/h*)", true},
		{"t.path pmatch (/t*/hello)", true},
		{"t.path pmatch (/*)", true},
		{"t.path pmatch (/)", true},
		// string modifiers
		{"t.str startswith anyof (/tmp/, /etc/)", true},
		{"t.str startswith allof (/tmp/, /etc/)", false},
		{"t.str startswith allof (/e, /etc/)", true},
		{"t.str startswith oneof (/e, /etc/)", false},
		{"t.str startswith oneof (/x, /etc/)", true},
		{"t.str = anyof ()", false},
		{"t.str != oneof (/etc/Shadow.bak, x)", true},
		{"t.str glob anyof ('*.bak', '*.txt')", true},
		// numbers
		{"t.num = -2", true},
		{"t.num != -2", false},
		{"t.num < 0", true},
		{"t.num <= -2", true},
		{"t.num > -3", true},
		{"t.num >= 0", false},
		{"t.num in (1, -2)", true},
		{"t.num intersects (1, 2)", false},
		{"t.uint > 1", true}, // unsigned: 1<<63 is large, not negative
		{"t.uint = 9223372036854775808", true},
		{"t.port = 443", true},
		{"t.port in (80, 443)", true},
		{"t.port >= 1024", false},
		// booleans
		{"t.bool = true", true},
		{"t.bool = false", false},
		{"t.bool != false", true},
		{"t.bool in (true)", true},
		// byte buffers
		{"t.bytes contains GET", true},
		{"t.bytes bcontains 0001", true},
		{"t.bytes bcontains 0002", false},
		{"t.bytes bstartswith 474554", true},
		{"t.bytes bstartswith 4554", false},
		{"t.bytes startswith GET", true},
		{"t.bytes endswith HTTP", true},
		{"t.bytes = GET", false},
		// addresses and networks
		{"t.ip = 10.1.2.3", true},
		{"t.ip = 10.1.2.4", false},
		{"t.ip != 10.1.2.4", true},
		{"t.ip in (127.0.0.1, 10.1.2.3)", true},
		{"t.ip in (10.0.0.0/8)", true},
		{"t.net = 10.0.0.0/8", true},
		{"t.net = 192.168.0.0/16", false},
		{"t.net != 192.168.0.0/16", true},
		{"t.net in (192.168.0.0/16, 10.1.0.0/16)", true},
		{"t.ip = anyof (1.2.3.4, 10.1.2.3)", true},
		// list fields: in needs every element in the set; intersects any
		{"t.list in (bash, sshd, init, x)", true},
		{"t.list in (bash, sshd)", false},
		{"t.list intersects (sshd, x)", true},
		{"t.list intersects (x, y)", false},
		// "any" fields without index match when any value matches
		{"t.any = sshd", true},
		{"t.any = nginx", false},
		{"t.any != bash", true},
		{"t.any in (nginx, init)", true},
		{"t.any startswith ss", true},
		{"t.any[0] = bash", true},
		{"t.any[1] = bash", false},
		{"t.any[1] = sshd", true},
		{"t.any[7] != sshd", false}, // unavailable: even != is false
		// exists
		{"t.str exists", true},
		{"t.any exists", true},
		{"t.any[7] exists", false},
		// boolean structure: precedence, short-circuit, not
		{"t.num = 1 or t.num = -2 and t.str exists", true},
		{"(t.num = 1 or t.num = -2) and not t.str exists", false},
		{"not t.num = 1", true},
		{"not not t.num = 1", false},
		{"not (t.num = 1 or t.str = x)", true},
		// field to field and transformers
		{"t.str = val(t.str)", true},
		{"t.str != val(t.path)", true},
		{"t.str startswith val(t.str)", true},
		{"tolower(t.str) = /etc/shadow.bak", true},
		{"toupper(t.str) contains SHADOW", true},
		{"basename(t.str) = Shadow.bak", true},
		{"basename(t.path) = world", true},
		{"len(t.str) = 15", true},
		{"len(t.list) = 3", true},
		{"tolower(t.str) = tolower(t.str)", true},
		{"toupper(t.any) = SSHD", true},
	}
	for _, c := range cases {
		f := mustCompile(t, reg, c.cond)
		if got := f.Match(ev); got != c.want {
			t.Errorf("%s: got %v, want %v", c.cond, got, c.want)
		}
	}
}

// TestUnavailable checks the central trap: a comparison on an unavailable
// field is false, whatever the operator; only "exists" and "not" tell.
func TestUnavailable(t *testing.T) {
	reg := testRegistry(t)
	ev := &driver.Event{Type: driver.MustEventType("openat")}
	for _, cond := range []string{
		"t.str = x", "t.str != x", "t.str contains x", "t.str icontains x", "t.str startswith x",
		"t.str endswith x", "t.str glob *", "t.str regex '.*'", "t.str in (x)", "t.str pmatch (/)",
		"t.str < 1", "t.str > 1",
		"t.num = 0", "t.num != 0", "t.num < 1", "t.num >= 0", "t.bool = false", "t.bool != true",
		"t.ip = 0.0.0.0", "t.ip != 1.1.1.1", "t.net = 0.0.0.0/0", "t.bytes = x", "t.bytes bcontains 00",
		"t.list in (a)", "t.list intersects (a)", "t.any = x", "t.any != x",
		"t.str exists", "t.list exists", "t.str = val(t.str)", "t.str != val(t.str)",
		"t.str != oneof (a, b)", "tolower(t.str) != x", "len(t.str) = 0",
	} {
		if mustCompile(t, reg, cond).Match(ev) {
			t.Errorf("%s on an unavailable field: got true, want false", cond)
		}
	}
	if !mustCompile(t, reg, "not t.str = x").Match(ev) {
		t.Error("not t.str = x: got false, want true (not of a false check)")
	}
}

func TestCompileErrors(t *testing.T) {
	reg := testRegistry(t)
	cases := []struct {
		cond, want string
	}{
		{"t.nope = 1", "nonexistent field t.nope"},
		{"t.num = abc", "'abc' is not an integer"},
		{"t.num = 1.5", "is not an integer"},
		{"t.uint = -1", "is not an unsigned integer"},
		{"t.port = 70000", "is not a port number"},
		{"t.bool = yes", "is not a boolean"},
		{"t.num contains 1", "operator 'contains' is not supported"},
		{"t.bool < 1", "operator '<' is not supported"},
		{"t.bytes regex x", "operator 'regex' is not supported"},
		{"t.str bcontains 00", "operator 'bcontains' is not supported"},
		{"t.ip contains 1", "operator 'contains' is not supported"},
		{"t.ip = 999.1.1.1", "invalid IP address"},
		{"t.net = 10.0.0.0/99", "invalid CIDR"},
		{"t.net in (10.0.0.0/8, nope)", "invalid CIDR"},
		{"t.str regex '('", "invalid regex"},
		{"t.bytes bcontains zz", "needs a hex string"},
		{"t.str = val(t.norhs)", "cannot be used on the right side"},
		{"t.norhs = val(t.str)", "cannot be compared with another field"},
		{"t.str = val(t.num)", "cannot compare"},
		{"t.str regex val(t.str)", "needs constant values"},
		{"t.ip contains anyof (1.1.1.1)", "not supported"},
		{"some_macro", "Undefined macro 'some_macro' used in filter."},
		{"t.str in some_list", "undefined list 'some_list'"},
		{"toupper(t.num) = X", "needs a string argument"},
		{"toupper(t.str)[x] = X", "does not support field arguments"},
	}
	for _, c := range cases {
		e, err := parse.Parse(c.cond)
		if err != nil {
			t.Errorf("parse %q: %v", c.cond, err)
			continue
		}
		_, _, err = Compile(e, reg)
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a *CompileError containing %q", c.cond, err, c.want)
			continue
		}
		if !strings.Contains(ce.Msg, c.want) {
			t.Errorf("%s: got %q, want it to contain %q", c.cond, ce.Msg, c.want)
		}
		if ce.Pos.Line < 1 || ce.Pos.Col < 1 {
			t.Errorf("%s: error without a position: %+v", c.cond, ce.Pos)
		}
	}
}

func TestCompileErrorPosition(t *testing.T) {
	reg := testRegistry(t)
	e, err := parse.Parse("t.str = a and\n  t.num = abc")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Compile(e, reg)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a compile error", err)
	}
	if ce.Pos.Line != 2 || ce.Pos.Col != 11 { // the offending value
		t.Errorf("position %d:%d, want 2:11", ce.Pos.Line, ce.Pos.Col)
	}
}

func TestWarnings(t *testing.T) {
	reg := testRegistry(t)
	cases := []struct {
		cond string
		want string // "" = no warning
	}{
		{"t.str = t.path", "'t.path' may be a valid field misused as a const string value"},
		{"t.str = 't.path '", "'t.path ' may be a valid field misused as a const string value"},
		{"t.str = 'tolower(t.path)'", "may be a valid field transformer misused"},
		{"t.str = 'tolow(t.path)'", ""},
		{"t.str = unknown.field", ""},
		{"t.str = tolower", ""},
		{"t.str regex syscall", "simpler operator"},
		{"t.str regex '^syscall$'", "simpler operator"},
		{"t.str regex '.*syscall.*'", "simpler operator"},
		{"t.str regex 'syscall.{1}'", ""},
		{"t.str regex 's.*l'", ""},
	}
	for _, c := range cases {
		e, err := parse.Parse(c.cond)
		if err != nil {
			t.Fatalf("parse %q: %v", c.cond, err)
		}
		_, ws, err := Compile(e, reg)
		if err != nil {
			t.Fatalf("compile %q: %v", c.cond, err)
		}
		switch {
		case c.want == "" && len(ws) > 0:
			t.Errorf("%s: unexpected warnings %v", c.cond, ws)
		case c.want != "" && (len(ws) != 1 || !strings.Contains(ws[0].Msg, c.want)):
			t.Errorf("%s: warnings %v, want one containing %q", c.cond, ws, c.want)
		}
	}
}

func TestEventTypes(t *testing.T) {
	cases := []struct {
		cond string
		want string
	}{
		{"evt.type = open", "open"},
		{"evt.type in (open, openat) and proc.name = cat", "open, openat"},
		{"evt.type = open or evt.type = execve", "open, execve"},
		{"evt.type in (open, openat) and evt.type = openat", "openat"},
		{"evt.type = open and evt.type = execve", ""},
		{"proc.name = cat", "all"},
		{"evt.num = 0", ""},
		{"not evt.num = 0", "all"},
		{"evt.type = open and not evt.type = open", ""},
		{"not (evt.type != open)", "open"},
		{"not (evt.type in (open, execve) or proc.name = x)", driver.NewEventTypeSet(
			driver.MustEventType("open"), driver.MustEventType("execve")).Complement().String()},
		{"syscall.type = connect", "connect"},
		{"evt.type = nosuchsyscall", ""},
		{"evt.type != open", driver.NewEventTypeSet(driver.MustEventType("open")).Complement().String()},
		{"macro_ref and evt.type = open", "open"},
	}
	for _, c := range cases {
		e, err := parse.Parse(c.cond)
		if err != nil {
			t.Fatalf("parse %q: %v", c.cond, err)
		}
		if got := EventTypes(e).String(); got != c.want {
			t.Errorf("EventTypes(%s) = %q, want %q", c.cond, got, c.want)
		}
	}
}

func TestEngineMatch(t *testing.T) {
	reg := testRegistry(t)
	mk := func(name, cond string) *Rule {
		e, err := parse.Parse(cond)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := Compile(e, reg)
		if err != nil {
			t.Fatal(err)
		}
		return &Rule{Name: name, Enabled: true, Condition: e, EventTypes: EventTypes(e), Filter: f}
	}
	rules := []*Rule{
		mk("exec", "evt.type = execve and t.str exists"),
		mk("open1", "evt.type in (open, openat) and t.str startswith /etc"),
		mk("open2", "evt.type = openat and t.str endswith .bak"),
		mk("never", "evt.type = openat and t.str = nope"),
	}
	disabled := mk("disabled", "evt.type = openat")
	disabled.Enabled = false
	rules = append(rules, disabled)

	ev := testEvent()
	first := New(rules, nil)
	if got := names(first.Match(ev, nil)); got != "open1" {
		t.Errorf("first match: got %q, want open1", got)
	}
	all := New(rules, &Options{MatchAll: true})
	if got := names(all.Match(ev, nil)); got != "open1,open2" {
		t.Errorf("all matches: got %q, want open1,open2", got)
	}
	ev.Type = driver.MustEventType("connect")
	if got := names(all.Match(ev, nil)); got != "" {
		t.Errorf("connect: got %q, want no rule", got)
	}
	if got := all.EventTypes().String(); got != "open, execve, openat" {
		t.Errorf("EventTypes() = %q", got)
	}
}

func names(rs []*Rule) string {
	var n []string
	for _, r := range rs {
		n = append(n, r.Name)
	}
	return strings.Join(n, ",")
}

func TestParsePriority(t *testing.T) {
	for in, want := range map[string]Priority{
		"EMERGENCY": PriorityEmergency, "alert": PriorityAlert, "Critical": PriorityCritical,
		"error": PriorityError, "WARNING": PriorityWarning, "notice": PriorityNotice,
		"informational": PriorityInformational, "INFO": PriorityInformational, "debug": PriorityDebug,
	} {
		got, err := ParsePriority(in)
		if err != nil || got != want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePriority("loud"); err == nil {
		t.Error("ParsePriority(loud): want an error")
	}
	if PriorityInformational.String() != "Informational" || PriorityWarning.String() != "Warning" {
		t.Error("priority names differ from Falco's")
	}
}

// TestSharedCompilerMemo checks that memoised sub-expressions and cached
// field values shared by several filters are recomputed for every event.
func TestSharedCompilerMemo(t *testing.T) {
	reg := testRegistry(t)
	cc := NewCompiler(reg)
	mk := func(name, cond string) *Rule {
		e, err := parse.Parse(cond)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := cc.Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		return &Rule{Name: name, Enabled: true, EventTypes: EventTypes(e), Filter: f}
	}
	shared := "(t.str startswith /etc/ and t.num = -2)"
	a := mk("a", "evt.type = openat and "+shared+" and t.str endswith .bak")
	b := mk("b", "evt.type = openat and "+shared+" and t.str endswith .conf")
	eng := New([]*Rule{a, b}, &Options{MatchAll: true})

	bak, conf, other := testEvent(), testEvent(), testEvent()
	conf.Path = "/etc/x.conf"
	other.Path = "/usr/x.conf"
	for i := 0; i < 3; i++ {
		for _, c := range []struct {
			ev   *driver.Event
			want string
		}{{bak, "a"}, {conf, "b"}, {other, ""}, {bak, "a"}} {
			if got := names(eng.Match(c.ev, nil)); got != c.want {
				t.Fatalf("round %d, path %s: got %q, want %q", i, c.ev.Path, got, c.want)
			}
			if got := a.Filter.Match(c.ev); got != (c.want == "a") {
				t.Fatalf("Filter.Match a on %s = %v", c.ev.Path, got)
			}
		}
	}
}
