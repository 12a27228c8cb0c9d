/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest as a whole (protocol 1.3, HW_SEC_GUEST and HW_SEC_CPUS): what
 * /proc/meminfo, /proc/loadavg, /proc/stat and /proc/uptime show.
 */
#ifndef HAYWIRE_GUEST_H
#define HAYWIRE_GUEST_H

#include <linux/types.h>
#include "haywire_protocol.h"

struct hw_guest_snap {
	struct hw_guest guest;
	struct hw_cpu_time *cpus;	/* nr_cpus records, by CPU number */
	u32 nr_cpus;			/* nr_cpu_ids */
};

int hw_guest_init(struct hw_guest_snap *g);
void hw_guest_free(struct hw_guest_snap *g);
/* Bytes the two sections take in a snapshot, each on the section align. */
u64 hw_guest_size(const struct hw_guest_snap *g);
/* Take the figures now (process context; takes no sleeping lock). */
void hw_guest_take(struct hw_guest_snap *g);

#endif /* HAYWIRE_GUEST_H */
