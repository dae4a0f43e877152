package output

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkThroughput delivers alerts to stdout (io.Discard stands in for
// it), a file and an HTTP receiver at once. ns/op is what Emit costs the
// engine's goroutine per alert; <sink>-alerts/s is what each sink delivered
// per second of the run (Emit loop plus draining the queues at Close), and
// <sink>-drop-% the share of alerts its full queue turned away. The
// "discard" case is the same Outputs with sinks that do nothing: the
// baseline Emit cost the real sinks must not raise.
func BenchmarkThroughput(b *testing.B) {
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
	}))
	defer srv.Close()

	cases := []struct {
		name  string
		sinks func(b *testing.B) []Sink
	}{
		{"discard", func(*testing.B) []Sink { return []Sink{discard{}, discard{}, discard{}} }},
		{"stdout+file+http", func(b *testing.B) []Sink {
			file, err := NewFile(filepath.Join(b.TempDir(), "alerts.json"), &FileOptions{KeepAlive: true})
			if err != nil {
				b.Fatal(err)
			}
			h, err := NewHTTP(srv.URL, &HTTPOptions{JSON: true})
			if err != nil {
				b.Fatal(err)
			}
			return []Sink{NewWriter("stdout", io.Discard, false), file, h}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := DefaultFormatter()
			f.JSON = true
			// Falco's default queue is unbounded; a bounded one as large
			// as a busy sensor would configure.
			received.Store(0)
			o := New(c.sinks(b), &Options{Formatter: f, QueueCapacity: 1 << 16})
			a := testAlert()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				o.Emit(a)
			}
			b.StopTimer()
			if err := o.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start).Seconds()
			st := o.Stats()
			for i, s := range st.Sinks {
				name := s.Name
				if name == "discard" {
					name += strconv.Itoa(i)
				}
				b.ReportMetric(float64(s.Delivered)/elapsed, name+"-alerts/s")
				b.ReportMetric(100*float64(s.Dropped)/float64(st.Emitted), name+"-drop-%")
				if s.Errors > 0 || s.Abandoned > 0 {
					b.Errorf("%s: %d errors, %d abandoned", s.Name, s.Errors, s.Abandoned)
				}
				if s.Name == "http" && uint64(received.Load()) != s.Delivered {
					b.Errorf("receiver got %d alerts, the sink delivered %d", received.Load(), s.Delivered)
				}
			}
		})
	}
}
