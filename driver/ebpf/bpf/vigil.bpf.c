// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Vigil's kernel side. Hooks (all raw tracepoints: no perf events, no
 * kprobes, no trampolines):
 *
 *   sys_exit            dispatcher: one tail call into `handlers`, indexed by
 *                       the x86_64 syscall number. User space fills only the
 *                       slots of the syscalls the rules need, so every other
 *                       syscall costs one register read and a missed tail
 *                       call. Arguments are read from the task's saved user
 *                       registers, which syscalls leave intact (execve is
 *                       handled by sched_process_exec instead).
 *   sched_process_fork  new task (child side of clone/fork/vfork/clone3),
 *                       with its cgroup
 *   sched_process_exec  successful execve/execveat, with argv, env, exe, cwd
 *                       and the cgroup
 *   sched_process_exit  last thread of a thread group exits (procexit)
 *
 * Records are built in a per-CPU scratch buffer and copied into one BPF ring
 * buffer; failures to reserve are counted per CPU in `drops`.
 */
#include <linux/bpf.h>
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_MAX 512
#define BUF_SIZE 24576
#define MASK 0x3fff        /* offsets into the scratch buffer */
#define LIMIT 12288        /* no item starts beyond this offset */
#define MAX_OUT 20480      /* record size cap */
#define STR_MAX 4096       /* user strings (paths) */
#define ARGS_MAX 4096      /* argv and env, each */
#define NAME_BUF 256       /* one dentry name */
#define MAX_DEPTH 48       /* dentry walk steps, mount crossings included */
#define SNAPLEN 80         /* I/O buffer bytes */
#define CG_DEPTH 16        /* cgroup levels walked */
#define CG_MAX 1024        /* bytes of cgroup names */
#define SOCKADDR_MAX 128

/* OFF bounds a scratch-buffer offset for the verifier; the barrier keeps
 * clang from dropping the mask where it proves it redundant. */
#define OFF(x) ({ __u64 _o = (x); barrier_var(_o); _o & MASK; })

#define AT_FDCWD -100
#define TS_COMPAT 0x0002
#define PF_KTHREAD 0x00200000
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define PIDTYPE_PGID 2
#define PIDTYPE_SID 3

/* x86_64 syscall numbers the handlers switch on. */
#define NR_open 2
#define NR_dup 32
#define NR_dup2 33
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_bind 49
#define NR_execve 59
#define NR_rename 82
#define NR_creat 85
#define NR_link 86
#define NR_symlink 88
#define NR_mount 165
#define NR_init_module 175
#define NR_openat 257
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_accept4 288
#define NR_dup3 292
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_memfd_create 319
#define NR_execveat 322
#define NR_openat2 437

/* Set by the loader before loading. */
volatile const __u32 self_pid;       /* Options.SelfPID, in the loader's pid namespace */
volatile const __u64 pidns_dev;      /* that namespace's nsfs device and inode */
volatile const __u64 pidns_ino;
volatile const __u64 wakeup_bytes = 1; /* wake the reader once this much is pending */
volatile const __u32 emit_threads;   /* report thread creation (clone of threads) too */

/* Learned at start-up (vigil_whoami run by the loader): Vigil's tgid in the
 * root pid namespace. */
__u32 self_tgid;

struct scratch {
	__u8 buf[BUF_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} handlers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} heap SEC(".maps");

/* Per CPU: [0] records lost because the ring buffer was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Keep the record types in the object's BTF for the layout test. */
struct rec_hdr _rec_hdr __attribute__((unused));
struct item_hdr _item_hdr __attribute__((unused));
struct file_info _file_info __attribute__((unused));
struct sock_info _sock_info __attribute__((unused));
struct proc_info _proc_info __attribute__((unused));

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline bool is_self(__u64 id)
{
	__u32 tgid = id >> 32;
	if (self_tgid)
		return tgid == self_tgid;
	if (!self_pid)
		return false;
	struct bpf_pidns_info ns = {};
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return false;
	return ns.tgid == self_pid;
}

static __always_inline void item_end(__u8 *buf, __u32 start, __u32 end, __u8 tag, __u8 flags)
{
	struct item_hdr *h = (void *)(buf + OFF(start));
	h->tag = tag;
	h->flags = flags;
	h->len = end - start - sizeof(struct item_hdr);
}

