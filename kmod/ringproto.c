// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request ring's protocol, shared by the module and haywire-bpf: see
 * ringproto.h. Requests are untrusted: each is copied once, and only the
 * copy is checked and acted on; every answer ends with its seq.
 */
#include "ringproto.h"

/* ---- answers ----------------------------------------------------------- */

/*
 * Before the data of a new answer overwrites the old one, the response's
 * seq changes to a value nobody waits for, so that a reader still copying
 * the old answer sees the change when it checks seq again.
 */
static void answer_begin(struct hw_ring *ring, unsigned int slot, u32 seq)
{
	WRITE_ONCE(hw_ring_response(ring, slot)->seq, seq ^ 0x80000000U);
	/*
	 * seq before the data that follows; pairs with the host's acquire
	 * fence between its copy of the data and its second load of seq
	 * (host/lib/beacon/ring.c), which then sees the changed seq.
	 */
	smp_wmb();
}

/*
 * The header after the data, with the whole question echoed (1.2: the
 * host checks every field), and its seq last: the answer is complete. The
 * heartbeat is not part of an answer and is left alone.
 */
static void answer(struct hw_ring *ring, unsigned int slot,
		   const struct hw_request *req, u32 status,
		   struct hw_response *h)
{
	struct hw_response *r = hw_ring_response(ring, slot);

	if (status)
		h->data_len = 0;
	h->status = status;
	h->id = req->id;
	h->owner = req->owner;	/* an echo; the guest never acts on it */
	h->type = req->type;
	h->pid = req->pid;
	h->arg = req->arg;
	h->addr = req->addr;
	h->len = req->len;
	h->cursor_asked = req->cursor;
	h->nonce = ring->nonce;
	memcpy((u8 *)r + sizeof(r->seq), (u8 *)h + sizeof(h->seq),
	       offsetof(struct hw_response, heartbeat) - sizeof(h->seq));
	/* Pairs with the host's acquire load of seq before it copies. */
	smp_store_release(&r->seq, req->seq);
	/* Read outside the ring's thread: figures only. */
	WRITE_ONCE(ring->answered, ring->answered + 1);
	if (status != HW_ST_OK)
		WRITE_ONCE(ring->failed, ring->failed + 1);
}

/* ---- iterators --------------------------------------------------------- */

void hw_ring_iter_end(struct hw_ring *ring, unsigned int slot)
{
	if (ring->ops->iter_release)
		ring->ops->iter_release(ring, slot);
	memset(&ring->slots[slot].it, 0, sizeof(ring->slots[slot].it));
}

static bool continues(const struct hw_ring_iter *it,
		      const struct hw_request *req)
{
	return it->cursor && req->cursor == it->cursor &&
	       req->type == it->type && req->pid == it->pid &&
	       req->addr == it->addr && req->len == it->len;
}

/*
 * A new iterator for req, or the one it continues (a stale or wrong cursor
 * gets HW_ST_EXPIRED). Checks what TRANSLATE and READ have in common; the
 * rest, which depends on the process, is ops->iter_start's.
 */
static u32 iter_get(struct hw_ring *ring, unsigned int slot,
		    const struct hw_request *req)
{
	struct hw_ring_iter *it = &ring->slots[slot].it;

	if (req->cursor)
		return it->cursor ? HW_ST_OK : HW_ST_EXPIRED;
	if (req->pid <= 0 || !req->len || req->len > U64_MAX - req->addr)
		return HW_ST_BAD_ARG;
	it->type = req->type;
	it->pid = req->pid;
	it->addr = req->addr;
	it->len = req->len;
	it->next = req->addr;
	it->runs_sent = 0;
	return ring->ops->iter_start ? ring->ops->iter_start(ring, slot, req) :
				       HW_ST_OK;
}

u64 hw_ring_iter_continue(struct hw_ring_iter *it)
{
	it->cursor = hw_random_u64() | 1;
	it->last_used_ns = hw_now_ns();
	return it->cursor;
}

u32 hw_ring_iter_busy(struct hw_ring_iter *it, struct hw_response *h)
{
	it->last_used_ns = hw_now_ns();
	h->cursor = it->cursor;
	return HW_ST_BUSY;
}

/* ---- checks every request passes --------------------------------------- */

/* The request fields each type reads; the others must be zero. */
#define USES_PID	0x1
#define USES_ARG	0x2
#define USES_RANGE	0x4	/* addr, len, cursor */

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

/* A known type, and nothing in the fields it does not read. */
static u32 request_shape(const struct hw_request *req)
{
	if (req->type < HW_REQ_PING || req->type >= ARRAY_SIZE(fields_used))
		return HW_ST_BAD_TYPE;
	if (!unused_fields_clear(req))
		return HW_ST_BAD_ARG;
	return HW_ST_OK;
}

/*
 * 1.2: a request whose check does not match was composed by two writers
 * (a client that lost its claim still writing): nothing in it is acted
 * on. A nonce names the beacon the client means: another one's (a host
 * still writing what it meant for the beacon before) is refused.
 * 0 in either is a 1.1 client's.
 */
static u32 request_integrity(const struct hw_ring *ring,
			     const struct hw_request *req)
{
	if (req->check && req->check != hw_request_check(req))
		return HW_ST_TORN;
	if (req->nonce && req->nonce != ring->nonce)
		return HW_ST_WRONG_BEACON;
	return HW_ST_OK;
}

/* ---- requests ---------------------------------------------------------- */

