#!/bin/sh
# Install the Haywire module source for DKMS, so that the module is rebuilt
# for every kernel the guest installs. Run inside the guest, as root.
#
# usage: tools/dkms-install.sh [--source-only] [SRCROOT]
#   --source-only  only lay out SRCROOT/haywire-<version> (default /usr/src);
#                  do not call dkms (used by the tests)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
only=
[ "${1:-}" = "--source-only" ] && { only=1; shift; }
srcroot=${1:-/usr/src}
version=$(sed -n 's/^MODULE_VERSION("\(.*\)");/\1/p' "$top/kmod/main.c")
[ -n "$version" ] || { echo "dkms-install: no MODULE_VERSION in kmod/main.c" >&2; exit 1; }

dest=$srcroot/haywire-$version
rm -rf "$dest"
mkdir -p "$dest"
cp -r "$top/Kbuild" "$top/kmod" "$top/include" "$dest/"
sed "s/@VERSION@/$version/" "$top/dkms/dkms.conf" > "$dest/dkms.conf"
find "$dest" \( -name '*.o' -o -name '.*.cmd' -o -name '*.ko' \) -delete
[ -n "$only" ] && { echo "$dest"; exit 0; }

dkms add -m haywire -v "$version"
dkms build -m haywire -v "$version"
dkms install -m haywire -v "$version"
echo "haywire $version installed with DKMS; load it with: modprobe haywire"
