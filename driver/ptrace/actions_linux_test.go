//go:build linux && amd64

package ptrace

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// runAction runs a test action in a child of the test and returns its exit
// code.
func runAction(action string, args []string) int {
	switch action {
	case "connect":
		// connect ADDR: a TCP connection that sends a few bytes.
		c, err := net.Dial("tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := c.Write([]byte("hello")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c.Close()
		return 0

	case "thread-exec":
		// thread-exec PROG ARGS...: exec from a thread that is not the
		// thread group leader.
		done := make(chan error)
		go func() {
			runtime.LockOSThread()
			done <- syscall.Exec(args[0], args, os.Environ())
		}()
		fmt.Fprintln(os.Stderr, <-done)
		return 1

	case "thread-churn-exit":
		// thread-churn-exit N: threads keep creating threads (each
		// goroutine that exits locked to its thread ends that thread, so
		// the runtime has to clone new ones) while the process exits,
		// once N of them have run: some clone is under way when
		// exit_group kills the thread group.
		n, err := strconv.Atoi(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		started := make(chan struct{}, 64)
		for range 4 {
			go func() {
				for {
					done := make(chan struct{})
					go func() {
						runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
						started <- struct{}{}
						close(done)
					}()
					<-done
				}
			}()
		}
		for range n {
			<-started
		}
		os.Exit(0)

	case "trace":
		// trace ARGV...: run the driver (as another user) and print one
		// line per event.
		d, err := New(&driver.Options{EventTypes: types("openat", "execve")}, args, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = d.Run(ctx, func(ev *driver.Event) {
			ppid := int64(-1)
			if ev.Proc != nil {
				ppid = ev.Proc.PPid
			}
			fmt.Printf("event %s pid=%d ppid=%d res=%d path=%s\n", ev.Type, ev.Pid, ppid, ev.Res, ev.Path)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			return 1
		}
		fmt.Printf("exit %d\n", d.ExitCode())
		return 0

	case "probe":
		fmt.Printf("probe: %v\n", Probe())
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown action", action)
	return 2
}
