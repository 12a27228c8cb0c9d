// SPDX-License-Identifier: MIT
/*
 * One guest watched over time, for haywire top and haywire exporter (see
 * monitor.h).
 *
 * The bound: a monitor must not hang on one guest. The RAM file is mapped
 * once and kept; discovery gets a short deadline and each snapshot read a
 * few attempts with a short pause, so a guest whose seq stays odd or keeps
 * moving (a stuck or hostile writer) turns into GUEST_BUSY after about
 * READ_ATTEMPTS * READ_PAUSE_US plus the copies, and the next guest is read.
 * 20 attempts: a TCG guest's refresh can hold seq odd for several ms, and a
 * healthy guest must not flap to busy; 100 hung guests still cost ~2.5 s.
 *
 * Staleness: the snapshot's age compares the guest's clock with the host's,
 * and guest clocks can be off. A snapshot that looks stale by the clocks is
 * stale only if its generation also did not move since the previous read
 * of this guest; a first read that looks stale is reported stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "monitor.h"

#define READ_ATTEMPTS		20
#define READ_PAUSE_US		1000
#define DISCOVERY_DEADLINE_MS	60

static const char *const reason_names[GUEST_REASONS] = {
	[GUEST_OK] = "ok",
	[GUEST_NO_FILE] = "no_file",
	[GUEST_NO_BEACON] = "no_beacon",
	[GUEST_GONE] = "gone",
	[GUEST_BUSY] = "busy",
	[GUEST_STALE] = "stale",
	[GUEST_INVALID] = "invalid",
	[GUEST_AMBIGUOUS] = "ambiguous",
	[GUEST_ERROR] = "error",
	[GUEST_NO_DOMAIN] = "no_domain",
	[GUEST_NOT_RUNNING] = "not_running",
	[GUEST_NOT_SHARED] = "not_shared",
};

const char *guest_reason_name(enum guest_reason reason)
{
	return reason < GUEST_REASONS ? reason_names[reason] : "error";
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t proc_cpu_ns(const struct haywire_proc *p)
{
	return p->monitor ? p->utime_ns + p->stime_ns : 0;
}

/* A module before 1.3 publishes no CPU times (monitor false). */
bool procs_have_cpu(const struct haywire_procs *procs)
{
	return procs->count && procs->procs[0].monitor;
}

const char *const cpu_mode_names[CPU_MODES] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

uint64_t cpu_mode_ns(const struct haywire_cpu_time *t, enum cpu_mode mode)
{
	const uint64_t v[CPU_MODES] = {
		t->user, t->nice, t->system, t->idle, t->iowait, t->irq,
		t->softirq, t->steal,
	};

	return mode < CPU_MODES ? v[mode] : 0;
}

void guest_init(struct guest *g, const char *name, const char *path)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->opts.attempts = READ_ATTEMPTS;
	g->opts.sleep_us = READ_PAUSE_US;
	g->opts.deadline_ms = DISCOVERY_DEADLINE_MS;
}

static void baseline_free(struct cpu_baseline *b)
{
	free(b->samples);
	memset(b, 0, sizeof(*b));
}

void guest_close(struct guest *g)
{
	haywire_beacon_free(g->beacon);
	haywire_mem_close(g->mem);
	baseline_free(&g->older);
	baseline_free(&g->latest);
	g->beacon = NULL;
	g->mem = NULL;
}

void guest_view_free(struct guest_view *v)
{
	haywire_guest_stat_free(v->gstat);
	v->gstat = NULL;
	haywire_procs_free(v->procs);
	free(v->cpu_pct);
	v->procs = NULL;
	v->cpu_pct = NULL;
}

static enum guest_reason reason_of(enum haywire_code code)
{
	switch (code) {
	case HAYWIRE_E_FILE:
	case HAYWIRE_E_NOT_RAM:
	case HAYWIRE_E_IO:
		return GUEST_NO_FILE;
	case HAYWIRE_E_NO_BEACON:
		return GUEST_NO_BEACON;
	case HAYWIRE_E_GONE:
		return GUEST_GONE;
	case HAYWIRE_E_BUSY:
	case HAYWIRE_E_TIMEOUT:
		return GUEST_BUSY;
	case HAYWIRE_E_CORRUPT:
	case HAYWIRE_E_VERSION:
	case HAYWIRE_E_RAM_MAP:
		return GUEST_INVALID;
	case HAYWIRE_E_AMBIGUOUS:
		return GUEST_AMBIGUOUS;
	default:
		return GUEST_ERROR;
	}
}

/*
 * An unloading module may leave its index mid-update (seq odd) with the
 * magic already HWGONE!!: a read of the beacon found before then says busy
 * for good. The magic says what it is.
 */
