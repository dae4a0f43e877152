package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/replay"
)

// vigilBin is the binary under test, built once by TestMain.
var vigilBin string

const testVersion = "v0.0.0-test"

// beforeTests, when set by a platform file, runs first and may replace the
// test process (e.g. to exec vigil under a seccomp filter).
var beforeTests func()

func TestMain(m *testing.M) {
	if beforeTests != nil {
		beforeTests()
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vigil-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", vigilBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building vigil: %v\n", err)
		return 1
	}
	return m.Run()
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// vigil runs the binary with args.
func vigil(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var xe *exec.ExitError
	switch {
	case errors.As(err, &xe):
		r.code = xe.ExitCode()
	case err != nil:
		t.Fatalf("running vigil %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// want fails the test unless r exited with code.
func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

const goodRules = `- list: test_shells
  items: [bash, sh]

- macro: test_spawned_shell
  condition: evt.type = execve and proc.name in (test_shells)

- rule: Test shell spawned
  desc: a shell was spawned
  condition: test_spawned_shell and proc.pname != sshd
  output: "shell spawned (proc.name=%proc.name parent=%proc.pname)"
  priority: WARNING
  tags: [test, shell]
`

// badRules has one error, an unknown field in the rule starting on line 3.
const badRules = `# a rule using a field that does not exist

- rule: Bad rule
  desc: uses a field that does not exist
  condition: evt.type = execve and proc.no_such_field = x
  output: "bad (proc.name=%proc.name)"
  priority: WARNING
`

const (
	badRuleFirstLine = 3
	badRuleLastLine  = 7
)

// writeFile writes content to name in a fresh temporary directory and
// returns the path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// validateJSON decodes `validate --json` output, checking that it has
// exactly the documented keys and that every message has exactly the
// documented fields.
func validateJSON(t *testing.T, out string) validateResult {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("validate --json output is not a JSON object: %v\n%s", err, out)
	}
	if got, want := sortedKeys(raw), []string{"errors", "lists", "macros", "rules", "warnings"}; !slices.Equal(got, want) {
		t.Errorf("validate --json keys = %v, want %v", got, want)
	}
	for _, key := range []string{"errors", "warnings"} {
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(raw[key], &msgs); err != nil || msgs == nil {
			t.Fatalf("%q is not an array of objects (%v): %s", key, err, raw[key])
		}
		for _, m := range msgs {
			want := []string{"code", "column", "file", "item_name", "item_type", "line", "message"}
			if got := sortedKeys(m); !slices.Equal(got, want) {
				t.Errorf("%s message keys = %v, want %v", key, got, want)
			}
		}
	}
	var res validateResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestValidateGood(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)

	r := vigil(t, "validate", "--json", "-r", good)
	r.want(t, exitOK)
	res := validateJSON(t, r.stdout)
	if res.Rules != 1 || res.Macros != 1 || res.Lists != 1 {
		t.Errorf("counts rules=%d macros=%d lists=%d, want 1 each", res.Rules, res.Macros, res.Lists)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors: %+v", res.Errors)
	}

	// Text output, file given as an argument.
	r = vigil(t, "validate", good)
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "1 rules, 1 macros, 1 lists; 0 errors") {
		t.Errorf("summary missing from:\n%s", r.stdout)
	}
}

func TestValidateBad(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)
	bad := writeFile(t, "bad.yaml", badRules)

	r := vigil(t, "validate", "--json", "-r", good, "-r", bad)
	r.want(t, exitInvalid)
	res := validateJSON(t, r.stdout)
	if len(res.Errors) != 1 {
		t.Fatalf("got %d errors, want 1: %+v", len(res.Errors), res.Errors)
	}
	e := res.Errors[0]
	if e.Code == "" || e.Message == "" {
		t.Errorf("error without code or message: %+v", e)
	}
	if e.File != bad {
		t.Errorf("error file = %q, want %q", e.File, bad)
	}
	if e.Line < badRuleFirstLine || e.Line > badRuleLastLine || e.Column < 1 {
		t.Errorf("error at %d:%d, want within lines %d-%d of the bad rule", e.Line, e.Column, badRuleFirstLine, badRuleLastLine)
	}
	if e.ItemType != "rule" || e.ItemName != "Bad rule" {
		t.Errorf("error item = %s %q, want rule \"Bad rule\"", e.ItemType, e.ItemName)
	}

	// Text output: the error as file:line:col, then a summary.
	r = vigil(t, "validate", bad)
	r.want(t, exitInvalid)
	pos := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(bad) + `:\d+:\d+: rule 'Bad rule': `)
	if !pos.MatchString(r.stdout) {
		t.Errorf("no %q line in:\n%s", pos, r.stdout)
	}
	if !strings.Contains(r.stdout, "1 errors") {
		t.Errorf("summary missing from:\n%s", r.stdout)
	}
}

