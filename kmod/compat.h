/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernel versions Haywire builds against lives
 * here (tested: 5.10, 6.1, 6.12 and 7.3). Each helper names the kernel
 * change it follows, so a new version only needs another #if branch. Where
 * an old kernel lacks an interface the module uses, it is defined here under
 * the kernel's own name, so the walkers read the same on every version.
 */
/* checkpatch-ignore: LINUX_VERSION_CODE,CONSTANT_COMPARISON -- its job */
/* checkpatch-ignore: MACRO_ARG_REUSE -- iterators as the kernel's own */
/* checkpatch-ignore: DEPRECATED_API -- kmap_atomic() before kmap_local */
/* checkpatch-ignore: MACRO_ARG_PRECEDENCE -- HW_EXIT_PROBE_PARAMS is a parameter list */
#ifndef HAYWIRE_COMPAT_H
#define HAYWIRE_COMPAT_H

#include <linux/version.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/rcupdate.h>
#include <linux/percpu_counter.h>
#include <linux/pgtable.h>
#include <linux/capability.h>
#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/vmstat.h>
#include "haywire_protocol.h"

/* ---- architecture --------------------------------------------------- */

#if defined(CONFIG_X86_64)
#define HW_THIS_ARCH	HW_ARCH_X86_64
static inline u8 hw_paging_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}
#elif defined(CONFIG_ARM64)
#define HW_THIS_ARCH	HW_ARCH_ARM64
static inline u8 hw_paging_levels(void)
{
#if CONFIG_PGTABLE_LEVELS > 4
	/* 6.9+ (52-bit VAs with LPA2): the fifth level only if the CPU has it */
	return pgtable_l5_enabled() ? 5 : 4;
#else
	return CONFIG_PGTABLE_LEVELS;
#endif
}
#else
#error "Haywire supports x86-64 and arm64 guests"
#endif

/* ---- page-table root ------------------------------------------------ */

/*
 * The top-level entry the CPU uses for user addresses. With x86 page-table
 * isolation on, mm->pgd is the kernel's copy, whose user entries carry NX
 * (pti_set_user_pgtbl()); user mode runs on the user copy, the next page
 * (kernel_to_user_pgdp(), an inline), whose entries are the same without NX.
 */
/* 6.9 renamed CONFIG_PAGE_TABLE_ISOLATION to ..._MITIGATION_... */
#if defined(CONFIG_X86_64) && (defined(CONFIG_PAGE_TABLE_ISOLATION) || \
			       defined(CONFIG_MITIGATION_PAGE_TABLE_ISOLATION))
static inline pgd_t *hw_user_pgdp(pgd_t *pgdp)
{
	return cpu_feature_enabled(X86_FEATURE_PTI) ?
	       kernel_to_user_pgdp(pgdp) : pgdp;
}
#else
static inline pgd_t *hw_user_pgdp(pgd_t *pgdp)
{
	return pgdp;
}
#endif

/* ---- page-table entries ---------------------------------------------- */

/* Rights a walk starts with; each level can only take them away. */
#define HW_RF_ALL_RIGHTS	(HW_RF_WRITE | HW_RF_USER)

/*
 * Decode one page-table entry (raw value val) of a level whose entries map
 * 1 << shift bytes; last is the lowest level. Returns true when the entry
 * points to a next-level table, with *rights updated to what that table's
 * entries inherit. Otherwise sets r->state, r->flags and r->gpa (of the
 * first byte the entry maps), and r->page_shift = 0 when nothing is mapped.
 */
#if defined(CONFIG_X86_64)
/*
 * x86-64, from the entry's bits exactly as the host's walker decodes them
 * (host/lib/core/pagewalk.c): a leaf is a level-1 entry or a PSE entry at level
 * 2 or 3; PROT_NONE is _PAGE_PROTNONE without _PAGE_PRESENT, with the frame
 * number stored inverted (the L1TF mitigation, __pte_needs_invert());
 * anything else not present and nonzero is a swap or migration entry.
 * Write and user rights are ANDed over the levels, NX is ORed.
 */