static bool magic_gone(struct guest *g)
{
	uint64_t magic;

	if (!g->beacon || !g->mem ||
	    haywire_mem_read(g->mem, haywire_beacon_location(g->beacon)->file_offset,
			     &magic, sizeof(magic), NULL))
		return false;
	return magic != HW_MAGIC;
}

/* A failed read: say why, and let go of what must be found again. */
static void read_failed(struct guest *g, struct guest_view *v,
			const struct haywire_error *err)
{
	v->reason = reason_of(err->code);
	snprintf(v->msg, sizeof(v->msg), "%s", err->msg);
	if (err->code == HAYWIRE_E_BUSY && magic_gone(g)) {
		v->reason = GUEST_GONE;
		snprintf(v->msg, sizeof(v->msg),
			 "the beacon's magic is gone (the haywire module was unloaded or the guest rebooted)");
		g->gone = true;
		haywire_beacon_free(g->beacon);
		g->beacon = NULL;
		return;
	}
	/*
	 * After an unload, discovery finds no beacon, or only the pages of
	 * the old one that never become readable: still "gone" until a
	 * beacon is found again.
	 */
	if (err->code == HAYWIRE_E_GONE)
		g->gone = true;
	else if (g->gone && !g->beacon && (err->code == HAYWIRE_E_BUSY ||
					   err->code == HAYWIRE_E_NO_BEACON))
		v->reason = GUEST_GONE;
	/* The file shrank or went: map it again next time. */
	if (err->code == HAYWIRE_E_IO || err->code == HAYWIRE_E_FILE ||
	    err->code == HAYWIRE_E_NOT_RAM) {
		haywire_beacon_free(g->beacon);
		haywire_mem_close(g->mem);
		g->beacon = NULL;
		g->mem = NULL;
	} else if (err->code != HAYWIRE_E_BUSY) {
		/* No beacon, unloaded, ambiguous: discover afresh. */
		haywire_beacon_free(g->beacon);
		g->beacon = NULL;
	}
}

/*
 * A guest that was stopped and started again has a new RAM file at the
 * same path (QEMU unlinks and creates it); the old mapping would show the
 * dead guest's last snapshot for ever. One stat per read notices.
 */
static void follow_path(struct guest *g)
{
	uint64_t dev, ino;
	struct stat st;

	if (!g->mem || !haywire_mem_file_id(g->mem, &dev, &ino))
		return;
	if (stat(g->path, &st) == 0 && (uint64_t)st.st_dev == dev &&
	    (uint64_t)st.st_ino == ino)
		return;
	haywire_beacon_free(g->beacon);
	haywire_mem_close(g->mem);
	g->beacon = NULL;
	g->mem = NULL;
}

static bool open_beacon(struct guest *g, struct haywire_error *err)
{
	follow_path(g);
	if (!g->mem)
		g->mem = haywire_mem_open(g->path, err);
	if (g->mem && !g->beacon) {
		g->beacon = haywire_discover(g->mem, &g->opts, err);
		if (g->beacon)
			g->gone = false;
	}
	return g->beacon != NULL;
}

static bool take_baseline(struct cpu_baseline *b,
			  const struct haywire_procs *procs)
{
	size_t i;

	b->samples = calloc(procs->count ? procs->count : 1,
			    sizeof(*b->samples));
	if (!b->samples)
		return false;
	b->count = procs->count;
	b->generation = procs->info.generation;
	b->mono_ns = procs->info.publish_mono_ns;
	b->have_total = procs->info.have_guest;
	b->total = procs->info.guest.cpu_total;
	for (i = 0; i < procs->count; i++) {
		b->samples[i].pid = procs->procs[i].pid;
		b->samples[i].start_time_ns = procs->procs[i].start_time_ns;
		b->samples[i].cpu_ns = proc_cpu_ns(&procs->procs[i]);
	}
	return true;
}

/*
 * %CPU of each process against the older snapshot: both lists are sorted
 * by pid; a process is the same one if its start time is too (a pid reused
 * in between is a new process, counted from its start).
 */
static void compute_cpu(const struct cpu_baseline *old,
			const struct haywire_procs *procs,
			struct guest_view *v)
{
	uint64_t span = procs->info.publish_mono_ns - old->mono_ns;
	size_t i, j = 0;

