//go:build linux

// Package runtimetest starts real container runtimes for tests: containerd
// (with its CRI plugin) and dockerd from Debian's packages, installed with
// apt-get when missing, each under its own temporary directory and socket.
// Images are built locally from the host's busybox (no registry).
//
// Tests that use it need root and about half a minute, so Require skips
// them unless VIGIL_REQUIRE_RUNTIMES is set, and then fails them when the
// runtimes cannot be set up. Everything started is stopped and removed when
// the test ends: containers, pods, daemons, shims, mounts, cgroups. Test
// binaries of different packages take turns through a lock file, because
// the runtimes share paths under /run and top-level cgroup names.
//
// Two workarounds are needed on hosts where root lacks CAP_SYS_RESOURCE
// (as in Firecracker VMs): restrict_oom_score_adj in the CRI config, and a
// runc wrapper for dockerd that drops CAP_SYS_RESOURCE from privileged
// containers.
package runtimetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Env is the environment variable that asks for the real-runtime tests.
const Env = "VIGIL_REQUIRE_RUNTIMES"

// lockFile serialises the test binaries that start runtimes.
const lockFile = "/run/vigil-runtimetest.lock"

// Image is the reference of the test image in containerd (namespaces
// default and k8s.io); docker knows it as local/busybox:1.
const Image = "docker.io/local/busybox:1"

// Runtimes are the runtimes a test started.
type Runtimes struct {
	t          testing.TB
	Base       string // temporary directory holding everything
	Sock       string // containerd's socket (also serving the CRI)
	DockerSock string // dockerd's socket
	ImageTar   string // the image tar (OCI layout and docker-archive)
	HostData   string // a host directory the Run helpers bind-mount at /data
	cleanups   []func()

	stopContainerd func()
}

// Require starts containerd and dockerd for t, or skips t when Env is not
// set. It fails t when the runtimes cannot be set up.
func Require(t testing.TB) *Runtimes {
	t.Helper()
	if os.Getenv(Env) == "" {
		t.Skip("starts containerd and dockerd (root, ~30 s); set " + Env + "=1 to run")
	}
	if os.Geteuid() != 0 {
		t.Fatal(Env + " is set but the test is not running as root")
	}
	r := &Runtimes{t: t}
	t.Cleanup(r.cleanup)
	unlock, err := lock()
	if err != nil {
		t.Fatalf("taking %s: %v", lockFile, err)
	}
	r.onCleanup(unlock)
	if err := r.setup(); err != nil {
		t.Fatalf("setting up container runtimes: %v", err)
	}
	return r
}

// lock takes the lock file, waiting for other test binaries.
func lock() (func(), error) {
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// StopContainerd stops containerd (the containers keep running); it may be
// called more than once.
func (r *Runtimes) StopContainerd() { r.stopContainerd() }

// run runs a command with a timeout and returns its trimmed stdout.
func run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Ctr runs ctr against the test containerd in namespace ns and returns
// its trimmed output.
func (r *Runtimes) Ctr(ns string, args ...string) (string, error) {
	return run(60*time.Second, "ctr", append([]string{"-a", r.Sock, "--connect-timeout", "2s", "-n", ns}, args...)...)
}

// Docker runs the docker CLI against the test dockerd and returns its
// trimmed output.
func (r *Runtimes) Docker(args ...string) (string, error) {
	return run(60*time.Second, "/usr/bin/docker", append([]string{"-H", "unix://" + r.DockerSock}, args...)...)
}

func (r *Runtimes) onCleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *Runtimes) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// install installs the packages the tests need when their programs are
// missing, without letting the packages start their services.
func install() error {
	have := true
	for _, p := range []string{"containerd", "ctr", "runc", "dockerd", "/usr/bin/docker", "/bin/busybox", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(p); err != nil {
			have = false
		}
	}
	if have {
		return nil
	}
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policy)
	}
	args := []string{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends",
		"containerd", "runc", "docker.io", "busybox-static"}
	if out, err := exec.Command("apt-cache", "policy", "containerd").Output(); err != nil || !strings.Contains(string(out), "Candidate: 1") {
		if _, err := run(5*time.Minute, "apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"); err != nil {
			return err
		}
	}
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install: %w: %s", err, out)
	}
	return nil
}

