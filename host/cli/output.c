// SPDX-License-Identifier: MIT
/*
 * The haywire command's output.
 *
 * Text: every guest string (maps names, comm, exe, cwd, cmdline, kernel
 * release and banner, in every command) goes through one helper,
 * guest_unit(), and is printed by print_guest() or format_guest(): a byte
 * a terminal would interpret is shown as \ooo (backslash and three octal
 * digits), the kernel's own escape for '\n' in /proc/PID/maps. Escaped:
 * C0 controls (0x00-0x1f, '\n' included), DEL (0x7f), C1 controls
 * (U+0080-U+009F, as UTF-8), the Unicode line and paragraph separators and
 * bidirectional controls (U+200E, U+200F, U+2028-U+202E, U+2066-U+2069),
 * and every byte that is not part of valid UTF-8 (an 8-bit terminal reads
 * 0x9b as CSI). Everything else, printable UTF-8 included, is shown as it
 * is, so `maps` stays byte for byte /proc/PID/maps for ordinary names. A
 * backslash is not escaped (as in /proc/PID/maps): "\012" in a name may be
 * those four characters.
 *
 * JSON (json-c, pretty-printed, '/' not escaped): guest strings that are
 * valid UTF-8 are emitted as they are (json-c escapes control characters).
 * A byte that is not part of a valid UTF-8 sequence becomes the four
 * characters \ooo (backslash and three octal digits, as the kernel escapes
 * '\n' in maps), so the output is always valid UTF-8 and no byte is lost.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

struct flag_name {
	uint32_t bit;
	const char *name;
};

static const struct flag_name index_flags[] = {
	{ HW_IF_TRUNCATED, "truncated" },
	{ HW_IF_BUDGET, "budget" },
	{ HW_IF_MM_BUSY, "mm_busy" },
	{ HW_IF_STALLED, "stalled" },
	{ HW_IF_RAM_TRUNCATED, "ram_truncated" },
	{ 0, NULL },
};

static const struct flag_name proc_flags[] = {
	{ HW_PF_KTHREAD, "kthread" },
	{ HW_PF_WQ_WORKER, "wq_worker" },
	{ HW_PF_NO_MM, "no_mm" },
	{ HW_PF_MM_BUSY, "mm_busy" },
	{ HW_PF_VMAS_TRUNCATED, "vmas_truncated" },
	{ HW_PF_VMAS_SKIPPED, "vmas_skipped" },
	{ HW_PF_EXE_TRUNCATED, "exe_truncated" },
	{ HW_PF_BUDGET_CUT, "budget_cut" },
	{ HW_PF_CGROUP_TRUNCATED, "cgroup_truncated" },
	{ 0, NULL },
};

#define STAT_IF(field, uf) { #field, offsetof(struct hw_stats, field), \
			    sizeof(((struct hw_stats *)0)->field), uf }
#define STAT(field)	STAT_IF(field, 0)
/* The mmap_lock and time-budget figures (1.4: HW_UF_STATS_WALK) */
#define STAT_WALK(field) STAT_IF(field, HW_UF_STATS_WALK)
static const struct {
	const char *name;
	size_t offset;
	size_t size;		/* 8, or 4 for a pid */
	uint32_t unavailable_if;	/* HW_UF_* that marks it so */
} stats_fields[] = {
	STAT(refreshes), STAT(refresh_ns_total), STAT(last_refresh_ns),
	STAT(last_walk_procs_ns), STAT(last_walk_vmas_ns),
	STAT(last_publish_ns), STAT(last_procs), STAT(last_vmas),
	STAT(max_refresh_ns), STAT_WALK(mm_busy_total),
	STAT_WALK(budget_overruns),
	STAT(truncations), STAT(grow_events), STAT(alloc_failures),
	STAT(stalls), STAT(path_lookups), STAT(string_bytes),
	/* 1.2: the time budget and the mmap_lock */
	STAT_WALK(budget_ns), STAT(last_total_ns), STAT(last_cameras_ns),
	STAT_WALK(last_max_hold_ns), STAT_WALK(last_max_hold_pid),
	STAT_WALK(max_hold_ns), STAT_WALK(last_budget_skipped),
	STAT_WALK(last_budget_cut), STAT_WALK(last_start_pid),
	STAT_WALK(next_start_pid), STAT(staging_bytes),
};

/* A 1.1 companion leaves the 1.2 fields zero (they were reserved). */
static uint64_t stat_value(const struct hw_stats *st, size_t offset,
			   size_t size)
{
	uint64_t v = 0;
	uint32_t v32;

	if (size == sizeof(v32)) {
		memcpy(&v32, (const char *)st + offset, sizeof(v32));
		return v32;
	}
	memcpy(&v, (const char *)st + offset, sizeof(v));
	return v;
}

static uint64_t ns_per(uint64_t ns, uint64_t count)
{
	return count ? ns / count : 0;
}

/* Known bits by name, the rest as "bitN". Each call appends one word. */
static unsigned int flag_words(uint32_t flags, const struct flag_name *names,
			       void (*add)(void *ctx, const char *word),
			       void *ctx)
{
	unsigned int bit, n = 0;
	char unknown[8];

	for (bit = 0; bit < 32; bit++) {
		const struct flag_name *f;

		if (!(flags & (1U << bit)))
			continue;
		for (f = names; f->name && f->bit != (1U << bit); f++)
			;
		if (!f->name)
			snprintf(unknown, sizeof(unknown), "bit%u", bit);
		add(ctx, f->name ? f->name : unknown);
		n++;
	}
	return n;
}

struct text_words {
	char *buf;
	size_t n, used;
};

static void add_text_word(void *ctx, const char *word)
{
	struct text_words *t = ctx;
	int len = snprintf(t->buf + t->used, t->n - t->used, "%s%s",
			   t->used ? ", " : "", word);

	if (len > 0 && (size_t)len < t->n - t->used)
		t->used += (size_t)len;
}

static void format_flags(char *buf, size_t n, uint32_t flags,
			 const struct flag_name *names)
{
	struct text_words t = { buf, n, 0 };

	buf[0] = '\0';
	if (!flag_words(flags, names, add_text_word, &t))
		snprintf(buf, n, "none");
}

void format_index_flags(char *buf, size_t n, uint32_t flags)
{
	format_flags(buf, n, flags, index_flags);
}

void format_proc_flags(char *buf, size_t n, uint32_t flags)
{
	format_flags(buf, n, flags, proc_flags);
}

static void add_json_word(void *ctx, const char *word)
{
	json_object_array_add(ctx, json_object_new_string(word));
}

static struct json_object *json_flags(uint32_t flags,
				      const struct flag_name *names)
{
	struct json_object *arr = json_object_new_array();

	flag_words(flags, names, add_json_word, arr);
	return arr;
}

static struct json_object *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 (RFC 3629); its code point
 * in *code.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *code)
{
	size_t len, i;
	uint32_t cp;

	*code = s[0];

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;	/* overlong, surrogate or out of range */
	*code = cp;
	return len;
}

static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return utf8_decode(s, n, &cp);
}

/* A code point a terminal acts on instead of showing (see the top). */
static bool terminal_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The one escaping rule of text output: the unit of guest text at s (one
 * UTF-8 character, or one stray byte) is n bytes long; true if it is shown
 * as it is, false if each of its bytes is shown as \ooo.
 */
static bool guest_unit(const unsigned char *s, size_t len, size_t *n)
{
	uint32_t cp;

	*n = utf8_decode(s, len, &cp);
	if (!*n) {
		*n = 1;
		return false;
	}
	return !terminal_control(cp);
}

size_t print_guest(FILE *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, j, n, shown = 0, bytes = 0;

	/* Characters shown as they are go out in runs, not one by one. */
	for (i = 0; i < len; i += n) {
		if (guest_unit(u + i, len - i, &n))
			continue;
		fwrite(s + shown, 1, i - shown, out);
		for (j = 0; j < n; j++)
			fprintf(out, "\\%03o", u[i + j]);
		bytes += i - shown + 4 * n;
		shown = i + n;
	}
	fwrite(s + shown, 1, len - shown, out);
	return bytes + len - shown;
}

char *format_guest(char *dst, size_t size, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, j, n, at = 0;

	for (i = 0; i < len; i += n) {
		bool raw = guest_unit(u + i, len - i, &n);

		if (at + (raw ? n : 4 * n) >= size)
			break;		/* whole units only */
		for (j = 0; j < n; j++) {
			if (raw)
				dst[at++] = s[i + j];
			else
				at += (size_t)sprintf(dst + at, "\\%03o",
						      u[i + j]);
		}
	}
	if (size)
		dst[at] = '\0';
	return dst;
}

