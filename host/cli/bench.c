// SPDX-License-Identifier: MIT
/*
 * haywire bench PID VADDR: the same four questions through each source, on
 * the same live guest, in one run: ps, maps PID, translate of 64 MiB at
 * VADDR and a 1 MiB read at VADDR. Each figure is the median of --runs
 * repetitions, in one process (opening a source is timed on its own), with
 * the ratio to the beacon; for the qmp source also the QMP round trips one
 * repetition takes. Measured, never asserted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

#define TRANSLATE_LEN	(64ULL << 20)
#define READ_LEN	(1ULL << 20)
#define NSOURCES	3
#define NFIGURES	5

enum figure { F_OPEN, F_PS, F_MAPS, F_TRANSLATE, F_READ };

static const char *const figure_names[NFIGURES] = {
	"open the source", "ps", "maps PID", "translate 64 MiB", "read 1 MiB",
};

struct bench {
	struct cli *cli;
	int32_t pid;
	uint64_t va;
	unsigned char *buf;
	/* what the figures covered, from the beacon's run */
	size_t procs, vmas, runs;
	uint64_t median_ns[NSOURCES][NFIGURES];
	uint64_t qmp_reads[NFIGURES];	/* per repetition, qmp source */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int count_run(void *arg, const struct haywire_xlate_run *run)
{
	(void)run;
	(*(size_t *)arg)++;
	return 0;
}

/* One repetition of one figure. */
static int once(struct bench *b, struct haywire_source *src, enum figure f,
		size_t *count, struct haywire_error *err)
{
	struct haywire_procs *procs;
	struct haywire_maps *maps;
	int rc;

	*count = 0;
	switch (f) {
	case F_PS:
		rc = haywire_source_procs(src, &procs, err);
		if (!rc) {
			*count = procs->count;
			haywire_procs_free(procs);
		}
		return rc;
	case F_MAPS:
		rc = haywire_source_maps(src, b->pid, &maps, err);
		if (!rc) {
			*count = maps->count;
			haywire_maps_free(maps);
		}
		return rc;
	case F_TRANSLATE:
		return haywire_source_translate(src, b->pid, b->va,
						TRANSLATE_LEN, count_run,
						count, err);
	case F_READ:
		return haywire_source_read(src, b->pid, b->va, b->buf,
					   READ_LEN, err);
	default:
		return 0;
	}
}

static uint64_t qmp_reads(struct haywire_source *src)
{
	struct haywire_qmp_phys *qp = haywire_source_qmp_phys(src);
	uint64_t reads = 0, bytes;

	if (qp)
		haywire_qmp_phys_stats(qp, &reads, &bytes);
	return reads;
}

static int bench_source(struct bench *b, unsigned int s,
			struct haywire_error *err)
{
	enum haywire_source_kind kind = (enum haywire_source_kind)s;
	uint64_t *t = calloc(b->cli->runs, sizeof(*t));
	struct haywire_source *src;
	uint64_t t0;
	unsigned int f, r;
	int rc = 0;

	if (!t) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return HAYWIRE_E_NOMEM;
	}
	t0 = now_ns();
	src = cli_open_source(b->cli, kind, err);
	if (!src) {
		free(t);
		return err->code;
	}
	b->median_ns[s][F_OPEN] = now_ns() - t0;
	for (f = F_PS; f < NFIGURES && !rc; f++) {
		uint64_t reads = qmp_reads(src);
		size_t count = 0;

		for (r = 0; r < b->cli->runs && !rc; r++) {
			t0 = now_ns();
			rc = once(b, src, (enum figure)f, &count, err);
			t[r] = now_ns() - t0;
		}
		if (rc)
			break;
		qsort(t, b->cli->runs, sizeof(*t), cmp_u64);
		b->median_ns[s][f] = t[b->cli->runs / 2];
		if (kind == HAYWIRE_SOURCE_QMP)
			b->qmp_reads[f] = (qmp_reads(src) - reads) /
					  b->cli->runs;
		if (kind == HAYWIRE_SOURCE_BEACON) {
			if (f == F_PS)
				b->procs = count;
			else if (f == F_MAPS)
				b->vmas = count;
			else if (f == F_TRANSLATE)
				b->runs = count;
		}
	}
	if (rc) {
		char what[HAYWIRE_MSG_MAX];

		snprintf(what, sizeof(what), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg), "bench, %s source, %s: %.340s",
			 haywire_source_name(kind), figure_names[f], what);
	}
	cli_close_source(b->cli, src);
	free(t);
	return rc;
}

