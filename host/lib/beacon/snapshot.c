// SPDX-License-Identifier: MIT
/*
 * Snapshots: copy the index and exactly the bytes a request needs into
 * private memory under the seq protocol, then validate and decode the copy.
 * Guest memory is read once per datum and never looked at again, so what
 * is validated is what is returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beacon.h"

/* Reader limits, beyond the protocol's own, on what a guest can make us
 * allocate: PID_MAX_LIMIT processes, 64 KiB records. */
#define MAX_PROCS	(4U << 20)
#define MAX_ENTRY_SIZE	(64U << 10)

#define DEFAULT_ATTEMPTS	50
#define DEFAULT_SLEEP_US	2000
#define SPIN_ATTEMPTS		5	/* retried at once, then sleep */

/*
 * Records are copied through a bounce buffer of this size and decoded as
 * they arrive, with seq looked at after each piece: a snapshot that
 * changes is abandoned within one piece, not after a whole table, and no
 * private copy of the raw table is ever made.
 */
#define PIECE_BYTES		(256U << 10)

/* Decoded records are never larger than the records they come from, so a
 * table costs at most its own bytes in host memory (plus a string
 * reference each): the bound is the extents, never a count. */
_Static_assert(sizeof(struct haywire_proc) <= sizeof(struct hw_proc),
	       "a decoded process fits in the bytes of its record");
/* 1.2 process records are 128 bytes: a decoded one may take up to twice
 * that (and still never more than twice the table's bytes). */
#define PROC_RECORD_MIN		128
_Static_assert(sizeof(struct haywire_proc) <= 2 * PROC_RECORD_MIN,
	       "a decoded process fits in twice a 1.2 record");
#define MAX_CPUS		(64U << 10)
#define MAX_EVENT_SLOTS		(1U << 20)
#define MAX_KIND		HW_SEC_CPUS
_Static_assert(sizeof(struct haywire_vma) <= sizeof(struct hw_vma),
	       "a decoded VMA fits in the bytes of its record");

/* What a read copies, beyond the index. */
enum {
	READ_STATS = 1 << 0,
	READ_PROCS = 1 << 1,
	READ_EXES = 1 << 2,
	READ_MAPS = 1 << 3,
	READ_RING = 1 << 4,
	READ_CAMERAS = 1 << 5,
	READ_GUEST = 1 << 6,	/* 1.3 */
	READ_CPUS = 1 << 7,
	READ_EVENTS = 1 << 8,
};

/* How one attempt ended. */
enum outcome {
	OUT_DONE,		/* consistent: rc and err are the answer */
	OUT_ODD,		/* seq odd: the guest is publishing */
	OUT_CHANGED,		/* seq moved during the copy */
	OUT_UNPUBLISHED,	/* generation 0: nothing published yet */
	OUT_GONE,		/* magic is HWGONE!! now */
	OUT_VANISHED,		/* magic is something else now */
	OUT_RELOADED,		/* same place, new nonce */
};

#define RELOADED (-1)	/* internal: discover again, then retry */

/* Where the beacon's logical address space is in the file. */
struct layout {
	unsigned int extent_count;
	uint64_t logical[HW_MAX_EXTENTS];
	uint64_t file[HW_MAX_EXTENTS];
	uint64_t size[HW_MAX_EXTENTS];
	const struct hw_section *sec[MAX_KIND + 1];	/* by kind */
};

/* A string to copy: its place in the table and where the result goes. */
struct str_ref {
	uint32_t off, len;
	const char **slot;
	const char *what;	/* for messages: "process" or "VMA" */
	uint64_t record;
};

/* One read attempt: inputs, and every private copy it makes. */
struct window {
	const struct haywire_mem *mem;
	uint64_t index_offset;
	uint64_t nonce;		/* expected; 0 = take the index's */
	unsigned int what;
	uint32_t seq;		/* even seq the attempt started from */
	int32_t pid;

	struct hw_index ix;
	struct layout lay;
	struct haywire_gpa_map map;
	bool have_stats;
	struct hw_stats stats;

	unsigned char *raw;	/* bounce buffer for records, reused */
	size_t raw_cap;
	struct haywire_proc *procs;
	size_t nprocs;
	struct haywire_vma *vmas;
	size_t nvmas;
	struct haywire_ring_layout ring;
	struct haywire_cameras *cams;
	bool have_guest;
	struct haywire_guest guest;
	struct haywire_cpu_time *cpus;
	size_t ncpus;
	struct events_read *ev;		/* READ_EVENTS */
	struct str_ref *refs;
	size_t nrefs;
	char *strings;		/* copies of the referenced strings */

	enum outcome outcome;
	enum outcome last;	/* read_window: the last busy outcome */
	uint64_t magic_now;	/* what the magic was after the copy */
	int rc;
	struct haywire_error *err;
};

static void window_reset(struct window *w)
{
	free(w->raw);
	w->raw_cap = 0;
	free(w->procs);
	free(w->vmas);
	free(w->refs);
	free(w->strings);
	free(w->cpus);
	w->cpus = NULL;
	w->ncpus = 0;
	w->have_guest = false;
	haywire_cameras_free(w->cams);
	w->cams = NULL;
	w->raw = NULL;
	w->procs = NULL;
	w->vmas = NULL;
	w->refs = NULL;
	w->strings = NULL;
	w->nprocs = w->nvmas = w->nrefs = 0;
	w->have_stats = false;
	memset(&w->lay, 0, sizeof(w->lay));
	memset(&w->map, 0, sizeof(w->map));
}

__attribute__((format(printf, 2, 3)))
static int corrupt(struct window *w, const char *fmt, ...)
{
	char detail[HAYWIRE_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return hwi_fail(w->err, HAYWIRE_E_CORRUPT,
			"corrupt beacon (index at file offset 0x%llx): %s",
			(unsigned long long)w->index_offset, detail);
}

static void *alloc_array(struct window *w, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		n = 1;
	p = calloc(n, size);
	if (!p)
		hwi_fail(w->err, HAYWIRE_E_NOMEM,
			 "out of memory for %zu records of %zu bytes", n, size);
	return p;
}

/* Copy logical [logical, logical + len), which may span extents. */
static int copy_logical(struct window *w, uint64_t logical, void *dst,
			uint64_t len)
{
	const struct layout *lay = &w->lay;
	unsigned char *out = dst;
	unsigned int lo = 0, hi = lay->extent_count;

	if (logical > w->ix.logical_size ||
	    len > w->ix.logical_size - logical)
		return corrupt(w, "logical range 0x%llx+0x%llx is outside the beacon (0x%llx bytes)",
			       (unsigned long long)logical,
			       (unsigned long long)len,
			       (unsigned long long)w->ix.logical_size);
	/* The last extent starting at or before `logical`. */
	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;

		if (lay->logical[mid] <= logical)
			lo = mid;
		else
			hi = mid;
	}
	while (len) {
		uint64_t in = logical - lay->logical[lo];
		uint64_t piece = lay->size[lo] - in;

		if (piece > len)
			piece = len;
		if (!hwi_copy(w->mem, lay->file[lo] + in, out, piece))
			return corrupt(w, "extent %u is outside the RAM file",
				       lo);
		out += piece;
		logical += piece;
		len -= piece;
		lo++;
	}
	return 0;
}

/*
 * Whether seq moved since the attempt began: looked at right after each
 * piece is copied and before it is decoded. The fence orders the copy
 * before the load; it pairs with the guest's write barrier before the
 * seq++ that ends a publication.
 */
static bool seq_moved(struct window *w)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (hwi_load_u32_acquire(w->mem, w->index_offset +
				 offsetof(struct hw_index, seq)) == w->seq)
		return false;
	w->outcome = OUT_CHANGED;
	return true;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case HW_SEC_PROCS: return "process";
	case HW_SEC_VMAS: return "VMA";
	case HW_SEC_STRINGS: return "string";
	case HW_SEC_STATS: return "stats";
	case HW_SEC_REQUESTS: return "request";
	case HW_SEC_RESPONSES: return "response";
	case HW_SEC_CAMERAS: return "camera";
	case HW_SEC_CAMERA_VMAS: return "camera VMA";
	case HW_SEC_PAGE_RUNS: return "page run";
	}
	return "unknown";
}

