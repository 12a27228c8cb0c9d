// SPDX-License-Identifier: MIT
/*
 * Host-side page-table walks of x86-64 guests (4- and 5-level paging) and
 * arm64 guests (3- and 4-level, 4 KiB granule) over any source of guest-
 * physical memory: translation of a virtual range into runs, and reads
 * through the translation. One walker; an architecture description says
 * what an entry means.
 *
 * The page tables are guest memory and untrusted: a walk has a fixed depth,
 * every table read is a bounded copy that fails cleanly outside guest RAM,
 * and the amount of work is proportional to the range asked for.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define PTRS_PER_TABLE	512
#define PTE_PRESENT	(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_USER	(1ULL << 2)
#define PTE_PSE		(1ULL << 7)	/* leaf at levels 2 and 3 */
#define PTE_PROTNONE	(1ULL << 8)	/* Linux: PROT_NONE, if not present */
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ULL	/* bits 12..51 */

/*
 * arm64 descriptors, 4 KiB granule, 48-bit output addresses (Linux's
 * arch/arm64/include/asm/pgtable-hwdef.h and pgtable-prot.h; the module's
 * compat.h decodes the same bits).
 */
#define A64_VALID	(1ULL << 0)
#define A64_TABLE	(1ULL << 1)	/* above the last level: a table */
#define A64_USER	(1ULL << 6)	/* AP[1]: EL0 access */
#define A64_NG		(1ULL << 11)	/* 6.10+: PTE_PRESENT_INVALID if invalid */
#define A64_WRITE	(1ULL << 51)	/* DBM: Linux's PTE_WRITE (pte_write()) */
#define A64_CONT	(1ULL << 52)	/* contiguous hint: a TLB matter only */
#define A64_UXN		(1ULL << 54)
#define A64_PROT_NONE	(1ULL << 58)	/* before 6.10: PTE_PROT_NONE */
#define A64_ADDR_MASK	0x0000fffffffff000ULL	/* bits 12..47 */
/*
 * With FEAT_LPA2 (52-bit addresses, TCR_EL1.DS; Linux 6.9+ with 52-bit VAs
 * on a CPU that has it: 5 levels, a 16-entry level -1) an entry holds
 * address bits 12..49 in place and 50..51 in bits 8..9, where the
 * shareability was (Linux's __pte_to_phys()); level 0 may then be a block.
 */
#define LPA2_ADDR_LOW	0x0003fffffffff000ULL	/* bits 12..49 */
#define LPA2_ADDR_HIGH	0x0000000000000300ULL	/* bits 8..9: 50..51 */
#define LPA2_HIGH_SHIFT	42

/* With PTI the user copy of a pgd is the page after the kernel's copy. */
#define PTI_USER_PGD_OFFSET	4096ULL
#define PTI_PGD_ALIGN		8192ULL

