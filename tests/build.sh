#!/bin/sh
# Build the host command (plain and with ASan + UBSan) and the guest module
# for every kernel under test, with no warnings: the x86-64 kernels in
# HAYWIRE_KERNELS (default "6.1 6.12") and the arm64 kernels in
# HAYWIRE_ARM64_KERNELS (default "6.1-arm64 6.12-arm64", cross-built). An
# empty list selects none.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
make -s host
make -s san
for k in ${HAYWIRE_KERNELS-6.1 6.12} ${HAYWIRE_ARM64_KERNELS-6.1-arm64 6.12-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k")
	ko=$(tools/build-module.sh "$kc/kdir")
	echo "built $ko for $(cat "$kc/release")"
done
