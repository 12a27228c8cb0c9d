/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The snapshot walk: processes, their VMAs and interned strings, built in
 * staging memory that is kept (and grown) between refreshes.
 */
#ifndef HAYWIRE_WALK_H
#define HAYWIRE_WALK_H

#include <linux/kernel.h>	/* ALIGN(); 5.11 moved it to linux/align.h */
#include <linux/types.h>
#include "beacon.h"
#include "haywire_protocol.h"
#include "strtab.h"

struct task_struct;

/*
 * Bytes a snapshot takes in the beacon: stats, procs, vmas and strings
 * sections, in this order, each starting on BEACON_SECTION_ALIGN.
 */
static inline u64 snapshot_size(u64 procs, u64 vmas, u64 string_bytes)
{
	return ALIGN(sizeof(struct hw_stats), BEACON_SECTION_ALIGN) +
	       ALIGN(procs * sizeof(struct hw_proc), BEACON_SECTION_ALIGN) +
	       ALIGN(vmas * sizeof(struct hw_vma), BEACON_SECTION_ALIGN) +
	       ALIGN(string_bytes, BEACON_SECTION_ALIGN);
}

/*
 * struct hw_staging (strtab.h): every staging array grows through
 * hw_grow_array(), which keeps used <= max.
 */

/* One walk's result; the records live in the walker's staging memory. */
struct snapshot {
	struct hw_proc *procs;		/* sorted by pid */
	u32 nr_procs;
	struct hw_vma *vmas;
	u32 nr_vmas;
	const char *strings;
	u32 string_bytes;
	/* true totals */
	u32 procs_total;
	u32 procs_mm_busy;
	u64 vmas_total;
	u64 strings_total;
	u32 flags;			/* HW_IF_* */
	/* staging memory, not the limit, cut the snapshot short */
	bool staging_short;
	u64 procs_ns;			/* walk time without the VMA part */
	u64 vmas_ns;
	u64 put_ns;			/* dropping the references, at the end */
	u64 path_lookups;		/* d_path calls */
	/* the time budget (1.2) */
	u32 budget_skipped;		/* processes whose VMAs were not walked */
	u32 budget_cut;			/* processes cut inside their VMA walk */
	s32 start_pid;			/* the VMA walk began at this pid */
	s32 next_pid;			/* where the next one is to begin */
	u64 max_hold_ns;		/* longest mmap_lock hold */
	s32 max_hold_pid;		/* whose */
};

/* A process of the walk, with the references its two passes need. */
struct hw_walk_task {
	struct task_struct *task;
	struct mm_struct *mm;		/* NULL: no address space */
	struct file *exe;		/* NULL: none */
	bool exe_named;			/* its name (or "too long") is known */
};

/*
 * Names already interned in this walk, so that processes sharing them do
 * not build them again (see walk.c: each says why its key cannot name
 * something else before the walk ends). Emptied by every walk.
 */
#define HW_NAME_CACHE_SLOTS	32	/* per cache, a power of two */
struct hw_exe_name {			/* an executable's path */
	const void *dentry, *mnt;	/* its f_path: NULL, a free slot */
	struct hw_str name;
	bool truncated;			/* longer than PATH_MAX */
};

struct hw_cgroup_name {			/* a cgroup's path */
	u64 id;				/* 0: a free slot */
	struct hw_str name;
};

struct hw_text_name {			/* a VMA's [name] */
	const char *text;		/* NULL: a free slot */
	struct hw_str name;
};

struct walker {
	struct hw_staging *staging;	/* the account staging is counted in */
	/* staging memory */
	struct hw_walk_task *tasks;
	u32 tasks_cap;
	struct hw_proc *procs;
	u32 procs_cap;
	struct hw_vma *vmas;
	u32 vmas_cap;
	struct hw_strtab strtab;		/* strings and their hash table */
	char *scratch;			/* d_path and name formatting */
	struct hw_exe_name exe_names[HW_NAME_CACHE_SLOTS];
	struct hw_cgroup_name cgroup_names[HW_NAME_CACHE_SLOTS];
	struct hw_text_name text_names[HW_NAME_CACHE_SLOTS];

	/* state of the current walk */
	u64 limit;			/* bytes the snapshot may take */
	u32 procs_reserved;		/* records room is kept for */
	u32 fit_vmas;			/* VMA records below this surely fit */
	u64 fit_bytes;			/* ... while the strings are this small */
	u64 alloc_failures;
	s32 cursor;			/* pid the next VMA walk begins at */
	struct snapshot snap;
};

/*
 * Replace *array, keeping its contents, by one of at least want elements
 * (at least double the old size, never more than max, and never beyond
 * what the staging account has left). Staging memory of the walker and of
 * the cameras grows this way. -ENOSPC: the account or max is reached.
 */
int hw_grow_array(void **array, u32 *cap, u64 want, u64 max,
		  size_t elem_size, struct hw_staging *acct);
void hw_free_array(void **array, u32 *cap, size_t elem_size,
		   struct hw_staging *acct);

int hw_walker_init(struct walker *w, struct hw_staging *acct);
void hw_walker_free(struct walker *w);
/*
 * Build a snapshot of at most limit bytes in staging memory: a record for
 * every process, then VMAs, beginning at w->cursor and going round the pids,
 * until vmas_deadline (CLOCK_MONOTONIC ns). w->snap.next_pid says where the
 * next walk should begin; the caller moves w->cursor there.
 */
void hw_walk_snapshot(struct walker *w, u64 limit, u64 vmas_deadline);
int hw_walker_grow_staging(struct walker *w);

#endif /* HAYWIRE_WALK_H */