/* Bytes one entry maps at a level (1 = page table). */
static uint64_t level_span(unsigned int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

int haywire_phys_mem_read(void *ctx, uint64_t gpa, void *dst, size_t len,
			  struct haywire_error *err)
{
	const struct haywire_phys_mem *pm = ctx;

	return haywire_mem_read_gpa(pm->mem, pm->map, gpa, dst, len, err);
}

/* Runs are accumulated here and handed out when the next one differs. */
struct pt_arch;

struct walk {
	const struct haywire_phys *phys;
	const struct pt_arch *arch;
	const struct haywire_paging *paging;
	haywire_run_fn fn;
	void *arg;
	struct haywire_xlate_run run;	/* len 0: none pending */
	uint64_t next_pte;		/* the PTE that extends run, or 0 */
	uint64_t va_top;		/* sign extension of the walked half */
	uint64_t root;			/* the top-level table's address */
	unsigned int top_level;		/* its level (4 or 5) */
	struct haywire_error *err;
	int stop;			/* nonzero: what fn returned */
};

static bool extends(const struct haywire_xlate_run *run,
		    const struct haywire_xlate_run *next)
{
	if (!run->len || run->state != next->state ||
	    run->flags != next->flags || run->page_shift != next->page_shift ||
	    run->va + run->len != next->va)
		return false;
	return run->state != HAYWIRE_PAGE_PRESENT ||
	       run->gpa + run->len == next->gpa;
}

/* The same rule for runs that come from elsewhere (the guest's answers). */
bool hwi_run_extends(const struct haywire_xlate_run *run,
		     const struct haywire_xlate_run *next)
{
	return extends(run, next);
}

static int flush(struct walk *w)
{
	if (w->run.len && !w->stop) {
		w->run.va |= w->va_top;
		w->stop = w->fn(w->arg, &w->run);
	}
	w->run.len = 0;
	return w->stop;
}

static int emit(struct walk *w, const struct haywire_xlate_run *next)
{
	if (extends(&w->run, next)) {
		w->run.len += next->len;
		return 0;
	}
	if (flush(w))
		return w->stop;
	w->run = *next;
	return 0;
}

/* The flags a leaf passes on; a walk ANDs rights from every level. */
static uint32_t leaf_flags(uint64_t pte, uint32_t inherited)
{
	uint32_t f = inherited;

	if (!(pte & PTE_RW))
		f &= ~HAYWIRE_XF_WRITE;
	if (!(pte & PTE_USER))
		f &= ~HAYWIRE_XF_USER;
	if (pte & PTE_NX)
		f |= HAYWIRE_XF_NX;
	return f;
}

/*
 * An entry that is not present. Linux keeps PROT_NONE pages as not present
 * with _PAGE_PROTNONE set and, since the L1TF mitigation, the frame number
 * inverted; anything else nonzero is a swap or migration entry.
 */
static void classify_absent(uint64_t pte, unsigned int level,
			    struct haywire_xlate_run *r)
{
	bool leaf_ok = level == 1 || (pte & PTE_PSE);

	if (pte && (pte & PTE_PROTNONE) && leaf_ok) {
		r->state = HAYWIRE_PAGE_PRESENT;
		r->flags = HAYWIRE_XF_PROTNONE;
		r->gpa = ~pte & PTE_ADDR_MASK & ~(level_span(level) - 1);
	} else if (pte) {
		r->state = HAYWIRE_PAGE_SWAPPED;
	} else {
		r->state = HAYWIRE_PAGE_UNMAPPED;
		r->page_shift = 0;	/* holes of any level merge */
	}
}

/* What an entry is: decode() fills the run of a leaf or absent entry. */
enum pt_entry { PT_LEAF, PT_TABLE, PT_BAD };

/*
 * An architecture: its entry decoding and the bits of a present 4 KiB page
 * entry that decide its run (the next page of a run has exactly these bits,
 * with the frame one page on: the walker's fast path).
 */
struct pt_arch {
	const char *name;
	unsigned int max_va_bits;	/* of a root's space: 57, 48 or 52 */
	uint64_t run_bits;
	enum pt_entry (*decode)(const struct walk *w, uint64_t pte,
				unsigned int level, uint32_t *rights,
				struct haywire_xlate_run *r);
	bool pti;			/* x86: look for PTI's user copy */
	bool lpa2;			/* arm64: 52-bit descriptors */
	/*
	 * arm64: a root maps 2^bits of addresses, TTBR0's from 0 and TTBR1's
	 * up to 2^64; x86: one root maps both halves of 2^bits, the upper
	 * sign-extended.
	 */
	bool root_per_half;
};

/*
 * x86-64: rights are ANDed (NX ORed) from every level; PSE makes a leaf at
 * levels 2 and 3.
 */
static enum pt_entry x86_decode(const struct walk *w, uint64_t pte,
				unsigned int level, uint32_t *rights,
				struct haywire_xlate_run *r)
{
	(void)w;
	if (!(pte & PTE_PRESENT)) {
		classify_absent(pte, level, r);
		return PT_LEAF;
	}
	if (level == 1 || (level <= 3 && (pte & PTE_PSE))) {
		r->state = HAYWIRE_PAGE_PRESENT;
		r->flags = leaf_flags(pte, *rights);
		r->gpa = pte & PTE_ADDR_MASK & ~(level_span(level) - 1);
		return PT_LEAF;
	}
	*rights = leaf_flags(pte, *rights);
	r->gpa = pte & PTE_ADDR_MASK;	/* the table's */
	return PT_TABLE;
}

/*
 * Linux's PROT_NONE on arm64, an invalid entry: until 6.9 PTE_PROT_NONE
 * (bit 58; swap entries keep it clear); from 6.10 PTE_PRESENT_INVALID (nG,
 * bit 11; swap entries keep it clear) with neither user read nor user
 * execute, as pte_protnone() tests. The two cannot be told apart from the
 * entry alone (an old swap offset may have bit 11 set): the kernel version
 * decides.
 */
static bool a64_prot_none(const struct walk *w, uint64_t pte)
{
	if (!w->paging->arm64_present_invalid)
		return pte & A64_PROT_NONE;
	return (pte & A64_NG) && !(pte & A64_USER) && (pte & A64_UXN);
}

/* The output address of an arm64 entry (a table's, a block's, a page's). */
static uint64_t a64_addr(const struct walk *w, uint64_t pte)
{
	if (!w->arch->lpa2)
		return pte & A64_ADDR_MASK;
	return (pte & LPA2_ADDR_LOW) |
	       ((pte & LPA2_ADDR_HIGH) << LPA2_HIGH_SHIFT);
}

/*
 * arm64, 4 KiB granule: a valid entry above the last level with the table
 * bit is a table, without it a block (1 GiB at level 3, 2 MiB at level 2;
 * 512 GiB at level 4 with LPA2 only); at the last level a page. Linux sets no hierarchical
 * rights in user tables (APTable, UXNTable stay 0): the leaf alone has them.
 * The contiguous hint only tells the TLB that 16 neighbours agree: each
 * entry still says everything, so it is not decoded.
 */
static enum pt_entry a64_decode(const struct walk *w, uint64_t pte,
				unsigned int level, uint32_t *rights,
				struct haywire_xlate_run *r)
{
	bool last = level == 1;

	(void)rights;
	if (!(pte & A64_VALID)) {
		if (a64_prot_none(w, pte) && (last || !(pte & A64_TABLE))) {
			r->state = HAYWIRE_PAGE_PRESENT;
			r->flags = HAYWIRE_XF_PROTNONE;
			r->gpa = a64_addr(w, pte) & ~(level_span(level) - 1);
		} else if (pte) {
			r->state = HAYWIRE_PAGE_SWAPPED;
		} else {
			r->state = HAYWIRE_PAGE_UNMAPPED;
			r->page_shift = 0;	/* holes of any level merge */
		}
		return PT_LEAF;
	}
	if (!last && (pte & A64_TABLE)) {
		r->gpa = a64_addr(w, pte);	/* the table's */
		return PT_TABLE;
	}
	if (level > (w->arch->lpa2 ? 4U : 3U))
		return PT_BAD;		/* no such block with 4 KiB */
	r->state = HAYWIRE_PAGE_PRESENT;
	r->flags = 0;
	if (pte & A64_WRITE)
		r->flags |= HAYWIRE_XF_WRITE;
	if (pte & A64_USER)
		r->flags |= HAYWIRE_XF_USER;
	if (pte & A64_UXN)
		r->flags |= HAYWIRE_XF_NX;
	r->gpa = a64_addr(w, pte) & ~(level_span(level) - 1);
	return PT_LEAF;
}

static const struct pt_arch x86_64_arch = {
	.name = "x86-64",
	.max_va_bits = 57,
	.run_bits = PTE_ADDR_MASK | PTE_PRESENT | PTE_RW | PTE_USER | PTE_NX,
	.decode = x86_decode,
	.pti = true,
};

static const struct pt_arch arm64_arch = {
	.name = "arm64",
	.max_va_bits = 48,
	.run_bits = A64_ADDR_MASK | A64_VALID | A64_TABLE | A64_USER |
		    A64_WRITE | A64_UXN,
	.decode = a64_decode,
	.root_per_half = true,
};

static const struct pt_arch arm64_lpa2_arch = {
	.name = "arm64 (LPA2)",
	.max_va_bits = 52,
	.run_bits = LPA2_ADDR_LOW | LPA2_ADDR_HIGH | A64_VALID | A64_TABLE |
		    A64_USER | A64_WRITE | A64_UXN,
	.decode = a64_decode,
	.lpa2 = true,
	.root_per_half = true,
};

/*
 * The top-level entries that user mode uses. With x86 page-table isolation
 * (PTI) a process's pgd is the kernel's copy (8 KiB aligned), whose user
 * entries all carry NX; user mode runs on the user copy in the next page,
 * whose entries are the same without NX (Linux's pti_set_user_pgtbl()). A
 * user-half entry with NX whose twin in the next page is exactly it without
 * NX is the PTI pair, and the twin's rights count. Without PTI user entries
 * have no NX and nothing more is read; were the next page read, it would be
 * unrelated memory (an equal twin there would be a pointer to this pgd's
 * own next-level table), and a failed read of it is no error.
 */
static void take_user_copy(struct walk *w, unsigned int first,
			   unsigned int last, uint64_t *table)
{
	uint64_t twin[PTRS_PER_TABLE];
	struct haywire_error ignored;
	unsigned int i;

	bool any_nx = false;

	if (w->root % PTI_PGD_ALIGN || first >= PTRS_PER_TABLE / 2)
		return;
	if (last >= PTRS_PER_TABLE / 2)
		last = PTRS_PER_TABLE / 2 - 1;
	for (i = first; i <= last; i++)
		any_nx |= (table[i] & (PTE_PRESENT | PTE_NX)) ==
			  (PTE_PRESENT | PTE_NX);
	if (!any_nx)
		return;		/* not PTI: nothing to read */
	if (w->phys->read(w->phys->ctx,
			  w->root + PTI_USER_PGD_OFFSET + first * 8ULL,
			  &twin[first], (last - first + 1) * 8ULL, &ignored))
		return;
	for (i = first; i <= last; i++)
		if ((table[i] & (PTE_PRESENT | PTE_NX)) ==
		    (PTE_PRESENT | PTE_NX) && twin[i] == (table[i] & ~PTE_NX))
			table[i] = twin[i];
}

/*
 * Walk [start, end) inside the table at table_gpa, which maps the VA span
 * beginning at base; level 5/4 .. 1.
 */
static int walk_table(struct walk *w, uint64_t table_gpa, unsigned int level,
		      uint64_t base, uint64_t start, uint64_t end,
		      uint32_t inherited)
{
	uint64_t span = level_span(level);
	unsigned int first = (start - base) / span;
	unsigned int last = (end - 1 - base) / span;
	uint64_t table[PTRS_PER_TABLE];
	unsigned int i;
	int rc;

	rc = w->phys->read(w->phys->ctx, table_gpa + first * 8ULL,
			   &table[first], (last - first + 1) * 8ULL, w->err);
	if (rc)
		return rc;
	if (level == w->top_level && w->arch->pti)
		take_user_copy(w, first, last, table);
	w->next_pte = 0;	/* the rights inherited may differ */
	for (i = first; i <= last; i++) {
		uint64_t pte = table[i];
		uint64_t va = base + i * span;
		uint64_t lo = va > start ? va : start;
		uint64_t hi = va + span < end ? va + span : end;
		uint32_t rights = inherited;
		struct haywire_xlate_run r = {
			.va = lo, .len = hi - lo,
			.page_shift = 12 + 9 * (level - 1),
		};

		/* Fast path: the next page of a present run of 4 KiB pages. */
		if (level == 1 && w->next_pte &&
		    (pte & w->arch->run_bits) == w->next_pte) {
			w->run.len += hi - lo;
			w->next_pte += 1ULL << 12;
			continue;
		}
		w->next_pte = 0;
		switch (w->arch->decode(w, pte, level, &rights, &r)) {
		case PT_TABLE:
			rc = walk_table(w, r.gpa, level - 1, va, lo, hi,
					rights);
			if (rc)
				return rc;
			continue;
		case PT_BAD:
			return hwi_fail(w->err, HAYWIRE_E_CORRUPT,
					"%s page-table entry 0x%llx for 0x%llx at level %u is not a valid descriptor",
					w->arch->name, (unsigned long long)pte,
					(unsigned long long)(va | w->va_top),
					level);
		case PT_LEAF:
			break;
		}
		if (r.state == HAYWIRE_PAGE_PRESENT) {
			r.gpa += lo - va;
			if (level == 1 && hi == va + span &&
			    !(r.flags & HAYWIRE_XF_PROTNONE))
				w->next_pte = (pte & w->arch->run_bits) +
					      (1ULL << 12);
		}
		if (emit(w, &r))
			return 0;
	}
	return 0;
}

/* Sign-extend from the top implemented bit: canonical form. */
static uint64_t canonical(uint64_t va, unsigned int bits)
{
	unsigned int shift = 64 - bits;

	return (uint64_t)((int64_t)(va << shift) >> shift);
}

/* The architecture of paging, or NULL with err set if not supported. */
static const struct pt_arch *paging_arch(const struct haywire_paging *paging,
					 struct haywire_error *err)
{
	unsigned int levels = paging->levels;

	if (paging->arch == 0 || paging->arch == HW_ARCH_X86_64) {
		if (levels == 4 || levels == 5)
			return &x86_64_arch;
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "unsupported paging: %u levels (x86-64 has 4 or 5)",
			 levels);
		return NULL;
	}
	if (paging->arch == HW_ARCH_ARM64) {
		if (levels == 3 || levels == 4)
			return &arm64_arch;
		if (levels == 5)
			return &arm64_lpa2_arch;
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "unsupported arm64 paging: %u levels (the host-side walk supports 3, 4 and 5 (LPA2) with the 4 KiB granule)",
			 levels);
		return NULL;
	}
	hwi_fail(err, HAYWIRE_E_INVALID,
		 "unsupported architecture %u for a host-side page-table walk",
		 paging->arch);
	return NULL;
}