struct json_object *json_guest_string(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct json_object *obj;
	size_t i, seq, out = 0;
	char *copy;

	for (i = 0; i < len; i += seq)
		if (!(seq = utf8_sequence(u + i, len - i)))
			break;
	if (i >= len)
		return json_object_new_string_len(s, (int)len);
	copy = malloc(len * 4 + 1);
	if (!copy)
		return NULL;
	for (i = 0; i < len; i += seq ? seq : 1) {
		seq = utf8_sequence(u + i, len - i);
		if (seq) {
			memcpy(copy + out, s + i, seq);
			out += seq;
		} else {
			out += (size_t)sprintf(copy + out, "\\%03o", u[i]);
		}
	}
	obj = json_object_new_string_len(copy, (int)out);
	free(copy);
	return obj;
}

void print_json(FILE *out, struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					     JSON_C_TO_STRING_NOSLASHESCAPE),
	      out);
	fputc('\n', out);
	json_object_put(obj);
}

/*
 * ---- streaming JSON -------------------------------------------------------
 *
 * List outputs are written as they go, one record at a time (json-c for
 * each record, released at once): memory stays that of one record however
 * long the list. The document is the head's members, then the lists:
 *
 *   {
 *     "generation": 5,
 *     "processes": [
 *       {"pid":1,...},
 *       ...
 *     ]
 *   }
 */
#define JSON_FLAGS_PRETTY (JSON_C_TO_STRING_PRETTY | \
			   JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_FLAGS_RECORD (JSON_C_TO_STRING_PLAIN | \
			   JSON_C_TO_STRING_NOSLASHESCAPE)

/* "{", the head's members (pretty), no closing brace; releases head. */
void json_doc_begin(struct json_doc *d, FILE *out, struct json_object *head)
{
	const char *text = json_object_to_json_string_ext(head,
							  JSON_FLAGS_PRETTY);
	size_t len = strlen(text);

	d->out = out;
	d->members = json_object_object_length(head);
	/* Drop the closing brace and the blanks before it. */
	if (len && text[len - 1] == '}')
		len--;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	fwrite(text, 1, len, out);
	json_object_put(head);
}

void json_list_begin(struct json_doc *d, const char *key)
{
	fprintf(d->out, "%s\n  \"%s\": [", d->members ? "," : "", key);
	d->members++;
	d->records = 0;
}

void json_list_add(struct json_doc *d, struct json_object *record)
{
	fprintf(d->out, "%s\n    %s", d->records ? "," : "",
		json_object_to_json_string_ext(record, JSON_FLAGS_RECORD));
	d->records++;
	json_object_put(record);
}

void json_list_end(struct json_doc *d)
{
	fputs(d->records ? "\n  ]" : "]", d->out);
}

void json_doc_end(struct json_doc *d)
{
	fputs("\n}\n", d->out);
}

/* ---- maps ------------------------------------------------------------ */

/* fs/proc/task_mmu.c: the prefix is padded to 25 + 6 * sizeof(void *) - 1
 * columns and one more space separates the name. */
#define MAPS_NAME_PAD 72

static void perms(char *buf, uint32_t flags)
{
	buf[0] = flags & HW_VF_READ ? 'r' : '-';
	buf[1] = flags & HW_VF_WRITE ? 'w' : '-';
	buf[2] = flags & HW_VF_EXEC ? 'x' : '-';
	buf[3] = flags & HW_VF_SHARED ? 's' : 'p';
	buf[4] = '\0';
}

void print_maps_line(FILE *out, const struct haywire_vma *v)
{
	char p[5];
	int len;

	perms(p, v->flags);
	len = fprintf(out, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64
		      " %02x:%02x %" PRIu64 " ", v->start, v->end, p,
		      v->offset, v->dev_major, v->dev_minor, v->inode);
	if (v->name_len) {
		if (len < MAPS_NAME_PAD)
			fprintf(out, "%*s", MAPS_NAME_PAD - len, "");
		fputc(' ', out);
		print_guest(out, v->name, v->name_len);
	}
	fputc('\n', out);
}

void print_maps(FILE *out, const struct haywire_maps *maps)
{
	size_t i;

	for (i = 0; i < maps->count; i++)
		print_maps_line(out, &maps->vmas[i]);
}

static struct json_object *json_vma(const struct haywire_vma *v)
{
	struct json_object *o = json_object_new_object();
	char p[5], dev[24];

	perms(p, v->flags);
	snprintf(dev, sizeof(dev), "%02x:%02x", v->dev_major, v->dev_minor);
	json_object_object_add(o, "start", json_hex(v->start));
	json_object_object_add(o, "end", json_hex(v->end));
	json_object_object_add(o, "perms", json_object_new_string(p));
	json_object_object_add(o, "offset", json_hex(v->offset));
	json_object_object_add(o, "dev", json_object_new_string(dev));
	json_object_object_add(o, "inode", json_object_new_uint64(v->inode));
	json_object_object_add(o, "path",
			       json_guest_string(v->name, v->name_len));
	return o;
}

void print_json_maps(FILE *out, const struct haywire_maps *maps,
		     const char *source)
{
	struct json_object *o = json_object_new_object();
	struct json_doc d;
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "pid", json_object_new_int(maps->proc.pid));
	json_object_object_add(o, "generation",
			       json_object_new_uint64(maps->info.generation));
	json_object_object_add(o, "age_ms",
			       json_object_new_int64(maps->info.age_ms));
	json_object_object_add(o, "stale",
			       json_object_new_boolean(maps->info.stale));
	json_object_object_add(o, "vma_total",
			       json_object_new_uint64(maps->proc.vma_total));
	json_object_object_add(o, "truncated", json_object_new_boolean(
		maps->proc.flags & HW_PF_VMAS_TRUNCATED));
	json_doc_begin(&d, out, o);
	json_list_begin(&d, "vmas");
	for (i = 0; i < maps->count; i++)
		json_list_add(&d, json_vma(&maps->vmas[i]));
	json_list_end(&d);
	json_doc_end(&d);
}

/* ---- ps -------------------------------------------------------------- */

/* CPU time as ps's TIME column: [DD-]HH:MM:SS. */
static void format_cpu_time(char *buf, size_t n, uint64_t ns)
{
	uint64_t s = ns / 1000000000;

	if (s >= 86400)
		snprintf(buf, n, "%" PRIu64 "-%02" PRIu64 ":%02" PRIu64
			 ":%02" PRIu64, s / 86400, s / 3600 % 24, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, n, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
			 s / 3600, s / 60 % 60, s % 60);
}

/* %CPU as procps prints it: per mille, truncated, as "I.F". */
static void format_cpu_percent(char *buf, size_t n,
			       const struct haywire_proc *p,
			       const struct haywire_info *info)
{
	unsigned int permille =
		(unsigned int)(haywire_proc_cpu_percent(p, info) * 10.0);

	snprintf(buf, n, "%u.%u", permille / 10, permille % 10);
}

/* 1.4: a field the companion cannot obtain (HW_UF_*), shown as "-". */
static bool unavailable(const struct haywire_info *info, uint32_t field)
{
	return info && (info->unavailable & field);
}

static void print_ps_containers(FILE *out, const struct haywire_proc *p,
				const struct haywire_info *info)
{
	if (!p->monitor) {
		fprintf(out, " %-24s %10s %6s", "-", "-", "-");
		return;
	}
	size_t n = 1;

	fputc(' ', out);
	/* A guest string: escaped for the terminal like every other. */
	if (p->cgroup && p->cgroup_len)
		n = print_guest(out, p->cgroup, p->cgroup_len);
	else
		fputc('-', out);
	if (unavailable(info, HW_UF_PIDNS))
		fprintf(out, "%*s %10s %6s", n < 24 ? (int)(24 - n) : 0, "",
			"-", "-");
	else
		fprintf(out, "%*s %10" PRIu64 " %6d",
			n < 24 ? (int)(24 - n) : 0, "", p->pidns_inum,
			p->ns_pid);
}

void print_ps(FILE *out, const struct haywire_procs *procs, bool containers)
{
	size_t i;

	fprintf(out, "%7s %7s %5s S %4s %9s %8s %9s %8s %5s", "PID", "PPID",
		"UID", "THR", "VSZ", "RSS", "START", "TIME", "%CPU");
	if (containers)
		fprintf(out, " %-24s %10s %6s", "CGROUP", "PIDNS", "NSPID");
	fprintf(out, " %-18s %s\n", "COMMAND", "EXE");
	for (i = 0; i < procs->count; i++) {
		const struct haywire_proc *p = &procs->procs[i];
		char comm[GUEST_TEXT_MAX(HW_COMM_LEN)];
		char command[sizeof(comm) + 2], time[32] = "-", pcpu[16] = "-";
		char rss[24];

		format_guest(comm, sizeof(comm), p->comm,
			     strnlen(p->comm, HW_COMM_LEN));
		snprintf(command, sizeof(command),
			 p->flags & HW_PF_KTHREAD ? "[%s]" : "%s", comm);
		if (p->monitor && !unavailable(&procs->info, HW_UF_CPU_TIME)) {
			format_cpu_time(time, sizeof(time),
					p->utime_ns + p->stime_ns);
			format_cpu_percent(pcpu, sizeof(pcpu), p,
					   &procs->info);
		}
		if (unavailable(&procs->info, HW_UF_RSS))
			snprintf(rss, sizeof(rss), "-");
		else
			snprintf(rss, sizeof(rss), "%" PRIu64, p->rss_kb);
		fprintf(out, "%7d %7d %5u %c %4u %9" PRIu64 " %8s"
			" %6" PRIu64 ".%02" PRIu64 " %8s %5s", p->pid, p->ppid,
			p->uid, p->state, p->threads, p->vsize_kb, rss,
			p->start_time_ns / 1000000000,
			p->start_time_ns / 10000000 % 100, time, pcpu);
		if (containers)
			print_ps_containers(out, p, &procs->info);
		fprintf(out, " %-18s ", command);
		if (p->exe_len)
			print_guest(out, p->exe, p->exe_len);
		else
			fputc('-', out);
		fputc('\n', out);
	}
}

