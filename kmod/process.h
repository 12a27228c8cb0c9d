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

/* The process (thread-group leader) pid, with a reference; or NULL. */
struct task_struct *process_get(struct pid *pid);

/* mmap_read_trylock(), retried for up to about a millisecond. */
bool process_mm_trylock(struct mm_struct *mm);

/*
 * Copy the readable beginning of [addr, addr + len) of the process into buf:
 * the bytes copied (0 when addr itself is not readable), or -EBUSY when its
 * mmap_lock stayed contended.
 */
long process_read(struct task_struct *task, struct mm_struct *mm, u64 addr,
		  void *buf, size_t len);

/*
 * struct hw_proc_detail, the command line and the working directory into
 * buf (cap bytes, at least sizeof(struct hw_proc_detail) + PATH_MAX);
 * scratch is PATH_MAX bytes. Returns the bytes written.
 */
u32 process_detail(struct task_struct *task, void *buf, size_t cap,
		   char *scratch);

#endif /* HAYWIRE_PROCESS_H */
