#!/usr/bin/env bash
# `make check-layers` (scripts/check-layers.sh): passes on the real tree and the real build,
# and fails, naming file and line, on each kind of forbidden include planted in a temporary
# copy of the sources (never in the real tree), and on programs that need a library they must
# not (programs built here, each needing what its rule forbids, standing in for the real ones).
source "$(dirname "$0")/../lib.sh"
CHECK=$RT_ROOT/scripts/check-layers.sh

expect_exit "the real tree and build pass" 0 bash "$CHECK" --root "$RT_ROOT" --build "$RT_ROOT/$BUILD"
# (five programs, and the extension's own libcurl where make built it: .deps/src)
OWN_CURL=$RT_ROOT/$BUILD/lib/libruntrail-curl.so
expect_grep "it says what it checked" "^check-layers: ok \\([0-9]+ source files, [0-9]+ rooms; symbols of [0-9]+ objects; links of $([ -f "$OWN_CURL" ] && echo 6 || echo 5) programs\\)\$" "$T_TMP/last.out"

# A pristine copy of the sources the check reads.
SRC=$T_TMP/pristine
mkdir -p "$SRC"
(cd "$RT_ROOT" && find formats store recorder replay cli analysis viewer samples -type f \
    \( -name '*.c' -o -name '*.h' -o -name '*.def' \) 2>/dev/null | tar -cf - -T - | tar -xf - -C "$SRC")
check "the copy has the sources" test -f "$SRC/formats/bundle.h" -a -f "$SRC/recorder/preload/preload.c"
expect_eq "the copy has every source file" "$(cd "$RT_ROOT" && find formats store recorder replay \
    cli analysis viewer samples -type f \( -name '*.c' -o -name '*.h' -o -name '*.def' \) 2>/dev/null | wc -l)" \
    "$(cd "$SRC" && find . -type f | wc -l)"
expect_exit "the unchanged copy passes" 0 bash "$CHECK" --root "$SRC" --build "$RT_ROOT/$BUILD"

# plant NAME FILE INCLUDE: a fresh copy with `#include "INCLUDE"` appended to FILE (created
# when missing); sets LINE to its line number and runs the check on it (last.out / last.err).
plant() { # plant NAME FILE INCLUDE EXIT
    rm -rf "$T_TMP/tree" && cp -a "$SRC" "$T_TMP/tree"
    mkdir -p "$(dirname "$T_TMP/tree/$2")"
    printf '#include "%s"\n' "$3" >>"$T_TMP/tree/$2"
    LINE=$(wc -l <"$T_TMP/tree/$2")
    expect_exit "$1: exit $4" "$4" bash "$CHECK" --root "$T_TMP/tree" --build "$RT_ROOT/$BUILD"
}
# forbidden NAME FILE INCLUDE FROM TO: the check fails with exactly one line naming FILE:LINE.
forbidden() {
    plant "$1" "$2" "$3" 1
    expect_eq "$1: names file, line, rooms" \
        "$2:$LINE: $4 includes \"$3\" (room $5); $4 may include: $6" "$(cat "$T_TMP/last.out")"
}
forbidden "formats -> store" formats/chain.c store/store.h formats store "nothing of ours"
forbidden "formats -> analysis" formats/bundle.h analysis/analysis.h formats analysis "nothing of ours"
forbidden "formats -> recorder" formats/reader.c recorder/ring.h formats recorder "nothing of ours"
forbidden "store -> replay" store/s3.c replay/emulator.h store replay formats
forbidden "store -> cli" store/store.h cli/cli.h store cli formats
forbidden "the stores -> the catalog" store/aws.c store/catalog.h store catalog formats
forbidden "analysis -> store" analysis/filter.c store/store.h analysis store formats
forbidden "analysis -> catalog" analysis/filter.c store/catalog.h analysis catalog formats
forbidden "analysis -> recorder" analysis/keys.c recorder/ring.h analysis recorder formats
forbidden "analysis -> viewer" analysis/keys.c viewer/viewer.h analysis viewer formats
forbidden "viewer -> recorder" viewer/screen_list.c recorder/ring.h viewer recorder \
    "viewmodel analysis catalog store formats"
