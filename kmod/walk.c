// SPDX-License-Identifier: GPL-2.0-only
/*
 * The snapshot walk: one record per process (as /proc/PID/stat and status
 * show it) and one per VMA (as a line of /proc/PID/maps), with every string
 * interned in one string table. Everything is built in staging memory; the
 * caller copies it into the beacon.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/io.h>
#include <linux/kdev_t.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>

#include "compat.h"
#include "process.h"
#include "walk.h"

/* First staging sizes; they grow to what the guest needs. */
#define INITIAL_PROCS		256
#define INITIAL_VMAS		4096
#define INITIAL_STRINGS		(64 * 1024)
#define INITIAL_SLOTS		1024
/* Attempts at collecting every process while the process list grows. */
#define COLLECT_ATTEMPTS	3
/* VMAs between looks at the clock. */
#define VMAS_PER_CLOCK		16
/* Most VMAs walked in one hold of a process's mmap_lock. */
#define VMAS_PER_HOLD		512
/* Tries at retaking a process's mmap_lock after a hold. */
#define RETAKE_ATTEMPTS		4

/*
 * The last file named in this process and its name: mappings of one file
 * come in runs. Reset per process: a file pointer stays the same file only
 * while the file is referenced.
 */
struct name_cache {
	const struct file *file;
	struct hw_str name;
	u32 name_flags;
};

static const struct hw_str empty_str;

int hw_grow_array(void **array, u32 *cap, u64 want, u64 max,
		  size_t elem_size, struct hw_staging *acct)
{
	u64 n = min(max_t(u64, want, (u64)*cap * 2), max);
	u64 left = (u64)*cap * elem_size;
	void *p;

	if (acct->max > acct->used)
		left += acct->max - acct->used;
	n = min(n, left / elem_size);
	if (n <= *cap)
		return want > *cap ? -ENOSPC : 0;
	p = kvmalloc_array(n, elem_size, GFP_KERNEL | __GFP_NOWARN);
	if (!p)
		return -ENOMEM;
	if (*array)
		memcpy(p, *array, (size_t)*cap * elem_size);
	kvfree(*array);
	acct->used += (n - *cap) * elem_size;
	*array = p;
	*cap = n;
	return 0;
}

void hw_free_array(void **array, u32 *cap, size_t elem_size,
		   struct hw_staging *acct)
{
	kvfree(*array);
	acct->used -= (u64)*cap * elem_size;
	*array = NULL;
	*cap = 0;
}

/* Grow one of the walker's arrays; a failed allocation is counted. */
static int grow(struct walker *w, void *array, u32 *cap, u64 want, u64 max,
		size_t elem_size)
{
	int err = hw_grow_array(array, cap, want, max, elem_size, w->staging);

	if (err == -ENOMEM)
		w->alloc_failures++;
	return err;
}

int hw_walker_init(struct walker *w, struct hw_staging *acct)
{
	memset(w, 0, sizeof(*w));
	w->staging = acct;
	w->strtab.acct = acct;
	if (grow(w, &w->tasks, &w->tasks_cap, INITIAL_PROCS, INITIAL_PROCS,
		 sizeof(*w->tasks)) ||
	    grow(w, &w->procs, &w->procs_cap, INITIAL_PROCS, INITIAL_PROCS,
		 sizeof(*w->procs)) ||
	    grow(w, &w->vmas, &w->vmas_cap, INITIAL_VMAS, INITIAL_VMAS,
		 sizeof(*w->vmas)) ||
	    grow(w, &w->strtab.bytes, &w->strtab.cap, INITIAL_STRINGS,
		 INITIAL_STRINGS, 1) ||
	    grow(w, &w->strtab.slots, &w->strtab.nr_slots, INITIAL_SLOTS,
		 INITIAL_SLOTS, sizeof(*w->strtab.slots)))
		goto fail;
	w->scratch = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!w->scratch)
		goto fail;
	acct->used += PATH_MAX;
	return 0;
fail:
	hw_walker_free(w);
	return -ENOMEM;
}

