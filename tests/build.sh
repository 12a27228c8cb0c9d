#!/bin/sh
# Build the host command (plain and with ASan + UBSan) and the guest module
# for every kernel under test, with no warnings.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
make -s host
make -s san
for k in ${HAYWIRE_KERNELS:-6.1 6.12}; do
	kc=$(tools/fetch-kernels.sh "$k")
	ko=$(tools/build-module.sh "$kc/kdir")
	echo "built $ko for $(cat "$kc/release")"
done
