#!/bin/sh
# make bench: performance figures on a real guest, one per line.
#
# Boots the Debian 6.1 kernel on a q35 4 GiB guest with ~1,000 processes and
# the maps workload, loads the module, and prints the module's refresh cost
# (medians over ~10 generations) and the host's costs on the real RAM file.
# See tests/vm/realbench.py. No assertions on timings.
#
#   HAYWIRE_BENCH_KERNEL=6.1  HAYWIRE_BENCH_PROCS=1000
exec /usr/bin/python3 "$(dirname "$0")/../tests/vm/realbench.py" "$@"
