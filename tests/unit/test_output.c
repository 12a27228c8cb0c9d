// SPDX-License-Identifier: MIT
/*
 * The command's output: /proc/PID/maps lines byte for byte (golden lines
 * taken from a real kernel's /proc/self/maps, and the padding rule at its
 * edges), JSON keys and types, and the escaping of guest strings.
 */
#include <json.h>

#include "check.h"
#include "output.h"

/* Run a printer into a string. */
#define CAPTURE(buf, call) do {						\
	size_t len_;							\
	FILE *out_ = open_memstream(&(buf), &len_);			\
	call;								\
	fclose(out_);							\
} while (0)

static struct haywire_vma vma(uint64_t start, uint64_t end, uint32_t flags,
			      uint64_t offset, uint32_t major, uint32_t minor,
			      uint64_t inode, const char *name)
{
	struct haywire_vma v = { start, end, offset, inode, major, minor,
				 flags, name, (uint32_t)strlen(name) };
	return v;
}

static void check_line(struct haywire_vma v, const char *want)
{
	char *got = NULL;

	CAPTURE(got, print_maps_line(out_, &v));
	CHECK_STR(got, want);
	free(got);
}

static void test_maps_lines(void)
{
	const uint32_t r = HW_VF_READ, w = HW_VF_WRITE, x = HW_VF_EXEC;
	char name[HW_PATH_MAX + 1];
	struct haywire_vma v;
	char *got = NULL;

	/* Straight from this machine's /proc/self/maps (6.x kernel). */
	check_line(vma(0x5585af298000, 0x5585af29a000, r, 0, 0xfe, 0, 247134,
		       "/usr/bin/cat"),
		   "5585af298000-5585af29a000 r--p 00000000 fe:00 247134"
		   "                     /usr/bin/cat\n");
	check_line(vma(0x7fa2ced6c000, 0x7fa2ced73000, r | HW_VF_SHARED, 0,
		       0xfe, 0, 332280, "/usr/lib/x86_64-linux-gnu/gconv/"
		       "gconv-modules.cache"),
		   "7fa2ced6c000-7fa2ced73000 r--s 00000000 fe:00 332280"
		   "                     /usr/lib/x86_64-linux-gnu/gconv/"
		   "gconv-modules.cache\n");
	check_line(vma(0x5585ceddd000, 0x5585cedfe000, r | w, 0, 0, 0, 0,
		       "[heap]"),
		   "5585ceddd000-5585cedfe000 rw-p 00000000 00:00 0"
		   "                          [heap]\n");
	/* Anonymous: the prefix's trailing space, nothing after it. */
	check_line(vma(0x7fa2cea62000, 0x7fa2ceb26000, r | w, 0, 0, 0, 0, ""),
		   "7fa2cea62000-7fa2ceb26000 rw-p 00000000 00:00 0 \n");
	/* Short (32-bit) addresses are padded to 8 digits. */
	check_line(vma(0x400000, 0x401000, r | x, 0x1000, 8, 1, 12, "/a"),
		   "00400000-00401000 r-xp 00001000 08:01 12"
		   "                                 /a\n");
	/* Wide device numbers are not cut. */
	check_line(vma(0x1000, 0x2000, 0, 0x123456789, 0x103, 0x1ff, 5, ""),
		   "00001000-00002000 ---p 123456789 103:1ff 5 \n");

	/* The padding edge: a 71-, 72- and 73-column prefix (with its
	 * trailing space): padded to 72, then one more space. */
	v = vma(0xffffffffff600000, 0xffffffffff601000, x, 0, 0xfe, 1,
		1234567890123456ULL, "[vsyscall]");
	check_line(v, "ffffffffff600000-ffffffffff601000 --xp 00000000 fe:01 "
		   "1234567890123456   [vsyscall]\n");
	v.inode = 12345678901234567ULL;
	check_line(v, "ffffffffff600000-ffffffffff601000 --xp 00000000 fe:01 "
		   "12345678901234567  [vsyscall]\n");
	v.inode = 123456789012345678ULL;
	check_line(v, "ffffffffff600000-ffffffffff601000 --xp 00000000 fe:01 "
		   "123456789012345678  [vsyscall]\n");

	/* Paths: '\n' as the kernel escapes it, printable UTF-8 as is. */
	check_line(vma(0x1000, 0x2000, r, 0, 0xfe, 1, 9,
		       "/tmp/new\nline (deleted)"),
		   "00001000-00002000 r--p 00000000 fe:01 9"
		   "                                  /tmp/new\\012line "
		   "(deleted)\n");
	/* Not UTF-8 (Latin-1): \ooo; a backslash as it is, as /proc. */
	check_line(vma(0x1000, 0x2000, r, 0, 0xfe, 1, 9, "/caf\xe9 \\012"),
		   "00001000-00002000 r--p 00000000 fe:01 9"
		   "                                  /caf\\351 \\012\n");
	memset(name, 'p', HW_PATH_MAX);
	name[0] = '/';
	name[HW_PATH_MAX] = 0;
	v = vma(0x1000, 0x2000, r, 0, 0xfe, 1, 9, name);
	CAPTURE(got, print_maps_line(out_, &v));
	CHECK_U64(strlen(got), 73 + HW_PATH_MAX + 1);
	free(got);
}

