// SPDX-License-Identifier: MIT
/*
 * Finding an x86-64 Linux kernel in guest-physical memory without any help
 * from the guest, and reading its virtual memory.
 *
 * The first CPU's CR3 gives page tables that map the kernel. KASLR puts
 * _text (2 MiB aligned) somewhere in the kernel text window
 * 0xffffffff80000000-0xffffffffc0000000, and the kernel unmaps that window
 * below _text at boot, so the first mapped page there is _text; linux_banner
 * at its place relative to _text (System.map) confirms it. With PTI, a CPU
 * in user mode has the user copy of the page tables (the kernel's is the
 * 4 KiB page below it), which maps only a little kernel text: both are
 * tried. From there: the kernel's own page tables (init_top_pgt), the direct
 * map (page_offset_base, randomized too), the release (init_uts_ns), and
 * checks that the BTF and the symbols describe this very kernel.
 *
 * On arm64, whose system registers QEMU's monitor does not show, the
 * kernel is found from its Image in RAM instead (a64_* below).
 *
 * Kernel reads take the fastest correct path: the kernel image is
 * physically contiguous, the direct map is a fixed offset, anything else
 * (vmalloc, per-CPU chunks) goes through the kernel's page tables.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentless.h"

#define CR0_PG		(1ULL << 31)
#define CR4_LA57	(1ULL << 12)
#define EFER_LMA	(1ULL << 10)
#define PTE_ADDR_MASK	0x000ffffffffff000ULL
#define PTI_USER_BIT	0x1000ULL	/* user PGD = kernel PGD + 4 KiB */
#define BANNER_TAG	"Linux version "
#define DEFAULT_TEXT_SIZE (64 * MIB)	/* if the map has no _end */

bool hwi_kptr_ok(uint64_t va, unsigned int align)
{
	return va >= 0xff00000000000000ULL && !(va & (align - 1));
}

bool hwi_ksym(const struct haywire_agentless *a, const char *name,
	      uint64_t *va)
{
	uint64_t addr;

	if (!hwi_sym(a->syms, name, &addr))
		return false;
	*va = addr - a->syms->text + a->info.text_va;
	return true;
}

bool hwi_ksym_is(const struct haywire_agentless *a, uint64_t va,
		 const char *name)
{
	return hwi_sym_at_is(a->syms, va - a->info.text_va + a->syms->text,
			     name);
}

const char *hwi_ksym_at(const struct haywire_agentless *a, uint64_t va)
{
	return hwi_sym_at(a->syms, va - a->info.text_va + a->syms->text);
}

int hwi_kread(struct haywire_agentless *a, uint64_t va, void *dst,
	      size_t len, struct haywire_error *err)
{
	uint64_t pob = a->info.page_offset_base;

	if (!len)
		return 0;
	if (len - 1 > UINT64_MAX - va)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"kernel read of %zu bytes at 0x%" PRIx64 " wraps",
				len, va);
	if (va >= a->info.text_va && va - a->info.text_va < a->text_size &&
	    len <= a->text_size - (va - a->info.text_va))
		return a->phys->read(a->phys->ctx,
				     a->info.text_pa + (va - a->info.text_va),
				     dst, len, err);
	if (va >= pob && va - pob < a->ram_end &&
	    len <= a->ram_end - (va - pob))
		return a->phys->read(a->phys->ctx, va - pob, dst, len, err);
	return haywire_read_virt(a->phys, &a->kpaging, va, dst, len, err);
}

int hwi_kread_u64(struct haywire_agentless *a, uint64_t va, uint64_t *v,
		  struct haywire_error *err)
{
	return hwi_kread(a, va, v, sizeof(*v), err);
}

/* ---- the layout ------------------------------------------------------- */

#define LF(field) offsetof(struct hwi_layout, field)

