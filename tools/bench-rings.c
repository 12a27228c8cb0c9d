// SPDX-License-Identifier: MIT
/*
 * bench-rings: figures for the request rings and process memory on a real
 * guest (run by tools/bench-rings.py). One line per measurement.
 *
 *   ping_busy       ping round trips back to back (the guest polls fast)
 *   ping_idle       a ping after 100 ms of silence (the guest has backed
 *                   off to its slowest poll)
 *   refresh         refresh round trips: a whole snapshot each
 *   translate_walk  haywire_translate of the range: the page-table walk
 *                   alone, runs counted
 *   translate_host  haywire_host_translate: the walk plus the snapshot
 *                   reads before and after
 *   read_host       haywire_host_read of the range, in 64 MiB pieces
 *   read_memcpy     memcpy of as many bytes from the RAM file mapping, in
 *                   the same pieces, right after (the baseline)
 *   read_guest      haywire_guest_read of the first 64 MiB, for scale
 *
 *   bench-rings --mem FILE --pid PID --addr A --len L [--runs N]
 *
 * Times are CLOCK_MONOTONIC around each call. Nothing is asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "haywire.h"

#define PIECE (64ULL << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of n sorted samples. */
static uint64_t percentile(const uint64_t *v, unsigned int n, unsigned int p)
{
	unsigned int rank = (n * p + 99) / 100;

	return v[rank ? rank - 1 : 0];
}

static void latency(const char *name, uint64_t *ns, unsigned int n)
{
	qsort(ns, n, sizeof(*ns), by_value);
	printf("%s: p50 %.1f us, p99 %.1f us, max %.1f us (n=%u)\n", name,
	       percentile(ns, n, 50) / 1e3, percentile(ns, n, 99) / 1e3,
	       ns[n - 1] / 1e3, n);
	fflush(stdout);
}

static void die(const char *what, const struct haywire_error *err)
{
	fprintf(stderr, "bench-rings: %s: %s\n", what, err->msg);
	exit(1);
}

