#!/bin/sh
# Fetch Debian kernel packages (image, headers, kbuild) for the kernels under
# test and unpack them into the project-local cache. Never touches /boot or
# /lib/modules. Prints one cache directory per kernel:
#
#   DIR/release   kernel release string (uname -r)
#   DIR/vmlinuz   the kernel image
#   DIR/kdir      the kernel build tree (for make -C DIR/kdir M=...)
#   DIR/root      the unpacked packages
#
# usage: tools/fetch-kernels.sh SPEC...
#   SPEC is a kernel series, optionally with an architecture suffix
#   (6.1-arm64); the flavour is "cloud". 5.10 comes from bullseye-security,
#   6.1 from this machine's release (bookworm), 6.12 from its backports; any
#   other series from the first of trixie-backports, sid, trixie whose
#   linux-image-cloud-ARCH is that series (the newest Debian kernel: 7.3 in
#   trixie-backports when this was written).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
apt="$top/tools/apt-local.sh"
# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# The first suite of the newer releases whose cloud kernel is series $1.
newest_suite() {
	for s in trixie-backports sid trixie; do
		v=$("$apt" apt-cache -o APT::Architecture="$2" -t "$s" policy "linux-image-cloud-$2" 2>/dev/null |
			awk '/Candidate:/ { print $2; exit }')
		case "$v" in "$1".*) echo "$s"; return 0 ;; esac
	done
}

# The flavour Makefile includes the common tree by absolute path (written
# when the kernel was unpacked, below). A cache reached by another path since
# (shared through a link, copied, its first worktree gone) would name a tree
# that is not there: point it at this copy again.
repoint() {
	inc=$(sed -n 's/^include //p' "$1/kdir/Makefile" | head -n 1)
	[ -z "$inc" ] || [ -f "$inc" ] && return 0
	phys=$(cd "$1" && pwd -P)
	sed -i "s#[^ =]*/root/usr/src/#$phys/root/usr/src/#g" "$1/kdir/Makefile"
	echo "fetch-kernels: $1/kdir/Makefile named $inc, now this cache's copy" >&2
}

fetch_one() {
	spec=$1
	series=${spec%%-*}
	arch=amd64
	case "$spec" in *-*) arch=${spec#*-} ;; esac
	case "$series" in
	6.1) suite=$codename ;;
	6.12) suite=$codename-backports ;;
	5.10) suite=bullseye-security ;;
	*) suite= ;;
	esac
	out=$cache/kernels/$spec
	if [ -f "$out/.done" ]; then
		repoint "$out"
		echo "$out"
		return 0
	fi
	"$apt" apt-cache policy >/dev/null # (re)writes the sources when the suites changed
	[ -f "$cache/apt/.updated" ] || { "$apt" update && touch "$cache/apt/.updated"; }
	[ -n "$suite" ] || suite=$(newest_suite "$series" "$arch")
	[ -n "$suite" ] || {
		echo "fetch-kernels: no suite carries linux-image-cloud-$arch $series.*" >&2
		return 1
	}

	meta_image=linux-image-cloud-$arch
	image=$("$apt" apt-cache -o APT::Architecture="$arch" -t "$suite" depends "$meta_image" 2>/dev/null |
		awk '/Depends: linux-image-/ { print $2; exit }')
	[ -n "$image" ] || { echo "fetch-kernels: cannot resolve $meta_image in $suite" >&2; return 1; }
	release=${image#linux-image-}
	headers=linux-headers-$release
	extra=$("$apt" apt-cache -o APT::Architecture="$arch" -t "$suite" depends "$headers" 2>/dev/null |
		awk '/Depends: linux-(headers|kbuild)-/ { print $2 }' | sort -u)

	# Newer releases (trixie's backports) split the image: the kernel,
	# modules and config live in these packages, linux-image-* is empty.
	for p in "linux-binary-$release" "linux-modules-$release" "linux-base-$release"; do
		"$apt" apt-cache -o APT::Architecture="$arch" -t "$suite" show "$p:$arch" \
			>/dev/null 2>&1 && extra=$(printf '%s\n%s' "$extra" "$p")
	done

	rm -rf "$out"
	mkdir -p "$out/debs" "$out/root"
	(
		cd "$out/debs"
		for p in "$image" "$headers" $extra; do
			case "$p" in *:*) ;; *) p="$p:$arch" ;; esac
			"$apt" apt-get -q -o APT::Architecture="$arch" -t "$suite" download "$p" >/dev/null
		done
		# The kbuild helpers must run on this machine: use the native ones.
		if [ "$arch" != "$(dpkg --print-architecture)" ]; then
			rm -f linux-kbuild-*
			kb=$(echo "$extra" | grep '^linux-kbuild-' | head -n 1)
			"$apt" apt-get -q -t "$suite" download "$kb" >/dev/null
		fi
	)
	for deb in "$out"/debs/*.deb; do
		dpkg-deb -x "$deb" "$out/root"
	done

	kdir=$out/root/usr/src/linux-headers-$release
	# The flavour Makefile includes the common tree by absolute path; point it
	# at the local copy.
	# (physical path: .cache may be a link shared by several worktrees).
	sed -i "s#/usr/src/#$(cd "$out" && pwd -P)/root/usr/src/#g" "$kdir/Makefile"
	"$top/tools/bridge-libc.sh" "$out" "$suite"
	echo "$release" > "$out/release"
	vmlinuz=boot/vmlinuz-$release
	[ -f "$out/root/$vmlinuz" ] || vmlinuz=usr/lib/modules/$release/vmlinuz
	ln -sfn "root/$vmlinuz" "$out/vmlinuz"
	ln -sfn "root/usr/src/linux-headers-$release" "$out/kdir"
	rm -rf "$out/debs"
	touch "$out/.done"
	echo "$out"
}

[ $# -gt 0 ] || { echo "usage: $0 SPEC... (e.g. 5.10 6.1 6.12 7.3 6.1-arm64)" >&2; exit 2; }
for s in "$@"; do
	fetch_one "$s"
done
