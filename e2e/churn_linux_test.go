package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Churn sizes (issue 4: no leaks under churn).
const (
	churnProcesses = 10_000
	churnOpens     = 100_000
	// churnFDSlack is how many more descriptors vigil may have after the
	// churn than before: descriptors a driver opens lazily or briefly
	// (/proc files being read), not ones per process or per event.
	churnFDSlack = 16
	// churnDeadline bounds how long a driver may take to work through the
	// churn's backlog; a guard, not a measurement.
	churnDeadline = 2 * time.Minute
)

// TestChurn runs each sensor driver through 10,000 short-lived processes
// and 100,000 file opens and checks that vigil's open descriptors are back
// near where they started. Its resident memory before and after is logged
// (not asserted: the benchmarks measure memory).
func TestChurn(t *testing.T) {
	for _, d := range drivers {
		if d.trace {
			continue // the ptrace driver traces one command; its leaks are its unit tests'
		}
		t.Run(d.name, func(t *testing.T) {
			requireDriver(t, d.name)
			s := startSensor(t, d.name)
			e := &env{alerts: s.alertLog, dir: scratchDir(t, ""), self: selfComm(t)}
			pid := s.cmd.Process.Pid
			churnBarrier(t, e) // vigil has seen a process and a file: lazy set-up is done
			fds0, rss0 := openFDs(t, pid), vmRSS(t, pid)

			start := time.Now()
			e.runProg(t, helperBin, "@exec-loop", strconv.Itoa(churnProcesses), "/bin/true")
			file := filepath.Join(e.dir, "churn")
			if err := os.WriteFile(file, []byte("churn\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			e.runProg(t, helperBin, "@open-loop", strconv.Itoa(churnOpens), file)
			churnBarrier(t, e)
			t.Logf("%d processes and %d opens, handled in %v", churnProcesses, churnOpens, time.Since(start).Round(time.Millisecond))

			// Descriptors vigil has open for a moment (a /proc file it is
			// reading) may be counted: look a few times before failing.
			fds := openFDs(t, pid)
			for i := 0; fds > fds0+churnFDSlack && i < 10; i++ {
				time.Sleep(100 * time.Millisecond)
				fds = openFDs(t, pid)
			}
			t.Logf("driver %s: open descriptors %d before, %d after; VmRSS %s before, %s after",
				d.name, fds0, fds, rss0, vmRSS(t, pid))
			if fds > fds0+churnFDSlack {
				t.Errorf("driver %s: vigil has %d open descriptors after the churn, %d before (slack %d): %s",
					d.name, fds, fds0, churnFDSlack, fdTargets(pid))
			}
			s.stop(t)
		})
	}
}

// churnBarrier is env.barrier with churnDeadline: it waits until vigil
// has worked through the events queued before it.
func churnBarrier(t *testing.T, e *env) {
	t.Helper()
	h := e.startHeld(t, command(program(t, e.dir, "vigil-e2e-sync"), "@open-read", "/etc/shadow"))
	e.alerts.expectWithin(t, churnDeadline, "from the barrier process (it reads /etc/shadow)", func(a *alert) bool {
		return a.from(h.pid)
	})
	h.done(t)
}

// openFDs counts the open descriptors of process pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// fdTargets describes the open descriptors of pid, grouped by what they
// point to, for a failure message.
func fdTargets(pid int) string {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	kinds := map[string]int{}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if i := strings.IndexByte(target, '['); i > 0 {
			target = target[:i] // socket:[123] → socket:
		}
		kinds[target]++
	}
	var b strings.Builder
	for k, n := range kinds {
		b.WriteString(strconv.Itoa(n) + "× " + k + "; ")
	}
	return b.String()
}

// vmRSS returns the VmRSS line of process pid's status.
func vmRSS(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
