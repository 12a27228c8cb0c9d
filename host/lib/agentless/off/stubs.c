// SPDX-License-Identifier: MIT
/*
 * The agentless API in a build without it (make AGENTLESS=0): the reader
 * then links only json-c and libc. Every entry point fails with one clear
 * error; the source front end refuses --source memfile|qmp before these
 * are reached. Compiled instead of the .c files of host/lib/agentless/,
 * never with them.
 */
#include "../../core/core.h"

#define NO_AGENTLESS "built without agentless support (make AGENTLESS=0)"

bool haywire_agentless_supported(void)
{
	return false;
}

struct haywire_btf *haywire_btf_open(const char *path,
				     struct haywire_error *err)
{
	(void)path;
	hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
	return NULL;
}

void haywire_btf_close(struct haywire_btf *btf)
{
	(void)btf;
}

struct haywire_symbols *haywire_symbols_open(const char *path,
					     struct haywire_error *err)
{
	(void)path;
	hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
	return NULL;
}

void haywire_symbols_close(struct haywire_symbols *syms)
{
	(void)syms;
}

struct haywire_agentless *haywire_agentless_open(const struct haywire_phys *phys,
						 uint64_t ram_end,
						 const struct haywire_cpu_regs *regs,
						 struct haywire_btf *btf,
						 struct haywire_symbols *syms,
						 struct haywire_error *err)
{
	(void)phys, (void)ram_end, (void)regs, (void)btf, (void)syms;
	hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
	return NULL;
}

void haywire_agentless_close(struct haywire_agentless *a)
{
	(void)a;
}

const struct haywire_agentless_info *
haywire_agentless_info(const struct haywire_agentless *a)
{
	static const struct haywire_agentless_info none;

	(void)a;
	return &none;
}

int haywire_agentless_procs(struct haywire_agentless *a,
			    struct haywire_procs **out,
			    struct haywire_error *err)
{
	(void)a;
	*out = NULL;
	return hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
}

int haywire_agentless_maps(struct haywire_agentless *a, int32_t pid,
			   struct haywire_maps **out,
			   struct haywire_error *err)
{
	(void)a, (void)pid;
	*out = NULL;
	return hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
}

int haywire_agentless_paging(struct haywire_agentless *a, int32_t pid,
			     struct haywire_paging *paging,
			     struct haywire_error *err)
{
	(void)a, (void)pid, (void)paging;
	return hwi_fail(err, HAYWIRE_E_INVALID, NO_AGENTLESS);
}
