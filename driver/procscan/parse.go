package procscan

import (
	"bytes"
	"errors"
	"strconv"
)

// statInfo is what Vigil uses of /proc/PID/stat.
type statInfo struct {
	comm       string
	state      byte
	ppid       int64
	pgrp       int64
	session    int64
	ttyNr      int64
	startTicks uint64
}

// parseStat parses /proc/PID/stat: "pid (comm) state ppid pgrp session
// tty_nr tpgid flags ... starttime ...". comm may hold spaces and
// parentheses, so it ends at the last ')'.
func parseStat(b []byte) (statInfo, error) {
	var st statInfo
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("stat: no (comm)")
	}
	st.comm = string(b[open+1 : end])
	// Fields after comm, 1-based as in proc(5) minus 2: state is field 3.
	rest := b[end+1:]
	var f [20][]byte
	n := 0
	for n < len(f) {
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 {
			break
		}
		i := bytes.IndexAny(rest, " \n")
		if i < 0 {
			i = len(rest)
		}
		f[n] = rest[:i]
		rest = rest[i:]
		if len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
		}
		n++
	}
	if n < len(f) {
		return st, errors.New("stat: too few fields")
	}
	if len(f[0]) != 1 {
		return st, errors.New("stat: bad state field")
	}
	st.state = f[0][0]
	var err error
	num := func(i int) int64 {
		v, e := strconv.ParseInt(string(f[i]), 10, 64)
		if e != nil && err == nil {
			err = errors.New("stat: bad number in field " + strconv.Itoa(i+3))
		}
		return v
	}
	st.ppid = num(1)
	st.pgrp = num(2)
	st.session = num(3)
	st.ttyNr = num(4)
	start, e := strconv.ParseUint(string(f[19]), 10, 64)
	if e != nil && err == nil {
		err = errors.New("stat: bad starttime")
	}
	st.startTicks = start
	return st, err
}

// Bits of statusInfo.has.
const (
	hasUID = 1 << iota
	hasGID
	hasCapInh
	hasCapPrm
	hasCapEff
	hasCaps = hasCapInh | hasCapPrm | hasCapEff
)

// statusInfo is what Vigil uses of /proc/PID/status.
type statusInfo struct {
	has                    int
	tgid                   int64
	euid, egid             uint32
	capInh, capPrm, capEff uint64
	nspid, nspgid, nssid   int64 // innermost namespace values (last of NSpid etc.)
}

// parseStatus parses the "Key:\tvalue" lines of /proc/PID/status. Unknown
// or malformed lines are ignored; the has bits say what was found.
func parseStatus(b []byte) (statusInfo, error) {
	var s statusInfo
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, val := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch string(key) {
		case "Tgid":
			if v, err := strconv.ParseInt(string(val), 10, 64); err == nil && v > 0 {
				s.tgid = v
			}
		case "Uid":
			if v, ok := field32(val, 1); ok {
				s.euid = v
				s.has |= hasUID
			}
		case "Gid":
			if v, ok := field32(val, 1); ok {
				s.egid = v
				s.has |= hasGID
			}
		case "CapInh":
			s.capInh = parseHex(val, &s.has, hasCapInh)
		case "CapPrm":
			s.capPrm = parseHex(val, &s.has, hasCapPrm)
		case "CapEff":
			s.capEff = parseHex(val, &s.has, hasCapEff)
		case "NSpid":
			s.nspid = lastField(val)
		case "NSpgid":
			s.nspgid = lastField(val)
		case "NSsid":
			s.nssid = lastField(val)
		}
	}
	if s.has&(hasUID|hasGID) != hasUID|hasGID {
		return s, errors.New("status: no Uid/Gid lines")
	}
	return s, nil
}

// field32 returns the i-th (0-based) whitespace-separated field of b as a
// uint32.
func field32(b []byte, i int) (uint32, bool) {
	fs := bytes.Fields(b)
	if i >= len(fs) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(fs[i]), 10, 32)
	return uint32(v), err == nil
}

func parseHex(b []byte, has *int, bit int) uint64 {
	v, err := strconv.ParseUint(string(b), 16, 64)
	if err != nil {
		return 0
	}
	*has |= bit
	return v
}

// lastField returns the last whitespace-separated field of b as a positive
// number, or 0.
func lastField(b []byte) int64 {
	fs := bytes.Fields(b)
	if len(fs) == 0 {
		return 0
	}
	v, err := strconv.ParseInt(string(fs[len(fs)-1]), 10, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return v
}