/* The 1.1 sections: counts, and the request pages shared with no one. */
static int validate_new_sections(struct window *w)
{
	const struct hw_section *rq = w->lay.sec[HW_SEC_REQUESTS];
	const struct hw_section *rs = w->lay.sec[HW_SEC_RESPONSES];
	const struct hw_section *cams = w->lay.sec[HW_SEC_CAMERAS];
	uint64_t start, end;
	unsigned int i;

	if (!rq != !rs)
		return corrupt(w, "a %s section without a %s section",
			       rq ? "request" : "response",
			       rq ? "response" : "request");
	if (cams && (cams->count < 1 || cams->count > HW_MAX_CAMERAS))
		return corrupt(w, "camera count %llu is not in 1..%d",
			       (unsigned long long)cams->count,
			       HW_MAX_CAMERAS);
	for (i = HW_SEC_CAMERA_VMAS; i <= HW_SEC_PAGE_RUNS; i++)
		if (w->lay.sec[i] && w->lay.sec[i]->count > UINT32_MAX)
			return corrupt(w, "%s count %llu exceeds 2^32 - 1",
				       kind_name(i),
				       (unsigned long long)w->lay.sec[i]->count);
	if (w->lay.sec[HW_SEC_GUEST] && w->lay.sec[HW_SEC_GUEST]->count != 1)
		return corrupt(w, "guest section count %llu is not 1",
			       (unsigned long long)w->lay.sec[HW_SEC_GUEST]->count);
	if (w->lay.sec[HW_SEC_CPUS] &&
	    w->lay.sec[HW_SEC_CPUS]->count > MAX_CPUS)
		return corrupt(w, "CPU count %llu exceeds %u",
			       (unsigned long long)w->lay.sec[HW_SEC_CPUS]->count,
			       MAX_CPUS);
	if (w->lay.sec[HW_SEC_EVENTS] &&
	    (w->lay.sec[HW_SEC_EVENTS]->count < 1 ||
	     w->lay.sec[HW_SEC_EVENTS]->count > MAX_EVENT_SLOTS))
		return corrupt(w, "event ring of %llu records is not in 1..%u",
			       (unsigned long long)w->lay.sec[HW_SEC_EVENTS]->count,
			       MAX_EVENT_SLOTS);
	if (!rq)
		return 0;
	if (rq->count < 1 || rq->count > HW_RING_SLOTS ||
	    rs->count != rq->count)
		return corrupt(w, "%llu request and %llu response slots (want the same number, 1..%d)",
			       (unsigned long long)rq->count,
			       (unsigned long long)rs->count, HW_RING_SLOTS);
	/* Hosts write the request pages: whole pages, nothing else on them. */
	start = rq->offset;
	end = (rq->offset + rq->count * rq->entry_size + 4095) & ~4095ULL;
	if (start % 4096 || end > w->ix.logical_size)
		return corrupt(w, "the request area at logical 0x%llx is not whole pages",
			       (unsigned long long)start);
	for (i = 0; i < w->ix.section_count; i++) {
		const struct hw_section *s = &w->ix.sections[i];

		if (s != rq && s->count && s->offset < end &&
		    start < s->offset + s->count * s->entry_size)
			return corrupt(w, "the %s section shares the request pages at logical 0x%llx-0x%llx",
				       kind_name(s->kind),
				       (unsigned long long)start,
				       (unsigned long long)end);
	}
	return 0;
}

static int validate_sections(struct window *w)
{
	static const uint32_t known_size[MAX_KIND + 1] = {
		[HW_SEC_PROCS] = PROC_RECORD_MIN, /* 1.3 records: 192 */
		[HW_SEC_GUEST] = sizeof(struct hw_guest),
		[HW_SEC_EVENTS] = sizeof(struct hw_event),
		[HW_SEC_CPUS] = sizeof(struct hw_cpu_time),
		[HW_SEC_VMAS] = sizeof(struct hw_vma),
		[HW_SEC_STRINGS] = 1,
		[HW_SEC_STATS] = sizeof(struct hw_stats),
		[HW_SEC_REQUESTS] = sizeof(struct hw_request),
		[HW_SEC_RESPONSES] = sizeof(struct hw_response),
		[HW_SEC_CAMERAS] = sizeof(struct hw_camera),
		[HW_SEC_CAMERA_VMAS] = sizeof(struct hw_camera_vma),
		[HW_SEC_PAGE_RUNS] = sizeof(struct hw_page_run),
	};
	const struct hw_index *ix = &w->ix;
	unsigned int i, j;
	int rc;

	if (ix->section_count > HW_MAX_SECTIONS)
		return corrupt(w, "section_count %u exceeds %d",
			       ix->section_count, HW_MAX_SECTIONS);
	for (i = 0; i < ix->section_count; i++) {
		const struct hw_section *s = &ix->sections[i];
		uint64_t bytes;

		for (j = 0; j < i; j++)
			if (ix->sections[j].kind == s->kind)
				return corrupt(w, "sections[%u] and sections[%u] are both of kind %u",
					       j, i, s->kind);
		if (s->kind <= MAX_KIND && s->kind != 0 &&
		    s->entry_size < known_size[s->kind])
			return corrupt(w, "sections[%u] (%s) entry_size %u is below %u",
				       i, kind_name(s->kind), s->entry_size,
				       known_size[s->kind]);
		if (s->entry_size > MAX_ENTRY_SIZE)
			return corrupt(w, "sections[%u] entry_size %u exceeds %u",
				       i, s->entry_size, MAX_ENTRY_SIZE);
		if (s->kind == HW_SEC_STRINGS && s->entry_size != 1)
			return corrupt(w, "sections[%u] (string) entry_size %u is not 1",
				       i, s->entry_size);
		if (s->kind == HW_SEC_STATS && s->count != 1)
			return corrupt(w, "sections[%u] (stats) count %llu is not 1",
				       i, (unsigned long long)s->count);
		if (s->entry_size &&
		    s->count > UINT64_MAX / s->entry_size)
			return corrupt(w, "sections[%u] count %llu * entry_size %u overflows",
				       i, (unsigned long long)s->count,
				       s->entry_size);
		bytes = s->count * s->entry_size;
		/* 1.3: the event records follow the ring's header */
		if (s->kind == HW_SEC_EVENTS)
			bytes += sizeof(struct hw_event_ring);
		if (s->offset < HW_INDEX_SIZE ||
		    s->offset > ix->logical_size ||
		    bytes > ix->logical_size - s->offset)
			return corrupt(w, "sections[%u] (%s) [0x%llx, +0x%llx) is outside [0x1000, 0x%llx)",
				       i, kind_name(s->kind),
				       (unsigned long long)s->offset,
				       (unsigned long long)bytes,
				       (unsigned long long)ix->logical_size);
		if (s->kind >= 1 && s->kind <= MAX_KIND)
			w->lay.sec[s->kind] = s;
	}
	rc = validate_new_sections(w);
	if (rc)
		return rc;
	if (!w->lay.sec[HW_SEC_PROCS])
		return corrupt(w, "no process section");
	if (w->lay.sec[HW_SEC_PROCS]->count > MAX_PROCS)
		return corrupt(w, "process count %llu exceeds %u",
			       (unsigned long long)w->lay.sec[HW_SEC_PROCS]->count,
			       MAX_PROCS);
	if (w->lay.sec[HW_SEC_PROCS]->count > ix->procs_total)
		return corrupt(w, "%llu processes published but procs_total is %u",
			       (unsigned long long)w->lay.sec[HW_SEC_PROCS]->count,
			       ix->procs_total);
	if (ix->procs_mm_busy > ix->procs_total)
		return corrupt(w, "procs_mm_busy %u exceeds procs_total %u",
			       ix->procs_mm_busy, ix->procs_total);
	if (w->lay.sec[HW_SEC_VMAS]) {
		uint64_t n = w->lay.sec[HW_SEC_VMAS]->count;

		/* vma_first is 32 bits wide. */
		if (n > UINT32_MAX)
			return corrupt(w, "VMA count %llu exceeds 2^32 - 1",
				       (unsigned long long)n);
		if (n > ix->vmas_total)
			return corrupt(w, "%llu VMAs published but vmas_total is %llu",
				       (unsigned long long)n,
				       (unsigned long long)ix->vmas_total);
	}
	return 0;
}

static int validate_extents(struct window *w)
{
	const struct hw_index *ix = &w->ix;
	struct layout *lay = &w->lay;
	uint64_t logical = 0;
	unsigned int i, j;

	if (ix->extent_count < 1 || ix->extent_count > HW_MAX_EXTENTS)
		return corrupt(w, "extent_count %u is not in 1..%d",
			       ix->extent_count, HW_MAX_EXTENTS);
	if (ix->extents[0].start != ix->self_gpa)
		return corrupt(w, "extents[0].start 0x%llx is not self_gpa 0x%llx",
			       (unsigned long long)ix->extents[0].start,
			       (unsigned long long)ix->self_gpa);
	for (i = 0; i < ix->extent_count; i++) {
		const struct hw_range *e = &ix->extents[i];

		if (e->start % HW_EXTENT_ALIGN || e->size % HW_EXTENT_ALIGN ||
		    e->size == 0 || e->start > UINT64_MAX - e->size)
			return corrupt(w, "extents[%u] {0x%llx, 0x%llx} is not a 2 MiB-aligned range",
				       i, (unsigned long long)e->start,
				       (unsigned long long)e->size);
		if (!haywire_map_lookup(&w->map, e->start, e->size,
					&lay->file[i]))
			return corrupt(w, "extents[%u] 0x%llx-0x%llx is outside the RAM file",
				       i, (unsigned long long)e->start,
				       (unsigned long long)(e->start + e->size));
		for (j = 0; j < i; j++)
			if (e->start < ix->extents[j].start +
					ix->extents[j].size &&
			    ix->extents[j].start < e->start + e->size)
				return corrupt(w, "extents[%u] and extents[%u] overlap",
					       j, i);
		lay->logical[i] = logical;
		lay->size[i] = e->size;
		logical += e->size;	/* <= the file size: no overflow */
	}
	lay->extent_count = ix->extent_count;
	if (ix->logical_size != logical)
		return corrupt(w, "logical_size 0x%llx is not the extents' total 0x%llx",
			       (unsigned long long)ix->logical_size,
			       (unsigned long long)logical);
	return 0;
}

/*
 * The index, copied: identity, publication and everything that locates
 * data. Returns OUT_UNPUBLISHED through w->outcome for generation 0.
 */
