// SPDX-License-Identifier: MIT
/*
 * Guest memory: a RAM file mapped read-only (or a caller's buffer) and
 * bounded copies out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define RAM_MIN_SIZE	(2 * MIB)
#define RAM_GRANULE	4096

static int check_size(const char *what, uint64_t size,
		      struct haywire_error *err)
{
	if (size == 0)
		return hwi_fail(err, HAYWIRE_E_NOT_RAM,
				"%s is empty: not a guest RAM file", what);
	if (size < RAM_MIN_SIZE)
		return hwi_fail(err, HAYWIRE_E_NOT_RAM,
				"%s is only %llu bytes: not a guest RAM file (need at least 2 MiB)",
				what, (unsigned long long)size);
	if (size % RAM_GRANULE)
		return hwi_fail(err, HAYWIRE_E_NOT_RAM,
				"%s is %llu bytes, not a multiple of 4096: not a guest RAM file",
				what, (unsigned long long)size);
	return 0;
}

/*
 * SIGBUS: the file shrank under the mapping. The handler is the caller's
 * choice (haywire_catch_sigbus, see haywire.h): a library must not take a
 * process-wide signal on its own. With it, inside hwi_guarded() the
 * faulting copy is abandoned with siglongjmp; anywhere else the signal goes
 * to whoever handled it before us, or kills the process as it would have.
 * Without it, hwi_guarded() checks the file's size before the copy.
 */
static __thread sigjmp_buf *bus_guard;
static struct sigaction bus_previous;
static int bus_claimed;		/* the first caller installs */
static int bus_installed;		/* bus_previous is valid */

static void on_sigbus(int sig, siginfo_t *info, void *ucontext)
{
	if (bus_guard)
		siglongjmp(*bus_guard, 1);
	if (bus_previous.sa_flags & SA_SIGINFO) {
		bus_previous.sa_sigaction(sig, info, ucontext);
	} else if (bus_previous.sa_handler != SIG_DFL &&
		   bus_previous.sa_handler != SIG_IGN) {
		bus_previous.sa_handler(sig);
	} else {
		/* Returning re-executes the access, which now kills us. */
		signal(SIGBUS, SIG_DFL);
	}
}

void haywire_catch_sigbus(void)
{
	struct sigaction sa;

	if (__atomic_exchange_n(&bus_claimed, 1, __ATOMIC_ACQ_REL))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	/* NODEFER: siglongjmp out of the handler leaves SIGBUS unblocked. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_previous);
	/* Pairs with the acquire loads: bus_previous is set before. */
	__atomic_store_n(&bus_installed, 1, __ATOMIC_RELEASE);
}

#define SHRANK_MSG "the RAM file shrank while it was being read"
#define SHRANK_HINT "the guest was probably shut down"

static int check_file_size(int fd, uint64_t size, struct haywire_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hwi_fail(err, HAYWIRE_E_IO, "cannot stat the RAM file: %s",
				strerror(errno));
	if ((uint64_t)st.st_size < size)
		return hwi_fail(err, HAYWIRE_E_IO,
				SHRANK_MSG " (%llu of %llu bytes left): " SHRANK_HINT,
				(unsigned long long)st.st_size,
				(unsigned long long)size);
	return 0;
}

/* Without the handler: fail if a file is already shorter than mapped. */
static int check_not_shrunk(const struct haywire_mem *mem,
			    struct haywire_error *err)
{
	unsigned int i;
	int rc = check_file_size(mem->fd, mem->size, err);

	for (i = 0; !rc && i < mem->nattached; i++)
		rc = check_file_size(mem->attached[i].fd,
				     mem->attached[i].size, err);
	return rc;
}

int hwi_guarded(const struct haywire_mem *mem, int (*fn)(void *arg),
		void *arg, struct haywire_error *err)
{
	sigjmp_buf env;
	sigjmp_buf *volatile previous = bus_guard;
	int rc;

	if (mem->fd < 0)
		return fn(arg);
	if (!__atomic_load_n(&bus_installed, __ATOMIC_ACQUIRE)) {
		rc = check_not_shrunk(mem, err);
		return rc ? rc : fn(arg);
	}
	if (sigsetjmp(env, 0)) {
		bus_guard = previous;
		return hwi_fail(err, HAYWIRE_E_IO,
				SHRANK_MSG " (SIGBUS): " SHRANK_HINT);
	}
	bus_guard = &env;
	rc = fn(arg);
	bus_guard = previous;
	return rc;
}

struct haywire_mem *haywire_mem_open(const char *path,
				     struct haywire_error *err)
{
	struct haywire_mem *mem;
	struct stat st;
	void *base;
	int fd;