func TestValidateMissingFile(t *testing.T) {
	r := vigil(t, "validate", "--json", filepath.Join(t.TempDir(), "missing.yaml"))
	r.want(t, exitInvalid)
	if res := validateJSON(t, r.stdout); len(res.Errors) == 0 {
		t.Error("no error for a missing file")
	}
}

func TestUsageErrors(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)
	for _, args := range [][]string{
		{"validate"},                     // no files
		{"validate", good, "--json"},     // flag after the arguments
		{"--no-such-flag"},               // unknown flag
		{"no-such-command"},              // unknown command
		{"describe", "-r", good},         // no rule name
		{"describe", "-r", good, "Nope"}, // unknown rule
		{"list"},                         // no topic
		{"list", "fields", "--class", "nope"},
		{"--list", "k8s_audit"}, // unknown source
		{"-o", "novalue"},       // -o without =
		{"--log-level", "loud", "version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := vigil(t, args...)
			r.want(t, exitUsage)
			if !strings.HasPrefix(r.stderr, "vigil: ") {
				t.Errorf("stderr does not say what went wrong: %q", r.stderr)
			}
		})
	}
}

// TestRunErrors checks that the sensor stops before starting a driver when
// its rules, configuration or driver choice are wrong.
func TestRunErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", badRules)
	r := vigil(t, "run", "-r", bad)
	r.want(t, exitInvalid)

	r = vigil(t, "run", "--driver", "nosuchdriver", "-M", "1")
	r.want(t, exitUsage)
	if !strings.Contains(r.stderr, `unknown driver "nosuchdriver"`) {
		t.Errorf("unknown driver: stderr %q", r.stderr)
	}

	r = vigil(t, "run", "-o", "no_such_key.x=1", "-M", "1")
	r.want(t, exitInvalid)

	// Bad configuration stops Vigil before anything starts, naming the key.
	for _, c := range []struct{ config, want string }{
		{"syslogg_output:\n  enabled: true\n", `unknown output type "syslogg_output"`},
		{"http_output:\n  enabled: true\n  url: \"ht tp://x\"\n", "http_output.url"},
		{"webserver:\n  enabled: true\n  ssl_enabled: true\n  ssl_certificate: /nonexistent/vigil.pem\n", "ssl_certificate"},
	} {
		cfgFile := writeFile(t, "vigil.yaml", c.config)
		r = vigil(t, "run", "-c", cfgFile, "-M", "1")
		r.want(t, exitInvalid)
		if !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "driver started") {
			t.Errorf("config %q: stderr %q should name %q and start nothing", c.config, r.stderr, c.want)
		}
	}

	// The webserver's port is taken: exit 1 naming the webserver, no driver.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r = vigil(t, "run", "-o", "webserver.listen_address=127.0.0.1", "-o", "webserver.listen_port="+port, "-M", "1")
	r.want(t, exitInvalid)
	if !strings.Contains(r.stderr, "webserver") || !strings.Contains(r.stderr, "address already in use") ||
		strings.Contains(r.stderr, "driver started") {
		t.Errorf("port in use: stderr %q", r.stderr)
	}

	r = vigil(t, "run", "-c", "/nonexistent/vigil.yaml", "-M", "1")
	r.want(t, exitInvalid)
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := vigil(t, args...)
		r.want(t, exitOK)
		if !strings.HasPrefix(r.stdout, "vigil "+testVersion+" ") {
			t.Errorf("vigil %v = %q, want the version set at link time", args, r.stdout)
		}
	}
}

func TestListFields(t *testing.T) {
	r := vigil(t, "list", "fields", "--json")
	r.want(t, exitOK)
	var list []jsonField
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list fields --json: %v\n%s", err, r.stdout)
	}
	i := slices.IndexFunc(list, func(f jsonField) bool { return f.Name == "proc.name" })
	if i < 0 {
		t.Fatalf("proc.name missing from %d fields", len(list))
	}
	if f := list[i]; f.Class != "proc" || f.Type == "" || f.Desc == "" || f.Flags == nil {
		t.Errorf("proc.name = %+v, want class proc, a type, flags and a description", f)
	}

	r = vigil(t, "list", "fields", "--json", "--class", "fd")
	r.want(t, exitOK)
	var fd []jsonField
	if err := json.Unmarshal([]byte(r.stdout), &fd); err != nil {
		t.Fatal(err)
	}
	if len(fd) == 0 || len(fd) >= len(list) {
		t.Errorf("--class fd gave %d of %d fields", len(fd), len(list))
	}
	for _, f := range fd {
		if f.Class != "fd" {
			t.Errorf("--class fd listed %s (class %s)", f.Name, f.Class)
		}
	}
}

