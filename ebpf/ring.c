// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request ring of haywire-bpf: the module's protocol (kmod/ringproto.c,
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
 *
 * The ring's protocol itself (the look at each slot, the checks every
 * request passes, the dispatch, cursors, the answer's publication) is the
 * module's, kmod/ringproto.c, compiled here too; this file is what each
 * request does (struct hw_ring_ops).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "ringproto.h"

#define POLL_FAST_US		50
#define POLL_MAX_MS		20
#define TRANSLATE_MAX_PAGES	65536
#define RUNS_PER_RESPONSE	(HW_RESPONSE_DATA_MAX / sizeof(struct hw_page_run))
#define REFRESH_WAIT_NS		(10ULL * 1000000000ULL)
#define JOB_DEADLINE_MS		1000
#define MAX_STUCK		4
#define PM_PRESENT		(1ULL << 63)
#define PM_SWAPPED		(1ULL << 62)
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define USER_TOP		(1ULL << 56)	/* above any user address */

/* A REFRESH waiting: a generation after the one published when it came. */
static uint64_t want_gen[HW_RING_SLOTS];
static struct hw_ring ring;
static atomic_int stuck_workers;

uint32_t ring_poll_max_ms(void)
{
	return POLL_MAX_MS;
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

static uint32_t do_detail(struct hw_ring *r, unsigned int slot,
			  const struct hw_request *req, struct hw_response *h)
{
	struct hw_proc_detail *d = hw_ring_data(r, slot);
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

/*
 * TRANSLATE and READ of a new range (past the ring's checks): a user
 * address range of a process that exists.
 */
static uint32_t iter_start(struct hw_ring *r, unsigned int slot,
			   const struct hw_request *req)
{
	char path[32];

	(void)r;
	(void)slot;
	if (req->addr >= USER_TOP || req->len > USER_TOP - req->addr)
		return HW_ST_BAD_ARG;
	snprintf(path, sizeof(path), "/proc/%d", req->pid);
	if (access(path, F_OK))
		return HW_ST_NO_PROCESS;
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

static uint32_t do_translate(struct hw_ring *r, unsigned int slot,
			     struct hw_response *h)
{
	struct hw_ring_iter *it = &r->slots[slot].it;
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
		memcpy(hw_ring_data(r, slot), j->buf,
		       j->got * sizeof(struct hw_page_run));
		h->data_len = (uint32_t)(j->got * sizeof(struct hw_page_run));
		if (j->next >= it->addr + it->len) {
			h->total = it->runs_sent + j->got;
			hw_ring_iter_end(r, slot);
		} else {
			it->next = j->next;
			it->runs_sent += j->got;
			h->cursor = hw_ring_iter_continue(it);
		}
	}
	job_put(j, false);
	return status;
}

static uint32_t do_read(struct hw_ring *r, unsigned int slot,
			struct hw_response *h)
{
	struct hw_ring_iter *it = &r->slots[slot].it;
	uint64_t left = it->addr + it->len - it->next;
	size_t n = left < HW_RESPONSE_DATA_MAX ? left : HW_RESPONSE_DATA_MAX;
	uint32_t why;
	size_t got;

	h->total = it->len;
	h->value[0] = it->next;
	got = safe_read(it->pid, it->next, hw_ring_data(r, slot), n, &why);
	if (!got)
		return why ? why : HW_ST_UNMAPPED;
	h->data_len = (uint32_t)got;
	it->next += got;
	if (got < left)
		h->cursor = hw_ring_iter_continue(it);
	return HW_ST_OK;
}

/* ---- what the requests do here (kmod/ringproto.c dispatches them) ----- */

/* Cameras: the module's argument checks, then "not here". */
static uint32_t camera_unsupported(const struct hw_request *req,
				   struct hw_response *h)
{
	char path[32];

	(void)h;
	if (req->arg >= HW_MAX_CAMERAS ||
	    (req->type == HW_REQ_CAMERA_SET && req->pid <= 0))
		return HW_ST_BAD_ARG;
	snprintf(path, sizeof(path), "/proc/%d", req->pid);
	if (req->type == HW_REQ_CAMERA_SET && access(path, F_OK))
		return HW_ST_NO_PROCESS;
	return HW_ST_UNSUPPORTED;
}

/*
 * A waiting REFRESH: done once a snapshot begun after it is out. (A
 * refresh asked while one runs may be answered by that one's successor:
 * want_gen is the generation after the one published when the request
 * came, so a refresh already under way counts only if it ends after;
 * close enough for "a snapshot at least this new".)
 */
static int refresh_result(struct hw_ring *r, unsigned int slot,
			  u64 *gen)
{
	(void)r;
	*gen = refresh_generation();
	return *gen >= want_gen[slot] + 1 ? 0 : -EAGAIN;
}

static uint32_t do_refresh(struct hw_ring *r, unsigned int slot,
			   const struct hw_request *req)
{
	want_gen[slot] = refresh_generation() + 1;
	refresh_ask();
	return hw_ring_refresh_wait(r, slot, req, REFRESH_WAIT_NS);
}

static u64 generation(void)
{
	return refresh_generation();
}

static bool read_allowed(void)
{
	return opts.allow_read;
}

static const struct hw_ring_ops ring_ops = {
	.generation = generation,
	.refresh = do_refresh,
	.refresh_result = refresh_result,
	.detail = do_detail,
	.camera = camera_unsupported,
	.read_allowed = read_allowed,
	.iter_start = iter_start,
	.translate = do_translate,
	.read = do_read,
};

void ring_init(uint64_t nonce)
{
	hw_ring_init(&ring, beacon.base + REQUESTS_OFFSET,
		     beacon.base + RESPONSES_OFFSET, nonce, &ring_ops);
}

void *ring_thread(void *arg)
{
	uint64_t interval_us = POLL_FAST_US;

	(void)arg;
	pthread_setname_np(pthread_self(), "hwb-ring");
	while (!atomic_load(&stopping)) {
		if (hw_ring_poll(&ring))
			interval_us = POLL_FAST_US;
		else if (interval_us * 2 < POLL_MAX_MS * 1000ULL)
			interval_us *= 2;
		else
			interval_us = POLL_MAX_MS * 1000ULL;
		usleep((useconds_t)interval_us);
	}
	return NULL;
}
