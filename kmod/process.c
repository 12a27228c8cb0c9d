// SPDX-License-Identifier: GPL-2.0-only
/*
 * Questions about one process: its detail and its memory. Every lock taken
 * here is one the kernel's /proc code takes for the same answer, or a
 * trylock; nothing sleeps under RCU or a spinlock.
 */
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs_struct.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/path.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/math64.h>
#include <linux/cgroup.h>
#include <linux/kernfs.h>
#include <linux/pid_namespace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include <linux/userfaultfd_k.h>

#include "compat.h"
#include "process.h"
#include "ptwalk.h"

/* mmap_lock attempts before a request is answered "busy". */
#define MM_LOCK_ATTEMPTS	8

static_assert(_NSIG_WORDS == 1, "signal masks are one 64-bit word");
static_assert(_NSIG <= 64);

struct task_struct *hw_process_get(struct pid *pid)
{
	return get_pid_task(pid, PIDTYPE_TGID);
}

struct mm_struct *hw_process_mm(struct pid *pid)
{
	struct task_struct *task = hw_process_get(pid);
	struct mm_struct *mm;

	if (!task)
		return NULL;
	mm = get_task_mm(task);
	put_task_struct(task);
	return mm;
}

bool hw_mm_trylock(struct mm_struct *mm)
{
	int i;

	for (i = 0; i < MM_LOCK_ATTEMPTS; i++) {
		if (mmap_read_trylock(mm))
			return true;
		usleep_range(100, 200);
	}
	return false;
}

/*
 * Whether the page at addr of vma may be read, and with which gup flags.
 * Never device memory (VM_IO, VM_PFNMAP: the driver's access method would
 * run) nor a userfaultfd range (a fault there waits for a user-space
 * handler). Anonymous memory is faulted in as /proc does (a fault there
 * needs at most memory or swap-in, no file system). A file's page is read
 * only when it is resident (HW_FOLL_RESIDENT): faulting it could wait for
 * NFS or a FUSE server forever, holding the request thread and unload.
 * anon_only: only anonymous memory (FOLL_ANON), as /proc/PID/cmdline.
 */
static int page_gup_flags(struct vm_area_struct *vma, bool anon_only,
			  unsigned int *gup_flags)
{
	if (!(vma->vm_flags & VM_READ))
		return HW_ST_UNMAPPED;
	if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) || userfaultfd_armed(vma))
		return HW_ST_UNSAFE;
	if (vma_is_anonymous(vma)) {
		*gup_flags = anon_only ? FOLL_ANON : 0;
		return HW_ST_OK;
	}
	if (anon_only)
		return HW_ST_UNSAFE;
	*gup_flags = HW_FOLL_RESIDENT;
	return HW_ST_OK;
}

struct one_page_walk {
	struct pt_walk walk;
	bool mapped;
};

static bool note_one_page(struct pt_walk *w, const struct hw_page_run *run)
{
	struct one_page_walk *p = container_of(w, struct one_page_walk, walk);

	p->mapped = run->state == HW_PAGE_PRESENT &&
		    !(run->flags & HW_RF_PROTNONE);
	return true;
}

/* Whether the page at addr (in a VMA of mm, whose lock is held) is mapped. */
static bool page_mapped_now(struct mm_struct *mm, u64 addr)
{
	struct one_page_walk p = {
		.walk = { .mm = mm, .sink = note_one_page },
	};

	addr &= PAGE_MASK;
	pt_walk_range(&p.walk, addr, addr + PAGE_SIZE);
	pt_walk_flush(&p.walk);
	return p.mapped;
}

/* Copy from one page of mm (the caller holds its mmap_lock). */
static bool copy_page_part(struct mm_struct *mm, u64 addr, void *buf,
			   size_t n, unsigned int gup_flags)
{
	struct page *page;
	void *kaddr;

	/* Kernels before FOLL_NOFAULT: no gup of a file page not mapped. */
	if (HW_GUP_MAY_FAULT && (gup_flags & HW_FOLL_RESIDENT) &&
	    !page_mapped_now(mm, addr))
		return false;
	if (hw_get_user_page_remote(mm, addr, gup_flags, &page) != 1)
		return false;
	kaddr = kmap_local_page(page);
	memcpy(buf, kaddr + offset_in_page(addr), n);
	kunmap_local(kaddr);
	put_page(page);
	return true;
}

