// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request ring of haywire-bpf: the module's protocol (kmod/request.c,
 * docs/protocol.md "Requests") for PING, REFRESH, PROC_DETAIL, TRANSLATE
 * and READ, answered from user space through /proc; camera requests get
 * HW_ST_UNSUPPORTED. Requests are untrusted: every field is checked, every
 * answer bounded by the response slot.
 *
 * Process memory (READ, and the command line of PROC_DETAIL) is read only
 * where /proc/PID/pagemap says the page is in RAM, so that no read waits
 * for I/O (NFS, FUSE) or a userfaultfd handler; and everything that
 * touches another process's memory or mmap_lock (maps, pagemap, the read)
 * runs in a worker thread the ring waits for at most JOB_DEADLINE_MS, so
 * that even a page reclaimed in between, or an mmap_lock held for long,
 * cannot stop the ring: the answer is then BUSY, and after MAX_STUCK such
 * workers, every such request is BUSY until one finishes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"

#define POLL_FAST_US		50
#define POLL_MAX_MS		20
#define ITERATOR_IDLE_NS	(5ULL * 1000000000ULL)
#define TRANSLATE_MAX_PAGES	65536
#define RUNS_PER_RESPONSE	(HW_RESPONSE_DATA_MAX / sizeof(struct hw_page_run))
#define REFRESH_WAIT_NS		(10ULL * 1000000000ULL)
#define JOB_DEADLINE_MS		1000
#define MAX_STUCK		4
#define ST_LATER		UINT32_MAX
#define PM_PRESENT		(1ULL << 63)
#define PM_SWAPPED		(1ULL << 62)
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define USER_TOP		(1ULL << 56)	/* above any user address */

struct iterator {
	uint64_t cursor;		/* 0: none */
	uint32_t type;
	int32_t pid;
	uint64_t addr, len, next;
	uint64_t runs_sent;
	uint64_t last_used_ns;
};

struct slot {
	uint32_t seen;
	bool refresh_wait;
	uint64_t want_gen;		/* a generation after the request */
	uint64_t wait_until_ns;
	struct hw_request waiting;
	struct iterator it;
};

static struct hw_request *requests;
static unsigned char *responses;
static struct slot slots[HW_RING_SLOTS];
static uint64_t beacon_nonce;
static uint64_t heartbeat;
static atomic_int stuck_workers;

uint32_t ring_poll_max_ms(void)
{
	return POLL_MAX_MS;
}

static struct hw_response *response_of(unsigned int slot)
{
	return (struct hw_response *)(responses +
				      (size_t)slot * HW_RESPONSE_SLOT_SIZE);
}

static void *response_data(unsigned int slot)
{
	return response_of(slot) + 1;
}

/* As the module's answer_begin(): the old answer's seq changes first. */
static void answer_begin(unsigned int slot, uint32_t seq)
{
	__atomic_store_n(&response_of(slot)->seq, seq ^ 0x80000000U,
			 __ATOMIC_RELAXED);
	/* seq before the data; pairs with the host's fence before its
	 * second load of seq (host/lib/beacon/ring.c) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void answer(unsigned int slot, const struct hw_request *req,
		   uint32_t status, struct hw_response *h)
{
	struct hw_response *r = response_of(slot);

	if (status)
		h->data_len = 0;
	h->status = status;
	h->id = req->id;
	h->owner = req->owner;
	h->type = req->type;
	h->pid = req->pid;
	h->arg = req->arg;
	h->addr = req->addr;
	h->len = req->len;
	h->cursor_asked = req->cursor;
	h->nonce = beacon_nonce;
	memcpy((unsigned char *)r + sizeof(r->seq),
	       (unsigned char *)h + sizeof(h->seq),
	       offsetof(struct hw_response, heartbeat) - sizeof(h->seq));
	/* Pairs with the host's acquire load of seq before it copies. */
	__atomic_store_n(&r->seq, req->seq, __ATOMIC_RELEASE);
}