// Paths outside the test's base directory that the runtimes create; the
// ones that did not exist before are removed (when empty) at the end.
var runtimeLeftovers = []string{
	"/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc/default", "/run/containerd/runc/k8s.io",
	"/run/containerd/runc/moby", "/run/containerd/runc", "/run/containerd/io.containerd.runtime.v2.task",
	"/run/containerd", "/run/docker/plugins", "/run/docker", "/run/netns", "/etc/docker/key.json", "/etc/docker",
	"/var/lib/containerd", "/var/lib/docker",
}

// cgroupTops are the top-level cgroups the runtimes create.
var cgroupTops = []string{"default", "moby", "docker", "k8s.io", "kubepods"}

func (r *Runtimes) setup() error {
	start := time.Now()
	if err := install(); err != nil {
		return err
	}
	r.t.Logf("packages ready after %v", time.Since(start).Round(time.Millisecond))

	// Leftovers and cgroups that exist now are not ours to remove.
	var mine []string
	for _, p := range runtimeLeftovers {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			mine = append(mine, p)
		}
	}
	var cgMine []string
	for _, h := range cgroupMounts() {
		for _, top := range cgroupTops {
			if _, err := os.Stat(filepath.Join(h, top)); errors.Is(err, os.ErrNotExist) {
				cgMine = append(cgMine, filepath.Join(h, top))
			}
		}
	}
	r.onCleanup(func() {
		for _, d := range cgMine {
			removeCgroupTree(d)
		}
		for _, p := range mine {
			if strings.HasSuffix(p, ".json") {
				os.Remove(p)
			} else {
				_ = syscall.Rmdir(p)
			}
		}
	})

	base, err := os.MkdirTemp("/tmp", "vigil-rt")
	if err != nil {
		return err
	}
	r.Base = base
	r.onCleanup(func() {
		unmountUnder(base)
		if err := os.RemoveAll(base); err != nil {
			r.t.Errorf("removing %s: %v", base, err)
		}
	})
	r.Sock = filepath.Join(base, "containerd.sock")
	r.DockerSock = filepath.Join(base, "docker.Sock")
	r.HostData = filepath.Join(base, "hostdata")
	for _, d := range []string{r.HostData, filepath.Join(base, "cni"), filepath.Join(base, "podlogs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf(`version = 2
root = "%[1]s/containerd/root"
state = "%[1]s/containerd/state"
[grpc]
  address = "%[2]s"
[ttrpc]
  address = "%[2]s.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/local/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "%[1]s/cni"
`, base, r.Sock)
	if err := os.WriteFile(filepath.Join(base, "containerd.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	r.onCleanup(func() {
		if r.stopContainerd != nil {
			r.stopContainerd()
		}
	})
	// Containers, pods and shims go before containerd stops.
	r.onCleanup(r.removeContainerd)
	if err := r.StartContainerd(); err != nil {
		return fmt.Errorf("containerd did not answer: %w; log:\n%s", err, r.Log("containerd"))
	}
	r.t.Logf("containerd up after %v", time.Since(start).Round(time.Millisecond))

	r.ImageTar = filepath.Join(base, "image.tar")
	if err := buildImage(r.ImageTar); err != nil {
		return fmt.Errorf("building the test image: %w", err)
	}
	for _, ns := range []string{"default", "k8s.io"} {
		if _, err := r.Ctr(ns, "image", "import", r.ImageTar); err != nil {
			return err
		}
	}

	wrapper := filepath.Join(base, "runc-nosr")
	if err := os.WriteFile(wrapper, []byte(runcWrapper), 0o755); err != nil {
		return err
	}
	if err := r.daemon("dockerd", "dockerd", "--containerd", r.Sock,
		"--data-root", filepath.Join(base, "docker", "data"), "--exec-root", filepath.Join(base, "docker", "exec"),
		"--pidfile", filepath.Join(base, "docker", "dockerd.pid"), "-H", "unix://"+r.DockerSock,
		"--iptables=false", "--ip6tables=false", "--ip-masq=false", "--bridge=none",
		"--storage-driver=overlay2", "--oom-score-adjust=0",
		"--add-runtime", "runc-nosr="+wrapper, "--default-runtime", "runc-nosr"); err != nil {
		return err
	}
	r.onCleanup(func() {
		if ids, err := r.Docker("ps", "-aq"); err == nil && ids != "" {
			if _, err := r.Docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
				r.t.Errorf("removing docker containers: %v", err)
			}
		}
	})
	if err := WaitFor(20*time.Second, func() error { _, err := r.Docker("version"); return err }); err != nil {
		return fmt.Errorf("dockerd did not answer: %w; log:\n%s", err, r.Log("dockerd"))
	}
	if _, err := r.Docker("load", "-q", "-i", r.ImageTar); err != nil {
		return err
	}
	r.t.Logf("runtimes ready after %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// startDaemon starts a daemon logging to base/name.log (appending) and returns
// a function that stops it by pid (and may be called more than once).
func (r *Runtimes) startDaemon(name string, args ...string) (stop func(), err error) {
	logf, err := os.OpenFile(filepath.Join(r.Base, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(25 * time.Second):
				r.t.Errorf("%s did not stop within 25 s; killing it", name)
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}, nil
}

// daemon starts a daemon that the cleanup stops.
func (r *Runtimes) daemon(name string, args ...string) error {
	stop, err := r.startDaemon(name, args...)
	if err != nil {
		return err
	}
	r.onCleanup(stop)
	return nil
}

// StartContainerd starts containerd (again, after StopContainerd) and waits
// until it answers; the cleanup stops the last one started.
func (r *Runtimes) StartContainerd() error {
	stop, err := r.startDaemon("containerd", "containerd", "--config", filepath.Join(r.Base, "containerd.toml"))
	if err != nil {
		return err
	}
	r.stopContainerd = stop
	return WaitFor(10*time.Second, func() error { _, err := r.Ctr("default", "version"); return err })
}

// Log returns the end of a daemon's log ("containerd" or "dockerd").
func (r *Runtimes) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(r.Base, name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// removeContainerd removes the pods, tasks and containers of every
// containerd namespace, then kills shims of this containerd left behind.
func (r *Runtimes) removeContainerd() {
	if c, err := CRIClient(r.Sock); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if pods, err := c.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, p := range pods.GetItems() {
				if _, err := c.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
					r.t.Errorf("stopping pod: %v", err)
				}
				if _, err := c.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
					r.t.Errorf("removing pod: %v", err)
				}
			}
		}
		cancel()
	}
	nss, _ := r.Ctr("default", "namespaces", "ls", "-q")
	for _, ns := range strings.Fields(nss) {
		tasks, _ := r.Ctr(ns, "task", "ls", "-q")
		for _, id := range strings.Fields(tasks) {
			_, _ = r.Ctr(ns, "task", "kill", "-s", "SIGKILL", id)
		}
		for _, id := range strings.Fields(tasks) {
			_ = WaitFor(10*time.Second, func() error { _, err := r.Ctr(ns, "task", "rm", id); return err })
		}
		cs, _ := r.Ctr(ns, "containers", "ls", "-q")
		for _, id := range strings.Fields(cs) {
			_, _ = r.Ctr(ns, "containers", "rm", id)
		}
	}
	// Shims of this containerd, by pid (after containerd stopped, they
	// would otherwise stay).
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if args := strings.Split(string(cl), "\x00"); strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") &&
			slices.Contains(args, r.Sock) {
			// Its tasks are gone: ask it to leave, then make sure.
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

const runcWrapper = `#!/bin/bash
# runc without CAP_SYS_RESOURCE in privileged containers (root lacks it here).
strip() { [ -f "$1" ] && sed -i -e 's/"CAP_SYS_RESOURCE",//g' -e 's/,"CAP_SYS_RESOURCE"//g' -e 's/\["CAP_SYS_RESOURCE"\]/[]/g' "$1"; }
prev=""; cmd=""; bundle=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle=$a;; --process|-p) strip "$a";; esac
  case "$a" in --bundle=*) bundle=${a#--bundle=};; --process=*) strip "${a#--process=}";; esac
  case "$a" in create|run) [ -z "$cmd" ] && cmd=$a;; esac
  prev=$a
