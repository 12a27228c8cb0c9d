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
 *   processes      haywire_host_*      translate and read a guest process's
 *                                      memory through its page tables
 *   cameras        haywire_read_cameras  per-VMA page-table state of the
 *                                      processes the guest watches
 *   requests       haywire_client_*    ask the guest through the request
 *                  haywire_ping ...    rings (needs the RAM file writable)
 *   QEMU           haywire_qmp_*       a QMP client; registers, the RAM map
 *                  haywire_qemu_*      and guest-physical reads from stock
 *                                      QEMU (no guest companion needed)
 *   agentless      haywire_agentless_* the guest kernel's own task and VMA
 *                                      structures, walked from the host with
 *                                      its BTF and symbols
 *   sources        haywire_source_*    ps, maps, translate and read from the
 *                                      beacon, the RAM file (agentless) or
 *                                      QMP (agentless), behind one interface
 *
 * The guest is untrusted: every function that looks at guest bytes copies
 * them into private memory first, validates the copy and returns decoded
 * host-side types. Functions that can fail return 0 on success or a
 * haywire_code, and fill *err (if not NULL) with that code and a one-line
 * message that says what to do about it.
 *
 * Not thread-safe per object; separate objects may be used from separate
 * threads.
 *
 * SIGBUS: the RAM file is mapped, so a file that shrinks under the mapping
 * (the guest shut down) faults on the next access. The library installs no
 * signal handler of its own: before each read it checks the file's size
 * (fstat) and fails with HAYWIRE_E_IO if it shrank, which leaves only a
 * shrink during the copy itself to fault. A program that wants that case as
 * an error too calls haywire_catch_sigbus() once (the haywire command
 * does); the check is then not needed and not made.
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
	HAYWIRE_E_REFUSED,	/* the guest refused (e.g. allow_read=0) */
	HAYWIRE_E_FULL,		/* every ring slot is held by a live client */
	HAYWIRE_E_TIMEOUT,	/* the guest did not answer in time */
	HAYWIRE_E_QMP,		/* QEMU's monitor failed or refused */
	HAYWIRE_E_MISMATCH,	/* kernel files do not fit the guest */
	HAYWIRE_E_RAM_MAP,	/* guest RAM the RAM file does not hold
				 * (hot-plugged: map it with --qmp) */
	HAYWIRE_E_AMBIGUOUS,	/* several beacons validate: pin one */
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
/*
 * Opt in, process-wide and once, to a SIGBUS handler that turns a fault in
 * a library read of a RAM file into HAYWIRE_E_IO (siglongjmp out of the
 * copy). A SIGBUS anywhere else goes to the handler installed before, or
 * kills the process as it would have. Call it before starting threads.
 */
void haywire_catch_sigbus(void);
/* Copy file bytes [offset, offset + len); fails if any is out of bounds. */
int haywire_mem_read(const struct haywire_mem *mem, uint64_t offset,
		     void *dst, size_t len, struct haywire_error *err);

/* ---- guest-physical -> file-offset map ----------------------------- */

/* x86: below and above 4 GiB; then RAM of other memory backends (DIMMs,
 * virtio-mem) attached with haywire_mem_attach */
#define HAYWIRE_MAP_MAX_RUNS 16

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

/*
 * Guest RAM that is not in the RAM file (hot-plugged DIMMs, virtio-mem):
 * attach another memory backend's file, which QEMU maps at guest-physical
 * `runs` (their file_offset is the offset in that file). Its bytes then
 * follow the RAM file's in the handle's offset space (haywire_mem_read and
 * the maps below reach them), and maps derived for the handle (discovery)
 * include those runs. Attach before discovering a beacon on the handle;
 * attaching the same file again does nothing. Not for buffers.
 */
#define HAYWIRE_MEM_MAX_ATTACHED 8
int haywire_mem_attach(struct haywire_mem *mem, const char *path,
		       const struct haywire_run *runs, unsigned int count,
		       struct haywire_error *err);
/* The guest-physical runs of the attached files (offsets in the handle). */
const struct haywire_gpa_map *haywire_mem_attached_map(const struct haywire_mem *mem);

/* ---- discovery ----------------------------------------------------- */

/* Where a previous run found the index. */
struct haywire_hint {
	uint64_t file_offset;
	uint64_t nonce;
};

struct haywire_opts {
	const struct haywire_hint *hint;	/* NULL: none */
	unsigned int attempts;	/* snapshot read attempts; 0: 50 */
	unsigned int sleep_us;	/* sleep between later attempts; 0: 2000 */
	/* Discovery: take only the index whose self_gpa is index_gpa. */
	bool pin_index;
	uint64_t index_gpa;
	/* Discovery: how long busy candidates are looked at again; 0: the
	 * defaults (250 ms while none validated, 40 ms once one did). */
	unsigned int deadline_ms;
};

