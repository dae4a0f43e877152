//go:build linux && amd64

package ebpf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// helperEnv selects a helper action when the test binary is re-executed as
// a child: the tests act through children because the driver does not
// report Vigil's (here: the test process's) own syscalls.
const helperEnv = "VIGIL_EBPF_HELPER"

func TestMain(m *testing.M) {
	if action := os.Getenv(helperEnv); action != "" {
		if err := runHelper(action, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func bytePtr(s string) *byte {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return p
}

// sys runs a raw syscall and turns its errno into an error.
func sys(nr uintptr, a ...uintptr) (uintptr, error) {
	var args [6]uintptr
	copy(args[:], a)
	r, _, e := unix.Syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	if e != 0 {
		return r, fmt.Errorf("syscall %d: %w", nr, e)
	}
	return r, nil
}

func ptr(s string) uintptr { return uintptr(unsafe.Pointer(bytePtr(s))) }

func runHelper(action string, args []string) error {
	switch action {
	case "exit":
		// exit CODE [args...]: just exit with CODE (the exec is the event).
		code, _ := strconv.Atoi(args[0])
		os.Exit(code)

	case "files":
		// files DIR: file operations through the legacy and *at syscalls,
		// with relative paths from DIR.
		dir := args[0]
		if err := os.Chdir(dir); err != nil {
			return err
		}
		fd, err := sys(unix.SYS_OPEN, ptr("rel.txt"), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o640)
		if err != nil {
			return err
		}
		if _, err := unix.Write(int(fd), []byte("x")); err != nil {
			return err
		}
		unix.Close(int(fd))
		if err := os.Mkdir("sub", 0o755); err != nil {
			return err
		}
		dfd, err := unix.Open("sub", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		fd, err = sys(unix.SYS_OPENAT, uintptr(dfd), ptr("../sub/./inner.txt"), unix.O_CREAT|unix.O_RDWR, 0o600)
		if err != nil {
			return err
		}
		unix.Close(int(fd))
		if _, err := sys(unix.SYS_RENAME, ptr("rel.txt"), ptr("renamed.txt")); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_RENAMEAT, uintptr(dfd), ptr("inner.txt"), uintptr(dfd), ptr("inner2.txt")); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_SYMLINK, ptr("/etc/hostname"), ptr("link")); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_MKDIR, ptr("made"), 0o700); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_RMDIR, ptr("made")); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_CHMOD, ptr("renamed.txt"), 0o604); err != nil {
			return err
		}
		if _, err := sys(unix.SYS_UNLINKAT, uintptr(dfd), ptr("inner2.txt"), 0); err != nil {
			return err
		}
		// A failed open: the path is still resolved.
		if _, err := sys(unix.SYS_OPENAT, atFDCWDArg(), ptr("missing/none.txt"), unix.O_RDONLY, 0); err == nil {
			return fmt.Errorf("open of a missing file succeeded")
		}
		return nil

	case "server":
		// server: listen on 127.0.0.1, print the port, accept one
		// connection and read until EOF.
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		return nil

	case "client":
		// client PORT: connect with a blocking socket, send with sendto,
		// duplicate the socket.
		port, _ := strconv.Atoi(args[0])
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(s, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		if err := unix.Sendto(s, []byte("hello vigil"), 0, nil); err != nil {
			return err
		}
		if _, err := unix.Dup(s); err != nil {
			return err
		}
		return unix.Close(s)

	case "unix":
		// unix PATH: a unix stream socket listening on PATH, a connection
		// to it and its acceptance, all in this process.
		ln, err := net.Listen("unix", args[0])
		if err != nil {
			return err
		}
		c, err := net.Dial("unix", args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		a, err := ln.Accept()
		if err != nil {
			return err
		}
		return a.Close()

	case "ptrace":
		// ptrace PID: attach to PID and detach.
		pid, _ := strconv.Atoi(args[0])
		runtime.LockOSThread()
		if err := unix.PtraceAttach(pid); err != nil {
			return err
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
			return err
		}
		return unix.PtraceDetach(pid)

	case "memfd":
		// memfd: copy /bin/true into a memfd and execute it from there.
		fd, err := unix.MemfdCreate("vigiltest", 0)
		if err != nil {
			return err
		}
		src, err := os.ReadFile("/bin/true")
		if err != nil {
			return err
		}
		if _, err := unix.Write(fd, src); err != nil {
			return err
		}
		argv := []*byte{bytePtr("true"), bytePtr("from-memfd"), nil}
		envv := []*byte{nil}
		_, err = sys(unix.SYS_EXECVEAT, uintptr(fd), ptr(""), uintptr(unsafe.Pointer(&argv[0])),
			uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH)
		return err

	case "seccomp-probe":
		// seccomp-probe: make bpf(2) fail with EPERM for every thread, then
		// probe and print the classification and the message.
		if err := denyBPF(); err != nil {
			return err
		}
		fallthrough
	case "probe":
		err := Probe()
		fmt.Printf("permission=%v notsupported=%v err=%v\n",
			errors.Is(err, driver.ErrPermission), errors.Is(err, driver.ErrNotSupported), err)
		return nil

	case "misc":
		// misc: privilege, signal and namespace syscalls.
		if err := unix.Setuid(os.Getuid()); err != nil {
			return err
		}
		if err := unix.Setgid(os.Getgid()); err != nil {
			return err
		}
		if err := unix.Kill(os.Getpid(), 0); err != nil {
			return err
		}
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			return err
		}
		_, _ = sys(unix.SYS_BPF, 0xffff, 0, 0) // an invalid command: EINVAL
		return nil

	case "sleep":
		time.Sleep(time.Minute)
		return nil

	case "cgroup":
		// cgroup DIR: move into the cgroup v2 directory DIR (as runc's
		// init does), run a child there (exit 0, its pid printed), then
		// exec exit 0 in place.
		if err := os.WriteFile(filepath.Join(args[0], "cgroup.procs"), []byte("0"), 0o644); err != nil {
			return err
		}
		env := []string{helperEnv + "=exit"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, helperEnv+"=") {
				env = append(env, kv)
			}
		}
		child := exec.Command(os.Args[0], "0", "child")
		child.Env = env
		if err := child.Run(); err != nil {
			return err
		}
		fmt.Println(child.Process.Pid)
		return unix.Exec(os.Args[0], []string{os.Args[0], "0", "moved"}, env)

	case "selfexe":
		p, err := os.Executable()
		if err != nil {
			return err
		}
		fmt.Println(filepath.Clean(p))
		return nil
	}
	return fmt.Errorf("unknown helper action %q", action)
}

// denyBPF installs, on all threads, a seccomp filter that fails bpf(2)
// with EPERM.
func denyBPF() error {
	const (
		retAllow = 0x7fff0000
		retErrno = 0x00050000
	)
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_BPF},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, err := sys(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	return err
}

func atFDCWDArg() uintptr {
	fd := unix.AT_FDCWD
	return uintptr(fd)
}
