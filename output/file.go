package output

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// FileOptions configures a File sink. The zero value means Falco's
// defaults: reopen the file for every alert, unbuffered.
type FileOptions struct {
	// KeepAlive keeps the file open between alerts (file_output.keep_alive).
	KeepAlive bool
	// Buffered buffers lines while the file is kept open and writes them
	// when the buffer fills and on Close or Reopen (buffered_outputs). It
	// has no effect without KeepAlive.
	Buffered bool
}

// File is a sink that appends alerts, one per line, to a file
// (file_output). The file is created with mode 0600 if it does not exist and
// always opened with O_APPEND, so that several writers and log rotation
// tools can share it.
type File struct {
	path string
	opts FileOptions

	mu   sync.Mutex // guards f and bw against Reopen
	f    *os.File
	bw   *bufio.Writer
	line []byte
}

// fileFlags and fileMode are how alert files are opened.
const (
	fileFlags = os.O_WRONLY | os.O_APPEND | os.O_CREATE
	fileMode  = 0o600
)

// NewFile returns a sink appending to the file at path; opts may be nil. It
// opens the file once to report problems (a missing directory, no
// permission) at start-up, and returns that error.
func NewFile(path string, opts *FileOptions) (*File, error) {
	s := &File{path: path}
	if opts != nil {
		s.opts = *opts
	}
	f, err := os.OpenFile(path, fileFlags, fileMode)
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	if s.opts.KeepAlive {
		s.setFile(f)
	} else if err := f.Close(); err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	return s, nil
}

func (s *File) setFile(f *os.File) {
	s.f = f
	if s.opts.Buffered {
		s.bw = bufio.NewWriter(f)
	}
}

// Name returns "file".
func (s *File) Name() string { return "file" }

// Write appends line and a newline to the file. With KeepAlive, a failed
// write closes the file so that the next write reopens it (after log
// rotation, or when a full filesystem has space again).
func (s *File) Write(_ context.Context, _ *Alert, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.KeepAlive {
		f, err := os.OpenFile(s.path, fileFlags, fileMode)
		if err != nil {
			return fmt.Errorf("output file: %w", err)
		}
		s.line = append(append(s.line[:0], line...), '\n')
		_, err = f.Write(s.line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("output file: write %s: %w", s.path, err)
		}
		return nil
	}
	if s.f == nil {
		f, err := os.OpenFile(s.path, fileFlags, fileMode)
		if err != nil {
			return fmt.Errorf("output file: %w", err)
		}
		s.setFile(f)
	}
	var err error
	if s.bw != nil {
		if _, err = s.bw.Write(line); err == nil {
			err = s.bw.WriteByte('\n')
		}
	} else {
		s.line = append(append(s.line[:0], line...), '\n')
		_, err = s.f.Write(s.line)
	}
	if err != nil {
		_ = s.closeLocked() // reopen on the next write
		return fmt.Errorf("output file: write %s: %w", s.path, err)
	}
	return nil
}

// Reopen flushes and closes the kept-open file so that the next alert
// reopens it by name: what Falco does on SIGUSR1, for log rotation. It may
// be called from any goroutine. Without KeepAlive it does nothing.
func (s *File) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

// Close flushes and closes the file.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *File) closeLocked() error {
	if s.f == nil {
		return nil
	}
	var errs []error
	if s.bw != nil {
		if err := s.bw.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.f.Close(); err != nil {
		errs = append(errs, err)
	}
	s.f, s.bw = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("output file: close %s: %w", s.path, err)
	}
	return nil
}