static int validate_index(struct window *w)
{
	const struct hw_index *ix = &w->ix;
	int rc;

	if (ix->version_major != HW_VERSION_MAJOR)
		return hwi_fail(w->err, HAYWIRE_E_VERSION,
				"the guest's beacon speaks protocol version %u.%u but this haywire reads version %d.x: %s",
				ix->version_major, ix->version_minor,
				HW_VERSION_MAJOR,
				ix->version_major > HW_VERSION_MAJOR ?
				"update haywire on the host" :
				"update the haywire module in the guest");
	if (ix->index_size != HW_INDEX_SIZE)
		return corrupt(w, "index_size %u is not %d", ix->index_size,
			       HW_INDEX_SIZE);
	if (!memchr(ix->kernel_release, 0, sizeof(ix->kernel_release)))
		return corrupt(w, "kernel_release is not NUL-terminated");
	/* 1.4; reserved (zero) in older indexes, so the check holds there */
	if (!memchr(ix->companion_version, 0, sizeof(ix->companion_version)))
		return corrupt(w, "companion_version is not NUL-terminated");
	if (ix->arch != HW_ARCH_X86_64 && ix->arch != HW_ARCH_ARM64)
		return corrupt(w, "arch %u is unknown", ix->arch);
	if (!is_pow2(ix->page_size) || ix->page_size < 4096 ||
	    ix->page_size > 65536)
		return corrupt(w, "page_size %u is not 4 KiB..64 KiB",
			       ix->page_size);
	if (ix->arch == HW_ARCH_X86_64 ?
	    ix->paging_levels != 4 && ix->paging_levels != 5 :
	    ix->paging_levels > 5)
		return corrupt(w, "paging_levels %u is impossible",
			       ix->paging_levels);
	if (ix->self_gpa % HW_EXTENT_ALIGN)
		return corrupt(w, "self_gpa 0x%llx is not 2 MiB-aligned",
			       (unsigned long long)ix->self_gpa);
	if (ix->generation == 0) {
		w->outcome = OUT_UNPUBLISHED;
		return hwi_fail(w->err, HAYWIRE_E_BUSY,
				"no snapshot published yet");
	}
	if (ix->ram_range_count > HW_MAX_RAM_RANGES)
		return corrupt(w, "ram_range_count %u exceeds %d",
			       ix->ram_range_count, HW_MAX_RAM_RANGES);
	rc = hwi_map_derive_mem(&w->map, ix->arch, w->mem, w->index_offset,
				ix->self_gpa, ix->ram, ix->ram_range_count,
				w->err);
	if (rc == HAYWIRE_E_CORRUPT)	/* say where */
		return corrupt(w, "%s", w->err->msg);
	if (rc)
		return rc;
	rc = validate_extents(w);
	if (rc)
		return rc;
	return validate_sections(w);
}

/* A string's bounds; its bytes are checked when copied. */
static int check_str(struct window *w, const struct hw_str *s,
		     const char *what, uint64_t record)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_STRINGS];
	uint64_t table = sec ? sec->count : 0;

	if (s->off == 0 && s->len == 0)
		return 0;
	if (s->len > HW_PATH_MAX)
		return corrupt(w, "%s record %llu: string length %u exceeds %d",
			       what, (unsigned long long)record, s->len,
			       HW_PATH_MAX);
	if ((uint64_t)s->off + s->len + 1 > table)
		return corrupt(w, "%s record %llu: string {%u, %u} is outside the %llu-byte string table",
			       what, (unsigned long long)record, s->off,
			       s->len, (unsigned long long)table);
	return 0;
}

/* Check a string and queue it for copy_strings(), which sets *slot. */
static int add_ref(struct window *w, const struct hw_str *s,
		   const char **slot, const char *what, uint64_t record)
{
	struct str_ref *r = &w->refs[w->nrefs];
	int rc = check_str(w, s, what, record);

	if (rc)
		return rc;
	if (s->off == 0 && s->len == 0) {
		*slot = "";
		return 0;
	}
	r->off = s->off;
	r->len = s->len;
	r->slot = slot;
	r->what = what;
	r->record = record;
	w->nrefs++;
	return 0;
}

static int ref_by_offset(const void *a, const void *b)
{
	const struct str_ref *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorted refs [i, *next) overlap one another: the span they cover ends
 * at the returned logical string-table offset. */
static uint64_t span_end(const struct window *w, size_t i, size_t *next)
{
	uint64_t end = (uint64_t)w->refs[i].off + w->refs[i].len + 1;

	for (i++; i < w->nrefs && w->refs[i].off < end; i++)
		if ((uint64_t)w->refs[i].off + w->refs[i].len + 1 > end)
			end = (uint64_t)w->refs[i].off + w->refs[i].len + 1;
	*next = i;
	return end;
}

/*
 * Copy every referenced string once: sorted by offset, strings that share
 * bytes form one span, copied once. So never more bytes than the string
 * table has, however many records share a string.
 */
static int copy_strings(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_STRINGS];
	uint64_t total = 0, at = 0, end;
	size_t i, k, next;
	int rc;

	if (w->nrefs == 0)
		return 0;
	qsort(w->refs, w->nrefs, sizeof(*w->refs), ref_by_offset);
	for (i = 0; i < w->nrefs; i = next)
		total += span_end(w, i, &next) - w->refs[i].off;
	w->strings = malloc(total);
	if (!w->strings)
		return hwi_fail(w->err, HAYWIRE_E_NOMEM,
				"out of memory for %llu string bytes",
				(unsigned long long)total);
	for (i = 0; i < w->nrefs; i = next) {
		uint64_t start = w->refs[i].off;

		end = span_end(w, i, &next);
		rc = copy_logical(w, sec->offset + start, w->strings + at,
				  end - start);
		if (rc)
			return rc;
		if (seq_moved(w))
			return HAYWIRE_E_BUSY;
		for (k = i; k < next; k++) {
			const struct str_ref *r = &w->refs[k];
			const char *str = w->strings + at + (r->off - start);

			if (str[r->len] != '\0' || memchr(str, 0, r->len))
				return corrupt(w, "%s record %llu: string {%u, %u} %s",
					       r->what,
					       (unsigned long long)r->record,
					       r->off, r->len,
					       str[r->len] ?
					       "is not NUL-terminated" :
					       "contains a NUL byte");
			*r->slot = str;
		}
		at += end - start;
	}
	return 0;
}

typedef int (*record_fn)(struct window *w, const unsigned char *raw,
			 uint64_t record, void *arg);

/*
 * Copy records [first, first + n) of sec through the bounce buffer, a
 * piece at a time, and hand each to fn (which validates and decodes it).
 */
