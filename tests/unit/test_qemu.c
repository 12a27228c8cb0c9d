// SPDX-License-Identifier: MIT
/*
 * What the agentless sources parse: QEMU's "info registers" and
 * "info mtree -f" text (real output of QEMU 7.2 in tests/unit/qemu/, for
 * q35 with 512 MiB and 4 GiB and pc with 4 GiB, and registers of a running
 * 64-bit guest, of all CPUs, and of a CPU still in real mode), map
 * comparison, System.map/kallsyms files, and kernel type files (BTF, ELF,
 * bzImage: the Debian kernels in the project cache when they are there).
 */
#include <errno.h>
#include <zlib.h>

#include "check.h"
#include "lib/agentless/agentless.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f) {
		printf("# cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(1);
	fclose(f);
	return buf;
}

/* ---- registers -------------------------------------------------------- */

static void test_registers(void)
{
	struct haywire_cpu_regs r;
	struct haywire_error err;
	char *text;

	text = slurp("tests/unit/qemu/registers-x86_64.txt");
	CHECK_RC(haywire_parse_registers(text, &r, &err), HAYWIRE_OK, &err);
	CHECK_U64(r.cr0, 0x80050033);
	CHECK_U64(r.cr3, 0x17a02000);
	CHECK_U64(r.cr4, 0x6b0);
	CHECK_U64(r.efer, 0xd01);
	CHECK_U64(r.rip, 0xffffffff9f40dfebULL);
	CHECK_U64(r.gs_base, 0xffff8a31df200000ULL);
	CHECK_U64(r.cpl, 0);
	free(text);

	/* "info registers -a": the first CPU's */
	text = slurp("tests/unit/qemu/registers-all.txt");
	CHECK_RC(haywire_parse_registers(text, &r, &err), HAYWIRE_OK, &err);
	CHECK_U64(r.cr3, 0x17a02000);
	CHECK_U64(r.cr4, 0x6b0);
	free(text);

	/* a CPU in real mode: EIP, 32-bit control registers, no paging */
	text = slurp("tests/unit/qemu/registers-realmode.txt");
	CHECK_RC(haywire_parse_registers(text, &r, &err), HAYWIRE_OK, &err);
	CHECK_U64(r.cr0, 0x60000010);
	CHECK_U64(r.rip, 0xfff0);
	CHECK_U64(r.efer, 0);
	free(text);

	/* not x86 (arm64's "info registers"), and garbage */
	CHECK_RC(haywire_parse_registers(" PC=ffff800008000000 X00=0000\n",
					 &r, &err), HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "no CR0 value: is this an x86-64 guest?");
	/* arm64 as QEMU 7.2 prints it: the architecture and PC only */
	CHECK_RC(haywire_parse_registers("CPU#0\n PC=ffff800008000000 X00=0000000000000000\n"
					 "PSTATE=400003c5 -Z-- EL1h\n",
					 &r, &err), HAYWIRE_OK, &err);
	CHECK_U64(r.arch, HW_ARCH_ARM64);
	CHECK_U64(r.rip, 0xffff800008000000ULL);
	CHECK_U64(r.cr3, 0);
	CHECK_RC(haywire_parse_registers("CR0=80050033 CR3=zz CR4=0 EFER=0",
					 &r, &err), HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "no CR3 value");
	CHECK_RC(haywire_parse_registers("CR0=12345678901234567 CR3=0 CR4=0 EFER=0",
					 &r, &err), HAYWIRE_E_QMP, &err);
	CHECK_RC(haywire_parse_registers("", &r, &err), HAYWIRE_E_QMP, &err);
	/* a key inside another word is not the key */
	CHECK_RC(haywire_parse_registers("XCR0=1 CR3=0 CR4=0 EFER=0", &r, &err),
		 HAYWIRE_E_QMP, &err);
}

/* ---- the memory map ------------------------------------------------------ */

static void check_map(const struct haywire_gpa_map *m, unsigned int count,
		      const struct haywire_run *want)
{
	unsigned int i;

	CHECK_U64(m->count, count);
	for (i = 0; i < count && i < m->count; i++) {
		CHECK_U64(m->runs[i].gpa, want[i].gpa);
		CHECK_U64(m->runs[i].size, want[i].size);
		CHECK_U64(m->runs[i].file_offset, want[i].file_offset);
	}
}

