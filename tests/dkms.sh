#!/bin/sh
# The DKMS packaging builds the module for every kernel under test, the way a
# guest's dkms would, in a private DKMS tree (nothing on this machine is
# touched): the x86-64 kernels in HAYWIRE_KERNELS (default "6.1 6.12") and
# the arm64 kernels in HAYWIRE_ARM64_KERNELS (default "6.1-arm64
# 6.12-arm64"). An empty list selects none.
#
# arm64 is cross-built: dkms runs the kernel's make, which takes ARCH and
# CROSS_COMPILE from the environment, and then strips the module with plain
# "strip", so a "strip" that is Debian's aarch64 one goes first in PATH.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree" "$tmp/arm64-bin"
ln -s /usr/bin/aarch64-linux-gnu-strip "$tmp/arm64-bin/strip"

src=$(tools/dkms-install.sh --source-only "$tmp/src")
version=${src##*/haywire-}
for k in ${HAYWIRE_KERNELS-6.1 6.12} ${HAYWIRE_ARM64_KERNELS-6.1-arm64 6.12-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k")
	release=$(cat "$kc/release")
	case "$k" in
	*-arm64)
		arch=aarch64 machine=AArch64
		cross="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- PATH=$tmp/arm64-bin:$PATH"
		;;
	*)
		arch=x86_64 machine=X86-64 cross=
		;;
	esac
	# shellcheck disable=SC2086
	if ! env $cross dkms build -m haywire -v "$version" -k "$release" -a "$arch" \
		--dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
		--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/log" 2>&1; then
		cat "$tmp/log"
		echo "dkms build failed for $release"
		exit 1
	fi
	if grep '^strip:' "$tmp/log"; then
		echo "dkms could not strip the module for $release"
		exit 1
	fi
	ko=$(find "$tmp/tree/haywire/$version/$release" -name 'haywire.ko*' | head -n 1)
	[ -n "$ko" ] || { cat "$tmp/log"; echo "dkms produced no module for $release"; exit 1; }
	magic=$(modinfo -F vermagic "$ko")
	case "$magic" in
	"$release "*) ;;
	*) echo "wrong vermagic '$magic' for $release"; exit 1 ;;
	esac
	readelf -h "$ko" | grep -q "Machine:.*$machine" ||
		{ echo "$ko is not an $machine module"; exit 1; }
	echo "dkms built $ko ($magic)"
done
