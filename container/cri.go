package container

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRI is a Source speaking the Kubernetes Container Runtime Interface
// (k8s.io/cri-api, runtime.v1) over a unix socket: containerd's CRI plugin
// and cri-o. A lookup is ContainerStatus (verbose, for the privileged flag
// and the sandbox id) and PodSandboxStatus (pod name, namespace, uid,
// labels, IP, host namespaces).
type CRI struct {
	conn grpcConn
	h    health
	typ  atomic.Pointer[string] // container type from the runtime's name, once known
}

// NewCRI returns a CRI source trying sockets in order.
func NewCRI(sockets []string) *CRI { return &CRI{conn: grpcConn{sockets: sockets}} }

// Name implements Source.
func (c *CRI) Name() string { return "cri " + strings.Join(c.conn.sockets, ",") }

// Close closes the connection.
func (c *CRI) Close() error { return c.conn.Close() }

// Lookup implements Source. Container type is the runtime's name as CRI
// Version reports it ("containerd", "cri-o").
func (c *CRI) Lookup(ctx context.Context, fullID string) (*Meta, error) {
	if err := c.h.check(); err != nil {
		return nil, err
	}
	cc, err := c.conn.get()
	if err != nil {
		c.h.fail(err)
		return nil, err
	}
	rs := runtimeapi.NewRuntimeServiceClient(cc)
	cs, err := rs.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: fullID, Verbose: true})
	if err != nil {
		answered, err := classify(c.Name(), err)
		if !answered {
			c.conn.drop()
			c.h.fail(err)
		}
		return nil, err
	}
	c.h.ok()
	m := decodeCRIContainer(cs)
	if m == nil {
		return nil, ErrNotFound
	}
	if t := c.typ.Load(); t != nil {
		m.Type = *t
	} else if v, err := rs.Version(ctx, &runtimeapi.VersionRequest{}); err == nil {
		t := criType(v.GetRuntimeName())
		c.typ.Store(&t)
		m.Type = t
	}
	if sb := criSandboxID(cs.GetInfo()); sb != "" {
		if ps, err := rs.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb}); err == nil {
			addCRISandbox(m, ps.GetStatus())
		}
	}
	return m, nil
}

// criType maps a CRI runtime name onto a container type.
func criType(name string) string {
	switch {
	case strings.Contains(name, "containerd"):
		return TypeContainerd
	case strings.Contains(name, "cri-o"), strings.Contains(name, "crio"):
		return TypeCRIO
	}
	return TypeCRI
}

// criInfo is the part of ContainerStatus's verbose "info" JSON Vigil uses:
// containerd puts the CRI config there, cri-o a privileged flag.
type criInfo struct {
	SandboxID  string `json:"sandboxID"`
	Privileged *bool  `json:"privileged"`
	Config     struct {
		Linux struct {
			SecurityContext struct {
				Privileged       bool `json:"privileged"`
				NamespaceOptions *struct {
					Network int `json:"network"`
					Pid     int `json:"pid"`
					Ipc     int `json:"ipc"`
				} `json:"namespace_options"`
				RunAsUser *struct {
					Value int64 `json:"value"`
				} `json:"run_as_user"`
				RunAsUsername string `json:"run_as_username"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
	RuntimeSpec *struct {
		Process *struct {
			User struct {
				UID uint32 `json:"uid"`
			} `json:"user"`
		} `json:"process"`
	} `json:"runtimeSpec"`
}

func parseCRIInfo(info map[string]string) (criInfo, bool) {
	var ci criInfo
	s := info["info"]
	if s == "" {
		return ci, false
	}
	if err := json.Unmarshal([]byte(s), &ci); err != nil {
		return ci, false
	}
	return ci, true
}

func criSandboxID(info map[string]string) string {
	ci, _ := parseCRIInfo(info)
	return ci.SandboxID
}

// decodeCRIContainer turns a ContainerStatus reply into Meta (nil when the
// reply holds no status).
func decodeCRIContainer(r *runtimeapi.ContainerStatusResponse) *Meta {
	st := r.GetStatus()
	if st == nil {
		return nil
	}
	m := &Meta{ID: st.GetId(), Type: TypeCRI, Labels: st.GetLabels()}
	m.Name = st.GetMetadata().GetName()
	m.setImage(st.GetImage().GetImage())
	if ref := st.GetImageRef(); ref != "" {
		if i := strings.Index(ref, "@sha256:"); i >= 0 {
			m.ImageDigest = ref[i+1:]
		} else {
			m.ImageID = strings.TrimPrefix(ref, "sha256:")
		}
	}
	if ts := st.GetStartedAt(); ts > 0 {
		m.Start = time.Unix(0, ts)
	} else if ts := st.GetCreatedAt(); ts > 0 {
		m.Start = time.Unix(0, ts)
	}
	for _, mt := range st.GetMounts() {
		m.Mounts = append(m.Mounts, Mount{
			Source:      mt.GetHostPath(),
			Dest:        mt.GetContainerPath(),
			RW:          !mt.GetReadonly(),
			Mode:        map[bool]string{true: "ro", false: "rw"}[mt.GetReadonly()],
			Propagation: criPropagation(mt.GetPropagation()),
		})
	}
	if ci, ok := parseCRIInfo(r.GetInfo()); ok {
		sc := ci.Config.Linux.SecurityContext
		m.Privileged, m.PrivilegedKnown = sc.Privileged, true
		if ci.Privileged != nil {
			m.Privileged = *ci.Privileged
		}
		if ns := sc.NamespaceOptions; ns != nil {
			const node = int(runtimeapi.NamespaceMode_NODE)
			m.HostNetwork, m.HostPID, m.HostIPC, m.HostNSKnown = ns.Network == node, ns.Pid == node, ns.Ipc == node, true
		}
		switch {
		case sc.RunAsUsername != "":
			m.User = sc.RunAsUsername
		case sc.RunAsUser != nil:
			m.User = itoa(sc.RunAsUser.Value)
		case ci.RuntimeSpec != nil && ci.RuntimeSpec.Process != nil:
			m.User = itoa(int64(ci.RuntimeSpec.Process.User.UID))
		}
	}
	m.podFromLabels(st.GetLabels())
	return m
}

// addCRISandbox adds the pod's metadata from a PodSandboxStatus.
func addCRISandbox(m *Meta, ps *runtimeapi.PodSandboxStatus) {
	if ps == nil {
		return
	}
	md := ps.GetMetadata()
	m.PodName, m.PodNamespace, m.PodUID = md.GetName(), md.GetNamespace(), md.GetUid()
	m.podFromLabels(ps.GetLabels())
	m.PodLabels = make(map[string]string, len(ps.GetLabels()))
	for k, v := range ps.GetLabels() {
		m.PodLabels[k] = v
	}
	if ip := ps.GetNetwork().GetIp(); ip != "" {
		m.IP = ip
	}
	if ns := ps.GetLinux().GetNamespaces().GetOptions(); ns != nil {
		node := runtimeapi.NamespaceMode_NODE
		m.HostNetwork = ns.GetNetwork() == node
		m.HostPID = m.HostPID || ns.GetPid() == node
		m.HostIPC = ns.GetIpc() == node
		m.HostNSKnown = true
	}
}

func criPropagation(p runtimeapi.MountPropagation) string {
	switch p {
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		return "rslave"
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		return "rshared"
	}
	return "rprivate"
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
