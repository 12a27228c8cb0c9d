// SPDX-License-Identifier: MIT
/*
 * ringtest: the request rings of a real guest, driven from the host for the
 * VM tests (tests/vm/rings.py). PID is a process whose memory
 * [ADDR, ADDR + LEN) is mapped and does not change (hw-workload known).
 *
 *   ringtest stress  --mem FILE --pid PID --addr A --len L
 *                    [--clients 8] [--requests 1000]
 *       CLIENTS processes at once, each with its own client, each making
 *       REQUESTS mixed requests (ping, refresh, detail, translate and read
 *       through the guest, of random pieces of the range) and checking
 *       every answer against what it must be: the host-side walk and read
 *       of the same range, and the first detail.
 *   ringtest kill    --mem FILE --pid PID --addr A --len L
 *       SIGKILL a client while it holds a slot, hold every other slot as
 *       live clients, and show that the dead client's slot is reclaimed;
 *       then a full ring, then the ring working again.
 *   ringtest garbage --mem FILE --pid PID --addr A --len L
 *       write malformed requests straight into the request page (bad
 *       types, huge lengths, wrong pids, cursors and ids, random bytes,
 *       seq storms) and check the status of every answer.
 *
 * One line per check, "ok - ..." or "not ok - ..."; exit 0 if all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haywire.h"

struct args {
	const char *mem;
	int32_t pid;
	uint64_t addr, len;
	unsigned int clients, requests;
};

static struct args args = { .clients = 8, .requests = 1000 };
static int failures;

__attribute__((format(printf, 2, 3)))
static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !ok;
}

static uint64_t now_ns(void)
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

/* A beacon and a client of our own. */
struct host {
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	struct haywire_client *c;
};

static void host_open(struct host *h, unsigned int timeout_ms)
{
	struct haywire_client_opts opts = { .timeout_ms = timeout_ms };
	struct haywire_error err;

	memset(h, 0, sizeof(*h));
	h->mem = haywire_mem_open(args.mem, &err);
	if (h->mem)
		h->b = haywire_discover(h->mem, NULL, &err);
	if (h->b)
		h->c = haywire_client_open(h->b, &opts, &err);
	if (!h->c) {
		printf("not ok - open %s: %s\n", args.mem, err.msg);
		exit(1);
	}
}

static void host_close(struct host *h)
{
	haywire_client_close(h->c);
	haywire_beacon_free(h->b);
	haywire_mem_close(h->mem);
}

/* ---- what the answers must be --------------------------------------------- */

struct runs {
	size_t n, cap;
	struct haywire_xlate_run *r;
};

static int add_run(void *arg, const struct haywire_xlate_run *run)
{
	struct runs *rs = arg;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		if (!rs->r)
			abort();
	}
	rs->r[rs->n++] = *run;
	return 0;
}

static struct runs truth_runs;
static unsigned char *truth_bytes;
static struct haywire_detail *truth_detail;

/*
 * What the guest must say of the pieces: the host-side walk and read of
 * the whole range, or where there are no host-side walks (arm64) the
 * guest's own answer for the whole range.
 */
static void take_truth(struct host *h)
{
	struct haywire_error err;
	int rc;

	truth_bytes = malloc(args.len);
	if (!truth_bytes)
		abort();
	rc = haywire_host_translate(h->b, args.pid, args.addr, args.len,
				    add_run, &truth_runs, &err);
	if (rc == HAYWIRE_E_INVALID) {
		printf("# the reference is the guest's answer for the whole range: %s\n",
		       err.msg);
		truth_runs.n = 0;
		rc = haywire_guest_translate(h->c, args.pid, args.addr,
					     args.len, add_run, &truth_runs,
					     &err);
		if (!rc)
			rc = haywire_guest_read(h->c, args.pid, args.addr,
						truth_bytes, args.len, &err);
	} else if (!rc) {
		rc = haywire_host_read(h->b, args.pid, args.addr, truth_bytes,
				       args.len, &err);
	}
	if (rc || haywire_proc_detail(h->c, args.pid, &truth_detail, &err)) {
		printf("not ok - the reference view of pid %d: %s\n", args.pid,
		       err.msg);
		exit(1);
	}
}

