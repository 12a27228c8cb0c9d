/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's own walk of a process's page tables, as runs of pages in one
 * state (struct hw_page_run): for cameras and TRANSLATE requests. Runs are
 * merged exactly as the host's walker merges them (host/lib/core/pagewalk.c), so
 * that the two translations of a range compare equal.
 */
#ifndef HAYWIRE_PTWALK_H
#define HAYWIRE_PTWALK_H

#include <linux/types.h>
#include "haywire_protocol.h"

struct mm_struct;
struct pt_walk;

/*
 * Takes one finished run; returns true when it can take no more (the walk
 * then stops after the entry at hand). Called under rcu_read_lock() at
 * times: it must not sleep.
 */
typedef bool (*pt_sink_fn)(struct pt_walk *w, const struct hw_page_run *run);

struct pt_walk {
	struct mm_struct *mm;		/* the caller holds its mmap_lock */
	pt_sink_fn sink;
	struct hw_page_run run;		/* being extended; len 0: none */
	u64 next;			/* first address not walked yet */
	u64 entries;			/* page-table entries examined */
	u64 max_entries;		/* stop after this many; 0: no limit */
	bool stop;			/* sink full or entries used up */
};

/* Walk [start, end), which lies inside one VMA of w->mm. */
void pt_walk_range(struct pt_walk *w, u64 start, u64 end);
/* Walk [start, end) of the address space: gaps between VMAs are unmapped. */
void pt_walk_mm(struct pt_walk *w, u64 start, u64 end);
/* Hand the run being extended to the sink. */
void pt_walk_flush(struct pt_walk *w);

#endif /* HAYWIRE_PTWALK_H */
