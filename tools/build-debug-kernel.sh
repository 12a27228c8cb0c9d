#!/bin/sh
# Build (or reuse) the debug kernel the module's VM suite runs on in
# `make check-debug`: Debian's linux-source-6.1 (the same version as the 6.1
# cloud kernel under test), configured from the cloud kernel's own config with
# every module dropped, the drivers and subsystems a QEMU test guest does not
# use turned off, what the guest needs built in, and the kernel's checkers
# on: lockdep (PROVE_LOCKING), PROVE_RCU, DEBUG_ATOMIC_SLEEP, generic KASAN,
# DEBUG_OBJECTS (RCU heads, timers, work, free), DEBUG_VM.
#
# The result is cached under $HAYWIRE_CACHE/debug-kernel/<hash>, the hash
# being over the source package version and the final .config, and has the
# layout tools/fetch-kernels.sh gives the Debian kernels (release, vmlinuz,
# kdir for make -C KDIR M=..., root/lib/modules/RELEASE); its path is the last
# line printed. No debug information, to build faster (so no BTF: the
# agentless tests skip this kernel); a build takes about 16 minutes on
# 2 shared cores (nice -n 10); this is why it is not part of `make check`.
#
# usage: tools/build-debug-kernel.sh [--config-only | --source-only]
#   --config-only  print the cache directory the current config maps to,
#                  without building
#   --source-only  print the unpacked linux-source tree (fetched once), for
#                  make lint's checkpatch.pl and the kselftest headers
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
apt="$top/tools/apt-local.sh"
base=$cache/debug-kernel
jobs=${HAYWIRE_JOBS:-$(nproc)}
config_only=
[ "${1:-}" = --config-only ] && config_only=1
source_only=
[ "${1:-}" = --source-only ] && source_only=1

say() { echo "build-debug-kernel: $*" >&2; }

