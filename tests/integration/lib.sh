# shellcheck shell=bash
# Shared helpers for the integration tests (sourced). Each test gets a
# temporary directory $T and a state directory $BERTH_STATE in it; on exit,
# cleanup brings down the lab in $T/lab if the test started one and removes
# $T.
set -euo pipefail
: "${BERTH:?set BERTH to the berth binary}"
: "${SOURCE_ROOT:?set SOURCE_ROOT to the source tree}"
T=$(mktemp -d "${TMPDIR:-/tmp}/berth-test.XXXXXX")
LAB=$SOURCE_ROOT/contrib/lab/lab
export BERTH_STATE="$T/state"
export NO_COLOR=1
# BERTH_WRAPPER (set by `meson test --setup valgrindcli`) runs every berth
# command under a checker such as valgrind: $BERTH becomes a script that
# execs it, so the process (and its pid) is still berth's.
WAIT_SCALE=1
if [ -n "${BERTH_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$BERTH_WRAPPER" "$BERTH" > "$T/berth"
	chmod +x "$T/berth"
	BERTH=$T/berth
	WAIT_SCALE=10
fi
fails=0
passes=0

# cleanup: the EXIT trap. It runs test_cleanup first when the test defines
# one, then brings down the lab in $T/lab (a lab that will not go down fails
# the test), then removes $T, but never while something is mounted below it:
# rm -rf --one-file-system does not notice a bind mount of the same file
# system.
cleanup() {
	local rc=$?
	if declare -F test_cleanup >/dev/null; then test_cleanup || true; fi
	if [ -e "$T/lab" ] && ! "$LAB" down --dir "$T/lab" >"$T/down.log" 2>&1; then
		echo "FAIL - lab down --dir $T/lab:"; sed 's/^/    | /' "$T/down.log"
		rc=1
	fi
	if awk -v t="$T/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "FAIL - something is still mounted below $T: left in place"
		rc=1
	else
		rm -rf --one-file-system "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT

git_() { git -c user.name=test -c user.email=test@berth.invalid -c init.defaultBranch=main "$@"; }

# new_repo DIR: an empty git repository.
new_repo() { mkdir -p "$1" && git_ -C "$1" init -q; }
# commit DIR MSG: commit everything in DIR.
commit() { git_ -C "$1" add -A && git_ -C "$1" commit -q -m "$2" --allow-empty; }
# var HOST FIELD: a lab daemon's FIELD from lab.env (var lab-1 ENDPOINT).
var() { local v="LAB_$(echo "$1" | tr 'a-z-' 'A-Z_')_$2"; printf '%s' "${!v}"; }

pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { fails=$((fails + 1)); echo "FAIL - $1"; }

# expect NAME WANT-EXIT CMD...: run CMD, capture stdout/stderr in $T/out and $T/err.
expect() {
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ]; then
		pass "$name"
	else
		fail "$name (exit $rc, want $want)"
		sed -n 's/^/    | /;1,20p' "$T/err"
	fi
}

# has NAME FILE FIXED-STRING: FILE contains the string.
has() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else
		fail "$1: want \"$3\" in output"; sed -n 's/^/    | /;1,20p' "$2"; fi
}

# jq_true FILTER FILE [JQ-OPTION...]: FILTER gives exactly one value, true,
# on FILE. (jq -e is not enough: jq 1.6 exits 0 when FILE is empty or a
# select() leaves nothing.)
jq_true() {
	local filter=$1 file=$2
	shift 2
	[ "$(jq "$@" "$filter" "$file" 2>/dev/null)" = true ]
}

# wait_for SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds. When
# it has not after SECONDS (times WAIT_SCALE: 10 under a checker), WHAT
# fails and wait_for returns 1, which ends the test at the top level (set -e).
wait_for() {
	local secs=$(($1 * WAIT_SCALE)) what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			fail "$what: not after ${secs}s"
			return 1
		fi
		sleep 0.1
	done
}

# gone PID: no process PID runs (a zombie has closed its files and sockets).
gone() {
	local st
	st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

# lock_free FILE: nobody holds flock(2) on FILE.
lock_free() { flock -n "$1" true; }

# ledger_head: the seq of the ledger's last entry.
ledger_head() { "$BERTH" ledger checkpoint | cut -d: -f1; }

# entries_after SEQ [LIST-OPTION...]: the ledger entries after SEQ (`ledger
# list` with the options), one JSON object a line, in $T/entries.
entries_after() {
	local s=$1
	shift
	"$BERTH" --format json ledger list "$@" >"$T/list.json" ||
		{ fail "ledger list $*"; : >"$T/entries"; return 0; }
	jq -c --argjson s "$s" '.entries[] | select(.seq > $s)' "$T/list.json" >"$T/entries"
}

# has_entry NAME JQ-CONDITION: an entry of $T/entries meets the condition.
has_entry() {
	if jq -se "any(.[]; $2)" "$T/entries" >/dev/null; then pass "$1"; else
		fail "$1: no entry with $2 among:"; sed -n 's/^/    | /;1,20p' "$T/entries"; fi
}

finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" = 0 ]
}
