package fanotify

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/internal/runtimetest"
)

// TestContainerPaths runs the driver beside a real containerd container
// (overlayfs snapshotter) whose first process works on files, and checks
// that its events carry the container's paths and the process's host pid:
// a file created, written and renamed below /tmp (the overlay's upper
// layer), /etc/passwd read (a lower layer), a file of the image removed (a
// whiteout), a directory made. No event of the process may name a host
// path of the runtime's directories (layers or work directory), and each
// open is reported once although overlayfs opens a layer's file beneath
// the process's. (Before the container's first exec, the process is runc
// preparing the container, whose events have host paths.)
func TestContainerPaths(t *testing.T) {
	requireRoot(t)
	rt := runtimetest.Require(t)
	_, c := startDriver(t, nil, nil)
	script := "echo vigil > /tmp/x && cat /etc/passwd > /dev/null && mkdir /tmp/d && mv /tmp/x /tmp/y && " +
		"rm /etc/group && rm /tmp/y && exec sleep 600"
	_, pid := rt.CtrRunCommand(t, "vigil-fanotify-paths", false, "sh", "-c", script)
	// The shell runs mkdir, mv and rm in child processes: the events of
	// the container's process are those of pid and its descendants
	// (clone events come before their children's events).
	tree := map[int64]bool{int64(pid): true}
	var treeMu sync.Mutex
	mine := func(ev *driver.Event) bool {
		treeMu.Lock()
		defer treeMu.Unlock()
		if ev.Type == evtClone && ev.Proc != nil && tree[ev.Proc.PPid] {
			tree[ev.Pid] = true
		}
		return tree[ev.Pid]
	}
	const wait = 10 * time.Second

	w := c.waitFor(t, "openat of /tmp/x for writing", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtOpenat && ev.Path == "/tmp/x" && ev.Flags&oAccess != 0
	})
	if w.FDInfo.Name != "/tmp/x" || !w.Created || w.Flags&oCreat == 0 {
		t.Errorf("open of /tmp/x: %s, want fd.name /tmp/x created with O_CREAT", describe(w))
	}
	c.waitFor(t, "openat of /etc/passwd", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtOpenat && ev.Path == "/etc/passwd" && ev.Flags&oAccess == 0
	})
	c.waitFor(t, "mkdirat of /tmp/d", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtMkdirat && ev.Path == "/tmp/d"
	})
	c.waitFor(t, "renameat2 of /tmp/x to /tmp/y", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtRenameat2 && ev.OldPath == "/tmp/x" && ev.NewPath == "/tmp/y"
	})
	c.waitFor(t, "unlinkat of /etc/group (a whiteout)", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtUnlinkat && ev.Path == "/etc/group"
	})
	c.waitFor(t, "unlinkat of /tmp/y", wait, func(ev *driver.Event) bool {
		return mine(ev) && ev.Type == evtUnlinkat && ev.Path == "/tmp/y"
	})
	// The sleep's exec (the process's second, after sh's) comes last;
	// every file event of the script was queued before it.
	execs := 0
	c.waitFor(t, "execve of sleep", wait, func(ev *driver.Event) bool {
		if mine(ev) && ev.Type == evtExecve && ev.Pid == int64(pid) {
			execs++
		}
		return execs == 2
	})
	c.waitFor(t, "expiry of pending opens", wait, func(ev *driver.Event) bool { return ev.Time > w.Time+int64(2*DefaultOpenWait) })

	writes := 0
	evs := c.snapshot()
	for i := range evs {
		mine(&evs[i]) // the whole tree, in emission order
	}
	started := false // runc prepares the container with host paths until it executes sh
	for _, ev := range evs {
		if !mine(&ev) {
			continue
		}
		if ev.Type == evtExecve && ev.Pid == int64(pid) {
			started = true
		}
		if !started {
			continue
		}
		for _, p := range []string{ev.Path, ev.OldPath, ev.NewPath, ev.FDInfo.Name} {
			if strings.HasPrefix(p, rt.Base) {
				t.Errorf("host path in %s", describe(&ev))
			}
		}
		if ev.Type == evtOpenat && ev.Path == "/tmp/x" {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("%d openat events of /tmp/x, want 1:\n%s", writes, c.dump(func(ev *driver.Event) bool { return tree[ev.Pid] }))
	}
}
