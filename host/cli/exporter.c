// SPDX-License-Identifier: MIT
/*
 * haywire exporter: Prometheus metrics for many guests (docs/monitoring.md
 * lists every metric; the config format is in usage_text of main.c and in
 * that document).
 *
 * One scrape reads every guest once (monitor.c bounds each read), in the
 * order configured, then writes each metric family once with a sample per
 * guest, as the text exposition format requires (a family's samples
 * together, after its # HELP and # TYPE). A guest that cannot be read has
 * haywire_up 0 and haywire_up_reason, and only the metrics that need no
 * snapshot; the others are not affected. Scrapes are served one at a time
 * by libmicrohttpd's single internal thread, so the guests' state (mapped
 * files, %CPU baselines) is never shared between threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cli.h"
#include "libvirt.h"
#include "monitor.h"
#include "output.h"

#define MAX_GUESTS	1024
#define LINE_MAX_LEN	4096

/* ---- a growing text buffer ------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool nomem;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		if (b->nomem)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->nomem = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/*
 * A label value: guest text made safe for a terminal first (format_guest:
 * valid UTF-8 out, controls as \ooo), then the exposition format's escapes
 * (backslash, double quote, newline).
 */
static void sb_label_value(struct sbuf *b, const char *s, size_t len)
{
	char safe[GUEST_TEXT_MAX(HW_RELEASE_LEN > HW_COMM_LEN ?
				 HW_RELEASE_LEN : HW_COMM_LEN)];
	const char *c;

	if (len > HW_RELEASE_LEN)
		len = HW_RELEASE_LEN;
	format_guest(safe, sizeof(safe), s, strnlen(s, len));
	for (c = safe; *c; c++) {
		if (*c == '\\' || *c == '"')
			sb_printf(b, "\\%c", *c);
		else if (*c == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *c);
	}
}

/* ---- configuration --------------------------------------------------- */

/* A guest and where it came from (its %CPU baselines are in g). */
struct watched {
	struct guest g;
	bool from_glob;
	bool alive;		/* still matched by its glob, or running */
	bool from_libvirt;	/* g.name is a libvirt domain's */
	bool from_libvirt_all;	/* found by --libvirt-all */
	struct lv_domain dom;	/* libvirt's answer, kept per domain run */
	enum guest_reason forced; /* not GUEST_OK: not read, this is why */
};

struct exporter {
	char listen[128];
	unsigned int top_n;
	const char *globs[MAX_GUESTS];
	char *glob_store[MAX_GUESTS];
	unsigned int nglobs;
	struct watched *guests[MAX_GUESTS];
	unsigned int nguests;
	uint64_t last_scrape_ns;
	bool libvirt_all;
	bool libvirt_named;	/* some guests are libvirt domains */
	char libvirt_uri[1024];	/* "": libvirt's default */
	struct lv *lv;		/* opened at the first scrape that needs it */
	bool libvirt_down;	/* could not connect (said on stderr) */
};

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > GUEST_NAME_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-.:") == n;
}

static struct watched *find_guest(struct exporter *e, const char *name)
{
	unsigned int i;

	for (i = 0; i < e->nguests; i++)
		if (!strcmp(e->guests[i]->g.name, name))
			return e->guests[i];
	return NULL;
}

/* path NULL: a libvirt domain, whose RAM file libvirt says at scrapes. */
static int add_guest(struct exporter *e, const char *name, const char *path,
		     bool from_glob, char *why, size_t why_len)
{
	struct watched *w;

	if (!valid_name(name)) {
		snprintf(why, why_len, "'%s' is not a vm name (1..%d of A-Z a-z 0-9 _ - . :)",
			 name, GUEST_NAME_MAX);
		return -1;
	}
	if (path && (strlen(path) >= PATH_MAX || !*path)) {
		snprintf(why, why_len, "vm %s: bad RAM file path", name);
		return -1;
	}
	if (find_guest(e, name)) {
		snprintf(why, why_len, "vm %s is named twice", name);
		return -1;
	}
	if (e->nguests == MAX_GUESTS) {
		snprintf(why, why_len, "more than %d guests", MAX_GUESTS);
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	guest_init(&w->g, name, path ? path : "");
	w->g.want_cpus = true;
	w->from_glob = from_glob;
	w->from_libvirt = !path;
	w->dom.id = -1;
	w->alive = true;
	e->guests[e->nguests++] = w;
	return 0;
}

static int add_domain(struct exporter *e, const char *name, char *why,
		      size_t why_len)
{
	if (add_guest(e, name, NULL, false, why, why_len))
		return -1;
	e->libvirt_named = true;
	return 0;
}

static int set_libvirt_uri(struct exporter *e, const char *v, char *why,
			   size_t why_len)
{
	if (strlen(v) >= sizeof(e->libvirt_uri) || !*v) {
		snprintf(why, why_len, "libvirt-uri: bad URI");
		return -1;
	}
	snprintf(e->libvirt_uri, sizeof(e->libvirt_uri), "%s", v);
	return 0;
}

static int add_glob(struct exporter *e, const char *pattern, char *why,
		    size_t why_len)
{
	if (e->nglobs == MAX_GUESTS || !*pattern) {
		snprintf(why, why_len, "bad or too many glob patterns");
		return -1;
	}
	e->glob_store[e->nglobs] = strdup(pattern);
	if (!e->glob_store[e->nglobs]) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	e->globs[e->nglobs] = e->glob_store[e->nglobs];
	e->nglobs++;
	return 0;
}

static int set_listen(struct exporter *e, const char *v, char *why,
		      size_t why_len)
{
	if (strlen(v) >= sizeof(e->listen) || !strrchr(v, ':')) {
		snprintf(why, why_len, "listen takes ADDR:PORT, not '%s'", v);
		return -1;
	}
	snprintf(e->listen, sizeof(e->listen), "%s", v);
	return 0;
}

static int set_top(struct exporter *e, const char *v, char *why,
		   size_t why_len)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || n > EXPORTER_TOP_MAX) {
		snprintf(why, why_len, "top takes a count of 0 .. %d, not '%s'",
			 EXPORTER_TOP_MAX, v);
		return -1;
	}
	e->top_n = (unsigned int)n;
	return 0;
}

