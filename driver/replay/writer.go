package replay

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"os"
	"time"
	"unsafe"

	"github.com/vigilsec/vigil/driver"
)

// WriterOptions are the optional header fields of a recording.
type WriterOptions struct {
	// Hostname is the machine the events come from; empty means
	// os.Hostname().
	Hostname string
	// VigilVersion is the version of the recording Vigil.
	VigilVersion string
	// Created is the creation time; zero means now.
	Created time.Time
}

// Writer writes a recording. Events are buffered: Flush pushes them to the
// underlying writer, and Close ends the recording (a recording without its
// end record reads as truncated). A Writer is not safe for concurrent use.
//
// Processes and containers are written once and referenced by later events:
// the Writer remembers each *driver.Process and *driver.Container it has
// seen, by address, with the hash of what it last wrote for it, and writes a
// new definition when the contents (or the parent) change, so the state layer
// may update its entries in place. Remembering addresses keeps nothing
// alive; should the memory of a freed process be reused for another, the
// changed contents make the Writer define it anew.
type Writer struct {
	bw     *bufio.Writer
	err    error // sticky write error
	closed bool

	seed maphash.Seed
	hh   maphash.Hash
	enc  encoder
	ext  encoder // process extensions
	hdr  [frameHeaderSize]byte
	seq  uint64 // events offered to Write, for chain cycle marks

	procIdx  map[uintptr]uint32 // by the address of a *driver.Process
	procs    []procSlot         // indexed by slot; [0] unused
	procFree []uint32
	contIdx  map[uintptr]uint32 // by the address of a *driver.Container
	conts    []contSlot
	cost     int64 // what the reader's tables cost, as the reader counts it
	chain    []chainLink

	// Limits, lowered by tests to exercise resets.
	maxProcs, maxConts, maxDepth int
	maxCost                      int64
	ntypes                       int // names in the event-type table

	sum summary
}

type procSlot struct {
	hash    uint64 // of the last definition and extension payloads
	size    int    // payload length of the last definition; -1: none since (re)allocation
	extSize int    // payload length of its extension; 0: none
	cost    int64
	mark    uint64
}

type contSlot struct {
	hash uint64
	size int
	cost int64
}

type chainLink struct {
	p    *driver.Process
	slot uint32
}

// summary is what the end record holds.
type summary struct {
	events                         uint64
	types                          driver.EventTypeSet
	fields, procFields, contFields driver.Mask
}

// NewWriter writes a recording header to w and returns a Writer for the
// events. opts may be nil. It returns the error of writing the header.
func NewWriter(w io.Writer, opts *WriterOptions) (*Writer, error) {
	return newWriter(w, opts, driver.NumEventTypes)
}

