// SPDX-License-Identifier: MIT
/*
 * The guest-physical -> file-offset map for every machine layout QEMU
 * uses, derived end to end from synthetic RAM files (sparse, so an 8 GiB
 * guest costs 2 MiB), and haywire_map_derive's own checks; RAM beyond the
 * boot map (DIMMs, virtio-mem, relocation above 1 TiB) and files attached
 * for it.
 */
#include "check.h"
#include "lib/core/core.h"		/* hwi_map_derive_mem */

#undef MIB	/* core.h's are unsigned long long */
#undef GIB
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

struct run {
	uint64_t gpa, size, file_offset;
};

/* Discover the beacon in a machine layout and compare the derived map. */
static void check_layout(const char *machine, uint64_t size,
			 uint64_t index_offset, const struct run *want,
			 unsigned int nwant)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	const struct haywire_location *loc;
	unsigned char magic[8];
	unsigned int i;

	fixture_defaults(&f);
	f.machine = machine;
	f.size = size;
	f.index_offset = index_offset;
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	if (!b) {
		printf("#   %s %" PRIu64 " MiB: %s\n", machine, size / MIB,
		       err.msg);
		close_image(&im);
		return;
	}
	loc = haywire_beacon_location(b);
	CHECK_U64(loc->file_offset, im.lay.index_offset);
	CHECK_U64(loc->gpa, im.lay.self_gpa);
	CHECK_U64(loc->gpa, fixture_gpa(&f, im.lay.index_offset));
	CHECK_U64(loc->map.count, nwant);
	for (i = 0; i < nwant && i < loc->map.count; i++) {
		CHECK_U64(loc->map.runs[i].gpa, want[i].gpa);
		CHECK_U64(loc->map.runs[i].size, want[i].size);
		CHECK_U64(loc->map.runs[i].file_offset, want[i].file_offset);
	}
	/* The index read back through the map, by its guest address. */
	CHECK_RC(haywire_mem_read_gpa(im.mem, &loc->map, loc->gpa, magic,
				      sizeof(magic), &err), HAYWIRE_OK, &err);
	CHECK(!memcmp(magic, "HWBEACON", 8));
	haywire_beacon_free(b);
	close_image(&im);
}

static void test_q35_512m(void)
{
	const struct run want[] = { { 0, 512 * MIB, 0 } };

	check_layout("q35", 512 * MIB, FIXTURE_AUTO, want, 1);
	check_layout("q35", 512 * MIB, 0, want, 1);
	check_layout("q35", 512 * MIB, 510 * MIB, want, 1);
}

static void test_q35_2g(void)
{
	const struct run want[] = { { 0, 2 * GIB, 0 } };

	check_layout("q35", 2 * GIB, FIXTURE_AUTO, want, 1);
	check_layout("q35", 2 * GIB, 2 * GIB - 2 * MIB, want, 1);
}

static void test_q35_4g(void)
{
	const struct run want[] = { { 0, 2 * GIB, 0 },
				    { 4 * GIB, 2 * GIB, 2 * GIB } };

	/* Above 4 GiB (the map from the index) and below (from RAM). */
	check_layout("q35", 4 * GIB, 2 * GIB, want, 2);
	check_layout("q35", 4 * GIB, 3 * GIB + 6 * MIB, want, 2);
	check_layout("q35", 4 * GIB, 1 * GIB, want, 2);
}

static void test_q35_8g(void)
{
	const struct run want[] = { { 0, 2 * GIB, 0 },
				    { 4 * GIB, 6 * GIB, 2 * GIB } };

	check_layout("q35", 8 * GIB, FIXTURE_AUTO, want, 2);
	check_layout("q35", 8 * GIB, 8 * GIB - 2 * MIB, want, 2);
	check_layout("q35", 8 * GIB, 64 * MIB, want, 2);
}

static void test_pc_3g(void)
{
	const struct run want[] = { { 0, 3 * GIB, 0 } };

	check_layout("pc", 3 * GIB, FIXTURE_AUTO, want, 1);
	check_layout("pc", 3 * GIB, 3 * GIB - 2 * MIB, want, 1);
}