	if (!path || !*path) {
		hwi_fail(err, HAYWIRE_E_INVALID, "no RAM file name given");
		return NULL;
	}
	/* NONBLOCK: a FIFO must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		hwi_fail(err, HAYWIRE_E_FILE, "cannot open %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		hwi_fail(err, HAYWIRE_E_FILE, "cannot stat %s: %s", path,
			 strerror(errno));
		goto fail_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		hwi_fail(err, HAYWIRE_E_NOT_RAM,
			 "%s is %s, not a guest RAM file", path,
			 S_ISDIR(st.st_mode) ? "a directory" :
			 "not a regular file");
		goto fail_fd;
	}
	if (check_size(path, (uint64_t)st.st_size, err))
		goto fail_fd;
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		hwi_fail(err, HAYWIRE_E_FILE, "cannot map %s: %s", path,
			 strerror(errno));
		goto fail_fd;
	}
	mem = calloc(1, sizeof(*mem));
	if (!mem) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		munmap(base, (size_t)st.st_size);
		goto fail_fd;
	}
	mem->base = base;
	mem->size = (uint64_t)st.st_size;
	mem->span = mem->size;
	mem->fd = fd;
	mem->dev = (uint64_t)st.st_dev;
	mem->ino = (uint64_t)st.st_ino;
	return mem;

fail_fd:
	close(fd);
	return NULL;
}

struct haywire_mem *haywire_mem_from_buffer(const void *buf, size_t size,
					    struct haywire_error *err)
{
	struct haywire_mem *mem;

	if (!buf && size) {
		hwi_fail(err, HAYWIRE_E_INVALID, "no buffer given");
		return NULL;
	}
	if (check_size("the buffer", size, err))
		return NULL;
	mem = calloc(1, sizeof(*mem));
	if (!mem) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	mem->base = buf;
	mem->size = size;
	mem->span = size;
	mem->fd = -1;
	return mem;
}

void haywire_mem_close(struct haywire_mem *mem)
{
	unsigned int i;

	if (!mem)
		return;
	if (mem->fd >= 0) {
		munmap((void *)mem->base, (size_t)mem->span);
		close(mem->fd);
	}
	for (i = 0; i < mem->nattached; i++)
		close(mem->attached[i].fd);
	free(mem);
}

/*
 * Map the RAM file and the attached files, in order, into one new region
 * (so that every offset is base + offset, as before), then drop the old
 * mapping. The new file is mapped last, at mem->span.
 */
static int remap_with(struct haywire_mem *mem, const struct hwi_attached *add,
		      struct haywire_error *err)
{
	uint64_t span = mem->span + add->size;
	unsigned char *region;
	unsigned int i;
	bool ok;

	region = mmap(NULL, (size_t)span, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		return hwi_fail(err, HAYWIRE_E_NOMEM,
				"cannot reserve %llu MiB of address space for guest RAM: %s",
				(unsigned long long)(span / MIB),
				strerror(errno));
	ok = mmap(region, (size_t)mem->size, PROT_READ, MAP_SHARED | MAP_FIXED,
		  mem->fd, 0) != MAP_FAILED;
	for (i = 0; ok && i <= mem->nattached; i++) {
		const struct hwi_attached *a = i < mem->nattached ?
					       &mem->attached[i] : add;

		ok = mmap(region + a->offset, (size_t)a->size, PROT_READ,
			  MAP_SHARED | MAP_FIXED, a->fd, 0) != MAP_FAILED;
	}
	if (!ok) {
		int e = errno;

		munmap(region, (size_t)span);
		return hwi_fail(err, HAYWIRE_E_FILE,
				"cannot map guest RAM files: %s", strerror(e));
	}
	munmap((void *)mem->base, (size_t)mem->span);
	mem->base = region;
	mem->span = span;
	return 0;
}

/* The attached runs, moved to the handle's offsets; false if they do not
 * fit in the file or in the map. */
static int add_runs(struct haywire_mem *mem, const struct hwi_attached *a,
		    const char *path, const struct haywire_run *runs,
		    unsigned int count, struct haywire_error *err)
{
	struct haywire_gpa_map *map = &mem->attached_map;
	unsigned int i;

	if (count == 0 || count > HAYWIRE_MAP_MAX_RUNS - map->count)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s: %u guest-physical runs, %u already attached: at most %d in all",
				path, count, map->count, HAYWIRE_MAP_MAX_RUNS);
	for (i = 0; i < count; i++)
		if (runs[i].size == 0 || runs[i].file_offset > a->size ||
		    runs[i].size > a->size - runs[i].file_offset ||
		    runs[i].gpa > UINT64_MAX - runs[i].size)
			return hwi_fail(err, HAYWIRE_E_INVALID,
					"%s: GPA 0x%llx + 0x%llx at offset 0x%llx is not inside its %llu bytes",
					path, (unsigned long long)runs[i].gpa,
					(unsigned long long)runs[i].size,
					(unsigned long long)runs[i].file_offset,
					(unsigned long long)a->size);
	for (i = 0; i < count; i++) {
		map->runs[map->count] = runs[i];
		map->runs[map->count].file_offset += a->offset;
		map->count++;
	}
	return 0;
}

int haywire_mem_attach(struct haywire_mem *mem, const char *path,
		       const struct haywire_run *runs, unsigned int count,
		       struct haywire_error *err)
{
	struct hwi_attached a = { .fd = -1 };
	struct stat st;
	unsigned int i;
	int rc;

