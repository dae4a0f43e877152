package fanotify

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Container paths.
//
// A process in a container sees its files through the container's mount
// namespace: an overlay mount for the root filesystem, bind mounts of host
// directories. Events that fanotify reports through those mounts carry the
// path the process sees (the event's descriptor is opened on the
// container's mount). Directory-entry events do not: they carry file
// handles, which the driver resolves through a descriptor of a host mount
// of the same filesystem, so a file a container creates in its /tmp is
// reported with the host path of the overlay's upper layer. The functions
// here map such host paths back to the container's: pure functions of the
// container's and the host's mount tables.

// pathKind says how a host path relates to a container's mounts.
type pathKind uint8

const (
	// pathHost: the path is under none of the container's mounts; it is
	// reported as it is.
	pathHost pathKind = iota
	// pathUpper: under an overlay's upper directory.
	pathUpper
	// pathLower: under one of an overlay's lower directories.
	pathLower
	// pathWork: under an overlay's work directory, where the overlay
	// prepares copy-ups and whiteouts; no process names these paths.
	pathWork
	// pathBind: under the source of a bind mount.
	pathBind
)

// pathRule maps host paths under src to container paths under dst.
type pathRule struct {
	src  string // host directory (or file), without a trailing slash
	dst  string // where the container sees it
	kind pathKind
	// dev is the device number (as stat reports it) of the files of an
	// upper layer seen through the overlay; 0 for other rules.
	dev uint64
}

// pathMap is the set of rules for one mount namespace.
type pathMap struct {
	rules []pathRule
}

// overlayLayers returns the layer directories of an overlay mount from its
// super options (mountinfo's last field, escaped): the upper and work
// directories (empty for a read-only overlay) and the lower directories,
// topmost first. Data-only lower layers (after "::", or datadir+) are left
// out: their files are reached only through redirects, under other names.
// Relative layer paths (possible with mount(8) run in some directory) are
// left out too.
func overlayLayers(super string) (upper, work string, lower []string) {
	for super != "" {
		var opt string
		opt, super, _ = strings.Cut(super, ",")
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			continue
		}
		val = unescapeOctal(val)
		switch key {
		case "upperdir":
			upper = cleanLayer(val)
		case "workdir":
			work = cleanLayer(val)
		case "lowerdir+":
			if l := cleanLayer(val); l != "" {
				lower = append(lower, l)
			}
		case "lowerdir":
			lower = appendLowerList(lower, val)
		}
	}
	return upper, work, lower
}