static void test_pc_4g(void)
{
	const struct run want[] = { { 0, 3 * GIB, 0 },
				    { 4 * GIB, 1 * GIB, 3 * GIB } };

	check_layout("pc", 4 * GIB, 3 * GIB, want, 2);
	check_layout("pc", 4 * GIB, 3 * GIB + 512 * MIB, want, 2);
	check_layout("pc", 4 * GIB, 2 * GIB, want, 2);
}

static void test_arm64_virt(void)
{
	const struct run want1[] = { { 1 * GIB, 1 * GIB, 0 } };
	const struct run want4[] = { { 1 * GIB, 4 * GIB, 0 } };

	check_layout("virt", 1 * GIB, FIXTURE_AUTO, want1, 1);
	check_layout("virt", 1 * GIB, 0, want1, 1);
	check_layout("virt", 4 * GIB, FIXTURE_AUTO, want4, 1);
	check_layout("virt", 4 * GIB, 4 * GIB - 2 * MIB, want4, 1);
}

/* Direct calls: what the derivation refuses. */
static void test_derive_errors(void)
{
	const struct hw_range low_ram[] = { { 0x100000, 2 * GIB - 0x200000 } };
	const struct hw_range high_ram[] = { { 0x100000, 2 * GIB - 0x200000 },
					     { 4 * GIB, 2 * GIB } };
	const struct hw_range bad_ram[] = { { 4 * GIB, 0 } };
	const struct hw_range wrap_ram[] = { { UINT64_MAX - 4095, 8192 } };
	const struct hw_range arm_ram[] = { { 1 * GIB, 1 * GIB } };
	struct haywire_gpa_map map;
	struct haywire_error err;
	uint64_t off;

	/* Below 4 GiB the index's GPA is its file offset. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 2 * GIB, 64 * MIB,
				    66 * MIB, low_ram, 1, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "does not map to file offset 0x4000000");
	/* An index above 4 GiB cannot be at a file offset below its
	 * distance from 4 GiB. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 1 * GIB,
				    6 * GIB, high_ram, 2, &err),
		 HAYWIRE_E_CORRUPT, &err);
	/* ... nor leave more than 4 GiB below 4 GiB. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 8 * GIB,
				    7 * GIB, 4 * GIB + 2 * MIB, high_ram, 2,
				    &err), HAYWIRE_E_CORRUPT, &err);
	/* The index (pc: 3 GiB low) and RAM (q35: 2 GiB above 4 GiB)
	 * disagree: RAM would end beyond the file, which is said as RAM
	 * the file does not hold. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 3 * GIB,
				    4 * GIB, high_ram, 2, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "guest RAM at GPA 0x100000000-0x180000000 that the 4096 MiB RAM file does not cover");
	/* System RAM that cannot fit in the file at all. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 0,
				    0, high_ram, 2, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "pass --qmp");
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 0, 0,
				    bad_ram, 1, &err), HAYWIRE_E_CORRUPT,
		 &err);
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 0, 0,
				    wrap_ram, 1, &err), HAYWIRE_E_CORRUPT,
		 &err);
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 0, 0,
				    low_ram, HW_MAX_RAM_RANGES + 1, &err),
		 HAYWIRE_E_CORRUPT, &err);
	/* arm64: RAM must start 1 GiB-aligned, at or below System RAM. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_ARM64, 1 * GIB, 2 * MIB,
				    1 * GIB + 4 * MIB, arm_ram, 1, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_ARM64, 1 * GIB, 0,
				    2 * GIB, arm_ram, 1, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_ARM64, 1 * GIB, 4 * MIB,
				    2 * MIB, arm_ram, 1, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_RC(haywire_map_derive(&map, 7, 1 * GIB, 0, 0, NULL, 0, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "unknown arch 7");
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 1 * GIB,
				    0, NULL, 0, &err), HAYWIRE_E_INVALID,
		 &err);

	/* All RAM below 4 GiB in a bigger file (mem=): map 4 GiB only. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 6 * GIB, 64 * MIB,
				    64 * MIB, low_ram, 1, &err), HAYWIRE_OK,
		 &err);
	CHECK_U64(map.count, 1);
	CHECK_U64(map.runs[0].size, 4 * GIB);

	/* Lookups never straddle a run. */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 2 * GIB,
				    4 * GIB, high_ram, 2, &err), HAYWIRE_OK,
		 &err);
	CHECK(haywire_map_lookup(&map, 2 * GIB - 4096, 4096, &off));
	CHECK_U64(off, 2 * GIB - 4096);
	CHECK(!haywire_map_lookup(&map, 2 * GIB - 4096, 8192, &off));
	CHECK(!haywire_map_lookup(&map, 3 * GIB, 1, &off));
	CHECK(haywire_map_lookup(&map, 6 * GIB - 1, 1, &off));
	CHECK_U64(off, 4 * GIB - 1);
	CHECK(!haywire_map_lookup(&map, 6 * GIB, 1, &off));
}

