#!/bin/sh
# Issue 8's figures, this tree against main's 416777f: see tools/bench-hostile.py.
#   tools/bench-hostile.sh [--runs N]
exec /usr/bin/python3 "$(dirname "$0")/bench-hostile.py" "$@"
