// SPDX-License-Identifier: GPL-2.0-only
/*
 * Haywire guest module: publishes process and memory-map snapshots into
 * beacon memory for the host, and answers its requests (docs/protocol.md).
 * This file holds the module parameters, the refresh (walk, then publish)
 * and the refresh thread; request.c holds the request thread.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include "beacon.h"
#include "camera.h"
#include "refresh.h"
#include "request.h"
#include "walk.h"

/* ---- parameters ------------------------------------------------------- */

/* An unsigned parameter that only takes values in [min, max]. */
struct ranged_param {
	unsigned int value;
	unsigned int min;
	unsigned int max;
	bool wakes_thread;	/* a new value should take effect at once */
};

static struct ranged_param param_interval_ms = { 1000, 10, 3600000, true };
static struct ranged_param param_max_mb = { 64, 4, 1024, false };
static struct ranged_param param_budget_ms = { 500, 1, 60000, false };
static struct ranged_param param_poll_max = { 20, 1, 1000, false };
static bool allow_read;

static DECLARE_WAIT_QUEUE_HEAD(refresh_wait);
static bool refresh_requested;

static void request_refresh(void)
{
	WRITE_ONCE(refresh_requested, true);
	wake_up(&refresh_wait);
}

static int ranged_param_set(const char *val, const struct kernel_param *kp)
{
	struct ranged_param *p = kp->arg;
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < p->min || v > p->max) {
		pr_err("invalid value '%.*s' for parameter %s: must be an integer from %u to %u\n",
		       (int)min_t(size_t, strcspn(val, "\n"), 32), val,
		       kp->name, p->min, p->max);
		return -EINVAL;
	}
	WRITE_ONCE(p->value, v);
	if (p->wakes_thread)
		request_refresh();
	return 0;
}

static int ranged_param_get(char *buf, const struct kernel_param *kp)
{
	const struct ranged_param *p = kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%u\n", READ_ONCE(p->value));
}

static const struct kernel_param_ops ranged_param_ops = {
	.set = ranged_param_set,
	.get = ranged_param_get,
};

module_param_cb(interval_ms, &ranged_param_ops, &param_interval_ms, 0644);
MODULE_PARM_DESC(interval_ms, "Refresh interval in ms, 10..3600000 (default 1000)");
module_param_cb(max_mb, &ranged_param_ops, &param_max_mb, 0444);
MODULE_PARM_DESC(max_mb, "Cap on beacon memory in MiB, 4..1024 (default 64)");
module_param_cb(budget_ms, &ranged_param_ops, &param_budget_ms, 0644);
MODULE_PARM_DESC(budget_ms, "Time budget per refresh in ms, 1..60000 (default 500); VMAs are skipped after it");
module_param_cb(poll_max_ms, &ranged_param_ops, &param_poll_max, 0644);
MODULE_PARM_DESC(poll_max_ms, "Longest interval between looks at the request page when idle, in ms, 1..1000 (default 20)");
module_param(allow_read, bool, 0644);
MODULE_PARM_DESC(allow_read, "Answer host requests to read process memory (default 0: refused)");

unsigned int poll_max_ms(void)
{
	return READ_ONCE(param_poll_max.value);
}

bool hw_read_allowed(void)
{
	return READ_ONCE(allow_read);
}

unsigned int refresh_budget_ms(void)
{
	return READ_ONCE(param_budget_ms.value);
}

/* ---- refresh ---------------------------------------------------------- */

static struct beacon beacon;
static struct walker walker;
static struct camera_snap cameras;
static struct hw_stats stats;
/* One refresh at a time; also guards beacon, walker and stats. */
static DEFINE_MUTEX(refresh_lock);
/*
 * After the beacon could not grow, refreshes publish what fits as it is
 * (truncated, flagged) and growth is retried after 1, 2, 4 ... at most
 * GROW_BACKOFF_MAX refreshes, sparing a guest short of memory from a
 * high-order allocation attempt at every refresh.
 */
#define GROW_BACKOFF_MAX	64
static unsigned int grow_backoff;	/* refreshes between attempts */
static unsigned int grow_wait;		/* refreshes until the next one */
static struct task_struct *refresh_task;

/* Refreshes begun and ended, for requests that wait for one. */
static DEFINE_SPINLOCK(ticket_lock);
static u64 refreshes_begun;
static u64 refreshes_ended;
static int last_refresh_err;

u64 published_generation(void)
{
	return READ_ONCE(beacon.generation);
}

u64 refresh_ask(void)
{
	u64 ticket;

	spin_lock(&ticket_lock);
	ticket = refreshes_begun + 1;	/* the next one to begin */
	spin_unlock(&ticket_lock);
	request_refresh();
	return ticket;
}

int refresh_result(u64 ticket, u64 *generation)
{
	int err = -EAGAIN;

	spin_lock(&ticket_lock);
	if (refreshes_ended >= ticket) {
		err = last_refresh_err;
		*generation = published_generation();
	}
	spin_unlock(&ticket_lock);
	return err;
}

