#!/usr/bin/env bash
# Unpacks a Debian source package (.dsc and its files, as scripts/deb-src.sh fetches them) into
# a new folder, with Debian's patches (their security fixes among them): by dpkg-source where
# there is one, else (an Amazon Linux build container) from the upstream tarball and the
# package's own debian/patches/series, applied in order with patch(1). The two give the same
# tree. Used by scripts/build-mhd.sh and scripts/build-curl.sh.
# Usage: deb-unpack.sh DSC DIR (DIR must not exist); what it did goes to stdout and stderr.
set -euo pipefail
dsc=$1 dir=$2
if command -v dpkg-source >/dev/null; then
  exec dpkg-source -q --no-check -x "$dsc" "$dir"
fi
command -v patch >/dev/null || { echo "deb-unpack: needs patch(1) (dnf: patch)" >&2; exit 1; }
src=$(dirname "$dsc")
name=$(basename "$dsc" .dsc) # PKG_VERSION-REVISION
pkg=${name%%_*}
orig=$(ls "$src/${pkg}"_*.orig.tar.* | grep -v '\.asc$' | head -n 1)
mkdir -p "$dir"
tar -xf "$orig" -C "$dir" --strip-components=1
tar -xf "$src/$name".debian.tar.* -C "$dir"
if [ -f "$dir/debian/patches/series" ]; then
  while read -r p _; do
    case $p in '' | '#'*) continue ;; esac
    patch -d "$dir" -p1 --forward --no-backup-if-mismatch <"$dir/debian/patches/$p"
  done <"$dir/debian/patches/series"
fi
