package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/rules"
)

const chartDir = "helm/vigil"

// manifests are the objects of one deployment, decoded strictly.
type manifests struct {
	namespaces      []*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	services        []*corev1.Service
	daemonSets      []*appsv1.DaemonSet
}

// splitDocuments splits a multi-document YAML stream, dropping documents
// that hold only comments or whitespace.
func splitDocuments(t *testing.T, data []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("split YAML documents: %v", err)
		}
		var m map[string]any
		if err := sigsyaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("YAML document:\n%s\n%v", doc, err)
		}
		if len(m) > 0 {
			docs = append(docs, doc)
		}
	}
}

// decodeStrict decodes every document into its k8s.io/api type, failing on
// unknown or duplicate fields and on kinds other than those Vigil uses.
func decodeStrict(t *testing.T, name string, docs [][]byte) *manifests {
	t.Helper()
	m := &manifests{}
	for i, doc := range docs {
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			o := &corev1.Namespace{}
			m.namespaces, obj = append(m.namespaces, o), o
		case "v1 ServiceAccount":
			o := &corev1.ServiceAccount{}
			m.serviceAccounts, obj = append(m.serviceAccounts, o), o
		case "v1 ConfigMap":
			o := &corev1.ConfigMap{}
			m.configMaps, obj = append(m.configMaps, o), o
		case "v1 Service":
			o := &corev1.Service{}
			m.services, obj = append(m.services, o), o
		case "apps/v1 DaemonSet":
			o := &appsv1.DaemonSet{}
			m.daemonSets, obj = append(m.daemonSets, o), o
		default:
			t.Fatalf("%s: document %d: unexpected %q %q", name, i, tm.APIVersion, tm.Kind)
		}
		if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s: document %d (%s): strict decoding: %v\n%s", name, i, tm.Kind, err, doc)
		}
	}
	return m
}

// expect is what a deployment must look like.
type expect struct {
	namespace   string
	driver      string   // engine.kind in vigil.yaml
	caps        []string // capabilities added, in any order
	hostNetwork bool
	port        int32
	metrics     bool
	// runtime sockets whose directory (or file) must be mounted read-only
	sockets []string
	// extra checks on the parsed configuration
	checkConfig func(t *testing.T, c *config.Config)
}

