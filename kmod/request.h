/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host requests (docs/protocol.md, "Requests: rings"): a kernel thread polls
 * the request page and answers in the response slots.
 */
#ifndef HAYWIRE_REQUEST_H
#define HAYWIRE_REQUEST_H

#include <linux/types.h>

/*
 * Start answering the requests in the fixed area of the beacon (its
 * request page and response slots, see beacon.h), which must stay in place
 * until hw_requests_stop() returns. nonce: the beacon's, which 1.2 requests
 * name and answers carry.
 */
int hw_requests_start(void *fixed_area, u64 nonce);
void hw_requests_stop(void);

/* The request thread's counters since load, for debugfs.c. */
struct hw_request_counts {
	u64 polls;		/* looks at the ring (the heartbeat) */
	u64 answered;		/* answers written */
	u64 failed;		/* of which with a status other than HW_ST_OK */
};

void hw_requests_counts(struct hw_request_counts *c);

#endif /* HAYWIRE_REQUEST_H */
