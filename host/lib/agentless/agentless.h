/* SPDX-License-Identifier: MIT */
/*
 * libhaywire internals of the agentless walk (btf.c, symbols.c, kernel.c,
 * kwalk.c, maple.c):
 * where the guest kernel is, the layout of its structures (from BTF), and
 * reads of kernel virtual memory.
 */
#ifndef HAYWIRE_AGENTLESS_H
#define HAYWIRE_AGENTLESS_H

#include "../core/core.h"

/* ---- inputs (btf.c, symbols.c) ---------------------------------------- */

/* The kernel image's text window: _text is in it, 2 MiB aligned. */
#define HWI_KERNEL_TEXT_WINDOW		0xffffffff80000000ULL
#define HWI_KERNEL_TEXT_WINDOW_END	0xffffffffc0000000ULL

#define HAYWIRE_BTF_BANNERS	4

struct haywire_btf {
	struct btf *btf;		/* libbpf */
	char path[HW_PATH_MAX];
	char kind[32];			/* "raw BTF", "bzImage (zstd)" ... */
	unsigned int banners;		/* linux_banner candidates (image) */
	char banner[HAYWIRE_BTF_BANNERS][512];
};

/* A member (dotted path through nested members) of a type. */
struct hwi_field {
	uint32_t off, size;		/* bytes */
	int type_id;			/* resolved type of the member */
	uint32_t nelems, elem_size;	/* arrays */
	int elem_type_id;
	bool have;
};

int hwi_btf_field(const struct haywire_btf *b, const char *type,
		  const char *path, struct hwi_field *f);
int hwi_btf_size(const struct haywire_btf *b, const char *type,
		 uint32_t *size);
bool hwi_btf_is_struct(const struct haywire_btf *b, int type_id,
		       const char *name);
int hwi_btf_enum_value(const struct haywire_btf *b, const char *name,
		       int64_t *value);

struct hwi_sym {
	uint64_t addr;
	uint32_t name_off;
	char type;
};

struct haywire_symbols {
	char path[HW_PATH_MAX];
	struct hwi_sym *by_name, *by_addr;
	size_t count;
	char *names;
	uint64_t text;			/* _text as the file has it */
};

bool hwi_sym(const struct haywire_symbols *s, const char *name,
	     uint64_t *addr);
const char *hwi_sym_at(const struct haywire_symbols *s, uint64_t addr);
bool hwi_sym_at_is(const struct haywire_symbols *s, uint64_t addr,
		   const char *name);

/* Kernel constants that are #defines, not in BTF; the same from 5.14
 * (task->__state) through 6.12, on x86-64 and on arm64 (4 KiB pages). */
#define KX_PF_KTHREAD		0x00200000U
#define KX_PF_WQ_WORKER		0x00000020U
#define KX_TASK_REPORT		0x7fU	/* R S D T t X Z P bits */
#define KX_TASK_IDLE		0x402U	/* UNINTERRUPTIBLE | NOLOAD */
#define KX_TASK_RTLOCK_WAIT	0x1000U
#define KX_TASK_UNINTERRUPTIBLE	0x2U
#define KX_VM_READ		0x1UL
#define KX_VM_WRITE		0x2UL
#define KX_VM_EXEC		0x4UL
#define KX_VM_MAYSHARE		0x80UL
#define KX_FMODE_BACKING	0x2000000U	/* 6.8+: a backing file */
#define KX_PAGE_SHIFT		12
#define KX_PID_MAX_LIMIT	(4 * 1024 * 1024)	/* tasks at most */
#define KX_NR_CPUS_MAX		8192
#define KX_DNAME_MAX		4096	/* PATH_MAX */
#define KX_DIRECT_MAP_L4	0xffff888000000000ULL	/* without KASLR */
#define KX_DIRECT_MAP_L5	0xff11000000000000ULL
#define KX_KERNEL_HALF		0xffff800000000000ULL	/* 4-level */
#define KX_TEXT_LINK_ADDRESS	0xffffffff81000000ULL	/* _text, no KASLR */

/* arm64 (Linux's arch/arm64/include/asm/image.h, memory.h; QEMU's virt) */
#define KA_VIRT_RAM_BASE	0x40000000ULL	/* QEMU virt: RAM starts here */
#define KA_IMAGE_MAGIC_OFF	0x38		/* "ARM\x64" in the Image header */
#define KA_IMAGE_ALIGN		0x10000ULL	/* the boot protocol's minimum */

