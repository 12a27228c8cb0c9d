/* SPDX-License-Identifier: MIT */
/*
 * Synthetic guest RAM files with a beacon laid out exactly as
 * include/haywire_protocol.h says, for the host tests. Input generation,
 * not a mock: the host reads these files the way it reads a real guest's.
 */
#ifndef HAYWIRE_FIXTURE_H
#define HAYWIRE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haywire_protocol.h"

#define FIXTURE_AUTO UINT64_MAX
#define FIXTURE_MAX_SETS 32

struct fixture {
	const char *machine;	/* "q35" (default), "pc" or "virt" (arm64) */
	uint64_t size;		/* RAM file bytes */
	uint64_t index_offset;	/* file offset of extent 0, 2 MiB-aligned */
	unsigned int extents;	/* beacon extents (each a 2 MiB multiple) */
	bool scatter;		/* leave a gap after each extent */
	unsigned int procs;	/* processes, kernel threads included */
	unsigned int kthreads;	/* of which kernel threads (besides pid 2) */
	unsigned int vmas;	/* per user process */
	uint64_t nonce;
	uint64_t generation;
	uint32_t interval_ms;
	int64_t age_ms;		/* publish_real_ns = now - age */
	uint32_t proc_stride, vma_stride;	/* entry_size; 0: record size */
	bool weird_names;	/* init gets names with '\n', non-UTF-8, 4 KiB */
	bool truncated;		/* totals beyond what is published */
	bool mm_busy;		/* one process's mmap_lock was contended */
	bool no_stats;
	bool gone;		/* magic HWGONE!!, as after unload */
	bool junk;		/* non-zero bytes at every 2 MiB offset */
	bool rings;		/* request and response areas (1.1) */
	unsigned int cameras;	/* 0: no camera sections; 1..4: that many
				 * on, watching the first processes with
				 * VMAs (init first) */
	bool guest;		/* 1.3: guest section and 2 CPU records */
	unsigned int event_slots;	/* 1.3: event ring records (0: none) */
	uint64_t events_written;	/* events 1 .. this written (the
					 * last event_slots of them kept) */
	const char *sets[FIXTURE_MAX_SETS];	/* "field=value", applied last */
	unsigned int nsets;
};

/* What fixture_write laid out, for tests that need to know. */
struct fixture_layout {
	uint64_t index_offset, self_gpa;
	uint64_t logical_size, used;	/* used: bytes of data */
	uint64_t extent_file[64], extent_size;
	unsigned int extent_count;
	uint64_t procs_off, vmas_off, strings_off, stats_off;
	uint64_t nvmas, string_bytes;
	uint64_t requests_off, responses_off;	/* rings: logical offsets */
	uint64_t cameras_off, cvmas_off, runs_off;
	uint64_t ncvmas, nruns;
	uint64_t guest_off, cpus_off, events_off;	/* 1.3, logical */
};

/* 1.3: event n as the fixture writes it (type cycles fork, exec, exit). */
void fixture_event(uint64_t n, struct hw_event *ev);

void fixture_defaults(struct fixture *f);
/* Guest-physical address of a file offset in f's machine layout. */
uint64_t fixture_gpa(const struct fixture *f, uint64_t file_offset);
/*
 * Write the RAM file into fd: set its size (never shrinking it) and write
 * the beacon's extents (and junk, if asked); everything else is left as it
 * was, so a second call can add a second beacon. 0 or -1 with *msg set.
 */
int fixture_write(const struct fixture *f, int fd,
		  struct fixture_layout *layout, char *msg, size_t msg_len);

/*
 * A command-line number for the test tools (mkbeacon, hostile): decimal or
 * 0x hex, with an optional K, M or G suffix; anything else exits 2 with
 * one line naming the tool.
 */
uint64_t fixture_number(const char *tool, const char *s);

#endif /* HAYWIRE_FIXTURE_H */