static inline bool hw_pt_decode(u64 val, unsigned int shift, bool last,
				u16 *rights, struct hw_page_run *r)
{
	u64 frame = PTE_PFN_MASK & ~((1ULL << shift) - 1);
	bool pse = val & _PAGE_PSE;
	bool leaf = last || ((shift == PMD_SHIFT || shift == PUD_SHIFT) && pse);
	u16 f = *rights;

	if (!(val & _PAGE_PRESENT)) {
		if (val && (val & _PAGE_PROTNONE) && (last || pse)) {
			r->state = HW_PAGE_PRESENT;
			r->flags = HW_RF_PROTNONE;
			r->gpa = ~val & frame;
		} else if (val) {
			r->state = HW_PAGE_SWAPPED;
		} else {
			r->state = HW_PAGE_UNMAPPED;
			r->page_shift = 0;
		}
		return false;
	}
	if (!(val & _PAGE_RW))
		f &= ~HW_RF_WRITE;
	if (!(val & _PAGE_USER))
		f &= ~HW_RF_USER;
	if (val & _PAGE_NX)
		f |= HW_RF_NX;
	if (!leaf) {
		*rights = f;
		return true;
	}
	r->state = HW_PAGE_PRESENT;
	r->flags = f;
	r->gpa = val & frame;
	return false;
}
#elif defined(CONFIG_ARM64)
/* The descriptor's table bit (bit 1); newer kernels (7.3) lack the name. */
#ifndef PTE_TABLE_BIT
#define PTE_TABLE_BIT		(_AT(pteval_t, 1) << 1)
#endif

/*
 * An invalid arm64 entry that Linux keeps for a PROT_NONE page. Until 6.9,
 * PTE_PROT_NONE (bit 58) marked it; 6.10 dropped that bit and encodes it as
 * PTE_PRESENT_INVALID (nG, bit 11) with neither user read nor user execute
 * (PTE_USER clear, PTE_UXN set), as pte_protnone() tests.
 */
static inline bool hw_arm64_prot_none(u64 val)
{
#if defined(PTE_PROT_NONE)
	return val & PTE_PROT_NONE;
#elif defined(PTE_PRESENT_INVALID)
	return (val & PTE_PRESENT_INVALID) && !(val & PTE_USER) &&
	       (val & PTE_UXN);
#else
#error "no known arm64 PROT_NONE encoding"
#endif
}

/*
 * arm64: a valid entry above the last level with the table bit points to a
 * table; every other valid entry is a block or page. PROT_NONE is
 * hw_arm64_prot_none() without PTE_VALID (a block keeps its table bit clear); any
 * other invalid nonzero entry is a swap or migration entry. Linux sets no
 * hierarchical rights in user tables: the leaf alone has them (PTE_WRITE is
 * the software dirty-bit-modifier write bit, as pte_write()).
 */
static inline bool hw_pt_decode(u64 val, unsigned int shift, bool last,
				u16 *rights, struct hw_page_run *r)
{
	u64 frame = __pte_to_phys(__pte(val)) & ~((1ULL << shift) - 1);

	if (!(val & PTE_VALID)) {
		if (hw_arm64_prot_none(val) &&
		    (last || !(val & PTE_TABLE_BIT))) {
			r->state = HW_PAGE_PRESENT;
			r->flags = HW_RF_PROTNONE;
			r->gpa = frame;
		} else if (val) {
			r->state = HW_PAGE_SWAPPED;
		} else {
			r->state = HW_PAGE_UNMAPPED;
			r->page_shift = 0;
		}
		return false;
	}
	if (!last && (val & PTE_TABLE_BIT))
		return true;
	r->state = HW_PAGE_PRESENT;
	r->flags = 0;
	if (val & PTE_WRITE)
		r->flags |= HW_RF_WRITE;
	if (val & PTE_USER)
		r->flags |= HW_RF_USER;
	if (val & PTE_UXN)
		r->flags |= HW_RF_NX;
	r->gpa = frame;
	return false;
}
#endif

/* ---- pages ----------------------------------------------------------- */

/*
 * Page n of a high-order allocation. Newer kernels (7.3) have no nth_page(): the memory
 * map of one allocation is always contiguous now, which is what it
 * computed.
 */
#ifndef nth_page
#define nth_page(page, n)	((page) + (n))
#endif

/* ---- VMA iteration --------------------------------------------------- */

