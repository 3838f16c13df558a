#!/usr/bin/env bash
# Builds the extension's own libcurl from Debian's source package (fetched by
# scripts/deb-src.sh): a shared library that speaks HTTP and HTTPS only, with the system's
# OpenSSL (libssl.so.3, libcrypto.so.3) and nothing else, as Amazon Linux 2023's libcurl-minimal
# is cut down. The S3 store is all the extension uses libcurl for (TLS, SigV4, uploads) besides
# streamed responses; Debian's libcurl brings about thirty libraries with it (GnuTLS through
# librtmp, Kerberos, LDAP, SSH, nghttp2, brotli, libidn2, libpsl...), 4 MB of resident memory
# more in each sandbox (docs/recorder.md, "Twenty-sixth pass").
# No CA bundle or folder is compiled in (the build host's would be wrong on Lambda): the
# library verifies with OpenSSL's default store, the one the libssl it is loaded with was built
# for (OPENSSLDIR's cert.pem and certs/, or SSL_CERT_FILE and SSL_CERT_DIR).
# Run by make (recorder/extension/module.mk) as: build-curl.sh DSC OUTDIR; writes
# OUTDIR/libruntrail-curl.so, with the configure and make output in OUTDIR/*.log.
set -euo pipefail
dsc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src" "$out/libruntrail-curl.so"
echo "runtrail: building libcurl for the extension (HTTP(S) and OpenSSL only) from $(basename "$dsc")" >&2
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/deb-unpack.sh" "$dsc" "$out/src" >"$out/unpack.log" 2>&1 ||
  { echo "build-curl: cannot unpack $dsc (see $out/unpack.log)" >&2; exit 1; }
cd "$out/src"
./configure --disable-dependency-tracking --enable-shared --disable-static \
  --with-openssl --without-ca-bundle --without-ca-path --with-ca-fallback \
  --without-zlib --without-brotli --without-zstd --without-libpsl --without-librtmp \
  --without-libidn2 --without-nghttp2 --without-libssh2 --without-gssapi \
  --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
  --disable-mqtt --disable-manual --disable-libcurl-option --disable-ntlm --disable-ntlm-wb \
  --disable-cookies --disable-doh --disable-mime --disable-netrc --disable-alt-svc \
  --disable-hsts --disable-unix-sockets CC="${CC:-cc}" CFLAGS="-O2 -g" \
  >"$out/configure.log" 2>&1 || { echo "build-curl: configure failed (see $out/configure.log)" >&2; exit 1; }
make -j"$(nproc)" -C lib >"$out/make.log" 2>&1 ||
  { echo "build-curl: make failed (see $out/make.log)" >&2; exit 1; }
cp -L lib/.libs/libcurl.so.4 "$out/libruntrail-curl.so"
