#!/bin/sh
# VM tests: see tests/vm/vmtest.py (the beacon) and tests/vm/agentless.py
# (the agentless sources). Builds what they need, boots the Debian kernels
# under QEMU and prints nested TAP; exits 0 only if all passed (4: both
# skipped).
#
#   HAYWIRE_KERNELS="6.1 6.12 5.10 7.3" x86-64 kernels to test (agentless:
#                                      6.1 6.12 by default)
#   HAYWIRE_ARM64_KERNELS="6.1-arm64 6.12-arm64 7.3-arm64"
#                                      arm64 kernels to test (agentless:
#                                      6.1-arm64 6.12-arm64 by default)
#   HAYWIRE_WIDE_KERNELS="6.1 6.12 6.1-arm64 6.12-arm64 debug-6.1"
#                                      kernels run in every configuration;
#                                      the others in q35-512M/virt-1G only
#   HAYWIRE_VM_CONFIGS="q35-512M q35-4G pc-4G virt-1G virt-4G virt-6G
#                       virt-3G-nohigh q35-512M-la57 q35-512M-dimm
#                       q35-2G-stress q35-512M-monitor q35-512M-libvirt
#                       virt-512M"
#                                      machine configurations (virt: arm64;
#                                      la57: 5-level paging, agentless only;
#                                      virt-512M: agentless only;
#                                      dimm: tests/vm/dimm.py;
#                                      q35-2G-stress: tests/vm/stress.py;
#                                      q35-512M-monitor: tests/vm/prom.py;
#                                      q35-512M-libvirt: tests/vm/libvirt.py)
#   HAYWIRE_STORM_SECONDS=60           length of the stress guest's storm
#   HAYWIRE_VM_COMPANION=both          module, ebpf or both: the eBPF
#                                      companion's suite (tests/vm/ebpf.py)
#                                      runs on 6.1 and 6.12 in q35-512M
# An empty list selects none: HAYWIRE_KERNELS= runs only the arm64 guests,
# HAYWIRE_ARM64_KERNELS= only the x86-64 ones.
here=$(dirname "$0")
/usr/bin/python3 "$here/vmtest.py" "$@"
beacon=$?
/usr/bin/python3 "$here/agentless.py" "$@"
agentless=$?
[ $beacon = 4 ] && [ $agentless = 4 ] && exit 4
[ $beacon = 0 ] || [ $beacon = 4 ] || exit 1
[ $agentless = 0 ] || [ $agentless = 4 ] || exit 1
exit 0
