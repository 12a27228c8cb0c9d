// SPDX-License-Identifier: MIT
/*
 * Host-side page-table walks of x86-64 guests (4- and 5-level paging) over
 * any source of guest-physical memory: translation of a virtual range into
 * runs, and reads through the translation.
 *
 * The page tables are guest memory and untrusted: a walk has a fixed depth,
 * every table read is a bounded copy that fails cleanly outside guest RAM,
 * and the amount of work is proportional to the range asked for.
 */
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
struct walk {
	const struct haywire_phys *phys;
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

/* The bits of a page-table entry that decide its run. */
#define PTE_RUN_BITS	(PTE_ADDR_MASK | PTE_PRESENT | PTE_RW | PTE_USER | \
			 PTE_NX)

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
	if (level == w->top_level)
		take_user_copy(w, first, last, table);
	w->next_pte = 0;	/* the rights inherited may differ */
	for (i = first; i <= last; i++) {
		uint64_t pte = table[i];
		uint64_t va = base + i * span;
		uint64_t lo = va > start ? va : start;
		uint64_t hi = va + span < end ? va + span : end;
		struct haywire_xlate_run r = {
			.va = lo, .len = hi - lo,
			.page_shift = 12 + 9 * (level - 1),
		};

		/* Fast path: the next page of a present run of 4 KiB pages. */
		if (level == 1 && w->next_pte &&
		    (pte & PTE_RUN_BITS) == w->next_pte) {
			w->run.len += hi - lo;
			w->next_pte += 1ULL << 12;
			continue;
		}
		w->next_pte = 0;
		if (!(pte & PTE_PRESENT)) {
			classify_absent(pte, level, &r);
			if (r.state == HAYWIRE_PAGE_PRESENT)
				r.gpa += lo - va;
		} else if (level == 1 || (level <= 3 && (pte & PTE_PSE))) {
			r.state = HAYWIRE_PAGE_PRESENT;
			r.flags = leaf_flags(pte, inherited);
			r.gpa = (pte & PTE_ADDR_MASK & ~(span - 1)) + (lo - va);
			if (level == 1 && hi == va + span)
				w->next_pte = (pte & PTE_RUN_BITS) + (1ULL << 12);
		} else {
			rc = walk_table(w, pte & PTE_ADDR_MASK, level - 1, va,
					lo, hi, leaf_flags(pte, inherited));
			if (rc)
				return rc;
			continue;
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

int haywire_translate(const struct haywire_phys *phys,
		      const struct haywire_paging *paging, uint64_t va,
		      uint64_t len, haywire_run_fn fn, void *arg,
		      struct haywire_error *err)
{
	struct walk w = { .phys = phys, .fn = fn, .arg = arg, .err = err };
	unsigned int levels = paging->levels;
	unsigned int bits = 12 + 9 * levels;
	uint64_t half = 1ULL << (bits - 1);
	int rc;

	if (levels != 4 && levels != 5)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"unsupported paging: %u levels (x86-64 has 4 or 5)",
				levels);
	if (paging->root & ~PTE_ADDR_MASK)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"page-table root 0x%llx is not a page-aligned physical address",
				(unsigned long long)paging->root);
	if (!len)
		return 0;
	if (canonical(va, bits) != va || len - 1 > UINT64_MAX - va)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"address 0x%llx is not a canonical %u-level address",
				(unsigned long long)va, levels);
	if (va < half && len > half - va)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"range 0x%llx+0x%llx crosses the non-canonical address hole",
				(unsigned long long)va, (unsigned long long)len);

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
