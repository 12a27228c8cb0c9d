// SPDX-License-Identifier: MIT
/*
 * Reading a guest kernel's maple tree (lib/maple_tree.c, Linux 6.1+; the
 * VMAs of an mm live in mm->mm_mt) from the host, without locks.
 *
 * An encoded node pointer carries the node type in bits 3..6 and
 * MAPLE_ENODE_NULL (bit 2); the root pointer is also tagged with bit 1
 * (xa_is_node). Leaves (maple_leaf_64) and range
 * nodes (maple_range_64) have 15 pivots and 16 slots, allocation-range
 * nodes (maple_arange_64) 9 and 10 plus gaps; sizes and offsets come from
 * BTF. The number of used slots follows the kernel's ma_data_end(). Slot i
 * covers [previous pivot + 1, pivot i], the last one up to the node's max.
 *
 * The guest keeps changing the tree while we read it, and its memory is
 * untrusted: a dead node (its parent pointer points at itself), pivots that
 * do not increase, a depth beyond the tree's height limit, or more nodes
 * or entries than the caller's bound end the walk with HAYWIRE_E_BUSY (the
 * caller may retry) or HAYWIRE_E_CORRUPT; it never loops.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "agentless.h"

#define MAPLE_NODE_MASK		255ULL
#define MAPLE_NODE_TYPE_SHIFT	3
#define MAPLE_NODE_TYPE_MASK	0xfULL
#define MAPLE_HEIGHT_MAX	31

struct mwalk {
	struct haywire_agentless *a;
	hwi_maple_fn fn;
	void *arg;
	struct haywire_error *err;
	uint64_t entries, max_entries, nodes, max_nodes;
	unsigned char *bufs;	/* one node copy per depth */
	uint64_t *seen;		/* node addresses visited (open addressing) */
	size_t seen_slots;
};

static int changed(struct mwalk *w, const char *what, uint64_t node)
{
	return hwi_fail(w->err, HAYWIRE_E_BUSY,
			"the VMA tree changed while it was read (%s at node 0x%" PRIx64 ")",
			what, node);
}

/*
 * Remember a node; false if it was visited before. A tree visits each node
 * once, so garbage that links nodes into a graph costs at most one visit
 * per node, not one per path.
 */
static int first_visit(struct mwalk *w, uint64_t node)
{
	size_t i, mask;

	if ((w->nodes + 1) * 2 > w->seen_slots) {
		size_t n = w->seen_slots ? w->seen_slots * 2 : 1024, j;
		uint64_t *bigger = calloc(n, sizeof(*bigger));

		if (!bigger)
			return hwi_fail(w->err, HAYWIRE_E_NOMEM, "out of memory");
		for (j = 0; j < w->seen_slots; j++) {
			if (!w->seen[j])
				continue;
			for (i = (w->seen[j] >> 8) & (n - 1); bigger[i];
			     i = (i + 1) & (n - 1))
				;
			bigger[i] = w->seen[j];
		}
		free(w->seen);
		w->seen = bigger;
		w->seen_slots = n;
	}
	mask = w->seen_slots - 1;
	for (i = (node >> 8) & mask; w->seen[i]; i = (i + 1) & mask)
		if (w->seen[i] == node)
			return changed(w, "a node reached twice", node);
	w->seen[i] = node;
	return 0;
}

/* The root is tagged like an xarray node (low bits 10, xa_is_node()). */
static bool is_root_node(uint64_t entry)
{
	return (entry & 3) == 2 && entry > 4096;
}

/* A child is an encoded node: MAPLE_ENODE_NULL (bit 2) set, bits 0-1 0. */
static bool is_child_node(uint64_t entry)
{
	return (entry & 7) == 4 && entry > 4096;
}


