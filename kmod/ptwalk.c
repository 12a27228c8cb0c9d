// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's walk of a process's page tables (walk_page_range() and
 * follow_pte() are not exported on every kernel Haywire supports): the
 * kernel's own accessors for each level, entries read once, decoded by
 * hw_pt_decode() (compat.h).
 *
 * Locking: the caller holds the mmap_lock for reading, which keeps the upper
 * levels of the tables inside a VMA in place. Two kinds of table can still
 * go away under that lock, both freed after an RCU grace period: since 6.5
 * a PTE table (khugepaged retracting it), and a hugetlb PMD table shared
 * between processes (unshared by a truncation). So each PUD entry is read,
 * and everything below it walked, inside rcu_read_lock(), with a
 * cond_resched() between PUD entries (1 GiB each). Only VMAs are walked:
 * munmap() frees the tables of detached VMAs under the read lock.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "compat.h"
#include "ptwalk.h"

/* The run extended by next, as the host merges runs. */
static bool extends(const struct hw_page_run *run,
		    const struct hw_page_run *next)
{
	if (!run->len || run->state != next->state ||
	    run->flags != next->flags || run->page_shift != next->page_shift ||
	    run->va + run->len != next->va)
		return false;
	return run->state != HW_PAGE_PRESENT ||
	       run->gpa + run->len == next->gpa;
}

void pt_walk_flush(struct pt_walk *w)
{
	if (w->run.len && w->sink(w, &w->run))
		w->stop = true;
	w->run.len = 0;
}

/* Account for a leaf (or gap) covering [.., hi) and add its run. */
static void add_run(struct pt_walk *w, const struct hw_page_run *r, u64 hi)
{
	w->entries++;
	if (extends(&w->run, r)) {
		w->run.len += r->len;
	} else {
		pt_walk_flush(w);
		w->run = *r;
	}
	w->next = hi;
	if (w->max_entries && w->entries >= w->max_entries)
		w->stop = true;
}

/*
 * One entry mapping [lo, hi) (clipped to the walk) at a level of entries of
 * 1 << shift bytes: adds its run, or returns true to walk its table.
 */
static bool entry(struct pt_walk *w, u64 val, unsigned int shift, bool last,
		  u64 lo, u64 hi, u16 *rights)
{
	struct hw_page_run r = {
		.va = lo, .len = hi - lo, .page_shift = shift,
	};

	if (hw_pt_decode(val, shift, last, rights, &r)) {
		w->entries++;
		return true;
	}
	if (r.state == HW_PAGE_PRESENT)
		r.gpa += lo & ((1ULL << shift) - 1);
	add_run(w, &r, hi);
	return false;
}

static void walk_pte(struct pt_walk *w, pmd_t *pmd, u64 addr, u64 end,
		     u16 rights)
{
	pte_t *ptep = pte_offset_kernel(pmd, addr);
	u64 next;

	do {
		u16 r = rights;

		next = min_t(u64, (addr & PAGE_MASK) + PAGE_SIZE, end);
		entry(w, pte_val(ptep_get(ptep)), PAGE_SHIFT, true, addr, next,
		      &r);
	} while (!w->stop && (ptep++, addr = next, addr != end));
}

static void walk_pmd(struct pt_walk *w, pud_t *pud, u64 addr, u64 end,
		     u16 rights)
{
	pmd_t *pmdp = pmd_offset(pud, addr);
	u64 next;

	do {
		u16 r = rights;
		pmd_t pmd = READ_ONCE(*pmdp);

		next = pmd_addr_end(addr, end);
		if (entry(w, pmd_val(pmd), PMD_SHIFT, false, addr, next, &r))
			walk_pte(w, &pmd, addr, next, r);
	} while (!w->stop && (pmdp++, addr = next, addr != end));
}

/*
 * Above the PMD level a level may be folded into the one below it: its
 * accessors then pass the lower entry through, and only the lower level
 * decodes it (mm_p4d_folded() and friends; at run time for x86's 4- or
 * 5-level paging).
 */
static void walk_pud(struct pt_walk *w, p4d_t *p4d, u64 addr, u64 end,
		     u16 rights)
{
	pud_t *pudp = pud_offset(p4d, addr);
	u64 next;

	do {
		u16 r = rights;
		pud_t pud;

		next = pud_addr_end(addr, end);
		rcu_read_lock();
		pud = READ_ONCE(*pudp);
		if (mm_pmd_folded(w->mm) ||
		    entry(w, pud_val(pud), PUD_SHIFT, false, addr, next, &r))
			walk_pmd(w, &pud, addr, next, r);
		rcu_read_unlock();
		cond_resched();
	} while (!w->stop && (pudp++, addr = next, addr != end));
}

static void walk_p4d(struct pt_walk *w, pgd_t *pgd, u64 addr, u64 end,
		     u16 rights)
{
	p4d_t *p4dp = p4d_offset(pgd, addr);
	u64 next;

	do {
		u16 r = rights;
		p4d_t p4d = READ_ONCE(*p4dp);

		next = p4d_addr_end(addr, end);
		if (mm_pud_folded(w->mm) ||
		    entry(w, p4d_val(p4d), P4D_SHIFT, false, addr, next, &r))
			walk_pud(w, &p4d, addr, next, r);
	} while (!w->stop && (p4dp++, addr = next, addr != end));
}

void pt_walk_range(struct pt_walk *w, u64 start, u64 end)
{
	pgd_t *pgdp = hw_user_pgdp(pgd_offset(w->mm, start));
	u64 addr = start, next;

	if (start >= end)
		return;
	do {
		u16 r = HW_RF_ALL_RIGHTS;
		pgd_t pgd = READ_ONCE(*pgdp);

		next = pgd_addr_end(addr, end);
		if (mm_p4d_folded(w->mm) ||
		    entry(w, pgd_val(pgd), PGDIR_SHIFT, false, addr, next, &r))
			walk_p4d(w, &pgd, addr, next, r);
	} while (!w->stop && (pgdp++, addr = next, addr != end));
}

/* Nothing is mapped in [lo, hi): one unmapped run. */
static void gap(struct pt_walk *w, u64 lo, u64 hi)
{
	struct hw_page_run r = {
		.va = lo, .len = hi - lo, .state = HW_PAGE_UNMAPPED,
	};

	add_run(w, &r, hi);
}

void pt_walk_mm(struct pt_walk *w, u64 start, u64 end)
{
	VMA_ITERATOR(vmi, w->mm, start);
	struct vm_area_struct *vma;
	u64 addr = start;

	for_each_vma_range(vmi, vma, end) {
		u64 lo = max_t(u64, vma->vm_start, addr);
		u64 hi = min_t(u64, vma->vm_end, end);

		if (lo > addr)
			gap(w, addr, lo);
		if (w->stop)
			return;
		pt_walk_range(w, lo, hi);
		if (w->stop)
			return;
		addr = hi;
	}
	if (addr < end)
		gap(w, addr, end);
}