forbidden "viewer -> extension" viewer/viewer.h recorder/extension/extension.h viewer extension \
    "viewmodel analysis catalog store formats"
forbidden "replay -> viewer" replay/invoke.c viewer/viewer.h replay viewer \
    "analysis catalog store formats sniff"
forbidden "replay -> cli" replay/emulator.h cli/cli.h replay cli \
    "analysis catalog store formats sniff"
forbidden "preload -> formats beyond event.h" recorder/preload/hook_net.c formats/bundle.h \
    preload formats "formats/event.h sniff"
forbidden "preload -> ring consumer" recorder/preload/preload.h recorder/ring.h preload recorder \
    "formats/event.h sniff"
forbidden "extension -> catalog" recorder/extension/sealer.c store/catalog.h extension catalog \
    "recorder preload sniff store formats"
forbidden "sample function -> ours" samples/c-bootstrap/bootstrap.c formats/bundle.h samples \
    formats "nothing of ours"

# What the layering allows passes.
plant "viewer -> analysis, catalog, store, formats" viewer/screen_list.c analysis/analysis.h 0
for inc in store/catalog.h store/store.h formats/bundle.h; do
    printf '#include "%s"\n' "$inc" >>"$T_TMP/tree/viewer/screen_list.c"
done
expect_exit "viewer -> catalog, store, formats: exit 0" 0 bash "$CHECK" --root "$T_TMP/tree" \
    --build "$RT_ROOT/$BUILD"
plant "replay -> analysis" replay/invoke.c analysis/analysis.h 0
plant "analysis -> formats" analysis/filter.c formats/event.h 0
plant "catalog -> store" store/catalog.c store/util.h 0
plant "cli -> anything" cli/cmd_show.c viewer/viewer.h 0

# A new folder of C sources without a row in the table fails until it gets one; tests/ may
# include anything.
rm -rf "$T_TMP/tree" && cp -a "$SRC" "$T_TMP/tree"
mkdir -p "$T_TMP/tree/toolbox" "$T_TMP/tree/tests/unit"
printf '#include "formats/error.h"\n' >"$T_TMP/tree/toolbox/buffer.c"
printf '#include "store/catalog.h"\n#include "recorder/ring.h"\n' >"$T_TMP/tree/tests/unit/test_x.c"
expect_exit "a folder in no room: exit 1" 1 bash "$CHECK" --root "$T_TMP/tree" --build "$RT_ROOT/$BUILD"
expect_eq "a folder in no room: named once" \
    "toolbox/: C sources in no room; add the folder to the LAYERS table of scripts/check-layers.sh" \
    "$(cat "$T_TMP/last.out")"

# Two violations in one tree: both reported, in file order.
rm -rf "$T_TMP/tree" && cp -a "$SRC" "$T_TMP/tree"
printf '#include "store/store.h"\n' >>"$T_TMP/tree/formats/escape.c"
printf '#include "cli/cli.h"\n' >>"$T_TMP/tree/replay/emulator.c"
expect_exit "two violations: exit 1" 1 bash "$CHECK" --root "$T_TMP/tree" --build "$RT_ROOT/$BUILD"
expect_eq "two violations: both named" "formats/escape.c replay/emulator.c" \
    "$(cut -d: -f1 "$T_TMP/last.out" | tr '\n' ' ' | sed 's/ $//')"
expect_grep "two violations: the summary points to the docs" 'FAILED: see docs/architecture.md' \
    "$T_TMP/last.err"