static const struct layout_field {
	size_t at;
	const char *type, *path;
	uint32_t size;		/* required size; 0: any */
	bool optional;
} layout_fields[] = {
	{ LF(task_tasks), "task_struct", "tasks", 16, false },
	{ LF(task_pid), "task_struct", "pid", 4, false },
	{ LF(task_tgid), "task_struct", "tgid", 4, false },
	{ LF(task_real_parent), "task_struct", "real_parent", 8, false },
	{ LF(task_real_cred), "task_struct", "real_cred", 8, false },
	{ LF(task_comm), "task_struct", "comm", 16, false },
	{ LF(task_flags), "task_struct", "flags", 4, false },
	{ LF(task_state), "task_struct", "__state", 4, false },
	{ LF(task_exit_state), "task_struct", "exit_state", 4, false },
	{ LF(task_start_boottime), "task_struct", "start_boottime", 8, false },
	{ LF(task_mm), "task_struct", "mm", 8, false },
	{ LF(task_signal), "task_struct", "signal", 8, false },
	{ LF(task_thread_pid), "task_struct", "thread_pid", 8, false },
	{ LF(cred_uid), "cred", "uid", 4, false },
	{ LF(cred_gid), "cred", "gid", 4, false },
	{ LF(cred_euid), "cred", "euid", 4, false },
	{ LF(cred_egid), "cred", "egid", 4, false },
	{ LF(signal_nr_threads), "signal_struct", "nr_threads", 4, false },
	{ LF(mm_root), "mm_struct", "mm_mt.ma_root", 8, false },
	{ LF(mm_mt_flags), "mm_struct", "mm_mt.ma_flags", 4, false },
	{ LF(mm_total_vm), "mm_struct", "total_vm", 8, false },
	{ LF(mm_rss_stat), "mm_struct", "rss_stat", 0, false },
	{ LF(mm_pgd), "mm_struct", "pgd", 8, false },
	{ LF(mm_exe_file), "mm_struct", "exe_file", 8, false },
	{ LF(mm_map_count), "mm_struct", "map_count", 4, false },
	{ LF(mm_brk), "mm_struct", "brk", 8, false },
	{ LF(mm_start_brk), "mm_struct", "start_brk", 8, false },
	{ LF(mm_start_stack), "mm_struct", "start_stack", 8, false },
	{ LF(r64_pivot), "maple_range_64", "pivot", 0, false },
	{ LF(r64_slot), "maple_range_64", "slot", 0, false },
	{ LF(r64_meta_end), "maple_range_64", "meta.end", 1, false },
	{ LF(a64_pivot), "maple_arange_64", "pivot", 0, false },
	{ LF(a64_slot), "maple_arange_64", "slot", 0, false },
	{ LF(a64_meta_end), "maple_arange_64", "meta.end", 1, false },
	{ LF(vma_start), "vm_area_struct", "vm_start", 8, false },
	{ LF(vma_end), "vm_area_struct", "vm_end", 8, false },
	{ LF(vma_flags), "vm_area_struct", "vm_flags", 8, false },
	{ LF(vma_pgoff), "vm_area_struct", "vm_pgoff", 8, false },
	{ LF(vma_file), "vm_area_struct", "vm_file", 8, false },
	{ LF(vma_ops), "vm_area_struct", "vm_ops", 8, false },
	{ LF(vma_private), "vm_area_struct", "vm_private_data", 8, false },
	{ LF(vma_anon_name), "vm_area_struct", "anon_name", 8, true },
	{ LF(anon_name_name), "anon_vma_name", "name", 0, true },
	{ LF(ops_name), "vm_operations_struct", "name", 8, false },
	{ LF(special_name), "vm_special_mapping", "name", 8, false },
	{ LF(file_mnt), "file", "f_path.mnt", 8, false },
	{ LF(file_dentry), "file", "f_path.dentry", 8, false },
	{ LF(file_inode), "file", "f_inode", 8, false },
	{ LF(file_mode), "file", "f_mode", 4, false },
	{ LF(backing_mnt), "backing_file", "user_path.mnt", 8, true },
	{ LF(backing_dentry), "backing_file", "user_path.dentry", 8, true },
	{ LF(dentry_parent), "dentry", "d_parent", 8, false },
	{ LF(dentry_name_len), "dentry", "d_name.len", 4, false },
	{ LF(dentry_name), "dentry", "d_name.name", 8, false },
	{ LF(dentry_inode), "dentry", "d_inode", 8, false },
	{ LF(dentry_op), "dentry", "d_op", 8, false },
	{ LF(dentry_hash_pprev), "dentry", "d_hash.pprev", 8, false },
	{ LF(dop_dname), "dentry_operations", "d_dname", 8, false },
	{ LF(inode_ino), "inode", "i_ino", 8, false },
	{ LF(inode_sb), "inode", "i_sb", 8, false },
	{ LF(sb_dev), "super_block", "s_dev", 4, false },
	{ LF(mount_mnt), "mount", "mnt", 0, false },
	{ LF(mount_parent), "mount", "mnt_parent", 8, false },
	{ LF(mount_mountpoint), "mount", "mnt_mountpoint", 8, false },
	{ LF(vfsmount_root), "vfsmount", "mnt_root", 8, false },
	{ LF(uts_release), "uts_namespace", "name.release", 65, false },
};

static int layout_fail(const struct haywire_btf *b, const char *what,
		       struct haywire_error *err)
{
	return hwi_fail(err, HAYWIRE_E_MISMATCH,
			"%s (%s) lacks %s: not the BTF of a supported kernel (x86-64 or arm64, Linux 6.1 or later)",
			b->path, b->kind, what);
}

static int resolve_layout(struct haywire_agentless *a,
			  struct haywire_error *err)
{
	struct hwi_layout *L = &a->L;
	const struct haywire_btf *b = a->btf;
	static const char *const counters[3] = {
		"MM_FILEPAGES", "MM_ANONPAGES", "MM_SHMEMPAGES"
	};
	char what[96];
	size_t i;

