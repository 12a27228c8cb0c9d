/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Haywire beacon protocol: the single source of truth for the guest
 * companions (kernel module, eBPF) and the host reader.
 *
 * Everything here lives in guest RAM and is read by the host straight from
 * QEMU's memory-backend-file. All fields are little-endian and fixed width,
 * all padding is explicit, and the layout is checked at compile time on both
 * sides (bottom of this file). docs/protocol.md explains it byte by byte.
 *
 * Addressing: the beacon is a list of extents of guest-physical memory. Laid
 * end to end in list order they form the beacon's "logical" address space;
 * every offset below (sections, strings) is a logical offset. Logical offset
 * 0 is the master index (struct hw_index) on the first page of extent 0.
 */
#ifndef HAYWIRE_PROTOCOL_H
#define HAYWIRE_PROTOCOL_H

#ifndef HAYWIRE_NO_TYPES_INCLUDE
#include <linux/types.h>	/* __u8 ... __u64, kernel and user space */
#endif
#ifdef __KERNEL__
#include <linux/stddef.h>	/* offsetof */
#elif !defined(offsetof)	/* BPF programs: bpf_helpers.h defines it */
#include <stddef.h>
#endif

/* "HWBEACON" and "HWGONE!!" as little-endian bytes. */
#define HW_MAGIC		0x4e4f434145425748ULL
#define HW_MAGIC_GONE		0x2121454e4f475748ULL

/*
 * Versioning: a reader accepts any index whose major version it knows.
 * Minor versions only add: new section kinds, new flags, fields carved out
 * of reserved space, longer records (entry_size grows; readers use
 * entry_size as the stride and ignore the tail they do not know).
 */
#define HW_VERSION_MAJOR	1
#define HW_VERSION_MINOR	4	/* 1.1: request rings, cameras;
				 * 1.2: refresh budget figures, claim words,
				 * request checks, echoed questions, ring
				 * heartbeat, READ statuses 9 and 10, detail
				 * flag HW_DF_CMDLINE_UNAVAILABLE;
				 * 1.3: monitoring: hw_proc grows to 192
				 * bytes (CPU time, nice, last CPU, faults,
				 * cgroup, PID namespace), guest-wide
				 * section, per-CPU times, lifecycle event
				 * ring;
				 * 1.4: the companion (module or eBPF) and
				 * its version, fields it cannot obtain
				 * (hw_index.unavailable), status 11
				 * UNSUPPORTED, run flag HW_RF_UNKNOWN */

#define HW_INDEX_SIZE		4096	/* the index occupies logical [0, 4096) */
#define HW_EXTENT_ALIGN		(2ULL << 20)	/* extent GPA and size granule */
#define HW_MAX_EXTENTS		64
#define HW_MAX_RAM_RANGES	32
#define HW_MAX_SECTIONS		16
#define HW_RELEASE_LEN		72	/* >= __NEW_UTS_LEN + 1, NUL-terminated */
#define HW_COMM_LEN		16	/* TASK_COMM_LEN, NUL-terminated */
#define HW_PATH_MAX		4096	/* longest string (PATH_MAX) */

#define HW_COMPANION_VERSION_LEN	32	/* NUL-terminated */

/* 1.4: which companion published the beacon (hw_index.companion). */
enum hw_companion {
	HW_COMPANION_UNKNOWN = 0,	/* a 1.3 or older index */
	HW_COMPANION_MODULE = 1,	/* the kernel module (kmod/) */
	HW_COMPANION_EBPF = 2,		/* haywire-bpf, the CO-RE loader */
};

/*
 * 1.4: fields the companion cannot obtain (hw_index.unavailable), the same
 * for every record it publishes. Such a field is 0 in the records and
 * must be shown as unavailable, never as 0.
 */
#define HW_UF_PGD		(1U << 0) /* hw_proc.pgd */
#define HW_UF_CPU_TIME		(1U << 1) /* hw_proc.utime_ns, stime_ns */
#define HW_UF_FAULTS		(1U << 2) /* hw_proc.min_flt, maj_flt */
#define HW_UF_CGROUP		(1U << 3) /* hw_proc.cgroup */
#define HW_UF_PIDNS		(1U << 4) /* hw_proc.pidns_inum, ns_pid */
#define HW_UF_LAST_CPU		(1U << 5) /* hw_proc.last_cpu */
#define HW_UF_NICE		(1U << 6) /* hw_proc.nice */
#define HW_UF_STATS_WALK	(1U << 7) /* hw_stats mmap_lock and budget
					   * figures (no such lock taken) */
#define HW_UF_RSS		(1U << 8) /* hw_proc.rss_kb (per-CPU counters
					   * that cannot be summed) */

enum hw_arch {
	HW_ARCH_X86_64 = 1,
	HW_ARCH_ARM64 = 2,
};

/* A guest-physical range: beacon extents and the guest's System RAM. */
struct hw_range {
	__u64 start;		/* guest-physical address */
	__u64 size;		/* bytes */
};

