#!/usr/bin/env bash
# Installs the Debian packages runtrail needs to build and test, when they are missing.
# Idempotent and silent when everything is present. As non-root it prints the exact command.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev
  musl-tools libzstd-dev zstd libsqlite3-dev sqlite3 libcurl4-openssl-dev curl libncurses-dev
  libmicrohttpd-dev libevent-dev libjansson-dev libssl-dev libexpat1-dev libcriterion-dev
  tmux strace python3 zip unzip cppcheck clang-format patch
)
# Test-time peers: npm packages (s3rver, aws-lambda-ric, AWS SDK) build a native addon; jq runs
# the documented `runtrail show --json | jq` lines (tests/e2e/docs_commands.sh); awscli and
# python3-boto3 are AWS's own clients (TLS, SigV4, the Lambda control plane); golang-go builds
# the Go function the /proc sampler is tested with; gcc-aarch64-linux-gnu builds the arm64
# (Graviton) interposer, which qemu-user runs here (recorder/module.mk, tests/e2e/arm64.sh).
# make bench also counts instructions with valgrind (tests/bench/preload.sh) and times the
# phases of a cold start from kernel tracepoints with perf (tests/bench/coldstart.sh).
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(valgrind linux-perf)
  set -- --test
fi
if [ "${1:-}" = "--test" ]; then
  PKGS+=(nodejs cmake g++ autoconf automake libtool make git jq awscli python3-boto3 golang-go
         gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
  command -v npm >/dev/null 2>&1 || PKGS+=(npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "runtrail: missing packages: ${missing[*]}" >&2
    echo "runtrail: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "runtrail: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The sources of the extension's own libmicrohttpd (static, no TLS) and libcurl; optional.
bash "$(dirname "$0")/deb-src.sh" libmicrohttpd curl
