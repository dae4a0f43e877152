package sensor

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/rules"
)

// fakeDriver emits a fixed list of events, then waits for the context.
type fakeDriver struct{ events []driver.Event }

func (d *fakeDriver) Name() string              { return "fake" }
func (d *fakeDriver) Coverage() driver.Coverage { return driver.Coverage{} }
func (d *fakeDriver) Close() error              { return nil }
func (d *fakeDriver) Run(ctx context.Context, emit func(*driver.Event)) error {
	for i := range d.events {
		ev := d.events[i] // drivers reuse buffers; the sensor must copy what it keeps
		emit(&ev)
		ev = driver.Event{}
	}
	<-ctx.Done()
	return ctx.Err()
}

// captureSink collects delivered lines and signals each one.
type captureSink struct {
	mu    sync.Mutex
	lines []string
	got   chan struct{}
}

func (c *captureSink) Name() string { return "capture" }
func (c *captureSink) Close() error { return nil }
func (c *captureSink) Write(_ context.Context, _ *output.Alert, line []byte) error {
	c.mu.Lock()
	c.lines = append(c.lines, string(line))
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

const testRules = `
- rule: shadow read
  desc: test
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow opened by %proc.name (file=%fd.name parent=%proc.pname)
  priority: WARNING
  tags: [test]
`

func TestPipeline(t *testing.T) {
	rs, res := rules.LoadFiles([]rules.File{{Name: "t.yaml", Data: []byte(testRules)}},
		&rules.Options{ExtraOutputs: []rules.ExtraOutput{{Fields: []rules.ExtraField{{Key: "who", Format: "%user.name"}}}}})
	if !res.OK() {
		t.Fatal(res.Errors)
	}
	parent := &driver.Process{Has: driver.ProcHasName, Name: "sshd"}
	proc := &driver.Process{Has: driver.ProcHasName | driver.ProcHasPid, Name: "cat", Pid: 42, Parent: parent}
	open := func(path string) driver.Event {
		return driver.Event{Type: driver.MustEventType("openat"), Time: 1_700_000_000_123_456_789,
			Has: driver.HasFDInfo | driver.HasRes, FDInfo: driver.FDInfo{Type: driver.FDFile, Name: path}, Proc: proc}
	}
	drv := &fakeDriver{events: []driver.Event{open("/etc/passwd"), open("/etc/shadow")}}
	sink := &captureSink{got: make(chan struct{}, 10)}
	f := output.DefaultFormatter()
	f.JSON = true
	outs := output.New([]output.Sink{sink}, &output.Options{Formatter: f})
	s, err := New(Config{Driver: drv, Engine: engine.New(rs.Rules, nil), Outputs: outs, Hostname: "h1"}, rs.Rules)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-sink.got
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := outs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.lines) != 1 {
		t.Fatalf("want one alert, got %q", sink.lines)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(sink.lines[0]), &a); err != nil {
		t.Fatalf("alert is not JSON: %v: %s", err, sink.lines[0])
	}
	if a["rule"] != "shadow read" || a["priority"] != "Warning" || a["hostname"] != "h1" || a["source"] != "syscall" {
		t.Errorf("alert header: %s", sink.lines[0])
	}
	if out, _ := a["output"].(string); !strings.HasSuffix(out, "Warning shadow opened by cat (file=/etc/shadow parent=sshd)") {
		t.Errorf("output = %q", out)
	}
	fields, _ := a["output_fields"].(map[string]any)
	if fields["proc.name"] != "cat" || fields["fd.name"] != "/etc/shadow" || fields["who"] != "<NA>" {
		t.Errorf("output_fields = %v", fields)
	}
	st := s.Stats()
	if st.Events != 2 || st.Alerts != 1 || st.AlertsByRule["shadow read"] != 1 || st.EventsByType[driver.MustEventType("openat")] != 2 {
		t.Errorf("stats: %+v", st)
	}
}

// TestSetRules checks that a reload takes effect at the next event and that
// alert counters survive it.
func TestSetRules(t *testing.T) {
	load := func(cond string) []*engine.Rule {
		rs, res := rules.LoadFiles([]rules.File{{Name: "r.yaml", Data: []byte(`
- rule: r
  desc: d
  condition: ` + cond + `
  output: o
  priority: INFO
`)}}, nil)
		if !res.OK() {
			t.Fatal(res.Errors)
		}
		return rs.Rules
	}
	sink := &captureSink{got: make(chan struct{}, 10)}
	outs := output.New([]output.Sink{sink}, nil)
	defer outs.Close(context.Background())
	first := load("evt.type = openat")
	s, err := New(Config{Driver: &fakeDriver{}, Engine: engine.New(first, nil), Outputs: outs}, first)
	if err != nil {
		t.Fatal(err)
	}
	openat := &driver.Event{Type: driver.MustEventType("openat")}
	execve := &driver.Event{Type: driver.MustEventType("execve")}
	s.Handle(openat)
	s.Handle(execve)
	second := load("evt.type = execve")
	s.SetRules(engine.New(second, nil), second)
	s.Handle(openat)
	s.Handle(execve)
	if st := s.Stats(); st.Alerts != 2 || st.AlertsByRule["r"] != 2 {
		t.Errorf("alerts across the reload: %+v", st)
	}
}
