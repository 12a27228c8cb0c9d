// SPDX-License-Identifier: MIT
/*
 * What stock QEMU tells a QMP client about a guest: the first CPU's control
 * registers (HMP "info registers"), where guest RAM is in the guest-physical
 * address space and in its memory backend (HMP "info mtree -f" plus the
 * backends' QOM properties), and guest-physical memory itself (QMP
 * "pmemsave", which writes a range to a file).
 *
 * Why pmemsave for memory: it is the stock command that returns any number
 * of bytes in one round trip, as binary (HMP "xp" formats at most a few
 * words per line as text and needs a parser on both ends); LibVMI's KVM
 * driver without its QEMU patch reads memory the same way. The file lives
 * in a private directory on tmpfs, so the cost measured is QMP's, not a
 * disk's. It requires QEMU to run on this host and be able to write there.
 *
 * All of QEMU's text is untrusted input: parsers bound every field and
 * reject what they do not understand, naming it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json.h>

#include "qemu.h"

#define PMEMSAVE_CHUNK	(64 * MIB)

/* ---- registers ------------------------------------------------------- */

/* The hex value after "KEY=" at the start of a word; false if absent. */
static bool reg_value(const char *text, const char *key, uint64_t *value)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key))) {
		if (p == text || p[-1] == ' ' || p[-1] == '\n') {
			const char *v = p + klen;
			char *end;
			size_t digits;

			while (*v == ' ')
				v++;
			digits = strspn(v, "0123456789abcdefABCDEF");
			if (!digits || digits > 16)
				return false;
			errno = 0;
			*value = strtoull(v, &end, 16);
			return !errno && end == v + digits;
		}
		p += klen;
	}
	return false;
}

int haywire_parse_registers(const char *text, struct haywire_cpu_regs *regs,
			    struct haywire_error *err)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{ "CR0=", offsetof(struct haywire_cpu_regs, cr0) },
		{ "CR3=", offsetof(struct haywire_cpu_regs, cr3) },
		{ "CR4=", offsetof(struct haywire_cpu_regs, cr4) },
		{ "EFER=", offsetof(struct haywire_cpu_regs, efer) },
	};
	const char *gs, *cpu1, *cpu2;
	char first[8192];
	uint64_t cpl, seg;
	size_t i, n;

	memset(regs, 0, sizeof(*regs));
	/* Only the first CPU's block ("info registers -a" prints all). */
	cpu1 = strstr(text, "CPU#");
	if (cpu1)
		text = cpu1;
	cpu2 = strstr(text, "\nCPU#");
	n = cpu2 ? (size_t)(cpu2 - text) : strlen(text);
	if (n >= sizeof(first))
		n = sizeof(first) - 1;
	memcpy(first, text, n);
	first[n] = '\0';

	/*
	 * aarch64: QEMU 7.2's "info registers" prints PC, X0..X30, SP and
	 * PSTATE but no system register (TTBR0_EL1, TTBR1_EL1, TCR_EL1), and
	 * no stock QMP command returns them: the agentless walk finds an
	 * arm64 kernel's tables from its image in RAM instead
	 * (docs/agentless.md), and only the architecture is taken from here.
	 */
	if (strstr(first, "PSTATE=") && strstr(first, "X00=")) {
		regs->arch = HW_ARCH_ARM64;
		reg_value(first, "PC=", &regs->rip);
		return 0;
	}
	regs->arch = HW_ARCH_X86_64;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!reg_value(first, keys[i].key,
			       (uint64_t *)((char *)regs + keys[i].offset)))
			return hwi_fail(err, HAYWIRE_E_QMP,
					"HMP 'info registers' has no %.*s value: is this an x86-64 guest?",
					(int)strlen(keys[i].key) - 1,
					keys[i].key);
	/* RIP in long mode; outside it QEMU prints EIP */
	if (!reg_value(first, "RIP=", &regs->rip))
		reg_value(first, "EIP=", &regs->rip);
	if (reg_value(first, "CPL=", &cpl) && cpl <= 3)
		regs->cpl = (unsigned int)cpl;
	/* "GS =0000 ffff888...  limit flags": the base is the second word. */
	gs = strstr(first, "GS =");
	if (gs && sscanf(gs, "GS =%" SCNx64 " %" SCNx64, &seg,
			 &regs->gs_base) != 2)
		regs->gs_base = 0;
	return 0;
}

