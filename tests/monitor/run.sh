#!/bin/sh
# haywire top and haywire exporter on fixture RAM files (no guest booted):
# see tests/monitor/monitor_test.py. The VM part (a real Prometheus
# scraping two live guests) is tests/vm/prom.py.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
make -s host
out=build/monitor
mkdir -p "$out"
cflags="-O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Ihost
	-Ihost/cli -Itests/unit $(pkg-config --cflags json-c)"
# shellcheck disable=SC2086,SC2046 # word lists: flags and libraries
cc $cflags -o "$out/mkbeacon" tests/unit/mkbeacon.c tests/unit/fixture.c \
	build/host/cli/output.o build/libhaywire.a \
	$(pkg-config --libs json-c) $(tools/host-libs.sh)
exec /usr/bin/python3 tests/monitor/monitor_test.py