/* Guest-physical reads: bounded, across runs only where contiguous. */
static void test_read_gpa(void)
{
	struct haywire_gpa_map map = { 2, { { 0, 2 * MIB, 2 * MIB },
					    { 2 * MIB, 2 * MIB, 0 } } };
	struct haywire_error err;
	struct haywire_mem *mem;
	unsigned char *buf = calloc(1, 4 * MIB), out[16];

	buf[2 * MIB - 8] = 'A';	/* GPA 4 MiB - 8 */
	buf[0] = 'B';		/* GPA 2 MiB */
	buf[4 * MIB - 1] = 'C';	/* GPA 2 MiB - 1 */
	mem = haywire_mem_from_buffer(buf, 4 * MIB, &err);
	CHECK(mem);
	CHECK_RC(haywire_mem_read_gpa(mem, &map, 2 * MIB - 1, out, 2, &err),
		 HAYWIRE_OK, &err);
	CHECK(out[0] == 'C' && out[1] == 'B');
	CHECK_RC(haywire_mem_read_gpa(mem, &map, 4 * MIB - 8, out, 8, &err),
		 HAYWIRE_OK, &err);
	CHECK(out[0] == 'A');
	CHECK_RC(haywire_mem_read_gpa(mem, &map, 4 * MIB - 8, out, 9, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_mem_read_gpa(mem, &map, UINT64_MAX, out, 2, &err),
		 HAYWIRE_E_INVALID, &err);
	/* A map pointing outside the file is caught, not followed. */
	map.runs[1].file_offset = 3 * MIB;
	CHECK_RC(haywire_mem_read_gpa(mem, &map, 4 * MIB - 8, out, 8, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_mem_read(mem, 4 * MIB - 8, out, 8, &err),
		 HAYWIRE_OK, &err);
	CHECK_RC(haywire_mem_read(mem, 4 * MIB - 8, out, 9, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_mem_read(mem, UINT64_MAX, out, 2, &err),
		 HAYWIRE_E_INVALID, &err);
	haywire_mem_close(mem);
	free(buf);
}

#define TIB (UINT64_C(1) << 40)

/* One derivation and the runs it must give (nwant 0: the error code). */
static void check_derive(const char *what, uint64_t file_size,
			 uint64_t index_offset, uint64_t self_gpa,
			 const struct hw_range *ram, unsigned int nram,
			 const struct run *want, unsigned int nwant)
{
	struct haywire_gpa_map map;
	struct haywire_error err;
	unsigned int i;
	int rc;

	rc = haywire_map_derive(&map, HW_ARCH_X86_64, file_size, index_offset,
				self_gpa, ram, nram, &err);
	CHECK_RC(rc, HAYWIRE_OK, &err);
	CHECK_U64(map.count, nwant);
	for (i = 0; i < nwant && i < map.count; i++) {
		CHECK_U64(map.runs[i].gpa, want[i].gpa);
		CHECK_U64(map.runs[i].size, want[i].size);
		CHECK_U64(map.runs[i].file_offset, want[i].file_offset);
	}
	if (rc || map.count != nwant)
		printf("#   %s\n", what);
}

static void test_beyond_boot_map(void)
{
	/* q35 1 GiB, a 1 GiB DIMM at 4 GiB (device memory base) */
	const struct hw_range q35_1g_dimm[] = {
		{ 0x100000, 1 * GIB - 0x120000 }, { 4 * GIB, 1 * GIB } };
	/* q35 4 GiB (2 + 2), a 1 GiB DIMM right after the high RAM */
	const struct hw_range q35_4g_dimm[] = {
		{ 0x100000, 2 * GIB - 0x120000 }, { 4 * GIB, 2 * GIB },
		{ 6 * GIB, 1 * GIB } };
	/* pc 4 GiB (3 + 1), a 1 GiB DIMM at ROUND_UP(5 GiB, 1 GiB) */
	const struct hw_range pc_4g_dimm[] = {
		{ 0x100000, 3 * GIB - 0x120000 }, { 4 * GIB, 1 * GIB },
		{ 5 * GIB, 1 * GIB } };
	/* q35 4 GiB with the high RAM relocated above 1 TiB */
	const struct hw_range relocated[] = {
		{ 0x100000, 2 * GIB - 0x120000 }, { TIB, 2 * GIB } };
	const struct run q35_1g[] = { { 0, 1 * GIB, 0 } };
	const struct run q35_4g[] = { { 0, 2 * GIB, 0 },
				      { 4 * GIB, 2 * GIB, 2 * GIB } };
	const struct run pc_4g[] = { { 0, 3 * GIB, 0 },
				     { 4 * GIB, 1 * GIB, 3 * GIB } };
	const struct run reloc[] = { { 0, 2 * GIB, 0 },
				     { TIB, 2 * GIB, 2 * GIB } };
	struct haywire_gpa_map map;
	struct haywire_error err;

	/* Without the DIMM's RAM the boot map is as before ... */
	check_derive("q35 1G", 1 * GIB, 64 * MIB, 64 * MIB, q35_1g_dimm, 1,
		     q35_1g, 1);
	check_derive("q35 4G", 4 * GIB, 64 * MIB, 64 * MIB, q35_4g_dimm, 2,
		     q35_4g, 2);
	check_derive("pc 4G", 4 * GIB, 64 * MIB, 64 * MIB, pc_4g_dimm, 2,
		     pc_4g, 2);
	check_derive("q35 4G, index high", 4 * GIB, 3 * GIB, 5 * GIB,
		     q35_4g_dimm, 2, q35_4g, 2);
	/* ... and RAM relocated above 1 TiB is where the ranges say. */
	check_derive("relocated", 4 * GIB, 64 * MIB, 64 * MIB, relocated, 2,
		     reloc, 2);
	check_derive("relocated, index high", 4 * GIB, 2 * GIB + 2 * MIB,
		     TIB + 2 * MIB, relocated, 2, reloc, 2);

	/* With it, the DIMM is named precisely, not "corrupt". */
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 1 * GIB, 64 * MIB,
				    64 * MIB, q35_1g_dimm, 2, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "guest RAM at GPA 0x100000000-0x140000000 that the 1024 MiB RAM file does not cover (hot-plugged memory");
	CHECK_MSG(&err, "--qmp");
	CHECK(!strstr(err.msg, "corrupt"));
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 64 * MIB,
				    64 * MIB, q35_4g_dimm, 3, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "GPA 0x180000000-0x1c0000000");
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 3 * GIB,
				    5 * GIB, q35_4g_dimm, 3, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "GPA 0x180000000-0x1c0000000");
	CHECK_RC(haywire_map_derive(&map, HW_ARCH_X86_64, 4 * GIB, 64 * MIB,
				    64 * MIB, pc_4g_dimm, 3, &err),
		 HAYWIRE_E_RAM_MAP, &err);
	CHECK_MSG(&err, "GPA 0x140000000-0x180000000");
	CHECK_U64(map.count, 2);	/* the boot part was still found */
}