done
[ -n "$cmd" ] && strip "${bundle:-.}/config.json"
exec /usr/sbin/runc "$@"
`

// WaitFor calls f every 100 ms until it succeeds or d has passed, and
// returns its last error. It is for polling a daemon that gives no signal
// when it is ready.
func WaitFor(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cgroupMounts returns the mount points of the cgroup hierarchies.
func cgroupMounts() []string {
	b, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && (f[2] == "cgroup" || f[2] == "cgroup2") {
			out = append(out, f[1])
		}
	}
	return out
}

// removeCgroupTree removes a cgroup and its children (empty ones only).
func removeCgroupTree(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mounts")
	var mps []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			mps = append(mps, f[1])
		}
	}
	slices.Sort(mps)
	for i := len(mps) - 1; i >= 0; i-- {
		_ = unix.Unmount(mps[i], unix.MNT_DETACH)
	}
}

// buildImage writes a busybox image (tags local/busybox:1 and
// local/pause:1) as one tar that is both an OCI image layout (for ctr
// import) and a docker-archive (for docker load). No registry is used.
func buildImage(out string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	list, err := run(10*time.Second, "/bin/busybox", "--list")
	if err != nil {
		return err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch})
	}
	file := func(name string, data []byte, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch})
		_, _ = tw.Write(data)
	}
	link := func(name, target string) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch})
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "run", "sys", "usr"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	file("bin/busybox", bb, 0o755)
	for _, a := range strings.Fields(list) {
		if a != "busybox" {
			link("bin/"+a, "busybox")
		}
	}
	file("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	file("etc/group", []byte("root:x:0:\n"), 0o644)
	link("usr/bin", "../bin")
	if err := tw.Close(); err != nil {
		return err
	}

	blobs := map[string][]byte{}
	put := func(b []byte) (string, int) {
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:])
		blobs[d] = b
		return d, len(b)
	}
	ld, ls := put(layer.Bytes())
	var index, docker []any
	for _, img := range []struct{ name, secs string }{{"local/busybox:1", "3600"}, {"local/pause:1", "2147483647"}} {
		cfg, _ := json.Marshal(map[string]any{
			"architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
			"config": map[string]any{"Env": []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": []string{"/bin/sleep", img.secs}, "WorkingDir": "/"},
			"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + ld}},
		})
		cd, cs := put(cfg)
		man, _ := json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": cs},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + ld, "size": ls}},
		})
		md, ms := put(man)
		index = append(index, map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md, "size": ms,
			"platform":    map[string]any{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]any{"io.containerd.image.name": "docker.io/" + img.name, "org.opencontainers.image.ref.name": strings.SplitN(img.name, ":", 2)[1]},
		})
		docker = append(docker, map[string]any{"Config": "blobs/sha256/" + cd, "RepoTags": []string{img.name}, "Layers": []string{"blobs/sha256/" + ld}})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})
	dm, _ := json.Marshal(docker)

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	ow := tar.NewWriter(f)
	add := func(name string, b []byte) {
		_ = ow.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch})
		_, _ = ow.Write(b)
	}
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", idx)
	add("manifest.json", dm)
	_ = ow.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/", Mode: 0o755, ModTime: epoch})
	_ = ow.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755, ModTime: epoch})
	keys := make([]string, 0, len(blobs))
	for k := range blobs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add("blobs/sha256/"+k, blobs[k])
	}
	if err := ow.Close(); err != nil {
		return err
	}
	return f.Close()
}

// CRIClient returns a CRI runtime client for the socket.
func CRIClient(sock string) (runtimeapi.RuntimeServiceClient, error) {
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return runtimeapi.NewRuntimeServiceClient(cc), nil
}

// RandomID returns a random 64-hex container id.
func RandomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CtrRun starts a ctr container running sleep with a read-only bind
// mount of HostData at /data, and returns its id and host pid.
func (r *Runtimes) CtrRun(t testing.TB, name string, privileged bool) (string, int) {
	t.Helper()
	return r.CtrRunCommand(t, name, privileged, "sleep", "600")
}

// CtrRunCommand is CtrRun with the container's command.
func (r *Runtimes) CtrRunCommand(t testing.TB, name string, privileged bool, command ...string) (string, int) {
	t.Helper()
	id := RandomID()
	args := []string{"run", "-d", "--label", "name=" + name, "--mount", "type=bind,src=" + r.HostData + ",dst=/data,options=rbind:ro"}
	if privileged {
		args = append(args, "--privileged")
	}
	args = append(append(args, Image, id), command...)
	if _, err := r.Ctr("default", args...); err != nil {
		t.Fatal(err)
	}
	out, err := r.Ctr("default", "task", "ls")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return id, pid
		}
	}
	t.Fatalf("task %s not listed:\n%s", id, out)
	return "", 0
}

// CRIRun starts a pod (host network, as kubelet's labels) with one
// container running sleep through the CRI, and returns the container's id
// and pid.
func (r *Runtimes) CRIRun(ctx context.Context, t testing.TB, pod, ns, name string) (string, int) {
	t.Helper()
	return r.CRIRunCommand(ctx, t, pod, ns, name, false, "sleep", "600")
}

// CRIRunCommand is CRIRun with the container's command, on a terminal
// when tty is set.
func (r *Runtimes) CRIRunCommand(ctx context.Context, t testing.TB, pod, ns, name string, tty bool, command ...string) (string, int) {
	t.Helper()
	c, err := CRIClient(r.Sock)
	if err != nil {
		t.Fatal(err)
	}
	uid := "5f3c1a2b-0000-4000-8000-" + RandomID()[:12]
	labels := map[string]string{"app": pod, "io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid}
	pcfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod, Namespace: ns, Uid: uid},
		LogDirectory: filepath.Join(r.Base, "podlogs", ns+"_"+pod),
		Labels:       labels,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod" + uid,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD},
			},
		},
	}
	ps, err := c.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pcfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, r.Log("containerd"))
	}
	ccfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: Image},
		Command:  command,
		Tty:      tty,
		Mounts:   []*runtimeapi.Mount{{HostPath: r.HostData, ContainerPath: "/data", Readonly: true}},
		Labels: map[string]string{"io.kubernetes.container.name": name, "io.kubernetes.pod.name": pod,
			"io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid},
		LogPath: name + ".log",
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD},
		}},
	}
	cr, err := c.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: ps.GetPodSandboxId(), Config: ccfg, SandboxConfig: pcfg})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := c.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.GetContainerId()}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	st, err := c.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: cr.GetContainerId(), Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil || info.Pid <= 0 {
		t.Fatalf("container pid: %v %q", err, st.GetInfo()["info"])
	}
	return cr.GetContainerId(), info.Pid
}

// CtrExec runs a command in a running ctr container (namespace default)
// and returns its output.
func (r *Runtimes) CtrExec(id string, command ...string) (string, error) {
	return r.Ctr("default", append([]string{"task", "exec", "--exec-id", "e" + RandomID()[:12], id}, command...)...)
}
