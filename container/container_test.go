package container

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/driver"
)

const (
	idA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	idB = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestParseImage(t *testing.T) {
	for _, tc := range []struct{ ref, repo, tag, digest string }{
		{"docker.io/library/nginx:1.27", "docker.io/library/nginx", "1.27", ""},
		{"nginx", "nginx", "latest", ""},
		{"local/busybox:1", "local/busybox", "1", ""},
		{"reg:5000/a/b", "reg:5000/a/b", "latest", ""},
		{"reg:5000/a/b:v2", "reg:5000/a/b", "v2", ""},
		{"a/b@sha256:abcd", "a/b", "", "sha256:abcd"},
		{"a/b:1@sha256:abcd", "a/b", "1", "sha256:abcd"},
		{"", "", "", ""},
	} {
		repo, tag, digest := ParseImage(tc.ref)
		if repo != tc.repo || tag != tc.tag || digest != tc.digest {
			t.Errorf("ParseImage(%q) = %q %q %q, want %q %q %q", tc.ref, repo, tag, digest, tc.repo, tc.tag, tc.digest)
		}
	}
}

// listenUnix listens on a socket in a fresh temporary directory.
func listenUnix(t *testing.T) (net.Listener, string) {
	t.Helper()
	// Socket paths are limited to 108 bytes: t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "vigil-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

const dockerReply = `{"Id":"` + idA + `","Name":"/web","Image":"sha256:eadf1ecfdcea",
 "State":{"StartedAt":"2026-11-27T10:00:00.123456789Z"},
 "Config":{"Image":"local/busybox:1","User":"nobody","Labels":{"a":"b"}},
 "HostConfig":{"Privileged":true,"NetworkMode":"host","PidMode":"","IpcMode":"private"},
 "Mounts":[{"Type":"bind","Source":"/etc","Destination":"/host/etc","Mode":"ro","RW":false,"Propagation":"rprivate"}],
 "NetworkSettings":{"IPAddress":"","Networks":{"bridge":{"IPAddress":"172.17.0.2"}}}}`

// fakeDocker serves the Docker Engine API's container inspect.
func fakeDocker(t *testing.T) (path string, calls *atomic.Int32) {
	l, path := listenUnix(t)
	calls = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.PathValue("id") != idA {
			http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(dockerReply))
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return path, calls
}

func TestDocker(t *testing.T) {
	path, _ := fakeDocker(t)
	d := NewDocker(TypeDocker, []string{"/nonexistent/docker.sock", path})
	m, err := d.Lookup(context.Background(), idA)
	if err != nil {
		t.Fatal(err)
	}
	want := &Meta{ID: idA, Name: "web", Image: "local/busybox:1", ImageRepository: "local/busybox", ImageTag: "1",
		ImageID: "eadf1ecfdcea", Type: TypeDocker, Privileged: true, PrivilegedKnown: true,
		HostNetwork: true, HostNSKnown: true, User: "nobody", IP: "172.17.0.2", Labels: map[string]string{"a": "b"},
		Mounts: []Mount{{Source: "/etc", Dest: "/host/etc", Mode: "ro", Propagation: "rprivate"}},
		Start:  time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)}
	if g, w := js(m), js(want); g != w {
		t.Errorf("Lookup =\n%s\nwant\n%s", g, w)
	}
	if _, err := d.Lookup(context.Background(), idB); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	var c driver.Container
	m.Fill(&c)
	if c.Name != "web" || !c.Privileged || c.ImageTag != "1" || len(c.Mounts) != 1 || c.Mounts[0].Dest != "/host/etc" ||
		!c.Has.Has(driver.ContHasName|driver.ContHasImage|driver.ContHasImageID|driver.ContHasPrivileged|driver.ContHasMounts|
			driver.ContHasHostNS|driver.ContHasStart|driver.ContHasUser|driver.ContHasIP|driver.ContHasType) ||
		c.Has.Has(driver.ContHasK8s) {
		t.Errorf("Fill = %+v", c)
	}
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// TestUnavailable checks a missing socket and a runtime that goes down:
// fast failures wrapping ErrUnavailable, backoff without dialing, and
// recovery.
func TestUnavailable(t *testing.T) {
	dir, err := os.MkdirTemp("", "vigil-sock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docker.sock")
	d := NewDocker(TypeDocker, []string{path})
	now := time.Unix(1000, 0)
	d.h.now = func() time.Time { return now }
	start := time.Now()
	if _, err := d.Lookup(context.Background(), idA); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("missing socket: %v", err)
	}
	// A socket that exists but nobody serves.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Stat(path); err != nil {
		// Closing removed it: make a dead socket file by hand.
		fd, _ := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		fd.SetUnlinkOnClose(false)
		fd.Close()
	}
	if _, err := d.Lookup(context.Background(), idA); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("within the backoff: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := d.Lookup(context.Background(), idA); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("dead socket: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("failures took %v", el)
	}
	// The runtime comes back: found once the backoff has passed.
	os.Remove(path)
	l, err = net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(dockerReply)) })
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	if _, err := d.Lookup(context.Background(), idA); !errors.Is(err, ErrUnavailable) {
		t.Errorf("before the backoff passed: %v", err)
	}
	now = now.Add(time.Minute)
	if m, err := d.Lookup(context.Background(), idA); err != nil || m.Name != "web" {
		t.Errorf("after recovery: %+v, %v", m, err)
	}
}