# Links: a build folder whose programs are stand-ins that need what they must not.
FAKE=$T_TMP/fakebuild
mkdir -p "$FAKE/lib" "$FAKE/bin" "$FAKE/layer/extensions" "$FAKE/layer/runtrail"
cp "$RT_ROOT/$BUILD/lib/libruntrail-preload.so" "$FAKE/lib/"
cp "$RT_ROOT/$BUILD/layer/runtrail/wrapper" "$FAKE/layer/runtrail/"
cp "$RT_ROOT/$BUILD/bin/runtrail-extension" "$FAKE/bin/"
cp "$RT_ROOT/$BUILD/layer/extensions/runtrail" "$FAKE/layer/extensions/"
cp "$RT_ROOT/$BUILD/bin/runtrail" "$FAKE/bin/"
expect_exit "links: copies of the real programs pass" 0 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: without the optional libcurl, five programs" 'links of 5 programs\)$' "$T_TMP/last.out"

# standin OUT LIB...: a program that returns at once and needs the libraries LIB (-lNAME)
printf 'int main(void) { return 0; }\n' >"$T_TMP/nc.c"
standin() {
    local out=$1; shift
    cc "$T_TMP/nc.c" -o "$out" -Wl,--no-as-needed "$@" 2>"$T_TMP/cc.err" ||
        _notok "links: build a stand-in that needs $*" "$(head -n 3 "$T_TMP/cc.err")"
}
standin "$T_TMP/needs-curl" -lcurl
standin "$T_TMP/needs-sqlite-curl" -lsqlite3 -lcurl

cp "$T_TMP/needs-curl" "$FAKE/lib/libruntrail-preload.so"
expect_exit "links: an interposer needing libcurl fails" 1 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names the interposer and libcurl" \
    "^$FAKE/lib/libruntrail-preload.so: needs libcurl\.so\.4 \(readelf -d\); it may need only: libc\.so\.\* libdl\.so\.\* ld-linux\*\.so\.\*$" \
    "$T_TMP/last.out"
expect_no_grep "links: libc itself is not reported" 'needs libc\.so' "$T_TMP/last.out"
cp "$RT_ROOT/$BUILD/lib/libruntrail-preload.so" "$FAKE/lib/"

cp "$RT_ROOT/$BUILD/tests/recorder/idle" "$FAKE/layer/runtrail/wrapper" # needs libc.so.6
expect_exit "links: a wrapper linked dynamically fails" 1 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names the wrapper and what it needs" \
    "^$FAKE/layer/runtrail/wrapper: is dynamically linked \(needs: libc\.so\.6; readelf -d, -l\); it must be static" \
    "$T_TMP/last.out"
cp "$RT_ROOT/$BUILD/layer/runtrail/wrapper" "$FAKE/layer/runtrail/"

# The extension's own libcurl may need libc and OpenSSL only (checked where it is built).
cp "$T_TMP/needs-curl" "$FAKE/lib/libruntrail-curl.so"
expect_exit "links: an own libcurl needing the system's libcurl fails" 1 \
    bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names the own libcurl and what it needs" \
    "^$FAKE/lib/libruntrail-curl.so: needs libcurl\.so\.4 \(readelf -d\); it may need only: libc\.so\.\* libssl\.so\.\* libcrypto\.so\.\*$" \
    "$T_TMP/last.out"
rm "$FAKE/lib/libruntrail-curl.so"

cp "$T_TMP/needs-sqlite-curl" "$FAKE/bin/runtrail-extension"
expect_exit "links: an extension needing SQLite fails" 1 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names the extension and libsqlite3" \
    "^$FAKE/bin/runtrail-extension: needs libsqlite3\.so\.0 \(readelf -d\); it must never need: " \
    "$T_TMP/last.out"
expect_grep "links: and names libcurl, which the extension loads only when first called" \
    "^$FAKE/bin/runtrail-extension: needs libcurl\.so\.4 \(readelf -d\); it must never need: " \
    "$T_TMP/last.out"
cp "$RT_ROOT/$BUILD/bin/runtrail-extension" "$FAKE/bin/"

