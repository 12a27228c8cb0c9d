#!/bin/sh
# Install the Debian packages Haywire needs to build, test and demo, if they
# are missing. Everything comes from the machine's configured Debian archive.
#
# usage: tools/install-deps.sh [deb]
#   deb  only what make deb needs besides the build dependencies: Debian's
#        packaging tools (make check's tests/deb.sh runs it too)
set -eu

# The arm64 guests need the cross compiler (the module and, with the arm64
# C library, the static guest programs) and the arm64 system emulator.
# The agentless walk reads kernel types with libbpf and libelf and kernel
# images with zlib, xz, lz4 and zstd. haywire top uses ncurses, haywire
# exporter libmicrohttpd; their tests drive top in tmux and check the
# exporter with Prometheus (promtool and a real server on loopback).
# haywire-bpf (ebpf/) is compiled by clang -target bpf against a vmlinux.h
# that bpftool dumps from the cached 6.1 kernel's BTF (its bzImage payload
# is lz4), embedded by bpftool gen skeleton, and linked statically with
# Debian's libbpf.a, libelf.a, libz.a and libzstd.a.
# make lint: sparse, shellcheck (and checkpatch.pl from Debian's
# linux-source, see tools/build-debug-kernel.sh); patchelf runs a newer
# release's kbuild tools (tools/fetch-kernels.sh); openssl makes the DKMS
# signing test's key. libvirt: guests by domain name (libvirt-dev builds
# it; the VM test starts its own session libvirtd with the QEMU driver).
pkgs="gcc make pkg-config libc6-dev libjson-c-dev
      libbpf-dev libelf-dev zlib1g-dev liblzma-dev liblz4-dev libzstd-dev
      libncurses-dev libmicrohttpd-dev prometheus tmux
      clang libclang-rt-14-dev llvm bpftool lz4
      qemu-system-x86 qemu-utils cpio gzip xz-utils kmod
      python3 dwarves dkms debian-archive-keyring ca-certificates
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
      scdoc man-db patchelf sparse shellcheck openssl
      libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"

# make deb: debhelper with dh-dkms, and lintian to check the packages.
if [ "${1:-}" = deb ]; then
	pkgs="$pkgs debhelper dh-dkms lintian dpkg-dev fakeroot"
fi

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