// fakeCRI implements the RuntimeService calls the CRI source makes.
type fakeCRI struct {
	runtimeapi.UnimplementedRuntimeServiceServer
}

func (fakeCRI) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "containerd", RuntimeVersion: "1.6.20", RuntimeApiVersion: "v1"}, nil
}

func (fakeCRI) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	if r.ContainerId != idA {
		return nil, status.Errorf(codes.NotFound, "container %q not found", r.ContainerId)
	}
	info := `{"sandboxID":"sb1","pid":42,"config":{"linux":{"security_context":{"privileged":true,"namespace_options":{"network":2,"pid":1}}}}}`
	return &runtimeapi.ContainerStatusResponse{
		Status: &runtimeapi.ContainerStatus{
			Id:        idA,
			Metadata:  &runtimeapi.ContainerMetadata{Name: "app"},
			Image:     &runtimeapi.ImageSpec{Image: "docker.io/local/busybox:1"},
			ImageRef:  "sha256:eadf1ecfdcea",
			StartedAt: 1_700_000_000_000_000_000,
			Labels: map[string]string{"io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "prod",
				"io.kubernetes.pod.uid": "uid-1", "io.kubernetes.container.name": "app"},
			Mounts: []*runtimeapi.Mount{{ContainerPath: "/host", HostPath: "/", Readonly: true,
				Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}},
		},
		Info: map[string]string{"info": info},
	}, nil
}

func (fakeCRI) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	if r.PodSandboxId != "sb1" {
		return nil, status.Error(codes.NotFound, "no sandbox")
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{
		Id:       "sb1",
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web-0", Namespace: "prod", Uid: "uid-1"},
		Labels:   map[string]string{"app": "web", "io.kubernetes.pod.name": "web-0"},
		Network:  &runtimeapi.PodSandboxNetworkStatus{Ip: "10.244.0.7"},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}}},
	}}, nil
}

func serveCRI(t *testing.T) string {
	l, path := listenUnix(t)
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, fakeCRI{})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return path
}

