package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Docker is a Source speaking the Docker Engine API (GET
// /containers/{id}/json) over a unix socket: dockerd, and podman's
// Docker-compatible service. The API is small and stable, so it is
// spoken with net/http rather than the Docker client module and its
// dependencies.
type Docker struct {
	sockets []string
	typ     string
	client  *http.Client
	h       health
}

// NewDocker returns a Docker source trying sockets in order (the first
// that exists at each attempt is used). typ is the Meta.Type of its
// containers: TypeDocker, or TypePodman for podman's socket.
func NewDocker(typ string, sockets []string) *Docker {
	d := &Docker{sockets: sockets, typ: typ}
	d.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			p, err := socketPath(d.sockets)
			if err != nil {
				return nil, err
			}
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", p)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}}
	return d
}

// Name implements Source.
func (d *Docker) Name() string { return d.typ + " " + strings.Join(d.sockets, ",") }

// Lookup implements Source.
func (d *Docker) Lookup(ctx context.Context, fullID string) (*Meta, error) {
	if err := d.h.check(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/containers/"+url.PathEscape(fullID)+"/json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%s: %w: %w", d.Name(), ErrUnavailable, err)
		}
		d.h.fail(err)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		err = fmt.Errorf("%s: %w: %w", d.Name(), ErrUnavailable, err)
		d.h.fail(err)
		return nil, err
	}
	d.h.ok()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %s: %w", d.Name(), fullID, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: inspect %s: %s", d.Name(), fullID, resp.Status)
	}
	m, err := DecodeDockerInspect(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	m.Type = d.typ
	return m, nil
}

// dockerInspect is the part of GET /containers/{id}/json that Vigil uses.
type dockerInspect struct {
	ID     string `json:"Id"`
	Name   string
	Image  string // image id, sha256:...
	State  struct{ StartedAt string }
	Config struct {
		Image  string
		User   string
		Labels map[string]string
	}
	HostConfig struct {
		Privileged  bool
		NetworkMode string
		PidMode     string
		IpcMode     string
	}
	Mounts []struct {
		Type        string
		Source      string
		Destination string
		Mode        string
		RW          bool
		Propagation string
	}
	NetworkSettings struct {
		IPAddress string
		Networks  map[string]struct{ IPAddress string }
	}
}

// DecodeDockerInspect decodes a Docker Engine API container inspect reply.
// It returns an error for malformed JSON or a reply without an id.
func DecodeDockerInspect(b []byte) (*Meta, error) {
	var r dockerInspect
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding container inspect reply: %w", err)
	}
	if r.ID == "" {
		return nil, errors.New("decoding container inspect reply: no Id")
	}
	m := &Meta{
		ID:              r.ID,
		Name:            strings.TrimPrefix(r.Name, "/"),
		Type:            TypeDocker,
		Privileged:      r.HostConfig.Privileged,
		PrivilegedKnown: true,
		HostNetwork:     r.HostConfig.NetworkMode == "host",
		HostPID:         r.HostConfig.PidMode == "host",
		HostIPC:         r.HostConfig.IpcMode == "host",
		HostNSKnown:     true,
		User:            r.Config.User,
		Labels:          r.Config.Labels,
		IP:              r.NetworkSettings.IPAddress,
	}
	if m.IP == "" {
		for _, n := range r.NetworkSettings.Networks {
			if n.IPAddress != "" {
				m.IP = n.IPAddress
				break
			}
		}
	}
	m.setImage(r.Config.Image)
	m.ImageID = strings.TrimPrefix(r.Image, "sha256:")
	if t, err := time.Parse(time.RFC3339Nano, r.State.StartedAt); err == nil && t.Year() > 1 {
		m.Start = t
	}
	for _, mt := range r.Mounts {
		m.Mounts = append(m.Mounts, Mount{Source: mt.Source, Dest: mt.Destination, Mode: mt.Mode, RW: mt.RW, Propagation: mt.Propagation})
	}
	m.podFromLabels(r.Config.Labels) // dockershim-era Kubernetes
	return m, nil
}
