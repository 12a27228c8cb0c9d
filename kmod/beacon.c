// SPDX-License-Identifier: GPL-2.0-only
/*
 * Beacon memory: extents, the logical address space, placement of the next
 * snapshot, growth, and the master index (identity and publication).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>

#include "beacon.h"
#include "compat.h"

/* Extents are buddy blocks: 4 MiB, or 2 MiB when memory is fragmented. */
#define EXTENT_ORDER_BIG	10
#define EXTENT_ORDER_SMALL	9
#define EXTENT_GFP	(GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL | \
			 __GFP_ZERO)

static_assert((PAGE_SIZE << EXTENT_ORDER_SMALL) == HW_EXTENT_ALIGN);
static_assert(BEACON_FIXED_SIZE % PAGE_SIZE == 0);
static_assert(BEACON_FIXED_SIZE <= HW_EXTENT_ALIGN, "fits the first extent");
static_assert(BEACON_RESPONSES_OFFSET % PAGE_SIZE == 0);

static u64 extent_size(const struct beacon_extent *e)
{
	return (u64)PAGE_SIZE << e->order;
}

/* Allocate one extent of at most max_bytes into the next list slot. */
static int add_extent(struct beacon *b, u64 max_bytes)
{
	unsigned int order = EXTENT_ORDER_BIG;
	struct page *page = NULL;

	if (b->nr_extents >= HW_MAX_EXTENTS)
		return -ENOSPC;
	for (; order >= EXTENT_ORDER_SMALL; order--) {
		if ((PAGE_SIZE << order) > max_bytes)
			continue;
		page = alloc_pages(EXTENT_GFP, order);
		if (page)
			break;
	}
	if (!page) {
		if (max_bytes < (PAGE_SIZE << EXTENT_ORDER_SMALL))
			return -ENOSPC;
		b->alloc_failures++;
		return -ENOMEM;
	}
	/* Buddy blocks are aligned to their size: 2 MiB-aligned here. */
	b->extents[b->nr_extents].page = page;
	b->extents[b->nr_extents].order = order;
	b->nr_extents++;
	b->logical_size += (u64)PAGE_SIZE << order;
	return 0;
}

static void free_extents_from(struct beacon *b, unsigned int first)
{
	while (b->nr_extents > first) {
		struct beacon_extent *e = &b->extents[--b->nr_extents];

		b->logical_size -= extent_size(e);
		__free_pages(e->page, e->order);
		e->page = NULL;
	}
}

/* Map every extent page, in list order, and replace the old mapping. */
static int remap(struct beacon *b)
{
	unsigned long nr_pages = b->logical_size >> PAGE_SHIFT;
	struct page **pages;
	unsigned long n = 0;
	unsigned int i, j;
	void *base;

	pages = kvmalloc_array(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < b->nr_extents; i++)
		for (j = 0; j < (1U << b->extents[i].order); j++)
			pages[n++] = nth_page(b->extents[i].page, j);
	base = vmap(pages, nr_pages, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!base)
		return -ENOMEM;
	if (b->base)
		vunmap(b->base);
	b->base = base;
	b->index = base;
	b->pub.index = base;	/* the publisher writes through the new map */
	return 0;
}

/* Most logical_size can reach: the cap, and the extent slots left. */
static u64 reach(const struct beacon *b)
{
	u64 slots = (u64)(HW_MAX_EXTENTS - b->nr_extents) *
		    (PAGE_SIZE << EXTENT_ORDER_BIG);

	return max(b->logical_size, min(b->cap, b->logical_size + slots));
}

/*
 * 1.3: the event ring's pages, right after the fixed area, mapped once on
 * their own: unlike beacon->base this mapping never moves, so probes may
 * write through it while the beacon grows.
 */