enum hw_section_kind {
	HW_SEC_PROCS = 1,	/* struct hw_proc[count], sorted by pid */
	HW_SEC_VMAS = 2,	/* struct hw_vma[count], grouped by process */
	HW_SEC_STRINGS = 3,	/* string table, count = bytes, entry_size 1 */
	HW_SEC_STATS = 4,	/* struct hw_stats[1] */
	/* 1.1: fixed pages that never move (same place in every publication) */
	HW_SEC_REQUESTS = 5,	/* struct hw_request[HW_RING_SLOTS]; host-written */
	HW_SEC_RESPONSES = 6,	/* HW_RING_SLOTS response slots; guest-written */
	/* 1.1: per snapshot */
	HW_SEC_CAMERAS = 7,	/* struct hw_camera[HW_MAX_CAMERAS] */
	HW_SEC_CAMERA_VMAS = 8,	/* struct hw_camera_vma[count] */
	HW_SEC_PAGE_RUNS = 9,	/* struct hw_page_run[count] */
	/* 1.3: monitoring */
	HW_SEC_GUEST = 10,	/* struct hw_guest[1]; per snapshot */
	HW_SEC_EVENTS = 11,	/* struct hw_event_ring, then struct
				 * hw_event[count] (entry_size each); fixed
				 * pages, written at event time */
	HW_SEC_CPUS = 12,	/* struct hw_cpu_time[count]; per snapshot */
};

struct hw_section {
	__u32 kind;		/* enum hw_section_kind; unknown kinds: ignore */
	__u32 entry_size;	/* record stride in bytes */
	__u64 offset;		/* logical offset of the first record */
	__u64 count;		/* records */
	__u64 reserved;
};

/* Index flags (hw_index.flags), describing the published snapshot. */
#define HW_IF_TRUNCATED		(1U << 0) /* some data omitted: see counts */
#define HW_IF_BUDGET		(1U << 1) /* time budget ran out: VMAs skipped */
#define HW_IF_MM_BUSY		(1U << 2) /* some mm_structs were contended */
#define HW_IF_STALLED		(1U << 3) /* last refresh could not be published */
#define HW_IF_RAM_TRUNCATED	(1U << 4) /* more System RAM ranges than fit */

/*
 * The master index. The identity part (magic .. ram) is written before the
 * magic at load; magic is set last and cleared first (to HW_MAGIC_GONE) at
 * unload. Everything from seq on is the publication part, guarded by seq.
 *
 * Publication (writer, guest):   seq++ (odd); wmb; update fields; wmb; seq++.
 * A snapshot's sections are written completely into memory no published
 * section refers to, before the seq++ that publishes them.
 * Reading (host): s1 = seq (acquire; odd: retry); copy the index and every
 * byte needed from the sections; rmb; s2 = seq; s1 != s2: discard, retry.
 */
struct hw_index {
	/* identity: 0 .. 128 */
	__u64 magic;			/*   0 HW_MAGIC */
	__u16 version_major;		/*   8 */
	__u16 version_minor;		/*  10 */
	__u32 index_size;		/*  12 sizeof(struct hw_index) */
	__u64 nonce;			/*  16 random, new on every load */
	__u64 self_gpa;			/*  24 guest-physical address of this page */
	__u32 page_size;		/*  32 guest base page size */
	__u8 arch;			/*  36 enum hw_arch */
	__u8 paging_levels;		/*  37 x86-64: 4 or 5 */
	__u16 reserved0;		/*  38 */
	__u64 load_real_ns;		/*  40 CLOCK_REALTIME at load */
	char kernel_release[HW_RELEASE_LEN]; /* 48 uname -r */
	__u16 companion;		/* 120 1.4: enum hw_companion */
	__u16 reserved1;		/* 122 */
	__u32 unavailable;		/* 124 1.4: HW_UF_* */

	/* publication: 128 .. */
	__u32 seq;			/* 128 odd while being updated */
	__u32 flags;			/* 132 HW_IF_* */
	__u64 generation;		/* 136 0 = nothing published yet */
	__u64 publish_mono_ns;		/* 144 CLOCK_MONOTONIC at publish */
	__u64 publish_boot_ns;		/* 152 CLOCK_BOOTTIME at publish */
	__u64 publish_real_ns;		/* 160 CLOCK_REALTIME at publish */
	__u32 interval_ms;		/* 168 refresh interval */
	__u32 extent_count;		/* 172 */
	__u64 logical_size;		/* 176 sum of extent sizes */
	__u32 section_count;		/* 184 */
	__u32 ram_range_count;		/* 188 */
	/* true totals; the published counts are in the section table */
	__u32 procs_total;		/* 192 processes in the guest */
	__u32 procs_mm_busy;		/* 196 processes whose VMAs were skipped */
	__u64 vmas_total;		/* 200 VMAs of all processes (1.2: also
					 *     those not walked) */
	__u64 strings_total;		/* 208 string bytes wanted */
	__u32 poll_max_ms;		/* 216 1.2: longest pause of the request
					 *     thread between two looks at the
					 *     ring (and heartbeats); 0: unknown */
	__u32 reserved2a;		/* 220 */
	__u64 reserved2[3];		/* 224 */
	struct hw_range extents[HW_MAX_EXTENTS];	/*  248 */
	struct hw_range ram[HW_MAX_RAM_RANGES];		/* 1272 System RAM */
	struct hw_section sections[HW_MAX_SECTIONS];	/* 1784 */
	/* 1.4, identity: e.g. "haywire 1.4" (the module's MODULE_VERSION)
	 * or "haywire-bpf 1.4"; a guest string like kernel_release */
	char companion_version[HW_COMPANION_VERSION_LEN];	/* 2296 */
	__u8 reserved3[1768];				/* 2328 */
};

