// SPDX-License-Identifier: MIT
/*
 * haywire: see inside a running guest from its RAM file.
 *
 * Every failure is one line on stderr and an exit code from the table in
 * usage_text. Warnings (stale or truncated snapshot) are printed only when
 * the command succeeds, before its output.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "libvirt.h"
#include "output.h"

static const char usage_text[] =
	"usage: haywire [--mem FILE | --domain NAME] [--source SOURCE]\n"
	"               [--qmp SOCKET] [--json] COMMAND [ARGS]\n"
	"\n"
	"See inside a running QEMU guest: read the Haywire beacon that the haywire\n"
	"kernel module publishes in guest RAM, straight from the RAM file QEMU\n"
	"shares (-object memory-backend-file,share=on,mem-path=FILE), ask the\n"
	"module questions through the beacon's request rings, or walk the guest\n"
	"kernel's own structures without any guest companion (agentless).\n"
	"\n"
	"commands (every source):\n"
	"  info       the beacon (version, kernel, snapshot age, counts, where it\n"
	"             was found, the guest-physical map, the module's stats);\n"
	"             agentless: the kernel that was found\n"
	"  ps         the guest's processes, with CPU TIME and %CPU as ps shows\n"
	"             them; --containers adds CGROUP, PIDNS and NSPID\n"
	"  maps PID   the memory map of process PID, as /proc/PID/maps\n"
	"  translate PID VADDR [LEN]\n"
	"             where [VADDR, VADDR + LEN) of process PID lives: runs of\n"
	"             virtual -> guest-physical -> RAM file offset (LEN: one page)\n"
	"  read PID VADDR LEN [-o FILE]\n"
	"             process memory as a hex dump, or raw into FILE (- for stdout)\n"
	"\n"
	"commands that compare the beacon with an agentless walk (--qmp needed):\n"
	"  diff       processes seen by one view only (--source memfile, the\n"
	"             default, or qmp for the walk)\n"
	"  bench PID VADDR\n"
	"             time ps, maps PID, translate of 64 MiB at VADDR and a 1 MiB\n"
	"             read at VADDR through each source\n"
	"\n"
	"commands for the module (beacon source; all but the first camera form\n"
	"write the RAM file's request page):\n"
	"  camera     the cameras and what they watch\n"
	"  camera PID       turn a camera on for PID (unless one watches it),\n"
	"                   then show its page-table state per VMA\n"
	"  camera --off PID turn off the camera watching PID\n"
	"  refresh    publish a snapshot now; prints its generation\n"
	"  detail PID process details: command line, directory, ids, times,\n"
	"             faults, signals\n"
	"  ping       round trip to the guest\n"
	"  events     lifecycle events (fork, exec, exit), one a line (JSON\n"
	"             lines with --json), from now or --from N|oldest; with\n"
	"             --follow until interrupted; gaps said as \"lost N events\"\n"
	"  translate and read with --via-guest also ask the module\n"
	"\n"
	"commands for monitoring (beacon source; --mem is the guest for top,\n"
	"--vm, --glob, --libvirt, --libvirt-all or --config the guests for\n"
	"exporter):\n"
	"  top        a live view of the guest, as top: header (uptime, load,\n"
	"             tasks, CPU, memory) and processes by %CPU, updated every\n"
	"             snapshot interval; keys q quit, P %CPU, M memory, N PID,\n"
	"             T CPU time (no kill: the host does not signal guest\n"
	"             processes). -d SECONDS the delay, -b batch mode to stdout,\n"
	"             -n N stop after N updates\n"
	"  exporter   Prometheus metrics of many guests on http://ADDR:PORT/metrics\n"
	"             (see docs/monitoring.md). No --mem: the guests come from\n"
	"             --vm NAME=RAMFILE (repeat it), --glob PATTERN (RAM files,\n"
	"             vm label = the file's name), --libvirt NAME (a libvirt\n"
	"             domain, repeat it), --libvirt-all (every running domain:\n"
	"             those not readable show haywire_up 0 with the reason),\n"
	"             --config FILE; --listen\n"
	"             ADDR:PORT (default 127.0.0.1:9847, loopback), --top N\n"
	"             (0 .. 50, default 0: the top N processes by CPU and by\n"
	"             memory per guest), --scrapes N (print the last of N\n"
	"             scrapes to stdout instead of serving HTTP).\n"
	"             The config file has one directive per line, words\n"
	"             separated by blanks, '#' starts a comment:\n"
	"               listen ADDR:PORT    numeric IPv4, or IPv6 in brackets\n"
	"               vm NAME PATH        a guest's RAM file; NAME: 1..64 of\n"
	"                                   A-Z a-z 0-9 _ - . :\n"
	"               glob PATTERN        RAM files, matched at every scrape\n"
	"               top N               as --top\n"
	"               libvirt NAME        a libvirt domain, vm label = NAME\n"
	"               libvirt-all         every running libvirt domain\n"
	"               libvirt-uri URI     as --libvirt-uri\n"
	"             The command line adds guests to the file's; its --listen\n"
	"             and --top win.\n"
	"\n"
	"VADDR is hexadecimal (0x optional); LEN is decimal or 0x hexadecimal,\n"
	"with an optional K, M or G suffix.\n"
	"\n"
	"sources (--source):\n"
	"  beacon    the module's snapshots in the RAM file (the default)\n"
	"  memfile   agentless: kernel structures read from the RAM file; QMP\n"
	"            gives the CPU registers and the memory map\n"
	"  qmp       agentless: every guest memory read through QMP\n"
	"\n"
	"options (also after the command):\n"
	"  --mem FILE          the guest's RAM file (default: $HAYWIRE_MEM)\n"
	"  --domain NAME       the libvirt domain NAME's RAM file, asked of its\n"
	"                      QEMU through libvirt; refused unless its memory\n"
	"                      is file-backed and shared (see docs/monitoring.md)\n"
	"  --libvirt-uri URI   the libvirt to ask for --domain and exporter's\n"
	"                      --libvirt (default: libvirt's own,\n"
	"                      $LIBVIRT_DEFAULT_URI)\n"
	"  --source SOURCE     beacon, memfile or qmp (default: $HAYWIRE_SOURCE,\n"
	"                      else beacon)\n"
	"  --qmp SOCKET        QEMU's QMP monitor: a unix socket path, unix:PATH\n"
	"                      or tcp:HOST:PORT (default: $HAYWIRE_QMP); with the\n"
	"                      beacon, its memory map is checked against QEMU's\n"
	"  --qmp-timeout MS    limit for every QMP step (default 10000)\n"
	"  --btf FILE          the guest kernel's BTF: a copy of its\n"
	"                      /sys/kernel/btf/vmlinux, its vmlinux or its vmlinuz\n"
	"                      (default: $HAYWIRE_BTF)\n"
	"  --system-map FILE   its System.map, or a copy of its /proc/kallsyms\n"
	"                      read as root (default: $HAYWIRE_SYSTEM_MAP)\n"
	"  --json              print JSON\n"
	"  --via-guest         translate and read through the module, not the page\n"
	"                      tables in the RAM file (read needs allow_read=1)\n"
	"  --timeout MS        the longest a request to the module may take, all\n"
	"                      parts of its answer together (default 5000)\n"
	"  -o FILE             read: write the raw bytes to FILE (- for stdout)\n"
	"  --runs N            bench: repetitions per figure (default 5)\n"
	"  -d SECONDS          top: the delay between updates, 0.1 .. 3600\n"
	"                      (default: the module's snapshot interval)\n"
	"  -b                  top: batch mode, the screens one after the other\n"
	"                      on stdout\n"
	"  -n N                top: stop after N updates\n"
	"  --containers        ps: the cgroup, PID namespace and pid inside it\n"
	"  --follow            events: keep reading until SIGINT\n"
	"  --from N            events: from event N, oldest, or now (default)\n"
	"  --no-hint           neither use nor update the cached index location\n"
	"  --index-gpa GPA     take only the beacon index at guest-physical GPA\n"
	"                      (hexadecimal), when several validate (default:\n"
	"                      $HAYWIRE_INDEX_GPA)\n"
	"  --help              this text\n"
	"  --version           print the version\n"
	"\n"
	"exit status: 0 ok, 1 error, 2 usage, 3 no beacon (module not loaded or\n"
	"unloaded), 4 busy (try again; also a full request ring or a timeout),\n"
	"5 no such process, 6 refused by the guest, 7 address not mapped,\n"
	"8 diff found differences, 9 several beacons validate (a guest user may\n"
	"have forged one): pick the kernel's with --index-gpa\n";

#define MAX_WARNINGS 4
static char warnings[MAX_WARNINGS][HAYWIRE_MSG_MAX];
static unsigned int nwarnings;

void warn(const char *fmt, ...)
{
	va_list ap;

	if (nwarnings == MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(warnings[nwarnings++], HAYWIRE_MSG_MAX, fmt, ap);
	va_end(ap);
}

void print_warnings(void)
{
	unsigned int i;

	/* Warnings and errors may quote guest strings: escaped as output. */
	for (i = 0; i < nwarnings; i++) {
		fputs("haywire: warning: ", stderr);
		print_guest(stderr, warnings[i], strlen(warnings[i]));
		fputc('\n', stderr);
	}
	nwarnings = 0;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("haywire: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see haywire --help)\n", stderr);
	return EXIT_USAGE;
}

