// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host requests: one kernel thread polls the request page, often while
 * requests arrive and ever more rarely when idle, so that an idle guest pays
 * almost nothing; it copies each new request, validates every field (the
 * host is untrusted input), does a bounded amount of work and answers in the
 * slot's response. A refresh runs in the refresh thread, so a slow one
 * delays no other request. Answers too long for one response continue by
 * cursor: one iterator per slot.
 *
 * Nothing here waits for what may not finish (a page of a hung FUSE or NFS
 * server, a userfaultfd handler, a blocked mmap_lock): process memory is read
 * by hw_mm_read(), mmap_lock is only trylocked, so every request is answered
 * in bounded time and kthread_stop() on unload always returns.
 *
 * The ring's protocol (the look at each slot, the checks every request
 * passes, cursors, the answer's publication) is ringproto.c, shared with
 * haywire-bpf; what each request does in this kernel is here.
 *
 * Of the beacon the request side holds only its fixed area (request page
 * and response slots in extent 0, which a grow never moves or frees) and
 * reads the published generation with published_generation(); it touches
 * no other beacon state, so it needs no refresh lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/freezer.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "beacon.h"
#include "camera.h"
#include "process.h"
#include "ptwalk.h"
#include "refresh.h"
#include "request.h"
#include "ringproto.h"

/* Polling: this often after a request, backing off to poll_max_ms. */
#define POLL_FAST_NS		(50 * NSEC_PER_USEC)
/* Page-table entries one TRANSLATE request examines at most. */
#define TRANSLATE_MAX_ENTRIES	65536
#define RUNS_PER_RESPONSE \
	(HW_RESPONSE_DATA_MAX / sizeof(struct hw_page_run))
/*
 * A REFRESH is answered "busy" if its refresh takes longer than the
 * refresh's time budget plus this.
 */
#define REFRESH_WAIT_NS		(10 * NSEC_PER_SEC)
/*
 * Rate limit: REFRESH requests start at most one refresh per this. A
 * REFRESH waits until this long after the last refresh requests asked for,
 * and then shares one new refresh with every REFRESH waiting at that time;
 * its answer is still a snapshot begun after it arrived. Clients asking in
 * a loop cost at most 20 refreshes a second.
 */
#define REFRESH_MIN_GAP_NS	(50 * NSEC_PER_MSEC)

static_assert(sizeof(struct hw_response) <= HW_RESPONSE_SLOT_SIZE -
	      HW_RESPONSE_DATA_MAX);
static_assert(sizeof(struct hw_proc_detail) + PATH_MAX < HW_RESPONSE_DATA_MAX);

/* What a slot's iterator and waiting REFRESH hold in this kernel. */
struct slot {
	struct pid *pid;		/* the iterated process */
	struct hw_page_run run;		/* TRANSLATE: run being extended */
	u64 ticket;			/* REFRESH: 0 until asked for */
};

static struct hw_index *beacon_index;	/* at the start of the fixed area */
static struct hw_ring ring;
static struct slot slots[HW_RING_SLOTS];
static char *scratch;			/* PATH_MAX, for d_path() */
static struct task_struct *request_task;
/*
 * Set when the guest starts to reboot: from then on nothing is answered
 * and the heartbeat stops, so hosts stop writing (docs/protocol.md).
 */
static bool rebooting;
/* When requests last asked for a refresh (0: never). */
static u64 refresh_asked_ns;

/* ---- iterators ---------------------------------------------------------- */

static void iter_release(struct hw_ring *r, unsigned int slot)
{
	put_pid(slots[slot].pid);
	slots[slot].pid = NULL;
	memset(&slots[slot].run, 0, sizeof(slots[slot].run));
}

/*
 * The iterated process's memory, looked up once for the whole answer part
 * and checked against the request's range.
 */
static u32 iterator_mm(unsigned int slot, struct mm_struct **mm)
{
	struct hw_ring_iter *it = &ring.slots[slot].it;

	*mm = hw_process_mm(slots[slot].pid);
	if (!*mm)
		return HW_ST_NO_PROCESS;
	if (it->addr >= (*mm)->task_size ||
	    it->len > (*mm)->task_size - it->addr) {
		mmput(*mm);
		return HW_ST_BAD_ARG;
	}
	return HW_ST_OK;
}

/* ---- requests ----------------------------------------------------------- */

struct translate_out {
	struct pt_walk w;
	struct hw_page_run *runs;
	u32 count;
};

/* Room is kept for the run being extended, added when the walk ends. */
static bool translate_sink(struct pt_walk *w, const struct hw_page_run *run)
{
	struct translate_out *out = container_of(w, struct translate_out, w);

	if (out->count >= RUNS_PER_RESPONSE)
		return true;	/* never past the response slot */
	out->runs[out->count++] = *run;
	return out->count >= RUNS_PER_RESPONSE - 1;
}

