/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few primitives the shared publisher (publish.c) and string table
 * (strtab.c) need, for the kernel (Kbuild: the module) and for user space
 * (ebpf/Makefile: haywire-bpf). Everything else in those files is plain C
 * compiled as is on both sides.
 */
#ifndef HAYWIRE_SHIM_H
#define HAYWIRE_SHIM_H

#ifdef __KERNEL__

#include <linux/compiler.h>	/* WRITE_ONCE */
#include <linux/kernel.h>	/* ALIGN(), min() */
#include <linux/mm.h>		/* kvmalloc */
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/barrier.h>	/* smp_wmb, smp_mb */

#define hw_kvcalloc(n, size) kvcalloc(n, size, GFP_KERNEL | __GFP_NOWARN)
#define hw_kvfree(p)	kvfree(p)
#define hw_strscpy(dst, src, n)	strscpy(dst, src, n)

#else /* user space */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

/* Orders earlier stores before later ones: pairs as the kernel's does. */
static inline void smp_wmb(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
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

#endif /* __KERNEL__ */
#endif /* HAYWIRE_SHIM_H */
