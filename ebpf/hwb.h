/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * What the eBPF companion's programs (haywire.bpf.c) hand to its loader
 * (loader.c): raw records read from the task and task_vma iterators, one
 * fixed part then name_len bytes of a name (no NUL), padded to 8 bytes.
 * The loader turns them into the beacon's hw_proc and hw_vma records; the
 * layout here is private to the two and may change with them.
 */
#ifndef HAYWIRE_HWB_H
#define HAYWIRE_HWB_H

#define HWB_NAME_MAX	4096	/* PATH_MAX: the longest name sent */

enum hwb_kind {
	HWB_TASK = 1,
	HWB_VMA = 2,
};

/* How a VMA's name is to be shown (show_map_vma's cases). */
enum hwb_name {
	HWB_NAME_NONE = 0,	/* anonymous */
	HWB_NAME_PATH = 1,	/* a file's path (d_path) */
	HWB_NAME_TEXT = 2,	/* as is: [heap], [stack], [vdso], [vvar] ... */
	HWB_NAME_ANON = 3,	/* [anon:NAME] */
	HWB_NAME_ANON_SHMEM = 4, /* [anon_shmem:NAME] */
	HWB_NAME_SAME = 5,	/* the previous VMA's path (same file) */
};

struct hwb_head {
	__u32 kind;		/* enum hwb_kind */
	__u32 size;		/* this record's fixed part */
	__u32 name_len;		/* bytes of name after the fixed part */
	__s32 name_err;		/* d_path's error (-ENAMETOOLONG ...), or 0 */
};

/* One thread-group leader, as the module's walk reads it. */
struct hwb_task {
	struct hwb_head h;	/* name: the executable's path */
	__s32 pid;
	__s32 tgid;
	__s32 ppid;
	__u32 flags;		/* task->flags (PF_*) */
	__u32 uid, gid, euid, egid;
	__u32 threads;
	__u32 state;		/* __state (or state), raw */
	__u32 exit_state;
	__s32 static_prio;
	__s32 cpu;
	__u32 has_mm;
	__u32 map_count;
	__s32 ns_pid;
	__u64 pidns_inum;
	char comm[16];
	__u64 start_boottime;
	__u64 total_vm;		/* pages */
	__s64 rss[4];		/* MM_FILEPAGES, ANONPAGES, SWAPENTS, SHMEMPAGES */
	__u64 pgd;		/* physical, when the kernel's direct map base
				 * was found; else 0 */
	__u32 exe_same;		/* the executable is the previous record's:
				 * no name sent */
	__u32 pad;
};

struct hwb_vma {
	struct hwb_head h;	/* name: see name_kind */
	__s32 tgid;
	__u32 name_kind;	/* enum hwb_name */
	__u64 start, end;
	__u64 pgoff;		/* pages */
	__u64 ino;
	__u32 dev;		/* s_dev: major << 20 | minor */
	__u32 pad;
	__u64 vm_flags;
};

#endif /* HAYWIRE_HWB_H */
