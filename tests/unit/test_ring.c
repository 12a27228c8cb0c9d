// SPDX-License-Identifier: MIT
/*
 * The request client against a responder thread that plays the guest's
 * part of the wire protocol on a fixture RAM file: every request type,
 * continuation cursors, claim races between many threads, full rings,
 * lease expiry and renewal, dead owners, answers with another id or owner,
 * timeouts, a beacon that goes away, and answers that fail validation;
 * 1.2: questions mixed by a writer that lost its claim, live claims of
 * clients in another PID namespace, reboots during a request, echoes,
 * one deadline for all parts, run alignment, callbacks after release.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define PROCESS_A 1		/* processes the fake guest knows */
#define PROCESS_B 112
#define UNMAPPED_FROM 0x700000000000ULL	/* READ: UNMAPPED from here on */
#define CURSOR_TAG 0x4355525300000000ULL	/* "CURS" */
#define CMDLINE "prog\0--flag\0an argument\0"
#define CWD "/home/test"

/* How the fake guest misbehaves. */
enum mode {
	NORMAL,
	SILENT,			/* never answers */
	DELAY,			/* answers after delay_ms */
	OTHER_ID_FIRST,		/* an answer with another id, then ours */
	OTHER_OWNER_FIRST,	/* an answer with another owner, then ours */
	BUSY_ONCE,		/* status BUSY the first time */
	SPOIL,			/* answers spoiled by `spoil` */
	MIX_ONCE,		/* a stale writer changes the first request
				 * before the guest copies it */
	MIX_UNCHECKED,		/* the same, and the guest ignores check */
	MIX_ALWAYS,		/* every request changed */
};

enum spoil {
	BIG_DATA_LEN, TYPE_ECHO, RUN_GAP, READ_TOO_MUCH, UNKNOWN_STATUS,
	DETAIL_PID, NO_PROGRESS, ST_REFUSED, ST_NO_PROCESS, ST_EXPIRED,
	ST_UNMAPPED, ST_BAD_ARG, RUN_STATE, RUN_SHIFT, TOTAL_CHANGES,
	SHORT_READ, DATA_ON_PING, REFRESH_GEN0, DETAIL_STATE, DETAIL_LEN,
	RUN_PAST_END, ECHO_PID, ECHO_ARG, ECHO_ADDR, ECHO_LEN, ECHO_CURSOR,
	ECHO_NONCE, RUN_MISALIGNED, RUN_GPA_OFFSET, RUN_OVERLAP,
	RUN_DECREASING,
};

struct guest {
	struct image im;
	unsigned char *base;		/* the RAM file, read-write */
	uint64_t size;
	pthread_t thread, ticker;
	int stop;
	uint32_t last[HW_RING_SLOTS];
	unsigned long answered;
	/* behaviour, set by the test while it is idle */
	enum mode mode;
	enum spoil spoil;
	unsigned int delay_ms;
	unsigned int chunk;	/* READ/DETAIL bytes or TRANSLATE runs */
	bool refuse;
	unsigned int busy_sent;
	unsigned int mixed;	/* MIX_*: requests changed */
	unsigned long torn;	/* TORN answers */
	int dead;		/* reset: no heartbeat, no answers */
	uint64_t heartbeat;
};

static struct guest g;

static unsigned char *logical(uint64_t off)
{
	return g.base + g.im.lay.index_offset + off;
}

static struct hw_index *index_page(void)
{
	return (struct hw_index *)logical(0);
}

static struct hw_request *request_slot(unsigned int i)
{
	return (struct hw_request *)logical(g.im.lay.requests_off +
					    i * sizeof(struct hw_request));
}

