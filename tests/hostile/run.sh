#!/bin/sh
# The hostile-guest suite: RAM files written the way a hostile guest user
# can write them (pages of arbitrary bytes at 2 MiB-aligned addresses),
# without a VM. Images come from tests/unit/mkbeacon (beacons) and
# tests/hostile/hostile.c (floods, a live seq bumper, peak RSS of a child).
#
#   forged beacons (one extra, several): exit 9 listing them; --index-gpa
#     and HAYWIRE_INDEX_GPA pick one; a hint never settles it; of several,
#     the only one alive (generation or heartbeat moving) is taken, warned
#   magic floods (256 and 2,048 busy candidates): the beacon is found, with
#     a warning; a flood with no valid beacon is "busy"
#   a live seq bumper: ps ends (0 or 4), never prints a torn table
#   giant tables (1 M and 4 M processes, sparse files): ps and --json ps
#     are right, peak RSS (wait4) within 3x the bytes of the tables; maps
#     of one process within 32 MiB
#   control bytes in every guest string: no raw control byte in any output
#
# Hang detection only: every command gets a generous `timeout`.
# Correctness runs use build/san/haywire (ASan + UBSan); memory bounds use
# build/haywire, whose RSS is the real one.
set -u
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1

make -s host san || exit 1
san=$top/build/san/haywire
hw=$top/build/haywire
bin=$top/build/hostile
mkdir -p "$bin"
${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o "$bin/mkbeacon" \
	tests/unit/mkbeacon.c tests/unit/fixture.c || exit 1
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude \
	-o "$bin/hostile" tests/hostile/hostile.c tests/unit/fixture.c || exit 1
mk=$bin/mkbeacon
hostile=$bin/hostile

# Sparse files on disk: a 5 GiB image with 2,049 written pages costs 8 MiB.
work=$(mktemp -d "${TMPDIR:-/tmp}/haywire-hostile.XXXXXX") || exit 1
bumper=
bumper2=
cleanup() {
	# shellcheck disable=SC2086 # either may be empty: not an argument then
	[ -n "$bumper$bumper2" ] && kill $bumper $bumper2 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
export HAYWIRE_HINT_DIR="$work/hints"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset HAYWIRE_INDEX_GPA HAYWIRE_SOURCE HAYWIRE_QMP

n=0
failed=0
report() {	# report NAME WHY
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1: ${2#; }"
		sed 's/^/#   /' "$work/err" | head -n 10
		failed=$((failed + 1))
	fi
}

# run SECONDS CMD...: stdout in $work/out, stderr in $work/err, exit in $rc
run() {
	secs=$1
	shift
	timeout "$secs" "$@" >"$work/out" 2>"$work/err"
	rc=$?
}

# why EXIT LINES: what is wrong with the last run (empty if nothing)
why_not() {
	w=
	[ "$rc" = "$1" ] || w="exit $rc, want $1"
	[ "$rc" = 124 ] && w="$w (hung)"
	got=$(wc -l <"$work/err")
	[ "$got" = "$2" ] || w="$w; $got stderr lines, want $2"
	grep -q -e Sanitizer -e 'runtime error' "$work/err" && w="$w; sanitizer report"
	echo "$w"
}

has() {	# has FILE TEXT
	grep -q -F -e "$2" "$1"
}

# ---- forged beacons ------------------------------------------------------

# The guest's: 8 processes at 32 MiB. A forgery: 3 processes at 8 MiB.
img=$work/forged
$mk --out "$img" --index-offset 32M --nonce 0x1111 --interval-ms 600000 || exit 1
$mk --out "$img" --keep --index-offset 8M --nonce 0x2222 --procs 3 \
	--kthreads 0 --vmas 3 --interval-ms 600000 --set 'proc[0].comm=forged' || exit 1
run 60 "$san" --mem "$img" ps
w=$(why_not 9 1)
has "$work/err" "2 beacons validate" || w="$w; no count"
has "$work/err" "GPA 0x2000000 (nonce 0x1111" || w="$w; the guest's not listed"
has "$work/err" "GPA 0x800000 (nonce 0x2222" || w="$w; the forgery not listed"
has "$work/err" "--index-gpa" || w="$w; no way out named"
[ -s "$work/out" ] && w="$w; printed processes"
report "one forged beacon: refused (exit 9), both listed" "$w"

run 60 "$san" --mem "$img" --index-gpa 0x2000000 ps
w=$(why_not 0 0)
[ "$(wc -l <"$work/out")" = 9 ] || w="$w; not the guest's 8 processes"
has "$work/out" forged && w="$w; the forgery's processes"
report "--index-gpa picks the guest's" "$w"

run 60 env HAYWIRE_INDEX_GPA=0x800000 "$san" --mem "$img" --json ps
w=$(why_not 0 0)
has "$work/out" '"comm":"forged"' || w="$w; not the pinned one"
report "HAYWIRE_INDEX_GPA pins too" "$w"

# The pinned runs above saved hints; an unpinned run is still refused.
run 60 "$san" --mem "$img" info
w=$(why_not 9 1)
report "a hint never settles an ambiguity" "$w"

run 60 "$san" --mem "$img" --index-gpa 0x1000000 ps
w=$(why_not 3 1)
has "$work/err" "GPA 0x1000000" || w="$w; GPA not named"
report "--index-gpa with no index there: exit 3" "$w"

run 60 "$san" --mem "$img" --index-gpa 0x1234 ps
w=$(why_not 2 1)
report "--index-gpa not 2 MiB-aligned: usage" "$w"

# A guest reset (or QEMU restarted on the same file) leaves the old index
# behind, valid but frozen: the one that moves is the beacon, with a
# warning. A forgery that moves too only makes two alive: refused.
$hostile bump "$img" 32M 5000 &
bumper=$!
run 60 "$san" --mem "$img" ps
w=$(why_not 0 1)
[ "$(wc -l <"$work/out")" = 9 ] || w="$w; not the guest's 8 processes"
has "$work/out" forged && w="$w; the forgery's processes"
has "$work/err" "did not change while this one was alive" || w="$w; no warning"
report "one alive, one frozen (a reset guest's old index): the live one, warned" "$w"

$hostile bump "$img" 8M 5000 &
bumper2=$!
run 60 "$san" --mem "$img" ps
w=$(why_not 9 1)
has "$work/err" "more than one is alive" || w="$w; liveness not said"
report "two alive: refused (exit 9)" "$w"
kill "$bumper" "$bumper2"
wait "$bumper" "$bumper2" 2>/dev/null
bumper=
bumper2=

img=$work/several
$mk --out "$img" --index-offset 32M --interval-ms 600000 || exit 1
for i in 1 2 3 4; do
	$mk --out "$img" --keep --index-offset $((i * 4))M --nonce $i \
		--procs 3 --kthreads 0 --vmas 3 --age-ms $((i * -100000)) \
		--interval-ms 1000 || exit 1
done
run 60 "$san" --mem "$img" ps
w=$(why_not 9 1)
has "$work/err" "5 beacons validate" || w="$w; no count"
has "$work/err" "and 2 more" || w="$w; not counted"
has "$work/err" "s in the future" || w="$w; future not reported"
grep -q -e ', -[0-9]' "$work/err" && w="$w; a negative age"
report "several forged beacons (some from the future): refused, listed" "$w"

# ---- magic floods ----------------------------------------------------------

flood() {	# flood COUNT SIZE
	img=$work/flood$1
	$mk --out "$img" --size "$2" --index-offset 64M --interval-ms 600000 || exit 1
	$hostile flood "$img" 64M "$1" || exit 1
	run 120 "$san" --mem "$img" ps
	w=$(why_not 0 1)
	[ "$(wc -l <"$work/out")" = 9 ] || w="$w; not the 8 processes"
	has "$work/err" "$1 other pages carry the beacon magic" || w="$w; no warning"
	report "flood of $1 busy candidates: the beacon, and a warning" "$w"
}
flood 256 1G
flood 2048 5G

img=$work/floodbusy
$mk --out "$img" --size 1G --index-offset 64M --set seq=9 || exit 1
$hostile flood "$img" 64M 256 || exit 1
run 120 "$san" --mem "$img" ps
w=$(why_not 4 1)
has "$work/err" "busy" || w="$w; not busy"
report "flood and no readable beacon: busy (exit 4)" "$w"

# ---- a live seq bumper -----------------------------------------------------

img=$work/bumped
$mk --out "$img" --size 256M --procs 200000 --kthreads 0 --vmas 0 \
	--index-offset 0 --interval-ms 600000 || exit 1
for us in 1000 20000; do
	$hostile bump "$img" 0 $us &
	bumper=$!
	for args in ps "--json ps"; do
		# shellcheck disable=SC2086
		run 120 "$hw" --mem "$img" $args
		w=
		case $rc in
		0)	lines=$(grep -c -e '"pid"' -e '^ *[0-9]' "$work/out")
			[ "$lines" = 200000 ] || w="$lines records, want 200000" ;;
		4)	has "$work/err" "busy" || w="exit 4 without 'busy'" ;;
		*)	w="exit $rc" ;;
		esac
		report "seq bumped every $us us: $args ends (exit $rc), never torn" "$w"
	done
	kill "$bumper"
	wait "$bumper" 2>/dev/null
	bumper=
