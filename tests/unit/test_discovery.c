// SPDX-License-Identifier: MIT
/*
 * Opening RAM files and finding the beacon: what is not a RAM file, the
 * scan (sparse and dense files), hints (valid, stale, wrong), several
 * candidates, HWGONE!! pages, version and busy candidates, SIGBUS, and
 * the hint cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "check.h"

#define MIB (UINT64_C(1) << 20)

static char tmpdir[] = "/tmp/haywire-unit-XXXXXX";

static struct haywire_beacon *discover(struct haywire_mem *mem,
				       const struct haywire_hint *hint,
				       struct haywire_error *err)
{
	struct haywire_opts opts = { .hint = hint };

	return haywire_discover(mem, &opts, err);
}

static void write_file(const char *path, size_t size, int fill)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *buf = malloc(size + 1);

	memset(buf, fill, size + 1);
	CHECK(fd >= 0 && write(fd, buf, size) == (ssize_t)size);
	close(fd);
	free(buf);
}

static void expect_open(const char *path, enum haywire_code code,
			const char *text)
{
	struct haywire_error err;
	struct haywire_mem *mem = haywire_mem_open(path, &err);

	CHECK(!mem == (code != HAYWIRE_OK));
	if (mem) {
		haywire_mem_close(mem);
		return;
	}
	CHECK_U64(err.code, code);
	CHECK_MSG(&err, text);
	CHECK(!strchr(err.msg, '\n'));
}

static void test_not_ram(void)
{
	char path[256];
	struct haywire_error err;
	static char buf[3 * MIB];

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	expect_open(path, HAYWIRE_E_FILE, "No such file or directory");
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	write_file(path, 0, 0);
	expect_open(path, HAYWIRE_E_NOT_RAM, "is empty");
	snprintf(path, sizeof(path), "%s/one", tmpdir);
	write_file(path, 1, 'x');
	expect_open(path, HAYWIRE_E_NOT_RAM, "only 1 bytes");
	snprintf(path, sizeof(path), "%s/odd", tmpdir);
	write_file(path, 2 * MIB + 1, 0);
	expect_open(path, HAYWIRE_E_NOT_RAM, "not a multiple of 4096");
	snprintf(path, sizeof(path), "%s/ok", tmpdir);
	write_file(path, 2 * MIB, 0);
	expect_open(path, HAYWIRE_OK, "");
	expect_open(tmpdir, HAYWIRE_E_NOT_RAM, "is a directory");
	/* A FIFO must neither hang nor pass. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	CHECK(mkfifo(path, 0600) == 0);
	expect_open(path, HAYWIRE_E_NOT_RAM, "not a regular file");
	expect_open("", HAYWIRE_E_INVALID, "no RAM file");

	CHECK(!haywire_mem_from_buffer(buf, 0, &err));
	CHECK_U64(err.code, HAYWIRE_E_NOT_RAM);
	CHECK(!haywire_mem_from_buffer(buf, 4096, &err));
	CHECK_U64(err.code, HAYWIRE_E_NOT_RAM);
	CHECK(!haywire_mem_from_buffer(buf, 2 * MIB + 8, &err));
	CHECK_U64(err.code, HAYWIRE_E_NOT_RAM);
	CHECK(!haywire_mem_from_buffer(NULL, 2 * MIB, &err));
	CHECK_U64(err.code, HAYWIRE_E_INVALID);
}

/* Only 2 MiB offsets with data are probed; holes are skipped. */
static void test_scan_sparse_and_dense(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	const struct haywire_location *loc;

	fixture_defaults(&f);
	f.index_offset = 40 * MIB;
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(b);
	loc = haywire_beacon_location(b);
	CHECK_U64(loc->file_offset, 40 * MIB);
	/* 0 (a hole: SEEK_DATA jumps), the beacon, the hole after it */
	CHECK_U64(loc->probes, 3);
	CHECK_U64(loc->candidates, 1);
	CHECK(!loc->hint_used);
	CHECK_U64(loc->nonce, f.nonce);
	haywire_beacon_free(b);
	close_image(&im);

	f.junk = true;		/* every 2 MiB offset holds data */
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_U64(haywire_beacon_location(b)->probes, 32);
	CHECK_U64(haywire_beacon_location(b)->file_offset, 40 * MIB);
	haywire_beacon_free(b);
	close_image(&im);

	/* A caller's buffer has no holes: every offset is probed. */
	{
		char *buf = calloc(1, 8 * MIB);
		struct haywire_mem *mem = haywire_mem_from_buffer(buf, 8 * MIB,
								  &err);

		b = discover(mem, NULL, &err);
		CHECK(!b);
		CHECK_U64(err.code, HAYWIRE_E_NO_BEACON);
		CHECK_MSG(&err, "4 offsets probed");
		CHECK_MSG(&err, "modprobe haywire");
		haywire_mem_close(mem);
		free(buf);
	}
}

