package metrics

import (
	"github.com/vigilsec/vigil/driver/ebpf"
	"github.com/vigilsec/vigil/driver/fanotify"
)

// Drop reasons of the drivers, the values of the reason label of
// vigil_kernel_drops_total and vigil_user_drops_total.
const (
	// ReasonRingbufFull: the eBPF program could not reserve ring-buffer
	// space.
	ReasonRingbufFull = "ringbuf_full"
	// ReasonFanotifyOverflow: the fanotify queue overflowed
	// (FAN_Q_OVERFLOW).
	ReasonFanotifyOverflow = "fanotify_overflow"
	// ReasonProcConnectorENOBUFS: the proc connector socket buffer could
	// not hold a message (ENOBUFS).
	ReasonProcConnectorENOBUFS = "proc_connector_enobufs"
	// ReasonDecodeError: a record reached Vigil but could not be decoded.
	ReasonDecodeError = "decode_error"
)

// EBPFStats converts the eBPF driver's counters: ring-buffer drops (in
// total and per CPU) and decode errors.
func EBPFStats(s ebpf.Stats) DriverStats {
	return DriverStats{
		KernelDrops:       map[string]uint64{ReasonRingbufFull: s.Drops},
		KernelDropsPerCPU: s.DropsPerCPU,
		UserDrops:         map[string]uint64{ReasonDecodeError: s.DecodeErrors},
	}
}

// FanotifyStats converts the fanotify driver's counters: fanotify queue
// overflows, proc connector losses and decode errors.
func FanotifyStats(s fanotify.Stats) DriverStats {
	var enobufs uint64
	if s.Drops > s.Overflows {
		enobufs = s.Drops - s.Overflows
	}
	return DriverStats{
		KernelDrops: map[string]uint64{
			ReasonFanotifyOverflow:     s.Overflows,
			ReasonProcConnectorENOBUFS: enobufs,
		},
		UserDrops: map[string]uint64{ReasonDecodeError: s.DecodeErrors},
	}
}
