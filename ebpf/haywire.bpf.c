// SPDX-License-Identifier: GPL-2.0-only
/*
 * The eBPF companion's programs: the task and task_vma iterators hand the
 * loader one raw record per process and per VMA (hwb.h), read the way the
 * module's walk reads them (kmod/walk.c), with CO-RE relocations and field
 * checks for what differs between kernels. Loaded by haywire-bpf through
 * its skeleton (loader.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "hwb.h"
#define HAYWIRE_NO_TYPES_INCLUDE	/* vmlinux.h has them */
/* the header's layout checks want a constant offsetof */
#undef offsetof
#define offsetof(type, member)	__builtin_offsetof(type, member)
#include "haywire_protocol.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u64 page_offset_addr;	/* &page_offset_base (x86-64
						 * KASLR); 0: not found */
const volatile __u64 page_offset_const;	/* or the direct map's fixed base */
const volatile __u32 kernel_version;	/* KERNEL_VERSION(a, b, c) */
const volatile __u64 per_cpu_offset_addr; /* &__per_cpu_offset[0], or 0 */
const volatile __u32 nr_cpu_ids;	/* possible CPUs */

#define MAX_CPUS	256	/* summed per-CPU counters: at most these */

#define KV(a, b, c)	(((a) << 16) + ((b) << 8) + (c))
#define PF_KTHREAD	0x00200000

/* Records are built here: the BPF stack (512 bytes) cannot hold a path. */
struct scratch {
	char name[2 * HWB_NAME_MAX];	/* twice: a bound by mask (emit()) */
	struct hwb_task task;
	struct hwb_vma vma;
};

/*
 * The file of the last path record the loader received in this run of the
 * VMA iterator (the module's name_cache: mappings of one file come in
 * runs). Global, not per CPU: one reader at a time runs an iterator, and
 * its show() calls are serialized. Set only when the record really went
 * out (a record that overflowed the seq_file buffer is shown again).
 */
struct file *named_file;
__s32 named_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Fields that moved between kernels: the older spellings. */
struct task_struct___old {
	long state;			/* before 5.14: __state */
	unsigned int cpu;		/* 5.10 .. 5.15: not in thread_info */
} __attribute__((preserve_access_index));

struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;	/* before 6.2 */
} __attribute__((preserve_access_index));

struct percpu_counter___new {
	s64 count;
	s32 *counters;				/* __percpu */
} __attribute__((preserve_access_index));

struct mm_struct___new {
	struct percpu_counter___new rss_stat[4];	/* 6.2 on */
} __attribute__((preserve_access_index));

static struct scratch *get_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The record, then its name padded to 8 bytes: 0 when both went out. */
static long emit(struct seq_file *seq, void *rec, __u32 size,
		 struct scratch *s, __u32 name_len)
{
	/* a bound the verifier sees: name_len <= HWB_NAME_MAX - 1 anyway */
	__u64 padded = ((__u64)name_len + 7) & (2 * HWB_NAME_MAX - 8);
	long err = bpf_seq_write(seq, rec, size);

	if (!err && padded)
		err = bpf_seq_write(seq, s->name, padded);
	return err;
}

/* d_path into s->name: its length without the NUL, or 0 with *err. */
static __u32 path_name(struct path *path, struct scratch *s, __s32 *err)
{
	long n = bpf_d_path(path, s->name, HWB_NAME_MAX);

	if (n <= 0) {
		*err = n ? (__s32)n : -22;
		return 0;
	}
	*err = 0;
	return (__u32)(n - 1);
}

/* The central count plus every CPU's share (percpu_counter_sum()). */
static __s64 percpu_sum(struct percpu_counter___new *c)
{
	__s64 sum = BPF_CORE_READ(c, count);
	void *counters = BPF_CORE_READ(c, counters);
	__u32 i;

	for (i = 0; i < MAX_CPUS && i < nr_cpu_ids; i++) {
		__u64 off;
		__s32 v;

		if (bpf_probe_read_kernel(&off, sizeof(off),
					  (void *)(per_cpu_offset_addr + i * 8)))
			break;
		if (!bpf_probe_read_kernel(&v, sizeof(v), counters + off))
			sum += v;
	}
	return sum;
}

static void read_rss(struct mm_struct *mm, __s64 rss[4])
{
	int i;

	if (bpf_core_type_exists(struct mm_rss_stat)) {
		struct mm_struct___old *old = (void *)mm;

		for (i = 0; i < 4; i++)
			rss[i] = BPF_CORE_READ(old, rss_stat.count[i].counter);
	} else {
		struct mm_struct___new *new = (void *)mm;

		/*
		 * percpu_counter_sum(), as /proc/PID/status (6.12.y on);
		 * constant indices, so that CO-RE relocates each element
		 * (the local type is smaller than the kernel's)
		 */
		rss[0] = percpu_sum(&new->rss_stat[0]);
		rss[1] = percpu_sum(&new->rss_stat[1]);
		rss[3] = percpu_sum(&new->rss_stat[3]);
	}
}