/* A number, or null when the companion cannot obtain it (1.4). */
static struct json_object *json_u64_or_null(const struct haywire_info *info,
					    uint32_t field, uint64_t v)
{
	return unavailable(info, field) ? NULL : json_object_new_uint64(v);
}

static struct json_object *json_int_or_null(const struct haywire_info *info,
					    uint32_t field, int32_t v)
{
	return unavailable(info, field) ? NULL : json_object_new_int(v);
}

/* 1.3 fields, when the snapshot has them. */
static void json_add_monitor(struct json_object *o,
			     const struct haywire_proc *p,
			     const struct haywire_info *info)
{
	if (!p->monitor || !info)
		return;
	json_object_object_add(o, "utime_ns",
		json_u64_or_null(info, HW_UF_CPU_TIME, p->utime_ns));
	json_object_object_add(o, "stime_ns",
		json_u64_or_null(info, HW_UF_CPU_TIME, p->stime_ns));
	json_object_object_add(o, "cpu_percent",
		unavailable(info, HW_UF_CPU_TIME) ? NULL :
		json_object_new_double(haywire_proc_cpu_percent(p, info)));
	json_object_object_add(o, "min_flt",
		json_u64_or_null(info, HW_UF_FAULTS, p->min_flt));
	json_object_object_add(o, "maj_flt",
		json_u64_or_null(info, HW_UF_FAULTS, p->maj_flt));
	json_object_object_add(o, "nice",
		json_int_or_null(info, HW_UF_NICE, p->nice));
	json_object_object_add(o, "last_cpu",
		json_int_or_null(info, HW_UF_LAST_CPU, p->last_cpu));
	json_object_object_add(o, "cgroup", p->cgroup && p->cgroup_len ?
			       json_guest_string(p->cgroup, p->cgroup_len) :
			       NULL);
	json_object_object_add(o, "pidns_inum",
		json_u64_or_null(info, HW_UF_PIDNS, p->pidns_inum));
	json_object_object_add(o, "ns_pid",
		json_int_or_null(info, HW_UF_PIDNS, p->ns_pid));
}

static struct json_object *json_proc(const struct haywire_proc *p,
				     const struct haywire_info *info)
{
	struct json_object *o = json_object_new_object();
	char state[2] = { p->state, '\0' };

	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	json_object_object_add(o, "ppid", json_object_new_int(p->ppid));
	json_object_object_add(o, "tgid", json_object_new_int(p->tgid));
	json_object_object_add(o, "uid", json_object_new_uint64(p->uid));
	json_object_object_add(o, "gid", json_object_new_uint64(p->gid));
	json_object_object_add(o, "euid", json_object_new_uint64(p->euid));
	json_object_object_add(o, "egid", json_object_new_uint64(p->egid));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "comm",
			       json_guest_string(p->comm, strlen(p->comm)));
	json_object_object_add(o, "threads",
			       json_object_new_uint64(p->threads));
	json_object_object_add(o, "kthread", json_object_new_boolean(
		p->flags & HW_PF_KTHREAD));
	json_object_object_add(o, "start_time_ns",
			       json_object_new_uint64(p->start_time_ns));
	json_object_object_add(o, "vsize_kb",
			       json_object_new_uint64(p->vsize_kb));
	json_object_object_add(o, "rss_kb",
			       json_u64_or_null(info, HW_UF_RSS, p->rss_kb));
	json_object_object_add(o, "pgd", unavailable(info, HW_UF_PGD) ?
			       NULL : json_hex(p->pgd));
	json_object_object_add(o, "exe", p->exe_len ?
			       json_guest_string(p->exe, p->exe_len) : NULL);
	json_object_object_add(o, "vma_count",
			       json_object_new_uint64(p->vma_count));
	json_object_object_add(o, "vma_total",
			       json_object_new_uint64(p->vma_total));
	json_object_object_add(o, "flags", json_flags(p->flags, proc_flags));
	json_add_monitor(o, p, info);
	return o;
}

void print_json_ps(FILE *out, const struct haywire_procs *procs,
		   const char *source)
{
	struct json_object *o = json_object_new_object();
	struct json_doc d;
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "generation",
			       json_object_new_uint64(procs->info.generation));
	json_object_object_add(o, "age_ms",
			       json_object_new_int64(procs->info.age_ms));
	json_object_object_add(o, "stale",
			       json_object_new_boolean(procs->info.stale));
	json_object_object_add(o, "truncated",
			       json_object_new_boolean(procs->info.truncated));
	json_object_object_add(o, "procs_total",
			       json_object_new_uint64(procs->info.procs_total));
	json_doc_begin(&d, out, o);
	json_list_begin(&d, "processes");
	for (i = 0; i < procs->count; i++)
		json_list_add(&d, json_proc(&procs->procs[i], &procs->info));
	json_list_end(&d);
	json_doc_end(&d);
}

/* ---- info ------------------------------------------------------------ */

static const char *arch_name(unsigned int arch)
{
	return arch == HW_ARCH_X86_64 ? "x86-64" :
	       arch == HW_ARCH_ARM64 ? "arm64" : "unknown";
}

static const char *companion_name(unsigned int companion)
{
	return companion == HW_COMPANION_MODULE ? "module" :
	       companion == HW_COMPANION_EBPF ? "ebpf" : "unknown";
}

/* HW_UF_* as the JSON/text names of the fields. */
static const struct flag_name unavailable_fields[] = {
	{ HW_UF_PGD, "pgd" },
	{ HW_UF_CPU_TIME, "cpu_time" },
	{ HW_UF_FAULTS, "faults" },
	{ HW_UF_CGROUP, "cgroup" },
	{ HW_UF_PIDNS, "pidns" },
	{ HW_UF_LAST_CPU, "last_cpu" },
	{ HW_UF_NICE, "nice" },
	{ HW_UF_STATS_WALK, "stats_walk" },
	{ HW_UF_RSS, "rss" },
	{ 0, NULL }
};

static uint64_t extents_bytes(const struct haywire_info *info)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < info->extent_count; i++)
		total += info->extents[i].size;
	return total;
}

static void format_real_time(char *buf, size_t n, uint64_t real_ns)
{
	time_t t = (time_t)(real_ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, n, "%" PRIu64 " ns", real_ns);
}

/* Guest-physical runs and where they are in the RAM file. */
static void print_gpa_runs(FILE *out, const struct haywire_run *runs,
			   unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		fprintf(out, "  GPA 0x%" PRIx64 "-0x%" PRIx64 " -> file 0x%"
			PRIx64 "\n", runs[i].gpa, runs[i].gpa + runs[i].size,
			runs[i].file_offset);
}

/* /proc/loadavg's rounding: two decimals of the fixed-point value. */
static void format_load(char *buf, size_t n, uint64_t raw)
{
	const uint64_t one = 1ULL << HW_LOAD_FSHIFT;
	uint64_t x = raw + one / 200;

	snprintf(buf, n, "%" PRIu64 ".%02" PRIu64, x >> HW_LOAD_FSHIFT,
		 ((x & (one - 1)) * 100) >> HW_LOAD_FSHIFT);
}

