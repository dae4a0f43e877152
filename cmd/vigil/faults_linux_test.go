package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const markerRuleTmpl = `
- rule: marker opened
  desc: test
  condition: evt.type in (open, openat) and fd.name = %s and proc.pid = %d
  output: "marker opened %%fd.name"
  priority: WARNING
`

// writeMarkerRule writes a marker file and a rules file whose one rule fires
// when the test's process opens the marker (other programs on the machine,
// such as file indexers or scanners, do not count); it returns both paths.
func writeMarkerRule(t *testing.T, dir string) (marker, rules string) {
	t.Helper()
	marker, rules = filepath.Join(dir, "marker"), filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rules, fmt.Appendf(nil, markerRuleTmpl, marker, os.Getpid()), 0o644); err != nil {
		t.Fatal(err)
	}
	return marker, rules
}

func openN(t *testing.T, path string, n int) {
	t.Helper()
	for range n {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// scrape fetches and parses /metrics of the sensor at base.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricValue returns the value of the series of family name carrying the
// given labels ("k", "v" pairs), or 0 when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// pollMetrics scrapes base every 50 ms until cond holds for the scrape,
// which it returns; it fails the test after deadline, or when d exits.
func pollMetrics(t *testing.T, d *daemon, base, what string, deadline time.Duration, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	end := time.Now().Add(deadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		fams := scrape(t, base)
		if cond(fams) {
			return fams
		}
		if time.Now().After(end) {
			d.mu.Lock()
			logs := strings.Join(d.logs, "\n")
			d.mu.Unlock()
			t.Fatalf("no %s within %s; logs:\n%s", what, deadline, logs)
		}
		select {
		case <-tick.C:
		case <-d.done:
			t.Fatalf("vigil exited before %s", what)
		}
	}
}

// falcoReceiver records the alerts POSTed to it and checks that each one
// is a Falco JSON alert.
type falcoReceiver struct {
	mu     sync.Mutex
	alerts int
	bad    []string
}

func (rv *falcoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var a map[string]any
	err := json.Unmarshal(body, &a)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	switch {
	case r.Method != http.MethodPost:
		rv.bad = append(rv.bad, "method "+r.Method)
	case r.Header.Get("Content-Type") != "application/json":
		rv.bad = append(rv.bad, "Content-Type "+r.Header.Get("Content-Type"))
	case err != nil:
		rv.bad = append(rv.bad, fmt.Sprintf("%v: %q", err, body))
	default:
		_, okRule := a["rule"].(string)
		_, okPrio := a["priority"].(string)
		_, okOut := a["output"].(string)
		_, okFields := a["output_fields"].(map[string]any)
		ts, okTime := a["time"].(string)
		if _, terr := time.Parse(time.RFC3339Nano, ts); !okRule || !okPrio || !okOut || !okFields || !okTime || terr != nil {
			rv.bad = append(rv.bad, string(body))
			break
		}
		rv.alerts++
	}
	w.WriteHeader(http.StatusOK)
}

// TestPrivilegedHTTPReceiverDownThenBack: alerts fired while the HTTP
// receiver is down for 30 s wait in the sink's bounded queue (the sink
// retries the alert at its head until the receiver takes it); once the
// receiver is back every queued alert arrives, and the rest are counted in
// /metrics as dropped because the queue was full.
func TestPrivilegedHTTPReceiverDownThenBack(t *testing.T) {
	requireEBPF(t)
	const (
		n        = 200
		capacity = 50
	)
	dir := t.TempDir()
	marker, rules := writeMarkerRule(t, dir)
	sinkPort, webPort := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(webPort)
	d := startDaemon(t, "run", "--driver", "ebpf", "--json", "-r", rules,
		"-o", "stdout_output.enabled=false",
		"-o", "http_output.enabled=true", "-o", fmt.Sprintf("http_output.url=http://127.0.0.1:%d/", sinkPort),
		"-o", "outputs_queue.capacity="+strconv.Itoa(capacity),
		"-o", "webserver.listen_address=127.0.0.1", "-o", "webserver.listen_port="+strconv.Itoa(webPort),
		"-o", "webserver.prometheus_metrics_enabled=true", "-o", "metrics.enabled=true")

	down := time.Now()
	openN(t, marker, n)
	// Every alert offered to the outputs: queued, in flight or dropped.
	pollMetrics(t, d, base, "all alerts offered", 30*time.Second, func(f map[string]*dto.MetricFamily) bool {
		return metricValue(f, "vigil_output_alerts_total") >= n
	})
	// The receiver stays down for the 30 s the issue asks for: this is the
	// scenario's length, not a synchronisation.
	time.Sleep(time.Until(down.Add(30 * time.Second)))

	// The receiver comes back on the same port.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(sinkPort))
	if err != nil {
		t.Fatal(err)
	}
	rv := &falcoReceiver{}
	srv := &http.Server{Handler: rv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { srv.Close() })

	httpSink := []string{"sink", "http"}
	fams := pollMetrics(t, d, base, "every alert accounted for", 60*time.Second, func(f map[string]*dto.MetricFamily) bool {
		done := metricValue(f, "vigil_output_deliveries_total", httpSink...) +
			metricValue(f, "vigil_output_errors_total", httpSink...) +
			metricValue(f, "vigil_output_drops_total", "sink", "http", "reason", "queue_full")
		return done >= n
	})
	delivered := int(metricValue(fams, "vigil_output_deliveries_total", httpSink...))
	failed := int(metricValue(fams, "vigil_output_errors_total", httpSink...))
	dropped := int(metricValue(fams, "vigil_output_drops_total", "sink", "http", "reason", "queue_full"))
	t.Logf("delivered %d, failed %d, dropped %d", delivered, failed, dropped)

	if got := int(metricValue(fams, "vigil_output_alerts_total")); got != n {
		t.Errorf("vigil_output_alerts_total = %d, want %d", got, n)
	}
	// One alert in flight when the queue filled, and a few more if the
	// worker took them while the alerts were still coming in.
	const inFlight = 3
	if failed != 0 || delivered < capacity || delivered > capacity+inFlight {
		t.Errorf("delivered %d and failed %d alerts, want every queued alert (%d to %d) delivered and none failed",
			delivered, failed, capacity, capacity+inFlight)
	}
	if delivered+failed+dropped != n {
		t.Errorf("delivered %d + failed %d + dropped %d != %d alerts", delivered, failed, dropped, n)
	}
	if a := metricValue(fams, "vigil_output_drops_total", "sink", "http", "reason", "abandoned"); a != 0 {
		t.Errorf("%v alerts abandoned by a running sensor", a)
	}
	rv.mu.Lock()
	got, bad := rv.alerts, rv.bad
	rv.mu.Unlock()
	if got != delivered {
		t.Errorf("receiver got %d alerts, /metrics says %d delivered", got, delivered)
	}
	if len(bad) > 0 {
		t.Errorf("%d requests are not Falco JSON alerts, first: %s", len(bad), bad[0])
	}
	d.stop()
}

// TestPrivilegedFileOutputFullFilesystem: when the file output's filesystem
// is full, vigil counts the failed writes, keeps running and keeps
// delivering to stdout; once there is space again, alerts reach the file.
func TestPrivilegedFileOutputFullFilesystem(t *testing.T) {
	requireEBPF(t)
	dir := t.TempDir()
	marker, rules := writeMarkerRule(t, dir)
	mnt := filepath.Join(dir, "tmpfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	alertsFile := filepath.Join(mnt, "alerts.txt")
	webPort := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(webPort)
	d := startDaemon(t, "run", "--driver", "ebpf", "--json", "-r", rules,
		"-o", "stdout_output.enabled=true", "-o", "buffered_outputs=false",
		"-o", "file_output.enabled=true", "-o", "file_output.filename="+alertsFile, "-o", "file_output.keep_alive=true",
		"-o", "webserver.listen_address=127.0.0.1", "-o", "webserver.listen_port="+strconv.Itoa(webPort),
		"-o", "webserver.prometheus_metrics_enabled=true", "-o", "metrics.enabled=true")

	// Fill the filesystem before the first alert, so that alerts.txt has
	// no partly used page that could still take a line.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", mnt, err)
	}

	const n = 5
	countMarker := func() int { return d.countAlerts("marker opened", marker) }
	openN(t, marker, n)
	d.waitFor("stdout alerts while the filesystem is full", 10*time.Second, func() bool { return countMarker() == n })
	file := []string{"sink", "file"}
	fams := pollMetrics(t, d, base, "file errors", 10*time.Second, func(f map[string]*dto.MetricFamily) bool {
		return metricValue(f, "vigil_output_errors_total", file...) >= n
	})
	if e := metricValue(fams, "vigil_output_errors_total", file...); e != n {
		t.Errorf("vigil_output_errors_total{sink=file} = %v, want %d", e, n)
	}
	if got := metricValue(fams, "vigil_output_deliveries_total", file...); got != 0 {
		t.Errorf("%v alerts delivered to a full filesystem", got)
	}
	if b, err := os.ReadFile(alertsFile); err != nil || len(b) != 0 {
		t.Errorf("alerts file on a full filesystem: %q, %v", b, err)
	}

	// Still running, and stdout still gets alerts.
	openN(t, marker, n)
	d.waitFor("stdout alerts after the file errors", 10*time.Second, func() bool { return countMarker() == 2*n })
	// The file sink has tried (and failed) them too before space returns.
	pollMetrics(t, d, base, "file errors of the second batch", 10*time.Second, func(f map[string]*dto.MetricFamily) bool {
		return metricValue(f, "vigil_output_errors_total", file...) >= 2*n
	})
	select {
	case <-d.done:
		t.Fatal("vigil exited")
	default:
	}

	// Space again: the next alerts reach the file.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	openN(t, marker, n)
	d.waitFor("stdout alerts after space returned", 10*time.Second, func() bool { return countMarker() == 3*n })
	pollMetrics(t, d, base, "file deliveries after space returned", 10*time.Second, func(f map[string]*dto.MetricFamily) bool {
		return metricValue(f, "vigil_output_deliveries_total", file...) >= n
	})
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("alerts file has %d lines after space returned, want %d:\n%s", len(lines), n, b)
	}
	for _, l := range lines {
		var a map[string]any
		if err := json.Unmarshal([]byte(l), &a); err != nil || a["rule"] != "marker opened" {
			t.Errorf("alerts file line %q: %v", l, err)
		}
	}
	d.stop()
}