/* A string in the string table: bytes [off, off + len), NUL at off + len.
 * {0, 0} is the empty string (no executable, anonymous mapping). */
struct hw_str {
	__u32 off;
	__u32 len;
};

/* Process flags (hw_proc.flags). */
#define HW_PF_KTHREAD		(1U << 0)
#define HW_PF_WQ_WORKER		(1U << 1) /* /proc appends "-<workqueue>" */
#define HW_PF_NO_MM		(1U << 2) /* no address space (kthread, zombie) */
#define HW_PF_MM_BUSY		(1U << 3) /* mmap_lock contended: no VMAs */
#define HW_PF_VMAS_TRUNCATED	(1U << 4) /* vma_count < vma_total */
#define HW_PF_VMAS_SKIPPED	(1U << 5) /* time budget: VMAs not walked */
#define HW_PF_EXE_TRUNCATED	(1U << 6) /* exe path did not fit */
#define HW_PF_BUDGET_CUT	(1U << 7) /* 1.2: time budget ran out inside
					   * its VMA walk (also
					   * VMAS_TRUNCATED) */
#define HW_PF_CGROUP_TRUNCATED	(1U << 8) /* 1.3: cgroup path did not fit */

/* One process (thread-group leader). 128 bytes. */
struct hw_proc {
	__s32 pid;			/*   0 */
	__s32 tgid;			/*   4 */
	__s32 ppid;			/*   8 tgid of the real parent, 0 for none */
	__u32 flags;			/*  12 HW_PF_* */
	__u32 uid;			/*  16 real, in the initial user namespace */
	__u32 gid;			/*  20 */
	__u32 euid;			/*  24 */
	__u32 egid;			/*  28 */
	__u32 threads;			/*  32 */
	char state;			/*  36 as /proc/PID/stat: R S D T t X Z P I */
	__u8 reserved0[3];		/*  37 */
	char comm[HW_COMM_LEN];		/*  40 task->comm */
	__u64 start_time_ns;		/*  56 CLOCK_BOOTTIME at process start */
	__u64 vsize_kb;			/*  64 total_vm, as VmSize */
	__u64 rss_kb;			/*  72 anon + file + shmem, as VmRSS */
	__u64 pgd;			/*  80 physical address of the page-table
					 *     root (CR3 without PCID bits); 0 if
					 *     no mm */
	struct hw_str exe;		/*  88 executable path */
	__u32 vma_first;		/*  96 index of its first VMA record */
	__u32 vma_count;		/* 100 VMA records published */
	__u32 vma_total;		/* 104 VMAs the process has */
	__s32 nice;			/* 108 1.3: -20 .. 19, as /proc stat 19 */
	/* 1.3: the whole thread group, dead threads included, as
	 * /proc/PID/stat fields 14, 15, 10 and 12 */
	__u64 utime_ns;			/* 112 user CPU time */
	__u64 stime_ns;			/* 120 system CPU time */
	/* 1.3: entry_size 192 from here on (1.2 readers stop at 128) */
	__u64 min_flt;			/* 128 minor faults */
	__u64 maj_flt;			/* 136 major faults */
	struct hw_str cgroup;		/* 144 cgroup v2 path ("/" root); {0,0}
					 *     if unknown (no v2 hierarchy) */
	__u64 pidns_inum;		/* 152 inode of its PID namespace */
	__s32 ns_pid;			/* 160 tgid as seen in that namespace */
	__s32 last_cpu;			/* 164 CPU it last ran on (stat 39) */
	__u64 reserved3[3];		/* 168 */
};

/* VMA flags (hw_vma.flags): r w x and s(hared) / p(rivate) as in maps. */
#define HW_VF_READ		(1U << 0)
#define HW_VF_WRITE		(1U << 1)
#define HW_VF_EXEC		(1U << 2)
#define HW_VF_SHARED		(1U << 3) /* VM_MAYSHARE */
#define HW_VF_NAME_TRUNCATED	(1U << 4)

/* One VMA, as a line of /proc/PID/maps. 64 bytes. */
struct hw_vma {
	__u64 start;			/*  0 */
	__u64 end;			/*  8 */
	__u64 offset;			/* 16 file offset in bytes, 0 if anonymous */
	__u64 inode;			/* 24 */
	__u32 dev_major;		/* 32 */
	__u32 dev_minor;		/* 36 */
	__u32 flags;			/* 40 HW_VF_* */
	__u32 reserved0;		/* 44 */
	struct hw_str name;		/* 48 path, [heap], [stack], [vdso] ... */
	__u64 reserved1;		/* 56 */
};