/* 1.3: the guest-wide section (haywire info). */
static void print_guest_section(FILE *out, const struct haywire_info *info)
{
	const struct haywire_guest *g = &info->guest;
	const struct haywire_cpu_time *c = &g->cpu_total;
	char load[3][32];
	unsigned int i;

	if (!info->have_guest) {
		fprintf(out, "guest:         none published (module < 1.3)\n");
		return;
	}
	for (i = 0; i < 3; i++)
		format_load(load[i], sizeof(load[i]), g->load_raw[i]);
	fprintf(out, "guest:\n");
	fprintf(out, "  uptime       %" PRIu64 ".%02" PRIu64 " s\n",
		g->uptime_ns / 1000000000, g->uptime_ns / 10000000 % 100);
	fprintf(out, "  load         %s %s %s\n", load[0], load[1], load[2]);
	fprintf(out, "  tasks        %u running, %u blocked, %u in all\n",
		g->nr_running, g->nr_blocked, g->nr_threads);
	fprintf(out, "  CPUs         %u online of %u\n", g->nr_cpus,
		g->nr_possible);
	fprintf(out, "  memory kB    total %" PRIu64 ", free %" PRIu64
		", available %" PRIu64 ", buffers %" PRIu64 ", cached %"
		PRIu64 ", shmem %" PRIu64 ", slab %" PRIu64 "\n", g->mem_total,
		g->mem_free, g->mem_available, g->buffers, g->cached,
		g->shmem, g->slab);
	if (g->flags & HW_GF_NO_SWAP_TOTAL)
		fprintf(out, "  swap kB      total unknown, free %" PRIu64 "\n",
			g->swap_free);
	else
		fprintf(out, "  swap kB      total %" PRIu64 ", free %" PRIu64
			"\n", g->swap_total, g->swap_free);
	fprintf(out, "  CPU ms       user %" PRIu64 ", nice %" PRIu64
		", system %" PRIu64 ", idle %" PRIu64 ", iowait %" PRIu64
		", irq %" PRIu64 ", softirq %" PRIu64 ", steal %" PRIu64 "\n",
		c->user / 1000000, c->nice / 1000000, c->system / 1000000,
		c->idle / 1000000, c->iowait / 1000000, c->irq / 1000000,
		c->softirq / 1000000, c->steal / 1000000);
}

static void print_companion(FILE *out, const struct haywire_info *info)
{
	char fields[160];

	fprintf(out, "companion:     %s", companion_name(info->companion));
	if (info->companion_version[0]) {
		fputs(", ", out);
		print_guest(out, info->companion_version,
			    strnlen(info->companion_version,
				    sizeof(info->companion_version)));
	}
	fputc('\n', out);
	if (info->unavailable) {
		format_flags(fields, sizeof(fields), info->unavailable,
			     unavailable_fields);
		fprintf(out, "unavailable:   %s\n", fields);
	}
}

void print_info(FILE *out, const struct haywire_info *info)
{
	const struct haywire_location *loc = &info->location;
	char flags[160], loaded[64];
	unsigned int i;

	format_index_flags(flags, sizeof(flags), info->flags);
	format_real_time(loaded, sizeof(loaded), info->load_real_ns);
	fprintf(out, "beacon:        protocol %u.%u, nonce 0x%016" PRIx64
		", loaded %s\n", info->version_major, info->version_minor,
		info->nonce, loaded);
	fprintf(out, "kernel:        ");
	print_guest(out, info->kernel_release, strlen(info->kernel_release));
	fprintf(out, " (%s, %u-level paging, %u-byte pages)\n",
		arch_name(info->arch), info->paging_levels, info->page_size);
	print_companion(out, info);
	fprintf(out, "generation:    %" PRIu64 "\n", info->generation);
	if (info->ahead_ms)
		fprintf(out, "age:           published %" PRIu64
			" ms in the host's future (interval %u ms)%s\n",
			info->ahead_ms, info->interval_ms,
			info->stale_confirmed ? ", STALE" :
			info->live ? ", live" :
			info->future ? ", not trusted" : "");
	else
		fprintf(out, "age:           %" PRId64 " ms (interval %u ms)%s\n",
			info->age_ms, info->interval_ms,
			info->stale_confirmed ? ", STALE" :
			info->stale ? ", stale by the guest's clock" : "");
	if (info->clock_offset_ms)
		fprintf(out, "clock offset:  the guest's clock is %" PRId64
			" ms %s the host's (the beacon is live)\n",
			info->clock_offset_ms < 0 ? -info->clock_offset_ms :
			info->clock_offset_ms,
			info->clock_offset_ms < 0 ? "ahead of" : "behind");
	fprintf(out, "published:     monotonic %" PRIu64 " ns, boot %" PRIu64
		" ns, real %" PRIu64 " ns\n", info->publish_mono_ns,
		info->publish_boot_ns, info->publish_real_ns);
	fprintf(out, "flags:         %s\n", flags);
	fprintf(out, "processes:     %" PRIu64 " published of %" PRIu64
		", %" PRIu64 " with a busy mm\n", info->procs,
		info->procs_total, info->procs_mm_busy);
	fprintf(out, "VMAs:          %" PRIu64 " published of %" PRIu64 "\n",
		info->vmas, info->vmas_total);
	fprintf(out, "strings:       %" PRIu64 " bytes (%" PRIu64
		" wanted)\n", info->string_bytes, info->strings_total);
	fprintf(out, "truncated:     %s\n", info->truncated ? "yes" : "no");
	fprintf(out, "index:         file offset 0x%" PRIx64 ", GPA 0x%" PRIx64
		"\n", loc->file_offset, loc->gpa);
	fprintf(out, "discovery:     %" PRIu64 ".%03" PRIu64 " ms, %u probes, "
		"%u candidates (%u busy, %u invalid, %u frozen), %s\n",
		loc->ns / 1000000, loc->ns / 1000 % 1000, loc->probes,
		loc->candidates, loc->busy, loc->rejected, loc->frozen,
		loc->pinned ? "pinned by GPA" :
		loc->hint_used ? "where the hint said" : "hint not used");
	fprintf(out, "extents:       %u, %" PRIu64 " MiB total\n",
		info->extent_count, extents_bytes(info) >> 20);
	for (i = 0; i < info->extent_count; i++)
		fprintf(out, "  GPA 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64
			" MiB)\n", (uint64_t)info->extents[i].start,
			(uint64_t)(info->extents[i].start +
				   info->extents[i].size),
			(uint64_t)info->extents[i].size >> 20);
	fprintf(out, "guest map:     %u runs\n", loc->map.count);
	print_gpa_runs(out, loc->map.runs, loc->map.count);
	fprintf(out, "System RAM:    %u ranges%s\n", info->ram_count,
		info->flags & HW_IF_RAM_TRUNCATED ? " (more not listed)" : "");
	for (i = 0; i < info->ram_count; i++)
		fprintf(out, "  0x%" PRIx64 "-0x%" PRIx64 "\n",
			(uint64_t)info->ram[i].start,
			(uint64_t)(info->ram[i].start + info->ram[i].size));
	print_guest_section(out, info);
	if (!info->have_stats) {
		fprintf(out, "stats:         none published\n");
		return;
	}
	fprintf(out, "stats:\n");
	for (i = 0; i < sizeof(stats_fields) / sizeof(stats_fields[0]); i++) {
		if (unavailable(info, stats_fields[i].unavailable_if)) {
			fprintf(out, "  %-20s -\n", stats_fields[i].name);
			continue;
		}
		fprintf(out, "  %-20s %" PRIu64 "\n", stats_fields[i].name,
			stat_value(&info->stats, stats_fields[i].offset,
				   stats_fields[i].size));
	}
	fprintf(out, "  %-20s %" PRIu64 "\n", "ns_per_proc",
		ns_per(info->stats.last_walk_procs_ns, info->stats.last_procs));
	fprintf(out, "  %-20s %" PRIu64 "\n", "ns_per_vma",
		ns_per(info->stats.last_walk_vmas_ns, info->stats.last_vmas));
}

static struct json_object *json_range(const char *start_key, uint64_t start,
				      uint64_t size)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, start_key, json_hex(start));
	json_object_object_add(o, "size", json_object_new_uint64(size));
	return o;
}

static struct json_object *json_gpa_runs(const struct haywire_run *runs,
					 unsigned int count)
{
	struct json_object *arr = json_object_new_array();
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct json_object *run = json_range("gpa", runs[i].gpa,
						     runs[i].size);

		json_object_object_add(run, "file_offset",
				       json_hex(runs[i].file_offset));
		json_object_array_add(arr, run);
	}
	return arr;
}

static struct json_object *json_stats(const struct haywire_info *info)
{
	struct json_object *o;
	size_t i;

	if (!info->have_stats)
		return NULL;
	o = json_object_new_object();
	/* A field the companion cannot obtain is null, not a false 0. */
	for (i = 0; i < sizeof(stats_fields) / sizeof(stats_fields[0]); i++)
		json_object_object_add(o, stats_fields[i].name,
			unavailable(info, stats_fields[i].unavailable_if) ?
			NULL : json_object_new_uint64(stat_value(&info->stats,
				stats_fields[i].offset, stats_fields[i].size)));
	json_object_object_add(o, "ns_per_proc", json_object_new_uint64(
		ns_per(info->stats.last_walk_procs_ns,
		       info->stats.last_procs)));
	json_object_object_add(o, "ns_per_vma", json_object_new_uint64(
		ns_per(info->stats.last_walk_vmas_ns,
		       info->stats.last_vmas)));
	return o;
}

