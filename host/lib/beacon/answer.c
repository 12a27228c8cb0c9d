// SPDX-License-Identifier: MIT
/*
 * The guest's answers to requests, validated and decoded: page runs,
 * chunks of a (possibly continued) answer, process details. Pure
 * functions over private copies, with no I/O, so that the fuzzer drives
 * exactly the code the client runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beacon.h"

#define GPA_LIMIT	(1ULL << 52)	/* x86-64 and arm64 physical space */
/* The most a process detail may take: the structure, a command line the
 * guest may cap well below this, and a path. */
#define DETAIL_MAX	((1U << 20) + HW_PATH_MAX + sizeof(struct hw_proc_detail))

_Static_assert((int)HAYWIRE_PAGE_UNMAPPED == (int)HW_PAGE_UNMAPPED &&
	       (int)HAYWIRE_PAGE_PRESENT == (int)HW_PAGE_PRESENT &&
	       (int)HAYWIRE_PAGE_SWAPPED == (int)HW_PAGE_SWAPPED,
	       "page states are the protocol's");
_Static_assert(HAYWIRE_XF_WRITE == HW_RF_WRITE && HAYWIRE_XF_USER == HW_RF_USER &&
	       HAYWIRE_XF_NX == HW_RF_NX && HAYWIRE_XF_PROTNONE == HW_RF_PROTNONE &&
	       HAYWIRE_XF_UNKNOWN == HW_RF_UNKNOWN,
	       "run flags are the protocol's");

#define KNOWN_RUN_FLAGS (HW_RF_WRITE | HW_RF_USER | HW_RF_NX | HW_RF_PROTNONE | \
			 HW_RF_UNKNOWN)

const char *hwi_decode_run(const struct hw_page_run *raw,
			   struct haywire_xlate_run *out)
{
	memset(out, 0, sizeof(*out));
	if (raw->len == 0)
		return "is empty";
	if (raw->va > UINT64_MAX - raw->len)
		return "wraps around the address space";
	switch (raw->state) {
	case HW_PAGE_UNMAPPED:
		if (raw->page_shift != 0)
			return "is unmapped but has a page size";
		break;
	case HW_PAGE_PRESENT:
		if (raw->gpa >= GPA_LIMIT || raw->len > GPA_LIMIT - raw->gpa)
			return "has a guest-physical range beyond 2^52";
		/* fall through */
	case HW_PAGE_SWAPPED:
		if (raw->page_shift != 12 && raw->page_shift != 21 &&
		    raw->page_shift != 30)
			return "has a page size that is not 4 KiB, 2 MiB or 1 GiB";
		break;
	default:
		return "has an unknown state";
	}
	out->va = raw->va;
	out->len = raw->len;
	out->state = (enum haywire_page_state)raw->state;
	out->page_shift = raw->page_shift;
	if (raw->state == HW_PAGE_PRESENT) {
		out->gpa = raw->gpa;
		out->flags = raw->flags & KNOWN_RUN_FLAGS;
	}
	return NULL;
}

const char *hwi_request_name(uint32_t type)
{
	switch (type) {
	case HW_REQ_PING: return "ping";
	case HW_REQ_REFRESH: return "refresh";
	case HW_REQ_PROC_DETAIL: return "process detail";
	case HW_REQ_CAMERA_SET: return "camera set";
	case HW_REQ_CAMERA_CLEAR: return "camera clear";
	case HW_REQ_TRANSLATE: return "translate";
	case HW_REQ_READ: return "read";
	}
	return "unknown";
}

void hwi_answer_init(struct hwi_answer *a, uint32_t type, int32_t pid,
		     uint32_t arg, uint64_t addr, uint64_t len)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->pid = pid;
	a->arg = arg;
	a->addr = addr;
	a->len = len;
	a->page = 4096;
	a->next_va = addr;
	a->window_va = addr;
}

void hwi_answer_question(const struct hwi_answer *a, uint64_t cursor,
			 struct hw_request *q)
{
	q->type = a->type;
	q->pid = a->pid;
	q->arg = a->arg;
	q->addr = a->addr;
	q->len = a->len;
	if (a->type == HW_REQ_TRANSLATE) {
		q->addr = a->window_va;
		q->len = a->addr + a->len - a->window_va;
	}
	q->cursor = cursor;
}

void hwi_answer_new_window(struct hwi_answer *a)
{
	a->window_base = a->done;
	a->window_va = a->next_va;
	a->total = 0;
}

