#!/usr/bin/env bash
# The whole suite: Python (unit, API, engine, drills), web unit tests, browser tests.
# Every stage runs even if an earlier one failed; the exit code says whether all passed.
#
# pytest runs on T21_TEST_WORKERS pytest-xdist workers (default 4: the tests mostly wait on
# PostgreSQL, the emulators and T21's worker, so more workers than cores pays off on two cores).
# The web stages run alongside pytest, their output kept and printed after it:
#   T21_TEST_ALONGSIDE=vitest (default)  Vitest alongside pytest, then the browser tests
#   T21_TEST_ALONGSIDE=web               Vitest then the browser tests, both alongside pytest
#   T21_TEST_ALONGSIDE=none              one stage after the other, as they print
set -uo pipefail
cd "$(dirname "$0")/.."
# Let Python cache compiled (and pytest's assertion-rewritten) modules: without it every xdist
# worker compiles T21, its test modules and the plugins' modules again.
unset PYTHONDONTWRITEBYTECODE
workers="${T21_TEST_WORKERS:-4}"
alongside="${T21_TEST_ALONGSIDE:-vitest}"
[ -f web/package.json ] || alongside=none
logs="$(mktemp -d "${TMPDIR:-/tmp}/t21-test.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
began=$(date +%s)

stage() {  # stage NAME COMMAND...: runs it, and records its duration and exit code under $logs
  local name="$1" started rc=0
  shift
  started=$(date +%s)
  "$@" || rc=$?
  printf '%-28s %4ss  %s\n' "$name" "$(($(date +%s) - started))" \
    "$([ "$rc" -eq 0 ] && echo passed || echo FAILED)" >>"$logs/summary"
  return "$rc"
}
vitest() { (cd web && npm test); }
# The build made below is the one tested (`npm run test:e2e` would build it again).
playwright() { (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test); }
web_stages() {
  echo "== web unit tests (vitest)"
  stage "web unit tests (vitest)" vitest
  [ "${1:-}" = vitest-only ] && return
  echo "== browser tests (playwright + chromium)"
  stage "browser tests (playwright)" playwright
}

if [ -f web/package.json ]; then
  # Built once, first: pytest checks how the build is delivered (tests/core/test_web_delivery.py
  # fails rather than skips without it) and the browser tests run against it.
  echo "== web build"
  stage "web build" bash -c "cd web && npm run build"
  export T21_REQUIRE_WEB_DIST=1
fi

web_pid=""
case "$alongside" in
  vitest) web_stages vitest-only >"$logs/web.out" 2>&1 & web_pid=$! ;;
  web) web_stages >"$logs/web.out" 2>&1 & web_pid=$! ;;
esac

echo "== pytest (${workers} workers)"
stage "pytest -n $workers" .venv/bin/pytest -q -n "$workers"

case "$alongside" in
  vitest | web)
    wait "$web_pid"
    echo "== (ran alongside pytest:)"
    cat "$logs/web.out"
    [ "$alongside" = vitest ] && {
      echo "== browser tests (playwright + chromium)"
      stage "browser tests (playwright)" playwright
    }
    ;;
  *)
    [ -f web/package.json ] && web_stages
    ;;
esac

echo
echo "== stages (alongside pytest: $alongside)"
cat "$logs/summary"
printf '%-28s %4ss\n' "all stages" "$(($(date +%s) - began))"
! grep -q FAILED "$logs/summary"