void hw_walker_free(struct walker *w)
{
	struct hw_staging *acct = w->staging;

	if (!acct)
		return;
	hw_free_array((void **)&w->tasks, &w->tasks_cap, sizeof(*w->tasks),
		      acct);
	hw_free_array((void **)&w->procs, &w->procs_cap, sizeof(*w->procs),
		      acct);
	hw_free_array((void **)&w->vmas, &w->vmas_cap, sizeof(*w->vmas), acct);
	hw_free_array((void **)&w->strtab.bytes, &w->strtab.cap, 1, acct);
	hw_free_array((void **)&w->strtab.slots, &w->strtab.nr_slots,
		      sizeof(*w->strtab.slots),
		      acct);
	if (w->scratch)
		acct->used -= PATH_MAX;
	kfree(w->scratch);
	memset(w, 0, sizeof(*w));
}

/*
 * Grow staging memory to what the last walk wanted (bounded by its limit),
 * so that a walk cut short by staging, not by the limit, can be redone.
 */
int hw_walker_grow_staging(struct walker *w)
{
	struct snapshot *s = &w->snap;
	u64 max_procs = w->limit / sizeof(struct hw_proc);
	u64 want_procs = s->procs_total + s->procs_total / 8;
	u64 want_vmas = s->vmas_total + s->vmas_total / 8;
	u64 want_strings = s->strings_total + s->strings_total / 8;
	int err;

	err = grow(w, &w->tasks, &w->tasks_cap, want_procs, max_procs,
		   sizeof(*w->tasks));
	if (!err)
		err = grow(w, &w->procs, &w->procs_cap, want_procs, max_procs,
			   sizeof(*w->procs));
	if (!err)
		err = grow(w, &w->vmas, &w->vmas_cap, want_vmas,
			   w->limit / sizeof(struct hw_vma), sizeof(*w->vmas));
	if (!err)
		err = grow(w, &w->strtab.bytes, &w->strtab.cap, want_strings,
			   min_t(u64, w->limit, U32_MAX), 1);
	return err;
}

/*
 * Staging fell short in the middle of a walk (-ENOBUFS): grow the VMA
 * records and the string table, keeping what they hold, so that the walk
 * goes on instead of being redone. Not under any lock. True if both now
 * have more room.
 */
static bool grow_during_walk(struct walker *w)
{
	struct snapshot *s = &w->snap;
	u32 old_vmas = w->vmas_cap, old_strings = w->strtab.cap;

	grow(w, &w->vmas, &w->vmas_cap, (u64)w->vmas_cap * 2,
	     w->limit / sizeof(struct hw_vma), sizeof(*w->vmas));
	grow(w, &w->strtab.bytes, &w->strtab.cap, (u64)w->strtab.cap * 2,
	     min_t(u64, w->limit, U32_MAX), 1);
	s->vmas = w->vmas;
	s->strings = w->strtab.bytes;
	return w->vmas_cap > old_vmas || w->strtab.cap > old_strings;
}

/*
 * Whether new_vmas more VMA records and new_bytes more string bytes fit:
 * -ENOSPC when the limit is reached, -ENOBUFS when only staging is short.
 */
static int room_for(struct walker *w, u32 new_vmas, u64 new_bytes)
{
	struct snapshot *s = &w->snap;

	if (snapshot_size(w->procs_reserved, (u64)s->nr_vmas + new_vmas,
			  s->string_bytes + new_bytes) > w->limit)
		return -ENOSPC;
	if ((u64)s->nr_vmas + new_vmas > w->vmas_cap ||
	    s->string_bytes + new_bytes > w->strtab.cap)
		return -ENOBUFS;
	return 0;
}

/* Strings a walk may add before fit_vmas is worked out again. */
#define FIT_SLACK	4096

/*
 * room_for(w, 1, 0), for every VMA, in two comparisons: records up to
 * w->fit_vmas fit (the limit and staging) as long as the string table has
 * at most w->fit_bytes, since the snapshot only grows with both. Worked
 * out again when either is passed.
 */
static int room_for_vma(struct walker *w)
{
	struct snapshot *s = &w->snap;
	u64 fixed, fit;
	int err;

	if (s->nr_vmas < w->fit_vmas && s->string_bytes <= w->fit_bytes)
		return 0;
	err = room_for(w, 1, 0);
	if (err)
		return err;
	w->fit_bytes = s->string_bytes + FIT_SLACK;
	fixed = snapshot_size(w->procs_reserved, 0, w->fit_bytes);
	/* ALIGN(n * size, a) <= room exactly when n * size <= room rounded down */
	fit = fixed < w->limit ?
	      round_down(w->limit - fixed, BEACON_SECTION_ALIGN) /
	      sizeof(struct hw_vma) : 0;
	w->fit_vmas = min_t(u64, fit, w->vmas_cap);
	return 0;
}

