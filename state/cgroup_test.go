package state

import (
	"strings"
	"testing"
)

const (
	hexA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	hexB = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	pod  = "0b7a1e52-1111-2222-3333-444455556666"
)

// v1 repeats a path in every hierarchy of this machine's hybrid layout.
func v1(path string) string {
	var b strings.Builder
	for _, h := range []string{"9:name=systemd", "8:pids", "7:blkio", "6:freezer", "5:devices", "4:memory", "3:cpuset", "2:cpuacct", "1:cpu"} {
		b.WriteString(h + ":" + path + "\n")
	}
	return b.String() + "0::" + path + "\n"
}

func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     CgroupID
		ok       bool
	}{
		{"host v2", "0::/\n", CgroupID{}, false},
		{"host v2 user slice", "0::/user.slice/user-1000.slice/session-3.scope\n", CgroupID{}, false},
		{"host hybrid with 32-hex memory path", "9:name=systemd:/\n4:memory:/process_api/45f9afb027eb4540846d57681e310fdc\n0::/\n", CgroupID{}, false},
		{"empty", "", CgroupID{}, false},
		{"docker cgroupfs v2", "0::/docker/" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker cgroupfs v1", v1("/docker/" + hexA), CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker systemd", "0::/system.slice/docker-" + hexA + ".scope\n", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker systemd v1", v1("/system.slice/docker-" + hexA + ".scope"), CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker nested cgroup", "0::/docker/" + hexA + "/init.scope\n", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker in docker", "0::/docker/" + hexA + "/docker/" + hexB + "\n", CgroupID{FullID: hexB, Type: TypeDocker}, true},
		{"ctr default 64hex", v1("/default/" + hexA), CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"ctr default name", "0::/default/ctr-test\n", CgroupID{FullID: "ctr-test", Type: TypeContainerd}, true},
		{"containerd namespace", "0::/moby/" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"containerd k8s.io namespace", "0::/k8s.io/" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"host default not identifier", "0::/default/-x\n", CgroupID{}, false},
		{"host deeper default", "0::/a/default/name\n", CgroupID{}, false},
		{"kubepods cgroupfs", v1("/kubepods/besteffort/pod" + pod + "/" + hexA), CgroupID{FullID: hexA, Type: TypeCRI, PodUID: pod}, true},
		{"kubepods guaranteed", "0::/kubepods/pod" + pod + "/" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeCRI, PodUID: pod}, true},
		{"kubepods pod cgroup only", "0::/kubepods/besteffort/pod" + pod + "\n", CgroupID{}, false},
		{"cri-containerd systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(pod, "-", "_") + ".slice/cri-containerd-" + hexA + ".scope\n",
			CgroupID{FullID: hexA, Type: TypeContainerd, PodUID: pod}, true},
		{"cri-containerd colon", "0::/kubepods-burstable-pod" + strings.ReplaceAll(pod, "-", "_") + ".slice:cri-containerd:" + hexA + "\n",
			CgroupID{FullID: hexA, Type: TypeContainerd, PodUID: pod}, true},
		{"crio systemd", v1("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + strings.ReplaceAll(pod, "-", "_") + ".slice/crio-" + hexA + ".scope"),
			CgroupID{FullID: hexA, Type: TypeCRIO, PodUID: pod}, true},
		{"crio cgroupfs", "0::/kubepods/besteffort/pod" + pod + "/crio-" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeCRIO, PodUID: pod}, true},
		{"crio conmon is host", "0::/machine.slice/crio-conmon-" + hexA + ".scope\n", CgroupID{}, false},
		{"podman systemd", "0::/machine.slice/libpod-" + hexA + ".scope\n", CgroupID{FullID: hexA, Type: TypePodman}, true},
		{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + hexA + ".scope/container\n", CgroupID{FullID: hexA, Type: TypePodman}, true},
		{"podman cgroupfs", "0::/libpod_parent/libpod-" + hexA + "\n", CgroupID{FullID: hexA, Type: TypePodman}, true},
		{"podman conmon is host", "0::/machine.slice/libpod-conmon-" + hexA + ".scope\n", CgroupID{}, false},
		{"containerd systemd scope", "0::/system.slice/containerd-" + hexA + ".scope\n", CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"unknown scope prefix", "0::/system.slice/foo-" + hexA + ".scope\n", CgroupID{}, false},
		{"bare 64hex unknown runtime", "0::/ecs/task/" + hexA + "\n", CgroupID{FullID: hexA}, true},
		{"uppercase hex is not an id", "0::/docker/" + strings.ToUpper(hexA) + "\n", CgroupID{}, false},
		{"63 hex", "0::/docker/" + hexA[:63] + "\n", CgroupID{}, false},
		{"v1 first matching line wins", "3:cpu:/\n2:memory:/docker/" + hexA + "\n0::/\n", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"path with colon", "1:name=x:/docker/" + hexA + "\n", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"no newline at end", "0::/docker/" + hexA, CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"garbage", "docker/" + hexA + "\n::\n:\n0::docker\n", CgroupID{}, false},
	} {
		got, ok := ParseCgroup(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: ParseCgroup(%q) = %+v, %v; want %+v, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestParseCgroupPathTail checks the paths a driver reports when it could
// read only the last levels of a cgroup (".../b/c").
func TestParseCgroupPathTail(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     CgroupID
		ok       bool
	}{
		{"whole path", "/a/docker/" + hexA, CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"docker", ".../docker/" + hexA, CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"systemd scope", ".../docker-" + hexA + ".scope", CgroupID{FullID: hexA, Type: TypeDocker}, true},
		{"nested below a scope", ".../cri-containerd-" + hexA + ".scope/init.scope", CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"kubepods", ".../kubepods/besteffort/pod" + pod + "/" + hexA, CgroupID{FullID: hexA, Type: TypeCRI, PodUID: pod}, true},
		{"pod uid without kubepods", ".../pod" + pod + "/" + hexA, CgroupID{FullID: hexA}, true},
		// The first component of a tail is not the top: no namespace rules.
		{"not a namespace", ".../moby/" + hexA, CgroupID{FullID: hexA}, true},
		{"whole namespace path", "/moby/" + hexA, CgroupID{FullID: hexA, Type: TypeContainerd}, true},
		{"not ctr default", ".../default/ctr-test", CgroupID{}, false},
		{"host", ".../user.slice/user-1000.slice", CgroupID{}, false},
		{"bare dots", "...", CgroupID{}, false},
		{"dots without slash", "...docker/" + hexA, CgroupID{}, false},
		{"empty tail", ".../", CgroupID{}, false},
	} {
		got, ok := ParseCgroupPath(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: ParseCgroupPath(%q) = %+v, %v; want %+v, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCgroupIDShort(t *testing.T) {
	if id := (CgroupID{FullID: hexA}).ID(); id != hexA[:12] {
		t.Errorf("ID = %q", id)
	}
	if id := (CgroupID{FullID: "short"}).ID(); id != "short" {
		t.Errorf("ID = %q", id)
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add(v1("/docker/" + hexA))
	f.Add("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + pod + ".slice/crio-" + hexA + ".scope\n")
	f.Add("0::/default/x\n1:a:/\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, ok := ParseCgroup(in)
		if !ok {
			if c != (CgroupID{}) {
				t.Fatalf("no match but %+v", c)
			}
			return
		}
		if c.FullID == "" || !strings.Contains(in, c.FullID) || len(c.ID()) > 12 {
			t.Fatalf("ParseCgroup(%q) = %+v", in, c)
		}
	})
}
