#!/bin/sh
# Print a vmlinux.h (C types of a kernel, from its BTF) for the eBPF
# companion's CO-RE programs. The BTF comes from the cached Debian 6.1
# kernel (tools/fetch-kernels.sh 6.1: its bzImage's payload, decompressed)
# or, failing that, from this machine's /sys/kernel/btf/vmlinux. Any kernel
# with the types the programs name will do: CO-RE relocates every access
# against the running kernel's own BTF at load.
#
# usage: tools/vmlinux-h.sh OUT.h
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 OUT.h" >&2; exit 2; }
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Little-endian unsigned integer of $3 bytes at offset $2 of file $1.
le() {
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}

# The bzImage's compressed vmlinux (boot protocol: payload_offset and
# payload_length after the setup sectors), decompressed by its magic.
from_bzimage() {
	img=$1
	sects=$(od -An -tu1 -j 497 -N 1 "$img" | tr -d ' ')
	[ "$sects" -eq 0 ] && sects=4
	start=$(( (sects + 1) * 512 + $(le "$img" 584 4) ))
	len=$(le "$img" 588 4)
	tail -c +$((start + 1)) "$img" | head -c "$len" > "$tmp/payload"
	magic=$(od -An -tx1 -N 4 "$tmp/payload" | tr -d ' ')
	# The kernel's own decompressors stop at the end of the stream; these
	# complain about the size word after it: the ELF magic decides.
	case $magic in
	02214c18) lz4 -dc < "$tmp/payload" ;;
	28b52ffd) zstd -dc < "$tmp/payload" ;;
	fd377a58) xz -dc < "$tmp/payload" ;;
	1f8b*) gzip -dc < "$tmp/payload" ;;
	*) return 1 ;;
	esac > "$tmp/vmlinux" 2>/dev/null || true
	[ "$(od -An -tx1 -N 4 "$tmp/vmlinux" | tr -d ' ')" = 7f454c46 ]
}

src=
if kc=$("$top/tools/fetch-kernels.sh" 6.1 2>/dev/null) &&
	from_bzimage "$kc/vmlinuz" &&
	bpftool btf dump file "$tmp/vmlinux" format c > "$tmp/out.h" 2>/dev/null; then
	src="Debian $(cat "$kc/release")"
elif [ -r /sys/kernel/btf/vmlinux ] &&
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$tmp/out.h"; then
	src="this machine's kernel $(uname -r)"
else
	echo "vmlinux-h: no BTF: neither the cached Debian 6.1 kernel (tools/fetch-kernels.sh 6.1) nor /sys/kernel/btf/vmlinux" >&2
	exit 1
fi
mv "$tmp/out.h" "$out"
echo "vmlinux-h: $out from the BTF of $src" >&2