/* Copy what may be read under mm's mmap_lock (held), page by page. */
static size_t read_locked(struct mm_struct *mm, u64 addr, void *buf,
			  size_t len, bool anon_only, u32 *why)
{
	size_t done = 0;

	*why = HW_ST_OK;
	while (done < len) {
		u64 at = addr + done;
		size_t n = min_t(size_t, len - done,
				 PAGE_SIZE - offset_in_page(at));
		struct vm_area_struct *vma = vma_lookup(mm, at);
		unsigned int gup_flags = 0;

		*why = vma ? page_gup_flags(vma, anon_only, &gup_flags) :
			     HW_ST_UNMAPPED;
		if (*why)
			break;
		if (!copy_page_part(mm, at, (u8 *)buf + done, n, gup_flags)) {
			/*
			 * Not mapped yet, or a fault of anonymous memory
			 * failed (out of memory, a hardware error).
			 */
			*why = (gup_flags & HW_FOLL_RESIDENT) ?
			       HW_ST_NOT_RESIDENT : HW_ST_UNMAPPED;
			break;
		}
		done += n;
	}
	return done;
}

long hw_mm_read(struct mm_struct *mm, u64 addr, void *buf, size_t len,
		bool anon_only, u32 *why)
{
	size_t done;

	if (!hw_mm_trylock(mm))
		return -EBUSY;
	done = read_locked(mm, addr, buf, len, anon_only, why);
	mmap_read_unlock(mm);
	return done;
}

/* ---- detail ----------------------------------------------------------- */

/*
 * As /proc/PID/cmdline: the argument area; when its last byte is not NUL
 * (setproctitle()), the first string of at most a page, with its NUL. Like
 * /proc since CVE-2018-1120, only anonymous memory is read (FOLL_ANON): a
 * process can map a file that never answers over its argument area. When
 * the area cannot be read without waiting, nothing of it is given and the
 * detail says HW_DF_CMDLINE_UNAVAILABLE. allow_read does not apply: /proc
 * shows command lines to every user.
 */
static u32 read_cmdline(struct mm_struct *mm, char *buf, size_t cap,
			u32 *flags)
{
	unsigned long arg_start, arg_end, env_end;
	size_t want;
	long got;
	char last;
	u32 why;

	spin_lock(&mm->arg_lock);
	arg_start = mm->arg_start;
	arg_end = mm->arg_end;
	env_end = mm->env_end;
	spin_unlock(&mm->arg_lock);
	if (!env_end || arg_start >= arg_end)
		return 0;

	got = hw_mm_read(mm, arg_end - 1, &last, 1, true, &why);
	if (got == 1 && last) {
		want = min_t(size_t, PAGE_SIZE, cap);
		got = hw_mm_read(mm, arg_start, buf, want, true, &why);
		if (got > 0) {
			want = strnlen(buf, got);
			return want < (size_t)got ? want + 1 : want;
		}
	} else if (got == 1) {
		want = arg_end - arg_start;
		got = hw_mm_read(mm, arg_start, buf, min(want, cap), true,
				 &why);
		if (got >= 0 && !why) {
			if ((size_t)got < want)
				*flags |= HW_DF_CMDLINE_TRUNCATED;
			return got;
		}
	}
	*flags |= HW_DF_CMDLINE_UNAVAILABLE;
	return 0;
}

/* readlink /proc/PID/cwd into scratch; its length, or -1. */
static int read_cwd(struct task_struct *task, char *scratch, char **out)
{
	struct path pwd;
	bool has_fs;
	char *p;

	task_lock(task);
	has_fs = task->fs;
	if (has_fs)
		get_fs_pwd(task->fs, &pwd);
	task_unlock(task);
	if (!has_fs)
		return -1;
	p = d_path(&pwd, scratch, PATH_MAX);
	path_put(&pwd);
	if (IS_ERR(p))
		return -1;
	*out = p;
	return strlen(p);
}

