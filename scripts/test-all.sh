#!/usr/bin/env bash
# The whole suite: Python (unit, API, engine, drills), web unit tests, browser tests.
# Every stage runs even if an earlier one failed; the exit code says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

echo "== pytest"
.venv/bin/pytest -q || status=1

if [ -f web/package.json ]; then
  echo "== web unit tests (vitest)"
  (cd web && npm test) || status=1
  echo "== browser tests (playwright + chromium)"
  (cd web && npm run test:e2e) || status=1
fi
exit $status