static int fail(const struct haywire_error *err)
{
	fputs("haywire: ", stderr);
	print_guest(stderr, err->msg, strnlen(err->msg, sizeof(err->msg)));
	if (err->code == HAYWIRE_E_AMBIGUOUS)
		fputs(" with --index-gpa GPA (or HAYWIRE_INDEX_GPA)", stderr);
	fputc('\n', stderr);
	switch (err->code) {
	case HAYWIRE_E_AMBIGUOUS:
		return EXIT_AMBIGUOUS;
	case HAYWIRE_E_NO_BEACON:
	case HAYWIRE_E_GONE:
		return EXIT_NO_BEACON;
	case HAYWIRE_E_BUSY:
	case HAYWIRE_E_FULL:
	case HAYWIRE_E_TIMEOUT:
		return EXIT_BUSY;
	case HAYWIRE_E_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case HAYWIRE_E_REFUSED:
		return EXIT_REFUSED;
	case HAYWIRE_E_UNMAPPED:
		return EXIT_UNMAPPED;
	default:
		return EXIT_ERROR;
	}
}

/* An error of the command itself, in the library's form. */
__attribute__((format(printf, 3, 4)))
static int cli_error(struct haywire_error *err, enum haywire_code code,
		     const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Pages with the magic that discovery did not take: never silently. */
static void warn_discovery(const struct haywire_location *loc)
{
	if (loc->busy || loc->rejected)
		warn("%u other page%s carr%s the beacon magic but %s: ignored (a guest user can write such pages)",
		     loc->busy + loc->rejected,
		     loc->busy + loc->rejected == 1 ? "" : "s",
		     loc->busy + loc->rejected == 1 ? "ies" : "y",
		     !loc->rejected ? "never became readable during discovery" :
		     !loc->busy ? "fail validation" :
		     "never became readable or fail validation");
	if (loc->frozen)
		warn("%u other valid beacon index%s did not change while this one was alive: ignored (left by an earlier boot of the guest, or a forgery; --index-gpa pins one)",
		     loc->frozen, loc->frozen == 1 ? "" : "es");
}

static void warn_snapshot(struct haywire_beacon *b, struct haywire_info *info,
			  bool counts)
{
	struct haywire_error ignored;

	/* An apparent age can be the guest's clock being off, and a time in
	 * the future is not to be trusted: look for a new generation. */
	if (info->stale || info->future)
		haywire_confirm_stale(b, info, &ignored);
	if (info->future && !info->live)
		warn("the snapshot's timestamp is %" PRIu64 ".%01" PRIu64
		     " s in the future by the host's clock (the guest's clock is ahead, or the timestamp is false): %s",
		     info->ahead_ms / 1000, info->ahead_ms % 1000 / 100,
		     info->stale_confirmed ?
		     "its generation did not change in two refresh intervals, so the snapshot may be stale" :
		     "its freshness is unknown");
	else if (info->stale_confirmed)
		warn("the snapshot is stale: generation %" PRIu64
		     " did not change in two refresh intervals (%u ms each); published %" PRId64
		     ".%01" PRId64 " s ago by the guest's clock (is the guest paused, or the module stalled?)",
		     info->generation, info->interval_ms,
		     info->age_ms / 1000, info->age_ms % 1000 / 100);
	else if (info->stale)
		warn("the snapshot may be stale: published %" PRId64 ".%01" PRId64
		     " s ago by the guest's clock, with a %u ms refresh interval (is the guest paused, or the module stalled?)",
		     info->age_ms / 1000, info->age_ms % 1000 / 100,
		     info->interval_ms);
	if (counts && info->truncated)
		warn("the snapshot is truncated: %" PRIu64 " of %" PRIu64
		     " processes and %" PRIu64 " of %" PRIu64
		     " VMAs published", info->procs, info->procs_total,
		     info->vmas, info->vmas_total);
}

/* Beacon snapshots get the freshness warnings, agentless walks a note. */
static void warn_view(struct haywire_source *src, struct haywire_info *info,
		      bool counts)
{
	if (haywire_source_beacon(src))
		warn_snapshot(haywire_source_beacon(src), info, counts);
	else if (*info->note)
		warn("%s", info->note);
}

static void print_json_with_source(struct json_object *obj,
				   struct haywire_source *src)
{
	json_object_object_add(obj, "source", json_object_new_string(
		haywire_source_name(haywire_source_kind(src))));
	print_json(stdout, obj);
}

/* What a command gets: the open source, its arguments, the options. */
struct ctx {
	struct cli *cli;
	struct haywire_source *src;
	struct haywire_beacon *b;	/* the beacon source's, else NULL */
	struct haywire_client *client;	/* opened on first use */
	int32_t pid;
	uint64_t va, len;
};

/* --timeout bounds the command's requests together (camera asks twice). */
static int get_client(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_client_opts opts = { .timeout_ms = ctx->cli->timeout_ms };
	unsigned int ms = opts.timeout_ms ? opts.timeout_ms : 5000;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	opts.end_ns = (uint64_t)now.tv_sec * 1000000000ULL +
		      (uint64_t)now.tv_nsec + ms * 1000000ULL;

	if (!ctx->client)
		ctx->client = haywire_client_open(ctx->b, &opts, err);
	return ctx->client ? 0 : err->code;
}

static const char *source_name(const struct ctx *ctx)
{
	return haywire_source_name(haywire_source_kind(ctx->src));
}

struct command {
	const char *name;
	int min_args, max_args;
	const char *args_help;	/* for "'NAME' takes ..." */
	bool address;		/* PID VADDR [LEN] */
	bool via_guest;		/* --via-guest applies */
	bool module;		/* asks the module: beacon source only */
	/* with an open source, or NULL: the command opens its own */
	int (*run)(struct ctx *ctx, struct haywire_error *err);
	int (*run_alone)(struct cli *cli, char **argv,
			 struct haywire_error *err);
};

static int cmd_info(struct ctx *ctx, struct haywire_error *err)
{
	const struct haywire_qemu_ram *ram = haywire_source_qemu_ram(ctx->src);
	const char *name = source_name(ctx);
	struct haywire_guest_stat *gs = NULL;
	struct haywire_info info;
	struct json_object *obj;
	int rc;

	if (!ctx->b) {
		const struct haywire_agentless_info *ai =
			haywire_agentless_info(haywire_source_agentless(ctx->src));

		print_warnings();
		if (ctx->cli->json) {
			obj = json_agentless_info(name, ai);
			json_add_qemu_ram(obj, ram);
			print_json(stdout, obj);
		} else {
			print_agentless_info(stdout, name, ai);
			print_qemu_ram(stdout, ram);
		}
		return 0;
	}
	rc = haywire_read_info(ctx->b, &info, err);
	if (rc)
		return rc;
	/* 1.3: the per-CPU times too (a later snapshot: best effort) */
	if (info.have_guest && haywire_read_guest(ctx->b, &gs, err)) {
		warn("per-CPU times not shown: %s", err->msg);
		gs = NULL;
	}
	warn_snapshot(ctx->b, &info, true);
	print_warnings();
	if (ctx->cli->json) {
		obj = json_info(&info);
		if (gs)
			json_add_cpus(obj, gs);
		if (ram)
			json_add_qemu_ram(obj, ram);
		print_json_with_source(obj, ctx->src);
	} else {
		print_info(stdout, &info);
		if (gs)
			print_cpus(stdout, gs);
		if (ram) {
			print_qemu_ram(stdout, ram);
			fprintf(stdout, "map check:     QEMU's map and the beacon's agree\n");
		}
	}
	haywire_guest_stat_free(gs);
	return 0;
}

static int cmd_ps(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_procs *procs;
	int rc = haywire_source_procs(ctx->src, &procs, err);

	if (rc)
		return rc;
	warn_view(ctx->src, &procs->info, true);
	print_warnings();
	if (ctx->cli->json)
		print_json_ps(stdout, procs, source_name(ctx));
	else
		print_ps(stdout, procs, ctx->cli->containers);
	haywire_procs_free(procs);
	return 0;
}

static int cmd_maps(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_maps *maps;
	int rc = haywire_source_maps(ctx->src, ctx->pid, &maps,
				     err);

	if (rc)
		return rc;
	warn_view(ctx->src, &maps->info, false);
	if (maps->proc.flags & HW_PF_VMAS_TRUNCATED)
		warn("process %d: only %u of its %u VMAs are in the snapshot (%s)",
		     maps->proc.pid, maps->proc.vma_count,
		     maps->proc.vma_total,
		     maps->proc.flags & HW_PF_BUDGET_CUT ?
		     "the guest's time budget ran out inside them" :
		     "the beacon is full, its mmap_lock was contended, or the map changed while it was walked");
	print_warnings();
	if (ctx->cli->json)
		print_json_maps(stdout, maps, source_name(ctx));
	else
		print_maps(stdout, maps);
	haywire_maps_free(maps);
	return 0;
}

/* translate collects the runs before printing anything, with a cap: a
 * range of alternating pages could make any number of them. */
#define MAX_RUNS (1U << 20)

struct run_list {
	struct haywire_xlate_run *runs;
	size_t count, cap;
	bool too_many, nomem;
};

static int collect_run(void *arg, const struct haywire_xlate_run *run)
{
	struct run_list *l = arg;

	if (l->count == MAX_RUNS) {
		l->too_many = true;
		return 1;
	}
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct haywire_xlate_run *p = realloc(l->runs,
						      cap * sizeof(*p));

		if (!p) {
			l->nomem = true;
			return 1;
		}
		l->runs = p;
		l->cap = cap;
	}
	l->runs[l->count++] = *run;
	return 0;
}

