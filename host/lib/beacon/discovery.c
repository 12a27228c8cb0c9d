// SPDX-License-Identifier: MIT
/*
 * Discovery: find the master index. It is the first page of a 2 MiB-aligned
 * extent, so only 2 MiB-aligned file offsets are probed (8 bytes each).
 *
 * A guest user can put any bytes at 2 MiB-aligned guest-physical pages
 * (transparent huge pages), so a page with a valid index is not proof that
 * the guest kernel wrote it. Discovery therefore never guesses:
 *
 *  - every 2 MiB offset is probed, hint or not (the probe reads 8 bytes
 *    with pread, so a hole reads as zeros without allocating and big holes
 *    are skipped with SEEK_DATA);
 *  - every candidate is validated once; candidates that are busy (seq odd,
 *    generation 0, changing under the copy) are looked at again until one
 *    deadline for the whole discovery, never 50 retries each;
 *  - exactly one valid index is the beacon. When several validate, each
 *    is watched for a moment: a guest that was reset (or whose QEMU was
 *    restarted on the same file) leaves its old index behind, valid but
 *    frozen. If exactly one of them is alive (its ring heartbeat or its
 *    generation moves), it is the beacon and the frozen ones are ignored
 *    with a warning; a forger gains nothing by this, since making its own
 *    page move only makes two alive. Otherwise it is an error listing
 *    them, and the caller pins the kernel's by its GPA.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beacon.h"

/*
 * How long busy candidates are looked at again, from the start of the
 * discovery. The module keeps seq odd for microseconds and publishes its
 * first snapshot right after load, so a candidate busy past these is not
 * one the guest kernel is about to finish.
 */
#define DEADLINE_MS		250	/* while none has validated */
#define SETTLE_MS		25	/* once one has: the only one? */
#define REVISIT_PAUSE_US	500	/* first pause; doubles up to 4 ms */
#define REVISIT_PAUSE_MAX_US	4000
#define LISTED_MAX		3	/* candidates named in one message */
/*
 * How long several valid candidates are watched for signs of life. The
 * module bumps its heartbeat every time it looks at the ring, at least
 * every poll_max_ms (1.2 publishes it: default 20, at most 1000), so a
 * live module is always seen alive: the watch lasts twice the largest
 * pause any candidate claims, bounded, and at least LIVE_WATCH_MS (also
 * for 1.1 indexes, whose generation is all that moves).
 */
#define LIVE_WATCH_MS		150
#define LIVE_WATCH_MAX_MS	2100
#define LIVE_PAUSE_US		2000

enum cand_state {
	CAND_UNTRIED,
	CAND_VALID,
	CAND_BUSY,
	CAND_REJECTED,		/* version or validation failed */
	CAND_SKIPPED,		/* not the pinned GPA */
	CAND_FROZEN,		/* valid but not alive while another was */
};

struct cand {
	uint64_t offset;
	enum cand_state state;
	struct hwi_candidate info;
};

struct scan {
	const struct haywire_mem *mem;
	const struct haywire_opts *opts;
	uint64_t t0;
	struct cand *cands;	/* offsets holding HW_MAGIC, in file order */
	size_t n, cap;
	size_t valid, busy, rejected, frozen;
	size_t alive;		/* seen alive by sift_frozen() */
	uint64_t watch_ms;	/* for how long it watched */
	unsigned int probes;
	bool gone_seen;
	uint64_t gone_offset;
	/* The first failure of each kind, to explain an empty result. */
	struct haywire_error busy_err, version_err, corrupt_err;
	int fatal;		/* IO or out of memory: stop */
	struct haywire_error fatal_err;
};

static void remember(struct haywire_error *slot, const struct haywire_error *e)
{
	if (slot->code == HAYWIRE_OK)
		*slot = *e;
}

/*
 * The 8 bytes at a 2 MiB offset of a file. pread, not the mapping: reading
 * a hole of a tmpfs mapping would allocate a page, and a file that shrank
 * reads short instead of raising SIGBUS.
 */
