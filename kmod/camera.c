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
#include "process.h"
#include "ptwalk.h"
#include "refresh.h"
#include "walk.h"

/* First staging sizes; they grow to what the watched processes need. */
#define INITIAL_CAMERA_VMAS	256
#define INITIAL_CAMERA_RUNS	4096

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
	return config_taken ? taken_generation + 2 : published_generation() + 1;
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

int camera_snap_init(struct camera_snap *cs)
{
	memset(cs, 0, sizeof(*cs));
	if (grow_array((void **)&cs->vmas, &cs->vmas_cap, INITIAL_CAMERA_VMAS,
		       INITIAL_CAMERA_VMAS, sizeof(*cs->vmas)) ||
	    grow_array((void **)&cs->runs, &cs->runs_cap, INITIAL_CAMERA_RUNS,
		       INITIAL_CAMERA_RUNS, sizeof(*cs->runs))) {
		camera_snap_free(cs);
		return -ENOMEM;
	}
	return 0;
}

void camera_snap_free(struct camera_snap *cs)
{
	kvfree(cs->vmas);
	kvfree(cs->runs);
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

	cs->vmas_wanted++;
	pt_walk_range(&vw.w, vma->vm_start, vma->vm_end);
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
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, 0);

	for_each_vma(vmi, vma) {
		if (ktime_get_ns() > cs->deadline_ns) {
			cam->flags |= HW_CF_TRUNCATED;
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
	if (!mmap_read_trylock(mm)) {
		cam->flags |= HW_CF_MM_BUSY;
		mmput(mm);
		return;
	}
	walk_camera_vmas(cs, cam, mm);
	mmap_read_unlock(mm);
	mmput(mm);
	cam->vma_count = cs->nr_vmas - cam->vma_first;
}

static void walk_cameras(struct camera_snap *cs, struct pid **pids,
			 u64 limit, u64 budget_ns)
{
	unsigned int n;

	memset(cs->cams, 0, sizeof(cs->cams));
	cs->nr_vmas = 0;
	cs->nr_runs = 0;
	cs->limit = limit;
	cs->full = false;
	cs->staging_short = false;
	cs->vmas_wanted = 0;
	cs->runs_wanted = 0;
	cs->deadline_ns = ktime_get_ns() + budget_ns;
	for (n = 0; n < HW_MAX_CAMERAS; n++) {
		struct hw_camera *cam = &cs->cams[n];

		if (!pids[n])
			continue;
		cam->pid = pid_nr(pids[n]);
		cam->flags = HW_CF_ACTIVE;
		walk_camera(cs, cam, pids[n]);
	}
}

/* Staging as large as the last walk wanted, within the limit. */
static int grow_staging(struct camera_snap *cs)
{
	int err;

	err = grow_array((void **)&cs->vmas, &cs->vmas_cap,
			 cs->vmas_wanted + cs->vmas_wanted / 8,
			 cs->limit / sizeof(*cs->vmas), sizeof(*cs->vmas));
	if (!err)
		err = grow_array((void **)&cs->runs, &cs->runs_cap,
				 cs->runs_wanted + cs->runs_wanted / 8,
				 cs->limit / sizeof(*cs->runs),
				 sizeof(*cs->runs));
	if (err)
		cs->alloc_failures++;
	return err;
}

void camera_walk(struct camera_snap *cs, u64 limit, u64 budget_ns)
{
	struct pid *pids[HW_MAX_CAMERAS];
	unsigned int n;

	spin_lock(&camera_lock);
	for (n = 0; n < HW_MAX_CAMERAS; n++)
		pids[n] = get_pid(cameras[n]);
	config_taken = true;
	taken_generation = published_generation();
	spin_unlock(&camera_lock);

	walk_cameras(cs, pids, limit, budget_ns);
	/* Cut short by staging, not by the limit: grow and walk again once. */
	if (cs->staging_short && !grow_staging(cs))
		walk_cameras(cs, pids, limit, budget_ns);

	for (n = 0; n < HW_MAX_CAMERAS; n++)
		put_pid(pids[n]);
}

void camera_walk_done(void)
{
	spin_lock(&camera_lock);
	config_taken = false;
	spin_unlock(&camera_lock);
}