var allCaps = []string{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"}

var defaultSockets = []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock", "/run/podman/podman.sock", "/var/run/docker.sock"}

// check asserts the properties every deployment of Vigil needs.
func (m *manifests) check(t *testing.T, want expect) {
	t.Helper()
	if len(m.daemonSets) != 1 {
		t.Fatalf("%d DaemonSets, want 1", len(m.daemonSets))
	}
	ds := m.daemonSets[0]
	checkMeta(t, ds.ObjectMeta, want.namespace)
	pod := &ds.Spec.Template
	spec := &pod.Spec

	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("DaemonSet selector %v: %v", ds.Spec.Selector, err)
	}
	if !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("DaemonSet selector %v does not match the pod labels %v", sel, pod.Labels)
	}
	for k, v := range pod.Labels {
		if errs := validation.IsQualifiedName(k); errs != nil {
			t.Errorf("pod label %q: %v", k, errs)
		}
		if errs := validation.IsValidLabelValue(v); errs != nil {
			t.Errorf("pod label %q=%q: %v", k, v, errs)
		}
	}

	if !spec.HostPID {
		t.Error("hostPID is false: Vigil must see the host's processes in /proc")
	}
	if spec.HostNetwork != want.hostNetwork {
		t.Errorf("hostNetwork = %v, want %v", spec.HostNetwork, want.hostNetwork)
	}
	if spec.HostNetwork && spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork with dnsPolicy %q, want ClusterFirstWithHostNet", spec.DNSPolicy)
	}
	if spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName = %q", spec.PriorityClassName)
	}
	if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Operator == corev1.TolerationOpExists && tl.Key == "" && tl.Effect == ""
	}) {
		t.Errorf("no toleration of every taint: %+v", spec.Tolerations)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the service account token is mounted; Vigil does not use the API")
	}
	if len(m.serviceAccounts) > 0 && !slices.ContainsFunc(m.serviceAccounts, func(sa *corev1.ServiceAccount) bool {
		return sa.Name == spec.ServiceAccountName
	}) {
		t.Errorf("serviceAccountName %q is none of the ServiceAccounts", spec.ServiceAccountName)
	}
	for _, sa := range m.serviceAccounts {
		checkMeta(t, sa.ObjectMeta, want.namespace)
	}
	for _, ns := range m.namespaces {
		if ns.Name != want.namespace {
			t.Errorf("Namespace %q, want %q", ns.Name, want.namespace)
		}
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
			t.Errorf("Namespace %s does not allow privileged pods: %v", ns.Name, ns.Labels)
		}
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := &spec.Containers[0]
	if !strings.HasPrefix(c.Image, "ghcr.io/vigilsec/vigil") {
		t.Errorf("image %q", c.Image)
	}
	if len(c.Args) < 3 || !slices.Equal(c.Args[:3], []string{"run", "-c", "/etc/vigil/vigil.yaml"}) {
		t.Errorf("args %q, want run -c /etc/vigil/vigil.yaml", c.Args)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "FALCO_HOSTNAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
	}) {
		t.Error("FALCO_HOSTNAME is not the node name: alerts would name the pod")
	}

	// Probes: /healthz on the webserver's port, through the named port.
	var httpPort int32
	for _, p := range c.Ports {
		if errs := validation.IsValidPortName(p.Name); errs != nil {
			t.Errorf("port name %q: %v", p.Name, errs)
		}
		if p.Name == "http" {
			httpPort = p.ContainerPort
		}
	}
	if httpPort != want.port {
		t.Errorf("container port http = %d, want %d", httpPort, want.port)
	}
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
	for _, name := range slices.Sorted(maps.Keys(probes)) {
		p := probes[name]
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP GET", name)
			continue
		}
		if p.HTTPGet.Path != "/healthz" || resolvePort(c, p.HTTPGet.Port) != want.port {
			t.Errorf("%s probe GET %s on port %s, want /healthz on %d", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), want.port)
		}
	}

	// Resources.
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[res]; !ok {
			t.Errorf("no %s request", res)
		}
		if _, ok := c.Resources.Limits[res]; !ok {
			t.Errorf("no %s limit", res)
		}
	}

	// Security context: explicit capabilities, not privileged.
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no capabilities in the container's securityContext")
	}
	if sc.Privileged == nil || *sc.Privileged {
		t.Error("the container is privileged; it should have explicit capabilities")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root file system is writable")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Error("not running as uid 0: capabilities would not be effective")
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities dropped %v, want [ALL]", sc.Capabilities.Drop)
	}
	var added []string
	for _, cp := range sc.Capabilities.Add {
		if !slices.Contains(allCaps, string(cp)) {
			t.Errorf("capability %q is not one the drivers need", cp)
		}
		added = append(added, string(cp))
	}
	slices.Sort(added)
	wantCaps := slices.Sorted(slices.Values(want.caps))
	if !slices.Equal(added, wantCaps) {
		t.Errorf("capabilities %v, want %v", added, wantCaps)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeUnconfined {
		t.Errorf("seccomp profile %+v, want Unconfined", sc.SeccompProfile)
	}
	if sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != corev1.AppArmorProfileTypeUnconfined {
		t.Errorf("AppArmor profile %+v, want Unconfined", sc.AppArmorProfile)
	}

	// Volumes and mounts.
	volumes := make(map[string]*corev1.Volume)
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if errs := validation.IsDNS1123Label(v.Name); errs != nil {
			t.Errorf("volume name %q: %v", v.Name, errs)
		}
		if volumes[v.Name] != nil {
			t.Errorf("volume %q twice", v.Name)
		}
		volumes[v.Name] = v
	}
	mounts := make(map[string]corev1.VolumeMount) // by mount path
	for _, vm := range c.VolumeMounts {
		if volumes[vm.Name] == nil {
			t.Errorf("volume mount %s: no volume %q", vm.MountPath, vm.Name)
		}
		if _, dup := mounts[vm.MountPath]; dup {
			t.Errorf("two mounts at %s", vm.MountPath)
		}
		mounts[vm.MountPath] = vm
	}
	hostMount := func(mountPath string) (corev1.VolumeMount, *corev1.HostPathVolumeSource) {
		vm, ok := mounts[mountPath]
		if !ok || volumes[vm.Name] == nil || volumes[vm.Name].HostPath == nil {
			return vm, nil
		}
		return vm, volumes[vm.Name].HostPath
	}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		vm, hp := hostMount(f)
		if hp == nil || hp.Path != f || !vm.ReadOnly {
			t.Errorf("the host's %s is not mounted read-only at %s", f, f)
		}
	}
	for _, p := range []string{"/proc", "/sys", "/sys/kernel/btf", "/dev"} {
		if _, ok := mounts[p]; ok {
			t.Errorf("%s is mounted: hostPID gives the host's /proc, and the container's sysfs has /sys/kernel/btf", p)
		}
	}
	// Every runtime socket is under a read-only host mount.
	var cfgMap *corev1.ConfigMap
	for _, cm := range m.configMaps {
		checkMeta(t, cm.ObjectMeta, want.namespace)
		if _, ok := cm.Data["vigil.yaml"]; ok {
			cfgMap = cm
		}
	}
	if cfgMap == nil {
		t.Fatal("no ConfigMap with vigil.yaml")
	}
	cfg := parseConfig(t, cfgMap.Data["vigil.yaml"])
	sockets := configSockets(cfg)
	for _, s := range want.sockets {
		if !slices.Contains(sockets, s) {
			t.Errorf("container_engines does not use %s (it has %v)", s, sockets)
		}
	}
	used := map[string]bool{} // mount paths that hold a configured socket
	for _, s := range sockets {
		vm, hp := socketMount(s, hostMount)
		switch {
		case hp == nil:
			t.Errorf("runtime socket %s is not on a host mount", s)
		case !vm.ReadOnly:
			t.Errorf("runtime socket %s is mounted writable (%s)", s, vm.MountPath)
		}
		used[vm.MountPath] = true
	}
	// Each engine's sockets are that runtime's sockets on the host: the
	// mount maps the path in the pod onto the runtime's host path.
	for _, e := range []struct {
		name string
		e    config.ContainerEngine
	}{{"docker", cfg.ContainerEngines.Docker}, {"containerd", cfg.ContainerEngines.Containerd}, {"cri", cfg.ContainerEngines.CRI},
		{"crio", cfg.ContainerEngines.CRIO}, {"podman", cfg.ContainerEngines.Podman}} {
		if !e.e.Enabled {
			continue
		}
		for _, s := range e.e.Sockets {
			vm, hp := socketMount(s, hostMount)
			if hp == nil {
				continue // reported above
			}
			host := hostRun(path.Join(hp.Path, strings.TrimPrefix(s, vm.MountPath)))
			if !slices.Contains(engineHostSockets[e.name], host) {
				t.Errorf("container_engines.%s uses %s, which is the host's %s; want one of %v", e.name, s, host, engineHostSockets[e.name])
			}
		}
	}
	// Every runtime mount holds a socket some engine uses.
	for _, vm := range c.VolumeMounts {
		hp := volumes[vm.Name].HostPath
		if hp == nil || !strings.HasPrefix(vm.MountPath, "/run/") && !strings.HasPrefix(vm.MountPath, "/var/run/") || vm.MountPath == "/run/vigil" {
			continue
		}
		if !used[vm.MountPath] {
			t.Errorf("runtime mount %s (host %s) holds no socket of container_engines %v", vm.MountPath, hp.Path, sockets)
		}
	}
	for _, p := range []string{"/var/log/vigil", "/run/vigil"} {
		if vm, ok := mounts[p]; !ok || vm.ReadOnly {
			t.Errorf("%s is not a writable mount (read-only root file system)", p)
		}
	}
	// The configuration comes from the ConfigMap, mounted as a directory so
	// that updates reach the pod.
	if vm, ok := mounts["/etc/vigil"]; !ok || vm.SubPath != "" || volumes[vm.Name].ConfigMap == nil ||
		volumes[vm.Name].ConfigMap.Name != cfgMap.Name {
		t.Errorf("ConfigMap %s is not mounted at /etc/vigil", cfgMap.Name)
	}

	// The configuration agrees with the pod.
	if cfg.Engine.Kind != want.driver {
		t.Errorf("engine.kind = %q, want %q", cfg.Engine.Kind, want.driver)
	}
	w := cfg.Webserver
	if !w.Enabled || w.ListenPort != int(want.port) || w.K8sHealthzEndpoint != "/healthz" || w.PrometheusMetricsEnabled != want.metrics {
		t.Errorf("webserver %+v, want enabled on %d, /healthz, metrics %v", w, want.port, want.metrics)
	}
	if w.ListenAddress != "0.0.0.0" && w.ListenAddress != "::" {
		t.Errorf("webserver listens on %q: probes come from the node", w.ListenAddress)
	}
	if !cfg.JSONOutput || !cfg.StdoutOutput.Enabled {
		t.Error("alerts are not JSON on stdout")
	}
	if cfg.SyslogOutput.Enabled || cfg.LogSyslog {
		t.Error("syslog output or logging is on: there is no syslog daemon in the pod")
	}
	if cfg.FileOutput.Enabled && !strings.HasPrefix(cfg.FileOutput.Filename, "/var/log/vigil/") {
		t.Errorf("file_output.filename %q is not under the writable /var/log/vigil", cfg.FileOutput.Filename)
	}
	checkRules(t, cfg, m.configMaps, mounts, volumes)
	if want.checkConfig != nil {
		want.checkConfig(t, cfg)
	}

	// Prometheus annotations on the pods and the metrics Service.
	if want.metrics {
		checkScrapeAnnotations(t, "pod template", pod.Annotations, want.port)
		if len(m.services) != 1 {
			t.Fatalf("%d Services, want 1 for metrics", len(m.services))
		}
	}
	for _, svc := range m.services {
		checkMeta(t, svc.ObjectMeta, want.namespace)
		checkScrapeAnnotations(t, "Service "+svc.Name, svc.Annotations, want.port)
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s selector %v does not select the pods %v", svc.Name, svc.Spec.Selector, pod.Labels)
		}
		if len(svc.Spec.Ports) != 1 || resolvePort(c, svc.Spec.Ports[0].TargetPort) != want.port {
			t.Errorf("Service %s ports %+v do not reach the webserver on %d", svc.Name, svc.Spec.Ports, want.port)
		}
	}
}