static int cmd_translate(struct ctx *ctx, struct haywire_error *err)
{
	struct run_list list = { 0 };
	struct translate_result t;
	int rc;

	if (ctx->cli->via_guest) {
		rc = get_client(ctx, err);
		if (!rc)
			rc = haywire_guest_translate(ctx->client, ctx->pid,
						     ctx->va, ctx->len,
						     collect_run, &list, err);
	} else {
		rc = haywire_source_translate(ctx->src, ctx->pid, ctx->va,
					      ctx->len, collect_run, &list,
					      err);
	}
	if (list.too_many)
		rc = cli_error(err, HAYWIRE_E_INVALID,
			       "the range has more than %u runs: translate a smaller range",
			       MAX_RUNS);
	else if (list.nomem)
		rc = cli_error(err, HAYWIRE_E_NOMEM, "out of memory");
	if (!rc) {
		t = (struct translate_result){
			.source = source_name(ctx), .pid = ctx->pid,
			.via_guest = ctx->cli->via_guest,
			.addr = ctx->va, .len = ctx->len, .runs = list.runs,
			.count = list.count,
			.map = haywire_source_map(ctx->src),
		};
		print_warnings();
		if (ctx->cli->json)
			print_json_translate(stdout, &t);
		else
			print_translate(stdout, &t);
	}
	free(list.runs);
	return rc;
}

