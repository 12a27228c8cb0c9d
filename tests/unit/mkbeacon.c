// SPDX-License-Identifier: MIT
/* mkbeacon: write a synthetic guest RAM file with a beacon (fixture.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static const char usage[] =
	"usage: mkbeacon --out FILE [options]\n"
	"  --size N          RAM file size (K, M, G suffixes; default 64M)\n"
	"  --machine M       q35 (default), pc or virt (arm64)\n"
	"  --index-offset N  file offset of the index (default: the middle)\n"
	"  --extents N       beacon extents (default 1)\n"
	"  --scatter         leave a gap after every extent\n"
	"  --procs N         processes (default 8)\n"
	"  --kthreads N      kernel threads besides kthreadd (default 2)\n"
	"  --vmas N          VMAs per user process (default 8)\n"
	"  --nonce N --generation N --interval-ms N --age-ms N\n"
	"  --proc-stride N --vma-stride N   record entry sizes\n"
	"  --weird-names --truncated --mm-busy --no-stats --gone --junk\n"
	"  --rings           request and response areas\n"
	"  --cameras N       camera sections, N cameras on (0..4)\n"
	"  --guest           1.3 guest and per-CPU sections\n"
	"  --events N        1.3 event ring of N records\n"
	"  --events-written N  events 1 .. N written into it\n"
	"  --set FIELD=VALUE index field (magic, sections[0].count ...),\n"
	"                    proc[I].F, vma[I].F, stats.F, strbyte[I],\n"
	"                    camera[I].F, cvma[I].F or run[I].F\n"
	"  --keep            keep the file's contents (add a second beacon)\n"
	"  --trim            cut the file right after the beacon data\n"
	"  --print           print the layout\n";

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "out", 1, NULL, 'o' }, { "size", 1, NULL, 's' },
		{ "machine", 1, NULL, 'm' }, { "index-offset", 1, NULL, 'i' },
		{ "extents", 1, NULL, 'e' }, { "scatter", 0, NULL, 'S' },
		{ "procs", 1, NULL, 'p' }, { "kthreads", 1, NULL, 'k' },
		{ "vmas", 1, NULL, 'v' }, { "nonce", 1, NULL, 'n' },
		{ "generation", 1, NULL, 'g' }, { "interval-ms", 1, NULL, 'I' },
		{ "age-ms", 1, NULL, 'a' }, { "proc-stride", 1, NULL, 'P' },
		{ "vma-stride", 1, NULL, 'V' }, { "weird-names", 0, NULL, 'w' },
		{ "truncated", 0, NULL, 't' }, { "mm-busy", 0, NULL, 'b' },
		{ "no-stats", 0, NULL, 'N' }, { "gone", 0, NULL, 'G' },
		{ "junk", 0, NULL, 'j' }, { "set", 1, NULL, 'x' },
		{ "keep", 0, NULL, 'K' }, { "trim", 0, NULL, 'T' },
		{ "print", 0, NULL, 'r' }, { "help", 0, NULL, 'h' },
		{ "rings", 0, NULL, 'R' }, { "cameras", 1, NULL, 'C' },
		{ "guest", 0, NULL, 'u' }, { "events", 1, NULL, 'E' },
		{ "events-written", 1, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	struct fixture f;
	struct fixture_layout lay;
	const char *out = NULL;
	bool keep = false, trim = false, print = false;
	char msg[256];
	int opt, fd;

	fixture_defaults(&f);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 's': f.size = fixture_number("mkbeacon", optarg); break;
		case 'm': f.machine = optarg; break;
		case 'i': f.index_offset = fixture_number("mkbeacon", optarg); break;
		case 'e': f.extents = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'S': f.scatter = true; break;
		case 'p': f.procs = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'k': f.kthreads = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'v': f.vmas = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'n': f.nonce = fixture_number("mkbeacon", optarg); break;
		case 'g': f.generation = fixture_number("mkbeacon", optarg); break;
		case 'I': f.interval_ms = (uint32_t)fixture_number("mkbeacon", optarg); break;
		case 'a': f.age_ms = (int64_t)fixture_number("mkbeacon", optarg); break;
		case 'P': f.proc_stride = (uint32_t)fixture_number("mkbeacon", optarg); break;
		case 'V': f.vma_stride = (uint32_t)fixture_number("mkbeacon", optarg); break;
		case 'w': f.weird_names = true; break;
		case 't': f.truncated = true; break;
		case 'b': f.mm_busy = true; break;
		case 'N': f.no_stats = true; break;
		case 'G': f.gone = true; break;
		case 'j': f.junk = true; break;
		case 'R': f.rings = true; break;
		case 'C': f.cameras = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'u': f.guest = true; break;
		case 'E': f.event_slots = (unsigned int)fixture_number("mkbeacon", optarg); break;
		case 'W': f.events_written = fixture_number("mkbeacon", optarg); break;
		case 'x':
			if (f.nsets == FIXTURE_MAX_SETS) {
				fprintf(stderr, "mkbeacon: too many --set\n");
				return 2;
			}
			f.sets[f.nsets++] = optarg;
			break;
		case 'K': keep = true; break;
		case 'T': trim = true; break;
		case 'r': print = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!out || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	fd = open(out, O_RDWR | O_CREAT | (keep ? 0 : O_TRUNC), 0644);
	if (fd < 0) {
		fprintf(stderr, "mkbeacon: %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (fixture_write(&f, fd, &lay, msg, sizeof(msg))) {
		fprintf(stderr, "mkbeacon: %s\n", msg);
		close(fd);
		return 1;
	}
	if (trim && ftruncate(fd, (off_t)(lay.index_offset + lay.used)) < 0) {
		fprintf(stderr, "mkbeacon: %s: %s\n", out, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (print)
		printf("index_offset=0x%" PRIx64 " self_gpa=0x%" PRIx64
		       " extents=%u extent_size=0x%" PRIx64 " logical_size=0x%"
		       PRIx64 " used=0x%" PRIx64 " vmas=%" PRIu64
		       " string_bytes=%" PRIu64 " nonce=0x%" PRIx64 "\n",
		       lay.index_offset, lay.self_gpa, lay.extent_count,
		       lay.extent_size, lay.logical_size, lay.used, lay.nvmas,
		       lay.string_bytes, f.nonce);
	return 0;
}
