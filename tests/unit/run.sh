#!/bin/sh
# Build the host unit tests and the mkbeacon fixture with ASan + UBSan, and
# run every tests/unit/test_*.c. Exits 0 when all pass.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
out=build/unit
mkdir -p "$out/obj"

cc=${CC:-cc}
san="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
	-Wmissing-prototypes -Wvla -Werror -D_GNU_SOURCE -Iinclude -Ihost
	-Ihost/cli -Itests/unit $(pkg-config --cflags json-c) $san -Ikmod"
libs="$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c) $(tools/host-libs.sh)"

# The library, the command's output code and the fixture, once.
objs=
# kmod/publish.c, kmod/strtab.c and kmod/ringproto.c: the module's
# publisher and request ring, as haywire-bpf builds them for user space
# (kmod/shim.h)
for src in host/lib/*.c host/lib/*/*.c host/cli/output.c tests/unit/fixture.c \
	kmod/publish.c kmod/strtab.c kmod/ringproto.c; do
	obj=$out/obj/$(echo "$src" | tr / _).o
	# shellcheck disable=SC2086
	$cc $cflags -c -o "$obj" "$src"
	objs="$objs $obj"
done
# shellcheck disable=SC2086
$cc $cflags -o "$out/mkbeacon" tests/unit/mkbeacon.c $objs $libs

failed=0
for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	# shellcheck disable=SC2086
	$cc $cflags -o "$out/$name" "$src" $objs $libs -lpthread
	echo "# $name"
	if ! "$out/$name"; then
		echo "# $name FAILED"
		failed=$((failed + 1))
	fi
done
[ $failed -eq 0 ] || { echo "# $failed unit test programs failed"; exit 1; }
