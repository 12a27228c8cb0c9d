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
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "haywire_ksft.h"

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
	int fd = open(MODULE_FILE, O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_NE(0, syscall(SYS_finit_module, fd, "interval_ms=5", 0));
	EXPECT_EQ(EEXIST, errno);
	close(fd);
}

TEST(kernel_log_clean)
{
	expect_kernel_log_clean(_metadata);
}

TEST_HARNESS_MAIN