	if (procs->info.publish_mono_ns <= old->mono_ns)
		return;
	v->cpu_pct = calloc(procs->count ? procs->count : 1,
			    sizeof(*v->cpu_pct));
	if (!v->cpu_pct)
		return;
	v->cpu_interval_s = (double)span / 1e9;
	for (i = 0; i < procs->count; i++) {
		const struct haywire_proc *p = &procs->procs[i];
		uint64_t now = proc_cpu_ns(p), before = 0;

		while (j < old->count && old->samples[j].pid < p->pid)
			j++;
		if (j < old->count && old->samples[j].pid == p->pid &&
		    old->samples[j].start_time_ns == p->start_time_ns)
			before = old->samples[j].cpu_ns;
		else if (p->start_time_ns < procs->info.publish_boot_ns &&
			 procs->info.publish_boot_ns - p->start_time_ns < span)
			span = procs->info.publish_boot_ns - p->start_time_ns;
		v->cpu_pct[i] = now > before ?
			100.0 * (double)(now - before) / (double)span : 0.0;
		span = procs->info.publish_mono_ns - old->mono_ns;
	}
}

/* %Cpu(s): each mode's share of the time all CPUs spent in between. */
static void compute_split(const struct cpu_baseline *old,
			  const struct haywire_info *info,
			  struct guest_view *v)
{
	uint64_t d[CPU_MODES], sum = 0;
	unsigned int m;

	if (!old->have_total || !info->have_guest)
		return;
	for (m = 0; m < CPU_MODES; m++) {
		uint64_t a = cpu_mode_ns(&old->total, m);
		uint64_t b = cpu_mode_ns(&info->guest.cpu_total, m);

		d[m] = b > a ? b - a : 0;
		sum += d[m];
	}
	if (!sum)
		return;
	for (m = 0; m < CPU_MODES; m++)
		v->cpu_split[m] = 100.0 * (double)d[m] / (double)sum;
	v->have_cpu_split = true;
}

/* Move the baselines on when a new generation arrives, then compute. */
static void update_cpu(struct guest *g, struct guest_view *v)
{
	const struct haywire_procs *procs = v->procs;

	if (!g->latest.samples ||
	    procs->info.generation != g->latest.generation) {
		struct cpu_baseline next = { 0 };

		if (!take_baseline(&next, procs))
			return;
		baseline_free(&g->older);
		g->older = g->latest;
		g->latest = next;
	}
	if (g->older.samples) {
		compute_cpu(&g->older, procs, v);
		compute_split(&g->older, &procs->info, v);
	}
}

/*
 * The event ring's counters, from a cursor that follows the ring (at most
 * a few events copied per read; the events themselves are for haywire
 * events). No ring (module < 1.3, or events=0) or a bad one: no counts.
 */
static void read_event_counts(struct guest *g, struct guest_view *v)
{
	struct haywire_event ev[4];
	struct haywire_event_batch batch;
	struct haywire_error err;

	if (!g->events.nonce && !g->events.next)
		haywire_event_cursor_init(&g->events, HAYWIRE_EVENTS_NOW);
	if (haywire_read_events(g->beacon, &g->events, ev, 4, &batch, &err))
		return;
	/* Skip to the newest: only the counts are wanted here. */
	if (batch.head + 1 > g->events.next)
		g->events.next = batch.head + 1;
	v->have_events = true;
	v->events_head = batch.head;
	v->events_overwritten = batch.overwritten;
}

void guest_read(struct guest *g, struct guest_view *v)
{
	struct haywire_error err = { 0 };
	uint64_t t0 = monotonic_ns();
	bool moved;

	memset(v, 0, sizeof(*v));
	if (!open_beacon(g, &err) ||
	    haywire_read_info(g->beacon, &v->info, &err) ||
	    haywire_read_procs(g->beacon, &v->procs, &err)) {
		read_failed(g, v, &err);
		v->read_ns = monotonic_ns() - t0;
		return;
	}
	if (g->want_cpus &&
	    haywire_read_guest(g->beacon, &v->gstat, &err) &&
	    err.code != HAYWIRE_E_NOT_FOUND) {
		read_failed(g, v, &err);
		guest_view_free(v);
		v->read_ns = monotonic_ns() - t0;
		return;
	}
	if (g->want_cpus)
		read_event_counts(g, v);
	v->has_data = true;
	/* The index of the process table's snapshot, the stats of info's. */
	v->info.nonce = v->procs->info.nonce;
	if (g->seen && v->info.nonce != g->nonce) {
		v->restarted = true;
		v->old_nonce = g->nonce;
		baseline_free(&g->older);
		baseline_free(&g->latest);
	}
	moved = g->seen && !v->restarted &&
		v->procs->info.generation != g->generation;
	g->seen = true;
	g->nonce = v->info.nonce;
	g->generation = v->procs->info.generation;
	if ((v->info.stale || v->info.future) && !moved) {
		v->reason = GUEST_STALE;
		snprintf(v->msg, sizeof(v->msg),
			 "snapshot generation %llu published %lld ms ago by the guest's clock and not replaced since the last read",
			 (unsigned long long)g->generation,
			 (long long)v->info.age_ms);
	}
	update_cpu(g, v);
	v->read_ns = monotonic_ns() - t0;
}
