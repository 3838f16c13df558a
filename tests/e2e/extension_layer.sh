#!/usr/bin/env bash
# The runtrail layer as shipped: `runtrail layer` writes the zip, its unpacked tree is
# self-contained (the extension finds its bundled libraries through its run path) and records
# when used as the only layer; and the wrapper's decisions (a static program,
# recorder/wrapper/): redirect the runtime only when the extension's ready file names a live
# process, append to an existing LD_PRELOAD, keep the runtime's arguments, and run the runtime
# unchanged otherwise (no ready file, stale pid, RUNTRAIL_DISABLE=1, garbage in the ready
# file); a missing runtime exits 127, as a shell's exec did.
source "$(dirname "$0")/../lib.sh"
ROOT=$RT_ROOT
LAYER=$ROOT/$BUILD/layer
WRAPPER=$LAYER/runtrail/wrapper
C_BOOTSTRAP=$ROOT/$BUILD/samples/c/bootstrap

# --- runtrail layer ---
expect_exit "runtrail layer -o FILE" 0 "$RUNTRAIL" layer -o "$T_TMP/layer.zip"
unzip -Z1 "$T_TMP/layer.zip" | grep -v '/$' | sort >"$T_TMP/zip.list"
# libmicrohttpd is linked statically where make found its source (.deps/src, make deps), and
# jansson and libevent where the system has their static archives (Debian's -dev packages);
# the layer carries each one the extension links as a shared library (NEEDED), and no other.
NEEDED=$(readelf -d "$LAYER/extensions/runtrail" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
SHARED_LIBS=$(grep -E '^lib(microhttpd|jansson|event_core|event_extra)[.-]' <<<"$NEEDED")
# The layer carries the extension's own libcurl where make built it from Debian's source
# (.deps/src, make deps: scripts/build-curl.sh).
OWN_CURL=
if compgen -G "$ROOT/.deps/src/curl_*.dsc" >/dev/null; then
    OWN_CURL=runtrail/lib/libruntrail-curl.so
    expect_eq "the extension's own libcurl needs OpenSSL and libc, nothing else (readelf)" \
        "libc.so.6 libcrypto.so.3 libssl.so.3" \
        "$(readelf -d "$LAYER/$OWN_CURL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | paste -sd' ')"
fi
printf '%s\n' extensions/runtrail ${SHARED_LIBS:+$(sed 's|^|runtrail/lib/|' <<<"$SHARED_LIBS")} \
    runtrail/lib/libruntrail-preload.so $OWN_CURL runtrail/wrapper | sort >"$T_TMP/zip.want"
if [ -z "$SHARED_LIBS" ]; then
    # (a sanitizer build also needs the sanitizers' runtimes)
    expect_eq "every library linked in: the extension needs libc alone, and looks in no runtrail/lib" \
        "libc.so.6 0" "$(grep -vE '^lib(asan|ubsan)\.so' <<<"$NEEDED" | paste -sd' ') $(readelf -d "$LAYER/extensions/runtrail" | grep -c 'runtrail/lib')"
fi
if compgen -G "$ROOT/.deps/src/libmicrohttpd_*.dsc" >/dev/null; then
    expect_eq "with libmicrohttpd's source, the extension loads no TLS library (ldd)" "" \
        "$(ldd "$LAYER/extensions/runtrail" | grep -E -o 'lib(gnutls|ssl|curl|microhttpd)[^ ]*' | paste -sd' ')"
fi
expect_file "the zip holds the extension, the wrapper, the interposer and the libraries" \
    "$T_TMP/zip.want" "$T_TMP/zip.list"
expect_exit "runtrail layer: unknown option is a usage error" 2 "$RUNTRAIL" layer --frob
expect_exit "runtrail layer --from a folder that is no layer" 2 "$RUNTRAIL" layer --from "$T_TMP"
expect_exit "runtrail layer --help" 0 "$RUNTRAIL" layer --help
expect_grep "help names the man page" 'runtrail-layer\(1\)' "$T_TMP/last.out"

mkdir -p "$T_TMP/opt"
(cd "$T_TMP/opt" && unzip -q "$T_TMP/layer.zip")
ldd "$T_TMP/opt/extensions/runtrail" >"$T_TMP/ldd.out"
for lib in $SHARED_LIBS; do
    expect_grep "unpacked: the extension loads $lib from the layer" \
        "$lib => $T_TMP/opt/extensions/../runtrail/lib/$lib" "$T_TMP/ldd.out"
done
expect_no_grep "unpacked: no library missing" 'not found' "$T_TMP/ldd.out"

