package state

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/driver"
)

// mount is one mount of a mount namespace, for finding an executable's
// layer: its mount point, and the upper (writable) directory when it is an
// overlay file system with one.
type mount struct {
	point, upper string
}

// parseMounts returns the mounts of a /proc/PID/mountinfo text, in order
// (later mounts on the same point are on top).
func parseMounts(mountinfo string) []mount {
	var out []mount
	for line := range strings.Lines(mountinfo) {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		pre, post, found := strings.Cut(strings.TrimRight(line, "\n"), " - ")
		f := strings.Fields(pre)
		if !found || len(f) < 5 || !strings.HasPrefix(f[4], "/") {
			continue
		}
		m := mount{point: unescapeMountinfo(f[4])}
		if g := strings.Fields(post); len(g) >= 3 && g[0] == "overlay" {
			for opt := range strings.SplitSeq(g[2], ",") {
				if v, ok := strings.CutPrefix(opt, "upperdir="); ok && v != "" {
					m.upper = unescapeMountinfo(v)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// upperFor returns the upper directory and the path below the mount for
// path, when the mount path is on (the topmost one with the longest mount
// point) is an overlay with an upper directory.
func upperFor(mounts []mount, path string) (upper, rel string, ok bool) {
	best := -1
	for i, m := range mounts {
		if under(path, m.point) && (best < 0 || len(m.point) >= len(mounts[best].point)) {
			best = i
		}
	}
	if best < 0 || mounts[best].upper == "" {
		return "", "", false
	}
	rel = path
	if p := mounts[best].point; p != "/" {
		rel = path[len(p):]
	}
	return mounts[best].upper, rel, true
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir) && path[len(dir)] == '/'
}

// unescapeMountinfo undoes the kernel's octal escapes of space, tab,
// newline and backslash (\040, \011, \012, \134) in mountinfo fields.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// exeLayer sets the executable's overlay layer flags of a process that
// just executed in container c (not the host): the executable is in the
// upper layer when the overlay file system it is on has a file at its
// path in its upper directory, and in the lower layer otherwise. It needs
// the executable's path and the driver's exe flags (the layer flags are
// added to them). The mounts of the process's mount namespace are read
// once per container and namespace, and again when they do not place the
// executable on an overlay.
func (s *State) exeLayer(c *container, p *driver.Process) {
	if c == nil || c == s.host || !p.Has.Has(driver.ProcHasExePath|driver.ProcHasExeFlags) ||
		!strings.HasPrefix(p.ExePath, "/") {
		return
	}
	pid := strconv.FormatInt(p.Pid, 10)
	read := func() {
		if b, err := os.ReadFile(filepath.Join(s.procRoot, pid, "mountinfo")); err == nil {
			c.mounts = parseMounts(string(b))
		}
	}
	if ns, err := os.Readlink(filepath.Join(s.procRoot, pid, "ns", "mnt")); err == nil && ns != c.mntns {
		c.mntns = ns
		read()
	}
	path := filepath.Clean(p.ExePath)
	upper, rel, ok := upperFor(c.mounts, path)
	if !ok {
		// Mounts may have changed since they were read (an overlay
		// mounted later): read them again before concluding.
		read()
		if upper, rel, ok = upperFor(c.mounts, path); !ok {
			return
		}
	}
	// Cleaning the absolute path first kept it below the directory.
	p.ExeUpperLayer = isRegularFile(filepath.Join(s.hostRoot(), upper, rel))
	p.ExeLowerLayer = !p.ExeUpperLayer
}

// isRegularFile reports whether path (not following a final symlink) is
// a regular file.
func isRegularFile(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}

// hostRoot returns the directory the host's paths (an overlay's upper
// directory) are found under: init's root when Vigil may look at it (so
// that a Vigil in a pod with the host's pids sees the host's files), else
// Vigil's own root.
func (s *State) hostRoot() string {
	if s.hostRootDir == "" {
		s.hostRootDir = "/"
		if root := filepath.Join(s.procRoot, "1", "root"); isDir(root) {
			s.hostRootDir = root
		}
	}
	return s.hostRootDir
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
