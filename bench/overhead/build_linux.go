package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// prepare builds the helpers and vigil (and a vigil with procscan's
// interval changed) and writes the scratch file.
func (b *bench) prepare(ctx context.Context, vigilBin string, info *vigilInfo) error {
	src, err := helperSource()
	if err != nil {
		return err
	}
	progress("building the workload helper (gcc)")
	if out, err := exec.CommandContext(ctx, "gcc", "-O2", "-Wall", "-o", b.path("loops"), src).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc %s: %w\n%s", src, err, out)
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(b.path("scratch.dat"), data, 0o644); err != nil {
		return err
	}

	info.Nice = b.nice
	if vigilBin != "" {
		abs, err := filepath.Abs(vigilBin)
		if err != nil {
			return err
		}
		b.vigil = abs
		info.Binary = abs
		info.Version = "given with -vigil"
		return nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	// Build the committed tree (git archive HEAD), not the working tree:
	// the checkout is shared, and others' uncommitted edits must not end
	// up in the measured binary.
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--tags", "--always").Output()
	if err != nil {
		return fmt.Errorf("git describe (pass -vigil to measure a binary outside git): %w", err)
	}
	version := strings.TrimSpace(string(out))
	tree := b.path("src")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return err
	}
	progress("building vigil %s (git archive HEAD of %s)", version, root)
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive --format=tar HEAD | tar -x -C "$2"`, "sh", root, tree)
	if out, err := archive.CombinedOutput(); err != nil {
		return fmt.Errorf("git archive HEAD: %w\n%s", err, out)
	}
	b.vigil = b.path("vigil")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", b.vigil, "./cmd/vigil")
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/vigil: %w\n%s", err, out)
	}
	if b.procscanInterval > 0 {
		if err := patchPollInterval(tree, b.procscanInterval); err != nil {
			return err
		}
		progress("building vigil with procscan polling every %s", b.procscanInterval)
		b.procscanBin = b.path("vigil-procscan")
		cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", b.procscanBin, "./cmd/vigil")
		cmd.Dir = tree
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/vigil (procscan interval %s): %w\n%s", b.procscanInterval, err, out)
		}
	}
	if err := os.RemoveAll(tree); err != nil {
		return err
	}
	info.Binary = "./cmd/vigil at HEAD, built by the harness"
	info.Version = version
	return nil
}

// helperSource finds csrc/loops.c beside this program's source.
func helperSource() (string, error) {
	cands := []string{"bench/overhead/csrc/loops.c", "csrc/loops.c"}
	if _, file, _, ok := runtime.Caller(0); ok {
		cands = append([]string{filepath.Join(filepath.Dir(file), "csrc", "loops.c")}, cands...)
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("cannot find csrc/loops.c; run from the repository root")
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the vigil module; run from the repository root or pass -vigil")
	}
	return filepath.Dir(mod), nil
}

// rePollInterval matches the declaration of procscan's default interval.
var rePollInterval = regexp.MustCompile(`(?m)^(\s*DefaultPollInterval\s*=\s*).*$`)

// patchPollInterval sets procscan.DefaultPollInterval to d in the source
// tree: vigil has no setting for the interval.
func patchPollInterval(tree string, d time.Duration) error {
	p := filepath.Join(tree, "driver", "procscan", "poll.go")
	src, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if !rePollInterval.Match(src) {
		return fmt.Errorf("%s: no DefaultPollInterval declaration to change (pass -procscan-interval 0)", p)
	}
	src = rePollInterval.ReplaceAll(src, fmt.Appendf(nil, "${1}time.Duration(%d)", int64(d)))
	return os.WriteFile(p, src, 0o644)
}