static void test_mtree(void)
{
	static const struct haywire_run q35_512m[] = { { 0, 512 * MIB, 0 } };
	static const struct haywire_run q35_4g[] = {
		{ 0, 2 * GIB, 0 }, { 4 * GIB, 2 * GIB, 2 * GIB } };
	static const struct haywire_run pc_4g[] = {
		{ 0, 3 * GIB, 0 }, { 4 * GIB, GIB, 3 * GIB } };
	struct haywire_qemu_ram ram;
	struct haywire_error err;
	char *text;

	text = slurp("tests/unit/qemu/mtree-q35-512M.txt");
	CHECK_RC(haywire_parse_mtree(text, "ram", &ram, &err), HAYWIRE_OK,
		 &err);
	check_map(&ram.map, 1, q35_512m);
	/* the exact pieces leave out the legacy ROM window */
	CHECK_U64(ram.count, 2);
	CHECK_U64(ram.runs[0].size, 0xc0000);
	CHECK_U64(ram.runs[1].gpa, 0x100000);
	/* a region QEMU does not show */
	CHECK_RC(haywire_parse_mtree(text, "pc.ram", &ram, &err),
		 HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "does not show RAM region 'pc.ram'");
	free(text);

	text = slurp("tests/unit/qemu/mtree-q35-4G.txt");
	CHECK_RC(haywire_parse_mtree(text, "ram", &ram, &err), HAYWIRE_OK,
		 &err);
	check_map(&ram.map, 2, q35_4g);
	free(text);

	text = slurp("tests/unit/qemu/mtree-pc-4G.txt");
	CHECK_RC(haywire_parse_mtree(text, "ram", &ram, &err), HAYWIRE_OK,
		 &err);
	check_map(&ram.map, 2, pc_4g);
	CHECK_U64(ram.count, 3);
	free(text);

	/* malformed or hostile text */
	CHECK_RC(haywire_parse_mtree("nothing here", "ram", &ram, &err),
		 HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "no flat view");
	CHECK_RC(haywire_parse_mtree(
		"FlatView #0\r\n AS \"memory\", root: system\r\n"
		"  0000000000100000-00000000001fffff (prio 0, ram): ram @100000\r\n"
		"  0000000000000000-000000000000ffff (prio 0, ram): ram\r\n",
		"ram", &ram, &err), HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "out of order");
	CHECK_RC(haywire_parse_mtree(
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000100000-00000000000fffff (prio 0, ram): ram\n",
		"ram", &ram, &err), HAYWIRE_E_QMP, &err);
	CHECK_MSG(&err, "bad range");
	CHECK_RC(haywire_parse_mtree(
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000000000-ffffffffffffffff (prio 0, ram): ram\n",
		"ram", &ram, &err), HAYWIRE_E_QMP, &err);
	/* pieces at as many different offsets: more than a map holds */
	{
		char many[4096];
		size_t at;
		unsigned int k;

		at = (size_t)snprintf(many, sizeof(many),
			"FlatView #0\n AS \"memory\", root: system\n");
		for (k = 0; k <= HAYWIRE_MAP_MAX_RUNS; k++)
			at += (size_t)snprintf(many + at, sizeof(many) - at,
				"  %016x-%016x (prio 0, ram): ram @%x\n",
				k * 0x2000, k * 0x2000 + 0xfff,
				(HAYWIRE_MAP_MAX_RUNS - k) * 0x10000);
		CHECK_RC(haywire_parse_mtree(many, "ram", &ram, &err),
			 HAYWIRE_E_QMP, &err);
		CHECK_MSG(&err, "more than 16 pieces");
	}
	/* i/o regions of the same name are not RAM */
	CHECK_RC(haywire_parse_mtree(
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000000000-0000000000000fff (prio 0, i/o): ram\n",
		"ram", &ram, &err), HAYWIRE_E_QMP, &err);
}