/* "6.10.3-arm64" -> 6010; 0 if the release has no version number. */
static unsigned int release_version(const char *release)
{
	unsigned int major, minor;

	if (!release || sscanf(release, "%u.%u", &major, &minor) != 2 ||
	    major > 99 || minor > 999)
		return 0;
	return major * 1000 + minor;
}

int haywire_paging_init(struct haywire_paging *paging, unsigned int arch,
			unsigned int levels, unsigned int page_size,
			const char *release, uint64_t root,
			struct haywire_error *err)
{
	unsigned int version = release_version(release);

	memset(paging, 0, sizeof(*paging));
	paging->root = root;
	paging->levels = levels;
	paging->arch = arch;
	if (arch != HW_ARCH_ARM64)
		return 0;
	if (page_size != 4096)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"arm64 guest with %u KiB pages: the host-side walk supports the 4 KiB granule only (ask the guest: --via-guest)",
				page_size / 1024);
	if (!version)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"the guest's kernel release '%.64s' has no version number: its arm64 PROT_NONE encoding is unknown",
				release ? release : "");
	paging->arm64_present_invalid = version >= 6010;
	return 0;
}

int haywire_translate(const struct haywire_phys *phys,
		      const struct haywire_paging *paging, uint64_t va,
		      uint64_t len, haywire_run_fn fn, void *arg,
		      struct haywire_error *err)
{
	struct walk w = {
		.phys = phys, .paging = paging, .fn = fn, .arg = arg,
		.err = err,
	};
	unsigned int levels = paging->levels;
	unsigned int bits = 12 + 9 * levels, sign_bits;
	uint64_t half, top_bytes;
	int rc;

