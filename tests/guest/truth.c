// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw-truth: the guest's own view of its processes, from /proc, as one JSON
 * document on stdout. The VM tests compare what the host reads from the
 * beacon against this.
 *
 * {"boot_ns_start", "boot_ns_end": CLOCK_BOOTTIME around the walk,
 *  "clk_tck", "self_pid",
 *  "processes": [{"pid", "comm", "state", "ppid", "flags", "starttime",
 *                 "uid", "gid", "euid", "egid", "threads", "vmsize_kb",
 *                 "vmrss_kb", "has_mm", "exe", "comm_file",
 *                 "maps": null | [{"start", "end", "perms", "offset",
 *                                  "dev_major", "dev_minor", "inode",
 *                                  "path", "line"}]}]}
 *
 * Processes that vanish while being read are skipped quietly.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define PROC_FILE_MAX (16 << 20)	/* 200,000 maps lines */

static long long boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Read a whole /proc file; NULL if it cannot be read (the process went). */
static char *read_proc_file(int pid, const char *name, size_t *len_out)
{
	char path[64];
	FILE *f;
	char *buf;
	size_t len = 0, got;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	buf = malloc(PROC_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	while ((got = fread(buf + len, 1, PROC_FILE_MAX - len, f)) > 0)
		len += got;
	if (ferror(f) || len == PROC_FILE_MAX) {
		if (len == PROC_FILE_MAX)
			fprintf(stderr, "hw-truth: %s larger than %d bytes\n",
				path, PROC_FILE_MAX);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

static void add_int(struct json_object *obj, const char *key, long long v)
{
	json_object_object_add(obj, key, json_object_new_int64(v));
}

static void add_str(struct json_object *obj, const char *key, const char *s,
		    size_t len)
{
	json_object_object_add(obj, key, json_object_new_string_len(s, len));
}

/*
 * /proc/PID/stat: "pid (comm) state ppid pgrp session tty tpgid flags ...".
 * comm may contain spaces and parentheses: it ends at the LAST ')'.
 */
static int parse_stat(int pid, struct json_object *p)
{
	char *buf = read_proc_file(pid, "stat", NULL);
	char *open, *close, *field[20];
	char *save = NULL, *tok;
	int n = 0;

	if (!buf)
		return -1;
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open) {
		free(buf);
		return -1;
	}
	add_str(p, "comm", open + 1, close - open - 1);
	for (tok = strtok_r(close + 1, " \n", &save); tok && n < 20;
	     tok = strtok_r(NULL, " \n", &save))
		field[n++] = tok;
	if (n < 20) {
		free(buf);
		return -1;
	}
	/* field[0] is stat field 3 (state); starttime is field 22 */
	add_str(p, "state", field[0], strlen(field[0]));
	add_int(p, "ppid", strtoll(field[1], NULL, 10));
	add_int(p, "flags", strtoll(field[6], NULL, 10));
	add_int(p, "starttime", strtoll(field[19], NULL, 10));
	free(buf);
	return 0;
}

/* /proc/PID/status: ids, thread count and memory sizes. */
static int parse_status(int pid, struct json_object *p)
{
	char *buf = read_proc_file(pid, "status", NULL);
	char *line, *save = NULL;
	long long uid[2] = { -1, -1 }, gid[2] = { -1, -1 };
	long long threads = -1, vmsize = 0, vmrss = 0;
	int has_mm = 0;

	if (!buf)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Uid: %lld %lld", &uid[0], &uid[1]) == 2)
			continue;
		if (sscanf(line, "Gid: %lld %lld", &gid[0], &gid[1]) == 2)
			continue;
		if (sscanf(line, "Threads: %lld", &threads) == 1)
			continue;
		if (sscanf(line, "VmSize: %lld", &vmsize) == 1) {
			has_mm = 1;
			continue;
		}
		sscanf(line, "VmRSS: %lld", &vmrss);
	}
	free(buf);
	if (uid[0] < 0 || gid[0] < 0 || threads < 0)
		return -1;
	add_int(p, "uid", uid[0]);
	add_int(p, "euid", uid[1]);
	add_int(p, "gid", gid[0]);
	add_int(p, "egid", gid[1]);
	add_int(p, "threads", threads);
	add_int(p, "vmsize_kb", vmsize);
	add_int(p, "vmrss_kb", vmrss);
	json_object_object_add(p, "has_mm", json_object_new_boolean(has_mm));
	return has_mm;
}

static void add_exe(int pid, struct json_object *p)
{
	char path[64], target[8192];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, target, sizeof(target));
	if (n < 0 || n == (ssize_t)sizeof(target))
		json_object_object_add(p, "exe", NULL);
	else
		add_str(p, "exe", target, n);
}