static uint64_t probe_u64(int fd, uint64_t offset)
{
	uint64_t v = 0;
	ssize_t n;

	do {
		n = pread(fd, &v, sizeof(v), (off_t)offset);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? v : 0;
}

/*
 * After a probe read zeros at `offset`: the next 2 MiB offset that may
 * hold data. A data run starting inside a 2 MiB block starts after the
 * block's first page, which is a hole. Linear overall: each call moves
 * past everything it looked at.
 */
static uint64_t next_data_block(int fd, uint64_t size, uint64_t offset)
{
	off_t data;
	uint64_t block;

	data = lseek(fd, (off_t)offset, SEEK_DATA);
	if (data < 0)	/* ENXIO: only holes from here; else no support */
		return errno == ENXIO ? size : offset + HW_EXTENT_ALIGN;
	if ((uint64_t)data <= offset)
		return offset + HW_EXTENT_ALIGN;
	block = (uint64_t)data & ~(HW_EXTENT_ALIGN - 1);
	return (uint64_t)data == block ? block : block + HW_EXTENT_ALIGN;
}

static void add_cand(struct scan *s, uint64_t offset)
{
	if (s->n == s->cap) {
		/* At most one per 2 MiB of the file. */
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct cand *c = realloc(s->cands, cap * sizeof(*c));

		if (!c) {
			s->fatal = hwi_fail(&s->fatal_err, HAYWIRE_E_NOMEM,
					    "out of memory");
			return;
		}
		s->cands = c;
		s->cap = cap;
	}
	memset(&s->cands[s->n], 0, sizeof(s->cands[0]));
	s->cands[s->n++].offset = offset;
}

/* What the 8 bytes at handle offset `at` say; false if they are zero. */
static bool classify(struct scan *s, uint64_t at, uint64_t magic)
{
	s->probes++;
	if (magic == HW_MAGIC) {
		add_cand(s, at);
	} else if (magic == HW_MAGIC_GONE) {
		s->gone_seen = true;
		s->gone_offset = at;
	}
	return magic != 0;
}

/* Every 2 MiB offset of one file, which starts at handle offset base. */
static void census_file(struct scan *s, int fd, uint64_t size, uint64_t base)
{
	uint64_t offset = 0;

	while (offset + 8 <= size && !s->fatal) {
		if (classify(s, base + offset, probe_u64(fd, offset)))
			offset += HW_EXTENT_ALIGN;
		else
			offset = next_data_block(fd, size, offset);
	}
}

/*
 * Every 2 MiB offset of the RAM file and of the files attached to it (RAM
 * of QEMU's other backends, each probed from its own start): HW_MAGIC
 * pages become candidates.
 */
static void census(struct scan *s)
{
	const struct haywire_mem *mem = s->mem;
	uint64_t offset;
	unsigned int i;

	if (mem->fd < 0) {	/* a caller's buffer: no holes */
		for (offset = 0; offset + 8 <= mem->size && !s->fatal;
		     offset += HW_EXTENT_ALIGN)
			classify(s, offset, hwi_load_u64(mem, offset));
		return;
	}
	census_file(s, mem->fd, mem->size, 0);
	for (i = 0; i < mem->nattached && !s->fatal; i++)
		census_file(s, mem->attached[i].fd, mem->attached[i].size,
			    mem->attached[i].offset);
}

/* One look at a candidate. */
static void try_cand(struct scan *s, struct cand *c)
{
	struct haywire_error e;
	int rc;

	if (s->opts->pin_index &&
	    hwi_load_u64(s->mem, c->offset +
			 offsetof(struct hw_index, self_gpa)) !=
	    s->opts->index_gpa) {
		c->state = CAND_SKIPPED;
		return;
	}
	rc = hwi_probe_index(s->mem, c->offset, &c->info, &e);
	switch (rc) {
	case HAYWIRE_OK:
		c->state = CAND_VALID;
		s->valid++;
		return;
	case HAYWIRE_E_BUSY:
		c->state = CAND_BUSY;
		remember(&s->busy_err, &e);
		return;
	case HAYWIRE_E_VERSION:
		remember(&s->version_err, &e);
		break;
	case HAYWIRE_E_CORRUPT:
	case HAYWIRE_E_RAM_MAP:	/* RAM beyond the file: said precisely */
		remember(&s->corrupt_err, &e);
		break;
	case HAYWIRE_E_GONE:
		s->gone_seen = true;
		s->gone_offset = c->offset;
		break;
	default:
		s->fatal = rc;
		s->fatal_err = e;
	}
	c->state = CAND_REJECTED;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t elapsed_ms(const struct scan *s)
{
	return (hwi_now_ns(CLOCK_MONOTONIC) - s->t0) / 1000000;
}

/* Look at busy candidates again until none is left or the deadline. */
static void revisit(struct scan *s)
{
	unsigned int deadline = s->opts->deadline_ms ? s->opts->deadline_ms :
				DEADLINE_MS;
	unsigned int settle = deadline < SETTLE_MS ? deadline : SETTLE_MS;
	unsigned int pause = REVISIT_PAUSE_US;
	size_t i, busy;

	for (;;) {
		for (i = busy = 0; i < s->n; i++)
			busy += s->cands[i].state == CAND_BUSY;
		if (!busy || s->fatal ||
		    elapsed_ms(s) >= (s->valid ? settle : deadline))
			break;
		sleep_us(pause);
		if (pause < REVISIT_PAUSE_MAX_US)
			pause *= 2;
		for (i = 0; i < s->n && !s->fatal; i++)
			if (s->cands[i].state == CAND_BUSY)
				try_cand(s, &s->cands[i]);
	}
}

/* What moves in a live beacon: its generation and (1.2) its heartbeat. */
static uint64_t pulse(const struct scan *s, const struct cand *c)
{
	uint64_t p = hwi_load_u64(s->mem, c->offset +
				  offsetof(struct hw_index, generation));

	if (c->info.heartbeat_offset)
		p ^= hwi_load_u64(s->mem, c->info.heartbeat_offset) << 1;
	return p;
}

/*
 * Several valid candidates: watch them for LIVE_WATCH_MS (less once two
 * are seen alive). If exactly one is alive, the others become FROZEN.
 */
static void sift_frozen(struct scan *s)
{
	uint64_t start = hwi_now_ns(CLOCK_MONOTONIC), *first;
	uint64_t watch_ms = LIVE_WATCH_MS;
	size_t i, alive = 0;
	bool *moved;

	first = calloc(s->n, sizeof(*first));
	moved = calloc(s->n, sizeof(*moved));
	if (!first || !moved)
		goto out;	/* stays ambiguous */
	for (i = 0; i < s->n; i++)
		if (s->cands[i].state == CAND_VALID) {
			first[i] = pulse(s, &s->cands[i]);
			if (2ULL * s->cands[i].info.poll_max_ms > watch_ms)
				watch_ms = 2ULL * s->cands[i].info.poll_max_ms;
		}
	if (watch_ms > LIVE_WATCH_MAX_MS)
		watch_ms = LIVE_WATCH_MAX_MS;
	s->watch_ms = watch_ms;
	while (alive < 2 &&
	       hwi_now_ns(CLOCK_MONOTONIC) - start < watch_ms * 1000000ULL) {
		sleep_us(LIVE_PAUSE_US);
		for (i = 0; i < s->n; i++)
			if (s->cands[i].state == CAND_VALID && !moved[i] &&
			    pulse(s, &s->cands[i]) != first[i]) {
				moved[i] = true;
				alive++;
			}
	}
	s->alive = alive;
	if (alive == 1) {
		for (i = 0; i < s->n; i++)
			if (s->cands[i].state == CAND_VALID && !moved[i]) {
				s->cands[i].state = CAND_FROZEN;
				s->frozen++;
			}
		s->valid = 1;
	}
out:
	free(first);
	free(moved);
}

static int scan_guarded(void *arg)
{
	struct scan *s = arg;
	const struct haywire_hint *hint = s->opts->hint;
	size_t i;

	census(s);
	/* The hint's candidate first: it only orders the work. */
	for (i = 0; hint && i < s->n && !s->fatal; i++)
		if (s->cands[i].offset == hint->file_offset)
			try_cand(s, &s->cands[i]);
	for (i = 0; i < s->n && !s->fatal; i++)
		if (s->cands[i].state == CAND_UNTRIED)
			try_cand(s, &s->cands[i]);
	revisit(s);
	if (s->valid > 1 && !s->fatal)
		sift_frozen(s);
	for (i = 0; i < s->n; i++) {
		s->busy += s->cands[i].state == CAND_BUSY;
		s->rejected += s->cands[i].state == CAND_REJECTED;
	}
	return 0;
}

/* "0x2800000 (nonce 0x..., generation 5, 0.3 s old)" */
static int describe(char *buf, size_t n, const struct cand *c)
{
	int64_t age;
	uint64_t ahead;
	char when[48];

	hwi_clock_age(c->info.publish_real_ns, &age, &ahead);
	if (hwi_future(ahead, c->info.interval_ms))
		snprintf(when, sizeof(when), "%llu.%01llu s in the future",
			 (unsigned long long)(ahead / 1000),
			 (unsigned long long)(ahead % 1000 / 100));
	else
		snprintf(when, sizeof(when), "%lld.%01lld s old",
			 (long long)(age / 1000),
			 (long long)(age % 1000 / 100));
	return snprintf(buf, n, "GPA 0x%llx (nonce 0x%llx, generation %llu, %s)",
			(unsigned long long)c->info.self_gpa,
			(unsigned long long)c->info.nonce,
			(unsigned long long)c->info.generation, when);
}

/*
 * The candidates in `state`, whole, as many as fit in n bytes (at most
 * LISTED_MAX), then "and N more" (room for which is kept).
 */
static void list_cands(const struct scan *s, enum cand_state state,
		       char *buf, size_t n)
{
	const size_t more_room = sizeof("; and 4294967295 more");
	size_t i, listed = 0, total = 0, at = 0, len;
	char one[160];

	buf[0] = '\0';
	for (i = 0; i < s->n; i++)
		total += s->cands[i].state == state;
	for (i = 0; i < s->n && listed < LISTED_MAX; i++) {
		if (s->cands[i].state != state)
			continue;
		len = (size_t)describe(one, sizeof(one), &s->cands[i]);
		if (at + 2 + len + more_room > n)
			break;
		at += (size_t)snprintf(buf + at, n - at, "%s%s",
				       listed ? "; " : "", one);
		listed++;
	}
	if (total > listed)
		snprintf(buf + at, n - at, "%sand %zu more",
			 listed ? "; " : "", total - listed);
}

static int ambiguous(const struct scan *s, struct haywire_error *err)
{
	/* The list gets what the rest of the line leaves. */
	static const char head[] =
		"NNNNNNNNNN beacons validate (none changed in NNNNNNNNNN ms) and a guest user can forge one, so none is taken: ";
	static const char tail[] = "; pin the kernel's by its GPA";
	char list[HAYWIRE_MSG_MAX - sizeof(head) - sizeof(tail)];
	char when[48];

	snprintf(when, sizeof(when), "none changed in %llu ms",
		 (unsigned long long)s->watch_ms);
	list_cands(s, CAND_VALID, list, sizeof(list));
	return hwi_fail(err, HAYWIRE_E_AMBIGUOUS,
			"%zu beacons validate (%s) and a guest user can forge one, so none is taken: %s%s",
			s->valid, s->alive ? "more than one is alive" : when,
			list, tail);
}

/* No valid candidate: say why. */
static int nothing_found(const struct scan *s, struct haywire_error *err)
{
	if (s->opts->pin_index && s->n)
		return hwi_fail(err, HAYWIRE_E_NO_BEACON,
				"no valid beacon index at GPA 0x%llx (%zu candidate page%s elsewhere or invalid)%s%s",
				(unsigned long long)s->opts->index_gpa, s->n,
				s->n == 1 ? "" : "s",
				s->busy_err.code || s->corrupt_err.code ?
				": " : "",
				s->busy_err.code ? s->busy_err.msg :
				s->corrupt_err.msg);
	if (s->busy_err.code)
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"beacon busy: %s, through %llu ms of looking again (%zu candidate%s); try again",
				s->busy_err.msg,
				(unsigned long long)elapsed_ms(s), s->n,
				s->n == 1 ? "" : "s");
	if (s->version_err.code)
		return hwi_fail(err, s->version_err.code, "%s",
				s->version_err.msg);
	/*
	 * An unloaded module's page before pages that only look like an
	 * index: a copy of a live index (a reader's buffer, freed memory)
	 * outlives the module, and would otherwise turn "unloaded" into
	 * "corrupt" while a module is being reloaded.
	 */
	if (s->gone_seen)
		return hwi_fail(err, HAYWIRE_E_GONE,
				"the haywire module was unloaded from the guest (HWGONE!! page at file offset 0x%llx): load it again (modprobe haywire)%s%s",
				(unsigned long long)s->gone_offset,
				s->corrupt_err.code ?
				"; other pages look like an index but fail validation: " : "",
				s->corrupt_err.code ? s->corrupt_err.msg : "");
	if (s->corrupt_err.code)
		return hwi_fail(err, s->corrupt_err.code, "%s",
				s->corrupt_err.msg);
	return hwi_fail(err, HAYWIRE_E_NO_BEACON,
			"no beacon in the RAM file (%u offsets probed): the haywire module is not loaded in the guest (load it: modprobe haywire)",
			s->probes);
}

static int discover_into(const struct haywire_mem *mem,
			 const struct haywire_opts *opts,
			 struct haywire_location *loc, struct haywire_error *err)
{
	struct scan s;
	const struct cand *best = NULL;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.mem = mem;
	s.opts = opts;
	s.t0 = hwi_now_ns(CLOCK_MONOTONIC);
	rc = hwi_guarded(mem, scan_guarded, &s, err);
	if (!rc && s.fatal) {
		if (err)
			*err = s.fatal_err;
		rc = s.fatal;
	}
	if (!rc && s.valid > 1)
		rc = ambiguous(&s, err);
	if (!rc && s.valid == 0)
		rc = nothing_found(&s, err);
	for (i = 0; !rc && i < s.n; i++)
		if (s.cands[i].state == CAND_VALID)
			best = &s.cands[i];
	if (best) {
		memset(loc, 0, sizeof(*loc));
		loc->file_offset = best->offset;
		loc->gpa = best->info.self_gpa;
		loc->nonce = best->info.nonce;
		loc->map = best->info.map;
		loc->probes = s.probes;
		loc->candidates = (unsigned int)s.n;
		loc->busy = (unsigned int)s.busy;
		loc->rejected = (unsigned int)s.rejected;
		loc->frozen = (unsigned int)s.frozen;
		loc->pinned = opts->pin_index;
		loc->hint_used = opts->hint &&
				 opts->hint->file_offset == best->offset &&
				 opts->hint->nonce == best->info.nonce;
		loc->ns = hwi_now_ns(CLOCK_MONOTONIC) - s.t0;
	}
	free(s.cands);
	return rc;
}

struct haywire_beacon *haywire_discover(struct haywire_mem *mem,
					const struct haywire_opts *opts,
					struct haywire_error *err)
{
	static const struct haywire_opts defaults;
	struct haywire_beacon *b = calloc(1, sizeof(*b));

	if (!b) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	b->mem = mem;
	b->opts = opts ? *opts : defaults;
	if (discover_into(mem, &b->opts, &b->loc, err)) {
		free(b);
		return NULL;
	}
	b->opts.hint = NULL;	/* the caller's; not kept */
	return b;
}

int hwi_rediscover(struct haywire_beacon *b, struct haywire_error *err)
{
	/* The old place first; the whole file is probed all the same. */
	struct haywire_hint old = { b->loc.file_offset, b->loc.nonce };
	struct haywire_opts opts = b->opts;

	opts.hint = &old;
	return discover_into(b->mem, &opts, &b->loc, err);
}

void haywire_beacon_free(struct haywire_beacon *b)
{
	free(b);
}

const struct haywire_location *
haywire_beacon_location(const struct haywire_beacon *b)
{
	return &b->loc;
}
