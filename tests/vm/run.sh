#!/bin/sh
# VM tests: see tests/vm/vmtest.py. Builds what it needs, boots the Debian
# kernels under QEMU and prints nested TAP; exits 0 only if all passed.
#
#   HAYWIRE_KERNELS="6.1 6.12"   kernels to test
#   HAYWIRE_VM_CONFIGS="q35-512M q35-4G pc-4G"   machine configurations
exec /usr/bin/python3 "$(dirname "$0")/vmtest.py" "$@"
