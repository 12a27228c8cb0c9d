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

/*
 * The publication part of the index is guarded by seq (docs/protocol.md):
 * odd while it is being updated.
 */
static void seq_begin(struct beacon *b)
{
	b->seq++;
	WRITE_ONCE(b->index->seq, b->seq);	/* odd: being updated */
	/*
	 * The odd seq before any update: pairs with the host's read barrier
	 * (smp_rmb) between copying and its second read of seq.
	 */
	smp_wmb();
}

static void seq_end(struct beacon *b)
{
	/*
	 * Every update (sections and index) before the even seq: pairs with
	 * the host's acquire load of seq before it copies.
	 */
	smp_wmb();
	b->seq++;
	WRITE_ONCE(b->index->seq, b->seq);
}

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
	idx->version_major = HW_VERSION_MAJOR;
	idx->version_minor = HW_VERSION_MINOR;
	idx->index_size = sizeof(*idx);
	idx->nonce = get_random_u64();
	idx->self_gpa = page_to_phys(b->extents[0].page);
	idx->page_size = PAGE_SIZE;
	idx->arch = HW_THIS_ARCH;
	idx->paging_levels = hw_paging_levels();
	idx->load_real_ns = ktime_get_real_ns();
	strscpy(idx->kernel_release, init_utsname()->release,
		sizeof(idx->kernel_release));
	/* 1.4: the module obtains every field (unavailable stays 0) */
	idx->companion = HW_COMPANION_MODULE;
	strscpy(idx->companion_version, "haywire " HW_MODULE_VERSION,
		sizeof(idx->companion_version));
	return 0;
}

/* The identity and the first snapshot are in place: let hosts see it. */
void beacon_set_magic(struct beacon *b)
{
	/*
	 * The identity and the first publication before the magic: pairs with
	 * the host's read barrier between reading the magic and the rest
	 * (docs/protocol.md, "Reading").
	 */
	smp_wmb();
	WRITE_ONCE(b->index->magic, HW_MAGIC);
	/* Orders the magic before anything the module writes after load. */
	smp_mb();
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
		if (live) {
			seq_begin(b);
			/* A host that finds this page again: "unloaded". */
			WRITE_ONCE(b->index->magic, HW_MAGIC_GONE);
		}
		/*
		 * The odd seq and the magic are in memory before any page is
		 * unmapped or freed: pairs with the host's read barrier before
		 * its second look at seq and at the magic.
		 */
		smp_mb();
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
void beacon_publish(struct beacon *b, const struct beacon_publication *pub)
{
	struct hw_index *idx = b->index;
	struct ram_ranges ram = { .count = 0 };
	unsigned int i;
	u32 flags = pub->flags;

	/*
	 * System RAM as /proc/iomem shows it; walk_system_ram_res is not
	 * exported, this is the same walk.
	 */
	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &ram, add_ram_range);
	if (ram.truncated)
		flags |= HW_IF_RAM_TRUNCATED;

	seq_begin(b);
	idx->flags = flags;
	/* Also read outside refresh_lock: hw_published_generation(). */
	WRITE_ONCE(b->generation, b->generation + 1);
	idx->generation = b->generation;
	idx->publish_mono_ns = ktime_get_ns();
	idx->publish_boot_ns = ktime_get_boottime_ns();
	idx->publish_real_ns = ktime_get_real_ns();
	idx->interval_ms = pub->interval_ms;
	idx->poll_max_ms = pub->poll_max_ms;
	idx->extent_count = b->nr_extents;
	idx->logical_size = b->logical_size;
	idx->section_count = pub->section_count;
	idx->ram_range_count = ram.count;
	idx->procs_total = pub->procs_total;
	idx->procs_mm_busy = pub->procs_mm_busy;
	idx->vmas_total = pub->vmas_total;
	idx->strings_total = pub->strings_total;
	memset(idx->extents, 0, sizeof(idx->extents));
	for (i = 0; i < b->nr_extents; i++) {
		idx->extents[i].start = page_to_phys(b->extents[i].page);
		idx->extents[i].size = extent_size(&b->extents[i]);
	}
	memset(idx->ram, 0, sizeof(idx->ram));
	memcpy(idx->ram, ram.range, ram.count * sizeof(ram.range[0]));
	memset(idx->sections, 0, sizeof(idx->sections));
	memcpy(idx->sections, pub->sections,
	       pub->section_count * sizeof(pub->sections[0]));
	seq_end(b);

	b->pub_start = pub->start;
	b->pub_end = pub->start + pub->size;
}

/* The latest refresh could not be published: say so, keep the old one. */
void beacon_mark_stalled(struct beacon *b)
{
	seq_begin(b);
	b->index->flags |= HW_IF_STALLED;
	seq_end(b);
}
