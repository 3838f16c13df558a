#!/usr/bin/env bash
# Builds the extension's libmicrohttpd from Debian's source package (fetched by
# scripts/deb-src.sh, unpacked with Debian's patches by scripts/deb-unpack.sh): a static
# library, position-independent, without HTTPS (so without GnuTLS) and without what the
# extension does not call (authentication, the POST processor, upgrades),
# with scripts/mhd-pool-no-zero.patch: a connection's memory pool is not zeroed as it is freed
# (docs/recorder.md, "Eighteenth pass"), so that a pool sized for the 1 MiB request headers
# Lambda's Runtime API takes costs only the pages a request uses.
# Run by make (recorder/extension/module.mk) as: build-mhd.sh DSC OUTDIR; writes
# OUTDIR/libmicrohttpd.a, with the configure and make output in OUTDIR/*.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dsc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src" "$out/libmicrohttpd.a"
echo "runtrail: building libmicrohttpd for the extension (static, no TLS) from $(basename "$dsc")" >&2
bash "$here/deb-unpack.sh" "$dsc" "$out/src" >"$out/unpack.log" 2>&1 ||
  { echo "build-mhd: cannot unpack $dsc (see $out/unpack.log)" >&2; exit 1; }
cd "$out/src"
command -v patch >/dev/null || { echo "build-mhd: needs patch(1) (Debian: patch; dnf: patch)" >&2; exit 1; }
patch -p1 --forward <"$here/mhd-pool-no-zero.patch" >"$out/patch.log" 2>&1 ||
  { echo "build-mhd: cannot apply mhd-pool-no-zero.patch (see $out/patch.log)" >&2; exit 1; }
./configure --disable-https --disable-curl --disable-doc --disable-examples --disable-tools \
  --disable-dauth --disable-bauth --disable-postprocessor --disable-httpupgrade \
  --enable-static --disable-shared --with-pic CC="${CC:-cc}" CFLAGS="-O2 -g -DMHD_POOL_NO_ZERO" \
  >"$out/configure.log" 2>&1 || { echo "build-mhd: configure failed (see $out/configure.log)" >&2; exit 1; }
make -j"$(nproc)" -C src/microhttpd >"$out/make.log" 2>&1 ||
  { echo "build-mhd: make failed (see $out/make.log)" >&2; exit 1; }
cp src/microhttpd/.libs/libmicrohttpd.a "$out/libmicrohttpd.a"
