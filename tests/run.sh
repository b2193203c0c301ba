#!/usr/bin/env bash
# Builds Ardoise and runs the whole test suite: unit and integration tests on
# SQLite and on a throwaway PostgreSQL cluster, cross-checks with npm
# packages, the kernel tests again under ASan+UBSan, a bounded fuzzing run, a
# smoke run of each benchmark, and the README's run command.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Cache hits across clones in different folders.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

deploy/install-deps.sh --test
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

jobs=$(nproc)
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test -j "$jobs"

source tests/support/pg.sh
trap pg_stop EXIT
pg_start
export ARDOISE_TEST_REQUIRE_PG=1

# One Prism (a mock serving Stripe's OpenAPI document) for the whole run; the
# billing contract test waits until it answers. Without it, the test starts its own.
prism_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tests/js/node_modules/.bin/prism mock -h 127.0.0.1 -p "$prism_port" "$root/../shared/specs/stripe-openapi-trimmed.json" \
  >build/test/prism.log 2>&1 &
prism_pid=$!
trap 'kill "$prism_pid" 2>/dev/null || true; pg_stop' EXIT
export ARDOISE_TEST_STRIPE_MOCK_URL="http://127.0.0.1:$prism_port"

# The stateful Stripe stand-in (tests/js/stripe_fake.mjs) for the behaviour
# tests: each test uses its own secret key, so one fake serves them all.
fake_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node tests/js/stripe_fake.mjs --port "$fake_port" --spec "$root/../shared/specs/stripe-openapi.json" \
  >build/test/stripe_fake.log 2>&1 &
fake_pid=$!
trap 'kill "$prism_pid" "$fake_pid" 2>/dev/null || true; pg_stop' EXIT
for _ in $(seq 100); do
  grep -q "listening on" build/test/stripe_fake.log && break
  kill -0 "$fake_pid" 2>/dev/null || { cat build/test/stripe_fake.log; exit 1; }
  sleep 0.1
done
export ARDOISE_TEST_STRIPE_FAKE_URL="http://127.0.0.1:$fake_port"

echo "== tests (SQLite and PostgreSQL)"
ctest --test-dir build/test --output-on-failure -j 2 --timeout 600

echo "== kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DARDOISE_SANITIZE=ON -DARDOISE_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs" --target kernel_tests ardoise
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
  build/asan/tests/kernel_tests --order rand --warn NoAssertions "~[slow]"

echo "== fuzzing (bounded)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARDOISE_FUZZ=ON \
  -DARDOISE_TESTS=OFF -DARDOISE_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs" --target fuzz_request
mkdir -p build/fuzz/corpus
build/fuzz/tests/fuzz/fuzz_request -max_total_time="${ARDOISE_FUZZ_SECONDS:-60}" -rss_limit_mb=2048 \
  build/fuzz/corpus "$root/tests/fuzz/seeds" 2>&1 | tail -n 3

echo "== benchmark smoke runs"
for b in build/test/tests/bench/*; do
  [[ -x "$b" && -f "$b" ]] || continue
  "$b" --smoke | tail -n 1
done
echo "== the README's run command (deploy/run.sh), until the demo school's admin signs in"
run_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_dir=$(mktemp -d)
ARDOISE_LISTEN="127.0.0.1:$run_port" ARDOISE_DATA_DIR="$run_dir" ARDOISE_DATABASE_URL="sqlite:$run_dir/ardoise.db" \
  deploy/run.sh >build/test/run.log 2>&1 &
run_pid=$!
trap 'kill "$prism_pid" "$fake_pid" "$run_pid" 2>/dev/null || true; pg_stop' EXIT
for _ in $(seq 900); do
  grep -q "listening on" build/test/run.log && break
  kill -0 "$run_pid" 2>/dev/null || { tail -n 20 build/test/run.log; exit 1; }
  sleep 1
done
curl -sf -X POST "http://127.0.0.1:$run_port/api/v1/auth/login" -H 'X-Tenant: demo' -H 'Content-Type: application/json' \
  -d '{"email":"admin@demo.ardoise.test","password":"demo-admin-2026"}' | grep -q '"access_token"' ||
  { echo "the demo school's admin could not sign in"; tail -n 20 build/test/run.log; exit 1; }
kill "$run_pid"
wait "$run_pid" 2>/dev/null || true
rm -rf "$run_dir"
echo "all tests passed"
