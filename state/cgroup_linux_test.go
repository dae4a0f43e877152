package state

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// cgroupMount returns a cgroup hierarchy a test may create cgroups in: the
// cgroup2 mount, or else the v1 pids hierarchy.
func cgroupMount(t *testing.T) string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	v1 := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 {
			continue
		}
		switch {
		case fs[2] == "cgroup2":
			return fs[1]
		case fs[2] == "cgroup" && v1 == "" && strings.Contains(","+fs[3]+",", ",pids,"):
			v1 = fs[1]
		}
	}
	if v1 == "" {
		t.Skip("no cgroup hierarchy mounted")
	}
	return v1
}

// TestPrivilegedContainerCgroups moves real processes into cgroups named
// the way container runtimes name them and checks the container identity
// the state layer finds: on first sight (lazy /proc read) and on exec of a
// process that a runtime moved into the container's cgroup (as runc does).
func TestPrivilegedContainerCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	mnt := cgroupMount(t)
	var rnd [4 + 4*32]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(mnt, "vigil-test-"+hex.EncodeToString(rnd[:4]))
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = hex.EncodeToString(rnd[4+32*i : 4+32*(i+1)])
	}
	styles := []struct {
		rel  string
		want CgroupID
	}{
		{"docker/" + ids[0], CgroupID{FullID: ids[0], Type: TypeDocker}},
		{"system.slice/docker-" + ids[1] + ".scope", CgroupID{FullID: ids[1], Type: TypeDocker}},
		{"kubepods/besteffort/pod" + pod + "/" + ids[2], CgroupID{FullID: ids[2], Type: TypeCRI, PodUID: pod}},
		{"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + strings.ReplaceAll(pod, "-", "_") + ".slice/crio-" + ids[3] + ".scope",
			CgroupID{FullID: ids[3], Type: TypeCRIO, PodUID: pod}},
	}
	t.Cleanup(func() {
		// Deepest first; processes are gone by now.
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	})
	s := realState(t)
	self := int64(os.Getpid())
	for _, st := range styles {
		t.Run(strings.SplitN(st.rel, "/", 2)[0], func(t *testing.T) {
			dir := filepath.Join(top, st.rel)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Skip("cannot create cgroups here:", err)
			}
			start := func() *exec.Cmd {
				cmd := exec.Command("sleep", "30")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				})
				return cmd
			}
			join := func(pid int) {
				if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
					t.Fatal("join cgroup:", err)
				}
			}

			// First sight of a process already in the container.
			a := start()
			join(a.Process.Pid)
			pid := int64(a.Process.Pid)
			ev := &driver.Event{Type: et("openat"), Tid: pid, Pid: pid, Time: time.Now().UnixNano()}
			s.Handle(ev)
			checkContainer(t, "lazy", ev, st.want)

			// runc: a child of ours (a host process) moves into the
			// cgroup, then execs the container's program.
			b := start()
			pid = int64(b.Process.Pid)
			fe := &driver.Event{Type: et("clone"), Tid: pid, Pid: pid, Time: time.Now().UnixNano(),
				Proc: &driver.Process{Has: driver.ProcHasPid | driver.ProcHasPPid, Pid: pid, Tid: pid, PPid: self}}
			s.Handle(fe)
			if fe.Container == nil || fe.Container.ID != "host" {
				t.Fatalf("forked child container = %+v, want host", fe.Container)
			}
			join(b.Process.Pid)
			ee := execEv(pid, "/bin/sleep", "30")
			s.Handle(ee)
			checkContainer(t, "exec", ee, st.want)
			if ee.Container != ev.Container {
				t.Error("two processes of one container do not share its Container")
			}
		})
	}
}

func checkContainer(t *testing.T, what string, ev *driver.Event, want CgroupID) {
	t.Helper()
	c := ev.Container
	if c == nil || c.ID != want.ID() || c.FullID != want.FullID || c.Type != want.Type || c.PodUID != want.PodUID {
		t.Errorf("%s: Container = %+v, want %+v", what, c, want)
	}
}
