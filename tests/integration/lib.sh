# Shared helpers for the integration tests (sourced). Each test gets a
# temporary directory that is removed when it exits.
set -euo pipefail
: "${BERTH:?set BERTH to the berth binary}"
: "${SOURCE_ROOT:?set SOURCE_ROOT to the source tree}"
T=$(mktemp -d "${TMPDIR:-/tmp}/berth-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export BERTH_STATE="$T/state"
export NO_COLOR=1
# BERTH_WRAPPER (set by `meson test --setup valgrindcli`) runs every berth
# command under a checker such as valgrind.
if [ -n "${BERTH_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$BERTH_WRAPPER" "$BERTH" > "$T/berth"
	chmod +x "$T/berth"
	BERTH=$T/berth
fi
fails=0
passes=0

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

# has FILE NAME FIXED-STRING: FILE contains the string.
has() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else
		fail "$1: want \"$3\" in output"; sed -n 's/^/    | /;1,20p' "$2"; fi
}

finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" = 0 ]
}
