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

#include "cli.h"
#include "output.h"

#define READ_MAX	(1024ULL << 20)	/* read: bytes at most */

static const char usage_text[] =
	"usage: haywire [--mem FILE] [--source SOURCE] [--qmp SOCKET] [--json]\n"
	"               COMMAND [ARGS]\n"
	"\n"
	"See inside a running QEMU guest: read the Haywire beacon that the haywire\n"
	"kernel module publishes in guest RAM, straight from the RAM file QEMU\n"
	"shares (-object memory-backend-file,share=on,mem-path=FILE), or walk the\n"
	"guest kernel's own structures without any guest companion (agentless).\n"
	"\n"
	"commands:\n"
	"  info                  the beacon (version, kernel, snapshot age, counts,\n"
	"                        where it was found, the guest-physical map, the\n"
	"                        module's stats); agentless: the kernel found\n"
	"  ps                    the guest's processes\n"
	"  maps PID              the memory map of process PID, as /proc/PID/maps\n"
	"  translate PID VADDR [LEN]\n"
	"                        page-table runs of [VADDR, VADDR+LEN) (LEN: one\n"
	"                        page): VA range, state, GPA, file offset, page\n"
	"                        size, flags\n"
	"  read PID VADDR LEN    process memory as a hexdump (-o FILE: raw bytes,\n"
	"                        -o - to stdout)\n"
	"  diff                  compare the beacon's process list with an\n"
	"                        agentless walk (--source memfile, the default,\n"
	"                        or qmp): processes seen by one view only\n"
	"  bench PID VADDR       time ps, maps PID, translate of 64 MiB at VADDR\n"
	"                        and a 1 MiB read at VADDR through each source\n"
	"\n"
	"sources (--source):\n"
	"  beacon    the module's snapshots in the RAM file (the default)\n"
	"  memfile   agentless: kernel structures read from the RAM file; QMP\n"
	"            gives the CPU registers and the memory map\n"
	"  qmp       agentless: every guest memory read through QMP\n"
	"\n"
	"options (also after the command):\n"
	"  --mem FILE          the guest's RAM file (default: $HAYWIRE_MEM)\n"
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
	"  -o FILE             read: write the raw bytes to FILE ('-': stdout)\n"
	"  --runs N            bench: repetitions per figure (default 5)\n"
	"  --no-hint           neither use nor update the cached index location\n"
	"  --help              this text\n"
	"  --version           print the version\n"
	"\n"
	"exit status: 0 ok, 1 error, 2 usage, 3 no beacon (module not loaded or\n"
	"unloaded), 4 busy (try again), 5 no such process, 7 address not mapped,\n"
	"8 diff found differences\n";

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

	for (i = 0; i < nwarnings; i++)
		fprintf(stderr, "haywire: warning: %s\n", warnings[i]);
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
	fprintf(stderr, "haywire: %s\n", err->msg);
	switch (err->code) {
	case HAYWIRE_E_NO_BEACON:
	case HAYWIRE_E_GONE:
		return EXIT_NO_BEACON;
	case HAYWIRE_E_BUSY:
		return EXIT_BUSY;
	case HAYWIRE_E_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case HAYWIRE_E_UNMAPPED:
		return EXIT_UNMAPPED;
	default:
		return EXIT_ERROR;
	}
}

bool parse_number(const char *s, bool suffixes, uint64_t *v)
{
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (suffixes && *end && !end[1]) {
		const char *units = "KMG";
		const char *u = strchr(units, *end);

		if (!u)
			return false;
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
	}
	if (*end || (shift && *v > (UINT64_MAX >> shift)))
		return false;
	*v <<= shift;
	return true;
}

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

struct command {
	const char *name;
	int min_args, max_args;
	const char *args_text;
	bool needs_pid;
	/* with an open source, or NULL: the command opens its own */
	int (*run)(struct cli *cli, struct haywire_source *src, char **argv,
		   struct haywire_error *err);
	int (*run_alone)(struct cli *cli, char **argv,
			 struct haywire_error *err);
};

