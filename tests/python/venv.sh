#!/usr/bin/env bash
# Makes the virtualenv the Python API client tests run in (target/pyenv),
# with `requests`, unless it is already there. .ci/run calls it; so does
# the test that needs it. Prints the interpreter's path.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${DOSSIER_PYENV:-$root/target/pyenv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import requests" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "requests>=2.31,<3" >&2
fi
echo "$venv/bin/python"
