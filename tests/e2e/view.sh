#!/usr/bin/env bash
# `runtrail view` driven in a real terminal: tmux at a fixed size, keys sent with send-keys,
# the screen read with capture-pane (like tig's test suite). Golden screens under
# tests/e2e/expected/view/ (reviewed text; RT_UPDATE_GOLDEN=1 rewrites them) for the
# invocations, timeline, detail, diff and help screens at 80x24 and 160x48, after navigation,
# a filter and a sort, a resize, and an empty catalog. The hostile bundle (escape sequences,
# a 10,000-byte path, invalid UTF-8, bidi, wide and combining characters) must reach the
# terminal escaped: no escape sequence but SGR, no colour under NO_COLOR, the pane's title
# unchanged. A failing screen prints what it got next to what it wanted. Every wait is for a
# condition on the screen (bounded), never a fixed sleep.
source "$(dirname "$0")/../lib.sh"
EXP="$RT_ROOT/tests/e2e/expected/view"
SOCK="$T_TMP/tmux.sock"
TM() { tmux -S "$SOCK" "$@"; }
_view_cleanup() { TM kill-server 2>/dev/null; _t_cleanup; }
trap _view_cleanup EXIT
if ! command -v tmux >/dev/null; then
    _notok "tmux is installed (scripts/deps.sh --test)"
    finish
    exit
fi
make --no-print-directory -s -C "$RT_ROOT" BUILD="$BUILD" "$BUILD/tools/gen_hostile_view" \
    "$BUILD/tools/bench_cursor" >/dev/null

C="$T_TMP/cache"
"$RUNTRAIL" index --cache "$C" "$RT_ROOT/samples/bundles" >/dev/null 2>&1

# start W H [ENV=V...] -- ARGS...: runtrail view ARGS in a fresh tmux session of W x H.
start() {
    local w=$1 h=$2
    shift 2
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local cmd old=$S
    cmd=$(printf '%q ' env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC \
        "${envs[@]}" "$RUNTRAIL" view "$@")
    # A new session first, then the old one goes: the server never empties (and exits) while
    # a new session is being created.
    N=$((N + 1))
    S=v$N
    TM new-session -d -x "$w" -y "$h" -s "$S" "$cmd; echo VIEW-EXITED-\$?; sleep 600"
    [ -n "$old" ] && TM kill-session -t "$old" 2>/dev/null
    return 0
}
N=0 S=''

screen() { TM capture-pane -p -t "$S" | sed 's/[[:space:]]*$//'; }
# wait_for TEXT: until TEXT (fixed string) is on the screen; at most 20 s (a capture takes
# a while on a loaded machine: the bound is in time, not in tries).
wait_for() {
    local end=$((SECONDS + 20))
    while [ $SECONDS -le $end ]; do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    echo "# waited in vain for: $1" >&2
    return 1
}
keys() { TM send-keys -t "$S" "$@"; }
# golden NAME: the screen must equal expected/view/NAME.txt; on a difference both are shown.
golden() {
    local name=$1 got="$T_TMP/$1.got"
    screen >"$got"
    if [ -n "${RT_UPDATE_GOLDEN:-}" ]; then
        mkdir -p "$EXP"
        cp "$got" "$EXP/$name.txt"
    fi
    if [ -f "$EXP/$name.txt" ] && cmp -s "$EXP/$name.txt" "$got"; then
        _ok "screen $name"
    else
        _notok "screen $name: got (left) and wanted (right, $EXP/$name.txt)"
        local w
        w=$(awk '{ if (length > m) m = length } END { print m + 0 }' "$got" "$EXP/$name.txt" 2>/dev/null)
        diff -y -W $((2 * w + 3)) "$got" "$EXP/$name.txt" 2>&1 | sed 's/^/#   /' || true
    fi
}
# pos: the "N/M" of the status line.
pos() { screen | tail -n 1 | grep -oE '[0-9]+/[0-9]+\+?' | tail -n 1; }

# ---- invocations ----
start 80 24 -- --cache "$C"
check "invocations: first screen shown" wait_for "8 invocations"
wait_for "Tab: pick an interval"
golden invocations_80x24
keys j j
wait_for "3/8" && _ok "j moves down (3/8)" || _notok "j moves down" "$(screen | tail -n 1)"
keys G
wait_for "8/8" && _ok "G: last row" || _notok "G: last row" "$(screen | tail -n 1)"
keys g
wait_for "1/8" && _ok "g: first row" || _notok "g: first row" "$(screen | tail -n 1)"
# sort: s cycles to function, request id, duration; S reverses (slowest first)
keys s s s S
check "s s s S: sorted by duration, descending" wait_for "sort: duration (desc)"
wait_for "Tab: pick an interval"
golden invocations_sorted_80x24
# filter with ls's options
keys f C-u
check "f opens the filter prompt" wait_for "filter (ls options):"
keys -l -- "--status error"
keys Enter
check "filter applied" wait_for "1/1  ?:help"
wait_for "Tab: pick an interval"
golden invocations_filtered_80x24
keys f C-u
keys -l -- "--status nope"
keys Enter
check "a bad filter is refused with ls's message" wait_for "--status 'nope': ok, error, timeout, crash or unknown"
# the strip: Tab then Right narrows the table to the first interval with invocations
keys f C-u Enter
wait_for "8 invocations"
keys Tab
check "Tab focuses the strip" wait_for "Left/Right: pick an interval"
keys Right
check "Right narrows the table to the first interval: 1 invocation" wait_for "1/1  ?:help"
keys Escape
check "Esc: the whole range again" wait_for "8 invocations"
# resize: SIGWINCH redraws at the new size
TM resize-window -t "$S" -x 100 -y 30
wait_for "Tab: pick an interval"
check "resize: the status line moves to row 30" bash -c "[ \"\$(tmux -S '$SOCK' capture-pane -p -t '$S' | sed -n 30p | grep -c '?:help')\" = 1 ]"
golden invocations_resized_100x30
keys '?'
check "? opens the help" wait_for "Everywhere"
golden help_100x30
keys q
wait_for "8 invocations"
keys Q
check "Q quits, exit 0" wait_for "VIEW-EXITED-0"

