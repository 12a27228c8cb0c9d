#!/bin/sh
# make lint: the module passes checkpatch.pl --strict (from Debian's
# linux-source, fetched once by tools/build-debug-kernel.sh --source-only)
# and sparse (make C=2, Debian's sparse) with zero findings, and every shell
# script passes shellcheck.
#
# An exception is one line in the file it applies to,
#   /* checkpatch-ignore: TYPE[,TYPE...] -- why */
# which this script passes to checkpatch.pl for that file alone
# (docs/lint.md lists them). sparse runs on the kernels in
# HAYWIRE_LINT_KERNELS (default "5.10 6.1 6.12 6.1-arm64 6.12-arm64": the
# newest, 7.3, needs a newer sparse than bookworm's, see docs/lint.md).
set -u
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
failed=0
nfiles=0

src=$(tools/build-debug-kernel.sh --source-only) || exit 1
checkpatch=$src/scripts/checkpatch.pl
for f in kmod/*.c kmod/*.h; do
	nfiles=$((nfiles + 1))
	ignore=$(sed -n 's|.*checkpatch-ignore: \([A-Z_,]*\) .*|\1|p' "$f" | paste -sd, -)
	if ! out=$(perl "$checkpatch" --strict --no-tree --terse --show-types \
		${ignore:+--ignore "$ignore"} -f "$f" 2>&1); then
		echo "$out" | grep -v '^total:'
		failed=$((failed + 1))
	fi
done
echo "checkpatch --strict: $nfiles files, $failed with findings"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for k in ${HAYWIRE_LINT_KERNELS-5.10 6.1 6.12 6.1-arm64 6.12-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k") || exit 1
	kdir=$(cd "$kc/kdir" && pwd)
	cross='' prefix=''
	case "$k" in
	*-arm64) prefix=aarch64-linux-gnu- cross="ARCH=arm64 CROSS_COMPILE=$prefix" ;;
	esac
	rm -rf "$tmp/m"
	mkdir -p "$tmp/m"
	cp -r kmod include Kbuild "$tmp/m/"
	# shellcheck disable=SC2046,SC2086 # word lists of make arguments
	make -C "$kdir" M="$tmp/m" C=2 $cross \
		$(tools/kbuild-overrides.sh "$kdir" $prefix) modules > "$tmp/log" 2>&1 ||
		{ cat "$tmp/log"; echo "sparse build for $k failed"; failed=$((failed + 1)); continue; }
	# sparse's findings name our files; the rest is make's progress
	if grep -E ': (warning|error): ' "$tmp/log" | grep -v 'pahole version differs'; then
		echo "sparse: findings for $k"
		failed=$((failed + 1))
	else
		echo "sparse (C=2): clean for $(cat "$kc/release")"
	fi
done

scripts=$( (git ls-files '*.sh'; git ls-files | xargs grep -l '^#!/bin/\(ba\)\?sh' 2>/dev/null) | sort -u)
# shellcheck disable=SC2086 # the list of scripts
if ! shellcheck $scripts; then
	failed=$((failed + 1))
fi
echo "shellcheck: $(echo "$scripts" | wc -l) scripts"
[ $failed -eq 0 ]
