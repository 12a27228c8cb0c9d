#!/bin/sh
# make bench: performance figures on real guests, one per line.
#
# tests/vm/realbench.py boots the Debian 6.1 kernel on a q35 4 GiB guest
# with ~1,000 processes and the maps workload, loads the module, and prints
# the module's refresh cost (medians over ~10 generations) and the host's
# costs on the real RAM file. tools/bench-rings.py then prints the request
# rings' round trips and the host-side translation and read figures on a
# 3 GiB guest. tools/bench-hostile.sh prints the hostile-guest figures
# (discovery under floods, giant tables, ps before and after issue 8) on
# synthetic RAM files. No assertions on timings.
#
#   HAYWIRE_BENCH_KERNEL=6.1  HAYWIRE_BENCH_PROCS=1000
set -e
/usr/bin/python3 "$(dirname "$0")/../tests/vm/realbench.py" "$@"
/usr/bin/python3 "$(dirname "$0")/bench-hostile.py"
exec /usr/bin/python3 "$(dirname "$0")/bench-rings.py"