struct haywire_location {
	uint64_t file_offset;	/* of the master index */
	uint64_t gpa;		/* = self_gpa */
	uint64_t nonce;
	struct haywire_gpa_map map;
	unsigned int probes;	/* 2 MiB offsets examined */
	unsigned int candidates; /* offsets holding HW_MAGIC */
	unsigned int busy;	/* of which never readable before the deadline
				 * (ignored; a warning says so) */
	unsigned int rejected;	/* of which failed validation (ignored) */
	unsigned int frozen;	/* of which valid but frozen while this one
				 * was alive: left by an earlier boot, or a
				 * forgery that does not move (ignored; a
				 * warning says so) */
	bool pinned;		/* chosen by opts.index_gpa */
	bool hint_used;		/* the hint's index is the one */
	uint64_t ns;		/* discovery time, CLOCK_MONOTONIC */
};

struct haywire_beacon;

/*
 * Find the beacon. Every 2 MiB offset of the file is probed for HW_MAGIC
 * (8 bytes each, holes read as zeros without allocating), every candidate
 * is validated once, and busy ones (seq odd, generation 0, changing) are
 * looked at again until one deadline for the whole discovery. Exactly one
 * valid index is the beacon; several are HAYWIRE_E_AMBIGUOUS, whose
 * message lists them (GPA, nonce, generation, age): pin the kernel's with
 * opts.index_gpa. The hint is validated first and only names the place
 * where the beacon was; it never stands in for the scan. Candidates left
 * busy or invalid are counted in the location.
 */
struct haywire_beacon *haywire_discover(struct haywire_mem *mem,
					const struct haywire_opts *opts,
					struct haywire_error *err);
void haywire_beacon_free(struct haywire_beacon *beacon);
const struct haywire_location *
haywire_beacon_location(const struct haywire_beacon *beacon);

/* ---- snapshots ----------------------------------------------------- */

/* 1.3: CPU time in ns, as a cpu line of /proc/stat (which shows ticks). */
struct haywire_cpu_time {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
	uint32_t cpu;			/* CPU number; 0 in the total */
	bool online;
};

/* 1.3: the guest as a whole at the snapshot's refresh. */
struct haywire_guest {
	uint64_t uptime_ns;		/* CLOCK_BOOTTIME */
	double load[3];			/* 1, 5, 15 minutes */
	uint64_t load_raw[3];		/* fixed point << HW_LOAD_FSHIFT */
	uint32_t nr_running, nr_blocked, nr_threads;
	uint32_t nr_cpus;		/* online */
	uint32_t nr_possible;
	uint32_t flags;			/* HW_GF_* */
	/* kB, as /proc/meminfo */
	uint64_t mem_total, mem_free, mem_available, buffers, cached;
	uint64_t swap_total;		/* 0 with HW_GF_NO_SWAP_TOTAL */
	uint64_t swap_free, shmem, slab, sreclaimable;
	struct haywire_cpu_time cpu_total;	/* all CPUs */
};

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
	/* 1.4 (0 and "" from older companions: unknown, all available) */
	unsigned int companion;		/* enum hw_companion */
	char companion_version[HW_COMPANION_VERSION_LEN]; /* NUL-terminated */
	uint32_t unavailable;		/* HW_UF_*: show those fields as
					 * unavailable, never as 0 */

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
	/* 1.3: the guest-wide section of the same snapshot (read_info and
	 * read_procs); false from older modules */
	bool have_guest;
	struct haywire_guest guest;

	int64_t age_ms;		/* host CLOCK_REALTIME - publish_real_ns; never
				 * negative (see ahead_ms) */
	uint64_t ahead_ms;	/* publish_real_ns is this far in the host's
				 * future: the guest's clock is ahead, or the
				 * timestamp is false; not trusted */
	bool future;		/* ahead_ms > 3 * interval + 1 s, more than
				 * skew: freshness unknown until the
				 * generation is seen to advance */
	bool stale;		/* age > 3 * interval + 1 s */
	bool live;		/* haywire_confirm_stale saw the generation
				 * advance */
	bool stale_confirmed;	/* haywire_confirm_stale: no new generation */
	int64_t clock_offset_ms; /* haywire_confirm_stale: host clock minus
				  * guest clock, when a live beacon looked
				  * stale; 0 otherwise */
	bool truncated;		/* HW_IF_TRUNCATED or fewer than the totals */
	struct haywire_location location;
	char note[HAYWIRE_MSG_MAX];	/* agentless: a warning, or "" */
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
	/* 1.3 (monitor true; zeros and "" otherwise): the whole thread group,
	 * as /proc/PID/stat */
	bool monitor;
	uint64_t utime_ns, stime_ns;	/* fields 14, 15, in ns */
	uint64_t min_flt, maj_flt;	/* fields 10, 12 */
	int32_t nice;			/* field 19 */
	int32_t last_cpu;		/* field 39 */
	const char *cgroup;	/* cgroup v2 path, "" if unknown; NULL from
				 * haywire_read_maps */
	uint32_t cgroup_len;
	uint64_t pidns_inum;		/* PID namespace inode (ls -L
					 * /proc/PID/ns/pid), 0 if unknown */
	int32_t ns_pid;			/* tgid inside that namespace */
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
 * clocks without NTP drift). When info->stale or info->future, watch the
 * generation for up to two intervals (never more than 2.5 s): if it
 * advances the companion is live (info->live), stale becomes false and
 * clock_offset_ms estimates the offset; otherwise stale_confirmed is set.
 * With longer intervals the clocks' verdict stands unconfirmed.
 */
