// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw-pagemap PID ADDR LEN: the guest's own /proc/PID/pagemap entries for
 * the pages of [ADDR, ADDR + LEN), as JSON: {"pid", "entries": [[va,
 * entry], ...]} with every 64-bit entry as the kernel gives it (bit 63
 * present, 62 swapped, 0-54 the page frame number when present).
 * ADDR and LEN are decimal or 0x hexadecimal; at most 1 Mi pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE ((uint64_t)4096)
#define MAX_PAGES ((uint64_t)1 << 20)

static uint64_t number(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "hw-pagemap: '%s' is not a number\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t addr, len, first, pages, i, *entries;
	char path[64];
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: hw-pagemap PID ADDR LEN\n");
		return 2;
	}
	addr = number(argv[2]);
	len = number(argv[3]);
	first = addr / PAGE;
	pages = len ? (addr + len - 1) / PAGE - first + 1 : 0;
	if (pages > MAX_PAGES) {
		fprintf(stderr, "hw-pagemap: more than %llu pages\n",
			(unsigned long long)MAX_PAGES);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	fd = open(path, O_RDONLY);
	entries = calloc(pages + 1, sizeof(*entries));
	if (fd < 0 || !entries) {
		fprintf(stderr, "hw-pagemap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (pread(fd, entries, pages * 8, (off_t)(first * 8)) !=
	    (ssize_t)(pages * 8)) {
		fprintf(stderr, "hw-pagemap: reading %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	printf("{\"pid\": %s, \"entries\": [", argv[1]);
	for (i = 0; i < pages; i++)
		printf("%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "",
		       (first + i) * PAGE, entries[i]);
	printf("]}\n");
	return 0;
}
