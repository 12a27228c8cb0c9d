// SPDX-License-Identifier: MIT
/*
 * Sources: where ps, maps, translate and read get the guest's state.
 *
 *   beacon   the module's snapshots in the RAM file; translate and read
 *            walk the page tables in the RAM file from the snapshot's pgd
 *            (haywire_host_translate and haywire_host_read).
 *            With QMP, QEMU's memory map must agree with the beacon's.
 *   memfile  agentless: the kernel's structures read from the RAM file,
 *            QMP only for the registers and the memory map (at open).
 *   qmp      agentless: every guest read through QMP, the baseline the
 *            classic monitor-based tools give.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct haywire_source {
	enum haywire_source_kind kind;
	struct haywire_mem *mem;
	bool mem_borrowed;			/* the caller's (opts.mem) */
	struct haywire_beacon *beacon;
	struct haywire_qmp *qmp;		/* qmp source only, after open */
	struct haywire_qmp_phys *qphys;
	bool have_qemu_ram;
	struct haywire_qemu_ram qemu_ram;
	struct haywire_gpa_map qemu_map;	/* qemu_ram's and the attached */
	struct haywire_phys_mem pm;		/* memfile */
	struct haywire_phys phys;		/* agentless reads */
	struct haywire_agentless *agentless;
};

static const char *const source_names[] = {
	[HAYWIRE_SOURCE_BEACON] = "beacon",
	[HAYWIRE_SOURCE_MEMFILE] = "memfile",
	[HAYWIRE_SOURCE_QMP] = "qmp",
};

const char *haywire_source_name(enum haywire_source_kind kind)
{
	return (unsigned int)kind < 3 ? source_names[kind] : "unknown";
}

bool haywire_source_parse(const char *name, enum haywire_source_kind *kind)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (!strcmp(name, source_names[i])) {
			*kind = (enum haywire_source_kind)i;
			return true;
		}
	return false;
}

static uint64_t ram_end(const struct haywire_gpa_map *map)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < map->count; i++)
		if (map->runs[i].gpa + map->runs[i].size > end)
			end = map->runs[i].gpa + map->runs[i].size;
	return end;
}

/*
 * RAM beyond the boot map (DIMMs, virtio-mem): attach the files of QEMU's
 * other backends that it maps into the guest and that are the RAM itself
 * (file-backed, share=on). Others stay unmapped; RAM the guest lists there
 * is then reported by the map derivation. QEMU's map becomes the boot
 * backend's runs followed by the attached ones, as the beacon derives it.
 */
static int attach_other_ram(struct haywire_source *s,
			    struct haywire_error *err)
{
	const struct haywire_gpa_map *attached;
	unsigned int i;
	int rc;

	s->qemu_map = s->qemu_ram.map;
	if (!s->mem)
		return 0;
	for (i = 0; i < s->qemu_ram.other_count; i++) {
		const struct haywire_qemu_backend *o = &s->qemu_ram.other[i];

		if (!o->count || !o->mem_path[0] || !o->share)
			continue;
		rc = haywire_mem_attach(s->mem, o->mem_path, o->runs, o->count,
					err);
		if (rc)
			return rc;
	}
	attached = haywire_mem_attached_map(s->mem);
	for (i = 0; i < attached->count &&
		    s->qemu_map.count < HAYWIRE_MAP_MAX_RUNS; i++)
		s->qemu_map.runs[s->qemu_map.count++] = attached->runs[i];
	return 0;
}

static int open_qemu(struct haywire_source *s,
		     const struct haywire_source_opts *o,
		     struct haywire_error *err)
{
	int rc;