int haywire_confirm_stale(struct haywire_beacon *beacon,
			  struct haywire_info *info, struct haywire_error *err);
void haywire_procs_free(struct haywire_procs *procs);
void haywire_maps_free(struct haywire_maps *maps);

/*
 * 1.3: %CPU as procps's ps shows it: the process's CPU time over the time
 * since it started (guest CLOCK_BOOTTIME of the snapshot), in percent.
 */
double haywire_proc_cpu_percent(const struct haywire_proc *proc,
				const struct haywire_info *info);

/* 1.3: the guest-wide section with the per-CPU times of one snapshot. */
struct haywire_guest_stat {
	struct haywire_info info;	/* info.guest: the totals */
	size_t cpu_count;
	struct haywire_cpu_time *cpus;	/* by CPU number */
	bool cpus_truncated;		/* fewer records than possible CPUs */
};

/* HAYWIRE_E_NOT_FOUND: the module publishes no guest section (< 1.3). */
int haywire_read_guest(struct haywire_beacon *beacon,
		       struct haywire_guest_stat **out,
		       struct haywire_error *err);
void haywire_guest_stat_free(struct haywire_guest_stat *stat);

/* ---- 1.3: lifecycle events ----------------------------------------- */

struct haywire_event {
	uint64_t seq;			/* event number, from 1 per beacon */
	uint64_t boot_ns;		/* guest CLOCK_BOOTTIME */
	uint64_t real_ns;		/* guest CLOCK_REALTIME */
	unsigned int type;		/* enum hw_event_type */
	uint32_t flags;			/* HW_EF_* */
	int32_t pid, tgid, ppid;
	int32_t exit_code;		/* HW_EV_EXIT: wait status */
	uint32_t cpu;
	char comm[HW_COMM_LEN];		/* NUL-terminated */
	char filename[HW_EVENT_FILENAME_LEN];	/* HW_EV_EXEC, NUL-terminated */
	uint32_t filename_len;		/* whole length in the guest */
};

/* "fork", "exec", "exit" or "unknown". */
const char *haywire_event_type_name(unsigned int type);

#define HAYWIRE_EVENTS_NOW	0		/* only events after the first read */
#define HAYWIRE_EVENTS_OLDEST	UINT64_MAX	/* the oldest still in the ring */

/* Where a reader is in a beacon's event stream; the caller keeps it. */
struct haywire_event_cursor {
	uint64_t nonce;		/* beacon the numbers belong to; 0: not yet */
	uint64_t next;		/* next event number wanted */
	uint64_t from;		/* HAYWIRE_EVENTS_NOW, _OLDEST or a number:
				 * where the first read starts */
};

void haywire_event_cursor_init(struct haywire_event_cursor *cur,
			       uint64_t from);

struct haywire_event_batch {
	size_t count;		/* events stored in the caller's array */
	uint64_t lost;		/* events between the cursor and these that the
				 * ring overwrote before they were read: exact */
	bool restarted;		/* the beacon's nonce changed (module reload,
				 * guest reboot): the cursor restarted at the
				 * new ring's oldest event; events of the old
				 * ring not read before are unknown */
	uint64_t old_nonce, nonce;
	uint64_t head;		/* last event number written in the guest */
	uint32_t slots;		/* ring records */
	uint64_t overwritten;	/* the ring's count of overwritten events */
	bool more;		/* more events are ready now: read again */
};

/*
 * Read up to max events from the cursor on, in order, and advance it.
 * Every event number the cursor passes is either returned or counted in
 * batch->lost. HAYWIRE_E_NOT_FOUND: no event ring (module < 1.3 or loaded
 * with events=0); HAYWIRE_E_CORRUPT: the ring fails validation.
 */
