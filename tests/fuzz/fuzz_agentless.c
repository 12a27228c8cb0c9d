// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over what the agentless sources read from untrusted
 * places. The first input byte picks:
 *
 *   0  QEMU's "info registers" text
 *   1  QEMU's "info mtree -f" text
 *   else  guest memory: the rest of the input is the start of a 4 MiB
 *         guest RAM image in which the guest kernel's structures live (the
 *         kernel image at 32 KiB, the direct map over all of it), walked
 *         as ps, maps and translate would, with the layout of the Debian
 *         6.1 kernel's BTF ($HAYWIRE_FUZZ_BTF) and a small System.map.
 *
 * Garbage must end in an error, never a crash, a leak or a hang.
 *
 * With $HAYWIRE_FUZZ_MAKE_SEED=FILE it writes a seed instead: a well-formed
 * kernel memory image (init_task, one process with an address space, a
 * maple tree with one VMA mapping a file, its dentries and mount), built
 * from the same BTF layout, so that mutations start deep in the walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haywire.h"
#include "lib/agentless/agentless.h"
#include "output.h"

#define IMAGE_SIZE	(4u << 20)
#define TEXT_PA		0x8000u
#define TEXT_VA		0xffffffff81000000ULL
#define POB		0xffff888000000000ULL
#define INIT_TASK_OFF	0x2000

static unsigned char image[IMAGE_SIZE];
static size_t dirty;
static FILE *sink;
static struct haywire_mem *mem;
static struct haywire_gpa_map map = { 1, { { 0, IMAGE_SIZE, 0 } } };
static struct haywire_phys_mem pm;
static struct haywire_phys phys;
static struct haywire_agentless *walker;
static uint64_t cpu_offsets[2] = { 0, 0x1000 };
static unsigned char cpu_online[2] = { 1, 1 };

static const char symbols[] =
	"ffffffff81000000 T _text\n"
	"ffffffff81000100 t special_mapping_name\n"
	"ffffffff81000200 T simple_dname\n"
	"ffffffff81000300 t anon_inodefs_dname\n"
	"ffffffff81000400 t pipefs_dname\n"
	"ffffffff81000500 t sockfs_dname\n"
	"ffffffff81000600 t other_dname\n"
	"ffffffff81000800 D linux_banner\n"
	"ffffffff81001000 D init_uts_ns\n"
	"ffffffff81002000 D init_task\n"
	"ffffffff81100000 B _end\n";

static struct haywire_agentless *make_walker(void)
{
	const char *btf_path = getenv("HAYWIRE_FUZZ_BTF");
	char path[] = "/tmp/hw-fuzz-syms.XXXXXX";
	struct haywire_error err;
	struct haywire_symbols *syms;
	struct haywire_btf *btf;
	struct haywire_agentless *a;
	int fd;

	if (!btf_path)
		return NULL;
	btf = haywire_btf_open(btf_path, &err);
	if (!btf) {
		fprintf(stderr, "fuzz_agentless: %s\n", err.msg);
		exit(1);
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, symbols, sizeof(symbols) - 1) !=
		      (ssize_t)sizeof(symbols) - 1)
		exit(1);
	close(fd);
	syms = haywire_symbols_open(path, &err);
	unlink(path);
	if (!syms)
		exit(1);
	mem = haywire_mem_from_buffer(image, IMAGE_SIZE, &err);
	if (!mem)
		exit(1);
	pm.mem = mem;
	pm.map = &map;
	phys.read = haywire_phys_mem_read;
	phys.ctx = &pm;
	a = hwi_agentless_new(&phys, IMAGE_SIZE, btf, syms, 4, &err);
	if (!a) {
		fprintf(stderr, "fuzz_agentless: %s\n", err.msg);
		exit(1);
	}
	/* where the open would have found the kernel */
	a->info.text_va = TEXT_VA;
	a->info.text_pa = TEXT_PA;
	a->text_size = IMAGE_SIZE - TEXT_PA;
	a->info.page_offset_base = POB;
	a->kpaging.root = 0;
	a->kpaging.levels = 4;
	a->nr_cpus = 2;
	a->cpu_offset = malloc(sizeof(cpu_offsets));
	a->cpu_online = malloc(sizeof(cpu_online));
	if (!a->cpu_offset || !a->cpu_online)
		exit(1);
	memcpy(a->cpu_offset, cpu_offsets, sizeof(cpu_offsets));
	memcpy(a->cpu_online, cpu_online, sizeof(cpu_online));
	return a;
}