static int each_record(struct window *w, const struct hw_section *sec,
		       uint64_t first, size_t n, record_fn fn, void *arg)
{
	size_t stride = sec->entry_size, per = PIECE_BYTES / stride, i, j, k;
	int rc;

	if (per > n)
		per = n;
	if (w->raw_cap < per * stride) {
		free(w->raw);
		w->raw_cap = 0;
		w->raw = alloc_array(w, per, stride);
		if (!w->raw)
			return HAYWIRE_E_NOMEM;
		w->raw_cap = per * stride;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < per ? n - i : per;
		rc = copy_logical(w, sec->offset + (first + i) * stride,
				  w->raw, (uint64_t)k * stride);
		if (rc)
			return rc;
		if (seq_moved(w))
			return HAYWIRE_E_BUSY;
		for (j = 0; j < k; j++) {
			rc = fn(w, w->raw + j * stride, first + i + j, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Whether this snapshot's process records carry the 1.3 fields. */
static bool procs_have_monitor(const struct window *w)
{
	return w->ix.version_minor >= 3 &&
	       w->lay.sec[HW_SEC_PROCS]->entry_size >= sizeof(struct hw_proc);
}

/* A record of entry_size bytes into a full struct hw_proc (zero tail). */
static void proc_record(const struct window *w, const void *raw,
			struct hw_proc *rec)
{
	size_t n = w->lay.sec[HW_SEC_PROCS]->entry_size;

	if (n > sizeof(*rec))
		n = sizeof(*rec);
	memset(rec, 0, sizeof(*rec));
	memcpy(rec, raw, n);
}

/* 1.3: CPU time, faults, scheduling, cgroup and PID namespace. */
static int decode_proc_monitor(struct window *w, const struct hw_proc *raw,
			       uint64_t i, struct haywire_proc *p)
{
	p->cgroup = NULL;
	if (!procs_have_monitor(w)) {
		p->cgroup = "";
		return 0;
	}
	if (raw->nice < -20 || raw->nice > 19 || raw->last_cpu < 0 ||
	    raw->ns_pid < 0)
		return corrupt(w, "process record %llu (pid %d): nice %d, last CPU %d, namespace pid %d",
			       (unsigned long long)i, raw->pid, raw->nice,
			       raw->last_cpu, raw->ns_pid);
	p->monitor = true;
	p->utime_ns = raw->utime_ns;
	p->stime_ns = raw->stime_ns;
	p->min_flt = raw->min_flt;
	p->maj_flt = raw->maj_flt;
	p->nice = raw->nice;
	p->last_cpu = raw->last_cpu;
	p->pidns_inum = raw->pidns_inum;
	p->ns_pid = raw->ns_pid;
	p->cgroup_len = raw->cgroup.len;
	if (w->refs)
		return add_ref(w, &raw->cgroup, &p->cgroup, "process", i);
	return check_str(w, &raw->cgroup, "process", i);
}

/* prev: the record before, to check the order; NULL: not at hand. */
static int decode_proc(struct window *w, const struct hw_proc *raw,
		       uint64_t i, struct haywire_proc *p,
		       const struct haywire_proc *prev)
{
	const struct hw_section *vsec = w->lay.sec[HW_SEC_VMAS];
	uint64_t nvmas = vsec ? vsec->count : 0;
	int rc;

	if (raw->pid <= 0 || raw->tgid != raw->pid || raw->ppid < 0)
		return corrupt(w, "process record %llu: pid %d, tgid %d, ppid %d",
			       (unsigned long long)i, raw->pid, raw->tgid,
			       raw->ppid);
	if (prev && raw->pid <= prev->pid)
		return corrupt(w, "process record %llu: pid %d does not follow pid %d (not sorted)",
			       (unsigned long long)i, raw->pid, prev->pid);
	if (!raw->state || !strchr(STATE_LETTERS, raw->state))
		return corrupt(w, "process record %llu (pid %d): state 0x%02x is not one of " STATE_LETTERS,
			       (unsigned long long)i, raw->pid,
			       (unsigned char)raw->state);
	if (!memchr(raw->comm, 0, sizeof(raw->comm)))
		return corrupt(w, "process record %llu (pid %d): comm is not NUL-terminated within %d bytes",
			       (unsigned long long)i, raw->pid, HW_COMM_LEN);
	if ((uint64_t)raw->vma_first + raw->vma_count > nvmas ||
	    raw->vma_count > raw->vma_total)
		return corrupt(w, "process record %llu (pid %d): VMAs [%u, +%u) of %u are outside the %llu-record VMA table",
			       (unsigned long long)i, raw->pid, raw->vma_first,
			       raw->vma_count, raw->vma_total,
			       (unsigned long long)nvmas);
	if (raw->vma_count &&
	    raw->flags & (HW_PF_MM_BUSY | HW_PF_VMAS_SKIPPED))
		return corrupt(w, "process record %llu (pid %d): has VMAs but flags 0x%x say they were not walked",
			       (unsigned long long)i, raw->pid, raw->flags);

	p->pid = raw->pid;
	p->tgid = raw->tgid;
	p->ppid = raw->ppid;
	p->flags = raw->flags;
	p->uid = raw->uid;
	p->gid = raw->gid;
	p->euid = raw->euid;
	p->egid = raw->egid;
	p->threads = raw->threads;
	p->state = raw->state;
	memcpy(p->comm, raw->comm, sizeof(p->comm));
	p->start_time_ns = raw->start_time_ns;
	p->vsize_kb = raw->vsize_kb;
	p->rss_kb = raw->rss_kb;
	p->pgd = raw->pgd;
	p->exe = NULL;
	p->exe_len = raw->exe.len;
	p->vma_first = raw->vma_first;
	p->vma_count = raw->vma_count;
	p->vma_total = raw->vma_total;
	rc = decode_proc_monitor(w, raw, i, p);
	if (rc)
		return rc;
	if (w->refs)
		return add_ref(w, &raw->exe, &p->exe, "process", i);
	return check_str(w, &raw->exe, "process", i);
}

static int take_proc(struct window *w, const unsigned char *raw,
		     uint64_t record, void *arg)
{
	struct hw_proc rec;

	(void)arg;
	proc_record(w, raw, &rec);
	return decode_proc(w, &rec, record, &w->procs[record],
			   record ? &w->procs[record - 1] : NULL);
}

/*
 * One process, by binary search over the table (sorted by pid): log2(n)
 * records copied, seq checked after each, the one found validated. A maps
 * or a host-side translate costs the same at 4 M processes as at 100.
 */
static int decode_one_proc(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_PROCS];
	uint64_t lo = 0, hi = sec->count, mid;
	unsigned char raw[sizeof(struct hw_proc)];
	size_t n = sec->entry_size < sizeof(raw) ? sec->entry_size :
		   sizeof(raw);
	struct hw_proc rec;
	int rc;

	w->procs = alloc_array(w, 1, sizeof(*w->procs));
	if (!w->procs)
		return HAYWIRE_E_NOMEM;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		rc = copy_logical(w, sec->offset + mid * sec->entry_size, raw,
				  n);
		proc_record(w, raw, &rec);
		if (rc)
			return rc;
		if (seq_moved(w))
			return HAYWIRE_E_BUSY;
		if (rec.pid == w->pid) {
			w->nprocs = 1;
			return decode_proc(w, &rec, mid, w->procs, NULL);
		}
		if (rec.pid < w->pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The process table, and the executables' paths if READ_EXES. */
static int decode_procs(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_PROCS];
	size_t n = (size_t)sec->count;
	int rc;

	/* n * entry_size lies inside the extents (validate_sections). */
	w->procs = alloc_array(w, n, sizeof(*w->procs));
	/* Two strings a process: the executable and (1.3) the cgroup. */
	if (w->what & READ_EXES)
		w->refs = alloc_array(w, n ? 2 * n : 1, sizeof(*w->refs));
	if (!w->procs || ((w->what & READ_EXES) && !w->refs))
		return HAYWIRE_E_NOMEM;
	rc = each_record(w, sec, 0, n, take_proc, NULL);
	if (rc)
		return rc;
	w->nprocs = n;
	return copy_strings(w);
}

static int find_proc(const struct window *w, int32_t pid)
{
	size_t lo = 0, hi = w->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->procs[mid].pid == pid)
			return (int)mid;
		if (w->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int take_vma(struct window *w, const unsigned char *raw,
		    uint64_t record, void *arg)
{
	const struct haywire_proc *p = arg;
	size_t i = (size_t)(record - p->vma_first);
	struct haywire_vma *v = &w->vmas[i];
	struct hw_vma rec;

	memcpy(&rec, raw, sizeof(rec));
	if (rec.start >= rec.end || rec.start % 4096 || rec.end % 4096)
		return corrupt(w, "VMA record %llu (pid %d): range 0x%llx-0x%llx is empty or not page-aligned",
			       (unsigned long long)record, p->pid,
			       (unsigned long long)rec.start,
			       (unsigned long long)rec.end);
	if (i > 0 && rec.start < v[-1].end)
		return corrupt(w, "VMA record %llu (pid %d): 0x%llx overlaps or precedes the VMA before it",
			       (unsigned long long)record, p->pid,
			       (unsigned long long)rec.start);
	v->start = rec.start;
	v->end = rec.end;
	v->offset = rec.offset;
	v->inode = rec.inode;
	v->dev_major = rec.dev_major;
	v->dev_minor = rec.dev_minor;
	v->flags = rec.flags;
	v->name_len = rec.name.len;
	return add_ref(w, &rec.name, &v->name, "VMA", record);
}

/* One process's VMAs and their names. */
static int decode_maps(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_VMAS];
	const struct haywire_proc *p;
	size_t n;
	int k = find_proc(w, w->pid), rc;

	if (k < 0)
		return hwi_fail(w->err, HAYWIRE_E_NOT_FOUND,
				"no process with PID %d in snapshot generation %llu%s",
				w->pid, (unsigned long long)w->ix.generation,
				w->lay.sec[HW_SEC_PROCS]->count <
				w->ix.procs_total ?
				" (the snapshot is truncated: it may be one of the processes left out)" :
				"");
	p = &w->procs[k];
	if (p->flags & HW_PF_MM_BUSY)
		return hwi_fail(w->err, HAYWIRE_E_BUSY,
				"process %d (%s) has no VMAs in snapshot generation %llu: its mmap_lock was contended; try again",
				p->pid, p->comm,
				(unsigned long long)w->ix.generation);
	if (p->flags & HW_PF_VMAS_SKIPPED)
		return hwi_fail(w->err, HAYWIRE_E_BUSY,
				"process %d (%s) has no VMAs in snapshot generation %llu: the guest's time budget ran out before them; try again",
				p->pid, p->comm,
				(unsigned long long)w->ix.generation);
	n = p->vma_count;
	if (n == 0)
		return 0;
	/* vma_count > 0: the section exists, and the records are inside it
	 * (decode_proc), so inside the extents. */
	w->vmas = alloc_array(w, n, sizeof(*w->vmas));
	w->refs = alloc_array(w, n, sizeof(*w->refs));
	if (!w->vmas || !w->refs)
		return HAYWIRE_E_NOMEM;
	rc = each_record(w, sec, p->vma_first, n, take_vma, (void *)p);
	if (rc)
		return rc;
	w->nvmas = n;
	return copy_strings(w);
}

/* File offset of logical [logical, logical + len) inside one extent. */
static bool logical_to_file(const struct window *w, uint64_t logical,
			    uint64_t len, uint64_t *file)
{
	const struct layout *lay = &w->lay;
	unsigned int i;

	for (i = 0; i < lay->extent_count; i++) {
		uint64_t in = logical - lay->logical[i];

		if (logical < lay->logical[i] || in >= lay->size[i])
			continue;
		if (len > lay->size[i] - in)
			return false;
		*file = lay->file[i] + in;
		return true;
	}
	return false;
}

static int no_section(struct window *w, const char *what)
{
	return hwi_fail(w->err, HAYWIRE_E_VERSION,
			"the guest's haywire module publishes no %s (it speaks protocol %u.%u; %s need 1.1): update the module in the guest",
			what, w->ix.version_major, w->ix.version_minor, what);
}

/* Where the rings are in the file; each slot inside one extent. */
static int decode_ring(struct window *w)
{
	const struct hw_section *rq = w->lay.sec[HW_SEC_REQUESTS];
	const struct hw_section *rs = w->lay.sec[HW_SEC_RESPONSES];
	struct haywire_ring_layout *r = &w->ring;
	uint64_t end;
	unsigned int i;

	if (!rq)
		return no_section(w, "request rings");
	memset(r, 0, sizeof(*r));
	end = (rq->offset + rq->count * rq->entry_size + 4095) & ~4095ULL;
	r->slots = (unsigned int)rq->count;
	r->nonce = w->ix.nonce;
	r->self_gpa = w->ix.self_gpa;
	r->version_minor = w->ix.version_minor;
	r->page_size = w->ix.page_size;
	r->request_stride = rq->entry_size;
	r->response_stride = rs->entry_size;
	r->pages_len = end - rq->offset;
	if (!logical_to_file(w, rq->offset, r->pages_len, &r->pages_offset) ||
	    r->pages_offset % 4096 || rq->entry_size % 8)
		return corrupt(w, "the request pages (logical 0x%llx, %u-byte slots) are not aligned pages inside one extent",
			       (unsigned long long)rq->offset, rq->entry_size);
	r->request_offset = r->pages_offset;
	for (i = 0; i < r->slots; i++)
		if (!logical_to_file(w, rs->offset + (uint64_t)i * rs->entry_size,
				     rs->entry_size, &r->response_offset[i]) ||
		    r->response_offset[i] % 8)
			return corrupt(w, "response slot %u (logical 0x%llx) is not 8-byte aligned inside one extent",
				       i, (unsigned long long)(rs->offset +
						(uint64_t)i * rs->entry_size));
	return 0;
}

/*
 * The selected camera's VMAs and their runs: VMAs sorted and disjoint,
 * each VMA's runs in order covering it exactly, page counts equal to what
 * the runs hold. A truncated camera publishes fewer VMAs than its totals
 * count, never part of one.
 */
static int decode_camera_vmas(struct window *w, uint32_t vma_first)
{
	const struct hw_section *vs = w->lay.sec[HW_SEC_CAMERA_VMAS];
	const struct hw_section *rs = w->lay.sec[HW_SEC_PAGE_RUNS];
	struct haywire_cameras *c = w->cams;
	const struct haywire_camera *cam = &c->cams[c->selected];
	bool truncated = cam->flags & HW_CF_TRUNCATED;
	uint64_t nruns = rs ? rs->count : 0, page = w->ix.page_size;
	uint64_t next_run = 0, runs = 0, present = 0, swapped = 0;
	size_t n = cam->vma_count, i, k;
	int rc;

	if (n == 0)
		goto totals;
	c->vmas = alloc_array(w, n, sizeof(*c->vmas));
	if (!c->vmas)
		return HAYWIRE_E_NOMEM;
	for (i = 0; i < n; i++) {
		struct haywire_camera_vma *v = &c->vmas[i];
		uint64_t record = (uint64_t)vma_first + i;
		struct hw_camera_vma raw;

		rc = copy_logical(w, vs->offset + record * vs->entry_size,
				  &raw, sizeof(raw));
		if (rc)
			return rc;
		if (raw.start >= raw.end || raw.start % page || raw.end % page ||
		    (i > 0 && raw.start < v[-1].end))
			return corrupt(w, "camera VMA record %llu: 0x%llx-0x%llx is empty, not page-aligned or not after the VMA before it",
				       (unsigned long long)record,
				       (unsigned long long)raw.start,
				       (unsigned long long)raw.end);
		if (raw.run_first < next_run ||
		    (uint64_t)raw.run_first + raw.run_count > nruns)
			return corrupt(w, "camera VMA record %llu: runs [%u, +%u) are outside the %llu-record run table or overlap the previous VMA's",
				       (unsigned long long)record,
				       raw.run_first, raw.run_count,
				       (unsigned long long)nruns);
		next_run = (uint64_t)raw.run_first + raw.run_count;
		v->start = raw.start;
		v->end = raw.end;
		v->present_pages = raw.present_pages;
		v->swapped_pages = raw.swapped_pages;
		v->run_first = (size_t)runs;
		v->run_count = raw.run_count;
		runs += raw.run_count;
	}
	c->runs = alloc_array(w, (size_t)runs, sizeof(*c->runs));
	if (!c->runs)
		return HAYWIRE_E_NOMEM;
	c->run_count = (size_t)runs;
	for (i = 0; i < n; i++) {
		struct haywire_camera_vma *v = &c->vmas[i];
		uint64_t at = v->start, vp = 0, vs_pages = 0, first;
		struct hw_camera_vma raw;

		copy_logical(w, vs->offset + ((uint64_t)vma_first + i) *
			     vs->entry_size, &raw, sizeof(raw));
		first = raw.run_first;
		for (k = 0; k < v->run_count; k++) {
			struct haywire_xlate_run *run = &c->runs[v->run_first + k];
			struct hw_page_run rr;
			const char *why;

			rc = copy_logical(w, rs->offset + (first + k) *
					  rs->entry_size, &rr, sizeof(rr));
			if (rc)
				return rc;
			why = hwi_decode_run(&rr, run);
			if (!why && (run->va != at || run->len > v->end - at ||
				     run->len % page || run->gpa % page))
				why = "is not the next page-aligned piece of its VMA";
			if (why)
				return corrupt(w, "page run record %llu (0x%llx+0x%llx, VMA 0x%llx-0x%llx) %s",
					       (unsigned long long)(first + k),
					       (unsigned long long)rr.va,
					       (unsigned long long)rr.len,
					       (unsigned long long)v->start,
					       (unsigned long long)v->end, why);
			at += run->len;
			if (run->state == HAYWIRE_PAGE_PRESENT)
				vp += run->len / page;
			else if (run->state == HAYWIRE_PAGE_SWAPPED)
				vs_pages += run->len / page;
		}
		if (at != v->end || vp != v->present_pages ||
		    vs_pages != v->swapped_pages)
			return corrupt(w, "camera VMA 0x%llx-0x%llx: its runs cover up to 0x%llx with %llu present and %llu swapped pages, but it says %llu and %llu",
				       (unsigned long long)v->start,
				       (unsigned long long)v->end,
				       (unsigned long long)at,
				       (unsigned long long)vp,
				       (unsigned long long)vs_pages,
				       (unsigned long long)v->present_pages,
				       (unsigned long long)v->swapped_pages);
		present += vp;
		swapped += vs_pages;
	}
	c->vma_count = n;
totals:
	if (truncated ? present > cam->present_pages ||
			swapped > cam->swapped_pages :
	    present != cam->present_pages || swapped != cam->swapped_pages)
		return corrupt(w, "camera %d (pid %d): %llu present and %llu swapped pages, but its VMAs hold %llu and %llu",
			       c->selected, cam->pid,
			       (unsigned long long)cam->present_pages,
			       (unsigned long long)cam->swapped_pages,
			       (unsigned long long)present,
			       (unsigned long long)swapped);
	return 0;
}

static int decode_cameras(struct window *w)
{
	const struct hw_section *cs = w->lay.sec[HW_SEC_CAMERAS];
	const struct hw_section *vs = w->lay.sec[HW_SEC_CAMERA_VMAS];
	uint64_t nvmas = vs ? vs->count : 0;
	uint32_t selected_first = 0;
	struct haywire_cameras *c;
	unsigned int i;
	int rc;

	if (!cs)
		return no_section(w, "cameras");
	c = w->cams = calloc(1, sizeof(*c));
	if (!c)
		return hwi_fail(w->err, HAYWIRE_E_NOMEM, "out of memory");
	c->selected = -1;
	c->count = (unsigned int)cs->count;
	for (i = 0; i < c->count; i++) {
		struct haywire_camera *cam = &c->cams[i];
		struct hw_camera raw;

		rc = copy_logical(w, cs->offset + (uint64_t)i * cs->entry_size,
				  &raw, sizeof(raw));
		if (rc)
			return rc;
		if (!(raw.flags & HW_CF_ACTIVE))
			continue;	/* off: the rest means nothing */
		if (raw.pid <= 0 ||
		    (uint64_t)raw.vma_first + raw.vma_count > nvmas ||
		    (raw.vma_count &&
		     raw.flags & (HW_CF_NO_PROCESS | HW_CF_MM_BUSY)))
			return corrupt(w, "camera %u: pid %d, flags 0x%x, VMAs [%u, +%u) of a %llu-record camera VMA table",
				       i, raw.pid, raw.flags, raw.vma_first,
				       raw.vma_count,
				       (unsigned long long)nvmas);
		cam->pid = raw.pid;
		cam->flags = raw.flags;
		cam->vma_count = raw.vma_count;
		cam->present_pages = raw.present_pages;
		cam->swapped_pages = raw.swapped_pages;
		if (c->selected < 0 && w->pid > 0 && raw.pid == w->pid) {
			c->selected = (int)i;
			selected_first = raw.vma_first;
		}
	}
	if (c->selected < 0)
		return 0;
	return decode_camera_vmas(w, selected_first);
}


/* ---- 1.3: the guest as a whole ----------------------------------------- */

static void decode_cpu_time(const struct hw_cpu_time *raw,
			    struct haywire_cpu_time *ct)
{
	ct->user = raw->user;
	ct->nice = raw->nice;
	ct->system = raw->system;
	ct->idle = raw->idle;
	ct->iowait = raw->iowait;
	ct->irq = raw->irq;
	ct->softirq = raw->softirq;
	ct->steal = raw->steal;
	ct->cpu = raw->cpu;
	ct->online = raw->online != 0;
}

static int decode_guest(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_GUEST];
	struct haywire_guest *g = &w->guest;
	struct hw_guest raw;
	unsigned int i;
	int rc;

	if (!sec)
		return 0;
	rc = copy_logical(w, sec->offset, &raw, sizeof(raw));
	if (rc)
		return rc;
	if (seq_moved(w))
		return HAYWIRE_E_BUSY;
	if (raw.mem_free > raw.mem_total ||
	    raw.mem_available > raw.mem_total ||
	    raw.nr_cpus > raw.nr_possible || raw.nr_possible > MAX_CPUS ||
	    raw.nr_running > raw.nr_threads ||
	    raw.nr_blocked > raw.nr_threads)
		return corrupt(w, "guest section: memory %llu/%llu/%llu kB (free/available/total), CPUs %u of %u, tasks %u running and %u blocked of %u do not add up",
			       (unsigned long long)raw.mem_free,
			       (unsigned long long)raw.mem_available,
			       (unsigned long long)raw.mem_total,
			       raw.nr_cpus, raw.nr_possible, raw.nr_running,
			       raw.nr_blocked, raw.nr_threads);
	memset(g, 0, sizeof(*g));
	g->uptime_ns = raw.uptime_ns;
	for (i = 0; i < 3; i++) {
		g->load_raw[i] = raw.load[i];
		g->load[i] = (double)raw.load[i] / (1 << HW_LOAD_FSHIFT);
	}
	g->nr_running = raw.nr_running;
	g->nr_blocked = raw.nr_blocked;
	g->nr_threads = raw.nr_threads;
	g->nr_cpus = raw.nr_cpus;
	g->nr_possible = raw.nr_possible;
	g->flags = raw.flags;
	g->mem_total = raw.mem_total;
	g->mem_free = raw.mem_free;
	g->mem_available = raw.mem_available;
	g->buffers = raw.buffers;
	g->cached = raw.cached;
	g->swap_total = raw.swap_total;
	g->swap_free = raw.swap_free;
	g->shmem = raw.shmem;
	g->slab = raw.slab;
	g->sreclaimable = raw.sreclaimable;
	decode_cpu_time(&raw.cpu_total, &g->cpu_total);
	w->have_guest = true;
	return 0;
}

static int take_cpu(struct window *w, const unsigned char *raw,
		    uint64_t record, void *arg)
{
	struct hw_cpu_time rec;

	(void)arg;
	memcpy(&rec, raw, sizeof(rec));
	if (rec.cpu != record)
		return corrupt(w, "CPU record %llu says CPU %u",
			       (unsigned long long)record, rec.cpu);
	decode_cpu_time(&rec, &w->cpus[record]);
	return 0;
}

static int decode_cpus(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_CPUS];
	size_t n = sec ? (size_t)sec->count : 0;
	int rc;

	if (!n)
		return 0;
	w->cpus = alloc_array(w, n, sizeof(*w->cpus));
	if (!w->cpus)
		return HAYWIRE_E_NOMEM;
	rc = each_record(w, sec, 0, n, take_cpu, NULL);
	if (!rc)
		w->ncpus = n;
	return rc;
}

/* ---- 1.3: lifecycle events --------------------------------------------- */

/* One events read: the caller's cursor, buffer and what came of it. */
struct events_read {
	uint64_t next;		/* in: first event wanted (resolved) */
	uint64_t from;		/* in: HAYWIRE_EVENTS_* when next is 0 */
	struct haywire_event *out;
	size_t max;
	/* out (an attempt that is retried writes them again) */
	uint64_t next_out;	/* the cursor after these */
	size_t count;
	uint64_t lost;
	uint64_t head;
	uint64_t overwritten;
	uint32_t slots;
	bool more;
};

static int decode_event(struct window *w, const struct hw_event *raw,
			struct haywire_event *ev)
{
	size_t stored;

	if (raw->type < HW_EV_FORK || raw->type > HW_EV_EXIT ||
	    raw->pid <= 0 || raw->tgid <= 0 || raw->ppid < 0 ||
	    !memchr(raw->comm, 0, sizeof(raw->comm)) ||
	    !memchr(raw->filename, 0, sizeof(raw->filename)))
		return corrupt(w, "event %llu: type %u, pid %d, tgid %d, ppid %d, or an unterminated name",
			       (unsigned long long)raw->seq, raw->type,
			       raw->pid, raw->tgid, raw->ppid);
	stored = strlen(raw->filename);
	if (raw->flags & HW_EF_FILENAME_TRUNCATED ?
	    stored != HW_EVENT_FILENAME_LEN - 1 ||
	    raw->filename_len <= stored :
	    raw->filename_len != stored)
		return corrupt(w, "event %llu: filename of %zu bytes stored, %u said (flags 0x%x)",
			       (unsigned long long)raw->seq, stored,
			       raw->filename_len, raw->flags);
	ev->seq = raw->seq;
	ev->boot_ns = raw->boot_ns;
	ev->real_ns = raw->real_ns;
	ev->type = raw->type;
	ev->flags = raw->flags;
	ev->pid = raw->pid;
	ev->tgid = raw->tgid;
	ev->ppid = raw->ppid;
	ev->exit_code = raw->exit_code;
	ev->cpu = raw->cpu;
	memcpy(ev->comm, raw->comm, sizeof(ev->comm));
	memcpy(ev->filename, raw->filename, sizeof(ev->filename));
	ev->filename_len = raw->filename_len;
	return 0;
}

/*
 * Event n from its slot, torn-free: the slot's number before and after the
 * copy (docs/protocol.md, "Events"). 1: got it; 0: overwritten (or being
 * overwritten) before it could be read.
 */
static int read_event(struct window *w, uint64_t n, struct haywire_event *ev)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_EVENTS];
	uint64_t at = sec->offset + sizeof(struct hw_event_ring) +
		      ((n - 1) % sec->count) * sec->entry_size;
	struct hw_event raw;
	uint64_t s1, s2;
	int rc;

	rc = copy_logical(w, at, &s1, sizeof(s1));
	/* Pairs with the guest's write barrier before it stores the slot's
	 * final seq: the record is read after the number that vouches for
	 * it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!rc)
		rc = copy_logical(w, at, &raw, sizeof(raw));
	/* Pairs with the guest's write barrier after it zeroes the slot's
	 * seq: the copy happens before the second look. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!rc)
		rc = copy_logical(w, at, &s2, sizeof(s2));
	if (rc)
		return rc;
	raw.seq = s1;
	if (s1 == n && s2 == n) {
		rc = decode_event(w, &raw, ev);
		return rc ? rc : 1;
	}
	/* Every number up to head_done was written once: a smaller one in
	 * the slot cannot be. 0 or changing: being overwritten. */
	if (s1 == s2 && s1 && s1 < n)
		return corrupt(w, "event slot of %llu holds the older event %llu",
			       (unsigned long long)n, (unsigned long long)s1);
	return 0;
}