/* "NAME=PATH" of --vm. */
static int add_vm_arg(struct exporter *e, const char *arg, char *why,
		      size_t why_len)
{
	const char *eq = strchr(arg, '=');
	char name[GUEST_NAME_MAX + 2];

	if (!eq || (size_t)(eq - arg) > GUEST_NAME_MAX) {
		snprintf(why, why_len, "--vm takes NAME=RAMFILE, not '%s'", arg);
		return -1;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return add_guest(e, name, eq + 1, false, why, why_len);
}

/* One directive of the config file; words split on blanks. */
static int config_line(struct exporter *e, char *line, char *why,
		       size_t why_len)
{
	char *words[4], *save = NULL, *w;
	unsigned int n = 0;

	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == 4) {
			snprintf(why, why_len, "too many words");
			return -1;
		}
		words[n++] = w;
	}
	if (!n)
		return 0;
	if (!strcmp(words[0], "listen") && n == 2)
		return set_listen(e, words[1], why, why_len);
	if (!strcmp(words[0], "vm") && n == 3)
		return add_guest(e, words[1], words[2], false, why, why_len);
	if (!strcmp(words[0], "glob") && n == 2)
		return add_glob(e, words[1], why, why_len);
	if (!strcmp(words[0], "top") && n == 2)
		return set_top(e, words[1], why, why_len);
	if (!strcmp(words[0], "libvirt") && n == 2)
		return add_domain(e, words[1], why, why_len);
	if (!strcmp(words[0], "libvirt-all") && n == 1) {
		e->libvirt_all = true;
		return 0;
	}
	if (!strcmp(words[0], "libvirt-uri") && n == 2)
		return set_libvirt_uri(e, words[1], why, why_len);
	snprintf(why, why_len, "unknown directive or wrong number of words (listen ADDR:PORT, vm NAME PATH, glob PATTERN, top N, libvirt NAME, libvirt-all, libvirt-uri URI)");
	return -1;
}

static int read_config(struct exporter *e, const char *path,
		       struct haywire_error *err)
{
	char line[LINE_MAX_LEN + 2], why[300];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f) {
		err->code = HAYWIRE_E_FILE;
		snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", path,
			 strerror(errno));
		return err->code;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		char *hash = strchr(line, '#');

		lineno++;
		if (len > LINE_MAX_LEN) {
			snprintf(why, sizeof(why), "line longer than %d bytes",
				 LINE_MAX_LEN);
			rc = -1;
			break;
		}
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		rc = config_line(e, line, why, sizeof(why));
	}
	if (!rc && ferror(f)) {
		snprintf(why, sizeof(why), "read error");
		rc = -1;
	}
	fclose(f);
	if (rc) {
		err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg), "%s:%u: %s", path, lineno,
			 why);
		return err->code;
	}
	return 0;
}

/* Drop the guests no glob or libvirt found again. */
static void prune(struct exporter *e)
{
	unsigned int i, j;

	for (i = j = 0; i < e->nguests; i++) {
		if (e->guests[i]->alive) {
			e->guests[j++] = e->guests[i];
		} else {
			guest_close(&e->guests[i]->g);
			free(e->guests[i]);
		}
	}
	e->nguests = j;
}