static int walk_node(struct mwalk *w, uint64_t enode, uint64_t min,
		     uint64_t max, unsigned int depth)
{
	const struct hwi_layout *L = &w->a->L;
	uint64_t node = enode & ~MAPLE_NODE_MASK;
	int64_t type = (int64_t)((enode >> MAPLE_NODE_TYPE_SHIFT) &
				 MAPLE_NODE_TYPE_MASK);
	unsigned char *buf = w->bufs + (size_t)(depth - 1) * L->maple_node_size;
	const struct hwi_field *pf, *sf, *ef;
	uint64_t pivots[32], slots[32], lo, parent;
	unsigned int np, ns, end, i;
	bool leaf;
	int rc;

	if (depth > MAPLE_HEIGHT_MAX)
		return changed(w, "deeper than a maple tree can be", node);
	if (!hwi_kptr_ok(node, 256))
		return changed(w, "a bad node pointer", enode);
	rc = first_visit(w, node);
	if (rc)
		return rc;
	if (++w->nodes > w->max_nodes)
		return changed(w, "more nodes than its entries need", node);
	rc = hwi_kread(w->a, node, buf, L->maple_node_size, w->err);
	if (rc)
		return rc;
	memcpy(&parent, buf, 8);
	if ((parent & ~MAPLE_NODE_MASK) == node)
		return changed(w, "a dead node", node);
	if (type == L->mt_leaf64 || type == L->mt_range64) {
		pf = &L->r64_pivot;
		sf = &L->r64_slot;
		ef = &L->r64_meta_end;
	} else if (type == L->mt_arange64) {
		pf = &L->a64_pivot;
		sf = &L->a64_slot;
		ef = &L->a64_meta_end;
	} else {
		return changed(w, "a node type other than range and leaf", node);
	}
	leaf = type == L->mt_leaf64;
	np = pf->nelems;
	ns = sf->nelems;
	if (ns > 32 || np + 1 != ns)
		return hwi_fail(w->err, HAYWIRE_E_CORRUPT,
				"maple node with %u slots", ns);
	memcpy(pivots, buf + pf->off, np * 8);
	memcpy(slots, buf + sf->off, ns * 8);
	/* ma_data_end() */
	if (type == L->mt_arange64 || !pivots[np - 1])
		end = buf[ef->off];
	else if (pivots[np - 1] == max)
		end = np - 1;
	else
		end = np;
	if (end >= ns)
		return changed(w, "a node end beyond its slots", node);
	lo = min;
	for (i = 0; i <= end; i++) {
		uint64_t hi = i < np ? pivots[i] : max;
		uint64_t e = slots[i];

		if (hi < lo || hi > max)
			return changed(w, "pivots out of order", node);
		if (leaf) {
			if (e && (e & 3) != 2) {
				if (++w->entries > w->max_entries)
					return changed(w, "more entries than the mm has VMAs", node);
				rc = w->fn(w->arg, lo, hi, e);
				if (rc)
					return rc;
			}
		} else {
			if (!is_child_node(e))
				return changed(w, "an internal slot without a node", node);
			rc = walk_node(w, e, lo, hi, depth + 1);
			if (rc)
				return rc;
		}
		if (hi == max)
			break;
		lo = hi + 1;
	}
	return 0;
}

int hwi_maple_walk(struct haywire_agentless *a, uint64_t root,
		   uint32_t ma_flags, uint64_t max_entries, hwi_maple_fn fn,
		   void *arg, struct haywire_error *err)
{
	struct mwalk w = {
		.a = a, .fn = fn, .arg = arg, .err = err,
		.max_entries = max_entries, .max_nodes = max_entries + 64,
	};
	int rc;

	(void)ma_flags;
	if (!root)
		return 0;
	if (!is_root_node(root)) {
		/* A single entry at index 0: not how an mm stores VMAs. */
		return hwi_fail(err, HAYWIRE_E_BUSY,
				"the VMA tree root 0x%" PRIx64 " is not a node", root);
	}
	w.bufs = malloc((size_t)MAPLE_HEIGHT_MAX * a->L.maple_node_size);
	if (!w.bufs)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	rc = walk_node(&w, root, 0, UINT64_MAX, 1);
	free(w.bufs);
	free(w.seen);
	return rc;
}