func TestCRI(t *testing.T) {
	path := serveCRI(t)
	c := NewCRI([]string{path})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Lookup(ctx, idA)
	if err != nil {
		t.Fatal(err)
	}
	want := &Meta{ID: idA, Name: "app", Image: "docker.io/local/busybox:1", ImageRepository: "docker.io/local/busybox", ImageTag: "1",
		ImageID: "eadf1ecfdcea", Type: TypeContainerd, Privileged: true, PrivilegedKnown: true, HostNetwork: true, HostNSKnown: true,
		Mounts: []Mount{{Source: "/", Dest: "/host", Mode: "ro", Propagation: "rslave"}},
		Labels: map[string]string{"io.kubernetes.pod.name": "web-0", "io.kubernetes.pod.namespace": "prod",
			"io.kubernetes.pod.uid": "uid-1", "io.kubernetes.container.name": "app"},
		IP: "10.244.0.7", Start: time.Unix(0, 1_700_000_000_000_000_000),
		PodName: "web-0", PodNamespace: "prod", PodUID: "uid-1", K8sContainerName: "app",
		PodLabels: map[string]string{"app": "web", "io.kubernetes.pod.name": "web-0"}}
	if g, w := js(m), js(want); g != w {
		t.Errorf("Lookup =\n%s\nwant\n%s", g, w)
	}
	if _, err := c.Lookup(ctx, idB); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	var dc driver.Container
	m.Fill(&dc)
	if dc.PodName != "web-0" || dc.Namespace != "prod" || dc.K8sContainerName != "app" || len(dc.PodLabels) != 2 ||
		dc.PodLabels[0].Key != "app" || !dc.Has.Has(driver.ContHasK8s) {
		t.Errorf("Fill = %+v", dc)
	}
}

// TestCRIUnimplemented: a containerd without its CRI plugin answers
// Unimplemented, which counts as unavailable.
func TestCRIUnimplemented(t *testing.T) {
	l, path := listenUnix(t)
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	c := NewCRI([]string{path})
	defer c.Close()
	if _, err := c.Lookup(context.Background(), idA); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no CRI service: %v", err)
	}
}

func TestResolver(t *testing.T) {
	dockerPath, calls := fakeDocker(t)
	criPath := serveCRI(t)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	missing := NewCRI([]string{"/nonexistent/crio.sock"})
	r := NewResolver([]Source{missing, NewCRI([]string{criPath}), NewDocker(TypeDocker, []string{dockerPath})}, log)
	defer r.Close()
	ctx := context.Background()
	// A docker cgroup asks docker first.
	var c driver.Container
	if err := r.Fill(ctx, idA, TypeDocker, &c); err != nil || c.Name != "web" || c.Type != TypeDocker {
		t.Errorf("docker: %+v, %v", c, err)
	}
	// A kubepods cgroup asks the CRI sources first.
	before := calls.Load()
	m, err := r.Lookup(ctx, idA, TypeCRI)
	if err != nil || m.PodName != "web-0" || calls.Load() != before {
		t.Errorf("cri: %+v, %v, docker asked %d times", m, err, calls.Load()-before)
	}
	// Nobody knows idB, and one source is unreachable.
	if _, err := r.Lookup(ctx, idB, ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unknown id with a source down: %v", err)
	}
	for range 5 {
		_, _ = r.Lookup(ctx, idB, "")
	}
	if n := strings.Count(logs.String(), "/nonexistent/crio.sock"); n != 1 {
		t.Errorf("the missing socket was logged %d times:\n%s", n, logs.String())
	}
	st := r.Stats()
	if st.Lookups != 8 || st.Found != 2 || len(st.Down) != 1 {
		t.Errorf("Stats = %+v", st)
	}
	want := []SourceState{{missing.Name(), false}, {"cri " + criPath, true}, {"docker " + dockerPath, true}}
	if !slices.Equal(st.Sources, want) {
		t.Errorf("Sources = %+v, want %+v", st.Sources, want)
	}
}

// A source no lookup has asked yet is up when its socket exists.
func TestResolverSourcesBeforeLookups(t *testing.T) {
	dockerPath, calls := fakeDocker(t)
	r := NewResolver([]Source{NewDocker(TypeDocker, []string{dockerPath}), NewContainerd([]string{"/nonexistent/containerd.sock"})}, nil)
	defer r.Close()
	want := []SourceState{{"docker " + dockerPath, true}, {"containerd /nonexistent/containerd.sock", false}}
	if st := r.Stats(); !slices.Equal(st.Sources, want) || st.Lookups != 0 || len(st.Down) != 0 {
		t.Errorf("Stats = %+v, want sources %+v", st, want)
	}
	if calls.Load() != 0 {
		t.Errorf("Stats asked the runtime %d times", calls.Load())
	}
}