/* The truth's runs clipped to [va, va + len) equal what the guest said. */
static bool runs_match(const struct runs *got, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;
	size_t i, k = 0;

	for (i = 0; i < truth_runs.n; i++) {
		struct haywire_xlate_run want = truth_runs.r[i];
		uint64_t lo = want.va > va ? want.va : va;
		uint64_t hi = want.va + want.len < end ? want.va + want.len : end;

		if (lo >= hi)
			continue;
		if (want.state == HAYWIRE_PAGE_PRESENT)
			want.gpa += lo - want.va;
		want.va = lo;
		want.len = hi - lo;
		if (k >= got->n || memcmp(&got->r[k], &want, sizeof(want)))
			return false;
		k++;
	}
	return k == got->n;
}

/* ---- stress --------------------------------------------------------------- */

enum kind { PING, REFRESH, DETAIL, TRANSLATE, READ, KINDS };
static const char *const kind_names[KINDS] = {
	"ping", "refresh", "detail", "translate", "read"
};

struct tally {
	unsigned long done[KINDS];
	unsigned long bad;
	char first[HAYWIRE_MSG_MAX + 64];
};

__attribute__((format(printf, 2, 3)))
static void bad(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->bad++) {
		va_start(ap, fmt);
		vsnprintf(t->first, sizeof(t->first), fmt, ap);
		va_end(ap);
	}
}

static void one_request(struct host *h, struct tally *t, unsigned int *seed,
			uint64_t *last_gen, unsigned char *buf)
{
	enum kind k = (enum kind)(rand_r(seed) % KINDS);
	uint64_t pages = args.len / 4096, first, n, gen;
	struct haywire_error err;
	struct haywire_ping ping;
	struct haywire_detail *d;
	struct runs got = { 0 };
	int32_t pid;
	size_t len;

	switch (k) {
	case PING:
		if (haywire_ping(h->c, &ping, &err))
			bad(t, "ping: %s", err.msg);
		else if (ping.generation < *last_gen)
			bad(t, "ping: generation %" PRIu64 " after %" PRIu64,
			    ping.generation, *last_gen);
		else
			*last_gen = ping.generation;
		break;
	case REFRESH:
		if (haywire_refresh(h->c, &gen, &err))
			bad(t, "refresh: %s", err.msg);
		else if (gen <= *last_gen)
			bad(t, "refresh: generation %" PRIu64 " after %" PRIu64,
			    gen, *last_gen);
		else
			*last_gen = gen;
		break;
	case DETAIL:
		pid = rand_r(seed) % 2 ? args.pid : 1;
		if (haywire_proc_detail(h->c, pid, &d, &err)) {
			bad(t, "detail %d: %s", pid, err.msg);
			break;
		}
		if (d->pid != pid)
			bad(t, "detail %d: about pid %d", pid, d->pid);
		else if (pid == args.pid &&
			 (d->cmdline_len != truth_detail->cmdline_len ||
			  memcmp(d->cmdline, truth_detail->cmdline,
				 d->cmdline_len) ||
			  strcmp(d->cwd, truth_detail->cwd) ||
			  memcmp(d->uid, truth_detail->uid, sizeof(d->uid)) ||
			  d->sig_blocked != truth_detail->sig_blocked))
			bad(t, "detail %d: not the process's detail", pid);
		haywire_detail_free(d);
		break;
	case TRANSLATE:
		first = rand_r(seed) % pages;
		n = 1 + rand_r(seed) % (pages - first < 64 ? pages - first : 64);
		if (haywire_guest_translate(h->c, args.pid,
					    args.addr + first * 4096, n * 4096,
					    add_run, &got, &err))
			bad(t, "translate: %s", err.msg);
		else if (!runs_match(&got, args.addr + first * 4096, n * 4096))
			bad(t, "translate 0x%" PRIx64 "+0x%" PRIx64
			    ": runs differ from the host-side walk",
			    args.addr + first * 4096, n * 4096);
		free(got.r);
		break;
	default:
		first = rand_r(seed) % args.len;
		len = 1 + rand_r(seed) % 40000;	/* two response slots at most */
		if (len > args.len - first)
			len = args.len - first;
		if (haywire_guest_read(h->c, args.pid, args.addr + first, buf,
				       len, &err))
			bad(t, "read: %s", err.msg);
		else if (memcmp(buf, truth_bytes + first, len))
			bad(t, "read 0x%" PRIx64 "+%zu: bytes differ",
			    args.addr + first, len);
	}
	t->done[k]++;
}

