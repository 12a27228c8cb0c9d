#!/bin/sh
# Build the libFuzzer harnesses (clang, ASan + UBSan) and run each for
# HAYWIRE_FUZZ_SECONDS (default 40, two minutes in all):
#   fuzz_decode     the beacon decode path, seeded with fixture images
#   fuzz_answer     the request client's answer validation, seeded with
#                   well-formed answers
#   fuzz_agentless  QEMU's registers and memory-tree text, and the
#                   agentless walk over guest memory with the Debian 6.1
#                   kernel's BTF (its vmlinuz from the project cache; the
#                   walk is left out if it cannot be had), seeded with real
#                   QEMU output and a small well-formed kernel image
# Any crash, leak, sanitizer report or timeout fails.
set -u
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
secs=${HAYWIRE_FUZZ_SECONDS:-40}
out=build/fuzz

command -v clang >/dev/null || { echo "clang not installed: skip"; exit 4; }
mkdir -p "$out/crashes"
rm -rf "$out/seeds" "$out/seeds-answer" "$out/seeds-agentless"
mkdir -p "$out/seeds" "$out/seeds-answer" "$out/seeds-agentless" \
	"$out/corpus" "$out/corpus-answer" "$out/corpus-agentless"

flags="-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -Wall -Wextra -Wshadow -Werror
	-D_GNU_SOURCE -Iinclude -Ihost -Ihost/cli
	$(pkg-config --cflags json-c)"
libs="$(pkg-config --libs json-c 2>/dev/null || echo -ljson-c) $(tools/host-libs.sh)"
for h in fuzz_decode fuzz_answer fuzz_agentless; do
	# shellcheck disable=SC2086
	clang $flags -o "$out/$h" tests/fuzz/$h.c host/lib/*.c host/lib/*/*.c \
		host/cli/output.c $libs || exit 1
done
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
seed strides --proc-stride 224 --vma-stride 80
seed few --procs 2 --kthreads 0 --vmas 3 --no-stats
seed gone --gone
seed odd --set seq=9
seed cameras --cameras 3 --vmas 6
seed rings --rings --procs 3 --kthreads 0 --vmas 3
seed monitor --guest --events 8 --events-written 20 --procs 4 --kthreads 1 --vmas 3
tests/fuzz/answer_seeds.py "$out/seeds-answer" || exit 1

# Agentless seeds: mode byte, then the text or the memory image.
as=$out/seeds-agentless
for f in tests/unit/qemu/registers-*.txt; do
	{ printf '\000'; cat "$f"; } > "$as/$(basename "$f" .txt)"
done
for f in tests/unit/qemu/mtree-*.txt; do
	{ printf '\001'; cat "$f"; } > "$as/$(basename "$f" .txt)"
done
kc=$(tools/fetch-kernels.sh 6.1 2>/dev/null | tail -n 1)
if [ -n "$kc" ] && [ -r "$kc/vmlinuz" ]; then
	export HAYWIRE_FUZZ_BTF="$kc/vmlinuz"
	HAYWIRE_FUZZ_MAKE_SEED=$as/kernel "$out/fuzz_agentless" || exit 1
else
	echo "no 6.1 kernel image in the cache: the agentless walk is not fuzzed"
fi

# run NAME MAX_LEN CORPUS SEEDS
run() {
	name=$1 max_len=$2
	shift 2
	echo "fuzzing $name for $secs s"
	log=$out/$name.log
	"$out/$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$name-" "$@" >"$log" 2>&1
	rc=$?
	grep -e '^stat::number_of_executed_units' -e '^stat::peak_rss' \
		-e '^Done' -e 'INITED' -e 'DONE' "$log"
	if [ $rc -ne 0 ]; then
		echo "$name failed (exit $rc); the end of $log:"
		tail -n 40 "$log"
		return 1
	fi
}
failed=0
run fuzz_decode 65536 "$out/corpus" "$out/seeds" || failed=1
run fuzz_answer 200000 "$out/corpus-answer" "$out/seeds-answer" || failed=1
run fuzz_agentless 131072 "$out/corpus-agentless" "$as" || failed=1
exit $failed