	for (i = 0; i < sizeof(layout_fields) / sizeof(layout_fields[0]); i++) {
		const struct layout_field *lf = &layout_fields[i];
		struct hwi_field *f = (struct hwi_field *)((char *)L + lf->at);

		if (hwi_btf_field(b, lf->type, lf->path, f) ||
		    (lf->size && f->size != lf->size)) {
			f->have = false;
			if (lf->optional)
				continue;
			snprintf(what, sizeof(what), "%s.%s%s", lf->type,
				 lf->path, f->size ? " of the expected size" : "");
			return layout_fail(b, what, err);
		}
	}
	if (hwi_btf_size(b, "task_struct", &L->task_size) ||
	    hwi_btf_size(b, "mm_struct", &L->mm_size) ||
	    hwi_btf_size(b, "vm_area_struct", &L->vma_size) ||
	    hwi_btf_size(b, "file", &L->file_size) ||
	    hwi_btf_size(b, "dentry", &L->dentry_size) ||
	    hwi_btf_size(b, "maple_node", &L->maple_node_size))
		return layout_fail(b, "the size of a core structure", err);
	for (i = 0; i < 3; i++)
		if (hwi_btf_enum_value(b, counters[i], &L->mm_counter[i]) ||
		    L->mm_counter[i] < 0 || L->mm_counter[i] > 8)
			return layout_fail(b, counters[i], err);
	if (hwi_btf_enum_value(b, "maple_leaf_64", &L->mt_leaf64) ||
	    hwi_btf_enum_value(b, "maple_range_64", &L->mt_range64) ||
	    hwi_btf_enum_value(b, "maple_arange_64", &L->mt_arange64))
		return layout_fail(b, "enum maple_type", err);

	/* 6.2+: rss_stat is struct percpu_counter[]; before, a struct with
	 * an atomic_long_t count[]. */
	if (L->mm_rss_stat.nelems &&
	    hwi_btf_is_struct(b, L->mm_rss_stat.elem_type_id,
			      "percpu_counter")) {
		L->rss_percpu = true;
		L->pcc_size = L->mm_rss_stat.elem_size;
		if (hwi_btf_field(b, "percpu_counter", "count",
				  &L->pcc_count) || L->pcc_count.size != 8 ||
		    hwi_btf_field(b, "percpu_counter", "counters",
				  &L->pcc_counters) ||
		    L->pcc_counters.size != 8)
			return layout_fail(b, "struct percpu_counter", err);
	} else {
		struct hwi_field count;

		if (hwi_btf_field(b, "mm_struct", "rss_stat.count", &count) ||
		    count.elem_size != 8 || count.nelems < 4)
			return layout_fail(b, "mm_struct.rss_stat.count[]", err);
		L->mm_rss_stat = count;
		L->pcc_size = 8;
	}
	for (i = 0; i < 3; i++)
		if ((uint64_t)L->mm_counter[i] >= L->mm_rss_stat.nelems)
			return layout_fail(b, "room for the RSS counters", err);
	if (L->r64_pivot.elem_size != 8 || L->r64_slot.elem_size != 8 ||
	    L->a64_pivot.elem_size != 8 || L->a64_slot.elem_size != 8 ||
	    L->r64_slot.nelems != L->r64_pivot.nelems + 1 ||
	    L->a64_slot.nelems != L->a64_pivot.nelems + 1 ||
	    L->maple_node_size < L->r64_slot.off + L->r64_slot.size ||
	    L->maple_node_size < L->a64_meta_end.off + 1)
		return layout_fail(b, "the maple node layout this reader knows", err);
	if (L->anon_name_name.have && !L->vma_anon_name.have)
		L->anon_name_name.have = false;
	if (!L->backing_dentry.have || !L->backing_mnt.have)
		L->backing_mnt.have = L->backing_dentry.have = false;
	return 0;
}

/* ---- finding the kernel ---------------------------------------------- */

struct first_present {
	uint64_t va, gpa;
	bool found;
};

static int stop_at_present(void *arg, const struct haywire_xlate_run *run)
{
	struct first_present *f = arg;

	if (run->state != HAYWIRE_PAGE_PRESENT ||
	    (run->flags & HAYWIRE_XF_PROTNONE))
		return 0;
	f->va = run->va;
	f->gpa = run->gpa;
	f->found = true;
	return 1;
}

/*
 * Failures of the memory source itself (QMP gone, the file shrank) end the
 * search; anything else means "not here" and the search goes on.
 */
static bool source_failed(int rc)
{
	return rc == HAYWIRE_E_QMP || rc == HAYWIRE_E_IO ||
	       rc == HAYWIRE_E_NOMEM;
}