# The unpacked zip as the only layer: the function answers and a bundle is sealed.
mkdir -p "$T_TMP/run"
# (No RUNTRAIL_RUN_DIR: the extension and the wrapper agree on /tmp/runtrail-PORT.)
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/opt" --env RUNTRAIL_STORE="$T_TMP/store" \
    --env RUNTRAIL_SPOOL_DIR="$T_TMP/spool" \
    --env RUNTRAIL_PROXY_PORT="$(free_port)" --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt" \
    --task-root "$ROOT/samples/c-bootstrap" --event "$ROOT/samples/events/s3-put.json" \
    -- "$C_BOOTSTRAP" >"$T_TMP/zip.out" 2>"$T_TMP/zip.err"
expect_grep "layer from the zip: the function answers" '"bucket":"example-uploads"' "$T_TMP/zip.out"
expect_eq "layer from the zip: the invocation's bundle, with the interposer's events, and the shutdown bundle" "2 1 yes" \
    "$(find "$T_TMP/store" -name '*.rtb' | wc -l) $(find "$T_TMP/store" -name '*-shutdown.rtb' | wc -l) $("$RUNTRAIL" show --json "$(find "$T_TMP/store" -name '*.rtb' ! -name '*-shutdown.rtb' | head -n 1)" | grep -q '"coverage":\["preload","proxy"\]' && echo yes)"

