/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few primitives the shared publisher (publish.c), string table
 * (strtab.c) and request ring protocol (ringproto.c) need, for the kernel
 * (Kbuild: the module) and for user space (ebpf/ebpf.mk: haywire-bpf).
 * Everything else in those files is plain C compiled as is on both sides.
 */
#ifndef HAYWIRE_SHIM_H
#define HAYWIRE_SHIM_H

#ifdef __KERNEL__

#include <linux/compiler.h>	/* WRITE_ONCE */
#include <linux/errno.h>
#include <linux/kernel.h>	/* ALIGN(), min() */
#include <linux/mm.h>		/* kvmalloc */
#include <linux/random.h>	/* get_random_u64 */
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>	/* ktime_get_ns */
#include <linux/types.h>
#include <asm/barrier.h>	/* smp_wmb, smp_rmb, smp_mb, acquire/release */

#define hw_kvcalloc(n, size) kvcalloc(n, size, GFP_KERNEL | __GFP_NOWARN)
#define hw_kvfree(p)	kvfree(p)
#define hw_strscpy(dst, src, n)	strscpy(dst, src, n)
#define hw_random_u64()	get_random_u64()
#define hw_now_ns()	ktime_get_ns()	/* monotonic */

#else /* user space */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;

/*
 * The kernel's meanings of the same names, for the host's side of the
 * pairing (docs/protocol.md, "Consistency"): a store emitted once and whole,
 * a store-store fence and a full fence.
 */
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
/* A load no later access moves before: pairs as the kernel's does. */
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
/* A store no earlier access moves after: pairs as the kernel's does. */
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#ifndef U32_MAX
#define U32_MAX			UINT32_MAX
#endif
#ifndef U64_MAX
#define U64_MAX			UINT64_MAX
#endif

/* Orders earlier stores before later ones: pairs as the kernel's does. */
static inline void smp_wmb(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Orders earlier loads before later ones: pairs as the kernel's does. */
static inline void smp_rmb(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Orders everything before it with everything after it. */
static inline void smp_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#define hw_kvcalloc(n, size)	calloc(n, size)
#define hw_kvfree(p)		free(p)

static inline void hw_strscpy(char *dst, const char *src, size_t n)
{
	size_t len = strnlen(src, n - 1);

	memcpy(dst, src, len);
	memset(dst + len, 0, n - len);
}

/* CLOCK_MONOTONIC, as the kernel's ktime_get_ns(). */
static inline u64 hw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* Unpredictable enough for a cursor; the clock if getrandom() fails. */
static inline u64 hw_random_u64(void)
{
	u64 v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = hw_now_ns();
	return v;
}

#endif /* __KERNEL__ */
#endif /* HAYWIRE_SHIM_H */
