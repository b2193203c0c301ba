#!/usr/bin/env bash
# Installs the Debian packages Ardoise needs to build, run and test.
# Idempotent: installs only what is missing. Usage: deploy/install-deps.sh [--test]
set -euo pipefail

runtime=(
  build-essential cmake ninja-build pkg-config ccache
  libpoco-dev libsoci-dev libsqlite3-dev libpq-dev
  libboost-dev libboost-filesystem-dev
  liblua5.4-dev libcurl4-openssl-dev libsodium-dev
  nlohmann-json3-dev libkainjow-mustache-dev
)
test_only=(
  catch2 postgresql postgresql-contrib wrk clang libclang-rt-14-dev fet
  curl python3 python3-aiosmtpd poppler-utils
)

want=("${runtime[@]}")
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_only[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js may come from Debian (nodejs + npm) or from a vendor build that
# bundles npm and conflicts with Debian's npm package: only add what is absent.
if [[ "${1:-}" == "--test" ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deploy: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
