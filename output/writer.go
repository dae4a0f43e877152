package output

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
)

// Writer is a sink that writes each alert as one line to an io.Writer:
// standard output (Falco's stdout_output) or anything else.
type Writer struct {
	name string
	w    io.Writer
	bw   *bufio.Writer // nil when unbuffered
	line []byte        // scratch for line+'\n' when unbuffered
}

// NewWriter returns a sink named name that writes alerts to w, one per line.
// When buffered (Falco's buffered_outputs) lines are collected in a buffer
// and written when it fills and on Close; otherwise every line is written
// at once with a single Write call (-U).
func NewWriter(name string, w io.Writer, buffered bool) *Writer {
	s := &Writer{name: name, w: w}
	if buffered {
		s.bw = bufio.NewWriter(w)
	}
	return s
}

// NewStdout returns a sink named "stdout" writing to os.Stdout.
func NewStdout(buffered bool) *Writer { return NewWriter("stdout", os.Stdout, buffered) }

// Name returns the name given to NewWriter.
func (s *Writer) Name() string { return s.name }

// Write writes line and a newline. It ignores ctx: a write to a blocked
// pipe blocks this sink's goroutine only.
func (s *Writer) Write(_ context.Context, _ *Alert, line []byte) error {
	var err error
	if s.bw != nil {
		if _, err = s.bw.Write(line); err == nil {
			err = s.bw.WriteByte('\n')
		}
		if err != nil {
			// bufio keeps its first error forever: start afresh so that
			// a transient failure does not end the sink.
			s.bw.Reset(s.w)
		}
	} else {
		s.line = append(append(s.line[:0], line...), '\n')
		_, err = s.w.Write(s.line)
	}
	if err != nil {
		return fmt.Errorf("output %s: write: %w", s.name, err)
	}
	return nil
}

// Close flushes buffered lines. It does not close the underlying writer.
func (s *Writer) Close() error {
	if s.bw == nil {
		return nil
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("output %s: flush: %w", s.name, err)
	}
	return nil
}
