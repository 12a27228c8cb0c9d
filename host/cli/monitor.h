/* SPDX-License-Identifier: MIT */
/*
 * Continuous monitoring of guests (haywire top, haywire exporter): one
 * guest's RAM file watched over time. Each read takes one bounded look at
 * the beacon (a guest that keeps its snapshot busy or hides it costs a few
 * milliseconds, never a hang), says why it has no data when it has none,
 * notices a module reload or guest reboot (the nonce changed: every
 * baseline starts over) and turns two snapshots' CPU times into %CPU.
 */
#ifndef HAYWIRE_MONITOR_H
#define HAYWIRE_MONITOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "haywire.h"

/* Why a guest has no fresh data: a small fixed set (exporter label). */
enum guest_reason {
	GUEST_OK = 0,
	GUEST_NO_FILE,		/* RAM file missing, unreadable, not RAM */
	GUEST_NO_BEACON,	/* no beacon: the module is not loaded */
	GUEST_GONE,		/* the module was unloaded (or reboot) */
	GUEST_BUSY,		/* no consistent snapshot within the bound */
	GUEST_STALE,		/* old snapshot, generation not moving */
	GUEST_INVALID,		/* fails validation, unknown version */
	GUEST_AMBIGUOUS,	/* several beacons validate */
	GUEST_ERROR,		/* anything else (out of memory ...) */
	GUEST_NO_DOMAIN,	/* libvirt: no such domain */
	GUEST_NOT_RUNNING,	/* libvirt: the domain is not running */
	GUEST_NOT_SHARED,	/* libvirt: its memory is not a shared file */
	GUEST_REASONS
};

const char *guest_reason_name(enum guest_reason reason);

/* Exporter label values: letters, digits, '_', '-', '.', ':'. */
#define GUEST_NAME_MAX 64

struct cpu_sample {
	int32_t pid;
	uint64_t start_time_ns;
	uint64_t cpu_ns;
};

/* One snapshot's CPU times, for the difference with the next one. */
struct cpu_baseline {
	uint64_t generation;
	uint64_t mono_ns;		/* guest CLOCK_MONOTONIC at publish */
	size_t count;
	struct cpu_sample *samples;	/* sorted by pid */
	bool have_total;
	struct haywire_cpu_time total;	/* the guest's, all CPUs */
};

/* The guest's CPU time split as top's %Cpu(s) line shows it. */
enum cpu_mode { CPU_USER, CPU_NICE, CPU_SYSTEM, CPU_IDLE, CPU_IOWAIT,
		CPU_IRQ, CPU_SOFTIRQ, CPU_STEAL, CPU_MODES };
extern const char *const cpu_mode_names[CPU_MODES];
uint64_t cpu_mode_ns(const struct haywire_cpu_time *t, enum cpu_mode mode);

struct guest {
	char name[GUEST_NAME_MAX + 1];
	char path[PATH_MAX];
	struct haywire_mem *mem;
	struct haywire_beacon *beacon;
	struct haywire_opts opts;	/* the read bound */
	bool want_cpus;			/* also read the per-CPU times and
					 * the event ring's counts */
	struct haywire_event_cursor events;
	bool seen;			/* nonce, generation valid */
	bool gone;			/* unloaded, no beacon found since */
	uint64_t nonce, generation;
	/* %CPU: older and latest distinct snapshots */
	struct cpu_baseline older, latest;
};

struct guest_view {
	enum guest_reason reason;
	char msg[HAYWIRE_MSG_MAX];	/* why, when not GUEST_OK */
	bool has_data;			/* info and procs valid (OK, STALE) */
	struct haywire_info info;	/* with the module's stats */
	struct haywire_procs *procs;
	double *cpu_pct;		/* per procs->procs[i]; NULL until two
					 * snapshots of one boot were seen */
	double cpu_interval_s;		/* what cpu_pct is averaged over */
	bool have_cpu_split;		/* cpu_split valid */
	double cpu_split[CPU_MODES];	/* percent of all CPUs' time */
	struct haywire_guest_stat *gstat; /* per-CPU times (want_cpus), or
					   * NULL (module < 1.3) */
	bool have_events;		/* the event ring's counts (want_cpus) */
	uint64_t events_head;		/* events written since module load */
	uint64_t events_overwritten;	/* of which the ring overwrote */
	bool restarted;			/* nonce changed: started over */
	uint64_t old_nonce;
	uint64_t read_ns;		/* host time this read took */
};

/* name and path are copied; the read bound is set (see monitor.c). */
void guest_init(struct guest *g, const char *name, const char *path);
/* Read the guest once; *v is always filled (free with guest_view_free). */
void guest_read(struct guest *g, struct guest_view *v);
void guest_view_free(struct guest_view *v);
void guest_close(struct guest *g);

/* CPU time of a process's thread group so far (user + system), ns. */
uint64_t proc_cpu_ns(const struct haywire_proc *p);
/* Whether the snapshot carries CPU times at all. */
bool procs_have_cpu(const struct haywire_procs *procs);

uint64_t monotonic_ns(void);

#endif /* HAYWIRE_MONITOR_H */
