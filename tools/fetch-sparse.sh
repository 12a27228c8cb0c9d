#!/bin/sh
# Fetch a sparse new enough for the newest kernel of the matrix (7.3's
# headers use __typeof_unqual__, which bookworm's sparse 0.6.4 cannot parse)
# from sid into the project-local cache, unpacked, not installed, bridged to
# sid's C library if it needs a newer one (tools/bridge-libc.sh). Prints the
# path of the sparse program.
#
# usage: tools/fetch-sparse.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
apt="$top/tools/apt-local.sh"
suite=sid
out=$cache/sparse-$suite

if [ ! -f "$out/.done" ]; then
	rm -rf "$out"
	mkdir -p "$out/debs" "$out/root"
	(cd "$out/debs" && "$apt" apt-get -q -t "$suite" download sparse >/dev/null)
	dpkg-deb -x "$out"/debs/sparse_*.deb "$out/root"
	rm -rf "$out/debs"
	"$top/tools/bridge-libc.sh" "$out" "$suite"
	touch "$out/.done"
fi
echo "$out/root/usr/bin/sparse"
