// SPDX-License-Identifier: MIT
/*
 * hw-procread N: what a user-space companion does for the fields the
 * module publishes with protocol 1.3, N times: every process's
 * /proc/PID/stat, status (NSpid), cgroup and ns/pid, then /proc/meminfo,
 * /proc/stat, /proc/loadavg and /proc/uptime. Prints the median CPU time
 * (this process's, user + system) of one pass in ns, and the processes
 * seen.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static long read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	long n, total = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return total;
}

static int one_pass(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], link[64];
	int procs = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (read_file(path) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		read_file(path);
		snprintf(path, sizeof(path), "/proc/%s/cgroup", e->d_name);
		read_file(path);
		snprintf(path, sizeof(path), "/proc/%s/ns/pid", e->d_name);
		if (readlink(path, link, sizeof(link)) < 0)
			continue;
		procs++;
	}
	closedir(d);
	read_file("/proc/meminfo");
	read_file("/proc/stat");
	read_file("/proc/loadavg");
	read_file("/proc/uptime");
	return procs;
}

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, i, procs = 0;
	long long *t;

	if (n <= 0 || n > 10000) {
		fprintf(stderr, "usage: hw-procread N (1..10000)\n");
		return 2;
	}
	t = calloc(n, sizeof(*t));
	if (!t)
		return 1;
	for (i = 0; i < n; i++) {
		long long t0 = cpu_ns();

		procs = one_pass();
		t[i] = cpu_ns() - t0;
	}
	qsort(t, n, sizeof(*t), cmp);
	printf("%lld %d\n", t[n / 2], procs);
	return 0;
}
