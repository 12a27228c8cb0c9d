/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The request ring's protocol (docs/protocol.md, "Requests: rings"),
 * shared by the module (Kbuild: request.c) and haywire-bpf (ebpf/ebpf.mk:
 * ebpf/ring.c): one look at the ring (heartbeat, the request copied and
 * seq read again), the checks every request passes (check word, nonce,
 * type, fields the type does not use), the cursor of answers in parts,
 * the waiting REFRESH, and the answer's publication (seq changed first,
 * the whole question echoed, seq last). What a request does (page walks,
 * /proc, cameras, refreshes) is the caller's, through struct hw_ring_ops.
 */
#ifndef HAYWIRE_RINGPROTO_H
#define HAYWIRE_RINGPROTO_H

#include "shim.h"
#include "haywire_protocol.h"

/* Not a status on the wire: the answer comes later (a waiting REFRESH). */
#define HW_RING_LATER		U32_MAX
/* An iterator unused this long is dropped. */
#define HW_RING_ITER_IDLE_NS	(5ULL * 1000000000ULL)

/* The state of a TRANSLATE or READ answered in several parts. */
struct hw_ring_iter {
	u64 cursor;			/* 0: none */
	/* the request it continues */
	u32 type;
	s32 pid;
	u64 addr;
	u64 len;
	u64 next;			/* first address not answered yet */
	u64 runs_sent;			/* TRANSLATE: runs answered */
	u64 last_used_ns;
};

struct hw_ring_slot {
	u32 seen;			/* seq of the last request taken */
	/* a REFRESH that waits for its refresh */
	bool refresh_wait;
	u64 wait_until_ns;
	struct hw_request waiting;
	struct hw_ring_iter it;
};

struct hw_ring;

/*
 * What the requests do, in the module or in haywire-bpf. Each is called
 * for a request that passed every common check, fills h (and the slot's
 * data) and returns its status.
 */
struct hw_ring_ops {
	/* PING: the generation published last. */
	u64 (*generation)(void);
	/* REFRESH: returns hw_ring_refresh_wait()'s HW_RING_LATER. */
	u32 (*refresh)(struct hw_ring *ring, unsigned int slot,
		       const struct hw_request *req);
	/*
	 * A waiting REFRESH: 0 when its snapshot is out (*gen: its
	 * generation), -EAGAIN while it may still come, another error when
	 * it will not.
	 */
	int (*refresh_result)(struct hw_ring *ring, unsigned int slot,
			      u64 *gen);
	u32 (*detail)(struct hw_ring *ring, unsigned int slot,
		      const struct hw_request *req, struct hw_response *h);
	/* CAMERA_SET and CAMERA_CLEAR */
	u32 (*camera)(const struct hw_request *req, struct hw_response *h);
	/* READ is refused unless this says yes (allow_read). */
	bool (*read_allowed)(void);
	/*
	 * TRANSLATE and READ, a new range (the slot's iterator is set): the
	 * checks that depend on the process; may be NULL.
	 */
	u32 (*iter_start)(struct hw_ring *ring, unsigned int slot,
			  const struct hw_request *req);
	/*
	 * The next part of the slot's iterator into the slot's data; sets
	 * h->cursor (hw_ring_iter_continue()) when more is left.
	 */
	u32 (*translate)(struct hw_ring *ring, unsigned int slot,
			 struct hw_response *h);
	u32 (*read)(struct hw_ring *ring, unsigned int slot,
		    struct hw_response *h);
	/* The slot's iterator ends: let go of what it holds (may be NULL). */
	void (*iter_release)(struct hw_ring *ring, unsigned int slot);
};

struct hw_ring {
	struct hw_request *requests;	/* the request page */
	u8 *responses;			/* the response slots */
	u64 nonce;			/* the beacon's, requests name it (1.2) */
	const struct hw_ring_ops *ops;
	/* read outside the ring's thread (READ_ONCE): figures only */
	u64 heartbeat;			/* looks at the ring so far */
	u64 answered, failed;		/* answers written, not HW_ST_OK */
	struct hw_ring_slot slots[HW_RING_SLOTS];
};

/*
 * Take over the ring at requests/responses: every request already there
 * counts as seen, and each response slot names the beacon's nonce.
 */
void hw_ring_init(struct hw_ring *ring, void *requests, void *responses,
		  u64 nonce, const struct hw_ring_ops *ops);

/* One look at every slot, answering what is new; whether anything was. */
bool hw_ring_poll(struct hw_ring *ring);

/* End every iterator (unload). */
void hw_ring_release(struct hw_ring *ring);

static inline struct hw_response *hw_ring_response(struct hw_ring *ring,
						   unsigned int slot)
{
	return (struct hw_response *)(ring->responses +
				      (size_t)slot * HW_RESPONSE_SLOT_SIZE);
}

/* The slot's data area: HW_RESPONSE_DATA_MAX bytes. */
static inline void *hw_ring_data(struct hw_ring *ring, unsigned int slot)
{
	return hw_ring_response(ring, slot) + 1;
}

/* The answer continues: a new cursor names the rest, for h->cursor. */
u64 hw_ring_iter_continue(struct hw_ring_iter *it);

/*
 * HW_ST_BUSY that keeps the iterator: the client asks again with the same
 * cursor, and the iterator counts as used now.
 */
u32 hw_ring_iter_busy(struct hw_ring_iter *it, struct hw_response *h);

/* End the slot's iterator (after an answer with no cursor). */
void hw_ring_iter_end(struct hw_ring *ring, unsigned int slot);

/*
 * REFRESH: the answer waits for ops->refresh_result() at most wait_ns.
 * Returns HW_RING_LATER, for ops->refresh to return.
 */
u32 hw_ring_refresh_wait(struct hw_ring *ring, unsigned int slot,
			 const struct hw_request *req, u64 wait_ns);

#endif /* HAYWIRE_RINGPROTO_H */
