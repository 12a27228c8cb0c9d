#!/bin/sh
# A newer Debian release's programs (the kbuild tools fixdep, modpost,
# objtool... of its kernels; its sparse) may need its C library: unpack that
# release's libc6 next to them and point their ELF interpreter and library
# path at it (patchelf), so they run here unchanged. Nothing is installed.
#
# usage: tools/bridge-libc.sh DIR SUITE
#   DIR/root holds the unpacked packages; the libc goes to DIR/libc.
#   Does nothing when this machine's glibc is new enough for them.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
apt="$top/tools/apt-local.sh"
out=$1
suite=$2

have=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
elves=$(find "$out/root" -type f -perm -u+x -exec sh -c \
	'readelf -l "$1" 2>/dev/null | grep -q "program interpreter"' _ {} \; -print)
[ -n "$elves" ] || exit 0
# shellcheck disable=SC2086 # the list of programs
need=$(for f in $elves; do readelf -V "$f"; done | grep -o 'GLIBC_[0-9.]*' |
	sed 's/GLIBC_//' | sort -V | tail -n 1)
[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | tail -n 1)" = "$have" ] && exit 0
mkdir -p "$out/libc"
(cd "$out/libc" && "$apt" apt-get -q -t "$suite" download libc6 >/dev/null) || exit 1
dpkg-deb -x "$out"/libc/libc6_*.deb "$out/libc"
rm -f "$out"/libc/*.deb
libc=$(cd "$out/libc" && pwd -P)
multiarch=$(gcc -print-multiarch)
interp=$(find "$libc" -name 'ld-linux*.so.*' | head -n 1)
for f in $elves; do
	patchelf --set-interpreter "$interp" \
		--set-rpath "$libc/usr/lib/$multiarch:/usr/lib/$multiarch" "$f"
done
echo "bridge-libc: $(basename "$out") needs glibc $need (have $have): runs with $suite's libc6" >&2