static void test_hint_valid(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_hint hint;

	fixture_defaults(&f);
	f.junk = true;
	f.index_offset = 60 * MIB;
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(b);
	hint.file_offset = haywire_beacon_location(b)->file_offset;
	hint.nonce = haywire_beacon_location(b)->nonce;
	CHECK_U64(haywire_beacon_location(b)->probes, 32);
	haywire_beacon_free(b);

	/* The hint only orders the work: the whole file is still probed,
	 * so a second beacon cannot hide behind it. */
	b = discover(im.mem, &hint, &err);
	CHECK(b);
	CHECK(haywire_beacon_location(b)->hint_used);
	CHECK_U64(haywire_beacon_location(b)->probes, 32);
	CHECK_U64(haywire_beacon_location(b)->file_offset, 60 * MIB);
	haywire_beacon_free(b);
	close_image(&im);
}

/* A hint that is wrong in any way costs a scan, never a wrong answer. */
static void test_hint_stale(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_hint hints[] = {
		{ 60 * MIB, 0x1111 },		/* reloaded: new nonce */
		{ 60 * MIB + 4096, 0 },		/* not 2 MiB-aligned */
		{ 1ULL << 40, 0 },		/* beyond the file */
		{ 10 * MIB, 0 },		/* a hole */
	};
	unsigned int i;

	fixture_defaults(&f);
	f.index_offset = 60 * MIB;
	open_image(&im, &f);
	hints[1].nonce = hints[2].nonce = hints[3].nonce = f.nonce;
	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		b = discover(im.mem, &hints[i], &err);
		CHECK(b);
		if (!b)
			continue;
		CHECK(!haywire_beacon_location(b)->hint_used);
		CHECK_U64(haywire_beacon_location(b)->file_offset, 60 * MIB);
		CHECK_U64(haywire_beacon_location(b)->nonce, f.nonce);
		haywire_beacon_free(b);
	}
	close_image(&im);

	/* Right place and nonce, stale: still the only beacon. */
	f.age_ms = 30000;
	open_image(&im, &f);
	hints[0].nonce = f.nonce;
	b = discover(im.mem, &hints[0], &err);
	CHECK(b);
	if (b) {
		CHECK(haywire_beacon_location(b)->hint_used);
		CHECK_U64(haywire_beacon_location(b)->file_offset, 60 * MIB);
		haywire_beacon_free(b);
	}
	close_image(&im);
}

/*
 * Two valid indexes: a forged one, or one a reboot left behind. Neither
 * is taken, whatever their age or the hint says; pinning by GPA picks.
 */
