/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Questions about one process, for requests: its detail (as /proc/PID/stat,
 * status, cmdline and cwd show it) and reads of its memory.
 */
#ifndef HAYWIRE_PROCESS_H
#define HAYWIRE_PROCESS_H

#include <linux/types.h>

struct mm_struct;
struct pid;
struct task_struct;

/* A task's ids, as /proc/PID/status shows them (in the initial namespaces). */
struct hw_ids {
	u32 uid[4];		/* real, effective, saved, filesystem */
	u32 gid[4];
	u64 cap_effective;
	u64 cap_permitted;
	pid_t ppid;		/* 0 for init and kthreadd */
};

void hw_task_ids(struct task_struct *task, struct hw_ids *ids);

/* CPU time and faults of the whole thread group, as /proc/PID/stat. */
struct hw_times {
	u64 utime_ns;
	u64 stime_ns;
	u64 min_flt;
	u64 maj_flt;
};

void hw_task_times(struct task_struct *task, struct hw_times *tm);
int hw_task_cgroup(struct task_struct *task, char *buf, size_t size, u64 *id);
u64 hw_task_cgroup_id(struct task_struct *task);
void hw_task_pidns(struct task_struct *task, u64 *inum, s32 *ns_pid);

/* The process (thread-group leader) pid, with a reference; or NULL. */
struct task_struct *hw_process_get(struct pid *pid);

/*
 * The memory of the process pid, with a reference (mmput()); NULL for a
 * process that is gone or has none (a kernel thread, a zombie). Every check
 * on a process's memory is made on the mm this returns once, so that an
 * exec in between cannot swap the memory checked for the memory read.
 */
struct mm_struct *hw_process_mm(struct pid *pid);

/*
 * mmap_read_trylock(), retried for up to about a millisecond. Like the
 * kernel's mmap_lock API, it carries no sparse context annotation (its
 * unlock has none to pair with).
 */
bool hw_mm_trylock(struct mm_struct *mm);

/*
 * Copy the readable beginning of [addr, addr + len) of mm into buf without
 * waiting for anything that may not finish: mmap_lock by trylock only;
 * anonymous memory faulted in as /proc does; a file's page only when it is
 * mapped already; never device memory or a userfaultfd range. anon_only:
 * anonymous memory only (as /proc/PID/cmdline). Returns the bytes copied,
 * with *why the HW_ST_* that stopped the copy short (HW_ST_OK when it did
 * not), or -EBUSY when the mmap_lock stayed contended.
 */
long hw_mm_read(struct mm_struct *mm, u64 addr, void *buf, size_t len,
		bool anon_only, u32 *why);

/*
 * struct hw_proc_detail, the command line and the working directory into
 * buf (cap bytes, at least sizeof(struct hw_proc_detail) + PATH_MAX);
 * scratch is PATH_MAX bytes. Returns the bytes written.
 */
u32 hw_process_detail(struct task_struct *task, void *buf, size_t cap,
		      char *scratch);

#endif /* HAYWIRE_PROCESS_H */