/* The physical address of one kernel virtual address (*pa = 1: none). */
static int translate_one(const struct haywire_phys *phys,
			 const struct haywire_paging *pg, uint64_t va,
			 uint64_t *pa, struct haywire_error *err)
{
	struct first_present f = { 0 };
	int rc = haywire_translate(phys, pg, va, 1, stop_at_present, &f, err);

	*pa = 1;
	if (f.found && f.va == va)
		*pa = f.gpa;
	else if (source_failed(rc))
		return rc;
	return 0;
}

/* Whether linux_banner is where the symbols put it relative to text. */
static int banner_at(struct haywire_agentless *a, uint64_t text_pa, bool *ok,
		     struct haywire_error *err)
{
	uint64_t banner;
	char buf[sizeof(BANNER_TAG) - 1];
	int rc;

	*ok = false;
	if (!hwi_sym(a->syms, "linux_banner", &banner) ||
	    banner < a->syms->text)
		return 0;
	rc = a->phys->read(a->phys->ctx, text_pa + (banner - a->syms->text),
			   buf, sizeof(buf), err);
	if (source_failed(rc))
		return rc;
	*ok = !rc && !memcmp(buf, BANNER_TAG, sizeof(buf));
	return 0;
}

static int locate_text(struct haywire_agentless *a,
		       const struct haywire_cpu_regs *regs,
		       struct haywire_error *err)
{
	uint64_t root = regs->cr3 & PTE_ADDR_MASK;
	uint64_t roots[2];
	unsigned int n = 0, i;
	struct first_present seen = { 0 };

	/* With PTI, a CPU in user mode runs on the user copy. */
	if (root & PTI_USER_BIT)
		roots[n++] = root & ~PTI_USER_BIT;
	roots[n++] = root;
	for (i = 0; i < n; i++) {
		struct haywire_paging pg = {
			.root = roots[i], .levels = a->info.paging_levels,
			.arch = HW_ARCH_X86_64,
		};
		struct first_present f = { 0 };
		bool ok;
		int rc;

		rc = haywire_translate(a->phys, &pg, HWI_KERNEL_TEXT_WINDOW,
				       HWI_KERNEL_TEXT_WINDOW_END -
				       HWI_KERNEL_TEXT_WINDOW,
				       stop_at_present, &f, err);
		if (!f.found) {
			if (source_failed(rc))
				return rc;
			continue;
		}
		if (!seen.found)
			seen = f;
		if (f.va % (2 * MIB))
			continue;
		rc = banner_at(a, f.gpa, &ok, err);
		if (rc)
			return rc;
		if (!ok)
			continue;
		a->info.text_va = f.va;
		a->info.text_pa = f.gpa;
		a->kpaging = pg;
		return 0;
	}
	if (!seen.found)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"nothing is mapped in the kernel text window with CR3 0x%" PRIx64 " (%u-level paging): not a Linux x86-64 guest, or it is still booting",
				regs->cr3, a->info.paging_levels);
	return hwi_fail(err, HAYWIRE_E_MISMATCH,
			"the kernel text starts at 0x%" PRIx64 " (physical 0x%" PRIx64 ") but linux_banner is not where %s puts it: the symbols are not this kernel's",
			seen.va, seen.gpa, a->syms->path);
}

/* A NUL-terminated printable string of at most n - 1 bytes, or false. */
static bool printable(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i < n && i > 0;
}

static int read_identity(struct haywire_agentless *a,
			 struct haywire_error *err)
{
	struct haywire_agentless_info *in = &a->info;
	uint64_t uts, banner;
	char buf[sizeof(in->banner)];
	char *nl;
	unsigned int i, major, minor;
	int rc;

	if (!hwi_ksym(a, "init_uts_ns", &uts) ||
	    !hwi_ksym(a, "linux_banner", &banner))
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s lacks init_uts_ns or linux_banner",
				a->syms->path);
	rc = hwi_kread(a, uts + a->L.uts_release.off, in->release,
		       sizeof(in->release) < a->L.uts_release.size ?
		       sizeof(in->release) : a->L.uts_release.size, err);
	if (rc)
		return rc;
	in->release[sizeof(in->release) - 1] = '\0';
	rc = hwi_kread(a, banner, buf, sizeof(buf), err);
	if (rc)
		return rc;
	buf[sizeof(buf) - 1] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	snprintf(in->banner, sizeof(in->banner), "%s", buf);
	if (!printable(in->release, sizeof(in->release)) ||
	    strncmp(in->banner, BANNER_TAG, strlen(BANNER_TAG)) ||
	    strncmp(in->banner + strlen(BANNER_TAG), in->release,
		    strlen(in->release)) ||
	    in->banner[strlen(BANNER_TAG) + strlen(in->release)] != ' ')
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s does not fit the guest: by its layout the guest's release is '%.64s', but the guest's banner is '%.100s'",
				a->btf->path,
				printable(in->release, sizeof(in->release)) ?
				in->release : "(garbage)", in->banner);
	if (a->btf->banners) {
		for (i = 0; i < a->btf->banners; i++)
			if (!strncmp(a->btf->banner[i], in->banner,
				     strlen(in->banner)) &&
			    a->btf->banner[i][strlen(in->banner)] == '\n')
				break;
		if (i == a->btf->banners)
			return hwi_fail(err, HAYWIRE_E_MISMATCH,
					"%s is another kernel: '%.*s', but the guest runs '%.120s'",
					a->btf->path,
					(int)strcspn(a->btf->banner[0], "\n"),
					a->btf->banner[0], in->banner);
		in->banner_checked = true;
	}
	if (sscanf(in->release, "%u.%u", &major, &minor) != 2 || major > 99 ||
	    minor > 999)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"the guest's kernel release '%s' has no version number",
				in->release);
	a->version = major * 1000 + minor;
	if (a->version < 6001)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"the guest runs Linux %u.%u; the agentless walk needs 6.1 or later (maple-tree VMAs)",
				major, minor);
	return 0;
}

