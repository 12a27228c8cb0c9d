#!/bin/sh
# The Debian packages (make deb): they build, lintian is clean (tools/
# make-deb.sh fails otherwise); haywire, libhaywire1 and libhaywire-dev
# install with apt-get, the command, its man pages and the library work,
# the exporter's unit is not enabled, and they purge cleanly, leaving the
# machine's package set and users as they were (root only: skipped
# otherwise); haywire-dkms's source builds with DKMS against a project-local
# kernel tree in a private DKMS tree, and that module loads in a booted 6.1
# guest and passes the ps/maps comparison with the guest's /proc
# (tests/vm/vmtest.py with HAYWIRE_VM_MODULE, HAYWIRE_VM_CHECKS=compare).
#
#   HAYWIRE_DEB_KERNEL=6.1      the kernel for the DKMS build and the guest
#                               (empty: no DKMS build, no guest)
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
tmp=$(mktemp -d)
out=$top/build/deb
kernel=${HAYWIRE_DEB_KERNEL-6.1}
pkgs="haywire libhaywire1 libhaywire-dev haywire-bpf"
installed=
user_before=

cleanup() {
	rc=$?
	if [ -n "$installed" ]; then
		still=$(for p in $pkgs; do
			dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' "$p" 2>/dev/null
		done | awk '$1 !~ /^.n/ {print $2}')
		# shellcheck disable=SC2086
		[ -z "$still" ] || apt_get purge $still > "$tmp/purge.log" 2>&1 ||
			cat "$tmp/purge.log"
		restore_machine || rc=1
	fi
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 "$@"
}

packages() {
	dpkg-query -W -f '${db:Status-Abbrev} ${Package}:${Architecture}\n' |
		awk '$1 ~ /^.i/ {print $2}' | sort
}

# After the purge: the same packages as before (dependencies apt pulled in
# are purged too), and no haywire user unless there was one.
restore_machine() {
	packages > "$tmp/pkgs.after"
	new=$(comm -13 "$tmp/pkgs.before" "$tmp/pkgs.after")
	if [ -n "$new" ]; then
		echo "purging what the install pulled in:" "$new"
		# shellcheck disable=SC2086
		apt_get purge $new > "$tmp/purge2.log" 2>&1 || cat "$tmp/purge2.log"
		packages > "$tmp/pkgs.after"
	fi
	if [ -z "$user_before" ] && getent passwd haywire > /dev/null; then
		deluser --quiet --system haywire > /dev/null 2>&1 || true
		getent group haywire > /dev/null && delgroup --quiet --system haywire > /dev/null 2>&1
	fi
	installed=
	if ! cmp -s "$tmp/pkgs.before" "$tmp/pkgs.after"; then
		echo "the package set differs from before the test:"
		diff "$tmp/pkgs.before" "$tmp/pkgs.after" || true
		return 1
	fi
	if [ -z "$user_before" ] && getent passwd haywire > /dev/null; then
		echo "the haywire user is left"
		return 1
	fi
}

start=$(date +%s)
nice make -s deb BUILD=build
echo "make deb: $(($(date +%s) - start)) s"
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
for p in haywire_${version}_$arch libhaywire1_${version}_$arch \
	libhaywire-dev_${version}_$arch haywire-dkms_${version}_all \
	haywire-bpf_${version}_$arch; do
	[ -f "$out/$p.deb" ] || { echo "make deb did not build $p.deb"; exit 1; }
done

if [ "$(id -u)" != 0 ]; then
	echo "not root: the apt-get install check is skipped"