static void test_map_compare(void)
{
	struct haywire_gpa_map a = { 2, { { 0, 2 * GIB, 0 },
					  { 4 * GIB, 2 * GIB, 2 * GIB } } };
	struct haywire_gpa_map b = a;
	struct haywire_error err;

	CHECK_RC(haywire_map_compare(&a, "A", &b, "B", &err), HAYWIRE_OK,
		 &err);
	b.runs[1].file_offset = 3 * GIB;
	CHECK_RC(haywire_map_compare(&a, "A", &b, "B", &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "run 1 is GPA 0x100000000-0x180000000 at file offset 0x80000000 by A but GPA 0x100000000-0x180000000 at file offset 0xc0000000 by B");
	b.count = 1;
	CHECK_RC(haywire_map_compare(&a, "A", &b, "B", &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "but nothing by B");
}

/* ---- symbols ------------------------------------------------------------- */

static char tmp_path[64];

static const char *write_tmp(const char *text, bool gz)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/hw-syms.XXXXXX");
	fd = mkstemp(tmp_path);
	if (fd < 0)
		exit(1);
	if (gz) {
		gzFile g = gzdopen(fd, "wb");

		gzputs(g, text);
		gzclose(g);
	} else {
		if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
			exit(1);
		close(fd);
	}
	return tmp_path;
}

static void test_symbols(void)
{
	static const char map[] =
		"0000000000000000 A fixed_percpu_data\n"
		"ffffffff9a000000 T _text\n"
		"ffffffff9a000000 T startup_64\n"
		"ffffffff9a2c4e30 t special_mapping_name\n"
		"ffffffff9ba1aa40 D init_task\n"
		"ffffffffc0123000 t helper\t[some_module]\n"
		"ffffffff9c830000 B _end\n";
	struct haywire_symbols *s;
	struct haywire_error err;
	uint64_t addr;
	int gz;

	for (gz = 0; gz < 2; gz++) {
		s = haywire_symbols_open(write_tmp(map, gz), &err);
		unlink(tmp_path);
		CHECK(s != NULL);
		if (!s) {
			printf("#   %s\n", err.msg);
			continue;
		}
		CHECK(hwi_sym(s, "init_task", &addr));
		CHECK_U64(addr, 0xffffffff9ba1aa40ULL);
		CHECK_U64(s->text, 0xffffffff9a000000ULL);
		CHECK(!hwi_sym(s, "helper", &addr));	/* module symbol */
		CHECK(!hwi_sym(s, "nonexistent", &addr));
		CHECK(hwi_sym_at_is(s, 0xffffffff9a2c4e30ULL,
				    "special_mapping_name"));
		CHECK(!hwi_sym_at_is(s, 0xffffffff9a2c4e31ULL,
				     "special_mapping_name"));
		CHECK(hwi_sym_at(s, 0xffffffff9a000000ULL) != NULL);
		CHECK(hwi_sym_at(s, 0xffffffff9a000001ULL) == NULL);
		haywire_symbols_close(s);
	}

	/* Debian's placeholder System.map */
	s = haywire_symbols_open(write_tmp("ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
					   false), &err);
	unlink(tmp_path);
	CHECK(s == NULL);
	CHECK_MSG(&err, "has no _text symbol");
	/* /proc/kallsyms read without privileges */
	s = haywire_symbols_open(write_tmp("0000000000000000 T _text\n"
					   "0000000000000000 D init_task\n",
					   false), &err);
	unlink(tmp_path);
	CHECK(s == NULL);
	CHECK_MSG(&err, "the addresses were hidden");
	/* not a symbol file */
	s = haywire_symbols_open(write_tmp("ffffffff9a000000 T _text\nhello\n",
					   false), &err);
	unlink(tmp_path);
	CHECK(s == NULL);
	CHECK_MSG(&err, ":2: not a System.map or kallsyms line");
	s = haywire_symbols_open("/nonexistent/System.map", &err);
	CHECK(s == NULL);
	CHECK(err.code == HAYWIRE_E_FILE);
	s = haywire_symbols_open(NULL, &err);
	CHECK(s == NULL);
	CHECK_MSG(&err, "--system-map");
}

/* ---- kernel type information ---------------------------------------------- */

static void check_btf_rejects(const void *data, size_t len, const char *want)
{
	struct haywire_error err;
	struct haywire_btf *b;
	char path[] = "/tmp/hw-btf.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		exit(1);
	close(fd);
	b = haywire_btf_open(path, &err);
	unlink(path);
	CHECK(b == NULL);
	CHECK_MSG(&err, want);
	haywire_btf_close(b);
}

static void test_btf_rejects(void)
{
	unsigned char buf[8192];
	struct haywire_error err;

	memset(buf, 0x41, sizeof(buf));
	check_btf_rejects(buf, sizeof(buf),
			  "nor an arm64 Image");
	check_btf_rejects(buf, 3, "too small");
	/* BTF magic, garbage after it */
	buf[0] = 0x9f;
	buf[1] = 0xeb;
	check_btf_rejects(buf, 64, "libbpf cannot parse it as BTF");
	/* an ELF header and nothing else */
	memcpy(buf, "\177ELF\2\1\1", 7);
	check_btf_rejects(buf, 64, "has no .BTF section");
	/* a bzImage header whose payload points outside the file */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x206] = 0x0f;
	buf[0x207] = 0x02;
	buf[0x1f1] = 4;
	buf[0x248] = 0xff;
	buf[0x249] = 0xff;
	buf[0x24a] = 0xff;
	check_btf_rejects(buf, sizeof(buf), "without a usable payload");
	/* a payload in a format nobody decompresses */
	buf[0x248] = buf[0x249] = buf[0x24a] = 0;
	buf[0x24c] = 64;
	memcpy(buf + 5 * 512, "BZh9", 4);
	check_btf_rejects(buf, sizeof(buf), "does not decompress");
	/* gzip that is not */
	memcpy(buf + 5 * 512, "\x1f\x8b\x08\0garbage", 11);
	check_btf_rejects(buf, sizeof(buf), "cannot decompress the kernel");
	/* an arm64 Image header without BTF; gzip that is no Image */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x38, "ARM\x64", 4);
	check_btf_rejects(buf, sizeof(buf), "an arm64 Image without BTF");
	memset(buf + 0x38, 0, 4);
	memcpy(buf, "\x1f\x8b\x08\0garbage", 11);
	check_btf_rejects(buf, sizeof(buf), "gzip data that is not an arm64 Image");
	CHECK(haywire_btf_open("/nonexistent/vmlinux", &err) == NULL);
	CHECK(err.code == HAYWIRE_E_FILE);
	CHECK(haywire_btf_open(NULL, &err) == NULL);
	CHECK_MSG(&err, "--btf FILE");
}

