/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The index publisher, shared by the module (Kbuild) and haywire-bpf
 * (ebpf/Makefile): the identity written once before the magic, the
 * seq-guarded publication of a snapshot whose sections are in place (the
 * section table, extents, RAM ranges, totals), the stalled flag, and the
 * magic's setting and clearing. Where the memory comes from (buddy pages
 * or huge pages), the clocks and the System RAM list are the caller's.
 */
#ifndef HAYWIRE_PUBLISH_H
#define HAYWIRE_PUBLISH_H

#include "shim.h"
#include "haywire_protocol.h"

/* The identity part of the index, constant from load to unload. */
struct hw_identity {
	u64 nonce;
	u64 self_gpa;
	u32 page_size;
	u8 arch;			/* enum hw_arch */
	u8 paging_levels;
	u16 companion;			/* enum hw_companion */
	u32 unavailable;		/* HW_UF_* */
	u64 load_real_ns;
	const char *kernel_release;
	const char *companion_version;
};

/* One publication: what it says besides the sections' bytes. */
struct hw_publication {
	u32 flags;			/* HW_IF_* */
	u32 interval_ms;
	u32 poll_max_ms;
	u32 procs_total;
	u32 procs_mm_busy;
	u64 vmas_total;
	u64 strings_total;
	u32 section_count;
	struct hw_section sections[HW_MAX_SECTIONS];
	u64 start;			/* logical range the sections occupy */
	u64 size;
};

/* The beacon's shape and clocks at the moment of publication. */
struct hw_frame {
	u64 mono_ns, boot_ns, real_ns;
	u32 extent_count;
	const struct hw_range *extents;	/* in logical order */
	u64 logical_size;
	u32 ram_count;
	const struct hw_range *ram;
	bool ram_truncated;
};

/* The writer's side of the index: its seq and generation. */
struct hw_publisher {
	struct hw_index *index;
	u32 seq;
	u64 generation;
};

void hw_pub_identity(struct hw_index *idx, const struct hw_identity *id);
void hw_pub_add_section(struct hw_publication *pub, u32 kind,
			u32 entry_size, u64 offset, u64 count);
void hw_pub_publish(struct hw_publisher *p, const struct hw_publication *pub,
		    const struct hw_frame *f);
void hw_pub_mark_stalled(struct hw_publisher *p);
void hw_pub_set_magic(struct hw_publisher *p);
void hw_pub_mark_gone(struct hw_publisher *p);

#endif /* HAYWIRE_PUBLISH_H */
