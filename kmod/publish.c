// SPDX-License-Identifier: GPL-2.0-only
/*
 * The index publisher (publish.h), one piece of C for the module and for
 * haywire-bpf: shim.h supplies WRITE_ONCE, the fences and allocation.
 */
#include "publish.h"

void hw_pub_identity(struct hw_index *idx, const struct hw_identity *id)
{
	idx->version_major = HW_VERSION_MAJOR;
	idx->version_minor = HW_VERSION_MINOR;
	idx->index_size = sizeof(*idx);
	idx->nonce = id->nonce;
	idx->self_gpa = id->self_gpa;
	idx->page_size = id->page_size;
	idx->arch = id->arch;
	idx->paging_levels = id->paging_levels;
	idx->load_real_ns = id->load_real_ns;
	hw_strscpy(idx->kernel_release, id->kernel_release,
		   sizeof(idx->kernel_release));
	/* 1.4 */
	idx->companion = id->companion;
	idx->unavailable = id->unavailable;
	hw_strscpy(idx->companion_version, id->companion_version,
		   sizeof(idx->companion_version));
}

void hw_pub_add_section(struct hw_publication *pub, u32 kind,
			u32 entry_size, u64 offset, u64 count)
{
	struct hw_section *sec;

	if (pub->section_count >= HW_MAX_SECTIONS)
		return;		/* a caller's bug: the table is fixed */
	sec = &pub->sections[pub->section_count++];
	sec->kind = kind;
	sec->entry_size = entry_size;
	sec->offset = offset;
	sec->count = count;
	sec->reserved = 0;
}

/*
 * The publication part of the index is guarded by seq (docs/protocol.md):
 * odd while it is being updated.
 */
static void seq_begin(struct hw_publisher *p)
{
	p->seq++;
	WRITE_ONCE(p->index->seq, p->seq);	/* odd: being updated */
	/*
	 * The odd seq before any update: pairs with the host's read barrier
	 * (smp_rmb) between copying and its second read of seq.
	 */
	smp_wmb();
}

static void seq_end(struct hw_publisher *p)
{
	/*
	 * Every update (sections and index) before the even seq: pairs with
	 * the host's acquire load of seq before it copies.
	 */
	smp_wmb();
	p->seq++;
	WRITE_ONCE(p->index->seq, p->seq);
}

/* Publish sections already written at [pub->start, + pub->size). */
void hw_pub_publish(struct hw_publisher *p, const struct hw_publication *pub,
		    const struct hw_frame *f)
{
	struct hw_index *idx = p->index;
	u32 n_ext = f->extent_count < HW_MAX_EXTENTS ?
		    f->extent_count : HW_MAX_EXTENTS;
	u32 n_ram = f->ram_count < HW_MAX_RAM_RANGES ?
		    f->ram_count : HW_MAX_RAM_RANGES;

	seq_begin(p);
	idx->flags = pub->flags | (f->ram_truncated ? HW_IF_RAM_TRUNCATED : 0);
	/* Also read outside the writer's lock (the module's pings). */
	WRITE_ONCE(p->generation, p->generation + 1);
	idx->generation = p->generation;
	idx->publish_mono_ns = f->mono_ns;
	idx->publish_boot_ns = f->boot_ns;
	idx->publish_real_ns = f->real_ns;
	idx->interval_ms = pub->interval_ms;
	idx->poll_max_ms = pub->poll_max_ms;
	idx->extent_count = n_ext;
	idx->logical_size = f->logical_size;
	idx->section_count = pub->section_count;
	idx->ram_range_count = n_ram;
	idx->procs_total = pub->procs_total;
	idx->procs_mm_busy = pub->procs_mm_busy;
	idx->vmas_total = pub->vmas_total;
	idx->strings_total = pub->strings_total;
	memset(idx->extents, 0, sizeof(idx->extents));
	memcpy(idx->extents, f->extents, n_ext * sizeof(f->extents[0]));
	memset(idx->ram, 0, sizeof(idx->ram));
	memcpy(idx->ram, f->ram, n_ram * sizeof(f->ram[0]));
	memset(idx->sections, 0, sizeof(idx->sections));
	memcpy(idx->sections, pub->sections,
	       pub->section_count * sizeof(pub->sections[0]));
	seq_end(p);
}

/* The latest refresh could not be published: say so, keep the old one. */
void hw_pub_mark_stalled(struct hw_publisher *p)
{
	seq_begin(p);
	p->index->flags |= HW_IF_STALLED;
	seq_end(p);
}

/* The identity and the first snapshot are in place: let hosts see it. */
void hw_pub_set_magic(struct hw_publisher *p)
{
	/*
	 * The identity and the first publication before the magic: pairs with
	 * the host's read barrier between reading the magic and the rest
	 * (docs/protocol.md, "Reading").
	 */
	smp_wmb();
	WRITE_ONCE(p->index->magic, HW_MAGIC);
	/* Orders the magic before anything the writer stores after it. */
	smp_mb();
}

/*
 * Unload or exit. A host reader in the middle of a copy must discard it:
 * seq is made odd (and stays odd), then the magic says "gone"; the caller
 * frees memory only after this.
 */
void hw_pub_mark_gone(struct hw_publisher *p)
{
	seq_begin(p);
	/* A host that finds this page again: "unloaded". */
	WRITE_ONCE(p->index->magic, HW_MAGIC_GONE);
	/*
	 * The odd seq and the magic are in memory before any page is unmapped
	 * or freed: pairs with the host's read barrier before its second look
	 * at seq and at the magic.
	 */
	smp_mb();
}
