#!/usr/bin/env bash
# Installs the Debian 12 packages kubarr needs that are missing.
#   tools/deps.sh build   compiler, cmake and the -dev libraries
#   tools/deps.sh test    build + what the test suite runs (cmocka, curl, PostgreSQL 15
#                         for the import-pg round trip; its system cluster is not used)
#   tools/deps.sh bench   test + wrk and nginx (the HTTP reference)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git
  libnng-dev libmicrohttpd-dev libmsgpack-dev libjwt-dev libsqlite3-dev
  libcurl4-openssl-dev libjansson-dev libsodium-dev liboath-dev libsystemd-dev libssl-dev libcrypt-dev
  libexpat1-dev)
test_pkgs=(libcmocka-dev curl postgresql systemd dpkg-dev python3-yaml gdb python3-botocore npm)
bench_pkgs=(wrk nginx-light)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "kubarr: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