/* Data was left out for want of room: flag it, and note why. */
static void note_cut(struct walker *w, int err)
{
	w->snap.flags |= HW_IF_TRUNCATED;
	if (err == -ENOBUFS)
		w->snap.staging_short = true;
}

/* ---- strings ---------------------------------------------------------- */

static void reset_strings(struct walker *w)
{
	hw_strtab_reset(&w->strtab);
	w->snap.string_bytes = w->strtab.used;
	w->snap.strings_total = w->strtab.used;
}

/*
 * Put str in the string table once (strtab.c). new_vmas is how many VMA
 * records the caller adds along with it, so that both are checked for
 * room together.
 */
static int intern(struct walker *w, const char *str, u32 len, u32 new_vmas,
		  struct hw_str *out)
{
	struct snapshot *s = &w->snap;
	u32 hash;
	int err;

	if (!len) {
		*out = empty_str;
		return 0;
	}
	if (hw_strtab_find(&w->strtab, str, len, &hash, out))
		return 0;
	s->strings_total += len + 1;
	err = room_for(w, new_vmas, len + 1);
	if (err)
		return err;
	hw_strtab_add(&w->strtab, str, len, hash, out);
	s->string_bytes = w->strtab.used;
	return 0;
}

/* d_path() into the table; -ENAMETOOLONG when it exceeds PATH_MAX. */
static int intern_path(struct walker *w, const struct path *path,
		       u32 new_vmas, struct hw_str *out)
{
	char *p;

	w->snap.path_lookups++;
	p = d_path(path, w->scratch, PATH_MAX);
	if (IS_ERR(p))
		return PTR_ERR(p);
	return intern(w, p, strlen(p), new_vmas, out);
}

static int intern_bracketed(struct walker *w, const char *fmt,
			    const char *name, struct hw_str *out)
{
	int len = snprintf(w->scratch, PATH_MAX, fmt, name);

	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	return intern(w, w->scratch, len, 1, out);
}

/* ---- VMAs ------------------------------------------------------------- */

#define NAME_CACHE_BITS	ilog2(HW_NAME_CACHE_SLOTS)

/*
 * A VMA's [name]: most processes have the same few ([heap], [stack],
 * [vdso], [vvar]), from one string in the kernel or this module. Cached
 * by the text's address, and a cached one is taken only if the text is
 * still what was interned (vm_ops->name() is the driver's: its buffer is
 * not promised to hold one name forever). own: one of this file's
 * literals, which cannot change.
 */
static int intern_text(struct walker *w, const char *text, bool own,
		       struct hw_str *out)
{
	struct hw_text_name *slot =
		&w->text_names[hash_ptr(text, NAME_CACHE_BITS)];
	int err;

	if (slot->text == text &&
	    (own || !strcmp(text, w->strtab.bytes + slot->name.off))) {
		*out = slot->name;
		return 0;
	}
	err = intern(w, text, strlen(text), 1, out);
	if (!err) {
		slot->text = text;
		slot->name = *out;
	}
	return err;
}

/*
 * The name /proc/PID/maps prints, with fs/proc/task_mmu.c's precedence
 * (compat.h holds what differs between versions).
 */
static int vma_name(struct walker *w, struct vm_area_struct *vma,
		    struct name_cache *cache, struct hw_vma *rec)
{
	const char *anon = hw_vma_anon_name(vma);
	struct file *file = vma->vm_file;
	const char *text = NULL;
	bool own = true;
	int err;

