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
#include <linux/random.h>
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

/* Polling: this often after a request, backing off to poll_max_ms. */
#define POLL_FAST_NS		(50 * NSEC_PER_USEC)
/* An iterator unused this long is dropped. */
#define ITERATOR_IDLE_NS	(5 * NSEC_PER_SEC)
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
/* Not a status on the wire: the answer comes later. */
#define ST_LATER		U32_MAX

static_assert(sizeof(struct hw_response) <= HW_RESPONSE_SLOT_SIZE -
	      HW_RESPONSE_DATA_MAX);
static_assert(sizeof(struct hw_proc_detail) + PATH_MAX < HW_RESPONSE_DATA_MAX);

/* The state of a TRANSLATE or READ answered in several parts. */
struct iterator {
	u64 cursor;			/* 0: none */
	/* the request it continues */
	u32 type;
	s32 pid_nr;
	u64 addr;
	u64 len;
	struct pid *pid;
	u64 next;			/* first address not answered yet */
	struct hw_page_run run;		/* TRANSLATE: run being extended */
	u64 runs_sent;			/* TRANSLATE: runs answered */
	u64 last_used_ns;
};

struct slot {
	u32 seen;			/* seq of the last request taken */
	/* a REFRESH that waits for its refresh */
	bool refresh_wait;
	u64 ticket;			/* 0: not asked for yet */
	u64 wait_until_ns;
	struct hw_request waiting;
	struct iterator it;
};

static struct hw_index *beacon_index;	/* at the start of the fixed area */
static struct hw_request *requests;	/* the request page */
static u8 *responses;			/* the response slots */
static struct slot slots[HW_RING_SLOTS];
static char *scratch;			/* PATH_MAX, for d_path() */
static struct task_struct *request_task;
static u64 beacon_nonce;		/* requests must name it (1.2) */
static u64 heartbeat;			/* looks at the ring so far */
static u64 answered, failed;		/* answers written, not HW_ST_OK */
/*
 * Set when the guest starts to reboot: from then on nothing is answered
 * and the heartbeat stops, so hosts stop writing (docs/protocol.md).
 */
static bool rebooting;
/* When requests last asked for a refresh (0: never). */
static u64 refresh_asked_ns;

static struct hw_response *response_of(unsigned int slot)
{
	return (struct hw_response *)(responses +
				      (size_t)slot * HW_RESPONSE_SLOT_SIZE);
}

static void *response_data(unsigned int slot)
{
	return response_of(slot) + 1;
}

/*
 * Before the data of a new answer overwrites the old one, the response's
 * seq changes to a value nobody waits for, so that a reader still copying
 * the old answer sees the change when it checks seq again.
 */
static void answer_begin(unsigned int slot, u32 seq)
{
	WRITE_ONCE(response_of(slot)->seq, seq ^ 0x80000000U);
	/*
	 * seq before the data that follows; pairs with the host's acquire
	 * fence between its copy of the data and its second load of seq
	 * (host/lib/beacon/ring.c), which then sees the changed seq.
	 */
	smp_wmb();
}

/*
 * The header after the data, and its seq last: the answer is complete.
 * The heartbeat is not part of an answer and is left alone.
 */
static void answer_end(unsigned int slot, u32 seq, struct hw_response *h)
{
	struct hw_response *r = response_of(slot);

	memcpy((u8 *)r + sizeof(r->seq), (u8 *)h + sizeof(h->seq),
	       offsetof(struct hw_response, heartbeat) - sizeof(h->seq));
	/* Pairs with the host's acquire load of seq before it copies. */
	smp_store_release(&r->seq, seq);
}

/* ---- iterators ---------------------------------------------------------- */

static void iterator_end(struct iterator *it)
{
	put_pid(it->pid);
	memset(it, 0, sizeof(*it));
}

static bool continues(const struct iterator *it, const struct hw_request *req)
{
	return it->cursor && req->cursor == it->cursor &&
	       req->type == it->type && req->pid == it->pid_nr &&
	       req->addr == it->addr && req->len == it->len;
}

/*
 * A new iterator for req, or the one it continues (a stale or wrong cursor
 * gets HW_ST_EXPIRED). Checks what TRANSLATE and READ have in common.
 */
