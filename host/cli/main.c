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

#include "haywire.h"
#include "output.h"

enum exit_code {
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_NO_BEACON = 3,
	EXIT_BUSY = 4,
	EXIT_NOT_FOUND = 5,
	EXIT_REFUSED = 6,
	EXIT_UNMAPPED = 7,
};

static const char usage_text[] =
	"usage: haywire [--mem FILE] [--json] [--no-hint] COMMAND [ARGS]\n"
	"\n"
	"Read the Haywire beacon that the haywire kernel module publishes in a\n"
	"guest's RAM, straight from the RAM file QEMU shares\n"
	"(-object memory-backend-file,share=on,mem-path=FILE), and ask the\n"
	"guest questions through the beacon's request rings.\n"
	"\n"
	"snapshot commands (read-only):\n"
	"  info       the beacon: version, kernel, snapshot age, counts, where\n"
	"             it was found, the guest-physical map and the module's stats\n"
	"  ps         the guest's processes\n"
	"  maps PID   the memory map of process PID, as /proc/PID/maps\n"
	"  translate PID VADDR [LEN]\n"
	"             where [VADDR, VADDR + LEN) of process PID lives: runs of\n"
	"             virtual -> guest-physical -> RAM file offset (LEN: one page)\n"
	"  read PID VADDR LEN [-o FILE]\n"
	"             process memory as a hex dump, or raw into FILE (- for stdout)\n"
	"  camera     the cameras and what they watch\n"
	"\n"
	"request commands (they write the RAM file's request page):\n"
	"  camera PID       turn a camera on for PID (unless one watches it),\n"
	"                   then show its page-table state per VMA\n"
	"  camera --off PID turn off the camera watching PID\n"
	"  refresh    publish a snapshot now; prints its generation\n"
	"  detail PID process details: command line, directory, ids, times,\n"
	"             faults, signals\n"
	"  ping       round trip to the guest\n"
	"  translate and read with --via-guest also ask the guest\n"
	"\n"
	"VADDR is hexadecimal (0x optional); LEN is decimal or 0x hexadecimal,\n"
	"with an optional K, M or G suffix.\n"
	"\n"
	"options (also after the command):\n"
	"  --mem FILE     the guest's RAM file (default: $HAYWIRE_MEM)\n"
	"  --json         print JSON\n"
	"  --via-guest    translate and read through the guest, not the page\n"
	"                 tables in the RAM file (read needs allow_read=1)\n"
	"  --timeout MS   wait this long for each answer (default 5000)\n"
	"  -o FILE        read: write the raw bytes to FILE (- for stdout)\n"
	"  --no-hint      neither use nor update the cached index location\n"
	"  --help         this text\n"
	"  --version      print the version\n"
	"\n"
	"exit status: 0 ok, 1 error, 2 usage, 3 no beacon (module not loaded or\n"
	"unloaded), 4 busy (try again; also a full request ring or a timeout),\n"
	"5 no such process, 6 refused by the guest, 7 address not mapped\n";

#define MAX_WARNINGS 4
static char warnings[MAX_WARNINGS][HAYWIRE_MSG_MAX];
static unsigned int nwarnings;