static unsigned char *response_slot(unsigned int i)
{
	return logical(g.im.lay.responses_off +
		       (uint64_t)i * HW_RESPONSE_SLOT_SIZE);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the fake guest's address space -------------------------------------- */

/* Page p: p % 4 of 0, 1 present, 2 swapped, 3 unmapped. */
static void fake_page(uint64_t va, struct hw_page_run *r)
{
	uint64_t p = va >> 12;

	memset(r, 0, sizeof(*r));
	r->va = va;
	r->len = 4096 - (va & 4095);
	switch (p % 4) {
	case 0:
	case 1:
		r->state = HW_PAGE_PRESENT;
		r->page_shift = 12;
		r->gpa = 0x100000ULL + (p % 0x1000) * 4096 + (va & 4095);
		r->flags = HW_RF_WRITE | HW_RF_USER;
		break;
	case 2:
		r->state = HW_PAGE_SWAPPED;
		r->page_shift = 12;
		break;
	default:
		r->state = HW_PAGE_UNMAPPED;
	}
}

static uint8_t fake_byte(uint64_t va)
{
	return (uint8_t)(va ^ (va >> 8) ^ 0x5a);
}

static size_t fake_detail(int32_t pid, unsigned char *out)
{
	struct hw_proc_detail d;

	memset(&d, 0, sizeof(d));
	d.pid = pid;
	d.state = 'S';
	d.uid[0] = 1; d.uid[1] = 2; d.uid[2] = 3; d.uid[3] = 4;
	d.gid[0] = 5; d.gid[1] = 6; d.gid[2] = 7; d.gid[3] = 8;
	d.cap_effective = 0x1ff;
	d.utime_ns = 123000000;
	d.stime_ns = 456000000;
	d.min_flt = 1000;
	d.maj_flt = 2;
	d.sig_blocked = 1ULL << 9;
	d.sig_caught = 1ULL << 16;
	d.threads = 3;
	d.nice = -5;
	d.exit_signal = 17;
	d.cmdline_len = sizeof(CMDLINE) - 1;
	d.cwd_len = sizeof(CWD) - 1;
	memcpy(out, &d, sizeof(d));
	memcpy(out + sizeof(d), CMDLINE, d.cmdline_len);
	memcpy(out + sizeof(d) + d.cmdline_len, CWD, d.cwd_len);
	return sizeof(d) + d.cmdline_len + d.cwd_len;
}

/* Publish a new generation with the seq protocol. */
static uint64_t fake_refresh(void)
{
	struct hw_index *ix = index_page();
	uint64_t gen;

	__atomic_fetch_add(&ix->seq, 1, __ATOMIC_ACQ_REL);
	gen = ++ix->generation;
	__atomic_fetch_add(&ix->seq, 1, __ATOMIC_RELEASE);
	return gen;
}

/* ---- answering ------------------------------------------------------------ */

static bool known_pid(int32_t pid)
{
	return pid == PROCESS_A || pid == PROCESS_B;
}

/* The answer the protocol calls for; data goes to data. */
static void compute(const struct hw_request *rq, struct hw_response *h,
		    unsigned char *data)
{
	unsigned int chunk = g.chunk ? g.chunk : 1000;
	uint64_t at = rq->cursor & 0xffffffffULL, n, i;
	static unsigned char detail[1024];
	size_t detail_len;

	memset(h, 0, sizeof(*h));
	h->id = rq->id;
	h->owner = rq->owner;
	h->type = rq->type;
	h->pid = rq->pid;
	h->arg = rq->arg;
	h->addr = rq->addr;
	h->len = rq->len;
	h->cursor_asked = rq->cursor;
	h->nonce = index_page()->nonce;
	if (g.mode != MIX_UNCHECKED && rq->check &&
	    rq->check != hw_request_check(rq)) {
		h->status = HW_ST_TORN;
		__atomic_fetch_add(&g.torn, 1, __ATOMIC_RELAXED);
		return;
	}
	if (rq->nonce && rq->nonce != index_page()->nonce) {
		h->status = HW_ST_WRONG_BEACON;
		return;
	}
	if (rq->cursor && (rq->cursor & ~0xffffffffULL) != CURSOR_TAG) {
		h->status = HW_ST_EXPIRED;
		return;
	}
	switch (rq->type) {
	case HW_REQ_PING:
		h->value[0] = mono_ns();
		h->value[1] = index_page()->generation;
		return;
	case HW_REQ_REFRESH:
		h->value[0] = fake_refresh();
		return;
	case HW_REQ_CAMERA_SET:
	case HW_REQ_CAMERA_CLEAR:
		if (rq->arg >= HW_MAX_CAMERAS) {
			h->status = HW_ST_BAD_ARG;
			return;
		}
		h->value[0] = index_page()->generation + 1;
		return;
	case HW_REQ_PROC_DETAIL:
		if (!known_pid(rq->pid)) {
			h->status = HW_ST_NO_PROCESS;
			return;
		}
		detail_len = fake_detail(rq->pid, detail);
		n = detail_len - at < chunk ? detail_len - at : chunk;
		memcpy(data, detail + at, n);
		h->data_len = (uint32_t)n;
		h->total = detail_len;
		if (at + n < detail_len)
			h->cursor = CURSOR_TAG | (at + n);
		return;
	case HW_REQ_TRANSLATE:
		if (!known_pid(rq->pid)) {
			h->status = HW_ST_NO_PROCESS;
			return;
		}
		/* at: bytes of the range done; one run per page. */
		for (i = 0; i < chunk && at < rq->len; i++) {
			struct hw_page_run r;

			fake_page(rq->addr + at, &r);
			if (r.len > rq->len - at)
				r.len = rq->len - at;
			memcpy(data + i * sizeof(r), &r, sizeof(r));
			at += r.len;
		}
		h->data_len = (uint32_t)(i * sizeof(struct hw_page_run));
		if (at < rq->len)
			h->cursor = CURSOR_TAG | at;
		return;
	case HW_REQ_READ:
		if (g.refuse) {
			h->status = HW_ST_REFUSED;
			return;
		}
		if (!known_pid(rq->pid)) {
			h->status = HW_ST_NO_PROCESS;
			return;
		}
		if (rq->addr + rq->len > UNMAPPED_FROM) {
			h->status = HW_ST_UNMAPPED;
			return;
		}
		n = rq->len - at < chunk ? rq->len - at : chunk;
		for (i = 0; i < n; i++)
			data[i] = fake_byte(rq->addr + at + i);
		h->data_len = (uint32_t)n;
		h->total = rq->len;
		if (at + n < rq->len)
			h->cursor = CURSOR_TAG | (at + n);
		return;
	}
	h->status = HW_ST_BAD_TYPE;
}

static void spoil(struct hw_response *h, unsigned char *data)
{
	struct hw_page_run r;

	switch (g.spoil) {
	case BIG_DATA_LEN: h->data_len = HW_RESPONSE_SLOT_SIZE; break;
	case TYPE_ECHO: h->type++; break;
	case RUN_GAP:
		memcpy(&r, data + sizeof(r), sizeof(r));
		r.va += 4096;
		memcpy(data + sizeof(r), &r, sizeof(r));
		break;
	case RUN_PAST_END:
		memcpy(&r, data, sizeof(r));
		r.len += 1ULL << 30;
		memcpy(data, &r, sizeof(r));
		break;
	case READ_TOO_MUCH: h->data_len += 10; break;
	case UNKNOWN_STATUS: h->status = 99; break;
	case DETAIL_PID: data[0] ^= 1; break;
	case NO_PROGRESS: h->data_len = 0; h->cursor = CURSOR_TAG; break;
	case ST_REFUSED: h->status = HW_ST_REFUSED; break;
	case ST_NO_PROCESS: h->status = HW_ST_NO_PROCESS; break;
	case ST_EXPIRED: h->status = HW_ST_EXPIRED; break;
	case ST_UNMAPPED: h->status = HW_ST_UNMAPPED; break;
	case ST_BAD_ARG: h->status = HW_ST_BAD_ARG; break;
	case RUN_STATE: data[24] = 5; break;
	case RUN_SHIFT: data[25] = 13; break;
	case TOTAL_CHANGES: h->total += h->cursor ? 0 : 1; break;
	case SHORT_READ: h->cursor = 0; break;
	case DATA_ON_PING: h->data_len = 4; break;
	case REFRESH_GEN0: h->value[0] = 0; break;
	case DETAIL_STATE:
		data[offsetof(struct hw_proc_detail, state)] = 'Q';
		break;
	case DETAIL_LEN: data[offsetof(struct hw_proc_detail, cwd_len)]++;
		break;
	case ECHO_PID: h->pid++; break;
	case ECHO_ARG: h->arg++; break;
	case ECHO_ADDR: h->addr += 4096; break;
	case ECHO_LEN: h->len--; break;
	case ECHO_CURSOR: h->cursor_asked ^= 1; break;
	case ECHO_NONCE: h->nonce++; break;
	case RUN_MISALIGNED:	/* contiguous, but cut inside a page */
		memcpy(&r, data, sizeof(r));
		r.len -= 0x100;
		memcpy(data, &r, sizeof(r));
		memcpy(&r, data + sizeof(r), sizeof(r));
		r.va -= 0x100;
		r.len += 0x100;
		memcpy(data + sizeof(r), &r, sizeof(r));
		break;
	case RUN_GPA_OFFSET:
		memcpy(&r, data, sizeof(r));
		r.gpa += 0x10;
		memcpy(data, &r, sizeof(r));
		break;
	case RUN_OVERLAP:
		memcpy(&r, data + sizeof(r), sizeof(r));
		r.va -= 0x1000;
		memcpy(data + sizeof(r), &r, sizeof(r));
		break;
	case RUN_DECREASING: {
		struct hw_page_run r0;

		memcpy(&r0, data, sizeof(r0));
		memcpy(&r, data + sizeof(r), sizeof(r));
		memcpy(data, &r, sizeof(r));
		memcpy(data + sizeof(r), &r0, sizeof(r0));
		break;
	}
	}
}

/* Write an answer: data and header first, seq last (release). */
static void publish(unsigned int slot, const struct hw_response *h,
		    const unsigned char *data, uint32_t seq)
{
	unsigned char *resp = response_slot(slot);
	uint32_t len = h->data_len < HW_RESPONSE_DATA_MAX ? h->data_len :
		       HW_RESPONSE_DATA_MAX;

	memcpy(resp + sizeof(*h), data, len);
	memcpy(resp + 4, (const unsigned char *)h + 4,
	       offsetof(struct hw_response, heartbeat) - 4);
	__atomic_store_n((uint32_t *)resp, seq, __ATOMIC_RELEASE);
}

static void answer(unsigned int slot, const struct hw_request *rq)
{
	static unsigned char data[HW_RESPONSE_DATA_MAX];
	struct hw_response h;

	compute(rq, &h, data);
	switch (g.mode) {
	case SILENT:
		return;
	case DELAY:
		sleep_ms(g.delay_ms);
		break;
	case OTHER_ID_FIRST:
	case OTHER_OWNER_FIRST: {
		struct hw_response other = h;

		if (g.mode == OTHER_ID_FIRST)
			other.id++;
		else
			other.owner ^= 0x10;
		other.value[1] = 666;
		publish(slot, &other, data, rq->seq);
		sleep_ms(100);
		break;
	}
	case BUSY_ONCE:
		if (!g.busy_sent++) {
			memset(&h, 0, sizeof(h));
			h.id = rq->id;
			h.owner = rq->owner;
			h.type = rq->type;
			h.status = HW_ST_BUSY;
		}
		break;
	case SPOIL:
		spoil(&h, data);
		break;
	default:
		break;
	}
	publish(slot, &h, data, rq->seq);
	__atomic_fetch_add(&g.answered, 1, __ATOMIC_RELAXED);
}

/* A writer that lost its claim changes a field of the request. */
static void mix(struct hw_request *live)
{
	if (g.mode != MIX_ONCE && g.mode != MIX_UNCHECKED &&
	    g.mode != MIX_ALWAYS)
		return;
	if (g.mixed++ && g.mode != MIX_ALWAYS)
		return;
	__atomic_store_n(&live->addr, live->addr + 0x1000, __ATOMIC_RELAXED);
}

/* Poll every slot; answer each new seq once, if it stays put during the
 * copy (as the protocol says the guest does). */
static void *responder(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < HW_RING_SLOTS; i++)
		((struct hw_response *)response_slot(i))->nonce =
			index_page()->nonce;
	while (!__atomic_load_n(&g.stop, __ATOMIC_ACQUIRE)) {
		bool any = false;

		if (__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE)) {
			sleep_ms(1);
			continue;
		}
		for (i = 0; i < HW_RING_SLOTS; i++) {
			struct hw_request *live = request_slot(i), rq;
			uint32_t seq = __atomic_load_n(&live->seq,
						       __ATOMIC_ACQUIRE);

			if (seq == g.last[i])
				continue;
			mix(live);
			memcpy(&rq, live, sizeof(rq));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&live->seq, __ATOMIC_ACQUIRE) != seq ||
			    rq.seq != seq)
				continue;
			g.last[i] = seq;
			answer(i, &rq);
			any = true;
		}
		if (!any)
			sched_yield();
	}
	return NULL;
}

/*
 * The heartbeat, as the module's request thread bumps it when it looks at
 * the ring (every few ms at most; an answer here may take long on purpose,
 * which the module's never do).
 */
static void *ticker(void *arg)
{
	unsigned int i;

	(void)arg;
	while (!__atomic_load_n(&g.stop, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE)) {
			g.heartbeat++;
			for (i = 0; i < HW_RING_SLOTS; i++)
				__atomic_store_n(&((struct hw_response *)
						   response_slot(i))->heartbeat,
						 g.heartbeat, __ATOMIC_RELAXED);
		}
		sleep_ms(1);
	}
	return NULL;
}

static void guest_start(const struct fixture *f)
{
	memset(&g, 0, sizeof(g));
	open_image(&g.im, f);
	g.size = haywire_mem_size(g.im.mem);
	g.base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      g.im.fd, 0);
	if (g.base == MAP_FAILED) {
		printf("# mmap: %s\n", strerror(errno));
		exit(1);
	}
	pthread_create(&g.thread, NULL, responder, NULL);
	pthread_create(&g.ticker, NULL, ticker, NULL);
}

static void guest_stop(void)
{
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	pthread_join(g.thread, NULL);
	pthread_join(g.ticker, NULL);
	munmap(g.base, g.size);
	close_image(&g.im);
}

