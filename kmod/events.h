/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Lifecycle events (protocol 1.3): fork, exec and exit, written into a ring
 * in beacon pages that never move, from the scheduler's tracepoints.
 */
#ifndef HAYWIRE_EVENTS_H
#define HAYWIRE_EVENTS_H

#include <linux/bits.h>
#include <linux/types.h>

#define HW_EVENTS_MAX	BIT(20)		/* most records the parameter takes */

/* Bytes the ring of nr records takes (header included), page-rounded. */
u64 hw_events_bytes(u32 nr);
/*
 * Start writing events into ring (nr records, hw_events_bytes(nr) bytes,
 * zeroed) and attach the probes; nr 0 does nothing.
 */
int hw_events_start(void *ring, u32 nr);
/* Detach the probes and wait until no probe runs: the ring may go then. */
void hw_events_stop(void);
/* Records written since load, and of them those the ring has overwritten. */
u64 hw_events_written(void);
u64 hw_events_overwritten(void);

#endif /* HAYWIRE_EVENTS_H */
