package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A driver observes a scenario's processes in one of two ways. A sensor
// (`vigil run`) sees every process of the host: the scenario's commands
// run as they are and the sensor's alerts go to one log. The ptrace
// driver sees only the command tree it traces: every command the scenario
// starts runs under a `vigil trace` of its own, and the alerts of all of
// them go to one log. env's methods that start processes (run, runProg,
// start, startHeld, startAgent) hide the difference from the scenarios.

// traceAlertFD is the descriptor on which `vigil trace` writes its alerts
// (file_output to /dev/fd/3): its stdout is the traced command's.
const traceAlertFD = 3

// traceArgs returns the arguments of `vigil trace`, before "--", with the
// suite's own arguments.
func traceArgs(extra []string) []string {
	args := append([]string{"trace"}, alertArgs()...)
	args = append(args, extra...)
	return append(args,
		"-o", "stdout_output.enabled=false",
		"-o", "file_output.enabled=true",
		"-o", "file_output.keep_alive=true",
		"-o", "file_output.filename=/dev/fd/"+strconv.Itoa(traceAlertFD),
	)
}

// vigilComm is the process name of vigil: the proc.pname of the commands
// `vigil trace` runs.
func vigilComm() string {
	name := filepath.Base(vigilBin)
	if len(name) > 15 { // TASK_COMM_LEN - 1
		name = name[:15]
	}
	return name
}

// traced is a command rewritten to run under `vigil trace`.
type traced struct {
	w    *os.File      // the write end of the alert pipe, until the command started
	done chan struct{} // closed when the alert pipe reached its end
}

// observe prepares cmd, which has not started, so that the driver under
// test sees what it does: for the ptrace driver it rewrites cmd to run
// under `vigil trace`, with vigil's log added to e.alerts. The result
// (nil for a sensor) must be told when cmd has started.
func (e *env) observe(t *testing.T, cmd *exec.Cmd) *traced {
	t.Helper()
	if e.trace == nil {
		return nil
	}
	if len(cmd.ExtraFiles) > 0 {
		t.Fatalf("%s: a traced command cannot have extra files", strings.Join(cmd.Args, " "))
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{vigilComm()}, e.trace...)
	argv = append(append(argv, "--", cmd.Path), cmd.Args[1:]...)
	cmd.Path, cmd.Args = vigilBin, argv
	cmd.ExtraFiles = []*os.File{w} // the first extra file is fd 3: traceAlertFD
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.Stderr = io.MultiWriter(cmd.Stderr, e.alerts)
	tr := &traced{w: w, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		defer r.Close()
		e.alerts.read(r)
	}()
	t.Cleanup(func() { tr.started() }) // if the command never started
	return tr
}

// started closes the parent's copy of the alert pipe's write end, so that
// the pipe ends when vigil and the processes it traces have exited.
func (tr *traced) started() {
	if tr != nil && tr.w != nil {
		tr.w.Close()
		tr.w = nil
	}
}

// exited waits until every alert of the trace has been read; the command
// has exited.
func (tr *traced) exited(t *testing.T) {
	t.Helper()
	if tr == nil {
		return
	}
	tr.started()
	select {
	case <-tr.done:
	case <-time.After(exitDeadline):
		t.Fatalf("the alerts of vigil trace did not end within %v of its exit", exitDeadline)
	}
}

// runDeadline bounds how long a command run to completion may take; a
// guard against a hung command (or vigil trace), not a measurement.
const runDeadline = time.Minute

// run runs cmd to completion and returns its pid; a failure to run or a
// non-zero status fails the test unless mayFail. Under the ptrace driver
// the pid is vigil's, the parent of the command, and every alert of the
// command has been read when run returns.
func (e *env) run(t *testing.T, cmd *exec.Cmd, mayFail bool) int {
	t.Helper()
	var out strings.Builder
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &out
	}
	tr := e.observe(t, cmd)
	err := cmd.Start()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	tr.started()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(runDeadline):
		_ = cmd.Process.Kill() // under vigil trace, PTRACE_O_EXITKILL kills the tracees
		t.Fatalf("%s did not exit within %v (killed: %v)\n%s", strings.Join(cmd.Args, " "), runDeadline, <-done, out.String())
	}
	tr.exited(t)
	if err != nil && !mayFail {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	return cmd.Process.Pid
}

// runProg runs path with args (argv[0] its base name) and returns its pid.
func (e *env) runProg(t *testing.T, path string, args ...string) int {
	t.Helper()
	return e.run(t, command(path, args...), false)
}

// start starts cmd with a pipe to its stdin; closing the pipe tells the
// helper actions that wait on stdin to finish. The process is killed if
// the test ends first. Under the ptrace driver the process is vigil, the
// parent of the command.
func (e *env) start(t *testing.T, cmd *exec.Cmd) io.WriteCloser {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tr := e.observe(t, cmd)
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr.started()
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return in
}

// startHeld starts cmd (a helper copy, or a fake container's command that
// runs one) with VIGIL_E2E_HOLD=1, holding it, and what its action opened,
// alive until done is called.
func (e *env) startHeld(t *testing.T, cmd *exec.Cmd) *held {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "VIGIL_E2E_HOLD=1")
	in := e.start(t, cmd)
	return &held{cmd: cmd, in: in, pid: cmd.Process.Pid}
}

// startAgent starts a copy of the helper at path as an agent.
func (e *env) startAgent(t *testing.T, path string) *agent {
	t.Helper()
	cmd := command(path, "@agent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in := e.start(t, cmd)
	return &agent{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

// barrier runs a process that opens /etc/shadow, which the rules under
// test alert on, and keeps it open until that alert arrives. A sensor
// handles the events of one source in order, so afterwards every such
// event of processes that exited before the barrier started has been
// evaluated; under the ptrace driver every alert of a command has been
// read when it returns (run).
func (e *env) barrier(t *testing.T) {
	t.Helper()
	h := e.startHeld(t, command(program(t, e.dir, "vigil-e2e-sync"), "@open-read", "/etc/shadow"))
	e.alerts.expect(t, "from the barrier process (it reads /etc/shadow)", func(a *alert) bool {
		return a.from(h.pid)
	})
	h.done(t)
}
