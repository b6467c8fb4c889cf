# Sourced by the README's commands: make (or reuse) the project's virtual
# environment and install the package with the extras named in $EXTRAS.
# torch is pinned in pyproject.toml to the release that pip takes as a local
# CPU wheel here; an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LSIS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
