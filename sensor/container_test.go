package sensor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/rules"
	"github.com/vigilsec/vigil/state"
)

const containerRules = `
- rule: privileged container
  desc: test
  condition: evt.type = container and container.privileged = true
  output: privileged %container.id %container.name %container.image.repository:%container.image.tag
  priority: WARNING
- rule: shell in container
  desc: test
  condition: evt.type = openat and container.id != host
  output: open in %container.name
  priority: NOTICE
`

// fakeProcess writes the /proc files state reads for one process.
func fakeProcess(t *testing.T, root string, pid int, cgroup string) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	files := map[string]string{
		"stat":     fmt.Sprintf("%d (sh) S 1 %d %d 0 -1 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", pid, pid, pid),
		"status":   fmt.Sprintf("Tgid:\t%d\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t%d\t1\n", pid, pid),
		"cmdline":  "sh\x00",
		"cgroup":   cgroup,
		"loginuid": "4294967295",
	}
	for name, content := range files {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestContainerEvent checks that a new container's event goes through the
// rules after the event that revealed it, with its metadata.
func TestContainerEvent(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu 1 2 3\nbtime 1700000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	fakeProcess(t, root, 4242, "0::/docker/"+id+"\n")
	st, err := state.New(&state.Options{ProcRoot: root, EtcDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st.SetMetadata(&state.MetadataOptions{Events: true, Wait: 5 * time.Second,
		Lookup: func(_ context.Context, cid state.CgroupID, c *driver.Container) error {
			c.Name, c.Privileged = "web", true
			c.Image, c.ImageRepository, c.ImageTag = "local/busybox:1", "local/busybox", "1"
			c.Has |= driver.ContHasName | driver.ContHasPrivileged | driver.ContHasImage
			return nil
		}})
	defer st.CloseMetadata()

	rs, res := rules.LoadFiles([]rules.File{{Name: "t.yaml", Data: []byte(containerRules)}}, nil)
	if !res.OK() {
		t.Fatal(res.Errors)
	}
	sink := &captureSink{got: make(chan struct{}, 10)}
	outs := output.New([]output.Sink{sink}, nil)
	defer outs.Close(context.Background())
	s, err := New(Config{Driver: &fakeDriver{}, State: st, Engine: engine.New(rs.Rules, nil), Outputs: outs}, rs.Rules)
	if err != nil {
		t.Fatal(err)
	}
	ev := driver.Event{Type: driver.MustEventType("openat"), Time: time.Now().UnixNano(), Pid: 4242, Tid: 4242,
		Has: driver.HasFDInfo, FDInfo: driver.FDInfo{Type: driver.FDFile, Name: "/etc/hosts"}}
	s.Handle(&ev)
	if ev.Container == nil || ev.Container.Name != "web" {
		t.Fatalf("container = %+v (proc %+v)", ev.Container, ev.Proc)
	}
	for range 2 {
		select {
		case <-sink.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("alerts: %q", sink.lines)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !strings.Contains(sink.lines[0], "open in web") || !strings.Contains(sink.lines[1], "privileged "+id[:12]+" web local/busybox:1") {
		t.Errorf("alerts: %q", sink.lines)
	}
	if n := s.Stats().EventsByType[driver.MustEventType("container")]; n != 1 {
		t.Errorf("%d container events", n)
	}
}