void hw_task_ids(struct task_struct *task, struct hw_ids *ids)
{
	const struct cred *cred;

	rcu_read_lock();
	cred = __task_cred(task);
	ids->uid[0] = from_kuid(&init_user_ns, cred->uid);
	ids->uid[1] = from_kuid(&init_user_ns, cred->euid);
	ids->uid[2] = from_kuid(&init_user_ns, cred->suid);
	ids->uid[3] = from_kuid(&init_user_ns, cred->fsuid);
	ids->gid[0] = from_kgid(&init_user_ns, cred->gid);
	ids->gid[1] = from_kgid(&init_user_ns, cred->egid);
	ids->gid[2] = from_kgid(&init_user_ns, cred->sgid);
	ids->gid[3] = from_kgid(&init_user_ns, cred->fsgid);
	ids->cap_effective = hw_cap_mask(cred->cap_effective);
	ids->cap_permitted = hw_cap_mask(cred->cap_permitted);
	/* As /proc/PID/status: the parent of init and kthreadd is pid 0. */
	ids->ppid = pid_alive(task) ?
		    task_tgid_nr(rcu_dereference(task->real_parent)) : 0;
	rcu_read_unlock();
}

static void fill_creds(struct task_struct *task, struct hw_proc_detail *d)
{
	struct hw_ids ids;

	hw_task_ids(task, &ids);
	memcpy(d->uid, ids.uid, sizeof(d->uid));
	memcpy(d->gid, ids.gid, sizeof(d->gid));
	d->cap_effective = ids.cap_effective;
	d->cap_permitted = ids.cap_permitted;
}

/*
 * The group's CPU time split as /proc/PID/stat splits it: the scheduler's
 * runtime divided in the ratio of the user and system ticks, never below
 * the split /proc last published (kept in the signal struct). Done here
 * because thread_group_cputime_adjusted() is not exported; the previous
 * split is only read (its lock is the kernel's).
 */
static void split_runtime(struct signal_struct *sig, u64 rtime, u64 *ut,
			  u64 *st)
{
	u64 utime = *ut, stime = *st, prev_ut, prev_st;

	if (!hw_prev_cputime(sig, &prev_ut, &prev_st))
		return;
	if (prev_ut + prev_st >= rtime) {
		*ut = prev_ut;
		*st = prev_st;
		return;
	}
	if (!stime)
		utime = rtime;
	else if (!utime)
		stime = rtime;
	else
		stime = min(mul_u64_u64_div_u64(stime, rtime, stime + utime),
			    rtime);
	stime = max(stime, prev_st);
	utime = rtime - stime;
	if (utime < prev_ut) {
		utime = prev_ut;
		stime = rtime - utime;
	}
	*ut = utime;
	*st = stime;
}

/*
 * CPU times and faults of all threads, live and dead, as /proc/PID/stat
 * sums them: the ticks and runtime of exited threads are kept in the
 * signal struct, the live threads' in each task.
 */
void hw_task_times(struct task_struct *task, struct hw_times *tm)
{
	struct signal_struct *sig = task->signal;
	struct task_struct *t;
	u64 rtime;

	rcu_read_lock();
	tm->utime_ns = sig->utime;
	tm->stime_ns = sig->stime;
	tm->min_flt = sig->min_flt;
	tm->maj_flt = sig->maj_flt;
	rtime = sig->sum_sched_runtime;
	for_each_thread(task, t) {
		tm->utime_ns += READ_ONCE(t->utime);
		tm->stime_ns += READ_ONCE(t->stime);
		rtime += READ_ONCE(t->se.sum_exec_runtime);
		tm->min_flt += t->min_flt;
		tm->maj_flt += t->maj_flt;
	}
	rcu_read_unlock();
	split_runtime(sig, rtime, &tm->utime_ns, &tm->stime_ns);
}

static void fill_times(struct task_struct *task, struct hw_proc_detail *d)
{
	struct hw_times tm;

	hw_task_times(task, &tm);
	d->utime_ns = tm.utime_ns;
	d->stime_ns = tm.stime_ns;
	d->min_flt = tm.min_flt;
	d->maj_flt = tm.maj_flt;
	/* As /proc/PID/status: the thread-group leader's own. */
	d->nvcsw = task->nvcsw;
	d->nivcsw = task->nivcsw;
}

/* Signal masks as /proc/PID/status: SigPnd ShdPnd SigBlk SigIgn SigCgt. */
static void read_signals(struct task_struct *task, struct sighand_struct *sh,
			 struct hw_proc_detail *d)
{
	int sig;

	d->sig_pending = task->pending.signal.sig[0];
	d->sig_shared_pending = task->signal->shared_pending.signal.sig[0];
	d->sig_blocked = task->blocked.sig[0];
	for (sig = 1; sig <= _NSIG; sig++) {
		__sighandler_t handler = sh->action[sig - 1].sa.sa_handler;

		if (handler == SIG_IGN)
			d->sig_ignored |= 1ULL << (sig - 1);
		else if (handler != SIG_DFL)
			d->sig_caught |= 1ULL << (sig - 1);
	}
}