# Lambda's LD_LIBRARY_PATH holds the function's folders (/var/task/lib) and other layers'
# (/opt/lib): a library there of the same name as one the extension loads (libcrypto.so.3, at
# the first seal) is not the one it loads, since its run path names the system's folders first
# (DT_RPATH, searched before LD_LIBRARY_PATH). Before, the extension took the function's and,
# this one lacking what it calls, sealed nothing. (A Python runtime: the C sample links libcurl,
# which would itself take the function's libcrypto.)
mkdir -p "$T_TMP/fnlib"
printf 'int not_openssl(void) { return 0; }\n' >"$T_TMP/fnlib/c.c"
cc -shared -fPIC -Wl,-soname,libcrypto.so.3 -o "$T_TMP/fnlib/libcrypto.so.3" "$T_TMP/fnlib/c.c"
# The folder the build's libc is in comes first (after runtrail/lib, when the layer carries
# libraries): the loader looks for libc in every folder before it, and in each one's
# glibc-hwcaps and tls subfolders too, two system calls a subfolder (62 failed lookups at each
# start on Debian with /lib64:/usr/lib64 first, 20 now).
rpath=$(readelf -d "$T_TMP/opt/extensions/runtrail" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
libc_dir=$(dirname "$(realpath -e "$(${CC:-cc} -print-file-name=libc.so.6)")")
expect_eq "the layer's extension: libc's folder first on its run path, then Amazon Linux's, as DT_RPATH" \
    "$libc_dir 1 0" "$(sed 's|^\$ORIGIN/../runtrail/lib:||; s|:.*||' <<<"$rpath") $(tr : '\n' <<<"$rpath" | grep -cx /lib64) $(readelf -d "$T_TMP/opt/extensions/runtrail" | grep -c RUNPATH)"
# (Where strace cannot trace, the trace has no exec of its own and the count is skipped.)
LD_LIBRARY_PATH=/var/task:/var/task/lib:/opt/lib:/var/lang/lib:/lib64:/usr/lib64 \
    strace -e trace=execve,openat,open,stat,newfstatat -o "$T_TMP/ld.trace" \
    "$T_TMP/opt/extensions/runtrail" --version >/dev/null 2>&1 || true
if grep -q '^execve(' "$T_TMP/ld.trace" 2>/dev/null; then
    failed=$(grep -c ENOENT "$T_TMP/ld.trace")
    expect_eq "the extension's start under Lambda's LD_LIBRARY_PATH: at most 24 failed lookups (took $failed)" \
        yes "$([ "$failed" -le 24 ] && echo yes)"
fi
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/opt" --env RUNTRAIL_STORE="$T_TMP/libstore" \
    --env RUNTRAIL_SPOOL_DIR="$T_TMP/libspool" --env RUNTRAIL_PROXY_PORT="$(free_port)" \
    --env RUNTRAIL_LAYERS_DIR="$T_TMP/opt" \
    --env "LD_LIBRARY_PATH=$T_TMP/fnlib:/var/lang/lib:/lib64:/usr/lib64:/var/task/lib:/opt/lib" \
    --task-root "$ROOT/samples/python" --handler app.handler \
    --event "$ROOT/samples/events/s3-put.json" -- python3 "$ROOT/samples/python/bootstrap.py" \
    >"$T_TMP/fnlib.out" 2>"$T_TMP/fnlib.err"
expect_grep "a function's libcrypto.so.3 on LD_LIBRARY_PATH: the function answers" \
    '"runtime":"python"' "$T_TMP/fnlib.out"
expect_eq "... and the extension seals with the system's libcrypto: 2 bundles, all intact" \
    "2 0 0" "$(find "$T_TMP/libstore" -name '*.rtb' | wc -l) $(grep -c 'cannot load' "$T_TMP/fnlib.err") $("$RUNTRAIL" verify "$T_TMP/libstore" >/dev/null 2>&1; echo $?)"

# A runtime that never comes through the proxy (an entry point that does not run the wrapper):
# the extension still gets INVOKE and SHUTDOWN, but cannot see the outcome. Its bundle says
# status unknown, Runtrail.NotProxied, not a false error.
mkdir -p "$T_TMP/bypass" && cp -a "$T_TMP/opt/." "$T_TMP/bypass/"
printf '#!/bin/sh\nexec "$@"\n' >"$T_TMP/bypass/runtrail/wrapper"
"$RUNTRAIL" invoke --no-record --layer "$T_TMP/bypass" --env RUNTRAIL_STORE="$T_TMP/bstore" \
    --env RUNTRAIL_SPOOL_DIR="$T_TMP/bspool" --env RUNTRAIL_PROXY_PORT="$(free_port)" \
    --env RUNTRAIL_LAYERS_DIR="$T_TMP/bypass" --task-root "$ROOT/samples/c-bootstrap" \
    --event "$ROOT/samples/events/s3-put.json" --repeat 3 -- "$C_BOOTSTRAP" >"$T_TMP/bypass.out" \
    2>/dev/null
expect_eq "runtime outside the proxy: the function answers" 3 \
    "$(grep -c '"bucket":"example-uploads"' "$T_TMP/bypass.out")"
for b in $(find "$T_TMP/bstore" -name '*.rtb' ! -name '*-shutdown.rtb'); do
    "$RUNTRAIL" show --json "$b" | head -n 1
done | python3 -c 'import json,sys
for l in sys.stdin: m = json.loads(l); print(m["status"], m.get("error_type"))' >"$T_TMP/bypass.meta"
expect_eq "runtime outside the proxy: each invocation's bundle says unknown, Runtrail.NotProxied" \
    "unknown Runtrail.NotProxied|unknown Runtrail.NotProxied|unknown Runtrail.NotProxied" \
    "$(paste -sd'|' "$T_TMP/bypass.meta")"

# --- the wrapper ---
cat >"$T_TMP/show-env" <<'EOF'
#!/bin/sh
printf 'api=%s\npreload=%s\nring=%s\nupstream=%s\nargs=%s|%s|%s\n' "$AWS_LAMBDA_RUNTIME_API" \
    "${LD_PRELOAD:-}" "${RUNTRAIL_RING:-}" "${RUNTRAIL_UPSTREAM:-}" "$1" "$2" "${3:-}"
EOF
chmod +x "$T_TMP/show-env"
RUN="$T_TMP/wrun"
mkdir -p "$RUN"
wrap() { # wrap: runs the wrapper around show-env with a fixed environment
    env AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 LD_PRELOAD=/lib/other.so RUNTRAIL_RUN_DIR="$RUN" \
        "$@" "$WRAPPER" "$T_TMP/show-env" "two words" "x" >"$T_TMP/wrap.out" 2>"$T_TMP/wrap.err"
}
unchanged=$(printf 'api=127.0.0.1:9001\npreload=/lib/other.so\nring=\nupstream=\nargs=two words|x|')

wrap
expect_eq "wrapper: no ready file, runtime runs unchanged" "$unchanged" "$(cat "$T_TMP/wrap.out")"

sleep 600 &
LIVE=$!
trap 'kill $LIVE 2>/dev/null; rm -rf "$T_TMP"' EXIT
printf 'RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_RING=%s/ring\nRUNTRAIL_PID=%s\n' "$RUN" "$LIVE" \
    >"$RUN/ready"
wrap
expect_eq "wrapper: live extension, runtime redirected, interposer appended, args kept" \
    "$(printf 'api=127.0.0.1:9555\npreload=/lib/other.so:%s/runtrail/lib/libruntrail-preload.so\nring=%s/ring\nupstream=127.0.0.1:9001\nargs=two words|x|' "$LAYER" "$RUN")" \
    "$(cat "$T_TMP/wrap.out")"

env -u LD_PRELOAD AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" \
    "$T_TMP/show-env" a b >"$T_TMP/wrap.out"
expect_grep "wrapper: LD_PRELOAD set when there was none" \
    "^preload=$LAYER/runtrail/lib/libruntrail-preload.so\$" "$T_TMP/wrap.out"

(cd "$LAYER/runtrail" && env -u LD_PRELOAD AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 \
    RUNTRAIL_RUN_DIR="$RUN" ./wrapper "$T_TMP/show-env" a b >"$T_TMP/wrap.out")
expect_grep "wrapper run by a relative path: the interposer path is still absolute" \
    "^preload=$LAYER/runtrail/./lib/libruntrail-preload.so\$" "$T_TMP/wrap.out"

# No RUNTRAIL_RUN_DIR: the wrapper looks where the extension writes by default,
# /tmp/runtrail-PORT with the port of the original AWS_LAMBDA_RUNTIME_API.
DPORT=$(free_port)
mkdir -p "/tmp/runtrail-$DPORT"
printf 'RUNTRAIL_PROXY=127.0.0.1:9556\nRUNTRAIL_RING=\nRUNTRAIL_PID=%s\n' "$LIVE" \
    >"/tmp/runtrail-$DPORT/ready"
env -u RUNTRAIL_RUN_DIR AWS_LAMBDA_RUNTIME_API="127.0.0.1:$DPORT" "$WRAPPER" "$T_TMP/show-env" a b \
    >"$T_TMP/wrap.out" 2>/dev/null
rm -rf "/tmp/runtrail-$DPORT"
expect_grep "wrapper: default run folder from the Runtime API port" '^api=127.0.0.1:9556$' \
    "$T_TMP/wrap.out"

wrap RUNTRAIL_DISABLE=1
expect_eq "wrapper: RUNTRAIL_DISABLE=1, runtime runs unchanged" "$unchanged" "$(cat "$T_TMP/wrap.out")"

sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
printf 'RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_RING=%s/ring\nRUNTRAIL_PID=%s\n' "$RUN" "$DEAD" \
    >"$RUN/ready"
wrap
expect_eq "wrapper: stale ready file (extension gone), runtime runs unchanged" "$unchanged" \
    "$(cat "$T_TMP/wrap.out")"

printf 'RUNTRAIL_PROXY=$(touch %s/pwned)\nRUNTRAIL_PID=%s\n' "$T_TMP" "$LIVE" >"$RUN/ready"
wrap
expect_eq "wrapper: garbage in the ready file is not executed, runtime unchanged" \
    "$unchanged no" "$(cat "$T_TMP/wrap.out") $([ -e "$T_TMP/pwned" ] && echo yes || echo no)"

# A FIFO where the ready file should be would hold the runtime's start forever: not read.
rm -f "$RUN/ready" && mkfifo "$RUN/ready"
wrap timeout 10
expect_eq "wrapper: a FIFO as the ready file is not waited on, runtime unchanged" "$unchanged" \
    "$(cat "$T_TMP/wrap.out")"
rm -f "$RUN/ready"
# runtime.pid is never written through a symbolic link.
printf 'RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_RING=\nRUNTRAIL_PID=%s\n' "$LIVE" >"$RUN/ready"
echo "keep me" >"$T_TMP/victim" && rm -f "$RUN/runtime.pid" && ln -s "$T_TMP/victim" "$RUN/runtime.pid"
wrap
expect_eq "wrapper: a symbolic link as runtime.pid is not followed, the runtime still redirected" \
    "keep me 127.0.0.1:9555" "$(cat "$T_TMP/victim") $(sed -n 's/^api=//p' "$T_TMP/wrap.out")"
rm -f "$RUN/runtime.pid"

expect_exit "wrapper: no runtime given is a usage error" 2 "$WRAPPER"
expect_grep "wrapper: the usage line" '^usage: wrapper RUNTIME \[ARGS...\]$' "$T_TMP/last.err"

# A runtime that is not there: the shell's exit status (127), and the wrapper says which.
printf 'RUNTRAIL_PROXY=127.0.0.1:9555\nRUNTRAIL_RING=%s/ring\nRUNTRAIL_PID=%s\n' "$RUN" "$LIVE" \
    >"$RUN/ready"
expect_exit "wrapper: a missing runtime exits 127" 127 env RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" \
    "$T_TMP/no-such-runtime" a
expect_grep "wrapper: ... and names it" \
    "^runtrail wrapper: cannot run $T_TMP/no-such-runtime: No such file or directory\$" "$T_TMP/last.err"
# A runtime found on PATH, as a shell's exec finds it.
mkdir -p "$T_TMP/pathbin" && cp "$T_TMP/show-env" "$T_TMP/pathbin/show-env-on-path"
env -u LD_PRELOAD PATH="$T_TMP/pathbin:$PATH" AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 \
    RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" show-env-on-path a b >"$T_TMP/wrap.out"
expect_grep "wrapper: a runtime named without a folder is looked up on PATH" '^api=127.0.0.1:9555$' \
    "$T_TMP/wrap.out"
# A runtime script without "#!" runs under /bin/sh, as a shell's exec (and glibc's execvp) runs
# it, by path and on PATH; the wrapper is linked against musl, whose execvp does not.
printf 'echo "no-shebang $0 $*"\n' >"$T_TMP/pathbin/plain-script" && chmod +x "$T_TMP/pathbin/plain-script"
expect_eq "wrapper: a script without #! runs under sh, with its arguments" \
    "no-shebang $T_TMP/pathbin/plain-script a b" \
    "$(env RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" "$T_TMP/pathbin/plain-script" a b)"