static void fixture_rings(struct fixture *f)
{
	fixture_defaults(f);
	f->rings = true;
	f->interval_ms = 600000;
}

/* A client of its own (mem, beacon, client) on the guest's file. */
struct host {
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	struct haywire_client *c;
};

static bool host_open(struct host *h, unsigned int timeout_ms,
		      unsigned int lease_ms, struct haywire_error *err)
{
	struct haywire_client_opts opts = { timeout_ms, lease_ms, 0 };

	memset(h, 0, sizeof(*h));
	h->mem = open_fd(g.im.fd);
	h->b = haywire_discover(h->mem, NULL, err);
	if (h->b)
		h->c = haywire_client_open(h->b, &opts, err);
	return h->c != NULL;
}

static void host_close(struct host *h)
{
	haywire_client_close(h->c);
	haywire_beacon_free(h->b);
	haywire_mem_close(h->mem);
}

static bool all_slots_free(void)
{
	unsigned int i;

	for (i = 0; i < HW_RING_SLOTS; i++)
		if (HW_CLAIM_TOKEN(__atomic_load_n(&request_slot(i)->owner,
						   __ATOMIC_ACQUIRE)))
			return false;
	return true;
}

/* Every slot free, or claimed by a holder that promised its lock and no
 * longer holds it (a claimant takes it at once). */
static bool all_slots_takeable(void)
{
	char path[64];
	unsigned int i;
	bool ok = true;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", g.im.fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	for (i = 0; i < HW_RING_SLOTS && fd >= 0; i++) {
		uint64_t w = __atomic_load_n(&request_slot(i)->owner,
					     __ATOMIC_ACQUIRE);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_len = 1 };

		if (!HW_CLAIM_TOKEN(w))
			continue;
		fl.l_start = (off_t)((uint8_t *)request_slot(i) - g.base);
		if (!(w & HW_CLAIM_LOCKED) ||
		    fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK)
			ok = false;
	}
	if (fd >= 0)
		close(fd);
	return ok && fd >= 0;
}

/* ---- checks of answers ---------------------------------------------------- */

#define RUNS_MAX 12000

struct runs {
	unsigned int n;
	struct haywire_xlate_run r[RUNS_MAX];
};

static int keep_run(void *arg, const struct haywire_xlate_run *run)
{
	struct runs *rs = arg;

	if (rs->n < sizeof(rs->r) / sizeof(rs->r[0]))
		rs->r[rs->n] = *run;
	rs->n++;
	return 0;
}

/*
 * The fake guest's pages of [va, va + len), one run per page, merged where
 * the host's walk would merge them: the same state, page size and flags,
 * and for pages in RAM, contiguous frames.
 */
static unsigned int expected_runs(uint64_t va, uint64_t len,
				  struct hw_page_run *out, unsigned int max)
{
	unsigned int n = 0;
	uint64_t at = 0;

	while (at < len) {
		struct hw_page_run r, *last = n ? &out[n - 1] : NULL;

		fake_page(va + at, &r);
		if (r.len > len - at)
			r.len = len - at;
		at += r.len;
		if (last && last->state == r.state &&
		    last->page_shift == r.page_shift &&
		    last->flags == r.flags && last->va + last->len == r.va &&
		    (r.state != HW_PAGE_PRESENT ||
		     last->gpa + last->len == r.gpa))
			last->len += r.len;
		else if (n < max)
			out[n++] = r;
	}
	return n;
}

/* The runs the client gave are the fake guest's, merged. */
static int runs_problems(const struct runs *rs, uint64_t va, uint64_t len)
{
	static __thread struct hw_page_run want[RUNS_MAX];
	unsigned int n = expected_runs(va, len, want, RUNS_MAX), i, bad = 0;

	for (i = 0; i < n && i < rs->n; i++)
		if (rs->r[i].va != want[i].va || rs->r[i].len != want[i].len ||
		    (unsigned int)rs->r[i].state != want[i].state ||
		    rs->r[i].page_shift != want[i].page_shift ||
		    (want[i].state == HW_PAGE_PRESENT &&
		     (rs->r[i].gpa != want[i].gpa ||
		      rs->r[i].flags != want[i].flags)))
			bad++;
	return bad + (n != rs->n);
}