# The packages a kernel build needs beyond `make deps` (only here, so that
# plain `make check` stays lean).
need_pkgs() {
	missing=
	for p in bc bison flex libssl-dev libelf-dev cpio xz-utils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing$missing"
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# The cloud kernel this one mirrors: its config, and its upstream version
# (from the config's header), which picks the linux-source-6.1 package
# version (the newest Debian revision of that upstream version).
kc=$("$top/tools/fetch-kernels.sh" 6.1 | tail -n 1)
release=$(cat "$kc/release")
cloud_config=$kc/root/boot/config-$release
upstream=$(sed -n 's/^# Linux\/[^ ]* \([0-9][0-9.]*\) Kernel Configuration$/\1/p' "$cloud_config")
[ -n "$upstream" ] || { say "no kernel version in the header of $cloud_config"; exit 1; }
version=$("$apt" apt-cache show linux-source-6.1 2>/dev/null |
	awk -v u="$upstream" '$1 == "Version:" && index($2, u "-") == 1 { print $2 }' |
	sort -V | tail -n 1)
[ -n "$version" ] || { say "no linux-source-6.1 of version $upstream-* in the archive index"; exit 1; }

# One build at a time (the tests of several checkouts may share the cache).
mkdir -p "$base"
exec 9> "$base/.lock"
flock 9

# The source, unpacked once per version.
src=$base/src/$version
if [ ! -f "$src/.done" ]; then
	need_pkgs
	say "fetching linux-source-6.1=$version"
	tmp=$(mktemp -d "$base/.fetch.XXXXXX")
	(cd "$tmp" && "$apt" apt-get -q download "linux-source-6.1=$version" >/dev/null)
	dpkg-deb -x "$tmp"/linux-source-6.1_*.deb "$tmp/x"
	rm -rf "$src"
	mkdir -p "$src"
	tar -C "$src" --strip-components=1 -xaf "$tmp"/x/usr/src/linux-source-6.1.tar.xz
	rm -rf "$tmp"
	touch "$src/.done"
fi
[ -z "$source_only" ] || { echo "$src"; exit 0; }

# The config: the cloud kernel's, trimmed, with the checkers on.
cfgdir=$(mktemp -d)
trap 'rm -rf "$cfgdir"' EXIT
# No modules at all: what the guest needs is switched on built in below.
sed -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=m$/# \1 is not set/' "$cloud_config" > "$cfgdir/.config"
cfg() { "$src/scripts/config" --file "$cfgdir/.config" "$@"; }
cfg --set-str LOCALVERSION "-haywire-debug" -d LOCALVERSION_AUTO \
	--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS "" \
	-d MODULE_SIG -d MODULE_SIG_ALL -d MODULE_SIG_FORCE \
	-d DEBUG_INFO -d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -d DEBUG_INFO_DWARF4 \
	-d DEBUG_INFO_DWARF5 -e DEBUG_INFO_NONE -d DEBUG_INFO_BTF \
	-d NET -d XEN -d HYPERV -d HIBERNATION -d SUSPEND -d PM_SLEEP \
	-d SECURITY_SELINUX -d SECURITY_APPARMOR -d SECURITY_TOMOYO \
	-d SECURITY_LANDLOCK -d SECURITY_LOCKDOWN_LSM -d AUDIT -d IMA -d EVM \
	-d EXT4_FS -d JBD2 -d BLK_DEV_NVME -d NVME_CORE -d MD -d BLK_DEV_DM \
	-d DRM -d FB -d SOUND -d USB_SUPPORT -d WLAN -d INFINIBAND -d ISCSI_TCP \
	-d KVM -d VIRTUALIZATION -d HW_RANDOM_INTEL -d HW_RANDOM_AMD \
	-d PCCARD -d FIREWIRE -d NFC -d BT -d CAN -d MTD -d STAGING -d IKHEADERS \
	-d MICROCODE -d X86_MCE -d PERF_EVENTS_INTEL_UNCORE -d EFI \
	-e VIRTIO -e VIRTIO_MENU -e VIRTIO_PCI -e VIRTIO_PCI_LEGACY \
	-e VIRTIO_CONSOLE -e HW_RANDOM -e HW_RANDOM_VIRTIO \
	-e FUSE_FS -e USERFAULTFD -e DEVTMPFS -e TMPFS -e BLK_DEV_INITRD \
	-e RD_GZIP -e SERIAL_8250 -e SERIAL_8250_CONSOLE \
	-e KASAN -e KASAN_GENERIC -e KASAN_INLINE \
	-e DEBUG_KERNEL -e LOCKDEP -e PROVE_LOCKING -e DEBUG_LOCK_ALLOC \
	-e DEBUG_SPINLOCK -e DEBUG_MUTEXES -e DEBUG_RWSEMS -e PROVE_RCU \
	-e DEBUG_ATOMIC_SLEEP -e DEBUG_VM \
	-e DEBUG_OBJECTS -e DEBUG_OBJECTS_FREE -e DEBUG_OBJECTS_TIMERS \
	-e DEBUG_OBJECTS_WORK -e DEBUG_OBJECTS_RCU_HEAD \
	-e DEBUG_OBJECTS_PERCPU_COUNTER --set-val DEBUG_OBJECTS_ENABLE_DEFAULT 1
make -s -C "$src" O="$cfgdir" olddefconfig >/dev/null
# What olddefconfig must not have undone.
for opt in KASAN KASAN_GENERIC PROVE_LOCKING PROVE_RCU DEBUG_ATOMIC_SLEEP \
	DEBUG_OBJECTS DEBUG_OBJECTS_RCU_HEAD DEBUG_OBJECTS_TIMERS DEBUG_OBJECTS_WORK \
	DEBUG_VM VIRTIO_PCI VIRTIO_CONSOLE HW_RANDOM_VIRTIO FUSE_FS USERFAULTFD \
	DEVTMPFS BLK_DEV_INITRD SERIAL_8250_CONSOLE; do
	grep -qx "CONFIG_$opt=y" "$cfgdir/.config" || { say "CONFIG_$opt did not stick"; exit 1; }
done
hash=$( (echo "linux-source-6.1 $version"; cat "$cfgdir/.config") | sha256sum | cut -c1-16)
out=$base/$hash
if [ -n "$config_only" ]; then
	echo "$out"
	exit 0
fi
if [ -f "$out/.done" ]; then
	say "cached: $(cat "$out/release"), built in $(cat "$out/build-seconds") s"
	echo "$out"
	exit 0
fi

need_pkgs
say "building linux-source-6.1 $version in $out/build ($jobs jobs, nice 10; log: $out/build.log)"
rm -rf "$out"
mkdir -p "$out/build"
cp "$cfgdir/.config" "$out/build/.config"
start=$(date +%s)
if ! nice -n 10 make -C "$src" O="$out/build" -j"$jobs" all > "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	say "build failed (log: $out/build.log)"
	exit 1
fi
secs=$(($(date +%s) - start))
krel=$(cat "$out/build/include/config/kernel.release")
mkdir -p "$out/root/lib/modules/$krel/kernel"
if grep -q '=m$' "$out/build/.config"; then
	make -s -C "$src" O="$out/build" INSTALL_MOD_PATH="$out/root" modules_install >&2
fi
echo "$krel" > "$out/release"
echo "$secs" > "$out/build-seconds"
ln -sfn build/arch/x86/boot/bzImage "$out/vmlinuz"
ln -sfn build "$out/kdir"
touch "$out/.done"
say "built $krel in $((secs / 60)) min $((secs % 60)) s"
echo "$out"
