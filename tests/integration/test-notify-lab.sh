#!/usr/bin/env bash
# Webhooks of runs on a real lab host, received by a real HTTP server on
# loopback: an apply with changes is sent; a run with no changes is not;
# a reconcile that undoes a change made outside berth is sent as drift,
# and the same drift of the same commit is sent once; a receiver that
# answers 503 is tried again until it takes the event; one that hangs
# does not hold the run beyond its budget, and the event is sent by a
# later run; a host that cannot be reached is sent as failures, once.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 1

R=$T/fleet
new_repo "$R"
lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' 'storage_pools: [{name: incus, driver: dir}]' \
	> "$R/hosts.yaml"
{ lab_pools_image; cat; } > "$R/plans.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "4.50", currency: EUR, cycle: monthly}}
X
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
b() { "$BERTH" --repo "$R" "$@"; }

# receiver NAME FAILS: a receiver logging to $T/NAME.log; its URL in $URL.
receiver() {
	rm -f "$T/$1.port"
	python3 "$SOURCE_ROOT/tests/integration/webhook-receiver.py" "$T/$1.log" "$T/$1.port" "$2" &
	pids="${pids:-} $!"
	wait_for 30 "the receiver $1 listens" test -s "$T/$1.port"
	URL="http://127.0.0.1:$(cat "$T/$1.port")/hook"
}
test_cleanup() { kill ${pids:-} 2>/dev/null || true; }
events() { [ -f "$T/$1.log" ] && wc -l < "$T/$1.log" || echo 0; }

receiver a 0
A=$URL
expect "apply with changes" 0 b apply --auto-approve --notify "$A"
has "it says it notified" "$T/err" "notified 1 webhook: changes"
[ "$(events a)" = 1 ] && pass "one event received" || fail "$(events a) events"
jq -e '.event == "run" and .kind == "apply" and .outcome == "changes" and .result == "ok" and .changes > 0 and .failures == 0 and .drift == false and (.objects | map(.address) | index("host/lab-1/profile/plan-small")) != null and (.commit | length) == 40' \
	"$T/a.log" >/dev/null && pass "the event says what changed" || fail "event: $(cat "$T/a.log")"
entries_after 0 --kind notify.sent
has_entry "the delivery is in the ledger" '.after.key | startswith("run/") and endswith("/changes")'
! grep -q hook "$T/entries" && pass "the URL's path is not recorded" || fail "the ledger holds the URL"

expect "reconcile with nothing to do" 0 b reconcile --notify "$A"
[ "$(events a)" = 1 ] && pass "nothing sent" || fail "$(events a) events"
[ -s "$BERTH_STATE/checkpoints/latest.json" ] && pass "the reconcile still signs its checkpoint" ||
	fail "no checkpoint after a reconcile"

# Drift: the profile changed outside berth, twice the same way.
li() { INCUS_DIR=$(var lab-1 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
li profile set plan-small limits.cpu 3
BERTH_NOTIFY="$A" expect "reconcile undoes a change made outside berth" 0 b reconcile
[ "$(events a)" = 2 ] && pass "sent (the URL from BERTH_NOTIFY)" || fail "$(events a) events"
tail -n 1 "$T/a.log" | jq -e '.kind == "reconcile" and .outcome == "drift" and .drift == true and .objects[0].address == "host/lab-1/profile/plan-small"' >/dev/null &&
	pass "as drift, naming the profile" || fail "event: $(tail -n 1 "$T/a.log")"
li profile set plan-small limits.cpu 3
expect "the same drift again" 0 b reconcile --notify "$A"
[ "$(events a)" = 2 ] && pass "the same outcome of the same commit is sent once" || fail "$(events a) events"
li profile set plan-small limits.memory 128MiB
expect "another drift" 0 b reconcile --notify "$A"
[ "$(events a)" = 3 ] && pass "a different drift is sent" || fail "$(events a) events"

# A receiver that answers 503 twice, then takes it.
receiver c 2
li profile set plan-small limits.cpu 2
expect "reconcile with a flaky receiver" 0 b reconcile --notify "$URL"
[ "$(events c)" = 1 ] && [ "$(wc -l < "$T/c.log.tries")" = 3 ] && pass "taken at the third try" ||
	fail "$(events c) events after $(cat "$T/c.log.tries" | wc -l) tries"

# A receiver that hangs: the run goes on; a later run sends the event.
receiver d 0
D=$URL
: > "$T/d.log.hang"
li profile set plan-small limits.cpu 4
expect "reconcile with a receiver that hangs" 0 b reconcile --notify "$D"
has "it says the notification failed, without the path" "$T/err" "notify http://127.0.0.1:$(cat "$T/d.port"): "
has "and that it is tried again" "$T/err" "(tried again next time)"
rm -f "$T/d.log.hang"
wait_for 30 "the hung request is let go" test -s "$T/d.log"
n=$(events d)
expect "a later run with nothing to do" 0 b reconcile --notify "$D"
[ "$(events d)" = "$n" ] && pass "no new outcome: nothing more" || fail "$(events d) events"

# A host that cannot be reached: failures, once.
kill -9 "$(var lab-1 PID)"
expect "reconcile with lab-1 down" 1 b reconcile --notify "$A"
tail -n 1 "$T/a.log" | jq -e '.outcome == "failures" and .result == "failed" and .failures >= 1 and (.objects[0].error | length) > 0' >/dev/null &&
	pass "the failure is sent with its error" || fail "event: $(tail -n 1 "$T/a.log")"
n=$(events a)
expect "the same failure again" 1 b reconcile --notify "$A"
[ "$(events a)" = "$n" ] && pass "sent once" || fail "$(events a) events"
expect "--notify wants a URL" 1 b reconcile --notify ftp://x
finish
