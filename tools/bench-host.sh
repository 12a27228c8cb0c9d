#!/bin/sh
# Host-side figures: build build/bench-host and run it (see tools/bench-host.c).
#
#   tools/bench-host.sh [--mem FILE] [--runs N] [--pid PID]
#
# Without --mem (and without $HAYWIRE_MEM) it measures a synthetic 4 GiB q35
# RAM file in /dev/shm with 1,000 processes of 50 VMAs each, and data at
# every 2 MiB offset (the most a discovery scan can have to probe).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s host
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude \
	-Ihost -o build/bench-host tools/bench-host.c build/libhaywire.a

have_mem=${HAYWIRE_MEM:+yes}
for arg in "$@"; do
	case $arg in --mem|--mem=*) have_mem=yes ;; esac
done
if [ -n "$have_mem" ]; then
	exec build/bench-host --haywire build/haywire "$@"
fi

${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o build/bench-mkbeacon \
	tests/unit/mkbeacon.c tests/unit/fixture.c
img=$(mktemp "${HAYWIRE_SHM:-/dev/shm}/haywire-bench.XXXXXX")
trap 'rm -f "$img"' EXIT INT TERM
build/bench-mkbeacon --out "$img" --size 4G --procs 1000 --kthreads 0 \
	--vmas 50 --junk --interval-ms 600000
build/bench-host --mem "$img" --haywire build/haywire "$@"