done

# ---- giant tables ------------------------------------------------------------

giant() {	# giant PROCS SIZE
	img=$work/giant$1
	$mk --out "$img" --size "$2" --procs "$1" --kthreads 0 --vmas 0 \
		--index-offset 0 --interval-ms 600000 || exit 1
	# The published tables: process records and the string table.
	table_kb=$(( ($1 * 192 + 4096) / 1024 ))	# 1.3 records
	limit=$((3 * table_kb))
	for args in ps "--json ps"; do
		# shellcheck disable=SC2086
		run 600 "$hostile" rss "$limit" "$hw" --mem "$img" $args
		w=$(why_not 0 0)
		report "$1 processes: $args in $(cat "$work/out") (3x the tables)" "$w"
	done
	# One process: its record found by binary search, nothing else read.
	run 600 "$hostile" rss 32768 "$hw" --mem "$img" maps 1
	w=$(why_not 0 0)
	report "$1 processes: maps 1 in $(cat "$work/out") (32 MiB)" "$w"
	run 600 "$hw" --mem "$img" --json ps
	got=$(grep -c '"pid"' "$work/out")
	w=$(why_not 0 0)
	[ "$got" = "$1" ] || w="$w; $got records, want $1"
	tail -c 2 "$work/out" | grep -q '}' || w="$w; not closed"
	report "$1 processes: --json ps lists every one" "$w"
	rm -f "$img"
}
giant 1000000 1G
giant 4000000 1G

