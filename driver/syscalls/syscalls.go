// Package syscalls maps x86_64 system call numbers to Falco's event types.
// The eBPF and ptrace drivers both see raw syscall numbers; this is their
// one table. It is generated from the kernel headers' asm/unistd_64.h by
// gen.sh.
package syscalls

//go:generate sh gen.sh

import "github.com/vigilsec/vigil/driver"

// Count is the number of syscall numbers in the table (the highest plus
// one).
const Count = len(names)

// types maps syscall numbers to event types (EventUnknown for syscalls
// Vigil has no event type for).
var types = func() (t [Count]driver.EventType) {
	for nr, name := range names {
		if et, ok := driver.EventTypeByName(name); ok {
			t[nr] = et
		}
	}
	return t
}()

// Type returns the event type of syscall nr, or driver.EventUnknown.
func Type(nr uint64) driver.EventType {
	if nr < uint64(Count) {
		return types[nr]
	}
	return driver.EventUnknown
}

// Name returns the kernel's name of syscall nr, or "" when unknown.
func Name(nr uint64) string {
	if nr < uint64(Count) {
		return names[nr]
	}
	return ""
}
