#!/usr/bin/env bash
# berth plan against real Incus: three standalone daemons and a two-member
# cluster over HTTPS, started with contrib/lab/lab.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 3 --cluster 2

# The fleet: the lab's daemons with their real endpoints and fingerprints.
R=$T/fleet
new_repo "$R"
for h in $LAB_HOSTS; do
	lab_host "$h" 'capacity: {cpu: 2, memory: 4GiB, disk: 10GiB}' \
		'storage_pools: [{name: incus, driver: dir}]'
done > "$R/hosts.yaml"
lab_cluster 'capacity: {cpu: 2, memory: 4GiB, disk: 10GiB}' > "$R/cluster.yaml"
cat > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Pool
metadata: {name: lab}
spec: {hosts: {labels: {site: lab}}, storage_pool: incus}
---
apiVersion: berth/v1
kind: Pool
metadata: {name: cl}
spec: {hosts: {labels: {site: cl}}, storage_pool: incus}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, price: {amount: "2.00", currency: EUR, cycle: monthly}}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: csmall}
spec: {pool: cl, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, price: {amount: "2.00", currency: EUR, cycle: monthly}}
X
commit "$R" fleet
expect "the lab fleet validates" 0 "$BERTH" --repo "$R" validate

# Untrusted: every server says how to fix it.
expect "untrusted: plan fails" 1 "$BERTH" --repo "$R" plan
has "untrusted host gets the trust-command hint" "$T/out" "host \"lab-1\" does not trust berth's certificate (fingerprint"
has "hint names the command" "$T/out" 'run `berth host trust-command lab-1` and execute its output on the host'
has "untrusted cluster gets the hint too" "$T/out" 'run `berth host trust-command lab-cluster`'
has "summary counts the errors" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 0 blocked, 4 errors."

# trust-command, run on each host, fixes it.
for h in lab-1 lab-2 lab-3 lab-cluster; do
	if [ "$h" = lab-cluster ]; then dir=$(var lab-c1 DIR); else dir=$(var "$h" DIR); fi
	expect "trust-command $h" 0 "$BERTH" --repo "$R" host trust-command "$h"
	if INCUS_DIR=$dir sh "$T/out" >"$T/trust.log" 2>&1; then pass "trust script runs on $h"; else fail "trust script runs on $h"; cat "$T/trust.log"; fi
	if [ "$h" = lab-cluster ]; then want=$LAB_CLUSTER_FINGERPRINT; else want=$(var "$h" FINGERPRINT); fi
	if [ "$(tail -1 "$T/trust.log")" = "$want" ]; then pass "trust script prints $h's fingerprint"; else fail "trust script prints $h's fingerprint"; fi
done
expect "trust-command lab-1 again" 0 "$BERTH" --repo "$R" host trust-command lab-1
if INCUS_DIR=$(var lab-1 DIR) sh "$T/out" >"$T/trust.log" 2>&1 && grep -q "already trusts" "$T/trust.log"; then
	pass "trust script is idempotent"
else
	fail "trust script is idempotent"; cat "$T/trust.log"
fi

expect "trusted: plan succeeds" 0 "$BERTH" --repo "$R" plan -v
has "empty hosts: everything is created" "$T/out" "Plan: 8 to create, 0 to update, 0 to delete, 0 blocked, 0 errors."
has "a host gets its plan profile" "$T/out" "+ create profile plan-small"
has "the cluster gets its own plan profile" "$T/out" "+ create profile plan-csmall"
has "-v shows requests per host" "$T/out" "host lab-1 (7 requests,"
expect "detailed exit code with changes" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
expect "json plan" 0 "$BERTH" --repo "$R" plan --format json
if jq_true '.format_version == "1.0" and .summary.create == 8 and
    ([.actions[].address] | index("host/lab-2/profile/plan-small")) != null' "$T/out"; then
	pass "json plan has versions, summary and addresses"
else
	fail "json plan"
fi

# Observation costs the same with 10 and with 500 profiles on a server.
sock=$(var lab-1 SOCKET)
nprofiles() { curl -sf --unix-socket "$sock" http://incus/1.0/profiles | jq '.metadata | length'; }
before=$(nprofiles)
bad=0
for i in $(seq 1 500); do
	curl -sf --unix-socket "$sock" -X POST -d "{\"name\":\"p$i\"}" http://incus/1.0/profiles >/dev/null || bad=$((bad + 1))
	if [ "$i" = 10 ]; then expect "plan with 10 extra profiles" 0 "$BERTH" --repo "$R" plan -v; cp "$T/out" "$T/p10"; fi
done
[ "$bad" = 0 ] && pass "500 profiles created" || fail "500 profiles created: $bad failed"
after=$(nprofiles)
[ "$after" = $((before + 500)) ] && pass "the server lists them ($before + 500)" || fail "the server lists $after profiles, want $before + 500"
expect "plan with 500 extra profiles" 0 "$BERTH" --repo "$R" plan -v
cp "$T/out" "$T/p500"
r10=$(grep -o 'host lab-1 ([0-9]* requests' "$T/p10" || true)
r500=$(grep -o 'host lab-1 ([0-9]* requests' "$T/p500" || true)
if [ -n "$r10" ] && [ "$r10" = "$r500" ]; then pass "same requests with 10 and 500 profiles ($r10)"; else fail "requests: '$r10' vs '$r500'"; fi

# A wrong fingerprint is refused with both fingerprints; the others are planned.
good=$(var lab-3 FINGERPRINT)
bad=$(printf '%064d' 0)
sed -i "s/$good/$bad/" "$R/hosts.yaml"
commit "$R" "wrong pin"
expect "wrong fingerprint: plan fails" 1 "$BERTH" --repo "$R" plan
has "mismatch names both fingerprints" "$T/out" "host \"lab-3\": server certificate fingerprint is $good, the manifest pins $bad: refusing to connect"
has "the other hosts are planned" "$T/out" "Plan: 6 to create"
git_ -C "$R" revert --no-edit HEAD >/dev/null

# A daemon that is down: an error for it, the others planned.
kill -9 "$(var lab-2 PID)"
wait_for 30 "lab-2's incusd is gone after SIGKILL" gone "$(var lab-2 PID)"
expect "one daemon down: plan fails" 1 "$BERTH" --repo "$R" plan
has "the down host has an error" "$T/out" 'host "lab-2": GET /1.0'
has "the others are planned" "$T/out" "Plan: 6 to create, 0 to update, 0 to delete, 0 blocked, 1 errors."
finish