static u32 do_translate(struct hw_ring *r, unsigned int slot,
			struct hw_response *h)
{
	struct translate_out out = { .runs = hw_ring_data(r, slot) };
	struct hw_ring_iter *it = &r->slots[slot].it;
	struct mm_struct *mm;
	u64 end = it->addr + it->len;
	u32 status;

	status = iterator_mm(slot, &mm);
	if (status)
		return status;
	if (!hw_mm_trylock(mm)) {
		status = hw_ring_iter_busy(it, h);
		goto out;
	}
	out.w.mm = mm;
	out.w.sink = translate_sink;
	out.w.run = slots[slot].run;
	out.w.max_entries = TRANSLATE_MAX_ENTRIES;
	pt_walk_mm(&out.w, it->next, end);
	mmap_read_unlock(mm);

	if (out.w.next >= end) {
		pt_walk_flush(&out.w);
		h->total = it->runs_sent + out.count;
		hw_ring_iter_end(r, slot);
	} else {
		/*
		 * Every part carries a run: one run longer than the entry
		 * budget ends here and the next part starts a new one (the
		 * only case where runs are split where the host's walk
		 * would have merged them).
		 */
		if (!out.count)
			pt_walk_flush(&out.w);
		slots[slot].run = out.w.run;
		it->next = out.w.next;
		it->runs_sent += out.count;
		h->cursor = hw_ring_iter_continue(it);
	}
	h->data_len = out.count * sizeof(struct hw_page_run);
out:
	mmput(mm);
	return status;
}

/*
 * READ: never waits for what may not finish (hw_mm_read()); what it will
 * not read ends the answer with a status saying why, at value[0].
 */
static u32 do_read(struct hw_ring *r, unsigned int slot,
		   struct hw_response *h)
{
	struct hw_ring_iter *it = &r->slots[slot].it;
	struct mm_struct *mm;
	u64 left = it->addr + it->len - it->next;
	u32 status, why;
	long got;

	status = iterator_mm(slot, &mm);
	if (status)
		return status;
	h->total = it->len;
	h->value[0] = it->next;
	got = hw_mm_read(mm, it->next, hw_ring_data(r, slot),
			 min_t(u64, left, HW_RESPONSE_DATA_MAX), false, &why);
	mmput(mm);
	if (got == -EBUSY)
		return hw_ring_iter_busy(it, h);
	if (got <= 0)
		return why ? why : HW_ST_UNMAPPED;
	h->data_len = got;
	it->next += got;
	if ((u64)got < left)
		h->cursor = hw_ring_iter_continue(it);
	return HW_ST_OK;
}

/* TRANSLATE and READ of a new range: a process to hold on to. */
static u32 iter_start(struct hw_ring *r, unsigned int slot,
		      const struct hw_request *req)
{
	slots[slot].pid = find_get_pid(req->pid);
	return slots[slot].pid ? HW_ST_OK : HW_ST_NO_PROCESS;
}

static u32 do_detail(struct hw_ring *r, unsigned int slot,
		     const struct hw_request *req, struct hw_response *h)
{
	struct task_struct *task;
	struct pid *pid;

	if (req->pid <= 0)
		return HW_ST_BAD_ARG;
	pid = find_get_pid(req->pid);
	task = pid ? hw_process_get(pid) : NULL;
	put_pid(pid);
	if (!task)
		return HW_ST_NO_PROCESS;
	h->data_len = hw_process_detail(task, hw_ring_data(r, slot),
					HW_RESPONSE_DATA_MAX, scratch);
	h->total = h->data_len;
	put_task_struct(task);
	return HW_ST_OK;
}

static u32 do_camera_set(const struct hw_request *req, struct hw_response *h)
{
	struct mm_struct *mm;
	struct pid *pid;

	if (req->arg >= HW_MAX_CAMERAS || req->pid <= 0)
		return HW_ST_BAD_ARG;
	pid = find_get_pid(req->pid);
	mm = pid ? hw_process_mm(pid) : NULL;
	if (!mm) {
		put_pid(pid);
		return HW_ST_NO_PROCESS;
	}
	mmput(mm);
	camera_set(req->arg, pid, &h->value[0]);
	return HW_ST_OK;
}

static u32 do_camera_clear(const struct hw_request *req,
			   struct hw_response *h)
{
	if (req->arg >= HW_MAX_CAMERAS)
		return HW_ST_BAD_ARG;
	camera_clear(req->arg, &h->value[0]);
	return HW_ST_OK;
}

static u32 do_camera(const struct hw_request *req, struct hw_response *h)
{
	return req->type == HW_REQ_CAMERA_SET ? do_camera_set(req, h) :
						do_camera_clear(req, h);
}