static void read_pidns(struct task_struct *task, struct hwb_task *t)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (!pid || level > 32)
		return;
	bpf_probe_read_kernel(&up, sizeof(up), (void *)pid +
			      bpf_core_field_offset(struct pid, numbers) +
			      level * bpf_core_type_size(struct upid));
	t->ns_pid = up.nr;
	t->pidns_inum = BPF_CORE_READ(up.ns, ns.inum);
}

/* The base of the kernel's direct map, to turn mm->pgd into __pa(). */
static __u64 direct_map_base(void)
{
	__u64 base = page_offset_const;

	if (page_offset_addr &&
	    bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)page_offset_addr))
		return 0;
	return base;
}

/*
 * The exe file of the last process record sent in this run of the task
 * iterator (processes forked from one program share it): its path is not
 * looked up again. As named_file (below): set only when the record went
 * out.
 */
struct file *exe_named;

static void read_mm(struct mm_struct *mm, struct hwb_task *t,
		    struct scratch *s)
{
	struct file *exe = mm->exe_file;
	__u64 pgd = (__u64)BPF_CORE_READ(mm, pgd);	/* a number, not a pointer */
	__u64 page_offset = direct_map_base();

	t->has_mm = 1;
	t->map_count = mm->map_count;
	t->total_vm = mm->total_vm;
	read_rss(mm, t->rss);
	if (page_offset && pgd >= page_offset)
		t->pgd = pgd - page_offset;
	if (!exe)
		return;
	if (exe == exe_named) {
		t->exe_same = 1;
		return;
	}
	t->h.name_len = path_name(&exe->f_path, s, &t->h.name_err);
}

SEC("iter/task")
int hw_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	const struct cred *cred;
	struct scratch *s;
	struct hwb_task *t;
	struct mm_struct *mm;

	if (!task || task->pid != task->tgid)
		return 0;	/* the end, or a thread: one record a process */
	s = get_scratch();
	if (!s)
		return 0;
	t = &s->task;
	__builtin_memset(t, 0, sizeof(*t));
	t->h.kind = HWB_TASK;
	t->h.size = sizeof(*t);
	t->pid = task->pid;
	t->tgid = task->tgid;
	t->ppid = task->real_parent->tgid;
	t->flags = task->flags;
	cred = task->real_cred;
	t->uid = cred->uid.val;
	t->gid = cred->gid.val;
	t->euid = cred->euid.val;
	t->egid = cred->egid.val;
	t->threads = task->signal->nr_threads;
	if (bpf_core_field_exists(task->__state))
		t->state = BPF_CORE_READ(task, __state);
	else
		t->state = BPF_CORE_READ((struct task_struct___old *)task,
					 state);
	t->exit_state = task->exit_state;
	t->static_prio = task->static_prio;
	if (bpf_core_field_exists(task->thread_info.cpu))
		t->cpu = BPF_CORE_READ(task, thread_info.cpu);
	else
		t->cpu = BPF_CORE_READ((struct task_struct___old *)task, cpu);
	BPF_CORE_READ_INTO(&t->comm, task, comm);
	t->start_boottime = task->start_boottime;
	read_pidns(task, t);
	mm = task->mm;
	if (ctx->meta->seq_num == 0)
		exe_named = NULL;	/* a new run: nothing named yet */
	if (mm && !(t->flags & PF_KTHREAD))
		read_mm(mm, t, s);
	if (emit(seq, t, sizeof(*t), s, t->h.name_len))
		exe_named = NULL;	/* shown again: send the path again */
	else if (t->has_mm && t->h.name_len && !t->h.name_err)
		exe_named = mm->exe_file;
	return 0;
}

/* show_map_vma()'s name for a VMA without a file. */
static void anon_vma_text(struct vm_area_struct *vma, struct hwb_vma *v,
			  struct scratch *s)
{
	const struct vm_operations_struct *ops = vma->vm_ops;
	struct mm_struct *mm = vma->vm_mm;
	__u64 brk = mm->brk, start_brk = mm->start_brk;
	__u64 stack = mm->start_stack;
	bool strict = kernel_version >= KV(6, 6, 0);
	long n;


	if (ops && ops->name) {
		/* special_mapping_name(): [vdso], [vvar], [uprobes] ... */
		struct vm_special_mapping *sm = BPF_CORE_READ(vma,
							      vm_private_data);

		n = bpf_probe_read_kernel_str(s->name, HWB_NAME_MAX,
					      BPF_CORE_READ(sm, name));
		if (n > 1) {
			v->name_kind = HWB_NAME_TEXT;
			v->h.name_len = n - 1;
			return;
		}
	}
	/* 6.6: vma_is_initial_heap() and _stack() with strict bounds */
	if (strict ? v->start < brk && v->end > start_brk :
		     v->start <= brk && v->end >= start_brk) {
		__builtin_memcpy(s->name, "[heap]", 6);
		v->name_kind = HWB_NAME_TEXT;
		v->h.name_len = 6;
	} else if (v->start <= stack && v->end >= stack) {
		__builtin_memcpy(s->name, "[stack]", 7);
		v->name_kind = HWB_NAME_TEXT;
		v->h.name_len = 7;
	}
}

