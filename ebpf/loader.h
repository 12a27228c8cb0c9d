/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * haywire-bpf, the eBPF companion's loader: the beacon in locked huge
 * pages (beacon.c), the refresh that turns the iterators' records into a
 * snapshot (refresh.c), the request ring (ring.c), and main (loader.c).
 */
#ifndef HAYWIRE_LOADER_H
#define HAYWIRE_LOADER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "publish.h"
#include "strtab.h"

#define HWB_VERSION		"0.1.0"
#define HUGE_SIZE		(2UL << 20)
#define BASE_PAGE		4096UL

/* Logical layout of the fixed area, as the module's (kmod/beacon.h). */
#define REQUESTS_OFFSET		4096UL
#define RESPONSES_OFFSET	8192UL
#define FIXED_SIZE		(RESPONSES_OFFSET + \
				 HW_RING_SLOTS * (uint64_t)HW_RESPONSE_SLOT_SIZE)
#define SECTION_ALIGN		64UL

struct beacon {
	unsigned char *base;		/* logical offset 0 */
	uint64_t size;			/* logical size: huge pages * 2 MiB */
	unsigned int nr_extents;
	struct hw_range extents[HW_MAX_EXTENTS];
	uint64_t events_size;		/* event ring bytes after FIXED_SIZE */
	uint64_t events_slots;
	uint64_t snap_start;		/* first byte of the snapshot halves */
	uint64_t half;			/* bytes of each half */
	unsigned int next_half;		/* where the next snapshot goes */
	long hugepages_added;		/* to vm.nr_hugepages, undone at exit */
	struct hw_publisher pub;
	pthread_mutex_t lock;		/* publication (refresh, events) */
};

struct options {
	unsigned int interval_ms;	/* -i */
	unsigned int size_mb;		/* -m */
	unsigned int events;		/* -e: event ring records */
	bool allow_read;		/* --allow-read */
	const char *btf;		/* --btf: the kernel BTF to check */
	const char *lock_path;		/* --lock */
	bool once;			/* --once: publish one snapshot, exit */
};

extern struct options opts;
extern struct beacon beacon;
extern atomic_bool stopping;

/* beacon.c */
int beacon_create(struct beacon *b, uint64_t bytes, unsigned int events);
void beacon_identity(struct beacon *b, uint32_t unavailable);
void beacon_set_ram(struct hw_range *ram, uint32_t *count, bool *truncated);
void beacon_destroy(struct beacon *b);
uint64_t now_ns(int clock);

/* refresh.c */
struct hwb_bpf;
int refresh_init(struct hwb_bpf *skel);
int refresh_once(void);		/* 0 or -errno; publishes */
uint64_t refresh_generation(void);
void refresh_ask(void);		/* from the ring: refresh soon */
void *refresh_thread(void *arg);

/* ring.c */
void ring_init(uint64_t nonce);
void *ring_thread(void *arg);
uint32_t ring_poll_max_ms(void);

/* guest.c: the guest-wide section and nr per-CPU records */
void guest_take(struct hw_guest *g, struct hw_cpu_time *cpus, uint32_t nr);

/* events.c */
int events_start(struct hwb_bpf *skel);
void events_stop(void);

/* One clear line on stderr, prefixed "haywire-bpf: ". */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* HAYWIRE_LOADER_H */