/* ---- work on another process's memory, within a deadline ------------- */

/*
 * Everything that touches another process's memory or its mmap_lock
 * (/proc/PID/maps and pagemap take it, process_vm_readv faults pages in)
 * runs as a job in a worker thread, which the ring waits for at most
 * JOB_DEADLINE_MS. A job past its deadline is left to finish on its own
 * (it owns its buffers and frees them); the answer is BUSY.
 */
struct job {
	void (*fn)(struct job *j);
	pid_t pid;
	uint64_t addr, len;		/* the range asked for */
	unsigned char *buf;		/* READ: bytes; TRANSLATE: runs */
	size_t got;			/* bytes, or runs */
	uint64_t next;			/* TRANSLATE: first address not done */
	uint32_t why;			/* READ: why it stopped short */
	bool done, abandoned;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void job_free(struct job *j)
{
	free(j->buf);
	free(j);
}

/* The worker and the ring each let go once; the second frees. */
static void job_put(struct job *j, bool by_worker)
{
	bool free_it;

	pthread_mutex_lock(&j->lock);
	free_it = by_worker ? j->abandoned : j->done;
	if (by_worker) {
		j->done = true;
		pthread_cond_signal(&j->cond);
	} else {
		j->abandoned = true;
	}
	pthread_mutex_unlock(&j->lock);
	if (free_it) {
		if (by_worker)
			atomic_fetch_sub(&stuck_workers, 1);
		job_free(j);
	}
}

static void *job_worker(void *arg)
{
	struct job *j = arg;

	j->fn(j);
	job_put(j, true);
	return NULL;
}

static struct job *job_new(void (*fn)(struct job *), pid_t pid,
			   uint64_t addr, uint64_t len, size_t buf_size)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->buf = malloc(buf_size);
	if (!j->buf) {
		free(j);
		return NULL;
	}
	j->fn = fn;
	j->pid = pid;
	j->addr = addr;
	j->len = len;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	return j;
}

/*
 * Run j in a worker: 0 when it is done (the caller reads it, then
 * job_put(j, false)), or -ETIMEDOUT / -EAGAIN (j is no longer the
 * caller's).
 */
static int job_run(struct job *j)
{
	struct timespec until;
	pthread_t t;
	uint64_t at;
	int rc = 0;

	if (atomic_load(&stuck_workers) >= MAX_STUCK ||
	    pthread_create(&t, NULL, job_worker, j)) {
		job_free(j);
		return -EAGAIN;
	}
	pthread_detach(t);
	at = now_ns(CLOCK_REALTIME) + JOB_DEADLINE_MS * 1000000ULL;
	until.tv_sec = (time_t)(at / 1000000000ULL);
	until.tv_nsec = (long)(at % 1000000000ULL);
	pthread_mutex_lock(&j->lock);
	while (!j->done && rc == 0)
		rc = pthread_cond_timedwait(&j->cond, &j->lock, &until);
	if (!j->done) {
		pthread_mutex_unlock(&j->lock);
		atomic_fetch_add(&stuck_workers, 1);
		job_put(j, false);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&j->lock);
	return 0;
}

