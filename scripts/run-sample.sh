#!/usr/bin/env bash
# The README's first command: install p21-lint the way a user would and run the full gate on sample/,
# a small FastAPI service that breaks every standard on purpose. Exits with p21-lint's exit code: 1 here.
#
#   PYTHON=python3.12 bash scripts/run-sample.sh     # another interpreter
#   VENV=/tmp/p21 bash scripts/run-sample.sh         # another virtualenv (default: .venv-sample)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${VENV:-.venv-sample}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
bin="$(cd "$venv/bin" && pwd)"

echo "== installing p21-lint (pip install .) and the sample's test dependencies into $venv"
"$bin/python" -m pip install --quiet ".[style]" fastapi httpx pytest coverage

echo "== sample/: coverage run -m pytest (the coverage data the gate reads)"
cd sample
rm -f .coverage
"$bin/coverage" run -m pytest -q -p no:cacheprovider

echo "== sample/: p21-lint . --min-coverage 80"
status=0
"$bin/p21-lint" . --min-coverage 80 || status=$?
echo "p21-lint exit code: $status (0 pass, 1 a gate failed, 2 usage/config/tool error)"
exit "$status"