/* init_task through the BTF's eyes: catches a BTF of another build. */
static int check_init_task(struct haywire_agentless *a,
			   struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint64_t init, next, prev;
	char comm[HW_COMM_LEN + 1];
	int64_t pid;
	int rc;

	if (!hwi_ksym(a, "init_task", &init))
		return hwi_fail(err, HAYWIRE_E_MISMATCH, "%s lacks init_task",
				a->syms->path);
	rc = hwi_kread(a, init, a->task_buf, L->task_size, err);
	if (rc)
		return rc;
	pid = hwi_get_s32(a->task_buf, &L->task_pid);
	memcpy(comm, a->task_buf + L->task_comm.off, HW_COMM_LEN);
	comm[HW_COMM_LEN] = '\0';
	next = hwi_get(a->task_buf, &L->task_tasks);
	prev = 0;
	if (hwi_kptr_ok(next, 8)) {
		rc = hwi_kread_u64(a, next + 8, &prev, err);
		if (source_failed(rc))
			return rc;
	}
	if (pid != 0 || strncmp(comm, "swapper", 7) ||
	    hwi_get(a->task_buf, &L->task_mm) != 0 ||
	    prev != init + L->task_tasks.off) {
		size_t i;

		for (i = 0; i < HW_COMM_LEN && comm[i]; i++)
			if ((unsigned char)comm[i] < 0x20 ||
			    (unsigned char)comm[i] >= 0x7f)
				comm[i] = '?';
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s does not fit the guest's kernel: by its layout init_task has pid %" PRId64 " and comm '%s' and its task list does not link back",
				a->btf->path, pid, comm);
	}
	return 0;
}

static int read_cpus(struct haywire_agentless *a, struct haywire_error *err)
{
	uint64_t nr_va, offs_va, mask_va;
	uint32_t nr;
	uint64_t words[KX_NR_CPUS_MAX / 64];
	unsigned int i;
	int rc;

	if (!hwi_ksym(a, "nr_cpu_ids", &nr_va) ||
	    !hwi_ksym(a, "__per_cpu_offset", &offs_va) ||
	    !hwi_ksym(a, "__cpu_online_mask", &mask_va))
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s lacks nr_cpu_ids, __per_cpu_offset or __cpu_online_mask",
				a->syms->path);
	rc = hwi_kread(a, nr_va, &nr, sizeof(nr), err);
	if (rc)
		return rc;
	if (nr < 1 || nr > KX_NR_CPUS_MAX)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"the guest's nr_cpu_ids is %u", nr);
	a->nr_cpus = nr;
	a->info.cpus = nr;
	a->cpu_offset = calloc(nr, sizeof(*a->cpu_offset));
	a->cpu_online = calloc(nr, 1);
	if (!a->cpu_offset || !a->cpu_online)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	rc = hwi_kread(a, offs_va, a->cpu_offset, nr * sizeof(uint64_t), err);
	if (!rc)
		rc = hwi_kread(a, mask_va, words, (nr + 63) / 64 * 8, err);
	if (rc)
		return rc;
	for (i = 0; i < nr; i++)
		a->cpu_online[i] = (words[i / 64] >> (i % 64)) & 1;
	return 0;
}

struct haywire_agentless *hwi_agentless_new(const struct haywire_phys *phys,
					   uint64_t ram_end,
					   struct haywire_btf *btf,
					   struct haywire_symbols *syms,
					   unsigned int levels,
					   struct haywire_error *err)
{
	struct haywire_agentless *a = calloc(1, sizeof(*a));