static int decode_events(struct window *w)
{
	const struct hw_section *sec = w->lay.sec[HW_SEC_EVENTS];
	struct events_read *er = w->ev;
	struct hw_event_ring ring;
	uint64_t next, oldest;
	int rc;

	if (!sec)
		return hwi_fail(w->err, HAYWIRE_E_NOT_FOUND,
				"the guest's haywire module keeps no lifecycle events (protocol %u.%u; events need 1.3 and the module parameter events > 0)",
				w->ix.version_major, w->ix.version_minor);
	rc = copy_logical(w, sec->offset, &ring, sizeof(ring));
	if (rc)
		return rc;
	/* Pairs with the guest's write barrier before it stores head_done:
	 * records up to head_done are read after it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (ring.slots != sec->count || ring.record_size != sec->entry_size ||
	    ring.head_done > ring.head || ring.head - ring.head_done > 4096)
		return corrupt(w, "event ring header: %u slots of %u bytes (section: %llu of %u), head %llu, done %llu",
			       ring.slots, ring.record_size,
			       (unsigned long long)sec->count, sec->entry_size,
			       (unsigned long long)ring.head,
			       (unsigned long long)ring.head_done);
	er->head = ring.head_done;
	er->slots = ring.slots;
	er->overwritten = ring.overwritten;
	next = er->next;
	oldest = ring.head_done > ring.slots ? ring.head_done - ring.slots + 1
					      : 1;
	if (!next)
		next = er->from == HAYWIRE_EVENTS_NOW ? ring.head_done + 1 :
		       er->from == HAYWIRE_EVENTS_OLDEST ? oldest : er->from;
	if (next > ring.head_done + 1)
		return hwi_fail(w->err, HAYWIRE_E_INVALID,
				"event %llu has not happened yet (the last is %llu)",
				(unsigned long long)next,
				(unsigned long long)ring.head_done);
	er->count = 0;
	er->lost = 0;
	if (next < oldest) {
		er->lost = oldest - next;
		next = oldest;
	}
	while (er->count < er->max && next <= ring.head_done) {
		rc = read_event(w, next, &er->out[er->count]);
		if (rc < 0 || rc > 1)
			return rc;
		if (rc == 1)
			er->count++;
		else
			er->lost++;
		next++;
	}
	er->next_out = next;
	er->more = next <= ring.head_done;
	return 0;
}

static int decode(struct window *w)
{
	const struct hw_section *stats;
	int rc = validate_index(w);

	if (rc)
		return rc;
	stats = w->lay.sec[HW_SEC_STATS];
	if ((w->what & READ_STATS) && stats) {
		rc = copy_logical(w, stats->offset, &w->stats,
				  sizeof(w->stats));
		if (rc)
			return rc;
		w->have_stats = true;
	}
	if ((w->what & (READ_PROCS | READ_MAPS)) && w->pid > 0 &&
	    !(w->what & READ_EXES)) {
		rc = decode_one_proc(w);
		if (rc)
			return rc;
	} else if (w->what & (READ_PROCS | READ_MAPS)) {
		rc = decode_procs(w);
		if (rc)
			return rc;
	}
	if (w->what & READ_MAPS)
		rc = decode_maps(w);
	if (!rc && (w->what & READ_RING))
		rc = decode_ring(w);
	if (!rc && (w->what & READ_CAMERAS))
		rc = decode_cameras(w);
	if (!rc && (w->what & READ_GUEST))
		rc = decode_guest(w);
	if (!rc && (w->what & READ_CPUS))
		rc = decode_cpus(w);
	if (!rc && (w->what & READ_EVENTS))
		rc = decode_events(w);
	return rc;
}

/*
 * One attempt of the seq protocol. Guarded: w owns every allocation, so
 * a SIGBUS leaves nothing unreachable.
 */
static int attempt(void *arg)
{
	struct window *w = arg;
	const struct haywire_mem *mem = w->mem;
	uint64_t at = w->index_offset, nonce_now;
	uint32_t s1, s2;

	w->outcome = OUT_DONE;
	w->rc = 0;
	hwi_clear(w->err);
	s1 = hwi_load_u32_acquire(mem, at + offsetof(struct hw_index, seq));
	if (s1 & 1) {
		w->outcome = OUT_ODD;
		return 0;
	}
	w->seq = s1;
	if (hwi_load_u64(mem, at + offsetof(struct hw_index, generation)) ==
	    0) {
		/* Nothing published: no need to copy the rest (a flood of
		 * such pages costs two loads each). */
		w->outcome = OUT_UNPUBLISHED;
	} else {
		hwi_copy(mem, at, &w->ix, sizeof(w->ix));
		if (w->ix.magic == HW_MAGIC && w->ix.seq == s1 &&
		    (!w->nonce || w->ix.nonce == w->nonce) && !seq_moved(w))
			w->rc = decode(w);
		else
			w->outcome = OUT_CHANGED;
	}

	/* Pairs with the guest's write barrier before its closing seq++:
	 * everything above was read before seq is read again. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	w->magic_now = hwi_load_u64(mem, at);
	nonce_now = hwi_load_u64(mem, at + offsetof(struct hw_index, nonce));
	s2 = hwi_load_u32_acquire(mem, at + offsetof(struct hw_index, seq));
	if (w->magic_now == HW_MAGIC_GONE)
		w->outcome = OUT_GONE;
	else if (w->magic_now != HW_MAGIC)
		w->outcome = OUT_VANISHED;
	else if (w->nonce && nonce_now != w->nonce)
		w->outcome = OUT_RELOADED;
	else if (w->outcome == OUT_UNPUBLISHED)
		return 0;
	else if (s2 != s1 || nonce_now != w->ix.nonce)
		w->outcome = OUT_CHANGED;
	return 0;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *busy_reason(enum outcome last)
{
	return last == OUT_ODD ?
	       "the guest kept updating the snapshot (seq stayed odd; is the guest paused mid-update?)" :
	       last == OUT_UNPUBLISHED ?
	       "the module has not published a snapshot yet (generation 0)" :
	       "the snapshot kept changing while it was copied";
}

/*
 * The retry loop around attempt(), at most `attempts` times. Returns
 * RELOADED for a new nonce. Each attempt gives up within one piece of a
 * change (seq_moved), so the work is bounded by attempts pieces plus one
 * whole snapshot.
 */
static int read_window(unsigned int attempts, unsigned int pause,
		       struct window *w, struct haywire_error *err)
{
	uint64_t t0 = hwi_now_ns(CLOCK_MONOTONIC);
	enum outcome last = OUT_ODD;
	struct haywire_error tmp;
	unsigned int i;
	int rc;

	w->err = &tmp;
	/* span: the RAM file and any attached files (DIMMs, virtio-mem) */
	if (w->index_offset % 8 || w->index_offset > w->mem->span ||
	    w->mem->span - w->index_offset < HW_INDEX_SIZE)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"index offset 0x%llx is outside the RAM file",
				(unsigned long long)w->index_offset);
	for (i = 0; i < attempts; i++) {
		if (i >= SPIN_ATTEMPTS)
			sleep_us(pause);
		window_reset(w);
		rc = hwi_guarded(w->mem, attempt, w, &tmp);
		if (rc)
			w->outcome = OUT_DONE;
		else
			rc = w->rc;
		switch (w->outcome) {
		case OUT_DONE:
			if (!rc)
				return 0;
			window_reset(w);
			if (err)
				*err = tmp;
			return rc;
		case OUT_GONE:
			window_reset(w);
			return hwi_fail(err, HAYWIRE_E_GONE,
					"the haywire module was unloaded from the guest (HWGONE!! at file offset 0x%llx): load it again (modprobe haywire)",
					(unsigned long long)w->index_offset);
		case OUT_VANISHED:
			window_reset(w);
			return hwi_fail(err, HAYWIRE_E_GONE,
					"the beacon at file offset 0x%llx disappeared (magic is now 0x%016llx): the haywire module was unloaded or the guest rebooted; load it again (modprobe haywire)",
					(unsigned long long)w->index_offset,
					(unsigned long long)w->magic_now);
		case OUT_RELOADED:
			window_reset(w);
			return RELOADED;
		default:
			last = w->outcome;
		}
	}
	window_reset(w);
	w->last = last;
	return hwi_fail(err, HAYWIRE_E_BUSY,
			"beacon busy: %s through %u read attempt%s over %llu ms; try again",
			busy_reason(last), attempts, attempts == 1 ? "" : "s",
			(unsigned long long)((hwi_now_ns(CLOCK_MONOTONIC) - t0) /
					     1000000));
}

/* Any u64 the guest writes: an age, or how far in the future it is. */
void hwi_clock_age(uint64_t publish_real_ns, int64_t *age_ms,
		   uint64_t *ahead_ms)
{
	uint64_t now = hwi_now_ns(CLOCK_REALTIME);

	*age_ms = 0;
	*ahead_ms = 0;
	if (now >= publish_real_ns)
		*age_ms = (int64_t)((now - publish_real_ns) / 1000000);
	else
		*ahead_ms = (publish_real_ns - now) / 1000000;
}

bool hwi_future(uint64_t ahead_ms, uint32_t interval_ms)
{
	return ahead_ms > 3ULL * interval_ms + 1000;
}

bool hwi_stale(int64_t age_ms, uint32_t interval_ms)
{
	return age_ms > 0 &&
	       (uint64_t)age_ms > 3ULL * interval_ms + 1000;
}

/* Where response slot 0's heartbeat is (1.2), or 0. */
static uint64_t heartbeat_offset(const struct window *w)
{
	const struct hw_section *rs = w->lay.sec[HW_SEC_RESPONSES];
	uint64_t file;

	if (w->ix.version_minor < 2 || !rs ||
	    rs->entry_size < sizeof(struct hw_response) ||
	    !logical_to_file(w, rs->offset, sizeof(struct hw_response), &file) ||
	    file % 8)
		return 0;
	return file + offsetof(struct hw_response, heartbeat);
}

int hwi_probe_index(const struct haywire_mem *mem, uint64_t offset,
		    struct hwi_candidate *cand, struct haywire_error *err)
{
	struct window w = { .mem = mem, .index_offset = offset };
	int rc = read_window(1, 0, &w, err);

	if (rc == RELOADED)	/* cannot happen without an expected nonce */
		rc = hwi_fail(err, HAYWIRE_E_BUSY, "the beacon changed");
	if (rc == HAYWIRE_E_BUSY)
		hwi_fail(err, rc, "%s (index at file offset 0x%llx)",
			 busy_reason(w.last), (unsigned long long)offset);
	if (rc)
		return rc;
	cand->nonce = w.ix.nonce;
	cand->self_gpa = w.ix.self_gpa;
	cand->generation = w.ix.generation;
	cand->publish_real_ns = w.ix.publish_real_ns;
	cand->interval_ms = w.ix.interval_ms;
	cand->poll_max_ms = w.ix.poll_max_ms;
	cand->map = w.map;
	cand->heartbeat_offset = heartbeat_offset(&w);
	return 0;
}

static void fill_info(const struct window *w, const struct haywire_beacon *b,
		      struct haywire_info *info)
{
	const struct hw_index *ix = &w->ix;
	const struct layout *lay = &w->lay;

	memset(info, 0, sizeof(*info));
	info->version_major = ix->version_major;
	info->version_minor = ix->version_minor;
	info->nonce = ix->nonce;
	info->self_gpa = ix->self_gpa;
	info->page_size = ix->page_size;
	info->arch = ix->arch;
	info->paging_levels = ix->paging_levels;
	info->load_real_ns = ix->load_real_ns;
	memcpy(info->kernel_release, ix->kernel_release,
	       sizeof(info->kernel_release));
	/* 1.4: zero in older indexes: companion unknown, all available */
	info->companion = ix->companion;
	info->unavailable = ix->unavailable;
	memcpy(info->companion_version, ix->companion_version,
	       sizeof(info->companion_version));
	info->flags = ix->flags;
	info->generation = ix->generation;
	info->publish_mono_ns = ix->publish_mono_ns;
	info->publish_boot_ns = ix->publish_boot_ns;
	info->publish_real_ns = ix->publish_real_ns;
	info->interval_ms = ix->interval_ms;
	info->extent_count = ix->extent_count;
	memcpy(info->extents, ix->extents,
	       ix->extent_count * sizeof(ix->extents[0]));
	info->logical_size = ix->logical_size;
	info->ram_count = ix->ram_range_count;
	memcpy(info->ram, ix->ram, ix->ram_range_count * sizeof(ix->ram[0]));
	info->procs = lay->sec[HW_SEC_PROCS]->count;
	info->procs_total = ix->procs_total;
	info->procs_mm_busy = ix->procs_mm_busy;
	info->vmas = lay->sec[HW_SEC_VMAS] ? lay->sec[HW_SEC_VMAS]->count : 0;
	info->vmas_total = ix->vmas_total;
	info->string_bytes = lay->sec[HW_SEC_STRINGS] ?
			     lay->sec[HW_SEC_STRINGS]->count : 0;
	info->strings_total = ix->strings_total;
	info->have_stats = w->have_stats;
	if (w->have_stats)
		info->stats = w->stats;
	info->have_guest = w->have_guest;
	if (w->have_guest)
		info->guest = w->guest;
	hwi_clock_age(ix->publish_real_ns, &info->age_ms, &info->ahead_ms);
	info->future = hwi_future(info->ahead_ms, ix->interval_ms);
	info->stale = hwi_stale(info->age_ms, ix->interval_ms);
	info->truncated = (ix->flags & HW_IF_TRUNCATED) ||
			  info->procs < info->procs_total ||
			  info->vmas < info->vmas_total;
	info->location = b->loc;
}

/* Read from the beacon, discovering it again if the module reloaded. */
static int beacon_read(struct haywire_beacon *b, struct window *w,
		       struct haywire_error *err)
{
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		w->mem = b->mem;
		w->index_offset = b->loc.file_offset;
		w->nonce = b->loc.nonce;
		rc = read_window(b->opts.attempts ? b->opts.attempts :
				 DEFAULT_ATTEMPTS,
				 b->opts.sleep_us ? b->opts.sleep_us :
				 DEFAULT_SLEEP_US, w, err);
		if (rc != RELOADED)
			return rc;
		rc = hwi_rediscover(b, err);
		if (rc)
			return rc;
	}
	return hwi_fail(err, HAYWIRE_E_BUSY,
			"the haywire module was reloaded twice while reading; try again");
}

