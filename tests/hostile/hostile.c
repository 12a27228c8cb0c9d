// SPDX-License-Identifier: MIT
/*
 * hostile: what a hostile guest user does to a RAM file, for
 * tests/hostile/run.sh (beacons themselves come from tests/unit/mkbeacon).
 *
 *   hostile flood FILE FROM N
 *       copy the index at file offset FROM to the first N free 2 MiB
 *       offsets (not FROM's extent), each made busy for ever: odd seq for
 *       even-numbered copies, generation 0 for odd-numbered ones
 *   hostile bump FILE OFFSET US
 *       every US microseconds, publish again at the index at OFFSET (seq
 *       odd, then even: generation and seq move on) until killed
 *   hostile rss LIMIT_KB CMD [ARGS...]
 *       run CMD (stdout to /dev/null), print "exit=N maxrss_kb=K" and exit
 *       1 if its peak RSS (wait4) exceeds LIMIT_KB, else CMD's status
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haywire_protocol.h"
#include "../unit/fixture.h"

#define EXTENT (2ULL << 20)

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static uint64_t number(const char *s)
{
	return fixture_number("hostile", s);
}

static void pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("pread");
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("pwrite");
}

static int flood(const char *path, uint64_t from, uint64_t n)
{
	struct hw_index ix;
	uint64_t magic, at, end, made = 0;
	struct stat st;
	int fd = open(path, O_RDWR);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	pread_all(fd, &ix, sizeof(ix), from);
	if (ix.magic != HW_MAGIC) {
		fprintf(stderr, "hostile: no index at 0x%" PRIx64 "\n", from);
		return 2;
	}
	end = from + ix.logical_size;	/* one extent in the fixtures */
	for (at = 0; made < n && at + EXTENT <= (uint64_t)st.st_size;
	     at += EXTENT) {
		if (at >= from && at < end)
			continue;
		pread_all(fd, &magic, sizeof(magic), at);
		if (magic == HW_MAGIC)
			continue;
		ix.nonce = 0xf100d000 + made;
		if (made % 2) {
			ix.seq = 0;
			ix.generation = 0;
		} else {
			ix.seq = 7;
		}
		pwrite_all(fd, &ix, sizeof(ix), at);
		made++;
	}
	close(fd);
	if (made < n) {
		fprintf(stderr, "hostile: room for %" PRIu64 " of %" PRIu64
			" pages\n", made, n);
		return 2;
	}
	return 0;
}

static int bump(const char *path, uint64_t offset, uint64_t us)
{
	struct timespec pause = { (time_t)(us / 1000000),
				  (long)(us % 1000000) * 1000 };
	int fd = open(path, O_RDWR);
	struct hw_index *ix;
	void *map;

	if (fd < 0)
		die(path);
	map = mmap(NULL, HW_INDEX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, (off_t)offset);
	if (map == MAP_FAILED)
		die("mmap");
	ix = map;
	for (;;) {
		/* As the module publishes: odd, the fields, even. */
		__atomic_store_n(&ix->seq, ix->seq | 1, __ATOMIC_RELEASE);
		ix->generation++;
		__atomic_store_n(&ix->seq, ix->seq + 1, __ATOMIC_RELEASE);
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int rss(uint64_t limit_kb, char **argv)
{
	struct rusage ru;
	int status, code;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0)
			die("/dev/null");
		execvp(argv[0], argv);
		die(argv[0]);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4");
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
	printf("exit=%d maxrss_kb=%ld limit_kb=%" PRIu64 "\n", code,
	       ru.ru_maxrss, limit_kb);
	if ((uint64_t)ru.ru_maxrss > limit_kb)
		return 1;
	return code;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "flood"))
		return flood(argv[2], number(argv[3]), number(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "bump"))
		return bump(argv[2], number(argv[3]), number(argv[4]));
	if (argc >= 4 && !strcmp(argv[1], "rss"))
		return rss(number(argv[2]), argv + 3);
	fputs("usage: hostile flood FILE FROM N | bump FILE OFFSET US | rss LIMIT_KB CMD...\n",
	      stderr);
	return 2;
}