static __always_inline __u8 *rec_start(__u32 kind, __s64 res, struct pt_regs *regs, __u64 id)
{
	__u32 zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&heap, &zero);
	if (!buf)
		return NULL;
	struct rec_hdr *h = (void *)buf;
	h->ts = bpf_ktime_get_boot_ns();
	h->res = res;
	if (regs) {
		h->args[0] = BPF_CORE_READ(regs, di);
		h->args[1] = BPF_CORE_READ(regs, si);
		h->args[2] = BPF_CORE_READ(regs, dx);
		h->args[3] = BPF_CORE_READ(regs, r10);
		h->args[4] = BPF_CORE_READ(regs, r8);
		h->args[5] = BPF_CORE_READ(regs, r9);
	} else {
		for (int i = 0; i < 6; i++)
			h->args[i] = 0;
	}
	h->tid = (__u32)id;
	h->pid = id >> 32;
	h->kind = kind;
	h->cpu = bpf_get_smp_processor_id();
	h->len = 0;
	return buf;
}

static __always_inline void emit(__u8 *buf, __u32 off)
{
	struct rec_hdr *h = (void *)buf;
	if (off > MAX_OUT)
		off = MAX_OUT;
	if (off < sizeof(struct rec_hdr))
		off = sizeof(struct rec_hdr);
	h->len = off;
	__u64 sz = off;
	barrier_var(sz);
	if (sz > MAX_OUT)
		return;
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, buf, sz, flags)) {
		__u32 zero = 0;
		__u64 *d = bpf_map_lookup_elem(&drops, &zero);
		if (d)
			(*d)++;
	}
}

/* put_ustr appends a NUL-terminated string from user memory. */
static __always_inline __u32 put_ustr(__u8 *buf, __u32 off, __u8 tag, const void *p)
{
	if (!p || off > LIMIT)
		return off;
	long n = bpf_probe_read_user_str(buf + OFF(off + 4), STR_MAX, p);
	if (n <= 0)
		return off;
	item_end(buf, off, off + 4 + n, tag, 0);
	return off + 4 + n;
}

/* put_kstr appends a NUL-terminated string from kernel memory. */
static __always_inline __u32 put_kstr(__u8 *buf, __u32 off, __u8 tag, const void *p)
{
	if (!p || off > LIMIT)
		return off;
	long n = bpf_probe_read_kernel_str(buf + OFF(off + 4), STR_MAX, p);
	if (n <= 0)
		return off;
	item_end(buf, off, off + 4 + n, tag, 0);
	return off + 4 + n;
}

/* put_ubytes appends n (<= max) bytes of user memory. */
static __always_inline __u32 put_ubytes(__u8 *buf, __u32 off, __u8 tag, const void *p, __u64 n, __u32 max)
{
	if (!p || off > LIMIT || n == 0)
		return off;
	if (n > max)
		n = max;
	if (n > ARGS_MAX)
		n = ARGS_MAX;
	if (bpf_probe_read_user(buf + OFF(off + 4), n, p))
		return off;
	item_end(buf, off, off + 4 + n, tag, 0);
	return off + 4 + n;
}

struct walk {
	struct dentry *d;
	struct vfsmount *vm;
	struct mount *mnt;
	struct dentry *root_d;
	struct vfsmount *root_m;
	__u32 off;
	__u8 flags;
};

/* walk_step is one step of a dentry walk (a bpf_loop callback, so that the
 * verifier checks it once instead of once per iteration). */
