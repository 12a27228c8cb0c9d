#!/bin/sh
# Build the host command (plain and with ASan + UBSan) and the guest module
# for every kernel under test, with no warnings: the x86-64 kernels in
# HAYWIRE_KERNELS (default "5.10 6.1 6.12 7.3") and the arm64 kernels in
# HAYWIRE_ARM64_KERNELS (default "6.1-arm64 6.12-arm64 7.3-arm64",
# cross-built). An empty list selects none.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
make -s host
make -s san
# The module's version, twice: MODULE_VERSION (read by the packaging) and
# the index's companion_version
mv=$(sed -n 's/^MODULE_VERSION("\(.*\)");.*/\1/p' kmod/main.c)
hv=$(sed -n 's/^#define HW_MODULE_VERSION\t"\(.*\)"/\1/p' kmod/beacon.h)
if [ -z "$mv" ] || [ "$mv" != "$hv" ]; then
	echo "MODULE_VERSION '$mv' (kmod/main.c) != HW_MODULE_VERSION '$hv' (kmod/beacon.h)"
	exit 1
fi
# haywire-bpf: one static binary that drops into any guest
make -s bpf
if ldd build/haywire-bpf >/dev/null 2>&1; then
	echo "build/haywire-bpf is not statically linked"
	exit 1
fi
for k in ${HAYWIRE_KERNELS-5.10 6.1 6.12 7.3} ${HAYWIRE_ARM64_KERNELS-6.1-arm64 6.12-arm64 7.3-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k")
	ko=$(tools/build-module.sh "$kc/kdir")
	echo "built $ko for $(cat "$kc/release")"
done

# make AGENTLESS=0: a beacon-only reader, built with nothing but json-c
# visible to pkg-config (no libbpf, libelf or decompressor -dev packages),
# that links only json-c and libc and refuses the agentless sources (and
# top and exporter, which need ncurses and libmicrohttpd: MONITOR=1 adds
# them back).
pc=$(mktemp -d)
trap 'rm -rf "$pc"' EXIT INT TERM
ln -s "$(pkg-config --variable pcfiledir json-c)/json-c.pc" "$pc/"
out=build/agentless0
PKG_CONFIG_LIBDIR=$pc make -s BUILD=$out AGENTLESS=0 host
libs=$(ldd $out/haywire)
echo "$libs" | sed 's/^/AGENTLESS=0 links: /'
if echo "$libs" | grep -E 'libbpf|libelf|libz\.|liblzma|liblz4|libzstd|libncurses|libmicrohttpd|libvirt'; then
	echo "AGENTLESS=0 reader links an agentless or monitoring library"
	exit 1
fi
# top and exporter are left out of it (MONITOR defaults to AGENTLESS)
msg=$($out/haywire exporter --vm a=/dev/null --scrapes 1 2>&1) &&
	{ echo "AGENTLESS=0 reader ran the exporter"; exit 1; }
echo "$msg" | grep -q 'built without' ||
	{ echo "AGENTLESS=0 exporter: unexpected: $msg"; exit 1; }
msg=$($out/haywire --source memfile --qmp /nonexistent --mem /dev/null ps 2>&1) &&
	{ echo "AGENTLESS=0 reader accepted --source memfile"; exit 1; }
echo "$msg" | grep -q 'built without agentless support' ||
	{ echo "AGENTLESS=0 --source memfile: unexpected: $msg"; exit 1; }
echo "AGENTLESS=0: $(du -k $out/haywire | cut -f1) KiB reader, $(du -k $out/libhaywire.a | cut -f1) KiB library"

# Without the build dependencies (pkg-config finds nothing), make stops at
# once with one line naming 'make deps', before any compiler error.
rm -rf "${pc:?}"/*
if msg=$(PKG_CONFIG_LIBDIR=$pc make -s BUILD=build/nodeps host 2>&1); then
	echo "make without dependencies succeeded"
	exit 1
fi
echo "without dependencies: $msg"
# shellcheck disable=SC2015 # either test failing is the failure
[ "$(echo "$msg" | wc -l)" -eq 1 ] && echo "$msg" | grep -q "make deps" ||
	{ echo "make without dependencies: expected one line naming 'make deps'"; exit 1; }
[ ! -e build/nodeps ] || { echo "make without dependencies compiled"; exit 1; }