__attribute__((format(printf, 1, 2)))
static void warn(const char *fmt, ...)
{
	va_list ap;

	if (nwarnings == MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(warnings[nwarnings++], HAYWIRE_MSG_MAX, fmt, ap);
	va_end(ap);
}

/* Called once the command cannot fail any more, before its output. */
static void print_warnings(void)
{
	unsigned int i;

	for (i = 0; i < nwarnings; i++)
		fprintf(stderr, "haywire: warning: %s\n", warnings[i]);
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
	fprintf(stderr, "haywire: %s\n", err->msg);
	switch (err->code) {
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

static void warn_snapshot(struct haywire_beacon *b, struct haywire_info *info,
			  bool counts)
{
	struct haywire_error ignored;

	/* An apparent age can be the guest's clock being off: look again. */
	if (info->stale)
		haywire_confirm_stale(b, info, &ignored);
	if (info->stale_confirmed)
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

/* What a command gets: the beacon, the options, its parsed arguments. */
struct ctx {
	struct haywire_beacon *b;
	bool json, via_guest, off;
	unsigned int timeout_ms;
	const char *out_path;
	struct haywire_client *client;	/* opened on first use */
	int32_t pid;
	uint64_t va, len;
};

static int get_client(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_client_opts opts = { .timeout_ms = ctx->timeout_ms };

	if (!ctx->client)
		ctx->client = haywire_client_open(ctx->b, &opts, err);
	return ctx->client ? 0 : err->code;
}

struct command {
	const char *name;
	int min_args, max_args;
	const char *args_help;	/* for "'NAME' takes ..." */
	bool address;		/* PID VADDR [LEN] */
	bool via_guest;		/* --via-guest applies */
	int (*run)(struct ctx *ctx, struct haywire_error *err);
};

static int cmd_info(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_info info;
	int rc = haywire_read_info(ctx->b, &info, err);

	if (rc)
		return rc;
	warn_snapshot(ctx->b, &info, true);
	print_warnings();
	if (ctx->json)
		print_json(stdout, json_info(&info));
	else
		print_info(stdout, &info);
	return 0;
}

static int cmd_ps(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_procs *procs;
	int rc = haywire_read_procs(ctx->b, &procs, err);

	if (rc)
		return rc;
	warn_snapshot(ctx->b, &procs->info, true);
	print_warnings();
	if (ctx->json)
		print_json(stdout, json_ps(procs));
	else
		print_ps(stdout, procs);
	haywire_procs_free(procs);
	return 0;
}

static int cmd_maps(struct ctx *ctx, struct haywire_error *err)
{
	struct haywire_maps *maps;
	int rc = haywire_read_maps(ctx->b, ctx->pid, &maps, err);

	if (rc)
		return rc;
	warn_snapshot(ctx->b, &maps->info, false);
	if (maps->proc.flags & HW_PF_VMAS_TRUNCATED)
		warn("process %d: only %u of its %u VMAs are in the snapshot (the beacon is full)",
		     maps->proc.pid, maps->proc.vma_count,
		     maps->proc.vma_total);
	print_warnings();
	if (ctx->json)
		print_json(stdout, json_maps(maps));
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

	if (ctx->via_guest) {
		rc = get_client(ctx, err);
		if (!rc)
			rc = haywire_guest_translate(ctx->client, ctx->pid,
						     ctx->va, ctx->len,
						     collect_run, &list, err);
	} else {
		rc = haywire_host_translate(ctx->b, ctx->pid, ctx->va,
					    ctx->len, collect_run, &list, err);
	}
	if (list.too_many)
		rc = cli_error(err, HAYWIRE_E_INVALID,
			       "the range has more than %u runs: translate a smaller range",
			       MAX_RUNS);
	else if (list.nomem)
		rc = cli_error(err, HAYWIRE_E_NOMEM, "out of memory");
	if (!rc) {
		t = (struct translate_result){
			.pid = ctx->pid, .via_guest = ctx->via_guest,
			.addr = ctx->va, .len = ctx->len, .runs = list.runs,
			.count = list.count,
			.map = &haywire_beacon_location(ctx->b)->map,
		};
		if (ctx->json)
			print_json(stdout, json_translate(&t));
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

	if (!ctx->via_guest)
		return haywire_host_read(ctx->b, ctx->pid, va, buf, len, err);
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
	bool raw = ctx->out_path != NULL;
	bool to_file = raw && strcmp(ctx->out_path, "-") != 0;
	size_t piece = ctx->json ? (size_t)ctx->len : READ_PIECE;
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
			fd = open(ctx->out_path, O_WRONLY | O_CREAT | O_TRUNC |
				  O_CLOEXEC, 0644);
			if (fd < 0) {
				rc = cli_error(err, HAYWIRE_E_FILE,
					       "cannot create %s: %s",
					       ctx->out_path, strerror(errno));
				break;
			}
		}
		if (ctx->json)
			print_json(stdout, json_read(ctx->pid, ctx->via_guest,
						     ctx->va, buf, n));
		else if (!raw)
			print_hexdump(stdout, ctx->va + done, buf, n);
		else if (!write_all(fd, buf, n)) {
			rc = cli_error(err, HAYWIRE_E_FILE,
				       "cannot write %s: %s", ctx->out_path,
				       strerror(errno));
			break;
		}
		done += n;
	}
	free(buf);
	if (to_file && fd >= 0 && close(fd) < 0 && !rc)
		rc = cli_error(err, HAYWIRE_E_FILE, "cannot write %s: %s",
			       ctx->out_path, strerror(errno));
	if (rc && done) {
		char msg[HAYWIRE_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		if (to_file) {
			unlink(ctx->out_path);
			cli_error(err, (enum haywire_code)rc,
				  "%s (at 0x%" PRIx64 "; %s was removed)", msg,
				  ctx->va + done, ctx->out_path);
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
	if (ctx->json)
		print_json(stdout, json_camera(c));
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
		if (ctx->json)
			print_json(stdout, json_cameras(c));
		else
			print_cameras(stdout, c);
	} else if (ctx->off) {
		if (c->selected < 0) {
			rc = cli_error(err, HAYWIRE_E_NOT_FOUND,
				       "no camera watches PID %d", ctx->pid);
		} else {
			rc = camera_off(ctx, (unsigned int)c->selected, err);
		}
		if (!rc && ctx->json)
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
	if (ctx->json)
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
	print_warnings();
	if (ctx->json)
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
	if (ctx->json)
		print_json(stdout, json_ping(&ping, ns));
	else
		printf("guest monotonic %" PRIu64 " ns, generation %" PRIu64
		       ", round trip %" PRIu64 " us\n", ping.guest_mono_ns,
		       ping.generation, ns / 1000);
	return 0;
}

static const struct command commands[] = {
	{ "info", 0, 0, "no arguments", false, false, cmd_info },
	{ "ps", 0, 0, "no arguments", false, false, cmd_ps },
	{ "maps", 1, 1, "one argument, a PID", false, false, cmd_maps },
	{ "translate", 2, 3, "PID VADDR [LEN]", true, true, cmd_translate },
	{ "read", 3, 3, "PID VADDR LEN", true, true, cmd_read },
	{ "camera", 0, 1, "at most one argument, a PID", false, false,
	  cmd_camera },
	{ "refresh", 0, 0, "no arguments", false, false, cmd_refresh },
	{ "detail", 1, 1, "one argument, a PID", false, false, cmd_detail },
	{ "ping", 0, 0, "no arguments", false, false, cmd_ping },
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

/* VADDR: hexadecimal, 0x optional (as /proc/PID/maps prints addresses). */
static bool parse_address(const char *s, uint64_t *v)
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

/* LEN: decimal or 0x hexadecimal, optional K, M or G (binary). */
static bool parse_length(const char *s, uint64_t *v)
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

/* PID VADDR [LEN] of translate and read. */
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
	if (!strcmp(cmd->name, "read") && ctx->json &&
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

int main(int argc, char **argv)
{
	enum { OPT_MEM = 256, OPT_JSON, OPT_NO_HINT, OPT_VERSION,
	       OPT_VIA_GUEST, OPT_TIMEOUT, OPT_OFF };
	static const struct option options[] = {
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-hint", no_argument, NULL, OPT_NO_HINT },
		{ "via-guest", no_argument, NULL, OPT_VIA_GUEST },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "off", no_argument, NULL, OPT_OFF },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *mem_path = getenv("HAYWIRE_MEM");
	const struct command *cmd = NULL;
	bool use_hint = true, have_hint = false;
	struct ctx ctx = { 0 };
	struct haywire_opts opts = { 0 };
	struct haywire_hint hint;
	struct haywire_error err;
	struct haywire_mem *mem;
	char **args, *end;
	unsigned long timeout;
	unsigned int i;
	int opt, nargs, rc;

	opterr = 0;	/* our own one-line messages */
	/* GNU getopt permutes: options may come after the command. */
	while ((opt = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_MEM:
			mem_path = optarg;
			break;
		case OPT_JSON:
			ctx.json = true;
			break;
		case OPT_NO_HINT:
			use_hint = false;
			break;
		case OPT_VIA_GUEST:
			ctx.via_guest = true;
			break;
		case OPT_OFF:
			ctx.off = true;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno || *end || !isdigit((unsigned char)*optarg) ||
			    timeout < 1 || timeout > 3600000)
				return usage_error("--timeout takes milliseconds, 1 .. 3600000, not '%s'",
						   optarg);
			ctx.timeout_ms = (unsigned int)timeout;
			break;
		case 'o':
			ctx.out_path = optarg;
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
	if (ctx.via_guest && !cmd->via_guest)
		return usage_error("--via-guest is for translate and read, not '%s'",
				   cmd->name);
	if (ctx.out_path && strcmp(cmd->name, "read"))
		return usage_error("-o is for read, not '%s'", cmd->name);
	if (ctx.out_path && ctx.json)
		return usage_error("read takes -o or --json, not both");
	if (ctx.off && (strcmp(cmd->name, "camera") || nargs != 1))
		return usage_error("--off goes with camera PID");
	if (nargs && !valid_pid(args[0]))
		return usage_error("'%s' is not a PID", args[0]);
	if (nargs)
		ctx.pid = (int32_t)strtol(args[0], NULL, 10);
	if (cmd->address) {
		rc = parse_range(&ctx, cmd, args, nargs);
		if (rc)
			return rc;
	}
	if (!mem_path || !*mem_path)
		return usage_error("no guest RAM file: use --mem FILE or set HAYWIRE_MEM");

	mem = haywire_mem_open(mem_path, &err);
	if (!mem)
		return fail(&err);
	if (use_hint && haywire_hint_load(mem, &hint)) {
		have_hint = true;
		opts.hint = &hint;
	}
	ctx.b = haywire_discover(mem, &opts, &err);
	if (!ctx.b) {
		haywire_mem_close(mem);
		return fail(&err);
	}
	rc = cmd->run(&ctx, &err);
	/* Rediscovery may have moved it: remember where it is now. */
	if (use_hint && (!have_hint ||
			 !same_hint(&hint, haywire_beacon_location(ctx.b)))) {
		hint.file_offset = haywire_beacon_location(ctx.b)->file_offset;
		hint.nonce = haywire_beacon_location(ctx.b)->nonce;
		haywire_hint_save(mem, &hint);
	}
	haywire_client_close(ctx.client);
	haywire_beacon_free(ctx.b);
	haywire_mem_close(mem);
	if (rc)
		return fail(&err);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "haywire: cannot write the output: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	return 0;
}