static void check_json_string(const char *in, size_t len, const char *want)
{
	struct json_object *o = json_guest_string(in, len);

	CHECK(o);
	if (!o)
		return;
	CHECK_U64(json_object_get_string_len(o), strlen(want));
	CHECK_STR(json_object_get_string(o), want);
	json_object_put(o);
}

static void test_json_strings(void)
{
	check_json_string("/usr/bin/cat", 12, "/usr/bin/cat");
	check_json_string("caf\xc3\xa9", 5, "caf\xc3\xa9");		/* é */
	check_json_string("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	check_json_string("a\nb", 3, "a\nb");	/* JSON escapes it */
	/* Not UTF-8: each stray byte as \ooo. */
	check_json_string("caf\xe9", 4, "caf\\351");
	check_json_string("\xc0\xaf", 2, "\\300\\257");		/* overlong */
	check_json_string("\xed\xa0\x80", 3, "\\355\\240\\200");	/* surrogate */
	check_json_string("\xf4\x90\x80\x80", 4, "\\364\\220\\200\\200");
	check_json_string("x\xe2\x82", 3, "x\\342\\202");	/* cut short */
	check_json_string("\xff\xc3\xa9", 3, "\\377\xc3\xa9");
	check_json_string("", 0, "");
}

static void test_flag_words(void)
{
	char buf[128];

	format_index_flags(buf, sizeof(buf), 0);
	CHECK_STR(buf, "none");
	format_index_flags(buf, sizeof(buf), HW_IF_TRUNCATED | HW_IF_MM_BUSY |
			   1U << 7);
	CHECK_STR(buf, "truncated, mm_busy, bit7");
	format_proc_flags(buf, sizeof(buf), HW_PF_KTHREAD | HW_PF_NO_MM |
			  HW_PF_VMAS_SKIPPED);
	CHECK_STR(buf, "kthread, no_mm, vmas_skipped");
}

/* A JSON member of the given type, or NULL (and a failed check). */
static struct json_object *member(struct json_object *o, const char *key,
				  enum json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type)) {
		check_failed++;
		printf("#   JSON member \"%s\" missing or not a %s\n", key,
		       json_type_to_name(type));
		return NULL;
	}
	return v;
}

static void check_hex(struct json_object *o, const char *key, uint64_t want)
{
	struct json_object *v = member(o, key, json_type_string);
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, want);
	if (v)
		CHECK_STR(json_object_get_string(v), buf);
}

/* Round trip: what is printed parses back as JSON. */
static struct json_object *parse_text(char *text)
{
	struct json_object *back = json_tokener_parse(text);

	CHECK(back);
	free(text);
	return back;
}

static struct json_object *reparse(struct json_object *obj)
{
	char *text = NULL;

	CAPTURE(text, print_json(out_, obj));
	return parse_text(text);
}

