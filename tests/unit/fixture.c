// SPDX-License-Identifier: MIT
/*
 * Synthetic guest RAM files for the host tests: see fixture.h.
 *
 * The beacon's logical space is built in memory (index, stats, processes,
 * VMAs, strings, in that order), "field=value" overrides are applied to it,
 * and then each extent is written at its file offset.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "haywire_protocol.h"
#include "fixture.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define EXTENT (2 * MIB)

void fixture_defaults(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->machine = "q35";
	f->size = 64 * MIB;
	f->index_offset = FIXTURE_AUTO;
	f->extents = 1;
	f->procs = 8;
	f->kthreads = 2;
	f->vmas = 8;
	f->nonce = 0x5eed0123456789abULL;
	f->generation = 1;
	f->interval_ms = 1000;
}

static bool is_arm64(const struct fixture *f)
{
	return !strcmp(f->machine, "virt");
}

/* File bytes below 4 GiB, as QEMU lays out q35 and pc RAM. */
static uint64_t x86_low(const struct fixture *f)
{
	if (!strcmp(f->machine, "pc"))
		return f->size >= 0xe0000000ULL ? 3 * GIB : f->size;
	return f->size >= 0xb0000000ULL ? 2 * GIB : f->size;
}

uint64_t fixture_gpa(const struct fixture *f, uint64_t file_offset)
{
	if (is_arm64(f))
		return GIB + file_offset;
	if (file_offset < x86_low(f))
		return file_offset;
	return 4 * GIB + file_offset - x86_low(f);
}

/* The guest's System RAM as /proc/iomem shows it. */
static unsigned int ram_ranges(const struct fixture *f, struct hw_range *ram)
{
	uint64_t low;

	if (is_arm64(f)) {
		ram[0].start = GIB;
		ram[0].size = f->size;
		return 1;
	}
	low = x86_low(f);
	ram[0].start = 0x1000;
	ram[0].size = 0x9f000 - 0x1000;
	ram[1].start = 0x100000;
	ram[1].size = low - 0x20000 - 0x100000;	/* firmware at the top */
	if (f->size == low)
		return 2;
	ram[2].start = 4 * GIB;
	ram[2].size = f->size - low;
	return 3;
}

