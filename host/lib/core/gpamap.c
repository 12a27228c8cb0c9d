// SPDX-License-Identifier: MIT
/*
 * The guest-physical -> file-offset map. QEMU lays guest RAM out in the file
 * in guest-physical order without the holes; docs/protocol.md, "Guest-
 * physical to file-offset map", says how the map follows from the index.
 */
#include "core.h"

#define X86_HIGH_BASE	(4 * GIB)	/* RAM above the PCI hole */
#define X86_HIGH_RELOCATED (1024 * GIB)	/* ... above AMD's HT hole */
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

/*
 * Where x86 RAM above the PCI hole starts: 4 GiB, or 1 TiB when QEMU moved
 * it above AMD's HyperTransport hole (QEMU 7.1+, very large guests): the
 * lowest System RAM range at or above 4 GiB says which.
 */
static uint64_t x86_high_base(const struct hw_range *ram, unsigned int count)
{
	uint64_t lowest = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < count; i++)
		if (ram[i].start >= X86_HIGH_BASE && ram[i].start < lowest)
			lowest = ram[i].start;
	return lowest == X86_HIGH_RELOCATED ? X86_HIGH_RELOCATED :
	       X86_HIGH_BASE;
}

/*
 * `low`, the file bytes below 4 GiB, when the index is below 4 GiB. The
 * RAM file's part above the hole ends where some System RAM range above it
 * ends; ranges further up are other memory (DIMMs, virtio-mem), not in the
 * file. Try the highest end first: the first that leaves room below 4 GiB
 * for the RAM ranges there (low_end) is the file's. None: all the file's
 * RAM is below 4 GiB.
 */
static uint64_t x86_low_size(uint64_t file_size, uint64_t high_base,
			     uint64_t low_end, const struct hw_range *ram,
			     unsigned int count, bool *high)
{
	uint64_t best = 0, low = file_size;
	unsigned int i;

	for (i = 0; i < count; i++) {
		uint64_t end = ram[i].start + ram[i].size;

		if (ram[i].start < high_base || end <= best ||
		    end - high_base >= file_size)
			continue;
		if (file_size - (end - high_base) > X86_HIGH_BASE ||
		    file_size - (end - high_base) < low_end)
			continue;
		best = end;
		low = file_size - (end - high_base);
	}
	*high = best != 0;
	if (!best && low > X86_HIGH_BASE)
		low = X86_HIGH_BASE;	/* RAM above 4 GiB the guest does not
					 * report (mem=): where it is is unknown,
					 * so it is not mapped */
	return low;
}

/*
 * The x86 runs: `low` file bytes at GPA 0, the rest above the PCI hole. An
 * index beyond the file (in an attached DIMM's) says nothing about them.
 */
static int derive_x86(struct haywire_gpa_map *map, uint64_t file_size,
		      uint64_t index_offset, uint64_t self_gpa,
		      const struct hw_range *ram, unsigned int count,
		      struct haywire_error *err)
{
	uint64_t high_base = x86_high_base(ram, count), low, low_end = 0;
	bool high = true;
	unsigned int i;

	for (i = 0; i < count; i++)
		if (ram[i].start < X86_HIGH_BASE &&
		    ram[i].start + ram[i].size > low_end)
			low_end = ram[i].start + ram[i].size;
	if (self_gpa >= high_base && index_offset < file_size) {
		/* The index itself says where the high part starts. */
		if (self_gpa - high_base > index_offset)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx cannot be at file offset 0x%llx where the index was found (x86 RAM above 4 GiB follows the RAM below it)",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset);
		low = index_offset - (self_gpa - high_base);
		if (low > X86_HIGH_BASE)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"self_gpa 0x%llx at file offset 0x%llx puts %llu MiB of RAM below 4 GiB",
					(unsigned long long)self_gpa,
					(unsigned long long)index_offset,
					(unsigned long long)(low / MIB));
	} else {
		low = x86_low_size(file_size, high_base, low_end, ram, count,
				   &high);
	}
	map_add(map, 0, low, 0);
	if (high && file_size > low)
		map_add(map, high_base, file_size - low, low);
	return 0;
}

/* Whether [gpa, gpa + len) is in the map, possibly across runs. */
static bool map_covers(const struct haywire_gpa_map *map, uint64_t gpa,
		       uint64_t len)
{
	unsigned int i, pieces = 0;

	while (len && pieces++ <= map->count) {
		for (i = 0; i < map->count; i++) {
			const struct haywire_run *r = &map->runs[i];
			uint64_t piece;

			if (gpa < r->gpa || gpa - r->gpa >= r->size)
				continue;
			piece = r->size - (gpa - r->gpa);
			if (piece > len)
				piece = len;
			gpa += piece;
			len -= piece;
			break;
		}
		if (i == map->count)
			return false;
	}
	return len == 0;
}

static int check_ranges(const struct hw_range *ram, unsigned int count,
			uint64_t *ram_end, uint64_t *ram_low,
			struct haywire_error *err)
{
	unsigned int i;

	*ram_end = 0;
	*ram_low = UINT64_MAX;
	if (count > HW_MAX_RAM_RANGES)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"ram_range_count %u exceeds %d", count,
				HW_MAX_RAM_RANGES);
	for (i = 0; i < count; i++) {
		if (ram[i].size == 0 ||
		    ram[i].start > UINT64_MAX - ram[i].size)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"ram[%u] {0x%llx, 0x%llx} is empty or wraps",
					i, (unsigned long long)ram[i].start,
					(unsigned long long)ram[i].size);
		if (ram[i].start + ram[i].size > *ram_end)
			*ram_end = ram[i].start + ram[i].size;
		if (ram[i].start < *ram_low)
			*ram_low = ram[i].start;
	}
	return 0;
}