func TestListAndDescribeRules(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)

	r := vigil(t, "list", "rules", "--json", "-r", good)
	r.want(t, exitOK)
	var list []jsonRule
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list rules --json: %v\n%s", err, r.stdout)
	}
	if len(list) != 1 {
		t.Fatalf("got %d rules, want 1: %+v", len(list), list)
	}
	got := list[0]
	if got.Name != "Test shell spawned" || got.Priority != "Warning" || !got.Enabled ||
		!slices.Equal(slices.Sorted(slices.Values(got.Tags)), []string{"shell", "test"}) ||
		!slices.Contains(got.EventTypes, "execve") {
		t.Errorf("list rules = %+v", got)
	}

	r = vigil(t, "describe", "--json", "-r", good, "Test shell spawned")
	r.want(t, exitOK)
	var d jsonRule
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	// The condition is printed compiled: macro and list expanded.
	if !strings.Contains(d.Condition, "evt.type = execve") || !strings.Contains(d.Condition, "bash") ||
		strings.Contains(d.Condition, "test_spawned_shell") || strings.Contains(d.Condition, "test_shells") {
		t.Errorf("condition %q is not the expanded condition", d.Condition)
	}
	if d.Desc != "a shell was spawned" || d.Source != "syscall" || !strings.Contains(d.Output, "%proc.pname") {
		t.Errorf("describe = %+v", d)
	}

	r = vigil(t, "describe", "-r", good, "Test shell spawned")
	r.want(t, exitOK)
	for _, want := range []string{"Rule:", "Test shell spawned", "Priority:", "Warning", "Condition:", "Event types:", "execve"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe output lacks %q:\n%s", want, r.stdout)
		}
	}

	// Without -r: the embedded default rules.
	r = vigil(t, "list", "rules", "--json")
	r.want(t, exitOK)
	var defaults []jsonRule
	if err := json.Unmarshal([]byte(r.stdout), &defaults); err != nil {
		t.Fatal(err)
	}
	if len(defaults) == 0 {
		t.Fatal("no embedded default rules listed")
	}
	r = vigil(t, "describe", defaults[0].Name)
	r.want(t, exitOK)

	// Rules that fail to load: exit 1 with the errors on stderr.
	bad := writeFile(t, "bad.yaml", badRules)
	r = vigil(t, "list", "rules", "-r", bad)
	r.want(t, exitInvalid)
	if !strings.Contains(r.stderr, bad+":") {
		t.Errorf("stderr does not locate the error:\n%s", r.stderr)
	}
}

// TestFalcoFlags checks that Falco's action flags do what the subcommands do.
func TestFalcoFlags(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)
	bad := writeFile(t, "bad.yaml", badRules)
	for _, tc := range []struct {
		name       string
		falco, sub []string
	}{
		{"-L", []string{"-r", good, "-L"}, []string{"list", "rules", "-r", good}},
		{"-L defaults", []string{"-L"}, []string{"list", "rules"}},
		{"-L json", []string{"-r", good, "-L", "-o", "json_output=true"}, []string{"list", "rules", "--json", "-r", good}},
		{"-l", []string{"-r", good, "-l", "Test shell spawned"}, []string{"describe", "-r", good, "Test shell spawned"}},
		{"--list", []string{"--list"}, []string{"list", "fields"}},
		{"--list syscall", []string{"--list", "syscall"}, []string{"list", "fields"}},
		{"--list=syscall json", []string{"--list=syscall", "-o", "json_output=true"}, []string{"list", "fields", "--json"}},
		{"-V good", []string{"-V", good}, []string{"validate", good}},
		{"-V bad", []string{"-V", good, "-V", bad}, []string{"validate", good, bad}},
		{"-V json", []string{"-o", "json_output=true", "-V", bad}, []string{"validate", "--json", bad}},
		{"--validate", []string{"--validate", bad}, []string{"validate", "-r", bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, s := vigil(t, tc.falco...), vigil(t, tc.sub...)
			if f.code != s.code || f.stdout != s.stdout {
				t.Errorf("vigil %v: exit %d, stdout:\n%s\nvigil %v: exit %d, stdout:\n%s",
					tc.falco, f.code, f.stdout, tc.sub, s.code, s.stdout)
			}
			if f.stdout == "" {
				t.Errorf("vigil %v printed nothing", tc.falco)
			}
		})
	}
}

