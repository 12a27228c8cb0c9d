// SPDX-License-Identifier: MIT
/*
 * The shared publisher (kmod/publish.c) and string table (kmod/strtab.c),
 * built for user space as haywire-bpf builds them: a beacon they publish
 * in a RAM file is read back by libhaywire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "haywire.h"
#include "publish.h"
#include "strtab.h"

#define RAM_SIZE	(16ULL << 20)
#define INDEX_AT	(4ULL << 20)	/* 2 MiB-aligned */

static void test_strtab(void)
{
	struct hw_staging acct = { 0, 1 << 20 };
	struct hw_strtab t = { 0 };
	struct hw_str a, b, c;
	char name[32];
	uint32_t hash;
	unsigned int i;

	t.acct = &acct;
	t.nr_slots = 4;
	t.slots = calloc(t.nr_slots, sizeof(*t.slots));
	t.cap = 1 << 16;
	t.bytes = malloc(t.cap);
	hw_strtab_reset(&t);
	CHECK_U64(t.used, 1);
	CHECK(!hw_strtab_find(&t, "/bin/sh", 7, &hash, &a));
	hw_strtab_add(&t, "/bin/sh", 7, hash, &a);
	CHECK_U64(a.off, 1);
	CHECK_U64(a.len, 7);
	CHECK(hw_strtab_find(&t, "/bin/sh", 7, &hash, &b));
	CHECK_U64(b.off, a.off);
	/* past 3/4 of 4 slots: the table grows and keeps every string */
	for (i = 0; i < 100; i++) {
		int n = snprintf(name, sizeof(name), "/lib/%u.so", i);

		if (!hw_strtab_find(&t, name, (uint32_t)n, &hash, &c))
			hw_strtab_add(&t, name, (uint32_t)n, hash, &c);
	}
	CHECK(t.nr_slots >= 128);
	CHECK(hw_strtab_find(&t, "/lib/42.so", 10, &hash, &c));
	CHECK_STR(t.bytes + c.off, "/lib/42.so");
	CHECK(hw_strtab_find(&t, "/bin/sh", 7, &hash, &b) && b.off == a.off);
	free(t.bytes);
	free(t.slots);
}

static void test_publish(void)
{
	char path[] = "/tmp/hw-publish-XXXXXX";
	int fd = mkstemp(path);
	unsigned char *ram;
	struct hw_publisher p = { 0 };
	struct hw_identity id = {
		.nonce = 0x1234, .self_gpa = INDEX_AT, .page_size = 4096,
		.arch = HW_ARCH_X86_64, .paging_levels = 4,
		.companion = HW_COMPANION_EBPF, .load_real_ns = 1,
		.kernel_release = "6.1.0-test", .companion_version = "test 1",
	};
	struct hw_publication pub = { 0 };
	struct hw_range ext = { INDEX_AT, 2ULL << 20 };
	struct hw_range ram_range = { 0, RAM_SIZE };
	struct hw_frame f = {
		.mono_ns = 1, .boot_ns = 1, .real_ns = 0, .extent_count = 1,
		.extents = &ext, .logical_size = 2ULL << 20, .ram_count = 1,
		.ram = &ram_range,
	};
	struct hw_proc *procs;
	struct haywire_error err;
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	struct haywire_procs *got;
	struct haywire_info info;
	char *strs;

	CHECK(fd >= 0 && ftruncate(fd, RAM_SIZE) == 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(ram != MAP_FAILED);
	p.index = (struct hw_index *)(ram + INDEX_AT);
	hw_pub_identity(p.index, &id);
	/* one process and its exe string at logical 64 KiB and 128 KiB */
	procs = (struct hw_proc *)(ram + INDEX_AT + (64 << 10));
	strs = (char *)(ram + INDEX_AT + (128 << 10));
	memcpy(strs, "\0/sbin/init", 12);
	procs[0].pid = procs[0].tgid = 1;
	procs[0].state = 'S';
	memcpy(procs[0].comm, "init", 5);
	procs[0].exe = (struct hw_str){ 1, 10 };
	hw_pub_add_section(&pub, HW_SEC_PROCS, sizeof(struct hw_proc),
			   64 << 10, 1);
	hw_pub_add_section(&pub, HW_SEC_VMAS, sizeof(struct hw_vma),
			   96 << 10, 0);
	hw_pub_add_section(&pub, HW_SEC_STRINGS, 1, 128 << 10, 12);
	pub.procs_total = 1;
	pub.strings_total = 12;
	pub.interval_ms = 1000;
	f.real_ns = (uint64_t)time(NULL) * 1000000000ULL;
	hw_pub_publish(&p, &pub, &f);
	CHECK_U64(p.index->seq, 2);
	CHECK_U64(p.index->generation, 1);
	hw_pub_set_magic(&p);

	mem = haywire_mem_open(path, &err);
	CHECK(mem);
	b = mem ? haywire_discover(mem, NULL, &err) : NULL;
	CHECK(b);
	if (b) {
		CHECK_RC(haywire_read_procs(b, &got, &err), HAYWIRE_OK, &err);
		CHECK_U64(got->count, 1);
		CHECK_STR(got->procs[0].exe, "/sbin/init");
		CHECK_STR(got->info.companion_version, "test 1");
		CHECK_U64(got->info.companion, HW_COMPANION_EBPF);
		haywire_procs_free(got);
		/* stalled, then gone: seq odd, the reader says unloaded */
		hw_pub_mark_stalled(&p);
		CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
		CHECK(info.flags & HW_IF_STALLED);
		hw_pub_mark_gone(&p);
		CHECK(p.index->seq % 2 == 1);
		CHECK(haywire_read_info(b, &info, &err) != HAYWIRE_OK);
		haywire_beacon_free(b);
	}
	if (mem)
		haywire_mem_close(mem);
	munmap(ram, RAM_SIZE);
	close(fd);
	unlink(path);
}

int main(void)
{
	RUN(test_strtab);
	RUN(test_publish);
	return check_done();
}