struct json_object *json_cpu_time(const struct haywire_cpu_time *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "user_ns", json_object_new_uint64(c->user));
	json_object_object_add(o, "nice_ns", json_object_new_uint64(c->nice));
	json_object_object_add(o, "system_ns", json_object_new_uint64(c->system));
	json_object_object_add(o, "idle_ns", json_object_new_uint64(c->idle));
	json_object_object_add(o, "iowait_ns", json_object_new_uint64(c->iowait));
	json_object_object_add(o, "irq_ns", json_object_new_uint64(c->irq));
	json_object_object_add(o, "softirq_ns",
			       json_object_new_uint64(c->softirq));
	json_object_object_add(o, "steal_ns", json_object_new_uint64(c->steal));
	return o;
}

struct json_object *json_guest(const struct haywire_guest *g)
{
	struct json_object *o = json_object_new_object();
	struct json_object *load = json_object_new_array();
	struct json_object *raw = json_object_new_array();
	unsigned int i;

	for (i = 0; i < 3; i++) {
		json_object_array_add(load, json_object_new_double(g->load[i]));
		json_object_array_add(raw, json_object_new_uint64(g->load_raw[i]));
	}
	json_object_object_add(o, "uptime_ns", json_object_new_uint64(g->uptime_ns));
	json_object_object_add(o, "load", load);
	json_object_object_add(o, "load_raw", raw);
	json_object_object_add(o, "nr_running", json_object_new_uint64(g->nr_running));
	json_object_object_add(o, "nr_blocked", json_object_new_uint64(g->nr_blocked));
	json_object_object_add(o, "nr_threads", json_object_new_uint64(g->nr_threads));
	json_object_object_add(o, "nr_cpus", json_object_new_uint64(g->nr_cpus));
	json_object_object_add(o, "nr_possible", json_object_new_uint64(g->nr_possible));
	json_object_object_add(o, "mem_total_kb", json_object_new_uint64(g->mem_total));
	json_object_object_add(o, "mem_free_kb", json_object_new_uint64(g->mem_free));
	json_object_object_add(o, "mem_available_kb",
			       json_object_new_uint64(g->mem_available));
	json_object_object_add(o, "buffers_kb", json_object_new_uint64(g->buffers));
	json_object_object_add(o, "cached_kb", json_object_new_uint64(g->cached));
	json_object_object_add(o, "swap_total_kb",
			       g->flags & HW_GF_NO_SWAP_TOTAL ? NULL :
			       json_object_new_uint64(g->swap_total));
	json_object_object_add(o, "swap_free_kb", json_object_new_uint64(g->swap_free));
	json_object_object_add(o, "shmem_kb", json_object_new_uint64(g->shmem));
	json_object_object_add(o, "slab_kb", json_object_new_uint64(g->slab));
	json_object_object_add(o, "sreclaimable_kb",
			       json_object_new_uint64(g->sreclaimable));
	json_object_object_add(o, "cpu", json_cpu_time(&g->cpu_total));
	return o;
}

struct json_object *json_info(const struct haywire_info *info)
{
	const struct haywire_location *loc = &info->location;
	struct json_object *o = json_object_new_object();
	struct json_object *arr, *disc;
	char version[16];
	unsigned int i;

	snprintf(version, sizeof(version), "%u.%u", info->version_major,
		 info->version_minor);
	json_object_object_add(o, "version", json_object_new_string(version));
	json_object_object_add(o, "kernel_release", json_guest_string(
		info->kernel_release, strlen(info->kernel_release)));
	json_object_object_add(o, "companion", json_object_new_string(
		companion_name(info->companion)));
	json_object_object_add(o, "companion_version",
		info->companion_version[0] ? json_guest_string(
			info->companion_version,
			strnlen(info->companion_version,
				sizeof(info->companion_version))) : NULL);
	json_object_object_add(o, "unavailable",
		json_flags(info->unavailable, unavailable_fields));
	json_object_object_add(o, "arch",
			       json_object_new_string(arch_name(info->arch)));
	json_object_object_add(o, "paging_levels",
			       json_object_new_uint64(info->paging_levels));
	json_object_object_add(o, "page_size",
			       json_object_new_uint64(info->page_size));
	json_object_object_add(o, "nonce", json_hex(info->nonce));
	json_object_object_add(o, "load_real_ns",
			       json_object_new_uint64(info->load_real_ns));
	json_object_object_add(o, "generation",
			       json_object_new_uint64(info->generation));
	json_object_object_add(o, "publish_mono_ns",
			       json_object_new_uint64(info->publish_mono_ns));
	json_object_object_add(o, "publish_boot_ns",
			       json_object_new_uint64(info->publish_boot_ns));
	json_object_object_add(o, "publish_real_ns",
			       json_object_new_uint64(info->publish_real_ns));
	json_object_object_add(o, "age_ms", json_object_new_int64(info->age_ms));
	json_object_object_add(o, "ahead_ms",
			       json_object_new_uint64(info->ahead_ms));
	json_object_object_add(o, "future",
			       json_object_new_boolean(info->future));
	json_object_object_add(o, "live", json_object_new_boolean(info->live));
	json_object_object_add(o, "stale", json_object_new_boolean(info->stale));
	json_object_object_add(o, "stale_confirmed",
			       json_object_new_boolean(info->stale_confirmed));
	json_object_object_add(o, "clock_offset_ms",
			       json_object_new_int64(info->clock_offset_ms));
	json_object_object_add(o, "interval_ms",
			       json_object_new_uint64(info->interval_ms));
	json_object_object_add(o, "flags", json_flags(info->flags,
						      index_flags));
	json_object_object_add(o, "truncated",
			       json_object_new_boolean(info->truncated));
	json_object_object_add(o, "procs", json_object_new_uint64(info->procs));
	json_object_object_add(o, "procs_total",
			       json_object_new_uint64(info->procs_total));
	json_object_object_add(o, "procs_mm_busy",
			       json_object_new_uint64(info->procs_mm_busy));
	json_object_object_add(o, "vmas", json_object_new_uint64(info->vmas));
	json_object_object_add(o, "vmas_total",
			       json_object_new_uint64(info->vmas_total));
	json_object_object_add(o, "string_bytes",
			       json_object_new_uint64(info->string_bytes));
	json_object_object_add(o, "strings_total",
			       json_object_new_uint64(info->strings_total));
	json_object_object_add(o, "index_offset", json_hex(loc->file_offset));
	json_object_object_add(o, "index_gpa", json_hex(loc->gpa));

	disc = json_object_new_object();
	json_object_object_add(disc, "ns", json_object_new_uint64(loc->ns));
	json_object_object_add(disc, "probes",
			       json_object_new_uint64(loc->probes));
	json_object_object_add(disc, "candidates",
			       json_object_new_uint64(loc->candidates));
	json_object_object_add(disc, "busy", json_object_new_uint64(loc->busy));
	json_object_object_add(disc, "invalid",
			       json_object_new_uint64(loc->rejected));
	json_object_object_add(disc, "frozen",
			       json_object_new_uint64(loc->frozen));
	json_object_object_add(disc, "pinned",
			       json_object_new_boolean(loc->pinned));
	json_object_object_add(disc, "hint_used",
			       json_object_new_boolean(loc->hint_used));
	json_object_object_add(o, "discovery", disc);

	json_object_object_add(o, "extent_count",
			       json_object_new_uint64(info->extent_count));
	json_object_object_add(o, "extent_bytes",
			       json_object_new_uint64(extents_bytes(info)));
	arr = json_object_new_array();
	for (i = 0; i < info->extent_count; i++)
		json_object_array_add(arr, json_range("gpa",
			info->extents[i].start, info->extents[i].size));
	json_object_object_add(o, "extents", arr);

	json_object_object_add(o, "gpa_map", json_gpa_runs(loc->map.runs,
							   loc->map.count));

	arr = json_object_new_array();
	for (i = 0; i < info->ram_count; i++)
		json_object_array_add(arr, json_range("start",
			info->ram[i].start, info->ram[i].size));
	json_object_object_add(o, "ram", arr);

	json_object_object_add(o, "stats", json_stats(info));
	json_object_object_add(o, "guest", info->have_guest ?
			       json_guest(&info->guest) : NULL);
	return o;
}

/* ---- translate ------------------------------------------------------- */

static const struct flag_name run_flags[] = {
	{ HAYWIRE_XF_WRITE, "write" },
	{ HAYWIRE_XF_USER, "user" },
	{ HAYWIRE_XF_NX, "nx" },
	{ HAYWIRE_XF_PROTNONE, "protnone" },
	{ 0, NULL },
};

static const char *state_name(enum haywire_page_state state)
{
	switch (state) {
	case HAYWIRE_PAGE_UNMAPPED: return "unmapped";
	case HAYWIRE_PAGE_PRESENT: return "present";
	case HAYWIRE_PAGE_SWAPPED: return "swapped";
	}
	return "unknown";
}

static const char *page_size_name(unsigned int shift)
{
	switch (shift) {
	case 12: return "4K";
	case 21: return "2M";
	case 30: return "1G";
	}
	return "-";
}

/* The file offset of a run in RAM (PROT_NONE included), if all of it is
 * in the file. */
