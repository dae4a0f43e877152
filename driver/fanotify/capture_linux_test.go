package fanotify

import (
	"bytes"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var capture = flag.Bool("capture", false, "record kernel bytes into testdata/ (TestCapture)")

// TestCapture records what the kernel returns for fanotify reads, proc
// connector messages and sock_diag dumps into testdata/, as seeds for the
// decoder tests and fuzz targets. Run it with -capture as root.
func TestCapture(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to record testdata from the kernel")
	}
	requireRoot(t)
	dir := t.TempDir()

	g1, err := unix.FanotifyInit(fanInitFlags, fanEventFlags)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(g1)
	g2, err := unix.FanotifyInit(fanInitFlags|unix.FAN_REPORT_DFID_NAME, fanEventFlags)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(g2)
	if err := unix.FanotifyMark(g1, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fileMask|execMask, unix.AT_FDCWD, dir); err != nil {
		t.Fatal(err)
	}
	if err := unix.FanotifyMark(g2, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, direntMask|unix.FAN_RENAME|moveMask, unix.AT_FDCWD, dir); err != nil {
		t.Fatal(err)
	}
	// An inode mark on the shell for an FAN_OPEN_EXEC record.
	if err := unix.FanotifyMark(g1, unix.FAN_MARK_ADD, execMask, unix.AT_FDCWD, "/bin/sh"); err != nil {
		t.Fatal(err)
	}
	cn, err := newProcConn()
	if err != nil {
		t.Fatal(err)
	}
	defer cn.close()

	// File activity: write, read, exec, create, rename, chmod, mkdir,
	// delete.
	p := filepath.Join(dir, "seed.txt")
	if err := os.WriteFile(p, []byte("seed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(p+".moved", 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p + ".moved"); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("/bin/sh", "-c", "exit 3").Run(); err == nil {
		t.Fatal("sh -c 'exit 3' succeeded")
	}
	// A rename of the comm (prctl) and a uid change.
	cmd := exec.Command("/bin/sh", "-c", "exec true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	_ = cmd.Run()

	time.Sleep(200 * time.Millisecond) // let the queues settle before reading them once
	buf := make([]byte, 64<<10)
	n, err := unix.Read(g1, buf)
	if err != nil {
		t.Fatal(err)
	}
	writeSeed(t, "fan_file.bin", buf[:n])
	fanFDs(buf[:n], func(fd int32) { unix.Close(int(fd)) })
	n, err = unix.Read(g2, buf)
	if err != nil {
		t.Fatal(err)
	}
	writeSeed(t, "fan_dirent.bin", buf[:n])

	msgs, err := cn.drain()
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, m := range msgs {
		all.Write(m)
	}
	writeSeed(t, "proc_events.bin", all.Bytes())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := newSockDiag()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	req := s.req
	s.seq++
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	r := req[nlmsgHdrLen:]
	r[0], r[1] = afInet, ipprotoTCP
	le.PutUint32(r[4:], diagQueries[0].states)
	if err := unix.Sendto(s.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	for {
		n, _, err := unix.Recvfrom(s.fd, s.buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		dump.Write(s.buf[:n])
		if _, done, err := decodeInetDiag(s.buf[:n], 1, nil); err != nil || done {
			break
		}
	}
	writeSeed(t, "diag_tcp4.bin", dump.Bytes())
}

func writeSeed(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/%s (%d bytes)", name, len(b))
}