	if (mem->fd < 0)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"guest RAM files attach to a RAM file, not a buffer");
	if (mem->nattached == HAYWIRE_MEM_MAX_ATTACHED)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"more than %d guest RAM files besides the RAM file",
				HAYWIRE_MEM_MAX_ATTACHED);
	a.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (a.fd < 0)
		return hwi_fail(err, HAYWIRE_E_FILE, "cannot open %s: %s", path,
				strerror(errno));
	if (fstat(a.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = hwi_fail(err, HAYWIRE_E_NOT_RAM,
			      "%s is not a regular file: not guest RAM", path);
		goto fail;
	}
	a.dev = (uint64_t)st.st_dev;
	a.ino = (uint64_t)st.st_ino;
	a.size = (uint64_t)st.st_size;
	a.offset = mem->span;
	for (i = 0; i < mem->nattached; i++)
		if (mem->attached[i].dev == a.dev &&
		    mem->attached[i].ino == a.ino)
			goto done;	/* attached already */
	if ((a.dev == mem->dev && a.ino == mem->ino))
		goto done;		/* the RAM file itself */
	rc = check_size(path, a.size, err);
	if (rc)
		goto fail;
	rc = add_runs(mem, &a, path, runs, count, err);
	if (rc)
		goto fail;
	rc = remap_with(mem, &a, err);
	if (rc) {
		mem->attached_map.count -= count;
		goto fail;
	}
	mem->attached[mem->nattached++] = a;
	return 0;
done:
	close(a.fd);
	return 0;
fail:
	close(a.fd);
	return rc;
}

const struct haywire_gpa_map *haywire_mem_attached_map(const struct haywire_mem *mem)
{
	return &mem->attached_map;
}

uint64_t haywire_mem_size(const struct haywire_mem *mem)
{
	return mem->size;
}

bool haywire_mem_file_id(const struct haywire_mem *mem, uint64_t *dev,
			 uint64_t *ino)
{
	if (mem->fd < 0)
		return false;
	*dev = mem->dev;
	*ino = mem->ino;
	return true;
}

bool hwi_copy(const struct haywire_mem *mem, uint64_t offset, void *dst,
	      size_t len)
{
	if (offset > mem->span || len > mem->span - offset)
		return false;
	memcpy(dst, mem->base + offset, len);
	return true;
}

uint32_t hwi_load_u32_acquire(const struct haywire_mem *mem, uint64_t offset)
{
	return __atomic_load_n((const uint32_t *)(mem->base + offset),
			       __ATOMIC_ACQUIRE);
}

uint64_t hwi_load_u64(const struct haywire_mem *mem, uint64_t offset)
{
	return __atomic_load_n((const uint64_t *)(mem->base + offset),
			       __ATOMIC_RELAXED);
}

struct read_args {
	const struct haywire_mem *mem;
	uint64_t offset;
	void *dst;
	size_t len;
};

static int read_guarded(void *arg)
{
	struct read_args *a = arg;

	hwi_copy(a->mem, a->offset, a->dst, a->len);
	return 0;
}

int haywire_mem_read(const struct haywire_mem *mem, uint64_t offset,
		     void *dst, size_t len, struct haywire_error *err)
{
	struct read_args a = { mem, offset, dst, len };

	if (offset > mem->span || len > mem->span - offset)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"read of %zu bytes at file offset 0x%llx is outside the RAM file (%llu bytes)",
				len, (unsigned long long)offset,
				(unsigned long long)mem->span);
	return hwi_guarded(mem, read_guarded, &a, err);
}

uint64_t hwi_next_data(const struct haywire_mem *mem, uint64_t offset,
		       uint64_t *run_end)
{
	off_t data, hole;

	if (offset >= mem->size && offset < mem->span) {
		*run_end = mem->span;	/* attached files: no hole lookup */
		return offset;
	}
	*run_end = mem->size;
	if (offset >= mem->size)
		return mem->span;
	if (mem->fd < 0)
		return offset;
	data = lseek(mem->fd, (off_t)offset, SEEK_DATA);
	if (data < 0)	/* ENXIO: only holes from here; else no support */
		return errno == ENXIO ? mem->size : offset;
	if ((uint64_t)data >= mem->size)
		return mem->size;	/* attached files, if any, follow */
	hole = lseek(mem->fd, data, SEEK_HOLE);
	if (hole >= 0 && (uint64_t)hole < mem->size)
		*run_end = (uint64_t)hole;
	return (uint64_t)data;
}

uint64_t hwi_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
