// Package container looks up container metadata (name, image, privileges,
// mounts, Kubernetes pod) from the container runtimes of the machine: the
// Docker Engine API (docker, and podman's Docker-compatible API), the CRI
// API (containerd's CRI plugin, cri-o) and containerd's own API (containers
// started with ctr or another containerd client).
//
// Each runtime is a Source. A Resolver asks the sources in an order chosen
// by the runtime the cgroup path named, and fills a driver.Container. A
// source whose socket is missing or whose runtime is down answers at once
// with ErrUnavailable until a backoff delay has passed, so that a dead
// runtime never slows the caller; the Resolver logs each source's state
// changes once, not per lookup.
package container

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// Errors a Source returns (possibly wrapped).
var (
	// ErrNotFound: the runtime answered and does not know the container.
	ErrNotFound = errors.New("container not found")
	// ErrUnavailable: the runtime could not be asked (no socket, runtime
	// down, API not served); the lookup may succeed later.
	ErrUnavailable = errors.New("container runtime unavailable")
)

// Runtime names used as Meta.Type, as Falco's container.type shows them.
const (
	TypeDocker     = "docker"
	TypeContainerd = "containerd"
	TypeCRIO       = "cri-o"
	TypePodman     = "podman"
	TypeCRI        = "cri"
)

// Source is one container runtime's metadata API.
type Source interface {
	// Name identifies the source in logs: its kind and socket.
	Name() string
	// Lookup returns the metadata of the container with the runtime's
	// full id. It returns an error wrapping ErrNotFound when the runtime
	// does not know the id and ErrUnavailable when it cannot be asked.
	Lookup(ctx context.Context, fullID string) (*Meta, error)
}

// Meta is what a runtime tells about a container. Members a runtime does
// not report are zero, with their *Known flag false where zero is a value.
type Meta struct {
	ID              string // the runtime's full id
	Name            string
	Image           string // the reference the container was created from
	ImageRepository string
	ImageTag        string
	ImageID         string // image id without "sha256:"
	ImageDigest     string // registry digest, "sha256:..."
	Type            string // one of the Type* constants

	Privileged      bool
	PrivilegedKnown bool

	HostPID, HostNetwork, HostIPC bool
	HostNSKnown                   bool

	Mounts []Mount
	Labels map[string]string // container labels
	User   string
	IP     string
	Start  time.Time // zero when unknown

	// Kubernetes pod, from the CRI (or kubelet's labels).
	PodName, PodNamespace, PodUID string
	PodLabels                     map[string]string
	K8sContainerName              string
}

// Mount is one mount from the host (bind mounts and volumes; the runtime's
// own /proc, /dev and /sys mounts are not listed).
type Mount struct {
	Source      string
	Dest        string
	Mode        string
	RW          bool
	Propagation string
}

// Fill copies m into c and sets c's availability bits. c's id is kept.
func (m *Meta) Fill(c *driver.Container) {
	if m.Name != "" {
		c.Name = m.Name
		c.Has |= driver.ContHasName
	}
	if m.Image != "" || m.ImageRepository != "" {
		c.Image, c.ImageRepository, c.ImageTag = m.Image, m.ImageRepository, m.ImageTag
		c.Has |= driver.ContHasImage
	}
	if m.ImageID != "" || m.ImageDigest != "" {
		c.ImageID, c.ImageDigest = m.ImageID, m.ImageDigest
		c.Has |= driver.ContHasImageID
	}
	if m.Type != "" {
		c.Type = m.Type
		c.Has |= driver.ContHasType
	}
	if m.PrivilegedKnown {
		c.Privileged = m.Privileged
		c.Has |= driver.ContHasPrivileged
	}
	if m.HostNSKnown {
		c.HostPID, c.HostNetwork, c.HostIPC = m.HostPID, m.HostNetwork, m.HostIPC
		c.Has |= driver.ContHasHostNS
	}
	c.Mounts = c.Mounts[:0]
	for _, mt := range m.Mounts {
		c.Mounts = append(c.Mounts, driver.Mount(mt))
	}
	c.Has |= driver.ContHasMounts
	if !m.Start.IsZero() {
		c.StartTime = m.Start.UnixNano()
		c.Has |= driver.ContHasStart
	}
	if m.User != "" {
		c.User = m.User
		c.Has |= driver.ContHasUser
	}
	if m.IP != "" {
		c.IP = m.IP
		c.Has |= driver.ContHasIP
	}
	if m.PodName != "" || m.PodNamespace != "" || m.PodUID != "" {
		c.PodName, c.Namespace, c.K8sContainerName = m.PodName, m.PodNamespace, m.K8sContainerName
		if m.PodUID != "" {
			c.PodUID = m.PodUID
		}
		c.PodLabels = sortedLabels(m.PodLabels)
		c.Has |= driver.ContHasK8s
	}
}

// sortedLabels returns labels as a slice ordered by key.
func sortedLabels(m map[string]string) []driver.Label {
	out := make([]driver.Label, 0, len(m))
	for k, v := range m {
		out = append(out, driver.Label{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b driver.Label) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Kubernetes labels kubelet puts on containers and sandboxes.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// podFromLabels fills m's pod members from kubelet's labels.
func (m *Meta) podFromLabels(labels map[string]string) {
	if v := labels[labelPodName]; v != "" && m.PodName == "" {
		m.PodName = v
	}
	if v := labels[labelPodNamespace]; v != "" && m.PodNamespace == "" {
		m.PodNamespace = v
	}
	if v := labels[labelPodUID]; v != "" && m.PodUID == "" {
		m.PodUID = v
	}
	if v := labels[labelContainerName]; v != "" && m.K8sContainerName == "" {
		m.K8sContainerName = v
	}
}

// ParseImage splits an image reference into repository, tag and digest:
// "docker.io/library/nginx:1.27" gives "docker.io/library/nginx", "1.27",
// ""; "reg:5000/a/b@sha256:..." gives "reg:5000/a/b", "", "sha256:...". A
// reference with neither tag nor digest has the tag "latest", as Falco.
func ParseImage(ref string) (repo, tag, digest string) {
	repo = ref
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo, digest = repo[:i], repo[i+1:]
	}
	slash := strings.LastIndexByte(repo, '/')
	if i := strings.LastIndexByte(repo, ':'); i > slash {
		repo, tag = repo[:i], repo[i+1:]
	}
	if tag == "" && digest == "" && repo != "" {
		tag = "latest"
	}
	return repo, tag, digest
}

// setImage fills m's image members from a reference. An image id given
// as the reference (sha256:<hex>) is only an id.
func (m *Meta) setImage(ref string) {
	if ref == "" {
		return
	}
	if strings.HasPrefix(ref, "sha256:") {
		if m.ImageID == "" {
			m.ImageID = strings.TrimPrefix(ref, "sha256:")
		}
		return
	}
	m.Image = ref
	var digest string
	m.ImageRepository, m.ImageTag, digest = ParseImage(ref)
	if digest != "" {
		m.ImageDigest = digest
	}
}
