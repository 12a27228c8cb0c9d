// SPDX-License-Identifier: MIT
/*
 * bench-walk: the host-side page walk of 1 GiB of 4 KiB pages, x86-64 and
 * arm64 (4 levels each, and arm64 LPA2 with 5), on the same synthetic
 * layout in one process: tables built in a buffer standing for guest RAM,
 * every page's frame from a fixed shuffle (so runs do not merge, the
 * walker's worst case: one run per page) or in order (one run). The
 * guests' own figures come from tools/bench-rings.py; this one has no
 * guest noise and the same work on both architectures.
 *
 *   bench-walk [--runs N]
 *
 * One line per measurement: NAME: p50 X ms, min Y ms (n=N, RUNS runs).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haywire.h"

#define GIB		(1ULL << 30)
#define PAGES		(GIB >> 12)
#define TABLES_AT	(GIB + (64ULL << 20))	/* after the 1 GiB of frames */
#define RAM_SIZE	(TABLES_AT + (8ULL << 20))
#define VA		0x7f0000000000ULL

static unsigned char *ram;
static uint64_t next_table;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t new_table(void)
{
	uint64_t t = next_table;

	next_table += 4096;
	memset(ram + t, 0, 4096);
	return t;
}

/* Entry formats: a table pointer and a user read-write 4 KiB page. */
struct format {
	const char *name;
	unsigned int arch, levels;
	const char *release;
	uint64_t table_bits, page_bits;
};

static const struct format formats[] = {
	{ "x86-64", HW_ARCH_X86_64, 4, "6.1.0", 0x7, 0x8000000000000067ULL },
	/* valid|table; valid|page|AF|nG|SH|AP[1]|DBM|PXN|UXN */
	{ "arm64", HW_ARCH_ARM64, 4, "6.1.0", 0x3,
	  0x3 | 0x400 | 0x800 | 0x300 | 0x40 | (1ULL << 51) | (3ULL << 53) },
	{ "arm64-lpa2", HW_ARCH_ARM64, 5, "6.12.0", 0x3,
	  0x3 | 0x400 | 0x800 | 0x40 | (1ULL << 51) | (3ULL << 53) },
};

static unsigned int index_at(uint64_t va, unsigned int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static uint64_t *slot(uint64_t root, unsigned int levels, uint64_t va,
		      uint64_t table_bits)
{
	uint64_t t = root;
	unsigned int l;

	for (l = levels; l > 1; l--) {
		uint64_t *e = (uint64_t *)(ram + t) + index_at(va, l);

		if (!*e)
			*e = new_table() | table_bits;
		t = *e & 0x0000fffffffff000ULL;
	}
	return (uint64_t *)(ram + t) + index_at(va, 1);
}

static uint64_t build(const struct format *f, const uint32_t *frame)
{
	uint64_t root, i;

	next_table = TABLES_AT;
	root = new_table();
	for (i = 0; i < PAGES; i++)
		*slot(root, f->levels, VA + i * 4096, f->table_bits) =
			((uint64_t)frame[i] << 12) | f->page_bits;
	return root;
}

static int count_run(void *arg, const struct haywire_xlate_run *run)
{
	(void)run;
	++*(uint64_t *)arg;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void measure(const struct format *f, const char *layout,
		    const uint32_t *frame, const struct haywire_phys *phys,
		    unsigned int runs)
{
	struct haywire_paging pg;
	struct haywire_error err;
	uint64_t ns[101], count = 0, root = build(f, frame);
	unsigned int i;

	if (haywire_paging_init(&pg, f->arch, f->levels, 4096, f->release,
				root, &err)) {
		fprintf(stderr, "bench-walk: %s\n", err.msg);
		exit(1);
	}
	for (i = 0; i <= runs; i++) {
		uint64_t t0 = now_ns();

		count = 0;
		if (haywire_translate(phys, &pg, VA, GIB, count_run, &count,
				      &err)) {
			fprintf(stderr, "bench-walk: %s\n", err.msg);
			exit(1);
		}
		if (i)		/* the first one warms the tables */
			ns[i - 1] = now_ns() - t0;
	}
	qsort(ns, runs, sizeof(ns[0]), by_value);
	printf("walk_1g_%s_%s: p50 %.3f ms, min %.3f ms (n=%u, %" PRIu64
	       " runs)\n", f->name, layout, ns[runs / 2] / 1e6, ns[0] / 1e6,
	       runs, count);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "runs", 1, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	struct haywire_gpa_map map = { .count = 1 };
	struct haywire_phys_mem pm;
	struct haywire_phys phys;
	struct haywire_error err;
	struct haywire_mem *mem;
	unsigned int runs = 21, i;
	uint32_t *shuffled, *ordered;
	uint64_t seed = 88172645463325252ULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt != 'r')
			return 2;
		runs = (unsigned int)strtoul(optarg, NULL, 0);
	}
	if (!runs || runs > 101) {
		fprintf(stderr, "usage: bench-walk [--runs N (1..101)]\n");
		return 2;
	}
	ram = calloc(1, RAM_SIZE);
	shuffled = malloc(PAGES * sizeof(*shuffled));
	ordered = malloc(PAGES * sizeof(*ordered));
	if (!ram || !shuffled || !ordered)
		return 1;
	for (i = 0; i < PAGES; i++)
		ordered[i] = shuffled[i] = i;
	for (i = PAGES - 1; i > 0; i--) {	/* Fisher-Yates, xorshift64 */
		uint32_t j, t;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = (uint32_t)(seed % (i + 1));
		t = shuffled[i];
		shuffled[i] = shuffled[j];
		shuffled[j] = t;
	}
	mem = haywire_mem_from_buffer(ram, RAM_SIZE, &err);
	if (!mem)
		return 1;
	map.runs[0] = (struct haywire_run){ 0, RAM_SIZE, 0 };
	pm.mem = mem;
	pm.map = &map;
	phys.read = haywire_phys_mem_read;
	phys.ctx = &pm;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		measure(&formats[i], "scattered", shuffled, &phys, runs);
		measure(&formats[i], "contiguous", ordered, &phys, runs);
	}
	haywire_mem_close(mem);
	free(ram);
	free(shuffled);
	free(ordered);
	return 0;
}
