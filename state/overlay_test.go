package state

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// containerdRoot is a container's root mount as containerd's overlayfs
// snapshotter makes it (captured from /proc/PID/mountinfo, ids shortened).
const containerdRoot = "1290 1120 0:98 / / rw,relatime master:500 - overlay overlay " +
	"rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs," +
	"upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/9/fs," +
	"workdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/9/work\n" +
	"1291 1290 0:99 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"

func TestUpperFor(t *testing.T) {
	const snap = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/9/fs"
	for _, tc := range []struct {
		name, mountinfo, path, upper, rel string
		ok                                bool
	}{
		{"containerd root", containerdRoot, "/tmp/x", snap, "/tmp/x", true},
		{"other mount on top", containerdRoot, "/proc/self/exe", "", "", false},
		{"mount point prefix is not a parent", containerdRoot, "/procfs/x", snap, "/procfs/x", true},
		{"host ext4", "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n", "/bin/sh", "", "", false},
		{"overlay without upper", "5 1 0:40 / / ro - overlay overlay ro,lowerdir=/a:/b\n", "/bin/sh", "", "", false},
		{"escaped", `5 1 0:40 / / rw - overlay overlay rw,lowerdir=/l,upperdir=/var/my\040dir/up,workdir=/w` + "\n", "/x", "/var/my dir/up", "/x", true},
		{"last mount on / is on top", containerdRoot + "1300 1290 0:5 / / rw - tmpfs tmpfs rw\n", "/tmp/x", "", "", false},
		{"overlay below the root", "22 1 254:1 / / rw - ext4 /dev/vda rw\n7 22 0:41 / /tmp/o/merged rw shared:3 master:1 - overlay overlay rw,upperdir=/tmp/o/up,workdir=/w\n",
			"/tmp/o/merged/bin/dropped", "/tmp/o/up", "/bin/dropped", true},
		{"truncated", "7 1 0:41 / /", "/x", "", "", false},
		{"empty", "", "/x", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upper, rel, ok := upperFor(parseMounts(tc.mountinfo), tc.path)
			if upper != tc.upper || rel != tc.rel || ok != tc.ok {
				t.Errorf("upperFor(%q) = %q, %q, %v; want %q, %q, %v", tc.path, upper, rel, ok, tc.upper, tc.rel, tc.ok)
			}
		})
	}
}

func FuzzParseMounts(f *testing.F) {
	f.Add(containerdRoot, "/tmp/x")
	f.Add(`5 1 0:40 / / rw - overlay overlay rw,upperdir=/a\134b\04`, "/")
	f.Fuzz(func(t *testing.T, mi, path string) {
		if upper, rel, ok := upperFor(parseMounts(mi), path); ok && (upper == "" || !strings.HasSuffix(path, rel)) {
			t.Errorf("upperFor(%q) = %q, %q for %q", path, upper, rel, mi)
		}
	})
}

// TestExeUpperLayer: an executable the container wrote (in its upper
// layer) is flagged upper, one from the image lower; host processes and
// containers whose root is not an overlay keep the driver's flags.
func TestExeUpperLayer(t *testing.T) {
	f, s := seeded(t, nil)
	upper := "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/9/fs"
	f.write(filepath.Join(f.proc, "1", "root", upper, "tmp", "dropped"), "\x7fELF")
	f.add(fakeProc{pid: 600, ppid: 150, exe: "/bin/sh", cmdline: []string{"sh"}, cgroup: v1("/docker/" + hexA)})
	f.write(filepath.Join(f.proc, "600", "mountinfo"), containerdRoot)
	f.symlink("mnt:[4026532600]", filepath.Join(f.proc, "600", "ns", "mnt"))
	f.add(fakeProc{pid: 700, ppid: 150, exe: "/bin/sh", cmdline: []string{"sh"}, cgroup: v1("/docker/" + hexB)})
	f.write(filepath.Join(f.proc, "700", "mountinfo"), "22 1 254:1 / / rw - ext4 /dev/vda rw\n")
	f.symlink("mnt:[4026532700]", filepath.Join(f.proc, "700", "ns", "mnt"))
	s.Handle(openEv(600, 600))
	s.Handle(openEv(700, 700))

	exec := func(pid int64, exe string) *driver.Process {
		t.Helper()
		ev := execEv(pid, exe)
		ev.Proc.Has |= driver.ProcHasExeFlags
		s.Handle(ev)
		if ev.Proc == nil || !ev.Proc.Has.Has(driver.ProcHasExeFlags) {
			t.Fatalf("exec %s in %d: no exe flags: %+v", exe, pid, ev.Proc)
		}
		return ev.Proc
	}
	if p := exec(600, "/tmp/dropped"); !p.ExeUpperLayer || p.ExeLowerLayer {
		t.Errorf("dropped binary: upper %v lower %v, want upper", p.ExeUpperLayer, p.ExeLowerLayer)
	}
	if p := exec(600, "/bin/sh"); p.ExeUpperLayer || !p.ExeLowerLayer {
		t.Errorf("image binary: upper %v lower %v, want lower", p.ExeUpperLayer, p.ExeLowerLayer)
	}
	// The path is looked up below the upper directory, never above it:
	// enough ".." would otherwise reach a file outside it.
	f.write(filepath.Join(f.proc, "1", "root", "tmp", "outside"), "\x7fELF")
	escape := strings.Repeat("/..", 64) + filepath.Join(f.proc, "1", "root", "tmp", "outside")
	if p := exec(600, escape); p.ExeUpperLayer {
		t.Errorf("%s: flagged upper through a path above the upper directory", escape)
	}
	if p := exec(700, "/tmp/dropped"); p.ExeUpperLayer || p.ExeLowerLayer {
		t.Errorf("container without an overlay root: upper %v lower %v", p.ExeUpperLayer, p.ExeLowerLayer)
	}
	f.write(filepath.Join(f.proc, "1", "root", "tmp", "dropped"), "\x7fELF")
	if p := exec(100, "/tmp/dropped"); p.ExeUpperLayer || p.ExeLowerLayer {
		t.Errorf("host process: upper %v lower %v", p.ExeUpperLayer, p.ExeLowerLayer)
	}
}