/*
 * Statistics of the companion itself. Totals are since load; "last_" values
 * describe the refresh that produced the published snapshot.
 */
struct hw_stats {
	__u64 refreshes;		/*   0 snapshots published */
	__u64 refresh_ns_total;		/*   8 */
	__u64 last_refresh_ns;		/*  16 walk + publish */
	__u64 last_walk_procs_ns;	/*  24 process records, excluding VMAs */
	__u64 last_walk_vmas_ns;	/*  32 VMA records */
	__u64 last_publish_ns;		/*  40 copy into the beacon + publish */
	__u64 last_procs;		/*  48 */
	__u64 last_vmas;		/*  56 */
	__u64 max_refresh_ns;		/*  64 */
	__u64 mm_busy_total;		/*  72 */
	__u64 budget_overruns;		/*  80 */
	__u64 truncations;		/*  88 */
	__u64 grow_events;		/*  96 extents added */
	__u64 alloc_failures;		/* 104 */
	__u64 stalls;			/* 112 refreshes not published */
	__u64 path_lookups;		/* 120 d_path calls in the last refresh */
	__u64 string_bytes;		/* 128 string table size, last refresh */
	/* 1.2: the time budget (budget_ms) and the mmap_lock */
	__u64 last_max_hold_ns;		/* 136 longest mmap_lock hold, last
					 *     refresh (walk and cameras) */
	__u64 max_hold_ns;		/* 144 longest since load */
	__u64 last_total_ns;		/* 152 whole refresh: walk, cameras,
					 *     copy into the beacon */
	__u64 last_budget_skipped;	/* 160 processes whose VMAs were not
					 *     walked (HW_PF_VMAS_SKIPPED) */
	__u64 last_budget_cut;		/* 168 processes cut inside their VMA
					 *     walk (HW_PF_BUDGET_CUT) */
	__s32 last_start_pid;		/* 176 rotation: the VMA walk began at
					 *     the first pid >= this */
	__s32 next_start_pid;		/* 180 and the next one begins here */
	__u64 budget_ns;		/* 184 budget_ms of the last refresh */
	__s32 last_max_hold_pid;	/* 192 whose hold was last_max_hold_ns */
	__u32 reserved_pad;		/* 196 */
	__u64 staging_bytes;		/* 200 staging memory (counted with
					 *     the beacon against max_mb) */
	__u64 last_cameras_ns;		/* 208 camera walk, last refresh */
	__u64 reserved[5];		/* 216 */
};

/*
 * ---- 1.1: request/response rings -----------------------------------------
 *
 * Host clients ask the guest questions through HW_RING_SLOTS slots. The
 * request area (HW_SEC_REQUESTS, whole pages, written only by hosts) holds
 * one struct hw_request per slot; the response area (HW_SEC_RESPONSES,
 * written only by the guest) holds one response slot of entry_size bytes
 * per request slot: a struct hw_response followed by its data.
 *
 * A client claims a slot by compare-and-swap of its claim word (owner):
 * the client's token in the high half, a claim generation bumped by every
 * claim in the low bits (1.2), so a claim word never repeats. It fills the
 * request, its beacon nonce and a check over all of it (1.2), then bumps
 * seq (release). The guest answers each new seq value of a slot once: a
 * request whose check does not match its fields was mixed by two writers
 * and is answered HW_ST_TORN without acting on it. The answer echoes every
 * field of the question (1.2); it writes the data and the header and stores
 * seq last (release). A client takes the answer whose echo is its whole
 * question, and frees the slot by clearing the token half. A claim whose
 * lease has passed may be taken over by CAS. The guest never acts on owner
 * or lease_ns; it validates everything else.
 */
#define HW_RING_SLOTS		16
#define HW_RESPONSE_SLOT_SIZE	(32 * 1024)	/* header + data */
#define HW_RESPONSE_DATA_MAX	(HW_RESPONSE_SLOT_SIZE - 128)

enum hw_request_type {
	HW_REQ_PING = 1,	/* value[0] guest CLOCK_MONOTONIC ns,
				 * value[1] published generation */
	HW_REQ_REFRESH = 2,	/* publish a snapshot now; value[0] = its
				 * generation */
	HW_REQ_PROC_DETAIL = 3,	/* pid -> struct hw_proc_detail + strings */
	HW_REQ_CAMERA_SET = 4,	/* arg = camera, pid: watch pid from the
				 * next snapshot on; value[0] = generation */
	HW_REQ_CAMERA_CLEAR = 5, /* arg = camera */
	HW_REQ_TRANSLATE = 6,	/* pid, addr, len -> struct hw_page_run[] */
	HW_REQ_READ = 7,	/* pid, addr, len -> bytes (module allow_read) */
};

