package ebpf

// The record format written by the kernel side (bpf/record.h). A record is
// a fixed header followed by items, each an item header and a payload.
// layout_test.go checks these offsets against the object's BTF.

// Record kinds beyond the syscall numbers.
const (
	kindFork = 1000 // sched_process_fork: the new task; args[0] = parent's syscall nr
	kindExec = 1001 // sched_process_exec; args[0] = syscall nr or -1
	kindExit = 1002 // sched_process_exit of a thread group's last thread
)

// struct rec_hdr.
const (
	hdrTs   = 0
	hdrRes  = 8
	hdrArgs = 16
	hdrTid  = 64
	hdrPid  = 68
	hdrKind = 72
	hdrCPU  = 74
	hdrLen  = 76
	hdrSize = 80
)

// struct item_hdr.
const (
	itemTag   = 0
	itemFlags = 1
	itemLen   = 2
	itemSize  = 4
)

// Item tags (enum item_tag).
const (
	itPath     = 1
	itPath2    = 2
	itBase     = 3
	itBase2    = 4
	itFile     = 5
	itFilePath = 6
	itSock     = 7
	itSockaddr = 8
	itStr      = 9
	itStr2     = 10
	itProc     = 11
	itArgs     = 12
	itEnv      = 13
	itExePath  = 14
	itCwd      = 15
	itData     = 16
	itUnix     = 17
	itUnixPeer = 18
	itHow      = 19
	itCgroup   = 20
	numItems   = 21
)

// Item flags of dentry walks (and of the cgroup walk).
const (
	ifRoot         = 1 // the walk reached the root
	ifDisconnected = 2 // pseudo file without a parent (pipe, memfd, anon inode)
)

// struct file_info.
const (
	fiIno   = 0
	fiDev   = 8
	fiFlags = 12
	fiFmode = 16
	fiImode = 20
	fiMagic = 24
	fiFD    = 28
	fiSize  = 32
)

// struct sock_info.
const (
	siSaddr  = 0
	siDaddr  = 16
	siSport  = 32
	siDport  = 34
	siFamily = 36
	siType   = 38
	siProto  = 40
	siState  = 42
	siSize   = 48
)

// struct proc_info.
const (
	piStart      = 0
	piCapInh     = 8
	piCapPerm    = 16
	piCapEff     = 24
	piExeIno     = 32
	piExeCtime   = 40
	piExeMtime   = 48
	piPpid       = 56
	piVpid       = 60
	piVtid       = 64
	piSid        = 68
	piPgid       = 72
	piVpgid      = 76
	piUID        = 80
	piGID        = 84
	piEuid       = 88
	piEgid       = 92
	piFsuid      = 96
	piFsgid      = 100
	piLoginUID   = 104
	piTTYMajor   = 108
	piTTYMinor   = 112
	piExeMode    = 116
	piExeUID     = 120
	piExeGID     = 124
	piExeNlink   = 128
	piExeMagic   = 132
	piExeSbflags = 136
	piExeIflags  = 140
	piExitCode   = 144
	piFlags      = 148
	piComm       = 152
	piSize       = 168
)

// proc_info flags.
const (
	pfHasExe   = 1
	pfHasTTY   = 2
	pfThread   = 4
	pfLoginUID = 8
)
