package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	containers "github.com/containerd/containerd/api/services/containers/v1"
	namespaces "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc/metadata"
)

// Containerd is a Source speaking containerd's own gRPC API
// (containerd.services.containers.v1 and namespaces.v1) over its socket,
// for containers that no CRI knows: those started with ctr, nerdctl or
// another containerd client. The generated types of
// github.com/containerd/containerd/api are used, not the containerd
// client module (which brings in most of containerd).
//
// containerd has no "privileged" flag: a container counts as privileged
// when its OCI spec looks like the one oci.WithPrivileged makes (no masked
// or read-only paths, no seccomp profile, CAP_SYS_ADMIN effective). Its
// name is its "name" label (nerdctl's "nerdctl/name" label), or its id.
type Containerd struct {
	conn grpcConn
	h    health
}

// NewContainerd returns a containerd source trying sockets in order.
func NewContainerd(sockets []string) *Containerd {
	return &Containerd{conn: grpcConn{sockets: sockets}}
}

// Name implements Source.
func (c *Containerd) Name() string { return "containerd " + strings.Join(c.conn.sockets, ",") }

// Close closes the connection.
func (c *Containerd) Close() error { return c.conn.Close() }

// namespaceHeader is the gRPC metadata key containerd reads the namespace
// of a request from.
const namespaceHeader = "containerd-namespace"

// Lookup implements Source. It asks every containerd namespace ("default"
// first) for the id.
func (c *Containerd) Lookup(ctx context.Context, fullID string) (*Meta, error) {
	if err := c.h.check(); err != nil {
		return nil, err
	}
	cc, err := c.conn.get()
	if err != nil {
		c.h.fail(err)
		return nil, err
	}
	fail := func(err error) (*Meta, error) {
		answered, err := classify(c.Name(), err)
		if !answered {
			c.conn.drop()
			c.h.fail(err)
		}
		return nil, err
	}
	nl, err := namespaces.NewNamespacesClient(cc).List(ctx, &namespaces.ListNamespacesRequest{})
	if err != nil {
		return fail(err)
	}
	c.h.ok()
	names := make([]string, 0, len(nl.GetNamespaces()))
	for _, n := range nl.GetNamespaces() {
		names = append(names, n.GetName())
	}
	slices.SortStableFunc(names, func(a, b string) int {
		return boolInt(b == "default") - boolInt(a == "default")
	})
	cl := containers.NewContainersClient(cc)
	for _, ns := range names {
		r, err := cl.Get(metadata.AppendToOutgoingContext(ctx, namespaceHeader, ns), &containers.GetContainerRequest{ID: fullID})
		if err != nil {
			if answered, err := classify(c.Name(), err); answered && errors.Is(err, ErrNotFound) {
				continue
			}
			return fail(err)
		}
		ct := r.GetContainer()
		var spec []byte
		if ct.GetSpec() != nil {
			spec = ct.GetSpec().GetValue()
		}
		m, err := DecodeContainerd(ct.GetID(), ct.GetImage(), ct.GetLabels(), spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name(), err)
		}
		if t := ct.GetCreatedAt(); t != nil {
			m.Start = t.AsTime()
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: %s: %w", c.Name(), fullID, ErrNotFound)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ociSpec is the part of an OCI runtime spec (JSON) Vigil uses.
type ociSpec struct {
	Process *struct {
		User struct {
			UID      uint32 `json:"uid"`
			Username string `json:"username"`
		} `json:"user"`
		Capabilities *struct {
			Effective []string `json:"effective"`
		} `json:"capabilities"`
	} `json:"process"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Linux *struct {
		Namespaces []struct {
			Type string `json:"type"`
			Path string `json:"path"`
		} `json:"namespaces"`
		MaskedPaths   []string        `json:"maskedPaths"`
		ReadonlyPaths []string        `json:"readonlyPaths"`
		Seccomp       json.RawMessage `json:"seccomp"`
	} `json:"linux"`
}

// DecodeContainerd builds Meta from a containerd container record: its id,
// image reference, labels and OCI runtime spec (JSON; may be empty). It
// returns an error when the spec is not valid JSON.
func DecodeContainerd(id, image string, labels map[string]string, spec []byte) (*Meta, error) {
	m := &Meta{ID: id, Type: TypeContainerd, Labels: labels}
	m.setImage(image)
	switch {
	case labels["name"] != "":
		m.Name = labels["name"]
	case labels["nerdctl/name"] != "":
		m.Name = labels["nerdctl/name"]
	case labels[labelContainerName] != "":
		m.Name = labels[labelContainerName]
	default:
		m.Name = id
	}
	m.podFromLabels(labels)
	if len(spec) == 0 {
		return m, nil
	}
	var s ociSpec
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, fmt.Errorf("decoding the OCI spec of container %s: %w", id, err)
	}
	for _, mt := range s.Mounts {
		bind := mt.Type == "bind"
		rw, prop := true, ""
		for _, o := range mt.Options {
			switch o {
			case "bind", "rbind":
				bind = true
			case "ro":
				rw = false
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				prop = o
			}
		}
		if !bind {
			continue // the runtime's own proc, sysfs, tmpfs... mounts
		}
		mode := "rw"
		if !rw {
			mode = "ro"
		}
		m.Mounts = append(m.Mounts, Mount{Source: mt.Source, Dest: mt.Destination, Mode: mode, RW: rw, Propagation: prop})
	}
	if p := s.Process; p != nil {
		if p.User.Username != "" {
			m.User = p.User.Username
		} else {
			m.User = itoa(int64(p.User.UID))
		}
	}
	if l := s.Linux; l != nil {
		m.HostNetwork, m.HostPID, m.HostIPC, m.HostNSKnown = true, true, true, true
		// A namespace the spec lists is the container's own or one it
		// joins (a pod's); one it does not list is the host's.
		for _, ns := range l.Namespaces {
			switch ns.Type {
			case "network":
				m.HostNetwork = false
			case "pid":
				m.HostPID = false
			case "ipc":
				m.HostIPC = false
			}
		}
		sysAdmin := s.Process != nil && s.Process.Capabilities != nil &&
			slices.Contains(s.Process.Capabilities.Effective, "CAP_SYS_ADMIN")
		seccomp := len(l.Seccomp) > 0 && string(l.Seccomp) != "null"
		m.Privileged = sysAdmin && len(l.MaskedPaths) == 0 && len(l.ReadonlyPaths) == 0 && !seccomp
		m.PrivilegedKnown = true
	}
	return m, nil
}
