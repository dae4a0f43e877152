package state

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// loadContainerUsers reads the passwd and group files of the container
// process pid runs in, through procRoot/PID/root. It returns nil when the
// container has no readable passwd file.
//
// The files belong to the container, so they are opened defensively:
// symbolic links would resolve against Vigil's own root, and a FIFO would
// block the event path, so a final symlink, an etc symlink and anything but
// a regular file are refused.
func loadContainerUsers(procRoot string, pid int64, gen *uint64) *userDB {
	root := filepath.Join(procRoot, strconv.FormatInt(pid, 10), "root")
	if fi, err := os.Lstat(filepath.Join(root, "etc")); err != nil || !fi.IsDir() {
		return nil
	}
	pw, err := readContained(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		return nil
	}
	gr, _ := readContained(filepath.Join(root, "etc", "group"))
	*gen++
	return &userDB{gen: *gen, users: parsePasswd(pw), groups: parseGroup(gr)}
}

func readContained(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return io.ReadAll(io.LimitReader(f, maxUserFile))
}
