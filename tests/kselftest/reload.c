// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-guest kselftest: the module is unloaded and loaded again several times
 * (delete_module, finit_module on /lib/modules/haywire.ko) while child
 * processes keep reading its debugfs files and its parameters; a file held
 * open across an unload either keeps the module (EBUSY) or reads -EIO
 * afterwards, never stale or freed memory; whatever a reader gets is whole
 * (a stats text with a generation, an index page with the magic); and the
 * kernel log has no warning, oops or leak report afterwards. The module is
 * left loaded with the parameters it had. tests/vm/vmtest.py runs `haywire
 * ps` on the host meanwhile. Written with the kernel's own harness
 * (kselftest_harness.h from Debian's linux-source, included at build time,
 * never copied); prints TAP.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "haywire_ksft.h"

#define RELOADS		10
#define READERS		3
/* delete_module is refused while a reader has a file open: retry, bounded */
#define UNLOAD_TRIES	3000
#define UNLOAD_PAUSE_US	10000

/* What the readers found, in memory shared with the parent. */
struct tally {
	unsigned long whole;	/* reads that returned a whole answer */
	unsigned long absent;	/* the module (or its files) not there */
	unsigned long bad;	/* anything else */
	char first_bad[160];
	int stop;
};

static const char *const reader_files[] = {
	HW_DEBUGFS "stats", HW_DEBUGFS "index", PARAMS "interval_ms",
	PARAMS "budget_ms", PARAMS "events",
};

static bool missing(int err)
{
	/*
	 * Before load or after unload; a file debugfs has taken away (EIO);
	 * or opened while the module is going, its files not yet removed
	 * (debugfs cannot take a reference on a going module: ENXIO).
	 */
	return err == -ENOENT || err == -ENODEV || err == -EIO ||
	       err == -ENXIO;
}

static void count_bad(struct tally *t, const char *path, const char *what)
{
	if (!t->bad++)
		snprintf(t->first_bad, sizeof(t->first_bad), "%s: %s", path,
			 what);
}

/* One read of path, judged. */
static void read_one(struct tally *t, const char *path)
{
	static char buf[8192];
	struct hw_index *idx = (struct hw_index *)buf;
	int err;

	if (!strcmp(path, HW_DEBUGFS "index")) {
		err = index_read(idx);
		if (!err && (idx->magic != HW_MAGIC || !idx->generation ||
			     idx->seq & 1)) {
			count_bad(t, path, "not a published index page");
			return;
		}
	} else {
		err = read_file(path, buf, sizeof(buf));
		if (!err && !strcmp(path, HW_DEBUGFS "stats") &&
		    strncmp(buf, "generation ", 11)) {
			count_bad(t, path, "no generation line first");
			return;
		}
		if (!err && strncmp(path, PARAMS, strlen(PARAMS)) == 0 &&
		    (buf[0] < '0' || buf[0] > '9')) {
			count_bad(t, path, "not a number");
			return;
		}
	}
	if (!err)
		t->whole++;
	else if (missing(err))
		t->absent++;
	else
		count_bad(t, path, strerror(-err));
}

static void reader(struct tally *t, int which)
{
	size_t i = which;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		read_one(t, reader_files[i++ % ARRAY_SIZE(reader_files)]);
		usleep(1000);
	}
	_exit(0);
}

static bool loaded(void)
{
	return access("/sys/module/haywire", F_OK) == 0;
}

/* delete_module, retried while a reader holds the module: 0 or errno. */
static int unload(void)
{
	int i;

	for (i = 0; i < UNLOAD_TRIES; i++) {
		if (!syscall(SYS_delete_module, "haywire", O_NONBLOCK))
			return 0;
		if (errno != EBUSY && errno != EAGAIN)
			return errno;
		usleep(UNLOAD_PAUSE_US);
	}
	return EBUSY;
}

static int load(const char *args)
{
	int fd = open(MODULE_FILE, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, args, 0))
		err = errno;
	close(fd);
	return err;
}