void hwi_answer_deliver(struct hwi_answer *a)
{
	size_t i;

	for (i = 0; i < a->nruns && a->fn && !a->fn_rc; i++)
		a->fn_rc = a->fn(a->fn_arg, &a->runs[i]);
	a->nruns = 0;
}

void hwi_answer_release(struct hwi_answer *a)
{
	free(a->buf);
	a->buf = NULL;
	a->buf_len = a->buf_cap = 0;
	free(a->runs);
	a->runs = NULL;
	a->nruns = a->runs_cap = 0;
}

__attribute__((format(printf, 3, 4)))
static int bad_answer(const struct hwi_answer *a, struct haywire_error *err,
		      const char *fmt, ...)
{
	char detail[HAYWIRE_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return hwi_fail(err, HAYWIRE_E_CORRUPT,
			"the guest's answer to a %s request is invalid: %s",
			hwi_request_name(a->type), detail);
}

/*
 * READ stopped where reading could wait forever (a file's page not in
 * memory: NFS, FUSE) or must not happen at all (device memory, a
 * userfaultfd range); value[0] says where, if the guest says.
 */
static int read_refused(const struct hwi_answer *a,
			const struct hw_response *h, struct haywire_error *err)
{
	const char *why = h->status == HW_ST_NOT_RESIDENT ?
		"belongs to a file mapping and is not in memory (the guest does not wait for file I/O)" :
		"is device memory or registered with userfaultfd (the guest never reads it)";
	uint64_t at = a->addr;

	if (a->type == HW_REQ_READ && h->value[0] >= a->addr &&
	    h->value[0] - a->addr < a->len)
		at = h->value[0];
	return hwi_fail(err, HAYWIRE_E_REFUSED,
			"PID %d: the guest refused to read at 0x%llx: the page %s",
			a->pid, (unsigned long long)at, why);
}

/* A status other than OK as the error it stands for. */
static int status_error(const struct hwi_answer *a,
			const struct hw_response *h, struct haywire_error *err)
{
	switch (h->status) {
	case HW_ST_BAD_TYPE:
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"the guest does not know the %s request (type %u): is its haywire module older than this haywire?",
				hwi_request_name(a->type), a->type);
	case HW_ST_UNSUPPORTED:	/* 1.4 */
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"the guest's companion does not support the %s request (the eBPF companion has no cameras; load the haywire module for them)",
				hwi_request_name(a->type));
	case HW_ST_BAD_ARG:
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"the guest rejected the %s request: an argument is out of range (pid %d, camera %u, address 0x%llx, length %llu)",
				hwi_request_name(a->type), a->pid, a->arg,
				(unsigned long long)a->addr,
				(unsigned long long)a->len);
	case HW_ST_NO_PROCESS:
		return hwi_fail(err, HAYWIRE_E_NOT_FOUND,
				"no process with PID %d in the guest (or it has no memory: a kernel thread, a zombie, or it exited)",
				a->pid);
	case HW_ST_UNMAPPED:
		/* READ: value[0] says where, if the guest says. */
		if (a->type == HW_REQ_READ && h->value[0] >= a->addr &&
		    h->value[0] - a->addr < a->len)
			return hwi_fail(err, HAYWIRE_E_UNMAPPED,
					"PID %d: address 0x%llx is not mapped or not readable in the guest",
					a->pid,
					(unsigned long long)h->value[0]);
		return hwi_fail(err, HAYWIRE_E_UNMAPPED,
				"PID %d: address range 0x%llx-0x%llx is not (all) mapped and readable in the guest",
				a->pid, (unsigned long long)a->addr,
				(unsigned long long)(a->addr + a->len));
	case HW_ST_NOT_RESIDENT:
	case HW_ST_UNSAFE:
		return read_refused(a, h, err);
	case HW_ST_REFUSED:
		return hwi_fail(err, HAYWIRE_E_REFUSED,
				"the guest refused to read process memory: its haywire module has allow_read=0 (load it with allow_read=1, or write 1 to /sys/module/haywire/parameters/allow_read; haywire-bpf: start it with --allow-read)");
	case HW_ST_BUSY:
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the guest was busy with the %s request (a process's mmap_lock was contended, or a snapshot could not be published); try again",
				hwi_request_name(a->type));
	case HW_ST_EXPIRED:
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the guest expired the %s answer's continuation before it was complete; try again",
				hwi_request_name(a->type));
	case HW_ST_NO_MEMORY:
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the guest ran out of memory for the %s request; try again or ask for less",
				hwi_request_name(a->type));
	case HW_ST_TORN:
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the guest found the %s request mixed with another writer's (its check did not match) every time it was sent; try again",
				hwi_request_name(a->type));
	case HW_ST_WRONG_BEACON:
		return hwi_fail(err, HAYWIRE_E_GONE,
				"the %s request reached a haywire module other than the one found (it was reloaded, or the guest rebooted)",
				hwi_request_name(a->type));
	}
	return bad_answer(a, err, "unknown status %u", h->status);
}

