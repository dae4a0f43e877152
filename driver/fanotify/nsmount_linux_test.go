package fanotify

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Mount tables captured on Linux 6.18: a ctr container of the runtimetest
// harness (containerd's overlayfs snapshotter under /tmp/vigil-rt*, a
// read-only bind mount at /data), lines of a docker container with
// -v /etc:/host/etc:ro, and the host's.
const (
	ctrMountinfo = `71 47 0:39 / / rw,relatime - overlay overlay rw,lowerdir=/tmp/vigil-rt4096828388/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs,upperdir=/tmp/vigil-rt4096828388/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs,workdir=/tmp/vigil-rt4096828388/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots/3/work
72 71 0:42 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
73 71 0:43 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
74 73 0:44 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
75 73 0:45 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
76 73 0:41 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
77 71 0:46 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
78 71 0:47 / /run rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
79 71 254:0 /tmp/vigil-rt4096828388/hostdata /data ro,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
48 72 0:42 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
53 72 0:43 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
`
	dockerMountinfo = `590 470 0:52 / / rw,relatime master:260 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/1f2e/diff,workdir=/var/lib/docker/overlay2/1f2e/work,nouserxattr
612 590 254:0 /var/lib/docker/containers/9a8b/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw
613 590 254:0 /var/lib/docker/containers/9a8b/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw
614 590 254:0 /etc /host/etc ro,relatime - ext4 /dev/vda rw
615 590 0:60 / /scratch rw,relatime - tmpfs tmpfs rw
616 590 254:16 /vol /srv/vol rw,relatime - ext4 /dev/vdb rw
`
	hostMountinfo = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw
30 22 254:16 / /mnt/disk rw,relatime shared:20 - ext4 /dev/vdb rw
`
)

const snap = "/tmp/vigil-rt4096828388/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots"

func TestOverlayLayers(t *testing.T) {
	tests := []struct {
		name, super string
		upper, work string
		lower       []string
	}{
		{"containerd", "rw,lowerdir=/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work", "/s/3/fs", "/s/3/work", []string{"/s/1/fs"}},
		{"docker, two lowers", "rw,lowerdir=/l/ABC:/l/DEF,upperdir=/d/diff,workdir=/d/work,nouserxattr", "/d/diff", "/d/work", []string{"/l/ABC", "/l/DEF"}},
		{"read-only", "ro,lowerdir=/a:/b:/c", "", "", []string{"/a", "/b", "/c"}},
		{"data-only layers", "ro,lowerdir=/a:/b::/data1::/data2,redirect_dir=follow,metacopy=on", "", "", []string{"/a", "/b"}},
		{"lowerdir+ and datadir+", "ro,lowerdir+=/a,lowerdir+=/b,datadir+=/d", "", "", []string{"/a", "/b"}},
		{"escaped comma, space and colon", `rw,lowerdir=/x\054y:/with\040space:/co\134:lon,upperdir=/u/,workdir=/w//`, "/u", "/w", []string{"/x,y", "/with space", "/co:lon"}},
		{"relative layers left out", "rw,lowerdir=rel:/abs,upperdir=up,workdir=wk", "", "", []string{"/abs"}},
		{"no layers", "rw,xino=off", "", "", nil},
	}
	for _, tt := range tests {
		upper, work, lower := overlayLayers(tt.super)
		if upper != tt.upper || work != tt.work || !slices.Equal(lower, tt.lower) {
			t.Errorf("%s: overlayLayers(%q) = %q %q %q, want %q %q %q", tt.name, tt.super, upper, work, lower, tt.upper, tt.work, tt.lower)
		}
	}
}

