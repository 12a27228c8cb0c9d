#!/bin/sh
# The libraries the host library links besides json-c (the agentless walk:
# BTF with libbpf and libelf, kernel images with zlib, xz, lz4 and zstd),
# for scripts that build against host/lib. The Makefile has the same list.
pkg-config --libs libbpf libelf zlib liblzma liblz4 libzstd 2>/dev/null ||
	echo "-lbpf -lelf -lz -llzma -llz4 -lzstd"