int haywire_qmp_registers(struct haywire_qmp *qmp,
			  struct haywire_cpu_regs *regs,
			  struct haywire_error *err)
{
	char *text;
	int rc;

	rc = haywire_qmp_hmp(qmp, "info registers", &text, err);
	if (rc)
		return rc;
	rc = haywire_parse_registers(text, regs, err);
	free(text);
	return rc;
}

/* ---- the RAM map ------------------------------------------------------ */

/* A hex number of at most 16 digits at *p; advances *p. */
static bool parse_hex(const char **p, uint64_t *v)
{
	size_t digits = strspn(*p, "0123456789abcdefABCDEF");
	char buf[17];

	if (!digits || digits > 16)
		return false;
	memcpy(buf, *p, digits);
	buf[digits] = '\0';
	*v = strtoull(buf, NULL, 16);
	*p += digits;
	return true;
}

/*
 * One flat-view line: "  START-END (prio P, TYPE): NAME[ @OFFSET]...".
 * Returns false for lines of another shape (headers, "No rendered").
 */
static bool parse_range_line(const char *line, uint64_t *start, uint64_t *end,
			     char *type, size_t type_len, char *name,
			     size_t name_len, uint64_t *offset)
{
	const char *p = line, *q;
	size_t n;

	while (*p == ' ')
		p++;
	if (!parse_hex(&p, start) || *p++ != '-' || !parse_hex(&p, end))
		return false;
	if (strncmp(p, " (prio ", 7))
		return false;
	p = strchr(p, ',');
	if (!p || p[1] != ' ')
		return false;
	p += 2;
	q = strstr(p, "): ");
	if (!q || (size_t)(q - p) >= type_len)
		return false;
	memcpy(type, p, (size_t)(q - p));
	type[q - p] = '\0';
	p = q + 3;
	n = strcspn(p, " \r\n");
	if (!n || n >= name_len)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	*offset = 0;
	if (!strncmp(p, " @", 2)) {
		p += 2;
		if (!parse_hex(&p, offset))
			return false;
	}
	return true;
}

/* Runs with the same GPA - offset, in GPA order, become one map run. */
static int build_map(struct haywire_qemu_ram *ram, struct haywire_error *err)
{
	struct haywire_gpa_map *map = &ram->map;
	unsigned int i;

	map->count = 0;
	for (i = 0; i < ram->count; i++) {
		const struct haywire_run *r = &ram->runs[i];
		struct haywire_run *last = map->count ?
					   &map->runs[map->count - 1] : NULL;

		if (last && r->gpa - r->file_offset ==
		    last->gpa - last->file_offset) {
			last->size = r->gpa + r->size - last->gpa;
			continue;
		}
		if (map->count == HAYWIRE_MAP_MAX_RUNS)
			return hwi_fail(err, HAYWIRE_E_QMP,
					"QEMU places RAM region '%s' in more than %d pieces that are not contiguous in it; this reader handles the x86 and arm64 layouts only",
					ram->backend, HAYWIRE_MAP_MAX_RUNS);
		map->runs[map->count++] = *r;
	}
	return 0;
}

int haywire_parse_mtree(const char *text, const char *region,
			struct haywire_qemu_ram *ram,
			struct haywire_error *err)
{
	const char *view = NULL, *p, *next;
	unsigned int lines = 0;