static int read_problems(const unsigned char *buf, uint64_t va, size_t len)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < len; i++)
		bad += buf[i] != fake_byte(va + i);
	return bad;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_every_request(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct haywire_detail *d;
	struct fixture f;
	struct host h;
	static struct runs rs;
	unsigned char buf[10000];
	uint64_t gen, gen2, first;

	fixture_rings(&f);
	guest_start(&f);
	g.chunk = 7;	/* everything long comes in pieces */
	CHECK(host_open(&h, 2000, 0, &err));
	CHECK(haywire_client_token(h.c) >> 32 != 0);

	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(ping.generation, 1);
	CHECK(ping.guest_mono_ns > 0);

	CHECK_RC(haywire_refresh(h.c, &gen, &err), 0, &err);
	CHECK_RC(haywire_refresh(h.c, &gen2, &err), 0, &err);
	CHECK_U64(gen, 2);
	CHECK_U64(gen2, 3);

	CHECK_RC(haywire_proc_detail(h.c, PROCESS_B, &d, &err), 0, &err);
	if (d) {
		CHECK_U64(d->pid, PROCESS_B);
		CHECK(d->state == 'S');
		CHECK_U64(d->uid[3], 4);
		CHECK_U64(d->gid[0], 5);
		CHECK_U64(d->utime_ns, 123000000);
		CHECK_U64(d->sig_blocked, 1ULL << 9);
		CHECK_U64(d->nice, (uint64_t)-5);
		CHECK_U64(d->cmdline_len, sizeof(CMDLINE) - 1);
		CHECK(!memcmp(d->cmdline, CMDLINE, sizeof(CMDLINE)));
		CHECK_STR(d->cwd, CWD);
	}
	haywire_detail_free(d);
	CHECK_RC(haywire_proc_detail(h.c, 4242, &d, &err), HAYWIRE_E_NOT_FOUND,
		 &err);
	CHECK_MSG(&err, "no process with PID 4242");

	CHECK_RC(haywire_camera_set(h.c, 1, PROCESS_A, &first, &err), 0, &err);
	CHECK_U64(first, gen2 + 1);
	CHECK_RC(haywire_camera_clear(h.c, 1, &err), 0, &err);
	CHECK_RC(haywire_camera_set(h.c, 4, PROCESS_A, &first, &err),
		 HAYWIRE_E_INVALID, &err);

	/* 100 pages, in pieces of 7 runs (one per page), from the middle of
	 * a page: the client merges them, across pieces too. */
	rs.n = 0;
	CHECK_RC(haywire_guest_translate(h.c, PROCESS_A, 0x400800, 100 * 4096,
					 keep_run, &rs, &err), 0, &err);
	CHECK_U64(rs.n, 76);	/* of 101 pieces of pages */
	CHECK_U64(runs_problems(&rs, 0x400800, 100 * 4096), 0);
	/* Present pages p (p % 4 == 0) and p + 1 are one run. */
	CHECK_U64(rs.r[0].va, 0x400800);
	CHECK_U64(rs.r[0].len, 0x1800);
	CHECK_U64(rs.r[1].state, HAYWIRE_PAGE_SWAPPED);

	g.chunk = 1000;
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10003, buf, sizeof(buf),
				    &err), 0, &err);
	CHECK_U64(read_problems(buf, 0x10003, sizeof(buf)), 0);
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, UNMAPPED_FROM - 4, buf, 8,
				    &err), HAYWIRE_E_UNMAPPED, &err);
	g.refuse = true;
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, 8, &err),
		 HAYWIRE_E_REFUSED, &err);
	CHECK_MSG(&err, "allow_read=1");
	g.refuse = false;

	/* Caller mistakes never reach the guest. */
	CHECK_RC(haywire_guest_read(h.c, 0, 0x1000, buf, 8, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_guest_read(h.c, 1, UINT64_MAX - 2, buf, 8, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_guest_translate(h.c, 1, 0x1000, 0, keep_run, &rs,
					 &err), HAYWIRE_E_INVALID, &err);
	CHECK(all_slots_free());
	host_close(&h);
	guest_stop();
}

/* Many threads, more than there are slots, each with its own client. */
#define RACE_THREADS 24
#define RACE_REQUESTS 150

struct racer {
	unsigned int seed;
	int failures;
	unsigned long requests;
	char first_failure[2 * HAYWIRE_MSG_MAX];
};

static void racer_fail(struct racer *r, const char *what,
		       const struct haywire_error *err)
{
	if (!r->failures++)
		snprintf(r->first_failure, sizeof(r->first_failure), "%s: %s",
			 what, err ? err->msg : "wrong answer");
}

static void *race(void *arg)
{
	struct racer *r = arg;
	struct haywire_error err;
	struct runs *rs = malloc(sizeof(*rs));
	unsigned char buf[3000];
	uint64_t last_gen = 0;
	struct host h;
	unsigned int i;

	if (!rs || !host_open(&h, 10000, 0, &err)) {
		racer_fail(r, "open", rs ? &err : NULL);
		free(rs);
		return NULL;
	}
	for (i = 0; i < RACE_REQUESTS; i++) {
		unsigned int kind = rand_r(&r->seed) % 5;
		uint64_t va = ((uint64_t)rand_r(&r->seed) << 12) +
			      rand_r(&r->seed) % 4096;
		size_t len = 1 + rand_r(&r->seed) % sizeof(buf);
		int32_t pid = rand_r(&r->seed) % 2 ? PROCESS_A : PROCESS_B;
		struct haywire_ping ping;
		struct haywire_detail *d;
		uint64_t gen;

		r->requests++;
		switch (kind) {
		case 0:
			if (haywire_ping(h.c, &ping, &err))
				racer_fail(r, "ping", &err);
			break;
		case 1:
			if (haywire_refresh(h.c, &gen, &err))
				racer_fail(r, "refresh", &err);
			else if (gen <= last_gen)
				racer_fail(r, "refresh went back", NULL);
			last_gen = gen;
			break;
		case 2:
			if (haywire_proc_detail(h.c, pid, &d, &err))
				racer_fail(r, "detail", &err);
			else if (d->pid != pid)
				racer_fail(r, "detail of another pid", NULL);
			haywire_detail_free(d);
			break;
		case 3:
			rs->n = 0;
			if (haywire_guest_translate(h.c, pid, va, len * 8,
						    keep_run, rs, &err))
				racer_fail(r, "translate", &err);
			else if (runs_problems(rs, va, len * 8))
				racer_fail(r, "translate runs", NULL);
			break;
		default:
			if (haywire_guest_read(h.c, pid, va, buf, len, &err))
				racer_fail(r, "read", &err);
			else if (read_problems(buf, va, len))
				racer_fail(r, "read bytes", NULL);
		}
	}
	host_close(&h);
	free(rs);
	return NULL;
}

static void test_claim_races(void)
{
	pthread_t t[RACE_THREADS];
	struct racer r[RACE_THREADS];
	struct fixture f;
	unsigned long total = 0;
	unsigned int i;

	fixture_rings(&f);
	guest_start(&f);
	g.chunk = 600;
	memset(r, 0, sizeof(r));
	for (i = 0; i < RACE_THREADS; i++) {
		r[i].seed = 1000 + i;
		pthread_create(&t[i], NULL, race, &r[i]);
	}
	for (i = 0; i < RACE_THREADS; i++) {
		pthread_join(t[i], NULL);
		total += r[i].requests;
		CHECK_U64(r[i].failures, 0);
		if (r[i].failures)
			printf("#   thread %u: %d failures, first: %s\n", i,
			       r[i].failures, r[i].first_failure);
	}
	CHECK_U64(total, RACE_THREADS * RACE_REQUESTS);
	CHECK(all_slots_free());
	printf("#   %lu requests from %d threads, %lu answers (with pieces)\n",
	       total, RACE_THREADS, g.answered);
	guest_stop();
}

/* Hold slots as other live clients would: our pid, a future lease. */
static void hold(unsigned int slot, uint64_t owner, uint64_t lease_ns)
{
	request_slot(slot)->lease_ns = lease_ns;
	__atomic_store_n(&request_slot(slot)->owner, owner, __ATOMIC_RELEASE);
}

static uint64_t live_token(unsigned int n)
{
	return (uint64_t)getpid() << 32 | (0x1000 + n);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* The OFD lock a 1.2 client holds on a slot's byte of the RAM file, taken
 * through a descriptor of our own (another open file description). */
static int lock_slot_as_other(unsigned int slot)
{
	char path[64];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_len = 1 };
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", g.im.fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	fl.l_start = (off_t)((uint8_t *)request_slot(slot) - g.base);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		printf("# cannot lock slot %u: %s\n", slot, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The free word a release leaves after claim word w: the next claim's
 * generation, no token. */
static uint64_t freed_after(uint64_t w)
{
	return ((w & HW_CLAIM_GEN_MASK) + 1) & HW_CLAIM_GEN_MASK;
}

static void test_full_expired_dead(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct fixture f;
	struct host h;
	uint64_t later = mono_ns() + 3600 * 1000000000ULL, t0;
	uint64_t dead = (uint64_t)dead_pid() << 32 | 7;
	uint64_t locked = live_token(9) | HW_CLAIM_LOCKED | 41;
	unsigned int i;
	int lock_fd;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 300, 0, &err));
	for (i = 0; i < HW_RING_SLOTS; i++)
		hold(i, live_token(i), later);
	t0 = mono_ns();
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_FULL, &err);
	CHECK_MSG(&err, "ring is full");
	CHECK(mono_ns() - t0 >= 300 * 1000000ULL);	/* it waited */

	/* One lease has passed: that slot is taken over, used, freed, with
	 * the next claim generation kept in the free word. */
	hold(5, live_token(5) | 77, mono_ns() - 1);
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(request_slot(5)->owner, freed_after(live_token(5) | 77));

	/*
	 * A holder whose process is gone but whose lease runs: a pid says
	 * nothing across PID namespaces, so the claim is honoured.
	 */
	hold(5, live_token(5), later);
	hold(9, dead, later);
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_FULL, &err);
	CHECK_U64(request_slot(9)->owner, dead);

	/* A holder that promised its lock and still holds it: alive. */
	lock_fd = lock_slot_as_other(9);
	CHECK(lock_fd >= 0);
	hold(9, locked, later);
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_FULL, &err);
	CHECK_U64(request_slot(9)->owner, locked);
	/* Its lock gone (closed, or its process died): taken at once. */
	close(lock_fd);
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(request_slot(9)->owner, freed_after(locked));
	for (i = 0; i < HW_RING_SLOTS; i++)
		if (i != 9)
			CHECK(HW_CLAIM_TOKEN(request_slot(i)->owner));

	/* A word without a token is free, whatever its generation. */
	hold(9, 0x1234, later);
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(request_slot(9)->owner, freed_after(0x1234));
	for (i = 0; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);
	host_close(&h);
	guest_stop();
}

struct watch {
	uint64_t token;		/* the client watched, in slot 0 */
	int expired;		/* samples with its lease in the past */
	int samples;
	int stop;
};

static void *watch_lease(void *arg)
{
	struct watch *w = arg;
	struct hw_request *r = request_slot(0);

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if ((__atomic_load_n(&r->owner, __ATOMIC_ACQUIRE) &
		     ~0xffffffffULL) == w->token) {
			w->samples++;
			if (__atomic_load_n(&r->lease_ns, __ATOMIC_RELAXED) <
			    mono_ns())
				w->expired++;
		}
		sleep_ms(5);
	}
	return NULL;
}

struct pinger {
	struct host *h;
	struct haywire_ping ping;
	struct haywire_error err;
	int rc;
};

static void *ping_thread(void *arg)
{
	struct pinger *p = arg;

	p->rc = haywire_ping(p->h->c, &p->ping, &p->err);
	return NULL;
}

/* A 100 ms lease held through a 700 ms wait: nobody else gets the slot. */
static void test_lease_renewed(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct watch w = { 0 };
	struct pinger p = { 0 };
	struct fixture f;
	struct host h, other;
	pthread_t watcher, first;
	uint64_t later = mono_ns() + 3600 * 1000000000ULL;
	unsigned int i;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 3000, 100, &err));
	CHECK(host_open(&other, 300, 100, &err));
	for (i = 1; i < HW_RING_SLOTS; i++)
		hold(i, live_token(i), later);
	g.mode = DELAY;
	g.delay_ms = 700;
	w.token = haywire_client_token(h.c);
	p.h = &h;
	pthread_create(&watcher, NULL, watch_lease, &w);
	pthread_create(&first, NULL, ping_thread, &p);
	sleep_ms(200);		/* two leases' worth */
	CHECK_RC(haywire_ping(other.c, &ping, &err), HAYWIRE_E_FULL, &err);
	pthread_join(first, NULL);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(watcher, NULL);
	CHECK_RC(p.rc, 0, &p.err);
	CHECK(w.samples >= 50);
	CHECK_U64(w.expired, 0);
	g.mode = NORMAL;
	for (i = 1; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);
	host_close(&other);
	host_close(&h);
	guest_stop();
}

/* The lease is renewed through a chain of continued answers too. */
static void test_lease_renewed_across_chunks(void)
{
	struct haywire_error err;
	struct watch w = { 0 };
	struct fixture f;
	struct host h;
	pthread_t watcher;
	static unsigned char buf[12000];

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 3000, 100, &err));
	g.mode = DELAY;
	g.delay_ms = 25;	/* 12 pieces: three leases' worth */
	g.chunk = 1000;
	w.token = haywire_client_token(h.c);
	/* Take slot 0: hold the others. */
	for (unsigned int i = 1; i < HW_RING_SLOTS; i++)
		hold(i, live_token(i), mono_ns() + 3600 * 1000000000ULL);
	pthread_create(&watcher, NULL, watch_lease, &w);
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, sizeof(buf),
				    &err), 0, &err);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(watcher, NULL);
	CHECK_U64(read_problems(buf, 0x10000, sizeof(buf)), 0);
	CHECK(w.samples >= 20);
	CHECK_U64(w.expired, 0);
	g.mode = NORMAL;
	for (unsigned int i = 1; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);
	host_close(&h);
	guest_stop();
}

