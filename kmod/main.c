// SPDX-License-Identifier: GPL-2.0-only
/*
 * Haywire guest module: publishes process and memory-map snapshots into
 * beacon memory for the host, and answers its requests (docs/protocol.md).
 * This file holds the module parameters, the refresh (walk, then publish)
 * and the refresh thread; request.c holds the request thread.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/freezer.h>
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
#include "debugfs.h"
#include "events.h"
#include "guest.h"
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
/*
 * max_mb covers the beacon and the staging memory a snapshot is built in:
 * the beacon may take two thirds (at most 64 extents of 4 MiB: 256 MiB),
 * staging the rest (it holds one snapshot, the beacon two).
 */
#define MAX_MB_LIMIT		384
static struct ranged_param param_max_mb = { 64, 4, MAX_MB_LIMIT, false };
static struct ranged_param param_budget_ms = { 500, 1, 60000, false };
static struct ranged_param param_poll_max = { 20, 1, 1000, false };
/* 1.3: lifecycle event records (0: no probes, no ring) */
static struct ranged_param param_events = { 8192, 0, HW_EVENTS_MAX, false };
static struct hw_guest_snap guest_snap;
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
MODULE_PARM_DESC(max_mb, "Cap on beacon and staging memory in MiB, 4..384 (default 64)");
module_param_cb(budget_ms, &ranged_param_ops, &param_budget_ms, 0644);
MODULE_PARM_DESC(budget_ms, "Time budget per refresh in ms, 1..60000 (default 500); VMAs are skipped after it");
module_param_cb(poll_max_ms, &ranged_param_ops, &param_poll_max, 0644);
MODULE_PARM_DESC(poll_max_ms, "Longest interval between looks at the request page when idle, in ms, 1..1000 (default 20)");
module_param_cb(events, &ranged_param_ops, &param_events, 0444);
MODULE_PARM_DESC(events, "Lifecycle event ring records, 256 bytes each, in the beacon (default 8192; 0: off)");
module_param(allow_read, bool, 0644);
MODULE_PARM_DESC(allow_read, "Answer host requests to read process memory (default 0: refused)");

unsigned int hw_poll_max_ms(void)
{
	return READ_ONCE(param_poll_max.value);
}

bool hw_read_allowed(void)
{
	return READ_ONCE(allow_read);
}

unsigned int hw_refresh_budget_ms(void)
{
	return READ_ONCE(param_budget_ms.value);
}

/* ---- refresh ---------------------------------------------------------- */

static struct beacon beacon;
static struct hw_staging staging;
static struct walker walker;
static struct camera_snap cameras;
static struct hw_stats stats;
/* One refresh at a time; also guards beacon, walker, cameras and stats. */
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
/*
 * What the last refresh did after its VMA walk, placing aside: dropping the
 * walk's references and the copy into the beacon (plan_budget()).
 */
static u64 last_tail_ns;
static struct task_struct *refresh_task;

/* Refreshes begun and ended, for requests that wait for one. */
static DEFINE_SPINLOCK(ticket_lock);
static u64 refreshes_begun;
static u64 refreshes_ended;
static int last_refresh_err;

u64 hw_published_generation(void)
{
	/*
	 * Only the number is wanted (pings, camera bookkeeping): nothing is
	 * read through it, so no ordering; pairs with the WRITE_ONCE in
	 * beacon_publish().
	 */
	return READ_ONCE(beacon.pub.generation);
}

u64 hw_refresh_ask(void)
{
	u64 ticket;

	spin_lock(&ticket_lock);
	ticket = refreshes_begun + 1;	/* the next one to begin */
	spin_unlock(&ticket_lock);
	request_refresh();
	return ticket;
}

int hw_refresh_result(u64 ticket, u64 *generation)
{
	int err = -EAGAIN;

	spin_lock(&ticket_lock);
	if (refreshes_ended >= ticket) {
		err = last_refresh_err;
		*generation = hw_published_generation();
	}
	spin_unlock(&ticket_lock);
	return err;
}

