// SPDX-License-Identifier: MIT
/*
 * Requests: a client of the beacon's request/response rings
 * (docs/protocol.md, "Requests: rings").
 *
 * Only the request pages are mapped writable, from a second descriptor of
 * the same RAM file; answers are read through the read-only mapping and
 * copied before they are looked at. Before every store into the request
 * pages the client checks that the beacon it found is still there (magic,
 * nonce, index address) and that its module ran just before (heartbeat):
 * after an unload the pages are leaked by the module, but after a guest
 * reset they may belong to the new kernel (docs/protocol.md, "Reboots").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beacon.h"

#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_LEASE_MS	3000
#define BUSY_RETRIES		4	/* a guest BUSY status, asked again */
#define TORN_RETRIES		8	/* a request another writer mixed */
#define POLL_MIN_NS		50000ULL	/* waiting: 50 us doubling ... */
#define POLL_MAX_NS		1000000ULL	/* ... up to 1 ms */
#define CLAIM_POLL_NS		1000000ULL
/*
 * A heartbeat seen to advance lets the client write for this long after
 * the last look that saw the old value. Far shorter than any reset takes
 * to boot a kernel that could own the request page (docs/protocol.md).
 */
#define ALIVE_NS		(50 * 1000000ULL)
/* No heartbeat for this long: the module stopped (it looks at the ring at
 * least every poll_max_ms, at most 1 s, unless it is busy answering). */
#define STOPPED_NS		(1000 * 1000000ULL)
/* TRANSLATE: runs taken in one claim of a slot before it is given up and
 * the rest asked for in another (the runs go to fn in between). */
#define WINDOW_RUNS		4096

struct haywire_client {
	struct haywire_beacon *beacon;
	const struct haywire_mem *mem;
	struct haywire_ring_layout ring;
	uint64_t index_offset;		/* of the beacon the rings belong to */
	unsigned char *pages;		/* the request pages, writable */
	size_t pages_len;
	int fd;				/* the RAM file, writable: slot locks */
	uint32_t token;			/* this client's, never 0 */
	pid_t pid;			/* the process that opened it */
	uint64_t claim;			/* the claim word held; 0: none */
	unsigned int slot;		/* its slot */
	bool locked;			/* and the lock of its slot */
	uint64_t lease_end;		/* of the claim held, as stored */
	uint64_t deadline;		/* of the call in progress */
	uint64_t alive_until;		/* writes allowed until (host time) */
	uint64_t hb_seen[HW_RING_SLOTS];	/* heartbeats last read ... */
	uint64_t hb_seen_at[HW_RING_SLOTS];	/* ... and when */
	uint64_t next_id;
	uint64_t rng;
	unsigned int timeout_ms, lease_ms;
	uint64_t end_ns;		/* no call past this; 0: none */
	struct hw_response header;	/* the last answer's, copied */
	unsigned char *data;		/* and its data, response_stride bytes */
};

static uint64_t random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = hwi_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 40) ^
		    (uint64_t)(uintptr_t)&v;
	return v;
}

/* xorshift64: where to start looking for a free slot. */
static unsigned int next_random(struct haywire_client *c, unsigned int n)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return (unsigned int)(c->rng % n);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL),
			       (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep ns, but not past the call's deadline. */
static void pause_until_deadline(const struct haywire_client *c, uint64_t ns)
{
	uint64_t now = hwi_now_ns(CLOCK_MONOTONIC);

	if (now < c->deadline)
		sleep_ns(c->deadline - now < ns ? c->deadline - now : ns);
}

static struct hw_request *slot_request(const struct haywire_client *c,
				       unsigned int slot)
{
	return (struct hw_request *)(c->pages +
				     (size_t)slot * c->ring.request_stride);
}

uint64_t haywire_client_token(const struct haywire_client *c)
{
	return (uint64_t)c->token << HW_CLAIM_TOKEN_SHIFT;
}

static int too_old(const struct haywire_ring_layout *r,
		   struct haywire_error *err)
{
	return hwi_fail(err, HAYWIRE_E_VERSION,
			"the guest's haywire module is too old for requests from this haywire: it speaks protocol 1.%u, requests need 1.2 (claim words, checked and echoed questions); update the module in the guest (snapshots can still be read)",
			r->version_minor);
}

/* The RAM file again, writable (it may have been renamed since, so not by
 * name), and the same file. */
static int open_writable(const struct haywire_mem *mem,
			 struct haywire_error *err)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mem->fd);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -hwi_fail(err, HAYWIRE_E_FILE,
				 "cannot open the RAM file for writing (requests are written into its request page; reading snapshots needs only read access): %s",
				 strerror(errno));
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != mem->dev ||
	    (uint64_t)st.st_ino != mem->ino) {
		close(fd);
		return -hwi_fail(err, HAYWIRE_E_FILE,
				 "the RAM file opened for writing is not the one being read");
	}
	return fd;
}