enum hw_status {
	HW_ST_OK = 0,
	HW_ST_BAD_TYPE = 1,	/* unknown request type */
	HW_ST_BAD_ARG = 2,	/* a field out of range */
	HW_ST_NO_PROCESS = 3,	/* no such pid, or it has no memory */
	HW_ST_UNMAPPED = 4,	/* READ: address not mapped or not readable */
	HW_ST_REFUSED = 5,	/* READ while the module has allow_read=0 */
	HW_ST_BUSY = 6,		/* mmap_lock contended or snapshot failed */
	HW_ST_EXPIRED = 7,	/* unknown or expired cursor */
	HW_ST_NO_MEMORY = 8,
	/* 1.2: READ at value[0] stopped before a file's page that is not
	 * mapped yet: reading it could wait for I/O (NFS, FUSE) forever. */
	HW_ST_NOT_RESIDENT = 9,
	/* 1.2: READ at value[0] stopped before device memory (VM_IO,
	 * VM_PFNMAP) or a userfaultfd-registered range: never read. */
	HW_ST_UNSAFE = 10,
	/* 1.4: the companion does not implement this request type (the
	 * eBPF companion: cameras) */
	HW_ST_UNSUPPORTED = 11,
	HW_ST_TORN = 12,	/* 1.2: check does not match the fields (two
				 * writers mixed a request): nothing done */
	HW_ST_WRONG_BEACON = 13, /* 1.2: nonce is not this beacon's */
};

/*
 * 1.2: the claim word (hw_request.owner). Token 0 means free; releasing
 * keeps the generation, so that the next claim's word differs from every
 * earlier one. HW_CLAIM_LOCKED: the holder also holds a host-side lock
 * (an OFD lock on the RAM file, docs/protocol.md) for as long as it holds
 * the claim, so a taker that gets that lock knows the holder is gone.
 */
#define HW_CLAIM_TOKEN_SHIFT	32
#define HW_CLAIM_LOCKED		(1ULL << 31)
#define HW_CLAIM_GEN_MASK	(HW_CLAIM_LOCKED - 1)
#define HW_CLAIM_TOKEN(owner)	((__u32)((owner) >> HW_CLAIM_TOKEN_SHIFT))

/*
 * 1.2: hw_request.check, FNV-1a (64-bit) over the request's bytes
 * [0, 8) (owner), [20, 64) (type .. cursor) and [72, 128) (nonce and the
 * reserved tail): everything but lease_ns, seq and check itself. 0 means
 * "no check" (a 1.1 client); a computed 0 is sent as 1.
 */
#define HW_CHECK_BASIS		0xcbf29ce484222325ULL
#define HW_CHECK_PRIME		0x100000001b3ULL

static inline __u64 hw_check_bytes(__u64 h, const __u8 *p, unsigned int n)
{
	while (n--) {
		h ^= *p++;
		h *= HW_CHECK_PRIME;
	}
	return h;
}

struct hw_request {
	__u64 owner;		/*  0 0 = free; else the owning client's token */
	__u64 lease_ns;		/*  8 host CLOCK_MONOTONIC end of the claim */
	__u32 seq;		/* 16 bumped by the owner to submit */
	__u32 type;		/* 20 enum hw_request_type */
	__u64 id;		/* 24 chosen by the client, echoed */
	__s32 pid;		/* 32 */
	__u32 arg;		/* 36 camera number */
	__u64 addr;		/* 40 */
	__u64 len;		/* 48 */
	__u64 cursor;		/* 56 from the previous response; 0 to start */
	__u64 check;		/* 64 1.2: HW_CHECK over the request */
	__u64 nonce;		/* 72 1.2: the beacon's nonce; 0: unchecked */
	__u64 reserved[6];	/* 80 */
};

static inline __u64 hw_request_check(const struct hw_request *r)
{
	const __u8 *p = (const __u8 *)r;
	__u64 h = HW_CHECK_BASIS;

	h = hw_check_bytes(h, p, 8);
	h = hw_check_bytes(h, p + 20, 44);
	h = hw_check_bytes(h, p + 72, 56);
	return h ? h : 1;
}

struct hw_response {
	__u32 seq;		/*  0 the request seq answered; written last */
	__u32 status;		/*  4 enum hw_status */
	__u64 id;		/*  8 echo of the request */
	__u64 owner;		/* 16 echo of the request */
	__u32 type;		/* 24 echo of the request */
	__u32 data_len;		/* 28 bytes of data after this header */
	__u64 cursor;		/* 32 nonzero: more to come; ask again with it */
	__u64 total;		/* 40 bytes (READ, PROC_DETAIL) or runs
				 *    (TRANSLATE) of the whole answer, when
				 *    known; 0 otherwise */
	__u64 value[4];		/* 48 small results, per type */
	/* 1.2: the rest of the question answered, echoed */
	__s32 pid;		/* 80 */
	__u32 arg;		/* 84 */
	__u64 addr;		/* 88 */
	__u64 len;		/* 96 */
	__u64 cursor_asked;	/* 104 the request's cursor */
	__u64 nonce;		/* 112 this beacon's nonce */
	__u64 heartbeat;	/* 120 bumped whenever the guest looks at the
				 *     slot; not part of an answer */
};

/*
 * The answer to HW_REQ_PROC_DETAIL: this structure, then cmdline_len bytes
 * of the command line (NUL-separated arguments, as /proc/PID/cmdline), then
 * cwd_len bytes of the working directory path (no NUL).
 */
