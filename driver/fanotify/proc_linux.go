package fanotify

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/procscan"
)

// Sizes of the proc connector receive path.
const (
	cnRcvBuf   = 4 << 20   // socket receive buffer asked for
	cnArena    = 256 << 10 // bytes of messages kept per batch
	cnMaxBatch = 4096      // messages per batch
)

// procConn is a proc connector subscription.
type procConn struct {
	fd    int
	arena []byte
	msgs  [][]byte
}

// newProcConn opens a NETLINK_CONNECTOR socket, joins the proc events
// group and asks the kernel to send events (PROC_CN_MCAST_LISTEN).
func newProcConn() (*procConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("fanotify: proc connector socket: netlink connector (CONFIG_CONNECTOR, 2.6.15): %w", unsupported(err))
		}
		return nil, fmt.Errorf("fanotify: proc connector socket: %w", err)
	}
	c := &procConn{fd: fd, arena: make([]byte, cnArena)}
	// Best effort: a larger buffer loses fewer messages under fork storms
	// (SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the subscription needs
	// anyway).
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cnRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cnRcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		c.close()
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("fanotify: proc connector: join group: %w", permissionCause(err, capNetAdmin, "CAP_NET_ADMIN"))
		}
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("fanotify: proc connector: join group: proc events (CONFIG_PROC_EVENTS, 2.6.15): %w", unsupported(err))
		}
		return nil, fmt.Errorf("fanotify: proc connector: join group: %w", err)
	}
	if err := unix.Sendto(fd, procListenMsg(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		c.close()
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("fanotify: proc connector: subscribe: %w", permissionCause(err, capNetAdmin, "CAP_NET_ADMIN"))
		}
		return nil, fmt.Errorf("fanotify: proc connector: subscribe: %w", err)
	}
	return c, nil
}

// procListenMsg builds the PROC_CN_MCAST_LISTEN request: a netlink header,
// a connector header and the operation.
func procListenMsg() []byte {
	const n = nlmsgHdrLen + cnMsgLen + 4
	b := make([]byte, n)
	le.PutUint32(b[0:], n)
	le.PutUint16(b[4:], nlmsgDone) // NLMSG_DONE: a single-part message
	le.PutUint32(b[12:], uint32(os.Getpid()))
	p := b[nlmsgHdrLen:]
	le.PutUint32(p[0:], cnIdxProc)
	le.PutUint32(p[4:], cnValProc)
	le.PutUint16(p[16:], 4)
	le.PutUint32(p[cnMsgLen:], procCnMcastListen)
	return b
}

// drain reads the queued messages (up to a batch). The returned slices
// point into the connection's arena and are valid until the next drain. A
// receive buffer overrun is returned as an error wrapping ENOBUFS, with
// the messages read before it.
func (c *procConn) drain() ([][]byte, error) {
	c.msgs = c.msgs[:0]
	off := 0
	for len(c.msgs) < cnMaxBatch && len(c.arena)-off >= 1024 {
		n, _, err := unix.Recvfrom(c.fd, c.arena[off:], 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return c.msgs, nil
			}
			if errors.Is(err, unix.ENOBUFS) {
				return c.msgs, fmt.Errorf("fanotify: proc connector: %w", err)
			}
			return c.msgs, fmt.Errorf("fanotify: proc connector: receive: %w", err)
		}
		if n <= 0 {
			return c.msgs, nil
		}
		c.msgs = append(c.msgs, c.arena[off:off+n])
		off += n
	}
	return c.msgs, nil
}

func (c *procConn) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// handleProc handles a batch of proc connector messages: with exits false
// everything but exits, with exits true only the exits.
func (d *Driver) handleProc(msgs [][]byte, exits bool) {
	var pe procEvent
	for _, m := range msgs {
		// A datagram may hold several netlink messages.
		for len(m) > 0 {
			_, _, rest, ok := nextNlmsg(m)
			if !ok {
				d.decodeErrors.Add(1)
				break
			}
			one := m[:len(m)-len(rest)]
			m = rest
			if isExit := len(one) >= nlmsgHdrLen+cnMsgLen+4 && le.Uint32(one[nlmsgHdrLen+cnMsgLen:]) == procEventExit; isExit != exits {
				continue
			}
			ev := d.resetEvent(driver.EventUnknown, 0, 0)
			if err := decodeProcEvent(one, ev, &pe); err != nil {
				d.decodeErrors.Add(1)
				continue
			}
			d.procEvent(ev, &pe)
		}
	}
}