/* The structure layout the walk needs, resolved from BTF at open. */
struct hwi_layout {
	uint32_t task_size, mm_size, vma_size, file_size, dentry_size;
	uint32_t maple_node_size;
	struct hwi_field task_tasks, task_pid, task_tgid, task_real_parent,
		task_real_cred, task_comm, task_flags, task_state,
		task_exit_state, task_start_boottime, task_mm, task_signal,
		task_thread_pid;
	struct hwi_field cred_uid, cred_gid, cred_euid, cred_egid;
	struct hwi_field signal_nr_threads;
	struct hwi_field mm_root, mm_mt_flags, mm_total_vm, mm_rss_stat,
		mm_pgd, mm_exe_file, mm_map_count, mm_brk, mm_start_brk,
		mm_start_stack;
	bool rss_percpu;		/* 6.2+: struct percpu_counter[] */
	struct hwi_field pcc_count, pcc_counters;
	uint32_t pcc_size;
	int64_t mm_counter[3];		/* MM_FILEPAGES, ANON, SHMEM */
	struct hwi_field r64_pivot, r64_slot, r64_meta_end;
	struct hwi_field a64_pivot, a64_slot, a64_meta_end;
	int64_t mt_leaf64, mt_range64, mt_arange64;
	struct hwi_field vma_start, vma_end, vma_flags, vma_pgoff, vma_file,
		vma_ops, vma_private, vma_anon_name;
	struct hwi_field anon_name_name;
	struct hwi_field ops_name, special_name;
	struct hwi_field file_mnt, file_dentry, file_inode, file_mode;
	struct hwi_field backing_mnt, backing_dentry;	/* 6.8+ */
	struct hwi_field dentry_parent, dentry_name_len, dentry_name,
		dentry_inode, dentry_op, dentry_hash_pprev;
	struct hwi_field dop_dname;
	struct hwi_field inode_ino, inode_sb, sb_dev;
	struct hwi_field mount_mnt, mount_parent, mount_mountpoint,
		vfsmount_root;
	struct hwi_field uts_release;
};

/* A small cache: (key1, key2) -> string, for path names. */
struct hwi_name_cache {
	struct hwi_name_entry {
		uint64_t k1, k2;
		char *name;	/* NULL: free slot */
		uint32_t len;
		uint32_t flags;
		uint64_t arena_id;	/* kwalk.c: already in this arena, */
		uint32_t arena_off;	/* at this offset */
	} *slots;
	size_t nslots, used;
};

struct haywire_agentless {
	const struct haywire_phys *phys;
	struct haywire_btf *btf;
	struct haywire_symbols *syms;
	struct hwi_layout L;
	struct haywire_agentless_info info;
	uint64_t ram_end;		/* highest guest-physical RAM byte + 1 */
	uint64_t text_size;		/* _end - _text */
	struct haywire_paging kpaging;	/* the kernel's own page tables */
	unsigned int version;		/* major * 1000 + minor */
	unsigned int arch;		/* HW_ARCH_X86_64 or HW_ARCH_ARM64 */
	/* per-CPU data, for per-CPU RSS counters */
	unsigned int nr_cpus;
	uint64_t *cpu_offset;		/* NULL: not read yet */
	unsigned char *cpu_online;	/* one byte per CPU */
	struct hwi_name_cache names;	/* (mnt, dentry) -> path */
	unsigned int unknown_names;	/* VMA names not reconstructed */
	char unknown_what[96];
	char *task_buf;			/* the task being looked at */
};

/*
 * A handle with the layout resolved and nothing located yet (the open
 * fills in where the kernel is; tests may set it themselves). Takes btf
 * and syms only on success.
 */
struct haywire_agentless *hwi_agentless_new(const struct haywire_phys *phys,
					   uint64_t ram_end,
					   struct haywire_btf *btf,
					   struct haywire_symbols *syms,
					   unsigned int levels,
					   struct haywire_error *err);

/* The runtime address of a symbol (false if the map lacks it). */
bool hwi_ksym(const struct haywire_agentless *a, const char *name,
	      uint64_t *va);
/* The symbol at a runtime address is `name`. */
bool hwi_ksym_is(const struct haywire_agentless *a, uint64_t va,
		 const char *name);
const char *hwi_ksym_at(const struct haywire_agentless *a, uint64_t va);
/* Copy kernel virtual memory. */
int hwi_kread(struct haywire_agentless *a, uint64_t va, void *dst,
	      size_t len, struct haywire_error *err);
int hwi_kread_u64(struct haywire_agentless *a, uint64_t va, uint64_t *v,
		  struct haywire_error *err);
/* A plausible kernel pointer: upper half, canonical, aligned. */
bool hwi_kptr_ok(uint64_t va, unsigned int align);

/* Fields of a copied structure; the layout guarantees they fit. */
static inline uint64_t hwi_get(const void *buf, const struct hwi_field *f)
{
	uint64_t v = 0;

	memcpy(&v, (const char *)buf + f->off, f->size < 8 ? f->size : 8);
	return v;
}

static inline int64_t hwi_get_s32(const void *buf, const struct hwi_field *f)
{
	int32_t v;

	memcpy(&v, (const char *)buf + f->off, 4);
	return v;
}

/* kwalk.c */
void hwi_names_free(struct hwi_name_cache *c);

/* maple.c: every entry of a maple tree in index order. */
typedef int (*hwi_maple_fn)(void *arg, uint64_t first, uint64_t last,
			    uint64_t entry);
int hwi_maple_walk(struct haywire_agentless *a, uint64_t root,
		   uint32_t ma_flags, uint64_t max_entries, hwi_maple_fn fn,
		   void *arg, struct haywire_error *err);

#endif /* HAYWIRE_AGENTLESS_H */