#define HW_DF_CMDLINE_TRUNCATED	(1U << 0)
#define HW_DF_CWD_UNAVAILABLE	(1U << 1)
/* 1.2: the argument area is not anonymous memory readable without waiting
 * (a file mapped over it, a userfaultfd range, a contended mmap_lock):
 * cmdline_len is 0. */
#define HW_DF_CMDLINE_UNAVAILABLE	(1U << 2)

struct hw_proc_detail {
	__s32 pid;			/*   0 */
	__u32 flags;			/*   4 HW_DF_* */
	__u32 uid[4];			/*   8 real, effective, saved, fs */
	__u32 gid[4];			/*  24 */
	__u64 cap_effective;		/*  40 */
	__u64 cap_permitted;		/*  48 */
	__u64 utime_ns;			/*  56 all threads, as /proc/PID/stat */
	__u64 stime_ns;			/*  64 */
	__u64 min_flt;			/*  72 all threads */
	__u64 maj_flt;			/*  80 */
	__u64 nvcsw;			/*  88 voluntary context switches */
	__u64 nivcsw;			/*  96 involuntary */
	__u64 sig_pending;		/* 104 thread-group leader's, bit n-1 =
					 *     signal n, as /proc SigPnd */
	__u64 sig_shared_pending;	/* 112 ShdPnd */
	__u64 sig_blocked;		/* 120 SigBlk */
	__u64 sig_ignored;		/* 128 SigIgn */
	__u64 sig_caught;		/* 136 SigCgt */
	__u32 threads;			/* 144 */
	__s32 nice;			/* 148 */
	__u32 policy;			/* 152 SCHED_* */
	__u32 exit_signal;		/* 156 */
	char state;			/* 160 as /proc/PID/stat */
	__u8 reserved0[3];		/* 161 */
	__u32 cmdline_len;		/* 164 */
	__u32 cwd_len;			/* 168 */
	__u32 reserved1;		/* 172 */
	__u64 reserved2[2];		/* 176 */
};

/*
 * ---- 1.1: page runs and cameras --------------------------------------------
 *
 * A run of consecutive virtual pages in one state; present runs are also
 * physically contiguous. TRANSLATE answers with runs; a camera publishes,
 * with every snapshot, the runs of each VMA of the process it watches.
 */
enum hw_page_state {
	HW_PAGE_UNMAPPED = 0,	/* no page table entry */
	HW_PAGE_PRESENT = 1,	/* in RAM at gpa */
	HW_PAGE_SWAPPED = 2,	/* swap or migration entry */
};

#define HW_RF_WRITE		(1U << 0)
#define HW_RF_USER		(1U << 1)
#define HW_RF_NX		(1U << 2)
#define HW_RF_PROTNONE		(1U << 3)
/* 1.4: the page size (page_shift says 12) and the other flags are
 * unknown: the eBPF companion translates through /proc/PID/pagemap, which
 * has neither */
#define HW_RF_UNKNOWN		(1U << 15)

struct hw_page_run {
	__u64 va;		/*  0 */
	__u64 len;		/*  8 bytes */
	__u64 gpa;		/* 16 HW_PAGE_PRESENT only */
	__u8 state;		/* 24 enum hw_page_state */
	__u8 page_shift;	/* 25 12, 21, 30; 0 if unmapped */
	__u16 flags;		/* 26 HW_RF_* */
	__u32 reserved;		/* 28 */
};

#define HW_MAX_CAMERAS		4

/* Camera flags (hw_camera.flags). */
#define HW_CF_ACTIVE		(1U << 0) /* set by CAMERA_SET */
#define HW_CF_NO_PROCESS	(1U << 1) /* pid gone or without memory */
#define HW_CF_MM_BUSY		(1U << 2) /* mmap_lock contended this time */
#define HW_CF_TRUNCATED		(1U << 3) /* runs did not fit */
#define HW_CF_BUDGET		(1U << 4) /* 1.2: the time budget ran out
					   * (also TRUNCATED) */

struct hw_camera {
	__s32 pid;		/*  0 */
	__u32 flags;		/*  4 HW_CF_* */
	__u32 vma_first;	/*  8 into HW_SEC_CAMERA_VMAS */
	__u32 vma_count;	/* 12 */
	__u64 present_pages;	/* 16 base pages, all VMAs */
	__u64 swapped_pages;	/* 24 */
	__u64 reserved[4];	/* 32 */
};

struct hw_camera_vma {
	__u64 start;		/*  0 */
	__u64 end;		/*  8 */
	__u32 run_first;	/* 16 into HW_SEC_PAGE_RUNS */
	__u32 run_count;	/* 20 */
	__u64 present_pages;	/* 24 base pages */
	__u64 swapped_pages;	/* 32 */
	__u64 reserved;		/* 40 */
};

/*
 * ---- 1.3: monitoring --------------------------------------------------------
 *
 * The guest as a whole, taken at each refresh (HW_SEC_GUEST, one record),
 * with the same sources /proc uses. Memory in kB as /proc/meminfo, CPU
 * times in ns (/proc/stat shows them in USER_HZ ticks).
 */
#define HW_GF_NO_SWAP_TOTAL	(1U << 0) /* swap_total unknown: no exported
					   * source (si_swapinfo is not) */