/*
 * 6.1 keeps the VMAs in a maple tree, walked with a VMA iterator; before,
 * they were a list sorted by address (mm->mmap, vma->vm_next). The same
 * iterator over the list: the first VMA ending above the start, then the
 * next ones; for_each_vma_range() stops at the first starting at or above
 * end, as the maple tree's vma_find() does.
 */
#ifndef VMA_ITERATOR
struct hw_vma_iterator {
	struct mm_struct *mm;
	unsigned long addr;
};

#define VMA_ITERATOR(name, mm_, addr_) \
	struct hw_vma_iterator name = { .mm = (mm_), .addr = (addr_) }
#define for_each_vma(vmi, vma) \
	for ((vma) = find_vma((vmi).mm, (vmi).addr); (vma); \
	     (vma) = (vma)->vm_next)
#define for_each_vma_range(vmi, vma, end) \
	for ((vma) = find_vma((vmi).mm, (vmi).addr); \
	     (vma) && (vma)->vm_start < (end); (vma) = (vma)->vm_next)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 14, 0)
/* 5.14: the VMA containing addr, or NULL. */
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm,
						unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && addr >= vma->vm_start ? vma : NULL;
}
#endif

/* ---- user memory ---------------------------------------------------- */

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)
/* 5.11 added thread-local maps; an atomic map suits the one memcpy. */
static inline void *kmap_local_page(struct page *page)
{
	return kmap_atomic(page);
}

#define kunmap_local(addr)	kunmap_atomic(addr)
#endif

/*
 * gup flags that read a page only if it is resident, never waiting for a
 * file system. 5.16 added FOLL_NOFAULT: no fault at all. Before, FOLL_NOWAIT
 * is the closest, but a fault under it still calls into the file system
 * (read-ahead to a FUSE server that never answers blocks): so there the
 * caller first checks, with its own page-table walk under the mmap_lock,
 * that the page is mapped (HW_GUP_MAY_FAULT), and gup then finds it without
 * a fault. docs/kernels.md describes the remaining window.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
#define HW_FOLL_RESIDENT	FOLL_NOFAULT
#define HW_GUP_MAY_FAULT	false
#else
#define HW_FOLL_RESIDENT	FOLL_NOWAIT
#define HW_GUP_MAY_FAULT	true
#endif

/*
 * One page of a foreign mm, with a reference, under its mmap_lock held by
 * the caller (locked == NULL: gup never drops it). access_remote_vm(), which
 * /proc uses, is not exported; get_user_pages_remote() is, and honours the
 * same FOLL_ANON (file mappings refused) and FOLL_NOFAULT (5.16: no fault,
 * only pages already mapped). 6.5 dropped its vmas argument.
 */
static inline long hw_get_user_page_remote(struct mm_struct *mm,
					   unsigned long addr,
					   unsigned int gup_flags,
					   struct page **page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL);
#else
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL, NULL);
#endif
}

/* ---- credentials ----------------------------------------------------- */

/* A capability set as the 64-bit mask /proc/PID/status prints (CapEff). */
static inline u64 hw_cap_mask(kernel_cap_t cap)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return cap.val;		/* 6.3 made kernel_cap_t one u64 */
#else
	return ((u64)cap.cap[1] << 32) | cap.cap[0];
#endif
}

/* ---- executable file ------------------------------------------------ */

/*
 * mm->exe_file with a reference, as get_mm_exe_file() (not exported) takes
 * it. Since 6.7 files are SLAB_TYPESAFE_BY_RCU and get_file_rcu() takes the
 * __rcu pointer itself and rechecks it; before, files were freed after an RCU
 * grace period and get_file_rcu() was a macro on the file.
 */
static inline struct file *hw_get_mm_exe_file(struct mm_struct *mm)
{
	struct file *file;

	rcu_read_lock();
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	file = get_file_rcu(&mm->exe_file);
#else
	file = rcu_dereference(mm->exe_file);
	if (file && !get_file_rcu(file))
		file = NULL;
#endif
	rcu_read_unlock();
	return file;
}

/* ---- memory counters ------------------------------------------------- */

/*
 * Resident pages, exactly. Since 6.2 the RSS counters are per-CPU and
 * get_mm_rss() reads them without summing, which can be off by up to the
 * per-CPU batch for every CPU; /proc/PID/status sums them (since the 6.12.y
 * fix that added get_mm_counter_sum()). Summing is always the true value.
 */