/* Globs are matched again at every scrape: guests come and go. */
static void refresh_globs(struct exporter *e)
{
	unsigned int i;
	char why[300];

	if (!e->nglobs)
		return;
	for (i = 0; i < e->nguests; i++)
		e->guests[i]->alive = !e->guests[i]->from_glob;
	for (i = 0; i < e->nglobs; i++) {
		glob_t gl;
		size_t k;

		if (glob(e->globs[i], GLOB_NOSORT, NULL, &gl))
			continue;
		for (k = 0; k < gl.gl_pathc; k++) {
			const char *path = gl.gl_pathv[k];
			const char *base = strrchr(path, '/');
			struct watched *w;

			base = base ? base + 1 : path;
			w = find_guest(e, base);
			if (w && w->from_glob && !strcmp(w->g.path, path))
				w->alive = true;
			else if (!w && !add_guest(e, base, path, true, why,
						  sizeof(why)))
				continue;
		}
		globfree(&gl);
	}
	prune(e);
}

/* libvirt: what a domain's state means for its guest. */
static enum guest_reason domain_reason(enum lv_state state)
{
	switch (state) {
	case LV_READABLE:
		return GUEST_OK;
	case LV_NO_DOMAIN:
		return GUEST_NO_DOMAIN;
	case LV_NOT_RUNNING:
		return GUEST_NOT_RUNNING;
	case LV_NOT_SHARED:
		return GUEST_NOT_SHARED;
	default:
		return GUEST_ERROR;
	}
}

/* --libvirt-all: the running domains, as globs find RAM files. */
static void match_running_domains(struct exporter *e)
{
	struct haywire_error err = { 0 };
	unsigned int i, count;
	char **names, why[300];

	if (lv_running(e->lv, &names, &count, &err)) {
		fprintf(stderr, "haywire exporter: %s\n", err.msg);
		return;	/* keep the domains known: they report their state */
	}
	for (i = 0; i < e->nguests; i++)
		if (e->guests[i]->from_libvirt_all)
			e->guests[i]->alive = false;
	for (i = 0; i < count; i++) {
		struct watched *w = find_guest(e, names[i]);

		if (w && w->from_libvirt) {
			w->alive = true;
		} else if (!w && !add_guest(e, names[i], NULL, false, why,
					    sizeof(why))) {
			e->guests[e->nguests - 1]->from_libvirt_all = true;
		} else if (!w || !w->from_libvirt) {
			/* never silently: a name taken, or not a label */
			fprintf(stderr, "haywire exporter: libvirt domain '%s' not watched: %s\n",
				names[i], w ? "a --vm or glob guest has its name" : why);
		}
	}
	lv_names_free(names, count);
	prune(e);
}

/*
 * libvirt domains: where their RAM files are now. QEMU is asked only for
 * a new run of a domain (its id changed); a new file starts the guest
 * over. A domain that cannot be read is reported, not read.
 */
static void refresh_libvirt(struct exporter *e)
{
	struct haywire_error err = { 0 };
	unsigned int i;

	if (!e->libvirt_all && !e->libvirt_named)
		return;
	if (e->lv && !lv_alive(e->lv)) {
		lv_close(e->lv);
		e->lv = NULL;
		/* a restarted libvirt may number domain runs anew: ask again */
		for (i = 0; i < e->nguests; i++)
			e->guests[i]->dom.id = -1;
	}
	if (!e->lv) {
		e->lv = lv_open(*e->libvirt_uri ? e->libvirt_uri : NULL, &err);
		/* said once per outage, not at every scrape */
		if (!e->lv && !e->libvirt_down)
			fprintf(stderr, "haywire exporter: %s\n", err.msg);
		e->libvirt_down = !e->lv;
	}
	if (e->lv && e->libvirt_all)
		match_running_domains(e);
	for (i = 0; i < e->nguests; i++) {
		struct watched *w = e->guests[i];
		enum guest_reason was = w->forced;

		if (!w->from_libvirt)
			continue;
		if (!e->lv) {
			w->dom.state = LV_FAILED;
			w->dom.id = -1;
			snprintf(w->dom.why, sizeof(w->dom.why), "%s", err.msg);
		} else {
			lv_domain_ram(e->lv, w->g.name, w->dom.id, &w->dom);
		}
		w->forced = domain_reason(w->dom.state);
		if (w->forced == GUEST_OK && strcmp(w->g.path, w->dom.path)) {
			char name[sizeof(w->g.name)];

			/* guest_init clears g, name included */
			snprintf(name, sizeof(name), "%s", w->g.name);
			guest_close(&w->g);
			guest_init(&w->g, name, w->dom.path);
			w->g.want_cpus = true;
		}
		if (w->forced != was && w->forced != GUEST_OK)
			fprintf(stderr, "haywire exporter: vm %s: %s\n",
				w->g.name, w->dom.why);
	}
}

/* ---- the metrics ------------------------------------------------------ */

struct scrape {
	struct exporter *e;
	struct guest_view *views;
	struct sbuf out;
};

static void family(struct sbuf *b, const char *name, const char *type,
		   const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct sbuf *b, const char *name, const char *vm,
		       uint64_t v)
{
	sb_printf(b, "%s{vm=\"%s\"} %" PRIu64 "\n", name, vm, v);
}