/* The parameters the module has now, as load arguments. */
static void current_args(char *args, size_t len)
{
	static const char *const names[] = {
		"interval_ms", "max_mb", "budget_ms", "poll_max_ms", "events",
	};
	char value[32];
	size_t i, at = 0;

	args[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!read_param(names[i], value, sizeof(value)))
			at += snprintf(args + at, len - at, "%s%s=%.*s",
				       at ? " " : "", names[i],
				       (int)strcspn(value, "\n"), value);
	if (!read_param("allow_read", value, sizeof(value)))
		snprintf(args + at, len - at, " allow_read=%c", value[0]);
}

/*
 * A debugfs file held open across an unload: the module stays (the
 * file's owner pins it), or the file reads -EIO once it is gone.
 */
TEST(open_file_across_unload)
{
	char args[256], buf[64];
	ssize_t n;
	int fd, err;

	ASSERT_TRUE(loaded());
	if (debugfs_unusable())
		SKIP(return, "%s", debugfs_unusable());
	current_args(args, sizeof(args));
	fd = open(HW_DEBUGFS "stats", O_RDONLY);
	ASSERT_LE(0, fd);
	err = syscall(SYS_delete_module, "haywire", O_NONBLOCK) ? errno : 0;
	if (err) {
		EXPECT_TRUE(err == EBUSY || err == EAGAIN)
			TH_LOG("delete_module: %s", strerror(err));
		EXPECT_TRUE(loaded());
		n = read(fd, buf, sizeof(buf));
		EXPECT_LT(0, n) TH_LOG("read on the held file: %s",
				       strerror(errno));
		TH_LOG("the open file kept the module (%s)", strerror(err));
	} else {
		EXPECT_FALSE(loaded());
		n = read(fd, buf, sizeof(buf));
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EIO, errno);
		TH_LOG("unloaded under an open file; it then reads %s",
		       n < 0 ? strerror(errno) : "data");
	}
	close(fd);
	if (loaded())
		ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(args)) TH_LOG("reload with '%s'", args);
}

TEST(reload_with_readers)
{
	struct tally *t[READERS];
	pid_t pid[READERS];
	unsigned long whole = 0, absent = 0;
	char args[256];
	int i, r, err;

	ASSERT_TRUE(loaded());
	current_args(args, sizeof(args));
	debugfs_unusable();	/* mounts debugfs; parameters are read anyway */
	for (r = 0; r < READERS; r++) {
		t[r] = mmap(NULL, sizeof(*t[r]), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, t[r]);
		pid[r] = fork();
		ASSERT_LE(0, pid[r]);
		if (!pid[r])
			reader(t[r], r);
	}

	for (i = 0; i < RELOADS; i++) {
		err = unload();
		EXPECT_EQ(0, err) TH_LOG("unload %d: %s", i, strerror(err));
		EXPECT_FALSE(loaded());
		usleep(50000);	/* the readers find nothing for a while */
		err = load(args);
		ASSERT_EQ(0, err) TH_LOG("load %d with '%s': %s", i, args,
					 strerror(err));
		usleep(200000);
	}

	for (r = 0; r < READERS; r++)
		__atomic_store_n(&t[r]->stop, 1, __ATOMIC_RELEASE);
	for (r = 0; r < READERS; r++) {
		ASSERT_EQ(pid[r], waitpid(pid[r], NULL, 0));
		EXPECT_EQ(0UL, t[r]->bad) TH_LOG("reader %d: %lu bad reads, first %s",
					       r, t[r]->bad, t[r]->first_bad);
		whole += t[r]->whole;
		absent += t[r]->absent;
	}
	TH_LOG("%d reloads; readers: %lu whole reads, %lu while unloaded",
	       RELOADS, whole, absent);
	EXPECT_LT(0UL, whole);
	EXPECT_TRUE(loaded());
}

TEST(kernel_log_clean)
{
	expect_kernel_log_clean(_metadata);
}

TEST_HARNESS_MAIN