	if (file) {
		if (HW_HAS_ANON_SHMEM_NAME && anon)
			return intern_bracketed(w, "[anon_shmem:%s]", anon,
						&rec->name);
		if (file == cache->file) {
			rec->name = cache->name;
			rec->flags |= cache->name_flags;
			return 0;
		}
		err = intern_path(w, hw_vma_file_path(file), 1, &rec->name);
		if (err == -ENAMETOOLONG) {
			rec->name = empty_str;
			rec->flags |= HW_VF_NAME_TRUNCATED;
			err = 0;
		}
		if (!err) {
			cache->file = file;
			cache->name = rec->name;
			cache->name_flags = rec->flags & HW_VF_NAME_TRUNCATED;
		}
		return err;
	}
	if (vma->vm_ops && vma->vm_ops->name) {
		text = vma->vm_ops->name(vma);
		own = false;
	}
	if (!text) {
		own = true;
		if (hw_vma_is_heap(vma))
			text = "[heap]";
		else if (hw_vma_is_stack(vma))
			text = "[stack]";
		else if (anon)
			return intern_bracketed(w, "[anon:%s]", anon,
						&rec->name);
		else
			return 0;
	}
	return intern_text(w, text, own, &rec->name);
}

static int add_vma(struct walker *w, struct vm_area_struct *vma,
		   struct name_cache *cache)
{
	struct snapshot *s = &w->snap;
	struct hw_vma *rec;
	u32 flags = 0;
	int err = room_for_vma(w);

	if (err)
		return err;
	/*
	 * Written in place, every field, and counted only once named (a new
	 * name may not fit). Nothing moves the records during a hold.
	 */
	rec = &s->vmas[s->nr_vmas];
	rec->start = vma->vm_start;
	rec->end = vma->vm_end;
	if (vma->vm_flags & VM_READ)
		flags |= HW_VF_READ;
	if (vma->vm_flags & VM_WRITE)
		flags |= HW_VF_WRITE;
	if (vma->vm_flags & VM_EXEC)
		flags |= HW_VF_EXEC;
	if (vma->vm_flags & VM_MAYSHARE)
		flags |= HW_VF_SHARED;
	rec->flags = flags;
	rec->reserved0 = 0;
	rec->reserved1 = 0;
	rec->name = empty_str;
	if (vma->vm_file) {
		const struct inode *inode = hw_vma_file_inode(vma->vm_file);
		dev_t dev = inode->i_sb->s_dev;

		rec->offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
		rec->inode = inode->i_ino;
		rec->dev_major = MAJOR(dev);
		rec->dev_minor = MINOR(dev);
	} else {
		rec->offset = 0;
		rec->inode = 0;
		rec->dev_major = 0;
		rec->dev_minor = 0;
	}
	err = vma_name(w, vma, cache, rec);
	if (err)
		return err;
	s->nr_vmas++;
	return 0;
}

/*
 * A process's VMA walk, in holds of the mmap_lock of at most
 * VMAS_PER_HOLD VMAs; between holds the lock is dropped so that writers
 * (page faults, mmap) get their turn, and the walk resumes at the address
 * where it stopped.
 */
struct vma_walk {
	struct mm_struct *mm;
	u64 deadline;		/* CLOCK_MONOTONIC ns */
	u64 addr;		/* the VMAs below are done */
	struct name_cache seed;	/* the executable's name: kept referenced */
	struct name_cache cache;
	u64 now;		/* the clock at the end of the walk */
	u32 walked;		/* VMAs looked at */
	int err;		/* -ENOSPC / -ENOBUFS: no room */
	bool cut;		/* the deadline passed inside the walk */
	bool changed;		/* a VMA changed between two holds */
	bool busy;		/* the mmap_lock could not be taken */
	bool lost;		/* ... or not retaken after a hold */
};

/*
 * The mmap_lock for reading, without waiting (a writer may hold it for
 * long: a kthread must not wait behind it). After a hold the writers that
 * queued meanwhile go first: give them a few turns before giving up.
 */
static bool mmap_retake(struct mm_struct *mm, bool first)
{
	unsigned int attempt;

	for (attempt = 0; attempt < (first ? 1 : RETAKE_ATTEMPTS); attempt++) {
		if (mmap_read_trylock(mm))
			return true;
		cond_resched();
	}
	return false;
}

/*
 * One hold: VMAs from vw->addr on, under the mmap_lock. Returns true when
 * the walk is over (the last VMA, no room, or the deadline).
 */
