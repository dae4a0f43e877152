package output

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// ProgramOptions configures a Program sink. The zero value means Falco's
// defaults: one process per alert, unbuffered, output to this process's
// standard output and error.
type ProgramOptions struct {
	// KeepAlive starts the program once and writes every alert to its
	// standard input (program_output.keep_alive).
	KeepAlive bool
	// Buffered buffers lines to a kept-alive program and writes them when
	// the buffer fills and on Close (buffered_outputs).
	Buffered bool
	// Shell runs the command line; empty means "/bin/sh" (run as
	// Shell -c program, like popen).
	Shell string
	// Stdout and Stderr receive the program's output; nil means os.Stdout
	// and os.Stderr.
	Stdout, Stderr io.Writer
}

// Program is a sink that pipes alerts, one per line, to a shell command
// (Falco's program_output).
type Program struct {
	command string
	opts    ProgramOptions

	// The kept-alive process, if running.
	cmd   *exec.Cmd
	stdin io.WriteCloser
	bw    *bufio.Writer
	line  []byte
}

// NewProgram returns a sink running command with the shell; opts may be
// nil. It returns an error for an empty command. The program is started
// at the first alert.
func NewProgram(command string, opts *ProgramOptions) (*Program, error) {
	if command == "" {
		return nil, errors.New("output program: empty program")
	}
	s := &Program{command: command}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Shell == "" {
		s.opts.Shell = "/bin/sh"
	}
	if s.opts.Stdout == nil {
		s.opts.Stdout = os.Stdout
	}
	if s.opts.Stderr == nil {
		s.opts.Stderr = os.Stderr
	}
	return s, nil
}

// Name returns "program".
func (s *Program) Name() string { return "program" }

func (s *Program) newCmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.opts.Shell, "-c", s.command)
	cmd.Stdout, cmd.Stderr = s.opts.Stdout, s.opts.Stderr
	return cmd
}

// Write sends line and a newline to the program. Without KeepAlive it runs
// the program for this alert, feeding it the line on standard input, and
// waits for it (killing it if ctx ends); a non-zero exit status is an
// error. With KeepAlive a program that has exited is restarted at the
// next alert.
func (s *Program) Write(ctx context.Context, _ *Alert, line []byte) error {
	s.line = append(append(s.line[:0], line...), '\n')
	if !s.opts.KeepAlive {
		cmd := s.newCmd(ctx)
		cmd.Stdin = bytes.NewReader(s.line)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("output program: %w", err)
		}
		return nil
	}
	if s.cmd == nil {
		// The kept-alive program outlives any one Write's context.
		cmd := s.newCmd(context.Background())
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return fmt.Errorf("output program: %w", err)
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("output program: %w", err)
		}
		s.cmd, s.stdin = cmd, stdin
		if s.opts.Buffered {
			s.bw = bufio.NewWriter(stdin)
		}
	}
	var err error
	if s.bw != nil {
		_, err = s.bw.Write(s.line)
	} else {
		_, err = s.stdin.Write(s.line)
	}
	if err != nil {
		_ = s.stop() // restart at the next alert
		return fmt.Errorf("output program: write: %w", err)
	}
	return nil
}

// stop flushes and closes the kept-alive program's input and waits for it.
func (s *Program) stop() error {
	if s.cmd == nil {
		return nil
	}
	var errs []error
	if s.bw != nil {
		if err := s.bw.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.stdin.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.cmd.Wait(); err != nil {
		errs = append(errs, err)
	}
	s.cmd, s.stdin, s.bw = nil, nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("output program: %w", err)
	}
	return nil
}

// Close closes a kept-alive program's standard input and waits for it to
// exit.
func (s *Program) Close() error { return s.stop() }