__attribute__((format(printf, 3, 4)))
static int failf(char *msg, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- strings ----------------------------------------------------------- */

struct strtab {
	char *buf;
	size_t len, cap;
};

/* Interned, as the module does: the same bytes are stored once. */
static struct hw_str intern(struct strtab *t, const char *s, size_t len)
{
	struct hw_str r = { 0, 0 };
	size_t at;

	if (len == 0)
		return r;
	for (at = 1; at + len < t->len; at++)
		if (!memcmp(t->buf + at, s, len) && t->buf[at + len] == 0 &&
		    t->buf[at - 1] == 0)
			goto found;
	if (t->len + len + 1 > t->cap) {
		t->cap = (t->len + len + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			abort();
	}
	at = t->len;
	memcpy(t->buf + at, s, len);
	t->buf[at + len] = 0;
	t->len += len + 1;
found:
	r.off = (uint32_t)at;
	r.len = (uint32_t)len;
	return r;
}

static struct hw_str intern_str(struct strtab *t, const char *s)
{
	return intern(t, s, strlen(s));
}

/* ---- records ----------------------------------------------------------- */

enum proc_kind { INIT, KTHREADD, KTHREAD, USER };

static enum proc_kind kind_of(const struct fixture *f, unsigned int i)
{
	if (i == 0)
		return INIT;
	if (i == 1)
		return KTHREADD;
	if (i < 2 + f->kthreads)
		return KTHREAD;
	return USER;
}

static void fill_vma(const struct fixture *f, struct strtab *t,
		     unsigned int proc, unsigned int j, const char *exe,
		     struct hw_vma *v)
{
	static const char *const libs[] = {
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libm.so.6",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/usr/lib/locale/C.utf8/LC_CTYPE",
	};
	unsigned int m = f->vmas;
	const char *name = NULL;
	char buf[HW_PATH_MAX + 1];
	uint32_t flags = HW_VF_READ;
	size_t len = 0;

	memset(v, 0, sizeof(*v));
	v->start = 0x555500000000ULL + (uint64_t)j * 0x10000000ULL;
	if (j + 3 >= m)		/* the last three: stack, vvar, vdso */
		v->start = 0x7ffc00000000ULL + (uint64_t)(j + 3 - m) *
			   0x100000ULL;
	v->end = v->start + 0x1000ULL * (1 + j % 4);

	if (j + 3 == m) {
		name = "[stack]";
		flags |= HW_VF_WRITE;
	} else if (j + 2 == m) {
		name = "[vvar]";
	} else if (j + 1 == m) {
		name = "[vdso]";
		flags |= HW_VF_EXEC;
	} else if (j < 3) {
		name = exe;
		flags |= j == 1 ? HW_VF_EXEC : j == 2 ? HW_VF_WRITE : 0;
		v->offset = j * 0x1000ULL;
	} else if (j == 3) {
		name = "[heap]";
		flags |= HW_VF_WRITE;
	} else if (j % 5 == 4) {
		flags |= HW_VF_WRITE;	/* anonymous */
	} else {
		name = libs[j % 4];
		flags |= j % 2 ? HW_VF_EXEC : HW_VF_SHARED;
		v->offset = (uint64_t)(j / 4) * 0x1000;
	}
	if (f->weird_names && proc == 0 && j >= 4 && j <= 6 && j + 3 < m) {
		if (j == 4) {
			name = "/tmp/new\nline (deleted)";
		} else if (j == 5) {
			name = "/opt/caf\xe9/lib\xff.so";	/* Latin-1 */
		} else {
			memset(buf, 'x', HW_PATH_MAX);
			buf[0] = '/';
			buf[HW_PATH_MAX] = 0;
			name = buf;
		}
	}
	v->flags = flags;
	if (name) {
		len = strlen(name);
		v->name = intern(t, name, len);
		if (name[0] == '/') {
			v->dev_major = 0xfe;
			v->dev_minor = 1;
			v->inode = 1000 + len * 7 + (unsigned char)name[len - 1];
		}
	}
}

static void fill_proc(const struct fixture *f, struct strtab *t,
		      unsigned int i, struct hw_proc *p)
{
	static const char *const exes[] = {
		"/usr/sbin/sshd", "/usr/bin/bash", "/usr/sbin/cron",
		"/usr/lib/systemd/systemd-journald", "/usr/bin/sleep",
	};

	memset(p, 0, sizeof(*p));
	p->threads = 1;
	p->state = 'S';
	/* 1.3 */
	p->utime_ns = 1000000ULL * (i + 1);
	p->stime_ns = 500000ULL * (i + 1);
	p->min_flt = 100 + i;
	p->maj_flt = i;
	p->nice = (int32_t)(i % 40) - 20;
	p->last_cpu = (int32_t)(i % 2);
	p->pidns_inum = 4026531836ULL;
	p->ns_pid = (int32_t)i + 1;

	p->start_time_ns = 1000000000ULL + i * 12345678ULL;
	switch (kind_of(f, i)) {
	case INIT:
		p->pid = 1;
		snprintf(p->comm, sizeof(p->comm), "init");
		p->exe = intern_str(t, "/sbin/init");
		break;
	case KTHREADD:
		p->pid = 2;
		snprintf(p->comm, sizeof(p->comm), "kthreadd");
		break;
	case KTHREAD:
		p->pid = (int32_t)(i + 1);
		p->ppid = 2;
		p->state = 'I';
		snprintf(p->comm, sizeof(p->comm), "kworker/%u:0", i % 10000);
		p->flags = HW_PF_WQ_WORKER;
		break;
	case USER:
		p->pid = (int32_t)(100 + i * 3);
		p->ppid = 1;
		p->uid = p->euid = 1000 + i % 3;
		p->gid = p->egid = 1000 + i % 3;
		p->threads = 1 + i % 4;
		p->state = i % 7 ? 'S' : 'R';
		snprintf(p->comm, sizeof(p->comm), "prog%u", i);
		p->exe = intern_str(t, exes[i % 5]);
		break;
	}
	p->tgid = p->pid;
	if (kind_of(f, i) == KTHREADD || kind_of(f, i) == KTHREAD) {
		p->flags |= HW_PF_KTHREAD | HW_PF_NO_MM;
		p->start_time_ns = 1000000ULL * i;
	} else {
		p->vsize_kb = 4096 + i * 4;
		p->rss_kb = 1024 + i;
		p->pgd = 0x1000000ULL + i * 0x1000ULL;
	}
}

/* ---- field=value overrides ---------------------------------------------- */

struct field {
	const char *name;
	size_t offset, size;
	char type;		/* 'u' integer, 'c' char, 's' char array */
};

#define FIELD(T, f, type) { #f, offsetof(struct T, f), \
			    sizeof(((struct T *)0)->f), type }

static const struct field index_fields[] = {
	FIELD(hw_index, magic, 'u'), FIELD(hw_index, version_major, 'u'),
	FIELD(hw_index, version_minor, 'u'), FIELD(hw_index, index_size, 'u'),
	FIELD(hw_index, nonce, 'u'), FIELD(hw_index, self_gpa, 'u'),
	FIELD(hw_index, page_size, 'u'), FIELD(hw_index, arch, 'u'),
	FIELD(hw_index, paging_levels, 'u'),
	FIELD(hw_index, load_real_ns, 'u'),
	FIELD(hw_index, kernel_release, 's'), FIELD(hw_index, seq, 'u'),
	FIELD(hw_index, companion, 'u'), FIELD(hw_index, unavailable, 'u'),
	FIELD(hw_index, companion_version, 's'),
	FIELD(hw_index, flags, 'u'), FIELD(hw_index, generation, 'u'),
	FIELD(hw_index, publish_mono_ns, 'u'),
	FIELD(hw_index, publish_boot_ns, 'u'),
	FIELD(hw_index, publish_real_ns, 'u'),
	FIELD(hw_index, interval_ms, 'u'), FIELD(hw_index, extent_count, 'u'),
	FIELD(hw_index, logical_size, 'u'),
	FIELD(hw_index, section_count, 'u'),
	FIELD(hw_index, ram_range_count, 'u'),
	FIELD(hw_index, procs_total, 'u'), FIELD(hw_index, procs_mm_busy, 'u'),
	FIELD(hw_index, vmas_total, 'u'), FIELD(hw_index, strings_total, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field range_fields[] = {
	FIELD(hw_range, start, 'u'), FIELD(hw_range, size, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field section_fields[] = {
	FIELD(hw_section, kind, 'u'), FIELD(hw_section, entry_size, 'u'),
	FIELD(hw_section, offset, 'u'), FIELD(hw_section, count, 'u'),
	FIELD(hw_section, reserved, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field proc_fields[] = {
	FIELD(hw_proc, pid, 'u'), FIELD(hw_proc, tgid, 'u'),
	FIELD(hw_proc, ppid, 'u'), FIELD(hw_proc, flags, 'u'),
	FIELD(hw_proc, uid, 'u'), FIELD(hw_proc, gid, 'u'),
	FIELD(hw_proc, euid, 'u'), FIELD(hw_proc, egid, 'u'),
	FIELD(hw_proc, threads, 'u'), FIELD(hw_proc, state, 'c'),
	FIELD(hw_proc, comm, 's'), FIELD(hw_proc, start_time_ns, 'u'),
	FIELD(hw_proc, vsize_kb, 'u'), FIELD(hw_proc, rss_kb, 'u'),
	FIELD(hw_proc, pgd, 'u'), FIELD(hw_proc, exe.off, 'u'),
	FIELD(hw_proc, exe.len, 'u'), FIELD(hw_proc, vma_first, 'u'),
	FIELD(hw_proc, vma_count, 'u'), FIELD(hw_proc, vma_total, 'u'),
	/* 1.3 */
	FIELD(hw_proc, utime_ns, 'u'), FIELD(hw_proc, stime_ns, 'u'),
	FIELD(hw_proc, nice, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field vma_fields[] = {
	FIELD(hw_vma, start, 'u'), FIELD(hw_vma, end, 'u'),
	FIELD(hw_vma, offset, 'u'), FIELD(hw_vma, inode, 'u'),
	FIELD(hw_vma, dev_major, 'u'), FIELD(hw_vma, dev_minor, 'u'),
	FIELD(hw_vma, flags, 'u'), FIELD(hw_vma, name.off, 'u'),
	FIELD(hw_vma, name.len, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field stats_fields[] = {
	FIELD(hw_stats, refreshes, 'u'), FIELD(hw_stats, last_procs, 'u'),
	FIELD(hw_stats, last_vmas, 'u'),
	FIELD(hw_stats, last_walk_procs_ns, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field camera_fields[] = {
	FIELD(hw_camera, pid, 'u'), FIELD(hw_camera, flags, 'u'),
	FIELD(hw_camera, vma_first, 'u'), FIELD(hw_camera, vma_count, 'u'),
	FIELD(hw_camera, present_pages, 'u'),
	FIELD(hw_camera, swapped_pages, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field cvma_fields[] = {
	FIELD(hw_camera_vma, start, 'u'), FIELD(hw_camera_vma, end, 'u'),
	FIELD(hw_camera_vma, run_first, 'u'),
	FIELD(hw_camera_vma, run_count, 'u'),
	FIELD(hw_camera_vma, present_pages, 'u'),
	FIELD(hw_camera_vma, swapped_pages, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field run_fields[] = {
	FIELD(hw_page_run, va, 'u'), FIELD(hw_page_run, len, 'u'),
	FIELD(hw_page_run, gpa, 'u'), FIELD(hw_page_run, state, 'u'),
	FIELD(hw_page_run, page_shift, 'u'), FIELD(hw_page_run, flags, 'u'),
	{ NULL, 0, 0, 0 },
};

static const struct field byte_field = { "", 0, 1, 'u' };

/* "name[index]" at *path: the index, and *path moved past "]". */
static bool take_index(const char **path, const char *name, uint64_t *index)
{
	size_t n = strlen(name);
	char *end;

	if (strncmp(*path, name, n) || (*path)[n] != '[')
		return false;
	*index = strtoull(*path + n + 1, &end, 0);
	if (*end != ']')
		return false;
	*path = end + 1;
	return true;
}

static const struct field *find_field(const struct field *fields,
				      const char *name)
{
	for (; fields->name; fields++)
		if (!strcmp(fields->name, name))
			return fields;
	return NULL;
}

/* Where a path like "proc[3].comm" or "sections[0].count" is. */
static const struct field *resolve(const struct fixture_layout *lay,
				   uint32_t proc_stride, uint32_t vma_stride,
				   const char *path, uint64_t *at)
{
	uint64_t i;

	if (take_index(&path, "proc", &i) && *path == '.') {
		*at = lay->procs_off + i * proc_stride;
		return find_field(proc_fields, path + 1);
	}
	if (take_index(&path, "vma", &i) && *path == '.') {
		*at = lay->vmas_off + i * vma_stride;
		return find_field(vma_fields, path + 1);
	}
	if (take_index(&path, "camera", &i) && *path == '.') {
		*at = lay->cameras_off + i * sizeof(struct hw_camera);
		return find_field(camera_fields, path + 1);
	}
	if (take_index(&path, "cvma", &i) && *path == '.') {
		*at = lay->cvmas_off + i * sizeof(struct hw_camera_vma);
		return find_field(cvma_fields, path + 1);
	}
	if (take_index(&path, "run", &i) && *path == '.') {
		*at = lay->runs_off + i * sizeof(struct hw_page_run);
		return find_field(run_fields, path + 1);
	}
	if (take_index(&path, "strbyte", &i) && !*path) {
		*at = lay->strings_off + i;
		return &byte_field;
	}
	if (!strncmp(path, "stats.", 6)) {
		*at = lay->stats_off;
		return find_field(stats_fields, path + 6);
	}
	if (take_index(&path, "extents", &i) && *path == '.' && i < 64) {
		*at = offsetof(struct hw_index, extents) + i * 16;
		return find_field(range_fields, path + 1);
	}
	if (take_index(&path, "ram", &i) && *path == '.' && i < 32) {
		*at = offsetof(struct hw_index, ram) + i * 16;
		return find_field(range_fields, path + 1);
	}
	if (take_index(&path, "sections", &i) && *path == '.' && i < 16) {
		*at = offsetof(struct hw_index, sections) + i * 32;
		return find_field(section_fields, path + 1);
	}
	*at = 0;
	return find_field(index_fields, path);
}

static int apply_set(unsigned char *logical, const struct fixture_layout *lay,
		     uint32_t proc_stride, uint32_t vma_stride,
		     const char *spec, char *msg, size_t n)
{
	char path[96];
	const char *eq = strchr(spec, '='), *value;
	const struct field *fd;
	uint64_t at, v;
	char *end;

	if (!eq || (size_t)(eq - spec) >= sizeof(path))
		return failf(msg, n, "set '%s': want FIELD=VALUE", spec);
	memcpy(path, spec, (size_t)(eq - spec));
	path[eq - spec] = 0;
	value = eq + 1;
	fd = resolve(lay, proc_stride, vma_stride, path, &at);
	if (!fd)
		return failf(msg, n, "set '%s': unknown field", spec);
	at += fd->offset;
	if (at + fd->size > lay->logical_size)
		return failf(msg, n, "set '%s': outside the beacon", spec);
	switch (fd->type) {
	case 's':	/* up to the field's size; no NUL if it is full */
		memset(logical + at, 0, fd->size);
		memcpy(logical + at, value, strnlen(value, fd->size));
		return 0;
	case 'c':
		logical[at] = (unsigned char)value[0];
		return 0;
	}
	errno = 0;
	v = value[0] == '-' ? (uint64_t)strtoll(value, &end, 0) :
	    strtoull(value, &end, 0);
	if (errno || *end || end == value)
		return failf(msg, n, "set '%s': not a number", spec);
	memcpy(logical + at, &v, fd->size);	/* little-endian */
	return 0;
}

/* ---- the image ---------------------------------------------------------- */

static uint64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* ---- cameras ------------------------------------------------------------ */

struct camera_build {
	struct hw_camera cams[HW_MAX_CAMERAS];
	struct hw_camera_vma *cvmas;
	struct hw_page_run *runs;
	uint64_t ncvmas, nruns;
};

static void add_run(struct camera_build *cb, struct hw_camera_vma *cv,
		    uint64_t va, uint64_t len, uint8_t state, uint64_t gpa)
{
	struct hw_page_run *r = &cb->runs[cb->nruns++];

	memset(r, 0, sizeof(*r));
	r->va = va;
	r->len = len;
	r->state = state;
	if (state != HW_PAGE_UNMAPPED)
		r->page_shift = 12;
	if (state == HW_PAGE_PRESENT) {
		r->gpa = gpa;
		r->flags = HW_RF_WRITE | HW_RF_USER;
		cv->present_pages += len / 4096;
	} else if (state == HW_PAGE_SWAPPED) {
		cv->swapped_pages += len / 4096;
	}
	cv->run_count++;
}

/*
 * Camera c watches the c-th process with VMAs. Its VMA j has, by j % 3:
 * one present run; a present first half and a swapped rest; nothing.
 */
static int build_cameras(const struct fixture *f, const unsigned char *procs,
			 uint32_t proc_stride, const unsigned char *vmas,
			 uint32_t vma_stride, struct camera_build *cb)
{
	unsigned int c = 0, i, j;

	memset(cb, 0, sizeof(*cb));
	cb->cvmas = calloc((size_t)f->procs * f->vmas + 1, sizeof(*cb->cvmas));
	cb->runs = calloc(((size_t)f->procs * f->vmas + 1) * 2,
			  sizeof(*cb->runs));
	if (!cb->cvmas || !cb->runs)
		return -1;
	for (i = 0; i < f->procs && c < f->cameras; i++) {
		const struct hw_proc *p = (const void *)(procs +
							 (size_t)i * proc_stride);
		struct hw_camera *cam = &cb->cams[c];

		if (!p->vma_count)
			continue;
		cam->pid = p->pid;
		cam->flags = HW_CF_ACTIVE;
		cam->vma_first = (uint32_t)cb->ncvmas;
		cam->vma_count = p->vma_count;
		for (j = 0; j < p->vma_count; j++) {
			const struct hw_vma *v = (const void *)(vmas +
				(size_t)(p->vma_first + j) * vma_stride);
			struct hw_camera_vma *cv = &cb->cvmas[cb->ncvmas++];
			uint64_t len = v->end - v->start, half;
			uint64_t gpa = 0x1000000ULL + (c * 64ULL + j) * 0x10000;

			cv->start = v->start;
			cv->end = v->end;
			cv->run_first = (uint32_t)cb->nruns;
			switch (j % 3) {
			case 0:
				add_run(cb, cv, v->start, len, HW_PAGE_PRESENT,
					gpa);
				break;
			case 1:
				half = len / 4096 / 2 * 4096;
				if (!half)
					half = 4096;
				add_run(cb, cv, v->start, half, HW_PAGE_PRESENT,
					gpa);
				if (len > half)
					add_run(cb, cv, v->start + half,
						len - half, HW_PAGE_SWAPPED, 0);
				break;
			default:
				add_run(cb, cv, v->start, len,
					HW_PAGE_UNMAPPED, 0);
			}
			cam->present_pages += cv->present_pages;
			cam->swapped_pages += cv->swapped_pages;
		}
		c++;
	}
	return 0;
}

void fixture_event(uint64_t n, struct hw_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = n;
	ev->boot_ns = 1000000000ULL + n * 1000;
	ev->real_ns = now_real_ns();
	ev->type = (uint16_t)(HW_EV_FORK + (n - 1) % 3);
	ev->pid = (int32_t)(1000 + n);
	ev->tgid = ev->pid;
	ev->ppid = 1;
	ev->exit_code = ev->type == HW_EV_EXIT ? 0x100 : 0;
	snprintf(ev->comm, sizeof(ev->comm), "ev%u", (unsigned int)(n % 1000));
	if (ev->type == HW_EV_EXEC) {
		snprintf(ev->filename, sizeof(ev->filename), "/bin/true");
		ev->filename_len = 9;
	}
}

static void fill_guest(unsigned char *logical, const struct fixture_layout *lay)
{
	struct hw_guest *g = (struct hw_guest *)(logical + lay->guest_off);
	struct hw_cpu_time *c = (struct hw_cpu_time *)(logical + lay->cpus_off);
	unsigned int i;

	g->uptime_ns = 100000000000ULL;
	g->load[0] = 2048 + 512;	/* 1.25 */
	g->load[1] = 1024;
	g->load[2] = 0;
	g->nr_running = 2;
	g->nr_blocked = 1;
	g->nr_threads = 40;
	g->nr_cpus = 2;
	g->nr_possible = 2;
	g->flags = HW_GF_NO_SWAP_TOTAL;
	g->mem_total = 500000;
	g->mem_free = 300000;
	g->mem_available = 400000;
	g->buffers = 1000;
	g->cached = 50000;
	g->shmem = 2000;
	g->slab = 9000;
	g->sreclaimable = 4000;
	for (i = 0; i < 2; i++) {
		c[i].cpu = i;
		c[i].online = 1;
		c[i].user = 1000000000ULL * (i + 1);
		c[i].idle = 5000000000ULL;
		g->cpu_total.user += c[i].user;
		g->cpu_total.idle += c[i].idle;
	}
}

static void fill_events(const struct fixture *f, unsigned char *logical,
			const struct fixture_layout *lay)
{
	struct hw_event_ring *r = (struct hw_event_ring *)(logical +
							   lay->events_off);
	struct hw_event *rec = (struct hw_event *)(r + 1);
	uint64_t n = f->events_written > f->event_slots ?
		     f->events_written - f->event_slots + 1 : 1;

	r->head = r->head_done = f->events_written;
	r->overwritten = n - 1;
	r->slots = f->event_slots;
	r->record_size = sizeof(struct hw_event);
	for (; n <= f->events_written; n++)
		fixture_event(n, &rec[(n - 1) % f->event_slots]);
}

int fixture_write(const struct fixture *f, int fd,
		  struct fixture_layout *out, char *msg, size_t n)
{
	uint32_t proc_stride = f->proc_stride ? f->proc_stride :
			       sizeof(struct hw_proc);
	uint32_t vma_stride = f->vma_stride ? f->vma_stride :
			      sizeof(struct hw_vma);
	struct fixture_layout lay;
	struct camera_build cb = { 0 };
	struct strtab strings = { NULL, 0, 0 };
	unsigned char *procs = NULL, *vmas = NULL, *logical = NULL;
	struct hw_index *ix;
	struct hw_stats *st;
	uint64_t nvmas = 0, per, used, vma_total_extra = 0;
	struct stat sb;
	unsigned int i, j;
	int rc = -1;

	memset(&lay, 0, sizeof(lay));
	if (f->size < 2 * MIB || f->size % 4096 || f->extents < 1 ||
	    f->extents > 64 || f->procs < 2 + f->kthreads ||
	    (f->vmas && f->vmas < 3) || f->cameras > HW_MAX_CAMERAS)
		return failf(msg, n, "bad fixture parameters");
	if (proc_stride < sizeof(struct hw_proc) ||
	    vma_stride < sizeof(struct hw_vma))
		return failf(msg, n, "record strides below the record sizes");

	/* Records first: their sizes decide the layout. */
	strings.buf = calloc(1, 64);
	strings.cap = 64;
	strings.len = 1;	/* offset 0 is no string's */
	procs = calloc(f->procs, proc_stride);
	vmas = calloc((size_t)f->procs * f->vmas + 1, vma_stride);
	if (!strings.buf || !procs || !vmas)
		goto out_nomem;
	for (i = 0; i < f->procs; i++) {
		struct hw_proc *p = (struct hw_proc *)(procs +
						       (size_t)i * proc_stride);
		enum proc_kind kind = kind_of(f, i);
		char exe[HW_PATH_MAX + 1];

		fill_proc(f, &strings, i, p);
		p->vma_first = (uint32_t)nvmas;
		if (kind == KTHREADD || kind == KTHREAD)
			continue;
		if (f->mm_busy && i == 2 + f->kthreads) {
			p->flags |= HW_PF_MM_BUSY;
			continue;
		}
		memcpy(exe, strings.buf + p->exe.off, p->exe.len);
		exe[p->exe.len] = 0;
		for (j = 0; j < f->vmas; j++)
			fill_vma(f, &strings, i, j, exe,
				 (struct hw_vma *)(vmas + nvmas++ * vma_stride));
		p->vma_count = p->vma_total = f->vmas;
		if (f->truncated && i == f->procs - 1) {
			p->vma_total += 3;
			p->flags |= HW_PF_VMAS_TRUNCATED;
			vma_total_extra = 3;
		}
	}

	/* 1.3 cgroups: interned after everything else, so that the 1.2
	 * strings keep their offsets */
	for (i = 0; i < f->procs; i++)
		((struct hw_proc *)(procs + (size_t)i * proc_stride))->cgroup =
			intern_str(&strings, i % 2 ?
				   "/system.slice/fixture.service" : "/");

	if (f->cameras && build_cameras(f, procs, proc_stride, vmas,
					vma_stride, &cb))
		goto out_nomem;

	/* index, [requests, responses], stats, processes, VMAs, strings,
	 * [cameras, camera VMAs, runs] */
	used = HW_INDEX_SIZE;
	if (f->rings) {
		lay.requests_off = used;
		lay.responses_off = used + HW_INDEX_SIZE;
		used = lay.responses_off +
		       (uint64_t)HW_RING_SLOTS * HW_RESPONSE_SLOT_SIZE;
	}
	lay.stats_off = used;
	lay.procs_off = used + HW_INDEX_SIZE;
	lay.vmas_off = lay.procs_off + (uint64_t)f->procs * proc_stride;
	lay.strings_off = lay.vmas_off + nvmas * vma_stride;
	used = lay.strings_off + strings.len;
	if (f->cameras) {
		lay.cameras_off = (used + 63) & ~63ULL;
		lay.cvmas_off = lay.cameras_off + sizeof(cb.cams);
		lay.runs_off = lay.cvmas_off +
			       cb.ncvmas * sizeof(struct hw_camera_vma);
		lay.ncvmas = cb.ncvmas;
		lay.nruns = cb.nruns;
		used = lay.runs_off + cb.nruns * sizeof(struct hw_page_run);
	}
	if (f->guest) {
		lay.guest_off = (used + 63) & ~63ULL;
		lay.cpus_off = lay.guest_off + sizeof(struct hw_guest);
		used = lay.cpus_off + 2 * sizeof(struct hw_cpu_time);
	}
	if (f->event_slots) {
		lay.events_off = (used + 63) & ~63ULL;
		used = lay.events_off + sizeof(struct hw_event_ring) +
		       (uint64_t)f->event_slots * sizeof(struct hw_event);
	}
	per = (used + f->extents - 1) / f->extents;
	lay.extent_size = (per + EXTENT - 1) / EXTENT * EXTENT;
	lay.extent_count = f->extents;
	lay.logical_size = lay.extent_size * f->extents;
	lay.used = used;
	lay.nvmas = nvmas;
	lay.string_bytes = strings.len;
	lay.index_offset = f->index_offset;
	if (lay.index_offset == FIXTURE_AUTO)
		lay.index_offset = f->size / 2 / EXTENT * EXTENT;
	if (lay.index_offset % EXTENT)
		return failf(msg, n, "index offset 0x%" PRIx64
			     " is not 2 MiB-aligned", lay.index_offset);
	for (i = 0; i < f->extents; i++) {
		uint64_t at = lay.index_offset + (uint64_t)i *
			      lay.extent_size * (f->scatter ? 2 : 1);

		if (at + lay.extent_size > f->size ||
		    fixture_gpa(f, at + lay.extent_size - 1) !=
		    fixture_gpa(f, at) + lay.extent_size - 1) {
			rc = failf(msg, n, "extent %u (file 0x%" PRIx64 ", %"
				   PRIu64 " MiB) does not fit the %" PRIu64
				   " MiB image", i, at,
				   (uint64_t)(lay.extent_size / MIB),
				   (uint64_t)(f->size / MIB));
			goto out;
		}
		lay.extent_file[i] = at;
	}
	lay.self_gpa = fixture_gpa(f, lay.index_offset);

	logical = calloc(1, lay.logical_size);
	if (!logical)
		goto out_nomem;
	memcpy(logical + lay.procs_off, procs, (size_t)f->procs * proc_stride);
	memcpy(logical + lay.vmas_off, vmas, nvmas * vma_stride);
	memcpy(logical + lay.strings_off, strings.buf, strings.len);
	if (f->cameras) {
		memcpy(logical + lay.cameras_off, cb.cams, sizeof(cb.cams));
		memcpy(logical + lay.cvmas_off, cb.cvmas,
		       cb.ncvmas * sizeof(struct hw_camera_vma));
		memcpy(logical + lay.runs_off, cb.runs,
		       cb.nruns * sizeof(struct hw_page_run));
	}

	if (f->guest)
		fill_guest(logical, &lay);
	if (f->event_slots)
		fill_events(f, logical, &lay);
	ix = (struct hw_index *)logical;
	ix->magic = f->gone ? HW_MAGIC_GONE : HW_MAGIC;
	ix->version_major = HW_VERSION_MAJOR;
	ix->version_minor = HW_VERSION_MINOR;
	ix->index_size = HW_INDEX_SIZE;
	ix->nonce = f->nonce;
	ix->self_gpa = lay.self_gpa;
	ix->page_size = 4096;
	ix->arch = is_arm64(f) ? HW_ARCH_ARM64 : HW_ARCH_X86_64;
	ix->paging_levels = 4;
	ix->load_real_ns = now_real_ns() - 100000000000ULL;
	snprintf(ix->kernel_release, sizeof(ix->kernel_release),
		 "6.1.0-fixture-%s", f->machine);
	ix->companion = HW_COMPANION_MODULE;
	snprintf(ix->companion_version, sizeof(ix->companion_version),
		 "haywire fixture");
	ix->seq = (uint32_t)(f->generation * 2);
	ix->generation = f->generation;
	ix->publish_mono_ns = 100000000000ULL;
	ix->publish_boot_ns = 100000000000ULL;
	ix->publish_real_ns = now_real_ns() - (uint64_t)(f->age_ms * 1000000);
	ix->interval_ms = f->interval_ms;
	ix->extent_count = f->extents;
	for (i = 0; i < f->extents; i++) {
		ix->extents[i].start = fixture_gpa(f, lay.extent_file[i]);
		ix->extents[i].size = lay.extent_size;
	}
	ix->logical_size = lay.logical_size;
	ix->ram_range_count = ram_ranges(f, ix->ram);
	ix->procs_total = f->procs + (f->truncated ? 5 : 0);
	ix->procs_mm_busy = f->mm_busy;
	ix->vmas_total = nvmas + vma_total_extra;
	ix->strings_total = strings.len;
	ix->flags = (f->truncated ? HW_IF_TRUNCATED : 0) |
		    (f->mm_busy ? HW_IF_MM_BUSY : 0);
	ix->sections[0] = (struct hw_section){ HW_SEC_PROCS, proc_stride,
					       lay.procs_off, f->procs, 0 };
	ix->sections[1] = (struct hw_section){ HW_SEC_VMAS, vma_stride,
					       lay.vmas_off, nvmas, 0 };
	ix->sections[2] = (struct hw_section){ HW_SEC_STRINGS, 1,
					       lay.strings_off, strings.len,
					       0 };
	ix->section_count = 3;
	if (!f->no_stats) {
		ix->sections[3] = (struct hw_section){
			HW_SEC_STATS, sizeof(struct hw_stats), lay.stats_off,
			1, 0 };
		ix->section_count = 4;
		st = (struct hw_stats *)(logical + lay.stats_off);
		st->refreshes = f->generation;
		st->last_procs = f->procs;
		st->last_vmas = nvmas;
		st->last_walk_procs_ns = f->procs * 1500ULL;
		st->last_walk_vmas_ns = nvmas * 60ULL;
		st->last_publish_ns = 20000;
		st->last_refresh_ns = st->last_walk_procs_ns +
				      st->last_walk_vmas_ns + 20000;
		st->refresh_ns_total = st->last_refresh_ns * f->generation;
		st->max_refresh_ns = st->last_refresh_ns;
		st->string_bytes = strings.len;
	}
	if (f->rings) {
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_REQUESTS, sizeof(struct hw_request),
			lay.requests_off, HW_RING_SLOTS, 0 };
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_RESPONSES, HW_RESPONSE_SLOT_SIZE,
			lay.responses_off, HW_RING_SLOTS, 0 };
	}
	if (f->cameras) {
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_CAMERAS, sizeof(struct hw_camera),
			lay.cameras_off, HW_MAX_CAMERAS, 0 };
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_CAMERA_VMAS, sizeof(struct hw_camera_vma),
			lay.cvmas_off, cb.ncvmas, 0 };
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_PAGE_RUNS, sizeof(struct hw_page_run),
			lay.runs_off, cb.nruns, 0 };
	}
	if (f->guest) {
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_GUEST, sizeof(struct hw_guest), lay.guest_off,
			1, 0 };
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_CPUS, sizeof(struct hw_cpu_time), lay.cpus_off,
			2, 0 };
	}
	if (f->event_slots)
		ix->sections[ix->section_count++] = (struct hw_section){
			HW_SEC_EVENTS, sizeof(struct hw_event), lay.events_off,
			f->event_slots, 0 };
	for (i = 0; i < f->nsets; i++)
		if (apply_set(logical, &lay, proc_stride, vma_stride,
			      f->sets[i], msg, n))
			goto out;

	if (fstat(fd, &sb) < 0 ||
	    ((uint64_t)sb.st_size < f->size &&
	     ftruncate(fd, (off_t)f->size) < 0)) {
		rc = failf(msg, n, "cannot size the image: %s",
			   strerror(errno));
		goto out;
	}
	if (f->junk) {
		/* RAM in use, to a probe: data, not zero, not a hole. */
		static const char junk[8] = "JUNKJUNK";
		uint64_t at;

		for (at = 0; at < f->size; at += EXTENT)
			if (pwrite_all(fd, junk, sizeof(junk), at))
				goto out_io;
	}
	for (i = 0; i < f->extents; i++)
		if (pwrite_all(fd, logical + (uint64_t)i * lay.extent_size,
			       lay.extent_size, lay.extent_file[i]))
			goto out_io;
	if (out)
		*out = lay;
	rc = 0;
	goto out;

out_io:
	rc = failf(msg, n, "cannot write the image: %s", strerror(errno));
	goto out;
out_nomem:
	rc = failf(msg, n, "out of memory");
out:
	free(strings.buf);
	free(cb.cvmas);
	free(cb.runs);
	free(procs);
	free(vmas);
	free(logical);
	return rc;
}

uint64_t fixture_number(const char *tool, const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	}
	if (errno || *end || end == s) {
		fprintf(stderr, "%s: '%s' is not a number\n", tool, s);
		exit(2);
	}
	return v;
}
