package replay

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"time"

	"github.com/vigilsec/vigil/driver"
)

// Header is the file header of a recording.
type Header struct {
	Version      int
	Created      time.Time
	Hostname     string
	VigilVersion string
	// EventTypes is the writer's event-type name table: the name of each
	// event-type code used in the recording. Names this build does not
	// know read as driver.EventUnknown.
	EventTypes []string
}

// Summary is what the end record of a recording says about its events.
type Summary struct {
	Events int64
	// EventTypes holds the types of the recorded events.
	EventTypes driver.EventTypeSet
	// Fields, ProcFields and ContainerFields are the unions of the
	// availability masks of the recorded events, processes and containers.
	Fields, ProcFields, ContainerFields driver.Mask
}

// Reader decodes a recording one event at a time. It is not safe for
// concurrent use.
type Reader struct {
	br  *bufio.Reader
	off int64 // offset of the next unread byte
	err error // sticky: a *FormatError, a read error or io.EOF

	next    int64 // number of the next record
	cur     int64 // number of the record being decoded
	curOff  int64 // its offset
	fh      [frameHeaderSize]byte
	buf     []byte
	hdr     Header
	types   []driver.EventType
	events  int64
	summary Summary

	procs    []*driver.Process // indexed by slot
	procCost []int64
	conts    []*driver.Container
	contCost []int64
	cost     int64
	tmpProc  driver.Process
	args     []string
	data     []byte
}

// NewReader reads the header of a recording from r. On a damaged header it
// returns a *FormatError wrapping ErrNotRecording, ErrVersion, ErrTruncated
// or ErrCorrupt; on a read error, that error.
func NewReader(r io.Reader) (*Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	rd := &Reader{br: br, procs: make([]*driver.Process, 1), procCost: make([]int64, 1),
		conts: make([]*driver.Container, 1), contCost: make([]int64, 1)}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Header returns the recording's header.
func (r *Reader) Header() Header { return r.hdr }

// Summary returns the recording's summary from its end record, and
// whether it was read: it is once Next has returned io.EOF.
func (r *Reader) Summary() (Summary, bool) {
	return r.summary, r.err == io.EOF
}

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) formatErr(kind error, off int64, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Record: r.cur, Err: kind, Detail: fmt.Sprintf(format, args...)}
}

func (r *Reader) readHeader() error {
	var pre [headerPrefix]byte
	n, err := io.ReadFull(r.br, pre[:])
	r.off += int64(n)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("replay: read header: %w", err)
	}
	m := min(n, len(Magic))
	if string(pre[:m]) != Magic[:m] {
		return r.formatErr(ErrNotRecording, 0, "bad magic %q", pre[:m])
	}
	if err != nil {
		return r.formatErr(ErrTruncated, int64(n), "file header cut short after %d bytes", n)
	}
	if v := binary.LittleEndian.Uint16(pre[len(Magic):]); v != Version {
		return r.formatErr(ErrVersion, int64(len(Magic)), "format version %d, this build reads version %d", v, Version)
	}
	if f := binary.LittleEndian.Uint16(pre[len(Magic)+2:]); f != 0 {
		return r.formatErr(ErrVersion, int64(len(Magic)+2), "unknown header flags %#x", f)
	}
	kind, payload, err := r.readFrame()
	if err != nil {
		return err
	}
	if kind != kindHeader {
		return r.formatErr(ErrCorrupt, r.curOff, "first record has kind %d, not a header", kind)
	}
	d := decoder{b: payload}
	created := d.i()
	r.hdr = Header{
		Version:      Version,
		Created:      time.Unix(0, created),
		Hostname:     d.str(),
		VigilVersion: d.str(),
	}
	nt := d.u()
	if d.err == nil && (nt == 0 || nt > maxEventTypes || nt > uint64(len(d.b)-d.off)) {
		d.fail("event-type table of %d names", nt)
	}
	if d.err == nil {
		r.hdr.EventTypes = make([]string, nt)
		r.types = make([]driver.EventType, nt)
		for i := range r.hdr.EventTypes {
			name := d.str()
			r.hdr.EventTypes[i] = name
			r.types[i], _ = driver.EventTypeByName(name) // EventUnknown if not known
		}
	}
	d.done()
	if d.err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "header: %v", d.err)
	}
	return nil
}

