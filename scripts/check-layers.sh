#!/usr/bin/env bash
# `make check-layers` (run by `make lint`): the layering of docs/architecture.md, checked.
#  1. Includes: every #include "room/header.h" in the source folders below must name a header
#     of the file's own room or of a room that room may use (the table LAYERS). A violation is
#     printed as FILE:LINE: and fails the check.
#  2. Symbols: the same table over what the built objects use (nm), with file and line.
#  3. Curses: the view models (viewer/vm_*, room viewmodel) include no curses header and use no
#     symbol of ncursesw or tinfo, so they stay unit-testable without a terminal.
#  4. Links: `readelf -d` of the built programs must show no shared library they must not need
#     (the table LINKS): the interposer needs only libc, libdl and the dynamic loader; the
#     extension never needs SQLite or ncurses, nor libcurl, libcrypto, libzstd or libexpat
#     (curl_lazy.c and seal_lazy.c load them when first called); nor does runtrail need
#     libcurl (curl_lazy.c); the extension's own libcurl needs only libc and OpenSSL.
# Usage: scripts/check-layers.sh [--root DIR] [--build DIR]
#   --root   the source tree to check (default: the tree this script is in)
#   --build  the build folder whose programs are checked (default: $BUILD, else ROOT/build);
#            a relative path is taken from ROOT
# Exit status: 0 clean, 1 violations (each printed), 2 usage error or a program not built.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD:-build}
while [ $# -gt 0 ]; do
    case $1 in
    --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
    --build) BUILD_DIR=${2:?--build needs a folder}; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-layers: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -d "$ROOT" ] || { echo "check-layers: $ROOT: no such folder" >&2; exit 2; }
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac

# The layering, one row per room (docs/architecture.md says why). A room's files are those
# under its path prefix; the longest matching prefix wins, so store/catalog* is the catalog
# and the rest of store/ the stores. The last column lists what the room's files may include
# besides their own room's headers: rooms, or single headers (a room's header-only parts),
# "-" for nothing of ours, "*" for everything. Everything else is forbidden.
LAYERS='
# room      path prefix           may include
formats     formats/              -
analysis    analysis/             formats
store       store/                formats
catalog     store/catalog         store formats
recorder    recorder/             preload sniff formats
preload     recorder/preload/     formats/event.h sniff
sniff       recorder/preload/sniff -
extension   recorder/extension/   recorder preload sniff store formats
wrapper     recorder/wrapper/     -
replay      replay/               analysis catalog store formats sniff
export      export/               store formats
viewer      viewer/               viewmodel analysis catalog store formats
viewmodel   viewer/vm_            analysis formats
control     control/              store formats
cli         cli/                  *
samples     samples/              -
'

# Sources that define a library's own functions in its stead (libcurl's, libcrypto's, libzstd's
# and libexpat's, loaded at the first call): the symbol check (2) does not count what they
# define as ours.
STANDINS='recorder/extension/curl_lazy.c recorder/extension/seal_lazy.c'
# What each built program may need (only) or must never need (never), as shell patterns
# over the NEEDED names that readelf -d shows, separated by "|"; or "static": no NEEDED and no
# program interpreter (readelf -l), a program the kernel starts without the dynamic loader.
# A rule ending in "?" is for a file built only where make found its source (the extension's
# own libcurl: .deps/src); without it, the row is skipped.
LINKS='
# program (in the build folder)  rule   libraries
lib/libruntrail-preload.so       only   libc.so.*|libdl.so.*|ld-linux*.so.*
lib/libruntrail-curl.so          only?  libc.so.*|libssl.so.*|libcrypto.so.*
layer/runtrail/wrapper           static -
bin/runtrail                     never  libcurl*
bin/runtrail-extension           never  libsqlite3.so*|libncurses*|libncursesw*|libtinfo*|libcurl*|libcrypto*|libzstd*|libexpat*
layer/extensions/runtrail        never  libsqlite3.so*|libncurses*|libncursesw*|libtinfo*|libcurl*|libcrypto*|libzstd*|libexpat*
'

status=0
table=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<<"$LAYERS")

# 1. Includes. Every C source and header outside tests/ (which may include anything) and the
# build folders, as paths relative to ROOT; one in no room fails too, so that a new folder
# gets its row in the table.
files=()
while IFS= read -r f; do files+=("${f#./}"); done < <(
    cd "$ROOT" && find . \( -path ./tests -o -path ./node_modules -o -path './build*' \
        -o -path './.*' \) -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name '*.def' \) \
        -print 2>/dev/null | sort)

