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
	uint32_t poll_max_ms;	/* 1.2; 0: unknown */
	/* File offset of response slot 0's heartbeat (1.2: the module bumps
	 * it every time it looks at the ring); 0 when there is none. */
	uint64_t heartbeat_offset;
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

/*
 * One request's answer, assembled from its chunks. A TRANSLATE answer may
 * take several claims of a slot ("windows"): its runs are kept, and given
 * to fn only once the slot is released (hwi_answer_deliver), so that no
 * caller's code runs while a slot is held.
 */
struct hwi_answer {
	uint32_t type;			/* the request */
	int32_t pid;
	uint32_t arg;
	uint64_t addr, len;
	uint64_t page;			/* guest base page size */
	unsigned char *dst;		/* READ: len bytes */
	haywire_run_fn fn;		/* TRANSLATE: each run */
	void *fn_arg;
	int fn_rc;			/* nonzero: fn asked to stop */
	unsigned char *buf;		/* PROC_DETAIL: the bytes so far */
	size_t buf_len, buf_cap;
	uint64_t done;			/* bytes or runs taken */
	uint64_t window_base;		/* done when this window began */
	uint64_t total;			/* announced by the guest for this
					 * window; 0: not */
	uint64_t next_va;		/* TRANSLATE: where the next run starts */
	uint64_t window_va;		/* TRANSLATE: where this window began */
	struct haywire_xlate_run held;	/* TRANSLATE: merged, not yet final;
					 * len 0: none */
	struct haywire_xlate_run *runs;	/* TRANSLATE: final, not yet given */
	size_t nruns, runs_cap;
	uint64_t value[4];		/* the last chunk's */
	unsigned int chunks;
};

void hwi_answer_init(struct hwi_answer *a, uint32_t type, int32_t pid,
		     uint32_t arg, uint64_t addr, uint64_t len);
/*
 * The question of the next chunk as it goes on the wire: the fields of q
 * from type to cursor (owner, id, nonce, seq and check are the ring's).
 * A TRANSLATE continued in a new window asks for the rest of its range.
 */
void hwi_answer_question(const struct hwi_answer *a, uint64_t cursor,
			 struct hw_request *q);
/* A new window starts: the rest of the range, asked afresh. */
void hwi_answer_new_window(struct hwi_answer *a);
/*
 * Whether h echoes the question q exactly (type, pid, arg, addr, len,
 * cursor and nonce; id and owner are matched by the ring first): 0, or
 * HAYWIRE_E_CORRUPT naming the first field that differs.
 */
int hwi_answer_echo(const struct hwi_answer *a, const struct hw_request *q,
		    const struct hw_response *h, struct haywire_error *err);
/*
 * Take one chunk: h is a private copy of a response already matched to
 * the question q (seq, id, owner), data its h->data_len bytes. The echo
 * is checked first. *cursor is nonzero when the answer continues. A
 * status other than OK becomes the error it stands for.
 */
int hwi_answer_chunk(struct hwi_answer *a, const struct hw_request *q,
		     const struct hw_response *h, const void *data,
		     uint64_t *cursor, struct haywire_error *err);
/* TRANSLATE: give the final runs taken so far to fn (slot released). */
void hwi_answer_deliver(struct hwi_answer *a);
void hwi_answer_release(struct hwi_answer *a);
int hwi_decode_detail(const void *buf, size_t len, int32_t pid,
		      struct haywire_detail **out, struct haywire_error *err);

#endif /* HAYWIRE_BEACON_H */
