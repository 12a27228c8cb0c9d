#!/bin/sh
# Build the guest module against one kernel build tree, out of the source
# tree so that several kernels can be built side by side.
#
# usage: tools/build-module.sh KDIR [OUTDIR]   prints the path of haywire.ko
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 KDIR [OUTDIR]" >&2; exit 2; }
kdir=$(cd "$1" && pwd)
release=$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")
out=${2:-$top/build/module/$release}

mkdir -p "$out"
# Copy the sources the module is built from (Kbuild lists them).
rm -rf "$out/kmod" "$out/include"
cp -r "$top/kmod" "$top/include" "$out/"
cp "$top/Kbuild" "$out/Kbuild"
# A tree for another architecture is cross-built with Debian's cross gcc.
cross=
if grep -q '^CONFIG_ARM64=y' "$kdir/.config" && [ "$(uname -m)" != aarch64 ]; then
	cross="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"
fi
# A tree of another Debian release names tools this machine lacks.
cross="$cross $("$top/tools/kbuild-overrides.sh" "$kdir" "$(echo "$cross" | sed -n 's/.*CROSS_COMPILE=//p')")"
log=$out/build.log
# shellcheck disable=SC2086
if ! make -C "$kdir" M="$out" $cross modules > "$log" 2>&1; then
	cat "$log" >&2
	echo "build-module: build against $kdir failed (log: $log)" >&2
	exit 1
fi
# Warnings are errors for our own sources.
if grep -E '(warning|error):' "$log" | grep -v -e 'Skipping BTF generation' -e 'pahole version differs' >&2; then
	echo "build-module: warnings building against $kdir (log: $log)" >&2
	exit 1
fi
echo "$out/haywire.ko"