static void test_no_use_after_fork(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct fixture f;
	struct host h;
	int status = -1;
	pid_t child;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 1000, 0, &err));
	child = fork();
	if (child == 0)
		_exit(haywire_ping(h.c, &ping, &err) == HAYWIRE_E_INVALID &&
		      strstr(err.msg, "after fork") ? 0 : 1);
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	host_close(&h);
	guest_stop();
}

/* Answers with the right seq but another id or owner are not ours. */
static void test_other_answers_ignored(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct fixture f;
	struct host h;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 3000, 0, &err));
	g.mode = OTHER_ID_FIRST;
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(ping.generation, 1);		/* not the other's 666 */
	g.mode = OTHER_OWNER_FIRST;
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(ping.generation, 1);
	/* A BUSY status is asked again. */
	g.mode = BUSY_ONCE;
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	CHECK_U64(g.busy_sent, 2);
	g.mode = NORMAL;
	host_close(&h);
	guest_stop();
}

static void *steal_slot(void *arg)
{
	(void)arg;
	sleep_ms(100);
	__atomic_store_n(&request_slot(0)->owner, live_token(99),
			 __ATOMIC_RELEASE);
	return NULL;
}

static void test_timeout_lost_gone(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct fixture f;
	struct host h;
	unsigned char before[4096];
	uint64_t later = mono_ns() + 3600 * 1000000000ULL, t0;
	pthread_t thief;
	unsigned int i;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 200, 0, &err));
	g.mode = SILENT;
	t0 = mono_ns();
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_TIMEOUT, &err);
	CHECK_MSG(&err, "did not answer the ping request within 200 ms");
	CHECK(mono_ns() - t0 >= 200 * 1000000ULL);
	/* Released after the timeout, or (no heartbeat seen just then, on a
	 * loaded machine) left with its lock dropped: taken at once. */
	CHECK(all_slots_takeable());
	g.mode = NORMAL;
	for (i = 0; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);

	/* Another client takes the slot over while we wait. */
	for (i = 1; i < HW_RING_SLOTS; i++)
		hold(i, live_token(i), later);
	g.mode = DELAY;
	g.delay_ms = 150;
	pthread_create(&thief, NULL, steal_slot, NULL);
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_BUSY, &err);
	CHECK_MSG(&err, "took over request slot 0");
	pthread_join(thief, NULL);
	CHECK_U64(request_slot(0)->owner, live_token(99));	/* left alone */
	for (i = 0; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);
	g.mode = NORMAL;
	sleep_ms(200);		/* the delayed answer lands */

	/* Unloaded, then reloaded: the request pages are not touched. */
	memcpy(before, request_slot(0), sizeof(before));
	index_page()->magic = HW_MAGIC_GONE;
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_GONE, &err);
	CHECK_MSG(&err, "unloaded");
	index_page()->magic = HW_MAGIC;
	index_page()->nonce++;
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_GONE, &err);
	CHECK_MSG(&err, "reloaded");
	CHECK(!memcmp(before, request_slot(0), sizeof(before)));
	index_page()->nonce--;
	CHECK_RC(haywire_ping(h.c, &ping, &err), 0, &err);
	host_close(&h);
	guest_stop();
}


/* ---- 1.2: mixed questions, namespaces, reboots, deadlines, windows ------- */

/*
 * A writer that lost its claim changes the question after the client
 * wrote it: the guest finds the check wrong and does nothing (TORN), the
 * client asks again. A guest that ignores the check answers the mixed
 * question, and its echo shows it.
 */
static void test_mixed_requests(void)
{
	struct haywire_error err;
	unsigned char buf[3000];
	struct fixture f;
	struct host h;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 2000, 0, &err));
	g.mode = MIX_ONCE;
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, sizeof(buf),
				    &err), 0, &err);
	CHECK_U64(read_problems(buf, 0x10000, sizeof(buf)), 0);
	CHECK_U64(g.torn, 1);	/* the mixed one: nothing done, asked again */
	g.mode = MIX_UNCHECKED;
	g.mixed = 0;
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, sizeof(buf),
				    &err), HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "echoes addr 0x11000, not the 0x10000 asked");
	/* Mixed every time: asked a bounded number of times, then busy. */
	g.mode = MIX_ALWAYS;
	g.torn = 0;
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, sizeof(buf),
				    &err), HAYWIRE_E_BUSY, &err);
	CHECK_MSG(&err, "mixed with another writer's");
	CHECK_U64(g.torn, 9);
	g.mode = NORMAL;
	CHECK(all_slots_free());
	host_close(&h);
	guest_stop();
}

/* A stale writer: stores into any slot's fields now and then, sometimes
 * bumping seq, as a client that lost its claim would. */
struct stale {
	int stop;
	unsigned long writes;
};

static void *stale_writer(void *arg)
{
	struct stale *st = arg;
	unsigned int seed = 7;

	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		struct hw_request *r = request_slot(rand_r(&seed) %
						    HW_RING_SLOTS);

		switch (rand_r(&seed) % 4) {
		case 0:
			__atomic_store_n(&r->addr, (uint64_t)rand_r(&seed) << 12,
					 __ATOMIC_RELAXED);
			break;
		case 1:
			__atomic_store_n(&r->pid, PROCESS_B, __ATOMIC_RELAXED);
			break;
		case 2:
			__atomic_store_n(&r->len, 1 + rand_r(&seed) % 3000,
					 __ATOMIC_RELAXED);
			break;
		default:
			__atomic_fetch_add(&r->seq, 1, __ATOMIC_RELEASE);
		}
		st->writes++;
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
	return NULL;
}

#define STALE_THREADS 4
#define STALE_REQUESTS 300

struct stale_client {
	unsigned int seed;
	unsigned long ok, busy, wrong, other;
	char first[HAYWIRE_MSG_MAX];
};

static void *stale_client_run(void *arg)
{
	struct stale_client *sc = arg;
	struct haywire_error err;
	unsigned char buf[3000];
	struct runs *rs = malloc(sizeof(*rs));
	struct host h;
	unsigned int i;

	if (!rs || !host_open(&h, 10000, 0, &err)) {
		sc->other++;
		free(rs);
		return NULL;
	}
	for (i = 0; i < STALE_REQUESTS; i++) {
		uint64_t va = ((uint64_t)rand_r(&sc->seed) << 12) + 0x123;
		size_t len = 1 + rand_r(&sc->seed) % sizeof(buf);
		int32_t pid = rand_r(&sc->seed) % 2 ? PROCESS_A : PROCESS_B;
		int rc;
		bool right;

		if (i % 2) {
			rc = haywire_guest_read(h.c, pid, va, buf, len, &err);
			right = !rc && !read_problems(buf, va, len);
		} else {
			rs->n = 0;
			rc = haywire_guest_translate(h.c, pid, va, len * 8,
						     keep_run, rs, &err);
			right = !rc && !runs_problems(rs, va, len * 8);
		}
		if (right) {
			sc->ok++;
		} else if (!rc) {
			sc->wrong++;
		} else if (rc == HAYWIRE_E_BUSY) {
			sc->busy++;	/* mixed every time, or slot lost */
		} else {
			if (!sc->other++)
				snprintf(sc->first, sizeof(sc->first), "%s",
					 err.msg);
		}
	}
	host_close(&h);
	free(rs);
	return NULL;
}

/* Clients and a stale writer on one ring: never a wrong answer. */
static void test_stale_writer_race(void)
{
	pthread_t t[STALE_THREADS], w;
	struct stale_client sc[STALE_THREADS];
	struct stale st = { 0 };
	unsigned long ok = 0, busy = 0;
	struct fixture f;
	unsigned int i;

	fixture_rings(&f);
	guest_start(&f);
	g.chunk = 300;
	memset(sc, 0, sizeof(sc));
	pthread_create(&w, NULL, stale_writer, &st);
	for (i = 0; i < STALE_THREADS; i++) {
		sc[i].seed = 500 + i;
		pthread_create(&t[i], NULL, stale_client_run, &sc[i]);
	}
	for (i = 0; i < STALE_THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_U64(sc[i].wrong, 0);
		CHECK_U64(sc[i].other, 0);
		if (sc[i].other)
			printf("#   thread %u: %s\n", i, sc[i].first);
		ok += sc[i].ok;
		busy += sc[i].busy;
	}
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	pthread_join(w, NULL);
	CHECK(ok >= STALE_THREADS * STALE_REQUESTS / 2);
	printf("#   %lu right, %lu busy, 0 wrong; %lu stale writes, %lu torn answers\n",
	       ok, busy, st.writes, g.torn);
	guest_stop();
}