static bool walk_vma_hold(struct walker *w, struct vma_walk *vw)
{
	VMA_ITERATOR(vmi, vw->mm, vw->addr);
	struct vm_area_struct *vma;
	u32 n = 0;

	/*
	 * A file pointer names the same file only while the file is referenced;
	 * unlocked, the mapping of a cached one may have gone: keep only the
	 * executable, which the walk holds.
	 */
	vw->cache = vw->seed;
	for_each_vma(vmi, vma) {
		/* Began below the resume point: it changed while unlocked. */
		if (vma->vm_start < vw->addr) {
			vw->changed = true;
			continue;
		}
		vw->walked++;
		vw->err = add_vma(w, vma, &vw->cache);
		if (vw->err)
			return true;
		vw->addr = vma->vm_end;
		if (!(++n % VMAS_PER_CLOCK) && ktime_get_ns() > vw->deadline) {
			vw->cut = true;
			return true;
		}
		/* Rescheduled between holds, not in one: the lock is held. */
		if (n >= VMAS_PER_HOLD)
			return false;
	}
	return true;
}

/* Record an mmap_lock hold of ns nanoseconds by process pid. */
static void note_hold(struct snapshot *s, u64 ns, s32 pid)
{
	if (ns > s->max_hold_ns) {
		s->max_hold_ns = ns;
		s->max_hold_pid = pid;
	}
}

/* Every VMA in address order, into the VMA table as one run. */
static void walk_vmas(struct walker *w, struct vma_walk *vw,
		      struct hw_proc *proc)
{
	struct snapshot *s = &w->snap;
	bool done = false;
	u64 t0;

	proc->vma_first = s->nr_vmas;
	while (!done) {
		if (!mmap_retake(vw->mm, !vw->addr)) {
			vw->busy = !vw->addr;
			vw->lost = !!vw->addr;
			break;
		}
		t0 = ktime_get_ns();
		done = walk_vma_hold(w, vw);
		/*
		 * One look at the clock serves the hold's length and the
		 * deadline: the clock is slow to read in some guests (HPET).
		 */
		vw->now = ktime_get_ns();
		note_hold(s, vw->now - t0, proc->pid);
		mmap_read_unlock(vw->mm);
		if (vw->err == -ENOBUFS && grow_during_walk(w)) {
			vw->err = 0;
			done = false;
			vw->now = ktime_get_ns();	/* allocation takes time */
		}
		if (!done && vw->now > vw->deadline) {
			vw->cut = true;
			break;
		}
		/* After a wait for the CPU, the time is read again. */
		if (cond_resched())
			vw->now = ktime_get_ns();
	}
	proc->vma_count = s->nr_vmas - proc->vma_first;
}

/* Flags and totals after a process's VMA walk. */
static void finish_vmas(struct walker *w, const struct vma_walk *vw,
			struct hw_proc *proc)
{
	struct snapshot *s = &w->snap;

	if (vw->busy) {
		proc->flags |= HW_PF_MM_BUSY;
		s->procs_mm_busy++;
		s->flags |= HW_IF_MM_BUSY;
	}
	/* VMAs were published, only the rest is missing. */
	if (vw->lost)
		proc->flags |= HW_PF_VMAS_TRUNCATED;
	if (vw->cut) {
		proc->flags |= HW_PF_VMAS_TRUNCATED | HW_PF_BUDGET_CUT;
		s->flags |= HW_IF_BUDGET;
		s->budget_cut++;
	}
	if (vw->changed)
		proc->flags |= HW_PF_VMAS_TRUNCATED;
	if (vw->err) {
		proc->flags |= HW_PF_VMAS_TRUNCATED;
		note_cut(w, vw->err);
	}
	/* The true count, also when the walk stopped early. */
	proc->vma_total = max_t(u32, READ_ONCE(vw->mm->map_count),
				proc->vma_count);
}

/* ---- processes -------------------------------------------------------- */

static void fill_ids(struct task_struct *task, struct hw_proc *p)
{
	struct hw_ids ids;

	hw_task_ids(task, &ids);
	p->uid = ids.uid[0];
	p->euid = ids.uid[1];
	p->gid = ids.gid[0];
	p->egid = ids.gid[1];
	p->ppid = ids.ppid;
}

/*
 * The executable's path; the reference to the file (t->exe) is kept until
 * the VMA walk is over, so that its pointer names it in the name cache.
 */
/*
 * Executables named earlier in this walk, by their path's dentry and
 * mount: each entry's are pinned by the executable file of the process
 * that made it, referenced until the walk ends (put_tasks()), so the same
 * pointers are the same dentry on the same mount, whose path d_path()
 * gave. (A rename during the walk could give either name either way.)
 */