/*
 * Under the task's siglock, as lock_task_sighand() (not exported) takes it:
 * sighand structs are freed only after RCU, so the lock can be taken and
 * the pointer checked again. Locked and unlocked in one place, for sparse.
 */
static void fill_signals(struct task_struct *task, struct hw_proc_detail *d)
{
	struct sighand_struct *sh;
	unsigned long irqflags;

	rcu_read_lock();
	for (sh = rcu_dereference(task->sighand); sh;
	     sh = rcu_dereference(task->sighand)) {
		bool same;

		spin_lock_irqsave(&sh->siglock, irqflags);
		same = sh == rcu_access_pointer(task->sighand);
		if (same)
			read_signals(task, sh, d);
		spin_unlock_irqrestore(&sh->siglock, irqflags);
		if (same)
			break;
	}
	rcu_read_unlock();
}

u32 hw_process_detail(struct task_struct *task, void *buf, size_t cap,
		      char *scratch)
{
	struct hw_proc_detail *d = buf;
	char *cmdline = (char *)(d + 1);
	struct mm_struct *mm;
	char *cwd = NULL;
	int cwd_len;

	memset(d, 0, sizeof(*d));
	d->pid = task->tgid;
	fill_creds(task, d);
	fill_times(task, d);
	fill_signals(task, d);
	d->threads = get_nr_threads(task);
	d->nice = task_nice(task);
	d->policy = task->policy;
	d->exit_signal = task->exit_signal;
	d->state = task_state_to_char(task);

	cwd_len = read_cwd(task, scratch, &cwd);
	if (cwd_len < 0) {
		d->flags |= HW_DF_CWD_UNAVAILABLE;
		cwd_len = 0;
	}
	mm = get_task_mm(task);
	if (mm) {
		d->cmdline_len = read_cmdline(mm, cmdline,
					      cap - sizeof(*d) - cwd_len,
					      &d->flags);
		mmput(mm);
	}
	if (cwd_len)
		memcpy(cmdline + d->cmdline_len, cwd, cwd_len);
	d->cwd_len = cwd_len;
	return sizeof(*d) + d->cmdline_len + d->cwd_len;
}

/*
 * 1.3: the path of the task's cgroup in the v2 hierarchy, as
 * /proc/PID/cgroup shows it from the initial cgroup namespace, into buf,
 * and the cgroup's id (its kernfs node's: never reused while the guest
 * runs) at the same moment. The cgroup and its kernfs node are freed only
 * after RCU. Returns the length, -ENAMETOOLONG if it did not fit, or
 * another error.
 */
int hw_task_cgroup(struct task_struct *task, char *buf, size_t size, u64 *id)
{
	struct cgroup *cgrp;
	int len;

	*id = 0;
	rcu_read_lock();
	cgrp = task_dfl_cgroup(task);
	len = cgrp && cgrp->kn ?
	      kernfs_path_from_node(cgrp->kn, NULL, buf, size) : -ENOENT;
	if (len >= 0)
		*id = cgroup_id(cgrp);
	rcu_read_unlock();
	/* Up to 6.x the full length, truncated copy; later -E2BIG. */
	if (len == -E2BIG || (len >= 0 && (size_t)len >= size))
		return -ENAMETOOLONG;
	return len;
}

/* The id hw_task_cgroup() gives, alone (0: none). */
u64 hw_task_cgroup_id(struct task_struct *task)
{
	struct cgroup *cgrp;
	u64 id;

	rcu_read_lock();
	cgrp = task_dfl_cgroup(task);
	id = cgrp && cgrp->kn ? cgroup_id(cgrp) : 0;
	rcu_read_unlock();
	return id;
}

/* 1.3: the task's PID namespace and its process id in there. */
void hw_task_pidns(struct task_struct *task, u64 *inum, s32 *ns_pid)
{
	struct pid_namespace *ns;

	*inum = 0;
	*ns_pid = 0;
	rcu_read_lock();
	ns = task_active_pid_ns(task);
	if (ns) {
		*inum = ns->ns.inum;
		*ns_pid = task_tgid_nr_ns(task, ns);
	}
	rcu_read_unlock();
}