static bool run_file_offset(const struct translate_result *t,
			    const struct haywire_xlate_run *r, uint64_t *off)
{
	return r->state == HAYWIRE_PAGE_PRESENT &&
	       haywire_map_lookup(t->map, r->gpa, r->len, off);
}

void print_translate(FILE *out, const struct translate_result *t)
{
	size_t i;

	fprintf(out, "%-16s %-16s %-8s %-16s %-16s %-4s %s\n", "START", "END",
		"STATE", "GPA", "FILE OFFSET", "PAGE", "FLAGS");
	for (i = 0; i < t->count; i++) {
		const struct haywire_xlate_run *r = &t->runs[i];
		char gpa[24] = "-", file[24] = "-", flags[64];
		uint64_t off;

		if (r->state == HAYWIRE_PAGE_PRESENT)
			snprintf(gpa, sizeof(gpa), "%016" PRIx64, r->gpa);
		if (run_file_offset(t, r, &off))
			snprintf(file, sizeof(file), "%016" PRIx64, off);
		format_flags(flags, sizeof(flags), r->flags, run_flags);
		/* 1.4: a companion that cannot tell (HAYWIRE_XF_UNKNOWN): "-" */
		fprintf(out, "%016" PRIx64 " %016" PRIx64 " %-8s %-16s %-16s %-4s %s\n",
			r->va, r->va + r->len, state_name(r->state), gpa, file,
			r->flags & HAYWIRE_XF_UNKNOWN ? "-" :
			page_size_name(r->page_shift),
			r->state == HAYWIRE_PAGE_PRESENT &&
			!(r->flags & HAYWIRE_XF_UNKNOWN) ? flags : "-");
	}
}

static struct json_object *json_run(const struct translate_result *t,
				    const struct haywire_xlate_run *r)
{
	struct json_object *run = json_object_new_object();
	bool present = r->state == HAYWIRE_PAGE_PRESENT;
	uint64_t off;

	json_object_object_add(run, "va", json_hex(r->va));
	json_object_object_add(run, "end", json_hex(r->va + r->len));
	json_object_object_add(run, "len", json_object_new_uint64(r->len));
	json_object_object_add(run, "state", json_object_new_string(
		state_name(r->state)));
	json_object_object_add(run, "gpa", present ? json_hex(r->gpa) :
			       NULL);
	json_object_object_add(run, "file_offset",
			       run_file_offset(t, r, &off) ?
			       json_hex(off) : NULL);
	json_object_object_add(run, "page_size",
		r->page_shift && !(r->flags & HAYWIRE_XF_UNKNOWN) ?
		json_object_new_uint64(1ULL << r->page_shift) : NULL);
	json_object_object_add(run, "flags", r->flags & HAYWIRE_XF_UNKNOWN ? NULL :
			       json_flags(r->flags, run_flags));
	return run;
}

/* A camera VMA's runs, inside its record (bounded by the section). */
static struct json_object *json_runs(const struct translate_result *t)
{
	struct json_object *arr = json_object_new_array_ext((int)t->count);
	size_t i;

	for (i = 0; i < t->count; i++)
		json_object_array_add(arr, json_run(t, &t->runs[i]));
	return arr;
}

void print_json_translate(FILE *out, const struct translate_result *t)
{
	struct json_object *o = json_object_new_object();
	struct json_doc d;
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(t->source));
	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "via", json_object_new_string(
		t->via_guest ? "guest" : "host"));
	json_object_object_add(o, "addr", json_hex(t->addr));
	json_object_object_add(o, "len", json_object_new_uint64(t->len));
	json_doc_begin(&d, out, o);
	json_list_begin(&d, "runs");
	for (i = 0; i < t->count; i++)
		json_list_add(&d, json_run(t, &t->runs[i]));
	json_list_end(&d);
	json_doc_end(&d);
}

/* ---- read -------------------------------------------------------------- */

void print_hexdump(FILE *out, uint64_t va, const unsigned char *buf,
		   size_t len)
{
	size_t at, i;

	for (at = 0; at < len; at += 16) {
		size_t n = len - at < 16 ? len - at : 16;
		char ascii[17];

		fprintf(out, "%016" PRIx64 " ", va + at);
		for (i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', out);
			if (i < n)
				fprintf(out, " %02x", buf[at + i]);
			else
				fputs("   ", out);
			ascii[i] = i < n && buf[at + i] >= 0x20 &&
				   buf[at + i] < 0x7f ? (char)buf[at + i] : '.';
		}
		ascii[n] = '\0';
		fprintf(out, "  |%s|\n", ascii);
	}
}

struct json_object *json_read(const char *source, int32_t pid, bool via_guest,
			      uint64_t va, const unsigned char *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	struct json_object *o = json_object_new_object();
	char *hex = malloc(len * 2 + 1);
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "via", json_object_new_string(
		via_guest ? "guest" : "host"));
	json_object_object_add(o, "addr", json_hex(va));
	json_object_object_add(o, "len", json_object_new_uint64(len));
	if (hex) {
		for (i = 0; i < len; i++) {
			hex[2 * i] = digits[buf[i] >> 4];
			hex[2 * i + 1] = digits[buf[i] & 15];
		}
		hex[2 * len] = '\0';
	}
	json_object_object_add(o, "hex", hex ?
			       json_object_new_string_len(hex, (int)(2 * len)) :
			       NULL);
	free(hex);
	return o;
}

/* ---- detail ------------------------------------------------------------ */

static const struct flag_name detail_flags[] = {
	{ HW_DF_CMDLINE_TRUNCATED, "cmdline_truncated" },
	{ HW_DF_CWD_UNAVAILABLE, "cwd_unavailable" },
	{ HW_DF_CMDLINE_UNAVAILABLE, "cmdline_unavailable" },
	{ 0, NULL },
};

static const char *policy_name(uint32_t policy)
{
	static const char *const names[] = {
		"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
		"SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE",
	};

	return policy < sizeof(names) / sizeof(names[0]) ? names[policy] :
	       "unknown";
}

void print_detail(FILE *out, const struct haywire_detail *d)
{
	char flags[96];
	size_t i;

	format_flags(flags, sizeof(flags), d->flags, detail_flags);
	fprintf(out, "pid:           %d\n", d->pid);
	fprintf(out, "state:         %c\n", d->state);
	fprintf(out, "cmdline:      ");
	if (d->flags & HW_DF_CMDLINE_UNAVAILABLE)
		fputs(" (unavailable: not readable without waiting)", out);
	/* Arguments separated by spaces, as ps shows them. */
	for (i = 0; i < d->cmdline_len;) {
		size_t n = strnlen(d->cmdline + i, d->cmdline_len - i);

		fputc(' ', out);
		print_guest(out, d->cmdline + i, n);
		i += n + 1;
	}
	fputc('\n', out);
	fprintf(out, "cwd:           ");
	if (d->flags & HW_DF_CWD_UNAVAILABLE)
		fputc('-', out);
	else
		print_guest(out, d->cwd, d->cwd_len);
	fputc('\n', out);
	fprintf(out, "threads:       %u\n", d->threads);
	fprintf(out, "uid:           %u %u %u %u (real, effective, saved, fs)\n",
		d->uid[0], d->uid[1], d->uid[2], d->uid[3]);
	fprintf(out, "gid:           %u %u %u %u\n", d->gid[0], d->gid[1],
		d->gid[2], d->gid[3]);
	fprintf(out, "capabilities:  effective %016" PRIx64 ", permitted %016"
		PRIx64 "\n", d->cap_effective, d->cap_permitted);
	fprintf(out, "cpu time:      user %" PRIu64 ".%06" PRIu64
		" s, system %" PRIu64 ".%06" PRIu64 " s\n",
		d->utime_ns / 1000000000, d->utime_ns / 1000 % 1000000,
		d->stime_ns / 1000000000, d->stime_ns / 1000 % 1000000);
	fprintf(out, "faults:        minor %" PRIu64 ", major %" PRIu64 "\n",
		d->min_flt, d->maj_flt);
	fprintf(out, "switches:      voluntary %" PRIu64 ", involuntary %"
		PRIu64 "\n", d->nvcsw, d->nivcsw);
	fprintf(out, "scheduling:    nice %d, policy %u (%s)\n", d->nice,
		d->policy, policy_name(d->policy));
	fprintf(out, "exit signal:   %u\n", d->exit_signal);
	fprintf(out, "signals:       pending %016" PRIx64 ", shared %016"
		PRIx64 ", blocked %016" PRIx64 ", ignored %016" PRIx64
		", caught %016" PRIx64 "\n", d->sig_pending,
		d->sig_shared_pending, d->sig_blocked, d->sig_ignored,
		d->sig_caught);
	fprintf(out, "flags:         %s\n", flags);
}

