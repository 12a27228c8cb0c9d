#!/bin/sh
# Build the guest test programs (tests/guest/*.c) as static binaries:
# tests/guest/truth.c -> build/guest/hw-truth, and so on. Prints their paths.
#
# usage: tests/vm/build-guest.sh [OUTDIR]
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/guest}
mkdir -p "$out"
json_cflags=$(pkg-config --cflags json-c)
for src in "$top"/tests/guest/*.c; do
	name=hw-$(basename "$src" .c)
	# shellcheck disable=SC2086
	gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		$json_cflags -o "$out/$name.tmp" "$src" -ljson-c -lpthread
	mv "$out/$name.tmp" "$out/$name"
	echo "$out/$name"
done