/* TRANSLATE and READ: in parts, by cursor. */
static u32 ranged(struct hw_ring *ring, unsigned int slot,
		  const struct hw_request *req, struct hw_response *h)
{
	u32 status;

	if (req->type == HW_REQ_READ && !ring->ops->read_allowed())
		return HW_ST_REFUSED;
	status = iter_get(ring, slot, req);
	if (!status)
		status = req->type == HW_REQ_READ ?
			 ring->ops->read(ring, slot, h) :
			 ring->ops->translate(ring, slot, h);
	/* Only an answer that continues keeps its iterator. */
	if (!h->cursor)
		hw_ring_iter_end(ring, slot);
	return status;
}

static u32 dispatch(struct hw_ring *ring, unsigned int slot,
		    const struct hw_request *req, struct hw_response *h)
{
	u32 status = request_shape(req);

	if (status)
		return status;
	switch (req->type) {
	case HW_REQ_PING:
		h->value[0] = hw_now_ns();
		h->value[1] = ring->ops->generation();
		return HW_ST_OK;
	case HW_REQ_REFRESH:
		return ring->ops->refresh(ring, slot, req);
	case HW_REQ_PROC_DETAIL:
		return ring->ops->detail(ring, slot, req, h);
	case HW_REQ_CAMERA_SET:
	case HW_REQ_CAMERA_CLEAR:
		return ring->ops->camera(req, h);
	default:
		return ranged(ring, slot, req, h);
	}
}

static void handle(struct hw_ring *ring, unsigned int slot,
		   const struct hw_request *req)
{
	struct hw_response h = {};
	u32 status = request_integrity(ring, req);

	/* A torn or misaddressed request touches nothing, iterators neither. */
	if (status) {
		answer_begin(ring, slot, req->seq);
		answer(ring, slot, req, status, &h);
		return;
	}
	/* Any other request on the slot ends its iterator. */
	if (!continues(&ring->slots[slot].it, req))
		hw_ring_iter_end(ring, slot);
	answer_begin(ring, slot, req->seq);
	status = dispatch(ring, slot, req, &h);
	if (status != HW_RING_LATER)
		answer(ring, slot, req, status, &h);
}

u32 hw_ring_refresh_wait(struct hw_ring *ring, unsigned int slot,
			 const struct hw_request *req, u64 wait_ns)
{
	struct hw_ring_slot *s = &ring->slots[slot];

	s->wait_until_ns = hw_now_ns() + wait_ns;
	s->waiting = *req;
	s->refresh_wait = true;
	return HW_RING_LATER;
}

/* A waiting REFRESH: answer it once its refresh is over. */
static void check_refresh(struct hw_ring *ring, unsigned int slot, u32 seq)
{
	struct hw_ring_slot *s = &ring->slots[slot];
	struct hw_response h = {};
	int err;

	if (seq != s->waiting.seq) {
		/* A newer request replaced it. */
		s->refresh_wait = false;
		return;
	}
	err = ring->ops->refresh_result(ring, slot, &h.value[0]);
	if (err == -EAGAIN && hw_now_ns() < s->wait_until_ns)
		return;
	s->refresh_wait = false;
	answer(ring, slot, &s->waiting, err ? HW_ST_BUSY : HW_ST_OK, &h);
}

/* A new request (seq) on a slot: a copy that was not being rewritten. */
static void take_request(struct hw_ring *ring, unsigned int slot, u32 seq)
{
	struct hw_request *shared = &ring->requests[slot];
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
	ring->slots[slot].seen = seq;
	handle(ring, slot, &req);
}

bool hw_ring_poll(struct hw_ring *ring)
{
	u64 now = hw_now_ns();
	bool active = false;
	unsigned int i;

	/* Read outside the ring's thread: figures only. */
	WRITE_ONCE(ring->heartbeat, ring->heartbeat + 1);
	for (i = 0; i < HW_RING_SLOTS; i++) {
		struct hw_ring_slot *s = &ring->slots[i];
		u32 seq;

		/*
		 * Pairs with the host's release store of seq after it filled
		 * the request (host/lib/beacon/ring.c).
		 */
		seq = smp_load_acquire(&ring->requests[i].seq);

		/*
		 * Alive, as hosts see it: they write nothing unless they saw
		 * it change just before. No ordering: a change is all they
		 * look for.
		 */
		WRITE_ONCE(hw_ring_response(ring, i)->heartbeat,
			   ring->heartbeat);

		if (s->refresh_wait) {
			check_refresh(ring, i, seq);
			active = true;
		}
		if (s->it.cursor &&
		    now > s->it.last_used_ns + HW_RING_ITER_IDLE_NS)
			hw_ring_iter_end(ring, i);
		if (seq == s->seen)
			continue;
		active = true;
		take_request(ring, i, seq);
	}
	return active;
}

void hw_ring_init(struct hw_ring *ring, void *requests, void *responses,
		  u64 nonce, const struct hw_ring_ops *ops)
{
	unsigned int i;

	memset(ring, 0, sizeof(*ring));
	ring->requests = requests;
	ring->responses = responses;
	ring->nonce = nonce;
	ring->ops = ops;
	for (i = 0; i < HW_RING_SLOTS; i++) {
		ring->slots[i].seen = READ_ONCE(ring->requests[i].seq);
		/* Hosts check it with the heartbeat. */
		WRITE_ONCE(hw_ring_response(ring, i)->nonce, nonce);
	}
}

void hw_ring_release(struct hw_ring *ring)
{
	unsigned int i;

	for (i = 0; i < HW_RING_SLOTS; i++)
		hw_ring_iter_end(ring, i);
}
