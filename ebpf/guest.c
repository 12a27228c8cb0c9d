// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest as a whole (protocol 1.3, HW_SEC_GUEST and HW_SEC_CPUS) for
 * haywire-bpf: from /proc/meminfo, /proc/stat, /proc/loadavg, the very
 * files the module's figures are defined by (kmod/guest.c reads their
 * kernel sources). CPU times come in USER_HZ ticks there, so they are
 * multiples of a tick here; loads are /proc/loadavg's two decimals in the
 * kernel's fixed point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"

static void take_memory(struct hw_guest *g)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{ "MemTotal:", offsetof(struct hw_guest, mem_total) },
		{ "MemFree:", offsetof(struct hw_guest, mem_free) },
		{ "MemAvailable:", offsetof(struct hw_guest, mem_available) },
		{ "Buffers:", offsetof(struct hw_guest, buffers) },
		{ "Cached:", offsetof(struct hw_guest, cached) },
		{ "SwapTotal:", offsetof(struct hw_guest, swap_total) },
		{ "SwapFree:", offsetof(struct hw_guest, swap_free) },
		{ "Shmem:", offsetof(struct hw_guest, shmem) },
		{ "Slab:", offsetof(struct hw_guest, slab) },
		{ "SReclaimable:", offsetof(struct hw_guest, sreclaimable) },
	};
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128], name[64];
	unsigned long long kb;
	bool swap_total = false;
	size_t i;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu", name, &kb) != 2)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(name, keys[i].name)) {
				memcpy((char *)g + keys[i].off, &(uint64_t){ kb },
				       sizeof(uint64_t));
				swap_total |= i == 5;
			}
	}
	if (f)
		fclose(f);
	if (!swap_total)
		g->flags |= HW_GF_NO_SWAP_TOTAL;
}

/* "cpu" and "cpuN" lines of /proc/stat; procs_running and _blocked. */
static void take_stat(struct hw_guest *g, struct hw_cpu_time *cpus,
		      uint32_t nr)
{
	uint64_t tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		struct hw_cpu_time *ct = NULL;
		unsigned int cpu;
		char *p = line;

		if (sscanf(line, "procs_running %u", &g->nr_running) == 1 ||
		    sscanf(line, "procs_blocked %u", &g->nr_blocked) == 1)
			continue;
		if (!strncmp(line, "cpu ", 4)) {
			ct = &g->cpu_total;
			p += 4;
		} else if (sscanf(line, "cpu%u", &cpu) == 1 && cpu < nr) {
			ct = &cpus[cpu];
			ct->cpu = cpu;
			ct->online = 1;
			g->nr_cpus++;
			p = strchr(line, ' ');
		}
		if (!ct || !p ||
		    sscanf(p, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
			continue;
		ct->user = v[0] * tick;
		ct->nice = v[1] * tick;
		ct->system = v[2] * tick;
		ct->idle = v[3] * tick;
		ct->iowait = v[4] * tick;
		ct->irq = v[5] * tick;
		ct->softirq = v[6] * tick;
		ct->steal = v[7] * tick;
	}
	if (f)
		fclose(f);
}

/* /proc/loadavg: "0.12 0.34 0.56 R/T last". */
static void take_load(struct hw_guest *g)
{
	FILE *f = fopen("/proc/loadavg", "r");
	unsigned int whole[3], frac[3], running, all, i;

	if (!f)
		return;
	if (fscanf(f, "%u.%u %u.%u %u.%u %u/%u", &whole[0], &frac[0],
		   &whole[1], &frac[1], &whole[2], &frac[2], &running,
		   &all) == 8) {
		for (i = 0; i < 3; i++)
			g->load[i] = ((uint64_t)whole[i] << HW_LOAD_FSHIFT) +
				     ((uint64_t)frac[i] << HW_LOAD_FSHIFT) / 100;
		g->nr_threads = all;
	}
	fclose(f);
}

void guest_take(struct hw_guest *g, struct hw_cpu_time *cpus, uint32_t nr)
{
	memset(g, 0, sizeof(*g));
	memset(cpus, 0, nr * sizeof(*cpus));
	g->uptime_ns = now_ns(CLOCK_BOOTTIME);
	g->nr_possible = nr;
	take_load(g);
	take_memory(g);
	take_stat(g, cpus, nr);
}
