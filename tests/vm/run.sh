#!/bin/sh
# VM tests: see tests/vm/vmtest.py. Builds what it needs, boots the Debian
# kernels under QEMU and prints nested TAP; exits 0 only if all passed.
#
#   HAYWIRE_KERNELS="6.1 6.12"         x86-64 kernels to test
#   HAYWIRE_ARM64_KERNELS="6.1-arm64"  arm64 kernels to test
#   HAYWIRE_VM_CONFIGS="q35-512M q35-4G pc-4G virt-1G virt-4G"
#                                      machine configurations (virt: arm64)
# An empty list selects none: HAYWIRE_KERNELS= runs only the arm64 guests,
# HAYWIRE_ARM64_KERNELS= only the x86-64 ones.
exec /usr/bin/python3 "$(dirname "$0")/vmtest.py" "$@"