struct haywire_client *haywire_client_open(struct haywire_beacon *b,
					   const struct haywire_client_opts *opts,
					   struct haywire_error *err)
{
	const struct haywire_mem *mem = b->mem;
	long host_page = sysconf(_SC_PAGESIZE);
	struct haywire_client *c;
	void *pages;
	unsigned int i;
	int fd;

	if (mem->fd < 0) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "requests need a guest RAM file, not a buffer");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	c->fd = -1;
	if (haywire_read_ring_layout(b, &c->ring, err))
		goto fail;
	if (c->ring.version_minor < 2) {
		too_old(&c->ring, err);
		goto fail;
	}
	c->beacon = b;
	c->mem = mem;
	c->index_offset = b->loc.file_offset;
	if (host_page <= 0 || c->ring.pages_offset % (uint64_t)host_page ||
	    c->ring.pages_len % (uint64_t)host_page) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "the request pages (file offset 0x%llx, %llu bytes) are not whole pages of this host (%ld bytes)",
			 (unsigned long long)c->ring.pages_offset,
			 (unsigned long long)c->ring.pages_len, host_page);
		goto fail;
	}
	c->data = malloc(c->ring.response_stride);
	if (!c->data) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto fail;
	}
	fd = open_writable(mem, err);
	if (fd < 0)
		goto fail;
	c->fd = fd;
	pages = mmap(NULL, (size_t)c->ring.pages_len, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fd, (off_t)c->ring.pages_offset);
	if (pages == MAP_FAILED) {
		hwi_fail(err, HAYWIRE_E_FILE,
			 "cannot map the request pages writable: %s",
			 strerror(errno));
		goto fail;
	}
	c->pages = pages;
	c->pages_len = (size_t)c->ring.pages_len;
	c->pid = getpid();
	while (!c->token)
		c->token = (uint32_t)random64();
	c->next_id = random64();
	c->rng = random64() | 1;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms :
			DEFAULT_TIMEOUT_MS;
	c->lease_ms = opts && opts->lease_ms ? opts->lease_ms :
		      DEFAULT_LEASE_MS;
	c->end_ns = opts ? opts->end_ns : 0;
	for (i = 0; i < c->ring.slots; i++)
		c->hb_seen_at[i] = 0;	/* nothing seen yet */
	return c;

fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c->data);
	free(c);
	return NULL;
}

void haywire_client_close(struct haywire_client *c)
{
	if (!c)
		return;
	munmap(c->pages, c->pages_len);
	close(c->fd);	/* drops any slot lock still held */
	free(c->data);
	free(c);
}

/*
 * The beacon whose rings these are is still there: the same magic, nonce
 * and index address. A reload or a reboot that put a new index elsewhere
 * leaves the old one until it is overwritten; see check_alive for that.
 */
static int check_identity(const struct haywire_client *c,
			  struct haywire_error *err)
{
	uint64_t magic = hwi_load_u64(c->mem, c->index_offset);
	uint64_t nonce = hwi_load_u64(c->mem, c->index_offset +
				      offsetof(struct hw_index, nonce));
	uint64_t self = hwi_load_u64(c->mem, c->index_offset +
				     offsetof(struct hw_index, self_gpa));

