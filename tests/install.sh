#!/bin/sh
# make install DESTDIR=... lays out the expected files; a program built
# against the installed header and library with pkg-config links (shared)
# and reads a beacon image; the installed command and the man page agree on
# every command and option, as does the bash completion (tests/mandrift.py);
# make uninstall leaves nothing. Nothing outside a temporary directory is touched.
set -eu
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/root
prefix=/usr/local

nice make -s host shared man
make -s install DESTDIR="$dest" PREFIX=$prefix > "$tmp/log"
echo "make install: $(grep -c '^installed' "$tmp/log") files"

fail=0
for f in bin/haywire lib/libhaywire.so.1.0.0 lib/libhaywire.so.1 \
	lib/libhaywire.so lib/libhaywire.a lib/pkgconfig/haywire.pc \
	include/haywire/haywire.h include/haywire/haywire_protocol.h \
	share/man/man1/haywire.1 share/man/man7/haywire.7 \
	share/bash-completion/completions/haywire \
	lib/systemd/system/haywire-exporter.service; do
	[ -e "$dest$prefix/$f" ] || { echo "not installed: $prefix/$f"; fail=1; }
done
[ $fail -eq 0 ] || exit 1
grep -q "^ExecStart=$prefix/bin/haywire exporter " \
	"$dest$prefix/lib/systemd/system/haywire-exporter.service" ||
	{ echo "the installed unit does not run $prefix/bin/haywire"; exit 1; }
# Internal headers stay private.
extra=$(find "$dest$prefix/include" -type f | grep -v -e '/haywire\.h$' -e '/haywire_protocol\.h$' || true)
[ -z "$extra" ] || { echo "unexpected headers installed: $extra"; exit 1; }

lib=$dest$prefix/lib/libhaywire.so.1
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libhaywire.so.1 ] || { echo "soname '$soname', not libhaywire.so.1"; exit 1; }
internal=$(nm -D --defined-only "$lib" | awk '$3 !~ /^haywire_/ && $2 ~ /[TDBR]/ {print $3}')
[ -z "$internal" ] || { echo "libhaywire.so exports internal symbols:" "$internal"; exit 1; }
echo "libhaywire.so: soname $soname, exports $(nm -D --defined-only "$lib" | grep -c ' T haywire_') haywire_* functions and nothing else"

# The installed command runs with the installed library.
export LD_LIBRARY_PATH="$dest$prefix/lib"
"$dest$prefix/bin/haywire" --version
ldd "$dest$prefix/bin/haywire" | grep -q "$lib" ||
	{ echo "installed haywire does not use the installed libhaywire.so.1"; exit 1; }

# A consumer: only the installed files, found through pkg-config (the .pc
# file holds the final paths, so the sysroot points it into DESTDIR).
flags=$(PKG_CONFIG_PATH=$dest$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
	pkg-config --cflags --libs haywire)
echo "pkg-config --cflags --libs haywire: $flags"
# shellcheck disable=SC2086
cc -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer" tests/install/consumer.c $flags
ldd "$tmp/consumer" | grep -q "$lib" ||
	{ echo "consumer is not linked against the installed libhaywire.so.1"; exit 1; }
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -Itests/unit -Iinclude -Ihost -o "$tmp/mkbeacon" \
	tests/unit/mkbeacon.c tests/unit/fixture.c build/libhaywire.a \
	$(pkg-config --libs json-c) $(tools/host-libs.sh)
"$tmp/mkbeacon" --out "$tmp/ram" --size 64M --procs 5 > /dev/null
HOME=$tmp "$tmp/consumer" "$tmp/ram" > "$tmp/out"
head -n 3 "$tmp/out"
HOME=$tmp "$dest$prefix/bin/haywire" --no-hint --mem "$tmp/ram" ps > "$tmp/ps"
n=$(($(wc -l < "$tmp/out") - 1))
want=$(($(wc -l < "$tmp/ps") - 1))
if [ "$n" -ne "$want" ] || [ "$n" -eq 0 ]; then
	echo "consumer saw $n processes, haywire ps $want"
	exit 1
fi
echo "consumer read $n processes from a mkbeacon image, as haywire ps does"

# The man page documents what --help lists, and only that.
python3 tests/mandrift.py "$dest$prefix/bin/haywire" docs/man/haywire.1.scd \
	tools/completion/haywire.bash
man -l "$dest$prefix/share/man/man1/haywire.1" > /dev/null 2>&1 ||
	{ echo "man cannot format haywire.1"; exit 1; }
# The completion completes (with bash-completion's helpers, when present).
comp=$dest$prefix/share/bash-completion/completions/haywire
bash -n "$comp"
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
		COMP_WORDS=(haywire --mem x p); COMP_CWORD=3
		COMP_LINE="haywire --mem x p"; COMP_POINT=${#COMP_LINE}; _haywire
		echo "${COMPREPLY[*]}"' sh "$comp")
	[ "$got" = "ps ping" ] || { echo "completing 'haywire --mem x p': '$got'"; exit 1; }
	echo "completion: 'haywire --mem x p' -> $got"
fi

# The eBPF companion (a guest program): make install-bpf beside the host
# install, with its own manifest; uninstall-bpf removes exactly its files.
nice make -s bpf
make -s install-bpf DESTDIR="$dest" PREFIX=$prefix > "$tmp/log"
for f in sbin/haywire-bpf share/man/man8/haywire-bpf.8 \
	lib/systemd/system/haywire-bpf.service; do
	[ -e "$dest$prefix/$f" ] || { echo "not installed: $prefix/$f"; exit 1; }
done
grep -q "^ExecStart=$prefix/sbin/haywire-bpf " \
	"$dest$prefix/lib/systemd/system/haywire-bpf.service" ||
	{ echo "the installed unit does not run $prefix/sbin/haywire-bpf"; exit 1; }
"$dest$prefix/sbin/haywire-bpf" --help > /dev/null ||
	{ echo "installed haywire-bpf --help failed"; exit 1; }
drift=$(python3 tests/mandrift.py "$dest$prefix/sbin/haywire-bpf" \
	docs/man/haywire-bpf.8.scd) || { echo "haywire-bpf $drift"; exit 1; }
echo "haywire-bpf $drift"
make -s uninstall-bpf DESTDIR="$dest" PREFIX=$prefix > "$tmp/log"
for f in sbin share/man/man8 lib/systemd/system/haywire-bpf.service share/haywire/manifest-bpf; do
	[ ! -e "$dest$prefix/$f" ] || { echo "make uninstall-bpf left $prefix/$f"; exit 1; }
done
echo "make install-bpf / uninstall-bpf: 3 files, removed again"

make -s uninstall DESTDIR="$dest" PREFIX=$prefix > "$tmp/log"
left=$(find "$dest" 2>/dev/null || true)
[ -z "$left" ] || { echo "make uninstall left:"; echo "$left"; exit 1; }
echo "make uninstall: $(grep -c '^removed' "$tmp/log") files removed, nothing left"