static void stress_client(unsigned int i, int out)
{
	struct tally t = { 0 };
	unsigned int seed = 7919 * (i + 1), n;
	uint64_t last_gen = 0;
	unsigned char *buf = malloc(40000);
	struct host h;

	host_open(&h, 30000);
	for (n = 0; n < args.requests; n++)
		one_request(&h, &t, &seed, &last_gen, buf);
	host_close(&h);
	if (write(out, &t, sizeof(t)) != (ssize_t)sizeof(t))
		_exit(2);
	_exit(0);
}

static void stress(void)
{
	struct tally all = { 0 }, t;
	unsigned int i, k, bad_clients = 0;
	uint64_t t0;
	int fds[2];
	struct host h;

	host_open(&h, 30000);
	take_truth(&h);
	host_close(&h);
	if (pipe(fds))
		exit(1);
	t0 = now_ns();
	for (i = 0; i < args.clients; i++)
		if (fork() == 0)
			stress_client(i, fds[1]);
	close(fds[1]);
	for (i = 0; i < args.clients; i++) {
		if (read(fds[0], &t, sizeof(t)) != (ssize_t)sizeof(t)) {
			bad_clients++;
			continue;
		}
		for (k = 0; k < KINDS; k++)
			all.done[k] += t.done[k];
		if (t.bad) {
			bad_clients++;
			printf("# client: %lu bad answers, the first: %s\n",
			       t.bad, t.first);
		}
		all.bad += t.bad;
	}
	while (wait(NULL) > 0)
		;
	printf("# %u clients x %u requests in %.1f s:", args.clients,
	       args.requests, (double)(now_ns() - t0) / 1e9);
	for (k = 0; k < KINDS; k++)
		printf(" %lu %s", all.done[k], kind_names[k]);
	printf("\n");
	result(!bad_clients && all.bad == 0,
	       "%u clients x %u mixed requests at once: every answer correct (%lu wrong, %u clients failed)",
	       args.clients, args.requests, all.bad, bad_clients);
}

/* ---- the request page, by hand --------------------------------------------- */

struct ring {
	struct haywire_ring_layout lay;
	unsigned char *pages;		/* writable */
	struct host h;			/* read-only view and a client */
};

