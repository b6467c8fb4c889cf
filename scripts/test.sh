#!/usr/bin/env bash
# The README's test command: set up everything from the project's own files, then run the whole suite.
EXTRAS=all
source "$(dirname "$0")/_venv.sh"
python -m pytest -q -p no:cacheprovider "$@"