static int derive_arm64(struct haywire_gpa_map *map, uint64_t file_size,
			uint64_t index_offset, uint64_t self_gpa,
			uint64_t ram_low, struct haywire_error *err)
{
	uint64_t base;

	if (index_offset >= file_size) {
		/* The index is in an attached file: RAM starts at the 1 GiB
		 * boundary at or below the lowest System RAM. */
		base = ram_low == UINT64_MAX ? 0 :
		       ram_low / ARM64_BASE_ALIGN * ARM64_BASE_ALIGN;
		if (base > UINT64_MAX - file_size)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"System RAM at 0x%llx: RAM would wrap around",
					(unsigned long long)ram_low);
		map_add(map, base, file_size, 0);
		return 0;
	}
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
	return 0;
}

/*
 * The attached files' runs after the RAM file's; none may overlap what is
 * already mapped (QEMU's map never overlaps itself).
 */
static int add_attached(struct haywire_gpa_map *map,
			const struct haywire_gpa_map *attached,
			struct haywire_error *err)
{
	unsigned int i, j;

	if (!attached)
		return 0;
	if (attached->count > HAYWIRE_MAP_MAX_RUNS - map->count)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%u guest-physical runs: more than %d",
				map->count + attached->count,
				HAYWIRE_MAP_MAX_RUNS);
	for (i = 0; i < attached->count; i++) {
		const struct haywire_run *a = &attached->runs[i];

		for (j = 0; j < map->count; j++)
			if (a->gpa < map->runs[j].gpa + map->runs[j].size &&
			    map->runs[j].gpa < a->gpa + a->size)
				return hwi_fail(err, HAYWIRE_E_RAM_MAP,
						"attached guest RAM at GPA 0x%llx-0x%llx overlaps GPA 0x%llx-0x%llx of the RAM file",
						(unsigned long long)a->gpa,
						(unsigned long long)(a->gpa + a->size),
						(unsigned long long)map->runs[j].gpa,
						(unsigned long long)(map->runs[j].gpa +
								     map->runs[j].size));
		map_add(map, a->gpa, a->size, a->file_offset);
	}
	return 0;
}

/*
 * span: the bytes of the RAM file and the attached files; the index may be
 * in either (found at index_offset).
 */
static int derive(struct haywire_gpa_map *map, unsigned int arch,
		  uint64_t file_size, uint64_t span,
		  const struct haywire_gpa_map *attached,
		  uint64_t index_offset, uint64_t self_gpa,
		  const struct hw_range *ram, unsigned int ram_count,
		  struct haywire_error *err)
{
	uint64_t ram_end, ram_low, off;
	unsigned int i;
	int rc;

	map->count = 0;
	rc = check_ranges(ram, ram_count, &ram_end, &ram_low, err);
	if (rc)
		return rc;
	if (index_offset >= span)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"index offset 0x%llx is outside the file",
				(unsigned long long)index_offset);
	switch (arch) {
	case HW_ARCH_X86_64:
		rc = derive_x86(map, file_size, index_offset, self_gpa, ram,
				ram_count, err);
		break;
	case HW_ARCH_ARM64:
		rc = derive_arm64(map, file_size, index_offset, self_gpa,
				  ram_low, err);
		break;
	default:
		rc = hwi_fail(err, HAYWIRE_E_CORRUPT, "unknown arch %u", arch);
	}
	if (!rc)
		rc = add_attached(map, attached, err);
	if (rc)
		return rc;

	/* Cross-check: the index must be where it was found. */
	if (!haywire_map_lookup(map, self_gpa, HW_INDEX_SIZE, &off) ||
	    off != index_offset)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"self_gpa 0x%llx does not map to file offset 0x%llx where the index was found",
				(unsigned long long)self_gpa,
				(unsigned long long)index_offset);
	/* All System RAM must be mapped: else say which, and why. */
	for (i = 0; i < ram_count; i++)
		if (!map_covers(map, ram[i].start, ram[i].size))
			return hwi_fail(err, HAYWIRE_E_RAM_MAP,
					"the index lists guest RAM at GPA 0x%llx-0x%llx that the %llu MiB RAM file %s (hot-plugged memory: a DIMM or virtio-mem?): %s",
					(unsigned long long)ram[i].start,
					(unsigned long long)(ram[i].start +
							     ram[i].size),
					(unsigned long long)(file_size / MIB),
					attached && attached->count ?
					"and QEMU's other file-backed memory backends do not cover" :
					"does not cover",
					attached && attached->count ?
					"back that memory with memory-backend-file,share=on" :
					"pass --qmp SOCKET to map it from QEMU's memory backends (memory-backend-file,share=on)");
	return 0;
}

int haywire_map_derive(struct haywire_gpa_map *map, unsigned int arch,
		       uint64_t file_size, uint64_t index_offset,
		       uint64_t self_gpa, const struct hw_range *ram,
		       unsigned int ram_count, struct haywire_error *err)
{
	return derive(map, arch, file_size, file_size, NULL, index_offset,
		      self_gpa, ram, ram_count, err);
}

int hwi_map_derive_mem(struct haywire_gpa_map *map, unsigned int arch,
		       const struct haywire_mem *mem, uint64_t index_offset,
		       uint64_t self_gpa, const struct hw_range *ram,
		       unsigned int ram_count, struct haywire_error *err)
{
	return derive(map, arch, mem->size, mem->span, &mem->attached_map,
		      index_offset, self_gpa, ram, ram_count, err);
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
		if (!run || offsets[a.pieces] > mem->span ||
		    piece > mem->span - offsets[a.pieces])
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
