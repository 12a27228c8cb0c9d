// SPDX-License-Identifier: MIT
/*
 * bench-host: host-side figures for any guest RAM file (a real guest's or
 * a synthetic one from tools/bench-host.sh). One line per measurement:
 *
 *   NAME: median VALUE UNIT (n=SAMPLES[, detail])
 *
 * discovery_cold  discovery without a hint, each in a new process (the
 *                 page cache stays warm: /dev/shm cannot be dropped)
 * discovery_warm  discovery with a valid hint, each in a new process
 * ps_library      haywire_read_procs: copy, validate, decode every process
 * maps_library    haywire_read_maps of one process
 * ps_cli, maps_cli  the whole `haywire ... ps` / `maps PID` command run
 *
 * Discovery times are what the library measures (CLOCK_MONOTONIC around
 * haywire_discover); the rest are CLOCK_MONOTONIC around the call or the
 * command's fork, exec and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haywire.h"

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *ns, unsigned int n,
		   const char *detail)
{
	double median, scale = 1e3;
	const char *unit = "us";

	if (n == 0) {
		printf("%s: no successful samples\n", name);
		return;
	}
	qsort(ns, n, sizeof(*ns), by_value);
	median = n % 2 ? (double)ns[n / 2] :
		 ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2;
	if (median >= 1e6) {
		scale = 1e6;
		unit = "ms";
	}
	printf("%s: median %.1f %s (n=%u%s%s)\n", name, median / scale, unit,
	       n, detail ? ", " : "", detail ? detail : "");
	fflush(stdout);
}

static void die(const char *what, const struct haywire_error *err)
{
	fprintf(stderr, "bench-host: %s: %s\n", what, err->msg);
	exit(1);
}

/* Discovery in a fresh process: its own mapping, no page tables yet. */
static bool discover_in_child(const char *path,
			      const struct haywire_hint *hint, uint64_t *ns,
			      bool *hint_used)
{
	uint64_t result[2] = { 0, 0 };
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct haywire_opts opts = { .hint = hint };
		struct haywire_error err;
		struct haywire_mem *mem = haywire_mem_open(path, &err);
		struct haywire_beacon *b = mem ?
			haywire_discover(mem, &opts, &err) : NULL;

		if (b) {
			result[0] = haywire_beacon_location(b)->ns;
			result[1] = haywire_beacon_location(b)->hint_used;
		}
		_exit(b && write(fds[1], result, sizeof(result)) ==
		      sizeof(result) ? 0 : 1);
	}
	close(fds[1]);
	status = read(fds[0], result, sizeof(result)) == sizeof(result);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	*ns = result[0];
	*hint_used = result[1];
	return status;
}

static void bench_discovery(const char *path, const struct haywire_hint *hint,
			    const char *name, unsigned int runs)
{
	uint64_t *ns = calloc(runs, sizeof(*ns));
	unsigned int i, n = 0, used = 0;
	char detail[64];
	bool hint_used;

	for (i = 0; i < runs; i++)
		if (discover_in_child(path, hint, &ns[n], &hint_used)) {
			n++;
			used += hint_used;
		}
	snprintf(detail, sizeof(detail), "hint used %u of %u", used, n);
	report(name, ns, n, detail);
	free(ns);
}

