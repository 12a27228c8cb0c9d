// SPDX-License-Identifier: GPL-2.0-only
/*
 * haywire-bpf: the eBPF companion. Loads the CO-RE programs of
 * haywire.bpf.c, publishes the same beacon as the module (the shared
 * kmod/publish.c and kmod/strtab.c) in locked huge pages, refreshes it
 * every interval and answers the request ring, until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "hwb.skel.h"
#include "loader.h"

#define DEFAULT_BTF	"/sys/kernel/btf/vmlinux"
#define DEFAULT_LOCK	"/run/haywire-bpf.lock"
#define LOCKDOWN	"/sys/kernel/security/lockdown"

struct options opts = {
	.interval_ms = 1000,
	.size_mb = 16,
	.events = 1024,
	.lock_path = DEFAULT_LOCK,
};
struct beacon beacon;
atomic_bool stopping;

void say(const char *fmt, ...)
{
	va_list ap;

	fputs("haywire-bpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: haywire-bpf [options]\n"
		"Publish the Haywire beacon from an eBPF companion (no kernel module).\n"
		"  -i, --interval MS   refresh every MS milliseconds (default 1000)\n"
		"  -m, --size MB       beacon size in MiB of 2 MiB huge pages (default 16)\n"
		"  -e, --events N      lifecycle event ring of N records (default 1024; 0: none)\n"
		"      --allow-read    answer READ requests (default: refused, as the module's allow_read=0)\n"
		"      --btf PATH      the kernel's BTF (default " DEFAULT_BTF ")\n"
		"      --lock PATH     lock file against a second instance (default " DEFAULT_LOCK ")\n"
		"      --once          publish one snapshot, then exit (tests)\n"
		"  -h, --help\n");
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi,
		      unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 'm' },
		{ "events", required_argument, NULL, 'e' },
		{ "allow-read", no_argument, NULL, 'r' },
		{ "btf", required_argument, NULL, 'b' },
		{ "lock", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:m:e:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_uint(optarg, 10, 3600000, &opts.interval_ms)) {
				say("-i: want 10 .. 3600000 ms, not '%s'", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_uint(optarg, 4, 128, &opts.size_mb)) {
				say("-m: want 4 .. 128 MiB, not '%s'", optarg);
				return 2;
			}
			break;
		case 'e':
			if (parse_uint(optarg, 0, 65536, &opts.events)) {
				say("-e: want 0 .. 65536 records, not '%s'", optarg);
				return 2;
			}
			break;
		case 'r':
			opts.allow_read = true;
			break;
		case 'b':
			opts.btf = optarg;
			break;
		case 'l':
			opts.lock_path = optarg;
			break;
		case 'o':
			opts.once = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		say("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return 0;
}

static unsigned int kernel_version(const char *release)
{
	unsigned int a = 0, b = 0, c = 0;

	sscanf(release, "%u.%u.%u", &a, &b, &c);
	return (a << 16) + (b << 8) + (c > 255 ? 255 : c);
}

/* The checks that give one clear line instead of a libbpf error. */
static int preflight(const struct utsname *u)
{
	const char *btf = opts.btf ? opts.btf : DEFAULT_BTF;
	char mode[256] = "";
	FILE *f;

	if (geteuid() != 0) {
		say("must run as root (it needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, and writes vm.nr_hugepages)");
		return -1;
	}
	if (kernel_version(u->release) < (5U << 16) + (12U << 8)) {
		say("unsupported kernel %s: the task_vma iterator came with Linux 5.12", u->release);
		return -1;
	}
	if (access(btf, R_OK)) {
		say("no BTF: cannot read %s (%s): the kernel needs CONFIG_DEBUG_INFO_BTF, or give its BTF with --btf", btf, strerror(errno));
		return -1;
	}
	f = fopen(LOCKDOWN, "r");
	if (f) {
		if (!fgets(mode, sizeof(mode), f))
			mode[0] = '\0';
		fclose(f);
		if (strstr(mode, "[confidentiality]")) {
			say("kernel lockdown is in confidentiality mode (%s): eBPF may not read kernel memory; use the module, or boot with lockdown=integrity or none", LOCKDOWN);
			return -1;
		}
	}
	return 0;
}

/* One instance: an exclusive flock held for the process's life. */
static int take_lock(void)
{
	char pid[32] = "";
	int fd = open(opts.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		say("cannot open the lock file %s: %s", opts.lock_path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = read(fd, pid, sizeof(pid) - 1);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		say("another haywire-bpf is running (pid %s, lock %s)",
		    pid[0] ? pid : "unknown", opts.lock_path);
		close(fd);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, strlen(pid), 0) < 0)
		pid[0] = '\0';	/* the pid is only a courtesy */
	return fd;		/* kept open: the lock lives with it */
}