static void ring_open(struct ring *r, unsigned int timeout_ms)
{
	struct haywire_error err;
	int fd;

	host_open(&r->h, timeout_ms);
	if (haywire_read_ring_layout(r->h.b, &r->lay, &err)) {
		printf("not ok - ring layout: %s\n", err.msg);
		exit(1);
	}
	fd = open(args.mem, O_RDWR);
	r->pages = fd < 0 ? MAP_FAILED :
		   mmap(NULL, r->lay.pages_len, PROT_READ | PROT_WRITE,
			MAP_SHARED, fd, (off_t)r->lay.pages_offset);
	if (r->pages == MAP_FAILED) {
		printf("not ok - map the request page: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
}

static struct hw_request *req(struct ring *r, unsigned int slot)
{
	return (struct hw_request *)(r->pages +
				     (size_t)slot * r->lay.request_stride);
}

static void response(struct ring *r, unsigned int slot, struct hw_response *h)
{
	struct haywire_error err;

	if (haywire_mem_read(r->h.mem, r->lay.response_offset[slot], h,
			     sizeof(*h), &err))
		memset(h, 0xff, sizeof(*h));
}

/* Hold a slot as a live client would (CAS from free: no token). */
static bool hold(struct ring *r, unsigned int slot, uint64_t token)
{
	__u64 free_owner = __atomic_load_n(&req(r, slot)->owner,
					   __ATOMIC_ACQUIRE);

	if (HW_CLAIM_TOKEN(free_owner))
		return false;
	req(r, slot)->lease_ns = now_ns() + 3600 * 1000000000ULL;
	return __atomic_compare_exchange_n(&req(r, slot)->owner, &free_owner,
					   token, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void unhold(struct ring *r, unsigned int slot)
{
	__atomic_store_n(&req(r, slot)->owner, 0, __ATOMIC_RELEASE);
}

/* ---- kill ------------------------------------------------------------------ */

/* A client that reads the range through the guest, over and over. */
static void busy_client(void)
{
	unsigned char *buf = malloc(args.len);
	struct haywire_error err;
	struct host h;

	host_open(&h, 30000);
	for (;;)
		if (haywire_guest_read(h.c, args.pid, args.addr, buf, args.len,
				       &err))
			_exit(1);
}

static void kill_test(void)
{
	uint64_t mine = (uint64_t)getpid() << 32, victim_token = 0;
	struct haywire_error err;
	struct haywire_ping ping;
	struct haywire_detail *d;
	unsigned int slot = 0, i;
	int held = 0;
	uint64_t deadline, t0;
	struct ring r;
	pid_t victim;
	int rc;

	ring_open(&r, 3000);
	victim = fork();
	if (victim == 0)
		busy_client();
	/* Wait until the victim holds a slot, then kill it there. */
	deadline = now_ns() + 30 * 1000000000ULL;
	while (!victim_token && now_ns() < deadline) {
		for (i = 0; i < r.lay.slots; i++) {
			uint64_t owner = __atomic_load_n(&req(&r, i)->owner,
							 __ATOMIC_ACQUIRE);

			/* The only client: whatever holds a slot. */
			if (HW_CLAIM_TOKEN(owner)) {
				kill(victim, SIGKILL);
				slot = i;
				victim_token = owner;
				break;
			}
		}
	}
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	result(victim_token && req(&r, slot)->owner == victim_token,
	       "a client killed (SIGKILL) mid-request still owns slot %u", slot);
	if (!victim_token)
		return;

	/* Every other slot held by live clients: only the dead one's is left. */
	for (i = 0; i < r.lay.slots; i++)
		if (i != slot)
			held += hold(&r, i, mine | (0x1000 + i));
	t0 = now_ns();
	rc = haywire_ping(r.h.c, &ping, &err);
	/* 1.2: the dead client's lock went with it, so no lease is waited
	 * out (its claim word says it held one). */
	printf("# the dead client's slot (claim word %s its lock) taken in %llu ms\n",
	       victim_token & HW_CLAIM_LOCKED ? "promising" : "without",
	       (unsigned long long)((now_ns() - t0) / 1000000ULL));
	result(held == (int)r.lay.slots - 1 && rc == 0 &&
	       !HW_CLAIM_TOKEN(req(&r, slot)->owner),
	       "with the %d other slots held, a request reclaims slot %u of the dead client (%s)",
	       held, slot, rc ? err.msg : "answered, slot freed after");

	/* All held by live clients: a full ring. */
	held += hold(&r, slot, mine | 0x1000 | slot);
	rc = haywire_ping(r.h.c, &ping, &err);
	result(held == (int)r.lay.slots && rc == HAYWIRE_E_FULL,
	       "every slot held by a live client: %s",
	       rc ? err.msg : "the request went through");
	for (i = 0; i < r.lay.slots; i++)
		unhold(&r, i);

	/* And the ring keeps working. */
	rc = haywire_ping(r.h.c, &ping, &err);
	if (!rc)
		rc = haywire_proc_detail(r.h.c, args.pid, &d, &err);
	if (!rc)
		haywire_detail_free(d);
	result(rc == 0, "the ring works again: %s", rc ? err.msg : "ping, detail");
	host_close(&r.h);
}

/* ---- garbage ----------------------------------------------------------------- */

#define ST(x) (1U << HW_ST_##x)
#define ANY_ERROR (~ST(OK))

struct garbage {
	const char *name;
	struct hw_request rq;	/* owner, lease and seq are ours */
	uint32_t want;		/* statuses accepted (bit per status) */
};

static uint64_t rnd64(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = now_ns() * 0x9e3779b97f4a7c15ULL;
	return v;
}

/* Claim a slot (by CAS, as a client), or -1. */
static int claim(struct ring *r, uint64_t token)
{
	unsigned int i;

	for (i = 0; i < r->lay.slots; i++)
		if (hold(r, i, token))
			return (int)i;
	return -1;
}

/*
 * Write rq into the slot and bump seq; wait for the answer to that seq.
 * Returns false on a timeout.
 */
static bool exchange(struct ring *r, unsigned int slot,
		     const struct hw_request *rq, struct hw_response *out)
{
	struct hw_request *live = req(r, slot);
	uint32_t seq = live->seq + 1;
	uint64_t deadline = now_ns() + 10 * 1000000000ULL;

	memcpy((unsigned char *)live + 20, (const unsigned char *)rq + 20,
	       sizeof(*rq) - 20);	/* all but owner, lease and seq */
	__atomic_store_n(&live->seq, seq ? seq : 1, __ATOMIC_RELEASE);
	seq = seq ? seq : 1;
	while (now_ns() < deadline) {
		response(r, slot, out);
		if (out->seq == seq)
			return true;
		sleep_ms(1);
	}
	return false;
}

static void garbage_one(struct ring *r, unsigned int slot,
			const struct garbage *g)
{
	struct hw_response h;
	bool answered = exchange(r, slot, &g->rq, &h);
	bool ok = answered && h.status < 32 && (g->want & (1U << h.status)) &&
		  h.id == g->rq.id && h.type == g->rq.type;

	result(ok, "garbage: %s: %s status %u, id %s", g->name,
	       answered ? "answered," : "NOT answered;", h.status,
	       h.id == g->rq.id ? "echoed" : "NOT echoed");
}

static void garbage_test(void)
{
	uint64_t token = (uint64_t)getpid() << 32 | 0x6a6b;
	struct haywire_error err;
	struct haywire_ping ping;
	struct hw_response h;
	struct hw_request rq;
	struct ring r;
	int slot, i, rc;
	bool answered;
	uint32_t seq;
	const struct garbage cases[] = {
		{ "type 0", { .type = 0 }, ST(BAD_TYPE) },
		{ "type 8", { .type = 8 }, ST(BAD_TYPE) },
		{ "type 0xffffffff", { .type = 0xffffffff }, ST(BAD_TYPE) },
		{ "ping with a pid", { .type = HW_REQ_PING, .pid = 5 },
		  ST(OK) | ST(BAD_ARG) },
		{ "ping with reserved bytes",
		  { .type = HW_REQ_PING, .reserved = { 0, 0, 0, 1 } },
		  ST(OK) | ST(BAD_ARG) },
		{ "read of 2^63 bytes", { .type = HW_REQ_READ, .pid = args.pid,
		  .addr = args.addr, .len = 1ULL << 63 }, ST(BAD_ARG) },
		{ "read of kernel memory", { .type = HW_REQ_READ, .pid = args.pid,
		  .addr = 0xffff888000000000ULL, .len = 16 },
		  ST(BAD_ARG) | ST(UNMAPPED) },
		{ "read wrapping around", { .type = HW_REQ_READ, .pid = args.pid,
		  .addr = ~0ULL - 8, .len = 64 }, ST(BAD_ARG) },
		{ "translate of length 0", { .type = HW_REQ_TRANSLATE,
		  .pid = args.pid, .addr = args.addr }, ST(BAD_ARG) },
		{ "translate of 2^64 - 1 bytes", { .type = HW_REQ_TRANSLATE,
		  .pid = args.pid, .len = ~0ULL }, ST(BAD_ARG) },
		{ "translate of all user space (bounded work)",
		  { .type = HW_REQ_TRANSLATE, .pid = args.pid,
		    .addr = 0x1000, .len = 0x7ffffffff000ULL - 0x1000 },
		  ST(OK) },
		{ "detail of pid -1", { .type = HW_REQ_PROC_DETAIL, .pid = -1 },
		  ST(BAD_ARG) | ST(NO_PROCESS) },
		{ "detail of pid 0", { .type = HW_REQ_PROC_DETAIL, .pid = 0 },
		  ST(BAD_ARG) | ST(NO_PROCESS) },
		{ "detail of pid 2^31 - 1", { .type = HW_REQ_PROC_DETAIL,
		  .pid = 0x7fffffff }, ST(NO_PROCESS) },
		{ "translate with a made-up cursor", { .type = HW_REQ_TRANSLATE,
		  .pid = args.pid, .addr = args.addr, .len = args.len,
		  .cursor = 0x1234567890abcdefULL }, ST(EXPIRED) },
		{ "read with a made-up cursor", { .type = HW_REQ_READ,
		  .pid = args.pid, .addr = args.addr, .len = args.len,
		  .cursor = 1 }, ST(EXPIRED) },
		{ "camera 4", { .type = HW_REQ_CAMERA_SET, .pid = args.pid,
		  .arg = 4 }, ST(BAD_ARG) },
		{ "camera 0xffffffff", { .type = HW_REQ_CAMERA_CLEAR,
		  .arg = 0xffffffff }, ST(BAD_ARG) },
		{ "camera on pid 2^31 - 1", { .type = HW_REQ_CAMERA_SET,
		  .pid = 0x7fffffff, .arg = 3 }, ST(NO_PROCESS) },
		{ "camera on pid -7", { .type = HW_REQ_CAMERA_SET, .pid = -7,
		  .arg = 3 }, ST(BAD_ARG) | ST(NO_PROCESS) },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]), k;

	ring_open(&r, 10000);
	slot = claim(&r, token);
	if (slot < 0) {
		result(false, "garbage: no free slot to write into");
		return;
	}
	for (k = 0; k < n; k++) {
		struct garbage g = cases[k];

		g.rq.id = rnd64();
		garbage_one(&r, (unsigned int)slot, &g);
	}

	/* 1.2: a check that does not match (a question two writers mixed)
	 * does nothing; another beacon's nonce is refused; a right check
	 * and nonce are answered, the question echoed. */
	{
		struct hw_request *live = req(&r, (unsigned int)slot);
		struct garbage g = { "a ping whose check does not match",
			{ .type = HW_REQ_PING, .id = rnd64() }, ST(TORN) };

		g.rq.owner = live->owner;
		g.rq.check = hw_request_check(&g.rq) ^ 1;
		garbage_one(&r, (unsigned int)slot, &g);
		g.name = "a ping for another beacon";
		g.rq.id = rnd64();
		g.rq.nonce = r.lay.nonce ^ 1;
		g.rq.check = hw_request_check(&g.rq);
		g.want = ST(WRONG_BEACON);
		garbage_one(&r, (unsigned int)slot, &g);
		g.name = "a translate with its check and nonce";
		g.rq = (struct hw_request){ .owner = live->owner,
			.type = HW_REQ_TRANSLATE, .id = rnd64(),
			.pid = args.pid, .addr = args.addr, .len = 4096,
			.nonce = r.lay.nonce };
		g.rq.check = hw_request_check(&g.rq);
		g.want = ST(OK);
		answered = exchange(&r, (unsigned int)slot, &g.rq, &h);
		result(answered && h.status == 0 && h.pid == args.pid &&
		       h.addr == args.addr && h.len == 4096 &&
		       h.cursor_asked == 0 && h.nonce == r.lay.nonce &&
		       h.owner == live->owner,
		       "garbage: %s: answered (status %u), the question echoed",
		       g.name, h.status);
	}

	/* Random bytes in every field the guest reads (type never valid). */
	for (i = 0; i < 50; i++) {
		struct garbage g = { "random bytes", { 0 }, ANY_ERROR };
		unsigned char *p = (unsigned char *)&g.rq;

		for (k = 0; k < sizeof(g.rq); k += 8) {
			uint64_t v = rnd64();

			memcpy(p + k, &v, 8);
		}
		while (g.rq.type >= 1 && g.rq.type <= 7)
			g.rq.type = (uint32_t)rnd64();
		garbage_one(&r, (unsigned int)slot, &g);
	}

	/* A seq storm: 20,000 submissions as fast as they can be written,
	 * fields changing all the while; the last one must be answered. */
	for (i = 0; i < 20000; i++) {
		struct hw_request *live = req(&r, (unsigned int)slot);

		live->type = (uint32_t)rnd64();
		live->id = rnd64();
		live->len = rnd64();
		__atomic_store_n(&live->seq, live->seq + 1 ? live->seq + 1 : 1,
				 __ATOMIC_RELEASE);
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = HW_REQ_PING;
	rq.id = rnd64();
	answered = exchange(&r, (unsigned int)slot, &rq, &h);
	result(answered && h.status == 0 && h.id == rq.id,
	       "garbage: after a storm of 20000 seq bumps the last request is %s (status %u)",
	       answered ? "answered" : "NOT answered", h.status);

	/* An id rewritten with a second submission before the first answer:
	 * the answer to the last seq carries the last id. */
	{
		struct hw_request *live = req(&r, (unsigned int)slot);
		uint64_t first = rnd64(), second = rnd64();

		live->type = HW_REQ_PING;
		live->len = 0;
		live->id = first;
		seq = live->seq + 1;
		__atomic_store_n(&live->seq, seq, __ATOMIC_RELEASE);
		rq.id = second;
		answered = exchange(&r, (unsigned int)slot, &rq, &h);
		result(answered && h.id == second && h.seq == seq + 1,
		       "garbage: a request rewritten before its answer: the answer to seq %u has the second id",
		       seq + 1);
	}

	/* A cursor of a real iterator (a read longer than one response;
	 * the module must allow reads), asked with other arguments. */
	{
		struct hw_request t = { .type = HW_REQ_READ, .pid = args.pid,
			.addr = args.addr, .len = args.len, .id = rnd64() };

		answered = exchange(&r, (unsigned int)slot, &t, &h);
		if (answered && h.status == 0 && h.cursor) {
			t.cursor = h.cursor;
			t.len -= 0x1000;
			t.id = rnd64();
			answered = exchange(&r, (unsigned int)slot, &t, &h);
			result(answered && h.status == HW_ST_EXPIRED,
			       "garbage: a live cursor with another length: status %u",
			       h.status);
		} else {
			result(false, "garbage: a %llu-byte read did not continue (status %u)",
			       (unsigned long long)args.len, h.status);
		}
	}
	unhold(&r, (unsigned int)slot);
	rc = haywire_ping(r.h.c, &ping, &err);
	result(rc == 0, "garbage: the ring still works: %s",
	       rc ? err.msg : "ping answered");
	host_close(&r.h);
}

static uint64_t number(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "ringtest: '%s' is not a number\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mem", 1, NULL, 'm' }, { "pid", 1, NULL, 'p' },
		{ "addr", 1, NULL, 'a' }, { "len", 1, NULL, 'l' },
		{ "clients", 1, NULL, 'c' }, { "requests", 1, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = argc > 1 ? argv[1] : "";
	int opt;

	optind = 2;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'm': args.mem = optarg; break;
		case 'p': args.pid = (int32_t)number(optarg); break;
		case 'a': args.addr = number(optarg); break;
		case 'l': args.len = number(optarg); break;
		case 'c': args.clients = (unsigned int)number(optarg); break;
		case 'r': args.requests = (unsigned int)number(optarg); break;
		default: return 2;
		}
	}
	if (!args.mem || args.pid <= 0 || args.len < 4096 || args.len % 4096 ||
	    !args.clients || !args.requests) {
		fprintf(stderr, "usage: ringtest stress|kill|garbage --mem FILE --pid PID --addr A --len L (whole pages) [--clients N] [--requests N]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "stress"))
		stress();
	else if (!strcmp(mode, "kill"))
		kill_test();
	else if (!strcmp(mode, "garbage"))
		garbage_test();
	else
		return 2;
	return failures ? 1 : 0;
}
