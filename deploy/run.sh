#!/usr/bin/env bash
# Builds Ardoise and runs it on SQLite with the demo school.
# Usage: deploy/run.sh   (ARDOISE_LISTEN=127.0.0.1:8080 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1

deploy/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DARDOISE_TESTS=OFF -DARDOISE_BENCH=OFF >/dev/null
cmake --build build/release -j "$(nproc)"  # the server and every first-party plugin

export ARDOISE_LISTEN="${ARDOISE_LISTEN:-127.0.0.1:8080}"
bin=build/release/bin/ardoise
$bin migrate
$bin tenant apply tenants/demo

url="http://${ARDOISE_LISTEN}"
cat <<MSG

Ardoise is starting at ${url}  (demo school: X-Tenant: demo)
Demo sign-ins (school "demo"):
  admin    admin@demo.ardoise.test   / demo-admin-2026
  teacher  prof@demo.ardoise.test    / demo-teacher-2026
  student  eleve@demo.ardoise.test   / demo-student-2026
  parent   parent@demo.ardoise.test  / demo-parent-2026
Try:
  curl -s -X POST ${url}/api/v1/auth/login -H 'X-Tenant: demo' -H 'Content-Type: application/json' \\
       -d '{"email":"admin@demo.ardoise.test","password":"demo-admin-2026"}'

MSG
exec $bin serve