#define HW_LOAD_FSHIFT		11	/* load averages: fixed point, as the
					 * kernel's avenrun (FSHIFT) */

struct hw_cpu_time {
	__u64 user;		/*  0 ns, as the cpu lines of /proc/stat */
	__u64 nice;		/*  8 */
	__u64 system;		/* 16 */
	__u64 idle;		/* 24 */
	__u64 iowait;		/* 32 */
	__u64 irq;		/* 40 */
	__u64 softirq;		/* 48 */
	__u64 steal;		/* 56 */
	__u32 cpu;		/* 64 CPU number (HW_SEC_CPUS); 0 in the total */
	__u32 online;		/* 68 1 if online */
	__u64 reserved;		/* 72 */
};

struct hw_guest {
	__u64 uptime_ns;	/*   0 CLOCK_BOOTTIME at the refresh */
	__u64 idle_ns;		/*   8 reserved (0) */
	__u64 load[3];		/*  16 1, 5, 15 min, << HW_LOAD_FSHIFT */
	__u32 nr_running;	/*  40 runnable tasks (/proc/stat procs_running) */
	__u32 nr_blocked;	/*  44 in I/O wait (procs_blocked) */
	__u32 nr_threads;	/*  48 all tasks (/proc/loadavg 4th field) */
	__u32 nr_cpus;		/*  52 online CPUs */
	__u32 nr_possible;	/*  56 possible CPUs (HW_SEC_CPUS count, unless
				 *     truncated) */
	__u32 flags;		/*  60 HW_GF_* */
	__u64 forks;		/*  64 reserved (0): total_forks is not
				 *     exported */
	__u64 ctxt;		/*  72 reserved (0) */
	/* memory, kB, as /proc/meminfo */
	__u64 mem_total;	/*  80 */
	__u64 mem_free;		/*  88 */
	__u64 mem_available;	/*  96 */
	__u64 buffers;		/* 104 */
	__u64 cached;		/* 112 */
	__u64 swap_total;	/* 120 0 with HW_GF_NO_SWAP_TOTAL */
	__u64 swap_free;	/* 128 */
	__u64 shmem;		/* 136 */
	__u64 slab;		/* 144 SReclaimable + SUnreclaim */
	__u64 sreclaimable;	/* 152 */
	__u64 mem_reserved[6];	/* 160 */
	struct hw_cpu_time cpu_total;	/* 208 all CPUs, as the cpu line */
	__u64 reserved[4];	/* 288 */
};

/*
 * Lifecycle events (HW_SEC_EVENTS): a ring in pages that never move,
 * written when the event happens. The section's offset is the ring header,
 * records follow it at offset + sizeof(struct hw_event_ring); count records
 * of entry_size bytes. Event n (from 1) goes to record (n - 1) % count.
 *
 * Writer (guest, under one lock): head = n; rec.seq = 0; wmb; fill the
 * record; wmb; rec.seq = n; wmb; head_done = n.
 * Reader (host), wanting event n: s1 = rec.seq (acquire); copy; rmb;
 * s2 = rec.seq. s1 == s2 == n: event n. s1 == s2 > n (or n <= head_done -
 * count): event n was overwritten, lost. Otherwise not written yet. After
 * the copy, the index's magic and nonce still as before: the ring is
 * still ours (unload marks the index gone before freeing it).
 */
enum hw_event_type {
	HW_EV_FORK = 1,		/* pid, tgid: the child; ppid: the parent's tgid */
	HW_EV_EXEC = 2,		/* filename: the file as passed to execve */
	HW_EV_EXIT = 3,		/* exit_code: as wait() reports it */
};

#define HW_EF_THREAD		(1U << 0) /* a thread, not a process (pid !=
					   * tgid, or a non-last thread exit) */
#define HW_EF_FILENAME_TRUNCATED (1U << 1) /* filename_len > stored bytes */

#define HW_EVENT_FILENAME_LEN	184	/* stored bytes, NUL included */

struct hw_event_ring {
	__u64 head;		/*  0 last event number taken (0: none yet) */
	__u64 head_done;	/*  8 last event number completely written */
	__u64 overwritten;	/* 16 events overwritten so far (their
				 *     records reused): head_done - count */
	__u32 slots;		/* 24 = the section's count */
	__u32 record_size;	/* 28 = the section's entry_size */
	__u64 boot_ns;		/* 32 CLOCK_BOOTTIME when the ring started */
	__u64 reserved[3];	/* 40 */
};

struct hw_event {
	__u64 seq;		/*   0 event number; 0 while being written */
	__u64 boot_ns;		/*   8 CLOCK_BOOTTIME of the event */
	__u64 real_ns;		/*  16 CLOCK_REALTIME of the event */
	__u16 type;		/*  24 enum hw_event_type */
	__u16 flags;		/*  26 HW_EF_* */
	__s32 pid;		/*  28 */
	__s32 tgid;		/*  32 */
	__s32 ppid;		/*  36 tgid of the real parent */
	__s32 exit_code;	/*  40 HW_EV_EXIT */
	__u32 cpu;		/*  44 CPU the event happened on */
	char comm[HW_COMM_LEN];	/*  48 after the event (exec: the new one) */
	__u32 filename_len;	/*  64 HW_EV_EXEC: whole length */
	__u32 reserved;		/*  68 */
	char filename[HW_EVENT_FILENAME_LEN];	/* 72 NUL-terminated */
};

