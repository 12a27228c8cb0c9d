/* SPDX-License-Identifier: MIT */
/*
 * libhaywire: read the Haywire beacon out of a guest's RAM file.
 *
 * The pieces, each usable on its own:
 *
 *   guest memory   haywire_mem_*       a RAM file mapped read-only (or a
 *                                      buffer), with bounded copies
 *   physical map   haywire_map_*       guest-physical address -> file offset
 *   discovery      haywire_discover    find and validate the master index
 *   snapshots      haywire_read_*      consistent, validated, decoded copies
 *   hint cache     haywire_hint_*      remember where the index was
 *   page tables    haywire_translate   x86-64 page-table walks over any
 *                  haywire_read_virt   source of guest-physical memory
 *
 * The guest is untrusted: every function that looks at guest bytes copies
 * them into private memory first, validates the copy and returns decoded
 * host-side types. Functions that can fail return 0 on success or a
 * haywire_code, and fill *err (if not NULL) with that code and a one-line
 * message that says what to do about it.
 *
 * Not thread-safe per object; separate objects may be used from separate
 * threads. Opening a RAM file installs a SIGBUS handler (chaining to any
 * previous one) so that a file shrinking under the mapping becomes an error.
 */
#ifndef HAYWIRE_H
#define HAYWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haywire_protocol.h"	/* HW_* constants and flag bits */

#define HAYWIRE_VERSION "0.1.0"

enum haywire_code {
	HAYWIRE_OK = 0,
	HAYWIRE_E_FILE,		/* RAM file missing or unreadable */
	HAYWIRE_E_NOT_RAM,	/* not a guest RAM file (size, type) */
	HAYWIRE_E_NO_BEACON,	/* no beacon: the module is not loaded */
	HAYWIRE_E_GONE,		/* the module was unloaded */
	HAYWIRE_E_VERSION,	/* a major protocol version we do not know */
	HAYWIRE_E_BUSY,		/* snapshot changing or not available: retry */
	HAYWIRE_E_CORRUPT,	/* a field fails validation */
	HAYWIRE_E_NOT_FOUND,	/* no such process in the snapshot */
	HAYWIRE_E_IO,		/* the file shrank or could not be read */
	HAYWIRE_E_NOMEM,
	HAYWIRE_E_INVALID,	/* bad argument from the caller */
	HAYWIRE_E_UNMAPPED,	/* a virtual address has no page in RAM */
};

#define HAYWIRE_MSG_MAX 400

struct haywire_error {
	enum haywire_code code;
	char msg[HAYWIRE_MSG_MAX];	/* one line, no trailing newline */
};

/* Short name of a code, e.g. "busy". */
const char *haywire_code_name(enum haywire_code code);

/* ---- guest memory -------------------------------------------------- */

struct haywire_mem;

/*
 * Open a RAM file read-only and map it. It must be a regular file of at
 * least 2 MiB whose size is a multiple of 4096.
 */
struct haywire_mem *haywire_mem_open(const char *path,
				     struct haywire_error *err);
/* The same checks over a caller's buffer (not copied; keep it alive). */
struct haywire_mem *haywire_mem_from_buffer(const void *buf, size_t size,
					    struct haywire_error *err);
void haywire_mem_close(struct haywire_mem *mem);
uint64_t haywire_mem_size(const struct haywire_mem *mem);
/* Identity of the file (for the hint cache); false for buffers. */
bool haywire_mem_file_id(const struct haywire_mem *mem, uint64_t *dev,
			 uint64_t *ino);
/* Copy file bytes [offset, offset + len); fails if any is out of bounds. */
int haywire_mem_read(const struct haywire_mem *mem, uint64_t offset,
		     void *dst, size_t len, struct haywire_error *err);

/* ---- guest-physical -> file-offset map ----------------------------- */

#define HAYWIRE_MAP_MAX_RUNS 2	/* x86: below and above 4 GiB */

struct haywire_run {
	uint64_t gpa;
	uint64_t size;
	uint64_t file_offset;
};

struct haywire_gpa_map {
	unsigned int count;
	struct haywire_run runs[HAYWIRE_MAP_MAX_RUNS];
};

/*
 * Derive the map as docs/protocol.md describes, from the file size, where
 * the index was found and what it says (self_gpa, System RAM ranges), then
 * check that the index and every RAM range map inside the file.
 */
int haywire_map_derive(struct haywire_gpa_map *map, unsigned int arch,
		       uint64_t file_size, uint64_t index_offset,
		       uint64_t self_gpa, const struct hw_range *ram,
		       unsigned int ram_count, struct haywire_error *err);
/* File offset of [gpa, gpa + len) if it lies inside one run. */
bool haywire_map_lookup(const struct haywire_gpa_map *map, uint64_t gpa,
			uint64_t len, uint64_t *file_offset);
