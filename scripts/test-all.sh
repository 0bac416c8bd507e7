#!/usr/bin/env bash
# The whole suite: Python (unit, API, engine, drills), web unit tests, browser tests.
# Every stage runs even if an earlier one failed; the exit code says whether all passed.
#
# pytest runs on T21_TEST_WORKERS pytest-xdist workers (default 4: the tests mostly wait on
# PostgreSQL, the emulators and T21's worker, so more workers than cores pays off on two cores).
# The web unit tests (Vitest) run while pytest does, their output kept and printed after it;
# the browser tests, which start a server and Chromium of their own, run last.
# T21_TEST_SERIAL=1 runs the stages one after the other instead.
set -uo pipefail
cd "$(dirname "$0")/.."
# Let Python cache compiled (and pytest's assertion-rewritten) modules: without it every xdist
# worker compiles T21, its test modules and the plugins' modules again.
unset PYTHONDONTWRITEBYTECODE
status=0
workers="${T21_TEST_WORKERS:-4}"
summary=()
began=$(date +%s)

record() {  # record NAME SECONDS EXIT-CODE
  local verdict="passed"
  [ "$3" -eq 0 ] || { verdict="FAILED"; status=1; }
  summary+=("$(printf '%-30s %4ss  %s' "$1" "$2" "$verdict")")
}

vitest() {  # runs the web unit tests; leaves their duration and exit code in $1.time / $1.rc
  local started=$(date +%s) rc=0
  (cd web && npm test) || rc=$?
  echo "$(($(date +%s) - started))" >"$1.time"
  echo "$rc" >"$1.rc"
}

web=0
[ -f web/package.json ] && web=1
alongside=0
[ "$web" = 1 ] && [ "${T21_TEST_SERIAL:-0}" != 1 ] && alongside=1

if [ "$alongside" = 1 ]; then
  vitest_out="$(mktemp "${TMPDIR:-/tmp}/t21-vitest.XXXXXX")"
  vitest "$vitest_out" >"$vitest_out" 2>&1 &
  vitest_pid=$!
fi

echo "== pytest (${workers} workers)"
started=$(date +%s)
.venv/bin/pytest -q -n "$workers"
record "pytest -n $workers" "$(($(date +%s) - started))" $?

if [ "$web" = 1 ]; then
  if [ "$alongside" = 1 ]; then
    wait "$vitest_pid"
    echo "== web unit tests (vitest, ran alongside pytest)"
    cat "$vitest_out"
    record "web unit tests (vitest)" "$(cat "$vitest_out.time")" "$(cat "$vitest_out.rc")"
    rm -f "$vitest_out" "$vitest_out.time" "$vitest_out.rc"
  else
    echo "== web unit tests (vitest)"
    started=$(date +%s)
    vitest_rc=0
    (cd web && npm test) || vitest_rc=$?
    record "web unit tests (vitest)" "$(($(date +%s) - started))" "$vitest_rc"
  fi
  echo "== browser tests (playwright + chromium)"
  started=$(date +%s)
  (cd web && npm run test:e2e)
  record "browser tests (playwright)" "$(($(date +%s) - started))" $?
fi

echo
echo "== stages$([ "$alongside" = 1 ] && echo " (vitest ran alongside pytest)")"
printf '%s\n' "${summary[@]}"
printf '%-30s %4ss\n' "make test, all stages" "$(($(date +%s) - began))"
exit $status
