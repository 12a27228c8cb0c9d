// SPDX-License-Identifier: GPL-2.0-only
/*
 * The string table and its interning (strtab.h), one piece of C for the
 * module and for haywire-bpf.
 */
#include "strtab.h"

void hw_strtab_reset(struct hw_strtab *t)
{
	memset(t->slots, 0, (size_t)t->nr_slots * sizeof(*t->slots));
	t->used_slots = 0;
	t->bytes[0] = '\0';		/* {0, 0} is the empty string */
	t->used = 1;
}

/* FNV-1a (the request check's), folded to 32 bits: same on both sides. */
static u32 hash_of(const char *str, u32 len)
{
	u64 h = hw_check_bytes(HW_CHECK_BASIS, (const __u8 *)str, len);

	return (u32)(h ^ (h >> 32));
}

static struct hw_intern_slot *find_slot(const struct hw_strtab *t,
					const char *str, u32 len, u32 hash)
{
	u32 mask = t->nr_slots - 1;
	u32 i;

	for (i = hash & mask; t->slots[i].off; i = (i + 1) & mask) {
		struct hw_intern_slot *slot = &t->slots[i];

		if (slot->hash == hash && slot->len == len &&
		    !memcmp(t->bytes + slot->off, str, len))
			break;
	}
	return &t->slots[i];
}

bool hw_strtab_find(const struct hw_strtab *t, const char *str, u32 len,
		    u32 *hash, struct hw_str *out)
{
	struct hw_intern_slot *slot;

	*hash = hash_of(str, len);
	slot = find_slot(t, str, len, *hash);
	if (!slot->off)
		return false;
	out->off = slot->off;
	out->len = len;
	return true;
}

/* Double the hash table; when memory is short, keep the old one. */
static void rehash(struct hw_strtab *t)
{
	u32 nr = t->nr_slots * 2;
	struct hw_intern_slot *slots, *old = t->slots;
	u64 more = (u64)t->nr_slots * sizeof(*slots);
	u32 i, j;

	if (t->acct->used + more > t->acct->max)
		return;
	slots = hw_kvcalloc(nr, sizeof(*slots));
	if (!slots) {
		t->alloc_failures++;
		return;
	}
	t->acct->used += more;
	for (i = 0; i < t->nr_slots; i++) {
		if (!old[i].off)
			continue;
		for (j = old[i].hash & (nr - 1); slots[j].off;
		     j = (j + 1) & (nr - 1))
			;
		slots[j] = old[i];
	}
	t->slots = slots;
	t->nr_slots = nr;
	hw_kvfree(old);
}

void hw_strtab_add(struct hw_strtab *t, const char *str, u32 len, u32 hash,
		   struct hw_str *out)
{
	struct hw_intern_slot *slot;
	u32 off = t->used;

	memcpy(t->bytes + off, str, len);
	t->bytes[off + len] = '\0';
	t->used += len + 1;
	out->off = off;
	out->len = len;

	/*
	 * At most 3/4 full, so that probes end; if it cannot grow, the
	 * string is stored but not shared.
	 */
	if ((t->used_slots + 1) * 4ULL > t->nr_slots * 3ULL)
		rehash(t);
	if ((t->used_slots + 1) * 4ULL <= t->nr_slots * 3ULL) {
		slot = find_slot(t, str, len, hash);
		slot->hash = hash;
		slot->off = off;
		slot->len = len;
		t->used_slots++;
	}
}
