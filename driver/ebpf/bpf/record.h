/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The record format between the probe and the Go decoder (decode.go keeps
 * the same constants; layout_test.go checks the structs against this
 * object's BTF). A record is a rec_hdr followed by items; an item is a
 * 4-byte item_hdr and len bytes of payload. All integers are little-endian.
 */
#ifndef VIGIL_RECORD_H
#define VIGIL_RECORD_H

/* rec_hdr.kind for events that are not syscall exits (those carry the x86_64
 * syscall number). */
#define KIND_FORK 1000 /* sched_process_fork: the new task; args[0] = parent's syscall nr */
#define KIND_EXEC 1001 /* sched_process_exec; args[0] = syscall nr (or -1 when unknown) */
#define KIND_EXIT 1002 /* sched_process_exit of a thread group's last thread */

struct rec_hdr {
	__u64 ts;      /* bpf_ktime_get_boot_ns */
	__s64 res;     /* syscall return value */
	__u64 args[6]; /* raw syscall arguments */
	__u32 tid;     /* host pid namespace */
	__u32 pid;     /* thread group id */
	__u16 kind;    /* syscall nr or KIND_* */
	__u16 cpu;
	__u32 len;     /* whole record, header included */
};

struct item_hdr {
	__u8 tag;   /* IT_* */
	__u8 flags; /* IF_* */
	__u16 len;  /* payload bytes after this header */
};

enum item_tag {
	IT_PATH = 1,      /* first path (or string) argument, as the process passed it */
	IT_PATH2 = 2,     /* second path argument */
	IT_BASE = 3,      /* dentry walk of the directory a relative IT_PATH is relative to */
	IT_BASE2 = 4,     /* same for IT_PATH2 */
	IT_FILE = 5,      /* struct file_info of the event's descriptor */
	IT_FILEPATH = 6,  /* dentry walk of that descriptor's file */
	IT_SOCK = 7,      /* struct sock_info of that descriptor's socket */
	IT_SOCKADDR = 8,  /* struct sockaddr from user memory (destination or source) */
	IT_STR = 9,       /* other string: memfd name, module parameters, mount fstype */
	IT_STR2 = 10,     /* mount source */
	IT_PROC = 11,     /* struct proc_info */
	IT_ARGS = 12,     /* argv, NUL-separated (mm->arg_start..arg_end) */
	IT_ENV = 13,      /* environment, NUL-separated */
	IT_EXEPATH = 14,  /* dentry walk of mm->exe_file */
	IT_CWD = 15,      /* dentry walk of the working directory */
	IT_DATA = 16,     /* first bytes of an I/O buffer */
	IT_UNIX = 17,     /* unix socket: local sun_path */
	IT_UNIXPEER = 18, /* unix socket: peer's sun_path */
	IT_HOW = 19,      /* struct open_how (openat2) */
	IT_CGROUP = 20,   /* the task's cgroup v2 path as a walk: names leaf first, IF_ROOT when complete */
};

/* item_hdr.flags of dentry walks (and of the IT_CGROUP walk). */
#define IF_ROOT 1         /* the walk reached the root (the path is complete) */
#define IF_DISCONNECTED 2 /* the last component has no parent (pseudo file: pipe, memfd, anon inode) */

struct file_info {
	__u64 ino;
	__u32 dev;   /* sb->s_dev, kernel encoding (major << 20 | minor) */
	__u32 flags; /* f_flags */
	__u32 fmode; /* f_mode */
	__u32 imode; /* i_mode */
	__u32 magic; /* sb->s_magic */
	__s32 fd;
};

struct sock_info {
	__u8 saddr[16]; /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16]; /* peer address */
	__u16 sport;    /* local port, host order */
	__u16 dport;    /* peer port, host order */
	__u16 family;
	__u16 type;
	__u16 proto;
	__u8 state;
	__u8 pad[5];
};

struct proc_info {
	__u64 start;     /* group leader's start, boot ns */
	__u64 cap_inh;
	__u64 cap_perm;
	__u64 cap_eff;
	__u64 exe_ino;
	__s64 exe_ctime; /* ns since epoch */
	__s64 exe_mtime;
	__u32 ppid;
	__u32 vpid, vtid;
	__u32 sid, pgid, vpgid;
	__u32 uid, gid, euid, egid, fsuid, fsgid;
	__u32 loginuid;
	__u32 tty_major, tty_minor; /* 0, 0: no controlling terminal */
	__u32 exe_mode, exe_uid, exe_gid, exe_nlink, exe_magic, exe_sbflags, exe_iflags;
	__s32 exit_code;
	__u32 flags; /* PI_* */
	char comm[16];
};

#define PI_HAS_EXE 1     /* exe_* fields are filled */
#define PI_HAS_TTY 2
#define PI_THREAD 4      /* KIND_FORK of a thread (CLONE_THREAD) */
#define PI_LOGINUID 8    /* loginuid is filled */

#endif
