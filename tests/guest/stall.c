// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw-stall: guest processes whose memory cannot be read without waiting
 * forever, for the VM tests of the module's requests (tests/vm/stall.py).
 *
 *   hw-stall fuse DIR   mount a FUSE file system on DIR, served by this
 *                       process on /dev/fuse directly: one file, DIR/file
 *                       (1 MiB), whose reads are never answered; every
 *                       other request is. Prints "ready" once mounted.
 *   hw-stall argfile FILE
 *                       map FILE (never touched) and make it this process's
 *                       argument area (prctl PR_SET_MM_ARG_START/END, needs
 *                       CAP_SYS_RESOURCE); prints {"pid", "addr", "len"} and
 *                       "ready", then sleeps.
 *   hw-stall arguffd    the same with an anonymous range registered with
 *                       userfaultfd (missing-page mode) whose faults are
 *                       never served.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AREA_LEN	(4 * 4096UL)
#define FILE_SIZE	(1UL << 20)
#define FILE_NODE	2
/* Larger than any request the kernel sends (max_write is 4 KiB). */
#define FUSE_BUF	(1 << 20)
/* INIT answer: the fields up to max_write, which every kernel accepts. */
#define INIT_OUT_SIZE	24

static void die(const char *what)
{
	fprintf(stderr, "hw-stall: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the FUSE server ---------------------------------------------------- */

static void reply(int fd, uint64_t unique, int error, const void *arg,
		  size_t len)
{
	static char out[sizeof(struct fuse_out_header) + 256];
	struct fuse_out_header *h = (struct fuse_out_header *)out;

	h->len = sizeof(*h) + len;
	h->error = error;
	h->unique = unique;
	memcpy(h + 1, arg, len);
	/* ENOENT: the request was interrupted meanwhile; nothing to do. */
	if (write(fd, out, h->len) < 0 && errno != ENOENT)
		die("write /dev/fuse");
}

static void fill_attr(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	if (node == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0644;
		a->nlink = 1;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
	a->blksize = 4096;
}

static void serve_one(int fd, const struct fuse_in_header *in, const char *arg)
{
	struct fuse_init_out init = { .major = FUSE_KERNEL_VERSION };
	struct fuse_entry_out entry = { .nodeid = FILE_NODE };
	struct fuse_attr_out attr = { 0 };
	struct fuse_open_out open_out = { 0 };

	switch (in->opcode) {
	case FUSE_INIT:
		init.minor = ((const struct fuse_init_in *)arg)->minor;
		init.max_write = 4096;
		reply(fd, in->unique, 0, &init, INIT_OUT_SIZE);
		printf("ready\n");
		fflush(stdout);
		break;
	case FUSE_LOOKUP:
		if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "file")) {
			reply(fd, in->unique, -ENOENT, NULL, 0);
			break;
		}
		fill_attr(FILE_NODE, &entry.attr);
		reply(fd, in->unique, 0, &entry, sizeof(entry));
		break;
	case FUSE_GETATTR:
		fill_attr(in->nodeid, &attr.attr);
		reply(fd, in->unique, 0, &attr, sizeof(attr));
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		reply(fd, in->unique, 0, &open_out, sizeof(open_out));
		break;
	case FUSE_READ:
		break;		/* never answered: the point of it all */
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;		/* no answer expected */
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_DESTROY:
		reply(fd, in->unique, 0, NULL, 0);
		break;
	default:
		reply(fd, in->unique, -ENOSYS, NULL, 0);
	}
}

static void cmd_fuse(const char *dir)
{
	char *buf = malloc(FUSE_BUF);
	char opts[128];
	int fd;

	if (!buf)
		die("malloc");
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/fuse");
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("hw-stall", dir, "fuse", MS_NOSUID | MS_NODEV, opts))
		die("mount fuse");
	for (;;) {
		ssize_t n = read(fd, buf, FUSE_BUF);

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < 0 && errno == ENODEV)
			exit(0);	/* unmounted */
		if (n < (ssize_t)sizeof(struct fuse_in_header))
			die("read /dev/fuse");
		buf[n < FUSE_BUF ? n : FUSE_BUF - 1] = '\0';
		serve_one(fd, (struct fuse_in_header *)buf,
			  buf + sizeof(struct fuse_in_header));
	}
}

/* ---- processes with an unreadable argument area ------------------------- */

static void set_args_and_sleep(void *area)
{
	unsigned long start = (unsigned long)area;

	/* Start first: the new start is below the old end (the stack). */
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0))
		die("prctl PR_SET_MM_ARG_START");
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_END, start + AREA_LEN, 0, 0))
		die("prctl PR_SET_MM_ARG_END");
	printf("{\"pid\": %d, \"addr\": %lu, \"len\": %lu}\nready\n",
	       getpid(), start, AREA_LEN);
	fflush(stdout);
	for (;;)
		pause();
}

static void cmd_argfile(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		die("open");
	p = mmap(NULL, AREA_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	set_args_and_sleep(p);
}

static void cmd_arguffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	void *p;

	if (uffd < 0)
		die("userfaultfd");
	if (ioctl(uffd, UFFDIO_API, &api))
		die("UFFDIO_API");
	p = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	reg.range.start = (unsigned long)p;
	reg.range.len = AREA_LEN;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	set_args_and_sleep(p);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "fuse"))
		cmd_fuse(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "argfile"))
		cmd_argfile(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "arguffd"))
		cmd_arguffd();
	fprintf(stderr, "usage: hw-stall fuse DIR | argfile FILE | arguffd\n");
	return 2;
}
