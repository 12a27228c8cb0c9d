/* SPDX-License-Identifier: MIT */
/*
 * A minimal test harness for the host unit tests: CHECK macros that count
 * and report failures, RUN() that prints one TAP line per test function,
 * and helpers that turn a fixture into a RAM file (a sparse memfd).
 */
#ifndef HAYWIRE_CHECK_H
#define HAYWIRE_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "haywire.h"
#include "fixture.h"

static int check_failed;	/* in the current test */
static int tests_run, tests_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		check_failed++;						\
		printf("#   %s:%d: CHECK(%s) failed\n", __FILE__,	\
		       __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_U64(a, b) do {						\
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);		\
	if (a_ != b_) {							\
		check_failed++;						\
		printf("#   %s:%d: %s = 0x%" PRIx64 ", want %s = 0x%"	\
		       PRIx64 "\n", __FILE__, __LINE__, #a, a_, #b, b_); \
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (!a_ || strcmp(a_, b_)) {					\
		check_failed++;						\
		printf("#   %s:%d: %s = \"%s\", want \"%s\"\n", __FILE__, \
		       __LINE__, #a, a_ ? a_ : "(null)", b_);		\
	}								\
} while (0)

/* A library call's result code, with its message when it is not `want`. */
#define CHECK_RC(call, want, err) do {					\
	int rc_ = (call);						\
	if (rc_ != (int)(want)) {					\
		check_failed++;						\
		printf("#   %s:%d: %s returned %s, want %s: %s\n",	\
		       __FILE__, __LINE__, #call,			\
		       haywire_code_name(rc_), haywire_code_name(want), \
		       rc_ ? (err)->msg : "");				\
	}								\
} while (0)

#define CHECK_MSG(err, text) do {					\
	if (!strstr((err)->msg, (text))) {				\
		check_failed++;						\
		printf("#   %s:%d: message \"%s\" lacks \"%s\"\n",	\
		       __FILE__, __LINE__, (err)->msg, (text));		\
	}								\
} while (0)

#define RUN(fn) do {							\
	check_failed = 0;						\
	fn();								\
	tests_run++;							\
	if (check_failed)						\
		tests_failed++;						\
	printf("%s %d - %s\n", check_failed ? "not ok" : "ok",		\
	       tests_run, #fn);						\
	fflush(stdout);							\
} while (0)

static inline int check_done(void)
{
	printf("1..%d\n", tests_run);
	return tests_failed ? 1 : 0;
}

/* A fixture written into a fresh sparse memfd; exits on failure. */
static inline int image_fd(const struct fixture *f,
			   struct fixture_layout *lay)
{
	char msg[256];
	int fd = memfd_create("haywire-test", MFD_CLOEXEC);

	if (fd < 0 || fixture_write(f, fd, lay, msg, sizeof(msg))) {
		printf("# fixture: %s\n", fd < 0 ? "memfd_create" : msg);
		exit(1);
	}
	return fd;
}

static inline struct haywire_mem *open_fd(int fd)
{
	struct haywire_error err;
	struct haywire_mem *mem;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	mem = haywire_mem_open(path, &err);
	if (!mem) {
		printf("# open %s: %s\n", path, err.msg);
		exit(1);
	}
	return mem;
}

/* An image and its mapping; close both with close_image(). */
struct image {
	int fd;
	struct haywire_mem *mem;
	struct fixture_layout lay;
};

static inline void open_image(struct image *im, const struct fixture *f)
{
	im->fd = image_fd(f, &im->lay);
	im->mem = open_fd(im->fd);
}

static inline void close_image(struct image *im)
{
	haywire_mem_close(im->mem);
	close(im->fd);
}

#endif /* HAYWIRE_CHECK_H */