/*
 * A client in a PID namespace of its own (its pid means nothing here)
 * holds a slot through a long request: its claim is not taken while its
 * lease runs, and it gets its answer.
 */
static void test_pid_namespace(void)
{
	struct haywire_error err;
	struct haywire_ping ping;
	struct fixture f;
	struct host h;
	uint64_t later = mono_ns() + 3600 * 1000000000ULL, t0;
	unsigned int i;
	int status = -1;
	pid_t child;

	fixture_rings(&f);
	guest_start(&f);
	for (i = 1; i < HW_RING_SLOTS; i++)
		hold(i, live_token(i), later);
	g.mode = DELAY;
	g.delay_ms = 1500;
	child = fork();
	if (child == 0) {
		pid_t inner;

		int faked = 10;

		/* Root in a test machine may; else the pid is faked below. */
		if (unshare(CLONE_NEWPID) == 0) {
			faked = 0;
			inner = fork();
			if (inner > 0) {
				waitpid(inner, &status, 0);
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 9);
			}
			if (inner < 0)
				_exit(8);
		}
		/* In its namespace this is pid 1, or some pid: either way
		 * nothing the other clients can ask kill() about. */
		if (!host_open(&h, 5000, 200, &err))
			_exit(2);
		_exit(haywire_ping(h.c, &ping, &err) ? 3 : faked);
	}
	t0 = mono_ns();
	while (!HW_CLAIM_TOKEN(request_slot(0)->owner) &&
	       mono_ns() - t0 < 5000 * 1000000ULL)
		sleep_ms(5);
	CHECK(HW_CLAIM_TOKEN(request_slot(0)->owner));
	CHECK(host_open(&h, 600, 200, &err));
	/* 600 ms: three of its 200 ms leases, renewed meanwhile. */
	CHECK_RC(haywire_ping(h.c, &ping, &err), HAYWIRE_E_FULL, &err);
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
				    WEXITSTATUS(status) == 10));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 10)
		printf("#   no new PID namespace here (not root?): a client whose pid means nothing to kill() instead\n");
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		printf("#   the namespaced client exited %d\n",
		       WEXITSTATUS(status));
	else
		printf("#   the holder ran as pid 1 of a PID namespace of its own\n");
	g.mode = NORMAL;
	for (i = 1; i < HW_RING_SLOTS; i++)
		hold(i, 0, 0);
	/* Its release may be skipped when the fake guest's heartbeat is late
	 * under load; the claim it leaves is then takeable at once. */
	CHECK(all_slots_takeable());
	host_close(&h);
	guest_stop();
}

struct reboot {
	unsigned int after_ms;
	int how;		/* 0 reset: heartbeat stops; 1 new index */
	unsigned char page[4096];	/* the request page after the reboot */
	int done;
};

enum { RESET, NEW_INDEX, FOREIGN_HEARTBEAT };

static void *rebooter(void *arg)
{
	struct reboot *rb = arg;
	struct hw_index *ix = index_page();
	unsigned int i;

	sleep_ms(rb->after_ms);
	switch (rb->how) {
	case RESET:		/* no module runs any more */
		__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
		/* A write the host had begun before may still land (its
		 * heartbeat seen less than 50 ms ago; a loaded machine). */
		sleep_ms(200);
		break;
	case NEW_INDEX:		/* a new kernel's index where the old was */
		__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
		ix->nonce ^= 0x5a5a;
		ix->self_gpa += 2 * MIB;
		sleep_ms(50);	/* a store past its check may still land */
		break;
	default:		/* new owners of the response page write there */
		__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
		sleep_ms(200);	/* answers and stores in flight land */
		for (i = 0; i < HW_RING_SLOTS; i++)
			((struct hw_response *)response_slot(i))->nonce = 0;
		for (i = 0; i < 50; i++) {
			unsigned int k;

			for (k = 0; k < HW_RING_SLOTS; k++)
				((struct hw_response *)response_slot(k))->heartbeat++;
			if (i == 0)
				memcpy(rb->page, request_slot(0), 4096);
			sleep_ms(10);
		}
		__atomic_store_n(&rb->done, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	memcpy(rb->page, request_slot(0), 4096);
	__atomic_store_n(&rb->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The guest reboots while a long read is in progress: the client writes
 * nothing into the old request page after that and fails with one clear
 * error.
 */
static void test_reboot_mid_request(void)
{
	static const struct {
		int how;
		enum haywire_code code;
		const char *text;
	} cases[] = {
		{ RESET, HAYWIRE_E_TIMEOUT, "module stopped" },
		{ NEW_INDEX, HAYWIRE_E_GONE, "rebooted" },
		{ FOREIGN_HEARTBEAT, HAYWIRE_E_TIMEOUT, "module stopped" },
	};
	static unsigned char buf[40000];
	struct haywire_error err;
	struct reboot rb;
	struct fixture f;
	struct host h;
	pthread_t t;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_rings(&f);
		guest_start(&f);
		CHECK(host_open(&h, 1500, 200, &err));
		g.mode = DELAY;
		g.delay_ms = 20;
		g.chunk = 1000;		/* 40 parts, 800 ms */
		memset(&rb, 0, sizeof(rb));
		rb.after_ms = 150;
		rb.how = cases[i].how;
		pthread_create(&t, NULL, rebooter, &rb);
		CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf,
					    sizeof(buf), &err), cases[i].code,
			 &err);
		CHECK_MSG(&err, cases[i].text);
		pthread_join(t, NULL);
		CHECK(rb.done);
		/* Not a byte written since. */
		CHECK(!memcmp(rb.page, request_slot(0), 4096));
		for (unsigned int k = 0; k < 4096; k++)
			if (rb.page[k] != ((unsigned char *)request_slot(0))[k]) {
				printf("#   case %u: request page byte %u changed\n",
				       i, k);
				break;
			}
		g.mode = NORMAL;
		host_close(&h);
		guest_stop();
	}
}

/* --timeout bounds the whole answer, not each part. */
static void test_global_deadline(void)
{
	static unsigned char buf[12000];
	struct haywire_error err;
	struct fixture f;
	struct host h;
	uint64_t t0, took;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 250, 0, &err));
	g.mode = DELAY;
	g.delay_ms = 40;
	g.chunk = 1000;		/* 12 parts of 40 ms: 480 ms in all */
	t0 = mono_ns();
	CHECK_RC(haywire_guest_read(h.c, PROCESS_A, 0x10000, buf, sizeof(buf),
				    &err), HAYWIRE_E_TIMEOUT, &err);
	took = (mono_ns() - t0) / 1000000ULL;
	CHECK(took >= 250);
	CHECK(took < 2000);	/* generous: the bound is the deadline */
	g.mode = NORMAL;
	sleep_ms(100);		/* the delayed answer lands */
	host_close(&h);
	guest_stop();
}

/* Runs go to fn only while no slot is held, across several claims. */
struct released_check {
	struct runs *rs;
	unsigned long while_held;
};

static int run_after_release(void *arg, const struct haywire_xlate_run *run)
{
	struct released_check *rc = arg;

	if (!all_slots_free())
		rc->while_held++;
	return keep_run(rc->rs, run);
}

static void test_windows_after_release(void)
{
	static struct runs rs;
	struct released_check rc = { &rs, 0 };
	struct haywire_error err;
	struct fixture f;
	struct host h;
	uint64_t len = 4000 * 4096ULL;	/* 3000 runs of 4000 pages */

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 10000, 0, &err));
	g.chunk = 1000;
	rs.n = 0;
	CHECK_RC(haywire_guest_translate(h.c, PROCESS_A, 0x400000, 3 * len,
					 run_after_release, &rc, &err), 0,
		 &err);
	CHECK_U64(rs.n, 9000);		/* two windows and a bit */
	CHECK_U64(runs_problems(&rs, 0x400000, 3 * len), 0);
	CHECK_U64(rc.while_held, 0);
	host_close(&h);
	guest_stop();
}

/* A 1.1 module: no ring commands, snapshots still fine. */
static void test_module_too_old(void)
{
	struct haywire_error err;
	struct haywire_beacon *b;
	struct fixture f;
	struct image im;

	fixture_rings(&f);
	f.sets[f.nsets++] = "version_minor=1";
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b && !haywire_client_open(b, NULL, &err));
	CHECK_U64(err.code, HAYWIRE_E_VERSION);
	CHECK_MSG(&err, "too old");
	CHECK_MSG(&err, "snapshots can still be read");
	haywire_beacon_free(b);
	close_image(&im);
}

enum call { PING, REFRESH, DETAIL, TRANSLATE, READ };

struct spoiled {
	enum spoil spoil;
	enum call call;
	enum haywire_code code;
	const char *text;
};