static struct hw_exe_name *exe_slot(struct walker *w, const struct path *path)
{
	return &w->exe_names[hash_ptr(path->dentry, NAME_CACHE_BITS)];
}

static bool exe_cached(struct walker *w, struct hw_walk_task *t,
		       struct hw_proc *p)
{
	const struct hw_exe_name *slot = exe_slot(w, &t->exe->f_path);

	if (slot->dentry != t->exe->f_path.dentry ||
	    slot->mnt != t->exe->f_path.mnt)
		return false;
	p->exe = slot->name;
	if (slot->truncated)
		p->flags |= HW_PF_EXE_TRUNCATED;
	t->exe_named = true;
	return true;
}

static void fill_exe(struct walker *w, struct hw_walk_task *t,
		     struct hw_proc *p)
{
	struct hw_exe_name *slot;
	int err;

	t->exe = hw_get_mm_exe_file(t->mm);
	if (!t->exe || exe_cached(w, t, p))
		return;
	err = intern_path(w, &t->exe->f_path, 0, &p->exe);
	if (err == -ENOBUFS && grow_during_walk(w))
		err = intern_path(w, &t->exe->f_path, 0, &p->exe);
	if (err) {
		p->exe = empty_str;
		p->flags |= HW_PF_EXE_TRUNCATED;
		if (err != -ENAMETOOLONG) {
			note_cut(w, err);
			return;
		}
	}
	t->exe_named = true;
	slot = exe_slot(w, &t->exe->f_path);
	slot->dentry = t->exe->f_path.dentry;
	slot->mnt = t->exe->f_path.mnt;
	slot->name = p->exe;
	slot->truncated = err == -ENAMETOOLONG;
}

/*
 * The ELF loader maps the very same struct file as the executable, so its
 * name seeds the VMA name cache (unless it did not fit).
 */
static void seed_name_cache(const struct hw_walk_task *t,
			    const struct hw_proc *p, struct name_cache *seed)
{
	memset(seed, 0, sizeof(*seed));
	if (!t->exe || hw_vma_file_path(t->exe) != &t->exe->f_path)
		return;
	if (!t->exe_named)
		return;
	seed->file = t->exe;
	seed->name = p->exe;
	seed->name_flags = (p->flags & HW_PF_EXE_TRUNCATED) ?
			   HW_VF_NAME_TRUNCATED : 0;
}

static struct hw_cgroup_name *cgroup_slot(struct walker *w, u64 id)
{
	return &w->cgroup_names[hash_64(id, NAME_CACHE_BITS)];
}

/*
 * The task's cgroup path. Cached by cgroup id in this walk (ids are never
 * reused): the path the cgroup had when first named in the walk, as if
 * the task had been read then (a rename during the walk could give either
 * name either way).
 */
static void fill_cgroup(struct walker *w, struct task_struct *task,
			struct hw_proc *p)
{
	struct hw_cgroup_name *slot;
	u64 id = hw_task_cgroup_id(task);
	int len, err;

	slot = cgroup_slot(w, id);
	if (id && slot->id == id) {
		p->cgroup = slot->name;
		return;
	}
	len = hw_task_cgroup(task, w->scratch, PATH_MAX, &id);
	if (len < 0) {
		/* {0, 0}: unknown */
		if (len == -ENAMETOOLONG)
			p->flags |= HW_PF_CGROUP_TRUNCATED;
		return;
	}
	err = intern(w, w->scratch, len, 0, &p->cgroup);
	if (err == -ENOBUFS && grow_during_walk(w))
		err = intern(w, w->scratch, len, 0, &p->cgroup);
	if (err) {
		p->cgroup = empty_str;
		p->flags |= HW_PF_CGROUP_TRUNCATED;
		note_cut(w, err);
		return;
	}
	slot = cgroup_slot(w, id);
	slot->id = id;
	slot->name = p->cgroup;
}

/* 1.3: CPU time, faults, scheduling and container identity. */
static void fill_monitor(struct walker *w, struct task_struct *task,
			 struct hw_proc *p)
{
	struct hw_times tm;

	hw_task_times(task, &tm);
	p->utime_ns = tm.utime_ns;
	p->stime_ns = tm.stime_ns;
	p->min_flt = tm.min_flt;
	p->maj_flt = tm.maj_flt;
	p->nice = task_nice(task);
	p->last_cpu = task_cpu(task);
	hw_task_pidns(task, &p->pidns_inum, &p->ns_pid);
	fill_cgroup(w, task, p);
}