/* A name given with prctl(PR_SET_VMA_ANON_NAME): its length, or 0. */
static __u32 anon_name(struct vm_area_struct *vma, struct scratch *s)
{
	struct anon_vma_name *an;
	long n;

	if (!bpf_core_field_exists(vma->anon_name))
		return 0;	/* a kernel without CONFIG_ANON_VMA_NAME */
	an = vma->anon_name;	/* a direct load: no helper call */
	if (!an)
		return 0;
	n = bpf_probe_read_kernel_str(s->name, HWB_NAME_MAX, &an->name);
	return n > 1 ? n - 1 : 0;
}

SEC("iter/task_vma")
int hw_vmas(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct scratch *s;
	struct hwb_vma *v;
	struct file *file, *named = NULL;
	__u32 len;

	if (ctx->meta->seq_num == 0)
		named_file = NULL;	/* a new run: nothing named yet */
	if (!task || !vma || task->pid != task->tgid)
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
	v = &s->vma;
	__builtin_memset(v, 0, sizeof(*v));
	v->h.kind = HWB_VMA;
	v->h.size = sizeof(*v);
	v->tgid = task->tgid;
	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->vm_flags = vma->vm_flags;
	file = vma->vm_file;
	if (file) {
		v->pgoff = vma->vm_pgoff;
		v->ino = file->f_inode->i_ino;
		v->dev = file->f_inode->i_sb->s_dev;
		len = kernel_version >= KV(6, 2, 0) ? anon_name(vma, s) : 0;
		if (len) {
			v->name_kind = HWB_NAME_ANON_SHMEM;
			v->h.name_len = len;
		} else if (file == named_file && v->tgid == named_tgid) {
			/* the last path sent: no d_path, no bytes */
			v->name_kind = HWB_NAME_SAME;
		} else {
			v->name_kind = HWB_NAME_PATH;
			v->h.name_len = path_name(&file->f_path, s,
						  &v->h.name_err);
			named = file;
		}
	} else {
		anon_vma_text(vma, v, s);
		if (v->name_kind == HWB_NAME_NONE) {
			len = anon_name(vma, s);
			if (len) {
				v->name_kind = HWB_NAME_ANON;
				v->h.name_len = len;
			}
		}
	}
	if (emit(seq, v, sizeof(*v), s, v->h.name_len)) {
		named_file = NULL;	/* shown again: send the path again */
	} else if (named) {
		named_file = named;
		named_tgid = v->tgid;
	}
	return 0;
}

/* ---- lifecycle events (protocol 1.3, HW_SEC_EVENTS) ------------------- */

/* Records for the loader, which numbers them into the beacon's ring. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

__u64 events_dropped;	/* ring full: records never written */

/*
 * A record from the ring buffer, or NULL: then counted, and the loader
 * skips its number so that the host sees it lost.
 */
static __always_inline struct hw_event *event_reserve(void)
{
	struct hw_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev)
		__sync_fetch_and_add(&events_dropped, 1);
	return ev;
}

/* The fields every event has (the module's fill_common()). */
static __always_inline void event_fill(struct hw_event *ev, __u16 type,
				       struct task_struct *t)
{
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->boot_ns = bpf_ktime_get_boot_ns();
	ev->type = type;
	ev->pid = BPF_CORE_READ(t, pid);
	ev->tgid = BPF_CORE_READ(t, tgid);
	ev->ppid = BPF_CORE_READ(t, real_parent, tgid);
	ev->cpu = bpf_get_smp_processor_id();
	if (ev->pid != ev->tgid)
		ev->flags |= HW_EF_THREAD;
	BPF_CORE_READ_INTO(&ev->comm, t, comm);
	ev->comm[HW_COMM_LEN - 1] = '\0';
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(hw_fork, struct task_struct *parent, struct task_struct *child)
{
	struct hw_event *ev = event_reserve();

	if (!ev)
		return 0;
	event_fill(ev, HW_EV_FORK, child);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(hw_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	const char *filename = BPF_CORE_READ(bprm, filename);
	struct scratch *s = get_scratch();
	struct hw_event *ev;
	long n;

	/* the whole length first (scratch), then what fits */
	n = s ? bpf_probe_read_kernel_str(s->name, HWB_NAME_MAX, filename) : 0;
	ev = event_reserve();
	if (!ev)
		return 0;
	event_fill(ev, HW_EV_EXEC, p);
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), filename);
	ev->filename_len = n > 0 ? n - 1 : 0;
	if (ev->filename_len >= HW_EVENT_FILENAME_LEN)
		ev->flags |= HW_EF_FILENAME_TRUNCATED;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(hw_exit, struct task_struct *p)
{
	struct hw_event *ev = event_reserve();

	if (!ev)
		return 0;
	event_fill(ev, HW_EV_EXIT, p);
	ev->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
