// SPDX-License-Identifier: GPL-2.0-only
/*
 * One refresh of haywire-bpf: run the task and task_vma iterators, turn
 * their raw records (hwb.h) into hw_proc and hw_vma records and the string
 * table (kmod/strtab.c, the module's own), write them into the snapshot
 * half no published section uses, and publish (kmod/publish.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hwb.h"
#include "hwb.skel.h"
#include "loader.h"

#define PF_WQ_WORKER	0x00000020
#define PF_KTHREAD	0x00200000
#define VM_READ		0x1
#define VM_WRITE	0x2
#define VM_EXEC		0x4
#define VM_MAYSHARE	0x80
/* Bounds on what one refresh reads from the iterators. */
#define ITER_MAX_BYTES	(256UL << 20)
#define READ_CHUNK	(256UL << 10)

struct buf {
	unsigned char *p;
	size_t len, cap;
};

struct refresher {
	struct bpf_link *tasks, *vmas;
	struct buf task_recs, vma_recs;
	struct hw_proc *procs;
	size_t procs_cap;
	struct hw_vma *vmas_out;
	size_t vmas_cap;
	struct hw_strtab strtab;
	struct hw_staging acct;
	struct hw_stats stats;
	struct hw_guest guest;
	struct hw_cpu_time *cpus;
	uint32_t nr_cpus;		/* possible CPUs: HW_SEC_CPUS records */
	pthread_mutex_t ask_lock;
	pthread_cond_t ask_cond;
	bool asked;
	_Atomic uint64_t generation;
};

static struct refresher r;

uint64_t refresh_generation(void)
{
	return atomic_load(&r.generation);
}

void refresh_ask(void)
{
	pthread_mutex_lock(&r.ask_lock);
	r.asked = true;
	pthread_cond_signal(&r.ask_cond);
	pthread_mutex_unlock(&r.ask_lock);
}

int refresh_init(struct hwb_bpf *skel)
{
	pthread_mutex_init(&r.ask_lock, NULL);
	pthread_cond_init(&r.ask_cond, NULL);
	r.tasks = bpf_program__attach_iter(skel->progs.hw_tasks, NULL);
	r.vmas = bpf_program__attach_iter(skel->progs.hw_vmas, NULL);
	if (!r.tasks || !r.vmas) {
		say("cannot attach the task and task_vma iterators: %s",
		    strerror(errno));
		return -1;
	}
	r.nr_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_CONF);
	if (r.nr_cpus < 1 || r.nr_cpus > 8192)
		r.nr_cpus = 1;
	r.cpus = calloc(r.nr_cpus, sizeof(*r.cpus));
	r.acct.max = UINT64_MAX;
	r.strtab.acct = &r.acct;
	r.strtab.nr_slots = 1024;
	r.strtab.slots = calloc(r.strtab.nr_slots, sizeof(*r.strtab.slots));
	r.strtab.cap = 64 * 1024;
	r.strtab.bytes = malloc(r.strtab.cap);
	if (!r.strtab.slots || !r.strtab.bytes || !r.cpus) {
		say("out of memory");
		return -1;
	}
	return 0;
}

