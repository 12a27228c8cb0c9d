// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cameras: which processes are watched (switched by requests, kept across
 * snapshots) and, at every refresh, the runs of each of their VMAs.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "camera.h"
#include "compat.h"
#include "process.h"
#include "ptwalk.h"
#include "refresh.h"
#include "walk.h"

/* First staging sizes; they grow to what the watched processes need. */
#define INITIAL_CAMERA_VMAS	256
#define INITIAL_CAMERA_RUNS	4096
/* Page-table entries walked between looks at the clock. */
#define CAMERA_ENTRIES_PER_LOOK	512

/* Guards cameras[] and the generation bookkeeping below. */
static DEFINE_SPINLOCK(camera_lock);
static struct pid *cameras[HW_MAX_CAMERAS];	/* NULL: off */
/*
 * A refresh took the configuration while the published generation was
 * taken_generation: it publishes taken_generation + 1, so a change made
 * now first shows in the one after.
 */
static bool config_taken;
static u64 taken_generation;

/* Under camera_lock: the first generation built after a change now. */
static u64 first_generation_after_change(void)
{
	return config_taken ? taken_generation + 2 : hw_published_generation() + 1;
}

void camera_set(unsigned int n, struct pid *pid, u64 *first)
{
	struct pid *old;

	spin_lock(&camera_lock);
	old = cameras[n];
	cameras[n] = pid;
	*first = first_generation_after_change();
	spin_unlock(&camera_lock);
	put_pid(old);
}

void camera_clear(unsigned int n, u64 *first)
{
	camera_set(n, NULL, first);
}

void camera_clear_all(void)
{
	u64 first;
	unsigned int n;

	for (n = 0; n < HW_MAX_CAMERAS; n++)
		camera_clear(n, &first);
}

int camera_snap_init(struct camera_snap *cs, struct hw_staging *acct)
{
	memset(cs, 0, sizeof(*cs));
	cs->staging = acct;
	if (hw_grow_array((void **)&cs->vmas, &cs->vmas_cap,
			  INITIAL_CAMERA_VMAS, INITIAL_CAMERA_VMAS,
			  sizeof(*cs->vmas), acct) ||
	    hw_grow_array((void **)&cs->runs, &cs->runs_cap,
			  INITIAL_CAMERA_RUNS, INITIAL_CAMERA_RUNS,
			  sizeof(*cs->runs), acct)) {
		camera_snap_free(cs);
		return -ENOMEM;
	}
	return 0;
}

void camera_snap_free(struct camera_snap *cs)
{
	if (!cs->staging)
		return;
	hw_free_array((void **)&cs->vmas, &cs->vmas_cap, sizeof(*cs->vmas),
		      cs->staging);
	hw_free_array((void **)&cs->runs, &cs->runs_cap, sizeof(*cs->runs),
		      cs->staging);
	memset(cs, 0, sizeof(*cs));
}

/* Whether one more VMA record and one more run fit. */
static bool room_for_run(struct camera_snap *cs)
{
	if (camera_size((u64)cs->nr_vmas + 1, (u64)cs->nr_runs + 1) >
	    cs->limit)
		return false;
	if (cs->nr_runs >= cs->runs_cap || cs->nr_vmas >= cs->vmas_cap) {
		cs->staging_short = true;
		return false;
	}
	return true;
}

/* One VMA being walked. */
struct vma_walk {
	struct pt_walk w;
	struct camera_snap *cs;
	struct hw_camera_vma rec;
	bool stored;		/* every run so far went into cs->runs */
};

static bool camera_sink(struct pt_walk *w, const struct hw_page_run *run)
{
	struct vma_walk *vw = container_of(w, struct vma_walk, w);
	struct camera_snap *cs = vw->cs;
	u64 pages = run->len >> PAGE_SHIFT;

	if (run->state == HW_PAGE_PRESENT)
		vw->rec.present_pages += pages;
	else if (run->state == HW_PAGE_SWAPPED)
		vw->rec.swapped_pages += pages;
	cs->runs_wanted++;
	if (vw->stored && !cs->full && room_for_run(cs))
		cs->runs[cs->nr_runs++] = *run;
	else
		vw->stored = false;
	return false;	/* keep counting: staging may grow to the need */
}

/*
 * The runs of one VMA. Its record is kept only with all of its runs, so
 * that the runs of a published VMA always cover it; after the first one
 * that does not fit, nothing more is stored.
 */
static void walk_vma(struct camera_snap *cs, struct hw_camera *cam,
		     struct vm_area_struct *vma)
{
	struct vma_walk vw = {
		.w = { .mm = vma->vm_mm, .sink = camera_sink },
		.cs = cs,
		.rec = {
			.start = vma->vm_start,
			.end = vma->vm_end,
			.run_first = cs->nr_runs,
		},
		.stored = !cs->full,
	};
	u64 addr = vma->vm_start;