	s->qmp = haywire_qmp_open(o->qmp, o->qmp_timeout_ms, err);
	if (!s->qmp)
		return err ? err->code : HAYWIRE_E_QMP;
	rc = haywire_qemu_ram(s->qmp, o->mem_path, &s->qemu_ram, err);
	if (rc)
		return rc;
	s->have_qemu_ram = true;
	if (s->mem && s->qemu_ram.size != haywire_mem_size(s->mem))
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s is %llu bytes but QEMU's memory backend '%s' is %llu",
				o->mem_path ? o->mem_path : "the RAM file",
				(unsigned long long)haywire_mem_size(s->mem),
				s->qemu_ram.backend,
				(unsigned long long)s->qemu_ram.size);
	return attach_other_ram(s, err);
}

static int open_agentless(struct haywire_source *s,
			  const struct haywire_source_opts *o,
			  struct haywire_error *err)
{
	struct haywire_cpu_regs regs;
	struct haywire_btf *btf;
	struct haywire_symbols *syms;
	int rc;

	rc = haywire_qmp_registers(s->qmp, &regs, err);
	if (rc)
		return rc;
	btf = haywire_btf_open(o->btf_path, err);
	if (!btf)
		return err ? err->code : HAYWIRE_E_INVALID;
	syms = haywire_symbols_open(o->system_map_path, err);
	if (!syms) {
		haywire_btf_close(btf);
		return err ? err->code : HAYWIRE_E_INVALID;
	}
	s->agentless = haywire_agentless_open(&s->phys, ram_end(&s->qemu_map),
					      &regs, btf, syms, err);
	if (!s->agentless) {
		haywire_btf_close(btf);
		haywire_symbols_close(syms);
		return err ? err->code : HAYWIRE_E_MISMATCH;
	}
	return 0;
}

struct haywire_source *haywire_source_open(const struct haywire_source_opts *o,
					   struct haywire_error *err)
{
	struct haywire_source *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	s->kind = o->kind;
	if (o->kind != HAYWIRE_SOURCE_BEACON && !haywire_agentless_supported()) {
		rc = hwi_fail(err, HAYWIRE_E_INVALID,
			      "the %s source is agentless, and this reader was built without agentless support (make AGENTLESS=0)",
			      haywire_source_name(o->kind));
		goto fail;
	}
	if (o->kind != HAYWIRE_SOURCE_QMP || o->mem_path || o->mem) {
		s->mem_borrowed = o->mem != NULL;
		if (o->mem)
			s->mem = o->mem;
		else if (!o->mem_path)
			rc = hwi_fail(err, HAYWIRE_E_INVALID,
				      "the %s source needs the guest's RAM file (--mem FILE)",
				      haywire_source_name(o->kind));
		else if (!(s->mem = haywire_mem_open(o->mem_path, err)))
			rc = err ? err->code : HAYWIRE_E_FILE;
	}
	if (!rc && o->kind != HAYWIRE_SOURCE_BEACON && !o->qmp)
		rc = hwi_fail(err, HAYWIRE_E_INVALID,
			      "the %s source needs QEMU's monitor (--qmp SOCKET) for the CPU registers and the memory map",
			      haywire_source_name(o->kind));
	if (rc)
		goto fail;

	switch (o->kind) {
	case HAYWIRE_SOURCE_BEACON:
		/* QEMU first: its map may add RAM the beacon lives in. */
		if (o->qmp) {
			rc = open_qemu(s, o, err);
			if (rc)
				break;
		}
		s->beacon = haywire_discover(s->mem, o->beacon_opts, err);
		if (!s->beacon) {
			rc = err ? err->code : HAYWIRE_E_NO_BEACON;
			break;
		}
		if (o->qmp)
			rc = haywire_map_compare(
				&haywire_beacon_location(s->beacon)->map,
				"the beacon", &s->qemu_map,
				"QEMU (info mtree)", err);
		break;
	case HAYWIRE_SOURCE_MEMFILE:
		rc = open_qemu(s, o, err);
		if (rc)
			break;
		s->pm.mem = s->mem;
		s->pm.map = &s->qemu_map;
		s->phys.read = haywire_phys_mem_read;
		s->phys.ctx = &s->pm;
		rc = open_agentless(s, o, err);
		break;
	case HAYWIRE_SOURCE_QMP:
		rc = open_qemu(s, o, err);
		if (rc)
			break;
		s->qphys = haywire_qmp_phys_open(s->qmp, &s->qemu_ram, err);
		if (!s->qphys) {
			rc = err ? err->code : HAYWIRE_E_QMP;
			break;
		}
		s->phys.read = haywire_qmp_phys_read;
		s->phys.ctx = s->qphys;
		rc = open_agentless(s, o, err);
		break;
	default:
		rc = hwi_fail(err, HAYWIRE_E_INVALID, "unknown source %d",
			      (int)o->kind);
	}
	if (rc)
		goto fail;
	/* Only the qmp source reads through QMP after this. */
	if (o->kind != HAYWIRE_SOURCE_QMP) {
		haywire_qmp_close(s->qmp);
		s->qmp = NULL;
	}
	return s;
fail:
	haywire_source_close(s);
	return NULL;
}