static const struct spoiled spoiled[] = {
	{ BIG_DATA_LEN, READ, HAYWIRE_E_CORRUPT, "in a 32768-byte response slot" },
	{ TYPE_ECHO, PING, HAYWIRE_E_CORRUPT, "echoes type 0x2" },
	{ ECHO_PID, DETAIL, HAYWIRE_E_CORRUPT, "echoes pid 0x2" },
	{ ECHO_ARG, PING, HAYWIRE_E_CORRUPT, "echoes arg 0x1" },
	{ ECHO_ADDR, READ, HAYWIRE_E_CORRUPT, "echoes addr 0x401000" },
	{ ECHO_LEN, TRANSLATE, HAYWIRE_E_CORRUPT, "echoes len 0x3ffff" },
	{ ECHO_CURSOR, READ, HAYWIRE_E_CORRUPT, "echoes cursor 0x1" },
	{ ECHO_NONCE, PING, HAYWIRE_E_CORRUPT, "echoes beacon nonce" },
	{ RUN_MISALIGNED, TRANSLATE, HAYWIRE_E_CORRUPT, "pages' boundaries" },
	{ RUN_GPA_OFFSET, TRANSLATE, HAYWIRE_E_CORRUPT, "another offset" },
	{ RUN_OVERLAP, TRANSLATE, HAYWIRE_E_CORRUPT, "is not the next piece" },
	{ RUN_DECREASING, TRANSLATE, HAYWIRE_E_CORRUPT, "is not the next piece" },
	{ RUN_GAP, TRANSLATE, HAYWIRE_E_CORRUPT, "is not the next piece" },
	{ RUN_PAST_END, TRANSLATE, HAYWIRE_E_CORRUPT, "is not the next piece" },
	{ RUN_STATE, TRANSLATE, HAYWIRE_E_CORRUPT, "unknown state" },
	{ RUN_SHIFT, TRANSLATE, HAYWIRE_E_CORRUPT, "page size" },
	{ READ_TOO_MUCH, READ, HAYWIRE_E_CORRUPT, "exceed the" },
	{ SHORT_READ, READ, HAYWIRE_E_CORRUPT, "ends after" },
	{ TOTAL_CHANGES, READ, HAYWIRE_E_CORRUPT, "total changed" },
	{ NO_PROGRESS, READ, HAYWIRE_E_CORRUPT, "without data" },
	{ NO_PROGRESS, TRANSLATE, HAYWIRE_E_CORRUPT, "without runs" },
	{ UNKNOWN_STATUS, PING, HAYWIRE_E_CORRUPT, "unknown status 99" },
	{ DATA_ON_PING, PING, HAYWIRE_E_CORRUPT, "where none are due" },
	{ REFRESH_GEN0, REFRESH, HAYWIRE_E_CORRUPT, "generation 0" },
	{ DETAIL_PID, DETAIL, HAYWIRE_E_CORRUPT, "about PID" },
	{ DETAIL_STATE, DETAIL, HAYWIRE_E_CORRUPT, "state 0x51" },
	{ DETAIL_LEN, DETAIL, HAYWIRE_E_CORRUPT, "(directory)" },
	{ ST_REFUSED, READ, HAYWIRE_E_REFUSED, "allow_read" },
	{ ST_NO_PROCESS, TRANSLATE, HAYWIRE_E_NOT_FOUND, "no process" },
	{ ST_EXPIRED, READ, HAYWIRE_E_BUSY, "expired" },
	{ ST_UNMAPPED, READ, HAYWIRE_E_UNMAPPED, "not (all) mapped" },
	{ ST_BAD_ARG, TRANSLATE, HAYWIRE_E_INVALID, "out of range" },
};

static int call(struct host *h, enum call c, struct haywire_error *err)
{
	static struct runs rs;
	struct haywire_detail *d = NULL;
	struct haywire_ping ping;
	unsigned char buf[5000];
	uint64_t gen;
	int rc;

	switch (c) {
	case PING:
		return haywire_ping(h->c, &ping, err);
	case REFRESH:
		return haywire_refresh(h->c, &gen, err);
	case DETAIL:
		rc = haywire_proc_detail(h->c, PROCESS_A, &d, err);
		haywire_detail_free(d);
		return rc;
	case TRANSLATE:
		rs.n = 0;
		return haywire_guest_translate(h->c, PROCESS_A, 0x400000,
					       64 * 4096, keep_run, &rs, err);
	default:
		return haywire_guest_read(h->c, PROCESS_A, 0x400000, buf,
					  sizeof(buf), err);
	}
}

static void test_spoiled_answers(void)
{
	struct haywire_error err;
	struct fixture f;
	struct host h;
	size_t i;

	fixture_rings(&f);
	guest_start(&f);
	CHECK(host_open(&h, 2000, 0, &err));
	g.chunk = 1000;	/* reads and translations in pieces */
	for (i = 0; i < sizeof(spoiled) / sizeof(spoiled[0]); i++) {
		const struct spoiled *s = &spoiled[i];

		g.spoil = s->spoil;
		g.mode = SPOIL;
		CHECK_RC(call(&h, s->call, &err), s->code, &err);
		if (err.code == s->code)
			CHECK_MSG(&err, s->text);
		g.mode = NORMAL;
		/* And the ring still works. */
		CHECK_RC(call(&h, PING, &err), 0, &err);
	}
	CHECK(all_slots_free());
	host_close(&h);
	guest_stop();
}

/* The ring sections themselves, as the snapshot reader validates them. */
static void test_ring_layout(void)
{
	static char sets[4][64];
	struct haywire_ring_layout ring;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct fixture f;
	struct image im;
	struct fixture_layout lay;
	unsigned int i;
	const struct {
		const char *field;
		const char *text;
	} cases[] = {
		{ "sections[4].offset", "not whole pages" },
		{ "sections[5].count", "request and 8 response slots" },
		{ "sections[4].count", "17 request" },
		{ "sections[3].offset", "shares the request pages" },
	};
	uint64_t values[4];

	fixture_rings(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	if (b) {
		CHECK_RC(haywire_read_ring_layout(b, &ring, &err), 0, &err);
		CHECK_U64(ring.slots, HW_RING_SLOTS);
		CHECK_U64(ring.pages_offset, im.lay.index_offset + 4096);
		CHECK_U64(ring.pages_len, 4096);
		CHECK_U64(ring.response_offset[3], im.lay.index_offset + 8192 +
			  3 * HW_RESPONSE_SLOT_SIZE);
	}
	haywire_beacon_free(b);
	lay = im.lay;
	close_image(&im);

	values[0] = lay.requests_off + 8;
	values[1] = 8;
	values[2] = 17;
	values[3] = lay.requests_off + 2048;
	for (i = 0; i < 4; i++) {
		fixture_rings(&f);
		snprintf(sets[i], sizeof(sets[i]), "%s=%llu", cases[i].field,
			 (unsigned long long)values[i]);
		f.sets[f.nsets++] = sets[i];
		open_image(&im, &f);
		b = haywire_discover(im.mem, NULL, &err);
		CHECK(!b);
		if (!b) {
			CHECK_U64(err.code, HAYWIRE_E_CORRUPT);
			CHECK_MSG(&err, cases[i].text);
		}
		haywire_beacon_free(b);
		close_image(&im);
	}

	/* A 1.0 beacon: no rings. */
	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b && !haywire_client_open(b, NULL, &err));
	CHECK_U64(err.code, HAYWIRE_E_VERSION);
	CHECK_MSG(&err, "no request rings");
	haywire_beacon_free(b);
	close_image(&im);
}

/* A file that cannot be written: sealed against writes. */
static void test_not_writable(void)
{
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_mem *mem;
	struct fixture f;
	struct fixture_layout lay;
	char msg[256];
	int fd = memfd_create("haywire-sealed", MFD_CLOEXEC |
			      MFD_ALLOW_SEALING);

	fixture_rings(&f);
	CHECK(fd >= 0 && !fixture_write(&f, fd, &lay, msg, sizeof(msg)));
	CHECK(!fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
		     F_SEAL_GROW));
	mem = open_fd(fd);
	b = haywire_discover(mem, NULL, &err);
	CHECK(b && !haywire_client_open(b, NULL, &err));
	CHECK_U64(err.code, HAYWIRE_E_FILE);
	CHECK_MSG(&err, "writable");
	haywire_beacon_free(b);
	haywire_mem_close(mem);
	close(fd);
}

struct camera_case {
	const char *sets[2];
	const char *text;	/* NULL: reads fine */
};

/*
 * Default fixture with two cameras: camera 0 watches pid 1 (VMAs 0-7,
 * runs 0-9), camera 1 pid 112. VMA j % 3: present; present + swapped;
 * unmapped.
 */
static const struct camera_case camera_cases[] = {
	{ { "run[1].len=0x2000" }, "is not the next page-aligned piece" },
	{ { "run[0].state=5" }, "unknown state" },
	{ { "run[0].page_shift=13" }, "page size" },
	{ { "run[0].gpa=0x1000100" }, "page-aligned" },
	{ { "camera[0].present_pages=99" }, "but its VMAs hold" },
	{ { "cvma[0].present_pages=5" }, "it says 5 and 0" },
	{ { "cvma[1].run_first=1000" }, "outside the" },
	{ { "cvma[2].run_first=0" }, "overlap the previous" },
	{ { "cvma[1].start=0x555500000000" }, "not after the VMA before it" },
	{ { "camera[0].pid=0" }, "camera 0: pid 0" },
	{ { "camera[0].vma_count=1000" }, "camera 0: pid 1" },
	{ { "camera[0].flags=3" }, "flags 0x3" },
	{ { "sections[4].count=5" }, "camera count 5" },
	{ { "cvma[7].run_count=0" }, "its runs cover up to 0x7ffc00200000" },
	/* Truncated: VMAs left out, so the totals may be more. */
	{ { "camera[0].flags=9", "camera[0].present_pages=99" }, NULL },
	{ { "camera[0].flags=9", "camera[0].present_pages=1" }, "but its VMAs hold" },
	/* A camera that is off: whatever else it holds means nothing. */
	{ { "camera[0].flags=0", "camera[0].pid=-5" }, NULL },
};