static void sample_f(struct sbuf *b, const char *name, const char *vm,
		     double v)
{
	sb_printf(b, "%s{vm=\"%s\"} %.9g\n", name, vm, v);
}

/* A per-guest value, for guests with a snapshot (has = false: none). */
typedef double (*value_fn)(const struct guest_view *v, bool *has);

struct scalar {
	const char *name, *type, *help;
	value_fn fn;
	bool integer;
};

#define NS(x) ((double)(x) / 1e9)
#define KB(x) ((double)(x) * 1024.0)

static double v_age(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->info.age_ms / 1e3;
}

static double v_generation(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->procs->info.generation;
}

static double v_interval(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->info.interval_ms / 1e3;
}

static double v_truncated(const struct guest_view *v, bool *has)
{
	(void)has;
	return v->info.truncated || v->procs->info.truncated;
}

static double v_procs(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->procs->info.procs_total;
}

static double v_procs_pub(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->procs->info.procs;
}

static double v_vmas(const struct guest_view *v, bool *has)
{
	(void)has;
	return (double)v->procs->info.vmas_total;
}

static double v_threads(const struct guest_view *v, bool *has)
{
	uint64_t n = 0;
	size_t i;

	(void)has;
	for (i = 0; i < v->procs->count; i++)
		n += v->procs->procs[i].threads;
	return (double)n;
}

#define STAT_FN(fname, expr)						\
static double fname(const struct guest_view *v, bool *has)		\
{									\
	*has = v->info.have_stats;					\
	return (expr);							\
}
STAT_FN(v_refreshes, (double)v->info.stats.refreshes)
STAT_FN(v_refresh_total, NS(v->info.stats.refresh_ns_total))
STAT_FN(v_last_refresh, NS(v->info.stats.last_refresh_ns))
STAT_FN(v_max_refresh, NS(v->info.stats.max_refresh_ns))
STAT_FN(v_truncations, (double)v->info.stats.truncations)
STAT_FN(v_mm_busy, (double)v->info.stats.mm_busy_total)
STAT_FN(v_overruns, (double)v->info.stats.budget_overruns)

#define GUEST_FN(fname, expr)						\
static double fname(const struct guest_view *v, bool *has)		\
{									\
	const struct haywire_guest *gw = &v->procs->info.guest;	\
	*has = v->procs->info.have_guest;				\
	return (expr);							\
}
GUEST_FN(v_uptime, NS(gw->uptime_ns))
GUEST_FN(v_load1, gw->load[0])
GUEST_FN(v_load5, gw->load[1])
GUEST_FN(v_load15, gw->load[2])
GUEST_FN(v_running, (double)gw->nr_running)
GUEST_FN(v_blocked, (double)gw->nr_blocked)
GUEST_FN(v_nthreads, (double)gw->nr_threads)
GUEST_FN(v_cpus, (double)gw->nr_cpus)
GUEST_FN(v_mem_total, KB(gw->mem_total))
GUEST_FN(v_mem_free, KB(gw->mem_free))
GUEST_FN(v_mem_avail, KB(gw->mem_available))
GUEST_FN(v_buffers, KB(gw->buffers))
GUEST_FN(v_cached, KB(gw->cached))
/* A kernel that does not export the swap total: none rather than 0. */
static double v_swap_total(const struct guest_view *v, bool *has)
{
	const struct haywire_guest *gw = &v->procs->info.guest;

	*has = v->procs->info.have_guest &&
	       !(gw->flags & HW_GF_NO_SWAP_TOTAL);
	return KB(gw->swap_total);
}
GUEST_FN(v_swap_free, KB(gw->swap_free))
GUEST_FN(v_shmem, KB(gw->shmem))
GUEST_FN(v_slab, KB(gw->slab))
GUEST_FN(v_sreclaimable, KB(gw->sreclaimable))

