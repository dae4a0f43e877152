package output

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigilsec/vigil/engine"
)

// rfc5424 is a parsed RFC 5424 message.
type rfc5424 struct {
	pri                                       int
	timestamp                                 time.Time
	hostname, appName, procID, msgID, sd, msg string
	bom                                       bool
}

var rfc5424Time = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$`)

// parseRFC5424 parses one message strictly by RFC 5424's ABNF (section 6),
// with STRUCTURED-DATA limited to the nil value and simple elements.
func parseRFC5424(b []byte) (rfc5424, error) {
	var m rfc5424
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return m, errors.New("no PRI")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return m, errors.New("bad PRI")
	}
	digits := s[1:end]
	if len(digits) > 1 && digits[0] == '0' {
		return m, errors.New("PRI with a leading zero")
	}
	pri, err := strconv.Atoi(digits)
	if err != nil || pri < 0 || pri > 191 {
		return m, fmt.Errorf("bad PRI %q", digits)
	}
	m.pri = pri
	s = s[end+1:]
	if !strings.HasPrefix(s, "1 ") {
		return m, errors.New("VERSION is not 1")
	}
	s = s[2:]
	// TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each followed by SP.
	limits := []int{0, 255, 48, 128, 32}
	var fields [5]string
	for i := range fields {
		sp := strings.IndexByte(s, ' ')
		if sp <= 0 {
			return m, fmt.Errorf("header field %d missing", i)
		}
		fields[i], s = s[:sp], s[sp+1:]
		for _, c := range []byte(fields[i]) {
			if c < 33 || c > 126 {
				return m, fmt.Errorf("header field %d has byte %#x", i, c)
			}
		}
		if i > 0 && len(fields[i]) > limits[i] {
			return m, fmt.Errorf("header field %d longer than %d", i, limits[i])
		}
	}
	if fields[0] != "-" {
		if !rfc5424Time.MatchString(fields[0]) {
			return m, fmt.Errorf("bad TIMESTAMP %q", fields[0])
		}
		if m.timestamp, err = time.Parse(time.RFC3339Nano, fields[0]); err != nil {
			return m, fmt.Errorf("bad TIMESTAMP: %w", err)
		}
	}
	m.hostname, m.appName, m.procID, m.msgID = fields[1], fields[2], fields[3], fields[4]
	// STRUCTURED-DATA
	switch {
	case strings.HasPrefix(s, "-"):
		m.sd, s = "-", s[1:]
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "] ")
		if end < 0 {
			if !strings.HasSuffix(s, "]") {
				return m, errors.New("unterminated STRUCTURED-DATA")
			}
			end = len(s) - 1
		}
		m.sd, s = s[:end+1], s[end+1:]
	default:
		return m, errors.New("no STRUCTURED-DATA")
	}
	if s == "" {
		return m, nil
	}
	if s[0] != ' ' {
		return m, errors.New("no SP before MSG")
	}
	s = s[1:]
	if strings.HasPrefix(s, "\uFEFF") {
		m.bom, s = true, s[len("\uFEFF"):]
		if !utf8.ValidString(s) {
			return m, errors.New("MSG-UTF8 is not UTF-8")
		}
	}
	m.msg = s
	return m, nil
}

// readOctetCounted reads one RFC 6587 octet-counted frame.
func readOctetCounted(r *bufio.Reader) ([]byte, error) {
	n, err := r.ReadString(' ')
	if err != nil {
		return nil, err
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
	if err != nil || size <= 0 || n[0] == '0' {
		return nil, fmt.Errorf("bad MSG-LEN %q", n)
	}
	b := make([]byte, size)
	_, err = io.ReadFull(r, b)
	return b, err
}

// syslogReceiver collects the messages a listener receives, framed as the
// transport frames them.
type syslogReceiver struct {
	addr string
	msgs chan []byte
	errs chan error
	stop func()
}

func newSyslogReceiver(t *testing.T, network string) *syslogReceiver {
	t.Helper()
	rv := &syslogReceiver{msgs: make(chan []byte, 64), errs: make(chan error, 8)}
	switch network {
	case "unixgram", "udp":
		var pc net.PacketConn
		var err error
		if network == "udp" {
			pc, err = net.ListenPacket("udp", "127.0.0.1:0")
			rv.addr = "udp://" + pc.LocalAddr().String()
		} else {
			path := filepath.Join(t.TempDir(), "log")
			pc, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			rv.addr = "unixgram://" + path
		}
		if err != nil {
			t.Fatal(err)
		}
		rv.stop = func() { pc.Close() }
		go func() {
			buf := make([]byte, 1<<16)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				rv.msgs <- bytes.Clone(buf[:n])
			}
		}()
	case "tcp", "unix":
		var l net.Listener
		var err error
		if network == "tcp" {
			l, err = net.Listen("tcp", "127.0.0.1:0")
			if err == nil {
				rv.addr = "tcp://" + l.Addr().String()
			}
		} else {
			path := filepath.Join(t.TempDir(), "log")
			l, err = net.Listen("unix", path)
			rv.addr = "unix://" + path
		}
		if err != nil {
			t.Fatal(err)
		}
		rv.serve(l, network == "tcp")
	default:
		t.Fatalf("network %q", network)
	}
	t.Cleanup(rv.stop)
	return rv
}

// serve accepts stream connections on l and reads frames from them.
func (rv *syslogReceiver) serve(l net.Listener, octets bool) {
	conns := make(chan net.Conn, 8)
	rv.stop = func() {
		l.Close()
		close(conns)
		for c := range conns {
			c.Close()
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				r := bufio.NewReader(c)
				for {
					var b []byte
					var err error
					if octets {
						b, err = readOctetCounted(r)
					} else {
						b, err = r.ReadBytes('\n')
						b = bytes.TrimSuffix(b, []byte("\n"))
					}
					if err != nil {
						if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
							rv.errs <- err
						}
						return
					}
					rv.msgs <- b
				}
			}()
		}
	}()
}

func (rv *syslogReceiver) next(t *testing.T) rfc5424 {
	t.Helper()
	select {
	case b := <-rv.msgs:
		m, err := parseRFC5424(b)
		if err != nil {
			t.Fatalf("not RFC 5424: %v: %q", err, b)
		}
		return m
	case err := <-rv.errs:
		t.Fatalf("receiver: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30 s")
	}
	return rfc5424{}
}

func TestParseRFC5424(t *testing.T) {
	good := []string{
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
		"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] message`,
		"<0>1 - - - - - -",
	}
	for _, s := range good {
		if _, err := parseRFC5424([]byte(s)); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		"", "<>1 - - - - - -", "<192>1 - - - - - -", "<01>1 - - - - - -", "<13>2 - - - - - -",
		"<13>1 2003-10-11 22:14:15Z h a p m - x", "<13>1 2003-10-11T22:14:15.0000001Z h a p m - x",
		"<13>1 - h a p m x", "<13>1 - h a p m -x", "<13>1 - h a p", "<13>1 - h\x01 a p m - x",
		"<13>1 - h " + strings.Repeat("a", 49) + " p m - x", "<13>1 - h a p m - \uFEFF\xff",
	}
	for _, s := range bad {
		if _, err := parseRFC5424([]byte(s)); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestSyslogTransports(t *testing.T) {
	for _, network := range []string{"unixgram", "unix", "udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			rv := newSyslogReceiver(t, network)
			s, err := NewSyslog(rv.addr, &SyslogOptions{Facility: "local3"})
			if err != nil {
				t.Fatal(err)
			}
			f := DefaultFormatter()
			f.JSON = true
			o := New([]Sink{s}, &Options{Formatter: f})
			prios := []engine.Priority{engine.PriorityEmergency, engine.PriorityWarning, engine.PriorityDebug}
			var alerts []*Alert
			for i, p := range prios {
				a := alertN(i)
				a.Priority = p
				if i == 1 {
					a.Message = "ünïcode in a file name: /tmp/日本\nand a newline"
				}
				alerts = append(alerts, a)
				o.Emit(a)
			}
			if err := o.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i, a := range alerts {
				m := rv.next(t)
				if want := 19*8 + int(a.Priority); m.pri != want {
					t.Errorf("PRI %d, want %d", m.pri, want)
				}
				if !m.timestamp.Equal(a.Time.Truncate(time.Microsecond)) {
					t.Errorf("TIMESTAMP %v, want %v", m.timestamp, a.Time)
				}
				if m.hostname != "node-1" || m.appName != "vigil" || m.procID != strconv.Itoa(os.Getpid()) || m.msgID != "-" || m.sd != "-" {
					t.Errorf("header %+v", m)
				}
				want := string(f.AppendJSON(nil, a))
				if network == "unix" {
					want = strings.ReplaceAll(want, "\n", " ") // cannot happen in JSON, but framing would
				}
				if m.msg != want {
					t.Errorf("MSG %q, want %q", m.msg, want)
				}
				if m.bom != (i == 1) {
					t.Errorf("message %d: BOM %v", i, m.bom)
				}
			}
			if st := o.Stats().Sinks[0]; st.Delivered != 3 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestSyslogStreamNewlines checks that newlines inside a message do not
// split it on a unix stream socket, where a newline ends a message.
func TestSyslogStreamNewlines(t *testing.T) {
	rv := newSyslogReceiver(t, "unix")
	s, err := NewSyslog(rv.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(context.Background(), testAlert(), []byte("one\ntwo")); err != nil {
		t.Fatal(err)
	}
	if m := rv.next(t); m.msg != "one two" || m.pri != 8+4 {
		t.Errorf("got %+v", m)
	}
}

func TestSyslogDefaults(t *testing.T) {
	s, err := NewSyslog("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.network != "unix" || !s.auto || s.address != DefaultSyslogPath || s.facility != 1 || s.appName != "vigil" {
		t.Errorf("defaults %+v", s)
	}
	host, _ := os.Hostname()
	a := testAlert()
	a.Hostname = ""
	a.Time = time.Time{}
	m, err := parseRFC5424(s.appendMessage(nil, a, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if m.hostname != header(host, 255) || !m.timestamp.IsZero() || m.msg != "x" {
		t.Errorf("message %+v", m)
	}
	s2, _ := NewSyslog("udp://127.0.0.1", &SyslogOptions{Hostname: "my host", AppName: "sensor"})
	if s2.address != "127.0.0.1:514" {
		t.Errorf("address %q", s2.address)
	}
	m, _ = parseRFC5424(s2.appendMessage(nil, testAlert(), []byte("x")))
	if m.hostname != "my_host" || m.appName != "sensor" {
		t.Errorf("message %+v", m)
	}
}

func TestNewSyslogErrors(t *testing.T) {
	for _, c := range []struct {
		addr string
		opts SyslogOptions
		want string
	}{
		{"http://h:1", SyslogOptions{}, "want unix"},
		{"/dev/log", SyslogOptions{}, "want unix"},
		{"unix://host/path", SyslogOptions{}, "unix:///path"},
		{"unixgram://", SyslogOptions{}, "unixgram:///path"},
		{"tcp://", SyslogOptions{}, "tcp://host:port"},
		{"udp://h:1/x", SyslogOptions{}, "udp://host:port"},
		{"tcp://h:1", SyslogOptions{Facility: "local9"}, "facility"},
		{"::", SyslogOptions{}, "address"},
	} {
		_, err := NewSyslog(c.addr, &c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSyslog(%q, %+v) = %v, want an error with %q", c.addr, c.opts, err, c.want)
		}
	}
}

// TestSyslogReconnect checks that the sink reconnects after the receiver
// went away: a TCP collector that restarts, and a local syslog daemon that
// re-creates its datagram socket.
func TestSyslogReconnect(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		rv := &syslogReceiver{msgs: make(chan []byte, 8), errs: make(chan error, 8)}
		rv.serve(l, true)
		s, err := NewSyslog("tcp://"+addr, &SyslogOptions{Attempts: 2, BackoffMin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		if err := s.Write(ctx, alertN(1), []byte("one")); err != nil {
			t.Fatal(err)
		}
		if m := rv.next(t); m.msg != "one" {
			t.Fatalf("got %+v", m)
		}
		rv.stop() // the collector goes away
		<-s.dead  // and the sink notices
		if err := s.Write(ctx, alertN(2), []byte("two")); err == nil {
			t.Fatal("write with the receiver down succeeded")
		}
		l, err = net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		rv.serve(l, true)
		defer rv.stop()
		if err := s.Write(ctx, alertN(3), []byte("three")); err != nil {
			t.Fatal(err)
		}
		if m := rv.next(t); m.msg != "three" {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("unixgram", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		listen := func() *net.UnixConn {
			c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		read := func(c *net.UnixConn) string {
			buf := make([]byte, 4096)
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseRFC5424(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			return m.msg
		}
		c := listen()
		s, err := NewSyslog("unix://"+path, &SyslogOptions{Attempts: 2, BackoffMin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		if err := s.Write(ctx, alertN(1), []byte("one")); err != nil {
			t.Fatal(err)
		}
		if got := read(c); got != "one" {
			t.Fatalf("got %q", got)
		}
		c.Close() // the daemon restarts: its socket is gone
		os.Remove(path)
		if err := s.Write(ctx, alertN(2), []byte("two")); err == nil {
			t.Fatal("write with the receiver down succeeded")
		}
		c = listen()
		defer c.Close()
		if err := s.Write(ctx, alertN(3), []byte("three")); err != nil {
			t.Fatal(err)
		}
		if got := read(c); got != "three" {
			t.Errorf("got %q", got)
		}
	})
}

// TestSyslogStuckReceiver checks that a TCP collector that accepts the
// connection and never reads blocks neither Emit nor another sink, and
// that Close gives up on it at its deadline.
func TestSyslogStuckReceiver(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c // and never read from it
		}
	}()
	s, err := NewSyslog("tcp://"+l.Addr().String(), &SyslogOptions{Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Large alerts fill the socket buffers after a few writes, whatever
	// their sizes: 64 MiB in all.
	const n, capacity = 64, 4
	big := strings.Repeat("x", 1<<20)
	rec := newRecorder("rec", n)
	o := New([]Sink{s, rec}, &Options{QueueCapacity: capacity})
	for i := range n {
		a := alertN(i)
		a.Message = big
		o.Emit(a)
		<-rec.lines // the other sink gets every alert at once
	}
	c := <-accepted
	defer c.Close()
	st := sinkStats(t, o, "syslog")
	if st.Dropped == 0 || st.Delivered+st.Dropped+uint64(st.Queued) > n {
		t.Errorf("syslog stats %+v, want drops", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	<-o.queues[0].done // the blocked write ends with the context
	st = sinkStats(t, o, "syslog")
	if st.Abandoned == 0 || st.Delivered+st.Dropped+st.Abandoned != n {
		t.Errorf("syslog stats %+v", st)
	}
}
