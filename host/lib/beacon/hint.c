// SPDX-License-Identifier: MIT
/*
 * The hint cache: where the index of a RAM file was found last time, so the
 * next run validates one page instead of scanning. Only a cache: anything
 * that goes wrong here is ignored, and a wrong hint fails validation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beacon.h"

#define HINT_MAGIC "haywire-hint 1"

static bool hint_dir(char *dir, size_t n)
{
	const char *env = getenv("HAYWIRE_HINT_DIR");
	int len;

	if (env && *env)
		len = snprintf(dir, n, "%s", env);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		len = snprintf(dir, n, "%s/haywire", env);
	else if ((env = getenv("HOME")) && *env)
		len = snprintf(dir, n, "%s/.cache/haywire", env);
	else
		return false;
	return len > 0 && (size_t)len < n;
}

/* One file per RAM file: its device, inode and size. */
static bool hint_file(const struct haywire_mem *mem, char *path, size_t n)
{
	char dir[PATH_MAX - 64];
	uint64_t dev, ino;
	int len;

	if (!haywire_mem_file_id(mem, &dev, &ino) ||
	    !hint_dir(dir, sizeof(dir)))
		return false;
	len = snprintf(path, n, "%s/ram-%llx-%llx-%llx", dir,
		       (unsigned long long)dev, (unsigned long long)ino,
		       (unsigned long long)haywire_mem_size(mem));
	return len > 0 && (size_t)len < n;
}

bool haywire_hint_load(const struct haywire_mem *mem,
		       struct haywire_hint *hint)
{
	char path[PATH_MAX], text[128];
	unsigned long long offset, nonce;
	ssize_t len;
	int fd;

	if (!hint_file(mem, path, sizeof(path)))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return false;
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len <= 0)
		return false;
	text[len] = '\0';
	if (sscanf(text, HINT_MAGIC " %llx %llx", &offset, &nonce) != 2)
		return false;
	hint->file_offset = offset;
	hint->nonce = nonce;
	return true;
}

/* mkdir -p, private to the user. */
static bool make_dirs(char *dir)
{
	char *slash;

	for (slash = strchr(dir + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return false;
		if (!slash)
			return true;
		*slash = '/';
	}
}

void haywire_hint_save(const struct haywire_mem *mem,
		       const struct haywire_hint *hint)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], text[128];
	char *slash;
	int fd, len;
	bool ok;

	if (!hint_file(mem, path, sizeof(path)))
		return;
	slash = strrchr(path, '/');
	*slash = '\0';
	ok = make_dirs(path);
	*slash = '/';
	if (!ok)
		return;
	/* Write a private file and rename it: readers never see half. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return;
	len = snprintf(text, sizeof(text), HINT_MAGIC " %llx %llx\n",
		       (unsigned long long)hint->file_offset,
		       (unsigned long long)hint->nonce);
	ok = write(fd, text, (size_t)len) == len;
	if (close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}