	if (magic == HW_MAGIC && nonce == c->ring.nonce &&
	    self == c->ring.self_gpa)
		return 0;
	if (magic == HW_MAGIC_GONE)
		return hwi_fail(err, HAYWIRE_E_GONE,
				"the haywire module was unloaded in the guest: its request rings are gone (nothing was written)");
	if (magic == HW_MAGIC)
		return hwi_fail(err, HAYWIRE_E_GONE,
				"the haywire module was reloaded in the guest, or the guest rebooted: the index found (nonce %016llx) was replaced (nothing was written)",
				(unsigned long long)c->ring.nonce);
	return hwi_fail(err, HAYWIRE_E_GONE,
			"the beacon is gone: its index page was overwritten (the guest rebooted?); nothing was written");
}

/*
 * One look at the slot's heartbeat. A value other than the one read at the
 * last look means the module ran since that look: writes are allowed for
 * ALIVE_NS from it. Whether writes are allowed now.
 */
static bool heartbeat(struct haywire_client *c, unsigned int slot,
		      uint64_t now)
{
	uint64_t resp = c->ring.response_offset[slot];
	uint64_t hb = hwi_load_u64(c->mem, resp +
				   offsetof(struct hw_response, heartbeat));
	uint64_t nonce = hwi_load_u64(c->mem, resp +
				      offsetof(struct hw_response, nonce));

	if (nonce == c->ring.nonce && c->hb_seen_at[slot] &&
	    hb != c->hb_seen[slot] &&
	    c->hb_seen_at[slot] + ALIVE_NS > c->alive_until)
		c->alive_until = c->hb_seen_at[slot] + ALIVE_NS;
	c->hb_seen[slot] = hb;
	c->hb_seen_at[slot] = now;
	return now < c->alive_until;
}

/*
 * Before every store into the request pages: the beacon is the one found
 * and its module was seen running just now (a reset guest runs no module,
 * and its new kernel may own these pages). Waits for a heartbeat, up to
 * the call's deadline.
 */
static int check_alive(struct haywire_client *c, unsigned int slot,
		       struct haywire_error *err)
{
	uint64_t waited = hwi_now_ns(CLOCK_MONOTONIC);

	for (;;) {
		uint64_t now = hwi_now_ns(CLOCK_MONOTONIC);
		int rc = check_identity(c, err);

		if (rc)
			return rc;
		if (heartbeat(c, slot, now))
			return 0;
		if (now >= c->deadline)
			return hwi_fail(err, HAYWIRE_E_TIMEOUT,
					"the guest's haywire module showed no sign of life for %llu ms (its request heartbeat stopped): the guest is paused, rebooting or was reset; nothing was written",
					(unsigned long long)((now - waited) / 1000000ULL));
		pause_until_deadline(c, POLL_MIN_NS);
	}
}

static void slot_lock(struct haywire_client *c, unsigned int slot,
		      short type, bool *ok)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)(c->ring.request_offset +
				   (uint64_t)slot * c->ring.request_stride),
		.l_len = 1,
	};

	*ok = fcntl(c->fd, F_OFD_SETLK, &fl) == 0 && type != F_UNLCK;
}

/*
 * Whether a claim may be taken over: free, lease passed, or held by a
 * client that promised to hold the slot's lock while it holds the claim
 * when that lock is ours now (its holder is gone: closed or dead, in
 * whatever PID namespace it ran).
 */
static bool takeable(uint64_t owner, uint64_t lease_ns, uint64_t now,
		     bool locked)
{
	if (!HW_CLAIM_TOKEN(owner))
		return true;
	if (lease_ns < now)
		return true;
	return (owner & HW_CLAIM_LOCKED) && locked;
}

/* Try to claim slot i: *got and c->claim set if it was free. */
static int try_claim(struct haywire_client *c, unsigned int i, bool *got,
		     struct haywire_error *err)
{
	struct hw_request *r = slot_request(c, i);
	__u64 owner, lease, mine;
	uint64_t word;
	bool locked;
	int rc = 0;