static int cmd_info(struct cli *cli, struct haywire_source *src, char **argv,
		    struct haywire_error *err)
{
	const struct haywire_qemu_ram *ram = haywire_source_qemu_ram(src);
	const char *name = haywire_source_name(haywire_source_kind(src));
	struct haywire_info info;
	struct json_object *obj;
	int rc;

	(void)argv;
	if (!haywire_source_beacon(src)) {
		const struct haywire_agentless_info *ai =
			haywire_agentless_info(haywire_source_agentless(src));

		print_warnings();
		if (cli->json) {
			obj = json_agentless_info(name, ai);
			json_add_qemu_ram(obj, ram);
			print_json(stdout, obj);
		} else {
			print_agentless_info(stdout, name, ai);
			print_qemu_ram(stdout, ram);
		}
		return 0;
	}
	rc = haywire_read_info(haywire_source_beacon(src), &info, err);
	if (rc)
		return rc;
	warn_snapshot(haywire_source_beacon(src), &info, true);
	print_warnings();
	if (cli->json) {
		obj = json_info(&info);
		if (ram)
			json_add_qemu_ram(obj, ram);
		print_json_with_source(obj, src);
	} else {
		print_info(stdout, &info);
		if (ram) {
			print_qemu_ram(stdout, ram);
			fprintf(stdout, "map check:     QEMU's map and the beacon's agree\n");
		}
	}
	return 0;
}

static int cmd_ps(struct cli *cli, struct haywire_source *src, char **argv,
		  struct haywire_error *err)
{
	struct haywire_procs *procs;
	int rc = haywire_source_procs(src, &procs, err);

	(void)argv;
	if (rc)
		return rc;
	warn_view(src, &procs->info, true);
	print_warnings();
	if (cli->json)
		print_json_with_source(json_ps(procs), src);
	else
		print_ps(stdout, procs);
	haywire_procs_free(procs);
	return 0;
}

static int cmd_maps(struct cli *cli, struct haywire_source *src, char **argv,
		    struct haywire_error *err)
{
	struct haywire_maps *maps;
	int rc = haywire_source_maps(src, (int32_t)strtol(argv[0], NULL, 10),
				     &maps, err);

	if (rc)
		return rc;
	warn_view(src, &maps->info, false);
	if (maps->proc.flags & HW_PF_VMAS_TRUNCATED)
		warn("process %d: only %u of its %u VMAs are in the snapshot (the beacon is full)",
		     maps->proc.pid, maps->proc.vma_count,
		     maps->proc.vma_total);
	print_warnings();
	if (cli->json)
		print_json_with_source(json_maps(maps), src);
	else
		print_maps(stdout, maps);
	haywire_maps_free(maps);
	return 0;
}

struct run_list {
	struct haywire_xlate_run *runs;
	size_t count, cap;
};

static int collect_run(void *arg, const struct haywire_xlate_run *run)
{
	struct run_list *l = arg;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct haywire_xlate_run *p = realloc(l->runs,
						      cap * sizeof(*p));

		if (!p)
			return HAYWIRE_E_NOMEM;
		l->runs = p;
		l->cap = cap;
	}
	l->runs[l->count++] = *run;
	return 0;
}

/*
 * VADDR [LEN] after the PID: numbers (LEN positive, with K, M or G), a
 * range that does not wrap, a read no larger than READ_MAX. NULL if fine.
 */
static const char *range_problem(char **argv, int nargs, bool is_read)
{
	static char msg[160];
	uint64_t va, len = 4096;

	if (!parse_number(argv[1], false, &va))
		snprintf(msg, sizeof(msg),
			 "'%s' is not an address (decimal or 0x hex)", argv[1]);
	else if (nargs > 2 && (!parse_number(argv[2], true, &len) || !len))
		snprintf(msg, sizeof(msg),
			 "'%s' is not a length (a positive number, K, M or G)",
			 argv[2]);
	else if (len - 1 > UINT64_MAX - va)
		snprintf(msg, sizeof(msg), "0x%" PRIx64 " + %" PRIu64 " wraps around",
			 va, len);
	else if (is_read && len > READ_MAX)
		snprintf(msg, sizeof(msg),
			 "read takes at most %llu MiB at a time, not %" PRIu64 " bytes",
			 READ_MAX >> 20, len);
	else
		return NULL;
	return msg;
}

