#!/bin/sh
# make demo: see tools/demo.py.
exec /usr/bin/python3 "$(dirname "$0")/demo.py" "$@"
