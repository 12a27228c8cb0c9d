// SPDX-License-Identifier: MIT
/*
 * The agentless walk: the guest kernel's task list and each process's VMAs
 * read from the host, producing the same records as the beacon (so the same
 * output code and the same checks apply). What the module computes with
 * kernel helpers is recomputed here from the structures, following the
 * kernel's own rules: task_state_index(), get_task_mm(), get_mm_rss() (6.1)
 * or the per-CPU sums (6.2+), d_path() with its special dentry names, and
 * /proc/PID/maps' naming ([heap] and [stack] as 6.1 and 6.6+ define them,
 * special mappings such as [vdso]).
 *
 * Nothing here is a consistent snapshot: the guest runs on. Lists are
 * followed with their back links checked; a walk that meets a change it
 * cannot step around starts over (a few times, then HAYWIRE_E_BUSY), and
 * every count is bounded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "agentless.h"

#define WALK_ATTEMPTS		4
#define NAME_CACHE_MIN		256
#define NAME_CACHE_MAX		(1U << 16)
#define PATH_STEPS_MAX		2048	/* components and mount crossings */
#define SPECIAL_NAME_MAX	64
#define ANON_NAME_MAX		80	/* ANON_VMA_NAME_MAX_LEN */
#define VMA_SLACK		1024	/* VMAs beyond map_count, mid-change */

/* ---- strings ---------------------------------------------------------- */

/* Output strings, referred to by offset until the walk is done. */
struct arena {
	char *p;
	size_t len, cap;
	uint64_t id;	/* new when emptied: names cached in it are gone */
};

/* Arena ids, unique in the process (handles may live in other threads). */
static uint64_t arena_ids;

static void arena_empty(struct arena *ar)
{
	ar->len = 1;
	ar->id = __atomic_add_fetch(&arena_ids, 1, __ATOMIC_RELAXED);
}

static int arena_add(struct arena *ar, const char *s, size_t n, uint32_t *off,
		     struct haywire_error *err)
{
	if (!n) {
		*off = 0;	/* byte 0 is always "" */
		return 0;
	}
	if (ar->len + n + 1 > UINT32_MAX)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "names exceed 4 GiB");
	if (ar->len + n + 1 > ar->cap) {
		size_t cap = ar->cap ? ar->cap : 4096;
		char *p;

		while (cap < ar->len + n + 1)
			cap *= 2;
		p = realloc(ar->p, cap);
		if (!p)
			return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		ar->p = p;
		ar->cap = cap;
	}
	memcpy(ar->p + ar->len, s, n);
	ar->p[ar->len + n] = '\0';
	*off = (uint32_t)ar->len;
	ar->len += n + 1;
	return 0;
}

static int arena_init(struct arena *ar, struct haywire_error *err)
{
	ar->p = malloc(4096);
	if (!ar->p)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	ar->p[0] = '\0';
	ar->cap = 4096;
	arena_empty(ar);
	return 0;
}

/* ---- path names --------------------------------------------------------- */

static uint64_t mix(uint64_t k1, uint64_t k2)
{
	uint64_t h = k1 * 0x9e3779b97f4a7c15ULL ^ k2 * 0xc2b2ae3d27d4eb4fULL;

	return h ^ (h >> 29);
}

static struct hwi_name_entry *cache_slot(struct hwi_name_cache *c, uint64_t k1,
					 uint64_t k2)
{
	size_t i;

	if (!c->nslots)
		return NULL;
	for (i = mix(k1, k2) & (c->nslots - 1); c->slots[i].name;
	     i = (i + 1) & (c->nslots - 1))
		if (c->slots[i].k1 == k1 && c->slots[i].k2 == k2)
			break;
	return &c->slots[i];
}

/* Double the table (up to NAME_CACHE_MAX slots); false if it cannot. */
static bool cache_grow(struct hwi_name_cache *c)
{
	size_t n = c->nslots ? c->nslots * 2 : NAME_CACHE_MIN, i;
	struct hwi_name_cache bigger = { 0 };

	if (n > NAME_CACHE_MAX)
		return false;
	bigger.slots = calloc(n, sizeof(*bigger.slots));
	if (!bigger.slots)
		return false;
	bigger.nslots = n;
	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].name)
			*cache_slot(&bigger, c->slots[i].k1, c->slots[i].k2) =
				c->slots[i];
	bigger.used = c->used;
	free(c->slots);
	*c = bigger;
	return true;
}

static struct hwi_name_entry *cache_put(struct hwi_name_cache *c, uint64_t k1,
					uint64_t k2, const char *name,
					uint32_t len, uint32_t flags)
{
	struct hwi_name_entry *e;

	if ((c->used + 1) * 4 > c->nslots * 3 && !cache_grow(c))
		return NULL;	/* full: just do not cache */
	e = cache_slot(c, k1, k2);
	if (e->name)
		return NULL;
	e->name = malloc(len + 1);
	if (!e->name)
		return NULL;
	e->arena_id = 0;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->k1 = k1;
	e->k2 = k2;
	e->len = len;
	e->flags = flags;
	c->used++;
	return e;
}

/*
 * A cached name into the arena once per arena: a million processes of
 * one executable cost its path once, so the strings are bounded by the
 * distinct names the guest has, not by how often it repeats them.
 */
static int arena_add_cached(struct arena *ar, struct hwi_name_entry *e,
			    uint32_t *off, struct haywire_error *err)
{
	int rc;

	if (e->arena_id == ar->id && e->len) {
		*off = e->arena_off;
		return 0;
	}
	rc = arena_add(ar, e->name, e->len, off, err);
	if (!rc) {
		e->arena_id = ar->id;
		e->arena_off = *off;
	}
	return rc;
}

/*
 * Names are cached for one walk only: a dentry freed later may come back
 * as another file's.
 */