static inline unsigned long hw_mm_rss_pages(struct mm_struct *mm)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return percpu_counter_sum_positive(&mm->rss_stat[MM_FILEPAGES]) +
	       percpu_counter_sum_positive(&mm->rss_stat[MM_ANONPAGES]) +
	       percpu_counter_sum_positive(&mm->rss_stat[MM_SHMEMPAGES]);
#else
	return get_mm_rss(mm);
#endif
}

/* ---- what /proc/PID/maps shows for a VMA ---------------------------- */

/*
 * Since 6.8 a mapping of a file on a stacking filesystem (overlayfs) holds a
 * backing file; maps shows the path and inode the user opened.
 */
static inline const struct path *hw_vma_file_path(const struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return file_user_path(file);
#else
	return &file->f_path;
#endif
}

static inline const struct inode *hw_vma_file_inode(const struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return file_user_inode(file);
#else
	return file_inode(file);
#endif
}

/* [heap]: 6.6 added vma_is_initial_heap() with strict bounds. */
static inline bool hw_vma_is_heap(const struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return vma_is_initial_heap(vma);
#else
	return vma->vm_start <= vma->vm_mm->brk &&
	       vma->vm_end >= vma->vm_mm->start_brk;
#endif
}

/* [stack]: the main thread's stack. */
static inline bool hw_vma_is_stack(const struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return vma_is_initial_stack(vma);
#else
	return vma->vm_start <= vma->vm_mm->start_stack &&
	       vma->vm_end >= vma->vm_mm->start_stack;
#endif
}

/*
 * A name given with prctl(PR_SET_VMA_ANON_NAME), or NULL. anon_vma_name() is
 * not exported; it only reads vma->anon_name, which is stable under the
 * mmap_lock the caller holds.
 */
static inline const char *hw_vma_anon_name(const struct vm_area_struct *vma)
{
#ifdef CONFIG_ANON_VMA_NAME
	return vma->anon_name ? vma->anon_name->name : NULL;
#else
	return NULL;
#endif
}

/*
 * Since 6.2 a named shared anonymous mapping (a shmem file) shows as
 * [anon_shmem:NAME] instead of its file path.
 */
#define HW_HAS_ANON_SHMEM_NAME \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))

/* ---- 1.3 monitoring -------------------------------------------------- */

/*
 * A later kernel added "bool group_dead" to the sched_process_exit
 * tracepoint (6.12 has not, 7.3 has; 6.16 is taken as the first): the
 * probe's prototype must match the tracepoint's exactly.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
#define HW_EXIT_PROBE_PARAMS(task)	struct task_struct *task, bool group_dead
#else
#define HW_EXIT_PROBE_PARAMS(task)	struct task_struct *task
#endif

/*
 * The split of the group's CPU time /proc last published, read without its
 * lock; false when /proc does not scale tick-based times to the runtime
 * (native accounting: struct prev_cputime is then empty).
 */
static inline bool hw_prev_cputime(const struct signal_struct *sig,
				   u64 *ut, u64 *st)
{
#ifndef CONFIG_VIRT_CPU_ACCOUNTING_NATIVE
	*ut = READ_ONCE(sig->prev_cputime.utime);
	*st = READ_ONCE(sig->prev_cputime.stime);
	return true;
#else
	return false;
#endif
}

/* 5.14 renamed task->state to __state (task_is_running() since then). */
static inline bool hw_task_running(const struct task_struct *t)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
	return READ_ONCE(t->__state) == TASK_RUNNING;
#else
	return READ_ONCE(t->state) == TASK_RUNNING;
#endif
}

/*
 * Swap-cache pages, as /proc/meminfo subtracts them from Cached: a node
 * counter since 5.13 (NR_SWAPCACHE); before, only total_swapcache_pages(),
 * which is not exported, so 5.10 counts them in Cached.
 */
static inline unsigned long hw_swapcache_pages(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 13, 0) && defined(CONFIG_SWAP)
	return global_node_page_state(NR_SWAPCACHE);
#else
	return 0;
#endif
}

#endif /* HAYWIRE_COMPAT_H */