	ram->count = 0;
	ram->map.count = 0;
	/* The flat view of the system address space ("memory"). */
	for (p = strstr(text, "FlatView #"); p; p = next) {
		size_t len;

		next = strstr(p + 1, "FlatView #");
		len = next ? (size_t)(next - p) : strlen(p);
		if (memmem(p, len, "\n AS \"memory\",", 14)) {
			view = p;
			break;
		}
	}
	if (!view)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"HMP 'info mtree -f' shows no flat view of the \"memory\" address space");
	for (p = strchr(view, '\n'); p && (!next || p < next);
	     p = strchr(p + 1, '\n')) {
		char type[32], name[128];
		uint64_t start, end, offset;
		struct haywire_run *r;

		if (++lines > 1000000)
			break;
		if (!parse_range_line(p + 1, &start, &end, type, sizeof(type),
				      name, sizeof(name), &offset) ||
		    strcmp(name, region))
			continue;
		if (!strcmp(type, "i/o"))
			continue;
		if (end < start || end == UINT64_MAX ||
		    offset > UINT64_MAX - (end - start + 1))
			return hwi_fail(err, HAYWIRE_E_QMP,
					"HMP 'info mtree -f': bad range 0x%" PRIx64 "-0x%" PRIx64 " @0x%" PRIx64 " of '%s'",
					start, end, offset, region);
		if (ram->count &&
		    start < ram->runs[ram->count - 1].gpa +
			    ram->runs[ram->count - 1].size)
			return hwi_fail(err, HAYWIRE_E_QMP,
					"HMP 'info mtree -f': ranges of '%s' out of order at 0x%" PRIx64,
					region, start);
		/* Pieces next to each other in both spaces are one. */
		r = ram->count ? &ram->runs[ram->count - 1] : NULL;
		if (r && r->gpa + r->size == start &&
		    r->file_offset + r->size == offset) {
			r->size += end - start + 1;
			continue;
		}
		if (ram->count == HAYWIRE_QEMU_MAX_RUNS)
			return hwi_fail(err, HAYWIRE_E_QMP,
					"HMP 'info mtree -f' shows RAM region '%s' in more than %d pieces",
					region, HAYWIRE_QEMU_MAX_RUNS);
		r = &ram->runs[ram->count++];
		r->gpa = start;
		r->size = end - start + 1;
		r->file_offset = offset;
	}
	if (!ram->count)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"HMP 'info mtree -f' does not show RAM region '%s' in the guest's address space",
				region);
	return build_map(ram, err);
}

static int qom_get(struct haywire_qmp *qmp, const char *path,
		   const char *property, struct json_object **value,
		   struct haywire_error *err)
{
	struct json_object *args = json_object_new_object();
	int rc;

	if (!args)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "property",
			       json_object_new_string(property));
	rc = haywire_qmp_execute(qmp, "qom-get", args, value, err);
	json_object_put(args);
	return rc;
}

/* Whether the backend's file is the file at mem_path. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return !strcmp(a, b);
}

/* "'a', 'b'": names for a message, as many as fit. */
static void append_name(char *buf, size_t size, const char *name)
{
	size_t used = strlen(buf), n = strlen(name);

	if (used + n + 5 > size)
		return;
	if (used) {
		memcpy(buf + used, ", ", 2);
		used += 2;
	}
	buf[used] = '\'';
	memcpy(buf + used + 1, name, n);
	buf[used + 1 + n] = '\'';
	buf[used + 2 + n] = '\0';
}

/*
 * A backend other than the RAM file's: maybe a DIMM's or virtio-mem's
 * (where QEMU maps it is read from the flat view later).
 */
static int note_other(struct haywire_qmp *qmp, const char *qpath,
		      const char *name, struct json_object *size,
		      struct json_object *path, struct haywire_qemu_ram *ram,
		      struct haywire_error *err)
{
	struct haywire_qemu_backend *o;
	struct json_object *share = NULL;
	int rc;

	if (ram->other_count == HAYWIRE_QEMU_MAX_OTHER)
		return 0;	/* more than can be attached: said later */
	o = &ram->other[ram->other_count++];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", name);
	o->size = json_object_is_type(size, json_type_int) ?
		  (uint64_t)json_object_get_int64(size) : 0;
	if (!path || !json_object_is_type(path, json_type_string))
		return 0;
	if (strlen(json_object_get_string(path)) >= sizeof(o->mem_path))
		return 0;
	snprintf(o->mem_path, sizeof(o->mem_path), "%s",
		 json_object_get_string(path));
	rc = qom_get(qmp, qpath, "share", &share, err);
	if (rc)
		return rc;
	o->share = json_object_is_type(share, json_type_boolean) &&
		   json_object_get_boolean(share);
	json_object_put(share);
	return 0;
}

/* The memory backends in /objects; pick the one we read. */
static int find_backend(struct haywire_qmp *qmp, const char *mem_path,
			struct haywire_qemu_ram *ram,
			struct haywire_error *err)
{
	struct json_object *list = NULL, *args;
	unsigned int backends = 0, matched = 0;
	char names[256] = "";
	size_t i, n;
	int rc;