/* ---- the seed: a small well-formed kernel -------------------------------- */

static void put(uint64_t pa, const struct hwi_field *f, uint64_t v)
{
	memcpy(image + pa + f->off, &v, f->size < 8 ? f->size : 8);
}

/* The direct map's address of a guest-physical address. */
static uint64_t va_of(uint64_t pa)
{
	return POB + pa;
}

static void make_seed(const char *out)
{
	const struct hwi_layout *L = &walker->L;
	const uint64_t init = TEXT_PA + INIT_TASK_OFF, task = 0xd000,
		cred = 0x10000, signal = 0x10400, mm = 0x11000,
		leaf = 0x12000, vma = 0x12400, file = 0x12800,
		dentry = 0x12c00, root = 0x13000, mount = 0x13400,
		inode = 0x13800, sb = 0x14000, seed_size = 0x15000;
	const uint64_t init_va = TEXT_VA + INIT_TASK_OFF;
	struct hwi_field iname;
	uint64_t node_type = (uint64_t)L->mt_leaf64;
	FILE *f;

	memset(image, 0, sizeof(image));
	memcpy(image + TEXT_PA + 0x800, "Linux version 6.1.0-fuzz (x) #1\n", 33);
	/* init_task <-> task, a two-entry task list */
	put(init, &L->task_pid, 0);
	memcpy(image + init + L->task_comm.off, "swapper/0", 10);
	put(init, &L->task_tasks, va_of(task) + L->task_tasks.off);
	put(init + 8, &L->task_tasks, va_of(task) + L->task_tasks.off);
	put(task, &L->task_tasks, init_va + L->task_tasks.off);
	put(task + 8, &L->task_tasks, init_va + L->task_tasks.off);
	put(task, &L->task_pid, 1);
	put(task, &L->task_tgid, 1);
	memcpy(image + task + L->task_comm.off, "init", 5);
	put(task, &L->task_state, 1);
	put(task, &L->task_real_parent, init_va);
	put(task, &L->task_real_cred, va_of(cred));
	put(task, &L->task_signal, va_of(signal));
	put(task, &L->task_mm, va_of(mm));
	put(task, &L->task_thread_pid, va_of(0x14800));
	put(task, &L->task_start_boottime, 123456789);
	put(cred, &L->cred_uid, 1000);
	put(cred, &L->cred_euid, 1000);
	put(signal, &L->signal_nr_threads, 1);
	/* the address space: one VMA in a one-leaf maple tree */
	put(mm, &L->mm_total_vm, 1);
	put(mm, &L->mm_pgd, va_of(0x1000));
	put(mm, &L->mm_exe_file, va_of(file));
	put(mm, &L->mm_map_count, 1);
	put(mm, &L->mm_root, va_of(leaf) | node_type << 3 | 4 | 2);
	put(mm, &L->mm_mt_flags, 1 << 2);
	memcpy(image + leaf + L->r64_pivot.off, &(uint64_t){ 0x3fffff }, 8);
	memcpy(image + leaf + L->r64_pivot.off + 8, &(uint64_t){ 0x400fff }, 8);
	memcpy(image + leaf + L->r64_pivot.off + 16,
	       &(uint64_t){ UINT64_MAX }, 8);
	memcpy(image + leaf + L->r64_slot.off + 8, &(uint64_t){ va_of(vma) },
	       8);
	image[leaf + L->r64_meta_end.off] = 2;
	put(vma, &L->vma_start, 0x400000);
	put(vma, &L->vma_end, 0x401000);
	put(vma, &L->vma_flags, 5);
	put(vma, &L->vma_file, va_of(file));
	/* the file: /f on a root mount */
	put(file, &L->file_mnt, va_of(mount) + L->mount_mnt.off);
	put(file, &L->file_dentry, va_of(dentry));
	put(file, &L->file_inode, va_of(inode));
	if (hwi_btf_field(walker->btf, "dentry", "d_iname", &iname) == 0) {
		memcpy(image + dentry + iname.off, "f", 2);
		put(dentry, &L->dentry_name, va_of(dentry) + iname.off);
		memcpy(image + root + iname.off, "/", 2);
		put(root, &L->dentry_name, va_of(root) + iname.off);
	}
	put(dentry, &L->dentry_name_len, 1);
	put(dentry, &L->dentry_parent, va_of(root));
	put(dentry, &L->dentry_hash_pprev, va_of(root));
	put(dentry, &L->dentry_inode, va_of(inode));
	put(root, &L->dentry_name_len, 1);
	put(root, &L->dentry_parent, va_of(root));
	put(mount, &L->mount_parent, va_of(mount));
	put(mount, &L->mount_mountpoint, va_of(root));
	put(mount + L->mount_mnt.off, &L->vfsmount_root, va_of(root));
	put(inode, &L->inode_ino, 42);
	put(inode, &L->inode_sb, va_of(sb));
	put(sb, &L->sb_dev, 0x800001);

	f = fopen(out, "wb");
	if (!f || fputc(2, f) == EOF ||
	    fwrite(image, 1, seed_size, f) != seed_size || fclose(f))
		exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("HAYWIRE_FUZZ_MAKE_SEED");

	(void)argc;
	(void)argv;
	sink = fopen("/dev/null", "w");
	walker = make_walker();
	if (seed) {
		if (!walker)
			exit(1);
		make_seed(seed);
		exit(0);
	}
	return 0;
}