/* read goes in pieces, so that any length streams in bounded memory. */
#define READ_PIECE	(1U << 20)
#define JSON_READ_MAX	(16U << 20)

static int read_piece(struct ctx *ctx, uint64_t va, unsigned char *buf,
		      size_t len, struct haywire_error *err)
{
	int rc;

	if (!ctx->cli->via_guest)
		return haywire_source_read(ctx->src, ctx->pid, va, buf, len,
					   err);
	rc = get_client(ctx, err);
	return rc ? rc : haywire_guest_read(ctx->client, ctx->pid, va, buf,
					    len, err);
}

static bool write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static int cmd_read(struct ctx *ctx, struct haywire_error *err)
{
	bool raw = ctx->cli->out_path != NULL;
	bool to_file = raw && strcmp(ctx->cli->out_path, "-") != 0;
	size_t piece = ctx->cli->json ? (size_t)ctx->len : READ_PIECE;
	unsigned char *buf;
	uint64_t done = 0;
	int fd = STDOUT_FILENO, rc = 0;

	if (piece > ctx->len)
		piece = (size_t)ctx->len;
	buf = malloc(piece);
	if (!buf)
		return cli_error(err, HAYWIRE_E_NOMEM, "out of memory");
	/* Nothing is written before the first piece has been read. */
	while (done < ctx->len) {
		size_t n = ctx->len - done < piece ? ctx->len - done : piece;

		rc = read_piece(ctx, ctx->va + done, buf, n, err);
		if (rc)
			break;
		if (done == 0 && to_file) {
			fd = open(ctx->cli->out_path, O_WRONLY | O_CREAT | O_TRUNC |
				  O_CLOEXEC, 0644);
			if (fd < 0) {
				rc = cli_error(err, HAYWIRE_E_FILE,
					       "cannot create %s: %s",
					       ctx->cli->out_path, strerror(errno));
				break;
			}
		}
		if (done == 0)
			print_warnings();
		if (ctx->cli->json)
			print_json(stdout, json_read(source_name(ctx), ctx->pid,
						     ctx->cli->via_guest,
						     ctx->va, buf, n));
		else if (!raw)
			print_hexdump(stdout, ctx->va + done, buf, n);
		else if (!write_all(fd, buf, n)) {
			rc = cli_error(err, HAYWIRE_E_FILE,
				       "cannot write %s: %s", ctx->cli->out_path,
				       strerror(errno));
			break;
		}
		done += n;
	}
	free(buf);
	if (to_file && fd >= 0 && close(fd) < 0 && !rc)
		rc = cli_error(err, HAYWIRE_E_FILE, "cannot write %s: %s",
			       ctx->cli->out_path, strerror(errno));
	if (rc && done) {
		char msg[HAYWIRE_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		if (to_file) {
			unlink(ctx->cli->out_path);
			cli_error(err, (enum haywire_code)rc,
				  "%s (at 0x%" PRIx64 "; %s was removed)", msg,
				  ctx->va + done, ctx->cli->out_path);
		} else {
			fflush(stdout);
			cli_error(err, (enum haywire_code)rc,
				  "%s (at 0x%" PRIx64 "; the output stops after %"
				  PRIu64 " bytes)", msg, ctx->va + done, done);
		}
	}
	return rc;
}

static void print_camera_result(struct ctx *ctx,
				const struct haywire_cameras *c)
{
	const struct haywire_camera *cam = &c->cams[c->selected];

	if (cam->flags & HW_CF_TRUNCATED)
		warn("camera %d: the page runs did not all fit in the beacon; the VMAs shown are incomplete",
		     c->selected);
	print_warnings();
	if (ctx->cli->json)
		print_json_camera(stdout, c);
	else
		print_camera(stdout, c);
}

/* The camera's view of pid, after a refresh: an error if it sees none. */
static int camera_view(struct ctx *ctx, const struct haywire_cameras *c,
		       struct haywire_error *err)
{
	const struct haywire_camera *cam;

	if (c->selected < 0)
		return cli_error(err, HAYWIRE_E_BUSY,
				 "no camera watches PID %d after it was turned on (did another client take the camera?); try again",
				 ctx->pid);
	cam = &c->cams[c->selected];
	if (cam->flags & HW_CF_NO_PROCESS)
		return cli_error(err, HAYWIRE_E_NOT_FOUND,
				 "no process with PID %d in the guest (or it has no memory)",
				 ctx->pid);
	if (cam->flags & HW_CF_MM_BUSY)
		return cli_error(err, HAYWIRE_E_BUSY,
				 "camera %d: process %d's mmap_lock was contended in snapshot generation %" PRIu64 "; try again",
				 c->selected, ctx->pid, c->info.generation);
	return 0;
}

/* Turn a camera off, and publish a snapshot without it. */
static int camera_off(struct ctx *ctx, unsigned int cam,
		      struct haywire_error *err)
{
	uint64_t generation;
	int rc = get_client(ctx, err);

	if (!rc)
		rc = haywire_camera_clear(ctx->client, cam, err);
	if (!rc)
		rc = haywire_refresh(ctx->client, &generation, err);
	return rc;
}

/* Turn a free camera on for ctx->pid and read its first snapshot. */
static int camera_on(struct ctx *ctx, struct haywire_cameras **c,
		     struct haywire_error *err)
{
	uint64_t first, generation;
	unsigned int cam;
	int rc;

	for (cam = 0; cam < (*c)->count; cam++)
		if (!((*c)->cams[cam].flags & HW_CF_ACTIVE))
			break;
	if (cam == (*c)->count)
		return cli_error(err, HAYWIRE_E_BUSY,
				 "all %u cameras are on (PIDs %d, %d, %d, %d): turn one off with haywire camera --off PID",
				 (*c)->count, (*c)->cams[0].pid,
				 (*c)->count > 1 ? (*c)->cams[1].pid : 0,
				 (*c)->count > 2 ? (*c)->cams[2].pid : 0,
				 (*c)->count > 3 ? (*c)->cams[3].pid : 0);
	rc = get_client(ctx, err);
	if (!rc)
		rc = haywire_camera_set(ctx->client, cam, ctx->pid, &first,
					err);
	/* The next snapshot, now rather than after an interval. */
	if (!rc)
		rc = haywire_refresh(ctx->client, &generation, err);
	if (!rc && generation < first)
		rc = cli_error(err, HAYWIRE_E_CORRUPT,
			       "the guest published generation %" PRIu64
			       " but said camera %u starts with %" PRIu64,
			       generation, cam, first);
	if (rc)
		return rc;
	haywire_cameras_free(*c);
	rc = haywire_read_cameras(ctx->b, ctx->pid, c, err);
	if (!rc)
		rc = camera_view(ctx, *c, err);
	if (rc == HAYWIRE_E_NOT_FOUND)	/* leave no camera on a ghost */
		haywire_camera_clear(ctx->client, cam, NULL);
	return rc;
}

static int cmd_camera(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_cameras *c;
	int rc = haywire_read_cameras(ctx->b, ctx->pid, &c, err);

	if (rc)
		return rc;
	if (ctx->pid == 0) {
		print_warnings();
		if (ctx->cli->json)
			print_json(stdout, json_cameras(c));
		else
			print_cameras(stdout, c);
	} else if (ctx->cli->off) {
		if (c->selected < 0) {
			rc = cli_error(err, HAYWIRE_E_NOT_FOUND,
				       "no camera watches PID %d", ctx->pid);
		} else {
			rc = camera_off(ctx, (unsigned int)c->selected, err);
		}
		if (!rc && ctx->cli->json)
			print_json(stdout, json_camera_off(c->selected,
							   ctx->pid));
		else if (!rc)
			printf("camera %d off (it watched PID %d)\n",
			       c->selected, ctx->pid);
	} else {
		rc = c->selected >= 0 ? camera_view(ctx, c, err) :
		     camera_on(ctx, &c, err);
		if (!rc)
			print_camera_result(ctx, c);
	}
	haywire_cameras_free(c);
	return rc;
}

static int cmd_refresh(struct ctx *ctx, struct haywire_error *err)
{
	uint64_t generation;
	int rc = get_client(ctx, err);

	if (!rc)
		rc = haywire_refresh(ctx->client, &generation, err);
	if (rc)
		return rc;
	if (ctx->cli->json)
		print_json(stdout, json_generation(generation));
	else
		printf("generation %" PRIu64 "\n", generation);
	return 0;
}

static int cmd_detail(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_detail *d;
	int rc = get_client(ctx, err);

	if (!rc)
		rc = haywire_proc_detail(ctx->client, ctx->pid, &d, err);
	if (rc)
		return rc;
	if (d->flags & HW_DF_CMDLINE_TRUNCATED)
		warn("process %d: the guest cut its command line short at %zu bytes",
		     ctx->pid, d->cmdline_len);
	if (d->flags & HW_DF_CMDLINE_UNAVAILABLE)
		warn("process %d: command line unavailable: its argument area is not anonymous memory the guest can read without waiting (a file or userfaultfd range mapped over it, or its memory map busy)",
		     ctx->pid);
	print_warnings();
	if (ctx->cli->json)
		print_json(stdout, json_detail(d));
	else
		print_detail(stdout, d);
	haywire_detail_free(d);
	return 0;
}

static int cmd_ping(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_ping ping;
	struct timespec t0, t1;
	uint64_t ns;
	int rc = get_client(ctx, err);

	if (rc)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = haywire_ping(ctx->client, &ping, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc)
		return rc;
	ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
	     (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	if (ctx->cli->json)
		print_json(stdout, json_ping(&ping, ns));
	else
		printf("guest monotonic %" PRIu64 " ns, generation %" PRIu64
		       ", round trip %" PRIu64 " us\n", ping.guest_mono_ns,
		       ping.generation, ns / 1000);
	return 0;
}

static const struct command commands[] = {
	{ "info", 0, 0, "no arguments", false, false, false, cmd_info, NULL },
	{ "ps", 0, 0, "no arguments", false, false, false, cmd_ps, NULL },
	{ "maps", 1, 1, "one argument, a PID", false, false, false, cmd_maps,
	  NULL },
	{ "translate", 2, 3, "PID VADDR [LEN]", true, true, false,
	  cmd_translate, NULL },
	{ "read", 3, 3, "PID VADDR LEN", true, true, false, cmd_read, NULL },
	{ "diff", 0, 0, "no arguments", false, false, false, NULL, cmd_diff },
	{ "bench", 2, 2, "PID VADDR", true, false, false, NULL, cmd_bench },
	{ "camera", 0, 1, "at most one argument, a PID", false, false, true,
	  cmd_camera, NULL },
	{ "refresh", 0, 0, "no arguments", false, false, true, cmd_refresh,
	  NULL },
	{ "detail", 1, 1, "one argument, a PID", false, false, true,
	  cmd_detail, NULL },
	{ "ping", 0, 0, "no arguments", false, false, true, cmd_ping, NULL },
	{ "top", 0, 0, "no arguments", false, false, true, NULL, cmd_top },
	{ "exporter", 0, 0, "no arguments", false, false, true, NULL,
	  cmd_exporter },
	{ "events", 0, 0, "no arguments", false, false, true, NULL,
	  cmd_events },
};

static bool valid_pid(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	return !errno && !*end && v > 0 && v <= INT32_MAX;
}

bool parse_address(const char *s, uint64_t *v)
{
	char *end;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	if (!isxdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 16);
	return !errno && !*end;
}

bool parse_length(const char *s, uint64_t *v)
{
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || (shift && *v > UINT64_MAX >> shift))
		return false;
	*v <<= shift;
	return true;
}

/* A decimal count of 1 .. max (milliseconds, repetitions). */
static bool parse_count(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end && *v >= 1 && *v <= max;
}

/* Seconds with up to three decimals, 0.1 .. 3600, as milliseconds. */
static bool parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0.1 || v > 3600)
		return false;
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	return true;
}

