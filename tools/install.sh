#!/bin/sh
# make install / make uninstall.
#
# usage: tools/install.sh install < LIST     LIST: "MODE SRC DEST" lines,
#                                            MODE an octal mode or "link"
#                                            (SRC is then the link's target)
#        tools/install.sh uninstall
#
# DESTDIR is prepended to every DEST. install records every file it wrote,
# and every directory it had to create, in $DESTDIR$MANIFEST (unless
# MANIFEST is empty); uninstall removes exactly those, newest first, so
# that it leaves what was there before.
set -eu
destdir=${DESTDIR:-}
manifest=${MANIFEST:-}
made=

record() {
	made="$made
$1"
}

# mkdir -p that records the directories it creates, outermost first.
make_dir() {
	[ -d "$1" ] && return 0
	make_dir "$(dirname "$1")"
	mkdir "$1"
	record "d ${1#"$destdir"}"
}

install_all() {
	# Installing again: the directories the first install made are still
	# ours to remove.
	if [ -n "$manifest" ] && [ -f "$destdir$manifest" ]; then
		made=$(grep '^d ' "$destdir$manifest" || true)
	fi
	while read -r mode src dest; do
		[ -n "$mode" ] || continue
		d=$destdir$dest
		make_dir "$(dirname "$d")"
		if [ "$mode" = link ]; then
			ln -sfn "$src" "$d"
		else
			install -m "$mode" "$src" "$d"
		fi
		echo "installed $d"
		record "f $dest"
	done
	[ -n "$manifest" ] || return 0
	make_dir "$(dirname "$destdir$manifest")"
	record "f $manifest"
	echo "$made" | sed '/^$/d' > "$destdir$manifest"
}

uninstall_all() {
	[ -n "$manifest" ] || { echo "uninstall: no MANIFEST set" >&2; exit 1; }
	m=$destdir$manifest
	[ -f "$m" ] || { echo "uninstall: nothing installed here ($m not found)" >&2; exit 1; }
	# Newest first: files before the directories that were made for them.
	tac "$m" | while read -r kind path; do
		case "$kind" in
		f) rm -f "$destdir$path" && echo "removed $destdir$path" ;;
		d) rmdir "$destdir$path" 2>/dev/null ||
			echo "kept $destdir$path (not empty)" ;;
		esac
	done
}

case "${1:-}" in
install) install_all ;;
uninstall) uninstall_all ;;
*) echo "usage: tools/install.sh install|uninstall" >&2; exit 2 ;;
esac
