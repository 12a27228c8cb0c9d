#!/bin/sh
# Build the guest test programs (tests/guest/*.c) as static binaries:
# tests/guest/truth.c -> OUTDIR/hw-truth, and so on, and the kselftests
# (tests/kselftest/params.c -> OUTDIR/hw-kselftest-params). Prints their
# paths.
#
# usage: tests/vm/build-guest.sh [-a ARCH] [OUTDIR]
#   ARCH is amd64 (the default; OUTDIR defaults to build/guest) or arm64
#   (OUTDIR defaults to build/guest-arm64). arm64 programs are cross-built
#   with Debian's aarch64-linux-gnu-gcc against Debian's arm64 libjson-c-dev,
#   downloaded (not installed) with tools/apt-local.sh and unpacked into the
#   project cache.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
arch=amd64
if [ "${1:-}" = -a ]; then
	[ $# -ge 2 ] || { echo "usage: $0 [-a ARCH] [OUTDIR]" >&2; exit 2; }
	arch=$2
	shift 2
fi

# Unpack Debian's arm64 json-c (headers, static library, pkg-config file)
# into $cache/json-c-arm64 once; prints that directory.
arm64_json_c() {
	dir=$cache/json-c-arm64
	if [ ! -f "$dir/.done" ]; then
		[ -f "$cache/apt/.updated" ] ||
			{ "$top/tools/apt-local.sh" update && touch "$cache/apt/.updated"; }
		tmp=$(mktemp -d "$cache/json-c-arm64.XXXXXX")
		(cd "$tmp" && "$top/tools/apt-local.sh" apt-get -q download \
			libjson-c-dev:arm64 libjson-c5:arm64 >/dev/null)
		for deb in "$tmp"/*.deb; do
			dpkg-deb -x "$deb" "$tmp/root"
		done
		touch "$tmp/root/.done"
		# Another build may have got there first: keep its complete copy.
		if ! mv -T "$tmp/root" "$dir" 2>/dev/null && [ ! -f "$dir/.done" ]; then
			rm -rf "$dir"
			mv -T "$tmp/root" "$dir"
		fi
		rm -rf "$tmp"
	fi
	echo "$dir"
}

case "$arch" in
amd64)
	out=${1:-$top/build/guest}
	cc=gcc
	json=$(pkg-config --cflags --libs json-c)
	;;
arm64)
	out=${1:-$top/build/guest-arm64}
	cc=aarch64-linux-gnu-gcc
	jc=$(arm64_json_c)
	json=$(PKG_CONFIG_LIBDIR=$jc/usr/lib/aarch64-linux-gnu/pkgconfig \
		PKG_CONFIG_SYSROOT_DIR=$jc pkg-config --cflags --libs json-c)
	;;
*)
	echo "build-guest: unknown architecture '$arch' (want amd64 or arm64)" >&2
	exit 2
	;;
esac

mkdir -p "$out"
for src in "$top"/tests/guest/*.c; do
	name=hw-$(basename "$src" .c)
	# shellcheck disable=SC2086
	$cc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-o "$out/$name.tmp.$$" "$src" $json -lpthread
	mv "$out/$name.tmp.$$" "$out/$name"
	echo "$out/$name"
done
# The in-guest kselftests (tests/kselftest/*.c -> hw-kselftest-NAME), built
# with the kernel's own harness from Debian's linux-source (fetched once,
# tools/build-debug-kernel.sh --source-only); the harness's macros leave
# parameters unused, as the kernel's selftests build allows.
ksrc=$("$top/tools/build-debug-kernel.sh" --source-only)
for src in "$top"/tests/kselftest/*.c; do
	name=hw-kselftest-$(basename "$src" .c)
	$cc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-Wno-unused-parameter -I"$ksrc/tools/testing/selftests" \
		-I"$top/include" \
		-o "$out/$name.tmp.$$" "$src"
	mv "$out/$name.tmp.$$" "$out/$name"
	echo "$out/$name"
done
