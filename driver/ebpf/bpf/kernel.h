/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The kernel types the Vigil probe reads, written by hand with only the
 * members it uses. Every struct carries preserve_access_index, so clang
 * records CO-RE relocations and the loader fixes member offsets against the
 * running kernel's BTF: member order and omitted members do not matter here,
 * only names and types do. A "___suffix" marks a flavour (libbpf ignores the
 * suffix when matching kernel types).
 */
#ifndef VIGIL_KERNEL_H
#define VIGIL_KERNEL_H

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef _Bool bool;
#define true 1
#define false 0

#define PAI __attribute__((preserve_access_index))

typedef struct { int counter; } PAI atomic_t;
typedef struct { unsigned int val; } PAI kuid_t;
typedef struct { unsigned int val; } PAI kgid_t;

struct pt_regs {
	unsigned long di, si, dx, r10, r8, r9, ax, orig_ax;
} PAI;

struct thread_info {
	u32 status;
} PAI;

struct qstr {
	const unsigned char *name;
} PAI;

struct super_block {
	u32 s_dev;
	unsigned long s_magic;
	unsigned long s_flags;
} PAI;

struct timespec64 {
	s64 tv_sec;
	long tv_nsec;
} PAI;

struct inode {
	unsigned short i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned int i_flags;
	struct super_block *i_sb;
	unsigned long i_ino;
	unsigned int __i_nlink;
	/* 6.11 and later */
	s64 i_mtime_sec;
	s64 i_ctime_sec;
	u32 i_mtime_nsec;
	u32 i_ctime_nsec;
} PAI;

/* 6.6 to 6.10 */
struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} PAI;

/* before 6.6 */
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} PAI;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
} PAI;

struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
} PAI;

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} PAI;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} PAI;

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	unsigned int f_mode;
	void *private_data;
} PAI;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} PAI;

struct files_struct {
	struct fdtable *fdt;
} PAI;

struct fs_struct {
	struct path root;
	struct path pwd;
} PAI;

struct mm_struct {
	unsigned long arg_start, arg_end, env_start, env_end;
	struct file *exe_file;
} PAI;

typedef struct { u64 val; } PAI kernel_cap_t;

struct cred {
	kuid_t uid, euid, fsuid;
	kgid_t gid, egid, fsgid;
	kernel_cap_t cap_inheritable;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
} PAI;

struct upid {
	int nr;
} PAI;

struct pid {
	unsigned int level;
	struct upid numbers[1];
} PAI;

struct tty_driver {
	int major;
	int minor_start;
} PAI;

struct tty_struct {
	int index;
	struct tty_driver *driver;
} PAI;

struct signal_struct {
	atomic_t live;
	struct pid *pids[4];
	struct tty_struct *tty;
} PAI;

/* A kernfs node: a cgroup directory. Before 6.15 the parent pointer is
 * `parent`; from 6.15 on it is RCU-protected and named `__parent`. */
struct kernfs_node {
	struct kernfs_node *parent;
	const char *name;
} PAI;

struct kernfs_node___v615 {
	struct kernfs_node *__parent;
} PAI;

struct cgroup {
	struct kernfs_node *kn;
} PAI;

struct css_set {
	struct cgroup *dfl_cgrp; /* the task's cgroup in the v2 (default) hierarchy */
} PAI;

struct task_struct {
	struct thread_info thread_info;
	unsigned int flags;
	struct mm_struct *mm;
	int exit_code;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	u64 start_boottime;
	const struct cred *cred;
	char comm[16];
	struct fs_struct *fs;
	struct files_struct *files;
	struct signal_struct *signal;
	kuid_t loginuid;
	struct css_set *cgroups;
} PAI;

struct linux_binprm {
	struct file *file;
	const char *filename;
} PAI;

struct in6_addr {
	u8 s6_addr[16];
} PAI;

struct sock_common {
	u32 skc_daddr;
	u32 skc_rcv_saddr;
	u16 skc_dport;
	u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} PAI;

struct sock {
	struct sock_common __sk_common;
	u16 sk_type;
	u16 sk_protocol;
} PAI;

struct socket {
	short type;
	struct sock *sk;
} PAI;

struct sockaddr_un {
	unsigned short sun_family;
	char sun_path[108];
} PAI;

struct unix_address {
	int len;
	struct sockaddr_un name[0];
} PAI;

struct unix_sock {
	struct unix_address *addr;
	struct sock *peer;
} PAI;

#endif