/* PID VADDR [LEN] of translate, read and bench. */
static int parse_range(struct ctx *ctx, const struct command *cmd,
		       char **args, int nargs)
{
	ctx->len = 4096;
	if (!parse_address(args[1], &ctx->va))
		return usage_error("'%s' is not a hexadecimal address", args[1]);
	if (nargs > 2 && (!parse_length(args[2], &ctx->len) || !ctx->len))
		return usage_error("'%s' is not a length (decimal or 0x hex, optional K M G)",
				   args[2]);
	if (ctx->len > UINT64_MAX - ctx->va)
		return usage_error("%s + %s wraps around the address space",
				   args[1], args[2]);
	if (!strcmp(cmd->name, "read") && ctx->len > SIZE_MAX / 2)
		return usage_error("'%s' is too long to read", args[2]);
	if (!strcmp(cmd->name, "read") && ctx->cli->json &&
	    ctx->len > JSON_READ_MAX)
		return usage_error("read --json takes at most %u bytes; use -o FILE for more",
				   JSON_READ_MAX);
	return 0;
}

static bool same_hint(const struct haywire_hint *a,
		      const struct haywire_location *loc)
{
	return a->file_offset == loc->file_offset && a->nonce == loc->nonce;
}

struct haywire_source *cli_open_source(struct cli *cli,
				       enum haywire_source_kind kind,
				       struct haywire_error *err)
{
	struct haywire_source_opts o = cli->opts;