static u32 iterator_get(struct iterator *it, const struct hw_request *req)
{
	if (req->cursor)
		return it->cursor ? HW_ST_OK : HW_ST_EXPIRED;
	if (req->pid <= 0 || !req->len || req->len > U64_MAX - req->addr)
		return HW_ST_BAD_ARG;
	it->type = req->type;
	it->pid_nr = req->pid;
	it->addr = req->addr;
	it->len = req->len;
	it->next = req->addr;
	it->pid = find_get_pid(req->pid);
	return it->pid ? HW_ST_OK : HW_ST_NO_PROCESS;
}

/* The answer continues: a new cursor names the rest. */
static u64 iterator_continue(struct iterator *it)
{
	it->cursor = get_random_u64() | 1;
	it->last_used_ns = ktime_get_ns();
	return it->cursor;
}

/*
 * The iterated process's memory, looked up once for the whole answer part
 * and checked against the request's range.
 */
static u32 iterator_mm(struct iterator *it, struct mm_struct **mm)
{
	*mm = hw_process_mm(it->pid);
	if (!*mm)
		return HW_ST_NO_PROCESS;
	if (it->addr >= (*mm)->task_size ||
	    it->len > (*mm)->task_size - it->addr) {
		mmput(*mm);
		return HW_ST_BAD_ARG;
	}
	return HW_ST_OK;
}

/*
 * Ask again with the same cursor: the iterator stays, and counts as used
 * now, so that a client retrying a busy answer keeps it.
 */