	cs->vmas_wanted++;
	/*
	 * The clock is looked at every CAMERA_ENTRIES_PER_LOOK page-table
	 * entries: one large populated VMA cannot hold the walk past the
	 * deadline. The walk stops after that many and goes on from where it
	 * stopped, the run being extended kept.
	 */
	for (;;) {
		if (ktime_get_ns() > cs->deadline_ns) {
			cs->over_budget = true;
			cam->flags |= HW_CF_TRUNCATED | HW_CF_BUDGET;
			cs->nr_runs = vw.rec.run_first;
			return;
		}
		vw.w.stop = false;
		vw.w.max_entries = vw.w.entries + CAMERA_ENTRIES_PER_LOOK;
		pt_walk_range(&vw.w, addr, vma->vm_end);
		if (!vw.w.stop || vw.w.next >= vma->vm_end)
			break;
		addr = vw.w.next;
	}
	pt_walk_flush(&vw.w);
	cam->present_pages += vw.rec.present_pages;
	cam->swapped_pages += vw.rec.swapped_pages;
	if (vw.stored && cs->nr_vmas < cs->vmas_cap) {
		vw.rec.run_count = cs->nr_runs - vw.rec.run_first;
		cs->vmas[cs->nr_vmas++] = vw.rec;
	} else {
		cs->nr_runs = vw.rec.run_first;
		cs->full = true;
		cam->flags |= HW_CF_TRUNCATED;
	}
}

/* Every VMA, in address order, until the time budget runs out. */
static void walk_camera_vmas(struct camera_snap *cs, struct hw_camera *cam,
			     struct mm_struct *mm)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		if (cs->over_budget || ktime_get_ns() > cs->deadline_ns) {
			cs->over_budget = true;
			cam->flags |= HW_CF_TRUNCATED | HW_CF_BUDGET;
			break;
		}
		walk_vma(cs, cam, vma);
	}
}

static void walk_camera(struct camera_snap *cs, struct hw_camera *cam,
			struct pid *pid)
{
	struct mm_struct *mm;

	cam->vma_first = cs->nr_vmas;
	mm = hw_process_mm(pid);
	if (!mm) {
		cam->flags |= HW_CF_NO_PROCESS;
		return;
	}
	if (mmap_read_trylock(mm)) {
		u64 t0 = ktime_get_ns(), hold;

		walk_camera_vmas(cs, cam, mm);
		hold = ktime_get_ns() - t0;
		mmap_read_unlock(mm);
		if (hold > cs->max_hold_ns) {
			cs->max_hold_ns = hold;
			cs->max_hold_pid = cam->pid;
		}
	} else {
		cam->flags |= HW_CF_MM_BUSY;
	}
	mmput(mm);
	cam->vma_count = cs->nr_vmas - cam->vma_first;
}

/*
 * Walk the watched processes taken by camera_take() into cs, within limit
 * bytes (at least camera_size(0, 0)), until deadline_ns.
 */
void camera_walk(struct camera_snap *cs, u64 limit, u64 deadline_ns)
{
	unsigned int n;

	memset(cs->cams, 0, sizeof(cs->cams));
	cs->nr_vmas = 0;
	cs->nr_runs = 0;
	cs->limit = limit;
	cs->full = false;
	cs->staging_short = false;
	cs->over_budget = false;
	cs->vmas_wanted = 0;
	cs->runs_wanted = 0;
	cs->max_hold_ns = 0;
	cs->max_hold_pid = 0;
	cs->deadline_ns = deadline_ns;
	for (n = 0; n < HW_MAX_CAMERAS; n++) {
		struct hw_camera *cam = &cs->cams[n];

		if (!cs->pids[n])
			continue;
		cam->pid = pid_nr(cs->pids[n]);
		cam->flags = HW_CF_ACTIVE;
		walk_camera(cs, cam, cs->pids[n]);
	}
}

/* Staging as large as the last walk wanted, within the limit. */
int camera_grow_staging(struct camera_snap *cs)
{
	int err;

	err = hw_grow_array((void **)&cs->vmas, &cs->vmas_cap,
			    cs->vmas_wanted + cs->vmas_wanted / 8,
			    cs->limit / sizeof(*cs->vmas), sizeof(*cs->vmas),
			    cs->staging);
	if (!err)
		err = hw_grow_array((void **)&cs->runs, &cs->runs_cap,
				    cs->runs_wanted + cs->runs_wanted / 8,
				    cs->limit / sizeof(*cs->runs),
				    sizeof(*cs->runs), cs->staging);
	if (err == -ENOMEM)
		cs->alloc_failures++;
	return err;
}

unsigned int camera_take(struct camera_snap *cs)
{
	unsigned int n, active = 0;

	spin_lock(&camera_lock);
	for (n = 0; n < HW_MAX_CAMERAS; n++) {
		cs->pids[n] = get_pid(cameras[n]);
		active += !!cs->pids[n];
	}
	config_taken = true;
	taken_generation = hw_published_generation();
	spin_unlock(&camera_lock);
	return active;
}

void camera_walk_done(struct camera_snap *cs)
{
	unsigned int n;

	spin_lock(&camera_lock);
	config_taken = false;
	spin_unlock(&camera_lock);
	for (n = 0; n < HW_MAX_CAMERAS; n++) {
		put_pid(cs->pids[n]);
		cs->pids[n] = NULL;
	}
}