static void test_json_documents(void)
{
	static const char *const info_numbers[] = {
		"generation", "publish_mono_ns", "publish_boot_ns",
		"publish_real_ns", "age_ms", "interval_ms", "procs",
		"procs_total", "vmas", "vmas_total",
	};
	static const char *const stats_names[] = {
		"refreshes", "refresh_ns_total", "last_refresh_ns",
		"last_walk_procs_ns", "last_walk_vmas_ns", "last_publish_ns",
		"last_procs", "last_vmas", "max_refresh_ns", "mm_busy_total",
		"budget_overruns", "truncations", "grow_events",
		"alloc_failures", "stalls", "path_lookups", "string_bytes",
		"ns_per_proc", "ns_per_vma",
	};
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_info info;
	struct haywire_procs *procs;
	struct haywire_maps *maps;
	struct json_object *doc, *arr, *o, *v;
	unsigned int i;
	char *text = NULL;

	fixture_defaults(&f);
	f.weird_names = true;
	f.vmas = 10;	/* init: 4-6 weird, then stack, vvar, vdso */
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);

	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	doc = reparse(json_info(&info));
	for (i = 0; i < sizeof(info_numbers) / sizeof(info_numbers[0]); i++)
		member(doc, info_numbers[i], json_type_int);
	check_hex(doc, "nonce", f.nonce);
	check_hex(doc, "index_offset", im.lay.index_offset);
	check_hex(doc, "index_gpa", im.lay.self_gpa);
	member(doc, "stale", json_type_boolean);
	member(doc, "flags", json_type_array);
	if ((v = member(doc, "kernel_release", json_type_string)))
		CHECK_STR(json_object_get_string(v), "6.1.0-fixture-q35");
	if ((o = member(doc, "stats", json_type_object)))
		for (i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]);
		     i++)
			member(o, stats_names[i], json_type_int);
	if ((o = member(doc, "discovery", json_type_object))) {
		member(o, "ns", json_type_int);
		member(o, "probes", json_type_int);
		member(o, "hint_used", json_type_boolean);
	}
	json_object_put(doc);

	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_json_ps(out_, procs, "beacon"));
	doc = parse_text(text);
	text = NULL;
	member(doc, "generation", json_type_int);
	member(doc, "age_ms", json_type_int);
	member(doc, "stale", json_type_boolean);
	member(doc, "truncated", json_type_boolean);
	member(doc, "procs_total", json_type_int);
	arr = member(doc, "processes", json_type_array);
	CHECK(arr && json_object_array_length(arr) == 8);
	if (arr) {
		static const char *const ints[] = {
			"pid", "ppid", "tgid", "uid", "gid", "euid", "egid",
			"threads", "start_time_ns", "vsize_kb", "rss_kb",
		};

		o = json_object_array_get_idx(arr, 0);
		for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
			member(o, ints[i], json_type_int);
		if ((v = member(o, "state", json_type_string)))
			CHECK_STR(json_object_get_string(v), "S");
		if ((v = member(o, "comm", json_type_string)))
			CHECK_STR(json_object_get_string(v), "init");
		if ((v = member(o, "exe", json_type_string)))
			CHECK_STR(json_object_get_string(v), "/sbin/init");
		check_hex(o, "pgd", 0x1000000);
		if ((v = member(o, "kthread", json_type_boolean)))
			CHECK(!json_object_get_boolean(v));
		/* kthreadd: no exe, flags as words. */
		o = json_object_array_get_idx(arr, 1);
		member(o, "exe", json_type_null);
		if ((v = member(o, "kthread", json_type_boolean)))
			CHECK(json_object_get_boolean(v));
		if ((v = member(o, "flags", json_type_array))) {
			CHECK_U64(json_object_array_length(v), 2);
			CHECK_STR(json_object_get_string(
				json_object_array_get_idx(v, 0)), "kthread");
			CHECK_STR(json_object_get_string(
				json_object_array_get_idx(v, 1)), "no_mm");
		}
	}
	json_object_put(doc);

	/* ps as text: brackets for kernel threads, "-" for no exe. */
	CAPTURE(text, print_ps(out_, procs, false));
	CHECK(!strncmp(text, "    PID    PPID   UID S  THR       VSZ      RSS"
		       "     START     TIME  %CPU COMMAND            EXE\n",
		       95));
	CHECK(strstr(text, "\n      2       0     0 S    1         0"
		      "        0      0.00 00:00:00   0.0 [kthreadd]         -\n"));
	CHECK(strstr(text, "      1.00 00:00:00   0.0 init               /sbin/init\n"));
	free(text);
	haywire_procs_free(procs);

	CHECK_RC(haywire_read_maps(b, 1, &maps, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_json_maps(out_, maps, "beacon"));
	doc = parse_text(text);
	text = NULL;
	if ((v = member(doc, "pid", json_type_int)))
		CHECK_U64(json_object_get_int(v), 1);
	member(doc, "generation", json_type_int);
	arr = member(doc, "vmas", json_type_array);
	CHECK(arr && json_object_array_length(arr) == 10);
	if (arr) {
		o = json_object_array_get_idx(arr, 1);
		check_hex(o, "start", 0x555510000000);
		check_hex(o, "end", 0x555510002000);
		check_hex(o, "offset", 0x1000);
		if ((v = member(o, "perms", json_type_string)))
			CHECK_STR(json_object_get_string(v), "r-xp");
		if ((v = member(o, "dev", json_type_string)))
			CHECK_STR(json_object_get_string(v), "fe:01");
		member(o, "inode", json_type_int);
		if ((v = member(o, "path", json_type_string)))
			CHECK_STR(json_object_get_string(v), "/sbin/init");
		o = json_object_array_get_idx(arr, 4);	/* weird names */
		if ((v = member(o, "path", json_type_string)))
			CHECK_STR(json_object_get_string(v),
				  "/tmp/new\nline (deleted)");
		o = json_object_array_get_idx(arr, 5);
		if ((v = member(o, "path", json_type_string)))
			CHECK_STR(json_object_get_string(v),
				  "/opt/caf\\351/lib\\377.so");
		o = json_object_array_get_idx(arr, 6);
		if ((v = member(o, "path", json_type_string)))
			CHECK_U64(json_object_get_string_len(v), HW_PATH_MAX);
	}
	json_object_put(doc);
	CAPTURE(text, print_maps(out_, maps));
	CHECK(strstr(text, " /tmp/new\\012line (deleted)\n"));
	CHECK(strstr(text, " /opt/caf\\351/lib\\377.so\n"));
	free(text);
	haywire_maps_free(maps);
	haywire_beacon_free(b);
	close_image(&im);
}

