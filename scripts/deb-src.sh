#!/usr/bin/env bash
# Fetches Debian's source packages of the libraries the Lambda extension builds for itself into
# .deps/src, each once (run by scripts/deps.sh). Optional: without a source (not Debian, not
# root, offline) the build falls back to the system's library, as said below, and nothing fails.
#   libmicrohttpd  the proxy's HTTP server, static and without TLS (scripts/build-mhd.sh):
#                  Debian's shared one brings GnuTLS and seven libraries more, about 160 page
#                  faults and 2.3 MB of resident memory in every sandbox, for a proxy that only
#                  ever speaks plain HTTP on loopback.
#   curl           the S3 store's HTTP client, a shared library with HTTP(S) and OpenSSL only
#                  (scripts/build-curl.sh), which the extension loads at its first upload:
#                  Debian's libcurl brings about thirty libraries (GnuTLS, Kerberos, LDAP, SSH,
#                  RTMP...), 4 MB of resident memory more in every sandbox that stores to S3.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$ROOT/.deps/src
declare -A WITHOUT=(
  [libmicrohttpd]="the extension links the system's libmicrohttpd (with GnuTLS)"
  [curl]="the extension loads the system's libcurl for S3 (with what it brings)"
)
fallback() { # PKG REASON
  echo "runtrail: $2: ${WITHOUT[$1]}" >&2
}
apt_src() { apt-get -o APT::Sandbox::User=root source "$@"; }
fetch() { # PKG: into $DEST, or a fallback message
  local pkg=$1 tmp
  compgen -G "$DEST/${pkg}_*.dsc" >/dev/null && return 0
  command -v apt-get >/dev/null && command -v dpkg-source >/dev/null ||
    { fallback "$pkg" "no apt-get or dpkg-source to fetch $pkg's source"; return 0; }
  [ "$(id -u)" -eq 0 ] ||
    { fallback "$pkg" "fetching $pkg's source needs root (run: sudo make deps)"; return 0; }
  if ! apt_src --print-uris -qq "$pkg" >/dev/null 2>&1; then
    # No deb-src entry yet: the same mirror and suite as the binary packages.
    . /etc/os-release
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
      head -n 1)
    cat >/etc/apt/sources.list.d/runtrail-src.sources <<EOT
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: ${VERSION_CODENAME:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
    apt-get update -qq >/dev/null 2>&1
  fi
  mkdir -p "$DEST" || { fallback "$pkg" "cannot create $DEST"; return 0; }
  tmp=$(mktemp -d "$DEST/.fetch.XXXXXX") ||
    { fallback "$pkg" "cannot create a folder in $DEST"; return 0; }
  if (cd "$tmp" && apt_src --download-only -qq "$pkg" >/dev/null 2>&1) &&
    compgen -G "$tmp/${pkg}_*.dsc" >/dev/null; then
    mv "$tmp/${pkg}"_* "$DEST"/ && rmdir "$tmp"
    echo "runtrail: fetched $pkg's source package into .deps/src" >&2
  else
    rm -rf "$tmp"
    fallback "$pkg" "apt-get source $pkg failed"
  fi
}
# scripts/deb-src.sh [PKG...]: the packages named, by default both.
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(libmicrohttpd curl)
for p in "${pkgs[@]}"; do
  [ -n "${WITHOUT[$p]:-}" ] || { echo "deb-src: no use for $p here" >&2; exit 2; }
  fetch "$p"
done
exit 0
