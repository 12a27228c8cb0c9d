// SPDX-License-Identifier: MIT
/*
 * hw-burst N: N short-lived processes, one after the other: fork, exec
 * this program again as "hw-burst -c" (which exits at once), wait. Each
 * lives far less than a refresh interval, so only the event ring sees it.
 * Prints "burst PID N" when done (PID: the parent of them all).
 *
 * hw-burst -l N: fork+exit in a tight loop (no exec), for the probes' cost;
 * prints the nanoseconds per fork+exit+wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int child_exec(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		execl("/proc/self/exe", "hw-burst", "-c", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child %d failed (status 0x%x)\n", pid, status);
		return -1;
	}
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fork_loop(long n)
{
	long long t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	printf("%lld\n", (now_ns() - t0) / n);
	return 0;
}

int main(int argc, char **argv)
{
	long n, i;

	if (argc == 2 && !strcmp(argv[1], "-c"))
		return 0;
	if (argc == 3 && !strcmp(argv[1], "-l"))
		return fork_loop(atol(argv[2]) > 0 ? atol(argv[2]) : 1);
	if (argc != 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: hw-burst N | -c | -l N\n");
		return 2;
	}
	for (i = 0; i < n; i++)
		if (child_exec())
			return 1;
	printf("burst %d %ld\n", getpid(), n);
	return 0;
}