/* Whether addr is in a readable VMA of pid (/proc/PID/maps). */
static int readable_at(pid_t pid, uint64_t addr, uint64_t *vma_end)
{
	char path[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8];

		if (!strchr(line, '\n')) {	/* a long path: skip its rest */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3)
			continue;
		if (addr >= s && addr < e) {
			found = perms[0] == 'r';
			*vma_end = e;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * A READ job: [addr, addr + len) page by page while each page is readable
 * and in RAM (pagemap), so that process_vm_readv() has nothing to wait
 * for; why says why it stopped short.
 */
static void read_job(struct job *j)
{
	uint64_t vma_end = 0;
	char path[64];
	int fd;

	j->why = HW_ST_OK;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", j->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		j->why = HW_ST_NO_PROCESS;
		return;
	}
	while (j->got < j->len) {
		uint64_t at = j->addr + j->got, entry = 0;
		size_t n = BASE_PAGE - (at % BASE_PAGE);
		struct iovec local, remote;
		ssize_t got;

		if (n > j->len - j->got)
			n = j->len - j->got;
		if (at >= vma_end) {
			int ok = readable_at(j->pid, at, &vma_end);

			if (ok <= 0) {
				j->why = ok < 0 ? HW_ST_NO_PROCESS :
						  HW_ST_UNMAPPED;
				break;
			}
		}
		if (pread(fd, &entry, 8, (off_t)(at / BASE_PAGE * 8)) != 8 ||
		    !(entry & PM_PRESENT)) {
			j->why = HW_ST_NOT_RESIDENT;
			break;
		}
		local.iov_base = j->buf + j->got;
		local.iov_len = n;
		remote.iov_base = (void *)(uintptr_t)at;
		remote.iov_len = n;
		got = process_vm_readv(j->pid, &local, 1, &remote, 1, 0);
		if (got <= 0) {
			j->why = got < 0 && errno == ESRCH ? HW_ST_NO_PROCESS :
							     HW_ST_UNMAPPED;
			break;
		}
		j->got += (size_t)got;
		if ((size_t)got < n)
			break;
	}
	close(fd);
}

/* READ through a job: bytes copied to out; *why as read_job's. */
static size_t safe_read(pid_t pid, uint64_t addr, void *out, size_t len,
			uint32_t *why)
{
	struct job *j = job_new(read_job, pid, addr, len, len ? len : 1);
	size_t got;

	if (!j) {
		*why = HW_ST_NO_MEMORY;
		return 0;
	}
	if (job_run(j)) {
		*why = HW_ST_BUSY;
		return 0;
	}
	got = j->got;
	*why = j->why;
	memcpy(out, j->buf, got);
	job_put(j, false);
	return got;
}

/* ---- PROC_DETAIL -------------------------------------------------------- */

static int read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	return (int)got;
}