/* A memfd of `size` bytes and its /proc path. */
static int dimm_file(uint64_t size, char *path, size_t n)
{
	int fd = memfd_create("haywire-dimm", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		printf("# memfd: cannot make a %" PRIu64 " byte file\n", size);
		exit(1);
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

/*
 * A DIMM holding the second of the beacon's extents: without the DIMM's
 * file the index is reported precisely; attached, discovery, snapshots and
 * guest-physical reads go through the DIMM's file.
 */
static void test_attached_dimm(void)
{
	const uint64_t dimm_gpa = 4 * GIB;
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	struct haywire_run run;
	const struct haywire_location *loc;
	char path[64], sets[3][64];
	unsigned char *data, byte;
	uint64_t dimm_size, off;
	int dimm;

	fixture_defaults(&f);
	f.extents = 2;
	f.scatter = true;
	f.procs = 200;
	open_image(&im, &f);
	dimm_size = im.lay.extent_size < 4 * MIB ? 4 * MIB :
		    im.lay.extent_size;
	close_image(&im);
	/* The guest's view: RAM at 4 GiB, extent 1 there. */
	snprintf(sets[0], sizeof(sets[0]), "ram_range_count=3");
	snprintf(sets[1], sizeof(sets[1]), "ram[2].start=0x%" PRIx64,
		 dimm_gpa);
	snprintf(sets[2], sizeof(sets[2]), "ram[2].size=0x%" PRIx64,
		 dimm_size);
	f.sets[f.nsets++] = sets[0];
	f.sets[f.nsets++] = sets[1];
	f.sets[f.nsets++] = sets[2];
	f.sets[f.nsets++] = "extents[1].start=0x100000000";
	open_image(&im, &f);

	/* Move extent 1's bytes into the DIMM's file. */
	dimm = dimm_file(dimm_size, path, sizeof(path));
	data = calloc(1, im.lay.extent_size);
	CHECK(pread(im.fd, data, im.lay.extent_size, (off_t)im.lay.extent_file[1]) ==
	      (ssize_t)im.lay.extent_size);
	CHECK(pwrite(dimm, data, im.lay.extent_size, 0) ==
	      (ssize_t)im.lay.extent_size);
	memset(data, 0, im.lay.extent_size);
	CHECK(pwrite(im.fd, data, im.lay.extent_size, (off_t)im.lay.extent_file[1]) ==
	      (ssize_t)im.lay.extent_size);
	free(data);

	b = haywire_discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_RAM_MAP);
	CHECK_MSG(&err, "guest RAM at GPA 0x100000000-");
	CHECK_MSG(&err, "pass --qmp");
	haywire_beacon_free(b);

	/* Attach it where QEMU would map it. */
	run.gpa = dimm_gpa;
	run.size = dimm_size;
	run.file_offset = 0;
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err), HAYWIRE_OK,
		 &err);
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err), HAYWIRE_OK,
		 &err);		/* again: nothing more */
	CHECK_U64(haywire_mem_attached_map(im.mem)->count, 1);
	CHECK_U64(haywire_mem_size(im.mem), f.size);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	if (!b)
		printf("#   attached: %s\n", err.msg);
	if (b) {
		loc = haywire_beacon_location(b);
		CHECK_U64(loc->map.count, 2);
		CHECK_U64(loc->map.runs[1].gpa, dimm_gpa);
		CHECK_U64(loc->map.runs[1].file_offset, f.size);
		CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_OK,
			 &err);
		if (procs)
			CHECK_U64(procs->count, f.procs);
		haywire_procs_free(procs);
		/* The DIMM's bytes by guest-physical address and offset. */
		CHECK(pwrite(dimm, "D", 1, (off_t)dimm_size - 1) == 1);
		CHECK_RC(haywire_mem_read_gpa(im.mem, &loc->map,
					      dimm_gpa + dimm_size - 1, &byte,
					      1, &err), HAYWIRE_OK, &err);
		CHECK(byte == 'D');
		CHECK(haywire_map_lookup(&loc->map, dimm_gpa, 4096, &off));
		CHECK_U64(off, f.size);
		CHECK_RC(haywire_mem_read(im.mem, f.size + dimm_size - 1,
					  &byte, 1, &err), HAYWIRE_OK, &err);
		CHECK(byte == 'D');
		CHECK_RC(haywire_mem_read(im.mem, f.size + dimm_size, &byte,
					  1, &err), HAYWIRE_E_INVALID, &err);
	}
	haywire_beacon_free(b);

	/* A DIMM file that shrinks: an error, as for the RAM file. */
	CHECK(ftruncate(dimm, 2 * MIB) == 0);
	CHECK_RC(haywire_mem_read(im.mem, 0, &byte, 1, &err), HAYWIRE_E_IO,
		 &err);
	CHECK_MSG(&err, "shrank");
	close(dimm);
	close_image(&im);
}