/*
 * Runs are merged as the host's walk merges them, whichever way the guest
 * cut its answer into parts: each is held until the next one shows whether
 * it continues, then kept for fn (called once the slot is released).
 */
static int give_run(struct hwi_answer *a, const struct haywire_xlate_run *run,
		    struct haywire_error *err)
{
	if (run && hwi_run_extends(&a->held, run)) {
		a->held.len += run->len;
		return 0;
	}
	if (a->held.len) {
		if (a->nruns == a->runs_cap) {
			size_t cap = a->runs_cap ? a->runs_cap * 2 : 256;
			struct haywire_xlate_run *p;

			p = realloc(a->runs, cap * sizeof(*p));
			if (!p)
				return hwi_fail(err, HAYWIRE_E_NOMEM,
						"out of memory");
			a->runs = p;
			a->runs_cap = cap;
		}
		a->runs[a->nruns++] = a->held;
	}
	if (run)
		a->held = *run;
	return 0;
}

/*
 * Where a run may start and end: on a boundary of its pages, except at the
 * ends of the range asked for (which may fall inside a page); a present
 * run's guest-physical address has the page offset of its virtual one.
 */
static const char *misaligned(const struct hwi_answer *a,
			      const struct haywire_xlate_run *run)
{
	uint64_t size = run->page_shift ? 1ULL << run->page_shift : a->page;
	uint64_t end = a->addr + a->len;

	if (size < a->page)
		size = a->page;
	if ((run->va != a->addr && run->va % size) ||
	    (run->va + run->len != end && (run->va + run->len) % size))
		return "does not start and end on its pages' boundaries";
	if (run->state == HAYWIRE_PAGE_PRESENT &&
	    (run->gpa ^ run->va) & (size - 1))
		return "maps to a guest-physical address with another offset in its page";
	return NULL;
}

static int take_runs(struct hwi_answer *a, const struct hw_response *h,
		     const unsigned char *data, struct haywire_error *err)
{
	uint64_t end = a->addr + a->len;
	uint32_t i, n;
	int rc;

	if (h->data_len % sizeof(struct hw_page_run))
		return bad_answer(a, err, "%u bytes of data are not whole page runs",
				  h->data_len);
	n = h->data_len / sizeof(struct hw_page_run);
	if (h->cursor && n == 0)
		return bad_answer(a, err, "a continued answer without runs");
	for (i = 0; i < n; i++) {
		struct haywire_xlate_run run;
		struct hw_page_run raw;
		const char *why;

		memcpy(&raw, data + (size_t)i * sizeof(raw), sizeof(raw));
		why = hwi_decode_run(&raw, &run);
		if (!why && run.va == a->next_va && run.len <= end - run.va)
			why = misaligned(a, &run);
		if (why)
			return bad_answer(a, err, "run %llu (0x%llx+0x%llx) %s",
					  (unsigned long long)a->done,
					  (unsigned long long)raw.va,
					  (unsigned long long)raw.len, why);
		if (run.va != a->next_va || run.len > end - run.va)
			return bad_answer(a, err, "run %llu (0x%llx+0x%llx) is not the next piece of 0x%llx-0x%llx (expected 0x%llx)",
					  (unsigned long long)a->done,
					  (unsigned long long)run.va,
					  (unsigned long long)run.len,
					  (unsigned long long)a->addr,
					  (unsigned long long)end,
					  (unsigned long long)a->next_va);
		a->next_va += run.len;
		a->done++;
		rc = give_run(a, &run, err);
		if (rc)
			return rc;
	}
	if (h->cursor)
		return 0;
	if (a->next_va != end)
		return bad_answer(a, err, "the runs end at 0x%llx, not at 0x%llx",
				  (unsigned long long)a->next_va,
				  (unsigned long long)end);
	return give_run(a, NULL, err);	/* the last one */
}

