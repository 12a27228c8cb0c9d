// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest load for the refresh stress tests (tests/vm/stress.py):
 *
 *   hw-stress storm SECONDS WORKERS
 *	WORKERS processes that, for SECONDS, fork children which map and
 *	unmap memory, change protections, and then exit or exec busybox
 *	true; the workers' own maps change all the time as well; and one
 *	process with CHURN_PAGES VMAs (more than the module walks in one
 *	hold of the mmap_lock) whose pages keep changing protection, so
 *	that VMAs split and merge between the module's holds. Prints
 *	"ready" at once, "worker ..." lines and "done" at the end.
 *
 *   hw-stress bigvmas VMAS PROCS
 *	PROCS - 1 sleeping children, then one process (this one) with VMAS
 *	more VMAs: one mapping of VMAS pages whose every other page has
 *	another protection. Needs vm.max_map_count above VMAS. Prints
 *	"ready PID" and sleeps; the children die with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "hw-stress: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A few mappings, some split by mprotect, some unmapped again. */
static void churn_maps(unsigned int seed)
{
	void *maps[8];
	unsigned int i, n = 1 + seed % 8;

	for (i = 0; i < n; i++) {
		size_t pages = 1 + (seed >> i) % 16;

		maps[i] = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] == MAP_FAILED) {
			maps[i] = NULL;
			continue;
		}
		((char *)maps[i])[0] = 1;
		if (pages > 2)
			mprotect((char *)maps[i] + PAGE, PAGE, PROT_READ);
	}
	for (i = 0; i < n; i += 2)
		if (maps[i])
			munmap(maps[i], PAGE);
}

static void storm_child(unsigned int seed)
{
	static char *const argv[] = { "true", NULL };

	churn_maps(seed);
	if (seed % 3 == 0) {
		execv("/bin/busybox", argv);
		_exit(127);
	}
	if (seed % 3 == 1)
		usleep(seed % 5000);
	_exit(0);
}

static void storm_worker(double end, unsigned int id)
{
	unsigned long forks = 0, execs = 0;
	unsigned int seed = id * 7919;

	while (now() < end) {
		pid_t pid;

		seed = seed * 1103515245 + 12345;
		churn_maps(seed >> 8);
		pid = fork();
		if (pid == 0)
			storm_child(seed >> 4);
		if (pid > 0) {
			forks++;
			execs += (seed >> 4) % 3 == 0;
			waitpid(pid, NULL, 0);
		}
	}
	printf("worker %u forks=%lu execs=%lu\n", id, forks, execs);
	exit(0);
}

#define CHURN_PAGES	4000

/* Split and merge VMAs of one mapping at random until end. */
static void churn_worker(double end)
{
	unsigned long changes = 0, i;
	unsigned int seed = 12345;
	char *p = mmap(NULL, CHURN_PAGES * PAGE, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	for (i = 1; i < CHURN_PAGES; i += 2)
		mprotect(p + i * PAGE, PAGE, PROT_NONE);
	while (now() < end) {
		seed = seed * 1103515245 + 12345;
		i = (seed >> 8) % CHURN_PAGES;
		mprotect(p + i * PAGE, PAGE * (1 + (seed >> 4) % 3),
			 (seed >> 2) & 1 ? PROT_READ : PROT_NONE);
		changes++;
	}
	printf("churn changes=%lu\n", changes);
	exit(0);
}

static int storm(double seconds, unsigned int workers)
{
	double end = now() + seconds;
	unsigned int i;

	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0)
			storm_worker(end, i);
	}
	if (fork() == 0)
		churn_worker(end);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	printf("done\n");
	return 0;
}

static int bigvmas(unsigned long vmas, unsigned long procs)
{
	unsigned long i;
	char *p;

	for (i = 1; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			for (;;)
				pause();
		}
	}
	p = mmap(NULL, vmas * PAGE, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (i = 1; i < vmas; i += 2)
		if (mprotect(p + i * PAGE, PAGE, PROT_NONE))
			die("mprotect (is vm.max_map_count high enough?)");
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "storm"))
		return storm(atof(argv[2]), strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "bigvmas"))
		return bigvmas(strtoul(argv[2], NULL, 0),
			       strtoul(argv[3], NULL, 0));
	fprintf(stderr, "usage: hw-stress storm SECONDS WORKERS | bigvmas VMAS PROCS\n");
	return 2;
}