// socketMount finds the mount that holds socket: the socket file itself or
// a directory above it.
func socketMount(socket string, hostMount func(string) (corev1.VolumeMount, *corev1.HostPathVolumeSource)) (corev1.VolumeMount, *corev1.HostPathVolumeSource) {
	for p := socket; p != "/" && p != "."; p = path.Dir(p) {
		if vm, hp := hostMount(p); hp != nil {
			return vm, hp
		}
	}
	return corev1.VolumeMount{}, nil
}

// engineHostSockets are, for each container engine, the host paths of
// the sockets of the runtimes that serve its API (/var/run written /run).
var engineHostSockets = map[string][]string{
	// The Docker Engine API: dockerd, and podman's compatible service.
	"docker":     {"/run/docker.sock", "/run/podman/podman.sock"},
	"containerd": {"/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock"},
	"cri":        {"/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock", "/run/crio/crio.sock"},
	"crio":       {"/run/crio/crio.sock"},
	"podman":     {"/run/podman/podman.sock"},
}

// hostRun writes a host path under /var/run as the same path under /run
// (/var/run is a link to /run on current distributions).
func hostRun(p string) string {
	if rest, ok := strings.CutPrefix(p, "/var/run/"); ok {
		return "/run/" + rest
	}
	return p
}

