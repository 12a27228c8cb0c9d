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
#include <linux/io.h>
#include <linux/jhash.h>
#include <linux/kdev_t.h>
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
/* VMAs between cond_resched() calls. */
#define VMAS_PER_RESCHED	64

/* A string in the table; off 0 marks a free slot (offset 0 is "" only). */
struct intern_slot {
	u32 hash;
	u32 off;
	u32 len;
};

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

int grow_array(void **array, u32 *cap, u64 want, u64 max,
		      size_t elem_size)
{
	u64 n = min(max_t(u64, want, (u64)*cap * 2), max);
	void *p;

	if (n <= *cap)
		return 0;
	p = kvmalloc_array(n, elem_size, GFP_KERNEL | __GFP_NOWARN);
	if (!p)
		return -ENOMEM;
	kvfree(*array);
	*array = p;
	*cap = n;
	return 0;
}

int walker_init(struct walker *w)
{
	memset(w, 0, sizeof(*w));
	if (grow_array((void **)&w->tasks, &w->tasks_cap, INITIAL_PROCS,
		       INITIAL_PROCS, sizeof(*w->tasks)) ||
	    grow_array((void **)&w->procs, &w->procs_cap, INITIAL_PROCS,
		       INITIAL_PROCS, sizeof(*w->procs)) ||
	    grow_array((void **)&w->vmas, &w->vmas_cap, INITIAL_VMAS,
		       INITIAL_VMAS, sizeof(*w->vmas)) ||
	    grow_array((void **)&w->strings, &w->strings_cap, INITIAL_STRINGS,
		       INITIAL_STRINGS, 1) ||
	    grow_array((void **)&w->slots, &w->nr_slots, INITIAL_SLOTS,
		       INITIAL_SLOTS, sizeof(*w->slots)))
		goto fail;
	w->scratch = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!w->scratch)
		goto fail;
	return 0;
fail:
	walker_free(w);
	return -ENOMEM;
}

void walker_free(struct walker *w)
{
	kvfree(w->tasks);
	kvfree(w->procs);
	kvfree(w->vmas);
	kvfree(w->strings);
	kvfree(w->slots);
	kfree(w->scratch);
	memset(w, 0, sizeof(*w));
}

/*
 * Grow staging memory to what the last walk wanted (bounded by its limit),
 * so that a walk cut short by staging, not by the limit, can be redone.
 */
int walker_grow_staging(struct walker *w)
{
	struct snapshot *s = &w->snap;
	u64 max_procs = w->limit / sizeof(struct hw_proc);
	u64 want_procs = s->procs_total + s->procs_total / 8;
	u64 want_vmas = s->vmas_total + s->vmas_total / 8;
	u64 want_strings = s->strings_total + s->strings_total / 8;
	int err;

	err = grow_array((void **)&w->tasks, &w->tasks_cap, want_procs,
			 max_procs, sizeof(*w->tasks));
	if (!err)
		err = grow_array((void **)&w->procs, &w->procs_cap, want_procs,
				 max_procs, sizeof(*w->procs));
	if (!err)
		err = grow_array((void **)&w->vmas, &w->vmas_cap, want_vmas,
				 w->limit / sizeof(struct hw_vma),
				 sizeof(*w->vmas));
	if (!err)
		err = grow_array((void **)&w->strings, &w->strings_cap,
				 want_strings, min_t(u64, w->limit, U32_MAX), 1);
	if (err)
		w->alloc_failures++;
	return err;
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
	    s->string_bytes + new_bytes > w->strings_cap)
		return -ENOBUFS;
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
	memset(w->slots, 0, (size_t)w->nr_slots * sizeof(*w->slots));
	w->used_slots = 0;
	w->strings[0] = '\0';		/* {0, 0} is the empty string */
	w->snap.string_bytes = 1;
	w->snap.strings_total = 1;
}

static struct intern_slot *find_slot(const struct walker *w, const char *str,
				     u32 len, u32 hash)
{
	u32 mask = w->nr_slots - 1;
	u32 i;

	for (i = hash & mask; w->slots[i].off; i = (i + 1) & mask) {
		struct intern_slot *slot = &w->slots[i];

		if (slot->hash == hash && slot->len == len &&
		    !memcmp(w->strings + slot->off, str, len))
			break;
	}
	return &w->slots[i];
}