start 160 48 -- --cache "$C"
wait_for "Tab: pick an interval"
golden invocations_160x48
keys F1
wait_for "Everywhere"
golden help_160x48

# ---- timeline, detail ----
start 80 24 -- --cache "$C" --function orders-api
wait_for "8 invocations"
check "the command line's filter is the prompt's" wait_for "filter: --function orders-api"
keys j j Enter
check "Enter opens the timeline" wait_for "runtrail view: timeline"
wait_for "marks:"
golden timeline_80x24
keys /
keys -l environ
keys Enter
check "/environ: the first row that says environ (the log line, 3/16)" wait_for "3/16"
keys n
check "n: the next one (sh -c cat /proc/self/environ, 5/16)" wait_for "5/16"
keys 2
check "2 hides file events" wait_for "2:file(off)"
golden timeline_nofile_80x24
keys 2 g ]
check "] jumps to the flagged event" wait_for "7/16"
keys Enter
check "Enter opens the detail" wait_for "runtrail view: detail"
golden detail_80x24
keys Escape
check "Esc: back to the timeline" wait_for "runtrail view: timeline"
keys q
check "q: back to the invocations" wait_for "8 invocations"

start 160 48 -- "$RT_ROOT/samples/bundles/exfiltration.rtb"
wait_for "verified"
golden timeline_160x48
keys Enter
wait_for "runtrail view: detail"
golden detail_160x48

# ---- diff: two marked invocations ----
start 160 48 -- --cache "$C"
wait_for "8 invocations"
keys j j m
wait_for "1 marked"
keys j m
wait_for "2 marked"
keys d
check "d with two marked opens the diff" wait_for "runtrail view: diff"
golden diff_160x48

# ---- an empty catalog ----
start 80 24 -- --cache "$T_TMP/empty"
check "empty catalog: how to fill it" wait_for "runtrail pull s3://BUCKET/PREFIX"
golden empty_80x24

# ---- hostile strings: escaped, never raw ----
H="$T_TMP/hostile"
mkdir -p "$H"
"$RT_ROOT/$BUILD/tools/gen_hostile_view" "$H"
"$RUNTRAIL" index --cache "$H/cache" "$H/hostile-view.rtb" >/dev/null 2>&1
hostile_checks() { # NAME: the screen now must hold no raw sequence from the data
    local raw="$T_TMP/raw.txt"
    TM capture-pane -p -e -t "$S" >"$raw"
    # tmux -e writes attributes as SGR (ESC [ ... m); NO_COLOR: no colour among them (39 and
    # 49 are the defaults).
    if LC_ALL=C grep -aoE $'\x1b[^[]|\x1b\\[[0-9;]*[^0-9;m]' "$raw" >/dev/null; then
        _notok "$1: only SGR sequences reach the pane" "$(LC_ALL=C grep -aoE $'\x1b.{0,8}' "$raw" | sort -u | head -5 | od -c | head -5)"
    else
        _ok "$1: only SGR sequences reach the pane"
    fi
    if LC_ALL=C grep -aoE $'\x1b\\[[0-9;]*m' "$raw" | grep -qE '[[;](3[0-8]|4[0-8]|9[0-7]|10[0-7])[;m]'; then
        _notok "$1: NO_COLOR: no colour (a red from the data would show here)"
    else
        _ok "$1: NO_COLOR: no colour (a red from the data would show here)"
    fi
    expect_eq "$1: the pane's title is not the data's" "rtview" "$(TM display-message -p -t "$S" '#{pane_title}')"
}
start 80 24 NO_COLOR=1 -- --cache "$H/cache"
TM select-pane -t "$S" -T rtview
wait_for "1 invocation"
wait_for "Tab: pick an interval"
golden hostile_invocations_80x24
hostile_checks "hostile invocations"
keys Enter
wait_for "runtrail view: timeline"
golden hostile_timeline_80x24
hostile_checks "hostile timeline"
check "the escape shows as text" wait_for 'mark("rid-\x1b]52;c;ZWNobyBwd25lZA==\x07-\xff\xfe-end"'
keys j Right Right
wait_for 'AAAA'
hostile_checks "hostile 10,000-byte path scrolled"
keys Enter
wait_for "runtrail view: detail"
golden hostile_detail_80x24
hostile_checks "hostile detail"
keys G
hostile_checks "hostile detail: payloads"

# ---- a big bundle: the first screen before it is indexed, G reaches the end ----
"$RT_ROOT/$BUILD/tools/bench_cursor" write "$T_TMP/big.rtb" 200000 >/dev/null
start 80 24 -- "$T_TMP/big.rtb"
check "200k events: first screen" wait_for "runtrail view: timeline"
keys G
check "G: the last of 200000 rows" wait_for "200000/200000"
keys q
check "q on the first screen quits" wait_for "VIEW-EXITED-0"

# ---- no terminal ----
expect_exit "view without a terminal: exit 2" 2 "$RUNTRAIL" view --cache "$C"
expect_grep "... and says why" "needs a terminal" "$T_TMP/last.err"
expect_exit "view: a filter's bad value is ls's usage error" 2 "$RUNTRAIL" view --status nope
expect_grep "view --help names the filters and the keys" "f changes them" <("$RUNTRAIL" view --help)
finish
