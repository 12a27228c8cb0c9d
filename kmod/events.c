// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifecycle events (protocol 1.3, docs/protocol.md "Events"): the
 * sched_process_fork, sched_process_exec and sched_process_exit tracepoints
 * write one record each into a ring that lives in beacon pages that never
 * move. The probes never sleep and never allocate: one raw spinlock (irqs
 * saved) orders writers from all CPUs; the host reads without locks, each
 * record guarded by its own sequence number.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/kernel.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "events.h"
#include "haywire_protocol.h"

static DEFINE_RAW_SPINLOCK(ring_lock);
static struct hw_event_ring *ring;	/* NULL: events off */
static struct hw_event *records;
static u32 nr_records;
static u64 next_seq;			/* under ring_lock */

u64 hw_events_bytes(u32 nr)
{
	if (!nr)
		return 0;
	return PAGE_ALIGN(sizeof(struct hw_event_ring) +
			  (u64)nr * sizeof(struct hw_event));
}

static void copy_comm(char *dst, const struct task_struct *task)
{
	/*
	 * Without task_lock (a probe may not take it): a racing rename can
	 * give a mix of two names, never an unterminated one.
	 */
	memcpy(dst, task->comm, HW_COMM_LEN);
	dst[HW_COMM_LEN - 1] = '\0';
}

static s32 parent_tgid(struct task_struct *task)
{
	s32 ppid;

	rcu_read_lock();
	ppid = pid_alive(task) ?
	       task_tgid_nr(rcu_dereference(task->real_parent)) : 0;
	rcu_read_unlock();
	return ppid;
}

/* The fields every event has, into a record on the stack. */
static void fill_common(struct hw_event *ev, u16 type, struct task_struct *t)
{
	memset(ev, 0, sizeof(*ev));
	ev->boot_ns = ktime_get_boottime_ns();
	ev->real_ns = ktime_get_real_ns();
	ev->type = type;
	ev->pid = t->pid;
	ev->tgid = t->tgid;
	ev->ppid = parent_tgid(t);
	ev->cpu = raw_smp_processor_id();
	if (t->pid != t->tgid)
		ev->flags |= HW_EF_THREAD;
	copy_comm(ev->comm, t);
}

/* Take the next number and write the record into its slot. */
static void emit(const struct hw_event *ev)
{
	struct hw_event *slot;
	unsigned long irqs;
	u64 seq;

	raw_spin_lock_irqsave(&ring_lock, irqs);
	seq = next_seq + 1;
	/* Also read without ring_lock: hw_events_written(). */
	WRITE_ONCE(next_seq, seq);
	slot = &records[(seq - 1) % nr_records];
	WRITE_ONCE(ring->head, seq);
	WRITE_ONCE(slot->seq, 0);
	/*
	 * The slot marked "being written" before its new bytes: pairs with
	 * the host's read barrier before its second look at the slot's seq.
	 */
	smp_wmb();
	memcpy((u8 *)slot + sizeof(slot->seq), (const u8 *)ev + sizeof(ev->seq),
	       sizeof(*ev) - sizeof(ev->seq));
	/*
	 * The record's bytes before its number: pairs with the host's
	 * acquire load of the slot's seq before it copies.
	 */
	smp_wmb();
	WRITE_ONCE(slot->seq, seq);
	if (seq > nr_records)
		WRITE_ONCE(ring->overwritten, seq - nr_records);
	/*
	 * The record before the ring says it is done: pairs with the host's
	 * acquire load of head_done.
	 */
	smp_wmb();
	WRITE_ONCE(ring->head_done, seq);
	raw_spin_unlock_irqrestore(&ring_lock, irqs);
}

static void probe_fork(void *data, struct task_struct *parent,
		       struct task_struct *child)
{
	struct hw_event ev;

	fill_common(&ev, HW_EV_FORK, child);
	/*
	 * The parent is the forking task's process: as /proc shows it after
	 * the fork (CLONE_PARENT aside).
	 */
	ev.ppid = parent_tgid(child);
	emit(&ev);
}

static void probe_exec(void *data, struct task_struct *task, pid_t old_pid,
		       struct linux_binprm *bprm)
{
	struct hw_event ev;
	size_t len;

	fill_common(&ev, HW_EV_EXEC, task);
	len = strnlen(bprm->filename, PATH_MAX);
	ev.filename_len = len;
	if (len >= HW_EVENT_FILENAME_LEN) {
		ev.flags |= HW_EF_FILENAME_TRUNCATED;
		len = HW_EVENT_FILENAME_LEN - 1;
	}
	memcpy(ev.filename, bprm->filename, len);
	ev.filename[len] = '\0';
	emit(&ev);
}

static void probe_exit(void *data, HW_EXIT_PROBE_PARAMS(task))
{
	struct hw_event ev;

	fill_common(&ev, HW_EV_EXIT, task);
	ev.exit_code = task->exit_code;
	emit(&ev);
}

struct hw_probe {
	const char *name;
	void *fn;
	struct tracepoint *tp;
	bool attached;
};

static struct hw_probe probes[] = {
	{ .name = "sched_process_fork", .fn = probe_fork },
	{ .name = "sched_process_exec", .fn = probe_exec },
	{ .name = "sched_process_exit", .fn = probe_exit },
};

static void find_tracepoint(struct tracepoint *tp, void *unused)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if (!strcmp(tp->name, probes[i].name))
			probes[i].tp = tp;
}

static void detach_all(void)
{
	unsigned int i;
	bool any = false;

	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (!probes[i].attached)
			continue;
		tracepoint_probe_unregister(probes[i].tp, probes[i].fn, NULL);
		probes[i].attached = false;
		any = true;
	}
	/* No probe is running (or will run) once this returns. */
	if (any)
		tracepoint_synchronize_unregister();
}

int hw_events_start(void *area, u32 nr)
{
	unsigned int i;
	int err;

	if (!nr)
		return 0;
	ring = area;
	records = (struct hw_event *)(ring + 1);
	nr_records = nr;
	next_seq = 0;
	ring->slots = nr;
	ring->record_size = sizeof(struct hw_event);
	ring->boot_ns = ktime_get_boottime_ns();

	for_each_kernel_tracepoint(find_tracepoint, NULL);
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (!probes[i].tp) {
			pr_err("tracepoint %s not found: load with events=0\n",
			       probes[i].name);
			err = -ENOENT;
			goto fail;
		}
		err = tracepoint_probe_register(probes[i].tp, probes[i].fn,
						NULL);
		if (err) {
			pr_err("cannot attach to %s (%d)\n", probes[i].name,
			       err);
			goto fail;
		}
		probes[i].attached = true;
	}
	return 0;

fail:
	detach_all();
	ring = NULL;
	return err;
}

void hw_events_stop(void)
{
	detach_all();
	ring = NULL;
	records = NULL;
}

u64 hw_events_written(void)
{
	/* A figure only, nothing read through it: no ordering. */
	return READ_ONCE(next_seq);
}

u64 hw_events_overwritten(void)
{
	u64 n = hw_events_written();
	u32 size = READ_ONCE(nr_records);

	return size && n > size ? n - size : 0;
}