/* translate: one line per run; file offsets through the map. */
static void test_translate(void)
{
	static const struct haywire_gpa_map map = {
		2, { { 0, 2ULL << 30, 0 }, { 4ULL << 30, 2ULL << 30, 2ULL << 30 } }
	};
	const struct haywire_xlate_run runs[] = {
		{ 0x400000, 0x2000, 0x12345000, HAYWIRE_PAGE_PRESENT, 12,
		  HAYWIRE_XF_USER | HAYWIRE_XF_NX },
		{ 0x402000, 0x200000, 0x100200000ULL, HAYWIRE_PAGE_PRESENT, 21,
		  HAYWIRE_XF_WRITE | HAYWIRE_XF_USER },
		{ 0x602000, 0x1000, 0, HAYWIRE_PAGE_SWAPPED, 12, 0 },
		{ 0x603000, 0x1ffd000, 0, HAYWIRE_PAGE_UNMAPPED, 0, 0 },
	};
	struct translate_result t = {
		.source = "memfile", .pid = 42, .addr = 0x400000,
		.len = 0x2200000, .runs = runs, .count = 4, .map = &map,
	};
	struct json_object *doc, *arr, *o, *v;
	char *text = NULL;

	CAPTURE(text, print_translate(out_, &t));
	CHECK_STR(text,
		  "START            END              STATE    GPA              FILE OFFSET      PAGE FLAGS\n"
		  "0000000000400000 0000000000402000 present  0000000012345000 0000000012345000 4K   user, nx\n"
		  "0000000000402000 0000000000602000 present  0000000100200000 0000000080200000 2M   write, user\n"
		  "0000000000602000 0000000000603000 swapped  -                -                4K   -\n"
		  "0000000000603000 0000000002600000 unmapped -                -                -    -\n");
	free(text);
	CAPTURE(text, print_json_translate(out_, &t));
	doc = parse_text(text);
	text = NULL;
	if ((v = member(doc, "source", json_type_string)))
		CHECK_STR(json_object_get_string(v), "memfile");
	if ((v = member(doc, "via", json_type_string)))
		CHECK_STR(json_object_get_string(v), "host");
	check_hex(doc, "addr", 0x400000);
	arr = member(doc, "runs", json_type_array);
	CHECK(arr && json_object_array_length(arr) == 4);
	if (arr) {
		o = json_object_array_get_idx(arr, 1);
		check_hex(o, "va", 0x402000);
		check_hex(o, "end", 0x602000);
		check_hex(o, "gpa", 0x100200000ULL);
		check_hex(o, "file_offset", 0x80200000);
		if ((v = member(o, "page_size", json_type_int)))
			CHECK_U64(json_object_get_int64(v), 2 << 20);
		if ((v = member(o, "state", json_type_string)))
			CHECK_STR(json_object_get_string(v), "present");
		o = json_object_array_get_idx(arr, 3);
		member(o, "gpa", json_type_null);
		member(o, "file_offset", json_type_null);
	}
	json_object_put(doc);
}