static void test_several_candidates(void)
{
	uint64_t places[][2] = { { 8 * MIB, 40 * MIB }, { 40 * MIB, 8 * MIB } };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct fixture old, cur;
		struct haywire_error err;
		struct haywire_beacon *b;
		struct haywire_mem *mem;
		struct haywire_hint hint = { places[i][1], 0xc0ffee };
		struct haywire_opts pin = { .pin_index = true };
		char msg[256], gpa[32];
		int fd = memfd_create("two", MFD_CLOEXEC);

		fixture_defaults(&old);
		old.index_offset = places[i][0];
		old.nonce = 0x01d;
		old.age_ms = 600000;
		fixture_defaults(&cur);
		cur.index_offset = places[i][1];
		cur.nonce = 0xc0ffee;
		CHECK(!fixture_write(&old, fd, NULL, msg, sizeof(msg)));
		CHECK(!fixture_write(&cur, fd, NULL, msg, sizeof(msg)));
		mem = open_fd(fd);
		b = discover(mem, NULL, &err);
		CHECK(!b);
		CHECK_U64(err.code, HAYWIRE_E_AMBIGUOUS);
		CHECK_MSG(&err, "2 beacons validate");
		CHECK_MSG(&err, "nonce 0x1d, generation 1, 600.");
		CHECK_MSG(&err, "nonce 0xc0ffee, generation 1, 0.");
		CHECK(!strchr(err.msg, '\n'));
		/* A hint is only a hint. */
		b = discover(mem, &hint, &err);
		CHECK(!b);
		CHECK_U64(err.code, HAYWIRE_E_AMBIGUOUS);
		/* Pinned: that one, and the other is not even validated. */
		pin.index_gpa = places[i][1];
		b = haywire_discover(mem, &pin, &err);
		CHECK(b);
		if (b) {
			CHECK_U64(haywire_beacon_location(b)->nonce, 0xc0ffee);
			CHECK(haywire_beacon_location(b)->pinned);
			CHECK_U64(haywire_beacon_location(b)->candidates, 2);
			haywire_beacon_free(b);
		}
		pin.index_gpa = 20 * MIB;
		b = haywire_discover(mem, &pin, &err);
		CHECK(!b);
		CHECK_U64(err.code, HAYWIRE_E_NO_BEACON);
		snprintf(gpa, sizeof(gpa), "GPA 0x%llx", 20ULL * MIB);
		CHECK_MSG(&err, gpa);
		haywire_mem_close(mem);
		close(fd);
	}
}

/* Many forgeries: the message names a few and counts the rest. */
static void test_many_forged(void)
{
	struct haywire_error err;
	struct haywire_mem *mem;
	char msg[256];
	unsigned int i;
	int fd = memfd_create("many", MFD_CLOEXEC);

	for (i = 0; i < 12; i++) {
		struct fixture f;

		fixture_defaults(&f);
		f.size = 64 * MIB;
		f.index_offset = (uint64_t)(2 + 4 * i) * MIB;
		f.nonce = 0x100 + i;
		CHECK(!fixture_write(&f, fd, NULL, msg, sizeof(msg)));
	}
	mem = open_fd(fd);
	CHECK(!discover(mem, NULL, &err));
	CHECK_U64(err.code, HAYWIRE_E_AMBIGUOUS);
	CHECK_MSG(&err, "12 beacons validate");
	CHECK_MSG(&err, "and 9 more");
	CHECK(strlen(err.msg) < HAYWIRE_MSG_MAX - 1);
	haywire_mem_close(mem);
	close(fd);

	/* The longest entries: whole ones only, and the line ends whole. */
	fd = memfd_create("long", MFD_CLOEXEC);
	for (i = 0; i < 4; i++) {
		struct fixture f;

		fixture_defaults(&f);
		f.index_offset = (uint64_t)(2 + 4 * i) * MIB;
		f.nonce = 0xfffffffffffffff0ULL + i;
		f.generation = 0x7fffffffffffffffULL;
		f.age_ms = 999999999999LL;
		CHECK(!fixture_write(&f, fd, NULL, msg, sizeof(msg)));
	}
	mem = open_fd(fd);
	CHECK(!discover(mem, NULL, &err));
	CHECK_U64(err.code, HAYWIRE_E_AMBIGUOUS);
	CHECK_MSG(&err, "4 beacons validate");
	CHECK_MSG(&err, "more; pin the kernel's by its GPA");
	CHECK(!strstr(err.msg, "(nonce 0xfffffffffffffff3"));
	haywire_mem_close(mem);
	close(fd);
}

/*
 * The module's index in hot-plugged RAM: a DIMM's file attached to the RAM
 * file (haywire_mem_attach) is probed too, from its own start.
 */