void hwi_names_free(struct hwi_name_cache *c)
{
	size_t i;

	for (i = 0; i < c->nslots; i++)
		free(c->slots[i].name);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

/* Building a path from its end, as the kernel's prepend() does. */
struct pbuf {
	char b[KX_DNAME_MAX + 512];
	size_t pos;		/* start of the text; end is sizeof(b) */
	bool too_long;
};

static void prepend(struct pbuf *p, const char *s, size_t n)
{
	if (p->too_long || n > p->pos) {
		p->too_long = true;
		return;
	}
	p->pos -= n;
	memcpy(p->b + p->pos, s, n);
}

static size_t plen(const struct pbuf *p)
{
	return sizeof(p->b) - p->pos;
}

/* A dentry's name, from the copy when it is inline (d_iname). */
static int dentry_name(struct haywire_agentless *a, uint64_t dentry,
		       const unsigned char *d, char *out, uint32_t *len,
		       struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint64_t name = hwi_get(d, &L->dentry_name);
	uint32_t n = (uint32_t)hwi_get(d, &L->dentry_name_len);

	if (n > 255 * 16)
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a dentry name of %u bytes at 0x%" PRIx64, n,
				dentry);
	*len = n;
	if (name >= dentry && name - dentry < L->dentry_size &&
	    n <= L->dentry_size - (name - dentry)) {
		memcpy(out, d + (name - dentry), n);
		return 0;
	}
	if (!hwi_kptr_ok(name, 1))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a bad dentry name pointer 0x%" PRIx64, name);
	return hwi_kread(a, name, out, n, err);
}

/*
 * A name from a d_dname() method (pseudo files): the ones the kernel
 * shows for mapped files. Returns false for methods this reader does not
 * know.
 */
static int dname_path(struct haywire_agentless *a, uint64_t fn,
		      uint64_t dentry, const unsigned char *d, struct pbuf *p,
		      bool *known, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	char name[255 * 16], num[48];
	uint32_t n;
	uint64_t ino = 0, inode = hwi_get(d, &L->dentry_inode);
	int rc;

	*known = true;
	if (hwi_ksym_is(a, fn, "simple_dname")) {
		rc = dentry_name(a, dentry, d, name, &n, err);
		if (rc)
			return rc;
		prepend(p, " (deleted)", 10);
		prepend(p, name, n);
		prepend(p, "/", 1);
		return 0;
	}
	if (hwi_ksym_is(a, fn, "anon_inodefs_dname")) {
		rc = dentry_name(a, dentry, d, name, &n, err);
		if (rc)
			return rc;
		prepend(p, name, n);
		prepend(p, "anon_inode:", 11);
		return 0;
	}
	if (hwi_ksym_is(a, fn, "pipefs_dname") ||
	    hwi_ksym_is(a, fn, "sockfs_dname")) {
		if (!hwi_kptr_ok(inode, 8))
			return hwi_fail(err, HAYWIRE_E_BUSY,
					"a pseudo dentry without an inode");
		rc = hwi_kread_u64(a, inode + L->inode_ino.off, &ino, err);
		if (rc)
			return rc;
		snprintf(num, sizeof(num), "%s:[%" PRIu64 "]",
			 hwi_ksym_is(a, fn, "pipefs_dname") ? "pipe" : "socket",
			 ino);
		prepend(p, num, strlen(num));
		return 0;
	}
	*known = false;
	return 0;
}

