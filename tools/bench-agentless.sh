#!/bin/sh
# The agentless benchmark: one live guest, the same questions through the
# beacon, the RAM file and QMP, medians and ratios (tests/vm/agentbench.py).
#
#   HAYWIRE_BENCH_KERNEL=6.1  HAYWIRE_BENCH_MEM=4G  HAYWIRE_BENCH_PROCS=1000
#   HAYWIRE_BENCH_RUNS=5
exec /usr/bin/python3 "$(dirname "$0")/../tests/vm/agentbench.py" "$@"
