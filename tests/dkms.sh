#!/bin/sh
# The DKMS packaging builds the module for every kernel under test, the way a
# guest's dkms would, in a private DKMS tree (nothing on this machine is
# touched): the x86-64 kernels in HAYWIRE_KERNELS (default "5.10 6.1 6.12
# 7.3") and the arm64 kernels in HAYWIRE_ARM64_KERNELS (default "6.1-arm64
# 6.12-arm64 7.3-arm64"). An empty list selects none. Then: a kernel outside
# BUILD_EXCLUSIVE_* is refused with DKMS's message, and a build signed
# through DKMS's own framework.conf (a key made here with openssl; a private
# mount namespace puts the test's /etc/dkms in place) carries the signer and
# key id modinfo shows (the VM suite loads that signed module: tests/vm).
#
# arm64 is cross-built: dkms runs the kernel's make, which takes ARCH and
# CROSS_COMPILE from the environment, and then strips the module with plain
# "strip", so a "strip" that is Debian's aarch64 one goes first in PATH.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree" "$tmp/arm64-bin"
ln -s /usr/bin/aarch64-linux-gnu-strip "$tmp/arm64-bin/strip"

src=$(tools/dkms-install.sh --source-only "$tmp/src")
version=${src##*/haywire-}
for k in ${HAYWIRE_KERNELS-5.10 6.1 6.12 7.3} ${HAYWIRE_ARM64_KERNELS-6.1-arm64 6.12-arm64 7.3-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k")
	release=$(cat "$kc/release")
	case "$k" in
	*-arm64)
		arch=aarch64 machine=AArch64
		cross="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- PATH=$tmp/arm64-bin:$PATH"
		prefix=aarch64-linux-gnu-
		;;
	*)
		arch=x86_64 machine=X86-64 cross='' prefix=''
		;;
	esac
	HAYWIRE_KBUILD_OVERRIDES=$(tools/kbuild-overrides.sh "$kc/kdir" $prefix)
	export HAYWIRE_KBUILD_OVERRIDES
	# shellcheck disable=SC2086
	if ! env $cross dkms build -m haywire -v "$version" -k "$release" -a "$arch" \
		--dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
		--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/log" 2>&1; then
		cat "$tmp/log"
		echo "dkms build failed for $release"
		exit 1
	fi
	if grep '^strip:' "$tmp/log"; then
		echo "dkms could not strip the module for $release"
		exit 1
	fi
	ko=$(find "$tmp/tree/haywire/$version/$release" -name 'haywire.ko*' | head -n 1)
	[ -n "$ko" ] || { cat "$tmp/log"; echo "dkms produced no module for $release"; exit 1; }
	magic=$(modinfo -F vermagic "$ko")
	case "$magic" in
	"$release "*) ;;
	*) echo "wrong vermagic '$magic' for $release"; exit 1 ;;
	esac
	readelf -h "$ko" | grep -q "Machine:.*$machine" ||
		{ echo "$ko is not an $machine module"; exit 1; }
	echo "dkms built $ko ($magic)"
done

# BUILD_EXCLUSIVE: a kernel release outside 5.10..7.x is refused (exit 77)
# with DKMS's message, before any compiler runs.
kc=$(tools/fetch-kernels.sh 6.1)
HAYWIRE_KBUILD_OVERRIDES=
rc=0
dkms build -m haywire -v "$version" -k 4.19.0-27-amd64 -a x86_64 \
	--dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
	--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/log" 2>&1 || rc=$?
if [ $rc -ne 77 ] || ! grep -q BUILD_EXCLUSIVE "$tmp/log"; then
	cat "$tmp/log"
	echo "dkms did not refuse 4.19 with BUILD_EXCLUSIVE (exit $rc)"
	exit 1
fi
echo "dkms refused 4.19: $(grep -m 1 BUILD_EXCLUSIVE "$tmp/log")"

# Signing through DKMS's framework.conf (docs/dkms.md), for 6.1: the signed
# module is kept in HAYWIRE_SIGNED_KO's directory when set (the VM suite
# loads it).
release=$(cat "$kc/release")
mkdir -p "$tmp/etc-dkms/framework.conf.d" "$tmp/keys"
openssl req -new -x509 -nodes -days 1 -subj "/CN=Haywire test signing key" \
	-newkey rsa:2048 -keyout "$tmp/keys/mok.key" \
	-outform DER -out "$tmp/keys/mok.der" > /dev/null 2>&1
sign=$(find "$kc/root/usr/lib" -path '*/scripts/sign-file' | head -n 1)
cat > "$tmp/etc-dkms/framework.conf" <<CONF
sign_file="$sign"
mok_signing_key="$tmp/keys/mok.key"
mok_certificate="$tmp/keys/mok.der"
CONF
rm -rf "$tmp/tree"
mkdir -p "$tmp/tree"
# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
if ! unshare --mount sh -c 'mount --bind "$1" /etc/dkms && shift && exec "$@"' _ \
	"$tmp/etc-dkms" dkms build -m haywire -v "$version" -k "$release" -a x86_64 \
	--dkmstree "$tmp/tree" --sourcetree "$tmp/src" \
	--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "signed dkms build failed for $release"
	exit 1
fi
ko=$(find "$tmp/tree/haywire/$version/$release" -name 'haywire.ko*' | head -n 1)
signer=$(modinfo -F signer "$ko")
keyid=$(modinfo -F sig_key "$ko" | tr -d ':' | tr 'A-F' 'a-f')
# A PKCS#7 signature names its certificate by issuer and serial number.
want=$(openssl x509 -inform DER -in "$tmp/keys/mok.der" -noout -serial |
	sed 's/^serial=//; s/^0*//' | tr 'A-F' 'a-f')
keyid=$(echo "$keyid" | sed 's/^0*//')
if [ "$signer" != "Haywire test signing key" ] || [ "$keyid" != "$want" ]; then
	cat "$tmp/log"
	echo "signed module: signer '$signer' key '$keyid', want the test key $want"
	exit 1
fi
echo "dkms signed $ko: signer '$signer', sig_key $keyid, $(modinfo -F sig_hashalgo "$ko")"
if [ -n "${HAYWIRE_SIGNED_KO:-}" ]; then
	mkdir -p "$(dirname "$HAYWIRE_SIGNED_KO")"
	cp "$ko" "$HAYWIRE_SIGNED_KO"
fi
