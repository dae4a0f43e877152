//go:build linux && amd64

package ebpf

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

var update = flag.Bool("update", false, "capture kernel records into testdata/records (needs root)")

// TestPrivilegedCaptureRecords records raw ring-buffer records of helper
// actions into testdata/records, the seeds of FuzzDecodeEvent and the
// inputs of TestDecodeCaptured. It runs only with -update.
func TestPrivilegedCaptureRecords(t *testing.T) {
	if !*update {
		t.Skip("run with -update to capture records")
	}
	requireDriver(t)
	d, err := New(&driver.Options{SelfPID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		recs [][]byte
	)
	d.raw = func(b []byte) {
		mu.Lock()
		recs = append(recs, append([]byte(nil), b...))
		mu.Unlock()
	}
	c := &collector{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.add) }()

	pids := map[int64]bool{}
	// Minimal environments, so that no record carries this machine's.
	helper := func(action string, args ...string) *exec.Cmd {
		cmd := helper(action, args...)
		cmd.Env = []string{helperEnv + "=" + action, "PATH=/usr/bin:/bin"}
		return cmd
	}
	run := func(cmd interface{ Run() error }, pid func() int) {
		if err := cmd.Run(); err != nil {
			t.Logf("helper: %v", err)
		}
		pids[int64(pid())] = true
	}
	dir := t.TempDir()
	f := helper("files", dir)
	run(f, func() int { return f.Process.Pid })
	m := helper("memfd")
	run(m, func() int { return m.Process.Pid })
	e := helper("exit", "0", "arg")
	run(e, func() int { return e.Process.Pid })
	srv := helper("server")
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	cl := helper("client", strings.TrimSpace(line))
	run(cl, func() int { return cl.Process.Pid })
	_ = srv.Wait()
	pids[int64(srv.Process.Pid)] = true
	last := e.Process.Pid
	c.waitFor(t, "helper exit", func(ev *driver.Event) bool { return ev.Type == evtProcexit && ev.Pid == int64(last) })
	cancel()
	if err := <-done; err != nil {
		t.Logf("driver run: %v", err)
	}
	d.Close()

	out2 := filepath.Join("testdata", "records")
	if err := os.MkdirAll(out2, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range recs {
		var ev driver.Event
		if err := decodeEvent(r, &ev); err != nil || !pids[ev.Pid] {
			continue
		}
		name := ev.Type.String()
		if seen[name] >= 2 {
			continue
		}
		seen[name]++
		p := filepath.Join(out2, fmt.Sprintf("%s-%d.bin", name, seen[name]))
		scrubEnv(r)
		if err := os.WriteFile(p, r, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("captured %d record kinds: %v", len(seen), seen)
}

// scrubEnv overwrites the environment strings of a record (forks carry the
// test process's) with 'x', keeping its structure.
func scrubEnv(b []byte) {
	for off := hdrSize; off+itemSize <= len(b); {
		tag, l := b[off+itemTag], int(le.Uint16(b[off+itemLen:]))
		off += itemSize
		if off+l > len(b) {
			return
		}
		if tag == itEnv {
			for i := off; i < off+l; i++ {
				if b[i] != 0 {
					b[i] = 'x'
				}
			}
		}
		off += l
	}
}
