// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw-workload: long-lived guest processes with known, varied state for the
 * VM tests and the benchmark. Each subcommand builds its state, prints
 * "ready" on stdout once everything is in place, and then sleeps forever so
 * that the state stays put while the host compares.
 *
 *   maps          every kind of mapping /proc/PID/maps can show
 *   threads N     N extra threads
 *   tree DEPTH    a chain of DEPTH descendants (parent -> child -> ...)
 *   ids           a child with real uid/gid 1000/1001 and other effective ids
 *   stopped       a child stopped by SIGSTOP (state T)
 *   zombie        a child that exited and is never reaped (state Z)
 *   longname      comm of exactly 15 characters, with ") (" in it
 *   manyvmas N    N separate VMAs
 *   spawn N       N sleeping child processes
 *   deletedexe    runs from a copy of itself that has been unlinked
 *   known         known bytes at known addresses (see cmd_known; a 1 GiB
 *                 page too if the guest reserved one), signal
 *                 masks, a nice value and a directory to find in the
 *                 process detail; prints the layout as JSON before "ready"
 *   populate MIB [huge]
 *                 MIB MiB of anonymous memory, every page touched, in
 *                 4 KiB pages (or transparent huge pages); prints
 *                 {"addr", "len"} before "ready"
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL

static void die(const char *what)
{
	fprintf(stderr, "hw-workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: hw-workload maps | threads N | tree DEPTH | ids |"
		" stopped | zombie | longname | manyvmas N | spawn N |"
		" deletedexe | known | populate MIB [huge]\n");
	exit(2);
}

/* A count argument: 1 .. max, anything else is a usage error. */
static long count_arg(int argc, char **argv, long max)
{
	char *end;
	long n;

	if (argc != 3)
		usage();
	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (errno || *end || n < 1 || n > max)
		usage();
	return n;
}

static void ready_and_sleep(void)
{
	if (printf("ready\n") < 0 || fflush(stdout))
		die("stdout");
	for (;;)
		pause();
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static void *thread_sleep(void *arg)
{
	(void)arg;
	sleep_forever();
	return NULL;
}

static void start_thread(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, thread_sleep, NULL);

	if (err) {
		errno = err;
		die("pthread_create");
	}
}

static void touch(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		p[i] = 1;
}

/* Fault pages in without writing: they count in rss but stay shared. */
static void read_pages(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		(void)*(volatile const char *)(p + i);
}