struct json_object *json_detail(const struct haywire_detail *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *args = json_object_new_array();
	struct json_object *uid = json_object_new_array();
	struct json_object *gid = json_object_new_array();
	char state[2] = { d->state, '\0' };
	size_t i;

	for (i = 0; i < d->cmdline_len;) {
		size_t n = strnlen(d->cmdline + i, d->cmdline_len - i);

		json_object_array_add(args, json_guest_string(d->cmdline + i,
							      n));
		i += n + 1;
	}
	for (i = 0; i < 4; i++) {
		json_object_array_add(uid, json_object_new_uint64(d->uid[i]));
		json_object_array_add(gid, json_object_new_uint64(d->gid[i]));
	}
	json_object_object_add(o, "pid", json_object_new_int(d->pid));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "cmdline", args);
	json_object_object_add(o, "cwd", d->flags & HW_DF_CWD_UNAVAILABLE ?
			       NULL : json_guest_string(d->cwd, d->cwd_len));
	json_object_object_add(o, "threads", json_object_new_uint64(d->threads));
	json_object_object_add(o, "uid", uid);
	json_object_object_add(o, "gid", gid);
	json_object_object_add(o, "cap_effective", json_hex(d->cap_effective));
	json_object_object_add(o, "cap_permitted", json_hex(d->cap_permitted));
	json_object_object_add(o, "utime_ns", json_object_new_uint64(d->utime_ns));
	json_object_object_add(o, "stime_ns", json_object_new_uint64(d->stime_ns));
	json_object_object_add(o, "min_flt", json_object_new_uint64(d->min_flt));
	json_object_object_add(o, "maj_flt", json_object_new_uint64(d->maj_flt));
	json_object_object_add(o, "nvcsw", json_object_new_uint64(d->nvcsw));
	json_object_object_add(o, "nivcsw", json_object_new_uint64(d->nivcsw));
	json_object_object_add(o, "nice", json_object_new_int(d->nice));
	json_object_object_add(o, "policy", json_object_new_uint64(d->policy));
	json_object_object_add(o, "exit_signal",
			       json_object_new_uint64(d->exit_signal));
	json_object_object_add(o, "sig_pending", json_hex(d->sig_pending));
	json_object_object_add(o, "sig_shared_pending",
			       json_hex(d->sig_shared_pending));
	json_object_object_add(o, "sig_blocked", json_hex(d->sig_blocked));
	json_object_object_add(o, "sig_ignored", json_hex(d->sig_ignored));
	json_object_object_add(o, "sig_caught", json_hex(d->sig_caught));
	json_object_object_add(o, "flags", json_flags(d->flags, detail_flags));
	return o;
}

/* ---- cameras ----------------------------------------------------------- */

static const struct flag_name camera_flags[] = {
	{ HW_CF_ACTIVE, "active" },
	{ HW_CF_NO_PROCESS, "no_process" },
	{ HW_CF_MM_BUSY, "mm_busy" },
	{ HW_CF_TRUNCATED, "truncated" },
	{ HW_CF_BUDGET, "budget" },
	{ 0, NULL },
};

void print_cameras(FILE *out, const struct haywire_cameras *c)
{
	unsigned int i;

	fprintf(out, "%3s %7s %5s %9s %9s %s\n", "CAM", "PID", "VMAS",
		"PRESENT", "SWAPPED", "FLAGS");
	for (i = 0; i < c->count; i++) {
		const struct haywire_camera *cam = &c->cams[i];
		char flags[96];

		if (!(cam->flags & HW_CF_ACTIVE)) {
			fprintf(out, "%3u %7s %5s %9s %9s off\n", i, "-", "-",
				"-", "-");
			continue;
		}
		format_flags(flags, sizeof(flags), cam->flags, camera_flags);
		fprintf(out, "%3u %7d %5u %9" PRIu64 " %9" PRIu64 " %s\n", i,
			cam->pid, cam->vma_count, cam->present_pages,
			cam->swapped_pages, flags);
	}
}

static struct json_object *json_camera_summary(const struct haywire_cameras *c,
					       unsigned int i)
{
	const struct haywire_camera *cam = &c->cams[i];
	struct json_object *o = json_object_new_object();
	bool on = cam->flags & HW_CF_ACTIVE;

	json_object_object_add(o, "camera", json_object_new_uint64(i));
	json_object_object_add(o, "active", json_object_new_boolean(on));
	json_object_object_add(o, "pid", on ? json_object_new_int(cam->pid) :
			       NULL);
	json_object_object_add(o, "flags", json_flags(cam->flags,
						      camera_flags));
	json_object_object_add(o, "vma_count",
			       json_object_new_uint64(cam->vma_count));
	json_object_object_add(o, "present_pages",
			       json_object_new_uint64(cam->present_pages));
	json_object_object_add(o, "swapped_pages",
			       json_object_new_uint64(cam->swapped_pages));
	return o;
}

struct json_object *json_cameras(const struct haywire_cameras *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	unsigned int i;

	json_object_object_add(o, "generation",
			       json_object_new_uint64(c->info.generation));
	for (i = 0; i < c->count; i++)
		json_object_array_add(arr, json_camera_summary(c, i));
	json_object_object_add(o, "cameras", arr);
	return o;
}

void print_camera(FILE *out, const struct haywire_cameras *c)
{
	const struct haywire_camera *cam = &c->cams[c->selected];
	size_t i;

	fprintf(out, "camera %d: pid %d, snapshot generation %" PRIu64 "\n",
		c->selected, cam->pid, c->info.generation);
	fprintf(out, "%-16s %-16s %9s %9s %6s\n", "START", "END", "PRESENT",
		"SWAPPED", "RUNS");
	for (i = 0; i < c->vma_count; i++) {
		const struct haywire_camera_vma *v = &c->vmas[i];

		fprintf(out, "%016" PRIx64 " %016" PRIx64 " %9" PRIu64 " %9"
			PRIu64 " %6zu\n", v->start, v->end, v->present_pages,
			v->swapped_pages, v->run_count);
	}
	fprintf(out, "%-33s %9" PRIu64 " %9" PRIu64 "\n", "total (pages)",
		cam->present_pages, cam->swapped_pages);
}

void print_json_camera(FILE *out, const struct haywire_cameras *c)
{
	struct json_object *o = json_camera_summary(c, (unsigned int)c->selected);
	struct translate_result t = { 0 };
	struct json_doc d;
	size_t i;

	json_object_object_add(o, "generation",
			       json_object_new_uint64(c->info.generation));
	t.map = &c->info.location.map;
	json_doc_begin(&d, out, o);
	json_list_begin(&d, "vmas");
	for (i = 0; i < c->vma_count; i++) {
		const struct haywire_camera_vma *v = &c->vmas[i];
		struct json_object *jv = json_object_new_object();

		json_object_object_add(jv, "start", json_hex(v->start));
		json_object_object_add(jv, "end", json_hex(v->end));
		json_object_object_add(jv, "present_pages",
				       json_object_new_uint64(v->present_pages));
		json_object_object_add(jv, "swapped_pages",
				       json_object_new_uint64(v->swapped_pages));
		/* The runs as translate shows them. */
		t.runs = c->runs + v->run_first;
		t.count = v->run_count;
		json_object_object_add(jv, "runs", json_runs(&t));
		json_list_add(&d, jv);
	}
	json_list_end(&d);
	json_doc_end(&d);
}

/* ---- small answers ------------------------------------------------------ */

struct json_object *json_camera_off(int camera, int32_t pid)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "camera", json_object_new_int(camera));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "active", json_object_new_boolean(false));
	return o;
}

struct json_object *json_generation(uint64_t generation)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "generation",
			       json_object_new_uint64(generation));
	return o;
}

struct json_object *json_ping(const struct haywire_ping *ping,
			      uint64_t round_trip_ns)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "guest_mono_ns",
			       json_object_new_uint64(ping->guest_mono_ns));
	json_object_object_add(o, "generation",
			       json_object_new_uint64(ping->generation));
	json_object_object_add(o, "round_trip_ns",
			       json_object_new_uint64(round_trip_ns));
	return o;
}

/* ---- QEMU's RAM map and the agentless view ---------------------------- */

void print_qemu_ram(FILE *out, const struct haywire_qemu_ram *ram)
{
	unsigned int i;

	fprintf(out, "QEMU RAM:      backend '%s', %" PRIu64 " MiB, %s\n",
		ram->backend, ram->size >> 20,
		*ram->mem_path ? ram->mem_path : "not file-backed");
	fprintf(out, "QEMU pieces:   %u (info mtree -f)\n", ram->count);
	print_gpa_runs(out, ram->runs, ram->count);
	fprintf(out, "QEMU map:      %u runs\n", ram->map.count);
	print_gpa_runs(out, ram->map.runs, ram->map.count);
	for (i = 0; i < ram->other_count; i++) {
		const struct haywire_qemu_backend *o = &ram->other[i];

		fprintf(out, "QEMU backend:  '%s', %" PRIu64 " MiB, %s%s\n",
			o->id, o->size >> 20,
			*o->mem_path ? o->mem_path : "not file-backed",
			!o->count ? ", not mapped" :
			*o->mem_path && o->share ? ", read from its file" :
			", not readable (needs memory-backend-file,share=on)");
		print_gpa_runs(out, o->runs, o->count);
	}
}