func checkMeta(t *testing.T, om metav1.ObjectMeta, namespace string) {
	t.Helper()
	if errs := validation.IsDNS1123Subdomain(om.Name); errs != nil {
		t.Errorf("name %q: %v", om.Name, errs)
	}
	if om.Namespace != namespace {
		t.Errorf("%s is in namespace %q, want %q", om.Name, om.Namespace, namespace)
	}
}

func checkScrapeAnnotations(t *testing.T, what string, a map[string]string, port int32) {
	t.Helper()
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(int(port)) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: Prometheus annotations %v, want scrape true, port %d, path /metrics", what, a, port)
	}
}

func resolvePort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

// parseConfig parses vigil.yaml with Vigil's own parser: no errors, no
// warnings.
func parseConfig(t *testing.T, data string) *config.Config {
	t.Helper()
	cfg, warns, err := config.Parse("vigil.yaml", []byte(data))
	if err != nil {
		t.Fatalf("vigil.yaml: %v\n%s", err, data)
	}
	for _, w := range warns {
		t.Errorf("vigil.yaml: warning: %s", w)
	}
	return cfg
}

func configSockets(cfg *config.Config) []string {
	var out []string
	for _, e := range []config.ContainerEngine{cfg.ContainerEngines.Docker, cfg.ContainerEngines.Containerd,
		cfg.ContainerEngines.CRI, cfg.ContainerEngines.CRIO, cfg.ContainerEngines.Podman} {
		if e.Enabled {
			for _, s := range e.Sockets {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkRules loads the rules files the configuration names from the
// ConfigMaps mounted where it names them, with Vigil's rules loader.
func checkRules(t *testing.T, cfg *config.Config, cms []*corev1.ConfigMap, mounts map[string]corev1.VolumeMount, volumes map[string]*corev1.Volume) {
	t.Helper()
	if len(cfg.RulesFiles) == 0 {
		return // the embedded defaults
	}
	var files []rules.File
	for _, f := range cfg.RulesFiles {
		vm, ok := mounts[path.Dir(f)]
		if !ok || !vm.ReadOnly || volumes[vm.Name].ConfigMap == nil {
			t.Errorf("rules file %s: its directory is not a read-only ConfigMap mount", f)
			continue
		}
		var data string
		for _, cm := range cms {
			if cm.Name == volumes[vm.Name].ConfigMap.Name {
				data, ok = cm.Data[path.Base(f)]
			}
		}
		if !ok {
			t.Errorf("rules file %s is not in ConfigMap %s", f, volumes[vm.Name].ConfigMap.Name)
			continue
		}
		files = append(files, rules.File{Name: f, Data: []byte(data)})
	}
	rs, res := rules.LoadFiles(files, nil)
	if err := res.Err(); err != nil {
		t.Errorf("rules in the ConfigMaps: %v", err)
	}
	for _, w := range res.Warnings {
		t.Logf("rules warning: %s", w.String())
	}
	if rs == nil || len(rs.Rules) == 0 {
		t.Error("the ConfigMaps' rules files hold no rules")
	}
}

func TestDaemonSetManifest(t *testing.T) {
	data, err := os.ReadFile("kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := decodeStrict(t, "daemonset.yaml", splitDocuments(t, data))
	if len(m.namespaces) != 1 || len(m.serviceAccounts) != 1 || len(m.configMaps) != 1 || len(m.services) != 1 {
		t.Errorf("want one Namespace, ServiceAccount, ConfigMap and Service; got %d, %d, %d, %d",
			len(m.namespaces), len(m.serviceAccounts), len(m.configMaps), len(m.services))
	}
	m.check(t, expect{
		namespace: "vigil",
		driver:    config.KindAuto,
		caps:      allCaps,
		port:      8765,
		metrics:   true,
		sockets:   defaultSockets,
		checkConfig: func(t *testing.T, c *config.Config) {
			ce := c.ContainerEngines
			if !ce.Docker.Enabled || !ce.Containerd.Enabled || !ce.CRI.Enabled || !ce.CRIO.Enabled || !ce.Podman.Enabled {
				t.Errorf("an engine is disabled: %+v", ce)
			}
		},
	})
}

// renderChart renders the chart as `helm template` does, with vals over
// values.yaml, and returns the documents of every manifest in file order.
func renderChart(t *testing.T, ch *chart.Chart, vals map[string]any) ([][]byte, string) {
	t.Helper()
	opts := chartutil.ReleaseOptions{Name: "vigil", Namespace: "security", Revision: 1, IsInstall: true}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}
	rv, err := chartutil.ToRenderValues(ch, vals, opts, caps)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var docs [][]byte
	var notes string
	for _, name := range slices.Sorted(maps.Keys(out)) {
		switch {
		case strings.HasSuffix(name, "NOTES.txt"):
			notes = out[name]
		case strings.HasSuffix(name, ".yaml"):
			docs = append(docs, splitDocuments(t, []byte(out[name]))...)
		}
	}
	return docs, notes
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	if err := ch.Validate(); err != nil {
		t.Fatalf("chart: %v", err)
	}
	return ch
}

// values parses a values document.
func values(t *testing.T, doc string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(doc))
	if err != nil {
		t.Fatalf("values %q: %v", doc, err)
	}
	return v.AsMap()
}

func TestHelmChart(t *testing.T) {
	ch := loadChart(t)
	driverCaps := map[string][]string{
		"auto":     allCaps,
		"ebpf":     {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"},
		"fanotify": {"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"},
		"procscan": {"SYS_PTRACE", "DAC_READ_SEARCH"},
	}
	tests := []struct {
		name   string
		values string
		want   expect
		// checks on the rendered objects beyond expect
		check func(t *testing.T, m *manifests, notes string)
	}{{
		name:   "defaults",
		values: "",
		want: expect{driver: "auto", caps: driverCaps["auto"], port: 8765, metrics: true, sockets: defaultSockets,
			checkConfig: func(t *testing.T, c *config.Config) {
				ce := c.ContainerEngines
				if !ce.Docker.Enabled || !ce.Containerd.Enabled || !ce.CRI.Enabled || !ce.CRIO.Enabled || !ce.Podman.Enabled {
					t.Errorf("an engine is disabled: %+v", ce)
				}
			}},
		check: func(t *testing.T, m *manifests, notes string) {
			ds := m.daemonSets[0]
			if img := ds.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/vigilsec/vigil:"+ch.Metadata.AppVersion {
				t.Errorf("image %q, want the chart's appVersion", img)
			}
			if ds.Spec.Template.Annotations["checksum/config"] == "" {
				t.Error("no checksum/config annotation: pods would not roll on a configuration change")
			}
			if len(m.configMaps) != 1 {
				t.Errorf("%d ConfigMaps: default rules need no rules ConfigMap", len(m.configMaps))
			}
			for _, s := range []string{"security", "vigil probe", "/metrics"} {
				if !strings.Contains(notes, s) {
					t.Errorf("NOTES.txt lacks %q:\n%s", s, notes)
				}
			}
		},
	}, {
		name:   "ebpf",
		values: "driver: ebpf\nextraCapabilities: [CAP_SYS_ADMIN]",
		want: expect{driver: "ebpf", caps: append(slices.Clone(driverCaps["ebpf"]), "SYS_ADMIN"), port: 8765,
			metrics: true, sockets: defaultSockets},
	}, {
		name:   "fanotify",
		values: "driver: fanotify",
		want: expect{driver: "fanotify", caps: driverCaps["fanotify"], hostNetwork: true, port: 8765,
			metrics: true, sockets: defaultSockets},
	}, {
		name: "procscan, outputs, custom rules, k3s socket, no docker",
		values: `
driver: procscan
image: {tag: "1.2.3"}
webserver: {port: 9876}
outputs:
  http: {enabled: true, url: "http://sidekick.security.svc:2801/"}
  file: {enabled: true}
rules:
  custom:
    zz_custom.yaml: |-
      - list: vigil_suspicious_ports
        items: [4444]
        override:
          items: append
      - rule: Test rule from the chart
        desc: a rule in a chart value
        condition: spawned_process and proc.name = nc
        output: "nc run (user=%user.name)"
        priority: WARNING
containerRuntimes:
  - {name: containerd, engines: [containerd, cri], hostPath: /run/containerd, mountPath: /run/containerd, socket: containerd.sock, type: DirectoryOrCreate}
  - {name: k3s, engines: [cri], hostPath: /run/k3s/containerd, mountPath: /run/k3s/containerd, socket: containerd.sock, type: DirectoryOrCreate}
config:
  priority: warning
  slack_output: {enabled: true, webhook_url: "https://hooks.slack.invalid/services/T/B/X", minimum_priority: error}
  nats_output: {enabled: true, url: "nats://nats.security.svc:4222"}
  elasticsearch_output: {enabled: true, url: "https://es.security.svc:9200", api_key: "${ES_API_KEY}"}
  webserver: {prometheus_metrics_enabled: false}
extraEnv:
  - name: ES_API_KEY
    valueFrom: {secretKeyRef: {name: vigil-outputs, key: es-api-key}}
`,
		want: expect{driver: "procscan", caps: driverCaps["procscan"], port: 9876, metrics: false,
			sockets: []string{"/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock"},
			checkConfig: func(t *testing.T, c *config.Config) {
				if !c.HTTPOutput.Enabled || c.HTTPOutput.URL != "http://sidekick.security.svc:2801/" {
					t.Errorf("http_output %+v", c.HTTPOutput)
				}
				if !c.FileOutput.Enabled || c.FileOutput.Filename != "/var/log/vigil/events.txt" || !c.FileOutput.KeepAlive {
					t.Errorf("file_output %+v", c.FileOutput)
				}
				if !c.SlackOutput.Enabled || !c.NATSOutput.Enabled || !c.ElasticsearchOutput.Enabled || c.Priority != "warning" {
					t.Error("free-form config keys were not merged")
				}
				if ce := c.ContainerEngines; ce.Docker.Enabled || ce.CRIO.Enabled || ce.Podman.Enabled || !ce.CRI.Enabled || !ce.Containerd.Enabled {
					t.Errorf("container_engines %+v", c.ContainerEngines)
				}
				want := []string{"/etc/vigil/rules.d/vigil_rules.yaml", "/etc/vigil/rules.d/zz_custom.yaml"}
				if !slices.Equal(c.RulesFiles, want) {
					t.Errorf("rules_files %v, want %v", c.RulesFiles, want)
				}
			}},
		check: func(t *testing.T, m *manifests, _ string) {
			ds := m.daemonSets[0]
			if img := ds.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/vigilsec/vigil:1.2.3" {
				t.Errorf("image %q", img)
			}
			if _, ok := ds.Spec.Template.Annotations["prometheus.io/scrape"]; ok {
				t.Error("scrape annotations without metrics")
			}
			if len(m.services) != 0 {
				t.Error("a metrics Service without metrics")
			}
			var logs *corev1.Volume
			for i, v := range ds.Spec.Template.Spec.Volumes {
				if v.Name == "logs" {
					logs = &ds.Spec.Template.Spec.Volumes[i]
				}
			}
			if logs == nil || logs.HostPath == nil || logs.HostPath.Path != "/var/log/vigil" {
				t.Errorf("file output without a host directory: %+v", logs)
			}
			if len(m.configMaps) != 2 {
				t.Errorf("%d ConfigMaps, want the configuration and the rules", len(m.configMaps))
			}
		},
	}, {
		name:   "custom rules only",
		values: "rules:\n  default: false\n  custom:\n    a.yaml: |-\n      - rule: r\n        desc: d\n        condition: evt.type = execve\n        output: o\n        priority: INFO",
		want: expect{driver: "auto", caps: driverCaps["auto"], port: 8765, metrics: true, sockets: defaultSockets,
			checkConfig: func(t *testing.T, c *config.Config) {
				if !slices.Equal(c.RulesFiles, []string{"/etc/vigil/rules.d/a.yaml"}) {
					t.Errorf("rules_files %v", c.RulesFiles)
				}
			}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, notes := renderChart(t, ch, values(t, tc.values))
			m := decodeStrict(t, tc.name, docs)
			tc.want.namespace = "security"
			m.check(t, tc.want)
			if tc.check != nil {
				tc.check(t, m, notes)
			}
		})
	}
}

// TestHelmChartRejects checks that values that cannot work fail rendering
// with a message naming the value.
func TestHelmChartRejects(t *testing.T) {
	ch := loadChart(t)
	for _, tc := range []struct{ values, msg string }{
		{"driver: kmod", "driver"},
		{"rules: {default: false}", "no rules"},
		{"rules: {custom: {'../x.yaml': '- list: l\n  items: []'}}", "rules.custom"},
		{"rules: {custom: {vigil_rules.yaml: '- list: l\n  items: []'}}", "default rules file"},
		{"outputs: {http: {enabled: true}}", "outputs.http.url"},
		{"config: {webserver: {enabled: false}}", "webserver"},
		{"containerRuntimes: [{name: Bad_Name, engines: [cri], hostPath: /x, mountPath: /x, socket: s}]", "containerRuntimes"},
	} {
		rv, err := chartutil.ToRenderValues(ch, values(t, tc.values), chartutil.ReleaseOptions{Name: "vigil", Namespace: "security"}, chartutil.DefaultCapabilities)
		if err == nil {
			_, err = engine.Render(ch, rv)
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("values %q: error %v, want one mentioning %q", tc.values, err, tc.msg)
		}
	}
}

// TestHelmLint runs helm lint's checks (Chart.yaml, values, templates).
func TestHelmLint(t *testing.T) {
	l := lint.All(chartDir, nil, "security", false)
	for _, msg := range l.Messages {
		if msg.Severity > support.InfoSev {
			t.Errorf("helm lint: %s", msg)
		} else {
			t.Logf("helm lint: %s", msg)
		}
	}
}

// TestChartDefaultRules checks that the chart's copy of the default ruleset
// (loaded before custom rules) is the one embedded in Vigil.
func TestChartDefaultRules(t *testing.T) {
	embedded := rules.DefaultFiles()
	copies, err := filepath.Glob(filepath.Join(chartDir, "rules", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != len(embedded) {
		t.Errorf("chart has %d default rules files, Vigil embeds %d", len(copies), len(embedded))
	}
	for _, f := range embedded {
		got, err := os.ReadFile(filepath.Join(chartDir, "rules", path.Base(f.Name)))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s/rules/%s differs from rules/%s: cp rules/default/*.yaml deploy/helm/vigil/rules/", chartDir, path.Base(f.Name), f.Name)
		}
	}
}

// TestPrometheusExample checks that the scrape example is YAML with the two
// jobs and that its relabel regexps compile (Prometheus uses RE2, anchored).
func TestPrometheusExample(t *testing.T) {
	data, err := os.ReadFile("prometheus/scrape.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ScrapeConfigs []struct {
			JobName        string `json:"job_name"`
			RelabelConfigs []struct {
				Regex string `json:"regex"`
			} `json:"relabel_configs"`
		} `json:"scrape_configs"`
	}
	if err := sigsyaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, sc := range doc.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
		for _, rc := range sc.RelabelConfigs {
			if _, err := regexp.Compile("^(?:" + rc.Regex + ")$"); err != nil {
				t.Errorf("job %s: regex %q: %v", sc.JobName, rc.Regex, err)
			}
		}
	}
	if !slices.Equal(jobs, []string{"vigil", "vigil-hosts"}) {
		t.Errorf("jobs %v", jobs)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestSystemdUnit verifies deploy/systemd/vigil.service with
// systemd-analyze: it must load with no warning at all.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	unit, err := os.ReadFile("systemd/vigil.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart exists and is executable: point it at one
	// that does.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/vigil run -c /etc/vigil/vigil.yaml\n")) {
		t.Error("ExecStart is not /usr/local/bin/vigil run -c /etc/vigil/vigil.yaml")
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	verify := func(p string) string {
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", p).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("%s(%v)", out, err)
		}
		return string(out)
	}
	// A trivial unit first: where even that does not verify cleanly (no
	// systemd unit tree, for example), the tool cannot judge ours.
	if out := verify(write("trivial.service", []byte("[Service]\nExecStart="+exe+"\n"))); out != "" {
		t.Skipf("systemd-analyze verify does not work here: %s", out)
	}
	p := write("vigil.service", bytes.ReplaceAll(unit, []byte("/usr/local/bin/vigil"), []byte(exe)))
	if out := verify(p); out != "" {
		t.Errorf("systemd-analyze verify vigil.service:\n%s", out)
	}

	// The hardening score, where this systemd can compute it offline
	// (systemd 250+): it must stay in systemd's "OK" range.
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", p).CombinedOutput()
	mm := exposureRE.FindSubmatch(out)
	if mm == nil {
		t.Logf("systemd-analyze security --offline: no score (%v): %.200s", err, out)
		return
	}
	score, _ := strconv.ParseFloat(string(mm[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", score)
	if score > 5.0 {
		t.Errorf("exposure level %.1f > 5.0: the unit's hardening regressed\n%s", score, out)
	}
}
