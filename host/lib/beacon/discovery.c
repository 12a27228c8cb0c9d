// SPDX-License-Identifier: MIT
/*
 * Discovery: find the master index. It is the first page of a 2 MiB-aligned
 * extent, so only 2 MiB-aligned file offsets are probed (8 bytes each), and
 * holes of a sparse file are skipped without touching them (reading a hole
 * of a tmpfs mapping would allocate memory).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beacon.h"

struct scan {
	const struct haywire_mem *mem;
	const struct haywire_opts *opts;
	unsigned int probes, candidates;
	bool hint_used;
	bool hint_probed;	/* the hint's offset needs no second look */
	bool have_best;
	uint64_t best_offset;
	struct hwi_candidate best;
	bool gone_seen;
	uint64_t gone_offset;
	/* The first failure of each kind, to explain an empty result. */
	struct haywire_error busy, version, corrupt;
	int fatal;		/* IO or out of memory: stop */
	struct haywire_error fatal_err;
};

static void remember(struct haywire_error *slot, const struct haywire_error *e)
{
	if (slot->code == HAYWIRE_OK)
		*slot = *e;
}

/* A page with HW_MAGIC: validate it and keep the latest published. */
static void consider(struct scan *s, uint64_t offset)
{
	struct hwi_candidate cand;
	struct haywire_error e;
	int rc;

	s->candidates++;
	rc = hwi_probe_index(s->mem, s->opts, offset, &cand, &e);
	switch (rc) {
	case HAYWIRE_OK:
		if (!s->have_best ||
		    cand.publish_real_ns > s->best.publish_real_ns) {
			s->have_best = true;
			s->best = cand;
			s->best_offset = offset;
		}
		break;
	case HAYWIRE_E_BUSY:
		remember(&s->busy, &e);
		break;
	case HAYWIRE_E_VERSION:
		remember(&s->version, &e);
		break;
	case HAYWIRE_E_CORRUPT:
	case HAYWIRE_E_RAM_MAP:	/* RAM beyond the file: said precisely */
		remember(&s->corrupt, &e);
		break;
	case HAYWIRE_E_GONE:
		s->gone_seen = true;
		s->gone_offset = offset;
		break;
	default:
		s->fatal = rc;
		s->fatal_err = e;
	}
}

static void probe(struct scan *s, uint64_t offset)
{
	uint64_t magic = hwi_load_u64(s->mem, offset);

	s->probes++;
	if (magic == HW_MAGIC) {
		consider(s, offset);
	} else if (magic == HW_MAGIC_GONE) {
		s->gone_seen = true;
		s->gone_offset = offset;
	}
}

/* The hint: good enough if it validates, has its nonce and is fresh. */
static bool try_hint(struct scan *s, const struct haywire_hint *hint)
{
	uint64_t at = hint->file_offset, run_end;

	if (at % HW_EXTENT_ALIGN || at >= s->mem->size)
		return false;
	s->hint_probed = true;
	if (hwi_next_data(s->mem, at, &run_end) != at) {
		s->probes++;	/* a hole now: nothing to read */
		return false;
	}
	if (hwi_load_u64(s->mem, at) != HW_MAGIC ||
	    hwi_load_u64(s->mem, at + offsetof(struct hw_index, nonce)) !=
	    hint->nonce) {
		probe(s, at);	/* a new nonce, or a HWGONE!! page */
		return false;
	}
	s->probes++;
	consider(s, at);
	return s->have_best &&
	       !hwi_stale(hwi_age_ms(s->best.publish_real_ns),
			  s->best.interval_ms);
}

static int scan_guarded(void *arg)
{
	struct scan *s = arg;
	const struct haywire_hint *hint = s->opts->hint;
	uint64_t size = s->mem->size, offset = 0;

	if (hint && try_hint(s, hint)) {
		s->hint_used = true;
		return 0;
	}
	while (offset < size && !s->fatal) {
		uint64_t run_end, data = hwi_next_data(s->mem, offset, &run_end);

		/* A data run starting inside a 2 MiB block starts after the
		 * block's first page, which is a hole. */
		offset = (data + HW_EXTENT_ALIGN - 1) & ~(HW_EXTENT_ALIGN - 1);
		for (; offset < run_end && !s->fatal;
		     offset += HW_EXTENT_ALIGN) {
			if (s->hint_probed && offset == hint->file_offset)
				continue;
			probe(s, offset);
		}
	}
	return 0;
}

static int discover_into(const struct haywire_mem *mem,
			 const struct haywire_opts *opts,
			 struct haywire_location *loc, struct haywire_error *err)
{
	struct scan s;
	uint64_t t0 = hwi_now_ns(CLOCK_MONOTONIC);
	int rc;

	memset(&s, 0, sizeof(s));
	s.mem = mem;
	s.opts = opts;
	rc = hwi_guarded(mem, scan_guarded, &s, err);
	if (rc)
		return rc;
	if (s.fatal) {
		if (err)
			*err = s.fatal_err;
		return s.fatal;
	}
	if (!s.have_best) {
		if (s.busy.code)
			return hwi_fail(err, s.busy.code, "%s", s.busy.msg);
		if (s.version.code)
			return hwi_fail(err, s.version.code, "%s",
					s.version.msg);
		if (s.corrupt.code)
			return hwi_fail(err, s.corrupt.code, "%s",
					s.corrupt.msg);
		if (s.gone_seen)
			return hwi_fail(err, HAYWIRE_E_GONE,
					"the haywire module was unloaded from the guest (HWGONE!! page at file offset 0x%llx): load it again (modprobe haywire)",
					(unsigned long long)s.gone_offset);
		return hwi_fail(err, HAYWIRE_E_NO_BEACON,
				"no beacon in the RAM file (%u offsets probed): the haywire module is not loaded in the guest (load it: modprobe haywire)",
				s.probes);
	}
	memset(loc, 0, sizeof(*loc));
	loc->file_offset = s.best_offset;
	loc->gpa = s.best.self_gpa;
	loc->nonce = s.best.nonce;
	loc->map = s.best.map;
	loc->probes = s.probes;
	loc->candidates = s.candidates;
	loc->hint_used = s.hint_used;
	loc->ns = hwi_now_ns(CLOCK_MONOTONIC) - t0;
	return 0;
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
	/* The old place as the hint: a HWGONE!! there says "unloaded". */
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