/* Double the hash table; when memory is short, keep the old one. */
static void rehash(struct walker *w)
{
	u32 nr = w->nr_slots * 2;
	struct intern_slot *slots, *old = w->slots;
	u32 i, j;

	slots = kvcalloc(nr, sizeof(*slots), GFP_KERNEL | __GFP_NOWARN);
	if (!slots) {
		w->alloc_failures++;
		return;
	}
	for (i = 0; i < w->nr_slots; i++) {
		if (!old[i].off)
			continue;
		for (j = old[i].hash & (nr - 1); slots[j].off; j = (j + 1) & (nr - 1))
			;
		slots[j] = old[i];
	}
	w->slots = slots;
	w->nr_slots = nr;
	kvfree(old);
}

/*
 * Put str in the string table once. new_vmas is how many VMA records the
 * caller adds along with it, so that both are checked for room together.
 */
static int intern(struct walker *w, const char *str, u32 len, u32 new_vmas,
		  struct hw_str *out)
{
	struct snapshot *s = &w->snap;
	struct intern_slot *slot;
	u32 hash, off;
	int err;

	if (!len) {
		*out = empty_str;
		return 0;
	}
	hash = jhash(str, len, 0);
	slot = find_slot(w, str, len, hash);
	if (slot->off) {
		out->off = slot->off;
		out->len = len;
		return 0;
	}
	s->strings_total += len + 1;
	err = room_for(w, new_vmas, len + 1);
	if (err)
		return err;
	off = s->string_bytes;
	memcpy(w->strings + off, str, len);
	w->strings[off + len] = '\0';
	s->string_bytes += len + 1;
	out->off = off;
	out->len = len;

	/* At most 3/4 full, so that probes end; if it cannot grow, the
	 * string is stored but not shared. */
	if ((w->used_slots + 1) * 4ULL > w->nr_slots * 3ULL) {
		rehash(w);
		slot = find_slot(w, str, len, hash);
	}
	if ((w->used_slots + 1) * 4ULL <= w->nr_slots * 3ULL) {
		slot->hash = hash;
		slot->off = off;
		slot->len = len;
		w->used_slots++;
	}
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
	if (vma->vm_ops && vma->vm_ops->name)
		text = vma->vm_ops->name(vma);
	if (!text) {
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
	return intern(w, text, strlen(text), 1, &rec->name);
}

static int add_vma(struct walker *w, struct vm_area_struct *vma,
		   struct name_cache *cache)
{
	struct snapshot *s = &w->snap;
	struct hw_vma rec = {};
	int err;

	rec.start = vma->vm_start;
	rec.end = vma->vm_end;
	if (vma->vm_flags & VM_READ)
		rec.flags |= HW_VF_READ;
	if (vma->vm_flags & VM_WRITE)
		rec.flags |= HW_VF_WRITE;
	if (vma->vm_flags & VM_EXEC)
		rec.flags |= HW_VF_EXEC;
	if (vma->vm_flags & VM_MAYSHARE)
		rec.flags |= HW_VF_SHARED;
	if (vma->vm_file) {
		const struct inode *inode = hw_vma_file_inode(vma->vm_file);
		dev_t dev = inode->i_sb->s_dev;

		rec.offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
		rec.inode = inode->i_ino;
		rec.dev_major = MAJOR(dev);
		rec.dev_minor = MINOR(dev);
	}
	err = vma_name(w, vma, cache, &rec);
	if (!err)
		err = room_for(w, 1, 0);
	if (err)
		return err;
	s->vmas[s->nr_vmas++] = rec;
	return 0;
}

/* Every VMA in address order, into the VMA table as one run. */
static void walk_vmas(struct walker *w, struct mm_struct *mm,
		      struct hw_proc *proc, struct name_cache *cache)
{
	struct snapshot *s = &w->snap;
	struct vm_area_struct *vma;
	u32 seen = 0;
	int err = 0;
	VMA_ITERATOR(vmi, mm, 0);

	if (!mmap_read_trylock(mm)) {
		proc->flags |= HW_PF_MM_BUSY;
		s->procs_mm_busy++;
		s->flags |= HW_IF_MM_BUSY;
		return;
	}
	proc->vma_first = s->nr_vmas;
	for_each_vma(vmi, vma) {
		seen++;
		err = add_vma(w, vma, cache);
		if (err)
			break;
		if (!(seen % VMAS_PER_RESCHED))
			cond_resched();
	}
	/* The true count, also when the walk stopped early. */
	proc->vma_total = max_t(u32, mm->map_count, seen);
	mmap_read_unlock(mm);

