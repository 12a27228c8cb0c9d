#!/bin/sh
# Run apt-get/apt-cache against a project-local package index that adds
# <codename>-backports to the Debian archive this machine already uses, for
# amd64 and arm64 (the guest architectures).
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
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# The first archive URI that serves "$codename" in the machine's apt sources
# (one-line .list or deb822 .sources).
archive_uri() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v c="$codename" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++;
			if ($i ~ /^\[/ || $i ~ /\]$/) i++;
			if ($(i + 1) == c) { print $i; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v c="$codename" '
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
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	key=/usr/share/keyrings/debian-archive-keyring.gpg
	printf 'deb [signed-by=%s] %s %s main\ndeb [signed-by=%s] %s %s-backports main\n' \
		"$key" "$uri" "$codename" "$key" "$uri" "$codename" > "$dir/sources.list.new"
	mv "$dir/sources.list.new" "$dir/sources.list"
}

[ -f "$dir/sources.list" ] || setup
opts="-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir -o Dir::Cache::archives=$dir/archives
      -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root
      -o APT::Architectures::=amd64 -o APT::Architectures::=arm64"

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
	exec "$tool" $opts "$@"
	;;
*)
	echo "usage: $0 update | apt-get ARGS | apt-cache ARGS" >&2
	exit 2
	;;
esac