int haywire_read_events(struct haywire_beacon *beacon,
			struct haywire_event_cursor *cur,
			struct haywire_event *out, size_t max,
			struct haywire_event_batch *batch,
			struct haywire_error *err);

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

/*
 * An address space: its top-level table and the paging mode. arch 0 is
 * x86-64 (what every caller meant before arm64). On arm64 root is TTBR0's
 * table for user (lower-half) addresses or TTBR1's for the upper half, with
 * the 4 KiB granule only; arm64_present_invalid says how the guest's kernel
 * marks PROT_NONE (6.10+: PTE_PRESENT_INVALID; before: PTE_PROT_NONE):
 * haywire_paging_init() sets it from the kernel release.
 */
struct haywire_paging {
	uint64_t root;		/* physical address (CR3 without PCID bits,
				 * or TTBRn_EL1 without ASID and CnP) */
	unsigned int levels;	/* x86-64: 4 or 5; arm64: 3 or 4 */
	unsigned int arch;	/* HW_ARCH_*; 0: x86-64 */
	bool arm64_present_invalid;
	bool arm64_ttbr1;	/* root is TTBR1's: upper-half addresses only
				 * (else TTBR0's: lower-half only) */
};

/*
 * The paging of an address space of a guest of arch running kernel
 * `release` (uname -r) with `page_size` base pages: HAYWIRE_E_INVALID for
 * what the walker does not support (arm64 16/64 KiB granules, LPA2).
 */
int haywire_paging_init(struct haywire_paging *paging, unsigned int arch,
			unsigned int levels, unsigned int page_size,
			const char *release, uint64_t root,
			struct haywire_error *err);

enum haywire_page_state {
	HAYWIRE_PAGE_UNMAPPED = 0,	/* no entry */
	HAYWIRE_PAGE_PRESENT,		/* in RAM at gpa */
	HAYWIRE_PAGE_SWAPPED,		/* a swap or migration entry */
};

#define HAYWIRE_XF_WRITE	(1U << 0)	/* writable at every level */
#define HAYWIRE_XF_USER		(1U << 1)	/* user-accessible at every level */
#define HAYWIRE_XF_NX		(1U << 2)	/* no-execute at some level */
#define HAYWIRE_XF_PROTNONE	(1U << 3)	/* Linux PROT_NONE: in RAM, no access */
#define HAYWIRE_XF_UNKNOWN	(1U << 15)	/* the guest could not tell the
						 * page size and the other
						 * flags (eBPF companion) */

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
 * Walk the page tables for [va, va + len): x86-64 4- or 5-level paging, or
 * arm64 3- or 4-level with the 4 KiB granule; 4 KiB, 2 MiB and 1 GiB pages,
 * Linux's non-present encodings (swap entries; PROT_NONE). Returns 0, a code, or
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

/* ---- processes: host-side translation and reads ---------------------- */

/*
 * One process of the latest snapshot (exe is NULL) and the snapshot's
 * index. HAYWIRE_E_NOT_FOUND if the snapshot does not list pid.
 */
int haywire_read_proc(struct haywire_beacon *beacon, int32_t pid,
		      struct haywire_proc *proc, struct haywire_info *info,
		      struct haywire_error *err);

/*
 * Translate or read a process's memory with no guest involvement: its
 * page-table root and the paging mode come from the latest snapshot, the
 * walk reads the tables straight from the RAM file (x86-64, and arm64 with
 * the 4 KiB granule).
 * Runs go to fn as they are found. Afterwards the latest snapshot must
 * still list the process with the same page-table root, or the result is
 * reported as HAYWIRE_E_NOT_FOUND (the process exited during the walk and
 * its tables may have been reused). A process without an address space is
 * HAYWIRE_E_NOT_FOUND too; an address without a page in RAM (not mapped,
 * swapped out, PROT_NONE) is HAYWIRE_E_UNMAPPED for reads.
 */
int haywire_host_translate(struct haywire_beacon *beacon, int32_t pid,
			   uint64_t va, uint64_t len, haywire_run_fn fn,
			   void *arg, struct haywire_error *err);
int haywire_host_read(struct haywire_beacon *beacon, int32_t pid,
		      uint64_t va, void *dst, size_t len,
		      struct haywire_error *err);

/* ---- cameras --------------------------------------------------------- */

struct haywire_camera {
	int32_t pid;			/* 0: off */
	uint32_t flags;			/* HW_CF_* */
	uint32_t vma_count;
	uint64_t present_pages, swapped_pages;	/* base pages */
};

struct haywire_camera_vma {
	uint64_t start, end;
	uint64_t present_pages, swapped_pages;
	size_t run_first, run_count;	/* into haywire_cameras.runs */
};