	args = json_object_new_object();
	if (!args)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	json_object_object_add(args, "path", json_object_new_string("/objects"));
	rc = haywire_qmp_execute(qmp, "qom-list", args, &list, err);
	json_object_put(args);
	if (rc)
		return rc;
	if (!json_object_is_type(list, json_type_array)) {
		json_object_put(list);
		return hwi_fail(err, HAYWIRE_E_QMP,
				"QMP qom-list /objects did not return a list");
	}
	n = json_object_array_length(list);
	for (i = 0; i < n && i < 10000; i++) {
		struct json_object *o = json_object_array_get_idx(list, i);
		struct json_object *v, *size = NULL, *path = NULL;
		const char *name, *type;
		char qpath[256];

		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "name", &v) ||
		    !(name = json_object_get_string(v)) ||
		    !json_object_object_get_ex(o, "type", &v) ||
		    !(type = json_object_get_string(v)) ||
		    strncmp(type, "child<memory-backend-", 21))
			continue;
		if (strlen(name) >= sizeof(ram->backend))
			continue;
		backends++;
		snprintf(qpath, sizeof(qpath), "/objects/%s", name);
		append_name(names, sizeof(names), name);
		rc = qom_get(qmp, qpath, "size", &size, err);
		if (rc)
			break;
		if (!strcmp(type, "child<memory-backend-file>")) {
			rc = qom_get(qmp, qpath, "mem-path", &path, err);
			if (rc) {
				json_object_put(size);
				break;
			}
		}
		if ((!mem_path && !matched) ||
		    (mem_path && path &&
		     json_object_is_type(path, json_type_string) &&
		     same_file(json_object_get_string(path), mem_path))) {
			matched++;
			snprintf(ram->backend, sizeof(ram->backend), "%s", name);
			snprintf(ram->mem_path, sizeof(ram->mem_path), "%s",
				 path ? json_object_get_string(path) : "");
			ram->size = json_object_is_type(size, json_type_int) ?
				    (uint64_t)json_object_get_int64(size) : 0;
		} else {
			rc = note_other(qmp, qpath, name, size, path, ram,
					err);
		}
		json_object_put(size);
		json_object_put(path);
		if (rc)
			break;
	}
	json_object_put(list);
	if (rc)
		return rc;
	if (!backends)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"QEMU has no memory backend objects (QEMU older than 5.0?)");
	if (!matched)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s is not the RAM file of this QEMU (its memory backends: %s)",
				mem_path, names);
	if (!mem_path && backends > 1)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"QEMU has %u memory backends (%s): give the RAM file with --mem to say which holds the guest's RAM",
				backends, names);
	if (!ram->size || ram->size % 4096)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"memory backend '%s' has no usable size",
				ram->backend);
	return 0;
}

/*
 * Where QEMU maps the other backends: their regions in the same flat view.
 * A backend that is not there is not guest RAM (count 0).
 */
static int place_others(const char *text, struct haywire_qemu_ram *ram,
			struct haywire_error *err)
{
	struct haywire_qemu_ram *tmp = malloc(sizeof(*tmp));
	struct haywire_error ignored;
	unsigned int i, j;

	if (!tmp)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	for (i = 0; i < ram->other_count; i++) {
		struct haywire_qemu_backend *o = &ram->other[i];

		o->count = 0;
		if (haywire_parse_mtree(text, o->id, tmp, &ignored))
			continue;
		for (j = 0; j < tmp->map.count; j++) {
			const struct haywire_run *r = &tmp->map.runs[j];

			if (r->file_offset > o->size ||
			    r->size > o->size - r->file_offset) {
				hwi_fail(err, HAYWIRE_E_QMP,
					 "QEMU maps GPA 0x%" PRIx64 " to offset 0x%" PRIx64 " of '%s', beyond its %" PRIu64 " bytes",
					 r->gpa, r->file_offset, o->id,
					 o->size);
				free(tmp);
				return HAYWIRE_E_QMP;
			}
			o->runs[j] = *r;
		}
		o->count = tmp->map.count;
	}
	free(tmp);
	return 0;
}

