// SPDX-License-Identifier: MIT
/*
 * A guest process's memory with no guest involvement: the page-table root
 * and paging mode from the latest snapshot, the walk over the RAM file
 * (pagewalk.c), and a check afterwards that the process is still the one
 * the root belonged to.
 */
#include <stdio.h>
#include <string.h>

#include "beacon.h"

static int process_paging(struct haywire_beacon *b, int32_t pid,
			  struct haywire_proc *proc,
			  struct haywire_paging *paging,
			  struct haywire_error *err)
{
	struct haywire_info info;
	int rc = haywire_read_proc(b, pid, proc, &info, err);

	if (rc)
		return rc;
	if (proc->pgd == 0 || (proc->flags & HW_PF_NO_MM))
		return hwi_fail(err, HAYWIRE_E_NOT_FOUND,
				"process %d (%s) has no address space (a kernel thread, a zombie, or exiting)",
				pid, proc->comm);
	return haywire_paging_init(paging, info.arch, info.paging_levels,
				   info.page_size, info.kernel_release,
				   proc->pgd, err);
}

/*
 * The process's tables were walked from a root the snapshot published; if
 * the process has gone since, they may belong to someone else by now.
 */
static int confirm_process(struct haywire_beacon *b,
			   const struct haywire_proc *before,
			   struct haywire_error *err)
{
	struct haywire_proc now;
	int rc = haywire_read_proc(b, before->pid, &now, NULL, err);

	if (rc && rc != HAYWIRE_E_NOT_FOUND)
		return rc;
	if (rc || now.pgd != before->pgd ||
	    now.start_time_ns != before->start_time_ns)
		return hwi_fail(err, HAYWIRE_E_NOT_FOUND,
				"process %d exited while its page tables were being walked: the result was discarded",
				before->pid);
	return 0;
}

/* Say which process a walker error is about. */
static int with_pid(int rc, int32_t pid, struct haywire_error *err)
{
	char msg[HAYWIRE_MSG_MAX];

	if (!rc || !err || rc == HAYWIRE_E_NOMEM)
		return rc;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	return hwi_fail(err, (enum haywire_code)rc, "PID %d: %s", pid, msg);
}

/* The caller's run function, and whether it stopped the walk. */
struct caller_fn {
	haywire_run_fn fn;
	void *arg;
	int stopped;
};

static int call_caller(void *arg, const struct haywire_xlate_run *run)
{
	struct caller_fn *c = arg;

	c->stopped = c->fn(c->arg, run);
	return c->stopped;
}

int haywire_host_translate(struct haywire_beacon *b, int32_t pid,
			   uint64_t va, uint64_t len, haywire_run_fn fn,
			   void *arg, struct haywire_error *err)
{
	struct haywire_phys_mem pm = { b->mem, &b->loc.map };
	struct haywire_phys phys = { haywire_phys_mem_read, &pm };
	struct caller_fn caller = { fn, arg, 0 };
	struct haywire_paging paging;
	struct haywire_proc proc;
	int rc = process_paging(b, pid, &proc, &paging, err);

	if (rc)
		return rc;
	rc = haywire_translate(&phys, &paging, va, len, call_caller, &caller,
			       err);
	if (caller.stopped)
		return caller.stopped;
	if (rc)
		return with_pid(rc, pid, err);
	return confirm_process(b, &proc, err);
}

int haywire_host_read(struct haywire_beacon *b, int32_t pid, uint64_t va,
		      void *dst, size_t len, struct haywire_error *err)
{
	struct haywire_phys_mem pm = { b->mem, &b->loc.map };
	struct haywire_phys phys = { haywire_phys_mem_read, &pm };
	struct haywire_paging paging;
	struct haywire_proc proc;
	int rc = process_paging(b, pid, &proc, &paging, err);

	if (rc)
		return rc;
	rc = haywire_read_virt(&phys, &paging, va, dst, len, err);
	if (rc)
		return with_pid(rc, pid, err);
	return confirm_process(b, &proc, err);
}