int haywire_read_info(struct haywire_beacon *b, struct haywire_info *info,
		      struct haywire_error *err)
{
	struct window w = { .what = READ_STATS | READ_GUEST };
	int rc = beacon_read(b, &w, err);

	if (!rc)
		fill_info(&w, b, info);
	window_reset(&w);
	return rc;
}

#define CONFIRM_MAX_MS	2500
#define CONFIRM_POLL_MS	20

int haywire_confirm_stale(struct haywire_beacon *b, struct haywire_info *info,
			  struct haywire_error *err)
{
	uint64_t wait_ms = 2ULL * info->interval_ms + 250;
	uint64_t start = hwi_now_ns(CLOCK_MONOTONIC);
	struct timespec poll = { 0, CONFIRM_POLL_MS * 1000000L };
	struct haywire_info now;
	int rc;

	if ((!info->stale && !info->future) || wait_ms > CONFIRM_MAX_MS)
		return 0;
	while (hwi_now_ns(CLOCK_MONOTONIC) - start < wait_ms * 1000000ULL) {
		nanosleep(&poll, NULL);
		rc = haywire_read_info(b, &now, err);
		if (rc)
			return rc;
		/* Live: the generation advances (or a new load began). */
		if (now.generation > info->generation ||
		    now.nonce != info->nonce) {
			/* Published within the last poll: its apparent age
			 * is the clocks' offset, to within CONFIRM_POLL_MS
			 * (negative: the guest's clock is ahead). */
			info->stale = false;
			info->live = true;
			info->clock_offset_ms = now.age_ms -
						(int64_t)now.ahead_ms;
			return 0;
		}
	}
	info->stale_confirmed = true;
	return 0;
}