static void time_text(char *buf, size_t n, uint64_t ns)
{
	if (ns < 10000)
		snprintf(buf, n, "%" PRIu64 " ns", ns);
	else if (ns < 10000000)
		snprintf(buf, n, "%.1f us", ns / 1e3);
	else if (ns < 10000000000ULL)
		snprintf(buf, n, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
}

static void print_table(const struct bench *b)
{
	unsigned int f, s;

	printf("%-30s %12s %12s %12s %10s %10s %9s\n", "median of runs",
	       "beacon", "memfile", "qmp", "memfile/b", "qmp/b",
	       "qmp reads");
	for (f = 0; f < NFIGURES; f++) {
		char label[64], cells[NSOURCES][24];

		switch (f) {
		case F_PS:
			snprintf(label, sizeof(label), "ps (%zu processes)",
				 b->procs);
			break;
		case F_MAPS:
			snprintf(label, sizeof(label), "maps %d (%zu VMAs)",
				 b->pid, b->vmas);
			break;
		case F_TRANSLATE:
			snprintf(label, sizeof(label), "translate 64 MiB (%zu runs)",
				 b->runs);
			break;
		default:
			snprintf(label, sizeof(label), "%s", figure_names[f]);
		}
		for (s = 0; s < NSOURCES; s++)
			time_text(cells[s], sizeof(cells[s]),
				  b->median_ns[s][f]);
		printf("%-30s %12s %12s %12s %9.1fx %9.0fx %9" PRIu64 "\n",
		       label, cells[0], cells[1], cells[2],
		       (double)b->median_ns[1][f] / (double)(b->median_ns[0][f] ?: 1),
		       (double)b->median_ns[2][f] / (double)(b->median_ns[0][f] ?: 1),
		       b->qmp_reads[f]);
	}
}

static struct json_object *json_table(const struct bench *b)
{
	struct json_object *o = json_object_new_object();
	struct json_object *figs = json_object_new_array();
	unsigned int f, s;

	json_object_object_add(o, "pid", json_object_new_int(b->pid));
	json_object_object_add(o, "runs", json_object_new_uint64(b->cli->runs));
	json_object_object_add(o, "processes", json_object_new_uint64(b->procs));
	json_object_object_add(o, "vmas", json_object_new_uint64(b->vmas));
	json_object_object_add(o, "translate_runs",
			       json_object_new_uint64(b->runs));
	for (f = 0; f < NFIGURES; f++) {
		struct json_object *fig = json_object_new_object();

		json_object_object_add(fig, "figure",
				       json_object_new_string(figure_names[f]));
		for (s = 0; s < NSOURCES; s++)
			json_object_object_add(fig,
				haywire_source_name((enum haywire_source_kind)s),
				json_object_new_uint64(b->median_ns[s][f]));
		json_object_object_add(fig, "qmp_reads",
				       json_object_new_uint64(b->qmp_reads[f]));
		json_object_array_add(figs, fig);
	}
	json_object_object_add(o, "median_ns", figs);
	return o;
}

int cmd_bench(struct cli *cli, char **argv, struct haywire_error *err)
{
	struct bench b = { .cli = cli };
	unsigned int s;
	int rc = 0;

	b.pid = (int32_t)strtol(argv[0], NULL, 10);
	parse_address(argv[1], &b.va);	/* checked by main */
	if (!cli->opts.qmp) {
		err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg),
			 "bench compares every source: it needs --qmp SOCKET as well as --mem FILE");
		return HAYWIRE_E_INVALID;
	}
	b.buf = malloc(READ_LEN);
	if (!b.buf) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return HAYWIRE_E_NOMEM;
	}
	for (s = 0; s < NSOURCES && !rc; s++)
		rc = bench_source(&b, s, err);
	free(b.buf);
	if (rc)
		return rc;
	print_warnings();
	if (cli->json)
		print_json(stdout, json_table(&b));
	else
		print_table(&b);
	return 0;
}