static const struct scalar scalars[] = {
	{ "haywire_snapshot_age_seconds", "gauge",
	  "Host time since the guest published the snapshot, by the guest's clock.",
	  v_age, false },
	{ "haywire_snapshot_generation", "gauge",
	  "Generation of the snapshot read (starts again at module load).",
	  v_generation, true },
	{ "haywire_refresh_interval_seconds", "gauge",
	  "The module's snapshot interval.", v_interval, false },
	{ "haywire_snapshot_truncated", "gauge",
	  "1 if the snapshot leaves out processes or VMAs (beacon full or time budget).",
	  v_truncated, true },
	{ "haywire_refreshes_total", "counter",
	  "Snapshots the module published since it was loaded.",
	  v_refreshes, true },
	{ "haywire_refresh_seconds_total", "counter",
	  "Guest CPU time the module spent publishing snapshots since it was loaded.",
	  v_refresh_total, false },
	{ "haywire_last_refresh_seconds", "gauge",
	  "Guest time the last snapshot took to publish.", v_last_refresh,
	  false },
	{ "haywire_max_refresh_seconds", "gauge",
	  "Longest snapshot publication since the module was loaded.",
	  v_max_refresh, false },
	{ "haywire_truncations_total", "counter",
	  "Snapshots published truncated since the module was loaded.",
	  v_truncations, true },
	{ "haywire_mm_busy_total", "counter",
	  "Processes whose memory map was left out because its lock was contended.",
	  v_mm_busy, true },
	{ "haywire_budget_overruns_total", "counter",
	  "Refreshes that ran out of their time budget.", v_overruns, true },
	{ "haywire_processes", "gauge",
	  "Processes in the guest (thread groups, kernel threads included).",
	  v_procs, true },
	{ "haywire_processes_published", "gauge",
	  "Processes the snapshot holds (fewer than haywire_processes when truncated).",
	  v_procs_pub, true },
	{ "haywire_vmas", "gauge", "Memory mappings of all processes.",
	  v_vmas, true },
	{ "haywire_threads", "gauge",
	  "Threads of the processes in the snapshot.", v_threads, true },
	{ "haywire_guest_uptime_seconds", "gauge",
	  "Guest time since boot (CLOCK_BOOTTIME).", v_uptime, false },
	{ "haywire_guest_load1", "gauge", "Guest load average, 1 minute.",
	  v_load1, false },
	{ "haywire_guest_load5", "gauge", "Guest load average, 5 minutes.",
	  v_load5, false },
	{ "haywire_guest_load15", "gauge", "Guest load average, 15 minutes.",
	  v_load15, false },
	{ "haywire_guest_tasks_running", "gauge",
	  "Runnable tasks (procs_running of /proc/stat).", v_running, true },
	{ "haywire_guest_tasks_blocked", "gauge",
	  "Tasks blocked on I/O (procs_blocked of /proc/stat).", v_blocked,
	  true },
	{ "haywire_guest_threads", "gauge", "Threads in the guest.",
	  v_nthreads, true },
	{ "haywire_guest_cpus_online", "gauge", "Online guest CPUs.", v_cpus,
	  true },
	{ "haywire_guest_memory_MemTotal_bytes", "gauge",
	  "MemTotal of the guest's /proc/meminfo.", v_mem_total, true },
	{ "haywire_guest_memory_MemFree_bytes", "gauge",
	  "MemFree of the guest's /proc/meminfo.", v_mem_free, true },
	{ "haywire_guest_memory_MemAvailable_bytes", "gauge",
	  "MemAvailable of the guest's /proc/meminfo.", v_mem_avail, true },
	{ "haywire_guest_memory_Buffers_bytes", "gauge",
	  "Buffers of the guest's /proc/meminfo.", v_buffers, true },
	{ "haywire_guest_memory_Cached_bytes", "gauge",
	  "Cached of the guest's /proc/meminfo.", v_cached, true },
	{ "haywire_guest_memory_SwapTotal_bytes", "gauge",
	  "SwapTotal of the guest's /proc/meminfo.", v_swap_total, true },
	{ "haywire_guest_memory_SwapFree_bytes", "gauge",
	  "SwapFree of the guest's /proc/meminfo.", v_swap_free, true },
	{ "haywire_guest_memory_Shmem_bytes", "gauge",
	  "Shmem of the guest's /proc/meminfo.", v_shmem, true },
	{ "haywire_guest_memory_Slab_bytes", "gauge",
	  "Slab of the guest's /proc/meminfo.", v_slab, true },
	{ "haywire_guest_memory_SReclaimable_bytes", "gauge",
	  "SReclaimable of the guest's /proc/meminfo.", v_sreclaimable, true },
};

static void emit_health(struct scrape *s)
{
	struct sbuf *b = &s->out;
	unsigned int i;

	family(b, "haywire_up", "gauge",
	       "1 if the guest's beacon was read and is fresh, else 0 (see haywire_up_reason).");
	for (i = 0; i < s->e->nguests; i++)
		sample_u64(b, "haywire_up", s->e->guests[i]->g.name,
			   s->views[i].reason == GUEST_OK);
	family(b, "haywire_up_reason", "gauge",
	       "Why haywire_up is what it is: 1 for the one current reason (ok, no_file, no_beacon, gone, busy, stale, invalid, ambiguous, error; libvirt domains also no_domain, not_running, not_shared).");
	for (i = 0; i < s->e->nguests; i++)
		sb_printf(b, "haywire_up_reason{vm=\"%s\",reason=\"%s\"} 1\n",
			  s->e->guests[i]->g.name,
			  guest_reason_name(s->views[i].reason));
	family(b, "haywire_read_seconds", "gauge",
	       "Host time this scrape spent reading the guest.");
	for (i = 0; i < s->e->nguests; i++)
		sample_f(b, "haywire_read_seconds", s->e->guests[i]->g.name,
			 NS(s->views[i].read_ns));
	family(b, "haywire_beacon_info", "gauge",
	       "1, labelled with the guest's kernel release and the beacon's protocol version.");
	for (i = 0; i < s->e->nguests; i++) {
		const struct guest_view *v = &s->views[i];

		if (!v->has_data)
			continue;
		sb_printf(b, "haywire_beacon_info{vm=\"%s\",kernel_release=\"",
			  s->e->guests[i]->g.name);
		sb_label_value(b, v->info.kernel_release,
			       sizeof(v->info.kernel_release));
		sb_printf(b, "\",protocol=\"%u.%u\"} 1\n",
			  v->info.version_major, v->info.version_minor);
	}
}