static int count_run(void *arg, const struct haywire_xlate_run *run)
{
	(void)run;
	++*(uint64_t *)arg;
	return 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mem", 1, NULL, 'm' }, { "pid", 1, NULL, 'p' },
		{ "addr", 1, NULL, 'a' }, { "len", 1, NULL, 'l' },
		{ "runs", 1, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	unsigned int runs = 21, i, n;
	uint64_t addr = 0, len = 0, *ns, t0, done, walk_runs = 0;
	int32_t pid = 0;
	struct haywire_client *client;
	struct haywire_beacon *b;
	struct haywire_mem *mem;
	struct haywire_error err;
	struct haywire_ping ping;
	struct haywire_proc proc;
	struct haywire_info info;
	unsigned char *buf, *map;
	uint64_t gen, host_ns = 0, copy_ns = 0;
	int opt, fd;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'm': path = optarg; break;
		case 'p': pid = (int32_t)strtol(optarg, NULL, 0); break;
		case 'a': addr = strtoull(optarg, NULL, 0); break;
		case 'l': len = strtoull(optarg, NULL, 0); break;
		case 'r': runs = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	if (!path || pid <= 0 || !len || len % PIECE || !runs) {
		fprintf(stderr, "usage: bench-rings --mem FILE --pid PID --addr A --len L (a multiple of 64 MiB) [--runs N]\n");
		return 2;
	}
	mem = haywire_mem_open(path, &err);
	if (!mem)
		die("open", &err);
	b = haywire_discover(mem, NULL, &err);
	if (!b)
		die("discovery", &err);
	client = haywire_client_open(b, NULL, &err);
	if (!client)
		die("client", &err);
	ns = calloc(2000, sizeof(*ns));

	/* Round trips. */
	for (i = 0; i < 100; i++)	/* warm: the guest polls fast now */
		haywire_ping(client, &ping, &err);
	for (i = 0; i < 2000; i++) {
		t0 = now_ns();
		if (haywire_ping(client, &ping, &err))
			die("ping", &err);
		ns[i] = now_ns() - t0;
	}
	latency("ping_busy", ns, 2000);
	for (i = 0; i < 50; i++) {
		sleep_ms(100);
		t0 = now_ns();
		if (haywire_ping(client, &ping, &err))
			die("ping", &err);
		ns[i] = now_ns() - t0;
	}
	latency("ping_idle", ns, 50);
	for (i = 0; i < 300; i++) {
		t0 = now_ns();
		if (haywire_refresh(client, &gen, &err))
			die("refresh", &err);
		ns[i] = now_ns() - t0;
	}
	if (haywire_read_info(b, &info, &err))
		die("info", &err);
	printf("# refresh: %" PRIu64 " processes, %" PRIu64
	       " VMAs; the module's own last refresh took %.1f us\n",
	       info.procs, info.vmas, info.stats.last_refresh_ns / 1e3);
	latency("refresh", ns, 300);

	/* Translation of the whole range. */
	if (haywire_read_proc(b, pid, &proc, &info, &err))
		die("process", &err);
	{
		struct haywire_paging pg;
		struct haywire_phys_mem pm = {
			mem, &haywire_beacon_location(b)->map };
		struct haywire_phys phys = { haywire_phys_mem_read, &pm };
		uint64_t count = 0;

		if (haywire_paging_init(&pg, info.arch, info.paging_levels,
					info.page_size, info.kernel_release,
					proc.pgd, &err))
			die("paging", &err);
		for (i = 0; i <= runs; i++) {
			count = 0;
			t0 = now_ns();
			if (haywire_translate(&phys, &pg, addr, len, count_run,
					      &count, &err))
				die("translate", &err);
			if (i)	/* the first one warms the mapping */
				ns[i - 1] = now_ns() - t0;
		}
		walk_runs = count;
		printf("# translate: %" PRIu64 " MiB at 0x%" PRIx64 ", %" PRIu64
		       " runs\n", len >> 20, addr, walk_runs);
		latency("translate_walk", ns, runs);
	}
	for (i = 0; i < runs; i++) {
		uint64_t count = 0;

		t0 = now_ns();
		if (haywire_host_translate(b, pid, addr, len, count_run, &count,
					   &err))
			die("host translate", &err);
		ns[i] = now_ns() - t0;
	}
	latency("translate_host", ns, runs);

	/* Reads: the range through the page tables, then plain memcpy of as
	 * many bytes of the mapping, piece by piece, side by side. */
	buf = malloc(PIECE);
	fd = open(path, O_RDONLY);
	map = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED,
					 fd, 0);
	if (!buf || map == MAP_FAILED) {
		fprintf(stderr, "bench-rings: %s\n", strerror(errno));
		return 1;
	}
	for (n = 0; n < 3; n++) {	/* the first round warms both */
		for (done = 0; done < len; done += PIECE) {
			t0 = now_ns();
			if (haywire_host_read(b, pid, addr + done, buf, PIECE,
					      &err))
				die("host read", &err);
			if (n)
				host_ns += now_ns() - t0;
			t0 = now_ns();
			memcpy(buf, map + done, PIECE);
			if (n)
				copy_ns += now_ns() - t0;
		}
	}
	printf("read_host: %.2f GB/s (%" PRIu64 " MiB x 2)\n",
	       2.0 * len / host_ns, len >> 20);
	printf("read_memcpy: %.2f GB/s (%" PRIu64 " MiB x 2); read_host takes %.2fx as long\n",
	       2.0 * len / copy_ns, len >> 20, (double)host_ns / copy_ns);
	if (haywire_guest_read(client, pid, addr, buf, 1 << 20, &err)) {
		printf("read_guest: not measured: %s\n", err.msg);
	} else {
		t0 = now_ns();
		if (haywire_guest_read(client, pid, addr, buf, PIECE, &err))
			die("guest read", &err);
		printf("read_guest: %.3f GB/s (64 MiB)\n",
		       (double)PIECE / (now_ns() - t0));
	}
	munmap(map, len);
	close(fd);
	free(buf);
	free(ns);
	haywire_client_close(client);
	haywire_beacon_free(b);
	haywire_mem_close(mem);
	return 0;
}
