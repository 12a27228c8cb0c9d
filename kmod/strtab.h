/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The string table of a snapshot (HW_SEC_STRINGS) with its interning hash
 * table: every string stored once, "" at offset 0. Shared by the module
 * (Kbuild) and haywire-bpf (ebpf/Makefile). The caller owns the bytes
 * array and grows it; the hash table grows here, counted in the staging
 * account.
 */
#ifndef HAYWIRE_STRTAB_H
#define HAYWIRE_STRTAB_H

#include "shim.h"
#include "haywire_protocol.h"

/*
 * Staging memory is counted against a cap together with the beacon (the
 * module's max_mb): every staging array grows within used <= max.
 */
struct hw_staging {
	u64 used;		/* bytes of staging memory allocated */
	u64 max;		/* most it may reach */
};

/* A string in the table; off 0 marks a free slot (offset 0 is "" only). */
struct hw_intern_slot {
	u32 hash;
	u32 off;
	u32 len;
};

struct hw_strtab {
	char *bytes;			/* the table; grown by the caller */
	u32 cap;			/* bytes allocated */
	u32 used;			/* bytes in use (1 after a reset) */
	struct hw_intern_slot *slots;	/* a power of two of them */
	u32 nr_slots;
	u32 used_slots;
	struct hw_staging *acct;	/* rehashing is counted here */
	u64 alloc_failures;		/* rehashes that found no memory */
};

/* Empty the table: only "" at offset 0. */
void hw_strtab_reset(struct hw_strtab *t);
/*
 * Whether str is in the table already (then *out names it); either way
 * *hash is what hw_strtab_add() wants. len > 0.
 */
bool hw_strtab_find(const struct hw_strtab *t, const char *str, u32 len,
		    u32 *hash, struct hw_str *out);
/*
 * Append str, not in the table, and remember it. The caller has checked
 * that used + len + 1 <= cap. If the hash table cannot grow, the string
 * is stored but not shared.
 */
void hw_strtab_add(struct hw_strtab *t, const char *str, u32 len, u32 hash,
		   struct hw_str *out);

#endif /* HAYWIRE_STRTAB_H */