struct haywire_cameras {
	struct haywire_info info;
	unsigned int count;		/* cameras the snapshot has */
	struct haywire_camera cams[HW_MAX_CAMERAS];
	int selected;			/* the camera watching the pid asked
					 * for, or -1 */
	size_t vma_count;		/* the selected camera's VMAs */
	struct haywire_camera_vma *vmas;
	size_t run_count;
	struct haywire_xlate_run *runs;	/* HAYWIRE_XF_* flags */
};

/*
 * The cameras of one consistent snapshot, validated; with pid > 0 also
 * the VMAs and page runs of the active camera watching pid (selected is
 * -1 if none does). HAYWIRE_E_VERSION if the module publishes no cameras.
 */
int haywire_read_cameras(struct haywire_beacon *beacon, int32_t pid,
			 struct haywire_cameras **out,
			 struct haywire_error *err);
void haywire_cameras_free(struct haywire_cameras *cameras);

/* ---- requests --------------------------------------------------------- */

/* Where the request rings are in the RAM file (they never move while the
 * module stays loaded). */
struct haywire_ring_layout {
	unsigned int slots;		/* 1 .. HW_RING_SLOTS */
	uint64_t nonce;			/* of the beacon they belong to */
	uint64_t self_gpa;		/* and its index's GPA */
	uint32_t version_minor;		/* of its protocol (requests: >= 2) */
	uint32_t page_size;		/* guest base page size */
	uint32_t request_stride, response_stride;
	uint64_t request_offset;	/* file offset of request slot 0 */
	uint64_t pages_offset, pages_len; /* the request pages, whole */
	uint64_t response_offset[HW_RING_SLOTS];
};

int haywire_read_ring_layout(struct haywire_beacon *beacon,
			     struct haywire_ring_layout *layout,
			     struct haywire_error *err);

struct haywire_client_opts {
	unsigned int timeout_ms;	/* per call, all its parts; 0: 5000 */
	unsigned int lease_ms;		/* claim lease; 0: 3000 */
	uint64_t end_ns;		/* CLOCK_MONOTONIC time no call may
					 * pass (a command of several calls);
					 * 0: none */
};

struct haywire_client;

/*
 * A request client on the beacon's RAM file. The file is opened again for
 * writing and exactly the request pages are mapped writable; everything
 * else stays read-only. Fails with HAYWIRE_E_FILE if the file is not
 * writable and HAYWIRE_E_VERSION if the module has no rings or speaks a
 * protocol older than 1.2 (snapshots stay readable). The beacon must
 * outlive the client, and the client belongs to the process that opened
 * it (not to children forked afterwards).
 *
 * Each call claims a free ring slot (or one whose lease expired, or whose
 * holder's lock on the RAM file is gone) by compare-and-swap of its claim
 * word, submits, waits for the answer that echoes its whole question
 * (renewing the lease), follows continuation cursors to the end,
 * validates everything and frees the slot; translation runs go to fn only
 * after the slot is freed. Nothing is written unless the beacon found is
 * still there (magic, nonce, index GPA) and its module showed a sign of
 * life (heartbeat) just before. The timeout bounds the whole call.
 * HAYWIRE_E_FULL: all slots held by live clients for the whole timeout;
 * HAYWIRE_E_TIMEOUT: no answer (or no heartbeat) in time; HAYWIRE_E_GONE:
 * the module was unloaded or the guest rebooted; HAYWIRE_E_REFUSED,
 * HAYWIRE_E_NOT_FOUND (no such process), HAYWIRE_E_UNMAPPED and
 * HAYWIRE_E_INVALID (the guest rejected an argument) from the guest's
 * status; HAYWIRE_E_BUSY when it stays busy; HAYWIRE_E_CORRUPT for an
 * answer that fails validation or does not echo the question.
 */
struct haywire_client *haywire_client_open(struct haywire_beacon *beacon,
					   const struct haywire_client_opts *opts,
					   struct haywire_error *err);
void haywire_client_close(struct haywire_client *client);
/* The client's token (random, never 0) in the high half of its claim
 * words; their low half is the slot's claim generation. */
uint64_t haywire_client_token(const struct haywire_client *client);

struct haywire_ping {
	uint64_t guest_mono_ns;		/* guest CLOCK_MONOTONIC */
	uint64_t generation;		/* published generation */
};

