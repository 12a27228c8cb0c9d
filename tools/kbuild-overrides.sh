#!/bin/sh
# Print the make overrides ("CC=...", config symbols) that build modules
# for kernel tree KDIR on this machine, or nothing when the tools the kernel
# was built with are here. Debian's kernel headers name their exact compiler
# (.kernelvariables: gcc-10 for bullseye's 5.10, gcc-14 for trixie's); a
# bookworm machine has gcc-12 only, so the trees of other releases build
# with this machine's gcc for the same target (the module is checked with
# the kernel's own headers and flags either way; vermagic does not record
# the compiler).
#
# A kernel whose pahole is newer than this machine's (trixie's 7.3 passes
# --btf_features, which bookworm's dwarves lacks): the module is built
# without its own BTF (CONFIG_DEBUG_INFO_BTF_MODULES off for this build;
# Haywire needs none).
#
# usage: tools/kbuild-overrides.sh KDIR [CROSS_COMPILE]
set -eu
kdir=$1
cross=${2:-}
kpahole=$(sed -n 's/^CONFIG_PAHOLE_VERSION=//p' "$kdir/.config")
lpahole=$(pahole --version 2>/dev/null | tr -dc 0-9)
if grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$kdir/.config" &&
	[ "${kpahole:-0}" -gt "${lpahole:-0}" ]; then
	printf 'CONFIG_DEBUG_INFO_BTF_MODULES= '
fi
want=$(sed -n 's/^CC = .*(CROSS_COMPILE)\(gcc[-0-9]*\).*/\1/p' "$kdir/.kernelvariables" 2>/dev/null | head -n 1)
prefix=$cross
[ -n "$prefix" ] || prefix=$(gcc -dumpmachine)-
if [ -z "$want" ] || command -v "$prefix$want" >/dev/null 2>&1; then
	echo
	exit 0
fi
cc=${prefix}gcc
printf 'CC=%s' "$cc"
# Flags the kernel's compiler had and this one lacks: the kernel's Makefile
# falls back to the older flag when the config says the compiler lacks it.
if grep -q '^CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=y' "$kdir/.config" &&
	! "$cc" -fmin-function-alignment=16 -E -x c /dev/null >/dev/null 2>&1; then
	printf ' CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT='
fi
echo