/* One process record, without its VMAs; takes the mm and exe references. */
static void fill_process(struct walker *w, struct hw_walk_task *t,
			 struct hw_proc *p)
{
	struct task_struct *task = t->task;

	memset(p, 0, sizeof(*p));
	p->pid = task->pid;
	p->tgid = task->tgid;
	fill_ids(task, p);
	p->threads = get_nr_threads(task);
	p->state = task_state_to_char(task);
	get_task_comm(p->comm, task);
	p->start_time_ns = task->start_boottime;
	if (task->flags & PF_KTHREAD)
		p->flags |= HW_PF_KTHREAD;
	if (task->flags & PF_WQ_WORKER)
		p->flags |= HW_PF_WQ_WORKER;
	fill_monitor(w, task, p);

	t->mm = get_task_mm(task);
	if (!t->mm) {
		p->flags |= HW_PF_NO_MM;
		return;
	}
	p->vsize_kb = t->mm->total_vm << (PAGE_SHIFT - 10);
	p->rss_kb = hw_mm_rss_pages(t->mm) << (PAGE_SHIFT - 10);
	p->pgd = virt_to_phys(t->mm->pgd);
	fill_exe(w, t, p);
}

/* The VMAs of one process, walked until deadline; returns the clock then. */
static u64 walk_process_vmas(struct walker *w, struct hw_walk_task *t,
			     struct hw_proc *p, u64 deadline)
{
	struct vma_walk vw = { .mm = t->mm, .deadline = deadline };

	seed_name_cache(t, p, &vw.seed);
	walk_vmas(w, &vw, p);
	finish_vmas(w, &vw, p);
	/* the lock not taken (again): the clock was not read since */
	return vw.busy || vw.lost ? ktime_get_ns() : vw.now;
}

/* VMAs not walked: the budget ran out before this process. */
static void skip_process_vmas(struct walker *w, struct hw_walk_task *t,
			      struct hw_proc *p)
{
	p->flags |= HW_PF_VMAS_SKIPPED;
	p->vma_total = READ_ONCE(t->mm->map_count);
	w->snap.budget_skipped++;
	w->snap.flags |= HW_IF_BUDGET;
}

static void put_task(struct hw_walk_task *t)
{
	if (t->exe)
		fput(t->exe);
	if (t->mm)
		mmput(t->mm);
	put_task_struct(t->task);
	memset(t, 0, sizeof(*t));
}

static void put_tasks(struct walker *w, u32 n)
{
	while (n)
		put_task(&w->tasks[--n]);
}

/*
 * Take a reference on every process (at most max_procs of them). The arrays
 * are grown between attempts, outside RCU, when the guest has more.
 */
static u32 collect_tasks(struct walker *w, u32 max_procs)
{
	struct task_struct *task;
	u32 attempt, n, total, room;

	for (attempt = 1; ; attempt++) {
		room = min3(w->tasks_cap, w->procs_cap, max_procs);
		n = 0;
		total = 0;
		rcu_read_lock();
		for_each_process(task) {
			if (n < room) {
				get_task_struct(task);
				w->tasks[n].task = task;
				w->tasks[n].mm = NULL;
				w->tasks[n].exe = NULL;
				w->tasks[n].exe_named = false;
				n++;
			}
			total++;
		}
		rcu_read_unlock();
		if (n == total || n == max_procs || attempt >= COLLECT_ATTEMPTS)
			break;
		put_tasks(w, n);
		/* Some headroom for a process list that keeps growing. */
		if (grow(w, &w->tasks, &w->tasks_cap, total + total / 8 + 16,
			 max_procs, sizeof(*w->tasks)) ||
		    grow(w, &w->procs, &w->procs_cap, total + total / 8 + 16,
			 max_procs, sizeof(*w->procs)))
			attempt = COLLECT_ATTEMPTS - 1;	/* one last try */
	}
	w->snap.procs_total = total;
	return n;
}

static int cmp_task_pid(const void *a, const void *b)
{
	const struct hw_walk_task *x = a, *y = b;
	pid_t px = x->task->pid, py = y->task->pid;

	return (px > py) - (px < py);
}

