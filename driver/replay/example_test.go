package replay_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/replay"
)

// A recording is written event by event, after the state layer enriched
// them, and read back with the processes and containers attached.
func Example() {
	var file bytes.Buffer
	w, err := replay.NewWriter(&file, &replay.WriterOptions{
		Hostname:     "node-1",
		VigilVersion: "v1.0.0",
		Created:      time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	shell := &driver.Process{Has: driver.ProcHasPid | driver.ProcHasName, Pid: 42, Name: "bash",
		Parent: &driver.Process{Has: driver.ProcHasPid | driver.ProcHasName, Pid: 1, Name: "systemd"}}
	for _, path := range []string{"/etc/passwd", "/etc/shadow"} {
		ev := &driver.Event{Type: driver.MustEventType("openat"), Has: driver.HasPath, Path: path, Pid: 42, Tid: 42, Proc: shell}
		if err := w.Write(ev); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := replay.NewReader(&file)
	if err != nil {
		panic(err)
	}
	fmt.Println("recorded on", r.Header().Hostname)
	var ev driver.Event
	for {
		err := r.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err) // a *replay.FormatError: where and how the file is damaged
			break
		}
		fmt.Println(ev.Type, ev.Path, ev.Proc.Name, ev.Proc.Parent.Name)
	}
	// Output:
	// recorded on node-1
	// openat /etc/passwd bash systemd
	// openat /etc/shadow bash systemd
}
