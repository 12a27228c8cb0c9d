// SPDX-License-Identifier: MIT
/*
 * The shared request ring protocol (kmod/ringproto.c), built for user
 * space as haywire-bpf builds it, driven through a request page and
 * response slots in memory with requests that do nothing but count: the
 * checks every request passes, the echo, cursors and the waiting REFRESH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ringproto.h"

#define PART	100		/* bytes one READ answer part carries */
#define GEN	7		/* the generation PING reports */

static struct hw_request requests[HW_RING_SLOTS];
static unsigned char responses[HW_RING_SLOTS * HW_RESPONSE_SLOT_SIZE];
static struct hw_ring ring;
static bool allow_read, refreshed;
static unsigned int releases;

static u64 generation(void)
{
	return GEN;
}

static u32 refresh(struct hw_ring *r, unsigned int slot,
		   const struct hw_request *req)
{
	return hw_ring_refresh_wait(r, slot, req, 60ULL * 1000000000ULL);
}

static int refresh_result(struct hw_ring *r, unsigned int slot, u64 *gen)
{
	(void)r;
	(void)slot;
	*gen = GEN + 1;
	return refreshed ? 0 : -EAGAIN;
}

static u32 detail(struct hw_ring *r, unsigned int slot,
		  const struct hw_request *req, struct hw_response *h)
{
	(void)r;
	(void)slot;
	(void)h;
	return req->pid == 1 ? HW_ST_OK : HW_ST_NO_PROCESS;
}

static u32 camera(const struct hw_request *req, struct hw_response *h)
{
	(void)req;
	(void)h;
	return HW_ST_UNSUPPORTED;
}

static bool read_allowed(void)
{
	return allow_read;
}

/* READ: PART bytes of 0xab at a time. */
static u32 do_read(struct hw_ring *r, unsigned int slot,
		   struct hw_response *h)
{
	struct hw_ring_iter *it = &r->slots[slot].it;
	u64 left = it->addr + it->len - it->next;
	u64 n = left < PART ? left : PART;

	memset(hw_ring_data(r, slot), 0xab, n);
	h->data_len = (u32)n;
	h->total = it->len;
	h->value[0] = it->next;
	it->next += n;
	if (n < left)
		h->cursor = hw_ring_iter_continue(it);
	return HW_ST_OK;
}

static u32 translate(struct hw_ring *r, unsigned int slot,
		     struct hw_response *h)
{
	(void)r;
	(void)slot;
	(void)h;
	return HW_ST_OK;
}

static void iter_release(struct hw_ring *r, unsigned int slot)
{
	(void)r;
	(void)slot;
	releases++;
}

static const struct hw_ring_ops ops = {
	.generation = generation,
	.refresh = refresh,
	.refresh_result = refresh_result,
	.detail = detail,
	.camera = camera,
	.read_allowed = read_allowed,
	.translate = translate,
	.read = do_read,
	.iter_release = iter_release,
};

/* Submit req in slot as a 1.2 client does (check, nonce) and poll once. */
static const struct hw_response *ask(unsigned int slot, struct hw_request req)
{
	req.seq = requests[slot].seq + 1;
	req.owner = 0x1234;
	req.id = req.id ? req.id : 42;
	if (!req.nonce)
		req.nonce = ring.nonce;
	req.check = hw_request_check(&req);
	requests[slot] = req;
	hw_ring_poll(&ring);
	return hw_ring_response(&ring, slot);
}

static u32 status_of(struct hw_request req)
{
	const struct hw_response *r = ask(3, req);

	CHECK_U64(r->seq, requests[3].seq);
	return r->status;
}

