package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultSyslogPath is the local syslog socket a syslog sink writes to when
// no address is configured.
const DefaultSyslogPath = "/dev/log"

// SyslogOptions configures a syslog sink. The zero value means facility
// user, APP-NAME "vigil", the alert's host name, a 10 s timeout per attempt
// and 4 attempts with backoff from 100 ms to 5 s.
type SyslogOptions struct {
	// Facility is the facility's name: kern, user, mail, daemon, auth,
	// syslog, lpr, news, uucp, cron, authpriv, ftp or local0 to local7.
	// Empty means user, Falco's (it calls syslog(3) without openlog).
	Facility string
	// AppName is the message's APP-NAME; empty means "vigil".
	AppName string
	// Hostname is the message's HOSTNAME; empty means the alert's
	// Hostname, or this host's name for an alert without one.
	Hostname string
	// Timeout bounds each attempt to connect and write; 0 means 10 s.
	Timeout time.Duration
	// Attempts, BackoffMin and BackoffMax are the retries after a failed
	// connection or write, as in HTTPOptions; each retry reconnects.
	Attempts               int
	BackoffMin, BackoffMax time.Duration
}

// Syslog is a sink that sends each alert as an RFC 5424 message,
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
//
// to a local syslog socket or a remote collector. PRI combines the facility
// with the severity, which is the alert's priority (Falco's priorities are
// the syslog severities, emergency 0 to debug 7); TIMESTAMP is the alert's
// time in UTC with microseconds; MSG is the formatted alert, preceded by a
// byte order mark when it holds UTF-8 beyond ASCII, as RFC 5424 asks.
//
// Framing depends on the transport: one message per datagram (unixgram,
// udp), octet counting on TCP ("LEN SP MSG", RFC 6587), and a terminating
// newline on a unix stream socket, as syslog(3) and most daemons use there
// (newlines inside MSG then become spaces).
type Syslog struct {
	network string // "unixgram", "unix", "udp" or "tcp"
	address string
	auto    bool // unix: try unixgram first, then unix stream
	label   string

	facility int
	appName  string
	hostname string // from the options, or "" to use the alert's
	local    string // this host's name, or "-"
	procID   string

	timeout time.Duration
	retry   retryPolicy

	conn   net.Conn
	stream bool          // conn is a unix stream socket: newline framing
	dead   chan struct{} // closed when a stream connection is closed by the receiver
	msg    []byte        // the framed message being sent
}

var syslogFacilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// NewSyslog returns a sink sending alerts to address; opts may be nil.
// address is empty for the local DefaultSyslogPath, or one of
// unix:///path (a datagram socket, or else a stream socket), unixgram:///path,
// udp://host:port and tcp://host:port (the port defaults to 514). Nothing
// is connected until the first alert. It returns an error for an address
// or facility it does not understand.
func NewSyslog(address string, opts *SyslogOptions) (*Syslog, error) {
	var o SyslogOptions
	if opts != nil {
		o = *opts
	}
	s := &Syslog{
		appName: header(o.AppName, 48),
		procID:  strconv.Itoa(os.Getpid()),
		timeout: o.Timeout,
		retry:   newRetryPolicy(o.Attempts, o.BackoffMin, o.BackoffMax),
	}
	if err := s.parseAddress(address); err != nil {
		return nil, err
	}
	fac := strings.ToLower(strings.TrimSpace(o.Facility))
	if fac == "" {
		fac = "user"
	}
	var ok bool
	if s.facility, ok = syslogFacilities[fac]; !ok {
		return nil, fmt.Errorf("output syslog: unknown facility %q", o.Facility)
	}
	if o.AppName == "" {
		s.appName = "vigil"
	}
	if o.Hostname != "" {
		s.hostname = header(o.Hostname, 255)
	}
	s.local = "-"
	if h, err := os.Hostname(); err == nil {
		s.local = header(h, 255)
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	return s, nil
}

func (s *Syslog) parseAddress(address string) error {
	if address == "" {
		s.network, s.address, s.auto = "unix", DefaultSyslogPath, true
		s.label = DefaultSyslogPath
		return nil
	}
	s.label = address
	u, err := url.Parse(address)
	if err != nil {
		return fmt.Errorf("output syslog: address: %w", err)
	}
	switch u.Scheme {
	case "unix", "unixgram":
		p := u.Path
		if u.Host != "" || p == "" || u.Opaque != "" {
			return fmt.Errorf("output syslog: address %q: want %s:///path", address, u.Scheme)
		}
		s.network, s.address, s.auto = u.Scheme, p, u.Scheme == "unix"
	case "udp", "tcp":
		host := u.Host
		if host == "" || u.Path != "" && u.Path != "/" {
			return fmt.Errorf("output syslog: address %q: want %s://host:port", address, u.Scheme)
		}
		if u.Port() == "" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), "514")
		}
		s.network, s.address = u.Scheme, host
	default:
		return fmt.Errorf("output syslog: address %q: want unix:///path, unixgram:///path, udp://host:port or tcp://host:port", address)
	}
	return nil
}

