package state

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// maxUserFile bounds the bytes read of a passwd or group file.
const maxUserFile = 16 << 20

// user is one passwd entry.
type user struct {
	name, home, shell string
}

// userDB is a parsed passwd and group pair. It is immutable once built;
// gen is unique per State, so a process records which database its names
// came from.
type userDB struct {
	gen    uint64
	users  map[uint32]*user
	groups map[uint32]string
}

func (db *userDB) user(uid uint32) *user {
	if db == nil {
		return nil
	}
	return db.users[uid]
}

func (db *userDB) group(gid uint32) (string, bool) {
	if db == nil {
		return "", false
	}
	g, ok := db.groups[gid]
	return g, ok
}

// parsePasswd parses passwd(5) lines: name:password:uid:gid:gecos:home:shell.
// Comments, NIS entries ("+"/"-") and malformed lines are skipped; the first
// entry of a uid wins, as getpwuid returns it.
func parsePasswd(b []byte) map[uint32]*user {
	users := make(map[uint32]*user)
	eachLine(b, func(f [][]byte) {
		if len(f) < 7 {
			return
		}
		uid, ok := parseID(f[2])
		if !ok {
			return
		}
		if _, dup := users[uid]; dup {
			return
		}
		users[uid] = &user{name: string(f[0]), home: string(f[5]), shell: string(f[6])}
	})
	return users
}

// parseGroup parses group(5) lines: name:password:gid:members.
func parseGroup(b []byte) map[uint32]string {
	groups := make(map[uint32]string)
	eachLine(b, func(f [][]byte) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		if _, dup := groups[gid]; !dup {
			groups[gid] = string(f[0])
		}
	})
	return groups
}

// eachLine calls fn with the ':'-separated fields of every entry line.
func eachLine(b []byte, fn func([][]byte)) {
	var fields [8][]byte
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := fields[:0]
		for len(f) < len(fields)-1 {
			i := bytes.IndexByte(line, ':')
			if i < 0 {
				break
			}
			f = append(f, line[:i])
			line = line[i+1:]
		}
		f = append(f, line)
		if len(f[0]) == 0 {
			continue
		}
		fn(f)
	}
}

func parseID(b []byte) (uint32, bool) {
	v, err := strconv.ParseUint(string(b), 10, 32)
	return uint32(v), err == nil
}

// fileStamp identifies a version of a file for change detection.
type fileStamp struct {
	exists bool
	size   int64
	mtime  int64
	fi     os.FileInfo
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano(), fi: fi}
}

func (a fileStamp) same(b fileStamp) bool {
	if a.exists != b.exists {
		return false
	}
	if !a.exists {
		return true
	}
	return a.size == b.size && a.mtime == b.mtime && os.SameFile(a.fi, b.fi)
}

// readSmall reads at most maxUserFile bytes of a regular file.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(f, maxUserFile))
}

// hostUsers is the host's user database with the stamps of its files.
type hostUsers struct {
	passwdPath, groupPath string
	passwd, group         fileStamp
	db                    *userDB
	err                   error // the last load's error, if any
	reloads               uint64
}

func newHostUsers(etcDir string, gen *uint64) *hostUsers {
	h := &hostUsers{passwdPath: filepath.Join(etcDir, "passwd"), groupPath: filepath.Join(etcDir, "group")}
	h.load(stampOf(h.passwdPath), stampOf(h.groupPath), gen)
	return h
}

// load (re)reads both files. A file that cannot be read gives an empty
// table (names unavailable) and is read again when its stamp changes.
func (h *hostUsers) load(pw, gr fileStamp, gen *uint64) {
	*gen++
	db := &userDB{gen: *gen}
	h.err = nil
	if b, err := readSmall(h.passwdPath); err == nil {
		db.users = parsePasswd(b)
	} else {
		h.err = fmt.Errorf("state: read users: %w", err)
	}
	if b, err := readSmall(h.groupPath); err == nil {
		db.groups = parseGroup(b)
	} else if h.err == nil {
		h.err = fmt.Errorf("state: read groups: %w", err)
	}
	h.db, h.passwd, h.group = db, pw, gr
	h.reloads++
}

// check stats both files and reloads them when either changed.
func (h *hostUsers) check(gen *uint64) {
	pw, gr := stampOf(h.passwdPath), stampOf(h.groupPath)
	if !pw.same(h.passwd) || !gr.same(h.group) {
		h.load(pw, gr, gen)
	}
}
