#!/bin/sh
# Print the make override "CC=..." that builds modules for kernel tree KDIR
# on this machine, or nothing when the compiler the kernel was built with is
# installed. Debian's kernel headers name their exact compiler
# (.kernelvariables: gcc-10 for bullseye's 5.10, gcc-14 for trixie's); a
# bookworm machine has gcc-12 only, so the trees of other releases build
# with this machine's gcc for the same target (the module is checked with
# the kernel's own headers and flags either way; vermagic does not record
# the compiler).
#
# usage: tools/kernel-cc.sh KDIR [CROSS_COMPILE]
set -eu
kdir=$1
cross=${2:-}
want=$(sed -n 's/^CC = .*(CROSS_COMPILE)\(gcc[-0-9]*\).*/\1/p' "$kdir/.kernelvariables" 2>/dev/null | head -n 1)
[ -n "$want" ] || exit 0
prefix=$cross
[ -n "$prefix" ] || prefix=$(gcc -dumpmachine)-
command -v "$prefix$want" >/dev/null 2>&1 && exit 0
echo "CC=${prefix}gcc"