func TestPathMap(t *testing.T) {
	host := parseMountinfo([]byte(hostMountinfo), nil)
	ctr := newPathMap(parseMountinfo([]byte(ctrMountinfo), nil), host)
	docker := newPathMap(parseMountinfo([]byte(dockerMountinfo), nil), host)
	tests := []struct {
		name string
		m    *pathMap
		in   string
		want string
		kind pathKind
	}{
		{"upper file", &ctr, snap + "/3/fs/tmp/e2e-write", "/tmp/e2e-write", pathUpper},
		{"upper root", &ctr, snap + "/3/fs", "/", pathUpper},
		{"lower file", &ctr, snap + "/1/fs/etc/passwd", "/etc/passwd", pathLower},
		{"work file", &ctr, snap + "/3/work/work/#129d", "/work/#129d", pathWork},
		{"prefix of a layer, not below it", &ctr, snap + "/3/fsx/tmp", snap + "/3/fsx/tmp", pathHost},
		{"other snapshot", &ctr, snap + "/2/fs/etc/passwd", snap + "/2/fs/etc/passwd", pathHost},
		{"bind mount source", &ctr, "/tmp/vigil-rt4096828388/hostdata/f", "/data/f", pathBind},
		{"host file", &ctr, "/etc/shadow", "/etc/shadow", pathHost},
		{"docker upper", &docker, "/var/lib/docker/overlay2/1f2e/diff/tmp/x", "/tmp/x", pathUpper},
		{"docker second lower", &docker, "/var/lib/docker/overlay2/l/DEF/bin/sh", "/bin/sh", pathLower},
		{"docker bind of a file", &docker, "/var/lib/docker/containers/9a8b/hosts", "/etc/hosts", pathBind},
		{"docker sibling of a bound file", &docker, "/var/lib/docker/containers/9a8b/hostname", "/var/lib/docker/containers/9a8b/hostname", pathHost},
		{"-v /etc:/host/etc", &docker, "/etc/shadow", "/host/etc/shadow", pathBind},
		{"bind of another disk", &docker, "/mnt/disk/vol/a", "/srv/vol/a", pathBind},
	}
	for _, tt := range tests {
		got, r := tt.m.translate(tt.in, false)
		kind := pathHost
		if r != nil {
			kind = r.kind
		}
		if got != tt.want || kind != tt.kind {
			t.Errorf("%s: translate(%q) = %q (kind %d), want %q (kind %d)", tt.name, tt.in, got, kind, tt.want, tt.kind)
		}
	}
	// Paths that came through the container's own mounts are not bind
	// sources: the container's /etc/passwd is not the host's.
	if got, r := docker.translate("/etc/passwd", true); got != "/etc/passwd" || r != nil {
		t.Errorf("overlay only: translate(/etc/passwd) = %q %+v", got, r)
	}
	// The upper layer's rule carries the overlay's device (0:39, as
	// stat encodes it) for matching the overlay's files.
	if r, _ := ctr.match(snap+"/3/fs/tmp/x", false); r == nil || r.dev != 39 {
		t.Errorf("upper rule %+v, want dev 39", r)
	}
	// A namespace sharing the host's mounts has no rules.
	if m := newPathMap(host, host); len(m.rules) != 0 {
		t.Errorf("host mounts as a namespace: %+v", m.rules)
	}
}

func TestMountAt(t *testing.T) {
	ms := mountPoints(parseMountinfo([]byte(ctrMountinfo+"90 73 0:70 / /dev/shm rw - tmpfs tmpfs rw\n"), nil))
	tests := []struct {
		p    string
		want string
		dev  uint64
	}{
		{"/tmp/x", "/", 39},
		{"/", "/", 39},
		{"/data/f", "/data", 254 << 32},
		{"/database", "/", 39},
		{"/dev/shm/a", "/dev/shm", 70}, // the last of two mounts at one place
		{"/proc/keys", "/proc/keys", 43},
		{"relative", "", 0},
	}
	for _, tt := range tests {
		i := mountAt(ms, tt.p)
		switch {
		case tt.want == "" && i >= 0:
			t.Errorf("mountAt(%q) = %+v, want none", tt.p, ms[i])
		case tt.want != "" && (i < 0 || ms[i].point != tt.want || ms[i].dev != tt.dev):
			t.Errorf("mountAt(%q) = %d, want %s (dev %d)", tt.p, i, tt.want, tt.dev)
		}
	}
}

func FuzzPathMap(f *testing.F) {
	f.Add([]byte(ctrMountinfo), snap+"/3/fs/tmp/x")
	f.Add([]byte(dockerMountinfo), "/etc/shadow")
	f.Add([]byte("1 0 0:1 / / rw - overlay o rw,lowerdir=/a\\134::/b::/c,upperdir=/,workdir=//\n"), "/x")
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Add(b, "/proc/self")
	}
	host := parseMountinfo([]byte(hostMountinfo), nil)
	f.Fuzz(func(t *testing.T, mi []byte, p string) {
		ms := parseMountinfo(mi, nil)
		m := newPathMap(ms, host)
		for _, r := range m.rules {
			if r.src == "" || r.src[0] != '/' || r.dst == "" || r.dst[0] != '/' {
				t.Fatalf("rule with a relative path: %+v", r)
			}
		}
		got, r := m.translate(p, false)
		if r == nil {
			if got != p {
				t.Fatalf("no rule, but %q became %q", p, got)
			}
			return
		}
		if !hasPathPrefix(p, r.src) || !hasPathPrefix(got, r.dst) {
			t.Fatalf("%q → %q by %+v", p, got, r)
		}
		if strings.Contains(got, "//") && !strings.Contains(p, "//") && !strings.Contains(r.dst, "//") {
			t.Fatalf("%q → %q by %+v: double slash", p, got, r)
		}
		_ = mountAt(mountPoints(ms), p)
	})
}