func TestSourcesFromConfig(t *testing.T) {
	cfg := config.Default().ContainerEngines
	var names []string
	for _, s := range SourcesFromConfig(cfg) {
		names = append(names, s.Name())
	}
	want := "cri /run/containerd/containerd.sock|cri /run/crio/crio.sock|cri /run/k3s/containerd/containerd.sock|" +
		"docker /var/run/docker.sock|containerd /run/containerd/containerd.sock|podman /run/podman/podman.sock"
	if got := strings.Join(names, "|"); got != want {
		t.Errorf("sources:\n%s\nwant\n%s", got, want)
	}
	cfg.CRI.Enabled, cfg.CRIO.Enabled, cfg.Podman.Enabled = false, false, false
	cfg.Docker.Sockets = []string{"/x/d.sock"}
	names = nil
	for _, s := range SourcesFromConfig(cfg) {
		names = append(names, s.Name())
	}
	if got := strings.Join(names, "|"); got != "docker /x/d.sock|containerd /run/containerd/containerd.sock" {
		t.Errorf("sources: %s", got)
	}
}

func TestDecodeContainerd(t *testing.T) {
	spec := `{"process":{"user":{"uid":0},"capabilities":{"effective":["CAP_CHOWN","CAP_SYS_ADMIN"]}},
	 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
	           {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","ro"]},
	           {"destination":"/etc/hosts","source":"/tmp/hosts","options":["rbind","rprivate","rw"]}],
	 "linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}`
	m, err := DecodeContainerd(idA, "docker.io/local/busybox:1", map[string]string{"name": "ctr-test"}, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	want := &Meta{ID: idA, Name: "ctr-test", Image: "docker.io/local/busybox:1", ImageRepository: "docker.io/local/busybox", ImageTag: "1",
		Type: TypeContainerd, Privileged: true, PrivilegedKnown: true, HostNetwork: true, HostNSKnown: true, User: "0",
		Labels: map[string]string{"name": "ctr-test"},
		Mounts: []Mount{{Source: "/srv/data", Dest: "/data", Mode: "ro"}, {Source: "/tmp/hosts", Dest: "/etc/hosts", Mode: "rw", RW: true, Propagation: "rprivate"}}}
	if g, w := js(m), js(want); g != w {
		t.Errorf("DecodeContainerd =\n%s\nwant\n%s", g, w)
	}
	// Masked paths: not privileged.
	m, err = DecodeContainerd(idA, "", nil, []byte(`{"process":{"capabilities":{"effective":["CAP_SYS_ADMIN"]}},"linux":{"maskedPaths":["/proc/kcore"],"namespaces":[{"type":"network"}]}}`))
	if err != nil || m.Privileged || !m.PrivilegedKnown || m.HostNetwork || m.Name != idA {
		t.Errorf("unprivileged: %+v, %v", m, err)
	}
	if _, err := DecodeContainerd(idA, "", nil, []byte("{")); err == nil {
		t.Error("bad spec: no error")
	}
}

func FuzzDecodeDockerInspect(f *testing.F) {
	f.Add([]byte(dockerReply))
	f.Add([]byte(`{"Id":"x","Mounts":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeDockerInspect(b)
		if err == nil && m.ID == "" {
			t.Fatal("no id and no error")
		}
	})
}

func FuzzDecodeContainerd(f *testing.F) {
	f.Add([]byte(`{"mounts":[{"destination":"/d","type":"bind","source":"/s","options":["ro"]}],"linux":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeContainerd("id", "img", nil, b)
		if err == nil && (m.ID != "id" || m.Type != TypeContainerd) {
			t.Fatalf("meta %+v", m)
		}
	})
}

func FuzzParseImage(f *testing.F) {
	f.Add("docker.io/library/nginx:1.27@sha256:abc")
	f.Fuzz(func(t *testing.T, ref string) {
		repo, tag, digest := ParseImage(ref)
		if len(repo)+len(tag)+len(digest) > len(ref)+len("latest") {
			t.Fatalf("%q -> %q %q %q", ref, repo, tag, digest)
		}
	})
}