/*
 * One time budget (budget_ms) for the whole refresh: process records, VMAs,
 * cameras and the copy into the beacon. The end (dropping references, the
 * copy) is given what it took last time plus a half (at most a quarter of
 * the budget), and 5% of the budget is kept for the granularity of the
 * checks (the clock is read every few VMAs); with cameras on, the VMA walk stops at
 * three quarters of it, so that they get their share. Process records are not cut
 * (every process gets one). Growing the beacon is not planned for: it
 * happens only when the guest outgrows it (grow_events), and adds its time
 * to that refresh.
 */
struct refresh_clock {
	u64 budget;
	u64 start;
	u64 vmas_deadline;	/* CLOCK_MONOTONIC ns */
	u64 cams_deadline;
	u64 walk_end;		/* VMA walk over, cameras begin */
	u64 cams_end;
};

static void plan_budget(struct refresh_clock *c, unsigned int cams_on)
{
	u64 budget = (u64)READ_ONCE(param_budget_ms.value) * NSEC_PER_MSEC;
	u64 tail = min(last_tail_ns + last_tail_ns / 2, budget / 4);
	u64 work = budget - budget / 20 - tail;

	c->budget = budget;
	c->start = ktime_get_ns();
	c->cams_deadline = c->start + work;
	c->vmas_deadline = c->start + (cams_on ? work / 4 * 3 : work);
}

/* Where each section of a snapshot goes, from logical offset start on. */
struct layout {
	u64 stats, guest, cpus, procs, vmas, strings, cams, cam_vmas, runs, end;
};

static struct layout layout_at(u64 start, const struct snapshot *s,
			       const struct camera_snap *cs)
{
	const u64 a = BEACON_SECTION_ALIGN;
	struct layout l;

	l.stats = start;
	l.guest = l.stats + ALIGN(sizeof(struct hw_stats), a);
	l.cpus = l.guest + ALIGN(sizeof(struct hw_guest), a);
	l.procs = l.stats + ALIGN(sizeof(struct hw_stats), a) +
		  hw_guest_size(&guest_snap);
	l.vmas = l.procs + ALIGN((u64)s->nr_procs * sizeof(struct hw_proc), a);
	l.strings = l.vmas + ALIGN((u64)s->nr_vmas * sizeof(struct hw_vma), a);
	l.cams = l.strings + ALIGN(s->string_bytes, a);
	l.cam_vmas = l.cams + camera_size(0, 0);
	l.runs = l.cam_vmas + ALIGN((u64)cs->nr_vmas * sizeof(*cs->vmas), a);
	l.end = l.runs + ALIGN((u64)cs->nr_runs * sizeof(*cs->runs), a);
	return l;
}

/*
 * Walk processes and cameras into staging memory within total bytes. When
 * staging memory, not the limit, was short, grow it and walk again once,
 * in what is left of the same budget.
 */
static void walk_guest(struct refresh_clock *c, u64 total)
{
	const struct snapshot *s = &walker.snap;
	u64 cams_fixed = camera_size(0, 0);
	u64 limit = total > cams_fixed ? total - cams_fixed : 0;
	u64 size;
	int attempt;

	for (attempt = 0; ; attempt++) {
		hw_walk_snapshot(&walker, limit, c->vmas_deadline);
		c->walk_end = ktime_get_ns();
		size = snapshot_size(s->nr_procs, s->nr_vmas, s->string_bytes);
		camera_walk(&cameras, total - min(size, limit),
			    c->cams_deadline);
		c->cams_end = ktime_get_ns();
		if (attempt || !(s->staging_short || cameras.staging_short) ||
		    c->cams_end > c->cams_deadline)
			break;
		if ((s->staging_short && hw_walker_grow_staging(&walker)) ||
		    (cameras.staging_short && camera_grow_staging(&cameras)))
			break;
	}
}