int haywire_read_procs(struct haywire_beacon *b, struct haywire_procs **out,
		       struct haywire_error *err)
{
	struct window w = { .what = READ_PROCS | READ_EXES | READ_GUEST };
	struct haywire_procs *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	rc = beacon_read(b, &w, err);
	if (rc) {
		free(r);
		return rc;
	}
	fill_info(&w, b, &r->info);
	/* The result keeps the decoded records and the strings they use. */
	r->procs = w.procs;
	r->count = w.nprocs;
	r->string_copy = w.strings;
	w.procs = NULL;
	w.strings = NULL;
	window_reset(&w);
	*out = r;
	return 0;
}

int haywire_read_maps(struct haywire_beacon *b, int32_t pid,
		      struct haywire_maps **out, struct haywire_error *err)
{
	struct window w = { .what = READ_MAPS, .pid = pid };
	struct haywire_maps *r;
	int rc;

	*out = NULL;
	if (pid <= 0)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"PID %d is not a process ID", pid);
	r = calloc(1, sizeof(*r));
	if (!r)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	rc = beacon_read(b, &w, err);
	if (rc) {
		free(r);
		return rc;
	}
	fill_info(&w, b, &r->info);
	r->proc = w.procs[find_proc(&w, pid)];
	r->vmas = w.vmas;
	r->count = w.nvmas;
	r->string_copy = w.strings;
	w.vmas = NULL;
	w.strings = NULL;
	window_reset(&w);
	*out = r;
	return 0;
}