/* What attaching refuses. */
static void test_attach_errors(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_mem *buf_mem;
	struct haywire_run run = { 32 * MIB, 4 * MIB, 0 };
	struct haywire_run runs[HAYWIRE_MAP_MAX_RUNS + 1];
	static unsigned char buf[2 * MIB];
	char path[64], ram_path[64];
	unsigned int i;
	int dimm;

	fixture_defaults(&f);
	open_image(&im, &f);
	dimm = dimm_file(4 * MIB, path, sizeof(path));
	/* runs outside the file */
	run.size = 8 * MIB;
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "not inside its");
	run.size = 4 * MIB;
	run.file_offset = 4096;
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err),
		 HAYWIRE_E_INVALID, &err);
	run.file_offset = 0;
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 0, &err),
		 HAYWIRE_E_INVALID, &err);
	for (i = 0; i <= HAYWIRE_MAP_MAX_RUNS; i++)
		runs[i] = (struct haywire_run){ 8 * GIB + i * MIB, 4096,
						i * 4096 };
	CHECK_RC(haywire_mem_attach(im.mem, path, runs,
				    HAYWIRE_MAP_MAX_RUNS + 1, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_mem_attach(im.mem, "/nonexistent/dimm", &run, 1, &err),
		 HAYWIRE_E_FILE, &err);
	CHECK_U64(haywire_mem_attached_map(im.mem)->count, 0);
	/* the RAM file itself: nothing to add */
	snprintf(ram_path, sizeof(ram_path), "/proc/self/fd/%d", im.fd);
	CHECK_RC(haywire_mem_attach(im.mem, ram_path, &run, 1, &err),
		 HAYWIRE_OK, &err);
	CHECK_U64(haywire_mem_attached_map(im.mem)->count, 0);
	/* over the RAM file's own guest-physical range: refused at discovery */
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err), HAYWIRE_OK,
		 &err);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_MSG(&err, "overlaps");
	haywire_beacon_free(b);
	/* buffers take no files */
	buf_mem = haywire_mem_from_buffer(buf, sizeof(buf), &err);
	CHECK(buf_mem);
	CHECK_RC(haywire_mem_attach(buf_mem, path, &run, 1, &err),
		 HAYWIRE_E_INVALID, &err);
	haywire_mem_close(buf_mem);
	close(dimm);
	close_image(&im);
}