static void walk(const uint8_t *data, size_t size)
{
	struct haywire_error err;
	struct haywire_procs *procs;
	struct haywire_maps *maps;
	struct haywire_paging pg;
	int32_t pids[6];
	unsigned int n = 0, i;

	memset(image, 0, dirty);
	memcpy(image, data, size);
	dirty = size;
	/* 6.1's or 6.6's rules for [heap] */
	walker->version = size && (data[0] & 1) ? 6012 : 6001;
	if (!haywire_agentless_procs(walker, &procs, &err)) {
		print_ps(sink, procs, true);
		print_json_ps(sink, procs, "beacon");
		for (i = 0; i < procs->count && n < 4; i++)
			pids[n++] = procs->procs[i].pid;
		haywire_procs_free(procs);
	}
	pids[n++] = 1;
	if (size >= 4)
		memcpy(&pids[n++], data + size - 4, 4);
	for (i = 0; i < n; i++) {
		if (!haywire_agentless_maps(walker, pids[i], &maps, &err)) {
			print_maps(sink, maps);
			print_json_maps(sink, maps, "beacon");
			haywire_maps_free(maps);
		}
		if (!haywire_agentless_paging(walker, pids[i], &pg, &err)) {
			unsigned char buf[64];

			haywire_read_virt(&phys, &pg, 0x400000, buf, sizeof(buf),
					  &err);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haywire_cpu_regs regs;
	struct haywire_qemu_ram ram;
	struct haywire_error err;
	char *text;

	if (!size)
		return 0;
	if (data[0] <= 1) {
		text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if (data[0] == 0)
			haywire_parse_registers(text, &regs, &err);
		else
			haywire_parse_mtree(text, "ram", &ram, &err);
		free(text);
		return 0;
	}
	if (walker)
		walk(data + 1, size - 1 > IMAGE_SIZE ? IMAGE_SIZE : size - 1);
	return 0;
}