int haywire_qemu_ram(struct haywire_qmp *qmp, const char *mem_path,
		     struct haywire_qemu_ram *ram, struct haywire_error *err)
{
	char *text;
	unsigned int i;
	int rc;

	memset(ram, 0, sizeof(*ram));
	rc = find_backend(qmp, mem_path, ram, err);
	if (rc)
		return rc;
	rc = haywire_qmp_hmp(qmp, "info mtree -f", &text, err);
	if (rc)
		return rc;
	rc = haywire_parse_mtree(text, ram->backend, ram, err);
	if (!rc)
		rc = place_others(text, ram, err);
	free(text);
	if (rc)
		return rc;
	for (i = 0; i < ram->count; i++)
		if (ram->runs[i].file_offset > ram->size ||
		    ram->runs[i].size > ram->size - ram->runs[i].file_offset)
			return hwi_fail(err, HAYWIRE_E_QMP,
					"QEMU maps GPA 0x%" PRIx64 " to offset 0x%" PRIx64 " of '%s', beyond its %" PRIu64 " bytes",
					ram->runs[i].gpa,
					ram->runs[i].file_offset, ram->backend,
					ram->size);
	return 0;
}

int haywire_map_compare(const struct haywire_gpa_map *a, const char *a_name,
			const struct haywire_gpa_map *b, const char *b_name,
			struct haywire_error *err)
{
	unsigned int i;

	for (i = 0; i < a->count || i < b->count; i++) {
		const struct haywire_run *x = i < a->count ? &a->runs[i] : NULL;
		const struct haywire_run *y = i < b->count ? &b->runs[i] : NULL;
		char xs[96] = "nothing", ys[96] = "nothing";

		if (x && y && x->gpa == y->gpa && x->size == y->size &&
		    x->file_offset == y->file_offset)
			continue;
		if (x)
			snprintf(xs, sizeof(xs), "GPA 0x%" PRIx64 "-0x%" PRIx64 " at file offset 0x%" PRIx64,
				 x->gpa, x->gpa + x->size, x->file_offset);
		if (y)
			snprintf(ys, sizeof(ys), "GPA 0x%" PRIx64 "-0x%" PRIx64 " at file offset 0x%" PRIx64,
				 y->gpa, y->gpa + y->size, y->file_offset);
		return hwi_fail(err, HAYWIRE_E_CORRUPT,
				"the guest-physical maps disagree: run %u is %s by %s but %s by %s",
				i, xs, a_name, ys, b_name);
	}
	return 0;
}

/* ---- guest-physical reads through QMP -------------------------------- */

struct haywire_qmp_phys {
	struct haywire_qmp *qmp;
	struct haywire_qemu_ram ram;
	char dir[PATH_MAX];
	char file[PATH_MAX + 8];
	int fd;
	uint64_t reads, bytes;
};

static const char *scratch_parent(void)
{
	const char *dir = getenv("HAYWIRE_QMP_TMPDIR");
	struct stat st;

	if (dir && *dir)
		return dir;
	if (!stat("/dev/shm", &st) && S_ISDIR(st.st_mode) &&
	    !access("/dev/shm", W_OK))
		return "/dev/shm";
	dir = getenv("TMPDIR");
	return dir && *dir ? dir : "/tmp";
}

struct haywire_qmp_phys *haywire_qmp_phys_open(struct haywire_qmp *qmp,
					       const struct haywire_qemu_ram *ram,
					       struct haywire_error *err)
{
	struct haywire_qmp_phys *p = calloc(1, sizeof(*p));

	if (!p) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	p->qmp = qmp;
	p->ram = *ram;
	p->fd = -1;
	if (snprintf(p->dir, sizeof(p->dir), "%s/haywire-qmp.XXXXXX",
		     scratch_parent()) >= (int)sizeof(p->dir) ||
	    !mkdtemp(p->dir)) {
		hwi_fail(err, HAYWIRE_E_FILE,
			 "cannot create a directory for QMP pmemsave under %s: %s (set HAYWIRE_QMP_TMPDIR)",
			 scratch_parent(), strerror(errno));
		free(p);
		return NULL;
	}
	snprintf(p->file, sizeof(p->file), "%s/mem", p->dir);
	/* Ours from the start; QEMU truncates and fills the same inode. */
	p->fd = open(p->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		hwi_fail(err, HAYWIRE_E_FILE, "cannot create %s: %s", p->file,
			 strerror(errno));
		rmdir(p->dir);
		free(p);
		return NULL;
	}
	return p;
}

