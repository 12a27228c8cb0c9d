#!/bin/sh
# Run apt-get/apt-cache against a project-local package index that adds
# <codename>-backports and the suites of the kernel matrix (bullseye and its
# security suite for 5.10, trixie, trixie-backports and sid for the newest
# kernel) to the Debian archive this machine already uses, for amd64 and
# arm64 (the guest architectures).
# The mirror is read from the machine's apt configuration; nothing here
# names a host. The machine's own apt state is never modified.
#
#   tools/apt-local.sh update
#   tools/apt-local.sh apt-cache depends PKG
#   tools/apt-local.sh apt-get download PKG
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HAYWIRE_CACHE:-$top/.cache}
dir=$cache/apt
# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# The suites the index holds, on the archive and on the security archive.
# Changing these lists re-runs setup (the stamp below records them).
SUITES="$codename $codename-backports bullseye trixie trixie-backports sid"
SECURITY_SUITES="bullseye-security"

# The first archive URI that serves suite $1 (default "$codename") in the
# machine's apt sources (one-line .list or deb822 .sources).
archive_uri() {
	suite=${1:-$codename}
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v c="$suite" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++;
			if ($i ~ /^\[/ || $i ~ /\]$/) i++;
			if ($(i + 1) == c) { print $i; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v c="$suite" '
			/^[ \t]*$/ { if (u != "" && s ~ "(^| )" c "( |$)" && t ~ /deb( |$)/) { print u; exit } u = s = t = "" }
			/^URIs:/ { u = $2 } /^Suites:/ { $1 = ""; s = $0 } /^Types:/ { $1 = ""; t = $0 }
			END { if (u != "" && s ~ "(^| )" c "( |$)" && t ~ /deb( |$)/) print u }' "$f"
	done
}

setup() {
	uri=$(archive_uri | head -n 1)
	if [ -z "$uri" ]; then
		echo "apt-local: no Debian archive serving '$codename' in /etc/apt/sources.list*" >&2
		exit 1
	fi
	# The security archive: the one serving $codename-security (bullseye's
	# security suite lives on the same host).
	security=$(archive_uri "$codename-security" | head -n 1)
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	key=/usr/share/keyrings/debian-archive-keyring.gpg
	for s in $SUITES; do
		printf 'deb [signed-by=%s] %s %s main\n' "$key" "$uri" "$s"
	done > "$dir/sources.list.new"
	if [ -n "$security" ]; then
		for s in $SECURITY_SUITES; do
			printf 'deb [signed-by=%s] %s %s main\n' "$key" "$security" "$s"
		done >> "$dir/sources.list.new"
	fi
	mv "$dir/sources.list.new" "$dir/sources.list"
	echo "$SUITES $SECURITY_SUITES" > "$dir/suites"
	rm -f "$dir/.updated"
}

if [ ! -f "$dir/sources.list" ] ||
	[ "$(cat "$dir/suites" 2>/dev/null)" != "$SUITES $SECURITY_SUITES" ]; then
	setup
fi
opts="-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir -o Dir::Cache::archives=$dir/archives
      -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root
      -o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
# The default release is this machine's: a package that is also in a newer
# suite (busybox-static moved to /usr/bin in trixie; trixie's static json-c
# needs glibc 2.38) comes from the release the host builds with, unless a
# caller asks for a suite with -t (the kernels, trixie's libc6 for their
# tools). Only once the lists are there: apt refuses a default release
# that no list it has read carries, and a fresh cache has read none.
release=
if ls "$dir"/lists/*_InRelease >/dev/null 2>&1; then
	release="-o APT::Default-Release=$codename"
fi

case "${1:-}" in
update)
	setup
	# shellcheck disable=SC2086
	apt-get $opts -q update >/dev/null
	;;
apt-get | apt-cache)
	tool=$1
	shift
	# shellcheck disable=SC2086
	exec "$tool" $opts $release "$@"
	;;
*)
	echo "usage: $0 update | apt-get ARGS | apt-cache ARGS" >&2
	exit 2
	;;
esac