# ---- control bytes in every guest string ----------------------------------

esc=$(printf '\033')
bel=$(printf '\007')
img=$work/control
# proc[0] is init: comm, exe (string bytes 1..10, shared by its first three
# VMAs) and [heap] (string bytes 12..17); the kernel release.
$mk --out "$img" --interval-ms 600000 \
	--set "proc[0].comm=${esc}[2Jx${bel}" \
	--set "kernel_release=6.1${esc}]0;owned${bel}" \
	--set strbyte[2]=27 --set strbyte[3]=7 --set strbyte[4]=0x9b \
	--set strbyte[13]=27 --set strbyte[14]=0x7f || exit 1
for args in ps "maps 1" info "--json ps" "--json maps 1" "--json info"; do
	# shellcheck disable=SC2086
	run 60 "$san" --mem "$img" $args
	w=$(why_not 0 0)
	# Text: no C0 control but newline (and tab), no DEL, no C1 as a stray
	# byte or as UTF-8. JSON: no raw C0 and no stray byte (DEL and C1 are
	# plain characters to JSON, which its readers decode).
	python3 - "$work/out" "$args" <<'EOF' || w="$w; a raw control byte"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
json = sys.argv[2].startswith("--json")
bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or
       0xdc80 <= ord(c) <= 0xdcff or
       (not json and 0x7f <= ord(c) <= 0x9f)]
sys.exit(1 if bad else 0)
EOF
	case $args in --json*)
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
			"$work/out" 2>>"$work/err" || w="$w; not JSON" ;;
	esac
	report "control bytes in guest strings: $args shows none raw" "$w"
done

echo "1..$n"
[ $failed -eq 0 ] || { echo "# $failed of $n hostile cases failed"; exit 1; }