// newWriter is NewWriter with an event-type table of the first ntypes
// names (tests use short tables for small fuzzing seeds).
func newWriter(w io.Writer, opts *WriterOptions, ntypes int) (*Writer, error) {
	var o WriterOptions
	if opts != nil {
		o = *opts
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	wr := &Writer{
		bw:       bufio.NewWriterSize(w, 64<<10),
		seed:     maphash.MakeSeed(),
		procIdx:  make(map[uintptr]uint32),
		procs:    make([]procSlot, 1, 64),
		contIdx:  make(map[uintptr]uint32),
		conts:    make([]contSlot, 1, 8),
		maxProcs: maxProcesses,
		maxConts: maxContainers,
		maxDepth: maxDepth,
		maxCost:  maxTableCost,
		enc:      encoder{b: make([]byte, 0, 4096)},
		ext:      encoder{b: make([]byte, 0, 256)},
		chain:    make([]chainLink, 0, 16),
		ntypes:   ntypes,
	}
	wr.hh.SetSeed(wr.seed)
	var pre [headerPrefix]byte
	copy(pre[:], Magic)
	binary.LittleEndian.PutUint16(pre[len(Magic):], Version)
	// Two bytes of header flags, all zero in version 1.
	if _, err := wr.bw.Write(pre[:]); err != nil {
		return nil, fmt.Errorf("replay: write header: %w", err)
	}
	e := &wr.enc
	e.reset()
	e.i(o.Created.UnixNano())
	e.str(o.Hostname)
	e.str(o.VigilVersion)
	e.u(uint64(ntypes))
	for t := range ntypes {
		e.str(driver.EventType(t).String())
	}
	if e.err != nil {
		return nil, fmt.Errorf("replay: write header: %w", e.err)
	}
	if err := wr.frame(kindHeader, e.b); err != nil {
		return nil, err
	}
	return wr, nil
}

// frame writes one record.
func (w *Writer) frame(kind byte, payload []byte) error {
	if len(payload) > maxRecordSize {
		return fmt.Errorf("replay: %w: record of %d bytes exceeds %d", ErrTooLarge, len(payload), maxRecordSize)
	}
	h := &w.hdr
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	h[4] = kind
	binary.LittleEndian.PutUint32(h[5:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(h[9:], crc32.Checksum(h[:9], castagnoli))
	if _, err := w.bw.Write(h[:]); err != nil {
		w.err = fmt.Errorf("replay: write: %w", err)
		return w.err
	}
	if _, err := w.bw.Write(payload); err != nil {
		w.err = fmt.Errorf("replay: write: %w", err)
		return w.err
	}
	return nil
}

// addr returns the address of p, as a key that does not keep *p alive.
func addr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

var eventProcexit = driver.MustEventType("procexit")

var errClosed = errors.New("replay: writer is closed")

// Write appends ev, with its process, the process's ancestors and its
// container, to the recording. It returns an error wrapping ErrTooLarge,
// without writing the event, when the event or one of its processes
// exceeds the format's bounds; any other error comes from the underlying
// writer and is returned again by every later call.
func (w *Writer) Write(ev *driver.Event) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	if ev == nil {
		return errors.New("replay: write nil event")
	}
	w.seq++
	retried := false
retry:
	// Room for a whole chain and a container, so that no slot of this
	// event is reused while the event is being written.
	if w.freeProcs() < w.maxDepth || (ev.Container != nil && w.contIdx[addr(ev.Container)] == 0 && len(w.conts)-1 >= w.maxConts) {
		if err := w.reset(); err != nil {
			return err
		}
	}
	var cont uint32
	if ev.Container != nil {
		var err error
		if cont, err = w.defineContainer(ev.Container); err != nil {
			if errors.Is(err, errBudget) && !retried {
				retried = true
				if err := w.reset(); err != nil {
					return err
				}
				goto retry
			}
			return err
		}
	}
	proc, err := w.defineChain(ev.Proc)
	if err != nil {
		if errors.Is(err, errBudget) && !retried {
			retried = true
			if err := w.reset(); err != nil {
				return err
			}
			goto retry
		}
		return err
	}
	t := ev.Type
	if int(t) >= w.ntypes {
		t = driver.EventUnknown
	}
	has := ev.Has & knownEventMask
	e := &w.enc
	e.reset()
	e.event(ev, uint64(t), has, uint64(proc), uint64(cont))
	if e.err != nil {
		return fmt.Errorf("replay: write %s event: %w", t, e.err)
	}
	if err := w.frame(kindEvent, e.b); err != nil {
		return err
	}
	s := &w.sum
	s.events++
	s.types.Add(t)
	s.fields |= has
	if ev.Container != nil {
		s.contFields |= ev.Container.Has & knownContainerMask
	}
	if t == eventProcexit && ev.Proc != nil && (ev.Tid == ev.Pid || ev.Tid == 0) {
		// The process is gone: free its slot. Should it turn up again,
		// it is simply defined anew.
		if slot := w.procIdx[addr(ev.Proc)]; slot != 0 {
			delete(w.procIdx, addr(ev.Proc))
			w.procFree = append(w.procFree, slot)
		}
	}
	return nil
}

// errBudget says that a definition would take the reader's tables over
// their cost budget.
var errBudget = fmt.Errorf("%w: process and container definitions exceed the table budget", ErrTooLarge)

func (w *Writer) freeProcs() int {
	return len(w.procFree) + w.maxProcs - (len(w.procs) - 1)
}

// reset forgets every process and container, in the writer and (through a
// reset record) in the reader.
func (w *Writer) reset() error {
	if err := w.frame(kindReset, nil); err != nil {
		return err
	}
	clear(w.procIdx)
	clear(w.contIdx)
	w.procs = w.procs[:1]
	w.conts = w.conts[:1]
	w.procFree = w.procFree[:0]
	w.cost = 0
	return nil
}

// defineContainer returns c's slot, writing a definition when c is new or
// changed.
func (w *Writer) defineContainer(c *driver.Container) (uint32, error) {
	slot, ok := w.contIdx[addr(c)]
	if !ok {
		slot = uint32(len(w.conts))
		w.conts = append(w.conts, contSlot{size: -1})
		w.contIdx[addr(c)] = slot
	}
	e := &w.enc
	e.reset()
	e.container(c, uint64(slot))
	if e.err != nil {
		w.forgetContainer(c, slot, ok)
		return 0, fmt.Errorf("replay: write container %q: %w", c.ID, e.err)
	}
	s := &w.conts[slot]
	h := maphash.Bytes(w.seed, e.b)
	if s.size == len(e.b) && s.hash == h {
		return slot, nil
	}
	cost := int64(len(e.b)) + elemCost*int64(e.elems)
	if w.cost-s.cost+cost > w.maxCost {
		w.forgetContainer(c, slot, ok)
		return 0, errBudget
	}
	if err := w.frame(kindContainer, e.b); err != nil {
		return 0, err
	}
	w.cost += cost - s.cost
	*s = contSlot{hash: h, size: len(e.b), cost: cost}
	return slot, nil
}

// forgetContainer undoes the allocation of a slot for a container whose
// definition could not be written.
func (w *Writer) forgetContainer(c *driver.Container, slot uint32, existed bool) {
	if !existed {
		delete(w.contIdx, addr(c))
		w.conts = w.conts[:slot]
	}
}

// defineChain returns p's slot, writing definitions (root first) for p
// and its ancestors where they are new or changed. A nil p has slot 0.
func (w *Writer) defineChain(p *driver.Process) (uint32, error) {
	if p == nil {
		return 0, nil
	}
	chain := w.chain[:0]
	for ; p != nil && len(chain) < w.maxDepth; p = p.Parent {
		slot, ok := w.procIdx[addr(p)]
		if ok && w.procs[slot].mark == w.seq {
			break // a cycle: end the chain here
		}
		if !ok {
			if n := len(w.procFree); n > 0 {
				slot = w.procFree[n-1]
				w.procFree = w.procFree[:n-1]
			} else {
				slot = uint32(len(w.procs))
				w.procs = append(w.procs, procSlot{})
			}
			w.procs[slot].size = -1
			w.procIdx[addr(p)] = slot
		}
		w.procs[slot].mark = w.seq
		chain = append(chain, chainLink{p, slot})
	}
	w.chain = chain
	// Keep no process alive through the chain buffer.
	defer clear(chain)
	var parent uint32
	for i := len(chain) - 1; i >= 0; i-- {
		l := chain[i]
		e, x := &w.enc, &w.ext
		e.reset()
		e.process(l.p, uint64(l.slot), uint64(parent))
		x.reset()
		x.processExt(l.p, uint64(l.slot))
		if err := cmp.Or(e.err, x.err); err != nil {
			return 0, fmt.Errorf("replay: write process %d: %w", l.p.Pid, err)
		}
		s := &w.procs[l.slot]
		w.hh.Reset()
		_, _ = w.hh.Write(e.b)
		_, _ = w.hh.Write(x.b)
		h := w.hh.Sum64()
		if s.size != len(e.b) || s.extSize != len(x.b) || s.hash != h {
			// An extension costs its payload length, as the reader counts.
			cost := int64(len(e.b)) + elemCost*int64(e.elems) + int64(len(x.b))
			if w.cost-s.cost+cost > w.maxCost {
				return 0, errBudget
			}
			if err := w.frame(kindProcess, e.b); err != nil {
				return 0, err
			}
			if len(x.b) > 0 {
				if err := w.frame(kindProcessExt, x.b); err != nil {
					return 0, err
				}
			}
			w.cost += cost - s.cost
			s.hash, s.size, s.extSize, s.cost = h, len(e.b), len(x.b), cost
		}
		w.sum.procFields |= l.p.Has & baseProcessMask
		parent = l.slot
	}
	return chain[0].slot, nil
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("replay: write: %w", err)
		return w.err
	}
	return nil
}

// Close writes the end record and flushes. It does not close the
// underlying writer. Calling Close again returns nil; Write after Close
// fails.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	w.closed = true
	e := &w.enc
	e.reset()
	s := &w.sum
	e.u(s.events)
	e.u(uint64(s.fields))
	e.u(uint64(s.procFields))
	e.u(uint64(s.contFields))
	types := s.types.Types()
	e.u(uint64(len(types)))
	for _, t := range types {
		e.u(uint64(t))
	}
	if err := w.frame(kindEnd, e.b); err != nil {
		return err
	}
	var tr [trailerSize]byte
	binary.LittleEndian.PutUint32(tr[:], uint32(frameHeaderSize+len(e.b)))
	copy(tr[4:], trailerMagic)
	if _, err := w.bw.Write(tr[:]); err != nil {
		w.err = fmt.Errorf("replay: write: %w", err)
		return w.err
	}
	return w.Flush()
}