static void test_checks(void)
{
	struct hw_request torn = { .type = HW_REQ_PING };
	const struct hw_response *r;

	requests[0].seq = 5;	/* there before: not a new request */
	hw_ring_init(&ring, requests, responses, 0xfeed, &ops);
	hw_ring_poll(&ring);
	r = hw_ring_response(&ring, 0);
	CHECK_U64(r->seq, 0);
	CHECK_U64(r->nonce, 0xfeed);
	CHECK_U64(r->heartbeat, 1);

	r = ask(0, (struct hw_request){ .type = HW_REQ_PING, .id = 9 });
	CHECK_U64(r->seq, 6);
	CHECK_U64(r->status, HW_ST_OK);
	CHECK_U64(r->value[1], GEN);
	CHECK_U64(r->id, 9);
	CHECK_U64(r->owner, 0x1234);
	CHECK_U64(r->type, HW_REQ_PING);
	CHECK_U64(r->nonce, 0xfeed);
	CHECK_U64(r->heartbeat, 2);

	/* a check that does not match: torn, nothing acted on */
	torn.seq = requests[1].seq + 1;
	torn.nonce = ring.nonce;
	torn.check = hw_request_check(&torn) ^ 1;
	requests[1] = torn;
	hw_ring_poll(&ring);
	CHECK_U64(hw_ring_response(&ring, 1)->status, HW_ST_TORN);

	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_PING,
						 .nonce = 0xbad }),
		  HW_ST_WRONG_BEACON);
	CHECK_U64(status_of((struct hw_request){ .type = 0 }), HW_ST_BAD_TYPE);
	CHECK_U64(status_of((struct hw_request){ .type = 99 }), HW_ST_BAD_TYPE);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_PING,
						 .pid = 1 }), HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_PROC_DETAIL,
						 .pid = 1, .len = 1 }),
		  HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_CAMERA_CLEAR,
						 .reserved[5] = 1 }),
		  HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_PROC_DETAIL,
						 .pid = 1 }), HW_ST_OK);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_CAMERA_SET,
						 .pid = 1 }),
		  HW_ST_UNSUPPORTED);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_READ,
						 .pid = 1, .len = 1 }),
		  HW_ST_REFUSED);
	CHECK_U64(ring.answered, 11);
	CHECK_U64(ring.failed, 9);
}

static void test_cursor(void)
{
	struct hw_request rd = { .type = HW_REQ_READ, .pid = 1,
				 .addr = 0x1000, .len = 2 * PART + 50 };
	const struct hw_response *r;
	u64 cursor;

	allow_read = true;
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_READ,
						 .pid = 1 }), HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_READ,
						 .pid = 1, .addr = ~0ULL,
						 .len = 2 }), HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_TRANSLATE,
						 .len = 2 }), HW_ST_BAD_ARG);
	CHECK_U64(status_of((struct hw_request){ .type = HW_REQ_READ,
						 .pid = 1, .len = 2,
						 .cursor = 77 }), HW_ST_EXPIRED);

	r = ask(4, rd);
	CHECK_U64(r->status, HW_ST_OK);
	CHECK_U64(r->data_len, PART);
	CHECK_U64(r->total, rd.len);
	CHECK(r->cursor & 1);
	cursor = r->cursor;
	rd.cursor = cursor;
	r = ask(4, rd);
	CHECK_U64(r->status, HW_ST_OK);
	CHECK_U64(r->value[0], 0x1000 + PART);
	CHECK_U64(r->cursor_asked, cursor);
	CHECK(r->cursor && r->cursor != cursor);
	/* the old cursor names nothing any more */
	r = ask(4, rd);
	CHECK_U64(r->status, HW_ST_EXPIRED);
	/* and that ended the iterator: the right one is expired too */
	releases = 0;
	rd.cursor = 0;
	r = ask(4, rd);
	rd.cursor = r->cursor;
	r = ask(4, rd);
	rd.cursor = r->cursor;
	r = ask(4, rd);
	CHECK_U64(r->status, HW_ST_OK);
	CHECK_U64(r->data_len, 50);
	CHECK_U64(r->cursor, 0);
	CHECK(releases >= 1);
	hw_ring_release(&ring);
}

static void test_refresh(void)
{
	const struct hw_response *r;

	refreshed = false;
	r = ask(6, (struct hw_request){ .type = HW_REQ_REFRESH });
	/* not answered yet: the old answer's seq is changed */
	CHECK(r->seq != requests[6].seq);
	CHECK(ring.slots[6].refresh_wait);
	hw_ring_poll(&ring);
	CHECK(r->seq != requests[6].seq);
	refreshed = true;
	hw_ring_poll(&ring);
	CHECK_U64(r->seq, requests[6].seq);
	CHECK_U64(r->status, HW_ST_OK);
	CHECK_U64(r->value[0], GEN + 1);
	CHECK(!ring.slots[6].refresh_wait);
}

int main(void)
{
	RUN(test_checks);
	RUN(test_cursor);
	RUN(test_refresh);
	return check_done();
}