/* PROC_DETAIL: gather the bytes, decoded once complete. */
static int gather(struct hwi_answer *a, const struct hw_response *h,
		  const unsigned char *data, struct haywire_error *err)
{
	size_t cap = a->buf_cap ? a->buf_cap : 4096;
	unsigned char *p;

	if (h->data_len > DETAIL_MAX - a->buf_len)
		return bad_answer(a, err, "more than %zu bytes", DETAIL_MAX);
	while (cap < a->buf_len + h->data_len)
		cap *= 2;
	if (cap != a->buf_cap) {
		p = realloc(a->buf, cap);
		if (!p)
			return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		a->buf = p;
		a->buf_cap = cap;
	}
	memcpy(a->buf + a->buf_len, data, h->data_len);
	a->buf_len += h->data_len;
	a->done = a->buf_len;
	return 0;
}

static int take_bytes(struct hwi_answer *a, const struct hw_response *h,
		      const unsigned char *data, struct haywire_error *err)
{
	if (h->cursor && h->data_len == 0)
		return bad_answer(a, err, "a continued answer without data");
	if (a->type == HW_REQ_PROC_DETAIL)
		return gather(a, h, data, err);
	if (h->data_len > a->len - a->done)
		return bad_answer(a, err, "%llu + %u bytes exceed the %llu asked for",
				  (unsigned long long)a->done, h->data_len,
				  (unsigned long long)a->len);
	if (h->data_len)
		memcpy(a->dst + a->done, data, h->data_len);
	a->done += h->data_len;
	if (!h->cursor && a->done != a->len)
		return bad_answer(a, err, "it ends after %llu of %llu bytes",
				  (unsigned long long)a->done,
				  (unsigned long long)a->len);
	return 0;
}

static int echo_differs(const struct hwi_answer *a, struct haywire_error *err,
			const char *field, uint64_t echoed, uint64_t asked)
{
	return bad_answer(a, err, "it echoes %s 0x%llx, not the 0x%llx asked (a question mixed with another client's, or a guest that does not answer what it was asked)",
			  field, (unsigned long long)echoed,
			  (unsigned long long)asked);
}

int hwi_answer_echo(const struct hwi_answer *a, const struct hw_request *q,
		    const struct hw_response *h, struct haywire_error *err)
{
	if (h->type != q->type)
		return echo_differs(a, err, "type", h->type, q->type);
	if (h->pid != q->pid)
		return echo_differs(a, err, "pid", (uint32_t)h->pid,
				    (uint32_t)q->pid);
	if (h->arg != q->arg)
		return echo_differs(a, err, "arg", h->arg, q->arg);
	if (h->addr != q->addr)
		return echo_differs(a, err, "addr", h->addr, q->addr);
	if (h->len != q->len)
		return echo_differs(a, err, "len", h->len, q->len);
	if (h->cursor_asked != q->cursor)
		return echo_differs(a, err, "cursor", h->cursor_asked,
				    q->cursor);
	if (h->nonce != q->nonce)
		return echo_differs(a, err, "beacon nonce", h->nonce,
				    q->nonce);
	return 0;
}

int hwi_answer_chunk(struct hwi_answer *a, const struct hw_request *q,
		     const struct hw_response *h, const void *data,
		     uint64_t *cursor, struct haywire_error *err)
{
	uint64_t done;
	int rc;

	*cursor = 0;
	rc = hwi_answer_echo(a, q, h, err);
	if (rc)
		return rc;
	if (h->status != HW_ST_OK)
		return status_error(a, h, err);
	if (h->total) {
		if (a->total && h->total != a->total)
			return bad_answer(a, err, "its total changed from %llu to %llu",
					  (unsigned long long)a->total,
					  (unsigned long long)h->total);
		a->total = h->total;
	}
	memcpy(a->value, h->value, sizeof(a->value));
	a->chunks++;
	switch (a->type) {
	case HW_REQ_TRANSLATE:
		rc = take_runs(a, h, data, err);
		break;
	case HW_REQ_READ:
	case HW_REQ_PROC_DETAIL:
		rc = take_bytes(a, h, data, err);
		break;
	default:
		if (h->data_len || h->cursor)
			return bad_answer(a, err, "%u bytes of data%s where none are due",
					  h->data_len,
					  h->cursor ? " and a cursor" : "");
		if (a->type == HW_REQ_REFRESH && h->value[0] == 0)
			return bad_answer(a, err, "generation 0");
		return 0;
	}
	if (rc)
		return rc;
	done = a->done - a->window_base;
	if (a->total && done > a->total)
		return bad_answer(a, err, "%llu %s so far, but its total is %llu",
				  (unsigned long long)done,
				  a->type == HW_REQ_TRANSLATE ? "runs" : "bytes",
				  (unsigned long long)a->total);
	if (!h->cursor && a->total && done != a->total)
		return bad_answer(a, err, "it ends after %llu of its total %llu %s",
				  (unsigned long long)done,
				  (unsigned long long)a->total,
				  a->type == HW_REQ_TRANSLATE ? "runs" : "bytes");
	*cursor = h->cursor;
	return 0;
}