static void test_index_in_attached(void)
{
	static char sets[][48] = {
		"self_gpa=0x100200000", "extents[0].start=0x100200000",
		"ram_range_count=2", "ram[0].start=0x100000",
		"ram[0].size=0x3ee0000", "ram[1].start=0x100000000",
		"ram[1].size=0x400000",
	};
	struct haywire_run run = { 4ULL << 30, 4 * MIB, 0 };
	struct fixture ram, dimm;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	struct image im;
	char path[300], msg[256];
	unsigned int i;
	int fd;

	fixture_defaults(&ram);
	ram.gone = true;	/* an old HWGONE!! page: not a candidate */
	open_image(&im, &ram);
	fixture_defaults(&dimm);
	dimm.size = 4 * MIB;
	dimm.index_offset = 2 * MIB;
	dimm.nonce = 0xd1aa;
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		dimm.sets[dimm.nsets++] = sets[i];
	snprintf(path, sizeof(path), "%s/dimm", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(!fixture_write(&dimm, fd, NULL, msg, sizeof(msg)));
	close(fd);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_GONE);
	CHECK_RC(haywire_mem_attach(im.mem, path, &run, 1, &err), HAYWIRE_OK,
		 &err);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	if (b) {
		CHECK_U64(haywire_beacon_location(b)->nonce, 0xd1aa);
		CHECK_U64(haywire_beacon_location(b)->gpa, (4ULL << 30) + 2 * MIB);
		CHECK_U64(haywire_beacon_location(b)->file_offset,
			  64 * MIB + 2 * MIB);
		CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_OK,
			 &err);
		if (procs) {
			CHECK_U64(procs->count, 8);
			haywire_procs_free(procs);
		}
		haywire_beacon_free(b);
	}
	close_image(&im);
}

static void test_gone(void)
{
	struct fixture f, live;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_hint hint;
	char msg[256];

	fixture_defaults(&f);
	f.gone = true;
	f.index_offset = 20 * MIB;
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_GONE);
	CHECK_MSG(&err, "unloaded");
	CHECK_MSG(&err, "0x1400000");
	/* The hint's offset now holds HWGONE!!. */
	hint.file_offset = 20 * MIB;
	hint.nonce = f.nonce;
	b = discover(im.mem, &hint, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_GONE);

	/* Unloaded, then loaded again elsewhere: the live one wins. */
	fixture_defaults(&live);
	live.index_offset = 50 * MIB;
	live.nonce = 77;
	CHECK(!fixture_write(&live, im.fd, NULL, msg, sizeof(msg)));
	b = discover(im.mem, &hint, &err);
	CHECK(b);
	if (b) {
		CHECK_U64(haywire_beacon_location(b)->file_offset, 50 * MIB);
		CHECK(!haywire_beacon_location(b)->hint_used);
		haywire_beacon_free(b);
	}
	close_image(&im);
}

/* Candidates that do not validate explain why nothing was found. */
static void test_bad_candidates(void)
{
	struct haywire_opts quick = { .deadline_ms = 5 };
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;

	fixture_defaults(&f);
	f.sets[f.nsets++] = "version_major=2";
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_VERSION);
	CHECK_MSG(&err, "version 2.");
	CHECK_MSG(&err, "version 1.x");
	close_image(&im);

	fixture_defaults(&f);
	f.sets[f.nsets++] = "seq=7";
	open_image(&im, &f);
	b = haywire_discover(im.mem, &quick, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_BUSY);
	CHECK_MSG(&err, "seq stayed odd");
	CHECK_MSG(&err, "try again");
	/* The default deadline (not timed here). */
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_BUSY);
	CHECK_MSG(&err, "looking again");
	CHECK_MSG(&err, "try again");
	close_image(&im);

	/* Loaded, nothing published yet. */
	fixture_defaults(&f);
	f.sets[f.nsets++] = "generation=0";
	open_image(&im, &f);
	b = haywire_discover(im.mem, &quick, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_BUSY);
	CHECK_MSG(&err, "generation 0");
	close_image(&im);

	fixture_defaults(&f);
	f.sets[f.nsets++] = "self_gpa=0x200000";
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_CORRUPT);
	CHECK_MSG(&err, "self_gpa 0x200000 does not map to file offset 0x2000000");
	close_image(&im);

	/* Nothing but zeros, and a near miss of the magic. */
	fixture_defaults(&f);
	f.sets[f.nsets++] = "magic=0x4e4f434145425749";
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(!b);
	CHECK_U64(err.code, HAYWIRE_E_NO_BEACON);
	CHECK_MSG(&err, "not loaded");
	close_image(&im);
}

