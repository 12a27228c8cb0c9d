#!/bin/sh
# Run every Haywire test and report TAP in the kselftest style.
#
# Each test is an executable listed in TESTS below. It prints whatever it
# likes (shown as "# " comment lines) and exits 0 for pass, 4 for skip
# (kselftest's KSFT_SKIP) and anything else for failure. A test may print
# nested TAP for its own sub-cases.
#
# usage: tests/run.sh [NAME...]   run only the named tests
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export HAYWIRE_TOP="$top"
# tests/dkms.sh signs the 6.1 module through DKMS's signing configuration
# and leaves it here; tests/vm/vmtest.py loads it in the 6.1 guests.
export HAYWIRE_SIGNED_KO="$top/build/dkms-signed/haywire.ko"
rm -f "$HAYWIRE_SIGNED_KO"

# Order matters: builds first, cheap tests before VM boots.
TESTS="
tests/build.sh
tests/lint.sh
tests/install.sh
tests/dkms.sh
tests/unit/run.sh
tests/monitor/run.sh
tests/badinput.sh
tests/hostile/run.sh
tests/fuzz/run.sh
tests/deb.sh
tests/vm/run.sh
"

if [ $# -gt 0 ]; then
	sel=
	for name in "$@"; do
		for t in $TESTS; do
			case "$t" in *"$name"*) sel="$sel $t" ;; esac
		done
	done
	TESTS=$sel
fi

n=0
for t in $TESTS; do n=$((n + 1)); done
echo "TAP version 13"
echo "1..$n"
i=0
failed=0
for t in $TESTS; do
	i=$((i + 1))
	name=${t#tests/}
	echo "# selftests: haywire: $name"
	start=$(date +%s)
	if [ ! -x "$t" ]; then
		echo "not ok $i selftests: haywire: $name # missing"
		failed=$((failed + 1))
		continue
	fi
	rcfile=${TMPDIR:-/tmp}/haywire-rc.$$
	{
		"$t" 2>&1
		echo $? > "$rcfile"
	} | sed -u 's/^/# /'
	rc=$(cat "$rcfile" 2>/dev/null || echo 1)
	rm -f "$rcfile"
	secs=$(($(date +%s) - start))
	case $rc in
	0) echo "ok $i selftests: haywire: $name # ${secs}s" ;;
	4) echo "ok $i selftests: haywire: $name # SKIP" ;;
	*)
		echo "not ok $i selftests: haywire: $name # exit=$rc ${secs}s"
		failed=$((failed + 1))
		;;
	esac
done
[ $failed -eq 0 ] || echo "# $failed of $n failed"
exit $((failed > 0))
