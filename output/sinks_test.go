package output

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// callWriter records each Write call.
type callWriter struct{ calls []string }

func (w *callWriter) Write(p []byte) (int, error) {
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func TestWriterUnbuffered(t *testing.T) {
	w := &callWriter{}
	s := NewWriter("stdout", w, false)
	for _, l := range []string{"one", "two"} {
		if err := s.Write(context.Background(), nil, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.calls, "|"); got != "one\n|two\n" {
		t.Errorf("writes %q, want one call per line", got)
	}
}

func TestWriterBuffered(t *testing.T) {
	var buf bytes.Buffer
	s := NewWriter("stdout", &buf, true)
	for _, l := range []string{"one", "two"} {
		if err := s.Write(context.Background(), nil, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("buffered writer wrote %q before Close", buf.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "one\ntwo\n" {
		t.Errorf("got %q", buf.String())
	}
}

// failWriter fails its first Write.
type failWriter struct {
	failed bool
	buf    bytes.Buffer
}

func (w *failWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

// TestWriterRecovers checks that a buffered writer works again after an
// error (bufio alone would keep failing).
func TestWriterRecovers(t *testing.T) {
	w := &failWriter{}
	s := NewWriter("stdout", w, true)
	big := bytes.Repeat([]byte("x"), 8192) // larger than the buffer: written through
	if err := s.Write(context.Background(), nil, big); err == nil {
		t.Fatal("first write did not fail")
	}
	if err := s.Write(context.Background(), nil, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if w.buf.String() != "after\n" {
		t.Errorf("got %q", w.buf.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFile(t *testing.T) {
	for _, c := range []struct {
		name string
		opts FileOptions
	}{
		{"reopen per alert", FileOptions{}},
		{"keep_alive", FileOptions{KeepAlive: true}},
		{"keep_alive buffered", FileOptions{KeepAlive: true, Buffered: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.txt")
			if err := os.WriteFile(path, []byte("earlier\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := NewFile(path, &c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []string{"one", "two"} {
				if err := s.Write(context.Background(), nil, []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			got := readFile(t, path)
			if c.opts.Buffered {
				if got != "earlier\n" {
					t.Errorf("buffered file has %q before Close", got)
				}
			} else if got != "earlier\none\ntwo\n" {
				t.Errorf("file has %q before Close", got)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != "earlier\none\ntwo\n" {
				t.Errorf("file has %q, want the lines appended", got)
			}
		})
	}
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on windows")
	}
	for _, keep := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "events.txt")
		s, err := NewFile(path, &FileOptions{KeepAlive: keep})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), nil, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("keep_alive=%t: mode %v, want 0600", keep, fi.Mode().Perm())
		}
	}
}

// TestFileReopen checks log rotation: after the file is renamed away and
// Reopen is called, alerts go to a new file under the configured name.
func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.txt")
	s, err := NewFile(path, &FileOptions{KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("before")); err != nil {
		t.Fatal(err)
	}
	rotated := filepath.Join(dir, "events.txt.1")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("still old")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, rotated); got != "before\nstill old\n" {
		t.Errorf("rotated file %q", got)
	}
	if got := readFile(t, path); got != "after\n" {
		t.Errorf("new file %q", got)
	}
}

func TestFileErrors(t *testing.T) {
	if _, err := NewFile(filepath.Join(t.TempDir(), "no", "such", "dir"), nil); err == nil {
		t.Error("NewFile in a missing directory succeeded")
	}
	// The file's directory disappears after start-up: writes fail, and
	// succeed again once it is back.
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "events.txt")
	s, err := NewFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("lost")); err == nil {
		t.Error("write into a removed directory succeeded")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "back\n" {
		t.Errorf("file %q", got)
	}
}

func needShell(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
}

func TestProgram(t *testing.T) {
	needShell(t)
	for _, c := range []struct {
		name string
		opts ProgramOptions
	}{
		{"one process per alert", ProgramOptions{}},
		{"keep_alive", ProgramOptions{KeepAlive: true}},
		{"keep_alive buffered", ProgramOptions{KeepAlive: true, Buffered: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			// Each process appends its input and a marker, so the test can
			// tell one process per alert from one for all.
			s, err := NewProgram("cat >> '"+path+"'; echo end >> '"+path+"'", &c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []string{"one", "two"} {
				if err := s.Write(context.Background(), nil, []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			want := "one\nend\ntwo\nend\n"
			if c.opts.KeepAlive {
				want = "one\ntwo\nend\n"
			}
			if got := readFile(t, path); got != want {
				t.Errorf("program saw %q, want %q", got, want)
			}
		})
	}
}

func TestProgramErrors(t *testing.T) {
	needShell(t)
	if _, err := NewProgram("", nil); err == nil {
		t.Error("NewProgram with an empty command succeeded")
	}
	var stderr bytes.Buffer
	s, err := NewProgram("cat >/dev/null; exit 3", &ProgramOptions{Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("x")); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Write = %v, want exit status 3", err)
	}
	// A kept-alive program that exits is restarted at the next alert.
	path := filepath.Join(t.TempDir(), "out")
	s, err = NewProgram("head -n 1 >> '"+path+"'", &ProgramOptions{KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), nil, []byte("first")); err != nil {
		t.Fatal(err)
	}
	// head exits after one line; writes fail once the pipe is broken.
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		werr = s.Write(context.Background(), nil, bytes.Repeat([]byte("y"), 4096))
	}
	if werr == nil {
		t.Fatal("writes to an exited program never failed")
	}
	if err := s.Write(context.Background(), nil, []byte("restarted")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "first\nrestarted\n" {
		t.Errorf("program saw %q", got)
	}
}
