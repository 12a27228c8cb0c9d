// SPDX-License-Identifier: MIT
/*
 * A program built only from the installed libhaywire: header, pkg-config
 * file and shared object. It lists a RAM file's processes as "PID COMM".
 */
#include <haywire.h>
#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct haywire_error err = { 0 };
	struct haywire_opts opts = { 0 };
	struct haywire_procs *procs;
	struct haywire_beacon *beacon;
	struct haywire_mem *mem;
	size_t i;

	if (argc != 2) {
		fputs("usage: consumer RAMFILE\n", stderr);
		return 2;
	}
	mem = haywire_mem_open(argv[1], &err);
	if (!mem)
		goto fail;
	beacon = haywire_discover(mem, &opts, &err);
	if (!beacon)
		goto fail;
	if (haywire_read_procs(beacon, &procs, &err))
		goto fail;
	printf("protocol %u.%u, %zu processes\n", procs->info.version_major,
	       procs->info.version_minor, procs->count);
	for (i = 0; i < procs->count; i++)
		printf("%" PRId32 " %s\n", procs->procs[i].pid,
		       procs->procs[i].comm);
	haywire_procs_free(procs);
	haywire_beacon_free(beacon);
	haywire_mem_close(mem);
	return 0;
fail:
	fprintf(stderr, "consumer: %s\n", err.msg);
	return 1;
}