	if (!a) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	a->phys = phys;
	a->btf = btf;
	a->syms = syms;
	a->ram_end = ram_end;
	a->info.paging_levels = levels;
	snprintf(a->info.btf_kind, sizeof(a->info.btf_kind), "%s", btf->kind);
	if (resolve_layout(a, err))
		goto fail;
	a->task_buf = malloc(a->L.task_size);
	if (!a->task_buf || a->L.mm_size > 64 * 1024 ||
	    a->L.maple_node_size > 4096) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto fail;
	}
	return a;
fail:
	a->btf = NULL;	/* the caller keeps them on failure */
	a->syms = NULL;
	haywire_agentless_close(a);
	return NULL;
}

/* ---- arm64: the kernel from its image, without system registers ------ */

/* Whether the arm64 Image of these symbols starts at text_pa. */
static int a64_image_at(struct haywire_agentless *a, uint64_t text_pa,
			bool *ok, struct haywire_error *err)
{
	static const char magic[4] = { 'A', 'R', 'M', 0x64 };
	char buf[sizeof(magic)];
	int rc;

	*ok = false;
	rc = a->phys->read(a->phys->ctx, text_pa + KA_IMAGE_MAGIC_OFF, buf,
			   sizeof(buf), err);
	if (source_failed(rc))
		return rc;
	if (rc || memcmp(buf, magic, sizeof(magic)))
		return 0;
	return banner_at(a, text_pa, ok, err);
}

/* Where the image search is: pass 0 on 2 MiB steps, pass 1 on 64 KiB. */
struct a64_cursor {
	unsigned int pass;
	uint64_t pa;		/* the next address to try */
};

/*
 * The Image is loaded 2 MiB aligned (Documentation/arch/arm64/booting.rst;
 * QEMU's -kernel), or 64 KiB aligned by the EFI stub: 2 MiB steps first.
 * Its header's magic, then linux_banner where the symbols put it. One
 * candidate at a time, so that a decoy (the guest controls its RAM) that
 * fails the later checks is passed over. *found = false: no more.
 */
static int a64_next_image(struct haywire_agentless *a, struct a64_cursor *c,
			  bool *found, struct haywire_error *err)
{
	int rc;

	*found = false;
	for (; c->pass < 2; c->pass++, c->pa = KA_VIRT_RAM_BASE) {
		uint64_t step = c->pass ? KA_IMAGE_ALIGN : 2 * MIB;

		for (; c->pa < a->ram_end; c->pa += step) {
			uint64_t pa = c->pa;

			if (c->pass && !((pa - KA_VIRT_RAM_BASE) % (2 * MIB)))
				continue;
			rc = a64_image_at(a, pa, found, err);
			if (rc)
				return rc;
			if (*found) {
				a->info.text_pa = pa;
				c->pa += step;
				return 0;
			}
		}
	}
	return 0;
}

/* A kernel variable of the image, read physically (no tables needed). */
static int a64_image_u64(struct haywire_agentless *a, const char *name,
			 uint64_t *v, struct haywire_error *err)
{
	uint64_t addr;

	if (!hwi_sym(a->syms, name, &addr) || addr < a->syms->text ||
	    addr - a->syms->text >= a->text_size)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s lacks %s (in the kernel image)",
				a->syms->path, name);
	return a->phys->read(a->phys->ctx,
			     a->info.text_pa + (addr - a->syms->text), v,
			     sizeof(*v), err);
}

/*
 * swapper_pg_dir (TTBR1's root) at its place in the image; the number of
 * levels is the one that maps _text where the image is: 4 (48-bit VAs),
 * 5 (52-bit VAs with LPA2, 6.9+) or 3 (39-bit VAs).
 */
static int a64_kernel_tables(struct haywire_agentless *a,
			     struct haywire_error *err)
{
	static const unsigned int levels[3] = { 4, 5, 3 };
	uint64_t sym, pa;
	unsigned int i;
	int rc;

	if (!hwi_sym(a->syms, "swapper_pg_dir", &sym) || sym < a->syms->text ||
	    sym - a->syms->text >= a->text_size || sym % 4096)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"%s lacks swapper_pg_dir in the kernel image",
				a->syms->path);
	for (i = 0; i < 3; i++) {
		struct haywire_paging pg;

		/* any 6.x release: kernel mappings hold no PROT_NONE */
		rc = haywire_paging_init(&pg, HW_ARCH_ARM64, levels[i], 4096,
					 "6.1", a->info.text_pa +
					 (sym - a->syms->text), err);
		if (rc)
			return rc;
		pg.arm64_ttbr1 = true;
		rc = translate_one(a->phys, &pg, a->info.text_va, &pa, err);
		if (rc)
			return rc;
		if (pa == a->info.text_pa) {
			a->kpaging = pg;
			a->info.paging_levels = levels[i];
			return 0;
		}
	}
	return hwi_fail(err, HAYWIRE_E_MISMATCH,
			"swapper_pg_dir (physical 0x%" PRIx64 ") does not map _text 0x%" PRIx64 " to the image at 0x%" PRIx64 " with 3, 4 or 5 levels: the symbols are not this boot's",
			a->info.text_pa + (sym - a->syms->text), a->info.text_va,
			a->info.text_pa);
}

