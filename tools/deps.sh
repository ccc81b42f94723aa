#!/usr/bin/env bash
# Installs the Debian 12 packages kubarr needs that are missing.
#   tools/deps.sh build   compiler, cmake and the -dev libraries
#   tools/deps.sh test    build + what the test suite runs (cmocka, curl, PostgreSQL 15
#                         for the import-pg round trip; its system cluster is not used;
#                         botocore and node for the s3 replica's tests, and the s3rver
#                         test double from npm into ${XDG_CACHE_HOME:-~/.cache}/kubarr/npm;
#                         moto_server is not packaged for Debian 12: the machine image
#                         carries it)
#   tools/deps.sh bench   test + wrk and nginx (the HTTP reference)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git
  libnng-dev libmicrohttpd-dev libmsgpack-dev libjwt-dev libsqlite3-dev
  libcurl4-openssl-dev libjansson-dev libsodium-dev liboath-dev libsystemd-dev libssl-dev libcrypt-dev
  libzstd-dev zlib1g-dev libexpat1-dev)
test_pkgs=(libcmocka-dev curl postgresql systemd dpkg-dev python3-yaml gdb python3-botocore nodejs)
bench_pkgs=(wrk nginx-light)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

# s3rver (npm) for integration_replica_s3, into a per-user cache; after apt.
S3RVER_VERSION=3.7.1
install_s3rver() {
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/kubarr/npm
  [ -x "$dir/node_modules/.bin/s3rver" ] && return 0
  if ! command -v npm >/dev/null; then
    # Debian's nodejs comes without npm (NodeSource's has it)
    ${SUDO:-} apt-get install -y -qq --no-install-recommends npm >/dev/null ||
      { echo "kubarr: npm is missing and could not be installed" >&2; return 1; }
  fi
  echo "kubarr: installing s3rver@$S3RVER_VERSION into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent "s3rver@$S3RVER_VERSION"
}

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-build}" = build ] || install_s3rver
  exit 0
fi

echo "kubarr: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "${1:-build}" = build ] || install_s3rver
