// SPDX-License-Identifier: MIT
/*
 * haywire diff: the beacon's process list against an agentless walk of the
 * guest kernel's task list (a hidden-process detector: a process one view
 * shows and the other does not).
 *
 * Processes are the same when pid and start time agree. Neither view is
 * instantaneous, so a process that starts or exits while they are taken
 * shows up in one only. Differences are therefore confirmed: when the first
 * round differs, a second round is taken with a snapshot the guest
 * published after the first walk, and only a process that is in both rounds
 * of one view and in neither round of the other is reported.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

#define SETTLE_MAX_MS	10000

static bool has(const struct haywire_procs *set, const struct haywire_proc *p)
{
	size_t lo = 0, hi = set->count;

	/* both views are sorted by pid */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->procs[mid].pid == p->pid)
			return set->procs[mid].start_time_ns ==
			       p->start_time_ns;
		if (set->procs[mid].pid < p->pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Processes of `in` (also in `again`, if given) missing from both `a`
 * and `b` (b may be NULL). */
static size_t missing(const struct haywire_procs *in,
		      const struct haywire_procs *again,
		      const struct haywire_procs *a,
		      const struct haywire_procs *b,
		      const struct haywire_proc **out)
{
	size_t i, n = 0;

	for (i = 0; i < in->count; i++) {
		const struct haywire_proc *p = &in->procs[i];

		if ((again && !has(again, p)) || has(a, p) || (b && has(b, p)))
			continue;
		out[n++] = p;
	}
	return n;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A snapshot whose refresh began after now: two generations on. */
static int settle(struct haywire_beacon *b, uint64_t generation,
		  uint32_t interval_ms, struct haywire_error *err)
{
	unsigned int waited = 0, limit = interval_ms * 3 + 1000;
	struct haywire_info info;
	int rc;

	if (limit > SETTLE_MAX_MS)
		limit = SETTLE_MAX_MS;
	for (;;) {
		rc = haywire_read_info(b, &info, err);
		if (rc)
			return rc;
		if (info.generation >= generation + 2)
			return 0;
		if (waited >= limit) {
			warn("the beacon published no new snapshot within %u ms (generation %" PRIu64 "): differences are confirmed against it",
			     limit, info.generation);
			return 0;
		}
		sleep_ms(50);
		waited += 50;
	}
}

int cmd_diff(struct cli *cli, char **argv, struct haywire_error *err)
{
	enum haywire_source_kind kind = cli->opts.kind == HAYWIRE_SOURCE_QMP ?
					HAYWIRE_SOURCE_QMP :
					HAYWIRE_SOURCE_MEMFILE;
	struct haywire_source *beacon = NULL, *walk = NULL;
	struct haywire_procs *s1 = NULL, *s2 = NULL, *w1 = NULL, *w2 = NULL;
	const struct haywire_proc **only_b = NULL, **only_a = NULL;
	struct diff_out d = { 0 };
	int rc;

	(void)argv;
	if (!cli->opts.qmp) {
		err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg),
			 "diff needs QEMU's monitor for its agentless walk: use --qmp SOCKET");
		return HAYWIRE_E_INVALID;
	}
	/* The walk first: with QEMU's map it attaches RAM beyond the boot
	 * map (DIMMs) to the shared RAM file, which the beacon then uses. */
	walk = cli_open_source(cli, kind, err);
	if (!walk)
		return err->code;
	beacon = cli_open_source(cli, HAYWIRE_SOURCE_BEACON, err);
	rc = beacon ? 0 : err->code;
	if (!rc)
		rc = haywire_source_procs(beacon, &s1, err);
	if (!rc)
		rc = haywire_source_procs(walk, &w1, err);
	if (rc)
		goto out;
	only_b = calloc(s1->count + 1, sizeof(*only_b));
	only_a = calloc(w1->count + 1, sizeof(*only_a));
	if (!only_b || !only_a) {
		err->code = rc = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	d.n_beacon = missing(s1, NULL, w1, NULL, only_b);
	d.n_agentless = missing(w1, NULL, s1, NULL, only_a);
	if (d.n_beacon || d.n_agentless) {
		rc = settle(haywire_source_beacon(beacon), s1->info.generation,
			    s1->info.interval_ms, err);
		if (!rc)
			rc = haywire_source_procs(beacon, &s2, err);
		if (!rc)
			rc = haywire_source_procs(walk, &w2, err);
		if (rc)
			goto out;
		d.n_beacon = missing(s1, s2, w1, w2, only_b);
		d.n_agentless = missing(w1, w2, s1, s2, only_a);
	}
	if (*w1->info.note)
		warn("%s", w1->info.note);
	print_warnings();
	d.source = haywire_source_name(kind);
	d.generation = s1->info.generation;
	d.beacon_count = s1->count;
	d.agentless_count = w1->count;
	d.only_beacon = only_b;
	d.only_agentless = only_a;
	if (cli->json)
		print_json_diff(stdout, &d);
	else
		print_diff(stdout, &d);
	if (d.n_beacon || d.n_agentless)
		cli->status = EXIT_DIFFERENT;
out:
	free(only_b);
	free(only_a);
	haywire_procs_free(s1);
	haywire_procs_free(s2);
	haywire_procs_free(w1);
	haywire_procs_free(w2);
	cli_close_source(cli, walk);
	cli_close_source(cli, beacon);
	return rc;
}
