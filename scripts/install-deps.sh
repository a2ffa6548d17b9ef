#!/usr/bin/env bash
# Installs the Debian packages the build and tests need (ARCHITECTURE §11).
# Idempotent: prints nothing and exits 0 when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libssl-dev openssl libjansson-dev libcbor-dev libsqlite3-dev sqlite3
  libmicrohttpd-dev libcurl4-openssl-dev duktape-dev libseccomp-dev libcmocka-dev
  libpq-dev postgresql redis-server redis-tools curl jq xxd
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