static void set_section(struct beacon_publication *pub, u32 kind,
			u32 entry_size, u64 offset, u64 count)
{
	struct hw_section *sec = &pub->sections[pub->section_count++];

	sec->kind = kind;
	sec->entry_size = entry_size;
	sec->offset = offset;
	sec->count = count;
}

/* Copy the walked snapshot and cameras to beacon offset off, publish. */
static void publish(const struct snapshot *s, const struct camera_snap *cs,
		    u64 off, u64 size, u64 refresh_start, u64 walk_end)
{
	struct beacon_publication pub = {
		.flags = s->flags,
		.interval_ms = READ_ONCE(param_interval_ms.value),
		.procs_total = s->procs_total,
		.procs_mm_busy = s->procs_mm_busy,
		.vmas_total = s->vmas_total,
		.strings_total = s->strings_total,
		.start = off,
		.size = size,
	};
	size_t procs_bytes = (size_t)s->nr_procs * sizeof(struct hw_proc);
	size_t vmas_bytes = (size_t)s->nr_vmas * sizeof(struct hw_vma);
	u64 stats_off = off;
	u64 procs_off = stats_off +
			ALIGN(sizeof(struct hw_stats), BEACON_SECTION_ALIGN);
	u64 vmas_off = procs_off + ALIGN(procs_bytes, BEACON_SECTION_ALIGN);
	u64 strings_off = vmas_off + ALIGN(vmas_bytes, BEACON_SECTION_ALIGN);
	size_t cam_vmas_bytes = (size_t)cs->nr_vmas * sizeof(*cs->vmas);
	u64 cams_off = strings_off +
		       ALIGN(s->string_bytes, BEACON_SECTION_ALIGN);
	u64 cam_vmas_off = cams_off + camera_size(0, 0);
	u64 runs_off = cam_vmas_off +
		       ALIGN(cam_vmas_bytes, BEACON_SECTION_ALIGN);
	u64 now;

	memcpy(beacon_at(&beacon, procs_off), s->procs, procs_bytes);
	memcpy(beacon_at(&beacon, vmas_off), s->vmas, vmas_bytes);
	memcpy(beacon_at(&beacon, strings_off), s->strings, s->string_bytes);
	memcpy(beacon_at(&beacon, cams_off), cs->cams, sizeof(cs->cams));
	memcpy(beacon_at(&beacon, cam_vmas_off), cs->vmas, cam_vmas_bytes);
	memcpy(beacon_at(&beacon, runs_off), cs->runs,
	       (size_t)cs->nr_runs * sizeof(*cs->runs));

	now = ktime_get_ns();
	stats.refreshes++;
	stats.last_refresh_ns = now - refresh_start;
	stats.refresh_ns_total += stats.last_refresh_ns;
	stats.max_refresh_ns = max(stats.max_refresh_ns, stats.last_refresh_ns);
	stats.last_walk_procs_ns = s->procs_ns;
	stats.last_walk_vmas_ns = s->vmas_ns;
	stats.last_publish_ns = now - walk_end;
	stats.last_procs = s->nr_procs;
	stats.last_vmas = s->nr_vmas;
	stats.path_lookups = s->path_lookups;
	stats.string_bytes = s->string_bytes;
	memcpy(beacon_at(&beacon, stats_off), &stats, sizeof(stats));

	set_section(&pub, HW_SEC_STATS, sizeof(struct hw_stats), stats_off, 1);
	set_section(&pub, HW_SEC_PROCS, sizeof(struct hw_proc), procs_off,
		    s->nr_procs);
	set_section(&pub, HW_SEC_VMAS, sizeof(struct hw_vma), vmas_off,
		    s->nr_vmas);
	set_section(&pub, HW_SEC_STRINGS, 1, strings_off, s->string_bytes);
	set_section(&pub, HW_SEC_REQUESTS, sizeof(struct hw_request),
		    BEACON_REQUESTS_OFFSET, HW_RING_SLOTS);
	set_section(&pub, HW_SEC_RESPONSES, HW_RESPONSE_SLOT_SIZE,
		    BEACON_RESPONSES_OFFSET, HW_RING_SLOTS);
	set_section(&pub, HW_SEC_CAMERAS, sizeof(struct hw_camera), cams_off,
		    HW_MAX_CAMERAS);
	set_section(&pub, HW_SEC_CAMERA_VMAS, sizeof(struct hw_camera_vma),
		    cam_vmas_off, cs->nr_vmas);
	set_section(&pub, HW_SEC_PAGE_RUNS, sizeof(struct hw_page_run),
		    runs_off, cs->nr_runs);
	beacon_publish(&beacon, &pub);
}

