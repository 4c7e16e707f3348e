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

# needs_lab: skip the test (exit 77) unless it can start a lab: root and incusd.
needs_lab() {
	if [ "$(id -u)" != 0 ] || [ ! -x /usr/libexec/incus/incusd ]; then
		echo "needs root and incusd"; exit 77
	fi
}

# lab_up UP-OPTION...: start a lab in $T/lab (`lab up UP-OPTION...`; its
# log in $T/lab.log, shown when it fails, which ends the test) and read
# its lab.env. $T is made 0711 first: the daemons' users must reach it.
lab_up() {
	chmod 0711 "$T"
	"$LAB" up "$@" --dir "$T/lab" >"$T/lab.log" 2>&1 || { cat "$T/lab.log"; exit 1; }
	# shellcheck disable=SC1091
	. "$T/lab/lab.env"
}

# lab_cluster [FIELD: VALUE]...: the manifest of the lab's cluster (after
# a ---): its endpoint and fingerprint from lab.env, and the storage pool
# "incus"; then, when fields are given, the Host manifest of each member
# with them (see lab_host).
lab_cluster() {
	local h
	cat <<X
---
apiVersion: berth/v1
kind: Cluster
metadata: {name: $LAB_CLUSTER}
spec:
  endpoint: $LAB_CLUSTER_ENDPOINT
  fingerprint: "$LAB_CLUSTER_FINGERPRINT"
  storage_pools: [{name: incus, driver: dir}]
X
	if [ $# -gt 0 ]; then
		for h in $LAB_CLUSTER_MEMBERS; do lab_host "$h" "$@"; done
	fi
}

# lab_host NAME [FIELD: VALUE]...: the Host manifest (after a ---) of the
# lab daemon NAME: its endpoint and fingerprint from lab.env, os debian-12,
# then the spec fields given, one an argument ('capacity: {cpu: 2}'). A
# member of the lab's cluster is labelled site: cl and has the cluster's
# fingerprint and cluster:; any other daemon is labelled site: lab.
lab_host() {
	local name=$1 site=lab fp
	shift
	fp=$(var "$name" FINGERPRINT)
	case " $LAB_CLUSTER_MEMBERS " in *" $name "*) site=cl fp=$LAB_CLUSTER_FINGERPRINT ;; esac
	printf -- '---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: %s, labels: {site: %s}}\n' \
		"$name" "$site"
	printf 'spec:\n  endpoint: %s\n  fingerprint: "%s"\n' "$(var "$name" ENDPOINT)" "$fp"
	if [ "$site" = cl ]; then printf '  cluster: %s\n' "$LAB_CLUSTER"; fi
	printf '  os: debian-12\n'
	if [ $# -gt 0 ]; then printf '  %s\n' "$@"; fi
}

# lab_pools_image: the Pools "lab" (the standalone daemons, spread) and
# "cl" (the cluster's members, pack), no agent required, and the Image
# "busybox" of the lab's image server on both; then a --- for what follows.
lab_pools_image() {
	cat <<X
apiVersion: berth/v1
kind: Pool
metadata: {name: lab}
spec: {hosts: {labels: {site: lab}}, storage_pool: incus, placement: spread, require_agent: false}
---
apiVersion: berth/v1
kind: Pool
metadata: {name: cl}
spec: {hosts: {labels: {site: cl}}, storage_pool: incus, placement: pack, require_agent: false}
---
apiVersion: berth/v1
kind: Image
metadata: {name: busybox}
spec: {source: {server: "$LAB_IMAGE_SERVER", protocol: incus, alias: busybox, server_fingerprint: "$LAB_IMAGE_SERVER_FINGERPRINT"}, pools: [lab, cl], auto_update: false}
---
X
}

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

# gone PID: no process PID runs, nor any of its threads (a zombie whose
# threads all exited has closed its files and sockets).
gone() {
	local st tasks
	st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	[ -z "$st" ] && return 0
	[ "$st" = Z ] || return 1
	# a zombie leader whose other threads still exit holds its files yet
	tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	[ "$tasks" -le 1 ]
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