cp "$T_TMP/needs-curl" "$FAKE/bin/runtrail"
expect_exit "links: a runtrail needing libcurl fails" 1 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names runtrail and libcurl, which it loads only when first called" \
    "^$FAKE/bin/runtrail: needs libcurl\.so\.4 \(readelf -d\); it must never need: libcurl\*$" \
    "$T_TMP/last.out"
cp "$RT_ROOT/$BUILD/bin/runtrail" "$FAKE/bin/"

if cc "$T_TMP/nc.c" -o "$FAKE/layer/extensions/runtrail" -Wl,--no-as-needed -lncursesw 2>"$T_TMP/cc.err"; then
    expect_exit "links: a layer extension needing ncurses fails" 1 bash "$CHECK" --root "$SRC" \
        --build "$FAKE"
    expect_grep "links: names the layer extension and libncursesw" \
        "^$FAKE/layer/extensions/runtrail: needs libncursesw\.so\.[0-9]+ \(readelf -d\)" "$T_TMP/last.out"
else
    _notok "links: build a stand-in that needs ncurses" "$(head -n 3 "$T_TMP/cc.err")"
fi
cp "$RT_ROOT/$BUILD/layer/extensions/runtrail" "$FAKE/layer/extensions/"

# Symbols: a prototype written by hand instead of an include is caught in the objects.
rm -rf "$T_TMP/tree" && cp -a "$SRC" "$T_TMP/tree"
mkdir -p "$FAKE/obj/formats" "$FAKE/obj/store" "$FAKE/obj/recorder/preload"
cp "$RT_ROOT/$BUILD/obj/store/store.o" "$FAKE/obj/store/"
cp "$RT_ROOT/$BUILD/obj/formats/event.o" "$FAKE/obj/formats/"
cat >"$T_TMP/tree/formats/planted.c" <<'EOF2'
/* A formats file that reaches the store without including its header. */
struct rt_store;
int rt_store_open(const char *url, struct rt_store **out, void *ei);
int planted(void);
int planted(void)
{
    return rt_store_open("x", 0, 0);
}
EOF2
cat >"$T_TMP/tree/recorder/preload/planted.c" <<'EOF2'
/* The interposer may use formats/event.h for its numbers, but none of formats' code. */
const void *rt_op_info(int op);
const void *planted_info(void);
const void *planted_info(void)
{
    return rt_op_info(1);
}
EOF2
cc -g -c "$T_TMP/tree/formats/planted.c" -o "$FAKE/obj/formats/planted.o"
cc -g -c "$T_TMP/tree/recorder/preload/planted.c" -o "$FAKE/obj/recorder/preload/planted.o"
expect_exit "symbols: hand-written prototypes fail" 1 bash "$CHECK" --root "$T_TMP/tree" --build "$FAKE"
expect_grep "symbols: formats using the store, with file and line" \
    '^formats/planted\.c:7: formats uses rt_store_open of store/store\.c \(room store\); formats may use: nothing of ours$' \
    "$T_TMP/last.out"
expect_grep "symbols: the interposer using formats' code, not just event.h" \
    '^recorder/preload/planted\.c:6: preload uses rt_op_info of formats/event\.c \(room formats\); preload may use: formats/event\.h sniff$' \
    "$T_TMP/last.out"
expect_eq "symbols: nothing else is reported" 2 "$(wc -l <"$T_TMP/last.out")"
rm -f "$FAKE/obj/formats/planted.o" "$FAKE/obj/recorder/preload/planted.o"
expect_exit "symbols: without them the stand-in objects pass" 0 bash "$CHECK" --root "$T_TMP/tree" \
    --build "$FAKE"
expect_grep "symbols: the summary counts the objects" 'symbols of 2 objects' "$T_TMP/last.out"

rm -f "$FAKE/layer/extensions/runtrail"
expect_exit "links: a program not built is a usage error" 2 bash "$CHECK" --root "$SRC" --build "$FAKE"
expect_grep "links: names the missing program" "$FAKE/layer/extensions/runtrail: not built" "$T_TMP/last.err"
finish