	*got = false;
	slot_lock(c, i, F_WRLCK, &locked);
	owner = __atomic_load_n(&r->owner, __ATOMIC_ACQUIRE);
	lease = __atomic_load_n(&r->lease_ns, __ATOMIC_RELAXED);
	if (!takeable(owner, lease, hwi_now_ns(CLOCK_MONOTONIC), locked))
		goto unlock;
	rc = check_alive(c, i, err);
	if (rc)
		goto unlock;
	word = (uint64_t)c->token << HW_CLAIM_TOKEN_SHIFT |
	       (locked ? HW_CLAIM_LOCKED : 0) |
	       (((owner & HW_CLAIM_GEN_MASK) + 1) & HW_CLAIM_GEN_MASK);
	/*
	 * The lease first, so whoever sees the new word sees a fresh lease;
	 * by CAS from the one read, so that a holder's renewal or another
	 * claimant's lease is never overwritten (the slot is then skipped).
	 */
	mine = hwi_now_ns(CLOCK_MONOTONIC) + c->lease_ms * 1000000ULL;
	if (!__atomic_compare_exchange_n(&r->lease_ns, &lease, mine, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		goto unlock;
	if (__atomic_compare_exchange_n(&r->owner, &owner, word, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		c->claim = word;
		c->slot = i;
		c->locked = locked;
		c->lease_end = mine;
		*got = true;
		return 0;
	}
	/* Another claim won: give back the lease it stored, unless it has
	 * changed again since. */
	__atomic_compare_exchange_n(&r->lease_ns, &mine, lease, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
unlock:
	if (locked)
		slot_lock(c, i, F_UNLCK, &locked);
	return rc;
}

/* Claim a slot: free, expired or orphaned, by CAS of its claim word. */
static int claim(struct haywire_client *c, unsigned int *slot,
		 struct haywire_error *err)
{
	unsigned int k, n = c->ring.slots;
	int rc;

	for (;;) {
		unsigned int first = next_random(c, n);

		rc = check_identity(c, err);
		if (rc)
			return rc;
		for (k = 0; k < n; k++) {
			unsigned int i = (first + k) % n;
			bool got;

			rc = try_claim(c, i, &got, err);
			if (rc)
				return rc;
			if (got) {
				*slot = i;
				return 0;
			}
		}
		if (hwi_now_ns(CLOCK_MONOTONIC) >= c->deadline)
			return hwi_fail(err, HAYWIRE_E_FULL,
					"the request ring is full: all %u slots were held by live clients for %u ms; try again",
					n, c->timeout_ms);
		pause_until_deadline(c, CLAIM_POLL_NS);
	}
}

/*
 * Free the slot, keeping its claim generation. Nothing is written unless
 * the module is alive now; a claim left behind ends with its lease, or at
 * once when it is locked (the lock goes here).
 */
static void release(struct haywire_client *c, unsigned int slot)
{
	struct hw_request *r = slot_request(c, slot);
	__u64 word = c->claim;

	if (word && check_identity(c, NULL) == 0 &&
	    heartbeat(c, slot, hwi_now_ns(CLOCK_MONOTONIC)))
		__atomic_compare_exchange_n(&r->owner, &word,
					    word & HW_CLAIM_GEN_MASK, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	if (c->locked)
		slot_lock(c, slot, F_UNLCK, &c->locked);
	c->claim = 0;
}

static int lost_slot(const struct haywire_client *c, unsigned int slot,
		     struct haywire_error *err)
{
	return hwi_fail(err, HAYWIRE_E_BUSY,
			"another client took over request slot %u (this one's lease of %u ms ran out): try again",
			slot, c->lease_ms);
}

static bool still_ours(const struct haywire_client *c, unsigned int slot)
{
	return __atomic_load_n(&slot_request(c, slot)->owner,
			       __ATOMIC_ACQUIRE) == c->claim;
}

/*
 * Write the question (everything from type on: the fields, the nonce, the
 * check) and publish it by bumping seq; returns the new seq.
 */
static uint32_t submit(struct haywire_client *c, unsigned int slot,
		       const struct hw_request *q)
{
	struct hw_request *r = slot_request(c, slot);
	uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED) + 1;
	size_t from = offsetof(struct hw_request, type);

	if (seq == 0)	/* 0 is the value of a slot never used */
		seq = 1;
	memcpy((unsigned char *)r + from, (const unsigned char *)q + from,
	       sizeof(*q) - from);
	/* Pairs with the guest's acquire load of seq before its copy. */
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
	return seq;
}

/* Renew the lease at half its length, only while alive and still ours. */
static void renew(struct haywire_client *c, unsigned int slot, uint64_t now)
{
	if (now + c->lease_ms * 500000ULL < c->lease_end ||
	    now >= c->alive_until || check_identity(c, NULL) ||
	    !still_ours(c, slot))
		return;
	c->lease_end = now + c->lease_ms * 1000000ULL;
	__atomic_store_n(&slot_request(c, slot)->lease_ns, c->lease_end,
			 __ATOMIC_RELAXED);
}

/* An answer for (seq, claim, id) is in the slot: copy it, if complete. */
static int take_answer(struct haywire_client *c, unsigned int slot,
		       uint32_t seq, const struct hw_request *q,
		       bool *taken, struct haywire_error *err)
{
	uint64_t resp = c->ring.response_offset[slot];
	uint32_t max_data = c->ring.response_stride -
			    (uint32_t)sizeof(struct hw_response);

	*taken = false;
	hwi_copy(c->mem, resp, &c->header, sizeof(c->header));
	/* Another client's answer (one that held the slot before) is not
	 * this one's. */
	if (c->header.owner != q->owner || c->header.id != q->id)
		return 0;
	if (c->header.data_len > max_data)
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"the guest's answer to a %s request is invalid: %u bytes of data in a %u-byte response slot",
				hwi_request_name(q->type),
				c->header.data_len, c->ring.response_stride);
	hwi_copy(c->mem, resp + sizeof(c->header), c->data,
		 c->header.data_len);
	/* Pairs with the guest's seq ^ 0x80000000 store before it rewrites
	 * an answer: the copy is good if seq did not change meanwhile. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*taken = hwi_load_u32_acquire(c->mem, resp) == seq &&
		 c->header.seq == seq && still_ours(c, slot);
	return 0;
}

/* Wait for the answer to q, sent as seq, and copy it into c->header and
 * c->data. */
static int wait_answer(struct haywire_client *c, unsigned int slot,
		       uint32_t seq, const struct hw_request *q,
		       uint64_t sent, struct haywire_error *err)
{
	uint64_t resp = c->ring.response_offset[slot];
	struct hw_request *r = slot_request(c, slot);
	uint64_t pause = POLL_MIN_NS, now;
	bool taken;
	int rc;

	for (;;) {
		/* Pairs with the guest's release store of seq. */
		if (hwi_load_u32_acquire(c->mem, resp) == seq) {
			rc = take_answer(c, slot, seq, q, &taken, err);
			if (rc)
				return rc;
			if (taken) {
				/* Written after the question: alive then. */
				if (sent + ALIVE_NS > c->alive_until)
					c->alive_until = sent + ALIVE_NS;
				return 0;
			}
		}
		if (!still_ours(c, slot))
			return lost_slot(c, slot, err);
		/* Another writer bumped seq: what the guest answers next is
		 * not (only) this question. Asked again, as for TORN. */
		if (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) != seq) {
			memset(&c->header, 0, sizeof(c->header));
			c->header.status = HW_ST_TORN;
			return 0;
		}
		rc = check_identity(c, err);
		if (rc)
			return rc;
		now = hwi_now_ns(CLOCK_MONOTONIC);
		/* alive_until is the last sign of life + ALIVE_NS. */
		if (!heartbeat(c, slot, now) && now >= c->deadline &&
		    now + ALIVE_NS - c->alive_until > STOPPED_NS)
			return hwi_fail(err, HAYWIRE_E_TIMEOUT,
					"the guest's haywire module stopped while answering the %s request (no heartbeat for %llu ms): the guest is paused, rebooting or was reset",
					hwi_request_name(q->type),
					(unsigned long long)((now + ALIVE_NS -
							      c->alive_until) /
							     1000000ULL));
		if (now >= c->deadline)
			return hwi_fail(err, HAYWIRE_E_TIMEOUT,
					"the guest did not answer the %s request within %u ms (its haywire module is running, but slow or stuck on this request)",
					hwi_request_name(q->type),
					c->timeout_ms);
		renew(c, slot, now);
		pause_until_deadline(c, pause);
		if (pause < POLL_MAX_NS)
			pause *= 2;
	}
}

/* Ask one question in the claimed slot and wait for its answer. */
static int ask(struct haywire_client *c, unsigned int slot,
	       const struct hwi_answer *a, uint64_t cursor,
	       struct hw_request *q, struct haywire_error *err)
{
	uint64_t sent;
	uint32_t seq;
	int rc;

	memset(q, 0, sizeof(*q));
	hwi_answer_question(a, cursor, q);
	q->owner = c->claim;
	q->id = c->next_id++;
	q->nonce = c->ring.nonce;
	q->check = hw_request_check(q);
	rc = check_alive(c, slot, err);
	if (rc)
		return rc;
	if (!still_ours(c, slot))
		return lost_slot(c, slot, err);
	sent = hwi_now_ns(CLOCK_MONOTONIC);
	seq = submit(c, slot, q);
	return wait_answer(c, slot, seq, q, sent, err);
}

/*
 * One claim of a slot: the question and its continuations, until the
 * answer is complete (*more false) or, for TRANSLATE, enough runs are
 * kept that the rest is asked in another claim (*more true).
 */
static int window(struct haywire_client *c, struct hwi_answer *a,
		  bool *more, struct haywire_error *err)
{
	const struct hw_response *h = &c->header;
	unsigned int slot = 0, busy = 0, torn = 0;
	uint64_t cursor = 0, next;
	struct hw_request q;
	int rc;

	*more = false;
	rc = claim(c, &slot, err);
	if (rc)
		return rc;
	for (;;) {
		rc = ask(c, slot, a, cursor, &q, err);
		if (rc)
			break;
		if (h->status == HW_ST_TORN) {
			/* Mixed by a writer that lost its claim: nothing was
			 * done; asked again. */
			if (torn++ < TORN_RETRIES)
				continue;
			rc = hwi_fail(err, HAYWIRE_E_BUSY,
				      "the %s request was mixed with another writer's (a client that lost its claim of slot %u) %u times in a row; try again",
				      hwi_request_name(a->type), slot, torn);
			break;
		}
		if (h->status == HW_ST_BUSY && busy < BUSY_RETRIES) {
			pause_until_deadline(c, 1000000ULL << busy++);
			continue;	/* the same piece again */
		}
		if (h->status == HW_ST_WRONG_BEACON) {
			rc = check_identity(c, err);
			if (!rc)
				rc = hwi_fail(err, HAYWIRE_E_GONE,
					      "the %s request reached a haywire module other than the one found (it was reloaded, or the guest rebooted)",
					      hwi_request_name(a->type));
			break;
		}
		rc = hwi_answer_chunk(a, &q, h, c->data, &next, err);
		if (rc || !next)
			break;
		if (a->type == HW_REQ_TRANSLATE && a->nruns >= WINDOW_RUNS) {
			*more = true;
			break;
		}
		cursor = next;
		busy = 0;
		torn = 0;
	}
	release(c, slot);
	return rc;
}

struct exchange {
	struct haywire_client *c;
	struct hwi_answer *a;
	struct haywire_error *err;
};

/*
 * One request, every part of its answer, within one deadline; the runs
 * of a translation go to the caller's function between claims, never
 * while a slot is held.
 */
static int exchange_guarded(void *arg)
{
	struct exchange *x = arg;
	struct haywire_client *c = x->c;
	struct hwi_answer *a = x->a;
	bool more;
	int rc;

	/* The claim belongs to the process that opened the client. */
	if (getpid() != c->pid)
		return hwi_fail(x->err, HAYWIRE_E_INVALID,
				"a request client cannot be used after fork(): open one in each process");
	/* A claim a SIGBUS abandoned (the RAM file shrank) is given up. */
	if (c->claim || c->locked)
		release(c, c->slot);
	c->deadline = hwi_now_ns(CLOCK_MONOTONIC) +
		      c->timeout_ms * 1000000ULL;
	if (c->end_ns && c->end_ns < c->deadline)
		c->deadline = c->end_ns;
	a->page = c->ring.page_size ? c->ring.page_size : 4096;
	for (;;) {
		rc = window(c, a, &more, x->err);
		hwi_answer_deliver(a);
		if (rc || !more || a->fn_rc)
			return rc;
		hwi_answer_new_window(a);
	}
}

static int exchange(struct haywire_client *c, struct hwi_answer *a,
		    struct haywire_error *err)
{
	struct exchange x = { c, a, err };

	return hwi_guarded(c->mem, exchange_guarded, &x, err);
}

static int check_pid(int32_t pid, struct haywire_error *err)
{
	if (pid <= 0)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"PID %d is not a process ID", pid);
	return 0;
}

static int check_range(uint64_t va, uint64_t len, struct haywire_error *err)
{
	if (len == 0 || len > UINT64_MAX - va)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"address range 0x%llx+0x%llx is empty or wraps around",
				(unsigned long long)va,
				(unsigned long long)len);
	return 0;
}

int haywire_ping(struct haywire_client *c, struct haywire_ping *out,
		 struct haywire_error *err)
{
	struct hwi_answer a;
	int rc;