static void emit_scalars(struct scrape *s)
{
	unsigned int i, k;

	for (k = 0; k < sizeof(scalars) / sizeof(scalars[0]); k++) {
		const struct scalar *m = &scalars[k];
		bool header = false;

		for (i = 0; i < s->e->nguests; i++) {
			const struct guest_view *v = &s->views[i];
			bool has = true;
			double x;

			if (!v->has_data)
				continue;
			x = m->fn(v, &has);
			if (!has)
				continue;
			if (!header)
				family(&s->out, m->name, m->type, m->help);
			header = true;
			if (m->integer)
				sample_u64(&s->out, m->name,
					   s->e->guests[i]->g.name,
					   (uint64_t)x);
			else
				sample_f(&s->out, m->name,
					 s->e->guests[i]->g.name, x);
		}
	}
}

static const struct {
	char letter;
	const char *name;
} states[] = {
	{ 'R', "running" }, { 'S', "sleeping" }, { 'D', "disk_sleep" },
	{ 'T', "stopped" }, { 't', "tracing_stop" }, { 'Z', "zombie" },
	{ 'X', "dead" }, { 'P', "parked" }, { 'I', "idle" },
};
#define NSTATES (sizeof(states) / sizeof(states[0]))

static void emit_states(struct scrape *s)
{
	unsigned int i, k;

	family(&s->out, "haywire_processes_by_state", "gauge",
	       "Processes in the snapshot by state (the letter of /proc/PID/stat).");
	for (i = 0; i < s->e->nguests; i++) {
		const struct guest_view *v = &s->views[i];
		uint64_t n[NSTATES] = { 0 };
		size_t p;

		if (!v->has_data)
			continue;
		for (p = 0; p < v->procs->count; p++)
			for (k = 0; k < NSTATES; k++)
				if (v->procs->procs[p].state == states[k].letter)
					n[k]++;
		for (k = 0; k < NSTATES; k++)
			sb_printf(&s->out,
				  "haywire_processes_by_state{vm=\"%s\",state=\"%s\"} %" PRIu64 "\n",
				  s->e->guests[i]->g.name, states[k].name, n[k]);
	}
}

static void emit_events(struct scrape *s)
{
	unsigned int i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		const char *name = pass ? "haywire_events_lost_total" :
				   "haywire_events_total";
		bool header = false;

		for (i = 0; i < s->e->nguests; i++) {
			const struct guest_view *v = &s->views[i];

			if (!v->has_data || !v->have_events)
				continue;
			if (!header)
				family(&s->out, name, "counter", pass ?
				       "Lifecycle events the guest's ring overwrote before any reader could read them." :
				       "Lifecycle events (fork, exec, exit) the guest wrote since the module was loaded.");
			header = true;
			sample_u64(&s->out, name, s->e->guests[i]->g.name,
				   pass ? v->events_overwritten :
				   v->events_head);
		}
	}
}

static void emit_cpu_times(struct scrape *s)
{
	bool header = false;
	unsigned int i, m;
	size_t c;

	for (i = 0; i < s->e->nguests; i++) {
		const struct haywire_guest_stat *gs = s->views[i].gstat;

		if (!s->views[i].has_data || !gs)
			continue;
		if (!header)
			family(&s->out, "haywire_guest_cpu_seconds_total",
			       "counter",
			       "Guest CPU time per CPU and mode since boot, as /proc/stat.");
		header = true;
		for (c = 0; c < gs->cpu_count; c++)
			for (m = 0; m < CPU_MODES; m++)
				sb_printf(&s->out,
					  "haywire_guest_cpu_seconds_total{vm=\"%s\",cpu=\"%u\",mode=\"%s\"} %.9g\n",
					  s->e->guests[i]->g.name,
					  gs->cpus[c].cpu, cpu_mode_names[m],
					  NS(cpu_mode_ns(&gs->cpus[c], m)));
	}
}

