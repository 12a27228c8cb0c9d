// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest kselftest for the loaded haywire module, written with the
 * kernel's own harness (kselftest_harness.h from Debian's linux-source,
 * included from there at build time, never copied): its parameters refuse
 * bad values at runtime and keep the old one, accept good ones, max_mb
 * cannot be written, a second load is refused, and the kernel log has no
 * warning, oops or leak report. Run by tests/vm/vmtest.py in the guests that
 * run the lifecycle checks; prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define PARAMS "/sys/module/haywire/parameters/"

static int read_param(const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* 0, or the errno of the open or the write. */
static int write_param(const char *name, const char *value)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, value, strlen(value)) < 0)
		err = errno;
	close(fd);
	return err;
}

static const struct {
	const char *name, *good, *bad[6];
} ranged[] = {
	{ "interval_ms", "250", { "9", "3600001", "-1", "abc", "1 2", "4294967296" } },
	{ "budget_ms", "500", { "0", "60001", "-1", "1x", "1 2", "99999999999" } },
	{ "poll_max_ms", "20", { "0", "1001", "-5", "ten", "1 2", "0x100000000" } },
};

TEST(bad_values_refused_at_runtime)
{
	char before[32], after[32];
	size_t i, j;

	for (i = 0; i < sizeof(ranged) / sizeof(ranged[0]); i++) {
		ASSERT_EQ(0, read_param(ranged[i].name, before, sizeof(before)));
		for (j = 0; j < 6; j++) {
			EXPECT_EQ(EINVAL, write_param(ranged[i].name, ranged[i].bad[j]))
				TH_LOG("%s=%s accepted", ranged[i].name, ranged[i].bad[j]);
			ASSERT_EQ(0, read_param(ranged[i].name, after, sizeof(after)));
			EXPECT_STREQ(before, after);
		}
	}
}

TEST(good_values_accepted)
{
	char before[32], now[32];
	size_t i;

	for (i = 0; i < sizeof(ranged) / sizeof(ranged[0]); i++) {
		ASSERT_EQ(0, read_param(ranged[i].name, before, sizeof(before)));
		ASSERT_EQ(0, write_param(ranged[i].name, ranged[i].good));
		ASSERT_EQ(0, read_param(ranged[i].name, now, sizeof(now)));
		EXPECT_EQ(0, strncmp(now, ranged[i].good, strlen(ranged[i].good)));
		/* put the value the suite loaded the module with back */
		ASSERT_EQ(0, write_param(ranged[i].name, before));
	}
}

TEST(max_mb_read_only)
{
	char buf[32];

	ASSERT_EQ(0, read_param("max_mb", buf, sizeof(buf)));
	EXPECT_NE(0, write_param("max_mb", "8"));
}

/* The module is loaded: loading the file again is refused, bad values or not. */
TEST(second_load_refused)
{
	int fd = open("/lib/modules/haywire.ko", O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_NE(0, syscall(SYS_finit_module, fd, "interval_ms=5", 0));
	EXPECT_EQ(EEXIST, errno);
	close(fd);
}

TEST(kernel_log_clean)
{
	static char log[1 << 20];
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "Call Trace", "unreferenced object",
		"leak",
	};
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	size_t i;

	ASSERT_LE(0, n);
	log[n] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(NULL, strstr(log, bad[i]))
			TH_LOG("kernel log has pattern %zu", i);
}

TEST_HARNESS_MAIN