void haywire_qmp_phys_close(struct haywire_qmp_phys *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	unlink(p->file);
	rmdir(p->dir);
	free(p);
}

void haywire_qmp_phys_stats(const struct haywire_qmp_phys *p,
			    uint64_t *reads, uint64_t *bytes)
{
	*reads = p->reads;
	*bytes = p->bytes;
}

/* Whether [gpa, gpa + len) is all RAM: pmemsave would read devices too. */
/* The RAM run at gpa: the boot backend's or another mapped backend's. */
static const struct haywire_run *ram_run_at(const struct haywire_qemu_ram *ram,
					    uint64_t gpa)
{
	unsigned int i, j;

	for (i = 0; i < ram->count; i++)
		if (gpa >= ram->runs[i].gpa &&
		    gpa - ram->runs[i].gpa < ram->runs[i].size)
			return &ram->runs[i];
	for (i = 0; i < ram->other_count; i++)
		for (j = 0; j < ram->other[i].count; j++) {
			const struct haywire_run *r = &ram->other[i].runs[j];

			if (gpa >= r->gpa && gpa - r->gpa < r->size)
				return r;
		}
	return NULL;
}

static bool all_ram(const struct haywire_qemu_ram *ram, uint64_t gpa,
		    uint64_t len)
{
	const struct haywire_run *r;
	unsigned int pieces = 0;

	while (len) {
		r = ram_run_at(ram, gpa);
		/* runs never overlap: more pieces than runs is a loop */
		if (!r || ++pieces > HAYWIRE_QEMU_MAX_RUNS +
				     HAYWIRE_QEMU_MAX_OTHER * HAYWIRE_MAP_MAX_RUNS)
			return false;
		if (len <= r->size - (gpa - r->gpa))
			return true;
		len -= r->size - (gpa - r->gpa);
		gpa = r->gpa + r->size;
	}
	return true;
}

static int pmemsave(struct haywire_qmp_phys *p, uint64_t gpa, void *dst,
		    size_t len, struct haywire_error *err)
{
	struct json_object *args = json_object_new_object();
	struct stat st;
	size_t done = 0;
	int rc;

	if (!args)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	json_object_object_add(args, "val", json_object_new_int64((int64_t)gpa));
	json_object_object_add(args, "size", json_object_new_int64((int64_t)len));
	json_object_object_add(args, "filename", json_object_new_string(p->file));
	rc = haywire_qmp_execute(p->qmp, "pmemsave", args, NULL, err);
	json_object_put(args);
	if (rc)
		return rc;
	p->reads++;
	p->bytes += len;
	if (fstat(p->fd, &st) || (uint64_t)st.st_size != len)
		return hwi_fail(err, HAYWIRE_E_QMP,
				"QMP pmemsave of %zu bytes left %lld bytes in %s: QEMU does not write where this host reads (is QEMU on another machine or in another mount namespace?)",
				len, (long long)st.st_size, p->file);
	while (done < len) {
		ssize_t n = pread(p->fd, (char *)dst + done, len - done,
				  (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hwi_fail(err, HAYWIRE_E_IO, "cannot read %s: %s",
					p->file, n ? strerror(errno) :
					"unexpected end of file");
		done += (size_t)n;
	}
	return 0;
}

int haywire_qmp_phys_read(void *ctx, uint64_t gpa, void *dst, size_t len,
			  struct haywire_error *err)
{
	struct haywire_qmp_phys *p = ctx;
	size_t done = 0;

	if (!len)
		return 0;
	if (gpa > INT64_MAX || len > INT64_MAX - gpa ||
	    !all_ram(&p->ram, gpa, len))
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"guest-physical 0x%llx (reading %zu bytes) is not in the guest's RAM",
				(unsigned long long)gpa, len);
	while (done < len) {
		size_t n = len - done < PMEMSAVE_CHUNK ? len - done :
			   PMEMSAVE_CHUNK;
		int rc = pmemsave(p, gpa + done, (char *)dst + done, n, err);

		if (rc)
			return rc;
		done += n;
	}
	return 0;
}
