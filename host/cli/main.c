// SPDX-License-Identifier: MIT
/*
 * haywire: see inside a running guest from its RAM file.
 *
 * Every failure is one line on stderr and an exit code from the table in
 * usage_text. Warnings (stale or truncated snapshot) are printed only when
 * the command succeeds, before its output.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"
#include "output.h"

enum exit_code {
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_NO_BEACON = 3,
	EXIT_BUSY = 4,
	EXIT_NOT_FOUND = 5,
};

static const char usage_text[] =
	"usage: haywire [--mem FILE] [--json] [--no-hint] COMMAND [ARGS]\n"
	"\n"
	"Read the Haywire beacon that the haywire kernel module publishes in a\n"
	"guest's RAM, straight from the RAM file QEMU shares\n"
	"(-object memory-backend-file,share=on,mem-path=FILE).\n"
	"\n"
	"commands:\n"
	"  info       the beacon: version, kernel, snapshot age, counts, where\n"
	"             it was found, the guest-physical map and the module's stats\n"
	"  ps         the guest's processes\n"
	"  maps PID   the memory map of process PID, as /proc/PID/maps\n"
	"\n"
	"options (also after the command):\n"
	"  --mem FILE   the guest's RAM file (default: $HAYWIRE_MEM)\n"
	"  --json       print JSON\n"
	"  --no-hint    neither use nor update the cached index location\n"
	"  --help       this text\n"
	"  --version    print the version\n"
	"\n"
	"exit status: 0 ok, 1 error, 2 usage, 3 no beacon (module not loaded or\n"
	"unloaded), 4 busy (try again), 5 no such process\n";

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
		return EXIT_BUSY;
	case HAYWIRE_E_NOT_FOUND:
		return EXIT_NOT_FOUND;
	default:
		return EXIT_ERROR;
	}
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

struct command {
	const char *name;
	int args;
	int (*run)(struct haywire_beacon *b, char **argv, bool json,
		   struct haywire_error *err);
};

static int cmd_info(struct haywire_beacon *b, char **argv, bool json,
		    struct haywire_error *err)
{
	struct haywire_info info;
	int rc = haywire_read_info(b, &info, err);

	(void)argv;
	if (rc)
		return rc;
	warn_snapshot(b, &info, true);
	print_warnings();
	if (json)
		print_json(stdout, json_info(&info));
	else
		print_info(stdout, &info);
	return 0;
}

static int cmd_ps(struct haywire_beacon *b, char **argv, bool json,
		  struct haywire_error *err)
{
	struct haywire_procs *procs;
	int rc = haywire_read_procs(b, &procs, err);

	(void)argv;
	if (rc)
		return rc;
	warn_snapshot(b, &procs->info, true);
	print_warnings();
	if (json)
		print_json(stdout, json_ps(procs));
	else
		print_ps(stdout, procs);
	haywire_procs_free(procs);
	return 0;
}

static int cmd_maps(struct haywire_beacon *b, char **argv, bool json,
		    struct haywire_error *err)
{
	struct haywire_maps *maps;
	int rc = haywire_read_maps(b, (int32_t)strtol(argv[0], NULL, 10),
				   &maps, err);

	if (rc)
		return rc;
	warn_snapshot(b, &maps->info, false);
	if (maps->proc.flags & HW_PF_VMAS_TRUNCATED)
		warn("process %d: only %u of its %u VMAs are in the snapshot (the beacon is full)",
		     maps->proc.pid, maps->proc.vma_count,
		     maps->proc.vma_total);
	print_warnings();
	if (json)
		print_json(stdout, json_maps(maps));
	else
		print_maps(stdout, maps);
	haywire_maps_free(maps);
	return 0;
}

static const struct command commands[] = {
	{ "info", 0, cmd_info },
	{ "ps", 0, cmd_ps },
	{ "maps", 1, cmd_maps },
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

static bool same_hint(const struct haywire_hint *a,
		      const struct haywire_location *loc)
{
	return a->file_offset == loc->file_offset && a->nonce == loc->nonce;
}

int main(int argc, char **argv)
{
	enum { OPT_MEM = 256, OPT_JSON, OPT_NO_HINT, OPT_VERSION };
	static const struct option options[] = {
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-hint", no_argument, NULL, OPT_NO_HINT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *mem_path = getenv("HAYWIRE_MEM");
	const struct command *cmd = NULL;
	bool json = false, use_hint = true, have_hint = false;
	struct haywire_opts opts = { 0 };
	struct haywire_hint hint;
	struct haywire_error err;
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	unsigned int i;
	int opt, nargs, rc;


	opterr = 0;	/* our own one-line messages */
	/* GNU getopt permutes: options may come after the command. */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_MEM:
			mem_path = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NO_HINT:
			use_hint = false;
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
	nargs = argc - optind - 1;
	if (nargs != cmd->args)
		return usage_error("'%s' takes %s", cmd->name,
				   cmd->args ? "one argument, a PID" :
				   "no arguments");
	if (cmd->args && !valid_pid(argv[optind + 1]))
		return usage_error("'%s' is not a PID", argv[optind + 1]);
	if (!mem_path || !*mem_path)
		return usage_error("no guest RAM file: use --mem FILE or set HAYWIRE_MEM");

	mem = haywire_mem_open(mem_path, &err);
	if (!mem)
		return fail(&err);
	if (use_hint && haywire_hint_load(mem, &hint)) {
		have_hint = true;
		opts.hint = &hint;
	}
	b = haywire_discover(mem, &opts, &err);
	if (!b) {
		haywire_mem_close(mem);
		return fail(&err);
	}
	rc = cmd->run(b, argv + optind + 1, json, &err);
	/* Rediscovery may have moved it: remember where it is now. */
	if (use_hint && (!have_hint ||
			 !same_hint(&hint, haywire_beacon_location(b)))) {
		hint.file_offset = haywire_beacon_location(b)->file_offset;
		hint.nonce = haywire_beacon_location(b)->nonce;
		haywire_hint_save(mem, &hint);
	}
	haywire_beacon_free(b);
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
