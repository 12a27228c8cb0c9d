// SPDX-License-Identifier: MIT
/*
 * The guest-physical -> file-offset map for every machine layout QEMU
 * uses, derived end to end from synthetic RAM files (sparse, so an 8 GiB
 * guest costs 2 MiB), and haywire_map_derive's own checks.
 */
#include "check.h"

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
	return check_done();
}
