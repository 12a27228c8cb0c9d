// SPDX-License-Identifier: GPL-2.0-only
/* Lifecycle events: not implemented yet (-e is refused). */
#include "loader.h"

int events_start(struct hwb_bpf *skel)
{
	(void)skel;
	say("-e: lifecycle events are not implemented in haywire-bpf yet");
	return -1;
}

void events_stop(void)
{
}
