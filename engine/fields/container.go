package fields

import (
	"fmt"
	"strconv"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/glob"
)

// cont returns the event's container when every bit of m is available.
func cont(ev *driver.Event, m driver.Mask) *driver.Container {
	c := ev.Container
	if c == nil || !c.Has.Has(m) {
		return nil
	}
	return c
}

func contStr(m driver.Mask, get func(*driver.Container) string) Extractor {
	return strX(func(ev *driver.Event) (string, bool) {
		c := cont(ev, m)
		if c == nil {
			return "", false
		}
		return get(c), true
	})
}

func contBool(m driver.Mask, get func(*driver.Container) bool) Extractor {
	return numX(TypeBool, func(ev *driver.Event) (int64, bool) {
		c := cont(ev, m)
		if c == nil {
			return 0, false
		}
		return boolNum(get(c)), true
	})
}

// appendMount renders one mount as "source:dest:mode:rdwr:propagation".
func appendMount(dst []byte, m *driver.Mount) []byte {
	dst = append(dst, m.Source...)
	dst = append(dst, ':')
	dst = append(dst, m.Dest...)
	dst = append(dst, ':')
	dst = append(dst, m.Mode...)
	dst = append(dst, ':')
	dst = strconv.AppendBool(dst, m.RW)
	dst = append(dst, ':')
	return append(dst, m.Propagation...)
}

// appendLabels renders labels as "k1:v1, k2:v2".
func appendLabels(dst []byte, ls []driver.Label) []byte {
	for i, l := range ls {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, l.Key...)
		if l.Value != "" {
			dst = append(dst, ':')
			dst = append(dst, l.Value...)
		}
	}
	return dst
}

// mountPart selects what container.mount* yields from a mount.
type mountPart uint8

const (
	mountAll mountPart = iota
	mountSource
	mountDest
	mountMode
	mountRdwr
	mountPropagation
)

// bindMount binds container.mount[...] and its sub-fields. The argument is
// a mount index or a glob (fnmatch without FNM_PATHNAME: '*' crosses '/').
// Like the container plugin, the glob is matched against the mount source
// for every sub-field except container.mount.source, which matches it
// against the destination; the first matching mount is used. No match
// means unavailable.
func bindMount(name string, part mountPart) binder {
	return func(arg string, hasArg bool) (Extractor, error) {
		if !hasArg || arg == "" {
			return Extractor{}, fmt.Errorf("field %s requires an argument (a mount index or path glob)", name)
		}
		idx := -1
		if isIndex(arg) {
			n, err := parseIndex(name, arg)
			if err != nil {
				return Extractor{}, err
			}
			idx = n
		}
		pattern := arg
		find := func(c *driver.Container) *driver.Mount {
			if idx >= 0 {
				if idx < len(c.Mounts) {
					return &c.Mounts[idx]
				}
				return nil
			}
			for i := range c.Mounts {
				m := &c.Mounts[i]
				key := m.Source
				if part == mountSource {
					key = m.Dest
				}
				if glob.Match(pattern, key, false) {
					return m
				}
			}
			return nil
		}
		var sc scratch
		return strX(func(ev *driver.Event) (string, bool) {
			c := cont(ev, driver.ContHasMounts)
			if c == nil {
				return "", false
			}
			m := find(c)
			if m == nil {
				return "", false
			}
			switch part {
			case mountSource:
				return m.Source, true
			case mountDest:
				return m.Dest, true
			case mountMode:
				return m.Mode, true
			case mountRdwr:
				if m.RW {
					return "true", true
				}
				return "false", true
			case mountPropagation:
				return m.Propagation, true
			}
			return sc.str(appendMount(sc.reset(), m)), true
		}), nil
	}
}

// bindLabel binds a "label[key]" field over the labels get returns.
func bindLabel(name string, m driver.Mask, get func(*driver.Container) []driver.Label) binder {
	return func(arg string, hasArg bool) (Extractor, error) {
		if !hasArg || arg == "" {
			return Extractor{}, fmt.Errorf("field %s requires a label key argument", name)
		}
		return strX(func(ev *driver.Event) (string, bool) {
			c := cont(ev, m)
			if c == nil {
				return "", false
			}
			for _, l := range get(c) {
				if l.Key == arg {
					return l.Value, true
				}
			}
			return "", false
		}), nil
	}
}