// readFrame reads the next record and checks its checksums. The payload
// is valid until the next call.
func (r *Reader) readFrame() (byte, []byte, error) {
	r.cur, r.curOff = r.next, r.off
	r.next++
	n, err := io.ReadFull(r.br, r.fh[:])
	r.off += int64(n)
	switch {
	case err == io.EOF:
		return 0, nil, r.formatErr(ErrTruncated, r.curOff, "recording ends without its end record")
	case err == io.ErrUnexpectedEOF:
		return 0, nil, r.formatErr(ErrTruncated, r.curOff, "record header cut short after %d bytes", n)
	case err != nil:
		return 0, nil, fmt.Errorf("replay: read record %d at byte %d: %w", r.cur, r.curOff, err)
	}
	h := r.fh[:]
	if crc32.Checksum(h[:9], castagnoli) != binary.LittleEndian.Uint32(h[9:]) {
		return 0, nil, r.formatErr(ErrCorrupt, r.curOff, "record header checksum mismatch")
	}
	size := binary.LittleEndian.Uint32(h)
	kind := h[4]
	if size > maxRecordSize {
		return 0, nil, r.formatErr(ErrCorrupt, r.curOff, "record length %d exceeds %d", size, maxRecordSize)
	}
	// Grow the buffer as the data arrives, so that a length that the
	// input does not back costs no more memory than the input itself.
	buf := r.buf[:0]
	for len(buf) < int(size) {
		chunk := min(int(size)-len(buf), 64<<10)
		buf = slices.Grow(buf, chunk)
		n, err := io.ReadFull(r.br, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+n]
		r.off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			r.buf = buf
			return 0, nil, r.formatErr(ErrTruncated, r.curOff, "record of %d bytes cut short after %d", size, len(buf))
		}
		if err != nil {
			r.buf = buf
			return 0, nil, fmt.Errorf("replay: read record %d at byte %d: %w", r.cur, r.curOff, err)
		}
	}
	r.buf = buf
	if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(h[5:]) {
		return 0, nil, r.formatErr(ErrCorrupt, r.curOff, "record checksum mismatch")
	}
	return kind, buf, nil
}

// Next decodes the next event into ev. It fills every member (members whose
// availability bit is clear are zero, empty lists nil) and points ev.Proc,
// its Parent chain and ev.Container at the Reader's tables; like every
// event a driver emits, ev is valid until the next call, which may reuse
// its buffers and update the processes and containers in place.
//
// Next returns io.EOF after the last event of a complete recording. On
// damage it returns a *FormatError wrapping ErrTruncated or ErrCorrupt;
// every event before the damaged record has been returned. A read error of
// the underlying reader is returned as is (wrapped). Errors are sticky.
func (r *Reader) Next(ev *driver.Event) error {
	if r.err != nil {
		return r.err
	}
	for {
		kind, payload, err := r.readFrame()
		if err != nil {
			r.err = err
			return err
		}
		switch kind {
		case kindEvent:
			err = r.event(payload, ev)
			if err == nil {
				return nil
			}
		case kindProcess:
			err = r.defineProcess(payload)
		case kindProcessExt:
			err = r.extendProcess(payload)
		case kindContainer:
			err = r.defineContainer(payload)
		case kindReset:
			if len(payload) != 0 {
				err = r.formatErr(ErrCorrupt, r.curOff, "reset record with %d payload bytes", len(payload))
				break
			}
			r.procs, r.procCost = r.procs[:1], r.procCost[:1]
			r.conts, r.contCost = r.conts[:1], r.contCost[:1]
			r.cost = 0
		case kindEnd:
			err = r.end(payload)
		default:
			if kind < kindOptional {
				err = r.formatErr(ErrCorrupt, r.curOff, "unknown record kind %d", kind)
			}
		}
		if err != nil {
			r.err = err
			return err
		}
	}
}

