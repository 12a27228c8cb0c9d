// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest as a whole (protocol 1.3), from exported interfaces only: the
 * same sources the kernel's /proc files print, taken once per refresh.
 */
#include <linux/cpumask.h>
#include <linux/kernel_stat.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/loadavg.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/tick.h>
#include <linux/timekeeping.h>
#include <linux/vmstat.h>

#include "beacon.h"
#include "compat.h"
#include "guest.h"

int hw_guest_init(struct hw_guest_snap *g)
{
	memset(g, 0, sizeof(*g));
	g->nr_cpus = nr_cpu_ids;
	g->cpus = kcalloc(g->nr_cpus, sizeof(*g->cpus), GFP_KERNEL);
	return g->cpus ? 0 : -ENOMEM;
}

void hw_guest_free(struct hw_guest_snap *g)
{
	kfree(g->cpus);
	g->cpus = NULL;
}

u64 hw_guest_size(const struct hw_guest_snap *g)
{
	return ALIGN(sizeof(struct hw_guest), BEACON_SECTION_ALIGN) +
	       ALIGN((u64)g->nr_cpus * sizeof(struct hw_cpu_time),
		     BEACON_SECTION_ALIGN);
}

static u64 kb(unsigned long pages)
{
	return (u64)pages << (PAGE_SHIFT - 10);
}

/* As /proc/meminfo (fs/proc/meminfo.c), from the same counters. */
static void take_memory(struct hw_guest *gs)
{
	unsigned long file, cached, reclaimable;
	struct sysinfo si;

	si_meminfo(&si);
	gs->mem_total = kb(si.totalram);
	gs->mem_free = kb(si.freeram);
	gs->mem_available = kb(si_mem_available());
	gs->buffers = kb(si.bufferram);
	file = global_node_page_state(NR_FILE_PAGES);
	cached = file - hw_swapcache_pages() - si.bufferram;
	gs->cached = kb((long)cached < 0 ? 0 : cached);
	gs->shmem = kb(si.sharedram);
	reclaimable = global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B);
	gs->sreclaimable = kb(reclaimable);
	gs->slab = kb(reclaimable +
		      global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B));
	/*
	 * SwapTotal comes only from si_swapinfo(), which is not exported:
	 * flagged unknown. SwapFree as /proc without a swapoff under way.
	 */
	gs->flags |= HW_GF_NO_SWAP_TOTAL;
	gs->swap_free = kb(get_nr_swap_pages());
}

/* As the cpu lines of /proc/stat (fs/proc/stat.c). */
static void take_cpu(struct hw_cpu_time *ct, int cpu)
{
	struct kernel_cpustat kcs;
	u64 us;

	kcpustat_cpu_fetch(&kcs, cpu);
	ct->cpu = cpu;
	ct->online = cpu_online(cpu);
	ct->user = kcs.cpustat[CPUTIME_USER];
	ct->nice = kcs.cpustat[CPUTIME_NICE];
	ct->system = kcs.cpustat[CPUTIME_SYSTEM];
	ct->irq = kcs.cpustat[CPUTIME_IRQ];
	ct->softirq = kcs.cpustat[CPUTIME_SOFTIRQ];
	ct->steal = kcs.cpustat[CPUTIME_STEAL];
	/* Idle and iowait from the tick code while the CPU is online. */
	us = ct->online ? get_cpu_idle_time_us(cpu, NULL) : -1ULL;
	ct->idle = us == -1ULL ? kcs.cpustat[CPUTIME_IDLE] : us * NSEC_PER_USEC;
	us = ct->online ? get_cpu_iowait_time_us(cpu, NULL) : -1ULL;
	ct->iowait = us == -1ULL ? kcs.cpustat[CPUTIME_IOWAIT] :
		     us * NSEC_PER_USEC;
}

static void add_cpu(struct hw_cpu_time *sum, const struct hw_cpu_time *ct)
{
	sum->user += ct->user;
	sum->nice += ct->nice;
	sum->system += ct->system;
	sum->idle += ct->idle;
	sum->iowait += ct->iowait;
	sum->irq += ct->irq;
	sum->softirq += ct->softirq;
	sum->steal += ct->steal;
}

/*
 * nr_running() and nr_iowait() are not exported: count the tasks the way
 * they are counted (runnable; sleeping in I/O wait), and all of them as
 * /proc/loadavg's total (nr_threads).
 */
static void take_tasks(struct hw_guest *gs)
{
	struct task_struct *p, *t;
	u32 running = 0, blocked = 0, all = 0;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		all++;
		if (hw_task_running(t))
			running++;
		else if (t->in_iowait)
			blocked++;
	}
	rcu_read_unlock();
	gs->nr_running = running;
	gs->nr_blocked = blocked;
	gs->nr_threads = all;
}

void hw_guest_take(struct hw_guest_snap *g)
{
	struct hw_guest *gs = &g->guest;
	int cpu;

	memset(gs, 0, sizeof(*gs));
	memset(g->cpus, 0, (size_t)g->nr_cpus * sizeof(*g->cpus));
	gs->uptime_ns = ktime_get_boottime_ns();
	gs->load[0] = avenrun[0];
	gs->load[1] = avenrun[1];
	gs->load[2] = avenrun[2];
	take_tasks(gs);
	take_memory(gs);
	gs->nr_cpus = num_online_cpus();
	gs->nr_possible = g->nr_cpus;
	for_each_possible_cpu(cpu) {
		if (cpu >= g->nr_cpus)
			break;
		take_cpu(&g->cpus[cpu], cpu);
		add_cpu(&gs->cpu_total, &g->cpus[cpu]);
	}
}