/* The top-N: indexes of the n largest key values (n small: selection). */
static size_t top_indexes(const struct guest_view *v, unsigned int n,
			  bool by_cpu, size_t *out)
{
	size_t count = 0, i, k;

	for (i = 0; i < v->procs->count; i++) {
		double key = by_cpu ? (v->cpu_pct ? v->cpu_pct[i] : 0.0) :
			     (double)v->procs->procs[i].rss_kb;

		for (k = count; k > 0; k--) {
			size_t j = out[k - 1];
			double other = by_cpu ?
				(v->cpu_pct ? v->cpu_pct[j] : 0.0) :
				(double)v->procs->procs[j].rss_kb;

			if (other >= key)
				break;
			if (k < n)
				out[k] = j;
		}
		if (k < n) {
			out[k] = i;
			if (count < n)
				count++;
		}
	}
	return count;
}

static void emit_top_family(struct scrape *s, bool by_cpu)
{
	const char *name = by_cpu ? "haywire_top_process_cpu_ratio" :
			   "haywire_top_process_resident_memory_bytes";
	size_t idx[EXPORTER_TOP_MAX];
	unsigned int i;
	size_t k, n;

	family(&s->out, name, "gauge", by_cpu ?
	       "The top N processes by CPU use between the last two snapshots read (1 = one CPU)." :
	       "The top N processes by resident memory.");
	for (i = 0; i < s->e->nguests; i++) {
		const struct guest_view *v = &s->views[i];

		if (!v->has_data || (by_cpu && !v->cpu_pct))
			continue;
		n = top_indexes(v, s->e->top_n, by_cpu, idx);
		for (k = 0; k < n; k++) {
			const struct haywire_proc *p = &v->procs->procs[idx[k]];

			sb_printf(&s->out, "%s{vm=\"%s\",pid=\"%d\",comm=\"",
				  name, s->e->guests[i]->g.name, p->pid);
			sb_label_value(&s->out, p->comm, HW_COMM_LEN);
			if (by_cpu)
				sb_printf(&s->out, "\"} %.6g\n",
					  v->cpu_pct[idx[k]] / 100.0);
			else
				sb_printf(&s->out, "\"} %" PRIu64 "\n",
					  p->rss_kb * 1024);
		}
	}
}

/* One scrape: read every guest, then write the families. */
static char *scrape(struct exporter *e, size_t *len)
{
	struct scrape s = { .e = e };
	uint64_t t0 = monotonic_ns();
	unsigned int i;

	refresh_globs(e);
	refresh_libvirt(e);
	s.views = calloc(e->nguests ? e->nguests : 1, sizeof(*s.views));
	if (!s.views)
		return NULL;
	for (i = 0; i < e->nguests; i++) {
		struct watched *w = e->guests[i];

		if (w->forced == GUEST_OK) {
			guest_read(&w->g, &s.views[i]);
			continue;
		}
		s.views[i].reason = w->forced;
		snprintf(s.views[i].msg, sizeof(s.views[i].msg), "%s", w->dom.why);
	}
	emit_health(&s);
	emit_scalars(&s);
	emit_states(&s);
	emit_cpu_times(&s);
	emit_events(&s);
	if (e->top_n) {
		emit_top_family(&s, true);
		emit_top_family(&s, false);
	}
	for (i = 0; i < e->nguests; i++)
		guest_view_free(&s.views[i]);
	free(s.views);
	family(&s.out, "haywire_exporter_scrape_seconds", "gauge",
	       "Time this scrape took up to this line, all guests together (the only metric without a vm label).");
	sb_printf(&s.out, "haywire_exporter_scrape_seconds %.9g\n",
		  NS(monotonic_ns() - t0));
	family(&s.out, "haywire_exporter_guests", "gauge",
	       "Guests configured or matched by the globs (no vm label).");
	sb_printf(&s.out, "haywire_exporter_guests %u\n", e->nguests);
	if (s.out.nomem) {
		free(s.out.p);
		return NULL;
	}
	*len = s.out.len;
	return s.out.p;
}