void json_add_qemu_ram(struct json_object *o,
		       const struct haywire_qemu_ram *ram)
{
	struct json_object *q = json_object_new_object(), *others;
	unsigned int i;

	json_object_object_add(q, "backend", json_object_new_string(ram->backend));
	json_object_object_add(q, "mem_path", json_object_new_string(ram->mem_path));
	json_object_object_add(q, "size", json_object_new_uint64(ram->size));
	json_object_object_add(q, "pieces", json_gpa_runs(ram->runs, ram->count));
	json_object_object_add(o, "qemu_ram", q);
	json_object_object_add(o, "qemu_map", json_gpa_runs(ram->map.runs,
							ram->map.count));
	others = json_object_new_array();
	for (i = 0; i < ram->other_count; i++) {
		const struct haywire_qemu_backend *b = &ram->other[i];
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "backend",
				       json_object_new_string(b->id));
		json_object_object_add(x, "mem_path",
				       json_object_new_string(b->mem_path));
		json_object_object_add(x, "share",
				       json_object_new_boolean(b->share));
		json_object_object_add(x, "size", json_object_new_uint64(b->size));
		json_object_object_add(x, "runs",
				       json_gpa_runs(b->runs, b->count));
		json_object_array_add(others, x);
	}
	json_object_object_add(o, "qemu_other_backends", others);
}

void print_agentless_info(FILE *out, const char *source,
			  const struct haywire_agentless_info *ai)
{
	fprintf(out, "source:        %s (agentless)\n", source);
	fprintf(out, "kernel:        ");
	print_guest(out, ai->release, strlen(ai->release));
	fprintf(out, " (%s, %u-level paging, %u CPUs)\n",
		ai->arch == HW_ARCH_ARM64 ? "arm64" : "x86-64",
		ai->paging_levels, ai->cpus);
	fprintf(out, "banner:        ");
	print_guest(out, ai->banner, strlen(ai->banner));
	fputc('\n', out);
	fprintf(out, "kernel types:  %s%s\n", ai->btf_kind,
		ai->banner_checked ? ", its banner matches the guest's" : "");
	if (ai->arch == HW_ARCH_ARM64) {
		fprintf(out, "_text:         0x%016" PRIx64 " (kimage_voffset 0x%" PRIx64
			"), physical 0x%" PRIx64 "\n", ai->text_va,
			ai->kaslr_offset, ai->text_pa);
		fprintf(out, "linear map:    0x%016" PRIx64 " (VA - PA)\n",
			ai->page_offset_base);
		fprintf(out, "page tables:   kernel 0x%" PRIx64 " (swapper_pg_dir; QEMU shows no TTBR)\n",
			ai->kernel_root);
		return;
	}
	fprintf(out, "_text:         0x%016" PRIx64 " (KASLR offset 0x%" PRIx64
		"), physical 0x%" PRIx64 "\n", ai->text_va, ai->kaslr_offset,
		ai->text_pa);
	fprintf(out, "direct map:    0x%016" PRIx64 " (page_offset_base)\n",
		ai->page_offset_base);
	fprintf(out, "page tables:   kernel 0x%" PRIx64 ", CR3 0x%" PRIx64 "\n",
		ai->kernel_root, ai->cr3);
}

struct json_object *json_agentless_info(const char *source,
					const struct haywire_agentless_info *ai)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "kernel_release", json_guest_string(
		ai->release, strlen(ai->release)));
	json_object_object_add(o, "banner", json_guest_string(
		ai->banner, strlen(ai->banner)));
	json_object_object_add(o, "arch", json_object_new_string(
		ai->arch == HW_ARCH_ARM64 ? "arm64" : "x86-64"));
	json_object_object_add(o, "paging_levels",
			       json_object_new_uint64(ai->paging_levels));
	json_object_object_add(o, "cpus", json_object_new_uint64(ai->cpus));
	json_object_object_add(o, "btf_kind", json_object_new_string(ai->btf_kind));
	json_object_object_add(o, "banner_checked",
			       json_object_new_boolean(ai->banner_checked));
	json_object_object_add(o, "text_va", json_hex(ai->text_va));
	json_object_object_add(o, "text_pa", json_hex(ai->text_pa));
	json_object_object_add(o, "kaslr_offset", json_hex(ai->kaslr_offset));
	json_object_object_add(o, "page_offset_base",
			       json_hex(ai->page_offset_base));
	json_object_object_add(o, "kernel_root", json_hex(ai->kernel_root));
	json_object_object_add(o, "cr3", json_hex(ai->cr3));
	return o;
}

/* ---- diff ------------------------------------------------------------- */

static void print_diff_side(FILE *out, const char *title,
			    const struct haywire_proc *const *procs, size_t n)
{
	size_t i;

	fprintf(out, "only in %s: %zu\n", title, n);
	for (i = 0; i < n; i++) {
		char comm[GUEST_TEXT_MAX(HW_COMM_LEN)];

		format_guest(comm, sizeof(comm), procs[i]->comm,
			     strnlen(procs[i]->comm, HW_COMM_LEN));
		fprintf(out, "  %7d %7d %5u %c %6" PRIu64 ".%02" PRIu64 " %s\n",
			procs[i]->pid, procs[i]->ppid, procs[i]->uid,
			procs[i]->state, procs[i]->start_time_ns / 1000000000,
			procs[i]->start_time_ns / 10000000 % 100, comm);
	}
}

void print_diff(FILE *out, const struct diff_out *d)
{
	fprintf(out, "beacon:        %zu processes (generation %" PRIu64 ")\n",
		d->beacon_count, d->generation);
	fprintf(out, "agentless:     %zu processes (%s walk)\n",
		d->agentless_count, d->source);
	print_diff_side(out, "the beacon", d->only_beacon, d->n_beacon);
	print_diff_side(out, "the agentless walk", d->only_agentless,
			d->n_agentless);
	fprintf(out, "%s\n", d->n_beacon + d->n_agentless ?
		"the views differ" : "no differences");
}

static void json_proc_list(struct json_doc *d, const char *key,
			   const struct haywire_proc *const *p, size_t n)
{
	size_t i;

	json_list_begin(d, key);
	for (i = 0; i < n; i++)
		json_list_add(d, json_proc(p[i], NULL));
	json_list_end(d);
}

void print_json_diff(FILE *out, const struct diff_out *d)
{
	struct json_object *o = json_object_new_object();
	struct json_doc doc;

	json_object_object_add(o, "source", json_object_new_string(d->source));
	json_object_object_add(o, "generation",
			       json_object_new_uint64(d->generation));
	json_object_object_add(o, "beacon_count",
			       json_object_new_uint64(d->beacon_count));
	json_object_object_add(o, "agentless_count",
			       json_object_new_uint64(d->agentless_count));
	json_object_object_add(o, "differences", json_object_new_uint64(
		d->n_beacon + d->n_agentless));
	json_doc_begin(&doc, out, o);
	json_proc_list(&doc, "only_in_beacon", d->only_beacon, d->n_beacon);
	json_proc_list(&doc, "only_in_agentless", d->only_agentless,
		       d->n_agentless);
	json_doc_end(&doc);
}

/* ---- 1.3: per-CPU times (info) --------------------------------------- */

void print_cpus(FILE *out, const struct haywire_guest_stat *gs)
{
	size_t i;

	fprintf(out, "CPU times, ms:%s\n", gs->cpus_truncated ?
		" (fewer CPUs published than possible)" : "");
	fprintf(out, "  %4s %10s %8s %10s %12s %8s %8s %8s %8s\n", "CPU",
		"user", "nice", "system", "idle", "iowait", "irq", "softirq",
		"steal");
	for (i = 0; i < gs->cpu_count; i++) {
		const struct haywire_cpu_time *c = &gs->cpus[i];

		fprintf(out, "  %4u %10" PRIu64 " %8" PRIu64 " %10" PRIu64
			" %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			" %8" PRIu64 "%s\n", c->cpu, c->user / 1000000,
			c->nice / 1000000, c->system / 1000000,
			c->idle / 1000000, c->iowait / 1000000,
			c->irq / 1000000, c->softirq / 1000000,
			c->steal / 1000000, c->online ? "" : " offline");
	}
}

void json_add_cpus(struct json_object *o, const struct haywire_guest_stat *gs)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < gs->cpu_count; i++) {
		struct json_object *c = json_cpu_time(&gs->cpus[i]);

		json_object_object_add(c, "cpu",
				       json_object_new_uint64(gs->cpus[i].cpu));
		json_object_object_add(c, "online", json_object_new_boolean(
			gs->cpus[i].online));
		json_object_array_add(arr, c);
	}
	json_object_object_add(o, "cpus", arr);
	json_object_object_add(o, "cpus_truncated",
			       json_object_new_boolean(gs->cpus_truncated));
}