// procEvent completes and emits one decoded proc connector event.
func (d *Driver) procEvent(ev *driver.Event, pe *procEvent) {
	if pe.What == procEventComm {
		var c commName
		c.n = uint8(copy(c.b[:], pe.Comm))
		d.loop.comms[pe.Tgid] = c
	}
	if ev.Type == driver.EventUnknown || pe.Tgid == d.selfPID || pe.Tgid <= 0 {
		return
	}
	if pe.What == procEventPtrace && pe.PTgid == d.selfPID {
		return
	}
	ev.Time = int64(pe.Mono) + d.loop.monoOff
	p := &d.loop.proc
	switch pe.What {
	case procEventFork:
		d.nsFork(pe.PTgid, pe.Tgid)
		*p = driver.Process{
			Has: driver.ProcHasPid | driver.ProcHasPPid,
			Pid: int64(pe.Tgid), Tid: int64(pe.Pid), PPid: int64(pe.PTgid),
		}
		if name, ok := d.readComm(pe.Tgid); ok {
			p.Name = name
			p.Has |= driver.ProcHasName
		}
		ev.Proc = p
	case procEventExec:
		d.nsExec(pe.Tgid)
		d.execProc(ev, pe, p)
		ev.Proc = p
	case procEventExit:
		*p = driver.Process{Has: driver.ProcHasPid, Pid: int64(pe.Tgid), Tid: int64(pe.Pid)}
		if pe.PTgid > 0 {
			p.PPid = int64(pe.PTgid)
			p.Has |= driver.ProcHasPPid
		}
		if name, ok := d.readComm(pe.Tgid); ok { // a zombie until reaped
			p.Name = name
			p.Has |= driver.ProcHasName
		} else if c, ok := d.loop.comms[pe.Tgid]; ok {
			p.Name = c.String()
			p.Has |= driver.ProcHasName
		}
		delete(d.loop.comms, pe.Tgid)
		delete(d.loop.hints, pe.Tgid)
		if pe.Pid == pe.Tgid {
			d.nsExit(pe.Tgid)
		}
		ev.Proc = p
	case procEventComm:
		ev.Name = string(pe.Comm)
		ev.Has |= driver.HasName
	}
	d.send(ev)
	if len(d.loop.comms) > 1<<16 {
		clear(d.loop.comms)
	}
}

// execProc fills an execve event from /proc/PID, completed by the
// fanotify exec hint and the last comm event when /proc is already gone.
func (d *Driver) execProc(ev *driver.Event, pe *procEvent, p *driver.Process) {
	pid := pe.Tgid
	rp, err := procscan.ReadProcess(d.procRoot, int(pid))
	if err == nil {
		*p = rp.Process
		p.Parent = nil
	} else {
		*p = driver.Process{Has: driver.ProcHasPid, Pid: int64(pid), Tid: int64(pe.Pid)}
	}
	h, hok := d.loop.hints[pid]
	if dt := ev.Time - h.wall; hok && (dt > hintWindow || dt < -hintWindow) {
		hok = false // from an older, failed exec
	}
	delete(d.loop.hints, pid)
	if hok {
		ev.Path = h.path
		ev.Has |= driver.HasPath
		if !p.Has.Has(driver.ProcHasExePath) {
			p.ExePath = h.path
			p.Has |= driver.ProcHasExePath
		}
	} else if p.Has.Has(driver.ProcHasExePath) {
		ev.Path = p.ExePath
		ev.Has |= driver.HasPath
	}
	if !p.Has.Has(driver.ProcHasName) {
		if c, ok := d.loop.comms[pid]; ok {
			p.Name = c.String()
			p.Has |= driver.ProcHasName
		} else if p.Has.Has(driver.ProcHasExePath) {
			// The process is already gone: after an exec the kernel
			// names it after its executable (at most 15 bytes).
			p.Name = commOf(p.ExePath)
			p.Has |= driver.ProcHasName
		}
	}
	if p.Has.Has(driver.ProcHasArgs) {
		ev.Args = p.Args
		ev.Has |= driver.HasArgs
	}
}

// commOf returns the name the kernel gives a process that executed path:
// its base name, cut to 15 bytes (TASK_COMM_LEN - 1).
func commOf(path string) string {
	name := path[strings.LastIndexByte(path, '/')+1:]
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// readComm reads /proc/PID/comm.
func (d *Driver) readComm(pid int32) (string, bool) {
	fd, err := unix.Open(d.procRoot+"/"+strconv.Itoa(int(pid))+"/comm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	var b [64]byte
	n, err := unix.Read(fd, b[:])
	if err != nil || n <= 0 {
		return "", false
	}
	s := b[:n]
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return string(s), true
}