/*
 * The process list is in fork order, which is pid order until pids wrap:
 * most walks find the tasks sorted already and need not sort (heapsort
 * takes n log n comparisons however sorted its input).
 */
static void sort_tasks(struct walker *w, u32 n)
{
	u32 i;

	for (i = 1; i < n; i++)
		if (w->tasks[i - 1].task->pid > w->tasks[i].task->pid)
			break;
	if (i < n)
		sort(w->tasks, n, sizeof(*w->tasks), cmp_task_pid, NULL);
}

/* Index of the first of the n pid-sorted tasks at or after pid (wrapping). */
static u32 first_at(const struct walker *w, u32 n, s32 pid)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (w->tasks[i].task->pid >= pid)
			return i;
	return 0;
}

/* Reset the snapshot and its string table for a new walk. */
static void begin_walk(struct walker *w, u64 limit)
{
	struct snapshot *s = &w->snap;

	memset(s, 0, sizeof(*s));
	s->procs = w->procs;
	s->vmas = w->vmas;
	s->strings = w->strtab.bytes;
	w->limit = limit;
	w->fit_vmas = 0;	/* worked out at the first VMA */
	reset_strings(w);
	memset(w->exe_names, 0, sizeof(w->exe_names));
	memset(w->cgroup_names, 0, sizeof(w->cgroup_names));
	memset(w->text_names, 0, sizeof(w->text_names));
}

/* Pass 1: every process record, in pid order. */
static void walk_records(struct walker *w, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		fill_process(w, &w->tasks[i], &w->procs[i]);
		cond_resched();
	}
}

/*
 * Pass 2: VMAs, from the process at w->cursor round the pids, until the
 * deadline. The next walk begins with the first process that got nothing,
 * or after this walk's first process if even that one was cut: so every
 * process gets its turn, and one too big for the budget does not keep the
 * others waiting.
 */
static void walk_all_vmas(struct walker *w, u32 n, u64 deadline)
{
	struct snapshot *s = &w->snap;
	u32 first = first_at(w, n, w->cursor), k, i;
	u64 now = ktime_get_ns();
	bool over = false;

	s->start_pid = n ? w->tasks[first].task->pid : 0;
	s->next_pid = s->start_pid;
	for (k = 0; k < n; k++) {
		struct hw_walk_task *t = &w->tasks[(first + k) % n];
		struct hw_proc *p = &w->procs[(first + k) % n];

		if (!t->mm)
			continue;
		/* now: when the last process's walk ended (walk_vmas()) */
		if (!over && now > deadline) {
			over = true;
			s->next_pid = t->task->pid;
		}
		if (over) {
			skip_process_vmas(w, t, p);
		} else {
			now = walk_process_vmas(w, t, p, deadline);
			if (p->flags & HW_PF_BUDGET_CUT) {
				over = true;
				i = k ? first + k : first + k + 1;
				s->next_pid = w->tasks[i % n].task->pid;
			}
		}
		s->vmas_total += p->vma_total;
	}
}

void hw_walk_snapshot(struct walker *w, u64 limit, u64 vmas_deadline)
{
	struct snapshot *s = &w->snap;
	u64 start = ktime_get_ns(), t_vmas, t_put;
	u64 fixed = snapshot_size(0, 0, 1);
	u32 n, max_procs;

	begin_walk(w, limit);
	/* Room for every process record comes first; VMAs get the rest. */
	max_procs = limit > fixed ?
		    min_t(u64, (limit - fixed) / sizeof(struct hw_proc),
			  U32_MAX) : 0;
	n = collect_tasks(w, max_procs);
	w->procs_reserved = n;
	s->procs = w->procs;	/* collect_tasks() may have moved them */
	if (n < s->procs_total) {
		s->flags |= HW_IF_TRUNCATED;
		if (n < max_procs)
			s->staging_short = true;
	}
	sort_tasks(w, n);

	walk_records(w, n);
	t_vmas = ktime_get_ns();
	walk_all_vmas(w, n, vmas_deadline);
	t_put = ktime_get_ns();
	s->vmas_ns = t_put - t_vmas;
	put_tasks(w, n);
	s->put_ns = ktime_get_ns() - t_put;
	s->nr_procs = n;
	s->procs_ns = ktime_get_ns() - start - s->vmas_ns;
}