static void copy_sections(const struct layout *l, const struct snapshot *s,
			  const struct camera_snap *cs)
{
	memcpy(beacon_at(&beacon, l->guest), &guest_snap.guest,
	       sizeof(guest_snap.guest));
	memcpy(beacon_at(&beacon, l->cpus), guest_snap.cpus,
	       (size_t)guest_snap.nr_cpus * sizeof(*guest_snap.cpus));
	memcpy(beacon_at(&beacon, l->procs), s->procs,
	       (size_t)s->nr_procs * sizeof(struct hw_proc));
	memcpy(beacon_at(&beacon, l->vmas), s->vmas,
	       (size_t)s->nr_vmas * sizeof(struct hw_vma));
	memcpy(beacon_at(&beacon, l->strings), s->strings, s->string_bytes);
	memcpy(beacon_at(&beacon, l->cams), cs->cams, sizeof(cs->cams));
	memcpy(beacon_at(&beacon, l->cam_vmas), cs->vmas,
	       (size_t)cs->nr_vmas * sizeof(*cs->vmas));
	memcpy(beacon_at(&beacon, l->runs), cs->runs,
	       (size_t)cs->nr_runs * sizeof(*cs->runs));
}

/* Figures that every refresh updates, published or not. */
static void count_refresh(const struct snapshot *s,
			  const struct camera_snap *cs)
{
	stats.mm_busy_total += s->procs_mm_busy;
	if ((s->flags & HW_IF_BUDGET) || cs->over_budget)
		stats.budget_overruns++;
	if (s->flags & HW_IF_TRUNCATED)
		stats.truncations++;
	stats.last_max_hold_ns = max(s->max_hold_ns, cs->max_hold_ns);
	stats.last_max_hold_pid = s->max_hold_ns >= cs->max_hold_ns ?
				  s->max_hold_pid : cs->max_hold_pid;
	stats.max_hold_ns = max(stats.max_hold_ns, stats.last_max_hold_ns);
	stats.grow_events = beacon.grow_events;
	stats.alloc_failures = beacon.alloc_failures + walker.alloc_failures +
			       walker.strtab.alloc_failures +
			       cameras.alloc_failures;
	stats.staging_bytes = staging.used;
}

/* The published snapshot's figures; "now" is just before the stats copy. */
static void fill_stats(const struct snapshot *s, const struct camera_snap *cs,
		       const struct refresh_clock *c, u64 now)
{
	stats.refreshes++;
	stats.last_refresh_ns = now - c->start;
	stats.last_total_ns = stats.last_refresh_ns;
	stats.refresh_ns_total += stats.last_refresh_ns;
	stats.max_refresh_ns = max(stats.max_refresh_ns, stats.last_refresh_ns);
	stats.last_walk_procs_ns = s->procs_ns;
	stats.last_walk_vmas_ns = s->vmas_ns;
	stats.last_cameras_ns = c->cams_end - c->walk_end;
	stats.last_publish_ns = now - c->cams_end;
	stats.last_procs = s->nr_procs;
	stats.last_vmas = s->nr_vmas;
	stats.path_lookups = s->path_lookups;
	stats.string_bytes = s->string_bytes;
	stats.last_budget_skipped = s->budget_skipped;
	stats.last_budget_cut = s->budget_cut;
	stats.last_start_pid = s->start_pid;
	stats.next_start_pid = s->next_pid;
	stats.budget_ns = c->budget;
}

static void set_sections(struct hw_publication *pub,
			 const struct layout *l, const struct snapshot *s,
			 const struct camera_snap *cs)
{
	hw_pub_add_section(pub, HW_SEC_STATS, sizeof(struct hw_stats),
			   l->stats, 1);
	hw_pub_add_section(pub, HW_SEC_PROCS, sizeof(struct hw_proc),
			   l->procs, s->nr_procs);
	hw_pub_add_section(pub, HW_SEC_VMAS, sizeof(struct hw_vma),
			   l->vmas, s->nr_vmas);
	hw_pub_add_section(pub, HW_SEC_STRINGS, 1, l->strings, s->string_bytes);
	hw_pub_add_section(pub, HW_SEC_REQUESTS, sizeof(struct hw_request),
			   BEACON_REQUESTS_OFFSET, HW_RING_SLOTS);
	hw_pub_add_section(pub, HW_SEC_RESPONSES, HW_RESPONSE_SLOT_SIZE,
			   BEACON_RESPONSES_OFFSET, HW_RING_SLOTS);
	hw_pub_add_section(pub, HW_SEC_CAMERAS, sizeof(struct hw_camera),
			   l->cams, HW_MAX_CAMERAS);
	hw_pub_add_section(pub, HW_SEC_CAMERA_VMAS, sizeof(struct hw_camera_vma),
			   l->cam_vmas, cs->nr_vmas);
	hw_pub_add_section(pub, HW_SEC_PAGE_RUNS, sizeof(struct hw_page_run),
			   l->runs, cs->nr_runs);
	hw_pub_add_section(pub, HW_SEC_GUEST, sizeof(struct hw_guest),
			   l->guest, 1);
	hw_pub_add_section(pub, HW_SEC_CPUS, sizeof(struct hw_cpu_time),
			   l->cpus, guest_snap.nr_cpus);
	if (beacon.events_size)
		hw_pub_add_section(pub, HW_SEC_EVENTS, sizeof(struct hw_event),
				   BEACON_FIXED_SIZE, param_events.value);
}