/* Everything one run of an iterator writes, at most ITER_MAX_BYTES. */
static int run_iter(struct bpf_link *link, struct buf *b)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	ssize_t n;

	if (fd < 0)
		return -errno;
	b->len = 0;
	for (;;) {
		if (b->cap - b->len < READ_CHUNK) {
			size_t cap = b->cap ? b->cap * 2 : 4 * READ_CHUNK;
			unsigned char *p;

			if (cap > ITER_MAX_BYTES) {
				close(fd);
				return -E2BIG;
			}
			p = realloc(b->p, cap);
			if (!p) {
				close(fd);
				return -ENOMEM;
			}
			b->p = p;
			b->cap = cap;
		}
		n = read(fd, b->p + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t)n;
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The next record of a run, or NULL at the end (or at a malformed one). */
static const struct hwb_head *next_rec(const struct buf *b, size_t *at,
				       uint32_t kind, uint32_t size)
{
	const struct hwb_head *h;
	size_t stride;

	if (*at + sizeof(*h) > b->len)
		return NULL;
	h = (const void *)(b->p + *at);
	stride = size + ((h->name_len + 7) & ~7UL);
	if (h->kind != kind || h->size != size || h->name_len > HWB_NAME_MAX ||
	    *at + stride > b->len)
		return NULL;
	*at += stride;
	return h;
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (want <= *cap)
		return 0;
	while (n < want)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Intern a string; grows the table's bytes (its hash table grows itself). */
static int intern(const char *str, uint32_t len, struct hw_str *out)
{
	uint32_t hash;

	*out = (struct hw_str){ 0, 0 };
	if (!len)
		return 0;
	if (hw_strtab_find(&r.strtab, str, len, &hash, out))
		return 0;
	if ((uint64_t)r.strtab.used + len + 1 > r.strtab.cap) {
		uint64_t cap = (uint64_t)r.strtab.cap * 2 + len + 1;
		char *p;

		if (cap > UINT32_MAX)
			return -E2BIG;
		p = realloc(r.strtab.bytes, cap);
		if (!p)
			return -ENOMEM;
		r.strtab.bytes = p;
		r.strtab.cap = (uint32_t)cap;
	}
	hw_strtab_add(&r.strtab, str, len, hash, out);
	return 0;
}

static int intern_bracketed(const char *pre, const char *name, uint32_t len,
			    struct hw_str *out)
{
	char text[HWB_NAME_MAX + 32];
	int n = snprintf(text, sizeof(text), "[%s:%.*s]", pre, (int)len, name);

	return intern(text, (uint32_t)n, out);
}

/* /proc/PID/stat's state letter (task_state_index()). */
static char state_letter(uint32_t state, uint32_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	uint32_t s = (state | exit_state) & 0x7f;
	unsigned int i = 0;

	if (state == 0x402)		/* TASK_IDLE */
		s = 0x80;
	else if (state == 0x1000)	/* TASK_RTLOCK_WAIT */
		s = 0x2;
	while (s) {
		i++;
		s >>= 1;
	}
	return letters[i < sizeof(letters) - 1 ? i : 0];
}

static uint64_t pages_kb(int64_t pages)
{
	return pages > 0 ? (uint64_t)pages * (BASE_PAGE / 1024) : 0;
}

/* The last executable path sent, for hwb_task.exe_same. */
static struct hw_str last_exe;

static int fill_proc(const struct hwb_task *t, struct hw_proc *p)
{
	const char *name = (const char *)(t + 1);
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = t->pid;
	p->tgid = t->tgid;
	p->ppid = t->ppid;
	p->uid = t->uid;
	p->gid = t->gid;
	p->euid = t->euid;
	p->egid = t->egid;
	p->threads = t->threads;
	p->state = state_letter(t->state, t->exit_state);
	memcpy(p->comm, t->comm, HW_COMM_LEN);
	p->comm[HW_COMM_LEN - 1] = '\0';
	p->start_time_ns = t->start_boottime;
	p->nice = t->static_prio - 120;
	p->last_cpu = t->cpu;
	p->pidns_inum = t->pidns_inum;
	p->ns_pid = t->ns_pid;
	if (t->flags & PF_KTHREAD)
		p->flags |= HW_PF_KTHREAD;
	if (t->flags & PF_WQ_WORKER)
		p->flags |= HW_PF_WQ_WORKER;
	if (!t->has_mm) {
		p->flags |= HW_PF_NO_MM;
		return 0;
	}
	p->vsize_kb = pages_kb((int64_t)t->total_vm);
	p->rss_kb = pages_kb(t->rss[0] > 0 ? t->rss[0] : 0) +
		    pages_kb(t->rss[1]) + pages_kb(t->rss[3]);
	p->pgd = t->pgd;
	p->vma_total = t->map_count;
	if (t->exe_same) {	/* the previous record's (haywire.bpf.c) */
		p->exe = last_exe;
		return 0;
	}
	if (t->h.name_err == -ENAMETOOLONG)
		p->flags |= HW_PF_EXE_TRUNCATED;
	err = intern(name, t->h.name_len, &p->exe);
	if (t->h.name_len && !t->h.name_err)
		last_exe = p->exe;
	return err;
}

/* The previous path name, for HWB_NAME_SAME. */
static struct hw_str last_path;
static uint32_t last_path_flags;

static int fill_vma(const struct hwb_vma *v, struct hw_vma *o)
{
	int err;

	const char *name = (const char *)(v + 1);

	memset(o, 0, sizeof(*o));
	o->start = v->start;
	o->end = v->end;
	o->inode = v->ino;
	o->dev_major = v->dev >> 20;
	o->dev_minor = v->dev & 0xfffff;
	o->offset = v->pgoff * BASE_PAGE;	/* 0 without a file */
	o->flags = (v->vm_flags & VM_READ ? HW_VF_READ : 0) |
		   (v->vm_flags & VM_WRITE ? HW_VF_WRITE : 0) |
		   (v->vm_flags & VM_EXEC ? HW_VF_EXEC : 0) |
		   (v->vm_flags & VM_MAYSHARE ? HW_VF_SHARED : 0);
	switch (v->name_kind) {
	case HWB_NAME_SAME:
		o->name = last_path;
		o->flags |= last_path_flags;
		return 0;
	case HWB_NAME_PATH:
		if (v->h.name_err == -ENAMETOOLONG)
			o->flags |= HW_VF_NAME_TRUNCATED;
		err = intern(name, v->h.name_len, &o->name);
		last_path = o->name;
		last_path_flags = o->flags & HW_VF_NAME_TRUNCATED;
		return err;
	case HWB_NAME_TEXT:
		return intern(name, v->h.name_len, &o->name);
	case HWB_NAME_ANON:
		return intern_bracketed("anon", name, v->h.name_len, &o->name);
	case HWB_NAME_ANON_SHMEM:
		return intern_bracketed("anon_shmem", name, v->h.name_len,
					&o->name);
	}
	return 0;
}

struct built {
	size_t nprocs, nvmas;
	uint64_t vmas_total;
	uint32_t flags;
};

/*
 * Records into staging arrays: processes in pid order, each with its VMAs
 * (the iterators visit both in pid order, VMAs in address order).
 */
static int build(struct built *out)
{
	size_t ta = 0, va = 0;
	const struct hwb_head *th, *vh = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	hw_strtab_reset(&r.strtab);
	last_path = (struct hw_str){ 0, 0 };
	last_path_flags = 0;
	last_exe = (struct hw_str){ 0, 0 };
	vh = next_rec(&r.vma_recs, &va, HWB_VMA, sizeof(struct hwb_vma));
	while ((th = next_rec(&r.task_recs, &ta, HWB_TASK,
			      sizeof(struct hwb_task)))) {
		const struct hwb_task *t = (const void *)th;
		struct hw_proc *p;

		if (grow((void **)&r.procs, &r.procs_cap, out->nprocs + 1,
			 sizeof(*r.procs)))
			return -ENOMEM;
		p = &r.procs[out->nprocs++];
		err = fill_proc(t, p);
		if (err)
			return err;
		p->vma_first = (uint32_t)out->nvmas;
		/* VMAs of processes that are gone from the task list: skip */
		while (vh && ((const struct hwb_vma *)vh)->tgid < t->tgid)
			vh = next_rec(&r.vma_recs, &va, HWB_VMA,
				      sizeof(struct hwb_vma));
		while (vh && ((const struct hwb_vma *)vh)->tgid == t->tgid) {
			if (grow((void **)&r.vmas_out, &r.vmas_cap,
				 out->nvmas + 1, sizeof(*r.vmas_out)))
				return -ENOMEM;
			err = fill_vma((const void *)vh,
				       &r.vmas_out[out->nvmas++]);
			if (err)
				return err;
			p->vma_count++;
			vh = next_rec(&r.vma_recs, &va, HWB_VMA,
				      sizeof(struct hwb_vma));
		}
		/* the VMA walk saw the process change since the task walk */
		if (p->vma_total < p->vma_count)
			p->vma_total = p->vma_count;
		if (p->vma_count < p->vma_total)
			p->flags |= HW_PF_VMAS_TRUNCATED;
		out->vmas_total += p->vma_total;
	}
	if (ta != r.task_recs.len || (vh == NULL && va != r.vma_recs.len)) {
		say("malformed record from the iterators at %zu/%zu", ta, va);
		return -EPROTO;
	}
	return 0;
}

static uint64_t align64(uint64_t v)
{
	return (v + SECTION_ALIGN - 1) & ~(SECTION_ALIGN - 1);
}

/* Write the snapshot into the free half and publish it. */
static int publish(const struct built *bt, uint64_t t0, uint64_t t_procs,
		   uint64_t t_vmas)
{
	struct beacon *b = &beacon;
	struct hw_publication pub = { 0 };
	struct hw_range ram[HW_MAX_RAM_RANGES];
	uint64_t at = b->snap_start + (uint64_t)b->next_half * b->half;
	uint64_t stats_at = at, guest_at, cpus_at, procs_at, vmas_at;
	uint64_t strings_at, end;
	struct hw_frame f = { 0 };
	uint32_t ram_count;
	bool ram_trunc;

	guest_at = stats_at + align64(sizeof(struct hw_stats));
	cpus_at = guest_at + align64(sizeof(struct hw_guest));
	procs_at = cpus_at + align64(r.nr_cpus * sizeof(struct hw_cpu_time));
	vmas_at = procs_at + align64(bt->nprocs * sizeof(struct hw_proc));
	strings_at = vmas_at + align64(bt->nvmas * sizeof(struct hw_vma));
	end = strings_at + align64(r.strtab.used);
	if (end - at > b->half) {
		if (!r.stats.stalls)	/* once; the stalled flag says the rest */
			say("a snapshot of %llu KiB does not fit half of the beacon (%llu KiB): start with a larger -m",
			    (unsigned long long)((end - at) >> 10),
			    (unsigned long long)(b->half >> 10));
		return -ENOSPC;
	}
	guest_take(&r.guest, r.cpus, r.nr_cpus);
	memcpy(b->base + guest_at, &r.guest, sizeof(r.guest));
	memcpy(b->base + cpus_at, r.cpus, r.nr_cpus * sizeof(*r.cpus));
	memcpy(b->base + procs_at, r.procs, bt->nprocs * sizeof(*r.procs));
	memcpy(b->base + vmas_at, r.vmas_out, bt->nvmas * sizeof(*r.vmas_out));
	memcpy(b->base + strings_at, r.strtab.bytes, r.strtab.used);

	r.stats.refreshes++;
	r.stats.last_walk_procs_ns = t_procs - t0;
	r.stats.last_walk_vmas_ns = t_vmas - t_procs;
	r.stats.last_procs = bt->nprocs;
	r.stats.last_vmas = bt->nvmas;
	r.stats.string_bytes = r.strtab.used;
	r.stats.last_refresh_ns = now_ns(CLOCK_MONOTONIC) - t0;
	r.stats.last_total_ns = r.stats.last_refresh_ns;
	r.stats.last_publish_ns = r.stats.last_refresh_ns -
				  (t_vmas - t0);
	r.stats.refresh_ns_total += r.stats.last_refresh_ns;
	if (r.stats.last_refresh_ns > r.stats.max_refresh_ns)
		r.stats.max_refresh_ns = r.stats.last_refresh_ns;
	r.stats.alloc_failures = r.strtab.alloc_failures;
	r.stats.staging_bytes = r.task_recs.cap + r.vma_recs.cap +
				r.procs_cap * sizeof(*r.procs) +
				r.vmas_cap * sizeof(*r.vmas_out) + r.strtab.cap +
				r.strtab.nr_slots * sizeof(*r.strtab.slots);
	memcpy(b->base + stats_at, &r.stats, sizeof(r.stats));

	hw_pub_add_section(&pub, HW_SEC_STATS, sizeof(struct hw_stats),
			   stats_at, 1);
	hw_pub_add_section(&pub, HW_SEC_PROCS, sizeof(struct hw_proc),
			   procs_at, bt->nprocs);
	hw_pub_add_section(&pub, HW_SEC_VMAS, sizeof(struct hw_vma),
			   vmas_at, bt->nvmas);
	hw_pub_add_section(&pub, HW_SEC_STRINGS, 1, strings_at,
			   r.strtab.used);
	hw_pub_add_section(&pub, HW_SEC_REQUESTS, sizeof(struct hw_request),
			   REQUESTS_OFFSET, HW_RING_SLOTS);
	hw_pub_add_section(&pub, HW_SEC_RESPONSES, HW_RESPONSE_SLOT_SIZE,
			   RESPONSES_OFFSET, HW_RING_SLOTS);
	hw_pub_add_section(&pub, HW_SEC_GUEST, sizeof(struct hw_guest),
			   guest_at, 1);
	hw_pub_add_section(&pub, HW_SEC_CPUS, sizeof(struct hw_cpu_time),
			   cpus_at, r.nr_cpus);
	if (b->events_slots)
		hw_pub_add_section(&pub, HW_SEC_EVENTS, sizeof(struct hw_event),
				   FIXED_SIZE, b->events_slots);
	pub.flags = bt->flags;
	pub.interval_ms = opts.interval_ms;
	pub.poll_max_ms = ring_poll_max_ms();
	pub.procs_total = (uint32_t)bt->nprocs;
	pub.vmas_total = bt->vmas_total;
	pub.strings_total = r.strtab.used;
	pub.start = at;
	pub.size = end - at;

	beacon_set_ram(ram, &ram_count, &ram_trunc);
	f.extent_count = b->nr_extents;
	f.extents = b->extents;
	f.logical_size = b->size;
	f.ram_count = ram_count;
	f.ram = ram;
	f.ram_truncated = ram_trunc;
	pthread_mutex_lock(&b->lock);
	f.mono_ns = now_ns(CLOCK_MONOTONIC);
	f.boot_ns = now_ns(CLOCK_BOOTTIME);
	f.real_ns = now_ns(CLOCK_REALTIME);
	hw_pub_publish(&b->pub, &pub, &f);
	atomic_store(&r.generation, b->pub.generation);
	pthread_mutex_unlock(&b->lock);
	b->next_half ^= 1;
	return 0;
}

int refresh_once(void)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), t1, t2;
	struct built bt;
	int err;

	err = run_iter(r.tasks, &r.task_recs);
	t1 = now_ns(CLOCK_MONOTONIC);
	if (!err)
		err = run_iter(r.vmas, &r.vma_recs);
	t2 = now_ns(CLOCK_MONOTONIC);
	if (!err)
		err = build(&bt);
	if (!err)
		err = publish(&bt, t0, t1, t2);
	if (err) {
		r.stats.stalls++;
		pthread_mutex_lock(&beacon.lock);
		if (beacon.pub.generation)
			hw_pub_mark_stalled(&beacon.pub);
		pthread_mutex_unlock(&beacon.lock);
	}
	return err;
}

/* Refresh every interval, or sooner when the ring asks. */
void *refresh_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "hwb-refresh");
	while (!atomic_load(&stopping)) {
		struct timespec until;
		uint64_t at = now_ns(CLOCK_REALTIME) +
			      (uint64_t)opts.interval_ms * 1000000ULL;
		int err;

		until.tv_sec = (time_t)(at / 1000000000ULL);
		until.tv_nsec = (long)(at % 1000000000ULL);
		pthread_mutex_lock(&r.ask_lock);
		while (!r.asked && !atomic_load(&stopping) &&
		       pthread_cond_timedwait(&r.ask_cond, &r.ask_lock,
					      &until) == 0)
			;
		r.asked = false;
		pthread_mutex_unlock(&r.ask_lock);
		if (atomic_load(&stopping))
			break;
		err = refresh_once();
		if (err && err != -ENOSPC)
			say("refresh not published: %s", strerror(-err));
		if (getenv("HAYWIRE_BPF_DEBUG"))
			say("refresh %llu: %d", (unsigned long long)
			    refresh_generation(), err);
	}
	return NULL;
}
