// SPDX-License-Identifier: MIT
/*
 * Host-side page-table walks: page tables laid out by hand in a buffer that
 * stands for guest RAM, covering 4-level and 5-level paging, 4 KiB, 2 MiB
 * and 1 GiB leaves, swap and PROT_NONE entries, upper-half addresses, run
 * merging, bad roots and tables outside RAM, and reads through the tables;
 * and arm64 descriptors (4 KiB granule, 3 and 4 levels, blocks, the
 * contiguous hint, swap and both PROT_NONE encodings).
 */
#include "check.h"

#define RAM_SIZE	(64ULL << 20)
#define P		0x001ULL	/* present */
#define RW		0x002ULL
#define US		0x004ULL
#define PSE		0x080ULL
#define PROTNONE	0x100ULL
#define NX		(1ULL << 63)
#define TABLE		(P | RW | US)

static unsigned char *ram;
static uint64_t next_table;	/* bump allocator for tables */
static struct haywire_mem *mem;
static struct haywire_gpa_map map;
static struct haywire_phys_mem pm;
static struct haywire_phys phys;

static uint64_t *entry(uint64_t table, unsigned int i)
{
	return (uint64_t *)(ram + table) + i;
}

static uint64_t new_table(void)
{
	uint64_t t = next_table;

	next_table += 4096;
	memset(ram + t, 0, 4096);
	return t;
}

static unsigned int index_at(uint64_t va, unsigned int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/* The table at `level` for va, creating the path down from root. */
static uint64_t table_for(uint64_t root, unsigned int levels, uint64_t va,
			  unsigned int level)
{
	uint64_t t = root;
	unsigned int l;

	for (l = levels; l > level; l--) {
		uint64_t *e = entry(t, index_at(va, l));

		if (!(*e & P))
			*e = new_table() | TABLE;
		t = *e & 0x000ffffffffff000ULL;
	}
	return t;
}

static void set_pte(uint64_t root, unsigned int levels, uint64_t va,
		    unsigned int level, uint64_t value)
{
	*entry(table_for(root, levels, va, level), index_at(va, level)) = value;
}

static void setup(void)
{
	struct haywire_error err;

	ram = calloc(1, RAM_SIZE);
	next_table = 16ULL << 20;	/* tables from 16 MiB */
	mem = haywire_mem_from_buffer(ram, RAM_SIZE, &err);
	map.count = 1;
	map.runs[0] = (struct haywire_run){ 0, RAM_SIZE, 0 };
	pm.mem = mem;
	pm.map = &map;
	phys.read = haywire_phys_mem_read;
	phys.ctx = &pm;
}

static void teardown(void)
{
	haywire_mem_close(mem);
	free(ram);
}

#define MAX_RUNS 16
struct collected {
	unsigned int n;
	struct haywire_xlate_run runs[MAX_RUNS];
};

static int collect(void *arg, const struct haywire_xlate_run *run)
{
	struct collected *c = arg;

	if (c->n < MAX_RUNS)
		c->runs[c->n] = *run;
	c->n++;
	return 0;
}

static int translate(uint64_t root, unsigned int levels, uint64_t va,
		     uint64_t len, struct collected *c,
		     struct haywire_error *err)
{
	struct haywire_paging pg = {
		.root = root, .levels = levels, .arch = HW_ARCH_X86_64,
	};

	memset(c, 0, sizeof(*c));
	return haywire_translate(&phys, &pg, va, len, collect, c, err);
}

#define CHECK_RUN(r, va_, len_, state_, gpa_, shift_) do {		\
	CHECK_U64((r).va, va_);						\
	CHECK_U64((r).len, len_);					\
	CHECK_U64((r).state, state_);					\
	if ((state_) == HAYWIRE_PAGE_PRESENT)				\
		CHECK_U64((r).gpa, gpa_);				\
	CHECK_U64((r).page_shift, shift_);				\
} while (0)