/* Copy guest-physical bytes [gpa, gpa + len), which may span runs. */
int haywire_mem_read_gpa(const struct haywire_mem *mem,
			 const struct haywire_gpa_map *map, uint64_t gpa,
			 void *dst, size_t len, struct haywire_error *err);

/* ---- discovery ----------------------------------------------------- */

/* Where a previous run found the index. */
struct haywire_hint {
	uint64_t file_offset;
	uint64_t nonce;
};

struct haywire_opts {
	const struct haywire_hint *hint;	/* NULL: scan */
	unsigned int attempts;	/* seq read attempts; 0: 50 */
	unsigned int sleep_us;	/* sleep between later attempts; 0: 2000 */
};

struct haywire_location {
	uint64_t file_offset;	/* of the master index */
	uint64_t gpa;		/* = self_gpa */
	uint64_t nonce;
	struct haywire_gpa_map map;
	unsigned int probes;	/* 2 MiB offsets examined */
	unsigned int candidates; /* offsets holding HW_MAGIC */
	bool hint_used;
	uint64_t ns;		/* discovery time, CLOCK_MONOTONIC */
};

struct haywire_beacon;

/*
 * Find the beacon: the hint first (if it validates, has the same nonce and
 * is not stale), else every 2 MiB offset of the file, skipping holes. Of
 * several valid indexes the latest published wins.
 */
struct haywire_beacon *haywire_discover(struct haywire_mem *mem,
					const struct haywire_opts *opts,
					struct haywire_error *err);
void haywire_beacon_free(struct haywire_beacon *beacon);
const struct haywire_location *
haywire_beacon_location(const struct haywire_beacon *beacon);

/* ---- snapshots ----------------------------------------------------- */

/* The decoded index of one snapshot. */
struct haywire_info {
	unsigned int version_major, version_minor;
	uint64_t nonce;
	uint64_t self_gpa;
	uint32_t page_size;
	unsigned int arch;		/* enum hw_arch */
	unsigned int paging_levels;
	uint64_t load_real_ns;
	char kernel_release[HW_RELEASE_LEN];

	uint32_t flags;			/* HW_IF_* */
	uint64_t generation;
	uint64_t publish_mono_ns, publish_boot_ns, publish_real_ns;
	uint32_t interval_ms;
	unsigned int extent_count;
	struct hw_range extents[HW_MAX_EXTENTS];
	uint64_t logical_size;
	unsigned int ram_count;
	struct hw_range ram[HW_MAX_RAM_RANGES];

	uint64_t procs, procs_total, procs_mm_busy;	/* published, true */
	uint64_t vmas, vmas_total;
	uint64_t string_bytes, strings_total;

	bool have_stats;		/* read by haywire_read_info only */
	struct hw_stats stats;

	int64_t age_ms;		/* host CLOCK_REALTIME - publish_real_ns */
	bool stale;		/* age > 3 * interval + 1 s */
	bool stale_confirmed;	/* haywire_confirm_stale: no new generation */
	int64_t clock_offset_ms; /* haywire_confirm_stale: host clock minus
				  * guest clock, when a live beacon looked
				  * stale; 0 otherwise */
	bool truncated;		/* HW_IF_TRUNCATED or fewer than the totals */
	struct haywire_location location;
};

struct haywire_proc {
	int32_t pid, tgid, ppid;
	uint32_t flags;			/* HW_PF_* */
	uint32_t uid, gid, euid, egid;
	uint32_t threads;
	char state;			/* one of RSDTtXZPI */
	char comm[HW_COMM_LEN];		/* NUL-terminated */
	uint64_t start_time_ns;		/* guest CLOCK_BOOTTIME */
	uint64_t vsize_kb, rss_kb;
	uint64_t pgd;
	const char *exe;	/* "" if none; NULL from haywire_read_maps */
	uint32_t exe_len;
	uint32_t vma_first, vma_count, vma_total;
};

struct haywire_vma {
	uint64_t start, end, offset, inode;
	uint32_t dev_major, dev_minor;
	uint32_t flags;			/* HW_VF_* */
	const char *name;		/* "" if anonymous */
	uint32_t name_len;
};

struct haywire_procs {
	struct haywire_info info;
	size_t count;
	struct haywire_proc *procs;	/* sorted by pid */
	char *string_copy;	/* private: what the exe pointers point into */
};

struct haywire_maps {
	struct haywire_info info;
	struct haywire_proc proc;
	size_t count;
	struct haywire_vma *vmas;	/* sorted by start */
	char *string_copy;	/* private: what the name pointers point into */
};

/*
 * Each reads one consistent snapshot (the seq protocol, bounded retries,
 * then HAYWIRE_E_BUSY). If the module was reloaded in between, the beacon
 * is discovered again and *beacon's location updated.
 *
 * read_info copies the index and the stats; read_procs the index, the
 * process table and the executable paths; read_maps the index, the
 * process table, one process's VMA records and their names. read_maps
 * fails with HAYWIRE_E_NOT_FOUND for an unknown pid and HAYWIRE_E_BUSY for
 * a process whose VMAs this snapshot could not include.
 */