# The table and the questions asked of it, for the awk programs below.
AWK_ROOMS='
BEGIN {
    n = split(table, rows, "\n")
    for (i = 1; i <= n; i++) {
        k = split(rows[i], col, /[ \t]+/)
        if (k < 3) continue
        room[++nr] = col[1]; prefix[nr] = col[2]
        allow[col[1]] = col[3]
        for (j = 4; j <= k; j++) allow[col[1]] = allow[col[1]] " " col[j]
    }
}
# The room of a path: the row with the longest matching prefix ("" when none).
function room_of(path,   i, best, len) {
    best = ""; len = 0
    for (i = 1; i <= nr; i++)
        if (substr(path, 1, length(prefix[i])) == prefix[i] && length(prefix[i]) > len) {
            best = room[i]; len = length(prefix[i])
        }
    return best
}
# May room "from" use the file "path" of room "to"?
function allowed(from, path, to,   w, m, j) {
    if (from == to) return 1
    m = split(allow[from], w, " ")
    for (j = 1; j <= m; j++)
        if (w[j] == "*" || w[j] == to || w[j] == path) return 1
    return 0
}
function may(from) { return allow[from] == "-" ? "nothing of ours" : allow[from] }
'

if [ ${#files[@]} -gt 0 ]; then
    (cd "$ROOT" && awk -v table="$table" "$AWK_ROOMS"'
    FNR == 1 {
        from = room_of(FILENAME)
        folder = FILENAME; sub(/\/[^\/]*$/, "/", folder)
        if (from == "" && !(folder in roomless)) {
            roomless[folder] = 1
            printf "%s: C sources in no room; add the folder to the LAYERS table of " \
                   "scripts/check-layers.sh\n", folder
            bad = 1
        }
    }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
        header = $0
        sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", header)
        sub(/".*/, "", header)
        to = room_of(header)
        if (from == "" || to == "" || allowed(from, header, to)) next
        printf "%s:%d: %s includes \"%s\" (room %s); %s may include: %s\n", FILENAME, FNR,
               from, header, to, from, may(from)
        bad = 1
    }
    END { exit bad }' "${files[@]}") || status=1
fi

# 2. Symbols: the same table over what the built objects call, so a prototype written by hand
# instead of an include cannot hide a dependency. Each object of BUILD/obj whose source is in
# ROOT (outside tests/) is checked: every function or variable it uses that another of these
# objects defines must come from a room it may use. A header-only allowance (preload's
# formats/event.h) allows no symbols. The line is where the symbol is first used (nm -l).
objs=()
if [ -d "$BUILD_DIR/obj" ]; then
    while IFS= read -r o; do
        src=${o#"$BUILD_DIR/obj/"}
        src=${src%.o}.c
        case $src in tests/*) continue ;; esac
        # A stand-in for a library defines that library's functions, not ours.
        case " $STANDINS " in *" $src "*) continue ;; esac
        [ -f "$ROOT/$src" ] && objs+=("$o")
    done < <(find "$BUILD_DIR/obj" -name '*.o' | sort)
fi
if [ ${#objs[@]} -gt 0 ]; then
    LC_ALL=C nm -A -l -g "${objs[@]}" 2>/dev/null | awk -v table="$table" \
        -v objdir="$BUILD_DIR/obj/" "$AWK_ROOMS"'
    {
        split($0, tab, "\t")               # "OBJ:ADDR TYPE NAME" [TAB "FILE:LINE"]
        obj = substr(tab[1], 1, index(tab[1], ":") - 1)
        m = split(substr(tab[1], length(obj) + 2), f, " ")
        src = substr(obj, length(objdir) + 1); sub(/\.o$/, ".c", src)
        if (f[1] == "U") {
            nu++; use_src[nu] = src; use_sym[nu] = f[2]
            line = tab[2]; sub(/.*:/, "", line); use_line[nu] = line
        } else if (m >= 3 && !(f[3] in def)) {
            def[f[3]] = src
        }
    }
    END {
        for (i = 1; i <= nu; i++) {
            if (!(use_sym[i] in def)) continue
            from = room_of(use_src[i]); to_src = def[use_sym[i]]; to = room_of(to_src)
            if (from == "" || to == "" || allowed(from, to_src, to)) continue
            key = use_src[i] " " use_sym[i]
            if (key in seen) continue
            seen[key] = 1
            printf "%s:%s: %s uses %s of %s (room %s); %s may use: %s\n", use_src[i],
                   use_line[i] == "" ? "?" : use_line[i], from, use_sym[i], to_src, to, from,
                   may(from)
            bad = 1
        }
        exit bad
    }' || status=1
fi

# 3. Curses stays out of the view models.
vm_srcs=()
while IFS= read -r f; do vm_srcs+=("$f"); done < <(cd "$ROOT" && ls viewer/vm_*.[ch] 2>/dev/null)
if [ ${#vm_srcs[@]} -gt 0 ]; then
    if hits=$(cd "$ROOT" && grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](n?cursesw?/|n?curses|term\.h|panel\.h|menu\.h|form\.h)' \
        "${vm_srcs[@]}"); then
        sed 's/$/: a view model includes curses (viewer\/vm_* must stay curses-free)/' <<<"$hits"
        status=1
    fi
    libdir=$(pkg-config --variable=libdir ncursesw 2>/dev/null)
    curses_libs=()
    for l in "$libdir"/libncursesw.so.[0-9]* "$libdir"/libtinfo.so.[0-9]*; do
        [ -f "$l" ] && curses_libs+=("$l") # the versioned files: libncursesw.so is a script
    done
    vm_objs=()
    for f in "${vm_srcs[@]}"; do
        case $f in *.c) o=$BUILD_DIR/obj/${f%.c}.o; [ -f "$o" ] && vm_objs+=("$o") ;; esac
    done
    if [ ${#curses_libs[@]} -gt 0 ] && [ ${#vm_objs[@]} -gt 0 ]; then
        LC_ALL=C nm -D --defined-only "${curses_libs[@]}" 2>/dev/null | awk 'NF >= 3 {print $3}' |
            sed 's/@.*//' | sort -u >"${TMPDIR:-/tmp}/rt-curses-syms.$$"
        LC_ALL=C nm -A -u "${vm_objs[@]}" 2>/dev/null | awk '{print $1, $NF}' |
            awk -v syms="${TMPDIR:-/tmp}/rt-curses-syms.$$" '
            BEGIN { while ((getline s < syms) > 0) curses[s] = 1 }
            ($2 in curses) { sub(/:$/, "", $1); printf "%s: uses %s of curses; viewer/vm_* must stay curses-free\n", $1, $2; bad = 1 }
            END { exit bad }' || status=1
        rm -f "${TMPDIR:-/tmp}/rt-curses-syms.$$"
    fi
fi

# 4. Links.
shopt -s extglob
linked=0 # programs checked
while read -r prog rule patterns; do
    [ -n "$prog" ] || continue
    bin=$BUILD_DIR/$prog
    if [[ $rule == *\? ]]; then
        [ -f "$bin" ] || continue
        rule=${rule%\?}
    fi
    if [ ! -f "$bin" ]; then
        echo "check-layers: $bin: not built (run make first)" >&2
        exit 2
    fi
    if ! needed=$(LC_ALL=C readelf -d "$bin" 2>&1); then
        echo "check-layers: $bin: readelf -d failed: $needed" >&2
        exit 2
    fi
    needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$needed")
    linked=$((linked + 1))
    if [[ $rule == static ]]; then
        if [ -n "$needed" ] || LC_ALL=C readelf -lW "$bin" 2>/dev/null | grep -q 'program interpreter'; then
            echo "$bin: is dynamically linked (needs: ${needed:-the loader}; readelf -d, -l); it must" \
                "be static: it runs on every cold start, before the runtime"
            status=1
        fi
        continue
    fi
    for lib in $needed; do
        # shellcheck disable=SC2053  # the right side is a pattern on purpose
        if [[ $rule == only ]] && ! [[ $lib == @($patterns) ]]; then
            echo "$bin: needs $lib (readelf -d); it may need only: ${patterns//|/ }"
            status=1
        elif [[ $rule == never ]] && [[ $lib == @($patterns) ]]; then
            echo "$bin: needs $lib (readelf -d); it must never need: ${patterns//|/ }"
            status=1
        fi
    done
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<<"$LINKS")

if [ $status -eq 0 ]; then
    echo "check-layers: ok (${#files[@]} source files, $(grep -c . <<<"$table") rooms; symbols of" \
        "${#objs[@]} objects; links of $linked programs)"
else
    echo "check-layers: FAILED: see docs/architecture.md for the layering" >&2
fi
exit $status