/*
 * The linear map: VA = PA - memstart_addr + PAGE_OFFSET, PAGE_OFFSET the
 * bottom of the kernel half (-2^VA_BITS). Kept as page_offset_base =
 * PAGE_OFFSET - memstart_addr, so that VA - page_offset_base = PA as on
 * x86-64; checked by mapping the image's linear alias.
 */
static int a64_linear_map(struct haywire_agentless *a,
			  struct haywire_error *err)
{
	unsigned int va_bits = a->info.paging_levels == 5 ? 52 :
			       12 + 9 * a->info.paging_levels;
	uint64_t memstart, pob, pa, probe;
	int rc;

	rc = a64_image_u64(a, "memstart_addr", &memstart, err);
	if (rc)
		return rc;
	if (memstart % (2 * MIB) || memstart >= a->ram_end)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"the guest's memstart_addr 0x%" PRIx64 " is not in RAM",
				memstart);
	pob = (~0ULL << va_bits) - memstart;
	/* the image's alias, or the first page of RAM if that is unmapped */
	probe = a->info.text_pa;
	rc = translate_one(a->phys, &a->kpaging, pob + probe, &pa, err);
	if (!rc && pa != probe) {
		probe = memstart > KA_VIRT_RAM_BASE ? memstart : KA_VIRT_RAM_BASE;
		rc = translate_one(a->phys, &a->kpaging, pob + probe, &pa, err);
	}
	if (rc)
		return rc;
	if (pa != probe)
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"the linear map at 0x%" PRIx64 " (memstart_addr 0x%" PRIx64 ", %u-bit VAs) does not map RAM",
				pob + probe, memstart, va_bits);
	a->info.page_offset_base = pob;
	return 0;
}

/*
 * Without the CPU's registers everything starts from data symbols, which
 * /proc/kallsyms lists only with CONFIG_KALLSYMS_ALL (Debian's arm64 6.1
 * has it off; its /boot/System.map is a placeholder).
 */
static int a64_need_symbols(struct haywire_agentless *a,
			    struct haywire_error *err)
{
	static const char *const need[] = {
		"swapper_pg_dir", "kimage_voffset", "memstart_addr",
		"linux_banner", "init_uts_ns", "init_task",
	};
	uint64_t addr;
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!hwi_sym(a->syms, need[i], &addr))
			return hwi_fail(err, HAYWIRE_E_MISMATCH,
					"%s has no %s: the agentless walk of an arm64 guest needs the kernel's data symbols (a /proc/kallsyms of a kernel with CONFIG_KALLSYMS_ALL, or the System.map of its debug package)",
					a->syms->path, need[i]);
	return 0;
}

static int a64_try_image(struct haywire_agentless *a,
			 struct haywire_error *err);

static int a64_locate(struct haywire_agentless *a, struct haywire_error *err)
{
	struct a64_cursor cur = { 0, KA_VIRT_RAM_BASE };
	struct haywire_error last;
	unsigned int tried = 0;
	bool found;
	uint64_t end;
	int rc;

	a->text_size = hwi_sym(a->syms, "_end", &end) && end > a->syms->text &&
		       end - a->syms->text <= 1024 * MIB ?
		       end - a->syms->text : DEFAULT_TEXT_SIZE;
	rc = a64_need_symbols(a, err);
	if (rc)
		return rc;
	for (;;) {
		rc = a64_next_image(a, &cur, &found, err);
		if (rc || !found)
			break;
		rc = a64_try_image(a, &last);
		if (rc != HAYWIRE_E_MISMATCH) {
			if (rc && err)
				*err = last;
			return rc;
		}
		tried++;	/* a decoy, or the wrong symbols: go on */
	}
	if (rc)
		return rc;
	if (tried) {
		if (err)
			*err = last;
		return last.code;
	}
	return hwi_fail(err, HAYWIRE_E_MISMATCH,
			"no arm64 kernel Image with linux_banner where %s puts it in guest RAM (0x%llx-0x%" PRIx64 "): not an arm64 Linux guest, or the symbols are not this kernel's",
			a->syms->path, KA_VIRT_RAM_BASE, a->ram_end);
}

/* The image is at text_pa: KASLR, the kernel's tables, the linear map. */
static int a64_try_image(struct haywire_agentless *a,
			 struct haywire_error *err)
{
	uint64_t voffset;
	int rc;

