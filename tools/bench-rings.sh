#!/bin/sh
# Request-ring and process-memory figures on a real guest: see
# tools/bench-rings.py. No assertions on timings.
#
#   HAYWIRE_BENCH_KERNELS="6.1 6.1-arm64"
exec /usr/bin/python3 "$(dirname "$0")/bench-rings.py" "$@"
