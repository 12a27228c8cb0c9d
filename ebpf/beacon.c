// SPDX-License-Identifier: GPL-2.0-only
/*
 * The beacon of haywire-bpf: locked 2 MiB huge pages, so that each is
 * physically contiguous and 2 MiB-aligned like the module's extents; their
 * guest-physical addresses from /proc/self/pagemap. Huge pages never move
 * while mapped and locked (no swap, no THP split); huge-page migration
 * (memory hot-remove, CMA) would move them, which the beacon does not
 * survive: the loader checks the addresses at every refresh and exits
 * with an error if they changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

uint64_t now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* HugePages_Total of /proc/meminfo: what the kernel really holds. */
static long hugepages_total(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Total: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -errno;
	rc = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static void *map_huge(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		       MAP_LOCKED | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Huge pages for the beacon: free ones, or else raise vm.nr_hugepages by
 * what is missing (undone at exit). One clear error when neither works.
 */
static void *get_huge_pages(struct beacon *b, uint64_t bytes)
{
	long want = (long)(bytes / HUGE_SIZE), before, after;
	void *p = map_huge(bytes);

	if (p)
		return p;
	before = hugepages_total();
	if (before < 0) {
		say("cannot map %ld huge pages of 2 MiB and cannot read HugePages_Total in /proc/meminfo",
		    want);
		return NULL;
	}
	if (write_long(NR_HUGEPAGES, before + want) == 0) {
		after = hugepages_total();
		b->hugepages_added = after > before ? after - before : 0;
		p = map_huge(bytes);
		if (p)
			return p;
	}
	after = hugepages_total();
	if (b->hugepages_added)
		write_long(NR_HUGEPAGES, before);
	b->hugepages_added = 0;
	say("no huge pages: the beacon needs %ld of 2 MiB, none are free, and raising %s from %ld gave %ld (guest memory too small or fragmented; reserve them at boot with hugepages=%ld)",
	    want, NR_HUGEPAGES, before, after < 0 ? before : after, want);
	return NULL;
}

/* Physical address of each huge page, merged into extents. */
static int find_extents(struct beacon *b)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t off, entry;

	if (fd < 0) {
		say("cannot open /proc/self/pagemap: %s", strerror(errno));
		return -1;
	}
	b->nr_extents = 0;
	for (off = 0; off < b->size; off += HUGE_SIZE) {
		uint64_t va = (uint64_t)(uintptr_t)(b->base + off), pa;
		struct hw_range *last = b->nr_extents ?
					&b->extents[b->nr_extents - 1] : NULL;

		if (pread(fd, &entry, sizeof(entry),
			  (off_t)(va / BASE_PAGE * 8)) != sizeof(entry) ||
		    !(entry & PM_PRESENT) || !(entry & PM_PFN_MASK)) {
			say("no physical address for the beacon in /proc/self/pagemap (CAP_SYS_ADMIN needed)");
			close(fd);
			return -1;
		}
		pa = (entry & PM_PFN_MASK) * BASE_PAGE;
		if (pa % HUGE_SIZE) {
			say("huge page at 0x%" PRIx64 " is not 2 MiB-aligned", pa);
			close(fd);
			return -1;
		}
		if (last && last->start + last->size == pa) {
			last->size += HUGE_SIZE;
			continue;
		}
		if (b->nr_extents == HW_MAX_EXTENTS) {
			say("the beacon's huge pages make more than %d extents",
			    HW_MAX_EXTENTS);
			close(fd);
			return -1;
		}
		b->extents[b->nr_extents].start = pa;
		b->extents[b->nr_extents].size = HUGE_SIZE;
		b->nr_extents++;
	}
	close(fd);
	return 0;
}

int beacon_create(struct beacon *b, uint64_t bytes, unsigned int events)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->size = (bytes + HUGE_SIZE - 1) / HUGE_SIZE * HUGE_SIZE;
	b->events_slots = events;
	b->events_size = events ? (sizeof(struct hw_event_ring) +
				   (uint64_t)events * sizeof(struct hw_event) +
				   BASE_PAGE - 1) / BASE_PAGE * BASE_PAGE : 0;
	b->snap_start = FIXED_SIZE + b->events_size;
	if (b->snap_start + 2 * HUGE_SIZE > b->size) {
		say("-m %llu MiB is too small: the fixed area and the event ring take %llu KiB; at least %llu MiB",
		    (unsigned long long)(bytes >> 20),
		    (unsigned long long)(b->snap_start >> 10),
		    (unsigned long long)((b->snap_start + 2 * HUGE_SIZE +
					  HUGE_SIZE - 1) / HUGE_SIZE * 2));
		return -1;
	}
	b->half = (b->size - b->snap_start) / 2 / SECTION_ALIGN * SECTION_ALIGN;
	b->base = get_huge_pages(b, b->size);
	if (!b->base)
		return -1;
	if (find_extents(b)) {
		munmap(b->base, b->size);
		b->base = NULL;
		return -1;
	}
	b->pub.index = (struct hw_index *)b->base;
	return 0;
}

/* 5-level paging: the kernel gives out user addresses above 47 bits. */
static uint8_t paging_levels(void)
{
#if defined(__x86_64__)
	void *hint = (void *)(1ULL << 56);
	void *p = mmap(hint, BASE_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t levels = 4;

	if (p != MAP_FAILED) {
		if ((uint64_t)(uintptr_t)p >= (1ULL << 47))
			levels = 5;
		munmap(p, BASE_PAGE);
	}
	return levels;
#else
	return 4;	/* arm64: Debian's 48-bit VA with 4 KiB pages */
#endif
}

void beacon_identity(struct beacon *b, uint32_t unavailable)
{
	struct hw_identity id = { 0 };
	struct utsname u;

	if (getrandom(&id.nonce, sizeof(id.nonce), 0) != sizeof(id.nonce))
		id.nonce = now_ns(CLOCK_MONOTONIC) ^ (uint64_t)getpid() << 40;
	uname(&u);
	id.self_gpa = b->extents[0].start;
	id.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
#if defined(__x86_64__)
	id.arch = HW_ARCH_X86_64;
#else
	id.arch = HW_ARCH_ARM64;
#endif
	id.paging_levels = paging_levels();
	id.companion = HW_COMPANION_EBPF;
	id.unavailable = unavailable;
	id.load_real_ns = now_ns(CLOCK_REALTIME);
	id.kernel_release = u.release;
	id.companion_version = "haywire-bpf " HWB_VERSION;
	hw_pub_identity(b->pub.index, &id);
}

/* System RAM from /proc/iomem (root sees the addresses), top level only. */
void beacon_set_ram(struct hw_range *ram, uint32_t *count, bool *truncated)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];

	*count = 0;
	*truncated = false;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (line[0] == ' ' || !strstr(line, ": System RAM"))
			continue;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2 || e < s)
			continue;
		if (*count == HW_MAX_RAM_RANGES) {
			*truncated = true;
			break;
		}
		ram[*count].start = s;
		ram[*count].size = e - s + 1;
		(*count)++;
	}
	fclose(f);
}

/* Magic "gone" and seq odd first, then the memory goes back. */
void beacon_destroy(struct beacon *b)
{
	if (!b->base)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->pub.index->magic == HW_MAGIC)
		hw_pub_mark_gone(&b->pub);
	pthread_mutex_unlock(&b->lock);
	munmap(b->base, b->size);
	b->base = NULL;
	if (b->hugepages_added) {
		long now = hugepages_total();

		if (now >= b->hugepages_added)
			write_long(NR_HUGEPAGES, now - b->hugepages_added);
	}
}