// TestRootRulesFlag checks that -r before a command adds to the command's -r.
func TestRootRulesFlag(t *testing.T) {
	good := writeFile(t, "good.yaml", goodRules)
	bad := writeFile(t, "bad.yaml", badRules)
	r := vigil(t, "-r", good, "validate", "--json", "-r", bad)
	r.want(t, exitInvalid)
	if res := validateJSON(t, r.stdout); res.Rules != 1 || len(res.Errors) != 1 {
		t.Errorf("got %d rules and %d errors, want the good rule and the bad one's error", res.Rules, len(res.Errors))
	}
}

// TestUpstreamRules validates Falco's own rules files (VIGIL_FALCO_RULES_DIR).
func TestUpstreamRules(t *testing.T) {
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_RULES_DIR not set")
	}
	args := []string{"validate", "--json"}
	for _, name := range []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("VIGIL_FALCO_RULES_DIR is set but: %v", err)
		}
		args = append(args, "-r", p)
	}
	r := vigil(t, args...)
	res := validateJSON(t, r.stdout)
	for _, e := range res.Errors {
		t.Errorf("%s:%d:%d: %s %q: %s: %s", e.File, e.Line, e.Column, e.ItemType, e.ItemName, e.Code, e.Message)
	}
	r.want(t, exitOK)
	if res.Rules != 93 {
		t.Errorf("loaded %d rules, want 93", res.Rules)
	}
}

// TestValidateConfig checks `validate -c`: configuration errors and
// warnings come with file:line:column, and a bad value fails validation.
func TestValidateConfig(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "json_output: maybe\nfoo: 1\n")
	r := vigil(t, "validate", "--json", "-c", bad)
	r.want(t, exitInvalid)
	var out validateResult
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("not JSON: %v: %s", err, r.stdout)
	}
	if len(out.Errors) != 1 || out.Errors[0].Code != "CONFIG_ERROR" || out.Errors[0].Line != 1 || out.Errors[0].Column != 14 ||
		out.Errors[0].ItemName != "json_output" {
		t.Errorf("errors: %+v", out.Errors)
	}
	if len(out.Warnings) != 1 || out.Warnings[0].ItemName != "foo" || out.Warnings[0].Line != 2 {
		t.Errorf("warnings: %+v", out.Warnings)
	}
	good := writeFile(t, "good.yaml", "json_output: true\npriority: warning\n")
	vigil(t, "validate", "-c", good).want(t, exitOK)
}

// TestConfigPrint checks that the default configuration prints and that
// -o shows in the effective configuration.
func TestConfigPrint(t *testing.T) {
	r := vigil(t, "config", "print")
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "json_output: false") || !strings.Contains(r.stdout, "#") {
		t.Errorf("default configuration: %.300s", r.stdout)
	}
	r = vigil(t, "config", "print", "-o", "json_output=true", "-o", "http_output.url=http://user:pw@127.0.0.1:9/")
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "json_output: true") || strings.Contains(r.stdout, "pw@") {
		t.Errorf("effective configuration (secrets must be redacted): %s", r.stdout)
	}
}

// TestReplay writes a recording of hand-built events and checks that
// `vigil replay` raises the alert they deserve, and that a damaged
// recording still has its good events evaluated before the error.
func TestReplay(t *testing.T) {
	proc := &driver.Process{Has: driver.ProcHasName | driver.ProcHasPid | driver.ProcHasArgs | driver.ProcHasExe,
		Name: "cat", Exe: "cat", Args: []string{"/etc/shadow"}, Pid: 4242}
	host := &driver.Container{Has: driver.ContHasID, ID: "host"}
	open := func(path string) driver.Event {
		return driver.Event{Type: driver.MustEventType("openat"), Time: 1_700_000_000_000_000_000, Tid: 4242, Pid: 4242,
			Has: driver.HasRes | driver.HasFD | driver.HasPath | driver.HasFlags | driver.HasFDInfo, Res: 3, FD: 3, Path: path,
			FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: path}, Proc: proc, Container: host}
	}
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/etc/hosts", "/etc/shadow", "/etc/passwd"} {
		ev := open(p)
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, "rec.vgl", buf.String())
	r := vigil(t, "replay", "--json", good)
	r.want(t, exitOK)
	if strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, `"rule":"Sensitive file read by untrusted program"`) ||
		!strings.Contains(r.stdout, `"fd.name":"/etc/shadow"`) {
		t.Errorf("replay alerts: %s", r.stdout)
	}

	damaged := writeFile(t, "cut.vgl", buf.String()[:buf.Len()-5])
	r = vigil(t, "replay", "--json", damaged)
	if r.code == exitOK || !strings.Contains(r.stderr, "truncated") {
		t.Errorf("damaged recording: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"fd.name":"/etc/shadow"`) {
		t.Errorf("events before the damage were not evaluated: %s", r.stdout)
	}
}