static void test_cameras(void)
{
	struct haywire_cameras *c;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct fixture f;
	struct image im;
	size_t i, k;

	fixture_defaults(&f);
	f.cameras = 2;
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK_RC(haywire_read_cameras(b, 0, &c, &err), 0, &err);
	if (c) {
		CHECK_U64(c->count, 4);
		CHECK_U64(c->selected, (uint64_t)-1);
		CHECK_U64(c->cams[0].pid, 1);
		CHECK_U64(c->cams[1].pid, 112);
		CHECK_U64(c->cams[2].flags, 0);
		CHECK_U64(c->vma_count, 0);
	}
	haywire_cameras_free(c);
	CHECK_RC(haywire_read_cameras(b, 112, &c, &err), 0, &err);
	if (c) {
		uint64_t present = 0, swapped = 0;

		CHECK_U64(c->selected, 1);
		CHECK_U64(c->vma_count, 8);
		CHECK_U64(c->run_count, 10);
		for (i = 0; i < c->vma_count; i++) {
			const struct haywire_camera_vma *v = &c->vmas[i];
			uint64_t at = v->start;

			for (k = 0; k < v->run_count; k++) {
				const struct haywire_xlate_run *r =
					&c->runs[v->run_first + k];

				CHECK_U64(r->va, at);
				at += r->len;
				present += r->state == HAYWIRE_PAGE_PRESENT ?
					   r->len / 4096 : 0;
				swapped += r->state == HAYWIRE_PAGE_SWAPPED ?
					   r->len / 4096 : 0;
			}
			CHECK_U64(at, v->end);
		}
		CHECK_U64(present, c->cams[1].present_pages);
		CHECK_U64(swapped, c->cams[1].swapped_pages);
		CHECK(present > 0 && swapped > 0);
		CHECK_U64(c->runs[0].flags, HAYWIRE_XF_WRITE | HAYWIRE_XF_USER);
	}
	haywire_cameras_free(c);
	CHECK_RC(haywire_read_cameras(b, 999, &c, &err), 0, &err);
	CHECK(c && c->selected == -1);
	haywire_cameras_free(c);
	haywire_beacon_free(b);
	close_image(&im);

	for (i = 0; i < sizeof(camera_cases) / sizeof(camera_cases[0]); i++) {
		const struct camera_case *cc = &camera_cases[i];
		int failed_before = check_failed;

		fixture_defaults(&f);
		f.cameras = 2;
		for (k = 0; k < 2 && cc->sets[k]; k++)
			f.sets[f.nsets++] = cc->sets[k];
		open_image(&im, &f);
		b = haywire_discover(im.mem, NULL, &err);
		if (!b) {
			/* Section-table problems show up at discovery. */
			CHECK(cc->text != NULL);
			if (cc->text)
				CHECK_MSG(&err, cc->text);
			close_image(&im);
			continue;
		}
		if (cc->text) {
			CHECK_RC(haywire_read_cameras(b, 1, &c, &err),
				 HAYWIRE_E_CORRUPT, &err);
			CHECK_MSG(&err, cc->text);
		} else {
			CHECK_RC(haywire_read_cameras(b, 1, &c, &err), 0, &err);
		}
		if (check_failed > failed_before)
			printf("#   case %zu: %s\n", i, cc->sets[0]);
		haywire_cameras_free(c);
		haywire_beacon_free(b);
		close_image(&im);
	}

	/* A 1.0 beacon has no cameras. */
	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK_RC(haywire_read_cameras(b, 1, &c, &err), HAYWIRE_E_VERSION, &err);
	CHECK_MSG(&err, "no cameras");
	haywire_beacon_free(b);
	close_image(&im);
}

/* ---- host-side walks of a fixture process -------------------------------- */

static int first_run(void *arg, const struct haywire_xlate_run *run)
{
	struct runs *rs = arg;

	return keep_run(rs, run);
}

struct exiting {
	struct runs rs;
	unsigned char *proc0_pgd;	/* in the RAM file */
};

/* The process "exits" while its tables are walked: its record changes. */
static int exit_during_walk(void *arg, const struct haywire_xlate_run *run)
{
	struct exiting *x = arg;
	uint64_t other = 0x1800000;

	memcpy(x->proc0_pgd, &other, sizeof(other));
	return keep_run(&x->rs, run);
}

static void test_host_walks(void)
{
	struct haywire_error err;
	struct haywire_beacon *b;
	static struct runs rs;
	static struct exiting x;
	struct fixture f;
	struct image im;
	unsigned char *ram, buf[16];
	uint64_t pgd = 0x1000000;	/* pid 1's, in the fixture */

	fixture_defaults(&f);
	open_image(&im, &f);
	ram = mmap(NULL, haywire_mem_size(im.mem), PROT_READ | PROT_WRITE,
		   MAP_SHARED, im.fd, 0);
	CHECK(ram != MAP_FAILED);
	/* va 0x400000 -> GPA 0x1200000: PML4 0, PDPT 0, PD 2, PT 0. */
	*(uint64_t *)(ram + pgd) = 0x1100000 | 7;
	*(uint64_t *)(ram + 0x1100000) = 0x1101000 | 7;
	*(uint64_t *)(ram + 0x1101000 + 2 * 8) = 0x1102000 | 7;
	*(uint64_t *)(ram + 0x1102000) = 0x1200000 | 7;
	memcpy(ram + 0x1200000, "hello, haywire", 15);
	b = haywire_discover(im.mem, NULL, &err);

	rs.n = 0;
	CHECK_RC(haywire_host_translate(b, 1, 0x400000, 0x2000, first_run,
					&rs, &err), 0, &err);
	CHECK_U64(rs.n, 2);
	CHECK_U64(rs.r[0].gpa, 0x1200000);
	CHECK_U64(rs.r[0].state, HAYWIRE_PAGE_PRESENT);
	CHECK_U64(rs.r[1].state, HAYWIRE_PAGE_UNMAPPED);
	CHECK_RC(haywire_host_read(b, 1, 0x400000, buf, 15, &err), 0, &err);
	CHECK_STR((char *)buf, "hello, haywire");
	CHECK_RC(haywire_host_read(b, 1, 0x401000, buf, 4, &err),
		 HAYWIRE_E_UNMAPPED, &err);
	CHECK_MSG(&err, "PID 1: address 0x401000 is not mapped");
	CHECK_RC(haywire_host_read(b, 2, 0x400000, buf, 4, &err),
		 HAYWIRE_E_NOT_FOUND, &err);
	CHECK_MSG(&err, "no address space");
	CHECK_RC(haywire_host_read(b, 999, 0x400000, buf, 4, &err),
		 HAYWIRE_E_NOT_FOUND, &err);

	/* The walk's result is discarded if the process changed meanwhile. */
	memset(&x, 0, sizeof(x));
	x.proc0_pgd = ram + im.lay.index_offset + im.lay.procs_off +
		      offsetof(struct hw_proc, pgd);
	CHECK_RC(haywire_host_translate(b, 1, 0x400000, 0x1000,
					exit_during_walk, &x, &err),
		 HAYWIRE_E_NOT_FOUND, &err);
	CHECK_MSG(&err, "exited while its page tables were being walked");
	haywire_beacon_free(b);
	munmap(ram, haywire_mem_size(im.mem));
	close_image(&im);

	/* arm64: the walk starts (the fixture's pgd is below virt's RAM). */
	fixture_defaults(&f);
	f.machine = "virt";
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK_RC(haywire_host_read(b, 1, 0x400000, buf, 4, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "not in the RAM file");
	haywire_beacon_free(b);
	close_image(&im);
}

int main(void)
{
	RUN(test_every_request);
	RUN(test_claim_races);
	RUN(test_full_expired_dead);
	RUN(test_lease_renewed);
	RUN(test_lease_renewed_across_chunks);
	RUN(test_no_use_after_fork);
	RUN(test_other_answers_ignored);
	RUN(test_timeout_lost_gone);
	RUN(test_mixed_requests);
	RUN(test_stale_writer_race);
	RUN(test_pid_namespace);
	RUN(test_reboot_mid_request);
	RUN(test_global_deadline);
	RUN(test_windows_after_release);
	RUN(test_module_too_old);
	RUN(test_spoiled_answers);
	RUN(test_ring_layout);
	RUN(test_not_writable);
	RUN(test_cameras);
	RUN(test_host_walks);
	return check_done();
}