// header returns s as an RFC 5424 header field: at most n printable ASCII
// characters, others replaced by '_', or "-" when empty.
func header(s string, n int) string {
	if s == "" {
		return "-"
	}
	b := []byte(s[:min(len(s), n)])
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}

// Name returns "syslog".
func (s *Syslog) Name() string { return "syslog" }

// Write sends the alert, connecting first if needed. After a failed
// connection or write it reconnects and sends the whole message again,
// with backoff, until the attempts are used up or ctx is done; a receiver
// may then see a message twice, or the start of one on a broken stream.
// It returns the last attempt's error.
func (s *Syslog) Write(ctx context.Context, a *Alert, line []byte) error {
	err := s.retry.do(ctx, func() error {
		if s.conn != nil && s.closedByPeer() {
			_ = s.conn.Close()
			s.conn = nil
		}
		if s.conn == nil {
			if err := s.dial(ctx); err != nil {
				return err
			}
		}
		// The framing depends on the socket type, known once connected.
		s.msg = s.appendMessage(s.msg[:0], a, line)
		if err := s.send(ctx); err != nil {
			_ = s.conn.Close()
			s.conn = nil
			return err
		}
		return nil
	}, func(error) bool { return true })
	if err != nil {
		return fmt.Errorf("output syslog: send to %s: %w", s.label, err)
	}
	return nil
}

func (s *Syslog) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: s.timeout}
	network := s.network
	if s.auto {
		network = "unixgram"
	}
	conn, err := d.DialContext(ctx, network, s.address)
	if err != nil && s.auto {
		// A stream socket refuses a datagram connection (EPROTOTYPE).
		var serr error
		if conn, serr = d.DialContext(ctx, "unix", s.address); serr == nil {
			err = nil
			network = "unix"
		}
	}
	if err != nil {
		return err
	}
	s.conn, s.stream, s.dead = conn, network == "unix", nil
	if network == "unix" || network == "tcp" {
		// A syslog receiver sends nothing back: a read returns only when
		// the receiver closes the connection, which this notices before
		// the next write instead of losing that write in the socket.
		dead := make(chan struct{})
		s.dead = dead
		go func() {
			_, _ = io.Copy(io.Discard, conn)
			close(dead)
		}()
	}
	return nil
}

// closedByPeer reports whether the receiver has closed the stream
// connection.
func (s *Syslog) closedByPeer() bool {
	if s.dead == nil {
		return false
	}
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

// send writes s.msg on the connection within the timeout, giving up when
// ctx is done.
func (s *Syslog) send(ctx context.Context) error {
	conn := s.conn
	if err := conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := conn.Write(s.msg)
	stop()
	if err != nil && ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// appendMessage appends the framed RFC 5424 message for a.
func (s *Syslog) appendMessage(dst []byte, a *Alert, line []byte) []byte {
	octets := s.network == "tcp"
	start := len(dst)
	if octets {
		// Room for the length: the message is built after it and the
		// length put in front once known.
		dst = append(dst, "0000000000 "...)
	}
	body := len(dst)
	sev := min(max(int(a.Priority), 0), 7)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(s.facility*8+sev), 10)
	dst = append(dst, ">1 "...)
	if a.Time.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = a.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	}
	dst = append(dst, ' ')
	switch {
	case s.hostname != "":
		dst = append(dst, s.hostname...)
	case a.Hostname != "":
		dst = append(dst, header(a.Hostname, 255)...)
	default:
		dst = append(dst, s.local...)
	}
	dst = append(dst, ' ')
	dst = append(dst, s.appName...)
	dst = append(dst, ' ')
	dst = append(dst, s.procID...)
	dst = append(dst, " - - "...) // MSGID, STRUCTURED-DATA
	if !isASCII(line) && utf8.Valid(line) {
		dst = append(dst, "\uFEFF"...)
	}
	m := len(dst)
	dst = append(dst, line...)
	switch {
	case octets:
		n := strconv.AppendInt(nil, int64(len(dst)-body), 10)
		n = append(n, ' ')
		off := body - len(n)
		copy(dst[off:], n)
		dst = append(dst[:start], dst[off:]...)
	case s.stream:
		for i := m; i < len(dst); i++ {
			if dst[i] == '\n' {
				dst[i] = ' '
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Close closes the connection.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("output syslog: close: %w", err)
	}
	return nil
}