struct haywire_detail {
	int32_t pid;
	uint32_t flags;			/* HW_DF_* */
	uint32_t uid[4], gid[4];	/* real, effective, saved, fs */
	uint64_t cap_effective, cap_permitted;
	uint64_t utime_ns, stime_ns;
	uint64_t min_flt, maj_flt, nvcsw, nivcsw;
	uint64_t sig_pending, sig_shared_pending, sig_blocked;
	uint64_t sig_ignored, sig_caught;
	uint32_t threads;
	int32_t nice;
	uint32_t policy, exit_signal;
	char state;
	size_t cmdline_len;		/* NUL-separated arguments */
	const char *cmdline;		/* followed by one more NUL */
	size_t cwd_len;
	const char *cwd;		/* NUL-terminated, no NUL inside */
};

int haywire_ping(struct haywire_client *client, struct haywire_ping *out,
		 struct haywire_error *err);
/* Publish a snapshot now; its generation. */
int haywire_refresh(struct haywire_client *client, uint64_t *generation,
		    struct haywire_error *err);
int haywire_proc_detail(struct haywire_client *client, int32_t pid,
			struct haywire_detail **out, struct haywire_error *err);
void haywire_detail_free(struct haywire_detail *detail);
/* Watch pid with camera (0 .. HW_MAX_CAMERAS - 1) from the next snapshot
 * on; *first_generation: the first snapshot that shows it. */
int haywire_camera_set(struct haywire_client *client, unsigned int camera,
		       int32_t pid, uint64_t *first_generation,
		       struct haywire_error *err);
int haywire_camera_clear(struct haywire_client *client, unsigned int camera,
			 struct haywire_error *err);
/* Translation and reads done by the guest (reads need allow_read=1). */
int haywire_guest_translate(struct haywire_client *client, int32_t pid,
			    uint64_t va, uint64_t len, haywire_run_fn fn,
			    void *arg, struct haywire_error *err);
int haywire_guest_read(struct haywire_client *client, int32_t pid,
		       uint64_t va, void *dst, size_t len,
		       struct haywire_error *err);

/* ---- QEMU's monitor (QMP) ------------------------------------------- */

struct json_object;	/* json-c */
struct haywire_qmp;

#define HAYWIRE_QMP_TIMEOUT_MS	10000

/*
 * Connect to QEMU's QMP monitor at "unix:PATH", "tcp:HOST:PORT" or a socket
 * path, read the greeting and negotiate capabilities. Connecting, and every
 * command later, must finish within timeout_ms (0: HAYWIRE_QMP_TIMEOUT_MS).
 * Failures are HAYWIRE_E_QMP; after a timeout or a malformed reply the
 * connection refuses further commands.
 */
struct haywire_qmp *haywire_qmp_open(const char *address,
				     unsigned int timeout_ms,
				     struct haywire_error *err);
void haywire_qmp_close(struct haywire_qmp *qmp);
/* QEMU's version from the greeting, e.g. "7.2.22". */
const char *haywire_qmp_version(const struct haywire_qmp *qmp);
/*
 * Run one command (args may be NULL and is not consumed), skipping
 * asynchronous events. On success *ret (if ret) holds the "return" value,
 * for json_object_put(). A QEMU error reply is HAYWIRE_E_QMP with QEMU's
 * own description.
 */
int haywire_qmp_execute(struct haywire_qmp *qmp, const char *command,
			struct json_object *args, struct json_object **ret,
			struct haywire_error *err);
/* An HMP command through human-monitor-command; *out is malloc'd text. */
int haywire_qmp_hmp(struct haywire_qmp *qmp, const char *command_line,
		    char **out, struct haywire_error *err);

/* The first CPU's x86-64 control state, from HMP "info registers". */
struct haywire_cpu_regs {
	uint64_t rip, cr0, cr3, cr4, efer, gs_base;
	unsigned int cpl;
	unsigned int arch;	/* HW_ARCH_*: arm64 has only rip (PC) set */
};

int haywire_qmp_registers(struct haywire_qmp *qmp,
			  struct haywire_cpu_regs *regs,
			  struct haywire_error *err);
int haywire_parse_registers(const char *text, struct haywire_cpu_regs *regs,
			    struct haywire_error *err);

#define HAYWIRE_QEMU_MAX_RUNS	64
#define HAYWIRE_QEMU_MAX_OTHER	HAYWIRE_MEM_MAX_ATTACHED

/*
 * Another memory backend that QEMU maps into the guest's address space:
 * a hot-plugged DIMM's or virtio-mem's RAM (count 0: not mapped).
 */
struct haywire_qemu_backend {
	char id[128];			/* = its region's name */
	char mem_path[HW_PATH_MAX];	/* "" if not file-backed */
	bool share;			/* share=on: the file is the RAM */
	uint64_t size;
	unsigned int count;
	struct haywire_run runs[HAYWIRE_MAP_MAX_RUNS];	/* file_offset: in
							 * its file */
};