/* A symbol's address from /proc/kallsyms (0: absent or hidden). */
static uint64_t kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256], sym[128], type;
	unsigned long long addr;
	uint64_t found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &addr, &type, sym) == 3 &&
		    !strcmp(sym, name)) {
			found = addr;
			break;
		}
	fclose(f);
	return found;
}

/* libbpf's own messages (the verifier's log) only with HAYWIRE_BPF_DEBUG:
 * the loader says what went wrong in one line of its own. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	return getenv("HAYWIRE_BPF_DEBUG") ? vfprintf(stderr, fmt, ap) : 0;
}

static struct hwb_bpf *load_programs(const struct utsname *u,
				     uint32_t *unavailable)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .btf_custom_path = opts.btf);
	struct hwb_bpf *skel;
	uint64_t pob = 0;
	int err;

	libbpf_set_print(libbpf_quiet);
	skel = hwb_bpf__open_opts(&o);
	if (!skel) {
		say("cannot open the BPF programs: %s", strerror(errno));
		return NULL;
	}
	skel->rodata->kernel_version = kernel_version(u->release);
	if (!opts.events) {	/* no tracepoints to verify or attach */
		bpf_program__set_autoload(skel->progs.hw_fork, false);
		bpf_program__set_autoload(skel->progs.hw_exec, false);
		bpf_program__set_autoload(skel->progs.hw_exit, false);
	}
#if defined(__x86_64__)
	pob = kallsyms_addr("page_offset_base");
	skel->rodata->page_offset_addr = pob;
	if (!pob && !kallsyms_addr("_stext"))
		*unavailable |= HW_UF_PGD;	/* kallsyms hidden */
	else if (!pob)	/* no KASLR of the direct map: the fixed base */
		skel->rodata->page_offset_const = 0xffff888000000000ULL;
#else
	*unavailable |= HW_UF_PGD;
#endif
	/* 6.2 on: RSS is per-CPU counters, summed as /proc sums them */
	skel->rodata->per_cpu_offset_addr = kallsyms_addr("__per_cpu_offset");
	skel->rodata->nr_cpu_ids = (uint32_t)sysconf(_SC_NPROCESSORS_CONF);
	if (kernel_version(u->release) >= (6U << 16) + (2U << 8) &&
	    (!skel->rodata->per_cpu_offset_addr ||
	     skel->rodata->nr_cpu_ids > 256))
		*unavailable |= HW_UF_RSS;
	err = hwb_bpf__load(skel);
	if (err) {
		err = -err;
		if (err == EPERM || err == EACCES)
			say("the kernel refused the BPF programs (%s): missing CAP_BPF, CAP_PERFMON or CAP_SYS_ADMIN, or unprivileged BPF in a container", strerror(err));
		else
			say("cannot load the BPF programs: %s (HAYWIRE_BPF_DEBUG=1 shows the verifier's log)", strerror(err));
		hwb_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int run(void)
{
	pthread_t refresher, ringer;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* threads inherit it */
	if (pthread_create(&refresher, NULL, refresh_thread, NULL) ||
	    pthread_create(&ringer, NULL, ring_thread, NULL)) {
		say("cannot start threads");
		return 1;
	}
	sigwait(&set, &sig);
	atomic_store(&stopping, true);
	refresh_ask();
	pthread_join(ringer, NULL);
	pthread_join(refresher, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t unavailable = HW_UF_CPU_TIME | HW_UF_FAULTS | HW_UF_CGROUP |
			       HW_UF_STATS_WALK;
	struct hwb_bpf *skel;
	struct utsname u;
	int rc, lock, err;

	rc = parse_args(argc, argv);
	if (rc)
		return rc == 1 ? 0 : rc;
	uname(&u);
	if (preflight(&u))
		return 1;
	lock = take_lock();
	if (lock < 0)
		return 1;
	skel = load_programs(&u, &unavailable);
	if (!skel)
		return 1;
	if (refresh_init(skel) ||
	    beacon_create(&beacon, (uint64_t)opts.size_mb << 20, opts.events)) {
		hwb_bpf__destroy(skel);
		return 1;
	}
	beacon_identity(&beacon, unavailable);
	ring_init(beacon.pub.index->nonce);
	if (opts.events && events_start(skel)) {
		beacon_destroy(&beacon);
		hwb_bpf__destroy(skel);
		return 1;
	}
	err = refresh_once();
	if (err) {
		say("the first snapshot failed: %s", strerror(-err));
		rc = 1;
	} else {
		hw_pub_set_magic(&beacon.pub);
		rc = opts.once ? 0 : run();
	}
	atomic_store(&stopping, true);
	if (opts.events)
		events_stop();
	beacon_destroy(&beacon);
	hwb_bpf__destroy(skel);
	close(lock);
	return rc;
}
