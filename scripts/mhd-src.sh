#!/usr/bin/env bash
# Fetches Debian's source package of libmicrohttpd into .deps/src, once (run by scripts/deps.sh).
# From it make builds the extension's own libmicrohttpd (scripts/build-mhd.sh): static, without
# TLS. Debian's shared libmicrohttpd brings GnuTLS and seven libraries more, about 160 page
# faults and 2.3 MB of resident memory in every sandbox, for a proxy that only ever speaks plain
# HTTP on loopback. Without the source (not Debian, not root, offline) the extension links the
# system's libmicrohttpd, as before: nothing fails, and this says so.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$ROOT/.deps/src
compgen -G "$DEST/libmicrohttpd_*.dsc" >/dev/null && exit 0
fallback() {
  echo "runtrail: $1: the extension links the system's libmicrohttpd (with GnuTLS)" >&2
  exit 0
}
command -v apt-get >/dev/null && command -v dpkg-source >/dev/null ||
  fallback "no apt-get or dpkg-source to fetch libmicrohttpd's source"
[ "$(id -u)" -eq 0 ] || fallback "fetching libmicrohttpd's source needs root (run: sudo make deps)"
apt_src() { apt-get -o APT::Sandbox::User=root source "$@"; }
if ! apt_src --print-uris -qq libmicrohttpd >/dev/null 2>&1; then
  # No deb-src entry yet: the same mirror and suite as the binary packages.
  . /etc/os-release
  uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  cat >/etc/apt/sources.list.d/runtrail-src.sources <<EOF
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: ${VERSION_CODENAME:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq >/dev/null 2>&1
fi
mkdir -p "$DEST" || fallback "cannot create $DEST"
tmp=$(mktemp -d "$DEST/.fetch.XXXXXX") || fallback "cannot create a folder in $DEST"
if (cd "$tmp" && apt_src --download-only -qq libmicrohttpd >/dev/null 2>&1) &&
  compgen -G "$tmp/libmicrohttpd_*.dsc" >/dev/null; then
  mv "$tmp"/libmicrohttpd_* "$DEST"/ && rmdir "$tmp"
  echo "runtrail: fetched libmicrohttpd's source package into .deps/src" >&2
else
  rm -rf "$tmp"
  fallback "apt-get source libmicrohttpd failed"
fi