/* Copy the walked snapshot and cameras to their place l, publish. */
static void publish(const struct layout *l, const struct snapshot *s,
		    const struct camera_snap *cs, const struct refresh_clock *c)
{
	struct hw_publication pub = {
		.flags = s->flags | (cs->over_budget ? HW_IF_BUDGET : 0),
		.interval_ms = READ_ONCE(param_interval_ms.value),
		.poll_max_ms = hw_poll_max_ms(),
		.procs_total = s->procs_total,
		.procs_mm_busy = s->procs_mm_busy,
		.vmas_total = s->vmas_total,
		.strings_total = s->strings_total,
		.start = l->stats,
		.size = l->end - l->stats,
	};
	u64 t0 = ktime_get_ns();

	copy_sections(l, s, cs);
	last_tail_ns = ktime_get_ns() - t0 + s->put_ns;
	fill_stats(s, cs, c, ktime_get_ns());
	memcpy(beacon_at(&beacon, l->stats), &stats, sizeof(stats));
	set_sections(&pub, l, s, cs);
	beacon_publish(&beacon, &pub);
}

/* Whether this refresh may grow the beacon (see GROW_BACKOFF_MAX). */
static bool take_grow_turn(void)
{
	if (!grow_wait)
		return true;
	grow_wait--;
	return false;
}

/* Keep the old snapshot; the next walk gets what fits now. */
static void stall(u64 size, int err)
{
	stats.stalls++;
	grow_backoff = clamp(grow_backoff * 2, 1U, GROW_BACKOFF_MAX);
	grow_wait = grow_backoff;
	beacon_mark_stalled(&beacon);
	pr_warn_ratelimited("refresh not published: no room for %llu bytes (%d)\n",
			    size, err);
}

int hw_refresh_view(struct hw_stats *st, u64 *generation,
		    struct hw_index *index)
{
	/* A refresh holds it for at most about budget_ms. */
	if (mutex_lock_killable(&refresh_lock))
		return -EINTR;
	*st = stats;
	*generation = beacon.pub.generation;
	if (index)
		memcpy(index, beacon.index, sizeof(*index));
	mutex_unlock(&refresh_lock);
	return 0;
}

/* Walk the guest and publish a snapshot; 0 or why it was not published. */
static int refresh_locked(void)
{
	const struct snapshot *s = &walker.snap;
	struct refresh_clock c;
	struct layout l;
	bool may_grow = take_grow_turn();
	u64 grown = beacon.grow_events, off, room;
	int err;

	plan_budget(&c, camera_take(&cameras));
	hw_guest_take(&guest_snap);
	room = beacon_max_buffer(&beacon, may_grow);
	/* The guest-wide sections take a fixed size of every snapshot. */
	walk_guest(&c, room - min(room, hw_guest_size(&guest_snap)));
	l = layout_at(0, s, &cameras);
	err = beacon_place(&beacon, l.end, may_grow, &off);
	count_refresh(s, &cameras);
	if (err) {
		stall(l.end, err);
	} else {
		if (beacon.grow_events != grown)
			grow_backoff = 0;	/* memory is to be had again */
		l = layout_at(off, s, &cameras);
		publish(&l, s, &cameras, &c);
		/* These processes had their turn: the next walk goes on. */
		walker.cursor = s->next_pid;
	}
	camera_walk_done(&cameras);
	return err;
}

