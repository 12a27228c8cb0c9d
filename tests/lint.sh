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
# HAYWIRE_LINT_KERNELS (default: all of the matrix). Bookworm's sparse 0.6.4
# cannot parse the newest kernel's headers (7.3: __typeof_unqual__); a kernel
# whose Makefile asks for a checked sparse (scripts/checker-valid.sh, which
# Debian's kbuild package does not ship) gets sid's, unpacked in .cache/ by
# tools/fetch-sparse.sh, checked here as that script would.
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

# The make arguments that run a sparse fit for kernel tree $1 (nothing:
# the default, bookworm's), or fail when there is none.
sparse_for() {
	top_makefile=$(sed -n 's/^include //p' "$1/Makefile" | head -n 1)
	grep -q checker-valid "${top_makefile:-$1/Makefile}" || return 0
	new=$(tools/fetch-sparse.sh) || return 1
	# what the kernel's checker-valid.sh checks: it parses __typeof_unqual__
	# (sparse exits 0 after errors: its output says)
	printf 'static int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' > "$tmp/probe.c"
	if "$new" "$tmp/probe.c" 2>&1 | grep -q error; then
		echo "sparse: $new cannot parse $1's headers" >&2
		return 1
	fi
	# the kernel's own check is missing from its package: skip it
	echo "CHECK=$new KBUILD_CHECKSRC=2"
}

for k in ${HAYWIRE_LINT_KERNELS-5.10 6.1 6.12 7.3 6.1-arm64 6.12-arm64 7.3-arm64}; do
	kc=$(tools/fetch-kernels.sh "$k") || exit 1
	kdir=$(cd "$kc/kdir" && pwd)
	cross='' prefix=''
	case "$k" in
	*-arm64) prefix=aarch64-linux-gnu- cross="ARCH=arm64 CROSS_COMPILE=$prefix" ;;
	esac
	checker=$(sparse_for "$kdir") ||
		{ echo "sparse: none fit for $k"; failed=$((failed + 1)); continue; }
	rm -rf "$tmp/m"
	mkdir -p "$tmp/m"
	cp -r kmod include Kbuild "$tmp/m/"
	# shellcheck disable=SC2046,SC2086 # word lists of make arguments
	make -C "$kdir" M="$tmp/m" C=2 $cross $checker \
		$(tools/kbuild-overrides.sh "$kdir" $prefix) modules > "$tmp/log" 2>&1 ||
		{ cat "$tmp/log"; echo "sparse build for $k failed"; failed=$((failed + 1)); continue; }
	# sparse's findings name our files; the rest is make's progress
	if grep -E ': (warning|error): ' "$tmp/log" | grep -v 'pahole version differs'; then
		echo "sparse: findings for $k"
		failed=$((failed + 1))
	else
		echo "sparse (C=2): clean for $(cat "$kc/release")${checker:+ (sparse from sid)}"
	fi
done

scripts=$( (git ls-files '*.sh'; git ls-files | xargs grep -l '^#!/bin/\(ba\)\?sh' 2>/dev/null) | sort -u)
# shellcheck disable=SC2086 # the list of scripts
if ! shellcheck $scripts; then
	failed=$((failed + 1))
fi
echo "shellcheck: $(echo "$scripts" | wc -l) scripts"
[ $failed -eq 0 ]
