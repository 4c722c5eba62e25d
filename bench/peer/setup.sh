#!/usr/bin/env bash
# Installs the benchmark peer (Bolt for Python on aiohttp) into .venv-bench at the project root.
# A benchmark dependency only: chief itself and its tests do not need it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python3 -m venv "$root/.venv-bench"
"$root/.venv-bench/bin/pip" install --quiet --disable-pip-version-check -r "$root/bench/peer/requirements.txt"
echo "peer ready: $root/.venv-bench/bin/python"
