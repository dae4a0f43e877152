package engine

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// conformanceDir returns $VIGIL_FALCO_CONFORMANCE_DIR. The test is skipped
// when the variable is unset and fails when it names a missing directory.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_FALCO_CONFORMANCE_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_CONFORMANCE_DIR is not set")
	}
	if _, err := os.Stat(filepath.Join(dir, "compiler_cases.jsonl")); err != nil {
		t.Fatalf("VIGIL_FALCO_CONFORMANCE_DIR=%s: %v", dir, err)
	}
	return dir
}

type compilerCase struct {
	Cond     string `json:"cond"`
	Compiles bool   `json:"compiles"`
	Result   *bool  `json:"result"`
	Event    string `json:"event"`
	Factory  string `json:"factory"`
	Warnings *int   `json:"warnings"`
	Error    string `json:"error"`
	Test     string `json:"test"`
	Line     int    `json:"line"`
}

// conformanceRegistry is every built-in field plus the mock fields of
// libsinsp's compiler tests (see compiler_events.json).
func conformanceRegistry(t *testing.T) *fields.Registry {
	t.Helper()
	r := fields.NewRegistry()
	for _, f := range fields.Default().All() {
		add(t, r, f)
	}
	mockStr := func(name, value string, avail bool) {
		add(t, r, &fields.Field{Name: name, Class: "c", Type: fields.TypeString, Desc: "mock field",
			Bind: func(string, bool) (fields.Extractor, error) {
				return fields.Extractor{Type: fields.TypeString, Str: func(*driver.Event) (string, bool) { return value, avail }}, nil
			}})
	}
	// c.true compares true in every test that states a result ("c.true=1");
	// c.false never extracts; the quote fields hold the unescaped values
	// the tests expect.
	mockStr("c.true", "1", true)
	mockStr("c.false", "", false)
	mockStr("c.singlequote", "hello 'quoted'", true)
	mockStr("c.doublequote", `hello "quoted"`, true)
	add(t, r, &fields.Field{Name: "c.buffer", Class: "c", Type: fields.TypeBytes, Desc: "mock field",
		Bind: func(string, bool) (fields.Extractor, error) {
			return fields.Extractor{Type: fields.TypeBytes, Bytes: func(*driver.Event) ([]byte, bool) { return nil, false }}, nil
		}})
	return r
}

// conformanceEvents rebuilds the events of compiler_events.json.
func conformanceEvents() map[string]*driver.Event {
	init := &driver.Process{
		Has: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName | driver.ProcHasExe |
			driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv | driver.ProcHasCwd | driver.ProcHasUser | driver.ProcHasSID,
		Pid: 1, Tid: 1, VPid: 1, VTid: 1, VPGID: 1, Name: "init", Exe: "/sbin/init", ExePath: "/sbin/init",
		Args: []string{"context", "ls", "--format", "{{json .}}"},
		Env:  []string{"TEST_ENV_PARENT_LINEAGE=secret", "HOME=/home/user/parent"},
		Cwd:  "/root/",
	}
	return map[string]*driver.Event{
		"mock_null": {},
		"getcwd_x_fail": {
			Type: driver.MustEventType("getcwd"), Num: 1, Time: 1566230400000000000, Tid: 1,
			Has: driver.HasRes | driver.HasPath | driver.HasNum, Res: -1, Path: "/test/dir", Proc: init,
		},
		"procexit_tid2_reaper1": {
			Type: driver.MustEventType("procexit"), Num: 1, Time: 1566230400000000000, Tid: 2,
			Has: driver.HasRes | driver.HasTargetPID | driver.HasSignal | driver.HasNum, Res: -1, TargetPID: 1,
		},
	}
}

// TestCompilerConformance runs libsinsp's filter_compiler test vectors:
// every case that uses real (or mock) fields must compile or fail as in
// Falco and, where the test states a result, evaluate to it.
func TestCompilerConformance(t *testing.T) {
	dir := conformanceDir(t)
	f, err := os.Open(filepath.Join(dir, "compiler_cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg := conformanceRegistry(t)
	events := conformanceEvents()
	var total, pass, skipped int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c compilerCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Factory == "sinsp+sample_plugin" {
			skipped++
			continue
		}
		total++
		if checkCompilerCase(t, reg, events, &c) {
			pass++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("compiler conformance: %d/%d cases pass (%d plugin cases skipped)", pass, total, skipped)
}

func checkCompilerCase(t *testing.T, reg *fields.Registry, events map[string]*driver.Event, c *compilerCase) bool {
	t.Helper()
	where := c.Test
	expr, err := parse.Parse(c.Cond)
	var filter *Filter
	var warnings []Warning
	if err == nil {
		filter, warnings, err = Compile(expr, reg)
	}
	if (err == nil) != c.Compiles {
		t.Errorf("%s (line %d) %q: compile error %v, want compiles=%v", where, c.Line, c.Cond, err, c.Compiles)
		return false
	}
	if err != nil {
		return true
	}
	if c.Warnings != nil && len(warnings) != *c.Warnings {
		t.Errorf("%s (line %d) %q: %d warnings %v, want %d", where, c.Line, c.Cond, len(warnings), warnings, *c.Warnings)
		return false
	}
	if c.Result != nil {
		ev := events[c.Event]
		if ev == nil {
			ev = events["mock_null"]
		}
		if got := filter.Match(ev); got != *c.Result {
			t.Errorf("%s (line %d) %q: evaluates to %v, want %v", where, c.Line, c.Cond, got, *c.Result)
			return false
		}
	}
	return true
}