int haywire_read_proc(struct haywire_beacon *b, int32_t pid,
		      struct haywire_proc *proc, struct haywire_info *info,
		      struct haywire_error *err)
{
	struct window w = { .what = READ_PROCS, .pid = pid };
	int rc, k;

	if (pid <= 0)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"PID %d is not a process ID", pid);
	rc = beacon_read(b, &w, err);
	if (rc)
		return rc;
	k = find_proc(&w, pid);
	if (k < 0) {
		rc = hwi_fail(err, HAYWIRE_E_NOT_FOUND,
			      "no process with PID %d in snapshot generation %llu%s",
			      pid, (unsigned long long)w.ix.generation,
			      w.lay.sec[HW_SEC_PROCS]->count <
			      w.ix.procs_total ?
			      " (the snapshot is truncated: it may be one of the processes left out)" :
			      "");
	} else {
		*proc = w.procs[k];
		if (info)
			fill_info(&w, b, info);
	}
	window_reset(&w);
	return rc;
}

int haywire_read_ring_layout(struct haywire_beacon *b,
			     struct haywire_ring_layout *layout,
			     struct haywire_error *err)
{
	struct window w = { .what = READ_RING };
	int rc = beacon_read(b, &w, err);

	if (!rc)
		*layout = w.ring;
	window_reset(&w);
	return rc;
}

int haywire_read_cameras(struct haywire_beacon *b, int32_t pid,
			 struct haywire_cameras **out,
			 struct haywire_error *err)
{
	struct window w = { .what = READ_CAMERAS, .pid = pid };
	int rc;

	*out = NULL;
	rc = beacon_read(b, &w, err);
	if (!rc) {
		fill_info(&w, b, &w.cams->info);
		*out = w.cams;
		w.cams = NULL;
	}
	window_reset(&w);
	return rc;
}

void haywire_cameras_free(struct haywire_cameras *cameras)
{
	if (cameras) {
		free(cameras->vmas);
		free(cameras->runs);
		free(cameras);
	}
}

void haywire_procs_free(struct haywire_procs *procs)
{
	if (procs) {
		free(procs->procs);
		free(procs->string_copy);
		free(procs);
	}
}

void haywire_maps_free(struct haywire_maps *maps)
{
	if (maps) {
		free(maps->vmas);
		free(maps->string_copy);
		free(maps);
	}
}

int haywire_read_guest(struct haywire_beacon *b,
		       struct haywire_guest_stat **out,
		       struct haywire_error *err)
{
	struct window w = { .what = READ_GUEST | READ_CPUS };
	struct haywire_guest_stat *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	rc = beacon_read(b, &w, err);
	if (!rc && !w.have_guest)
		rc = hwi_fail(err, HAYWIRE_E_NOT_FOUND,
			      "the guest's haywire module publishes no guest-wide figures (protocol %u.%u; they need 1.3): update the module in the guest",
			      w.ix.version_major, w.ix.version_minor);
	if (rc) {
		window_reset(&w);
		free(r);
		return rc;
	}
	fill_info(&w, b, &r->info);
	r->cpus = w.cpus;
	r->cpu_count = w.ncpus;
	r->cpus_truncated = w.ncpus < w.guest.nr_possible;
	w.cpus = NULL;
	window_reset(&w);
	*out = r;
	return 0;
}

int haywire_read_events(struct haywire_beacon *b,
			struct haywire_event_cursor *cur,
			struct haywire_event *out, size_t max,
			struct haywire_event_batch *batch,
			struct haywire_error *err)
{
	struct events_read er;
	struct window w;
	uint64_t assumed;
	int rc, tries;

	memset(batch, 0, sizeof(*batch));
	if (max && !out)
		return hwi_fail(err, HAYWIRE_E_INVALID, "no event buffer");
	for (tries = 0; tries < 3; tries++) {
		assumed = b->loc.nonce;
		memset(&er, 0, sizeof(er));
		memset(&w, 0, sizeof(w));
		er.out = out;
		er.max = max;
		if (cur->nonce == assumed) {
			er.next = cur->next;
		} else if (cur->nonce) {
			/* A new beacon (reload, reboot): from its oldest. */
			er.from = HAYWIRE_EVENTS_OLDEST;
		} else {
			er.from = cur->from;
		}
		w.what = READ_EVENTS;
		w.ev = &er;
		rc = beacon_read(b, &w, err);
		window_reset(&w);
		if (rc)
			return rc;
		/* Discovered again while reading: resolve against it. */
		if (w.ix.nonce == assumed)
			break;
	}
	if (w.ix.nonce != assumed)
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the haywire module was reloaded while reading events; try again");
	batch->restarted = cur->nonce && cur->nonce != assumed;
	batch->old_nonce = cur->nonce;
	batch->nonce = assumed;
	batch->count = er.count;
	batch->lost = er.lost;
	batch->head = er.head;
	batch->slots = er.slots;
	batch->overwritten = er.overwritten;
	batch->more = er.more;
	cur->nonce = assumed;
	cur->next = er.next_out;
	return 0;
}
