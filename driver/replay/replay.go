// Package replay reads and writes Vigil recordings: files of driver.Event
// records captured after the state layer enriched them (with the process,
// its ancestors and its container), so that replaying a recording needs no
// kernel and no /proc and reproduces the alerts of the recorded run.
//
// The format is specified in FORMAT.md beside this file. A Writer produces
// a recording, a Reader decodes one event at a time, and Open (or Factory)
// wraps a recording file as a driver.Driver named "replay".
//
// Damage is detected: every record carries a CRC-32C checksum, and a
// recording ends with an end record, so a truncated or corrupted file yields
// a *FormatError (wrapping ErrTruncated or ErrCorrupt) after the events
// before the damage were delivered.
package replay

import (
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/vigilsec/vigil/driver"
)

// Version is the format version that this package writes and reads.
const Version = 1

// Magic is the first eight bytes of every recording.
const Magic = "VIGILREC"

// Errors wrapped by *FormatError.
var (
	// ErrNotRecording means the input does not start with Magic.
	ErrNotRecording = errors.New("not a vigil recording")
	// ErrVersion means the recording has a format version (or header
	// flags) this package does not read.
	ErrVersion = errors.New("unsupported recording format version")
	// ErrCorrupt means a record failed its checksum or does not decode.
	ErrCorrupt = errors.New("corrupt recording")
	// ErrTruncated means the input ended inside the header or a record, or
	// before the end record that closes every complete recording.
	ErrTruncated = errors.New("truncated recording")
)

// ErrTooLarge is returned by Writer.Write for an event that exceeds the
// format's bounds (see FORMAT.md); nothing of that event is written.
var ErrTooLarge = errors.New("event exceeds recording limits")

// FormatError reports where a recording is damaged.
type FormatError struct {
	// Offset is the byte offset of the start of the damaged record (or of
	// the damaged header field).
	Offset int64
	// Record is the number of the damaged record: 0 is the file header,
	// 1 the first record after it, -1 unknown (ReadSummary).
	Record int64
	// Err is ErrNotRecording, ErrVersion, ErrCorrupt or ErrTruncated.
	Err error
	// Detail says what is wrong, for people.
	Detail string
}

// Error returns "replay: record N at byte OFFSET: ERR: DETAIL".
func (e *FormatError) Error() string {
	return fmt.Sprintf("replay: record %d at byte %d: %v: %s", e.Record, e.Offset, e.Err, e.Detail)
}

// Unwrap returns e.Err.
func (e *FormatError) Unwrap() error { return e.Err }

// Record kinds (the kind byte of a frame).
const (
	kindHeader    = 1
	kindProcess   = 2
	kindContainer = 3
	kindEvent     = 4
	kindReset     = 5
	kindEnd       = 6
	// Kinds from kindOptional up are optional extensions: readers skip
	// the ones they do not know.
	kindOptional = 128
	// kindProcessExt adds members newer than the process definition to
	// the process just defined (see FORMAT.md).
	kindProcessExt = 128
)

// Format bounds. A Writer never produces a recording outside them; a Reader
// rejects one that is, so hostile lengths cannot make it allocate more than
// these allow.
const (
	frameHeaderSize = 13
	trailerSize     = 8
	trailerMagic    = "VEND"

	maxRecordSize = 16 << 20 // payload bytes of one record
	maxStringLen  = 1 << 20  // bytes of one string or of Event.Data
	maxListLen    = 1 << 16  // elements of one list (Args, Env, Mounts, PodLabels)
	maxProcesses  = 1 << 16  // process slots
	maxContainers = 1 << 12  // container slots
	maxDepth      = 256      // process definitions in one ancestor chain
	maxTableCost  = 64 << 20 // sum of the costs of the defined slots
	maxEventTypes = 1 << 16  // names in the event-type table
	elemCost      = 64       // cost of one list element beyond its bytes
	headerPrefix  = len(Magic) + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Known availability bits: a Writer stores only these, and a Reader
// rejects others. The tests check that they cover every bit the driver
// package defines.
const (
	knownEventMask     = driver.HasUIDName<<1 - 1
	knownProcessMask   = driver.ProcHasCgroup<<1 - 1
	knownContainerMask = driver.ContHasIP<<1 - 1
)

// Process members by where they are stored: the bits of a process
// definition (kind 2) are fixed since version 1; members added since travel
// in process extensions (kind 128), which readers that predate them skip.
// The end record summarizes only the definitions' bits.
const (
	baseProcessMask = driver.ProcHasPGID<<1 - 1
	extProcessMask  = knownProcessMask &^ baseProcessMask
	firstExtBit     = 21 // bit number of the lowest bit of extProcessMask
)