/*
 * One line of /proc/PID/maps:
 * "start-end perms offset major:minor inode<padding>path".
 */
static struct json_object *parse_maps_line(const char *line)
{
	unsigned long long start, end, offset, inode;
	unsigned int major, minor;
	char perms[5];
	int used = 0;
	const char *path;
	struct json_object *v;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end,
		   perms, &offset, &major, &minor, &inode, &used) != 7)
		return NULL;
	path = line + used;
	while (*path == ' ')
		path++;
	v = json_object_new_object();
	add_int(v, "start", start);
	add_int(v, "end", end);
	add_str(v, "perms", perms, strlen(perms));
	add_int(v, "offset", offset);
	add_int(v, "dev_major", major);
	add_int(v, "dev_minor", minor);
	add_int(v, "inode", inode);
	add_str(v, "path", path, strlen(path));
	add_str(v, "line", line, strlen(line));
	return v;
}

static int add_maps(int pid, struct json_object *p)
{
	char *buf = read_proc_file(pid, "maps", NULL);
	char *line, *save = NULL;
	struct json_object *maps;

	if (!buf)
		return -1;
	maps = json_object_new_array();
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct json_object *v = parse_maps_line(line);

		if (!v) {
			fprintf(stderr, "hw-truth: pid %d: bad maps line: %s\n",
				pid, line);
			json_object_put(maps);
			free(buf);
			return -1;
		}
		json_object_array_add(maps, v);
	}
	free(buf);
	json_object_object_add(p, "maps", maps);
	return 0;
}

/* Everything about one process, or NULL if it vanished while being read. */
static struct json_object *read_process(int pid)
{
	struct json_object *p = json_object_new_object();
	size_t len;
	char *comm;
	int has_mm;

	add_int(p, "pid", pid);
	if (parse_stat(pid, p) < 0)
		goto gone;
	has_mm = parse_status(pid, p);
	if (has_mm < 0)
		goto gone;
	add_exe(pid, p);
	comm = read_proc_file(pid, "comm", &len);
	if (!comm)
		goto gone;
	if (len && comm[len - 1] == '\n')
		len--;
	add_str(p, "comm_file", comm, len);
	free(comm);
	if (has_mm) {
		if (add_maps(pid, p) < 0)
			goto gone;
	} else {
		json_object_object_add(p, "maps", NULL);
	}
	return p;
gone:
	json_object_put(p);
	return NULL;
}

static int compare_pids(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct json_object *root = json_object_new_object();
	struct json_object *procs = json_object_new_array();
	int self = getpid();
	int *pids = NULL;
	size_t npids = 0, cap = 0, i;
	struct dirent *de;
	DIR *dir;

	add_int(root, "boot_ns_start", boottime_ns());
	add_int(root, "clk_tck", sysconf(_SC_CLK_TCK));
	add_int(root, "self_pid", self);
	dir = opendir("/proc");
	if (!dir) {
		perror("hw-truth: /proc");
		return 1;
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid == self)
			continue;
		if (npids == cap) {
			cap = cap ? 2 * cap : 1024;
			pids = realloc(pids, cap * sizeof(*pids));
			if (!pids) {
				perror("hw-truth");
				return 1;
			}
		}
		pids[npids++] = pid;
	}
	closedir(dir);
	qsort(pids, npids, sizeof(*pids), compare_pids);
	for (i = 0; i < npids; i++) {
		struct json_object *p = read_process(pids[i]);

		if (p)
			json_object_array_add(procs, p);
	}
	free(pids);
	json_object_object_add(root, "processes", procs);
	add_int(root, "boot_ns_end", boottime_ns());
	if (puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN)) < 0 ||
	    fflush(stdout)) {
		perror("hw-truth: stdout");
		return 1;
	}
	json_object_put(root);
	return 0;
}