/* The command, from fork to exit, with its output thrown away. */
static void bench_cli(const char *name, char *const argv[], unsigned int runs)
{
	uint64_t *ns = calloc(runs, sizeof(*ns));
	posix_spawn_file_actions_t actions;
	unsigned int i, n = 0, failed = 0;
	char detail[64] = "";

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY,
					 0);
	posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY,
					 0);
	for (i = 0; i <= runs; i++) {
		uint64_t t0 = now_ns();
		int status;
		pid_t pid;

		if (posix_spawn(&pid, argv[0], &actions, NULL, argv,
				environ)) {
			fprintf(stderr, "bench-host: cannot run %s: %s\n",
				argv[0], strerror(errno));
			break;
		}
		waitpid(pid, &status, 0);
		if (i == 0)	/* the first run writes the hint */
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ns[n++] = now_ns() - t0;
		else
			failed++;
	}
	posix_spawn_file_actions_destroy(&actions);
	if (failed)
		snprintf(detail, sizeof(detail), "%u runs failed", failed);
	report(name, ns, n, failed ? detail : NULL);
	free(ns);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "haywire", required_argument, NULL, 'H' },
		{ "pid", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("HAYWIRE_MEM"), *haywire = NULL;
	unsigned int runs = 21, calls = 101, i, n;
	struct haywire_error err;
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	struct haywire_maps *maps;
	struct haywire_hint hint;
	const struct haywire_location *loc;
	char hint_dir[] = "/tmp/haywire-bench-hint.XXXXXX";
	char detail[96], pid_text[16];
	int32_t pid = 0;
	uint64_t *ns, t0;
	size_t most = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'm': path = optarg; break;
		case 'H': haywire = optarg; break;
		case 'p': pid = (int32_t)atoi(optarg); break;
		case 'r':
			runs = (unsigned int)atoi(optarg);
			calls = runs * 5;
			break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bench-host --mem FILE [--haywire PATH] "
				"[--pid PID] [--runs N]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!path || runs == 0) {
		fprintf(stderr, "bench-host: no RAM file (--mem FILE)\n");
		return 2;
	}
	mem = haywire_mem_open(path, &err);
	if (!mem)
		die("open", &err);
	b = haywire_discover(mem, NULL, &err);
	if (!b)
		die("discovery", &err);
	loc = haywire_beacon_location(b);
	hint.file_offset = loc->file_offset;
	hint.nonce = loc->nonce;
	if (haywire_read_procs(b, &procs, &err))
		die("ps", &err);
	/* maps of the process with the most VMAs, unless told which. */
	for (i = 0; i < procs->count && !pid; i++)
		if (procs->procs[i].vma_count > most) {
			most = procs->procs[i].vma_count;
			pid = procs->procs[i].pid;
		}
	printf("bench-host: %s: %" PRIu64 " MiB, %zu processes, %" PRIu64
	       " VMAs, index at file offset 0x%" PRIx64 " (GPA 0x%" PRIx64
	       "), %u probes\n", path, haywire_mem_size(mem) >> 20,
	       procs->count, procs->info.vmas, loc->file_offset, loc->gpa,
	       loc->probes);
	fflush(stdout);
	n = (unsigned int)procs->count;
	haywire_procs_free(procs);

	bench_discovery(path, NULL, "discovery_cold", runs);
	bench_discovery(path, &hint, "discovery_warm", runs);

	ns = calloc(calls, sizeof(*ns));
	for (i = 0; i < calls; i++) {
		t0 = now_ns();
		if (haywire_read_procs(b, &procs, &err))
			die("ps", &err);
		ns[i] = now_ns() - t0;
		haywire_procs_free(procs);
	}
	snprintf(detail, sizeof(detail), "%u processes", n);
	report("ps_library", ns, calls, detail);

	for (i = 0; pid > 0 && i < calls; i++) {
		t0 = now_ns();
		if (haywire_read_maps(b, pid, &maps, &err))
			die("maps", &err);
		ns[i] = now_ns() - t0;
		n = (unsigned int)maps->count;
		haywire_maps_free(maps);
	}
	snprintf(detail, sizeof(detail), "pid %d, %u VMAs", pid, n);
	if (pid > 0)
		report("maps_library", ns, calls, detail);
	free(ns);

	if (haywire && mkdtemp(hint_dir)) {
		char *ps_argv[] = { (char *)haywire, "--mem", (char *)path,
				    "ps", NULL };
		char *maps_argv[] = { (char *)haywire, "--mem", (char *)path,
				      "maps", pid_text, NULL };

		setenv("HAYWIRE_HINT_DIR", hint_dir, 1);
		snprintf(pid_text, sizeof(pid_text), "%d", pid);
		bench_cli("ps_cli", ps_argv, runs);
		if (pid > 0)
			bench_cli("maps_cli", maps_argv, runs);
		snprintf(detail, sizeof(detail), "rm -rf %s", hint_dir);
		if (system(detail))
			fprintf(stderr, "bench-host: could not remove %s\n",
				hint_dir);
	}
	haywire_beacon_free(b);
	haywire_mem_close(mem);
	return 0;
}