static uint64_t status_hex(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static uint64_t status_dec(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void status_ids(const char *status, const char *key, uint32_t id[4])
{
	const char *p = strstr(status, key);
	unsigned int a[4] = { 0 };

	if (p)
		sscanf(p + strlen(key), "%u %u %u %u", &a[0], &a[1], &a[2],
		       &a[3]);
	memcpy(id, a, sizeof(a));
}

static uint32_t do_detail(unsigned int slot, const struct hw_request *req,
			  struct hw_response *h)
{
	struct hw_proc_detail *d = response_data(slot);
	char path[64], status[8192], stat[2048], *p;
	unsigned long long f[52] = { 0 };
	long tick = sysconf(_SC_CLK_TCK);
	unsigned char *tail = (unsigned char *)(d + 1);
	size_t room = HW_RESPONSE_DATA_MAX - sizeof(*d), n;
	uint32_t why;
	ssize_t cwd;
	int i;

	if (req->pid <= 0)
		return HW_ST_BAD_ARG;
	snprintf(path, sizeof(path), "/proc/%d/stat", req->pid);
	if (read_small(path, stat, sizeof(stat)) <= 0)
		return HW_ST_NO_PROCESS;
	snprintf(path, sizeof(path), "/proc/%d/status", req->pid);
	if (read_small(path, status, sizeof(status)) <= 0 ||
	    !strstr(status, "\nTgid:\t") ||
	    status_dec(status, "\nTgid:\t") != (uint64_t)req->pid)
		return HW_ST_NO_PROCESS;	/* gone, or a thread's pid */
	p = strrchr(stat, ')');
	if (!p || p[1] != ' ')
		return HW_ST_NO_PROCESS;
	memset(d, 0, sizeof(*d));
	d->state = p[2];
	/* fields from 4 on (f[4] is the ppid), after "pid (comm) S" */
	p += 4;
	for (i = 4; i < 52 && *p; i++) {
		f[i] = strtoull(p, &p, 10);
		while (*p == ' ')
			p++;
	}
	d->pid = req->pid;
	status_ids(status, "\nUid:\t", d->uid);
	status_ids(status, "\nGid:\t", d->gid);
	d->cap_effective = status_hex(status, "\nCapEff:\t");
	d->cap_permitted = status_hex(status, "\nCapPrm:\t");
	d->utime_ns = f[14] * (1000000000ULL / (uint64_t)tick);
	d->stime_ns = f[15] * (1000000000ULL / (uint64_t)tick);
	d->min_flt = f[10];
	d->maj_flt = f[12];
	d->nvcsw = status_dec(status, "\nvoluntary_ctxt_switches:\t");
	d->nivcsw = status_dec(status, "\nnonvoluntary_ctxt_switches:\t");
	d->sig_pending = status_hex(status, "\nSigPnd:\t");
	d->sig_shared_pending = status_hex(status, "\nShdPnd:\t");
	d->sig_blocked = status_hex(status, "\nSigBlk:\t");
	d->sig_ignored = status_hex(status, "\nSigIgn:\t");
	d->sig_caught = status_hex(status, "\nSigCgt:\t");
	d->threads = (uint32_t)status_dec(status, "\nThreads:\t");
	d->nice = (int32_t)(long long)f[19];
	d->policy = (uint32_t)f[41];
	d->exit_signal = (uint32_t)f[38];
	/* the argument area (stat fields 48, 49), only what is in RAM */
	if (f[48] && f[49] > f[48]) {
		n = f[49] - f[48];
		if (n > room / 2) {
			n = room / 2;
			d->flags |= HW_DF_CMDLINE_TRUNCATED;
		}
		d->cmdline_len = (uint32_t)safe_read(req->pid, f[48], tail, n,
						     &why);
		if (why && !d->cmdline_len)
			d->flags |= HW_DF_CMDLINE_UNAVAILABLE;
		else if (why)
			d->flags |= HW_DF_CMDLINE_TRUNCATED;
	}
	snprintf(path, sizeof(path), "/proc/%d/cwd", req->pid);
	cwd = readlink(path, (char *)tail + d->cmdline_len,
		       room - d->cmdline_len);
	if (cwd < 0 || (size_t)cwd >= room - d->cmdline_len) {
		d->flags |= HW_DF_CWD_UNAVAILABLE;
		cwd = 0;
	}
	d->cwd_len = (uint32_t)cwd;
	h->data_len = (uint32_t)(sizeof(*d) + d->cmdline_len + d->cwd_len);
	h->total = h->data_len;
	return HW_ST_OK;
}

/* ---- TRANSLATE and READ ------------------------------------------------- */

static void iterator_end(struct iterator *it)
{
	memset(it, 0, sizeof(*it));
}

static bool continues(const struct iterator *it, const struct hw_request *req)
{
	return it->cursor && req->cursor == it->cursor &&
	       req->type == it->type && req->pid == it->pid &&
	       req->addr == it->addr && req->len == it->len;
}

static uint64_t iterator_continue(struct iterator *it)
{
	uint64_t c = 0;

	if (getrandom(&c, sizeof(c), 0) != sizeof(c))
		c = now_ns(CLOCK_MONOTONIC);
	it->cursor = c | 1;
	it->last_used_ns = now_ns(CLOCK_MONOTONIC);
	return it->cursor;
}

static uint32_t iterator_get(struct iterator *it, const struct hw_request *req)
{
	char path[32];

	if (req->cursor)
		return it->cursor ? HW_ST_OK : HW_ST_EXPIRED;
	if (req->pid <= 0 || !req->len || req->len > UINT64_MAX - req->addr ||
	    req->addr >= USER_TOP || req->len > USER_TOP - req->addr)
		return HW_ST_BAD_ARG;
	snprintf(path, sizeof(path), "/proc/%d", req->pid);
	if (access(path, F_OK))
		return HW_ST_NO_PROCESS;
	it->type = req->type;
	it->pid = req->pid;
	it->addr = req->addr;
	it->len = req->len;
	it->next = req->addr;
	it->runs_sent = 0;
	return HW_ST_OK;
}

/* A TRANSLATE job: runs of [next, addr + len) from /proc/PID/pagemap. */
static void translate_job(struct job *j)
{
	struct hw_page_run *runs = (struct hw_page_run *)j->buf, *cur = NULL;
	uint64_t end = j->addr + j->len, entries[512];
	uint64_t va = j->next & ~(BASE_PAGE - 1), pages = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", j->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		j->why = HW_ST_NO_PROCESS;
		return;
	}
	while (va < end && pages < TRANSLATE_MAX_PAGES) {
		size_t want = (size_t)((end - va + BASE_PAGE - 1) / BASE_PAGE);
		ssize_t got;
		size_t i;

		if (want > 512)
			want = 512;
		got = pread(fd, entries, want * 8, (off_t)(va / BASE_PAGE * 8));
		if (got <= 0) {
			j->why = HW_ST_NO_PROCESS;
			break;
		}
		for (i = 0; i < (size_t)got / 8 && va < end; i++) {
			uint64_t e = entries[i];
			uint8_t state = e & PM_PRESENT ? HW_PAGE_PRESENT :
					e & PM_SWAPPED ? HW_PAGE_SWAPPED :
					HW_PAGE_UNMAPPED;
			uint64_t gpa = (e & PM_PFN_MASK) * BASE_PAGE;

			if (cur && cur->state == state &&
			    (state != HW_PAGE_PRESENT ||
			     cur->gpa + cur->len == gpa)) {
				cur->len += BASE_PAGE;
			} else {
				if (j->got == RUNS_PER_RESPONSE)
					goto full;
				cur = &runs[j->got++];
				memset(cur, 0, sizeof(*cur));
				cur->va = va;
				cur->len = BASE_PAGE;
				cur->state = state;
				cur->gpa = state == HW_PAGE_PRESENT ? gpa : 0;
				/* pagemap tells neither page size nor
				 * flags: HW_RF_UNKNOWN (1.4) */
				cur->page_shift = state ? 12 : 0;
				cur->flags = state == HW_PAGE_PRESENT ?
					     HW_RF_UNKNOWN : 0;
			}
			va += BASE_PAGE;
			pages++;
		}
	}
full:
	close(fd);
	j->next = va;
}

static uint32_t do_translate(unsigned int slot, struct iterator *it,
			     struct hw_response *h)
{
	struct job *j = job_new(translate_job, it->pid, it->addr, it->len,
				RUNS_PER_RESPONSE * sizeof(struct hw_page_run));
	uint32_t status;

	if (!j)
		return HW_ST_NO_MEMORY;
	j->next = it->next;
	if (job_run(j))
		return HW_ST_BUSY;
	status = j->why;
	if (!status) {
		memcpy(response_data(slot), j->buf,
		       j->got * sizeof(struct hw_page_run));
		h->data_len = (uint32_t)(j->got * sizeof(struct hw_page_run));
		if (j->next >= it->addr + it->len) {
			h->total = it->runs_sent + j->got;
			iterator_end(it);
		} else {
			it->next = j->next;
			it->runs_sent += j->got;
			h->cursor = iterator_continue(it);
		}
	}
	job_put(j, false);
	return status;
}

static uint32_t do_read(unsigned int slot, struct iterator *it,
			struct hw_response *h)
{
	uint64_t left = it->addr + it->len - it->next;
	size_t n = left < HW_RESPONSE_DATA_MAX ? left : HW_RESPONSE_DATA_MAX;
	uint32_t why;
	size_t got;

	h->total = it->len;
	h->value[0] = it->next;
	got = safe_read(it->pid, it->next, response_data(slot), n, &why);
	if (!got)
		return why ? why : HW_ST_UNMAPPED;
	h->data_len = (uint32_t)got;
	it->next += got;
	if (got < left)
		h->cursor = iterator_continue(it);
	return HW_ST_OK;
}

static uint32_t do_ranged(unsigned int slot, struct slot *s,
			  const struct hw_request *req, struct hw_response *h)
{
	uint32_t status;

	if (req->type == HW_REQ_READ && !opts.allow_read)
		return HW_ST_REFUSED;
	status = iterator_get(&s->it, req);
	if (!status)
		status = req->type == HW_REQ_READ ?
			 do_read(slot, &s->it, h) :
			 do_translate(slot, &s->it, h);
	if (!h->cursor)
		iterator_end(&s->it);
	return status;
}

/* ---- dispatch ------------------------------------------------------------ */

#define USES_PID	1U
#define USES_ARG	2U
#define USES_RANGE	4U

static const uint8_t fields_used[] = {
	[HW_REQ_PING] = 0,
	[HW_REQ_REFRESH] = 0,
	[HW_REQ_PROC_DETAIL] = USES_PID,
	[HW_REQ_CAMERA_SET] = USES_ARG | USES_PID,
	[HW_REQ_CAMERA_CLEAR] = USES_ARG,
	[HW_REQ_TRANSLATE] = USES_PID | USES_RANGE,
	[HW_REQ_READ] = USES_PID | USES_RANGE,
};

static bool unused_fields_clear(const struct hw_request *req)
{
	uint8_t uses = fields_used[req->type];
	unsigned int i;

	if ((!(uses & USES_PID) && req->pid) ||
	    (!(uses & USES_ARG) && req->arg) ||
	    (!(uses & USES_RANGE) && (req->addr || req->len || req->cursor)))
		return false;
	for (i = 0; i < sizeof(req->reserved) / sizeof(req->reserved[0]); i++)
		if (req->reserved[i])
			return false;
	return true;
}

/* Cameras: the module's argument checks, then "not here". */
static uint32_t camera_unsupported(const struct hw_request *req)
{
	char path[32];

	if (req->arg >= HW_MAX_CAMERAS ||
	    (req->type == HW_REQ_CAMERA_SET && req->pid <= 0))
		return HW_ST_BAD_ARG;
	snprintf(path, sizeof(path), "/proc/%d", req->pid);
	if (req->type == HW_REQ_CAMERA_SET && access(path, F_OK))
		return HW_ST_NO_PROCESS;
	return HW_ST_UNSUPPORTED;
}

static uint32_t dispatch(unsigned int slot, struct slot *s,
			 const struct hw_request *req, struct hw_response *h)
{
	if (req->type < HW_REQ_PING ||
	    req->type >= sizeof(fields_used) / sizeof(fields_used[0]))
		return HW_ST_BAD_TYPE;
	if (!unused_fields_clear(req))
		return HW_ST_BAD_ARG;
	switch (req->type) {
	case HW_REQ_PING:
		h->value[0] = now_ns(CLOCK_MONOTONIC);
		h->value[1] = refresh_generation();
		return HW_ST_OK;
	case HW_REQ_REFRESH:
		s->want_gen = refresh_generation() + 1;
		s->wait_until_ns = now_ns(CLOCK_MONOTONIC) + REFRESH_WAIT_NS;
		s->waiting = *req;
		s->refresh_wait = true;
		refresh_ask();
		return ST_LATER;
	case HW_REQ_PROC_DETAIL:
		return do_detail(slot, req, h);
	case HW_REQ_CAMERA_SET:
	case HW_REQ_CAMERA_CLEAR:
		return camera_unsupported(req);
	default:
		return do_ranged(slot, s, req, h);
	}
}

static void handle(unsigned int slot, struct slot *s,
		   const struct hw_request *req)
{
	struct hw_response h = { 0 };
	uint32_t status = HW_ST_OK;

	if (req->check && req->check != hw_request_check(req))
		status = HW_ST_TORN;
	else if (req->nonce && req->nonce != beacon_nonce)
		status = HW_ST_WRONG_BEACON;
	if (status) {
		answer_begin(slot, req->seq);
		answer(slot, req, status, &h);
		return;
	}
	if (!continues(&s->it, req))
		iterator_end(&s->it);
	answer_begin(slot, req->seq);
	status = dispatch(slot, s, req, &h);
	if (status != ST_LATER)
		answer(slot, req, status, &h);
}

/*
 * A waiting REFRESH: answered once a snapshot begun after it is out.
 * (A refresh asked while one runs may be answered by that one's
 * successor: want_gen is the generation after the one published when the
 * request came, so a refresh already under way counts only if it ends
 * after; close enough for "a snapshot at least this new".)
 */
static void check_refresh(unsigned int slot, struct slot *s, uint32_t seq)
{
	struct hw_response h = { 0 };
	uint64_t gen = refresh_generation();

	if (seq != s->waiting.seq) {
		s->refresh_wait = false;
		return;
	}
	if (gen < s->want_gen + 1 &&
	    now_ns(CLOCK_MONOTONIC) < s->wait_until_ns)
		return;
	s->refresh_wait = false;
	h.value[0] = gen;
	answer(slot, &s->waiting, gen >= s->want_gen + 1 ? HW_ST_OK :
	       HW_ST_BUSY, &h);
}

static void take_request(unsigned int slot, struct slot *s, uint32_t seq)
{
	struct hw_request *shared = &requests[slot];
	struct hw_request req;

	memcpy(&req, shared, sizeof(req));
	/* The copy before seq again; pairs with the host's release store. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&shared->seq, __ATOMIC_RELAXED) != seq)
		return;
	req.seq = seq;
	s->seen = seq;
	handle(slot, s, &req);
}

static bool poll_requests(void)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	bool active = false;
	unsigned int i;

	heartbeat++;
	for (i = 0; i < HW_RING_SLOTS; i++) {
		struct slot *s = &slots[i];
		/* Pairs with the host's release store of seq. */
		uint32_t seq = __atomic_load_n(&requests[i].seq,
					       __ATOMIC_ACQUIRE);

		__atomic_store_n(&response_of(i)->heartbeat, heartbeat,
				 __ATOMIC_RELAXED);
		if (s->refresh_wait) {
			check_refresh(i, s, seq);
			active = true;
		}
		if (s->it.cursor && now > s->it.last_used_ns + ITERATOR_IDLE_NS)
			iterator_end(&s->it);
		if (seq == s->seen)
			continue;
		active = true;
		take_request(i, s, seq);
	}
	return active;
}

void ring_init(uint64_t nonce)
{
	unsigned int i;

	requests = (struct hw_request *)(beacon.base + REQUESTS_OFFSET);
	responses = beacon.base + RESPONSES_OFFSET;
	beacon_nonce = nonce;
	for (i = 0; i < HW_RING_SLOTS; i++) {
		slots[i].seen = requests[i].seq;
		response_of(i)->nonce = nonce;
	}
}

void *ring_thread(void *arg)
{
	uint64_t interval_us = POLL_FAST_US;

	(void)arg;
	pthread_setname_np(pthread_self(), "hwb-ring");
	while (!atomic_load(&stopping)) {
		if (poll_requests())
			interval_us = POLL_FAST_US;
		else if (interval_us * 2 < POLL_MAX_MS * 1000ULL)
			interval_us *= 2;
		else
			interval_us = POLL_MAX_MS * 1000ULL;
		usleep((useconds_t)interval_us);
	}
	return NULL;
}