int hwi_decode_detail(const void *buf, size_t len, int32_t pid,
		      struct haywire_detail **out, struct haywire_error *err)
{
	struct hwi_answer ctx = { .type = HW_REQ_PROC_DETAIL };
	struct hw_proc_detail raw;
	struct haywire_detail *d;
	const char *cmdline, *cwd;
	char *strings;

	*out = NULL;
	if (len < sizeof(raw))
		return bad_answer(&ctx, err, "%zu bytes, less than the %zu of a process detail",
				  len, sizeof(raw));
	memcpy(&raw, buf, sizeof(raw));
	if (raw.pid != pid)
		return bad_answer(&ctx, err, "it is about PID %d, not %d",
				  raw.pid, pid);
	if (!raw.state || !strchr(STATE_LETTERS, raw.state))
		return bad_answer(&ctx, err, "state 0x%02x is not one of " STATE_LETTERS,
				  (unsigned char)raw.state);
	if (raw.nice < -20 || raw.nice > 19)
		return bad_answer(&ctx, err, "nice %d is outside -20..19",
				  raw.nice);
	if ((uint64_t)sizeof(raw) + raw.cmdline_len + raw.cwd_len != len)
		return bad_answer(&ctx, err, "%zu bytes, not %zu + %u (command line) + %u (directory)",
				  len, sizeof(raw), raw.cmdline_len,
				  raw.cwd_len);
	if (raw.cwd_len > HW_PATH_MAX)
		return bad_answer(&ctx, err, "a %u-byte working directory (the limit is %d)",
				  raw.cwd_len, HW_PATH_MAX);
	cmdline = (const char *)buf + sizeof(raw);
	cwd = cmdline + raw.cmdline_len;
	if (memchr(cwd, 0, raw.cwd_len))
		return bad_answer(&ctx, err, "the working directory contains a NUL byte");

	d = calloc(1, sizeof(*d) + raw.cmdline_len + 1 + raw.cwd_len + 1);
	if (!d)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	strings = (char *)(d + 1);
	memcpy(strings, cmdline, raw.cmdline_len);
	memcpy(strings + raw.cmdline_len + 1, cwd, raw.cwd_len);
	d->pid = raw.pid;
	d->flags = raw.flags;
	memcpy(d->uid, raw.uid, sizeof(d->uid));
	memcpy(d->gid, raw.gid, sizeof(d->gid));
	d->cap_effective = raw.cap_effective;
	d->cap_permitted = raw.cap_permitted;
	d->utime_ns = raw.utime_ns;
	d->stime_ns = raw.stime_ns;
	d->min_flt = raw.min_flt;
	d->maj_flt = raw.maj_flt;
	d->nvcsw = raw.nvcsw;
	d->nivcsw = raw.nivcsw;
	d->sig_pending = raw.sig_pending;
	d->sig_shared_pending = raw.sig_shared_pending;
	d->sig_blocked = raw.sig_blocked;
	d->sig_ignored = raw.sig_ignored;
	d->sig_caught = raw.sig_caught;
	d->threads = raw.threads;
	d->nice = raw.nice;
	d->policy = raw.policy;
	d->exit_signal = raw.exit_signal;
	d->state = raw.state;
	d->cmdline_len = raw.cmdline_len;
	d->cmdline = strings;
	d->cwd_len = raw.cwd_len;
	d->cwd = strings + raw.cmdline_len + 1;
	*out = d;
	return 0;
}

void haywire_detail_free(struct haywire_detail *detail)
{
	free(detail);
}