/* Contiguous 4 KiB pages merge; a gap in the frames splits the run. */
static void test_4k_runs(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), va = 0x400000;
	unsigned int i;

	for (i = 0; i < 4; i++)
		set_pte(root, 4, va + i * 4096, 1, (0x100000 + i * 4096) | P | RW | US);
	set_pte(root, 4, va + 4 * 4096, 1, 0x300000 | P | US | NX);
	CHECK_RC(translate(root, 4, va, 6 * 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[0], va, 4 * 4096, HAYWIRE_PAGE_PRESENT, 0x100000, 12);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_WRITE | HAYWIRE_XF_USER);
	CHECK_RUN(c.runs[1], va + 4 * 4096, 4096, HAYWIRE_PAGE_PRESENT, 0x300000, 12);
	CHECK_U64(c.runs[1].flags, HAYWIRE_XF_USER | HAYWIRE_XF_NX);
	CHECK_RUN(c.runs[2], va + 5 * 4096, 4096, HAYWIRE_PAGE_UNMAPPED, 0, 0);

	/* A range starting and ending inside pages. */
	CHECK_RC(translate(root, 4, va + 100, 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_RUN(c.runs[0], va + 100, 4096, HAYWIRE_PAGE_PRESENT, 0x100000 + 100, 12);
}

/*
 * What splits a run of contiguous frames: a change of rights in the entry
 * or in the table above it; accessed and dirty bits do not.
 */
static void test_run_boundaries(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), va = 0x40000000, pa = 0x200000;
	uint64_t *pmd;
	unsigned int i;

	/* 1,024 contiguous frames over two page tables */
	for (i = 0; i < 1024; i++) {
		uint64_t bits = P | US | (i == 300 || i == 301 ? 0 : RW);

		if (i & 1)
			bits |= 1ULL << 5 | 1ULL << 6;	/* accessed, dirty */
		set_pte(root, 4, va + i * 4096ULL, 1, (pa + i * 4096ULL) | bits);
	}
	CHECK_RC(translate(root, 4, va, 1024 * 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[0], va, 300 * 4096, HAYWIRE_PAGE_PRESENT, pa, 12);
	CHECK_RUN(c.runs[1], va + 300 * 4096, 2 * 4096, HAYWIRE_PAGE_PRESENT,
		  pa + 300 * 4096, 12);
	CHECK_U64(c.runs[1].flags, HAYWIRE_XF_USER);
	CHECK_RUN(c.runs[2], va + 302 * 4096, 722 * 4096,
		  HAYWIRE_PAGE_PRESENT, pa + 302 * 4096, 12);

	/* the second table's entry above it drops write: a split there */
	pmd = entry(table_for(root, 4, va + 0x200000, 2),
		    index_at(va + 0x200000, 2));
	*pmd &= ~RW;
	CHECK_RC(translate(root, 4, va + 302 * 4096, 722 * 4096, &c, &err), 0,
		 &err);
	CHECK_U64(c.n, 2);
	CHECK_RUN(c.runs[0], va + 302 * 4096, 210 * 4096, HAYWIRE_PAGE_PRESENT,
		  pa + 302 * 4096, 12);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_WRITE | HAYWIRE_XF_USER);
	CHECK_RUN(c.runs[1], va + 0x200000, 0x200000, HAYWIRE_PAGE_PRESENT,
		  pa + 0x200000, 12);
	CHECK_U64(c.runs[1].flags, HAYWIRE_XF_USER);

	/* a range ending inside a page of a long run */
	CHECK_RC(translate(root, 4, va + 10, 5 * 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_RUN(c.runs[0], va + 10, 5 * 4096, HAYWIRE_PAGE_PRESENT, pa + 10,
		  12);
}

/* 2 MiB and 1 GiB leaves, and empty upper levels reported at their size. */
static void test_large_pages(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table();
	uint64_t va2m = 0x40000000ULL, va1g = 0x8000000000ULL;

	set_pte(root, 4, va2m, 2, 0x600000 | P | RW | US | PSE);
	set_pte(root, 4, va1g, 3, 0x40000000ULL | P | RW | US | PSE);
	CHECK_RC(translate(root, 4, va2m + 0x1000, 0x3000, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_RUN(c.runs[0], va2m + 0x1000, 0x3000, HAYWIRE_PAGE_PRESENT, 0x601000, 21);

	CHECK_RC(translate(root, 4, va1g + 0x12345000ULL, 0x2000, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_RUN(c.runs[0], va1g + 0x12345000ULL, 0x2000, HAYWIRE_PAGE_PRESENT,
		  0x52345000ULL, 30);

	/* 2 MiB page then nothing up to 4 MiB further. */
	CHECK_RC(translate(root, 4, va2m, 0x600000, &c, &err), 0, &err);
	CHECK_U64(c.n, 2);
	CHECK_RUN(c.runs[0], va2m, 0x200000, HAYWIRE_PAGE_PRESENT, 0x600000, 21);
	CHECK_RUN(c.runs[1], va2m + 0x200000, 0x400000, HAYWIRE_PAGE_UNMAPPED, 0, 0);
}

/* Linux's non-present encodings: swap entries and PROT_NONE. */
static void test_absent_entries(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), va = 0x7f0000000000ULL;
	unsigned char buf[16];
	struct haywire_paging pg = {
		.root = root, .levels = 4, .arch = HW_ARCH_X86_64,
	};

	set_pte(root, 4, va, 1, 0x3e00ULL);		/* a swap entry */
	/* PROT_NONE: not present, frame number inverted (L1TF). */
	set_pte(root, 4, va + 4096, 1,
		(~0x200000ULL & 0x000ffffffffff000ULL) | PROTNONE);
	CHECK_RC(translate(root, 4, va, 3 * 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[0], va, 4096, HAYWIRE_PAGE_SWAPPED, 0, 12);
	CHECK_RUN(c.runs[1], va + 4096, 4096, HAYWIRE_PAGE_PRESENT, 0x200000, 12);
	CHECK_U64(c.runs[1].flags, HAYWIRE_XF_PROTNONE);
	CHECK_RUN(c.runs[2], va + 8192, 4096, HAYWIRE_PAGE_UNMAPPED, 0, 0);

	CHECK_RC(haywire_read_virt(&phys, &pg, va, buf, sizeof(buf), &err),
		 HAYWIRE_E_UNMAPPED, &err);
	CHECK_MSG(&err, "swapped out");
	CHECK_RC(haywire_read_virt(&phys, &pg, va + 4096, buf, sizeof(buf), &err),
		 HAYWIRE_E_UNMAPPED, &err);
	CHECK_MSG(&err, "PROT_NONE");
	CHECK_RC(haywire_read_virt(&phys, &pg, va + 8192, buf, sizeof(buf), &err),
		 HAYWIRE_E_UNMAPPED, &err);
	CHECK_MSG(&err, "not mapped");
}

/* Kernel-half addresses keep their sign extension in the runs. */
static void test_upper_half_and_5_level(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root4 = new_table(), root5 = new_table();
	uint64_t k4 = 0xffff888000000000ULL;	/* 4-level direct map */
	uint64_t k5 = 0xff11000000000000ULL;	/* 5-level direct map */
	uint64_t u5 = 0x00f0000000000000ULL;	/* user, only with 5 levels */

	set_pte(root4, 4, k4, 2, 0x800000 | P | RW | PSE);
	CHECK_RC(translate(root4, 4, k4, 0x1000, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_RUN(c.runs[0], k4, 0x1000, HAYWIRE_PAGE_PRESENT, 0x800000, 21);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_WRITE);	/* no user bit */

	set_pte(root5, 5, k5, 1, 0xa00000 | P | RW);
	set_pte(root5, 5, u5, 1, 0xb00000 | P | RW | US);
	CHECK_RC(translate(root5, 5, k5, 0x1000, &c, &err), 0, &err);
	CHECK_RUN(c.runs[0], k5, 0x1000, HAYWIRE_PAGE_PRESENT, 0xa00000, 12);
	CHECK_RC(translate(root5, 5, u5, 0x1000, &c, &err), 0, &err);
	CHECK_RUN(c.runs[0], u5, 0x1000, HAYWIRE_PAGE_PRESENT, 0xb00000, 12);
	/* The same user address is non-canonical with 4 levels. */
	CHECK_RC(translate(root4, 4, u5, 0x1000, &c, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "canonical");
}

/* Bad input: roots, levels, ranges and tables outside guest RAM. */
static void test_errors(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table();

	CHECK_RC(translate(root + 8, 4, 0, 4096, &c, &err), HAYWIRE_E_CORRUPT, &err);
	CHECK_RC(translate(root, 3, 0, 4096, &c, &err), HAYWIRE_E_INVALID, &err);
	CHECK_RC(translate(root, 4, 0x7ffffffff000ULL, 0x2000, &c, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "hole");
	CHECK_RC(translate(root, 4, 0x1000, 0, &c, &err), 0, &err);
	CHECK_U64(c.n, 0);
	/* A table pointer beyond the end of RAM. */
	set_pte(root, 4, 0x1000, 4, 0x40000000000ULL | TABLE);
	CHECK_RC(translate(root, 4, 0x1000, 4096, &c, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "not in the RAM file");
	/* The root itself outside RAM. */
	CHECK_RC(translate(0x7000000000ULL, 4, 0x1000, 4096, &c, &err),
		 HAYWIRE_E_INVALID, &err);
}

/* A whole 48-bit user half with one page mapped: visits few tables. */
static void test_sparse_space(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table();

	set_pte(root, 4, 0x7fffffffe000ULL, 1, 0x123000 | P | RW | US);
	CHECK_RC(translate(root, 4, 0, 0x800000000000ULL, &c, &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[1], 0x7fffffffe000ULL, 4096, HAYWIRE_PAGE_PRESENT, 0x123000, 12);
	CHECK_U64(c.runs[2].va + c.runs[2].len, 0x800000000000ULL);
}

/* Reads cross pages that are not physically contiguous. */
static void test_read_virt(void)
{
	struct haywire_error err;
	uint64_t root = new_table(), va = 0x10000;
	struct haywire_paging pg = {
		.root = root, .levels = 4, .arch = HW_ARCH_X86_64,
	};
	unsigned char buf[8192];

	set_pte(root, 4, va, 1, 0x200000 | P | US);
	set_pte(root, 4, va + 4096, 1, 0x100000 | P | US);
	memset(ram + 0x200000, 0xaa, 4096);
	memset(ram + 0x100000, 0xbb, 4096);
	CHECK_RC(haywire_read_virt(&phys, &pg, va + 2048, buf, 4096, &err), 0, &err);
	CHECK(buf[0] == 0xaa && buf[2047] == 0xaa);
	CHECK(buf[2048] == 0xbb && buf[4095] == 0xbb);
}

/*
 * PTI: the pgd is the kernel's copy (8 KiB aligned) whose user entries
 * carry NX; the page after it is the user copy, the same entries without
 * NX, and user-mode rights come from there. Without that twin, NX stays.
 */
static void test_pti_user_copy(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root, user, after, va = 0x400000, *top;

	if (next_table % 8192)
		new_table();
	root = new_table();
	user = new_table();
	after = new_table();
	set_pte(root, 4, va, 1, 0x100000 | P | US);	/* executable text */
	top = entry(root, index_at(va, 4));
	*entry(user, index_at(va, 4)) = *top;
	*top |= NX;
	CHECK_RC(translate(root, 4, va, 4096, &c, &err), 0, &err);
	CHECK_U64(c.n, 1);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_USER);

	/* No twin (not PTI): the entry's NX counts. */
	*entry(user, index_at(va, 4)) = 0;
	CHECK_RC(translate(root, 4, va, 4096, &c, &err), 0, &err);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_USER | HAYWIRE_XF_NX);

	/* A pgd that is not 8 KiB aligned has no user copy after it. */
	CHECK_U64(after, user + 4096);
	*entry(user, index_at(va, 4)) = *top;
	*entry(after, index_at(va, 4)) = *top & ~NX;
	CHECK_RC(translate(user, 4, va, 4096, &c, &err), 0, &err);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_USER | HAYWIRE_XF_NX);
}

/* ---- arm64 ---------------------------------------------------------- */

#define AV		(1ULL << 0)	/* valid */
#define AT		(1ULL << 1)	/* table (page at the last level) */
#define AUSER		(1ULL << 6)
#define ARDONLY		(1ULL << 7)
#define AAF		(1ULL << 10)
#define ANG		(1ULL << 11)
#define AWRITE		(1ULL << 51)
#define ACONT		(1ULL << 52)
#define APXN		(1ULL << 53)
#define AUXN		(1ULL << 54)
#define APROTNONE	(1ULL << 58)	/* before 6.10 */
#define ASH		(3ULL << 8)	/* inner shareable; LPA2: PA 50..51 */
#define APAGE		(AV | AT | AAF | ANG | APXN | ASH)	/* a user page */

/* The arm64 table at `level` for va, creating the path down from root. */
static uint64_t a64_table_for(uint64_t root, unsigned int levels,
			      uint64_t va, unsigned int level)
{
	uint64_t t = root;
	unsigned int l;

	for (l = levels; l > level; l--) {
		uint64_t *e = entry(t, index_at(va, l));

		if (!(*e & AV))
			*e = new_table() | AV | AT;
		t = *e & 0x0000fffffffff000ULL;
	}
	return t;
}

static void a64_set(uint64_t root, unsigned int levels, uint64_t va,
		    unsigned int level, uint64_t value)
{
	*entry(a64_table_for(root, levels, va, level), index_at(va, level)) =
		value;
}

static int a64_translate(uint64_t root, unsigned int levels,
			 const char *release, uint64_t va, uint64_t len,
			 struct collected *c, struct haywire_error *err)
{
	struct haywire_paging pg;
	int rc = haywire_paging_init(&pg, HW_ARCH_ARM64, levels, 4096, release,
				     root, err);

	memset(c, 0, sizeof(*c));
	return rc ? rc : haywire_translate(&phys, &pg, va, len, collect, c,
					   err);
}

/* Pages, rights from the leaf alone, the contiguous hint, 1 GiB and 2 MiB
 * blocks, with 4 and 3 levels. */
static void test_arm64_pages_and_blocks(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), root3 = new_table(), va = 0xaaaa00000000ULL;
	unsigned int i;

	/* 16 contiguous-hint pages then 2 without it: one run (the hint is
	 * a TLB matter); then a read-only executable page. */
	for (i = 0; i < 18; i++)
		a64_set(root, 4, va + i * 4096, 1, (0x100000 + i * 4096ULL) |
			APAGE | AUSER | AWRITE | AUXN | (i < 16 ? ACONT : 0));
	a64_set(root, 4, va + 18 * 4096, 1, 0x300000 | APAGE | AUSER | ARDONLY);
	CHECK_RC(a64_translate(root, 4, "6.1.0-31-arm64", va, 20 * 4096, &c,
			       &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[0], va, 18 * 4096, HAYWIRE_PAGE_PRESENT, 0x100000, 12);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_WRITE | HAYWIRE_XF_USER |
		  HAYWIRE_XF_NX);
	CHECK_RUN(c.runs[1], va + 18 * 4096, 4096, HAYWIRE_PAGE_PRESENT,
		  0x300000, 12);
	CHECK_U64(c.runs[1].flags, HAYWIRE_XF_USER);
	CHECK_RUN(c.runs[2], va + 19 * 4096, 4096, HAYWIRE_PAGE_UNMAPPED, 0, 0);

	/* A 2 MiB block (table bit clear at level 2) and a 1 GiB block. */
	a64_set(root, 4, 0x40000000ULL, 2, 0x600000 | AV | AAF | AUSER | AUXN);
	a64_set(root, 4, 0x8000000000ULL, 3, 0x40000000ULL | AV | AAF | AWRITE);
	CHECK_RC(a64_translate(root, 4, "6.1.0", 0x40001000ULL, 0x3000, &c,
			       &err), 0, &err);
	CHECK_RUN(c.runs[0], 0x40001000ULL, 0x3000, HAYWIRE_PAGE_PRESENT,
		  0x601000, 21);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_USER | HAYWIRE_XF_NX);
	CHECK_RC(a64_translate(root, 4, "6.1.0", 0x8012345000ULL, 0x1000, &c,
			       &err), 0, &err);
	CHECK_RUN(c.runs[0], 0x8012345000ULL, 0x1000, HAYWIRE_PAGE_PRESENT,
		  0x52345000ULL, 30);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_WRITE);

	/* 3 levels (39-bit VAs): the top level maps 1 GiB and may be a block. */
	a64_set(root3, 3, 0x7fc0000000ULL, 3, 0x40000000ULL | AV | AAF | AUSER);
	a64_set(root3, 3, 0x1000, 1, 0x200000 | APAGE | AUSER);
	CHECK_RC(a64_translate(root3, 3, "6.12.9", 0x7fc0001000ULL, 0x1000,
			       &c, &err), 0, &err);
	CHECK_RUN(c.runs[0], 0x7fc0001000ULL, 0x1000, HAYWIRE_PAGE_PRESENT,
		  0x40001000ULL, 30);
	CHECK_RC(a64_translate(root3, 3, "6.12.9", 0x1000, 0x1000, &c, &err),
		 0, &err);
	CHECK_RUN(c.runs[0], 0x1000, 0x1000, HAYWIRE_PAGE_PRESENT, 0x200000, 12);
	/* A process's tables are TTBR0's: kernel addresses are refused, and
	 * TTBR1's tables take only them. */
	CHECK_RC(a64_translate(root, 4, "6.1.0", 0xffff000000001000ULL, 0x1000,
			       &c, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "kernel half");
	{
		struct haywire_paging pg;

		CHECK_RC(haywire_paging_init(&pg, HW_ARCH_ARM64, 4, 4096,
					     "6.1.0", root, &err), 0, &err);
		pg.arm64_ttbr1 = true;
		memset(&c, 0, sizeof(c));
		CHECK_RC(haywire_translate(&phys, &pg, 0xffff008012345000ULL,
					   0x1000, collect, &c, &err), 0, &err);
		CHECK_RUN(c.runs[0], 0xffff008012345000ULL, 0x1000,
			  HAYWIRE_PAGE_PRESENT, 0x52345000ULL, 30);
		CHECK_RC(haywire_translate(&phys, &pg, 0x1000, 0x1000, collect,
					   &c, &err), HAYWIRE_E_INVALID, &err);
		CHECK_MSG(&err, "user half");
	}
	/* Beyond 39 bits is not a 3-level address. */
	CHECK_RC(a64_translate(root3, 3, "6.12.9", 0x8000000000ULL, 0x1000,
			       &c, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "canonical");
}

/*
 * Swap and PROT_NONE as each kernel writes them: before 6.10 PROT_NONE is
 * bit 58 and a swap offset may set bit 11; from 6.10 PROT_NONE is nG
 * (PTE_PRESENT_INVALID) without user access and with UXN, and bit 58 may
 * be a swap offset bit.
 */
static void test_arm64_absent_entries(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), va = 0xffff00000000ULL;
	uint64_t old_pn = 0x200000 | AT | AAF | ANG | APROTNONE | AUXN | APXN;
	uint64_t new_pn = 0x201000 | AT | AAF | ANG | AUXN | APXN;
	uint64_t old_swap = (0x123ULL << 8) | (3ULL << 3) | ANG;
	uint64_t new_swap = (0x1234567ULL << 12) | (1ULL << 58);

	a64_set(root, 4, va, 1, old_pn);
	a64_set(root, 4, va + 4096, 1, new_pn);
	a64_set(root, 4, va + 2 * 4096, 1, old_swap);
	a64_set(root, 4, va + 3 * 4096, 1, new_swap);
	/* 6.1: bit 58 is PROT_NONE; nG is a swap offset bit. */
	CHECK_RC(a64_translate(root, 4, "6.1.0-31-arm64", va, 4 * 4096, &c,
			       &err), 0, &err);
	CHECK_U64(c.n, 3);
	CHECK_RUN(c.runs[0], va, 4096, HAYWIRE_PAGE_PRESENT, 0x200000, 12);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_PROTNONE);
	CHECK_RUN(c.runs[1], va + 4096, 2 * 4096, HAYWIRE_PAGE_SWAPPED, 0, 12);
	CHECK_RUN(c.runs[2], va + 3 * 4096, 4096, HAYWIRE_PAGE_PRESENT,
		  0x1234567000ULL, 12);
	/* 6.12: nG with UXN and without user access is PROT_NONE; bit 58 is
	 * a swap offset bit. */
	CHECK_RC(a64_translate(root, 4, "6.12.12-arm64", va, 4 * 4096, &c,
			       &err), 0, &err);
	CHECK_U64(c.n, 2);
	CHECK_RUN(c.runs[0], va, 2 * 4096, HAYWIRE_PAGE_PRESENT, 0x200000, 12);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_PROTNONE);
	CHECK_RUN(c.runs[1], va + 2 * 4096, 2 * 4096, HAYWIRE_PAGE_SWAPPED, 0,
		  12);
	/* A PROT_NONE 2 MiB block (table bit clear) under 6.12. */
	a64_set(root, 4, 0x40000000ULL, 2, 0x400000 | AAF | ANG | AUXN);
	CHECK_RC(a64_translate(root, 4, "6.12.12-arm64", 0x40001000ULL, 4096,
			       &c, &err), 0, &err);
	CHECK_RUN(c.runs[0], 0x40001000ULL, 4096, HAYWIRE_PAGE_PRESENT,
		  0x401000, 21);
	CHECK_U64(c.runs[0].flags, HAYWIRE_XF_PROTNONE);
}

/*
 * LPA2 (Debian's 6.12 on a CPU with FEAT_LPA2): 5 levels over 52-bit
 * addresses, the top one of 16 entries; address bits 50..51 in bits 8..9.
 */
static void test_arm64_lpa2(void)
{
	struct haywire_error err;
	struct collected c;
	uint64_t root = new_table(), va = 0xffff8000000ULL, hi = 0xf000000000000ULL;
	uint64_t *top;

	/* The top table is 128 bytes: Linux allocates it from a slab. */
	CHECK_RC(a64_translate(root + 128, 5, "6.12.12-arm64", va, 4096, &c,
			       &err), 0, &err);
	CHECK_RC(a64_translate(root + 64, 5, "6.12.12-arm64", va, 4096, &c,
			       &err), HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "128-byte-aligned");
	a64_set(root, 5, va, 1, 0x100000 | AV | AT | AAF | ANG | AUSER | AWRITE);
	a64_set(root, 5, va + 4096, 1, 0x101000 | AV | AT | AAF | AUSER | AWRITE);
	/* a page at physical 2^50 + 0x200000: bits 50..51 in bits 8..9 */
	a64_set(root, 5, va + 8192, 1, 0x200000 | (1ULL << 8) | AV | AT | AAF |
		AUSER);
	CHECK_RC(a64_translate(root, 5, "6.12.12-arm64", va, 3 * 4096, &c,
			       &err), 0, &err);
	CHECK_U64(c.n, 2);
	CHECK_RUN(c.runs[0], va, 2 * 4096, HAYWIRE_PAGE_PRESENT, 0x100000, 12);
	CHECK_RUN(c.runs[1], va + 8192, 4096, HAYWIRE_PAGE_PRESENT,
		  (1ULL << 50) | 0x200000, 12);
	/* A user address above 48 bits, in the top table's entry 15. */
	a64_set(root, 5, hi, 1, 0x300000 | AV | AT | AAF | AUSER);
	CHECK_RC(a64_translate(root, 5, "6.12.12-arm64", hi, 4096, &c, &err),
		 0, &err);
	CHECK_RUN(c.runs[0], hi, 4096, HAYWIRE_PAGE_PRESENT, 0x300000, 12);
	top = entry(root, 15);
	CHECK(*top != 0);
	/* 52 bits is the limit. */
	CHECK_RC(a64_translate(root, 5, "6.12.12-arm64", 1ULL << 52, 4096, &c,
			       &err), HAYWIRE_E_INVALID, &err);
	/* A table whose address has bits 50..51: beyond RAM, not truncated. */
	*entry(root, 1) = (1ULL << 9) | AV | AT;
	CHECK_RC(a64_translate(root, 5, "6.12.12-arm64", 1ULL << 48, 4096, &c,
			       &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "not in the RAM file");
	*entry(root, 1) = 0;
}

/* What the arm64 walker refuses: granules, LPA2, blocks at level 0. */
static void test_arm64_refusals(void)
{
	struct haywire_error err;
	struct haywire_paging pg;
	struct collected c;
	uint64_t root = new_table();

	CHECK_RC(haywire_paging_init(&pg, HW_ARCH_ARM64, 3, 65536, "6.1.0",
				     root, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "4 KiB granule");
	CHECK_RC(haywire_paging_init(&pg, HW_ARCH_ARM64, 4, 16384, "6.1.0",
				     root, &err), HAYWIRE_E_INVALID, &err);
	CHECK_RC(haywire_paging_init(&pg, HW_ARCH_ARM64, 4, 4096, "linux",
				     root, &err), HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "PROT_NONE");
	CHECK_RC(a64_translate(root, 6, "6.12.0", 0x1000, 4096, &c, &err),
		 HAYWIRE_E_INVALID, &err);
	CHECK_MSG(&err, "levels");
	/* A level-0 (512 GiB) block does not exist with 4 KiB. */
	*entry(root, 0) = 0x40000000ULL | AV | AAF;
	CHECK_RC(a64_translate(root, 4, "6.1.0", 0x1000, 4096, &c, &err),
		 HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "not a valid descriptor");
	*entry(root, 0) = 0;
}

int main(void)
{
	setup();
	RUN(test_4k_runs);
	RUN(test_run_boundaries);
	RUN(test_large_pages);
	RUN(test_absent_entries);
	RUN(test_upper_half_and_5_level);
	RUN(test_errors);
	RUN(test_sparse_space);
	RUN(test_read_virt);
	RUN(test_pti_user_copy);
	RUN(test_arm64_pages_and_blocks);
	RUN(test_arm64_absent_entries);
	RUN(test_arm64_lpa2);
	RUN(test_arm64_refusals);
	teardown();
	return check_done();
}
