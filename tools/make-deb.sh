#!/bin/sh
# make deb: build the Debian packages (haywire, libhaywire1, libhaywire-dev,
# haywire-dkms, haywire-bpf) and the native source package with dpkg-buildpackage, in a
# copy of the tree, and check them with lintian.
#
# usage: tools/make-deb.sh OUTDIR
#   OUTDIR gets haywire-VERSION/ (the copy) and every file
#   dpkg-buildpackage writes next to it (.deb, .dsc, .tar.xz, .changes ...).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$out/haywire-$version

# The files git knows (tracked, or new and not ignored): never build/ or
# .cache/, never another build's output.
rm -rf "$src"
rm -f "$out"/haywire*_"$version"* "$out"/libhaywire*_"$version"*
mkdir -p "$src"
# (A tracked file deleted in the working tree is left out.) Outside git,
# everything but build/ and .cache/.
if git -C "$top" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		python3 -c 'import os,sys; sys.stdout.write("".join(f + "\0" for f in sys.stdin.read().split("\0") if f and os.path.lexists(f)))' |
		xargs -0 cp -P --parents -t "$src")
else
	tar -C "$top" --exclude=./build --exclude=./.cache -cf - . | tar -C "$src" -xf -
fi

# One version everywhere: the changelog's is the command's and the module's.
for v in "$(sed -n 's/^#define HAYWIRE_VERSION "\(.*\)"/\1/p' "$top/host/haywire.h")" \
	"$(sed -n 's/^MODULE_VERSION("\(.*\)");/\1/p' "$top/kmod/main.c")"; do
	[ "$v" = "$version" ] || {
		echo "make deb: debian/changelog says $version, host/haywire.h or kmod/main.c $v"
		exit 1
	}
done

cd "$src"
# One job per core at most: the machine is shared. The copy has no
# .cache/: haywire-bpf's vmlinux.h comes from the tree's cached 6.1 kernel
# (tools/vmlinux-h.sh), not from whatever kernel this machine runs.
HAYWIRE_CACHE="${HAYWIRE_CACHE:-$top/.cache}" \
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=2" \
	dpkg-buildpackage -us -uc --build=full > "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log"
	echo "make deb: dpkg-buildpackage failed (log: $out/build.log)"
	exit 1
}
cd "$out"
ls -1 ./*_"$version"*.deb
changes=$(ls ./haywire_"$version"_*.changes)
# Every tag of level warning or error fails; an override needs its reason
# on the line above it (debian/*.lintian-overrides).
if ! lintian --fail-on error,warning --display-info "$changes" > lintian.log 2>&1; then
	cat lintian.log
	echo "make deb: lintian found problems"
	exit 1
fi
cat lintian.log
echo "make deb: lintian clean; packages in $out"