/* ---- HTTP ------------------------------------------------------------- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static const char index_page[] =
		"<html><head><title>haywire exporter</title></head><body>"
		"<p><a href=\"/metrics\">/metrics</a></p></body></html>\n";
	static const char not_found[] = "not found: try /metrics\n";
	static const char failed[] = "out of memory\n";
	struct exporter *e = cls;
	struct MHD_Response *r;
	unsigned int status = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;

	(void)version; (void)upload_data; (void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	*upload_data_size = 0;
	if (!strcmp(url, "/metrics")) {
		body = scrape(e, &len);
		if (!body)
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else if (!strcmp(url, "/")) {
		type = "text/html; charset=utf-8";
	} else {
		status = MHD_HTTP_NOT_FOUND;
	}
	if (body)
		r = MHD_create_response_from_buffer(len, body,
						    MHD_RESPMEM_MUST_FREE);
	else if (status == MHD_HTTP_OK)
		r = MHD_create_response_from_buffer(sizeof(index_page) - 1,
						    (void *)index_page,
						    MHD_RESPMEM_PERSISTENT);
	else if (status == MHD_HTTP_NOT_FOUND)
		r = MHD_create_response_from_buffer(sizeof(not_found) - 1,
						    (void *)not_found,
						    MHD_RESPMEM_PERSISTENT);
	else
		r = MHD_create_response_from_buffer(sizeof(failed) - 1,
						    (void *)failed,
						    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ADDR:PORT, ADDR numeric (IPv4, or IPv6 in brackets). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss,
			bool *v6, struct haywire_error *err)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	size_t hlen;

	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host))
		goto bad;
	hlen = (size_t)(colon - spec);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai)
		goto bad;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
bad:
	err->code = HAYWIRE_E_INVALID;
	snprintf(err->msg, sizeof(err->msg),
		 "listen takes a numeric ADDR:PORT (e.g. 127.0.0.1:9847 or [::1]:9847), not '%s'",
		 spec);
	return err->code;
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int serve(struct exporter *e, struct haywire_error *err)
{
	struct sockaddr_storage ss = { 0 };
	struct MHD_Daemon *d;
	struct sigaction sa = { .sa_handler = on_stop };
	bool v6 = false;
	int rc = parse_listen(e->listen, &ss, &v6, err);

	if (rc)
		return rc;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0,
			     NULL, NULL, answer, e,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
			     MHD_OPTION_END);
	if (!d) {
		err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg),
			 "cannot listen on %s (in use, or not an address of this host)",
			 e->listen);
		return err->code;
	}
	fprintf(stderr, "haywire exporter: %u guest%s%s, listening on http://%s/metrics\n",
		e->nguests, e->nguests == 1 ? "" : "s",
		e->nglobs ? " (and globs)" : "", e->listen);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop_signal)
		pause();
	MHD_stop_daemon(d);
	return 0;
}

int cmd_exporter(struct cli *cli, char **argv, struct haywire_error *err)
{
	const struct exporter_args *a = &cli->exporter;
	struct exporter *e;
	unsigned int i;
	char why[300];
	int rc = 0;

	(void)argv;
	e = calloc(1, sizeof(*e));
	if (!e) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return err->code;
	}
	snprintf(e->listen, sizeof(e->listen), "%s", EXPORTER_LISTEN);
	if (a->config)
		rc = read_config(e, a->config, err);
	/* The command line adds to (and for listen, top, overrides) it. */
	for (i = 0; !rc && i < a->nvms; i++)
		if (add_vm_arg(e, a->vms[i], why, sizeof(why)))
			rc = HAYWIRE_E_INVALID;
	for (i = 0; !rc && i < a->nglobs; i++)
		if (add_glob(e, a->globs[i], why, sizeof(why)))
			rc = HAYWIRE_E_INVALID;
	for (i = 0; !rc && i < a->ndomains; i++)
		if (add_domain(e, a->domains[i], why, sizeof(why)))
			rc = HAYWIRE_E_INVALID;
	if (a->libvirt_all)
		e->libvirt_all = true;
	if (!rc && cli->libvirt_uri &&
	    set_libvirt_uri(e, cli->libvirt_uri, why, sizeof(why)))
		rc = HAYWIRE_E_INVALID;
	if (!rc && (e->libvirt_all || e->libvirt_named) && !lv_supported()) {
		rc = HAYWIRE_E_INVALID;
		snprintf(why, sizeof(why),
			 "this haywire was built without libvirt (make LIBVIRT=0): no --libvirt, --libvirt-all or libvirt directives");
	}
	if (!rc && a->listen && set_listen(e, a->listen, why, sizeof(why)))
		rc = HAYWIRE_E_INVALID;
	if (!rc && a->top && set_top(e, a->top, why, sizeof(why)))
		rc = HAYWIRE_E_INVALID;
	if (rc == HAYWIRE_E_INVALID && !err->code) {
		err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg), "%s", why);
	}
	if (!rc && !e->nguests && !e->nglobs && !e->libvirt_all) {
		rc = err->code = HAYWIRE_E_INVALID;
		snprintf(err->msg, sizeof(err->msg),
			 "no guests to watch: give --vm NAME=RAMFILE, --glob PATTERN, --libvirt NAME, --libvirt-all or --config FILE");
	}
	if (!rc && a->scrapes) {
		size_t len;
		char *text;

		for (i = 0; i < a->scrapes; i++) {
			text = scrape(e, &len);
			if (!text) {
				rc = err->code = HAYWIRE_E_NOMEM;
				snprintf(err->msg, sizeof(err->msg), "out of memory");
				break;
			}
			if (i + 1 == a->scrapes)
				fwrite(text, 1, len, stdout);
			free(text);
		}
	} else if (!rc) {
		rc = serve(e, err);
	}
	for (i = 0; i < e->nguests; i++) {
		guest_close(&e->guests[i]->g);
		free(e->guests[i]);
	}
	for (i = 0; i < e->nglobs; i++)
		free(e->glob_store[i]);
	lv_close(e->lv);
	free(e);
	return rc;
}
