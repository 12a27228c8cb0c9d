// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest kselftest: the module's statistics (debugfs haywire/stats) agree
 * with the index it publishes (debugfs haywire/index, the page the host
 * reads), and move as they should across a refresh forced by writing
 * interval_ms. Written with the kernel's own harness (kselftest_harness.h
 * from Debian's linux-source, included at build time, never copied). SKIP
 * when debugfs cannot be read (no CONFIG_DEBUG_FS, debugfs=off, lockdown).
 * Run by tests/vm/vmtest.py in the guests that run the lifecycle checks,
 * with the module loaded; prints TAP.
 */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "haywire_ksft.h"

/* Bounds on waits for a refresh; generous: guests may run under TCG. */
#define REFRESH_WAIT_S	120
#define VIEW_TRIES	200
#define FROZEN_MS	"3600000"	/* no refresh but the forced ones */

struct view {
	struct hw_stats_text st;
	struct hw_index idx;
};

/*
 * Stats, the index, stats again, until the three name one generation:
 * both files are copied between two refreshes, so they then describe the
 * same one. 0 or -errno (-EAGAIN: the generation never held still).
 */
static int consistent_view(struct view *v)
{
	struct hw_stats_text again;
	int tries, err;

	for (tries = 0; tries < VIEW_TRIES; tries++) {
		err = stats_read(&v->st);
		if (!err)
			err = index_read(&v->idx);
		if (!err)
			err = stats_read(&again);
		if (err)
			return err;
		if (stat_of(&v->st, "generation") == (long long)v->idx.generation &&
		    stat_of(&again, "generation") == (long long)v->idx.generation)
			return 0;
		usleep(10000);
	}
	return -EAGAIN;
}

static long long gen_now(void)
{
	struct hw_stats_text st;

	return stats_read(&st) ? -1 : stat_of(&st, "generation");
}

/* Wait for a generation past after; the view of it, or -errno. */
static int wait_past(long long after, struct view *v)
{
	int i, err;

	for (i = 0; i < REFRESH_WAIT_S * 100; i++) {
		if (gen_now() > after) {
			err = consistent_view(v);
			if (err || (long long)v->idx.generation > after)
				return err;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long long param_value(const char *name)
{
	char buf[32];

	return read_param(name, buf, sizeof(buf)) ? -1 : strtoll(buf, NULL, 0);
}

#define SKIP_WITHOUT_DEBUGFS() do { \
	const char *why = debugfs_unusable(); \
	if (why) \
		SKIP(return, "%s", why); \
} while (0)

#define S(v, name) stat_of(&(v)->st, name)

TEST(stats_agree_with_index)
{
	unsigned long long extents = 0;
	struct utsname uts;
	struct view v;
	__u32 i;

	SKIP_WITHOUT_DEBUGFS();
	ASSERT_EQ(0, consistent_view(&v));
	ASSERT_EQ(0, uname(&uts));

	/* identity: what the host checks first */
	EXPECT_EQ(HW_MAGIC, v.idx.magic);
	EXPECT_EQ(HW_VERSION_MAJOR, (int)v.idx.version_major);
	EXPECT_EQ((unsigned int)HW_INDEX_SIZE, v.idx.index_size);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), v.idx.page_size);
	EXPECT_STREQ(uts.release, v.idx.kernel_release);
	EXPECT_EQ(0U, v.idx.seq & 1);
	EXPECT_LE(1ULL, v.idx.generation);

	/* the module's counters and the index of the same refresh */
	EXPECT_EQ((long long)v.idx.generation, S(&v, "refreshes"));
	EXPECT_EQ(section_count(&v.idx, HW_SEC_PROCS), S(&v, "last_procs"));
	EXPECT_EQ(section_count(&v.idx, HW_SEC_VMAS), S(&v, "last_vmas"));
	EXPECT_EQ(section_count(&v.idx, HW_SEC_STRINGS), S(&v, "string_bytes"));
	EXPECT_LE(S(&v, "last_procs"), (long long)v.idx.procs_total);
	EXPECT_LE(S(&v, "last_vmas"), (long long)v.idx.vmas_total);
	EXPECT_EQ(param_value("interval_ms"), (long long)v.idx.interval_ms);
	EXPECT_EQ(param_value("poll_max_ms"), (long long)v.idx.poll_max_ms);
	if (param_value("events") > 0)
		EXPECT_EQ(param_value("events"),
			  section_count(&v.idx, HW_SEC_EVENTS));

	/* flags are explained by the counters */
	if (v.idx.flags & HW_IF_STALLED)
		EXPECT_LT(0, S(&v, "stalls"));
	if (v.idx.flags & HW_IF_TRUNCATED)
		EXPECT_LT(0, S(&v, "truncations"));
	if (v.idx.flags & HW_IF_BUDGET)
		EXPECT_LT(0, S(&v, "budget_overruns"));

	/* the beacon's extents: sizes add up, growth is counted */
	ASSERT_LE(1U, v.idx.extent_count);
	ASSERT_GE((unsigned int)HW_MAX_EXTENTS, v.idx.extent_count);
	for (i = 0; i < v.idx.extent_count; i++)
		extents += v.idx.extents[i].size;
	EXPECT_EQ(v.idx.logical_size, extents);
	EXPECT_GT((long long)v.idx.extent_count, S(&v, "grow_events"));

	/* times: the last refresh is within the totals */
	EXPECT_LE(S(&v, "last_refresh_ns"), S(&v, "max_refresh_ns"));
	EXPECT_LE(S(&v, "max_refresh_ns"), S(&v, "refresh_ns_total"));
	EXPECT_LE(S(&v, "last_max_hold_ns"), S(&v, "max_hold_ns"));
	EXPECT_LT(0, S(&v, "request_polls"));
	EXPECT_LE(S(&v, "requests_failed"), S(&v, "requests_answered"));
	EXPECT_LE(S(&v, "events_overwritten"), S(&v, "events_written"));
}