func (r *Reader) event(payload []byte, ev *driver.Event) error {
	*ev = driver.Event{}
	d := decoder{b: payload}
	var h eventHead
	h, r.args, r.data = d.event(ev, r.args, r.data)
	if d.err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "event: %v", d.err)
	}
	if h.code >= uint64(len(r.types)) {
		return r.formatErr(ErrCorrupt, r.curOff, "event type code %d outside the header's table", h.code)
	}
	ev.Type = r.types[h.code]
	if h.proc != 0 {
		if h.proc >= uint64(len(r.procs)) || r.procs[h.proc] == nil {
			return r.formatErr(ErrCorrupt, r.curOff, "event refers to undefined process %d", h.proc)
		}
		ev.Proc = r.procs[h.proc]
	}
	if h.cont != 0 {
		if h.cont >= uint64(len(r.conts)) || r.conts[h.cont] == nil {
			return r.formatErr(ErrCorrupt, r.curOff, "event refers to undefined container %d", h.cont)
		}
		ev.Container = r.conts[h.cont]
	}
	r.events++
	return nil
}

func (r *Reader) defineProcess(payload []byte) error {
	p := &r.tmpProc
	*p = driver.Process{}
	d := decoder{b: payload}
	slot, parent := d.process(p)
	if d.err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "process: %v", d.err)
	}
	if slot == 0 || slot > maxProcesses {
		return r.formatErr(ErrCorrupt, r.curOff, "process slot %d out of range", slot)
	}
	for uint64(len(r.procs)) <= slot {
		r.procs = append(r.procs, nil)
		r.procCost = append(r.procCost, 0)
	}
	obj := r.procs[slot]
	if parent != 0 {
		if parent >= uint64(len(r.procs)) || r.procs[parent] == nil {
			return r.formatErr(ErrCorrupt, r.curOff, "process %d has undefined parent %d", slot, parent)
		}
		p.Parent = r.procs[parent]
		// Keep the graph acyclic and chains within the writer's depth.
		n := 1
		for q := p.Parent; q != nil; q = q.Parent {
			if q == obj {
				return r.formatErr(ErrCorrupt, r.curOff, "process %d would be its own ancestor", slot)
			}
			if n++; n > maxDepth {
				return r.formatErr(ErrCorrupt, r.curOff, "process %d has more than %d ancestors", slot, maxDepth-1)
			}
		}
	}
	if err := r.charge(&r.procCost[slot], len(payload), d.elems); err != nil {
		return err
	}
	if obj == nil {
		obj = new(driver.Process)
		r.procs[slot] = obj
	}
	*obj = *p
	return nil
}

// extendProcess applies a process extension to its slot's process. Its
// cost adds to the slot's, until the slot is defined again.
func (r *Reader) extendProcess(payload []byte) error {
	var ext driver.Process
	d := decoder{b: payload}
	slot, has := d.processExt(&ext)
	if d.err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "process extension: %v", d.err)
	}
	if slot == 0 || slot >= uint64(len(r.procs)) || r.procs[slot] == nil {
		return r.formatErr(ErrCorrupt, r.curOff, "extension of undefined process %d", slot)
	}
	cost := int64(len(payload))
	if r.cost+cost > maxTableCost {
		return r.formatErr(ErrCorrupt, r.curOff, "definitions exceed the table budget of %d", maxTableCost)
	}
	r.cost += cost
	r.procCost[slot] += cost
	p := r.procs[slot]
	p.Has |= has
	if has.Has(driver.ProcHasCgroup) {
		p.Cgroup = ext.Cgroup
	}
	return nil
}

func (r *Reader) defineContainer(payload []byte) error {
	var c driver.Container
	d := decoder{b: payload}
	slot := d.container(&c)
	if d.err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "container: %v", d.err)
	}
	if slot == 0 || slot > maxContainers {
		return r.formatErr(ErrCorrupt, r.curOff, "container slot %d out of range", slot)
	}
	for uint64(len(r.conts)) <= slot {
		r.conts = append(r.conts, nil)
		r.contCost = append(r.contCost, 0)
	}
	if err := r.charge(&r.contCost[slot], len(payload), d.elems); err != nil {
		return err
	}
	if r.conts[slot] == nil {
		r.conts[slot] = new(driver.Container)
	}
	*r.conts[slot] = c
	return nil
}

// charge replaces a slot's cost, failing when the tables would exceed
// their budget.
func (r *Reader) charge(slotCost *int64, size, elems int) error {
	cost := int64(size) + elemCost*int64(elems)
	if r.cost-*slotCost+cost > maxTableCost {
		return r.formatErr(ErrCorrupt, r.curOff, "definitions exceed the table budget of %d", maxTableCost)
	}
	r.cost += cost - *slotCost
	*slotCost = cost
	return nil
}

