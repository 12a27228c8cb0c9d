#!/bin/sh
# Feed build/san/haywire (ASan + UBSan) bad RAM files and bad requests.
# Each case must exit with the expected code within 10 s, print exactly one
# line on stderr ("haywire: ..."), and trigger no sanitizer report. A few
# good and warning cases check the other side: exit 0 and the warning line.
set -u
top=${HAYWIRE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

make -s san || exit 1
hw=$top/build/san/haywire
mk=$top/build/badinput/mkbeacon
mkdir -p build/badinput
# shellcheck disable=SC2086
${CC:-cc} -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -o "$mk" \
	tests/unit/mkbeacon.c tests/unit/fixture.c || exit 1

# RAM files live on tmpfs, like QEMU's.
work=$(mktemp -d "${HAYWIRE_SHM:-/dev/shm}/haywire-badinput.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
chmod 711 "$work"
export HAYWIRE_HINT_DIR="$work/hints"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

n=0
failed=0

# expect EXIT LINES NAME -- COMMAND...: LINES is the stderr line count.
expect() {
	want=$1 lines=$2 name=$3
	shift 4
	n=$((n + 1))
	timeout 10 "$@" >"$work/out" 2>"$work/err"
	rc=$?
	got_lines=$(wc -l <"$work/err")
	first=$(head -n 1 "$work/err")
	why=
	[ "$rc" = "$want" ] || why="exit $rc, want $want"
	[ "$got_lines" = "$lines" ] || why="$why; $got_lines stderr lines, want $lines"
	if grep -q -e Sanitizer -e 'runtime error' "$work/err"; then
		why="$why; sanitizer report"
	fi
	if [ "$lines" != 0 ] && [ "${first#haywire: }" = "$first" ]; then
		why="$why; stderr does not start with 'haywire: '"
	fi
	if [ -z "$why" ]; then
		echo "ok $n - $name: ${first:-(no message)}"
	else
		echo "not ok $n - $name: ${why#; }"
		sed 's/^/#   /' "$work/err" | head -n 20
		failed=$((failed + 1))
	fi
}

# image NAME [mkbeacon options]: a 64 MiB q35 image, index at 32 MiB, with
# an interval long enough that it never turns stale during the test.
image() {
	f=$work/$1
	shift
	"$mk" --out "$f" --size 64M --interval-ms 600000 "$@" ||
		{ echo "mkbeacon failed for $f" >&2; exit 1; }
}

# Files that are not RAM files.
expect 1 1 "missing file" -- "$hw" --mem "$work/missing" ps
: >"$work/empty"
expect 1 1 "empty file" -- "$hw" --mem "$work/empty" info
printf x >"$work/one"
expect 1 1 "1-byte file" -- "$hw" --mem "$work/one" ps
head -c 3000000 /dev/zero >"$work/odd"
expect 1 1 "size not a multiple of 4096" -- "$hw" --mem "$work/odd" ps
expect 1 1 "directory" -- "$hw" --mem "$work" ps
expect 1 1 "character device" -- "$hw" --mem /dev/null ps
mkfifo "$work/fifo"
expect 1 1 "FIFO (must not block)" -- "$hw" --mem "$work/fifo" ps
image unreadable
chmod 000 "$work/unreadable"
if [ "$(id -u)" != 0 ]; then
	expect 1 1 "unreadable file" -- "$hw" --mem "$work/unreadable" ps
elif command -v setpriv >/dev/null; then
	# root reads anything: drop to nobody for this one
	expect 1 1 "unreadable file" -- setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$hw" --mem "$work/unreadable" ps
else
	n=$((n + 1))
	echo "ok $n - unreadable file # SKIP root without setpriv"
fi

# RAM files without a (valid) beacon.
head -c 64M /dev/zero >"$work/zero"
expect 3 1 "64 MiB of zeros" -- "$hw" --mem "$work/zero" ps
head -c 64M /dev/urandom >"$work/random"
expect 3 1 "64 MiB of random bytes" -- "$hw" --mem "$work/random" info
image cut
truncate -s 33M "$work/cut"
expect 1 1 "valid image truncated in the middle" -- "$hw" --mem "$work/cut" ps
image cut-index --index-offset 62M
truncate -s 62M "$work/cut-index"
expect 3 1 "image truncated before the index" -- "$hw" --mem "$work/cut-index" ps

# One field corrupted at a time.
image magic0 --set magic=0
expect 3 1 "magic zero" -- "$hw" --mem "$work/magic0" ps
image magic1 --set magic=0x4e4f434145425749
expect 3 1 "magic one bit off" -- "$hw" --mem "$work/magic1" ps
image magic-be --set magic=0x4857424541434f4e
expect 3 1 "magic byte-swapped" -- "$hw" --mem "$work/magic-be" ps
image gone --gone
expect 3 1 "HWGONE!! magic (unloaded)" -- "$hw" --mem "$work/gone" ps
image version --set version_major=2
expect 1 1 "major version 2" -- "$hw" --mem "$work/version" info
image index-size --set index_size=8192
expect 1 1 "index_size 8192" -- "$hw" --mem "$work/index-size" info
image extents0 --set extent_count=0
expect 1 1 "extent_count 0" -- "$hw" --mem "$work/extents0" info
image extents65 --set extent_count=65
expect 1 1 "extent_count 65" -- "$hw" --mem "$work/extents65" info
image extent-out --set extent_count=2 --set extents[1].start=0x3e00000 \
	--set extents[1].size=0x400000 --set logical_size=0x600000
expect 1 1 "extent outside the file" -- "$hw" --mem "$work/extent-out" ps
image self-gpa --set self_gpa=0x1000000
expect 1 1 "self_gpa mismatch" -- "$hw" --mem "$work/self-gpa" ps
image section-out --set 'sections[0].offset=0x1fff00'
expect 1 1 "section outside the beacon" -- "$hw" --mem "$work/section-out" ps
image entry-size --set 'sections[0].entry_size=100'
expect 1 1 "entry_size too small" -- "$hw" --mem "$work/entry-size" ps
image overflow --set 'sections[0].count=0x200000000000000'
expect 1 1 "count * entry_size overflow" -- "$hw" --mem "$work/overflow" ps
image string-out --set 'proc[0].exe.off=0xffffff00'
expect 1 1 "string out of bounds" -- "$hw" --mem "$work/string-out" ps
image string-nul --set 'proc[0].exe.len=3'
expect 1 1 "string not NUL-terminated" -- "$hw" --mem "$work/string-nul" --json ps
image comm --set 'proc[0].comm=AAAAAAAAAAAAAAAA'
expect 1 1 "comm not NUL-terminated" -- "$hw" --mem "$work/comm" ps
image state --set 'proc[3].state=Q'
expect 1 1 "bad state letter" -- "$hw" --mem "$work/state" ps
image unsorted --set 'proc[5].pid=3' --set 'proc[5].tgid=3'
expect 1 1 "processes not sorted" -- "$hw" --mem "$work/unsorted" ps
image vma-range --set 'proc[4].vma_first=4000000000'
expect 1 1 "VMA range outside the table" -- "$hw" --mem "$work/vma-range" ps
image vma-overlap --set 'vma[9].start=0x555500000000'
expect 1 1 "overlapping VMAs" -- "$hw" --mem "$work/vma-overlap" maps 112
image generation0 --set generation=0
expect 4 1 "generation 0 (nothing published)" -- "$hw" --mem "$work/generation0" ps
image odd --set seq=7
expect 4 1 "odd seq forever" -- "$hw" --mem "$work/odd" ps
expect 4 1 "odd seq forever (maps)" -- "$hw" --mem "$work/odd" maps 1

# Bad requests against a good image.
image good --truncated --mm-busy
expect 5 1 "PID not in the snapshot" -- "$hw" --mem "$work/good" maps 99999
expect 4 1 "maps of an mm-busy process" -- "$hw" --mem "$work/good" maps 112
expect 2 1 "PID not a number" -- "$hw" --mem "$work/good" maps abc
expect 2 1 "PID zero" -- "$hw" --mem "$work/good" maps 0
expect 2 1 "maps without PID" -- "$hw" --mem "$work/good" maps
expect 2 1 "no command" -- "$hw" --mem "$work/good"
expect 2 1 "unknown command" -- "$hw" --mem "$work/good" frobnicate
expect 2 1 "top without a terminal" -- "$hw" --mem "$work/good" top
expect 2 1 "top -d not seconds" -- "$hw" --mem "$work/good" top -b -d x
expect 2 1 "-b for ps" -- "$hw" --mem "$work/good" ps -b
expect 2 1 "exporter with --mem" -- "$hw" --mem "$work/good" exporter --vm a=/x
expect 2 1 "--vm for ps" -- "$hw" --mem "$work/good" ps --vm a=/x
expect 1 1 "exporter --top too large" -- "$hw" exporter --vm a=/x --top 51 --scrapes 1
expect 1 1 "exporter without guests" -- "$hw" exporter --scrapes 1
expect 2 1 "--mem and --domain" -- "$hw" --mem "$work/good" --domain a ps
expect 2 1 "exporter with --domain" -- "$hw" --domain a exporter --libvirt a
expect 2 1 "--libvirt for ps" -- "$hw" --mem "$work/good" ps --libvirt a
expect 1 1 "exporter --libvirt not a vm name" -- "$hw" exporter --libvirt 'a b' --scrapes 1
expect 1 1 "--domain without a libvirt to ask" -- "$hw" \
	--libvirt-uri "qemu+unix:///session?socket=$work/no-libvirt-sock" --domain a ps
expect 2 1 "unknown option" -- "$hw" --mem "$work/good" --frobnicate ps
expect 2 1 "no RAM file" -- env -u HAYWIRE_MEM "$hw" ps
expect 2 1 "--index-gpa not hexadecimal" -- "$hw" --mem "$work/good" --index-gpa xyz ps
expect 2 1 "HAYWIRE_INDEX_GPA not 2 MiB-aligned" -- env HAYWIRE_INDEX_GPA=0x2001000 "$hw" --mem "$work/good" ps

# A second index: never a guess (tests/hostile/run.sh has the rest).
image two --nonce 0x1111
"$mk" --out "$work/two" --keep --index-offset 8M --nonce 0x2222 ||
	{ echo "mkbeacon failed" >&2; exit 1; }
expect 9 1 "two valid indexes" -- "$hw" --mem "$work/two" ps
expect 9 1 "two valid indexes, JSON" -- "$hw" --mem "$work/two" --json info
expect 3 1 "--index-gpa where no index is" -- "$hw" --mem "$work/two" --index-gpa 0x400000 ps

# Request commands and process memory (1.1).
image rings --rings
image cams --cameras 4
image plain
expect 2 1 "translate without an address" -- "$hw" --mem "$work/rings" translate 1
expect 2 1 "translate: address not hex" -- "$hw" --mem "$work/rings" translate 1 xyz
expect 2 1 "translate: length 0" -- "$hw" --mem "$work/rings" translate 1 0x1000 0
expect 2 1 "translate: length not a number" -- "$hw" --mem "$work/rings" translate 1 1000 12Q
expect 2 1 "translate: range wraps around" -- "$hw" --mem "$work/rings" translate 1 ffffffffffffff00 0x1000
expect 2 1 "translate: address too long" -- "$hw" --mem "$work/rings" translate 1 123456789abcdef01
expect 2 1 "read without a length" -- "$hw" --mem "$work/rings" read 1 0x1000
expect 2 1 "read --json of 1 GiB" -- "$hw" --mem "$work/rings" --json read 1 0x1000 1G
expect 2 1 "read -o and --json" -- "$hw" --mem "$work/rings" --json read 1 0x1000 16 -o "$work/x"
expect 2 1 "-o with ps" -- "$hw" --mem "$work/rings" ps -o "$work/x"
expect 2 1 "--via-guest with ps" -- "$hw" --mem "$work/rings" --via-guest ps
expect 2 1 "--timeout not a number" -- "$hw" --mem "$work/rings" --timeout abc ping
expect 2 1 "--timeout 0" -- "$hw" --mem "$work/rings" --timeout 0 ping
expect 2 1 "camera --off without a PID" -- "$hw" --mem "$work/cams" camera --off
expect 2 1 "camera with two PIDs" -- "$hw" --mem "$work/cams" camera 1 2
expect 2 1 "refresh with an argument" -- "$hw" --mem "$work/rings" refresh 1
expect 2 1 "detail without a PID" -- "$hw" --mem "$work/rings" detail
expect 5 1 "translate: PID not in the snapshot" -- "$hw" --mem "$work/rings" translate 99999 0x1000
expect 5 1 "read: kernel thread (no address space)" -- "$hw" --mem "$work/rings" read 2 0x1000 16
expect 7 1 "read: address not mapped" -- "$hw" --mem "$work/rings" read 1 0x400000 16
expect 7 1 "read -o: address not mapped, no file left" -- "$hw" --mem "$work/rings" read 1 0x400000 16 -o "$work/out.bin"
if [ -e "$work/out.bin" ]; then
	echo "# ^ read -o left $work/out.bin behind"
	failed=$((failed + 1))
fi
expect 0 0 "translate: all unmapped" -- "$hw" --mem "$work/rings" --json translate 1 0x400000 2M
expect 1 1 "refresh: a 1.0 beacon has no rings" -- "$hw" --mem "$work/plain" refresh
expect 1 1 "camera: a 1.0 beacon has no cameras" -- "$hw" --mem "$work/plain" camera
expect 1 1 "read --via-guest: a 1.0 beacon has no rings" -- "$hw" --mem "$work/plain" --via-guest read 1 0x1000 16
expect 4 1 "refresh: no guest answers (timeout)" -- "$hw" --mem "$work/rings" --timeout 300 refresh
expect 4 1 "detail: no guest answers (timeout)" -- "$hw" --mem "$work/rings" --timeout 300 detail 1
expect 4 1 "translate --via-guest: no guest answers" -- "$hw" --mem "$work/rings" --timeout 300 --via-guest translate 1 0x1000
# Every slot held by a live client (pid 1) with a lease that never ends.
cp "$work/rings" "$work/full"
python3 - "$work/full" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    for slot in range(16):
        f.seek(32 * 1024 * 1024 + 4096 + slot * 128)
        f.write(struct.pack("<QQ", 1 << 32 | 0x1000 + slot, (1 << 63) - 1))
PY
expect 4 1 "ping: the request ring is full" -- "$hw" --mem "$work/full" --timeout 300 ping
grep -q 'ring is full' "$work/err" || { echo "# ^ expected 'ring is full'"; failed=$((failed + 1)); }
expect 0 0 "camera: the list" -- "$hw" --mem "$work/cams" camera
expect 0 0 "camera PID already watched: no request" -- "$hw" --mem "$work/cams" --json camera 1
expect 4 1 "camera PID: all cameras on" -- "$hw" --mem "$work/cams" camera 999
expect 5 1 "camera --off PID nobody watches" -- "$hw" --mem "$work/cams" camera --off 999
image cam-corrupt --cameras 1 --set 'run[0].state=9'
expect 1 1 "camera: a corrupt page run" -- "$hw" --mem "$work/cam-corrupt" camera 1
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 644 "$work/rings"
	expect 1 1 "refresh: RAM file not writable" -- setpriv --reuid=65534 \
		--regid=65534 --clear-groups "$hw" --mem "$work/rings" refresh
	grep -q 'for writing' "$work/err" || { echo "# ^ expected 'for writing'"; failed=$((failed + 1)); }
fi

# The other side: success, with exactly the warnings due.
expect 0 1 "truncated snapshot: warning, then ps" -- "$hw" --mem "$work/good" ps
sed -n 1p "$work/err" | grep -q 'warning: the snapshot is truncated' ||
	{ echo "# ^ expected the truncation warning"; failed=$((failed + 1)); }
image fine
expect 0 0 "good image: ps" -- "$hw" --mem "$work/fine" ps
expect 0 0 "good image: maps, JSON, options after the command" -- \
	env HAYWIRE_MEM="$work/fine" "$hw" maps 1 --json --no-hint
image stale --age-ms 30000 --interval-ms 1000
expect 0 1 "stale snapshot: one warning" -- "$hw" --mem "$work/stale" info

# ---- translate, read, sources and QMP ----------------------------------

expect 2 1 "unknown source" -- "$hw" --mem "$work/fine" --source bogus ps
expect 2 1 "memfile without --qmp" -- env -u HAYWIRE_QMP "$hw" \
	--mem "$work/fine" --source memfile ps
expect 2 1 "qmp source without --qmp" -- env -u HAYWIRE_QMP "$hw" \
	--source qmp ps
expect 2 1 "--qmp-timeout 0" -- "$hw" --mem "$work/fine" --qmp-timeout 0 ps
expect 2 1 "--runs not a number" -- "$hw" --mem "$work/fine" --runs x ps
expect 2 1 "-o with ps" -- "$hw" --mem "$work/fine" -o "$work/o" ps
expect 2 1 "--via-guest with an agentless source" -- "$hw" --mem "$work/fine" \
	--qmp "$work/no-such.sock" --source memfile --via-guest read 1 0x1000 16
expect 2 1 "refresh with an agentless source" -- "$hw" --mem "$work/fine" \
	--qmp "$work/no-such.sock" --source qmp refresh
expect 2 1 "translate: address not a number" -- "$hw" --mem "$work/fine" \
	translate 1 xyz
expect 2 1 "translate: range wraps" -- "$hw" --mem "$work/fine" \
	translate 1 0xfffffffffffff000 8K
expect 2 1 "read: length 0" -- "$hw" --mem "$work/fine" read 1 0x1000 0
expect 7 1 "read: 2 GiB streams, stops at the first hole" -- "$hw" \
	--mem "$work/fine" read 1 0x1000 2G -o "$work/big"
expect 1 0 "read: nothing left behind after a failed read" -- \
	test -e "$work/big"
expect 2 1 "read without length" -- "$hw" --mem "$work/fine" read 1 0x1000
expect 5 1 "translate: PID not in the snapshot" -- "$hw" --mem "$work/fine" \
	translate 99999 0x400000
expect 0 0 "translate: unmapped range" -- "$hw" --mem "$work/fine" \
	translate 1 0x400000 64K
expect 7 1 "read: address not mapped" -- "$hw" --mem "$work/fine" \
	read 1 0x400000 16
expect 1 1 "diff without --qmp" -- env -u HAYWIRE_QMP "$hw" \
	--mem "$work/fine" diff
expect 1 1 "QMP socket missing" -- "$hw" --mem "$work/fine" \
	--qmp "$work/no-such.sock" info

# A fake QMP server per behaviour (tests/unit/fakeqmp.py).
fakes=
fake() {
	/usr/bin/python3 tests/unit/fakeqmp.py "$work/$1.sock" "$@" &
	fakes="$fakes $!"
	i=0
	while [ ! -S "$work/$1.sock" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}
# shellcheck disable=SC2154 # p is the trap's own loop variable
trap 'for p in $fakes; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
for mode in malformed silent close nogreeting hmp error; do
	fake $mode
done
fake good "$work/fine"
q=500
expect 0 0 "beacon with QMP: the maps agree" -- "$hw" --mem "$work/fine" \
	--qmp "$work/good.sock" info
grep -q "map check: *QEMU's map and the beacon's agree" "$work/out" ||
	{ echo "# ^ expected the map check line"; failed=$((failed + 1)); }
expect 1 1 "QMP: RAM file is not QEMU's" -- "$hw" --mem "$work/good" \
	--qmp "$work/good.sock" info
expect 1 1 "QMP: malformed reply" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/malformed.sock" info
expect 1 1 "QMP: never answers" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/silent.sock" info
expect 1 1 "QMP: closes mid-reply" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/close.sock" info
expect 1 1 "QMP: no greeting" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/nogreeting.sock" info
expect 1 1 "QMP: an HMP monitor" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/hmp.sock" info
expect 1 1 "QMP: QEMU errors" -- "$hw" --mem "$work/fine" --qmp-timeout $q \
	--qmp "$work/error.sock" info
expect 1 1 "memfile: no --btf" -- env -u HAYWIRE_BTF "$hw" \
	--mem "$work/fine" --qmp "$work/good.sock" --source memfile ps
expect 1 1 "memfile: --btf not kernel types" -- "$hw" --mem "$work/fine" \
	--qmp "$work/good.sock" --source memfile --btf "$work/random" ps
printf 'ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n' \
	>"$work/System.map"
printf 'ffffffff81000000 T _text\nffffffff81800000 D linux_banner\n' \
	>"$work/kallsyms"
kc=$(tools/fetch-kernels.sh 6.1 2>/dev/null | tail -n 1)
if [ -n "$kc" ] && [ -r "$kc/vmlinuz" ]; then
	expect 1 1 "memfile: Debian's placeholder System.map" -- "$hw" \
		--mem "$work/fine" --qmp "$work/good.sock" --source memfile \
		--btf "$kc/vmlinuz" --system-map "$work/System.map" ps
	expect 1 1 "memfile: no kernel in the RAM" -- "$hw" --mem "$work/fine" \
		--qmp "$work/good.sock" --source memfile --btf "$kc/vmlinuz" \
		--system-map "$work/kallsyms" ps
	expect 1 1 "qmp: no kernel in the RAM (reads by pmemsave)" -- "$hw" \
		--qmp "$work/good.sock" --source qmp --btf "$kc/vmlinuz" \
		--system-map "$work/kallsyms" maps 1
	# arm64 (virt): the kernel is found from its Image in RAM; a decoy
	# Image (magic and banner, nothing behind them) is refused, as is RAM
	# without any, and symbols without data (no CONFIG_KALLSYMS_ALL)
	/usr/bin/python3 - "$work" <<-'EOF'
	import struct, sys
	w = sys.argv[1]
	ram = bytearray(4 << 20)
	ram[0x38:0x3c] = b"ARM\x64"
	ram[0x10000:0x10010] = b"Linux version 6."
	ram[0x20000:0x20008] = struct.pack("<Q", 0xffff800008000000 - 0x40000000)
	open(w + "/arm64-decoy", "wb").write(ram)
	open(w + "/arm64-empty", "wb").write(bytes(4 << 20))
	syms = [(0, "T", "_text"), (0x10000, "D", "linux_banner"),
	        (0x20000, "D", "kimage_voffset"), (0x20008, "D", "memstart_addr"),
	        (0x30000, "D", "init_uts_ns"), (0x40000, "D", "init_task"),
	        (0x100000, "D", "swapper_pg_dir"), (0x1000000, "B", "_end")]
	with open(w + "/kallsyms-arm64", "w") as f:
	    for off, kind, name in syms:
	        f.write(f"{0xffff800008000000 + off:016x} {kind} {name}\n")
	with open(w + "/kallsyms-arm64-text", "w") as f:
	    f.write("ffff800008000000 T _text\nffff800008010000 T _stext\n")
	EOF
	fake arm64 "$work/arm64-decoy"
	mv "$work/arm64.sock" "$work/arm64-decoy.sock"
	fake arm64 "$work/arm64-empty"
	expect 1 1 "arm64 memfile: a decoy Image in RAM" -- "$hw" \
		--mem "$work/arm64-decoy" --qmp "$work/arm64-decoy.sock" \
		--source memfile --btf "$kc/vmlinuz" \
		--system-map "$work/kallsyms-arm64" ps
	grep -q "swapper_pg_dir" "$work/err" ||
		{ echo "# ^ expected swapper_pg_dir's refusal"; failed=$((failed + 1)); }
	expect 1 1 "arm64 qmp: no kernel Image in RAM" -- "$hw" \
		--qmp "$work/arm64.sock" --source qmp --btf "$kc/vmlinuz" \
		--system-map "$work/kallsyms-arm64" ps
	grep -q "no arm64 kernel Image" "$work/err" ||
		{ echo "# ^ expected 'no arm64 kernel Image'"; failed=$((failed + 1)); }
	expect 1 1 "arm64 memfile: symbols without data" -- "$hw" \
		--mem "$work/arm64-empty" --qmp "$work/arm64.sock" \
		--source memfile --btf "$kc/vmlinuz" \
		--system-map "$work/kallsyms-arm64-text" ps
	grep -q "CONFIG_KALLSYMS_ALL" "$work/err" ||
		{ echo "# ^ expected CONFIG_KALLSYMS_ALL"; failed=$((failed + 1)); }
else
	n=$((n + 1))
	echo "ok $n - memfile and qmp sources over a fake QEMU # SKIP no 6.1 kernel image"
fi

echo "1..$n"
[ $failed -eq 0 ]