static long walk_step(__u64 i, struct walk *w)
{
	__u32 zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&heap, &zero);
	if (!buf)
		return 1;
	struct dentry *d = w->d;
	struct vfsmount *vm = w->vm;
	if (d == w->root_d && vm == w->root_m) {
		w->flags = IF_ROOT;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		struct mount *mnt = w->mnt;
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt || !mp) {
			w->flags = IF_ROOT;
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->vm = (void *)((char *)mp + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	__u32 off = w->off;
	if (off > LIMIT)
		return 1;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	long n = bpf_probe_read_kernel_str(buf + OFF(off), NAME_BUF, name);
	if (n <= 0)
		return 1;
	w->off = off + n;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (parent == d || !parent) {
		w->flags = IF_DISCONNECTED;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * put_dpath appends the path of (d, vm) as a dentry walk: the names from the
 * leaf up, each NUL-terminated, crossing mount points, until the task's
 * root or the root of the mount tree. IF_ROOT says the walk is complete.
 */
static __noinline __u32 put_dpath(__u8 *buf, __u32 off, __u32 tag, struct dentry *d, struct vfsmount *vm)
{
	if (off > LIMIT || !d || !vm)
		return off;
	struct task_struct *t = current_task();
	struct walk w = {
		.d = d,
		.vm = vm,
		.mnt = (void *)((char *)vm - bpf_core_field_offset(struct mount, mnt)),
		.root_d = BPF_CORE_READ(t, fs, root.dentry),
		.root_m = BPF_CORE_READ(t, fs, root.mnt),
		.off = off + 4,
	};
	bpf_loop(MAX_DEPTH, walk_step, &w, 0);
	item_end(buf, off, w.off, tag, w.flags);
	return w.off;
}

struct cgwalk {
	struct kernfs_node *kn;
	__u32 off;
	__u32 end;
	__u8 flags;
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___v615, __parent))
		return BPF_CORE_READ((struct kernfs_node___v615 *)kn, __parent);
	return BPF_CORE_READ(kn, parent);
}

/* cg_step is one step of a cgroup walk (a bpf_loop callback): the name of
 * the current kernfs node, unless it is the hierarchy's root, whose name is
 * not part of the path. A name that does not fit in what is left of CG_MAX,
 * or one beyond CG_DEPTH levels, ends the walk without being written. */
static long cg_step(__u64 i, struct cgwalk *w)
{
	__u32 zero = 0;
	__u8 *buf = bpf_map_lookup_elem(&heap, &zero);
	if (!buf)
		return 1;
	struct kernfs_node *kn = w->kn;
	struct kernfs_node *parent = kn_parent(kn);
	if (!parent) {
		w->flags = IF_ROOT;
		return 1;
	}
	__u32 off = w->off;
	if (i >= CG_DEPTH || off >= w->end)
		return 1;
	__u64 room = w->end - off;
	if (room > NAME_BUF)
		room = NAME_BUF;
	barrier_var(room);
	if (room == 0 || room > NAME_BUF)
		return 1; /* never: tells the verifier the bounds */
	long n = bpf_probe_read_kernel_str(buf + OFF(off), room, BPF_CORE_READ(kn, name));
	if (n <= 0 || (n >= room && room < NAME_BUF))
		return 1; /* unreadable, or possibly cut short */
	w->off = off + n;
	w->kn = parent;
	return 0;
}

/*
 * put_cgroup appends t's cgroup in the v2 (default) hierarchy as a walk of
 * kernfs names from the leaf up, at most CG_DEPTH levels and CG_MAX bytes.
 * IF_ROOT says the walk reached the hierarchy's root (the path is
 * complete; no names at all: the root cgroup). On hosts with only cgroup v1
 * hierarchies every task is in the v2 root.
 */
static __noinline __u32 put_cgroup(__u8 *buf, __u32 off, struct task_struct *t)
{
	if (off > LIMIT || !t)
		return off;
	struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
	if (!kn)
		return off;
	struct cgwalk w = {
		.kn = kn,
		.off = off + 4,
		.end = off + 4 + CG_MAX,
	};
	/* One step more than CG_DEPTH, to see the root above a path of
	 * CG_DEPTH levels. */
	bpf_loop(CG_DEPTH + 1, cg_step, &w, 0);
	if (w.off == off + 4 && !w.flags)
		return off; /* nothing read */
	item_end(buf, off, w.off, IT_CGROUP, w.flags);
	return w.off;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 put_unix_addr(__u8 *buf, __u32 off, __u8 tag, struct sock *sk)
{
	if (!sk || off > LIMIT)
		return off;
	struct unix_address *a = BPF_CORE_READ((struct unix_sock *)sk, addr);
	if (!a)
		return off;
	int len = BPF_CORE_READ(a, len) - 2;
	if (len <= 0)
		return off;
	if (len > 108)
		len = 108;
	if (bpf_probe_read_kernel(buf + OFF(off + 4), 108, &a->name[0].sun_path))
		return off;
	item_end(buf, off, off + 4 + len, tag, 0);
	return off + 4 + len;
}

static __noinline __u32 put_sock(__u8 *buf, __u32 off, struct socket *so)
{
	if (off > LIMIT || !so)
		return off;
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return off;
	struct sock_info *si = (void *)(buf + OFF(off + 4));
	__builtin_memset(si, 0, sizeof(*si));
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	si->family = family;
	si->type = BPF_CORE_READ(sk, sk_type);
	si->proto = BPF_CORE_READ(sk, sk_protocol);
	si->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	si->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	si->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(si->saddr, &a, 4);
		a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(si->daddr, &a, 4);
	} else if (family == AF_INET6) {
		bpf_core_read(si->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(si->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	item_end(buf, off, off + 4 + sizeof(*si), IT_SOCK, 0);
	off += 4 + sizeof(*si);
	if (family == AF_UNIX) {
		off = put_unix_addr(buf, off, IT_UNIX, sk);
		off = put_unix_addr(buf, off, IT_UNIXPEER, BPF_CORE_READ((struct unix_sock *)sk, peer));
	}
	return off;
}

/* put_file appends what the descriptor fd refers to: IT_FILE and either
 * IT_SOCK (sockets) or, when walk is set, IT_FILEPATH. */
static __noinline __u32 put_file(__u8 *buf, __u32 off, int fd, int walk)
{
	if (off > LIMIT)
		return off;
	struct file *f = fd_file(current_task(), fd);
	if (!f)
		return off;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct file_info *fi = (void *)(buf + OFF(off + 4));
	fi->ino = BPF_CORE_READ(ino, i_ino);
	fi->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	fi->flags = BPF_CORE_READ(f, f_flags);
	fi->fmode = BPF_CORE_READ(f, f_mode);
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	fi->imode = mode;
	fi->magic = BPF_CORE_READ(ino, i_sb, s_magic);
	fi->fd = fd;
	item_end(buf, off, off + 4 + sizeof(*fi), IT_FILE, 0);
	off += 4 + sizeof(*fi);
	if ((mode & S_IFMT) == S_IFSOCK)
		return put_sock(buf, off, BPF_CORE_READ(f, private_data));
	if (!walk)
		return off;
	return put_dpath(buf, off, IT_FILEPATH, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

/* put_base appends, when the IT_PATH/IT_PATH2 item at pstart holds a
 * relative path, the directory it is relative to: dirfd's file or the cwd. */
static __noinline __u32 put_base(__u8 *buf, __u32 off, __u32 tag, __u32 pstart, long dirfd)
{
	if (pstart >= off || off > LIMIT)
		return off; /* no path item */
	if (buf[OFF(pstart + 4)] == '/')
		return off;
	struct task_struct *t = current_task();
	if ((int)dirfd == AT_FDCWD)
		return put_dpath(buf, off, tag, BPF_CORE_READ(t, fs, pwd.dentry), BPF_CORE_READ(t, fs, pwd.mnt));
	struct file *f = fd_file(t, (int)dirfd);
	if (!f)
		return off;
	return put_dpath(buf, off, tag, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline __u32 pid_nr_at(struct pid *p, unsigned int level)
{
	if (!p)
		return 0;
	int nr = 0;
	if (level > 32)
		return 0;
	bpf_probe_read_kernel(&nr, sizeof(nr),
			      (char *)p + bpf_core_field_offset(struct pid, numbers) +
				      level * bpf_core_type_size(struct upid));
	return nr;
}

static __always_inline __u32 pid_vnr(struct pid *p)
{
	if (!p)
		return 0;
	return pid_nr_at(p, BPF_CORE_READ(p, level));
}

static __always_inline __s64 inode_time(struct inode *ino, bool ctime)
{
	if (bpf_core_field_exists(struct inode, i_ctime_sec)) {
		if (ctime)
			return BPF_CORE_READ(ino, i_ctime_sec) * 1000000000LL + BPF_CORE_READ(ino, i_ctime_nsec);
		return BPF_CORE_READ(ino, i_mtime_sec) * 1000000000LL + BPF_CORE_READ(ino, i_mtime_nsec);
	}
	if (bpf_core_field_exists(struct inode___v66, __i_ctime)) {
		struct inode___v66 *i = (void *)ino;
		struct timespec64 ts;
		if (ctime)
			ts = BPF_CORE_READ(i, __i_ctime);
		else
			ts = BPF_CORE_READ(i, __i_mtime);
		return ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
	struct inode___old *i = (void *)ino;
	struct timespec64 ts;
	if (ctime)
		ts = BPF_CORE_READ(i, i_ctime);
	else
		ts = BPF_CORE_READ(i, i_mtime);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* put_proc appends struct proc_info of t. */
static __noinline __u32 put_proc(__u8 *buf, __u32 off, struct task_struct *t, __u32 pflags)
{
	if (off > LIMIT || !t)
		return off;
	struct proc_info *pi = (void *)(buf + OFF(off + 4));
	__builtin_memset(pi, 0, sizeof(*pi));
	pi->flags = pflags;
	bpf_probe_read_kernel_str(pi->comm, sizeof(pi->comm), &t->comm);
	pi->ppid = BPF_CORE_READ(t, real_parent, tgid);
	pi->exit_code = BPF_CORE_READ(t, exit_code);
	pi->start = BPF_CORE_READ(t, group_leader, start_boottime);

	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	pi->vtid = pid_vnr(tp);
	pi->vpid = pid_vnr(BPF_CORE_READ(t, group_leader, thread_pid));
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	struct pid *pg = BPF_CORE_READ(sig, pids[PIDTYPE_PGID]);
	struct pid *sid = BPF_CORE_READ(sig, pids[PIDTYPE_SID]);
	pi->pgid = pid_nr_at(pg, 0);
	pi->sid = pid_nr_at(sid, 0);
	pi->vpgid = pid_vnr(pg);

	const struct cred *c = BPF_CORE_READ(t, cred);
	pi->uid = BPF_CORE_READ(c, uid.val);
	pi->gid = BPF_CORE_READ(c, gid.val);
	pi->euid = BPF_CORE_READ(c, euid.val);
	pi->egid = BPF_CORE_READ(c, egid.val);
	pi->fsuid = BPF_CORE_READ(c, fsuid.val);
	pi->fsgid = BPF_CORE_READ(c, fsgid.val);
	bpf_core_read(&pi->cap_inh, sizeof(__u64), &c->cap_inheritable);
	bpf_core_read(&pi->cap_perm, sizeof(__u64), &c->cap_permitted);
	bpf_core_read(&pi->cap_eff, sizeof(__u64), &c->cap_effective);

	if (bpf_core_field_exists(struct task_struct, loginuid)) {
		pi->loginuid = BPF_CORE_READ(t, loginuid.val);
		pi->flags |= PI_LOGINUID;
	}
	struct tty_struct *tty = BPF_CORE_READ(sig, tty);
	if (tty) {
		struct tty_driver *drv = BPF_CORE_READ(tty, driver);
		pi->tty_major = BPF_CORE_READ(drv, major);
		pi->tty_minor = BPF_CORE_READ(drv, minor_start) + BPF_CORE_READ(tty, index);
		pi->flags |= PI_HAS_TTY;
	}

	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	if (exe) {
		struct inode *ino = BPF_CORE_READ(exe, f_inode);
		struct super_block *sb = BPF_CORE_READ(ino, i_sb);
		pi->exe_ino = BPF_CORE_READ(ino, i_ino);
		pi->exe_mode = BPF_CORE_READ(ino, i_mode);
		pi->exe_uid = BPF_CORE_READ(ino, i_uid.val);
		pi->exe_gid = BPF_CORE_READ(ino, i_gid.val);
		pi->exe_nlink = BPF_CORE_READ(ino, __i_nlink);
		pi->exe_iflags = BPF_CORE_READ(ino, i_flags);
		pi->exe_magic = BPF_CORE_READ(sb, s_magic);
		pi->exe_sbflags = BPF_CORE_READ(sb, s_flags);
		pi->exe_ctime = inode_time(ino, true);
		pi->exe_mtime = inode_time(ino, false);
		pi->flags |= PI_HAS_EXE;
	}
	item_end(buf, off, off + 4 + sizeof(*pi), IT_PROC, 0);
	return off + 4 + sizeof(*pi);
}

/* put_image appends argv, env, the executable's path and the cwd of t; argv
 * and env are read from the current task's memory, which for a fork is the
 * parent's identical copy. */
static __noinline __u32 put_image(__u8 *buf, __u32 off, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if (mm) {
		unsigned long s = BPF_CORE_READ(mm, arg_start), e = BPF_CORE_READ(mm, arg_end);
		if (e > s)
			off = put_ubytes(buf, off, IT_ARGS, (void *)s, e - s, ARGS_MAX);
		s = BPF_CORE_READ(mm, env_start);
		e = BPF_CORE_READ(mm, env_end);
		if (e > s)
			off = put_ubytes(buf, off, IT_ENV, (void *)s, e - s, ARGS_MAX);
		struct file *exe = BPF_CORE_READ(mm, exe_file);
		if (exe)
			off = put_dpath(buf, off, IT_EXEPATH, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt));
	}
	off = put_dpath(buf, off, IT_CWD, BPF_CORE_READ(t, fs, pwd.dentry), BPF_CORE_READ(t, fs, pwd.mnt));
	return off;
}

/* current_nr returns the syscall the current task is in, or -1. */
static __always_inline long current_nr(void)
{
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return -1;
	struct pt_regs *regs = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return BPF_CORE_READ(regs, orig_ax);
}

SEC("raw_tracepoint/sched_process_exec")
int vigil_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (void *)ctx->args[0];
	struct linux_binprm *bprm = (void *)ctx->args[2];
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self(id))
		return 0;
	__u8 *buf = rec_start(KIND_EXEC, 0, NULL, id);
	if (!buf)
		return 0;
	((struct rec_hdr *)buf)->args[0] = current_nr();
	__u32 off = sizeof(struct rec_hdr);
	off = put_proc(buf, off, t, 0);
	off = put_cgroup(buf, off, t);
	off = put_kstr(buf, off, IT_PATH, BPF_CORE_READ(bprm, filename));
	off = put_image(buf, off, t);
	emit(buf, off);
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int vigil_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (void *)ctx->args[1];
	if (BPF_CORE_READ(child, flags) & PF_KTHREAD)
		return 0;
	__u32 tid = BPF_CORE_READ(child, pid), tgid = BPF_CORE_READ(child, tgid);
	__u32 pflags = 0;
	if (tid != tgid) {
		if (!emit_threads)
			return 0;
		pflags = PI_THREAD;
	}
	/* Vigil's own threads are not reported; processes it starts are. */
	if (tid != tgid && is_self(bpf_get_current_pid_tgid()))
		return 0;
	__u8 *buf = rec_start(KIND_FORK, 0, NULL, ((__u64)tgid << 32) | tid);
	if (!buf)
		return 0;
	((struct rec_hdr *)buf)->args[0] = current_nr();
	__u32 off = sizeof(struct rec_hdr);
	off = put_proc(buf, off, child, pflags);
	off = put_cgroup(buf, off, child);
	off = put_image(buf, off, child);
	emit(buf, off);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int vigil_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = current_task();
	if (BPF_CORE_READ(t, flags) & PF_KTHREAD)
		return 0;
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0; /* other threads of the group still run */
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self(id))
		return 0;
	__u8 *buf = rec_start(KIND_EXIT, BPF_CORE_READ(t, exit_code), NULL, id);
	if (!buf)
		return 0;
	__u32 off = sizeof(struct rec_hdr);
	off = put_proc(buf, off, t, 0);
	emit(buf, off);
	return 0;
}

/* vigil_whoami is run once by the loader (BPF_PROG_TEST_RUN) in its own
 * context to learn its tgid in the root pid namespace. */
SEC("raw_tracepoint/sys_enter")
int vigil_whoami(struct bpf_raw_tracepoint_args *ctx)
{
	self_tgid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int vigil_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long nr = BPF_CORE_READ(regs, orig_ax);
	if ((unsigned long)nr >= NR_MAX)
		return 0;
	bpf_tail_call(ctx, &handlers, (__u32)nr);
	return 0;
}

struct sysc {
	struct pt_regs *regs;
	long nr;
	long ret;
	__u64 a[6];
};

/* sys_begin starts a syscall record, or returns NULL when the syscall is
 * Vigil's own or a 32-bit compat one (different numbers and registers). */
static __always_inline __u8 *sys_begin(struct bpf_raw_tracepoint_args *ctx, struct sysc *c)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	c->regs = regs;
	c->ret = ctx->args[1];
	c->nr = BPF_CORE_READ(regs, orig_ax);
	__u64 id = bpf_get_current_pid_tgid();
	if (is_self(id))
		return NULL;
	if (BPF_CORE_READ(current_task(), thread_info.status) & TS_COMPAT)
		return NULL;
	__u8 *buf = rec_start(c->nr, c->ret, c->regs, id);
	if (!buf)
		return NULL;
	struct rec_hdr *h = (void *)buf;
	for (int i = 0; i < 6; i++)
		c->a[i] = h->args[i];
	return buf;
}

/* Syscalls whose arguments are all numbers. */
SEC("raw_tracepoint/sys_exit")
int vigil_sys_plain(struct bpf_raw_tracepoint_args *ctx)
{
	struct sysc c;
	__u8 *buf = sys_begin(ctx, &c);
	if (!buf)
		return 0;
	emit(buf, sizeof(struct rec_hdr));
	return 0;
}

/* open, creat, openat, openat2. */
SEC("raw_tracepoint/sys_exit")
int vigil_sys_open(struct bpf_raw_tracepoint_args *ctx)
{
	struct sysc c;
	__u8 *buf = sys_begin(ctx, &c);
	if (!buf)
		return 0;
	__u32 off = sizeof(struct rec_hdr);
	long dirfd = AT_FDCWD;
	const void *p = (void *)c.a[0];
	if (c.nr == NR_openat || c.nr == NR_openat2) {
		dirfd = (int)c.a[0];
		p = (void *)c.a[1];
	}
	if (c.nr == NR_openat2)
		off = put_ubytes(buf, off, IT_HOW, (void *)c.a[2], 24, 24);
	__u32 pstart = off;
	off = put_ustr(buf, off, IT_PATH, p);
	off = put_base(buf, off, IT_BASE, pstart, dirfd);
	if (c.ret >= 0)
		off = put_file(buf, off, c.ret, 0);
	emit(buf, off);
	return 0;
}

/* One path argument (resolved against a dirfd or the cwd), and the other
 * strings of mount, memfd_create and the module loaders. */
SEC("raw_tracepoint/sys_exit")
int vigil_sys_path(struct bpf_raw_tracepoint_args *ctx)
{
	struct sysc c;
	__u8 *buf = sys_begin(ctx, &c);
	if (!buf)
		return 0;
	__u32 off = sizeof(struct rec_hdr);
	long dirfd = AT_FDCWD;
	const void *p = NULL;
	switch (c.nr) {
	case NR_execve:
		if (c.ret == 0)
			return 0; /* reported by sched_process_exec */
		p = (void *)c.a[0];
		break;
	case NR_execveat:
		if (c.ret == 0)
			return 0;
		dirfd = (int)c.a[0];
		p = (void *)c.a[1];
		break;
	case NR_mount:
		p = (void *)c.a[1];
		off = put_ustr(buf, off, IT_STR, (void *)c.a[2]);
		off = put_ustr(buf, off, IT_STR2, (void *)c.a[0]);
		break;
	case NR_memfd_create:
		off = put_ustr(buf, off, IT_STR, (void *)c.a[0]);
		if (c.ret >= 0)
			off = put_file(buf, off, c.ret, 1);
		emit(buf, off);
		return 0;
	case NR_init_module:
		off = put_ustr(buf, off, IT_STR, (void *)c.a[2]);
		emit(buf, off);
		return 0;
	case NR_finit_module:
		off = put_ustr(buf, off, IT_STR, (void *)c.a[1]);
		off = put_file(buf, off, (int)c.a[0], 1);
		emit(buf, off);
		return 0;
	case 263: /* unlinkat */
	case 258: /* mkdirat */
	case 268: /* fchmodat */
	case 260: /* fchownat */
	case 452: /* fchmodat2 */
		dirfd = (int)c.a[0];
		p = (void *)c.a[1];
		break;
	default: /* unlink, rmdir, mkdir, chmod, chown, lchown, umount2, chdir, chroot, ... */
		p = (void *)c.a[0];
	}
	__u32 pstart = off;
	off = put_ustr(buf, off, IT_PATH, p);
	off = put_base(buf, off, IT_BASE, pstart, dirfd);
	emit(buf, off);
	return 0;
}

/* Two path arguments: rename*, link*, symlink*. */
SEC("raw_tracepoint/sys_exit")
int vigil_sys_path2(struct bpf_raw_tracepoint_args *ctx)
{
	struct sysc c;
	__u8 *buf = sys_begin(ctx, &c);
	if (!buf)
		return 0;
	__u32 off = sizeof(struct rec_hdr);
	long d1 = AT_FDCWD, d2 = AT_FDCWD;
	const void *p1 = (void *)c.a[0], *p2 = (void *)c.a[1];
	bool resolve1 = true;
	switch (c.nr) {
	case NR_renameat:
	case NR_renameat2:
	case NR_linkat:
		d1 = (int)c.a[0];
		p1 = (void *)c.a[1];
		d2 = (int)c.a[2];
		p2 = (void *)c.a[3];
		break;
	case NR_symlink:
		resolve1 = false;
		break;
	case NR_symlinkat:
		resolve1 = false;
		d2 = (int)c.a[1];
		p2 = (void *)c.a[2];
		break;
	}
	__u32 s1 = off;
	off = put_ustr(buf, off, IT_PATH, p1);
	if (resolve1)
		off = put_base(buf, off, IT_BASE, s1, d1);
	__u32 s2 = off;
	off = put_ustr(buf, off, IT_PATH2, p2);
	off = put_base(buf, off, IT_BASE2, s2, d2);
	emit(buf, off);
	return 0;
}

struct user_msghdr {
	void *msg_name;
	int msg_namelen;
	void *msg_iov;
	unsigned long msg_iovlen;
};

struct user_iovec {
	void *iov_base;
	unsigned long iov_len;
};

/* Descriptors: sockets (with addresses and data), dup*, fchmod, fchown,
 * setns, fchdir. */
SEC("raw_tracepoint/sys_exit")
int vigil_sys_fd(struct bpf_raw_tracepoint_args *ctx)
{
	struct sysc c;
	__u8 *buf = sys_begin(ctx, &c);
	if (!buf)
		return 0;
	__u32 off = sizeof(struct rec_hdr);
	int fd = (int)c.a[0];
	switch (c.nr) {
	case NR_accept:
	case NR_accept4:
	case NR_socket:
		fd = c.ret;
		break;
	case NR_dup:
	case NR_dup2:
	case NR_dup3:
		if (c.ret >= 0)
			fd = c.ret;
		break;
	case NR_connect:
	case NR_bind:
		off = put_ubytes(buf, off, IT_SOCKADDR, (void *)c.a[1], c.a[2], SOCKADDR_MAX);
		break;
	case NR_sendto:
	case NR_recvfrom: {
		__u64 alen = c.a[5];
		if (c.nr == NR_recvfrom) {
			__u32 l = 0;
			if (c.a[5])
				bpf_probe_read_user(&l, sizeof(l), (void *)c.a[5]);
			alen = l;
		}
		off = put_ubytes(buf, off, IT_SOCKADDR, (void *)c.a[4], alen, SOCKADDR_MAX);
		if (c.ret > 0)
			off = put_ubytes(buf, off, IT_DATA, (void *)c.a[1], c.ret, SNAPLEN);
		break;
	}
	case NR_sendmsg:
	case NR_recvmsg: {
		struct user_msghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), (void *)c.a[1]))
			break;
		off = put_ubytes(buf, off, IT_SOCKADDR, m.msg_name, (__u32)m.msg_namelen, SOCKADDR_MAX);
		if (c.ret > 0 && m.msg_iovlen > 0 && m.msg_iov) {
			struct user_iovec iov = {};
			if (!bpf_probe_read_user(&iov, sizeof(iov), m.msg_iov)) {
				__u64 n = iov.iov_len < (__u64)c.ret ? iov.iov_len : (__u64)c.ret;
				off = put_ubytes(buf, off, IT_DATA, iov.iov_base, n, SNAPLEN);
			}
		}
		break;
	}
	}
	off = put_file(buf, off, fd, 1);
	emit(buf, off);
	return 0;
}
