package output

import (
	"context"
	"testing"
)

type discard struct{}

func (discard) Name() string                                { return "discard" }
func (discard) Write(context.Context, *Alert, []byte) error { return nil }
func (discard) Close() error                                { return nil }

func BenchmarkFormatJSON(b *testing.B) {
	f := DefaultFormatter()
	f.JSON = true
	a := testAlert()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendJSON(buf[:0], a)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkFormatText(b *testing.B) {
	f := DefaultFormatter()
	a := testAlert()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendText(buf[:0], a)
	}
}

// BenchmarkEmit measures what detection pays per alert: formatting once and
// offering it to three sinks.
func BenchmarkEmit(b *testing.B) {
	f := DefaultFormatter()
	f.JSON = true
	o := New([]Sink{discard{}, discard{}, discard{}}, &Options{Formatter: f, QueueCapacity: 1 << 16})
	a := testAlert()
	b.ReportAllocs()
	for b.Loop() {
		o.Emit(a)
	}
	b.StopTimer()
	if err := o.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