	hwi_answer_init(&a, HW_REQ_PING, 0, 0, 0, 0);
	rc = exchange(c, &a, err);
	if (!rc) {
		out->guest_mono_ns = a.value[0];
		out->generation = a.value[1];
	}
	return rc;
}

int haywire_refresh(struct haywire_client *c, uint64_t *generation,
		    struct haywire_error *err)
{
	struct hwi_answer a;
	int rc;

	hwi_answer_init(&a, HW_REQ_REFRESH, 0, 0, 0, 0);
	rc = exchange(c, &a, err);
	if (!rc)
		*generation = a.value[0];
	return rc;
}

int haywire_proc_detail(struct haywire_client *c, int32_t pid,
			struct haywire_detail **out, struct haywire_error *err)
{
	struct hwi_answer a;
	int rc;

	*out = NULL;
	rc = check_pid(pid, err);
	if (rc)
		return rc;
	hwi_answer_init(&a, HW_REQ_PROC_DETAIL, pid, 0, 0, 0);
	rc = exchange(c, &a, err);
	if (!rc)
		rc = hwi_decode_detail(a.buf, a.buf_len, pid, out, err);
	hwi_answer_release(&a);
	return rc;
}

static int check_camera(unsigned int camera, struct haywire_error *err)
{
	if (camera >= HW_MAX_CAMERAS)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"camera %u does not exist (there are %d)",
				camera, HW_MAX_CAMERAS);
	return 0;
}

