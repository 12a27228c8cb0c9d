// SPDX-License-Identifier: MIT
/*
 * libhaywire 1.3 monitoring: %CPU, the guest-wide section with per-CPU
 * times, and the lifecycle event ring.
 */
#include <stdlib.h>
#include <string.h>

#include "beacon.h"

double haywire_proc_cpu_percent(const struct haywire_proc *proc,
				const struct haywire_info *info)
{
	uint64_t now = info->publish_boot_ns, cpu;

	if (!proc->monitor || now <= proc->start_time_ns)
		return 0.0;
	cpu = proc->utime_ns + proc->stime_ns;
	return 100.0 * (double)cpu / (double)(now - proc->start_time_ns);
}

const char *haywire_event_type_name(unsigned int type)
{
	switch (type) {
	case HW_EV_FORK:
		return "fork";
	case HW_EV_EXEC:
		return "exec";
	case HW_EV_EXIT:
		return "exit";
	default:
		return "unknown";
	}
}

void haywire_event_cursor_init(struct haywire_event_cursor *cur,
			       uint64_t from)
{
	memset(cur, 0, sizeof(*cur));
	cur->from = from;
}

void haywire_guest_stat_free(struct haywire_guest_stat *stat)
{
	if (stat)
		free(stat->cpus);
	free(stat);
}