// appendLowerList appends the layers of a lowerdir= list: separated by
// ':', with "\:" standing for a colon in a path and "::" starting the
// data-only layers.
func appendLowerList(lower []string, list string) []string {
	var b strings.Builder
	flush := func() {
		if l := cleanLayer(b.String()); l != "" {
			lower = append(lower, l)
		}
		b.Reset()
	}
	for i := 0; i < len(list); i++ {
		c := list[i]
		switch {
		case c == '\\' && i+1 < len(list):
			i++
			b.WriteByte(list[i])
		case c == ':':
			if i+1 < len(list) && list[i+1] == ':' {
				flush()
				return lower
			}
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return lower
}

// cleanLayer returns an absolute layer path without trailing slashes, or
// "" for a relative or empty one.
func cleanLayer(p string) string {
	if p == "" || p[0] != '/' {
		return ""
	}
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// unescapeOctal undoes the \ooo escapes of mountinfo fields.
func unescapeOctal(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	return unescapeMount([]byte(s))
}

// newPathMap builds the rules of a mount namespace from its mount table
// (ns, from /proc/PID/mountinfo of one of its processes) and the host's
// (host, from the driver's own mountinfo): every overlay's upper, lower and
// work directories map to the overlay's mount point, and every mount of a
// filesystem the host has mounted too (a bind mount such as docker's
// -v /etc:/host/etc, or its /etc/hosts) maps from the host path of its
// root to its mount point. Mounts that show a host path at the same place
// (the host's own mounts, in a namespace that shares them) make no rule.
func newPathMap(ns, host []mount) pathMap {
	var m pathMap
	for i := range ns {
		n := &ns[i]
		if n.point == "" || n.point[0] != '/' {
			continue
		}
		if n.fstype == "overlay" {
			upper, work, lower := overlayLayers(n.super)
			if upper != "" {
				m.rules = append(m.rules, pathRule{src: upper, dst: n.point, kind: pathUpper,
					dev: unix.Mkdev(uint32(n.dev>>32), uint32(n.dev))})
			}
			for _, l := range lower {
				m.rules = append(m.rules, pathRule{src: l, dst: n.point, kind: pathLower})
			}
			if work != "" {
				m.rules = append(m.rules, pathRule{src: work, dst: n.point, kind: pathWork})
			}
			continue
		}
		if skipFS[n.fstype] {
			continue
		}
		if src, ok := hostPathOf(n, host); ok && src != n.point {
			m.rules = append(m.rules, pathRule{src: src, dst: n.point, kind: pathBind})
		}
	}
	return m
}

// hostPathOf returns where the host sees the root of mount n of another
// namespace: below a host mount of the same filesystem whose root contains
// n's root (the one with the longest root).
func hostPathOf(n *mount, host []mount) (string, bool) {
	best := -1
	for i := range host {
		h := &host[i]
		if h.dev != n.dev || !hasPathPrefix(n.root, h.root) {
			continue
		}
		if best < 0 || len(h.root) > len(host[best].root) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	h := &host[best]
	return joinPath(h.point, relPath(n.root, h.root)), true
}

// match returns the rule for host path p (the one with the longest source,
// the first of those) and p relative to the rule's source ("" for the
// source itself). With overlayOnly set, bind-mount rules are not
// considered.
func (m *pathMap) match(p string, overlayOnly bool) (*pathRule, string) {
	var best *pathRule
	for i := range m.rules {
		r := &m.rules[i]
		if overlayOnly && r.kind == pathBind {
			continue
		}
		if (best == nil || len(r.src) > len(best.src)) && hasPathPrefix(p, r.src) {
			best = r
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, relPath(p, best.src)
}

// translate returns the container path of host path p and how p relates to
// the container's mounts; p itself (with pathHost) when no rule applies.
func (m *pathMap) translate(p string, overlayOnly bool) (string, *pathRule) {
	r, rel := m.match(p, overlayOnly)
	if r == nil {
		return p, nil
	}
	return joinPath(r.dst, rel), r
}

// hasPathPrefix reports whether p is dir or below it.
func hasPathPrefix(p, dir string) bool {
	if dir == "/" {
		return p != "" && p[0] == '/'
	}
	return strings.HasPrefix(p, dir) && (len(p) == len(dir) || p[len(dir)] == '/')
}

// relPath returns p below dir (hasPathPrefix(p, dir)), without a leading
// slash.
func relPath(p, dir string) string {
	if dir == "/" {
		return strings.TrimLeft(p, "/")
	}
	return strings.TrimLeft(p[len(dir):], "/")
}

// joinPath appends rel to the absolute directory dir.
func joinPath(dir, rel string) string {
	switch {
	case rel == "":
		return dir
	case dir == "/":
		return "/" + rel
	}
	return dir + "/" + rel
}

// mountPoint is one mount of a namespace, for finding the mount that holds
// a path.
type mountPoint struct {
	point string
	dev   uint64 // major<<32 | minor, as in mountinfo
}

// mountPoints lists the mounts of a mount table with an absolute mount
// point.
func mountPoints(ms []mount) []mountPoint {
	out := make([]mountPoint, 0, len(ms))
	for i := range ms {
		if p := ms[i].point; p != "" && p[0] == '/' {
			out = append(out, mountPoint{point: p, dev: ms[i].dev})
		}
	}
	return out
}

// mountAt returns the index of the mount holding path p: the one with the
// longest mount point containing p, the last listed of equal ones (mounted
// over the others); -1 when none does.
func mountAt(ms []mountPoint, p string) int {
	best := -1
	for i := range ms {
		if hasPathPrefix(p, ms[i].point) && (best < 0 || len(ms[i].point) >= len(ms[best].point)) {
			best = i
		}
	}
	return best
}