// end checks the end record and the trailer after it, and that nothing
// follows. It returns io.EOF when all is well.
func (r *Reader) end(payload []byte) error {
	s, err := r.decodeEnd(payload)
	if err != nil {
		return err
	}
	if s.Events != r.events {
		return r.formatErr(ErrCorrupt, r.curOff, "end record counts %d events, the recording holds %d", s.Events, r.events)
	}
	var tr [trailerSize]byte
	n, err := io.ReadFull(r.br, tr[:])
	r.off += int64(n)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return r.formatErr(ErrTruncated, r.curOff, "trailer cut short after %d bytes", n)
	case err != nil:
		return fmt.Errorf("replay: read trailer at byte %d: %w", r.off-int64(n), err)
	}
	if err := checkTrailer(tr[:], len(payload)); err != nil {
		return r.formatErr(ErrCorrupt, r.curOff, "%v", err)
	}
	if _, err := r.br.Peek(1); err == nil {
		return r.formatErr(ErrCorrupt, r.off, "data after the end of the recording")
	} else if err != io.EOF {
		return fmt.Errorf("replay: read at byte %d: %w", r.off, err)
	}
	r.summary = s
	return io.EOF
}

func checkTrailer(tr []byte, payloadLen int) error {
	if string(tr[4:]) != trailerMagic {
		return fmt.Errorf("bad trailer magic %q", tr[4:])
	}
	if n := binary.LittleEndian.Uint32(tr); n != uint32(frameHeaderSize+payloadLen) {
		return fmt.Errorf("trailer gives the end record %d bytes, it has %d", n, frameHeaderSize+payloadLen)
	}
	return nil
}

func (r *Reader) decodeEnd(payload []byte) (Summary, error) {
	var s Summary
	d := decoder{b: payload}
	events := d.u()
	s.Fields = driver.Mask(d.u())
	s.ProcFields = driver.Mask(d.u())
	s.ContainerFields = driver.Mask(d.u())
	n := d.list(1)
	for range n {
		code := d.u()
		if d.err == nil && code >= uint64(len(r.types)) {
			d.fail("event type code %d outside the header's table", code)
		}
		if d.err == nil {
			s.EventTypes.Add(r.types[code])
		}
	}
	d.done()
	switch {
	case d.err != nil:
	case events > 1<<62:
		d.fail("event count %d", events)
	case s.Fields&^knownEventMask != 0 || s.ProcFields&^knownProcessMask != 0 || s.ContainerFields&^knownContainerMask != 0:
		d.fail("unknown availability bits")
	}
	if d.err != nil {
		return s, r.formatErr(ErrCorrupt, r.curOff, "end record: %v", d.err)
	}
	s.Events = int64(events)
	return s, nil
}

// ReadSummary reads the header and the end record of the recording in ra
// (of size bytes) without reading the events in between. It returns an
// error when the header is damaged or the recording has no intact end
// record (it was truncated, or its writer was not closed).
func ReadSummary(ra io.ReaderAt, size int64) (Header, Summary, error) {
	r, err := NewReader(io.NewSectionReader(ra, 0, size))
	if err != nil {
		return Header{}, Summary{}, err
	}
	r.cur = -1
	if size < r.off+frameHeaderSize+trailerSize {
		return r.hdr, Summary{}, r.formatErr(ErrTruncated, size, "no end record")
	}
	var tr [trailerSize]byte
	if _, err := ra.ReadAt(tr[:], size-trailerSize); err != nil {
		return r.hdr, Summary{}, fmt.Errorf("replay: read trailer: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(tr[:]))
	start := size - trailerSize - n
	if string(tr[4:]) != trailerMagic || n < frameHeaderSize || start < r.off {
		return r.hdr, Summary{}, r.formatErr(ErrTruncated, size, "no end record")
	}
	r.br = bufio.NewReaderSize(io.NewSectionReader(ra, start, n), 4096)
	r.off, r.next = start, -1
	kind, payload, err := r.readFrame()
	if err != nil {
		return r.hdr, Summary{}, err
	}
	if kind != kindEnd || checkTrailer(tr[:], len(payload)) != nil {
		return r.hdr, Summary{}, r.formatErr(ErrCorrupt, start, "no end record before the trailer")
	}
	s, err := r.decodeEnd(payload)
	return r.hdr, s, err
}