expect_eq "wrapper: ... also when found on PATH" "no-shebang $T_TMP/pathbin/plain-script c" \
    "$(env PATH="$T_TMP/pathbin:$PATH" RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" plain-script c)"
# The runtime's whole environment: each variable the wrapper sets appears once (a stale
# RUNTRAIL_PROXY from the parent is replaced, not kept beside the new one), the rest unchanged.
env -i PATH=/usr/bin:/bin LANG=C.UTF-8 LD_PRELOAD=/lib/other.so RUNTRAIL_PROXY=127.0.0.1:1 \
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" /usr/bin/env |
    sort >"$T_TMP/env.out"
expect_eq "wrapper: the runtime's environment, each variable once" \
    "$(printf '%s\n' AWS_LAMBDA_RUNTIME_API=127.0.0.1:9555 LANG=C.UTF-8 \
        "LD_PRELOAD=/lib/other.so:$LAYER/runtrail/lib/libruntrail-preload.so" PATH=/usr/bin:/bin \
        RUNTRAIL_PROXY=127.0.0.1:9555 "RUNTRAIL_RING=$RUN/ring" "RUNTRAIL_RUN_DIR=$RUN" \
        RUNTRAIL_UPSTREAM=127.0.0.1:9001)" "$(cat "$T_TMP/env.out")"