/* VADDR and LEN, checked by range_problem() already. */
static void range_args(char **argv, uint64_t *va, uint64_t *len)
{
	*len = 4096;
	parse_number(argv[1], false, va);
	if (argv[2])
		parse_number(argv[2], true, len);
}

static int cmd_translate(struct cli *cli, struct haywire_source *src,
			 char **argv, struct haywire_error *err)
{
	struct run_list l = { 0 };
	struct translate_out t;
	uint64_t va, len;
	int rc;

	range_args(argv, &va, &len);
	t.pid = (int32_t)strtol(argv[0], NULL, 10);
	rc = haywire_source_translate(src, t.pid, va, len, collect_run, &l,
				      err);
	if (rc == HAYWIRE_E_NOMEM && !err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	if (rc) {
		free(l.runs);
		return rc;
	}
	t.source = haywire_source_name(haywire_source_kind(src));
	t.va = va;
	t.len = len;
	t.count = l.count;
	t.runs = l.runs;
	t.map = haywire_source_map(src);
	print_warnings();
	if (cli->json)
		print_json(stdout, json_translate(&t));
	else
		print_translate(stdout, &t);
	free(l.runs);
	return 0;
}

static int write_raw(const char *path, const unsigned char *data, size_t len,
		     struct haywire_error *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;

	if (!f || fwrite(data, 1, len, f) != len ||
	    (f != stdout && fclose(f))) {
		err->code = HAYWIRE_E_FILE;
		snprintf(err->msg, sizeof(err->msg), "cannot write %s: %s",
			 path, strerror(errno));
		if (f && f != stdout)
			fclose(f);
		return HAYWIRE_E_FILE;
	}
	return 0;
}

static int cmd_read(struct cli *cli, struct haywire_source *src, char **argv,
		    struct haywire_error *err)
{
	const char *name = haywire_source_name(haywire_source_kind(src));
	int32_t pid = (int32_t)strtol(argv[0], NULL, 10);
	unsigned char *data;
	uint64_t va, len;
	int rc;

	range_args(argv, &va, &len);
	data = malloc(len);
	if (!data) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return HAYWIRE_E_NOMEM;
	}
	rc = haywire_source_read(src, pid, va, data, len, err);
	if (!rc) {
		print_warnings();
		if (cli->out_path)
			rc = write_raw(cli->out_path, data, len, err);
		else if (cli->json)
			print_json(stdout, json_read(name, pid, va, data, len));
		else
			print_hexdump(stdout, va, data, len);
	}
	free(data);
	return rc;
}

static const struct command commands[] = {
	{ "info", 0, 0, "no arguments", false, cmd_info, NULL },
	{ "ps", 0, 0, "no arguments", false, cmd_ps, NULL },
	{ "maps", 1, 1, "one argument, a PID", true, cmd_maps, NULL },
	{ "translate", 2, 3, "PID VADDR [LEN]", true, cmd_translate, NULL },
	{ "read", 3, 3, "PID VADDR LEN", true, cmd_read, NULL },
	{ "diff", 0, 0, "no arguments", false, NULL, cmd_diff },
	{ "bench", 2, 2, "PID VADDR", true, NULL, cmd_bench },
};

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