/* read: hexdump -C's layout with virtual addresses, every line shown. */
static void test_hexdump(void)
{
	unsigned char data[70];
	struct json_object *doc, *v;
	char *text = NULL;

	memset(data, 0, sizeof(data));
	memcpy(data, "\177ELF\2\1\1", 7);
	data[69] = 'z';
	CAPTURE(text, print_hexdump(out_, 0x7f0000001000ULL, data,
				    sizeof(data)));
	CHECK_STR(text,
		  "00007f0000001000  7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|\n"
		  "00007f0000001010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
		  "00007f0000001020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
		  "00007f0000001030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
		  "00007f0000001040  00 00 00 00 00 7a                                 |.....z|\n");
	free(text);
	doc = reparse(json_read("qmp", 7, false, 0x1000, data, 8));
	if ((v = member(doc, "source", json_type_string)))
		CHECK_STR(json_object_get_string(v), "qmp");
	if ((v = member(doc, "hex", json_type_string)))
		CHECK_STR(json_object_get_string(v), "7f454c4602010100");
	if ((v = member(doc, "len", json_type_int)))
		CHECK_U64(json_object_get_int64(v), 8);
	json_object_put(doc);
}

/*
 * Text output escapes every byte a terminal would interpret, in every
 * guest string of every command: what no output may contain, then the
 * escapes themselves.
 */
#define HOSTILE "\x1b]0;pwned\x07\x1b[2J\x9b\xc2\x9b\xe2\x80\xae\x7f"
#define HOSTILE_ESCAPED "\\033]0;pwned\\007\\033[2J\\233\\302\\233" \
	"\\342\\200\\256\\177"

/* Nothing but printable UTF-8, spaces and the lines' own newlines. */
static bool terminal_safe(const char *text)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t i;

	for (i = 0; u[i]; i++) {
		if ((u[i] < 0x20 && u[i] != '\n') || u[i] == 0x7f || u[i] == 0x9b)
			return false;
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return false;
		if (u[i] == 0xe2 && u[i + 1] == 0x80 && u[i + 2] == 0xae)
			return false;
	}
	return true;
}

static void check_escaped(const char *what, char *text)
{
	bool safe = terminal_safe(text), found = strstr(text, HOSTILE_ESCAPED);

	CHECK(safe);
	CHECK(found);
	if (!safe || !found)
		printf("#   %s: %s\n", what, text);
	free(text);
}