/* Guest RAM as QEMU lays it out. */
struct haywire_qemu_ram {
	char backend[128];		/* memory backend id = region name */
	char mem_path[HW_PATH_MAX];	/* its file; "" if not file-backed */
	uint64_t size;			/* bytes */
	/* where the region appears in the guest-physical address space, from
	 * "info mtree -f"; file_offset is the offset in the backend */
	unsigned int count;
	struct haywire_run runs[HAYWIRE_QEMU_MAX_RUNS];
	/* the same as the beacon derives its map: one run per stretch of
	 * equal (GPA - offset), across holes QEMU lays over the RAM */
	struct haywire_gpa_map map;
	/* the other memory backends (RAM beyond the boot map) */
	unsigned int other_count;
	struct haywire_qemu_backend other[HAYWIRE_QEMU_MAX_OTHER];
};

/*
 * The memory backend holding the guest's RAM (the one whose mem-path is
 * mem_path, if given; else the only one) and where QEMU maps it.
 */
int haywire_qemu_ram(struct haywire_qmp *qmp, const char *mem_path,
		     struct haywire_qemu_ram *ram, struct haywire_error *err);
/* The parser of "info mtree -f" text, for region `region`. */
int haywire_parse_mtree(const char *text, const char *region,
			struct haywire_qemu_ram *ram,
			struct haywire_error *err);
/* 0 if the maps are equal, else HAYWIRE_E_CORRUPT naming the difference. */
int haywire_map_compare(const struct haywire_gpa_map *a, const char *a_name,
			const struct haywire_gpa_map *b, const char *b_name,
			struct haywire_error *err);

/*
 * Guest-physical memory through QMP ("pmemsave" into a private file), only
 * inside the RAM runs (a read elsewhere could touch device registers). Use
 * haywire_qmp_phys_read with the handle as a haywire_phys's ctx.
 */
struct haywire_qmp_phys;
struct haywire_qmp_phys *haywire_qmp_phys_open(struct haywire_qmp *qmp,
					       const struct haywire_qemu_ram *ram,
					       struct haywire_error *err);
void haywire_qmp_phys_close(struct haywire_qmp_phys *phys);
int haywire_qmp_phys_read(void *ctx, uint64_t gpa, void *dst, size_t len,
			  struct haywire_error *err);
/* Round trips and bytes so far. */
void haywire_qmp_phys_stats(const struct haywire_qmp_phys *phys,
			    uint64_t *reads, uint64_t *bytes);

/* ---- agentless: the guest kernel's own structures -------------------- */

/*
 * false in a reader built without the agentless walk (make AGENTLESS=0):
 * every haywire_btf_*, haywire_symbols_* and haywire_agentless_* call then
 * fails with "built without agentless support".
 */
bool haywire_agentless_supported(void);

/* Kernel type information and symbols. */
struct haywire_btf;
struct haywire_symbols;

/*
 * BTF from raw BTF (the guest's /sys/kernel/btf/vmlinux), a vmlinux ELF
 * file, or an x86 bzImage (vmlinuz; gzip, xz, lz4 or zstd).
 */
struct haywire_btf *haywire_btf_open(const char *path,
				     struct haywire_error *err);
void haywire_btf_close(struct haywire_btf *btf);
/* A System.map or a copy of /proc/kallsyms (plain or gzip). */
struct haywire_symbols *haywire_symbols_open(const char *path,
					     struct haywire_error *err);
void haywire_symbols_close(struct haywire_symbols *syms);

struct haywire_agentless_info {
	char release[HW_RELEASE_LEN];	/* init_uts_ns */
	char banner[256];		/* linux_banner, without the newline */
	uint64_t text_va;		/* _text, where KASLR put it */
	uint64_t text_pa;		/* its physical address */
	uint64_t kaslr_offset;		/* text_va - 0xffffffff81000000, the
					 * link address of _text */
	uint64_t page_offset_base;	/* the direct map */
	uint64_t kernel_root;		/* init_top_pgt, physical */
	uint64_t cr3;			/* the first CPU's, as read */
	unsigned int paging_levels;	/* 4 or 5, from CR4.LA57 */
	unsigned int cpus;		/* nr_cpu_ids */
	char btf_kind[32];		/* "raw BTF", "bzImage (zstd)", ... */
	bool banner_checked;		/* the BTF's image has this banner */
	unsigned int arch;		/* HW_ARCH_*; on arm64 kaslr_offset is
					 * kimage_voffset (the image's VA - PA),
					 * kernel_root swapper_pg_dir, cr3 0 */
};

struct haywire_agentless;

