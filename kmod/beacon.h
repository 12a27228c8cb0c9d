/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Beacon memory: physically contiguous extents of guest RAM that the host
 * reads. Laid end to end in list order they form the logical address space
 * of docs/protocol.md; the module maps them virtually contiguous in the
 * same order, so a logical offset is also an offset from beacon->base.
 */
#ifndef HAYWIRE_BEACON_H
#define HAYWIRE_BEACON_H

#include <linux/kernel.h>	/* ALIGN(); 5.11 moved it to linux/align.h */
#include <linux/types.h>
#include <asm/page.h>
#include "haywire_protocol.h"
#include "publish.h"

/*
 * The index's companion_version (1.4): MODULE_VERSION in main.c, which
 * tools/dkms-install.sh and tools/make-deb.sh read as a literal (and
 * tests/build.sh checks that the two agree).
 */
#define HW_MODULE_VERSION	"0.1.0"

/*
 * Logical [0, BEACON_FIXED_SIZE) holds pages that never move, all in
 * extent 0: the index, the request page (host-written) and the response
 * slots (guest-written), each starting on a page.
 */
#define BEACON_REQUESTS_OFFSET	ALIGN(HW_INDEX_SIZE, PAGE_SIZE)
#define BEACON_REQUESTS_SIZE \
	ALIGN(HW_RING_SLOTS * sizeof(struct hw_request), PAGE_SIZE)
#define BEACON_RESPONSES_OFFSET	(BEACON_REQUESTS_OFFSET + BEACON_REQUESTS_SIZE)
#define BEACON_RESPONSES_SIZE	(HW_RING_SLOTS * HW_RESPONSE_SLOT_SIZE)
#define BEACON_FIXED_SIZE \
	ALIGN(BEACON_RESPONSES_OFFSET + BEACON_RESPONSES_SIZE, PAGE_SIZE)
/* Sections start on this alignment. */
#define BEACON_SECTION_ALIGN	64

struct page;

struct beacon_extent {
	struct page *page;
	unsigned int order;
};

struct beacon {
	struct beacon_extent extents[HW_MAX_EXTENTS];
	unsigned int nr_extents;
	u64 logical_size;	/* sum of extent sizes */
	u64 cap;		/* most logical_size may grow to */
	/* 1.3: the event ring follows the fixed area; snapshots go above */
	u64 events_size;	/* bytes at logical BEACON_FIXED_SIZE */
	u64 fixed_size;		/* BEACON_FIXED_SIZE + events_size */
	void *events;		/* its own mapping, which never moves */
	void *base;		/* vmap of all extents, in logical order */
	struct hw_index *index;	/* = base */
	/* logical range the published sections occupy; pub_end 0: none */
	u64 pub_start;
	u64 pub_end;
	bool live;		/* magic set: unloading must say "gone" */
	struct hw_publisher pub;	/* seq, generation (publish.c) */
	u64 grow_events;	/* extents added after load */
	u64 alloc_failures;	/* extent or mapping allocations that failed */
};

/* events_bytes: room for the event ring after the fixed area (0: none). */
int beacon_init(struct beacon *b, u64 cap_bytes, u64 events_bytes);
void beacon_set_magic(struct beacon *b);
void beacon_destroy(struct beacon *b);

u64 beacon_max_buffer(const struct beacon *b, bool may_grow);
int beacon_place(struct beacon *b, u64 size, bool may_grow, u64 *offset);
static inline void *beacon_at(const struct beacon *b, u64 offset)
{
	return (char *)b->base + offset;
}

/*
 * The fixed area through the kernel's direct map of extent 0: unlike
 * beacon->base, it stays put while the beacon grows.
 */
void *beacon_fixed_area(const struct beacon *b);
/* 1.3: the event ring's bytes, or NULL. */
void *beacon_events_area(const struct beacon *b);
void beacon_publish(struct beacon *b, const struct hw_publication *pub);
void beacon_mark_stalled(struct beacon *b);

#endif /* HAYWIRE_BEACON_H */