	proc->vma_count = s->nr_vmas - proc->vma_first;
	s->vmas_total += proc->vma_total;
	if (err) {
		proc->flags |= HW_PF_VMAS_TRUNCATED;
		note_cut(w, err);
	}
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
 * The executable's path. The ELF loader maps the very same struct file, so
 * its name seeds the VMA name cache; the caller keeps the reference (*exe)
 * until the VMA walk is over, so that the pointer cannot be reused.
 */
static void fill_exe(struct walker *w, struct mm_struct *mm, struct hw_proc *p,
		     struct file **exe, struct name_cache *cache)
{
	int err;

	*exe = hw_get_mm_exe_file(mm);
	if (!*exe)
		return;
	err = intern_path(w, &(*exe)->f_path, 0, &p->exe);
	if (err) {
		p->exe = empty_str;
		p->flags |= HW_PF_EXE_TRUNCATED;
		if (err != -ENAMETOOLONG) {
			note_cut(w, err);
			return;
		}
	}
	if (hw_vma_file_path(*exe) == &(*exe)->f_path) {
		cache->file = *exe;
		cache->name = p->exe;
		cache->name_flags = err ? HW_VF_NAME_TRUNCATED : 0;
	}
}

/* One process record; returns the time its VMA walk took. */
static u64 walk_process(struct walker *w, struct task_struct *task,
			struct hw_proc *p, bool with_vmas)
{
	struct name_cache cache = {};
	struct file *exe = NULL;
	struct mm_struct *mm;
	u64 t0, vmas_ns = 0;

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

	mm = get_task_mm(task);
	if (!mm) {
		p->flags |= HW_PF_NO_MM;
		return 0;
	}
	p->vsize_kb = mm->total_vm << (PAGE_SHIFT - 10);
	p->rss_kb = hw_mm_rss_pages(mm) << (PAGE_SHIFT - 10);
	p->pgd = virt_to_phys(mm->pgd);
	fill_exe(w, mm, p, &exe, &cache);
	if (with_vmas) {
		t0 = ktime_get_ns();
		walk_vmas(w, mm, p, &cache);
		vmas_ns = ktime_get_ns() - t0;
	} else {
		p->flags |= HW_PF_VMAS_SKIPPED;
	}
	if (exe)
		fput(exe);
	mmput(mm);
	return vmas_ns;
}

static void put_tasks(struct walker *w, u32 n)
{
	while (n)
		put_task_struct(w->tasks[--n]);
}

/*
 * Take a reference on every process (at most max_procs of them). The array
 * is grown between attempts, outside RCU, when the guest has more.
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
				w->tasks[n++] = task;
			}
			total++;
		}
		rcu_read_unlock();
		if (n == total || n == max_procs || attempt >= COLLECT_ATTEMPTS)
			break;
		put_tasks(w, n);
		/* Some headroom for a process list that keeps growing. */
		if (grow_array((void **)&w->tasks, &w->tasks_cap,
			       total + total / 8 + 16, max_procs,
			       sizeof(*w->tasks)) ||
		    grow_array((void **)&w->procs, &w->procs_cap,
			       total + total / 8 + 16, max_procs,
			       sizeof(*w->procs))) {
			w->alloc_failures++;
			attempt = COLLECT_ATTEMPTS - 1;	/* one last try */
		}
	}
	w->snap.procs_total = total;
	return n;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct hw_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Build a snapshot of at most limit bytes (snapshot_size()) in staging
 * memory. After budget_ns, processes still get records but no VMAs.
 */
void walk_snapshot(struct walker *w, u64 limit, u64 budget_ns)
{
	struct snapshot *s = &w->snap;
	u64 start = ktime_get_ns();
	u64 fixed = snapshot_size(0, 0, 1);
	u64 vmas_ns = 0;
	bool over_budget = false;
	u32 i, n, max_procs;

	memset(s, 0, sizeof(*s));
	s->procs = w->procs;
	s->vmas = w->vmas;
	s->strings = w->strings;
	w->limit = limit;
	reset_strings(w);

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

	for (i = 0; i < n; i++) {
		struct task_struct *task = w->tasks[i];

		if (!over_budget && ktime_get_ns() - start > budget_ns) {
			over_budget = true;
			s->flags |= HW_IF_BUDGET;
		}
		vmas_ns += walk_process(w, task, &w->procs[i], !over_budget);
		put_task_struct(task);
		cond_resched();
	}
	s->nr_procs = n;
	sort(s->procs, n, sizeof(*s->procs), cmp_pid, NULL);
	s->vmas_ns = vmas_ns;
	s->procs_ns = ktime_get_ns() - start - vmas_ns;
}