// TestListRulesDriver checks that `list rules --driver` says which rules
// cannot fire on a driver, and why.
func TestListRulesDriver(t *testing.T) {
	r := vigil(t, "list", "rules", "--json", "--driver", "procscan")
	r.want(t, exitOK)
	var list []jsonRule
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("not JSON: %v: %s", err, r.stdout)
	}
	seen := map[string]jsonRule{}
	for _, j := range list {
		if j.Fires == nil {
			t.Fatalf("rule %q without fires", j.Name)
		}
		seen[j.Name] = j
	}
	if j := seen["Kernel module loaded"]; *j.Fires || !strings.Contains(j.Why, "procscan does not produce") {
		t.Errorf("kernel module rule on procscan: %+v", j)
	}
	if j := seen["Sensitive file read by untrusted program"]; !*j.Fires {
		t.Errorf("sensitive file rule on procscan: %+v", j)
	}
	vigil(t, "list", "rules", "--driver", "nosuch").want(t, exitUsage)
}

// fieldRules are rules whose fate on procscan depends on fields: it
// produces openat and execve events, but without the open mode and with
// no CPU number.
const fieldRules = `
- macro: exec_mode_open
  condition: (evt.type = openat and evt.arg.mode contains S_IXUSR)
- rule: executable created
  desc: needs the open mode
  condition: exec_mode_open and fd.name startswith /tmp
  output: "%proc.name %fd.name"
  priority: WARNING
- rule: open or exec on cpu 0
  desc: needs the mode and the CPU
  condition: (exec_mode_open or evt.type = execve) and evt.cpu = 0
  output: "%proc.name"
  priority: WARNING
- rule: open unless executable
  desc: fires without the mode
  condition: evt.type = openat and not evt.arg.mode contains S_IXUSR
  output: "%proc.name %fd.name"
  priority: WARNING
`

// TestListRulesDriverFields checks that `list rules --driver` names the
// fields a rule needs and the driver leaves unavailable.
func TestListRulesDriverFields(t *testing.T) {
	rules := writeFile(t, "fields.yaml", fieldRules)
	r := vigil(t, "list", "rules", "--json", "--driver", "procscan", "-r", rules)
	r.want(t, exitOK)
	var list []jsonRule
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("not JSON: %v: %s", err, r.stdout)
	}
	want := map[string]string{
		"executable created":     "needs evt.arg.mode, unavailable on procscan",
		"open or exec on cpu 0":  "needs evt.cpu, unavailable on procscan",
		"open unless executable": "",
	}
	if len(list) != len(want) {
		t.Fatalf("%d rules listed: %s", len(list), r.stdout)
	}
	for _, j := range list {
		if j.Fires == nil || *j.Fires != (want[j.Name] == "") || j.Why != want[j.Name] {
			t.Errorf("%s: fires %v, why %q; want why %q", j.Name, j.Fires, j.Why, want[j.Name])
		}
	}
	if j := list[2]; len(j.Without) != 1 || j.Without[0] != "evt.arg.mode" {
		t.Errorf("%s: without %q", j.Name, j.Without)
	}
	r = vigil(t, "list", "rules", "--driver", "procscan", "-r", rules)
	r.want(t, exitOK)
	for _, line := range []string{
		"cannot fire: needs evt.arg.mode, unavailable on procscan",
		"can fire, without evt.arg.mode",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("text listing lacks %q:\n%s", line, r.stdout)
		}
	}
	// ebpf fills both.
	r = vigil(t, "list", "rules", "--driver", "ebpf", "-r", rules)
	r.want(t, exitOK)
	if strings.Contains(r.stdout, "cannot fire") || strings.Contains(r.stdout, "without") {
		t.Errorf("ebpf listing:\n%s", r.stdout)
	}
}