func containerFields() []*Field {
	const c = "container"
	d := func(name string, t Type, desc string, x Extractor) *Field {
		return def(c, name, t, 0, desc, stat(x))
	}
	const req = ArgRequired
	mount := func(name string, part mountPart, desc string) *Field {
		return &Field{Name: name, Class: c, Type: TypeString, Flags: req, Desc: desc, Bind: bindMount(name, part)}
	}
	noLabels := func(*driver.Container) []driver.Label { return nil }
	return []*Field{
		d("container.id", TypeString, "Short container id (first 12 hex characters), \"host\" for processes outside containers.", contStr(driver.ContHasID, func(c *driver.Container) string { return c.ID })),
		d("container.full_id", TypeString, "Full container id.", contStr(driver.ContHasID, func(c *driver.Container) string { return c.FullID })),
		d("container.name", TypeString, "Container name as the runtime reports it.", contStr(driver.ContHasName, func(c *driver.Container) string { return c.Name })),
		d("container.image", TypeString, "Image reference the container was started from, e.g. docker.io/library/nginx:1.27.", contStr(driver.ContHasImage, func(c *driver.Container) string { return c.Image })),
		d("container.image.id", TypeString, "Id of the container image.", contStr(driver.ContHasImageID, func(c *driver.Container) string { return c.ImageID })),
		d("container.type", TypeString, "Container runtime: docker, containerd, cri-o, podman, ...", contStr(driver.ContHasType, func(c *driver.Container) string { return c.Type })),
		d("container.privileged", TypeBool, "True when the container runs privileged.", contBool(driver.ContHasPrivileged, func(c *driver.Container) bool { return c.Privileged })),
		def(c, "container.mounts", TypeString, 0, "Every mount of the container as source:dest:mode:rdwr:propagation, comma-separated.", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				ct := cont(ev, driver.ContHasMounts)
				if ct == nil {
					return "", false
				}
				b := sc.reset()
				for i := range ct.Mounts {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendMount(b, &ct.Mounts[i])
				}
				return sc.str(b), true
			})
		}),
		mount("container.mount", mountAll, "One mount as source:dest:mode:rdwr:propagation, chosen by index (container.mount[0]) or by a glob over mount sources (container.mount[/var/run/*])."),
		mount("container.mount.source", mountSource, "Source of one mount, chosen by index or by a glob over mount destinations."),
		mount("container.mount.dest", mountDest, "Destination of one mount, chosen by index or by a glob over mount sources (container.mount.dest[/proc*] is the in-container path of a mount of host /proc...)."),
		mount("container.mount.mode", mountMode, "Mode string of one mount, chosen by index or by a glob over mount sources."),
		mount("container.mount.rdwr", mountRdwr, "\"true\" or \"false\": whether one mount is writable, chosen by index or by a glob over mount sources."),
		mount("container.mount.propagation", mountPropagation, "Propagation mode of one mount, chosen by index or by a glob over mount sources."),
		d("container.image.repository", TypeString, "Repository part of the image reference, e.g. docker.io/library/nginx.", contStr(driver.ContHasImage, func(c *driver.Container) string { return c.ImageRepository })),
		d("container.image.tag", TypeString, "Tag part of the image reference, e.g. 1.27.", contStr(driver.ContHasImage, func(c *driver.Container) string { return c.ImageTag })),
		d("container.image.digest", TypeString, "Registry digest of the image (sha256:...).", contStr(driver.ContHasImageID, func(c *driver.Container) string { return c.ImageDigest })),
		def(c, "container.healthcheck", TypeString, Deprecated, "Deprecated; never has a value.", stat(unavailable(TypeString))),
		def(c, "container.liveness_probe", TypeString, Deprecated, "Deprecated; never has a value.", stat(unavailable(TypeString))),
		def(c, "container.readiness_probe", TypeString, Deprecated, "Deprecated; never has a value.", stat(unavailable(TypeString))),
		d("container.start_ts", TypeAbsTime, "Start time of the container (start of its pid namespace init), nanoseconds since the epoch.",
			numX(TypeAbsTime, func(ev *driver.Event) (int64, bool) {
				ct := cont(ev, driver.ContHasStart)
				if ct == nil || ct.StartTime == 0 {
					return 0, false
				}
				return ct.StartTime, true
			})),
		d("container.duration", TypeRelTime, "Nanoseconds from the container start to the event.",
			numX(TypeRelTime, func(ev *driver.Event) (int64, bool) {
				ct := cont(ev, driver.ContHasStart)
				if ct == nil || ct.StartTime == 0 {
					return 0, false
				}
				return ev.Time - ct.StartTime, true
			})),
		d("container.ip", TypeString, "Primary IPv4 address of the container or pod, from the runtime.", contStr(driver.ContHasIP, func(c *driver.Container) string { return c.IP })),
		d("container.user", TypeString, "User the container was configured to run as.", contStr(driver.ContHasUser, func(c *driver.Container) string { return c.User })),
		d("container.host_pid", TypeBool, "True when the container shares the host pid namespace.", contBool(driver.ContHasHostNS, func(c *driver.Container) bool { return c.HostPID })),
		d("container.host_network", TypeBool, "True when the container shares the host network namespace.", contBool(driver.ContHasHostNS, func(c *driver.Container) bool { return c.HostNetwork })),
		d("container.host_ipc", TypeBool, "True when the container shares the host IPC namespace.", contBool(driver.ContHasHostNS, func(c *driver.Container) bool { return c.HostIPC })),
		{Name: "container.label", Class: c, Type: TypeString, Flags: req,
			Desc: "Value of one container label: container.label[key] or container.label.key. Vigil does not collect container labels yet, so it is unavailable.",
			Bind: bindLabel("container.label", driver.ContHasID, noLabels)},
		def(c, "container.labels", TypeString, 0, "Container labels as \"key:value, ...\". Not collected yet, so unavailable.", stat(unavailable(TypeString))),
	}
}

