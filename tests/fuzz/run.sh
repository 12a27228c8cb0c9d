#!/bin/sh
# Build the libFuzzer harnesses (clang, ASan + UBSan) and run each for
# HAYWIRE_FUZZ_SECONDS (default 60): fuzz_decode over the snapshot decode
# path, seeded with fixture images, and fuzz_answer over the request
# client's answer validation, seeded with well-formed answers. Any crash,
# leak, sanitizer report or timeout fails.
set -u
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
secs=${HAYWIRE_FUZZ_SECONDS:-60}
out=build/fuzz

command -v clang >/dev/null || { echo "clang not installed: skip"; exit 4; }
mkdir -p "$out/corpus" "$out/crashes" "$out/answer-corpus"
rm -rf "$out/seeds" "$out/answer-seeds"
mkdir -p "$out/seeds" "$out/answer-seeds"

flags="-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -Wall -Wextra -Wshadow -Werror
	-D_GNU_SOURCE -Iinclude -Ihost -Ihost/cli $(pkg-config --cflags json-c)"
libs=$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz_decode" tests/fuzz/fuzz_decode.c host/lib/*.c \
	host/cli/output.c $libs || exit 1
# shellcheck disable=SC2086
clang $flags -Ihost/lib -o "$out/fuzz_answer" tests/fuzz/fuzz_answer.c \
	host/lib/*.c host/cli/output.c $libs || exit 1
${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o "$out/mkbeacon" \
	tests/unit/mkbeacon.c tests/unit/fixture.c || exit 1

# Seeds: 4 MiB images with the index at offset 0, cut after the data.
seed() {
	name=$1
	shift
	"$out/mkbeacon" --out "$out/seeds/$name" --size 4M --index-offset 0 \
		--trim --interval-ms 600000 "$@" || exit 1
}
seed plain
seed weird --weird-names --vmas 10
seed flags --truncated --mm-busy --procs 12 --kthreads 3
seed arm64 --machine virt
seed strides --proc-stride 160 --vma-stride 80
seed few --procs 2 --kthreads 0 --vmas 3 --no-stats
seed gone --gone
seed odd --set seq=9
seed cameras --cameras 3 --vmas 6
seed rings --rings --procs 3 --kthreads 0 --vmas 3
tests/fuzz/answer_seeds.py "$out/answer-seeds" || exit 1

# fuzz NAME MAX_LEN CORPUS SEEDS
fuzz() {
	echo "$1: fuzzing for $secs s"
	log=$out/$1.log
	"$out/$1" -max_total_time="$secs" -max_len="$2" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$1-" "$3" "$4" >"$log" 2>&1
	rc=$?
	grep -e '^stat::number_of_executed_units' -e '^stat::peak_rss' \
		-e '^Done' -e 'INITED' -e 'DONE' "$log"
	if [ $rc -ne 0 ]; then
		echo "$1 failed (exit $rc); the end of $log:"
		tail -n 40 "$log"
		return 1
	fi
}
failed=0
fuzz fuzz_decode 65536 "$out/corpus" "$out/seeds" || failed=1
fuzz fuzz_answer 200000 "$out/answer-corpus" "$out/answer-seeds" || failed=1
exit $failed