else
	for p in $pkgs; do
		if dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.i'; then
			echo "$p is installed on this machine already: not touching it"
			exit 1
		fi
	done
	packages > "$tmp/pkgs.before"
	getent passwd haywire > /dev/null && user_before=1
	installed=1
	apt_get install "$out/haywire_${version}_$arch.deb" \
		"$out/libhaywire1_${version}_$arch.deb" \
		"$out/libhaywire-dev_${version}_$arch.deb" \
		"$out/haywire-bpf_${version}_$arch.deb" > "$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; echo "apt-get install failed"; exit 1; }
	echo "apt-get install: $pkgs"
	/usr/bin/haywire --version
	echo "man -w haywire: $(man -w haywire); man -w 7 haywire: $(man -w 7 haywire)"
	python3 tests/mandrift.py /usr/bin/haywire docs/man/haywire.1.scd
	[ -f /usr/share/bash-completion/completions/haywire ] ||
		{ echo "no bash completion installed"; exit 1; }
	unit=/lib/systemd/system/haywire-exporter.service
	[ -f $unit ] || { echo "no $unit"; exit 1; }
	if [ -e /etc/systemd/system/multi-user.target.wants/haywire-exporter.service ]; then
		echo "haywire-exporter.service was enabled by the install"
		exit 1
	fi
	# The eBPF companion (a guest daemon): its unit installed, not enabled.
	/usr/sbin/haywire-bpf --help > /dev/null ||
		{ echo "packaged haywire-bpf --help failed"; exit 1; }
	[ -f /lib/systemd/system/haywire-bpf.service ] || { echo "no haywire-bpf.service"; exit 1; }
	if [ -e /etc/systemd/system/multi-user.target.wants/haywire-bpf.service ]; then
		echo "haywire-bpf.service was enabled by the install"
		exit 1
	fi
	echo "haywire-bpf: $(man -w 8 haywire-bpf), unit installed, not enabled"
	getent passwd haywire > /dev/null || { echo "no haywire system user"; exit 1; }
	echo "unit installed, not enabled; system user haywire: $(id haywire)"
	# A program built against the installed library, as a user would.
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Werror -o "$tmp/consumer" tests/install/consumer.c \
		$(pkg-config --cflags --libs haywire)
	ldd "$tmp/consumer" | grep -Eq "libhaywire.so.1 => /(usr/)?lib/" ||
		{ echo "consumer does not use the installed libhaywire.so.1"; exit 1; }
	# shellcheck disable=SC2046
	cc -std=gnu11 -O2 -D_GNU_SOURCE -Itests/unit -Iinclude -Ihost -o "$tmp/mkbeacon" \
		tests/unit/mkbeacon.c tests/unit/fixture.c build/libhaywire.a \
		$(pkg-config --libs json-c) $(tools/host-libs.sh)
	"$tmp/mkbeacon" --out "$tmp/ram" --size 64M --procs 5 > /dev/null
	HOME=$tmp "$tmp/consumer" "$tmp/ram" | head -n 1
	HOME=$tmp /usr/bin/haywire --no-hint --mem "$tmp/ram" ps | tail -n 1

	# shellcheck disable=SC2086
	dpkg -L $pkgs | sort -u > "$tmp/files"
	# shellcheck disable=SC2086
	apt_get purge $pkgs > "$tmp/purge.log" 2>&1 ||
		{ cat "$tmp/purge.log"; echo "apt-get purge failed"; exit 1; }
	left=$(while read -r f; do
		if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi
	done < "$tmp/files")
	[ -z "$left" ] || { echo "left after the purge:"; echo "$left"; exit 1; }
	restore_machine
	echo "apt-get purge: no file left; package set and users as before"
fi

[ -n "$kernel" ] || exit 0
# haywire-dkms: the packaged source and dkms.conf, built by DKMS for a
# kernel of .cache, in a private tree (as tests/dkms.sh does).
dpkg-deb -x "$out/haywire-dkms_${version}_all.deb" "$tmp/dkms-pkg"
conf=$tmp/dkms-pkg/usr/src/haywire-$version/dkms.conf
[ -f "$conf" ] || { echo "haywire-dkms has no usr/src/haywire-$version/dkms.conf"; exit 1; }
! grep -n '@VERSION@\|#MODULE_VERSION#' "$conf" ||
	{ echo "dkms.conf keeps a version placeholder"; exit 1; }
kc=$(tools/fetch-kernels.sh "$kernel")
release=$(cat "$kc/release")
mkdir -p "$tmp/tree"
if ! nice dkms build -m haywire -v "$version" -k "$release" -a x86_64 \
	--dkmstree "$tmp/tree" --sourcetree "$tmp/dkms-pkg/usr/src" \
	--kernelsourcedir "$(cd "$kc/kdir" && pwd)" > "$tmp/dkms.log" 2>&1; then
	cat "$tmp/dkms.log"
	echo "haywire-dkms: dkms build failed for $release"
	exit 1
fi
ko=$(find "$tmp/tree/haywire/$version/$release" -name 'haywire.ko*' | head -n 1)
[ -n "$ko" ] || { cat "$tmp/dkms.log"; echo "dkms produced no module"; exit 1; }
case "$ko" in
*.xz) xz -dk "$ko"; ko=${ko%.xz} ;;
*.zst) zstd -qd "$ko"; ko=${ko%.zst} ;;
*.gz) gzip -dk "$ko"; ko=${ko%.gz} ;;
esac
cp "$ko" "$tmp/haywire.ko"
echo "haywire-dkms: dkms built $(modinfo -F vermagic "$tmp/haywire.ko")"

# The guest: that module, ps and maps against /proc.
HAYWIRE_KERNELS=$kernel HAYWIRE_ARM64_KERNELS="" HAYWIRE_VM_CONFIGS=q35-512M \
	HAYWIRE_VM_MODULE=$tmp/haywire.ko HAYWIRE_VM_CHECKS=compare \
	python3 tests/vm/vmtest.py