	rc = a64_image_u64(a, "kimage_voffset", &voffset, err);
	if (rc)
		return rc;
	/*
	 * _text's VA this boot: the image's PA + kimage_voffset (VA - PA of
	 * the image), so a System.map with link addresses works as well as
	 * a kallsyms copy; swapper_pg_dir must then map it there.
	 */
	a->info.text_va = a->info.text_pa + voffset;
	a->info.kaslr_offset = voffset;
	if (!hwi_kptr_ok(a->info.text_va, 4096))
		return hwi_fail(err, HAYWIRE_E_MISMATCH,
				"the guest's kimage_voffset 0x%" PRIx64 " puts _text at 0x%" PRIx64 ", outside the kernel half: the symbols are not this kernel's",
				voffset, a->info.text_va);
	rc = a64_kernel_tables(a, err);
	if (!rc)
		rc = a64_linear_map(a, err);
	if (!rc)
		a->info.kernel_root = a->kpaging.root;
	return rc;
}

struct haywire_agentless *haywire_agentless_open(const struct haywire_phys *phys,
						 uint64_t ram_end,
						 const struct haywire_cpu_regs *regs,
						 struct haywire_btf *btf,
						 struct haywire_symbols *syms,
						 struct haywire_error *err)
{
	struct haywire_agentless *a;
	uint64_t end, sym, pob, pa;
	int rc;

	if (regs->arch == HW_ARCH_ARM64) {
		a = hwi_agentless_new(phys, ram_end, btf, syms, 4, err);
		if (!a)
			return NULL;
		a->arch = a->info.arch = HW_ARCH_ARM64;
		rc = a64_locate(a, err);
		goto identify;
	}
	if (!(regs->cr0 & CR0_PG) || !(regs->efer & EFER_LMA)) {
		hwi_fail(err, HAYWIRE_E_MISMATCH,
			 "the guest's first CPU is not in 64-bit mode (CR0 0x%" PRIx64 ", EFER 0x%" PRIx64 "): still booting, or not an x86-64 guest",
			 regs->cr0, regs->efer);
		return NULL;
	}
	a = hwi_agentless_new(phys, ram_end, btf, syms,
			      regs->cr4 & CR4_LA57 ? 5 : 4, err);
	if (!a)
		return NULL;
	a->arch = a->info.arch = HW_ARCH_X86_64;
	a->info.cr3 = regs->cr3;
	rc = locate_text(a, regs, err);
	if (rc)
		goto fail;
	a->info.kaslr_offset = a->info.text_va - KX_TEXT_LINK_ADDRESS;
	a->text_size = hwi_sym(syms, "_end", &end) && end > syms->text &&
		       end - syms->text <= 1024 * MIB ?
		       end - syms->text : DEFAULT_TEXT_SIZE;

	/* The kernel's own page tables, if they agree about the text. */
	if (hwi_ksym(a, "init_top_pgt", &sym)) {
		struct haywire_paging pg = {
			.root = a->info.text_pa + (sym - a->info.text_va),
			.levels = a->info.paging_levels,
			.arch = HW_ARCH_X86_64,
		};

		rc = translate_one(phys, &pg, a->info.text_va, &pa, err);
		if (rc)
			goto fail;
		if (pa == a->info.text_pa)
			a->kpaging = pg;
	}
	a->info.kernel_root = a->kpaging.root;

	/* The direct map: page_offset_base, 1 GiB aligned. */
	pob = a->info.paging_levels == 5 ? KX_DIRECT_MAP_L5 : KX_DIRECT_MAP_L4;
	if (hwi_ksym(a, "page_offset_base", &sym)) {
		rc = hwi_kread_u64(a, sym, &pob, err);
		if (rc)
			goto fail;
	}
	pa = 1;
	if (hwi_kptr_ok(pob, GIB)) {
		rc = translate_one(phys, &a->kpaging, pob + a->info.text_pa,
				   &pa, err);
		if (rc)
			goto fail;
	}
	if (pa != a->info.text_pa) {
		hwi_fail(err, HAYWIRE_E_MISMATCH,
			 "the direct map base 0x%" PRIx64 " read from page_offset_base does not map the kernel: the symbols are not this kernel's",
			 pob);
		goto fail;
	}
	a->info.page_offset_base = pob;

identify:
	if (!rc)
		rc = read_identity(a, err);
	if (!rc)
		rc = check_init_task(a, err);
	if (!rc)
		rc = read_cpus(a, err);
	if (rc)
		goto fail;
	return a;
fail:
	a->btf = NULL;	/* the caller keeps them on failure */
	a->syms = NULL;
	haywire_agentless_close(a);
	return NULL;
}

bool haywire_agentless_supported(void)
{
	return true;
}

void haywire_agentless_close(struct haywire_agentless *a)
{
	if (!a)
		return;
	haywire_btf_close(a->btf);
	haywire_symbols_close(a->syms);
	hwi_names_free(&a->names);
	free(a->cpu_offset);
	free(a->cpu_online);
	free(a->task_buf);
	free(a);
}

const struct haywire_agentless_info *
haywire_agentless_info(const struct haywire_agentless *a)
{
	return &a->info;
}