static void test_terminal_escapes(void)
{
	static const char cmdline[] = "sh\0-c\0" HOSTILE "\0";
	struct haywire_vma v = vma(0x1000, 0x2000, HW_VF_READ, 0, 0xfe, 1, 9,
				   "/tmp/" HOSTILE);
	struct haywire_proc p = { .pid = 7, .ppid = 1, .state = 'S',
				  .exe = "/bin/" HOSTILE,
				  .exe_len = sizeof("/bin/" HOSTILE) - 1 };
	struct haywire_procs procs = { .count = 1, .procs = &p };
	const struct haywire_proc *only[] = { &p };
	struct diff_out d = { .source = "memfile", .only_beacon = only,
			      .n_beacon = 1, .only_agentless = only,
			      .n_agentless = 1 };
	struct haywire_detail det = { .pid = 7, .state = 'S',
				      .cmdline = cmdline,
				      .cmdline_len = sizeof(cmdline) - 2,
				      .cwd = "/" HOSTILE,
				      .cwd_len = sizeof("/" HOSTILE) - 1 };
	struct haywire_info info = { .version_major = 1 };
	struct haywire_agentless_info ai = { .paging_levels = 4 };
	char *text = NULL, buf[GUEST_TEXT_MAX(8)];
	/* comm is 16 bytes with its NUL: as much of HOSTILE as fits */
	static const char comm[] = "x\x1b[2J\x07\x9b\x7fyz";

	memcpy(p.comm, comm, sizeof(comm));
	CAPTURE(text, print_maps_line(out_, &v));
	check_escaped("maps", text);
	CAPTURE(text, print_ps(out_, &procs, false));
	check_escaped("ps exe", text);
	CAPTURE(text, print_ps(out_, &procs, false));
	CHECK(strstr(text, "x\\033[2J\\007\\233\\177yz"));
	free(text);
	/* 1.3: the cgroup column is guest text too */
	p.monitor = true;
	p.cgroup = "/" HOSTILE;
	p.cgroup_len = sizeof("/" HOSTILE) - 1;
	CAPTURE(text, print_ps(out_, &procs, true));
	check_escaped("ps cgroup", text);
	p.monitor = false;
	CAPTURE(text, print_diff(out_, &d));
	CHECK(terminal_safe(text));
	CHECK(strstr(text, "x\\033[2J\\007\\233\\177yz"));
	free(text);
	CAPTURE(text, print_detail(out_, &det));
	CHECK(strstr(text, "sh -c " HOSTILE_ESCAPED "\n"));
	check_escaped("detail", text);
	snprintf(info.kernel_release, sizeof(info.kernel_release), "6.1%s",
		 HOSTILE);
	CAPTURE(text, print_info(out_, &info));
	check_escaped("info", text);
	snprintf(ai.release, sizeof(ai.release), "6.1%s", HOSTILE);
	snprintf(ai.banner, sizeof(ai.banner), "Linux version %s", HOSTILE);
	CAPTURE(text, print_agentless_info(out_, "memfile", &ai));
	CHECK(strstr(text, "Linux version " HOSTILE_ESCAPED));
	check_escaped("agentless info", text);

	/* format_guest: whole escapes only, always terminated. */
	CHECK_STR(format_guest(buf, sizeof(buf), "ab\x1b", 3), "ab\\033");
	CHECK_STR(format_guest(buf, 6, "ab\x1b", 3), "ab");
	CHECK_STR(format_guest(buf, sizeof(buf), "\xc3\xa9\0", 3),
		  "\xc3\xa9\\000");
	CHECK_STR(format_guest(buf, 3, "\xc3\xa9", 2), "\xc3\xa9");
	CHECK_STR(format_guest(buf, 2, "\xc3\xa9", 2), "");
}