int haywire_read_info(struct haywire_beacon *beacon,
		      struct haywire_info *info, struct haywire_error *err);
int haywire_read_procs(struct haywire_beacon *beacon,
		       struct haywire_procs **out, struct haywire_error *err);
int haywire_read_maps(struct haywire_beacon *beacon, int32_t pid,
		      struct haywire_maps **out, struct haywire_error *err);
/*
 * Snapshot age compares the guest's clock with the host's, and guest clocks
 * can be off (a TCG guest sets its clock from the RTC in whole seconds;
 * clocks without NTP drift). When info->stale, watch the generation for up
 * to two intervals (never more than 2.5 s): if it advances the companion is
 * live, stale becomes false and clock_offset_ms estimates the offset;
 * otherwise stale_confirmed is set. With longer intervals the clocks'
 * verdict stands unconfirmed.
 */
int haywire_confirm_stale(struct haywire_beacon *beacon,
			  struct haywire_info *info, struct haywire_error *err);
void haywire_procs_free(struct haywire_procs *procs);
void haywire_maps_free(struct haywire_maps *maps);

/* ---- hint cache ---------------------------------------------------- */

/*
 * A small file per RAM file (keyed by device, inode and size) in
 * $HAYWIRE_HINT_DIR, else $XDG_CACHE_HOME/haywire, else ~/.cache/haywire.
 * Only a cache: failures are ignored (load returns false).
 */
bool haywire_hint_load(const struct haywire_mem *mem,
		       struct haywire_hint *hint);
void haywire_hint_save(const struct haywire_mem *mem,
		       const struct haywire_hint *hint);

/* ---- page tables ---------------------------------------------------- */

/*
 * A source of guest-physical memory: the mapped RAM file, or (agentless
 * work) a monitor. read copies [gpa, gpa + len) or fails with a code.
 */
struct haywire_phys {
	int (*read)(void *ctx, uint64_t gpa, void *dst, size_t len,
		    struct haywire_error *err);
	void *ctx;
};

/* The RAM file as a haywire_phys: ctx is a struct haywire_phys_mem. */
struct haywire_phys_mem {
	const struct haywire_mem *mem;
	const struct haywire_gpa_map *map;
};
int haywire_phys_mem_read(void *ctx, uint64_t gpa, void *dst, size_t len,
			  struct haywire_error *err);

/* An address space: its top-level table and the paging mode. */
struct haywire_paging {
	uint64_t root;		/* physical address (CR3 without PCID bits) */
	unsigned int levels;	/* 4 or 5 */
};

enum haywire_page_state {
	HAYWIRE_PAGE_UNMAPPED = 0,	/* no entry */
	HAYWIRE_PAGE_PRESENT,		/* in RAM at gpa */
	HAYWIRE_PAGE_SWAPPED,		/* a swap or migration entry */
};

#define HAYWIRE_XF_WRITE	(1U << 0)	/* writable at every level */
#define HAYWIRE_XF_USER		(1U << 1)	/* user-accessible at every level */
#define HAYWIRE_XF_NX		(1U << 2)	/* no-execute at some level */
#define HAYWIRE_XF_PROTNONE	(1U << 3)	/* Linux PROT_NONE: in RAM, no access */

/*
 * A run of consecutive pages of one size in one state (and, when present,
 * physically contiguous, with the same rights).
 */
struct haywire_xlate_run {
	uint64_t va;
	uint64_t len;
	uint64_t gpa;			/* HAYWIRE_PAGE_PRESENT only */
	enum haywire_page_state state;
	unsigned int page_shift;	/* 12, 21 or 30; 0 when unmapped */
	uint32_t flags;			/* HAYWIRE_XF_*, present pages only */
};

/* Called for each run in address order; nonzero stops the walk. */
typedef int (*haywire_run_fn)(void *arg, const struct haywire_xlate_run *run);

/*
 * Walk the page tables for [va, va + len): x86-64 4- or 5-level paging,
 * 4 KiB, 2 MiB and 1 GiB pages, Linux's non-present encodings (swap
 * entries; PROT_NONE with its inverted frame number). Returns 0, a code, or
 * what fn returned to stop.
 */
int haywire_translate(const struct haywire_phys *phys,
		      const struct haywire_paging *paging, uint64_t va,
		      uint64_t len, haywire_run_fn fn, void *arg,
		      struct haywire_error *err);
/* Copy [va, va + len) through the page tables; HAYWIRE_E_UNMAPPED if any
 * of it is not in RAM. */
int haywire_read_virt(const struct haywire_phys *phys,
		      const struct haywire_paging *paging, uint64_t va,
		      void *dst, size_t len, struct haywire_error *err);

#endif /* HAYWIRE_H */