void haywire_source_close(struct haywire_source *s)
{
	if (!s)
		return;
	haywire_agentless_close(s->agentless);
	haywire_qmp_phys_close(s->qphys);
	haywire_qmp_close(s->qmp);
	haywire_beacon_free(s->beacon);
	if (!s->mem_borrowed)
		haywire_mem_close(s->mem);
	free(s);
}

enum haywire_source_kind haywire_source_kind(const struct haywire_source *s)
{
	return s->kind;
}

struct haywire_mem *haywire_source_mem(struct haywire_source *s)
{
	return s->mem;
}

struct haywire_beacon *haywire_source_beacon(struct haywire_source *s)
{
	return s->beacon;
}

struct haywire_agentless *haywire_source_agentless(struct haywire_source *s)
{
	return s->agentless;
}

const struct haywire_qemu_ram *
haywire_source_qemu_ram(const struct haywire_source *s)
{
	return s->have_qemu_ram ? &s->qemu_ram : NULL;
}

struct haywire_qmp_phys *haywire_source_qmp_phys(struct haywire_source *s)
{
	return s->qphys;
}

const struct haywire_gpa_map *haywire_source_map(const struct haywire_source *s)
{
	if (s->beacon)
		return &haywire_beacon_location(s->beacon)->map;
	return &s->qemu_map;
}

int haywire_source_procs(struct haywire_source *s, struct haywire_procs **out,
			 struct haywire_error *err)
{
	if (s->beacon)
		return haywire_read_procs(s->beacon, out, err);
	return haywire_agentless_procs(s->agentless, out, err);
}

int haywire_source_maps(struct haywire_source *s, int32_t pid,
			struct haywire_maps **out, struct haywire_error *err)
{
	if (s->beacon)
		return haywire_read_maps(s->beacon, pid, out, err);
	return haywire_agentless_maps(s->agentless, pid, out, err);
}

/*
 * translate and read: the beacon's host-side walk (process.c) from the
 * snapshot's page-table root, or the agentless root over the source's
 * memory (the RAM file or QMP).
 */
int haywire_source_translate(struct haywire_source *s, int32_t pid,
			     uint64_t va, uint64_t len, haywire_run_fn fn,
			     void *arg, struct haywire_error *err)
{
	struct haywire_paging pg;
	int rc;

	if (s->beacon)
		return haywire_host_translate(s->beacon, pid, va, len, fn, arg,
					      err);
	rc = haywire_agentless_paging(s->agentless, pid, &pg, err);
	if (rc)
		return rc;
	return haywire_translate(&s->phys, &pg, va, len, fn, arg, err);
}

int haywire_source_read(struct haywire_source *s, int32_t pid, uint64_t va,
			void *dst, size_t len, struct haywire_error *err)
{
	struct haywire_paging pg;
	int rc;

	if (s->beacon)
		return haywire_host_read(s->beacon, pid, va, dst, len, err);
	rc = haywire_agentless_paging(s->agentless, pid, &pg, err);
	if (rc)
		return rc;
	return haywire_read_virt(&s->phys, &pg, va, dst, len, err);
}