	o.kind = kind;
	o.beacon_opts = &cli->beacon_opts;
	/* QEMU's map is checked once, not again by every source. */
	if (kind == HAYWIRE_SOURCE_BEACON && cli->opts.kind != kind)
		o.qmp = NULL;
	return haywire_source_open(&o, err);
}

void cli_close_source(struct cli *cli, struct haywire_source *src)
{
	struct haywire_beacon *b = src ? haywire_source_beacon(src) : NULL;

	/* Rediscovery may have moved the index: remember where it is now. */
	if (b && cli->use_hint && (!cli->have_hint ||
	    !same_hint(&cli->hint, haywire_beacon_location(b)))) {
		cli->hint.file_offset = haywire_beacon_location(b)->file_offset;
		cli->hint.nonce = haywire_beacon_location(b)->nonce;
		cli->have_hint = true;
		haywire_hint_save(haywire_source_mem(src), &cli->hint);
	}
	haywire_source_close(src);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* --domain: the RAM file of a running, readable libvirt domain. */
static int domain_ram(struct cli *cli, struct haywire_error *err)
{
	static struct lv_domain d;
	struct lv *lv = lv_open(cli->libvirt_uri, err);

	if (!lv)
		return err->code;
	lv_domain_ram(lv, cli->domain, -1, &d);
	lv_close(lv);
	if (d.state != LV_READABLE)
		return cli_error(err, HAYWIRE_E_FILE, "%s", d.why);
	cli->opts.mem_path = d.path;
	return 0;
}

/* Open the command's source, run it, close the source. */
static int run_command(struct cli *cli, const struct command *cmd,
		       struct ctx *ctx, struct haywire_error *err)
{
	int rc;

	ctx->cli = cli;
	ctx->src = cli_open_source(cli, cli->opts.kind, err);
	if (!ctx->src && cli->opts.qmp && (err->code == HAYWIRE_E_NO_BEACON ||
					   err->code == HAYWIRE_E_GONE)) {
		size_t len = strlen(err->msg);

		snprintf(err->msg + len, sizeof(err->msg) - len,
			 "; without it, --source memfile or qmp walks the guest kernel itself");
	}
	if (!ctx->src)
		return err->code;
	ctx->b = haywire_source_beacon(ctx->src);
	if (ctx->b)
		warn_discovery(haywire_beacon_location(ctx->b));
	rc = cmd->run(ctx, err);
	haywire_client_close(ctx->client);
	cli_close_source(cli, ctx->src);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_MEM = 256, OPT_JSON, OPT_NO_HINT, OPT_VERSION, OPT_SOURCE,
	       OPT_QMP, OPT_QMP_TIMEOUT, OPT_BTF, OPT_SYSTEM_MAP, OPT_RUNS,
	       OPT_VIA_GUEST, OPT_TIMEOUT, OPT_OFF, OPT_INDEX_GPA, OPT_VM,
	       OPT_GLOB, OPT_LISTEN, OPT_TOP, OPT_CONFIG, OPT_SCRAPES,
	       OPT_CONTAINERS, OPT_FOLLOW, OPT_FROM, OPT_DOMAIN, OPT_LIBVIRT_URI,
	       OPT_LIBVIRT, OPT_LIBVIRT_ALL };
	static const struct option options[] = {
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-hint", no_argument, NULL, OPT_NO_HINT },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "qmp", required_argument, NULL, OPT_QMP },
		{ "qmp-timeout", required_argument, NULL, OPT_QMP_TIMEOUT },
		{ "btf", required_argument, NULL, OPT_BTF },
		{ "system-map", required_argument, NULL, OPT_SYSTEM_MAP },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "via-guest", no_argument, NULL, OPT_VIA_GUEST },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "off", no_argument, NULL, OPT_OFF },
		{ "index-gpa", required_argument, NULL, OPT_INDEX_GPA },
		{ "vm", required_argument, NULL, OPT_VM },
		{ "glob", required_argument, NULL, OPT_GLOB },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "scrapes", required_argument, NULL, OPT_SCRAPES },
		{ "containers", no_argument, NULL, OPT_CONTAINERS },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "libvirt-uri", required_argument, NULL, OPT_LIBVIRT_URI },
		{ "libvirt", required_argument, NULL, OPT_LIBVIRT },
		{ "libvirt-all", no_argument, NULL, OPT_LIBVIRT_ALL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .use_hint = true, .runs = 5 };
	const char *source = env("HAYWIRE_SOURCE");
	const char *index_gpa = env("HAYWIRE_INDEX_GPA");
	const struct command *cmd = NULL;
	struct haywire_error err = { 0 };
	struct ctx ctx = { 0 };
	bool top_opts = false, exporter_opts = false;
	unsigned int i;
	char **args;
	bool have_from = false, have_mem = false;
	uint64_t v;
	int opt, nargs, rc;

	cli.opts.mem_path = env("HAYWIRE_MEM");
	cli.opts.qmp = env("HAYWIRE_QMP");
	cli.opts.btf_path = env("HAYWIRE_BTF");
	cli.opts.system_map_path = env("HAYWIRE_SYSTEM_MAP");
	opterr = 0;	/* our own one-line messages */
	/* GNU getopt permutes: options may come after the command. */
	while ((opt = getopt_long(argc, argv, ":ho:d:bn:", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (!parse_seconds(optarg, &v))
				return usage_error("-d takes seconds (0.1 .. 3600), not '%s'",
						   optarg);
			cli.top.delay_ms = (unsigned int)v;
			top_opts = true;
			break;
		case 'b':
			cli.top.batch = true;
			top_opts = true;
			break;
		case 'n':
			if (!parse_count(optarg, 1000000, &v))
				return usage_error("-n takes a count (1 .. 1000000), not '%s'",
						   optarg);
			cli.top.iterations = (unsigned int)v;
			top_opts = true;
			break;
		case OPT_VM:
		case OPT_GLOB:
			if ((opt == OPT_VM ? cli.exporter.nvms :
			     cli.exporter.nglobs) == EXPORTER_MAX_ARGS)
				return usage_error("too many %s options",
						   opt == OPT_VM ? "--vm" : "--glob");
			if (opt == OPT_VM)
				cli.exporter.vms[cli.exporter.nvms++] = optarg;
			else
				cli.exporter.globs[cli.exporter.nglobs++] = optarg;
			exporter_opts = true;
			break;
		case OPT_LIBVIRT:
			if (cli.exporter.ndomains == EXPORTER_MAX_ARGS)
				return usage_error("too many --libvirt options");
			cli.exporter.domains[cli.exporter.ndomains++] = optarg;
			exporter_opts = true;
			break;
		case OPT_LIBVIRT_ALL:
			cli.exporter.libvirt_all = true;
			exporter_opts = true;
			break;
		case OPT_DOMAIN:
			cli.domain = optarg;
			break;
		case OPT_LIBVIRT_URI:
			cli.libvirt_uri = optarg;
			break;
		case OPT_LISTEN:
			cli.exporter.listen = optarg;
			exporter_opts = true;
			break;
		case OPT_TOP:
			cli.exporter.top = optarg;
			exporter_opts = true;
			break;
		case OPT_CONFIG:
			cli.exporter.config = optarg;
			exporter_opts = true;
			break;
		case OPT_SCRAPES:
			if (!parse_count(optarg, 1000, &v))
				return usage_error("--scrapes takes a count (1 .. 1000), not '%s'",
						   optarg);
			cli.exporter.scrapes = (unsigned int)v;
			exporter_opts = true;
			break;
		case OPT_MEM:
			cli.opts.mem_path = optarg;
			have_mem = true;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case OPT_NO_HINT:
			cli.use_hint = false;
			break;
		case OPT_SOURCE:
			source = optarg;
			break;
		case OPT_QMP:
			cli.opts.qmp = optarg;
			break;
		case OPT_QMP_TIMEOUT:
		case OPT_TIMEOUT:
			if (!parse_count(optarg, 3600000, &v))
				return usage_error("%s takes milliseconds (1 .. 3600000), not '%s'",
						   opt == OPT_TIMEOUT ?
						   "--timeout" : "--qmp-timeout",
						   optarg);
			if (opt == OPT_TIMEOUT)
				cli.timeout_ms = (unsigned int)v;
			else
				cli.opts.qmp_timeout_ms = (unsigned int)v;
			break;
		case OPT_BTF:
			cli.opts.btf_path = optarg;
			break;
		case OPT_SYSTEM_MAP:
			cli.opts.system_map_path = optarg;
			break;
		case OPT_RUNS:
			if (!parse_count(optarg, 1000, &v))
				return usage_error("--runs takes a count (1 .. 1000), not '%s'",
						   optarg);
			cli.runs = (unsigned int)v;
			break;
		case OPT_VIA_GUEST:
			cli.via_guest = true;
			break;
		case OPT_OFF:
			cli.off = true;
			break;
		case OPT_INDEX_GPA:
			index_gpa = optarg;
			break;
		case OPT_CONTAINERS:
			cli.containers = true;
			break;
		case OPT_FOLLOW:
			cli.follow = true;
			break;
		case OPT_FROM:
			if (!strcmp(optarg, "oldest"))
				v = HAYWIRE_EVENTS_OLDEST;
			else if (!strcmp(optarg, "now"))
				v = HAYWIRE_EVENTS_NOW;
			else if (!parse_count(optarg, UINT64_MAX - 1, &v))
				return usage_error("--from takes an event number (1 ..), oldest or now, not '%s'",
						   optarg);
			cli.events_from = v;
			have_from = true;
			break;
		case 'o':
			cli.out_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case OPT_VERSION:
			printf("haywire %s (beacon protocol %d.%d)\n",
			       HAYWIRE_VERSION, HW_VERSION_MAJOR,
			       HW_VERSION_MINOR);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error("'%s' takes %s", cmd->name, cmd->args_help);
	if (index_gpa) {
		if (!parse_address(index_gpa, &v) || v % HW_EXTENT_ALIGN)
			return usage_error("--index-gpa takes the 2 MiB-aligned guest-physical address of a beacon index (hexadecimal), not '%s'",
					   index_gpa);
		cli.beacon_opts.pin_index = true;
		cli.beacon_opts.index_gpa = v;
	}
	if (source && !haywire_source_parse(source, &cli.opts.kind))
		return usage_error("unknown source '%s' (beacon, memfile or qmp)",
				   source);
	if (cli.via_guest && !cmd->via_guest)
		return usage_error("--via-guest is for translate and read, not '%s'",
				   cmd->name);
	if ((cli.via_guest || cmd->module) &&
	    cli.opts.kind != HAYWIRE_SOURCE_BEACON)
		return usage_error("%s asks the guest's module: it needs the beacon source, not %s",
				   cli.via_guest ? "--via-guest" : cmd->name,
				   haywire_source_name(cli.opts.kind));
	if (cli.out_path && strcmp(cmd->name, "read"))
		return usage_error("-o is for read, not '%s'", cmd->name);
	if (cli.out_path && cli.json)
		return usage_error("read takes -o or --json, not both");
	if (cli.off && (strcmp(cmd->name, "camera") || nargs != 1))
		return usage_error("--off goes with camera PID");
	if (top_opts && strcmp(cmd->name, "top"))
		return usage_error("-d, -b and -n are for top, not '%s'", cmd->name);
	if (!strcmp(cmd->name, "top") && !cli.top.batch &&
	    (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return usage_error("top needs a terminal; use -b (batch mode) for a script");
	if (exporter_opts && strcmp(cmd->name, "exporter"))
		return usage_error("--vm, --glob, --libvirt, --libvirt-all, --listen, --top, --config and --scrapes are for exporter, not '%s'",
				   cmd->name);
	if (!strcmp(cmd->name, "exporter") && (cli.opts.mem_path || cli.json ||
					       cli.domain ||
					       cli.opts.kind != HAYWIRE_SOURCE_BEACON))
		return usage_error("exporter takes its guests from --vm, --glob, --libvirt, --libvirt-all or --config, not --mem or --domain (nor --json or --source)");
	if (!strcmp(cmd->name, "exporter")) {
		haywire_catch_sigbus();
		rc = cmd_exporter(&cli, args, &err);
		return rc ? fail(&err) : cli.status;
	}
	if ((cli.follow || have_from) && strcmp(cmd->name, "events"))
		return usage_error("--follow and --from are for events, not '%s'",
				   cmd->name);
	if (cli.containers && strcmp(cmd->name, "ps"))
		return usage_error("--containers is for ps, not '%s'",
				   cmd->name);
	if (nargs && !valid_pid(args[0]))
		return usage_error("'%s' is not a PID", args[0]);
	if (nargs)
		ctx.pid = (int32_t)strtol(args[0], NULL, 10);
	ctx.cli = &cli;
	if (cmd->address) {
		rc = parse_range(&ctx, cmd, args, nargs);
		if (rc)
			return rc;
	}
	if (cli.domain && have_mem)
		return usage_error("--mem and --domain both name the guest: give one");
	if (cli.domain) {
		rc = domain_ram(&cli, &err);
		if (rc)
			return fail(&err);
	}
	if (!cli.opts.mem_path && (cli.opts.kind != HAYWIRE_SOURCE_QMP ||
				   cmd->run_alone))
		return usage_error("no guest RAM file: use --mem FILE, --domain NAME or set HAYWIRE_MEM");
	if (cli.opts.kind != HAYWIRE_SOURCE_BEACON && !cli.opts.qmp)
		return usage_error("the %s source needs QEMU's monitor: use --qmp SOCKET or set HAYWIRE_QMP",
				   haywire_source_name(cli.opts.kind));

	if (cli.opts.kind != HAYWIRE_SOURCE_BEACON &&
	    !haywire_agentless_supported()) {
		cli_error(&err, HAYWIRE_E_INVALID,
			  "the %s source is agentless, and this haywire was built without agentless support (make AGENTLESS=0)",
			  haywire_source_name(cli.opts.kind));
		return fail(&err);
	}
	/* A RAM file that shrinks under us is an error, not a crash. */
	haywire_catch_sigbus();
	/* The RAM file is opened and mapped once; every source borrows it. */
	if (cli.opts.mem_path) {
		cli.opts.mem = haywire_mem_open(cli.opts.mem_path, &err);
		if (!cli.opts.mem)
			return fail(&err);
	}
	if (cli.use_hint && cli.opts.mem &&
	    haywire_hint_load(cli.opts.mem, &cli.hint)) {
		cli.have_hint = true;
		cli.beacon_opts.hint = &cli.hint;
	}
	if (cmd->run_alone)
		rc = cmd->run_alone(&cli, args, &err);
	else
		rc = run_command(&cli, cmd, &ctx, &err);
	haywire_mem_close(cli.opts.mem);
	if (rc)
		return fail(&err);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "haywire: cannot write the output: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	return cli.status;
}
