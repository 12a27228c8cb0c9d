// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the whole decode path: the input is the start of
 * a 4 MiB guest RAM image (the rest zero). It runs discovery (without and
 * with a hint), info, ps, maps of several PIDs, the cameras (each active
 * camera's VMAs) and the ring layout, and formats every result as text and
 * JSON (the streaming writers), as the haywire command would. Then the
 * input again as a second candidate 2 MiB on: discovery must never pick
 * one of two valid indexes by itself, and pinning must pick the one asked.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haywire.h"
#include "output.h"

#define IMAGE_SIZE (4u << 20)

static unsigned char image[IMAGE_SIZE];
static size_t dirty;		/* bytes of image the last input wrote */
static FILE *sink;

static void maps_of(struct haywire_beacon *b, int32_t pid)
{
	struct haywire_error err;
	struct haywire_maps *maps;

	if (haywire_read_maps(b, pid, &maps, &err))
		return;
	print_maps(sink, maps);
	print_json_maps(sink, maps, "beacon");
	haywire_maps_free(maps);
}

static void cameras(struct haywire_beacon *b)
{
	struct haywire_ring_layout ring;
	struct haywire_error err;
	struct haywire_cameras *all, *one;
	unsigned int i;

	haywire_read_ring_layout(b, &ring, &err);
	if (haywire_read_cameras(b, 0, &all, &err))
		return;
	print_cameras(sink, all);
	print_json(sink, json_cameras(all));
	for (i = 0; i < all->count; i++) {
		if (!(all->cams[i].flags & HW_CF_ACTIVE) ||
		    haywire_read_cameras(b, all->cams[i].pid, &one, &err))
			continue;
		if (one->selected >= 0) {
			print_camera(sink, one);
			print_json_camera(sink, one);
		}
		haywire_cameras_free(one);
	}
	haywire_cameras_free(all);
}

/* 1.3: the guest section, per-CPU times and the event ring. */
static void monitoring(struct haywire_beacon *b)
{
	struct haywire_event ev[16];
	struct haywire_event_cursor cur;
	struct haywire_event_batch bt;
	struct haywire_guest_stat *gs;
	struct haywire_error err;
	int rounds;

	if (!haywire_read_guest(b, &gs, &err)) {
		print_json(sink, json_guest(&gs->info.guest));
		haywire_guest_stat_free(gs);
	}
	haywire_event_cursor_init(&cur, 1);
	for (rounds = 0; rounds < 4; rounds++)
		if (haywire_read_events(b, &cur, ev, 16, &bt, &err) || !bt.more)
			break;
}

static void read_everything(struct haywire_beacon *b, const uint8_t *data,
			    size_t size)
{
	struct haywire_error err;
	struct haywire_procs *procs;
	struct haywire_info info;
	int32_t pid;

	if (!haywire_read_info(b, &info, &err)) {
		print_info(sink, &info);
		print_json(sink, json_info(&info));
	}
	if (!haywire_read_procs(b, &procs, &err)) {
		size_t i;

		print_ps(sink, procs, true);
		print_json_ps(sink, procs, "beacon");
		for (i = 0; i < procs->count && i < 4; i++)
			maps_of(b, procs->procs[i].pid);
		if (procs->count)
			maps_of(b, procs->procs[procs->count - 1].pid);
		haywire_procs_free(procs);
	}
	cameras(b);
	monitoring(b);
	/* And one PID of the input's choosing. */
	if (size >= 4) {
		memcpy(&pid, data + size - 4, sizeof(pid));
		maps_of(b, pid);
	}
}

#define SECOND (2u << 20)	/* where the second candidate goes */

static void add_u64(size_t at, uint64_t v)
{
	uint64_t x;

	memcpy(&x, image + at, sizeof(x));
	x += v;
	memcpy(image + at, &x, sizeof(x));
}

static bool pinned_ok(struct haywire_mem *mem, uint64_t gpa,
		      uint64_t *offset)
{
	struct haywire_opts opts = { .attempts = 2, .sleep_us = 1,
				     .deadline_ms = 1, .pin_index = true,
				     .index_gpa = gpa };
	struct haywire_error err;
	struct haywire_beacon *b = haywire_discover(mem, &opts, &err);

	if (!b)
		return false;
	*offset = haywire_beacon_location(b)->file_offset;
	haywire_beacon_free(b);
	return true;
}

/*
 * The input at 0 and again at SECOND, moved there (self_gpa and the first
 * extent follow, the nonce differs): whatever the bytes, two valid indexes
 * are never resolved by discovery itself, a success is one of the two, and
 * a pinned discovery takes the index at the GPA asked for.
 */
static void two_candidates(size_t size)
{
	struct haywire_opts opts = { .attempts = 2, .sleep_us = 1,
				     .deadline_ms = 1 };
	uint64_t gpa_a, off_a = 0, off_b = 0;
	struct haywire_error err;
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	bool a, c;

	if (size < offsetof(struct hw_index, extents) + 8 || size > SECOND)
		return;
	memcpy(image + SECOND, image, size);
	add_u64(SECOND + offsetof(struct hw_index, self_gpa), SECOND);
	add_u64(SECOND + offsetof(struct hw_index, extents), SECOND);
	image[SECOND + offsetof(struct hw_index, nonce)] ^= 1;
	memcpy(&gpa_a, image + offsetof(struct hw_index, self_gpa),
	       sizeof(gpa_a));
	mem = haywire_mem_from_buffer(image, IMAGE_SIZE, &err);
	if (!mem)
		abort();
	a = pinned_ok(mem, gpa_a, &off_a);
	c = pinned_ok(mem, gpa_a + SECOND, &off_b);
	if ((a && off_a != 0) || (c && off_b != SECOND))
		abort();	/* pinned to another place */
	b = haywire_discover(mem, &opts, &err);
	if (b) {
		uint64_t at = haywire_beacon_location(b)->file_offset;

		if ((a && c) || (at == 0 && !a) || (at == SECOND && !c))
			abort();	/* a guess, or not what pinning finds */
		haywire_beacon_free(b);
	} else if (a && c && err.code != HAYWIRE_E_AMBIGUOUS) {
		abort();
	}
	haywire_mem_close(mem);
	memset(image + SECOND, 0, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Few attempts, no sleeping: a busy beacon must not slow fuzzing. */
	struct haywire_opts opts = { .attempts = 2, .sleep_us = 1,
				     .deadline_ms = 1 };
	struct haywire_error err;
	struct haywire_mem *mem;
	struct haywire_beacon *b;
	struct haywire_hint hint;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size > IMAGE_SIZE)
		size = IMAGE_SIZE;
	memset(image, 0, dirty);
	memcpy(image, data, size);
	dirty = size;

	mem = haywire_mem_from_buffer(image, IMAGE_SIZE, &err);
	if (!mem)
		abort();	/* a valid size: cannot fail */
	b = haywire_discover(mem, &opts, &err);
	if (b) {
		read_everything(b, data, size);
		/* Again, through the hint the first discovery yields. */
		hint.file_offset = haywire_beacon_location(b)->file_offset;
		hint.nonce = haywire_beacon_location(b)->nonce;
		haywire_beacon_free(b);
		opts.hint = &hint;
		b = haywire_discover(mem, &opts, &err);
		/* Nothing changed, so the same place (scanned again if the
		 * snapshot is stale). */
		if (!b || haywire_beacon_location(b)->file_offset !=
			  hint.file_offset)
			abort();
		haywire_beacon_free(b);
	}
	/* A hint at the second 2 MiB, with the input's nonce. */
	hint.file_offset = 2u << 20;
	hint.nonce = 0;
	if (size >= 24)
		memcpy(&hint.nonce, data + 16, sizeof(hint.nonce));
	opts.hint = &hint;
	b = haywire_discover(mem, &opts, &err);
	haywire_beacon_free(b);
	haywire_mem_close(mem);
	two_candidates(size);
	return 0;
}
