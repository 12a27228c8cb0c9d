/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the in-guest kselftests share: the module's parameters (sysfs), its
 * debugfs files (haywire/stats, haywire/index: docs/debugfs.md) and the
 * kernel log check. Include after kselftest_harness.h.
 */
#ifndef HAYWIRE_KSFT_H
#define HAYWIRE_KSFT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <unistd.h>

#include "haywire_protocol.h"

#define PARAMS "/sys/module/haywire/parameters/"
#define DEBUGFS "/sys/kernel/debug"
#define HW_DEBUGFS DEBUGFS "/haywire/"
#define MODULE_FILE "/lib/modules/haywire.ko"

/* The whole of a small file into buf (NUL-terminated): 0 or -errno. */
static inline int read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

static inline int read_param(const char *name, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return read_file(path, buf, len);
}

/* 0, or the errno of the open or the write. */
static inline int write_param(const char *name, const char *value)
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

/*
 * Whether the module's debugfs files can be read here: NULL, or why not
 * (for SKIP). Mounts debugfs if nobody has.
 */
static inline const char *debugfs_unusable(void)
{
	static char why[160], cmdline[4096];
	char lockdown[96] = "";
	const char *setting;
	int fd;

	/* debugfs=off (or on, no-mount) on the command line, since 5.10 */
	setting = read_file("/proc/cmdline", cmdline, sizeof(cmdline)) ? NULL :
		  strstr(cmdline, "debugfs=");
	if (access(DEBUGFS, F_OK)) {
		snprintf(why, sizeof(why), "no " DEBUGFS " (%s%.*s)",
			 setting ? "kernel command line: " :
				   "kernel without CONFIG_DEBUG_FS",
			 setting ? (int)strcspn(setting, " \n") : 0,
			 setting ? setting : "");
		return why;
	}
	if (access(HW_DEBUGFS, F_OK) &&
	    mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY) {
		snprintf(why, sizeof(why), "cannot mount debugfs: %s",
			 strerror(errno));
		return why;
	}
	if (access(HW_DEBUGFS, F_OK)) {
		snprintf(why, sizeof(why), "no " HW_DEBUGFS " (%s%.*s)",
			 setting ? "kernel command line: " :
				   "the module could not create it",
			 setting ? (int)strcspn(setting, " \n") : 0,
			 setting ? setting : "");
		return why;
	}
	fd = open(HW_DEBUGFS "stats", O_RDONLY);
	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	read_file("/sys/kernel/security/lockdown", lockdown, sizeof(lockdown));
	snprintf(why, sizeof(why), "debugfs restricted: %s (lockdown: %.*s)",
		 strerror(errno), (int)strcspn(lockdown, "\n"),
		 *lockdown ? lockdown : "unknown");
	return why;
}

/* The module's figures: haywire/stats, "name value" per line. */
struct hw_stats_text {
	char text[4096];
};

static inline int stats_read(struct hw_stats_text *s)
{
	return read_file(HW_DEBUGFS "stats", s->text, sizeof(s->text));
}

/* The value of name (a line "name value"), or -1 when there is none. */
static inline long long stat_of(const struct hw_stats_text *s,
				const char *name)
{
	size_t len = strlen(name);
	const char *line = s->text;

	while (line && *line) {
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 0);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* haywire/index: the published index page; 0 or -errno (-EIO: short). */
static inline int index_read(struct hw_index *idx)
{
	ssize_t n;
	int fd = open(HW_DEBUGFS "index", O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, idx, sizeof(*idx));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : n == sizeof(*idx) ? 0 : -EIO;
}

/* The count of the index's section of kind, or -1 when it has none. */
static inline long long section_count(const struct hw_index *idx, __u32 kind)
{
	__u32 i;

	for (i = 0; i < idx->section_count && i < HW_MAX_SECTIONS; i++)
		if (idx->sections[i].kind == kind)
			return idx->sections[i].count;
	return -1;
}

/* The kernel log has no warning, oops or leak report. */
static inline void expect_kernel_log_clean(struct __test_metadata *_metadata)
{
	static char log[1 << 20];
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "Call Trace", "unreferenced object",
		"leak",
	};
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	size_t i;
	char *at;

	ASSERT_LE(0, n);
	log[n] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at = strstr(log, bad[i]);
		EXPECT_EQ(NULL, at)
			TH_LOG("kernel log: %.*s", (int)strcspn(at, "\n"), at);
	}
}

#endif /* HAYWIRE_KSFT_H */