static void *map_or_die(size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* A file of `pages` pages of data; returns an open read-write fd. */
static int make_file(const char *path, size_t pages)
{
	char page[PAGE];
	size_t i;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	memset(page, 'h', sizeof(page));
	for (i = 0; i < pages; i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			die("write");
	return fd;
}

static void cmd_maps(void)
{
	char *p;
	int fd, id;

	/* file mappings with nonzero offsets: private read-only, shared rw */
	fd = make_file("/data/hw-map-file", 16);
	p = map_or_die(4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 4 * PAGE);
	read_pages(p, PAGE);
	p = map_or_die(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       8 * PAGE);
	touch(p, 2 * PAGE);
	close(fd);

	/* anonymous: rw, read-only, executable, no access */
	touch(map_or_die(8 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 8 * PAGE);
	map_or_die(3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map_or_die(2 * PAGE, PROT_READ | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map_or_die(5 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* one anonymous region split in three by mprotect */
	p = map_or_die(6 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	touch(p, 6 * PAGE);
	if (mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ))
		die("mprotect");

	/* a mapped file that is then unlinked: " (deleted)" */
	fd = make_file("/data/hw-unlinked", 3);
	map_or_die(3 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (unlink("/data/hw-unlinked"))
		die("unlink");

	/* a path with spaces, and one with a newline (/proc escapes it) */
	if (mkdir("/data/dir with spaces", 0755) && errno != EEXIST)
		die("mkdir");
	fd = make_file("/data/dir with spaces/file name.bin", 2);
	map_or_die(PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
	close(fd);
	fd = make_file("/data/new\nline", 1);
	map_or_die(PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);

	/* memfd, shared anonymous, System V shared memory */
	fd = memfd_create("hw-memfd", 0);
	if (fd < 0)
		die("memfd_create");
	if (ftruncate(fd, 4 * PAGE))
		die("ftruncate");
	touch(map_or_die(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
	      4 * PAGE);
	close(fd);
	touch(map_or_die(3 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0), 3 * PAGE);
	id = shmget(0x48570001, 16 * PAGE, IPC_CREAT | 0600);
	if (id < 0)
		die("shmget");
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		die("shmat");
	touch(p, 16 * PAGE);
	shmctl(id, IPC_RMID, NULL);	/* goes away with this process */

	/* heap grown with brk, and a thread with its own stack */
	p = sbrk(64 * PAGE);
	if (p == (void *)-1)
		die("sbrk");
	touch(p, 64 * PAGE);
	start_thread();
	ready_and_sleep();
}

static void cmd_threads(long n)
{
	long i;

	for (i = 0; i < n; i++)
		start_thread();
	ready_and_sleep();
}

/* Fork a child that runs fn(arg) and never returns. */
static pid_t fork_child(void (*fn)(long), long arg)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

static int tree_pipe[2];

/* One link of the chain: make the next one, or report that all are up. */
static void tree_link(long depth)
{
	if (depth > 1) {
		fork_child(tree_link, depth - 1);
	} else {
		if (write(tree_pipe[1], "x", 1) != 1)
			die("write");
	}
	sleep_forever();
}

static void cmd_tree(long depth)
{
	char c;

	if (pipe(tree_pipe))
		die("pipe");
	fork_child(tree_link, depth);
	if (read(tree_pipe[0], &c, 1) != 1)
		die("read");
	ready_and_sleep();
}

static int ids_pipe[2];

static void ids_child(long unused)
{
	(void)unused;
	if (setresgid(1001, 1003, 1003))
		die("setresgid");
	if (setresuid(1000, 1002, 1002))
		die("setresuid");
	if (write(ids_pipe[1], "x", 1) != 1)
		die("write");
	sleep_forever();
}

static void cmd_ids(void)
{
	char c;

	if (pipe(ids_pipe))
		die("pipe");
	fork_child(ids_child, 0);
	if (read(ids_pipe[0], &c, 1) != 1)
		die("read");
	ready_and_sleep();
}

static void stop_self(long unused)
{
	(void)unused;
	raise(SIGSTOP);
	sleep_forever();
}

static void cmd_stopped(void)
{
	int status;
	pid_t pid = fork_child(stop_self, 0);

	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		die("waitpid");
	ready_and_sleep();
}

static void exit_now(long unused)
{
	(void)unused;
	_exit(0);
}

static void cmd_zombie(void)
{
	siginfo_t info;
	pid_t pid = fork_child(exit_now, 0);

	/* wait for the exit but leave the child unreaped */
	if (waitid(P_PID, pid, &info, WEXITED | WNOWAIT))
		die("waitid");
	ready_and_sleep();
}

static void cmd_longname(void)
{
	static const char name[] = "long) name (15)";

	_Static_assert(sizeof(name) == 16, "comm of exactly 15 characters");
	if (prctl(PR_SET_NAME, name))
		die("prctl");
	ready_and_sleep();
}

static void cmd_manyvmas(long n)
{
	char *p = map_or_die(n * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long i;

	touch(p, n * PAGE);
	/* every other page read-only: n VMAs that cannot merge */
	for (i = 1; i < n; i += 2)
		if (mprotect(p + i * PAGE, PAGE, PROT_READ))
			die("mprotect");
	ready_and_sleep();
}

static void child_sleep(long unused)
{
	(void)unused;
	sleep_forever();
}

static void cmd_spawn(long n)
{
	long i;

	for (i = 0; i < n; i++)
		fork_child(child_sleep, 0);
	ready_and_sleep();
}

/* Run from a copy of this program in /tmp, then unlink the copy. */
static void cmd_deletedexe(int argc, char **argv)
{
	char copy[] = "/tmp/hw-deleted-XXXXXX";
	int in, out;
	struct stat st;

	if (argc == 3) {	/* the copy: argv[2] must be its own path */
		char self[sizeof(copy) + 1];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self));

		if (n != (ssize_t)strlen(argv[2]) || memcmp(self, argv[2], n))
			usage();
		if (unlink(argv[2]))
			die("unlink");
		ready_and_sleep();
	}
	in = open("/proc/self/exe", O_RDONLY);
	if (in < 0 || fstat(in, &st))
		die("/proc/self/exe");
	out = mkstemp(copy);
	if (out < 0)
		die("mkstemp");
	while (st.st_size > 0) {
		ssize_t n = sendfile(out, in, NULL, st.st_size);

		if (n <= 0)
			die("sendfile");
		st.st_size -= n;
	}
	if (fchmod(out, 0755))
		die("fchmod");
	close(in);
	close(out);
	execl(copy, "hw-workload", "deletedexe", copy, (char *)NULL);
	die("execl");
}

/*
 * The known bytes: the 64-bit little-endian word at address a is
 * known_word(a) (tests/vm/rings.py computes the same).
 */
#define KNOWN_BASE	0x200000000UL	/* 8 GiB: free in any process */
#define KNOWN_PAGES	16		/* 4 KiB pages with the pattern */
#define KNOWN_HOLE	16		/* pages left unmapped after them */
#define KNOWN_THP	(4UL << 20)	/* 2 MiB-aligned THP region */
#define KNOWN_GIANT	(1UL << 30)	/* a 1 GiB hugetlb page, if any */
#define KNOWN_PIECE	(64UL << 10)	/* of it, with the pattern */

static uint64_t known_word(uint64_t a)
{
	return (a * 0x9e3779b97f4a7c15ULL) ^ 0x2165726977796168ULL;
}

static void fill_known(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = known_word((uint64_t)(uintptr_t)(p + i));

		memcpy(p + i, &w, 8);
	}
}

static char *map_fixed(unsigned long addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED || p != (void *)addr)
		die("mmap at a fixed address");
	return p;
}

/* AnonHugePages of the VMA at addr, from /proc/self/smaps, in kB. */
static long anon_huge_kb(unsigned long addr)
{
	char line[512], want[32];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		die("/proc/self/smaps");
	snprintf(want, sizeof(want), "%lx-", addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static void cmd_known(void)
{
	unsigned long pages = KNOWN_BASE;
	unsigned long protnone = pages + (KNOWN_PAGES + KNOWN_HOLE) * PAGE;
	unsigned long untouched = protnone + PAGE;
	unsigned long thp = KNOWN_BASE + KNOWN_THP;	/* 2 MiB-aligned */
	unsigned long giant = KNOWN_BASE + KNOWN_GIANT;	/* 1 GiB-aligned */
	unsigned long giant_len = KNOWN_GIANT;
	sigset_t block;
	struct sigaction sa;
	char *p;
	long huge;

	/* 4 KiB pages of the pattern, then a hole. */
	p = map_fixed(pages, KNOWN_PAGES * PAGE, PROT_READ | PROT_WRITE);
	madvise(p, KNOWN_PAGES * PAGE, MADV_NOHUGEPAGE);
	fill_known(p, KNOWN_PAGES * PAGE);
	/* A page in RAM that may not be touched: PROT_NONE. */
	p = map_fixed(protnone, PAGE, PROT_READ | PROT_WRITE);
	fill_known(p, PAGE);
	if (mprotect(p, PAGE, PROT_NONE))
		die("mprotect");
	/* A page mapped but never touched: no page-table entry. */
	map_fixed(untouched, PAGE, PROT_READ | PROT_WRITE);
	/* Huge pages, if the kernel gives them. */
	p = map_fixed(thp, KNOWN_THP, PROT_READ | PROT_WRITE);
	madvise(p, KNOWN_THP, MADV_HUGEPAGE);
	fill_known(p, KNOWN_THP);
	huge = anon_huge_kb(thp);
	/* A 1 GiB page, where the guest reserved one at boot
	 * (hugepagesz=1G hugepages=1): the pattern at its start and end. */
	p = mmap((void *)giant, giant_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
		 MAP_HUGETLB | 30 << MAP_HUGE_SHIFT, -1, 0);
	if (p == (void *)giant) {
		fill_known(p, KNOWN_PIECE);
		fill_known(p + giant_len - KNOWN_PIECE, KNOWN_PIECE);
	} else {
		giant_len = 0;
	}

	/* Signal state the process detail must show. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, NULL))
		die("sigprocmask");
	signal(SIGUSR2, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, NULL, &sa);
	sa.sa_handler = (void (*)(int))sleep_forever;	/* never runs */
	sigaction(SIGHUP, &sa, NULL);
	raise(SIGUSR1);			/* pending for this thread */
	kill(getpid(), SIGTERM);	/* pending for the process */
	if (setpriority(PRIO_PROCESS, 0, 5))
		die("setpriority");
	if (mkdir("/data/hw known dir", 0755) && errno != EEXIST)
		die("mkdir");
	if (chdir("/data/hw known dir"))
		die("chdir");
	start_thread();		/* inherits the mask: SIGTERM stays pending */

	printf("{\"pid\": %d, \"pages\": %lu, \"pages_len\": %lu, "
	       "\"hole\": %lu, \"hole_len\": %lu, \"protnone\": %lu, "
	       "\"untouched\": %lu, \"thp\": %lu, \"thp_len\": %lu, "
	       "\"anon_huge_kb\": %ld, \"giant\": %lu, \"giant_len\": %lu, "
	       "\"giant_piece\": %lu}\n", getpid(), pages,
	       KNOWN_PAGES * PAGE, pages + KNOWN_PAGES * PAGE,
	       KNOWN_HOLE * PAGE, protnone, untouched, thp, KNOWN_THP, huge,
	       giant, giant_len, KNOWN_PIECE);
	ready_and_sleep();
}

static void cmd_populate(long mib, bool huge)
{
	size_t len = (size_t)mib << 20;
	/* 2 MiB-aligned, so that huge pages can cover all of it */
	char *raw = map_or_die(len + (2UL << 20), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = (char *)(((uintptr_t)raw + (2UL << 20) - 1) &
			   ~((2UL << 20) - 1));

	madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	touch(p, len);
	printf("{\"addr\": %lu, \"len\": %zu, \"anon_huge_kb\": %ld}\n",
	       (unsigned long)(uintptr_t)p, len,
	       anon_huge_kb((unsigned long)(uintptr_t)p));
	ready_and_sleep();
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "maps") && argc == 2)
		cmd_maps();
	else if (!strcmp(cmd, "threads"))
		cmd_threads(count_arg(argc, argv, 1000));
	else if (!strcmp(cmd, "tree"))
		cmd_tree(count_arg(argc, argv, 100));
	else if (!strcmp(cmd, "ids") && argc == 2)
		cmd_ids();
	else if (!strcmp(cmd, "stopped") && argc == 2)
		cmd_stopped();
	else if (!strcmp(cmd, "zombie") && argc == 2)
		cmd_zombie();
	else if (!strcmp(cmd, "longname") && argc == 2)
		cmd_longname();
	else if (!strcmp(cmd, "manyvmas"))
		cmd_manyvmas(count_arg(argc, argv, 60000));
	else if (!strcmp(cmd, "spawn"))
		cmd_spawn(count_arg(argc, argv, 100000));
	else if (!strcmp(cmd, "deletedexe") && (argc == 2 || argc == 3))
		cmd_deletedexe(argc, argv);
	else if (!strcmp(cmd, "known") && argc == 2)
		cmd_known();
	else if (!strcmp(cmd, "populate") && (argc == 3 ||
		 (argc == 4 && !strcmp(argv[3], "huge"))))
		cmd_populate(count_arg(3, argv, 65536), argc == 4);
	else
		usage();
	return 0;
}
