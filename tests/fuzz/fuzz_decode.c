// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the whole decode path: the input is the start of
 * a 4 MiB guest RAM image (the rest zero). It runs discovery (without and
 * with a hint), info, ps, maps of several PIDs, the cameras (each active
 * camera's VMAs) and the ring layout, and formats every result as text and
 * JSON, as the haywire command would.
 */
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

		print_ps(sink, procs);
		print_json_ps(sink, procs, "beacon");
		for (i = 0; i < procs->count && i < 4; i++)
			maps_of(b, procs->procs[i].pid);
		if (procs->count)
			maps_of(b, procs->procs[procs->count - 1].pid);
		haywire_procs_free(procs);
	}
	cameras(b);
	/* And one PID of the input's choosing. */
	if (size >= 4) {
		memcpy(&pid, data + size - 4, sizeof(pid));
		maps_of(b, pid);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Few attempts, no sleeping: a busy beacon must not slow fuzzing. */
	struct haywire_opts opts = { .attempts = 2, .sleep_us = 1 };
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
	return 0;
}
