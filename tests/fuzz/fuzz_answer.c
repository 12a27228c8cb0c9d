// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness over the request client's answer path: the input is a
 * request and the guest's answer to it, as a sequence of response chunks
 * (header and data, as they would be copied out of a response slot). Every
 * chunk goes through the validation the client runs (hwi_answer_chunk),
 * a complete process detail through hwi_decode_detail, and whatever is
 * accepted is formatted as text and JSON, as the haywire command would.
 *
 * Each chunk answers the question the client would ask at that point
 * (hwi_answer_question, cursor and window included) and is checked against
 * it, echo first (1.2).
 *
 * Input: type (1 byte), pid (4), addr (8), len (8), flags (1), then chunks:
 * a 128-byte struct hw_response followed by min(data_len, rest, 32640)
 * bytes. Flags: bit 0, the echo is taken as given (else the harness fills
 * it in from the question, so that the paths behind it are reached); bit
 * 1, a TRANSLATE continued after a chunk starts a new window (as the
 * client does after WINDOW_RUNS runs); bits 2-3, the guest page size
 * (4, 16, 64 KiB, 4 KiB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/beacon/beacon.h"
#include "output.h"

#define READ_MAX (1u << 20)
#define RUNS_MAX 4096
#define NONCE 0x1122334455667788ULL

static FILE *sink;
static struct haywire_xlate_run runs[RUNS_MAX];
static size_t nruns;

static int keep_run(void *arg, const struct haywire_xlate_run *run)
{
	(void)arg;
	if (nruns == RUNS_MAX)
		return 1;
	runs[nruns++] = *run;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct haywire_gpa_map map = {
		1, { { 0, 1ULL << 32, 0 } } };
	struct haywire_error err;
	struct hwi_answer a;
	unsigned char *dst = NULL;
	static const uint64_t pages[4] = { 4096, 16384, 65536, 4096 };
	uint64_t addr, len, cursor = 0;
	uint32_t type;
	int32_t pid;
	uint8_t flags;
	size_t at = 22;
	int rc = 0;
	bool more = true;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size < at)
		return 0;
	type = data[0] % 9;
	memcpy(&pid, data + 1, 4);
	memcpy(&addr, data + 5, 8);
	memcpy(&len, data + 13, 8);
	flags = data[21];
	if (type == HW_REQ_READ) {
		len = len % READ_MAX + 1;
		dst = malloc(len);
		if (!dst)
			return 0;
	}
	hwi_answer_init(&a, type, pid, 0, addr, len);
	a.page = pages[(flags >> 2) & 3];
	a.dst = dst;
	a.fn = keep_run;
	nruns = 0;
	while (!rc && more && size - at >= sizeof(struct hw_response)) {
		struct hw_response h;
		struct hw_request q;
		size_t n;

		memset(&q, 0, sizeof(q));
		hwi_answer_question(&a, cursor, &q);
		q.nonce = NONCE;
		memcpy(&h, data + at, sizeof(h));
		at += sizeof(h);
		if (!(flags & 1)) {
			h.type = q.type;
			h.pid = q.pid;
			h.arg = q.arg;
			h.addr = q.addr;
			h.len = q.len;
			h.cursor_asked = q.cursor;
			h.nonce = q.nonce;
		}
		/* The client copies at most a slot's worth of data. */
		if (h.data_len > HW_RESPONSE_DATA_MAX)
			break;
		n = size - at < h.data_len ? size - at : h.data_len;
		h.data_len = (uint32_t)n;
		rc = hwi_answer_chunk(&a, &q, &h, data + at, &cursor, &err);
		at += n;
		more = cursor != 0;
		if (!rc && more && type == HW_REQ_TRANSLATE && (flags & 2)) {
			/* The slot is given up: runs delivered, the rest asked
			 * for afresh. */
			hwi_answer_deliver(&a);
			hwi_answer_new_window(&a);
			cursor = 0;
		}
		if (a.fn_rc)
			break;
	}
	hwi_answer_deliver(&a);
	if (!rc && !more) {
		struct translate_result t = {
			.source = "beacon", .pid = pid, .via_guest = true,
			.addr = addr, .len = len, .runs = runs,
			.count = nruns, .map = &map,
		};
		struct haywire_detail *d;

		switch (type) {
		case HW_REQ_TRANSLATE:
			print_translate(sink, &t);
			print_json_translate(sink, &t);
			break;
		case HW_REQ_READ:
			print_hexdump(sink, addr, dst, (size_t)len);
			print_json(sink, json_read("beacon", pid, true, addr,
						   dst, (size_t)len));
			break;
		case HW_REQ_PROC_DETAIL:
			if (!hwi_decode_detail(a.buf, a.buf_len, pid, &d,
					       &err)) {
				print_detail(sink, d);
				print_json(sink, json_detail(d));
				haywire_detail_free(d);
			}
			break;
		}
	}
	hwi_answer_release(&a);
	free(dst);
	return 0;
}