int main(int argc, char **argv)
{
	enum { OPT_MEM = 256, OPT_JSON, OPT_NO_HINT, OPT_VERSION, OPT_SOURCE,
	       OPT_QMP, OPT_QMP_TIMEOUT, OPT_BTF, OPT_SYSTEM_MAP, OPT_RUNS };
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .use_hint = true, .runs = 5 };
	const char *source = env("HAYWIRE_SOURCE");
	const struct command *cmd = NULL;
	struct haywire_error err = { 0 };
	struct haywire_source *src;
	unsigned int i;
	uint64_t v;
	int opt, nargs, rc;

	cli.opts.mem_path = env("HAYWIRE_MEM");
	cli.opts.qmp = env("HAYWIRE_QMP");
	cli.opts.btf_path = env("HAYWIRE_BTF");
	cli.opts.system_map_path = env("HAYWIRE_SYSTEM_MAP");
	opterr = 0;	/* our own one-line messages */
	/* GNU getopt permutes: options may come after the command. */
	while ((opt = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_MEM:
			cli.opts.mem_path = optarg;
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
			if (!parse_number(optarg, false, &v) || !v ||
			    v > 3600000)
				return usage_error("--qmp-timeout takes milliseconds (1 .. 3600000), not '%s'",
						   optarg);
			cli.opts.qmp_timeout_ms = (unsigned int)v;
			break;
		case OPT_BTF:
			cli.opts.btf_path = optarg;
			break;
		case OPT_SYSTEM_MAP:
			cli.opts.system_map_path = optarg;
			break;
		case OPT_RUNS:
			if (!parse_number(optarg, false, &v) || !v || v > 1000)
				return usage_error("--runs takes a count (1 .. 1000), not '%s'",
						   optarg);
			cli.runs = (unsigned int)v;
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
	nargs = argc - optind - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error("'%s' takes %s", cmd->name, cmd->args_text);
	if (cmd->needs_pid && !valid_pid(argv[optind + 1]))
		return usage_error("'%s' is not a PID", argv[optind + 1]);
	if (nargs >= 2 && cmd->needs_pid) {
		const char *problem = range_problem(argv + optind + 1, nargs,
						    !strcmp(cmd->name, "read"));

		if (problem)
			return usage_error("%s", problem);
	}
	if (source && !haywire_source_parse(source, &cli.opts.kind))
		return usage_error("unknown source '%s' (beacon, memfile or qmp)",
				   source);
	if (cli.out_path && strcmp(cmd->name, "read"))
		return usage_error("-o is for the read command");
	if (!cli.opts.mem_path && (cli.opts.kind != HAYWIRE_SOURCE_QMP ||
				   cmd->run_alone))
		return usage_error("no guest RAM file: use --mem FILE or set HAYWIRE_MEM");
	if (cli.opts.kind != HAYWIRE_SOURCE_BEACON && !cli.opts.qmp)
		return usage_error("the %s source needs QEMU's monitor: use --qmp SOCKET or set HAYWIRE_QMP",
				   haywire_source_name(cli.opts.kind));

	if (cli.use_hint && cli.opts.mem_path) {
		struct haywire_mem *mem = haywire_mem_open(cli.opts.mem_path,
							   NULL);

		if (mem && haywire_hint_load(mem, &cli.hint)) {
			cli.have_hint = true;
			cli.beacon_opts.hint = &cli.hint;
		}
		haywire_mem_close(mem);
	}
	if (cmd->run_alone) {
		rc = cmd->run_alone(&cli, argv + optind + 1, &err);
	} else {
		src = cli_open_source(&cli, cli.opts.kind, &err);
		if (!src && cli.opts.qmp && (err.code == HAYWIRE_E_NO_BEACON ||
					     err.code == HAYWIRE_E_GONE)) {
			size_t len = strlen(err.msg);

			snprintf(err.msg + len, sizeof(err.msg) - len,
				 "; without it, --source memfile or qmp walks the guest kernel itself");
		}
		if (!src)
			return fail(&err);
		rc = cmd->run(&cli, src, argv + optind + 1, &err);
		cli_close_source(&cli, src);
	}
	if (rc)
		return fail(&err);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "haywire: cannot write the output: %s\n",
			strerror(errno));
		return EXIT_ERROR;
	}
	return cli.status;
}
