/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cameras: up to HW_MAX_CAMERAS processes whose page-table state (runs per
 * VMA) every snapshot publishes. Requests switch them; the refresh walks
 * them into staging memory and publishes three sections.
 */
#ifndef HAYWIRE_CAMERA_H
#define HAYWIRE_CAMERA_H

#include <linux/kernel.h>	/* ALIGN(); 5.11 moved it to linux/align.h */
#include <linux/types.h>
#include "beacon.h"
#include "haywire_protocol.h"

struct pid;
struct hw_staging;

/*
 * Watch pid (the caller's reference passes to the camera) with camera n
 * from the next snapshot on, or stop watching; *first is the generation of
 * the first snapshot that shows the change.
 */
void camera_set(unsigned int n, struct pid *pid, u64 *first);
void camera_clear(unsigned int n, u64 *first);
/* Turn every camera off (unload). */
void camera_clear_all(void);

/* Bytes the camera sections take: cameras, their VMAs, runs, in order. */
static inline u64 camera_size(u64 vmas, u64 runs)
{
	const u64 align = BEACON_SECTION_ALIGN;

	return ALIGN(HW_MAX_CAMERAS * sizeof(struct hw_camera), align) +
	       ALIGN(vmas * sizeof(struct hw_camera_vma), align) +
	       ALIGN(runs * sizeof(struct hw_page_run), align);
}

/* One refresh's camera sections, in staging memory kept between refreshes. */
struct camera_snap {
	struct hw_camera cams[HW_MAX_CAMERAS];
	struct hw_camera_vma *vmas;
	u32 nr_vmas;
	u32 vmas_cap;
	struct hw_page_run *runs;
	u32 nr_runs;
	u32 runs_cap;
	struct hw_staging *staging;	/* the account staging is counted in */
	/* state of the current walk */
	struct pid *pids[HW_MAX_CAMERAS];	/* taken by camera_take() */
	u64 limit;		/* bytes camera_size() may reach */
	bool full;		/* something did not fit: store no more */
	bool staging_short;	/* staging memory, not the limit, was short */
	u64 vmas_wanted;
	u64 runs_wanted;
	u64 deadline_ns;
	bool over_budget;	/* the deadline passed */
	u64 max_hold_ns;	/* longest mmap_lock hold */
	s32 max_hold_pid;
	u64 alloc_failures;
};

int camera_snap_init(struct camera_snap *cs, struct hw_staging *acct);
void camera_snap_free(struct camera_snap *cs);
/*
 * A refresh takes the cameras' configuration (returns how many are on),
 * walks them (camera_walk(), again after camera_grow_staging() when staging
 * was short), and says with camera_walk_done() that it is over, published
 * or not. camera_walk() stays within limit bytes (at least
 * camera_size(0, 0)) and stops at deadline_ns (CLOCK_MONOTONIC).
 */
unsigned int camera_take(struct camera_snap *cs);
void camera_walk(struct camera_snap *cs, u64 limit, u64 deadline_ns);
int camera_grow_staging(struct camera_snap *cs);
void camera_walk_done(struct camera_snap *cs);

#endif /* HAYWIRE_CAMERA_H */