	w.arch = paging_arch(paging, err);
	if (!w.arch)
		return HAYWIRE_E_INVALID;
	if (bits > w.arch->max_va_bits)
		bits = w.arch->max_va_bits;	/* LPA2's level -1: 16 entries */
	/* x86: bit bits - 1 is the sign; arm64: the bits above the root's
	 * 2^bits say which half (TTBR0 all 0, TTBR1 all 1). */
	sign_bits = bits + (w.arch->root_per_half ? 1 : 0);
	half = 1ULL << (sign_bits - 1);
	/* The top table is a page, but LPA2's 16 entries are 128 bytes. */
	top_bytes = 8ULL << (bits - (12 + 9 * (levels - 1)));
	if (paging->root % top_bytes || paging->root >> 52)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"page-table root 0x%llx is not a %llu-byte-aligned physical address",
				(unsigned long long)paging->root,
				(unsigned long long)top_bytes);
	if (!len)
		return 0;
	if (canonical(va, sign_bits) != va || len - 1 > UINT64_MAX - va)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"address 0x%llx is not a canonical %u-level address",
				(unsigned long long)va, levels);
	if (va < half && len > half - va)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"range 0x%llx+0x%llx crosses the non-canonical address hole",
				(unsigned long long)va, (unsigned long long)len);
	/* arm64: each half has its own root; the other half's would be
	 * walked through the wrong tables. */
	if (w.arch->root_per_half && (va >= half) != paging->arm64_ttbr1)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"address 0x%llx is in the %s half, which these tables (TTBR%d's) do not map",
				(unsigned long long)va,
				va >= half ? "kernel" : "user",
				paging->arm64_ttbr1 ? 1 : 0);

	/* Walk in a bits-wide space: strip the sign extension of upper-half
	 * addresses and put it back on every run reported. */
	w.va_top = va & ~((1ULL << bits) - 1);
	w.root = paging->root;
	w.top_level = levels;
	va &= (1ULL << bits) - 1;
	rc = walk_table(&w, paging->root, levels, 0, va, va + len,
			HAYWIRE_XF_WRITE | HAYWIRE_XF_USER);
	if (!rc)
		flush(&w);
	return rc ? rc : w.stop;
}