/*
 * A RAM file that shrinks under the mapping: an error, not a crash. First
 * as a library user gets it (no signal handler: the size check before each
 * read), then with the handler the haywire command opts in to.
 */
static void test_sigbus(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	unsigned char byte;

	fixture_defaults(&f);
	f.index_offset = 40 * MIB;
	open_image(&im, &f);
	b = discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK(ftruncate(im.fd, 4 * MIB) == 0);
	CHECK_RC(haywire_mem_read(im.mem, 40 * MIB, &byte, 1, &err),
		 HAYWIRE_E_IO, &err);
	CHECK_MSG(&err, "shrank");
	CHECK_MSG(&err, "4194304 of");
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_E_IO, &err);
	CHECK(!procs);

	haywire_catch_sigbus();
	haywire_catch_sigbus();		/* twice is once */
	CHECK_RC(haywire_mem_read(im.mem, 40 * MIB, &byte, 1, &err),
		 HAYWIRE_E_IO, &err);
	CHECK_MSG(&err, "SIGBUS");
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_E_IO, &err);
	CHECK(!procs);
	/* Still alive, and the next read fails the same way. */
	CHECK_RC(haywire_mem_read(im.mem, 40 * MIB, &byte, 1, &err),
		 HAYWIRE_E_IO, &err);
	CHECK_RC(haywire_mem_read(im.mem, 0, &byte, 1, &err), HAYWIRE_OK,
		 &err);
	haywire_beacon_free(b);
	close_image(&im);
}

static void test_hint_cache(void)
{
	struct fixture f;
	struct image a, b;
	struct haywire_hint in = { 0x200000, 0xabcdef }, out;
	char dir[300], path[400];
	struct haywire_mem *buf_mem;
	struct haywire_error err;
	static char buf[2 * MIB];
	int fd;

	snprintf(dir, sizeof(dir), "%s/hints/deeper", tmpdir);
	setenv("HAYWIRE_HINT_DIR", dir, 1);
	fixture_defaults(&f);
	open_image(&a, &f);
	open_image(&b, &f);
	CHECK(!haywire_hint_load(a.mem, &out));
	haywire_hint_save(a.mem, &in);	/* creates the directories */
	CHECK(haywire_hint_load(a.mem, &out));
	CHECK_U64(out.file_offset, in.file_offset);
	CHECK_U64(out.nonce, in.nonce);
	CHECK(!haywire_hint_load(b.mem, &out));	/* another file */

	/* Garbage in the cache file is ignored. */
	{
		uint64_t dev, ino;

		CHECK(haywire_mem_file_id(a.mem, &dev, &ino));
		snprintf(path, sizeof(path), "%s/ram-%" PRIx64 "-%" PRIx64
			 "-%" PRIx64, dir, dev, ino, haywire_mem_size(a.mem));
		fd = open(path, O_WRONLY | O_TRUNC);
		CHECK(fd >= 0 && write(fd, "junk\n", 5) == 5);
		close(fd);
		CHECK(!haywire_hint_load(a.mem, &out));
	}
	/* An unusable directory: silently no cache. */
	snprintf(dir, sizeof(dir), "%s/one", tmpdir);	/* a file */
	setenv("HAYWIRE_HINT_DIR", dir, 1);
	haywire_hint_save(a.mem, &in);
	CHECK(!haywire_hint_load(a.mem, &out));
	/* Buffers have no identity to key a hint on. */
	buf_mem = haywire_mem_from_buffer(buf, sizeof(buf), &err);
	haywire_hint_save(buf_mem, &in);
	CHECK(!haywire_hint_load(buf_mem, &out));
	haywire_mem_close(buf_mem);
	unsetenv("HAYWIRE_HINT_DIR");
	close_image(&a);
	close_image(&b);
}

int main(void)
{
	char cmd[128];
	int rc;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_not_ram);
	RUN(test_scan_sparse_and_dense);
	RUN(test_hint_valid);
	RUN(test_hint_stale);
	RUN(test_several_candidates);
	RUN(test_many_forged);
	RUN(test_index_in_attached);
	RUN(test_gone);
	RUN(test_bad_candidates);
	RUN(test_sigbus);
	RUN(test_hint_cache);
	rc = check_done();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		rc = 1;
	return rc;
}
