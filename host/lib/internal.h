/* SPDX-License-Identifier: MIT */
/* libhaywire internals shared between the library's source files. */
#ifndef HAYWIRE_INTERNAL_H
#define HAYWIRE_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "haywire.h"

/* The protocol is little-endian and so is every host we build for. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "libhaywire reads little-endian guest data in place");

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define STATE_LETTERS "RSDTtXZPI"	/* process states, as /proc shows them */

struct haywire_mem {
	const unsigned char *base;
	uint64_t size;
	int fd;			/* -1 for a caller's buffer */
	uint64_t dev, ino;
};

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
 * run (sparse files; a buffer is one run). Returns the file size if none.
 */
uint64_t hwi_next_data(const struct haywire_mem *mem, uint64_t offset,
		       uint64_t *run_end);

uint64_t hwi_now_ns(int clock);

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
	uint64_t publish_real_ns;
	uint32_t interval_ms;
	struct haywire_gpa_map map;
};

/* Read and validate the index at file offset `offset` with the seq
 * protocol (any nonce). */
int hwi_probe_index(const struct haywire_mem *mem,
		    const struct haywire_opts *opts, uint64_t offset,
		    struct hwi_candidate *cand, struct haywire_error *err);
/* Whether a snapshot published at publish_real_ns is stale now. */
bool hwi_stale(int64_t age_ms, uint32_t interval_ms);
int64_t hwi_age_ms(uint64_t publish_real_ns);
/* Discover again after a reload, keeping the options. */
int hwi_rediscover(struct haywire_beacon *beacon, struct haywire_error *err);

/* answer.c: guest answers to requests, validated; no I/O (fuzzable). */

/* pagewalk.c: whether next continues run (one run for both). */
bool hwi_run_extends(const struct haywire_xlate_run *run,
		     const struct haywire_xlate_run *next);

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

/* ---- agentless inputs (btf.c, symbols.c) ------------------------------ */

/* The kernel image's text window: _text is in it, 2 MiB aligned. */
#define HWI_KERNEL_TEXT_WINDOW		0xffffffff80000000ULL
#define HWI_KERNEL_TEXT_WINDOW_END	0xffffffffc0000000ULL

#define HAYWIRE_BTF_BANNERS	4

struct haywire_btf {
	struct btf *btf;		/* libbpf */
	char path[HW_PATH_MAX];
	char kind[32];			/* "raw BTF", "bzImage (zstd)" ... */
	unsigned int banners;		/* linux_banner candidates (image) */
	char banner[HAYWIRE_BTF_BANNERS][512];
};

/* A member (dotted path through nested members) of a type. */
struct hwi_field {
	uint32_t off, size;		/* bytes */
	int type_id;			/* resolved type of the member */
	uint32_t nelems, elem_size;	/* arrays */
	int elem_type_id;
	bool have;
};

int hwi_btf_field(const struct haywire_btf *b, const char *type,
		  const char *path, struct hwi_field *f);
int hwi_btf_size(const struct haywire_btf *b, const char *type,
		 uint32_t *size);
bool hwi_btf_is_struct(const struct haywire_btf *b, int type_id,
		       const char *name);
int hwi_btf_enum_value(const struct haywire_btf *b, const char *name,
		       int64_t *value);

struct hwi_sym {
	uint64_t addr;
	uint32_t name_off;
	char type;
};

struct haywire_symbols {
	char path[HW_PATH_MAX];
	struct hwi_sym *by_name, *by_addr;
	size_t count;
	char *names;
	uint64_t text;			/* _text as the file has it */
};

bool hwi_sym(const struct haywire_symbols *s, const char *name,
	     uint64_t *addr);
const char *hwi_sym_at(const struct haywire_symbols *s, uint64_t addr);
bool hwi_sym_at_is(const struct haywire_symbols *s, uint64_t addr,
		   const char *name);

/* qmp.c: the address given, for messages. */
const char *hwi_qmp_address(const struct haywire_qmp *q);

#endif /* HAYWIRE_INTERNAL_H */
