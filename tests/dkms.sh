#!/bin/sh
# The DKMS packaging builds the module for every kernel under test, the way a
# guest's dkms would, in a private DKMS tree (nothing on this machine is
# touched).
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree"

src=$(tools/dkms-install.sh --source-only "$tmp/src")
version=${src##*/haywire-}
for k in ${HAYWIRE_KERNELS:-6.1 6.12}; do
	kc=$(tools/fetch-kernels.sh "$k")
	release=$(cat "$kc/release")
	if ! dkms build -m haywire -v "$version" -k "$release" \
		--dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
		--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/log" 2>&1; then
		cat "$tmp/log"
		echo "dkms build failed for $release"
		exit 1
	fi
	ko=$(find "$tmp/tree/haywire/$version/$release" -name 'haywire.ko*' | head -n 1)
	[ -n "$ko" ] || { cat "$tmp/log"; echo "dkms produced no module for $release"; exit 1; }
	magic=$(modinfo -F vermagic "$ko")
	case "$magic" in
	"$release "*) echo "dkms built $ko ($magic)" ;;
	*) echo "wrong vermagic '$magic' for $release"; exit 1 ;;
	esac
done