static int refresh(void)
{
	u64 ticket;
	int err;

	mutex_lock(&refresh_lock);
	spin_lock(&ticket_lock);
	ticket = ++refreshes_begun;
	spin_unlock(&ticket_lock);
	err = refresh_locked();
	spin_lock(&ticket_lock);
	refreshes_ended = ticket;
	last_refresh_err = err;
	spin_unlock(&ticket_lock);
	mutex_unlock(&refresh_lock);
	return err;
}

static int refresh_thread(void *unused)
{
	/* Suspend and hibernation wait for it to reach the freezer. */
	set_freezable();
	while (!kthread_should_stop()) {
		unsigned long timeout =
			msecs_to_jiffies(READ_ONCE(param_interval_ms.value));

		wait_event_freezable_timeout(refresh_wait,
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
	u64 max_bytes, beacon_cap;
	u32 nr_procs, nr_vmas;
	phys_addr_t gpa;
	int err;

	max_bytes = (u64)param_max_mb.value << 20;
	beacon_cap = round_down(max_bytes / 3 * 2, HW_EXTENT_ALIGN);
	staging.max = max_bytes - beacon_cap;
	err = hw_walker_init(&walker, &staging);
	if (!err)
		err = camera_snap_init(&cameras, &staging);
	if (!err)
		err = hw_guest_init(&guest_snap);
	if (err) {
		pr_err("cannot allocate staging memory\n");
		goto free_walker;
	}
	err = beacon_init(&beacon, beacon_cap,
			  hw_events_bytes(param_events.value));
	if (err)
		goto free_walker;
	err = hw_events_start(beacon_events_area(&beacon), param_events.value);
	if (err)
		goto destroy;

	/* A refresh that stalls leaves the next one a size that fits as is. */
	err = refresh();
	if (err)
		err = refresh();
	if (err) {
		pr_err("cannot publish the first snapshot (%d)\n", err);
		goto destroy;
	}
	beacon_set_magic(&beacon);
	/* Before the refresh thread runs: a grow remaps the index. */
	gpa = beacon.index->self_gpa;
	nr_procs = walker.snap.nr_procs;
	nr_vmas = walker.snap.nr_vmas;

	refresh_task = kthread_run(refresh_thread, NULL, "haywire");
	if (IS_ERR(refresh_task)) {
		err = PTR_ERR(refresh_task);
		pr_err("cannot start the refresh thread (%d)\n", err);
		goto destroy;
	}
	err = hw_requests_start(beacon_fixed_area(&beacon), beacon.index->nonce);
	if (err) {
		pr_err("cannot start the request thread (%d)\n", err);
		goto stop_refresh;
	}
	hw_debugfs_start();
	pr_info("beacon at %pa: %u processes, %u VMAs in the first snapshot\n",
		&gpa, nr_procs, nr_vmas);
	return 0;

stop_refresh:
	kthread_stop(refresh_task);
destroy:
	hw_events_stop();
	beacon_destroy(&beacon);
free_walker:
	hw_guest_free(&guest_snap);
	camera_snap_free(&cameras);
	hw_walker_free(&walker);
	return err;
}

static void __exit haywire_exit(void)
{
	/* First: its reads take refresh_lock and look at everything. */
	hw_debugfs_stop();
	/* Requests first: they may ask the refresh thread for refreshes. */
	hw_requests_stop();
	kthread_stop(refresh_task);
	/* No probe writes the ring once this returns. */
	hw_events_stop();
	mutex_lock(&refresh_lock);
	beacon_destroy(&beacon);
	hw_guest_free(&guest_snap);
	camera_clear_all();
	camera_snap_free(&cameras);
	hw_walker_free(&walker);
	mutex_unlock(&refresh_lock);
}

module_init(haywire_init);
module_exit(haywire_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Haywire: publishes process and memory-map snapshots for the host");
MODULE_AUTHOR("Haywire developers");
/* = HW_MODULE_VERSION (beacon.h) */
MODULE_VERSION("0.1.0");