/* Compile-time layout checks: the same on every side that includes this. */
#define HW_ASSERT_OFFSET(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       #type "." #field " must be at offset " #off)
#define HW_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), \
		       "struct " #type " must be " #size " bytes")

HW_ASSERT_SIZE(hw_range, 16);
HW_ASSERT_SIZE(hw_section, 32);
HW_ASSERT_SIZE(hw_str, 8);
HW_ASSERT_SIZE(hw_index, HW_INDEX_SIZE);
HW_ASSERT_OFFSET(hw_index, nonce, 16);
HW_ASSERT_OFFSET(hw_index, self_gpa, 24);
HW_ASSERT_OFFSET(hw_index, kernel_release, 48);
HW_ASSERT_OFFSET(hw_index, seq, 128);
HW_ASSERT_OFFSET(hw_index, generation, 136);
HW_ASSERT_OFFSET(hw_index, interval_ms, 168);
HW_ASSERT_OFFSET(hw_index, procs_total, 192);
HW_ASSERT_OFFSET(hw_index, poll_max_ms, 216);
HW_ASSERT_OFFSET(hw_index, extents, 248);
HW_ASSERT_OFFSET(hw_index, ram, 1272);
HW_ASSERT_OFFSET(hw_index, sections, 1784);
HW_ASSERT_OFFSET(hw_index, companion, 120);
HW_ASSERT_OFFSET(hw_index, unavailable, 124);
HW_ASSERT_OFFSET(hw_index, companion_version, 2296);
HW_ASSERT_SIZE(hw_proc, 192);
HW_ASSERT_OFFSET(hw_proc, nice, 108);
HW_ASSERT_OFFSET(hw_proc, utime_ns, 112);
HW_ASSERT_OFFSET(hw_proc, min_flt, 128);
HW_ASSERT_OFFSET(hw_proc, cgroup, 144);
HW_ASSERT_OFFSET(hw_proc, pidns_inum, 152);
HW_ASSERT_OFFSET(hw_proc, last_cpu, 164);
HW_ASSERT_SIZE(hw_cpu_time, 80);
HW_ASSERT_SIZE(hw_guest, 320);
HW_ASSERT_OFFSET(hw_guest, mem_total, 80);
HW_ASSERT_OFFSET(hw_guest, cpu_total, 208);
HW_ASSERT_SIZE(hw_event_ring, 64);
HW_ASSERT_SIZE(hw_event, 256);
HW_ASSERT_OFFSET(hw_event, comm, 48);
HW_ASSERT_OFFSET(hw_event, filename, 72);
HW_ASSERT_OFFSET(hw_proc, comm, 40);
HW_ASSERT_OFFSET(hw_proc, start_time_ns, 56);
HW_ASSERT_OFFSET(hw_proc, pgd, 80);
HW_ASSERT_OFFSET(hw_proc, exe, 88);
HW_ASSERT_OFFSET(hw_proc, vma_first, 96);
HW_ASSERT_SIZE(hw_vma, 64);
HW_ASSERT_OFFSET(hw_vma, flags, 40);
HW_ASSERT_OFFSET(hw_vma, name, 48);
HW_ASSERT_SIZE(hw_stats, 256);
HW_ASSERT_OFFSET(hw_stats, last_max_hold_ns, 136);
HW_ASSERT_OFFSET(hw_stats, last_start_pid, 176);
HW_ASSERT_OFFSET(hw_stats, last_cameras_ns, 208);
HW_ASSERT_SIZE(hw_request, 128);
HW_ASSERT_OFFSET(hw_request, seq, 16);
HW_ASSERT_OFFSET(hw_request, cursor, 56);
HW_ASSERT_OFFSET(hw_request, check, 64);
HW_ASSERT_OFFSET(hw_request, nonce, 72);
HW_ASSERT_SIZE(hw_response, 128);
HW_ASSERT_OFFSET(hw_response, cursor, 32);
HW_ASSERT_OFFSET(hw_response, value, 48);
HW_ASSERT_OFFSET(hw_response, pid, 80);
HW_ASSERT_OFFSET(hw_response, cursor_asked, 104);
HW_ASSERT_OFFSET(hw_response, nonce, 112);
HW_ASSERT_OFFSET(hw_response, heartbeat, 120);
HW_ASSERT_SIZE(hw_proc_detail, 192);
HW_ASSERT_OFFSET(hw_proc_detail, cmdline_len, 164);
HW_ASSERT_SIZE(hw_page_run, 32);
HW_ASSERT_SIZE(hw_camera, 64);
HW_ASSERT_SIZE(hw_camera_vma, 48);
_Static_assert(HW_RING_SLOTS * sizeof(struct hw_request) <= 4096,
	       "the request area is one page");

#endif /* HAYWIRE_PROTOCOL_H */
