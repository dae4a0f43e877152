package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// EngineVersion is the version of Falco's rules engine whose language Vigil
// implements: Falco 0.44's engine, 0.62.0. A rules file whose
// required_engine_version has another major version or is newer fails to
// load.
const EngineVersion = "0.62.0"

// ContainerPluginVersion is the version of Falco's container plugin whose
// fields (container.*, k8s.*) Vigil provides natively; a
// required_plugin_versions entry for "container" is checked against it.
const ContainerPluginVersion = "0.7.1"

// SourceSyscall is the only event source Vigil runs rules for.
const SourceSyscall = "syscall"

type semver struct{ major, minor, patch uint64 }

var reSemver = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// parseSemver parses "x.y.z" (anything after the patch number is ignored,
// as libsinsp's sinsp_version does).
func parseSemver(s string) (semver, bool) {
	m := reSemver.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return semver{}, false
	}
	var v [3]uint64
	for i := range v {
		n, err := strconv.ParseUint(m[i+1], 10, 64)
		if err != nil {
			return semver{}, false
		}
		v[i] = n
	}
	return semver{v[0], v[1], v[2]}, true
}

func (v semver) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v semver) less(o semver) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	return v.patch < o.patch
}

// compatibleWith reports whether v satisfies a requirement of req: same
// major version and not older.
func (v semver) compatibleWith(req semver) bool {
	return v.major == req.major && !v.less(req)
}

// PluginRequirement is one entry of required_plugin_versions: a plugin name
// and the minimum version (same major) the rules need.
type PluginRequirement struct {
	Name    string
	Version string
}

// Plugin is a plugin available at run time, for CheckPlugins.
type Plugin struct {
	Name    string
	Version string
}

// CheckPlugins checks the rules' plugin requirements against the available
// plugins, as Falco does after loading every rules file: each requirement
// (a list of alternatives) is satisfied when one alternative names an
// available plugin whose version has the same major version and is not
// older. It returns one error per unsatisfied requirement, nil when all are
// satisfied.
func (rs *Ruleset) CheckPlugins(available []Plugin) []error {
	return checkPlugins(rs.RequiredPlugins, available)
}

func checkPlugins(reqs [][]PluginRequirement, available []Plugin) []error {
	var errs []error
	for _, alts := range reqs {
		ok := false
		for _, r := range alts {
			want, vok := parseSemver(r.Version)
			for _, p := range available {
				have, hok := parseSemver(p.Version)
				if p.Name == r.Name && vok && hok && have.compatibleWith(want) {
					ok = true
				}
			}
		}
		if !ok {
			var names []string
			for _, r := range alts {
				names = append(names, fmt.Sprintf("%s (>= %s)", r.Name, r.Version))
			}
			errs = append(errs, fmt.Errorf("plugin requirement not satisfied, must load one of: %s", strings.Join(names, ", ")))
		}
	}
	return errs
}
