package replay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

func writeRecording(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.vrec")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDriver(t *testing.T) {
	b, ends := smallRecording(t)
	var want []driver.Event
	if _, err := readAll(b, func(_ int, ev *driver.Event) { want = append(want, cloneEvent(ev, maxDepth)) }); err != io.EOF {
		t.Fatal(err)
	}
	path := writeRecording(t, b)

	d, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Name() != "replay" {
		t.Errorf("name %q", d.Name())
	}
	cov := d.Coverage()
	wantTypes := driver.NewEventTypeSet(driver.MustEventType("openat"), driver.MustEventType("execve"), driver.MustEventType("procexit"))
	// The summary leaves out members of process extensions.
	if cov.Events != wantTypes || cov.Fields != knownEventMask || cov.ProcFields != baseProcessMask || cov.ContainerFields != knownContainerMask {
		t.Errorf("coverage %+v", cov)
	}
	if len(cov.Notes) != 1 || !strings.Contains(cov.Notes[0], "testhost") || !strings.Contains(cov.Notes[0], "v0.0.0-test") {
		t.Errorf("notes %q", cov.Notes)
	}
	if h := d.Header(); h.Hostname != "testhost" {
		t.Errorf("header %+v", h)
	}
	// Run twice: each run replays the whole file.
	for run := range 2 {
		n := 0
		err := d.Run(context.Background(), func(ev *driver.Event) {
			if n < len(want) {
				if diff := diffEvent(ev, &want[n]); diff != "" {
					t.Errorf("run %d event %d:\n%s", run, n, diff)
				}
			}
			n++
		})
		if err != nil || n != len(ends) {
			t.Errorf("run %d: %d events, then %v", run, n, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := d.Run(context.Background(), func(*driver.Event) {}); err == nil {
		t.Error("run after close succeeded")
	}
}

func TestDriverDamaged(t *testing.T) {
	b, ends := smallRecording(t)
	cut := ends[2] + 5
	path := writeRecording(t, b[:cut])
	d, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if cov := d.Coverage(); cov.Events != driver.AllEventTypes() || len(cov.Notes) != 2 {
		t.Errorf("coverage of a truncated recording: %+v", cov)
	}
	n := 0
	err = d.Run(context.Background(), func(*driver.Event) { n++ })
	var fe *FormatError
	if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || n != 3 || !strings.Contains(err.Error(), path) {
		t.Errorf("%d events, then %v; want 3, then ErrTruncated naming the file", n, err)
	}

	// A damaged header fails Open and the factory's probe.
	bad := writeRecording(t, append([]byte("NOTVIGIL"), b[8:]...))
	if _, err := Open(bad, nil); !errors.Is(err, ErrNotRecording) {
		t.Errorf("open of a non-recording: %v", err)
	}
	f := Factory(bad, nil)
	if err := f.Probe(); !errors.Is(err, ErrNotRecording) {
		t.Errorf("probe of a non-recording: %v", err)
	}
	if cov := f.Coverage(); !cov.Events.Empty() || len(cov.Notes) != 1 {
		t.Errorf("coverage of a non-recording: %+v", cov)
	}
	missing := Factory(filepath.Join(t.TempDir(), "missing"), nil)
	if err := missing.Probe(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("probe of a missing file: %v", err)
	}
	if _, err := Open(path, &Options{Speed: -1}); err == nil {
		t.Error("negative speed accepted")
	}
}

func TestFactory(t *testing.T) {
	b, ends := smallRecording(t)
	path := writeRecording(t, b)
	f := Factory(path, nil)
	if f.Name != "replay" || f.Auto || f.Summary == "" {
		t.Errorf("factory %+v", f)
	}
	if err := f.Probe(); err != nil {
		t.Fatal(err)
	}
	if cov := f.Coverage(); cov.Events.Len() != 3 {
		t.Errorf("coverage %+v", cov)
	}
	sel, _, err := driver.Select("replay", []driver.Factory{f})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sel.New(&driver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := 0
	if err := d.Run(context.Background(), func(*driver.Event) { n++ }); err != nil || n != len(ends) {
		t.Errorf("%d events, then %v", n, err)
	}
}

// TestDriverPacing replays with pacing: a cancelled context stops a replay
// that waits for a distant timestamp, and a fast replay delivers
// everything.
func TestDriverPacing(t *testing.T) {
	events := []*driver.Event{
		{Type: driver.MustEventType("openat"), Time: 1},
		{Type: driver.MustEventType("openat"), Time: 2},
		{Type: driver.MustEventType("openat"), Time: int64(time.Hour)},
	}
	b, _ := record(t, events, true)
	path := writeRecording(t, b)

	d, err := Open(path, &Options{Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = d.Run(ctx, func(*driver.Event) {
		if n++; n == 2 {
			cancel()
		}
	})
	if err != nil || n != 2 {
		t.Errorf("cancelled run: %d events, then %v", n, err)
	}

	fast, err := Open(path, &Options{Speed: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	n = 0
	if err := fast.Run(context.Background(), func(*driver.Event) { n++ }); err != nil || n != 3 {
		t.Errorf("fast run: %d events, then %v", n, err)
	}
}

func TestReadSummary(t *testing.T) {
	b, _ := smallRecording(t)
	_, s, err := ReadSummary(bytes.NewReader(b), int64(len(b)))
	if err != nil || s.Events != 5 {
		t.Errorf("summary %+v, %v", s, err)
	}
	unclosed, _ := record(t, []*driver.Event{fullEvent(1, nil, nil)}, false)
	h, _, err := ReadSummary(bytes.NewReader(unclosed), int64(len(unclosed)))
	var fe *FormatError
	if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Record != -1 || h.Hostname != "testhost" {
		t.Errorf("unclosed recording: %+v, %v", h, err)
	}
	// A damaged end record.
	d := append([]byte(nil), b...)
	d[len(d)-trailerSize-2] ^= 1
	if _, _, err := ReadSummary(bytes.NewReader(d), int64(len(d))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged end record: %v", err)
	}
}
