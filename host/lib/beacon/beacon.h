/* SPDX-License-Identifier: MIT */
/*
 * libhaywire beacon internals (discovery.c, hint.c, snapshot.c, answer.c,
 * ring.c, process.c): what the guest module publishes and answers.
 */
#ifndef HAYWIRE_BEACON_H
#define HAYWIRE_BEACON_H

#include "../core/core.h"

#define STATE_LETTERS "RSDTtXZPI"	/* process states, as /proc shows them */

/* discovery.c: a beacon handle. */
struct haywire_beacon {
	struct haywire_mem *mem;
	struct haywire_opts opts;
	struct haywire_location loc;
};

/* snapshot.c, used by discovery: what one candidate index says. */
struct hwi_candidate {
	uint64_t nonce;
	uint64_t self_gpa;
	uint64_t generation;
	uint64_t publish_real_ns;
	uint32_t interval_ms;
	struct haywire_gpa_map map;
};

/* Read and validate the index at file offset `offset` with the seq
 * protocol (any nonce), once: HAYWIRE_E_BUSY if it was mid-update,
 * unpublished or changing. */
int hwi_probe_index(const struct haywire_mem *mem, uint64_t offset,
		    struct hwi_candidate *cand, struct haywire_error *err);
/* Whether a snapshot published at publish_real_ns is stale now. */
bool hwi_stale(int64_t age_ms, uint32_t interval_ms);
/* Age of a guest timestamp by the host's clock: never negative; a
 * timestamp in the future gives age 0 and how far ahead it is. */
void hwi_clock_age(uint64_t publish_real_ns, int64_t *age_ms,
		   uint64_t *ahead_ms);
/* Further ahead than clock skew explains (the stale bound, mirrored):
 * not trusted until the generation is seen to advance. */
bool hwi_future(uint64_t ahead_ms, uint32_t interval_ms);
/* Discover again after a reload, keeping the options. */
int hwi_rediscover(struct haywire_beacon *beacon, struct haywire_error *err);

/* answer.c: guest answers to requests, validated; no I/O (fuzzable). */

/* "ping", "read" ... for messages. */
const char *hwi_request_name(uint32_t type);
/* Check and decode one page run; NULL, or what is wrong with it. */
const char *hwi_decode_run(const struct hw_page_run *raw,
			   struct haywire_xlate_run *out);

/* One request's answer, assembled from its chunks. */
struct hwi_answer {
	uint32_t type;			/* the request */
	int32_t pid;
	uint32_t arg;
	uint64_t addr, len;
	unsigned char *dst;		/* READ: len bytes */
	haywire_run_fn fn;		/* TRANSLATE: each run */
	void *fn_arg;
	int fn_rc;			/* nonzero: fn asked to stop */
	unsigned char *buf;		/* PROC_DETAIL: the bytes so far */
	size_t buf_len, buf_cap;
	uint64_t done;			/* bytes or runs taken */
	uint64_t total;			/* announced by the guest; 0: not */
	uint64_t next_va;		/* TRANSLATE: where the next run starts */
	struct haywire_xlate_run held;	/* TRANSLATE: merged, not yet given
					 * to fn; len 0: none */
	uint64_t value[4];		/* the last chunk's */
	unsigned int chunks;
};

void hwi_answer_init(struct hwi_answer *a, uint32_t type, int32_t pid,
		     uint32_t arg, uint64_t addr, uint64_t len);
/*
 * Take one chunk: h is a private copy of a response already matched to
 * the request (seq, id, owner), data its h->data_len bytes. *cursor is
 * nonzero when the answer continues. A status other than OK becomes the
 * error it stands for.
 */
int hwi_answer_chunk(struct hwi_answer *a, const struct hw_response *h,
		     const void *data, uint64_t *cursor,
		     struct haywire_error *err);
void hwi_answer_release(struct hwi_answer *a);
int hwi_decode_detail(const void *buf, size_t len, int32_t pid,
		      struct haywire_detail **out, struct haywire_error *err);

#endif /* HAYWIRE_BEACON_H */
