#!/usr/bin/env bash
# The README's main job: set up, then reproduce every result on the embedded defaults into results/.
EXTRAS=torch
source "$(dirname "$0")/_venv.sh"
lsis-robust reproduce "$@"