func k8sFields() []*Field {
	const c = "k8s"
	d := func(name, desc string, x Extractor) *Field {
		return def(c, name, TypeString, 0, desc, stat(x))
	}
	dep := func(name string) *Field {
		return def(c, name, TypeString, Deprecated, "Deprecated stub kept so that old rules load; never has a value.", stat(unavailable(TypeString)))
	}
	depLabel := func(name string) *Field {
		return &Field{Name: name, Class: c, Type: TypeString, Flags: ArgRequired | Deprecated,
			Desc: "Deprecated stub kept so that old rules load; never has a value.",
			Bind: func(arg string, hasArg bool) (Extractor, error) {
				if !hasArg {
					return Extractor{}, fmt.Errorf("field %s requires a label key argument", name)
				}
				return unavailable(TypeString), nil
			}}
	}
	const k = driver.ContHasK8s
	return []*Field{
		d("k8s.pod.name", "Name of the Kubernetes pod the container belongs to.", contStr(k, func(c *driver.Container) string { return c.PodName })),
		d("k8s.ns.name", "Kubernetes namespace of the pod.", contStr(k, func(c *driver.Container) string { return c.Namespace })),
		d("k8s.pod.id", "Legacy alias of k8s.pod.uid.", contStr(k, func(c *driver.Container) string { return c.PodUID })),
		d("k8s.pod.uid", "UID of the Kubernetes pod.", contStr(k, func(c *driver.Container) string { return c.PodUID })),
		{Name: "k8s.pod.label", Class: c, Type: TypeString, Flags: ArgRequired,
			Desc: "Value of one pod label: k8s.pod.label[key] or k8s.pod.label.key.",
			Bind: bindLabel("k8s.pod.label", k, func(c *driver.Container) []driver.Label { return c.PodLabels })},
		def(c, "k8s.pod.labels", TypeString, 0, "Every pod label as \"key:value, ...\".", func() Extractor {
			var sc scratch
			return strX(func(ev *driver.Event) (string, bool) {
				ct := cont(ev, k)
				if ct == nil {
					return "", false
				}
				return sc.str(appendLabels(sc.reset(), ct.PodLabels)), true
			})
		}),
		d("k8s.pod.ip", "Primary IP address of the pod (same as container.ip).", contStr(driver.ContHasIP, func(c *driver.Container) string { return c.IP })),
		d("k8s.container.name", "Name of the container inside its Kubernetes pod.", contStr(k, func(c *driver.Container) string { return c.K8sContainerName })),
		dep("k8s.rc.name"), dep("k8s.rc.id"), depLabel("k8s.rc.label"), dep("k8s.rc.labels"),
		dep("k8s.svc.name"), dep("k8s.svc.id"), depLabel("k8s.svc.label"), dep("k8s.svc.labels"),
		dep("k8s.ns.id"), depLabel("k8s.ns.label"), dep("k8s.ns.labels"),
		dep("k8s.rs.name"), dep("k8s.rs.id"), depLabel("k8s.rs.label"), dep("k8s.rs.labels"),
		dep("k8s.deployment.name"), dep("k8s.deployment.id"), depLabel("k8s.deployment.label"), dep("k8s.deployment.labels"),
	}
}