TEST(forced_refresh_moves_numbers)
{
	unsigned long long t0;
	long long interval, g0;
	struct view a, b;
	char old[32];
	pid_t child;

	SKIP_WITHOUT_DEBUGFS();
	interval = param_value("interval_ms");
	ASSERT_LT(0, interval);
	snprintf(old, sizeof(old), "%lld", interval);

	/* Only forced refreshes from here on: writing interval_ms is one. */
	g0 = gen_now();
	ASSERT_LE(1, g0);
	ASSERT_EQ(0, write_param("interval_ms", FROZEN_MS));
	ASSERT_EQ(0, wait_past(g0, &a))
		TH_LOG("no refresh in %d s after writing interval_ms",
		       REFRESH_WAIT_S);
	EXPECT_EQ(strtoll(FROZEN_MS, NULL, 10), (long long)a.idx.interval_ms);

	/* a process is born and exits: two events (when the ring is on) */
	child = fork();
	if (!child)
		_exit(0);
	ASSERT_LT(0, child);
	ASSERT_EQ(child, waitpid(child, NULL, 0));

	t0 = mono_ns();
	ASSERT_EQ(0, write_param("interval_ms", FROZEN_MS));
	ASSERT_EQ(0, wait_past(a.idx.generation, &b))
		TH_LOG("no refresh in %d s after writing interval_ms",
		       REFRESH_WAIT_S);

	/* exactly one refresh, and its figures added to the totals */
	EXPECT_EQ(a.idx.generation + 1, b.idx.generation);
	EXPECT_EQ(S(&a, "refreshes") + 1, S(&b, "refreshes"));
	EXPECT_EQ(S(&a, "refresh_ns_total") + S(&b, "last_refresh_ns"),
		  S(&b, "refresh_ns_total"));
	EXPECT_EQ(S(&a, "max_refresh_ns") > S(&b, "last_refresh_ns") ?
		  S(&a, "max_refresh_ns") : S(&b, "last_refresh_ns"),
		  S(&b, "max_refresh_ns"));
	EXPECT_EQ(param_value("budget_ms") * 1000000, S(&b, "budget_ns"));
	EXPECT_LE(S(&a, "stalls"), S(&b, "stalls"));

	/* published after the write, by the same load of the module */
	EXPECT_LT(t0, b.idx.publish_mono_ns);
	EXPECT_GE(mono_ns(), b.idx.publish_mono_ns);
	EXPECT_LT(a.idx.publish_mono_ns, b.idx.publish_mono_ns);
	EXPECT_EQ(a.idx.nonce, b.idx.nonce);
	EXPECT_EQ(a.idx.self_gpa, b.idx.self_gpa);
	EXPECT_EQ(a.idx.load_real_ns, b.idx.load_real_ns);

	/* the other threads went on meanwhile */
	EXPECT_LE(S(&a, "request_polls"), S(&b, "request_polls"));
	if (param_value("events") > 0)
		EXPECT_LE(S(&a, "events_written") + 2, S(&b, "events_written"));

	ASSERT_EQ(0, write_param("interval_ms", old));
}

/* The request thread looks at the ring (poll_max_ms apart when idle). */
TEST(request_thread_polls)
{
	unsigned long long t0, t1;
	struct hw_stats_text st;
	long long p0, p1 = -1;
	int i;

	SKIP_WITHOUT_DEBUGFS();
	ASSERT_EQ(0, stats_read(&st));
	p0 = stat_of(&st, "request_polls");
	ASSERT_LE(0, p0);
	t0 = mono_ns();
	/* a bound for a hang, not a timing: REFRESH_WAIT_S */
	for (i = 0; i < REFRESH_WAIT_S * 10; i++) {
		usleep(100000);
		ASSERT_EQ(0, stats_read(&st));
		p1 = stat_of(&st, "request_polls");
		if (p1 > p0 + 10)
			break;
	}
	t1 = mono_ns();
	EXPECT_LT(p0 + 10, p1) TH_LOG("request_polls stuck at %lld", p1);
	TH_LOG("request_polls: %lld in %llu ms (poll_max_ms %lld)", p1 - p0,
	       (t1 - t0) / 1000000, param_value("poll_max_ms"));
}

TEST_HARNESS_MAIN
