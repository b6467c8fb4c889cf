#!/usr/bin/env bash
# The README's test command: set up everything from the project's own files, then run the whole suite.
# The report test drives a real headless browser, so Debian's chromium is installed first when missing.
set -euo pipefail
bash "$(dirname "$0")/install_chromium.sh"
EXTRAS=all
source "$(dirname "$0")/_venv.sh"
python -m pytest -q -p no:cacheprovider "$@"