/* An index in an attached file: the boot map comes from the RAM ranges. */
static void test_index_in_attached(void)
{
	const struct hw_range ram[] = { { 0x100000, 64 * MIB - 0x120000 },
					{ 4 * GIB, 4 * MIB } };
	struct haywire_run run = { 4 * GIB, 4 * MIB, 0 };
	struct haywire_gpa_map map;
	struct haywire_error err;
	struct fixture f;
	struct image im;
	uint64_t run_end;
	char path[64];
	int dimm;

	fixture_defaults(&f);
	open_image(&im, &f);
	dimm = dimm_file(4 * MIB, path, sizeof(path));
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err), HAYWIRE_OK,
		 &err);
	CHECK_RC(hwi_map_derive_mem(&map, HW_ARCH_X86_64, im.mem,
				    64 * MIB + 2 * MIB, 4 * GIB + 2 * MIB, ram,
				    2, &err), HAYWIRE_OK, &err);
	CHECK_U64(map.count, 2);
	CHECK_U64(map.runs[0].size, 64 * MIB);
	CHECK_U64(map.runs[1].gpa, 4 * GIB);
	CHECK_U64(map.runs[1].file_offset, 64 * MIB);
	/* not where the index was found: refused */
	CHECK_RC(hwi_map_derive_mem(&map, HW_ARCH_X86_64, im.mem,
				    64 * MIB + 2 * MIB, 4 * GIB, ram, 2, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_RC(hwi_map_derive_mem(&map, HW_ARCH_X86_64, im.mem,
				    68 * MIB, 4 * GIB, ram, 2, &err),
		 HAYWIRE_E_INVALID, &err);
	/* the attached file is data to a scan that goes on past the file */
	CHECK_U64(hwi_next_data(im.mem, 64 * MIB, &run_end), 64 * MIB);
	CHECK_U64(run_end, 68 * MIB);
	CHECK_U64(hwi_next_data(im.mem, 68 * MIB, &run_end), 68 * MIB);
	close(dimm);
	close_image(&im);
}

/* A small deterministic generator (xorshift64*). */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* A guest-chosen value: mostly near the layouts' edges, sometimes wild. */
static uint64_t hostile_value(uint64_t *state)
{
	static const uint64_t edges[] = { 0, 4096, 2 * MIB, 1 * GIB, 2 * GIB,
					  3 * GIB, 4 * GIB, 6 * GIB, TIB,
					  UINT64_MAX - 4095 };
	uint64_t r = next_random(state);

	switch (r % 4) {
	case 0:
		return next_random(state);
	case 1:
		return edges[(r >> 8) % 10];
	default:
		return edges[(r >> 8) % 10] + ((r >> 16) % 64) * 2 * MIB;
	}
}

/*
 * Whatever the index says, derivation either fails with a code or gives a
 * map whose runs lie in the file (or the attached span), do not overlap,
 * hold the index where it was found and every System RAM range.
 */
static void test_derive_hostile(void)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	unsigned int round, ok = 0, i, j;

	for (round = 0; round < 200000; round++) {
		struct hw_range ram[4];
		unsigned int nram = (unsigned int)(next_random(&state) % 5);
		uint64_t file_size = (1 + next_random(&state) % 8192) * 2 * MIB;
		uint64_t index_offset = hostile_value(&state) % file_size;
		uint64_t self_gpa = hostile_value(&state), off;
		unsigned int arch = next_random(&state) % 3 ? HW_ARCH_X86_64 :
				    HW_ARCH_ARM64;
		struct haywire_gpa_map map;
		struct haywire_error err;
		int rc;

		for (i = 0; i < nram; i++) {
			ram[i].start = hostile_value(&state);
			ram[i].size = hostile_value(&state);
		}
		rc = haywire_map_derive(&map, arch, file_size, index_offset,
					self_gpa, ram, nram, &err);
		if (rc) {
			if (!err.msg[0] || (int)err.code != rc)
				CHECK(!"an error without its message");
			continue;
		}
		ok++;
		for (i = 0; i < map.count; i++) {
			const struct haywire_run *r = &map.runs[i];

			if (!r->size || r->file_offset > file_size ||
			    r->size > file_size - r->file_offset ||
			    r->gpa > UINT64_MAX - r->size)
				CHECK(!"a run outside the file");
			for (j = 0; j < i; j++)
				if (r->gpa < map.runs[j].gpa + map.runs[j].size &&
				    map.runs[j].gpa < r->gpa + r->size)
					CHECK(!"overlapping runs");
		}
		if (!haywire_map_lookup(&map, self_gpa, HW_INDEX_SIZE, &off) ||
		    off != index_offset)
			CHECK(!"the index is not where it was found");
		for (i = 0; i < nram; i++) {
			/* every range's first and last byte are mapped */
			if (!haywire_map_lookup(&map, ram[i].start, 1, &off) ||
			    !haywire_map_lookup(&map, ram[i].start +
						ram[i].size - 1, 1, &off))
				CHECK(!"a System RAM range is not mapped");
		}
		if (check_failed)
			break;
	}
	printf("#   %u of %u hostile indexes derived a map\n", ok, round);
}

int main(void)
{
	RUN(test_q35_512m);
	RUN(test_q35_2g);
	RUN(test_q35_4g);
	RUN(test_q35_8g);
	RUN(test_pc_3g);
	RUN(test_pc_4g);
	RUN(test_arm64_virt);
	RUN(test_derive_errors);
	RUN(test_read_gpa);
	RUN(test_beyond_boot_map);
	RUN(test_attached_dimm);
	RUN(test_attach_errors);
	RUN(test_index_in_attached);
	RUN(test_derive_hostile);
	return check_done();
}