static u32 do_refresh(struct hw_ring *r, unsigned int slot,
		      const struct hw_request *req)
{
	slots[slot].ticket = 0;		/* asked by ask_refreshes() */
	return hw_ring_refresh_wait(r, slot, req, REFRESH_MIN_GAP_NS +
				    REFRESH_WAIT_NS +
				    (u64)hw_refresh_budget_ms() * NSEC_PER_MSEC);
}

static int refresh_result(struct hw_ring *r, unsigned int slot, u64 *gen)
{
	u64 ticket = slots[slot].ticket;

	return ticket ? hw_refresh_result(ticket, gen) : -EAGAIN;
}

/* One refresh for every REFRESH not asked for yet, within the rate limit. */
static void ask_refreshes(u64 now)
{
	bool asked = false;
	u64 ticket = 0;
	unsigned int i;

	if (refresh_asked_ns && now - refresh_asked_ns < REFRESH_MIN_GAP_NS)
		return;
	for (i = 0; i < HW_RING_SLOTS; i++) {
		if (!ring.slots[i].refresh_wait || slots[i].ticket)
			continue;
		if (!asked) {
			ticket = hw_refresh_ask();
			refresh_asked_ns = now;
			asked = true;
		}
		slots[i].ticket = ticket;
	}
}

static const struct hw_ring_ops ring_ops = {
	.generation = hw_published_generation,
	.refresh = do_refresh,
	.refresh_result = refresh_result,
	.detail = do_detail,
	.camera = do_camera,
	.read_allowed = hw_read_allowed,
	.iter_start = iter_start,
	.translate = do_translate,
	.read = do_read,
	.iter_release = iter_release,
};

/* One look at the ring; whether anything is going on. */
static bool poll_requests(void)
{
	bool active;

	if (READ_ONCE(rebooting))
		return false;
	active = hw_ring_poll(&ring);
	ask_refreshes(ktime_get_ns());
	return active;
}

static void poll_sleep(u64 ns)
{
	ktime_t t = ns_to_ktime(ns);

	set_current_state(TASK_INTERRUPTIBLE);
	if (!kthread_should_stop())
		schedule_hrtimeout_range(&t, ns / 4, HRTIMER_MODE_REL);
	__set_current_state(TASK_RUNNING);
}

static int request_thread(void *unused)
{
	u64 interval = POLL_FAST_NS;

	/* Suspend and hibernation freeze it between two polls. */
	set_freezable();
	while (!kthread_should_stop()) {
		u64 max_ns = (u64)hw_poll_max_ms() * NSEC_PER_MSEC;

		try_to_freeze();

		if (poll_requests())
			interval = POLL_FAST_NS;
		else
			interval = min(interval * 2, max_ns);
		poll_sleep(interval);
	}
	return 0;
}

/*
 * A reboot (or kexec) hands this memory to the next kernel while host
 * clients may still be about to write a request into it. Clients check the
 * index magic just before each store (host/lib/beacon/ring.c), so the magic says
 * "gone" from the moment the reboot starts, long before the next kernel
 * runs; the heartbeat stops and nothing more is answered. The module is
 * not unloaded: the beacon itself stays as it is.
 */
static int requests_reboot(struct notifier_block *nb, unsigned long action,
			   void *unused)
{
	WRITE_ONCE(rebooting, true);
	WRITE_ONCE(beacon_index->magic, HW_MAGIC_GONE);
	/* The store out to the host now; as beacon_destroy() does. */
	smp_mb();
	return NOTIFY_DONE;
}

static struct notifier_block reboot_nb = {
	.notifier_call = requests_reboot,
};

int hw_requests_start(void *fixed_area, u64 nonce)
{
	int err;

	beacon_index = fixed_area;
	WRITE_ONCE(rebooting, false);
	memset(slots, 0, sizeof(slots));
	refresh_asked_ns = 0;
	hw_ring_init(&ring, (u8 *)fixed_area + BEACON_REQUESTS_OFFSET,
		     (u8 *)fixed_area + BEACON_RESPONSES_OFFSET, nonce,
		     &ring_ops);
	err = register_reboot_notifier(&reboot_nb);
	if (err)
		return err;
	scratch = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!scratch) {
		unregister_reboot_notifier(&reboot_nb);
		return -ENOMEM;
	}
	request_task = kthread_run(request_thread, NULL, "haywire-req");
	if (IS_ERR(request_task)) {
		kfree(scratch);
		unregister_reboot_notifier(&reboot_nb);
		return PTR_ERR(request_task);
	}
	return 0;
}

void hw_requests_stop(void)
{
	unregister_reboot_notifier(&reboot_nb);
	kthread_stop(request_task);
	hw_ring_release(&ring);
	kfree(scratch);
}

void hw_requests_counts(struct hw_request_counts *c)
{
	/* Figures only, nothing read through them: no ordering. */
	c->polls = READ_ONCE(ring.heartbeat);
	c->answered = READ_ONCE(ring.answered);
	c->failed = READ_ONCE(ring.failed);
}