/* The mount fields a path walk needs, in one read. */
static int read_mount(struct haywire_agentless *a, uint64_t mount,
		      uint64_t *parent, uint64_t *mountpoint, uint64_t *root,
		      struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint32_t offs[3] = { L->mount_parent.off, L->mount_mountpoint.off,
			     L->mount_mnt.off + L->vfsmount_root.off };
	uint32_t lo = offs[0], hi = offs[0];
	unsigned char buf[4096];
	int i, rc;

	for (i = 1; i < 3; i++) {
		lo = offs[i] < lo ? offs[i] : lo;
		hi = offs[i] > hi ? offs[i] : hi;
	}
	if (hi + 8 - lo > sizeof(buf))
		return hwi_fail(err, HAYWIRE_E_CORRUPT, "struct mount too large");
	if (!hwi_kptr_ok(mount, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a bad mount pointer 0x%" PRIx64, mount);
	rc = hwi_kread(a, mount + lo, buf, hi + 8 - lo, err);
	if (rc)
		return rc;
	memcpy(parent, buf + offs[0] - lo, 8);
	memcpy(mountpoint, buf + offs[1] - lo, 8);
	memcpy(root, buf + offs[2] - lo, 8);
	return 0;
}

/*
 * d_path(): the path of (vfsmount, dentry) up to the root of its mount
 * tree, " (deleted)" for an unlinked dentry, special names for pseudo
 * files. *flags gets HW_VF_NAME_TRUNCATED when the name is longer than
 * PATH_MAX or cannot be reconstructed (then the name is empty).
 */
static int path_name(struct haywire_agentless *a, uint64_t vfsmnt,
		     uint64_t dentry, struct arena *ar, uint32_t *off,
		     uint32_t *len, uint32_t *flags, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	struct hwi_name_entry *hit = cache_slot(&a->names, vfsmnt, dentry);
	unsigned char d[1024];
	struct pbuf *p;
	uint64_t mount, mnt_root, parent_mount, mountpoint, cur, dop, fn = 0;
	unsigned int steps = 0;
	bool first = true, deleted;
	int rc;

	if (hit && hit->name) {
		*flags |= hit->flags;
		*len = hit->len;
		return arena_add_cached(ar, hit, off, err);
	}
	if (L->dentry_size > sizeof(d))
		return hwi_fail(err, HAYWIRE_E_CORRUPT, "struct dentry too large");
	if (!hwi_kptr_ok(dentry, 8) || !hwi_kptr_ok(vfsmnt, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a bad path (mount 0x%" PRIx64 ", dentry 0x%" PRIx64 ")",
				vfsmnt, dentry);
	p = malloc(sizeof(*p));
	if (!p)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	p->pos = sizeof(p->b);
	p->too_long = false;
	mount = vfsmnt - L->mount_mnt.off;
	rc = read_mount(a, mount, &parent_mount, &mountpoint, &mnt_root, err);
	if (!rc)
		rc = hwi_kread(a, dentry, d, L->dentry_size, err);
	if (rc)
		goto out;
	dop = hwi_get(d, &L->dentry_op);
	if (dop) {
		rc = hwi_kptr_ok(dop, 8) ?
		     hwi_kread_u64(a, dop + L->dop_dname.off, &fn, err) :
		     hwi_fail(err, HAYWIRE_E_BUSY, "a bad d_op pointer");
		if (rc)
			goto out;
	}
	if (fn && (hwi_get(d, &L->dentry_parent) != dentry ||
		   dentry != mnt_root)) {
		bool known;

		rc = dname_path(a, fn, dentry, d, p, &known, err);
		if (rc)
			goto out;
		if (!known) {
			const char *sym = hwi_ksym_at(a, fn);

			a->unknown_names++;
			snprintf(a->unknown_what, sizeof(a->unknown_what),
				 "%s", sym ? sym : "an unknown d_dname method");
			p->too_long = true;
		}
		goto done;
	}
	deleted = !hwi_get(d, &L->dentry_hash_pprev) &&
		  hwi_get(d, &L->dentry_parent) != dentry;
	if (deleted)
		prepend(p, " (deleted)", 10);
	{
		size_t tail = plen(p);

		for (cur = dentry; ; ) {
			char name[255 * 16];
			uint32_t n;
			uint64_t parent;

			if (++steps > PATH_STEPS_MAX) {
				p->too_long = true;
				break;
			}
			if (cur == mnt_root) {
				if (parent_mount == mount)
					break;	/* the root, or detached */
				cur = mountpoint;
				mount = parent_mount;
				rc = read_mount(a, mount, &parent_mount,
						&mountpoint, &mnt_root, err);
				if (rc)
					goto out;
				first = false;
				continue;
			}
			if (!first) {
				if (!hwi_kptr_ok(cur, 8)) {
					rc = hwi_fail(err, HAYWIRE_E_BUSY,
						      "a bad dentry pointer 0x%" PRIx64,
						      cur);
					goto out;
				}
				rc = hwi_kread(a, cur, d, L->dentry_size, err);
				if (rc)
					goto out;
			}
			first = false;
			parent = hwi_get(d, &L->dentry_parent);
			if (parent == cur) {
				/* escaped its mount: the kernel prints "/" */
				p->pos = sizeof(p->b) - tail;
				break;
			}
			rc = dentry_name(a, cur, d, name, &n, err);
			if (rc)
				goto out;
			prepend(p, name, n);
			prepend(p, "/", 1);
			cur = parent;
		}
		if (plen(p) == tail)
			prepend(p, "/", 1);
	}
done:
	/* d_path() works in a PATH_MAX buffer, NUL included */
	if (p->too_long || plen(p) + 1 > KX_DNAME_MAX) {
		*flags |= HW_VF_NAME_TRUNCATED;
		*len = 0;
		*off = 0;
		cache_put(&a->names, vfsmnt, dentry, "", 0,
			  HW_VF_NAME_TRUNCATED);
		rc = 0;
		goto out;
	}
	*len = (uint32_t)plen(p);
	hit = cache_put(&a->names, vfsmnt, dentry, p->b + p->pos, *len, 0);
	rc = hit ? arena_add_cached(ar, hit, off, err) :
	     arena_add(ar, p->b + p->pos, *len, off, err);
out:
	free(p);
	return rc;
}

/* ---- tasks ------------------------------------------------------------ */

/* Called with the task copied in a->task_buf; *stop ends the walk. */
typedef int (*task_fn)(struct haywire_agentless *a, uint64_t task, void *arg,
		       bool *stop, struct haywire_error *err);

static int walk_tasks_once(struct haywire_agentless *a, task_fn fn, void *arg,
			   struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint64_t init, head, next, prev_link, steps = 0;
	bool stop = false;
	int rc;

	if (!hwi_ksym(a, "init_task", &init))
		return hwi_fail(err, HAYWIRE_E_MISMATCH, "no init_task symbol");
	head = init + L->task_tasks.off;
	rc = hwi_kread_u64(a, head, &next, err);
	if (rc)
		return rc;
	prev_link = head;
	while (next != head) {
		uint64_t task, back;

		if (++steps > KX_PID_MAX_LIMIT)
			return hwi_fail(err, HAYWIRE_E_CORRUPT,
					"the task list has more than %d entries",
					KX_PID_MAX_LIMIT);
		if (!hwi_kptr_ok(next, 8))
			return hwi_fail(err, HAYWIRE_E_BUSY,
					"a bad task list link 0x%" PRIx64, next);
		task = next - L->task_tasks.off;
		rc = hwi_kread(a, task, a->task_buf, L->task_size, err);
		if (rc)
			return rc == HAYWIRE_E_INVALID ? HAYWIRE_E_BUSY : rc;
		memcpy(&back, a->task_buf + L->task_tasks.off + 8, 8);
		if (back != prev_link) {
			/* The list changed here: look again from the last
			 * good entry. */
			uint64_t again;

			rc = hwi_kread_u64(a, prev_link, &again, err);
			if (rc)
				return rc;
			if (again == next)
				return hwi_fail(err, HAYWIRE_E_BUSY,
						"the task list changed under the walk at 0x%" PRIx64,
						task);
			next = again;
			continue;
		}
		rc = fn(a, task, arg, &stop, err);
		if (rc || stop)
			return rc;
		prev_link = next;
		next = hwi_get(a->task_buf, &L->task_tasks);
	}
	return 0;
}

/* After the last attempt: say so, with the last reason. */
static int busy_again(struct haywire_error *err, const char *what)
{
	char last[HAYWIRE_MSG_MAX];

	snprintf(last, sizeof(last), "%s", err ? err->msg : "");
	return hwi_fail(err, HAYWIRE_E_BUSY,
			"%s during %d walks (last: %.250s); try again", what,
			WALK_ATTEMPTS, last);
}

static int walk_tasks(struct haywire_agentless *a, task_fn fn,
		      void (*restart)(void *arg), void *arg,
		      struct haywire_error *err)
{
	unsigned int attempt;
	int rc = 0;

	for (attempt = 1; attempt <= WALK_ATTEMPTS; attempt++) {
		if (attempt > 1 && restart)
			restart(arg);
		rc = walk_tasks_once(a, fn, arg, err);
		if (rc != HAYWIRE_E_BUSY)
			return rc;
	}
	return busy_again(err, "the guest's task list kept changing");
}

/* task_state_index() and task_index_to_char() */
static char state_letter(uint32_t state, uint32_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	uint32_t s = (state | exit_state) & KX_TASK_REPORT;
	unsigned int idx = 0;

	if ((state & KX_TASK_IDLE) == KX_TASK_IDLE)
		s = KX_TASK_REPORT + 1;
	if (state & KX_TASK_RTLOCK_WAIT)
		s = KX_TASK_UNINTERRUPTIBLE;
	while (s) {	/* fls() */
		idx++;
		s >>= 1;
	}
	return idx < sizeof(letters) - 1 ? letters[idx] : '?';
}

/* Resident pages as get_mm_rss() (6.1) or the per-CPU sums (6.2+). */
static int mm_rss_pages(struct haywire_agentless *a, const unsigned char *mm,
			uint64_t *pages, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	const unsigned char *stat = mm + L->mm_rss_stat.off;
	uint64_t base = 0;
	unsigned int i, cpu, n = L->mm_rss_stat.nelems;
	bool contiguous = true;
	int64_t sums[3];
	int rc;

	*pages = 0;
	if (!L->rss_percpu) {
		for (i = 0; i < 3; i++) {
			int64_t v;

			memcpy(&v, stat + L->mm_counter[i] * 8, 8);
			*pages += v > 0 ? (uint64_t)v : 0;
		}
		return 0;
	}
	/* percpu_counter_init_many() gives the counters of one mm
	 * consecutive s32s per CPU: one read per CPU then. */
	for (i = 0; i < n; i++) {
		uint64_t c;

		memcpy(&c, stat + i * L->pcc_size + L->pcc_counters.off, 8);
		if (!i)
			base = c;
		else if (c != base + 4 * i)
			contiguous = false;
	}
	for (i = 0; i < 3; i++)
		memcpy(&sums[i], stat + L->mm_counter[i] * L->pcc_size +
		       L->pcc_count.off, 8);
	for (cpu = 0; cpu < a->nr_cpus; cpu++) {
		int32_t vals[16];

		if (!a->cpu_online[cpu])
			continue;
		if (contiguous && n <= 16) {
			rc = hwi_kread(a, base + a->cpu_offset[cpu], vals,
				       n * 4, err);
			if (rc)
				return rc;
			for (i = 0; i < 3; i++)
				sums[i] += vals[L->mm_counter[i]];
			continue;
		}
		for (i = 0; i < 3; i++) {
			uint64_t c;
			int32_t v;

			memcpy(&c, stat + L->mm_counter[i] * L->pcc_size +
			       L->pcc_counters.off, 8);
			rc = hwi_kread(a, c + a->cpu_offset[cpu], &v, 4, err);
			if (rc)
				return rc;
			sums[i] += v;
		}
	}
	for (i = 0; i < 3; i++)
		*pages += sums[i] > 0 ? (uint64_t)sums[i] : 0;
	return 0;
}

/* A struct file's user-visible path (file_user_path(), 6.8+) or f_path. */
static void file_path(struct haywire_agentless *a, const unsigned char *f,
		      bool user, uint64_t *mnt, uint64_t *dentry)
{
	const struct hwi_layout *L = &a->L;

	if (user && L->backing_mnt.have &&
	    (hwi_get(f, &L->file_mode) & KX_FMODE_BACKING)) {
		*mnt = hwi_get(f, &L->backing_mnt);
		*dentry = hwi_get(f, &L->backing_dentry);
		return;
	}
	*mnt = hwi_get(f, &L->file_mnt);
	*dentry = hwi_get(f, &L->file_dentry);
}

static int read_file(struct haywire_agentless *a, uint64_t file,
		     unsigned char *buf, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint32_t size = L->file_size;

	/* a backing file extends struct file with the user's path */
	if (L->backing_dentry.have && L->backing_dentry.off + 8 > size)
		size = L->backing_dentry.off + 8;
	if (size > 4096)
		return hwi_fail(err, HAYWIRE_E_CORRUPT, "struct file too large");
	if (!hwi_kptr_ok(file, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a bad file pointer 0x%" PRIx64, file);
	return hwi_kread(a, file, buf, size, err);
}

/* Real and effective ids from the task's cred, in one read. */
static int read_ids(struct haywire_agentless *a, uint64_t cred_va,
		    struct haywire_proc *p, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	const struct hwi_field *ids[4] = { &L->cred_uid, &L->cred_gid,
					   &L->cred_euid, &L->cred_egid };
	uint32_t *out[4] = { &p->uid, &p->gid, &p->euid, &p->egid };
	uint32_t lo = ids[0]->off, hi = ids[0]->off;
	unsigned char cred[256];
	unsigned int i;
	int rc;

	for (i = 1; i < 4; i++) {
		lo = ids[i]->off < lo ? ids[i]->off : lo;
		hi = ids[i]->off > hi ? ids[i]->off : hi;
	}
	if (hi + 4 - lo > sizeof(cred) || !hwi_kptr_ok(cred_va, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"pid %d: a bad cred pointer 0x%" PRIx64, p->pid,
				cred_va);
	rc = hwi_kread(a, cred_va + lo, cred, hi + 4 - lo, err);
	if (rc)
		return rc;
	/* the copy starts at field offset lo */
	for (i = 0; i < 4; i++)
		memcpy(out[i], cred + ids[i]->off - lo, 4);
	return 0;
}

struct proc_extra {
	uint64_t task, parent, mm;
	uint32_t exe_off;
};

/* The process record of the task in a->task_buf (ppid: see *extra). */
static int fill_proc(struct haywire_agentless *a, uint64_t task,
		     struct haywire_proc *p, struct proc_extra *extra,
		     struct arena *ar, unsigned char *mm_buf,
		     struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	const char *t = a->task_buf;
	uint32_t flags;
	uint64_t signal, mm, exe, pages;
	int32_t nr_threads;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(extra, 0, sizeof(*extra));
	extra->task = task;
	p->pid = (int32_t)hwi_get_s32(t, &L->task_pid);
	p->tgid = (int32_t)hwi_get_s32(t, &L->task_tgid);
	flags = (uint32_t)hwi_get(t, &L->task_flags);
	if (flags & KX_PF_KTHREAD)
		p->flags |= HW_PF_KTHREAD;
	if (flags & KX_PF_WQ_WORKER)
		p->flags |= HW_PF_WQ_WORKER;
	p->state = state_letter((uint32_t)hwi_get(t, &L->task_state),
				(uint32_t)hwi_get(t, &L->task_exit_state));
	memcpy(p->comm, t + L->task_comm.off, HW_COMM_LEN);
	p->comm[HW_COMM_LEN - 1] = '\0';
	p->start_time_ns = hwi_get(t, &L->task_start_boottime);
	/* as /proc: the parent of a task without a pid is 0 */
	if (hwi_get(t, &L->task_thread_pid))
		extra->parent = hwi_get(t, &L->task_real_parent);

	rc = read_ids(a, hwi_get(t, &L->task_real_cred), p, err);
	if (rc)
		return rc;
	signal = hwi_get(t, &L->task_signal);
	if (!hwi_kptr_ok(signal, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"pid %d: a bad signal pointer 0x%" PRIx64,
				p->pid, signal);
	rc = hwi_kread(a, signal + L->signal_nr_threads.off, &nr_threads, 4,
		       err);
	if (rc)
		return rc;
	p->threads = nr_threads > 0 ? (uint32_t)nr_threads : 0;

	/* get_task_mm(): none for kernel threads */
	mm = hwi_get(t, &L->task_mm);
	if (!mm || (flags & KX_PF_KTHREAD)) {
		p->flags |= HW_PF_NO_MM;
		return 0;
	}
	if (!hwi_kptr_ok(mm, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"pid %d: a bad mm pointer 0x%" PRIx64, p->pid,
				mm);
	extra->mm = mm;
	rc = hwi_kread(a, mm, mm_buf, L->mm_size, err);
	if (rc)
		return rc;
	p->vsize_kb = hwi_get(mm_buf, &L->mm_total_vm) <<
		      (KX_PAGE_SHIFT - 10);
	rc = mm_rss_pages(a, mm_buf, &pages, err);
	if (rc)
		return rc;
	p->rss_kb = pages << (KX_PAGE_SHIFT - 10);
	p->pgd = hwi_get(mm_buf, &L->mm_pgd) - a->info.page_offset_base;
	p->vma_total = (uint32_t)hwi_get(mm_buf, &L->mm_map_count);
	p->vma_count = p->vma_total;
	exe = hwi_get(mm_buf, &L->mm_exe_file);
	if (exe && ar) {
		unsigned char f[4096];
		uint64_t mnt, dentry;
		uint32_t vflags = 0;

		rc = read_file(a, exe, f, err);
		if (rc)
			return rc;
		file_path(a, f, false, &mnt, &dentry);
		rc = path_name(a, mnt, dentry, ar, &extra->exe_off,
			       &p->exe_len, &vflags, err);
		if (rc)
			return rc;
		if (vflags & HW_VF_NAME_TRUNCATED)
			p->flags |= HW_PF_EXE_TRUNCATED;
	}
	return 0;
}

/* ---- ps ----------------------------------------------------------------- */

struct collect {
	struct haywire_proc *procs;
	struct proc_extra *extra;
	size_t n, cap;
	struct arena strings;
	unsigned char *mm_buf;
};

static void collect_restart(void *arg)
{
	struct collect *c = arg;

	c->n = 0;
	arena_empty(&c->strings);
}

static int collect_task(struct haywire_agentless *a, uint64_t task, void *arg,
			bool *stop, struct haywire_error *err)
{
	struct collect *c = arg;
	int rc;

	(void)stop;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct haywire_proc *p = realloc(c->procs, cap * sizeof(*p));
		struct proc_extra *e;

		if (!p)
			return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		c->procs = p;
		e = realloc(c->extra, cap * sizeof(*e));
		if (!e)
			return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		c->extra = e;
		c->cap = cap;
	}
	rc = fill_proc(a, task, &c->procs[c->n], &c->extra[c->n],
		       &c->strings, c->mm_buf, err);
	if (!rc)
		c->n++;
	return rc;
}

static int cmp_proc_pid(const void *x, const void *y)
{
	const struct haywire_proc *a = x, *b = y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

struct by_task {
	uint64_t task;
	int32_t tgid;
};

static int cmp_by_task(const void *x, const void *y)
{
	const struct by_task *a = x, *b = y;

	return (a->task > b->task) - (a->task < b->task);
}

/*
 * A top-level table is a page, except arm64's with 52-bit VAs in 5 levels:
 * 16 entries from a slab cache (Linux's PGD_SIZE < PAGE_SIZE).
 */
static uint64_t pgd_align(const struct haywire_agentless *a)
{
	return a->arch == HW_ARCH_ARM64 && a->info.paging_levels == 5 ?
	       128 : 4096;
}

static void fill_info(struct haywire_agentless *a, struct haywire_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->kernel_release, sizeof(info->kernel_release), "%s",
		 a->info.release);
	info->arch = a->arch;
	info->paging_levels = a->info.paging_levels;
	info->page_size = 4096;
	if (a->unknown_names)
		snprintf(info->note, sizeof(info->note),
			 "%u file names could not be reconstructed (their kernel names them with %s); they show as empty",
			 a->unknown_names, a->unknown_what);
}

int haywire_agentless_procs(struct haywire_agentless *a,
			    struct haywire_procs **out,
			    struct haywire_error *err)
{
	struct collect c = { 0 };
	struct haywire_procs *procs = NULL;
	struct by_task *index = NULL;
	size_t i;
	int rc;

	*out = NULL;
	a->unknown_names = 0;
	hwi_names_free(&a->names);
	c.mm_buf = malloc(a->L.mm_size);
	rc = c.mm_buf ? arena_init(&c.strings, err) :
	     hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	if (!rc)
		rc = walk_tasks(a, collect_task, collect_restart, &c, err);
	if (rc)
		goto out;

	/* ppid: the tgid of the real parent, a leader we saw or not */
	index = malloc((c.n ? c.n : 1) * sizeof(*index));
	if (!index) {
		rc = hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < c.n; i++) {
		index[i].task = c.extra[i].task;
		index[i].tgid = c.procs[i].tgid;
	}
	if (c.n)
		qsort(index, c.n, sizeof(*index), cmp_by_task);
	for (i = 0; i < c.n; i++) {
		struct by_task key = { c.extra[i].parent, 0 }, *hit;
		int32_t tgid;

		if (!key.task)
			continue;
		hit = bsearch(&key, index, c.n, sizeof(*index), cmp_by_task);
		if (hit) {
			c.procs[i].ppid = hit->tgid;
			continue;
		}
		if (!hwi_kptr_ok(key.task, 8)) {
			rc = hwi_fail(err, HAYWIRE_E_BUSY,
				      "pid %d: a bad parent pointer",
				      c.procs[i].pid);
			goto out;
		}
		rc = hwi_kread(a, key.task + a->L.task_tgid.off, &tgid, 4, err);
		if (rc)
			goto out;
		c.procs[i].ppid = tgid;
	}

	procs = calloc(1, sizeof(*procs));
	if (!procs) {
		rc = hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto out;
	}
	/* exe points into the strings: set once they stopped moving */
	for (i = 0; i < c.n; i++)
		c.procs[i].exe = c.strings.p + c.extra[i].exe_off;
	if (c.n)
		qsort(c.procs, c.n, sizeof(*c.procs), cmp_proc_pid);
	fill_info(a, &procs->info);
	procs->info.procs = procs->info.procs_total = c.n;
	procs->count = c.n;
	procs->procs = c.procs;
	procs->string_copy = c.strings.p;
	c.procs = NULL;
	c.strings.p = NULL;
	*out = procs;
out:
	free(index);
	free(c.procs);
	free(c.extra);
	free(c.strings.p);
	free(c.mm_buf);
	return rc;
}

/* ---- one process ------------------------------------------------------ */

struct find {
	int32_t pid;
	bool found;
	uint64_t task;
};

static int find_task(struct haywire_agentless *a, uint64_t task, void *arg,
		     bool *stop, struct haywire_error *err)
{
	struct find *f = arg;

	(void)err;
	if ((int32_t)hwi_get_s32(a->task_buf, &a->L.task_pid) != f->pid)
		return 0;
	f->found = true;
	f->task = task;
	*stop = true;
	return 0;
}

/* The leader `pid`, copied into a->task_buf. */
static int lookup(struct haywire_agentless *a, int32_t pid, uint64_t *task,
		  struct haywire_error *err)
{
	struct find f = { .pid = pid };
	int rc = walk_tasks(a, find_task, NULL, &f, err);

	if (rc)
		return rc;
	if (!f.found)
		return hwi_fail(err, HAYWIRE_E_NOT_FOUND,
				"no process %d in the guest's task list", pid);
	*task = f.task;
	return 0;
}

int haywire_agentless_paging(struct haywire_agentless *a, int32_t pid,
			     struct haywire_paging *paging,
			     struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint64_t task, mm, pgd;
	uint32_t flags;
	int rc = lookup(a, pid, &task, err);

	if (rc)
		return rc;
	flags = (uint32_t)hwi_get(a->task_buf, &L->task_flags);
	mm = hwi_get(a->task_buf, &L->task_mm);
	if (!mm || (flags & KX_PF_KTHREAD))
		return hwi_fail(err, HAYWIRE_E_NOT_FOUND,
				"process %d has no user address space (a kernel thread or a zombie)",
				pid);
	if (!hwi_kptr_ok(mm, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY, "pid %d: a bad mm pointer",
				pid);
	rc = hwi_kread_u64(a, mm + L->mm_pgd.off, &pgd, err);
	if (rc)
		return rc;
	if (pgd < a->info.page_offset_base ||
	    pgd - a->info.page_offset_base >= a->ram_end ||
	    pgd & (pgd_align(a) - 1))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"pid %d: its page-table root 0x%" PRIx64 " is not in the direct map",
				pid, pgd);
	/* arm64: mm->pgd is TTBR0's root, as many levels as the kernel's */
	return haywire_paging_init(paging, a->arch, a->info.paging_levels,
				   4096, a->info.release,
				   pgd - a->info.page_offset_base, err);
}

struct vma_entry {
	uint64_t first, last, vma;
};

struct vma_list {
	struct vma_entry *e;
	size_t n, cap;
};

static int add_entry(void *arg, uint64_t first, uint64_t last, uint64_t entry)
{
	struct vma_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct vma_entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return HAYWIRE_E_NOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n].first = first;
	l->e[l->n].last = last;
	l->e[l->n].vma = entry;
	l->n++;
	return 0;
}

struct mm_facts {
	uint64_t brk, start_brk, start_stack;
};

/* A short NUL-terminated string from kernel memory. */
static int kstring(struct haywire_agentless *a, uint64_t va, char *buf,
		   size_t size, size_t *len, struct haywire_error *err)
{
	int rc;

	if (!hwi_kptr_ok(va, 1))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a bad string pointer 0x%" PRIx64, va);
	rc = hwi_kread(a, va, buf, size - 1, err);
	if (rc)
		return rc;
	buf[size - 1] = '\0';
	*len = strlen(buf);
	return 0;
}

/* The VMA's name for /proc/PID/maps when it maps no file. */
static int anon_vma_name(struct haywire_agentless *a, const unsigned char *v,
			 const struct mm_facts *mm, struct haywire_vma *rec,
			 struct arena *ar, uint32_t *off,
			 struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	uint64_t ops = hwi_get(v, &L->vma_ops), fn = 0;
	char text[SPECIAL_NAME_MAX + ANON_NAME_MAX + 16];
	size_t n;
	int rc;

	if (ops) {
		rc = hwi_kptr_ok(ops, 8) ?
		     hwi_kread_u64(a, ops + L->ops_name.off, &fn, err) :
		     hwi_fail(err, HAYWIRE_E_BUSY, "a bad vm_ops pointer");
		if (rc)
			return rc;
	}
	if (fn && hwi_ksym_is(a, fn, "special_mapping_name")) {
		uint64_t sm = hwi_get(v, &L->vma_private), name;

		rc = hwi_kptr_ok(sm, 8) ?
		     hwi_kread_u64(a, sm + L->special_name.off, &name, err) :
		     hwi_fail(err, HAYWIRE_E_BUSY, "a bad special mapping");
		if (!rc)
			rc = kstring(a, name, text, SPECIAL_NAME_MAX, &n, err);
		if (rc)
			return rc;
		rec->name_len = (uint32_t)n;
		return arena_add(ar, text, n, off, err);
	}
	if (fn) {
		const char *sym = hwi_ksym_at(a, fn);

		a->unknown_names++;
		snprintf(a->unknown_what, sizeof(a->unknown_what), "%s",
			 sym ? sym : "an unknown vm_ops->name method");
		rec->flags |= HW_VF_NAME_TRUNCATED;
		return 0;
	}
	/* [heap]: vma_is_initial_heap() is strict since 6.6 */
	if (a->version >= 6006 ?
	    rec->start < mm->brk && rec->end > mm->start_brk :
	    rec->start <= mm->brk && rec->end >= mm->start_brk) {
		rec->name_len = 6;
		return arena_add(ar, "[heap]", 6, off, err);
	}
	if (rec->start <= mm->start_stack && rec->end >= mm->start_stack) {
		rec->name_len = 7;
		return arena_add(ar, "[stack]", 7, off, err);
	}
	if (L->anon_name_name.have && hwi_get(v, &L->vma_anon_name)) {
		char name[ANON_NAME_MAX + 1];

		rc = kstring(a, hwi_get(v, &L->vma_anon_name) +
			     L->anon_name_name.off, name, sizeof(name), &n,
			     err);
		if (rc)
			return rc;
		snprintf(text, sizeof(text), "[anon:%s]", name);
		rec->name_len = (uint32_t)strlen(text);
		return arena_add(ar, text, rec->name_len, off, err);
	}
	return 0;
}

static int fill_vma(struct haywire_agentless *a, const struct vma_entry *e,
		    const struct mm_facts *mm, struct haywire_vma *rec,
		    struct arena *ar, uint32_t *off, struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	unsigned char v[1024], f[4096];
	uint64_t vm_flags, file;
	int rc;

	memset(rec, 0, sizeof(*rec));
	*off = 0;
	if (L->vma_size > sizeof(v))
		return hwi_fail(err, HAYWIRE_E_CORRUPT, "vm_area_struct too large");
	if (!hwi_kptr_ok(e->vma, 8))
		return hwi_fail(err, HAYWIRE_E_BUSY, "a bad VMA pointer 0x%" PRIx64,
				e->vma);
	rc = hwi_kread(a, e->vma, v, L->vma_size, err);
	if (rc)
		return rc;
	rec->start = hwi_get(v, &L->vma_start);
	rec->end = hwi_get(v, &L->vma_end);
	if (rec->start != e->first || rec->end - 1 != e->last ||
	    rec->start >= rec->end)
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"a VMA 0x%" PRIx64 "-0x%" PRIx64 " in the tree's slot for 0x%" PRIx64 "-0x%" PRIx64,
				rec->start, rec->end, e->first, e->last + 1);
	vm_flags = hwi_get(v, &L->vma_flags);
	if (vm_flags & KX_VM_READ)
		rec->flags |= HW_VF_READ;
	if (vm_flags & KX_VM_WRITE)
		rec->flags |= HW_VF_WRITE;
	if (vm_flags & KX_VM_EXEC)
		rec->flags |= HW_VF_EXEC;
	if (vm_flags & KX_VM_MAYSHARE)
		rec->flags |= HW_VF_SHARED;
	file = hwi_get(v, &L->vma_file);
	if (!file)
		return anon_vma_name(a, v, mm, rec, ar, off, err);

	rc = read_file(a, file, f, err);
	if (rc)
		return rc;
	{
		uint64_t mnt, dentry, inode, sb;
		uint32_t dev;

		file_path(a, f, true, &mnt, &dentry);
		inode = hwi_get(f, &L->file_inode);
		if (L->backing_mnt.have &&
		    (hwi_get(f, &L->file_mode) & KX_FMODE_BACKING)) {
			/* file_user_inode(): the user path's inode */
			rc = hwi_kptr_ok(dentry, 8) ?
			     hwi_kread_u64(a, dentry + L->dentry_inode.off,
					   &inode, err) :
			     hwi_fail(err, HAYWIRE_E_BUSY, "a bad dentry");
			if (rc)
				return rc;
		}
		if (!hwi_kptr_ok(inode, 8))
			return hwi_fail(err, HAYWIRE_E_BUSY,
					"a bad inode pointer 0x%" PRIx64, inode);
		rc = hwi_kread_u64(a, inode + L->inode_ino.off, &rec->inode,
				   err);
		if (!rc)
			rc = hwi_kread_u64(a, inode + L->inode_sb.off, &sb, err);
		if (!rc && !hwi_kptr_ok(sb, 8))
			rc = hwi_fail(err, HAYWIRE_E_BUSY, "a bad superblock");
		if (!rc)
			rc = hwi_kread(a, sb + L->sb_dev.off, &dev, 4, err);
		if (rc)
			return rc;
		rec->offset = hwi_get(v, &L->vma_pgoff) << KX_PAGE_SHIFT;
		rec->dev_major = dev >> 20;
		rec->dev_minor = dev & 0xfffff;
		if (a->version >= 6002 && L->anon_name_name.have &&
		    hwi_get(v, &L->vma_anon_name)) {
			char name[ANON_NAME_MAX + 1], text[ANON_NAME_MAX + 16];
			size_t n;

			rc = kstring(a, hwi_get(v, &L->vma_anon_name) +
				     L->anon_name_name.off, name, sizeof(name),
				     &n, err);
			if (rc)
				return rc;
			snprintf(text, sizeof(text), "[anon_shmem:%s]", name);
			rec->name_len = (uint32_t)strlen(text);
			return arena_add(ar, text, rec->name_len, off, err);
		}
		return path_name(a, mnt, dentry, ar, off, &rec->name_len,
				 &rec->flags, err);
	}
}

static int read_vmas(struct haywire_agentless *a, uint64_t mm,
		     unsigned char *mm_buf, struct haywire_maps *maps,
		     struct arena *ar, uint32_t **offs,
		     struct haywire_error *err)
{
	const struct hwi_layout *L = &a->L;
	struct vma_list list = { 0 };
	struct mm_facts facts;
	uint64_t map_count;
	size_t i;
	int rc;

	rc = hwi_kread(a, mm, mm_buf, L->mm_size, err);
	if (rc)
		return rc;
	map_count = hwi_get(mm_buf, &L->mm_map_count);
	facts.brk = hwi_get(mm_buf, &L->mm_brk);
	facts.start_brk = hwi_get(mm_buf, &L->mm_start_brk);
	facts.start_stack = hwi_get(mm_buf, &L->mm_start_stack);
	/* Every VMA is a vm_area_struct in guest RAM: a count beyond what
	 * RAM holds is not to be believed (nor allocated for); as a torn
	 * read it is busy, retried like any other. */
	if (map_count > INT32_MAX ||
	    map_count > a->ram_end / (L->vma_size ? L->vma_size : 1))
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"map_count %" PRIu64 " is more VMAs than the guest's RAM can hold",
				map_count);
	rc = hwi_maple_walk(a, hwi_get(mm_buf, &L->mm_root),
			    (uint32_t)hwi_get(mm_buf, &L->mm_mt_flags),
			    map_count + VMA_SLACK, add_entry, &list, err);
	if (rc == HAYWIRE_E_NOMEM)
		rc = hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	if (rc)
		goto out;
	maps->vmas = calloc(list.n ? list.n : 1, sizeof(*maps->vmas));
	*offs = calloc(list.n ? list.n : 1, sizeof(**offs));
	if (!maps->vmas || !*offs) {
		rc = hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < list.n; i++) {
		rc = fill_vma(a, &list.e[i], &facts, &maps->vmas[i], ar,
			      &(*offs)[i], err);
		if (rc)
			goto out;
	}
	maps->count = list.n;
	maps->proc.vma_total = (uint32_t)(map_count > list.n ? map_count :
					  list.n);
	maps->proc.vma_count = (uint32_t)list.n;
	if (map_count != list.n)
		rc = hwi_fail(err, HAYWIRE_E_BUSY,
			      "the VMA tree holds %zu VMAs but map_count says %" PRIu64,
			      list.n, map_count);
out:
	free(list.e);
	return rc;
}

int haywire_agentless_maps(struct haywire_agentless *a, int32_t pid,
			   struct haywire_maps **out,
			   struct haywire_error *err)
{
	struct haywire_maps *maps;
	struct proc_extra extra;
	struct arena ar = { 0 };
	unsigned char *mm_buf;
	uint32_t *offs = NULL;
	uint64_t task;
	unsigned int attempt;
	size_t i;
	int rc;

	*out = NULL;
	a->unknown_names = 0;
	hwi_names_free(&a->names);
	maps = calloc(1, sizeof(*maps));
	mm_buf = malloc(a->L.mm_size);
	if (!maps || !mm_buf) {
		free(maps);
		free(mm_buf);
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	}
	rc = arena_init(&ar, err);
	for (attempt = 1; !rc && attempt <= WALK_ATTEMPTS; attempt++) {
		/* the task list walk retries on its own */
		rc = lookup(a, pid, &task, err);
		if (rc)
			goto fail;
		rc = fill_proc(a, task, &maps->proc, &extra, NULL, mm_buf,
			       err);
		if (!rc && extra.mm)
			rc = read_vmas(a, extra.mm, mm_buf, maps, &ar, &offs,
				       err);
		if (rc != HAYWIRE_E_BUSY || attempt == WALK_ATTEMPTS)
			break;
		/* the process changed under us: start over */
		free(maps->vmas);
		maps->vmas = NULL;
		maps->count = 0;
		free(offs);
		offs = NULL;
		arena_empty(&ar);
		rc = 0;
	}
	if (rc == HAYWIRE_E_BUSY) {
		char what[64];

		snprintf(what, sizeof(what), "process %d kept changing", pid);
		rc = busy_again(err, what);
	}
	if (rc)
		goto fail;
	for (i = 0; i < maps->count; i++)
		maps->vmas[i].name = ar.p + offs[i];
	maps->proc.exe = NULL;
	fill_info(a, &maps->info);
	maps->string_copy = ar.p;
	free(offs);
	free(mm_buf);
	*out = maps;
	return 0;
fail:
	haywire_maps_free(maps);
	free(offs);
	free(ar.p);
	free(mm_buf);
	return rc;
}
