// SPDX-License-Identifier: MIT
/*
 * Requests: a client of the beacon's request/response rings
 * (docs/protocol.md, "Requests: rings").
 *
 * Only the request pages are mapped writable, from a second descriptor of
 * the same RAM file; answers are read through the read-only mapping and
 * copied before they are looked at. Before every store into the request
 * pages the client checks that the beacon it found is still there (magic
 * and nonce): after the module unloads those pages are the guest's again.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
#define POLL_MIN_NS		50000ULL	/* waiting: 50 us doubling ... */
#define POLL_MAX_NS		1000000ULL	/* ... up to 1 ms */
#define CLAIM_POLL_NS		1000000ULL

struct haywire_client {
	struct haywire_beacon *beacon;
	const struct haywire_mem *mem;
	struct haywire_ring_layout ring;
	uint64_t index_offset;		/* of the beacon the rings belong to */
	unsigned char *pages;		/* the request pages, writable */
	size_t pages_len;
	uint64_t token;
	pid_t pid;			/* the process the token names */
	uint64_t lease_end;		/* of the claim held, as stored */
	uint64_t next_id;
	uint64_t rng;
	unsigned int timeout_ms, lease_ms;
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

static struct hw_request *slot_request(const struct haywire_client *c,
				       unsigned int slot)
{
	return (struct hw_request *)(c->pages +
				     (size_t)slot * c->ring.request_stride);
}

uint64_t haywire_client_token(const struct haywire_client *c)
{
	return c->token;
}

struct haywire_client *haywire_client_open(struct haywire_beacon *b,
					   const struct haywire_client_opts *opts,
					   struct haywire_error *err)
{
	const struct haywire_mem *mem = b->mem;
	long host_page = sysconf(_SC_PAGESIZE);
	struct haywire_client *c;
	char path[64];
	struct stat st;
	void *pages;
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
	if (haywire_read_ring_layout(b, &c->ring, err))
		goto fail;
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
	/* The same file, opened again for writing (it may have been renamed
	 * since, so not by name). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mem->fd);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		hwi_fail(err, HAYWIRE_E_FILE,
			 "cannot open the RAM file for writing (requests are written into its request page; reading snapshots needs only read access): %s",
			 strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != mem->dev ||
	    (uint64_t)st.st_ino != mem->ino) {
		hwi_fail(err, HAYWIRE_E_FILE,
			 "the RAM file opened for writing is not the one being read");
		close(fd);
		goto fail;
	}
	pages = mmap(NULL, (size_t)c->ring.pages_len, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fd, (off_t)c->ring.pages_offset);
	close(fd);
	if (pages == MAP_FAILED) {
		hwi_fail(err, HAYWIRE_E_FILE,
			 "cannot map the request pages writable: %s",
			 strerror(errno));
		goto fail;
	}
	c->pages = pages;
	c->pages_len = (size_t)c->ring.pages_len;
	c->pid = getpid();
	c->token = (uint64_t)c->pid << 32 | ((random64() & 0xffffffffULL) | 1);
	c->next_id = random64();
	c->rng = random64() | 1;
	c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms :
			DEFAULT_TIMEOUT_MS;
	c->lease_ms = opts && opts->lease_ms ? opts->lease_ms :
		      DEFAULT_LEASE_MS;
	return c;

fail:
	free(c->data);
	free(c);
	return NULL;
}

void haywire_client_close(struct haywire_client *c)
{
	if (!c)
		return;
	munmap(c->pages, c->pages_len);
	free(c->data);
	free(c);
}

/* The beacon whose rings these are is still loaded. Checked before every
 * store into the request pages. */
static int check_alive(const struct haywire_client *c,
		       struct haywire_error *err)
{
	uint64_t magic = hwi_load_u64(c->mem, c->index_offset);
	uint64_t nonce = hwi_load_u64(c->mem, c->index_offset +
				      offsetof(struct hw_index, nonce));

