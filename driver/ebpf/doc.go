// Package ebpf is Vigil's eBPF event driver: CO-RE BPF programs on raw
// tracepoints that report completed syscalls and process lifecycle events
// through a BPF ring buffer.
//
// # Kernel side (bpf/)
//
// bpf/vigil.bpf.c is compiled by bpf2go (go generate; clang and libbpf
// headers needed only then) into vigil_x86_bpfel.{go,o}, which are
// committed. bpf/kernel.h declares, by hand, only the kernel struct
// members the programs read, with preserve_access_index, so that the
// loader relocates them against the running kernel's BTF (CO-RE);
// bpf/record.h is the record format shared with decode.go.
//
// Hooks, all raw tracepoints (BPF_RAW_TRACEPOINT_OPEN: no perf events, so
// attaching and detaching take milliseconds, and no kprobes or trampolines):
//
//   - sys_exit: a dispatcher that reads the syscall number from the task's
//     saved registers and tail-calls into the `handlers` program array at
//     that index. New fills only the slots of the syscalls that
//     Options.EventTypes needs, so every other syscall costs one register
//     read and a missed tail call; this is the in-kernel event-type filter.
//     The handlers (vigil_sys_plain, _open, _path, _path2, _fd) read the
//     arguments from the same saved registers, which syscalls leave intact,
//     so no sys_enter hook and no per-task map of saved arguments are
//     needed. Strings in user memory are read at exit, when the kernel has
//     already faulted them in.
//   - sched_process_fork: the child side of clone/fork/vfork/clone3 (new
//     processes always, threads only when clone or clone3 is requested);
//     the event type comes from the parent's syscall number. The child's
//     cgroup is already its own (clone3 with CLONE_INTO_CGROUP included).
//   - sched_process_exec: successful execve/execveat, with argv and env from
//     mm->arg_start..arg_end and env_start..env_end, the executable's path,
//     the cwd and the credentials. A failed exec is reported at sys_exit.
//     The kernel rewrites the syscall number to execve's while an exec
//     succeeds, so execveat is recognised by its /dev/fd/N file name.
//   - sched_process_exit: procexit, when the last thread of a thread group
//     exits (signal->live is zero).
//
// Vigil's own process (Options.SelfPID) is filtered in the kernel: New runs
// a tiny program once in its own context (BPF_PROG_TEST_RUN) to learn its
// pid in the root namespace, falling back to bpf_get_ns_current_pid_tgid.
// 32-bit compat syscalls (TS_COMPAT) are skipped.
//
// # Records
//
// A record is a fixed header (time since boot, result, the six raw
// arguments, tid, tgid, syscall number or KIND_FORK/EXEC/EXIT, CPU,
// length) followed by tagged items: user strings (paths as the process
// passed them), dentry walks, a file_info (inode, device, flags, f_mode,
// i_mode, filesystem magic) of the event's descriptor, a sock_info (family,
// type, protocol, local and peer addresses and ports, unix paths), a raw
// user sockaddr, the first bytes of an I/O buffer, and a proc_info with
// argv, env, exe path, cwd and cgroup for process events. Records are built in a
// per-CPU scratch map and copied into the ring buffer with
// bpf_ringbuf_output; a failure is counted per CPU in the `drops` map
// (Stats, and logged by Run). The reader is woken only once 256 KiB are
// pending and otherwise polls every 10 ms, which keeps wake-ups rare under
// load.
//
// # What is resolved where
//
// In the kernel: the path of a file, a working directory or a dirfd, by
// walking dentries and mount points up to the task's root (a bpf_loop
// callback of at most 48 steps; each name is emitted leaf first), socket
// tuples from struct sock, the descriptor's file and socket info, and the
// process snapshot, including the task's cgroup in the cgroup v2 hierarchy
// (task->cgroups->dfl_cgrp): its kernfs names from the leaf up, at most 16
// levels and 1 KiB, in a bpf_loop callback like the dentry walk. Reading it
// in the kernel matters for processes that exec in a container's cgroup and
// exit at once (runc moves its init there before the exec): by the time the
// state layer would read /proc/PID/cgroup, the process is gone. The decoder
// reports the path as Process.Cgroup ("/a/b/c", or ".../b/c" when the walk
// stopped below the root). Hosts with only cgroup v1 hierarchies see every
// task in the v2 root "/"; the state layer then keeps reading /proc.
//
// In decode.go: the absolute path of a path argument, joining a relative
// one with its dirfd's or the cwd's walk and cleaning "." and ".." without
// following symlinks, as Falco does; descriptor kinds
// (file, directory, pipe, socket family, memfd, anonymous inodes by name);
// fd.name tuples "cip:cport->sip:sport"; Falco's conventions for flags,
// modes, device numbers (stat encoding) and exe_writable. decodeEvent is a
// pure function of the record; the driver's decoder adds a bounded string
// cache so that steady-state decoding does not allocate, and the boot-time
// offset for wall-clock timestamps.
//
// # Requirements
//
// Linux 5.17 or later (bpf_loop; ring buffer 5.8) with BTF
// (/sys/kernel/btf/vmlinux), x86_64, and CAP_BPF with CAP_PERFMON (or
// CAP_SYS_ADMIN). Probe checks by doing the real operations.
//
// # Regenerating
//
//	go generate ./driver/ebpf   # needs clang and libbpf-dev
//	sudo go test ./driver/ebpf -run CaptureRecords -update   # refresh testdata/records
package ebpf
