#!/usr/bin/env bash
# The command line: help, version, usage errors with suggestions, exit codes.
. "$(dirname "$0")/lib.sh"

expect "berth --help exits 0" 0 "$BERTH" --help
has "help lists validate" "$T/out" "validate"
expect "berth help validate" 0 "$BERTH" help validate
has "help validate shows --strict" "$T/out" "--strict"
expect "berth validate --help" 0 "$BERTH" validate --help
has "validate --help shows --schema-only" "$T/out" "--schema-only"
expect "no command is a usage error" 1 "$BERTH"
has "no command prints usage" "$T/err" "usage: berth"
expect "unknown command" 1 "$BERTH" valdiate
has "unknown command suggests" "$T/err" 'unknown command "valdiate" (did you mean "validate"?)'
expect "unknown command far from all" 1 "$BERTH" frobnicate
has "no suggestion when nothing is near" "$T/err" 'unknown command "frobnicate"'
expect "unknown option" 1 "$BERTH" validate --stirct
has "unknown option suggests" "$T/err" 'berth validate: unknown option "--stirct" (did you mean "--strict"?)'
expect "unknown global option" 1 "$BERTH" --rep x validate
has "unknown global option suggests" "$T/err" 'unknown option "--rep" (did you mean "--repo"?)'
expect "bad --format" 1 "$BERTH" --format yaml version
has "bad format message" "$T/err" '--format: want text or json, have "yaml"'
expect "reconcile in a deny window" 3 "$BERTH" reconcile --window "deny * * * * * 1h"
has "it says why" "$T/err" 'deferred: the deny window "deny * * * * * 1h" is open; nothing is changed'
"$BERTH" --format json ledger list --kind run.deferred > "$T/list.json"
jq -e '.entries | length == 1 and .[0].result == "deferred" and .[0].after.deferred_by == "deny * * * * * 1h"' "$T/list.json" >/dev/null &&
	pass "the deferred run is in the ledger" || fail "run.deferred: $(cat "$T/list.json")"
expect "reconcile outside every allow window" 3 "$BERTH" reconcile --window "allow 0 0 1 1 * 1m"
has "it says when" "$T/err" "no allow window is open; nothing is changed"
expect "a bad window" 1 "$BERTH" reconcile --window "allow 0 25 * * * 2h"
has "it names the field" "$T/err" 'berth reconcile: --window: schedule: hour: want 0 to 23, have "25"'
expect "--window is reconcile's" 1 "$BERTH" apply --window "deny * * * * * 1h"

# The Fleet's sync windows are read from the commit and checked with those
# of --window before the lock is taken and before any server is contacted:
# the one host answers nothing (port 1), and the test holds the lock.
F=$T/fleet
new_repo "$F"
fleet_window() {	# KIND SCHEDULE: the Fleet's one window, and the host
	cat > "$F/fleet.yaml" <<X
apiVersion: berth/v1
kind: Fleet
metadata: {name: main}
spec:
  sync_windows: [{kind: $1, schedule: "$2", duration: 1h, time_zone: Europe/Berlin}]
---
apiVersion: berth/v1
kind: Host
metadata: {name: h-1}
spec:
  endpoint: https://127.0.0.1:1
  fingerprint: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  os: debian-12
  capacity: {cpu: 1, memory: 1GiB, disk: 10GiB}
X
	commit "$F" "$1 $2"
}
mkdir -p "$BERTH_STATE"
fleet_window deny "* * * * *"
seq0=$(ledger_head)
expect "reconcile in the Fleet's deny window" 3 \
	flock "$BERTH_STATE/apply.lock" "$BERTH" --repo "$F" reconcile
has "it names the window and where it is written" "$T/err" \
	'deferred: the deny window "deny * * * * * 1h Europe/Berlin" (fleet.yaml:5:18) is open; nothing is changed'
if grep -q "127.0.0.1\|h-1\|lock" "$T/out" "$T/err"; then
	fail "the deferred run contacted the host or took the lock: $(cat "$T/out" "$T/err")"