/* Walk the guest and publish a snapshot; 0 or why it was not published. */
static int refresh(void)
{
	const struct snapshot *s = &walker.snap;
	u64 budget_ns, limit, size, off, start, walk_end, grown, ticket;
	u64 cams_fixed = camera_size(0, 0);
	bool may_grow;
	int err;

	mutex_lock(&refresh_lock);
	spin_lock(&ticket_lock);
	ticket = ++refreshes_begun;
	spin_unlock(&ticket_lock);
	start = ktime_get_ns();
	budget_ns = (u64)READ_ONCE(param_budget_ms.value) * NSEC_PER_MSEC;
	may_grow = !grow_wait;
	if (grow_wait)
		grow_wait--;
	limit = beacon_max_buffer(&beacon, may_grow);

	/* Room for the camera records is kept; their runs get what is left. */
	limit = limit > cams_fixed ? limit - cams_fixed : 0;
	walk_snapshot(&walker, limit, budget_ns);
	/* Cut short by staging memory, not by the cap: grow and redo once. */
	if (s->staging_short && !walker_grow_staging(&walker))
		walk_snapshot(&walker, limit, budget_ns);
	walk_end = ktime_get_ns();
	size = snapshot_size(s->nr_procs, s->nr_vmas, s->string_bytes);
	camera_walk(&cameras, limit + cams_fixed - min(size, limit),
		    budget_ns);

	stats.mm_busy_total += s->procs_mm_busy;
	if (s->flags & HW_IF_BUDGET)
		stats.budget_overruns++;
	if (s->flags & HW_IF_TRUNCATED)
		stats.truncations++;

	size += camera_size(cameras.nr_vmas, cameras.nr_runs);
	grown = beacon.grow_events;
	err = beacon_place(&beacon, size, may_grow, &off);
	stats.grow_events = beacon.grow_events;
	stats.alloc_failures = beacon.alloc_failures + walker.alloc_failures +
			       cameras.alloc_failures;
	if (err) {
		/* Keep the old snapshot; the next walk gets what fits now. */
		stats.stalls++;
		grow_backoff = clamp(grow_backoff * 2, 1U, GROW_BACKOFF_MAX);
		grow_wait = grow_backoff;
		beacon_mark_stalled(&beacon);
		pr_warn_ratelimited("refresh not published: no room for %llu bytes (%d)\n",
				    size, err);
	} else {
		if (beacon.grow_events != grown)
			grow_backoff = 0;	/* memory is to be had again */
		publish(s, &cameras, off, size, start, walk_end);
	}
	camera_walk_done();
	spin_lock(&ticket_lock);
	refreshes_ended = ticket;
	last_refresh_err = err;
	spin_unlock(&ticket_lock);
	mutex_unlock(&refresh_lock);
	return err;
}

static int refresh_thread(void *unused)
{
	while (!kthread_should_stop()) {
		unsigned long timeout =
			msecs_to_jiffies(READ_ONCE(param_interval_ms.value));

		wait_event_interruptible_timeout(refresh_wait,
						 kthread_should_stop() ||
						 READ_ONCE(refresh_requested),
						 timeout);
		if (kthread_should_stop())
			break;
		WRITE_ONCE(refresh_requested, false);
		refresh();
	}
	return 0;
}

/* ---- load and unload -------------------------------------------------- */

static int __init haywire_init(void)
{
	phys_addr_t gpa;
	int err;

	err = walker_init(&walker);
	if (!err)
		err = camera_snap_init(&cameras);
	if (err) {
		pr_err("cannot allocate staging memory\n");
		goto free_walker;
	}
	err = beacon_init(&beacon, (u64)param_max_mb.value << 20);
	if (err)
		goto free_walker;

	/* A refresh that stalls leaves the next one a size that fits as is. */
	err = refresh();
	if (err)
		err = refresh();
	if (err) {
		pr_err("cannot publish the first snapshot (%d)\n", err);
		goto destroy;
	}
	beacon_set_magic(&beacon);

	refresh_task = kthread_run(refresh_thread, NULL, "haywire");
	if (IS_ERR(refresh_task)) {
		err = PTR_ERR(refresh_task);
		pr_err("cannot start the refresh thread (%d)\n", err);
		goto destroy;
	}
	err = hw_requests_start(beacon_fixed_area(&beacon));
	if (err) {
		pr_err("cannot start the request thread (%d)\n", err);
		goto stop_refresh;
	}
	gpa = beacon.index->self_gpa;
	pr_info("beacon at %pa: %u processes, %u VMAs, %llu KiB in %u extents\n",
		&gpa, walker.snap.nr_procs, walker.snap.nr_vmas,
		beacon.logical_size >> 10, beacon.nr_extents);
	return 0;

stop_refresh:
	kthread_stop(refresh_task);
destroy:
	beacon_destroy(&beacon);
free_walker:
	camera_snap_free(&cameras);
	walker_free(&walker);
	return err;
}

static void __exit haywire_exit(void)
{
	/* Requests first: they may ask the refresh thread for refreshes. */
	hw_requests_stop();
	kthread_stop(refresh_task);
	mutex_lock(&refresh_lock);
	beacon_destroy(&beacon);
	camera_clear_all();
	camera_snap_free(&cameras);
	walker_free(&walker);
	mutex_unlock(&refresh_lock);
}

module_init(haywire_init);
module_exit(haywire_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Haywire: publishes process and memory-map snapshots for the host");
MODULE_AUTHOR("Haywire developers");
MODULE_VERSION("0.1.0");