static u32 iterator_busy(struct iterator *it, struct hw_response *h)
{
	it->last_used_ns = ktime_get_ns();
	h->cursor = it->cursor;
	return HW_ST_BUSY;
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

static u32 do_translate(unsigned int slot, struct iterator *it,
			struct hw_response *h)
{
	struct translate_out out = { .runs = response_data(slot) };
	struct mm_struct *mm;
	u64 end = it->addr + it->len;
	u32 status;

	status = iterator_mm(it, &mm);
	if (status)
		return status;
	if (!hw_mm_trylock(mm)) {
		status = iterator_busy(it, h);
		goto out;
	}
	out.w.mm = mm;
	out.w.sink = translate_sink;
	out.w.run = it->run;
	out.w.max_entries = TRANSLATE_MAX_ENTRIES;
	pt_walk_mm(&out.w, it->next, end);
	mmap_read_unlock(mm);

	if (out.w.next >= end) {
		pt_walk_flush(&out.w);
		h->total = it->runs_sent + out.count;
		iterator_end(it);
	} else {
		/*
		 * Every part carries a run: one run longer than the entry
		 * budget ends here and the next part starts a new one (the
		 * only case where runs are split where the host's walk
		 * would have merged them).
		 */
		if (!out.count)
			pt_walk_flush(&out.w);
		it->run = out.w.run;
		it->next = out.w.next;
		it->runs_sent += out.count;
		h->cursor = iterator_continue(it);
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
static u32 do_read(unsigned int slot, struct iterator *it,
		   struct hw_response *h)
{
	struct mm_struct *mm;
	u64 left = it->addr + it->len - it->next;
	u32 status, why;
	long got;

	status = iterator_mm(it, &mm);
	if (status)
		return status;
	h->total = it->len;
	h->value[0] = it->next;
	got = hw_mm_read(mm, it->next, response_data(slot),
			 min_t(u64, left, HW_RESPONSE_DATA_MAX), false, &why);
	mmput(mm);
	if (got == -EBUSY)
		return iterator_busy(it, h);
	if (got <= 0)
		return why ? why : HW_ST_UNMAPPED;
	h->data_len = got;
	it->next += got;
	if ((u64)got < left)
		h->cursor = iterator_continue(it);
	return HW_ST_OK;
}

/* TRANSLATE and READ: in parts, by cursor. */
static u32 do_ranged(unsigned int slot, struct slot *s,
		     const struct hw_request *req, struct hw_response *h)
{
	struct iterator *it = &s->it;
	u32 status;

	if (req->type == HW_REQ_READ && !hw_read_allowed())
		return HW_ST_REFUSED;
	status = iterator_get(it, req);
	if (!status)
		status = req->type == HW_REQ_READ ? do_read(slot, it, h) :
						    do_translate(slot, it, h);
	/* Only an answer that continues keeps its iterator. */
	if (!h->cursor)
		iterator_end(it);
	return status;
}

static u32 do_detail(unsigned int slot, const struct hw_request *req,
		     struct hw_response *h)
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
	h->data_len = hw_process_detail(task, response_data(slot),
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

static u32 do_refresh(struct slot *s, const struct hw_request *req)
{
	s->ticket = 0;		/* asked by ask_refreshes() */
	s->wait_until_ns = ktime_get_ns() + REFRESH_MIN_GAP_NS +
			   REFRESH_WAIT_NS +
			   (u64)hw_refresh_budget_ms() * NSEC_PER_MSEC;
	s->waiting = *req;
	s->refresh_wait = true;
	return ST_LATER;
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
		struct slot *s = &slots[i];

		if (!s->refresh_wait || s->ticket)
			continue;
		if (!asked) {
			ticket = hw_refresh_ask();
			refresh_asked_ns = now;
			asked = true;
		}
		s->ticket = ticket;
	}
}

/* The request fields each type reads; the others must be zero. */
#define USES_PID	BIT(0)
#define USES_ARG	BIT(1)
#define USES_RANGE	BIT(2)	/* addr, len, cursor */

static const u8 fields_used[] = {
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
	u8 uses = fields_used[req->type];
	unsigned int i;

	if ((!(uses & USES_PID) && req->pid) ||
	    (!(uses & USES_ARG) && req->arg) ||
	    (!(uses & USES_RANGE) && (req->addr || req->len || req->cursor)))
		return false;
	for (i = 0; i < ARRAY_SIZE(req->reserved); i++)
		if (req->reserved[i])
			return false;
	return true;
}

/*
 * 1.2: a request whose check does not match was composed by two writers
 * (a client that lost its claim still writing): nothing in it is acted
 * on. A nonce names the beacon the client means: another one's (a host
 * still writing what it meant for the module loaded before) is refused.
 * 0 in either is a 1.1 client's.
 */
static u32 request_integrity(const struct hw_request *req)
{
	if (req->check && req->check != hw_request_check(req))
		return HW_ST_TORN;
	if (req->nonce && req->nonce != beacon_nonce)
		return HW_ST_WRONG_BEACON;
	return HW_ST_OK;
}

static u32 dispatch(unsigned int slot, struct slot *s,
		    const struct hw_request *req, struct hw_response *h)
{
	if (req->type < HW_REQ_PING || req->type >= ARRAY_SIZE(fields_used))
		return HW_ST_BAD_TYPE;
	if (!unused_fields_clear(req))
		return HW_ST_BAD_ARG;
	switch (req->type) {
	case HW_REQ_PING:
		h->value[0] = ktime_get_ns();
		h->value[1] = hw_published_generation();
		return HW_ST_OK;
	case HW_REQ_REFRESH:
		return do_refresh(s, req);
	case HW_REQ_PROC_DETAIL:
		return do_detail(slot, req, h);
	case HW_REQ_CAMERA_SET:
		return do_camera_set(req, h);
	case HW_REQ_CAMERA_CLEAR:
		return do_camera_clear(req, h);
	default:
		return do_ranged(slot, s, req, h);
	}
}

static void answer(unsigned int slot, const struct hw_request *req,
		   u32 status, struct hw_response *h)
{
	h->status = status;
	/* The whole question, echoed (1.2): the host checks every field. */
	h->id = req->id;
	h->owner = req->owner;	/* an echo; the guest never acts on it */
	h->type = req->type;
	h->pid = req->pid;
	h->arg = req->arg;
	h->addr = req->addr;
	h->len = req->len;
	h->cursor_asked = req->cursor;
	h->nonce = beacon_nonce;
	answer_end(slot, req->seq, h);
	/* Read outside this thread: hw_requests_counts(). */
	WRITE_ONCE(answered, answered + 1);
	if (status != HW_ST_OK)
		WRITE_ONCE(failed, failed + 1);
}

static void handle(unsigned int slot, struct slot *s,
		   const struct hw_request *req)
{
	struct hw_response h = {};
	u32 status = request_integrity(req);

	/* A torn or misaddressed request touches nothing, iterators neither. */
	if (status) {
		answer_begin(slot, req->seq);
		answer(slot, req, status, &h);
		return;
	}
	/* Any other request on the slot ends its iterator. */
	if (!continues(&s->it, req))
		iterator_end(&s->it);
	answer_begin(slot, req->seq);
	status = dispatch(slot, s, req, &h);
	if (status == ST_LATER)
		return;
	if (status)
		h.data_len = 0;
	answer(slot, req, status, &h);
}

/* A waiting REFRESH: answer it once its refresh is over. */
static void check_refresh(unsigned int slot, struct slot *s, u32 seq)
{
	struct hw_response h = {};
	int err;

	if (seq != s->waiting.seq) {
		/* A newer request replaced it. */
		s->refresh_wait = false;
		return;
	}
	err = s->ticket ? hw_refresh_result(s->ticket, &h.value[0]) : -EAGAIN;
	if (err == -EAGAIN && ktime_get_ns() < s->wait_until_ns)
		return;
	s->refresh_wait = false;
	answer(slot, &s->waiting, err ? HW_ST_BUSY : HW_ST_OK, &h);
}

/* A new request (seq) on a slot: a copy that was not being rewritten. */
static void take_request(unsigned int slot, struct slot *s, u32 seq)
{
	struct hw_request *shared = &requests[slot];
	struct hw_request req;

	memcpy(&req, shared, sizeof(req));
	/*
	 * The copy before seq is read again; pairs with the release store of
	 * seq by which a well-behaved host submits its next request. A host
	 * that rewrites fields without bumping seq gains nothing: only the
	 * copy is used, validated field by field.
	 */
	smp_rmb();
	if (READ_ONCE(shared->seq) != seq)
		return;		/* being rewritten: at the next look */
	req.seq = seq;
	s->seen = seq;
	handle(slot, s, &req);
}

/* One look at every slot; whether anything is going on. */
static bool poll_requests(void)
{
	u64 now = ktime_get_ns();
	bool active = false;
	unsigned int i;

	if (READ_ONCE(rebooting))
		return false;
	/* Read outside this thread: hw_requests_counts(). */
	WRITE_ONCE(heartbeat, heartbeat + 1);
	for (i = 0; i < HW_RING_SLOTS; i++) {
		struct slot *s = &slots[i];
		u32 seq;

		/*
		 * Pairs with the host's release store of seq after it filled
		 * the request (host/lib/beacon/ring.c).
		 */
		seq = smp_load_acquire(&requests[i].seq);

		/*
		 * Alive, as hosts see it: they write nothing unless they saw
		 * it change just before. No ordering: a change is all they
		 * look for.
		 */
		WRITE_ONCE(response_of(i)->heartbeat, heartbeat);

		if (s->refresh_wait) {
			check_refresh(i, s, seq);
			active = true;
		}
		if (s->it.cursor &&
		    now > s->it.last_used_ns + ITERATOR_IDLE_NS)
			iterator_end(&s->it);
		if (seq == s->seen)
			continue;
		active = true;
		take_request(i, s, seq);
	}
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
	unsigned int i;
	int err;

	beacon_index = fixed_area;
	requests = (struct hw_request *)((u8 *)fixed_area +
					 BEACON_REQUESTS_OFFSET);
	responses = (u8 *)fixed_area + BEACON_RESPONSES_OFFSET;
	beacon_nonce = nonce;
	heartbeat = 0;
	WRITE_ONCE(rebooting, false);
	memset(slots, 0, sizeof(slots));
	refresh_asked_ns = 0;
	for (i = 0; i < HW_RING_SLOTS; i++) {
		slots[i].seen = READ_ONCE(requests[i].seq);
		/* Hosts check it with the heartbeat. */
		WRITE_ONCE(response_of(i)->nonce, nonce);
	}
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
	unsigned int i;

	unregister_reboot_notifier(&reboot_nb);
	kthread_stop(request_task);
	for (i = 0; i < HW_RING_SLOTS; i++)
		iterator_end(&slots[i].it);
	kfree(scratch);
}

void hw_requests_counts(struct hw_request_counts *c)
{
	/* Figures only, nothing read through them: no ordering. */
	c->polls = READ_ONCE(heartbeat);
	c->answered = READ_ONCE(answered);
	c->failed = READ_ONCE(failed);
}