else pass "the deferred run neither contacted the host nor took the lock"; fi
entries_after "$seq0" --kind run.deferred
has_entry "the deferred run is in the ledger, with the commit and the window's source" \
	"(.git_commit == \"$(git -C "$F" rev-parse HEAD)\") and .after.deferred_by == \"deny * * * * * 1h Europe/Berlin\" and .after.windows == [{\"window\": \"deny * * * * * 1h Europe/Berlin\", \"source\": \"manifests\", \"at\": \"fleet.yaml:5:18\"}]"
expect "both apply: --window's allow window does not open the Fleet's deny window" 3 \
	"$BERTH" --repo "$F" reconcile --window "allow * * * * * 1h"
expect "plan is not held, and says reconcile is" 1 "$BERTH" --repo "$F" plan
has "it names the window" "$T/err" \
	"the Fleet's deny window \"deny * * * * * 1h Europe/Berlin\" (fleet.yaml:5:18) is open: berth reconcile defers its runs"
fleet_window allow "0 0 30 2 *"
expect "reconcile outside the Fleet's allow windows" 3 "$BERTH" --repo "$F" reconcile
has "it says so" "$T/err" "deferred: no allow window is open; nothing is changed"
fleet_window deny "0 0 30 2 *"
expect "outside the Fleet's deny window, reconcile runs and contacts the host" 1 \
	"$BERTH" --repo "$F" reconcile
has "it reached for the host" "$T/out" 'host "h-1": GET /1.0 at https://127.0.0.1:1: '
expect "and --window still applies" 3 "$BERTH" --repo "$F" reconcile --window "deny * * * * * 1h"
has "nothing is read from git then" "$T/err" 'deferred: the deny window "deny * * * * * 1h" is open'
expect "--format markdown elsewhere" 1 "$BERTH" --format markdown version
has "markdown is plan's" "$T/err" 'have "markdown" (only `berth plan` writes markdown)'
expect "--format markdown after another command" 1 "$BERTH" version --format markdown
has "it says what that command takes" "$T/err" '--format: want text or json, have "markdown"'
expect "missing option value" 1 "$BERTH" validate --ref
has "missing value message" "$T/err" 'option "--ref" needs a value'
expect "unexpected operand" 1 "$BERTH" validate extra
has "operand message" "$T/err" 'unexpected argument "extra"'
for cmd in plan apply; do
	expect "$cmd: bad --target" 1 "$BERTH" $cmd --target Profile/x
	has "$cmd: --target names the kinds" "$T/err" '--target: want KIND/NAME with KIND one of Host, Cluster, Pool, Plan, Image; have "Profile/x"'
	expect "$cmd: --max-deletes overflow" 1 "$BERTH" $cmd --max-deletes 99999999999999999999
	has "$cmd: --max-deletes wants a number" "$T/err" '--max-deletes: want a number, have "99999999999999999999"'
	expect "$cmd: --parallel 0" 1 "$BERTH" $cmd --parallel 0
	has "$cmd: --parallel names its range" "$T/err" "berth $cmd: --parallel: want a number from 1 to 1024, have \"0\""
done
expect "version" 0 "$BERTH" version
for lib in libyaml libcurl jansson openssl libgit2 sqlite libmicrohttpd; do
	has "version names $lib" "$T/out" "$lib"
done
expect "version --format json" 0 "$BERTH" version --format json
if jq_true '.format_version == "1.0" and (.libraries | length) == 7' "$T/out"; then
	pass "version json has format_version and 7 libraries"
else
	fail "version json"
fi
expect "global options after the command" 0 "$BERTH" version --format=json
# /dev/full makes every write fail: berth must notice and exit 1.
if "$BERTH" version >/dev/full 2>"$T/err"; then
	fail "writing to /dev/full exits non-zero"
else
	has "writing to /dev/full is reported" "$T/err" "error writing to standard output"
fi
finish
