package ptrace

// Classic BPF as seccomp uses it (struct sock_filter).
const (
	bpfLdWAbs  = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK    = 0x06 // BPF_RET | BPF_K
	bpfMaxInsn = 4096 // BPF_MAXINSNS

	seccompRetAllow = 0x7fff0000
	seccompRetTrace = 0x7ff00000

	auditArchX86_64 = 0xc000003e
	x32SyscallBit   = 0x40000000

	offNr   = 0 // struct seccomp_data.nr
	offArch = 4 // struct seccomp_data.arch
)

// insn is one classic BPF instruction (struct sock_filter).
type insn struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// buildFilter returns the seccomp program that returns SECCOMP_RET_TRACE
// for the x86_64 syscalls nrs and SECCOMP_RET_ALLOW for everything else,
// including other architectures' and x32 syscalls. Each traced syscall
// costs two instructions (a compare falling through to a return), so no
// jump is longer than one instruction; it returns nil when the program
// would exceed BPF_MAXINSNS.
func buildFilter(nrs []uint32) []insn {
	prog := []insn{
		{Code: bpfLdWAbs, K: offArch},
		{Code: bpfJeqK, Jt: 1, K: auditArchX86_64},
		{Code: bpfRetK, K: seccompRetAllow},
		{Code: bpfLdWAbs, K: offNr},
		{Code: bpfJgeK, Jf: 1, K: x32SyscallBit},
		{Code: bpfRetK, K: seccompRetAllow},
	}
	for _, nr := range nrs {
		prog = append(prog,
			insn{Code: bpfJeqK, Jf: 1, K: nr},
			insn{Code: bpfRetK, K: seccompRetTrace})
	}
	prog = append(prog, insn{Code: bpfRetK, K: seccompRetAllow})
	if len(prog) > bpfMaxInsn {
		return nil
	}
	return prog
}

// runFilter interprets prog (as built by buildFilter) for one syscall and
// returns the seccomp action. It is used by the tests to check programs
// without a kernel; unknown instructions return 0 (kill).
func runFilter(prog []insn, arch, nr uint32) uint32 {
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdWAbs:
			switch in.K {
			case offNr:
				acc = nr
			case offArch:
				acc = arch
			default:
				return 0
			}
		case bpfJeqK:
			if acc == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfJgeK:
			if acc >= in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfRetK:
			return in.K
		default:
			return 0
		}
	}
	return 0
}
