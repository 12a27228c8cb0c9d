/* SPDX-License-Identifier: MIT */
/*
 * libhaywire core internals (mem.c, gpamap.c, pagewalk.c, error.c): the RAM
 * file, guest-physical maps, page walks and errors, shared by every
 * subsystem (beacon/, qemu/, agentless/).
 */
#ifndef HAYWIRE_CORE_H
#define HAYWIRE_CORE_H

#include <stdarg.h>
#include <string.h>

#include "haywire.h"

/* The protocol is little-endian and so is every host we build for. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "libhaywire reads little-endian guest data in place");

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* A file attached after the RAM file (haywire_mem_attach). */
struct hwi_attached {
	int fd;
	uint64_t size;
	uint64_t offset;	/* where its bytes start in the handle */
	uint64_t dev, ino;
};

struct haywire_mem {
	const unsigned char *base;
	uint64_t size;		/* the RAM file (discovery scans this) */
	uint64_t span;		/* mapped at base: the RAM file, then the
				 * attached files; bounds every copy */
	int fd;			/* -1 for a caller's buffer */
	uint64_t dev, ino;
	unsigned int nattached;
	struct hwi_attached attached[HAYWIRE_MEM_MAX_ATTACHED];
	struct haywire_gpa_map attached_map;	/* their guest-physical runs */
};

/*
 * The map of a handle's RAM, as haywire_map_derive derives it from the RAM
 * file, plus the runs of the files attached to the handle.
 */
int hwi_map_derive_mem(struct haywire_gpa_map *map, unsigned int arch,
		       const struct haywire_mem *mem, uint64_t index_offset,
		       uint64_t self_gpa, const struct hw_range *ram,
		       unsigned int ram_count, struct haywire_error *err);

__attribute__((format(printf, 3, 4)))
int hwi_fail(struct haywire_error *err, enum haywire_code code,
	     const char *fmt, ...);
void hwi_clear(struct haywire_error *err);

/*
 * Run fn(arg) with SIGBUS turned into HAYWIRE_E_IO: a RAM file that shrinks
 * under the mapping makes the next access fault. fn must keep anything it
 * allocates reachable from arg, since a fault abandons its frame.
 */
int hwi_guarded(const struct haywire_mem *mem, int (*fn)(void *arg),
		void *arg, struct haywire_error *err);
/* Copy file bytes; false (nothing copied) if out of bounds. Unguarded. */
bool hwi_copy(const struct haywire_mem *mem, uint64_t offset, void *dst,
	      size_t len);
/* Atomic loads from guest memory; offset must be in bounds and aligned. */
uint32_t hwi_load_u32_acquire(const struct haywire_mem *mem, uint64_t offset);
uint64_t hwi_load_u64(const struct haywire_mem *mem, uint64_t offset);
/*
 * The first offset >= offset that may hold data, and the end of that data
 * run (sparse files; a buffer is one run; attached files are one run each
 * side of the RAM file's end). Returns the RAM file's size when it holds
 * no more data, and mem->span past the attached files. Discovery scanning
 * up to mem->span would also find an index in an attached file.
 */
uint64_t hwi_next_data(const struct haywire_mem *mem, uint64_t offset,
		       uint64_t *run_end);

uint64_t hwi_now_ns(int clock);

/* pagewalk.c: whether next continues run (one run for both). */
bool hwi_run_extends(const struct haywire_xlate_run *run,
		     const struct haywire_xlate_run *next);

#endif /* HAYWIRE_CORE_H */
