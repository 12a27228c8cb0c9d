// SPDX-License-Identifier: MIT
/*
 * The guest-physical -> file-offset map. QEMU lays guest RAM out in the file
 * in guest-physical order without the holes; docs/protocol.md, "Guest-
 * physical to file-offset map", says how the map follows from the index.
 */
#include "core.h"

#define X86_HIGH_BASE	(4 * GIB)	/* RAM above the PCI hole */
#define ARM64_BASE_ALIGN GIB

static void map_add(struct haywire_gpa_map *map, uint64_t gpa, uint64_t size,
		    uint64_t file_offset)
{
	if (size == 0)
		return;
	map->runs[map->count].gpa = gpa;
	map->runs[map->count].size = size;
	map->runs[map->count].file_offset = file_offset;
	map->count++;
}

bool haywire_map_lookup(const struct haywire_gpa_map *map, uint64_t gpa,
			uint64_t len, uint64_t *file_offset)
{
	unsigned int i;

	for (i = 0; i < map->count; i++) {
		const struct haywire_run *r = &map->runs[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa)) {
			*file_offset = r->file_offset + (gpa - r->gpa);
			return true;
		}
	}
	return false;
}

/* The x86 runs: `low` file bytes at GPA 0, the rest at 4 GiB. */
static int derive_x86(struct haywire_gpa_map *map, uint64_t file_size,
		      uint64_t index_offset, uint64_t self_gpa,
		      uint64_t ram_end, struct haywire_error *err)
{
	uint64_t low;

	if (self_gpa >= X86_HIGH_BASE) {
		/* The index itself says where the high part starts. */
		if (self_gpa - X86_HIGH_BASE > index_offset)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx cannot be at file offset 0x%llx where the index was found (x86 RAM above 4 GiB follows the RAM below it)",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset);
		low = index_offset - (self_gpa - X86_HIGH_BASE);
		if (low > X86_HIGH_BASE)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx at file offset 0x%llx puts %llu MiB of RAM below 4 GiB",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset,
					(unsigned long long)(low / MIB));
	} else if (ram_end > X86_HIGH_BASE) {
		if (ram_end - X86_HIGH_BASE >= file_size)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"System RAM ends at 0x%llx, beyond what a %llu MiB RAM file holds",
					(unsigned long long)ram_end,
					(unsigned long long)(file_size / MIB));
		low = file_size - (ram_end - X86_HIGH_BASE);
		if (low > X86_HIGH_BASE)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"System RAM ending at 0x%llx leaves %llu MiB of a %llu MiB RAM file below 4 GiB",
					(unsigned long long)ram_end,
					(unsigned long long)(low / MIB),
					(unsigned long long)(file_size / MIB));
	} else {
		/*
		 * All RAM below 4 GiB. A file larger than that has RAM above
		 * 4 GiB the guest does not report (mem=); nothing can say
		 * where it starts, so only the part below 4 GiB is mapped.
		 */
		low = file_size < X86_HIGH_BASE ? file_size : X86_HIGH_BASE;
		map_add(map, 0, low, 0);
		return 0;
	}
	map_add(map, 0, low, 0);
	map_add(map, X86_HIGH_BASE, file_size - low, low);
	return 0;
}