	if (magic == HW_MAGIC && nonce == c->ring.nonce)
		return 0;
	return hwi_fail(err, HAYWIRE_E_GONE,
			"the haywire module was %s in the guest: its request rings are gone",
			magic == HW_MAGIC ? "reloaded" : "unloaded");
}

/* A claim that may be taken over: lease passed or owner process gone.
 * The owner's pid is the token's high half (see the protocol). */
static bool reclaimable(uint64_t owner, uint64_t lease_ns, uint64_t now)
{
	int64_t pid = (int64_t)(owner >> 32);

	if (lease_ns < now)
		return true;
	if (pid <= 0 || pid > INT32_MAX)
		return true;	/* not a token this protocol hands out */
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/*
 * Claim a slot: free, expired or orphaned, by CAS of owner. The lease is
 * stored first, so that whoever sees our token also sees a fresh lease.
 */
static int claim(struct haywire_client *c, unsigned int *slot,
		 struct haywire_error *err)
{
	uint64_t start = hwi_now_ns(CLOCK_MONOTONIC);
	uint64_t deadline = start + c->timeout_ms * 1000000ULL;
	unsigned int k, n = c->ring.slots;
	int rc;

	for (;;) {
		uint64_t now = hwi_now_ns(CLOCK_MONOTONIC);
		unsigned int first = next_random(c, n);

		rc = check_alive(c, err);
		if (rc)
			return rc;
		for (k = 0; k < n; k++) {
			unsigned int i = (first + k) % n;
			struct hw_request *r = slot_request(c, i);
			__u64 owner = __atomic_load_n(&r->owner,
						      __ATOMIC_ACQUIRE);
			uint64_t lease = __atomic_load_n(&r->lease_ns,
							 __ATOMIC_RELAXED);

			if (owner && !reclaimable(owner, lease, now))
				continue;
			c->lease_end = now + c->lease_ms * 1000000ULL;
			__atomic_store_n(&r->lease_ns, c->lease_end,
					 __ATOMIC_RELAXED);
			if (__atomic_compare_exchange_n(&r->owner, &owner,
							c->token, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				*slot = i;
				return 0;
			}
		}
		if (now >= deadline)
			return hwi_fail(err, HAYWIRE_E_FULL,
					"the request ring is full: all %u slots were held by live clients for %u ms; try again",
					n, c->timeout_ms);
		sleep_ns(CLAIM_POLL_NS);
	}
}

static void release(struct haywire_client *c, unsigned int slot)
{
	struct hw_request *r = slot_request(c, slot);
	__u64 token = c->token;

	if (check_alive(c, NULL) == 0)
		__atomic_compare_exchange_n(&r->owner, &token, 0, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static int lost_slot(const struct haywire_client *c, unsigned int slot,
		     struct haywire_error *err)
{
	return hwi_fail(err, HAYWIRE_E_BUSY,
			"another client took over request slot %u (this one's lease of %u ms ran out): try again",
			slot, c->lease_ms);
}

/* Write the request and publish it by bumping seq; returns the new seq. */
static uint32_t submit(struct haywire_client *c, unsigned int slot,
		       const struct hwi_answer *a, uint64_t id,
		       uint64_t cursor)
{
	struct hw_request *r = slot_request(c, slot);
	uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED) + 1;

	if (seq == 0)	/* 0 is the value of a slot never used */
		seq = 1;
	r->type = a->type;
	r->id = id;
	r->pid = a->pid;
	r->arg = a->arg;
	r->addr = a->addr;
	r->len = a->len;
	r->cursor = cursor;
	memset(r->reserved, 0, sizeof(r->reserved));
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
	return seq;
}

/*
 * Wait for the answer to (seq, id) in the slot's response and copy it into
 * c->header and c->data. Answers with another id or owner are not ours.
 */
static int wait_answer(struct haywire_client *c, unsigned int slot,
		       uint32_t seq, uint64_t id, const char *what,
		       struct haywire_error *err)
{
	struct hw_request *r = slot_request(c, slot);
	uint64_t resp = c->ring.response_offset[slot];
	uint64_t start = hwi_now_ns(CLOCK_MONOTONIC), now;
	uint64_t pause = POLL_MIN_NS;
	uint32_t max_data = c->ring.response_stride -
			    (uint32_t)sizeof(struct hw_response);
	int rc;

	for (;;) {
		if (hwi_load_u32_acquire(c->mem, resp) == seq) {
			hwi_copy(c->mem, resp, &c->header, sizeof(c->header));
			if (c->header.id == id && c->header.owner == c->token) {
				if (c->header.data_len > max_data)
					return hwi_fail(err, HAYWIRE_E_CORRUPT,
							"the guest's answer to a %s request is invalid: %u bytes of data in a %u-byte response slot",
							what, c->header.data_len,
							c->ring.response_stride);
				hwi_copy(c->mem, resp + sizeof(c->header),
					 c->data, c->header.data_len);
				__atomic_thread_fence(__ATOMIC_ACQUIRE);
				/* Still ours and not rewritten meanwhile. */
				if (hwi_load_u32_acquire(c->mem, resp) == seq &&
				    __atomic_load_n(&r->owner,
						    __ATOMIC_ACQUIRE) == c->token &&
				    c->header.seq == seq)
					return 0;
			}
		}
		if (__atomic_load_n(&r->owner, __ATOMIC_ACQUIRE) != c->token)
			return lost_slot(c, slot, err);
		now = hwi_now_ns(CLOCK_MONOTONIC);
		if (now - start >= c->timeout_ms * 1000000ULL)
			return hwi_fail(err, HAYWIRE_E_TIMEOUT,
					"the guest did not answer the %s request within %u ms (is the guest paused or the haywire module's request polling stopped?)",
					what, c->timeout_ms);
		/* Renew at half the lease, for as long as the claim lasts. */
		if (now + c->lease_ms * 500000ULL >= c->lease_end) {
			rc = check_alive(c, err);
			if (rc)
				return rc;
			c->lease_end = now + c->lease_ms * 1000000ULL;
			__atomic_store_n(&r->lease_ns, c->lease_end,
					 __ATOMIC_RELAXED);
		}
		sleep_ns(pause);
		if (pause < POLL_MAX_NS)
			pause *= 2;
	}
}

struct exchange {
	struct haywire_client *c;
	struct hwi_answer *a;
	struct haywire_error *err;
};

/* One request, every chunk of its answer, in one claim of a slot. */
static int exchange_guarded(void *arg)
{
	struct exchange *x = arg;
	struct haywire_client *c = x->c;
	struct hwi_answer *a = x->a;
	const char *what = hwi_request_name(a->type);
	unsigned int slot = 0, busy = 0;
	uint64_t cursor = 0, next;
	int rc;

	/* The token names the process that opened the client. */
	if (getpid() != c->pid)
		return hwi_fail(x->err, HAYWIRE_E_INVALID,
				"a request client cannot be used after fork(): open one in each process");
	rc = claim(c, &slot, x->err);
	if (rc)
		return rc;
	for (;;) {
		uint64_t id = c->next_id++;
		uint32_t seq;

		rc = check_alive(c, x->err);
		if (rc)
			break;
		if (__atomic_load_n(&slot_request(c, slot)->owner,
				    __ATOMIC_ACQUIRE) != c->token) {
			rc = lost_slot(c, slot, x->err);
			break;
		}
		seq = submit(c, slot, a, id, cursor);
		rc = wait_answer(c, slot, seq, id, what, x->err);
		if (rc)
			break;
		if (c->header.status == HW_ST_BUSY && busy < BUSY_RETRIES) {
			sleep_ns(1000000ULL << busy++);
			continue;	/* the same piece again */
		}
		rc = hwi_answer_chunk(a, &c->header, c->data, &next, x->err);
		if (rc || !next || a->fn_rc)
			break;
		cursor = next;
		busy = 0;
	}
	release(c, slot);
	return rc;
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