static int map_events(struct beacon *b)
{
	unsigned long first = BEACON_FIXED_SIZE >> PAGE_SHIFT;
	unsigned long nr = b->events_size >> PAGE_SHIFT, n = 0, at = 0;
	struct page **pages;
	unsigned int i, j;

	if (!nr)
		return 0;
	pages = kvmalloc_array(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < b->nr_extents && n < nr; i++)
		for (j = 0; j < (1U << b->extents[i].order) && n < nr; j++)
			if (at++ >= first)
				pages[n++] = nth_page(b->extents[i].page, j);
	b->events = vmap(pages, nr, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	return b->events ? 0 : -ENOMEM;
}

int beacon_init(struct beacon *b, u64 cap_bytes, u64 events_bytes)
{
	struct hw_identity id = { 0 };
	struct hw_index *idx;
	int err;

	memset(b, 0, sizeof(*b));
	b->cap = round_down(cap_bytes, HW_EXTENT_ALIGN);
	b->events_size = PAGE_ALIGN(events_bytes);
	b->fixed_size = BEACON_FIXED_SIZE + b->events_size;
	if (b->fixed_size > b->cap / 2) {
		pr_err("the event ring (%llu bytes) needs max_mb of at least %llu\n",
		       b->events_size, DIV_ROUND_UP(b->fixed_size * 3, SZ_1M));
		return -EINVAL;
	}
	err = add_extent(b, b->cap);
	while (!err && b->logical_size < b->fixed_size)
		err = add_extent(b, b->cap - b->logical_size);
	if (err) {
		pr_err("cannot allocate the first beacon extents (2 or 4 MiB of contiguous memory each)\n");
		free_extents_from(b, 0);
		return err;
	}
	err = remap(b);
	if (!err)
		err = map_events(b);
	if (err) {
		pr_err("cannot map the beacon\n");
		if (b->base)
			vunmap(b->base);
		free_extents_from(b, 0);
		return err;
	}

	/* Identity; the page is zeroed, so the publication part is too. */
	idx = b->index;
	id.nonce = get_random_u64();
	id.self_gpa = page_to_phys(b->extents[0].page);
	id.page_size = PAGE_SIZE;
	id.arch = HW_THIS_ARCH;
	id.paging_levels = hw_paging_levels();
	id.load_real_ns = ktime_get_real_ns();
	id.kernel_release = init_utsname()->release;
	/* 1.4: the module obtains every field (unavailable stays 0) */
	id.companion = HW_COMPANION_MODULE;
	id.companion_version = "haywire " HW_MODULE_VERSION;
	hw_pub_identity(idx, &id);
	return 0;
}

/* The identity and the first snapshot are in place: let hosts see it. */
void beacon_set_magic(struct beacon *b)
{
	hw_pub_set_magic(&b->pub);
	b->live = true;
}

/*
 * Free extent 0 except its first pages: the index and the request pages.
 * Host clients write the request pages and check the magic just before
 * each store, so one may be a moment late to see HWGONE!!; and a host
 * reader that was copying a snapshot re-checks seq in the index page after
 * its copy: both pages must never be handed back to the kernel, or their
 * new owner's bytes could pass for ours (this leaks BEACON_RESPONSES_OFFSET
 * bytes per unload).
 */
static void free_extent0_keeping_index(struct beacon *b)
{
	struct beacon_extent *e = &b->extents[0];
	unsigned long end = BEACON_RESPONSES_OFFSET >> PAGE_SHIFT;
	unsigned long i;

	split_page(e->page, e->order);
	for (i = end; i < (1UL << e->order); i++)
		__free_page(nth_page(e->page, i));
	e->page = NULL;
	b->nr_extents = 0;
	b->logical_size = 0;
}

/*
 * Unload. A host reader in the middle of a copy must discard it: seq is
 * made odd (and stays odd: the index page is never freed), then the magic
 * says "gone", and only then is any memory freed.
 */
void beacon_destroy(struct beacon *b)
{
	bool live = b->live;

	if (b->base) {
		/* seq odd and the magic "gone" before any page is freed */
		if (live)
			hw_pub_mark_gone(&b->pub);
		if (b->events)
			vunmap(b->events);
		b->events = NULL;
		vunmap(b->base);
		b->base = NULL;
		b->index = NULL;
	}
	if (live && b->nr_extents) {
		free_extents_from(b, 1);
		free_extent0_keeping_index(b);
	}
	free_extents_from(b, 0);
}

void *beacon_fixed_area(const struct beacon *b)
{
	return page_address(b->extents[0].page);
}

void *beacon_events_area(const struct beacon *b)
{
	return b->events;
}

/*
 * The largest snapshot that beacon_place() can take next: below the
 * published one or above it (growing up to the cap when may_grow), and never
 * more than half of what the cap allows, so that two always fit.
 */
u64 beacon_max_buffer(const struct beacon *b, bool may_grow)
{
	u64 top = may_grow ? reach(b) : b->logical_size;
	u64 half = (reach(b) - b->fixed_size) / 2;
	u64 room;

	if (!b->pub_end)
		room = top - b->fixed_size;
	else
		room = max(b->pub_start - b->fixed_size,
			   top > b->pub_end ? top - b->pub_end : 0);
	return round_down(min(room, half), BEACON_SECTION_ALIGN);
}

/* Add extents until the logical space is at least want bytes. */
static int grow(struct beacon *b, u64 want)
{
	unsigned int first_new = b->nr_extents;
	int err = 0;

	while (b->logical_size < want && !err)
		err = add_extent(b, b->cap - b->logical_size);
	if (b->nr_extents == first_new)
		return err;
	if (remap(b)) {
		b->alloc_failures++;
		free_extents_from(b, first_new);
		return -ENOMEM;
	}
	/* Keep what was added even if short: the next attempt needs less. */
	b->grow_events += b->nr_extents - first_new;
	return b->logical_size < want ? (err ? err : -ENOSPC) : 0;
}

/*
 * Find logical room for a snapshot of size bytes that no published section
 * uses: right after the index when it fits below the published snapshot,
 * otherwise at the top of the logical space above it (growing if need be).
 * Keeping the two ends apart leaves the most room for the next one.
 */
int beacon_place(struct beacon *b, u64 size, bool may_grow, u64 *offset)
{
	bool at_bottom = !b->pub_end ||
			 b->fixed_size + size <= b->pub_start;
	u64 end = (at_bottom ? b->fixed_size : b->pub_end) + size;
	int err;

	if (size > beacon_max_buffer(b, may_grow))
		return -ENOSPC;
	if (end > b->logical_size) {
		if (!may_grow)
			return -ENOSPC;
		err = grow(b, end);
		if (err)
			return err;
	}
	*offset = at_bottom ? b->fixed_size :
		  round_down(b->logical_size - size, BEACON_SECTION_ALIGN);
	return 0;
}

struct ram_ranges {
	struct hw_range range[HW_MAX_RAM_RANGES];
	unsigned int count;
	bool truncated;
};

static int add_ram_range(struct resource *res, void *arg)
{
	struct ram_ranges *ram = arg;

	if (ram->count == HW_MAX_RAM_RANGES) {
		ram->truncated = true;
		return 0;
	}
	ram->range[ram->count].start = res->start;
	ram->range[ram->count].size = resource_size(res);
	ram->count++;
	return 0;
}

/* Publish sections already written at [pub->start, + pub->size). */
void beacon_publish(struct beacon *b, const struct hw_publication *pub)
{
	struct ram_ranges ram = { .count = 0 };
	struct hw_range extents[HW_MAX_EXTENTS];
	struct hw_frame f;
	unsigned int i;

	/*
	 * System RAM as /proc/iomem shows it; walk_system_ram_res is not
	 * exported, this is the same walk.
	 */
	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &ram, add_ram_range);
	for (i = 0; i < b->nr_extents; i++) {
		extents[i].start = page_to_phys(b->extents[i].page);
		extents[i].size = extent_size(&b->extents[i]);
	}
	f = (struct hw_frame){
		.mono_ns = ktime_get_ns(),
		.boot_ns = ktime_get_boottime_ns(),
		.real_ns = ktime_get_real_ns(),
		.extent_count = b->nr_extents,
		.extents = extents,
		.logical_size = b->logical_size,
		.ram_count = ram.count,
		.ram = ram.range,
		.ram_truncated = ram.truncated,
	};
	hw_pub_publish(&b->pub, pub, &f);
	b->pub_start = pub->start;
	b->pub_end = pub->start + pub->size;
}

/* The latest refresh could not be published: say so, keep the old one. */
void beacon_mark_stalled(struct beacon *b)
{
	hw_pub_mark_stalled(&b->pub);
}