# What the wrapper costs a cold start is mostly the pages it touches (a page fault is 10 us and
# more on some hosts): a process's fault count survives exec, so a static program that prints
# its own, run through the wrapper and directly, tells the wrapper's. 17-19 before its buffers
# shared pages and setenv's heap went (docs/deploy.md, "The wrapper"), 8-11 after, linked
# against musl; a static glibc wrapper (no musl-gcc) touches more and is not held to it.
FAULTS=$ROOT/$BUILD/tests/recorder/static_faults
if [ -d "$ROOT/$BUILD/wrapper-obj-musl" ]; then
    # Both started alike, by the shell itself (an `env` before the wrapper would add its own).
    # A single run moves by 2-3 faults either way with where the kernel puts the stack and the
    # environment (one CI run read 13; the least of nine runs of each read 8 to 11 here, and
    # 18 to 19 with the old wrapper): the bound sits between the two.
    direct=999999 via=999999
    for _ in 1 2 3 4 5 6 7 8 9; do
        n=$(RUNTRAIL_RUN_DIR="$RUN" "$FAULTS") && [ "$n" -lt "$direct" ] && direct=$n
        n=$(RUNTRAIL_RUN_DIR="$RUN" "$WRAPPER" "$FAULTS") && [ "$n" -lt "$via" ] && via=$n
    done
    check "wrapper: at most 14 page faults of its own (took $((via - direct)))" \
        test $((via - direct)) -le 14 -a $((via - direct)) -gt 0
fi
# The shell prints its pid, then execs the wrapper, which execs a shell that prints runtime.pid.
env RUNTRAIL_RUN_DIR="$RUN" sh -c 'echo $$; exec "$0" sh -c "cat \"\$0\"" "$1/runtime.pid"' \
    "$WRAPPER" "$RUN" >"$T_TMP/pids.out"
expect_eq "wrapper: runtime.pid names the wrapper's process, which the runtime keeps" \
    "$(head -n 1 "$T_TMP/pids.out") 2" "$(tail -n 1 "$T_TMP/pids.out") $(wc -l <"$T_TMP/pids.out")"
finish