/*
 * Find the guest kernel in guest-physical memory: the KASLR slide (the
 * first mapped 2 MiB page of the kernel text window, confirmed by
 * linux_banner), the direct map, the layout of its structures (BTF), and
 * check that BTF and symbols fit the guest (HAYWIRE_E_MISMATCH otherwise).
 * arm64 (regs->arch): the kernel Image in RAM, kimage_voffset and
 * swapper_pg_dir instead of the registers (docs/agentless.md).
 * phys, btf and syms must outlive the handle (btf and syms are owned by it
 * after a successful open). ram_end bounds the direct map.
 */
struct haywire_agentless *haywire_agentless_open(const struct haywire_phys *phys,
						 uint64_t ram_end,
						 const struct haywire_cpu_regs *regs,
						 struct haywire_btf *btf,
						 struct haywire_symbols *syms,
						 struct haywire_error *err);
void haywire_agentless_close(struct haywire_agentless *a);
const struct haywire_agentless_info *
haywire_agentless_info(const struct haywire_agentless *a);
/*
 * The same records as the beacon's, walked live (not a consistent
 * snapshot: a walk that meets a changing list retries, then fails with
 * HAYWIRE_E_BUSY). info.note carries a warning to show, if any.
 */
int haywire_agentless_procs(struct haywire_agentless *a,
			    struct haywire_procs **out,
			    struct haywire_error *err);
int haywire_agentless_maps(struct haywire_agentless *a, int32_t pid,
			   struct haywire_maps **out,
			   struct haywire_error *err);
/* The page-table root of a process (HAYWIRE_E_NOT_FOUND: no such process
 * or no address space). */
int haywire_agentless_paging(struct haywire_agentless *a, int32_t pid,
			     struct haywire_paging *paging,
			     struct haywire_error *err);

/* ---- sources: one interface for the beacon and the agentless walks --- */

enum haywire_source_kind {
	HAYWIRE_SOURCE_BEACON = 0,	/* the module's snapshots (RAM file) */
	HAYWIRE_SOURCE_MEMFILE,		/* agentless, reads from the RAM file;
					 * QMP for registers and the map */
	HAYWIRE_SOURCE_QMP,		/* agentless, every read through QMP */
};

struct haywire_source_opts {
	enum haywire_source_kind kind;
	const char *mem_path;		/* beacon, memfile */
	struct haywire_mem *mem;	/* the RAM file already open (mem_path
					 * then only names it in messages); the
					 * source borrows it: close it after the
					 * source. NULL: open mem_path */
	const char *qmp;		/* memfile, qmp; beacon: check the map */
	unsigned int qmp_timeout_ms;	/* 0: HAYWIRE_QMP_TIMEOUT_MS */
	const char *btf_path;		/* memfile, qmp */
	const char *system_map_path;	/* memfile, qmp */
	const struct haywire_opts *beacon_opts;	/* discovery (hint) */
};

struct haywire_source;

const char *haywire_source_name(enum haywire_source_kind kind);
/* "beacon", "memfile" or "qmp"; false if unknown. */
bool haywire_source_parse(const char *name, enum haywire_source_kind *kind);
struct haywire_source *haywire_source_open(const struct haywire_source_opts *opts,
					   struct haywire_error *err);
void haywire_source_close(struct haywire_source *src);
enum haywire_source_kind haywire_source_kind(const struct haywire_source *src);
/* The RAM file, when the source has one open. */
struct haywire_mem *haywire_source_mem(struct haywire_source *src);
/* The pieces, for what only one kind has (NULL when absent). */
struct haywire_beacon *haywire_source_beacon(struct haywire_source *src);
struct haywire_agentless *haywire_source_agentless(struct haywire_source *src);
const struct haywire_qemu_ram *haywire_source_qemu_ram(const struct haywire_source *src);
struct haywire_qmp_phys *haywire_source_qmp_phys(struct haywire_source *src);
/* The guest-physical -> file-offset map the source uses. */
const struct haywire_gpa_map *haywire_source_map(const struct haywire_source *src);

int haywire_source_procs(struct haywire_source *src,
			 struct haywire_procs **out, struct haywire_error *err);
int haywire_source_maps(struct haywire_source *src, int32_t pid,
			struct haywire_maps **out, struct haywire_error *err);
/*
 * Page-table walk of a process on the host, over the source's memory: for
 * the beacon haywire_host_translate and haywire_host_read, for the
 * agentless sources from the root their walk finds.
 */
int haywire_source_translate(struct haywire_source *src, int32_t pid,
			     uint64_t va, uint64_t len, haywire_run_fn fn,
			     void *arg, struct haywire_error *err);
int haywire_source_read(struct haywire_source *src, int32_t pid, uint64_t va,
			void *dst, size_t len, struct haywire_error *err);

#endif /* HAYWIRE_H */
