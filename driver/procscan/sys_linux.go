package procscan

import (
	"errors"
	"syscall"
	"unsafe"
)

// The helpers below take NUL-terminated paths in byte slices so that the
// per-poll path of the polling driver allocates nothing.

// openat opens path (NUL-terminated) relative to dirfd.
func openat(dirfd int, path []byte, flags int) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, syscall.EINVAL
	}
	for {
		r, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(flags|syscall.O_CLOEXEC), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// readlinkat reads the link path (NUL-terminated) relative to dirfd into
// buf and returns its length. A target that fills buf is reported as
// ENAMETOOLONG.
func readlinkat(dirfd int, path, buf []byte) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 || len(buf) == 0 {
		return 0, syscall.EINVAL
	}
	r, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	if int(r) >= len(buf) {
		return 0, syscall.ENAMETOOLONG
	}
	return int(r), nil
}

// appendFile appends at most limit bytes of the file path (NUL-terminated,
// relative to dirfd) to dst.
func appendFile(dirfd int, path, dst []byte, limit int) ([]byte, error) {
	fd, err := openat(dirfd, path, syscall.O_RDONLY)
	if err != nil {
		return dst, err
	}
	defer syscall.Close(fd)
	start := len(dst)
	for len(dst)-start < limit {
		if cap(dst)-len(dst) < 4096 {
			n := 2*cap(dst) + 4096
			if n-start > limit+1 {
				n = start + limit + 1
			}
			grown := make([]byte, len(dst), n)
			copy(grown, dst)
			dst = grown
		}
		room := cap(dst) - len(dst)
		if room > limit-(len(dst)-start) {
			room = limit - (len(dst) - start)
		}
		n, err := syscall.Read(fd, dst[len(dst):len(dst)+room])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return dst[:start], err
		}
		if n <= 0 {
			break
		}
		dst = dst[:len(dst)+n]
	}
	return dst, nil
}

// appendDirNums appends the names of the directory fd that are decimal
// numbers to out, at most limit of them, reading with buf.
func appendDirNums(fd int, buf []byte, out []int32, limit int) ([]int32, bool, error) {
	truncated := false
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return out, truncated, err
		}
		if n <= 0 {
			return out, truncated, nil
		}
		out, truncated = parseDirents(buf[:n], out, limit)
		if truncated {
			return out, true, nil
		}
	}
}

// errGoneSys reports errors that mean the process (or descriptor) is gone.
func errGoneSys(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH)
}