/* Streamed documents: empty lists, and head members before the lists. */
/* 1.4: the companion in info; unavailable fields as "-" and null. */
static void test_companion(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_info info;
	struct haywire_procs *procs;
	struct json_object *doc, *arr, *o, *v;
	char *text = NULL;

	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_info(out_, &info));
	CHECK(strstr(text, "\ncompanion:     module, haywire fixture\n"));
	CHECK(!strstr(text, "unavailable:"));
	free(text);
	doc = reparse(json_info(&info));
	if ((v = member(doc, "companion", json_type_string)))
		CHECK_STR(json_object_get_string(v), "module");
	if ((v = member(doc, "companion_version", json_type_string)))
		CHECK_STR(json_object_get_string(v), "haywire fixture");
	if ((v = member(doc, "unavailable", json_type_array)))
		CHECK_U64(json_object_array_length(v), 0);
	json_object_put(doc);
	haywire_beacon_free(b);
	close_image(&im);

	/* The eBPF companion without CPU times, PID namespaces and pgd. */
	fixture_defaults(&f);
	f.guest = true;
	f.sets[f.nsets++] = "companion=2";
	f.sets[f.nsets++] = "unavailable=19";	/* PGD|CPU|PIDNS */
	f.sets[f.nsets++] = "companion_version=haywire-bpf 9.9";
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_info(out_, &info));
	CHECK(strstr(text, "\ncompanion:     ebpf, haywire-bpf 9.9\n"
		     "unavailable:   pgd, cpu_time, pidns\n"));
	free(text);
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_json_ps(out_, procs, "beacon"));
	doc = parse_text(text);
	text = NULL;
	arr = member(doc, "processes", json_type_array);
	if (arr && (o = json_object_array_get_idx(arr, 0))) {
		member(o, "pgd", json_type_null);
		member(o, "utime_ns", json_type_null);
		member(o, "cpu_percent", json_type_null);
		member(o, "pidns_inum", json_type_null);
		member(o, "min_flt", json_type_int);
	}
	json_object_put(doc);
	CAPTURE(text, print_ps(out_, procs, true));
	/* TIME and %CPU, PIDNS and NSPID: "-", never 0 */
	CHECK(strstr(text, "      1.00        -     - "));
	CHECK(strstr(text, "          -      - init "));
	free(text);
	haywire_procs_free(procs);
	haywire_beacon_free(b);
	close_image(&im);

	/* No mmap_lock or time budget (HW_UF_STATS_WALK): "-" and null. */
	fixture_defaults(&f);
	f.sets[f.nsets++] = "companion=2";
	f.sets[f.nsets++] = "unavailable=128";
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CAPTURE(text, print_info(out_, &info));
	CHECK(strstr(text, "\n  budget_ns            -\n"));
	CHECK(strstr(text, "\n  mm_busy_total        -\n"));
	CHECK(strstr(text, "\n  last_start_pid       -\n"));
	CHECK(!strstr(text, "\n  refreshes            -\n"));
	free(text);
	doc = reparse(json_info(&info));
	if ((o = member(doc, "stats", json_type_object))) {
		member(o, "budget_ns", json_type_null);
		member(o, "last_max_hold_ns", json_type_null);
		member(o, "last_max_hold_pid", json_type_null);
		member(o, "budget_overruns", json_type_null);
		member(o, "refreshes", json_type_int);
		member(o, "last_total_ns", json_type_int);
	}
	json_object_put(doc);
	haywire_beacon_free(b);
	close_image(&im);

	/* A 1.3 index: companion unknown, everything available. */
	fixture_defaults(&f);
	f.sets[f.nsets++] = "version_minor=3";
	f.sets[f.nsets++] = "companion=0";
	f.sets[f.nsets++] = "companion_version=";
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CHECK_U64(info.companion, HW_COMPANION_UNKNOWN);
	doc = reparse(json_info(&info));
	if ((v = member(doc, "companion", json_type_string)))
		CHECK_STR(json_object_get_string(v), "unknown");
	member(doc, "companion_version", json_type_null);
	json_object_put(doc);
	haywire_beacon_free(b);
	close_image(&im);
}

static void test_json_stream(void)
{
	struct haywire_maps maps;
	struct json_object *doc, *v;
	struct json_doc d;
	char *text = NULL;

	memset(&maps, 0, sizeof(maps));
	maps.proc.pid = 2;
	CAPTURE(text, print_json_maps(out_, &maps, "beacon"));
	doc = parse_text(text);
	text = NULL;
	if ((v = member(doc, "vmas", json_type_array)))
		CHECK_U64(json_object_array_length(v), 0);
	if ((v = member(doc, "source", json_type_string)))
		CHECK_STR(json_object_get_string(v), "beacon");
	json_object_put(doc);

	/* Two lists, records with awkward strings. */
	CAPTURE(text, {
		json_doc_begin(&d, out_, json_object_new_object());
		json_list_begin(&d, "a");
		json_list_add(&d, json_guest_string("x\"\n\x1b\xff", 5));
		json_list_add(&d, json_object_new_int(1));
		json_list_end(&d);
		json_list_begin(&d, "b");
		json_list_end(&d);
		json_doc_end(&d);
	});
	doc = parse_text(text);
	if ((v = member(doc, "a", json_type_array)))
		CHECK_U64(json_object_array_length(v), 2);
	if ((v = member(doc, "b", json_type_array)))
		CHECK_U64(json_object_array_length(v), 0);
	json_object_put(doc);
}

int main(void)
{
	RUN(test_maps_lines);
	RUN(test_translate);
	RUN(test_hexdump);
	RUN(test_json_strings);
	RUN(test_flag_words);
	RUN(test_json_documents);
	RUN(test_terminal_escapes);
	RUN(test_json_stream);
	RUN(test_companion);
	return check_done();
}
