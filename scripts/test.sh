#!/usr/bin/env bash
# The README's test command: set up everything from the project's own files, lint, then run the whole suite.
# The report test drives a real headless browser, so Debian's chromium is installed first when missing.
set -euo pipefail
bash "$(dirname "$0")/install_chromium.sh"
EXTRAS=all
source "$(dirname "$0")/_venv.sh"
# The lint rules are pyproject.toml's [tool.ruff]; a finding fails the run before the tests start.
ruff check lsis_robust tests benchmarks examples
python -m pytest -q -p no:cacheprovider "$@"