int haywire_map_derive(struct haywire_gpa_map *map, unsigned int arch,
		       uint64_t file_size, uint64_t index_offset,
		       uint64_t self_gpa, const struct hw_range *ram,
		       unsigned int ram_count, struct haywire_error *err)
{
	uint64_t ram_end = 0, ram_low = UINT64_MAX, off;
	unsigned int i;
	int rc;

	map->count = 0;
	if (ram_count > HW_MAX_RAM_RANGES)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"ram_range_count %u exceeds %d", ram_count,
				HW_MAX_RAM_RANGES);
	if (index_offset >= file_size)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"index offset 0x%llx is outside the file",
				(unsigned long long)index_offset);
	for (i = 0; i < ram_count; i++) {
		if (ram[i].size == 0 ||
		    ram[i].start > UINT64_MAX - ram[i].size)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"ram[%u] {0x%llx, 0x%llx} is empty or wraps",
					i, (unsigned long long)ram[i].start,
					(unsigned long long)ram[i].size);
		if (ram[i].start + ram[i].size > ram_end)
			ram_end = ram[i].start + ram[i].size;
		if (ram[i].start < ram_low)
			ram_low = ram[i].start;
	}

	switch (arch) {
	case HW_ARCH_X86_64:
		rc = derive_x86(map, file_size, index_offset, self_gpa,
				ram_end, err);
		if (rc)
			return rc;
		break;
	case HW_ARCH_ARM64: {
		uint64_t base;

		if (self_gpa < index_offset)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx is below file offset 0x%llx where the index was found",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset);
		base = self_gpa - index_offset;
		if (base % ARM64_BASE_ALIGN || base > ram_low)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx at file offset 0x%llx puts RAM at 0x%llx: not 1 GiB-aligned or above System RAM",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset,
					(unsigned long long)base);
		if (base > UINT64_MAX - file_size)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx: RAM would wrap around",
					(unsigned long long)self_gpa);
		map_add(map, base, file_size, 0);
		break;
	}
	default:
		return hwi_fail(err, HAYWIRE_E_CORRUPT, "unknown arch %u",
				arch);
	}

	/* Cross-check: the index and all System RAM must be in the file. */
	if (!haywire_map_lookup(map, self_gpa, HW_INDEX_SIZE, &off) ||
	    off != index_offset)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"self_gpa 0x%llx does not map to file offset 0x%llx where the index was found",
				(unsigned long long)self_gpa,
				(unsigned long long)index_offset);
	for (i = 0; i < ram_count; i++)
		if (!haywire_map_lookup(map, ram[i].start, ram[i].size, &off))
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"ram[%u] 0x%llx-0x%llx is not inside the RAM file's guest-physical map",
					i, (unsigned long long)ram[i].start,
					(unsigned long long)(ram[i].start +
							     ram[i].size));
	return 0;
}

struct gpa_read_args {
	const struct haywire_mem *mem;
	const uint64_t *file_offsets;
	const size_t *lengths;
	unsigned char *dst;
	unsigned int pieces;
};

static int gpa_read_guarded(void *arg)
{
	struct gpa_read_args *a = arg;
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < a->pieces; i++) {
		hwi_copy(a->mem, a->file_offsets[i], a->dst + done,
			 a->lengths[i]);
		done += a->lengths[i];
	}
	return 0;
}

int haywire_mem_read_gpa(const struct haywire_mem *mem,
			 const struct haywire_gpa_map *map, uint64_t gpa,
			 void *dst, size_t len, struct haywire_error *err)
{
	uint64_t offsets[HAYWIRE_MAP_MAX_RUNS];
	size_t lengths[HAYWIRE_MAP_MAX_RUNS];
	struct gpa_read_args a = { mem, offsets, lengths, dst, 0 };
	uint64_t at = gpa, left = len;

	/* Resolve every piece first, so nothing is copied on failure. */
	while (left) {
		const struct haywire_run *run = NULL;
		uint64_t piece = 0;
		unsigned int i;

		for (i = 0; i < map->count; i++)
			if (at >= map->runs[i].gpa &&
			    at - map->runs[i].gpa < map->runs[i].size)
				run = &map->runs[i];
		if (a.pieces == HAYWIRE_MAP_MAX_RUNS)
			run = NULL;	/* overlapping runs: not a derived map */
		if (run) {
			piece = run->size - (at - run->gpa);
			if (piece > left)
				piece = left;
			offsets[a.pieces] = run->file_offset + (at - run->gpa);
			lengths[a.pieces] = piece;
		}
		if (!run || offsets[a.pieces] > mem->size ||
		    piece > mem->size - offsets[a.pieces])
			return hwi_fail(err, HAYWIRE_E_INVALID,
					"guest-physical 0x%llx (reading %zu bytes from 0x%llx) is not in the RAM file",
					(unsigned long long)at, len,
					(unsigned long long)gpa);
		a.pieces++;
		at += piece;
		left -= piece;
	}
	return hwi_guarded(mem, gpa_read_guarded, &a, err);
}