/* The Debian kernels' own images: lz4 (6.1) and zstd (6.12). */
static void check_image(const char *spec, const char *kind,
			const char *release)
{
	const char *cache = getenv("HAYWIRE_CACHE");
	struct haywire_error err;
	struct haywire_btf *b;
	struct hwi_field f;
	char path[512];

	snprintf(path, sizeof(path), "%s/kernels/%s/vmlinuz",
		 cache ? cache : ".cache", spec);
	if (access(path, R_OK)) {
		printf("#   %s: not in the cache, skipped\n", path);
		return;
	}
	b = haywire_btf_open(path, &err);
	CHECK(b != NULL);
	if (!b) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_STR(b->kind, kind);
	CHECK(b->banners >= 1);
	CHECK(strstr(b->banner[0], release) != NULL);
	CHECK(hwi_btf_field(b, "task_struct", "pid", &f) == 0);
	CHECK_U64(f.size, 4);
	CHECK(hwi_btf_field(b, "dentry", "d_name.len", &f) == 0);
	CHECK_U64(f.size, 4);
	CHECK(hwi_btf_field(b, "maple_range_64", "slot", &f) == 0);
	CHECK_U64(f.nelems, 16);
	CHECK(hwi_btf_field(b, "task_struct", "no_such_field", &f) != 0);
	haywire_btf_close(b);
}

static void test_btf_images(void)
{
	check_image("6.1", "bzImage (lz4)", "6.1.0-");
	check_image("6.12", "bzImage (zstd)", "6.12.");
	check_image("6.1-arm64", "arm64 Image", "6.1.0-");
	check_image("6.12-arm64", "arm64 Image", "6.12.");
}

int main(void)
{
	RUN(test_registers);
	RUN(test_mtree);
	RUN(test_map_compare);
	RUN(test_symbols);
	RUN(test_btf_rejects);
	RUN(test_btf_images);
	return check_done();
}
