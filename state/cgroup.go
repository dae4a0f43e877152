package state

import (
	"slices"
	"strings"
)

// Container runtime types, as Falco's container.type shows them.
const (
	TypeDocker     = "docker"
	TypeContainerd = "containerd"
	TypeCRI        = "cri" // a Kubernetes container whose runtime the cgroup path does not tell
	TypeCRIO       = "cri-o"
	TypePodman     = "podman"
)

// CgroupID is a container's identity as a process's cgroup path tells it.
type CgroupID struct {
	FullID string // the runtime's container id (64 hex characters for the usual runtimes)
	Type   string // runtime, one of the Type* constants; "" when the path does not tell
	PodUID string // Kubernetes pod uid from a kubepods path, "" otherwise
}

// ID returns the short container id: the first 12 characters of FullID.
func (c CgroupID) ID() string {
	if len(c.FullID) > 12 {
		return c.FullID[:12]
	}
	return c.FullID
}

// ParseCgroup finds the container a process belongs to from the contents of
// its /proc/PID/cgroup file: one "hierarchy-id:controllers:path" line per
// cgroup v1 hierarchy and "0::/path" for cgroup v2. The first line whose
// path names a container decides. It returns false for host processes (and
// for paths it does not recognise).
//
// Recognised paths (the innermost matching component wins, so nested
// cgroups below a container still belong to it):
//
//	/docker/<64hex>                                   docker, cgroupfs driver
//	/system.slice/docker-<64hex>.scope                docker, systemd driver
//	/<namespace>/<64hex>, /default/<id>               containerd (ctr)
//	/kubepods/<qos>/pod<uid>/<64hex>                  Kubernetes, cgroupfs driver
//	/kubepods.slice/.../cri-containerd-<64hex>.scope  containerd CRI, systemd driver
//	.../kubepods-...-pod<uid>.slice:cri-containerd:<64hex>
//	.../crio-<64hex>.scope, /crio-<64hex>             cri-o
//	/machine.slice/libpod-<64hex>.scope               podman
//	/libpod_parent/libpod-<64hex>                     podman, cgroupfs driver
func ParseCgroup(contents string) (CgroupID, bool) {
	for len(contents) > 0 {
		var line string
		if i := strings.IndexByte(contents, '\n'); i >= 0 {
			line, contents = contents[:i], contents[i+1:]
		} else {
			line, contents = contents, ""
		}
		// hierarchy-id:controllers:path; the path may itself hold ':'.
		i := strings.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := strings.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		if c, ok := ParseCgroupPath(line[i+1+j+1:]); ok {
			return c, true
		}
	}
	return CgroupID{}, false
}

// scopePrefixes maps the prefixes of "<prefix>-<64hex>.scope" units (the
// systemd cgroup driver's naming) to runtime types.
var scopePrefixes = [...]struct{ prefix, typ string }{
	{"docker-", TypeDocker},
	{"cri-containerd-", TypeContainerd},
	{"containerd-", TypeContainerd},
	{"crio-", TypeCRIO},
	{"libpod-", TypePodman},
}

// ParseCgroupPath finds the container in one cgroup path (see ParseCgroup).
// The path may also be the end of a longer one after ".../" (as a driver
// that reads only the last levels of a deep cgroup reports it, see
// driver.Process.Cgroup): it is matched the same way, except that the
// rules for the second component of a whole path (/<namespace>/<id>,
// /default/<id>) do not apply, since its first component is not the top.
func ParseCgroupPath(path string) (CgroupID, bool) {
	top := true
	if rest, ok := strings.CutPrefix(path, "..."); ok && len(rest) > 0 && rest[0] == '/' {
		path, top = rest, false
	}
	if len(path) < 2 || path[0] != '/' {
		return CgroupID{}, false
	}
	comps := strings.Split(path[1:], "/")
	for i := len(comps) - 1; i >= 0; i-- {
		parent := ""
		if i > 0 {
			parent = comps[i-1]
		}
		if c, ok := matchComponent(comps[i], parent, top && i == 1); ok {
			c.PodUID = podUID(comps[:i+1])
			if c.Type == "" && c.PodUID != "" {
				c.Type = TypeCRI
			}
			return c, true
		}
	}
	return CgroupID{}, false
}

// matchComponent recognises one path component. parent is the component
// above it ("" at the top); second reports that comp is the second
// component of the path (as in /<namespace>/<id>).
func matchComponent(comp, parent string, second bool) (CgroupID, bool) {
	// "<prefix>-<64hex>.scope" and "crio-<64hex>" (cri-o's cgroupfs naming).
	if base, ok := strings.CutSuffix(comp, ".scope"); ok {
		for _, sp := range scopePrefixes {
			if id, ok := strings.CutPrefix(base, sp.prefix); ok && isHex64(id) {
				return CgroupID{FullID: id, Type: sp.typ}, true
			}
		}
		return CgroupID{}, false
	}
	if id, ok := strings.CutPrefix(comp, "crio-"); ok && isHex64(id) {
		return CgroupID{FullID: id, Type: TypeCRIO}, true
	}
	if id, ok := strings.CutPrefix(comp, "libpod-"); ok && isHex64(id) {
		return CgroupID{FullID: id, Type: TypePodman}, true
	}
	// containerd's CRI plugin under a systemd-managed kubelet without
	// SystemdCgroup: "kubepods-...-pod<uid>.slice:cri-containerd:<64hex>".
	if i := strings.LastIndex(comp, ":cri-containerd:"); i >= 0 && isHex64(comp[i+len(":cri-containerd:"):]) {
		return CgroupID{FullID: comp[i+len(":cri-containerd:"):], Type: TypeContainerd}, true
	}
	if isHex64(comp) {
		switch {
		case parent == "docker":
			return CgroupID{FullID: comp, Type: TypeDocker}, true
		case parent == "libpod_parent":
			return CgroupID{FullID: comp, Type: TypePodman}, true
		case strings.HasPrefix(parent, "pod") && isUID(parent[3:]):
			return CgroupID{FullID: comp}, true // Type set from the pod uid
		case second && parent != "":
			// /<containerd namespace>/<id>
			return CgroupID{FullID: comp, Type: TypeContainerd}, true
		}
		return CgroupID{FullID: comp}, true
	}
	// ctr's default cgroup is /default/<id> with any containerd identifier.
	if second && parent == "default" && isIdentifier(comp) {
		return CgroupID{FullID: comp, Type: TypeContainerd}, true
	}
	return CgroupID{}, false
}

// podUID finds the pod uid in the components of a kubepods path: a
// "pod<uid>" component, or "kubepods-<qos>-pod<uid>.slice" with '_' for '-'
// (systemd naming).
func podUID(comps []string) string {
	if !slices.ContainsFunc(comps, func(c string) bool { return strings.Contains(c, "kubepods") }) {
		return ""
	}
	for i := len(comps) - 1; i >= 0; i-- {
		comp := comps[i]
		if j := strings.IndexByte(comp, ':'); j >= 0 {
			comp = comp[:j]
		}
		if s, ok := strings.CutSuffix(comp, ".slice"); ok {
			if j := strings.LastIndex(s, "-pod"); j >= 0 && isUID(s[j+4:]) {
				return strings.ReplaceAll(s[j+4:], "_", "-")
			}
			continue
		}
		if u, ok := strings.CutPrefix(comp, "pod"); ok && isUID(u) {
			return u
		}
	}
	return ""
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isUID accepts a pod uid: hex digits with '-' or '_' separators.
func isUID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isIdentifier accepts a containerd identifier: [A-Za-z0-9][A-Za-z0-9_.-]*,
// at most 76 characters.
func isIdentifier(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}