struct read_virt {
	const struct haywire_phys *phys;
	unsigned char *dst;
	uint64_t va;		/* start of the whole read */
	struct haywire_error *err;
	int rc;
};

static int read_run(void *arg, const struct haywire_xlate_run *run)
{
	struct read_virt *r = arg;

	if (run->state != HAYWIRE_PAGE_PRESENT ||
	    (run->flags & HAYWIRE_XF_PROTNONE)) {
		r->rc = hwi_fail(r->err, HAYWIRE_E_UNMAPPED,
				 "address 0x%llx is %s",
				 (unsigned long long)run->va,
				 run->state == HAYWIRE_PAGE_SWAPPED ?
				 "swapped out" :
				 run->state == HAYWIRE_PAGE_UNMAPPED ?
				 "not mapped" : "mapped PROT_NONE");
		return 1;
	}
	r->rc = r->phys->read(r->phys->ctx, run->gpa, r->dst + (run->va - r->va),
			      run->len, r->err);
	return r->rc ? 1 : 0;
}

int haywire_read_virt(const struct haywire_phys *phys,
		      const struct haywire_paging *paging, uint64_t va,
		      void *dst, size_t len, struct haywire_error *err)
{
	struct read_virt r = { phys, dst, va, err, 0 };
	int rc;

	rc = haywire_translate(phys, paging, va, len, read_run, &r, err);
	return r.rc ? r.rc : rc;
}
