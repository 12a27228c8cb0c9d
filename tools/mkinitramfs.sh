#!/bin/sh
# Build a busybox initramfs for the test and demo guests.
#
# usage: tools/mkinitramfs.sh OUT.cpio.gz KERNEL_CACHE_DIR FILE...
#   KERNEL_CACHE_DIR is what tools/fetch-kernels.sh printed; the kernel's own
#   virtio console and RNG drivers (and what they depend on) are added when
#   they are modules, for the guest's command channel and entropy. Each FILE is copied into the
#   image: *.ko into /lib/modules, everything else into /bin. The guest's
#   /init is tests/guest/init. busybox comes from Debian's busybox-static
#   package, downloaded (not installed) into the project cache.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
[ $# -ge 2 ] || { echo "usage: $0 OUT.cpio.gz KERNEL_CACHE_DIR FILE..." >&2; exit 2; }
out=$1
kcache=$2
shift 2
release=$(cat "$kcache/release")
case "$release" in
*arm64*) arch=arm64 ;;
*) arch=amd64 ;;
esac

bb=$cache/busybox-$arch/bin/busybox
if [ ! -x "$bb" ]; then
	[ -f "$cache/apt/.updated" ] || { "$top/tools/apt-local.sh" update && touch "$cache/apt/.updated"; }
	tmp=$(mktemp -d)
	(cd "$tmp" && "$top/tools/apt-local.sh" apt-get -q download "busybox-static:$arch" >/dev/null)
	rm -rf "$cache/busybox-$arch"
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$cache/busybox-$arch"
	rm -rf "$tmp"
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/run" "$root/etc" "$root/root" "$root/data"
cp "$bb" "$root/bin/busybox"
cp "$top/tests/guest/init" "$root/init"
chmod 755 "$root/init"
for f in "$@"; do
	case "$f" in
	*.ko) cp "$f" "$root/lib/modules/" ;;
	*) cp "$f" "$root/bin/" ;;
	esac
done
# Kernel modules the guest loads at boot, dependencies first.
# (trixie's packages put them under /usr only)
mods=$kcache/root/lib/modules/$release/kernel
[ -d "$mods" ] || mods=$kcache/root/usr/lib/modules/$release/kernel
: > "$root/etc/boot-modules"
mkdir -p "$root/lib/modules/boot"
add_kmod() {
	# shellcheck disable=SC3043 # dash and busybox sh have local
	local f dep
	grep -qx "$1" "$root/etc/boot-modules" && return 0
	f=$(find "$mods" -name "$1.ko" -o -name "$1.ko.xz" | head -n 1)
	[ -n "$f" ] || return 0		# built in
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_kmod "$dep"
	done
	case "$f" in
	*.xz) xz -dc "$f" > "$root/lib/modules/boot/$1.ko" ;;
	*) cp "$f" "$root/lib/modules/boot/$1.ko" ;;
	esac
	echo "$1" >> "$root/etc/boot-modules"
}
for m in virtio_pci virtio_mmio virtio_console virtio_rng fuse; do
	add_kmod "$m"
done

echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