int haywire_camera_set(struct haywire_client *c, unsigned int camera,
		       int32_t pid, uint64_t *first_generation,
		       struct haywire_error *err)
{
	struct hwi_answer a;
	int rc = check_camera(camera, err);

	if (!rc)
		rc = check_pid(pid, err);
	if (rc)
		return rc;
	hwi_answer_init(&a, HW_REQ_CAMERA_SET, pid, camera, 0, 0);
	rc = exchange(c, &a, err);
	if (!rc)
		*first_generation = a.value[0];
	return rc;
}

int haywire_camera_clear(struct haywire_client *c, unsigned int camera,
			 struct haywire_error *err)
{
	struct hwi_answer a;
	int rc = check_camera(camera, err);

	if (rc)
		return rc;
	hwi_answer_init(&a, HW_REQ_CAMERA_CLEAR, 0, camera, 0, 0);
	return exchange(c, &a, err);
}

int haywire_guest_translate(struct haywire_client *c, int32_t pid,
			    uint64_t va, uint64_t len, haywire_run_fn fn,
			    void *arg, struct haywire_error *err)
{
	struct hwi_answer a;
	int rc = check_pid(pid, err);

	if (!rc)
		rc = check_range(va, len, err);
	if (rc)
		return rc;
	hwi_answer_init(&a, HW_REQ_TRANSLATE, pid, 0, va, len);
	a.fn = fn;
	a.fn_arg = arg;
	rc = exchange(c, &a, err);
	hwi_answer_release(&a);
	return rc ? rc : a.fn_rc;
}

int haywire_guest_read(struct haywire_client *c, int32_t pid, uint64_t va,
		       void *dst, size_t len, struct haywire_error *err)
{
	struct hwi_answer a;
	int rc = check_pid(pid, err);

	if (!rc)
		rc = check_range(va, len, err);
	if (rc)
		return rc;
	hwi_answer_init(&a, HW_REQ_READ, pid, 0, va, len);
	a.dst = dst;
	return exchange(c, &a, err);
}
