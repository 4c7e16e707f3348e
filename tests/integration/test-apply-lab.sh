#!/usr/bin/env bash
# berth apply, reconcile and the ledger against real Incus: two standalone
# daemons and a two-member cluster, with faults: a daemon killed in the
# middle of an apply, berth itself killed, two applies at once.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -x /usr/libexec/incus/incusd ]; then
	echo "needs root and incusd"; exit 77
fi
LAB="$SOURCE_ROOT/contrib/lab/lab"
chmod 0711 "$T"
trap '"$LAB" down --dir "$T/lab" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" >"$T/lab.log" 2>&1 || { cat "$T/lab.log"; exit 1; }
. "$T/lab/lab.env"
PLANS=${PLANS:-60}

R=$T/fleet
new_repo "$R"
for h in lab-1 lab-2; do
	cat >> "$R/hosts.yaml" <<X
---
apiVersion: berth/v1
kind: Host
metadata: {name: $h, labels: {site: lab}}
spec:
  endpoint: $(var $h ENDPOINT)
  fingerprint: "$(var $h FINGERPRINT)"
  os: debian-12
  capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}
  storage_pools: [{name: incus, driver: dir}]
  projects: [{name: tenants, config: {features.profiles: "false", features.images: "false"}}]
X
done
cat > "$R/cluster.yaml" <<X
apiVersion: berth/v1
kind: Cluster
metadata: {name: lab-cluster}
spec:
  endpoint: $LAB_CLUSTER_ENDPOINT
  fingerprint: "$LAB_CLUSTER_FINGERPRINT"
  storage_pools: [{name: incus, driver: dir}]
---
apiVersion: berth/v1
kind: Host
metadata: {name: lab-c1, labels: {site: cl}}
spec: {endpoint: $(var lab-c1 ENDPOINT), fingerprint: "$LAB_CLUSTER_FINGERPRINT", cluster: lab-cluster, os: debian-12, capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}}
---
apiVersion: berth/v1
kind: Host
metadata: {name: lab-c2, labels: {site: cl}}
spec: {endpoint: $(var lab-c2 ENDPOINT), fingerprint: "$LAB_CLUSTER_FINGERPRINT", cluster: lab-cluster, os: debian-12, capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}}
X
{
	printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\nspec: {hosts: {labels: {site: lab}}, storage_pool: incus}\n'
	printf -- '---\napiVersion: berth/v1\nkind: Pool\nmetadata: {name: cl}\nspec: {hosts: {labels: {site: cl}}, storage_pool: incus}\n'
	printf -- '---\napiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\nspec: {source: {server: "%s", protocol: incus, alias: busybox, server_fingerprint: "%s"}, pools: [lab, cl], auto_update: false}\n' \
		"$LAB_IMAGE_SERVER" "$LAB_IMAGE_SERVER_FINGERPRINT"
	printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: small}\nspec: {pool: lab, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, images: [busybox], price: {amount: "2.00", currency: EUR, cycle: monthly}}\n'
	printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: csmall}\nspec: {pool: cl, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, images: [busybox], price: {amount: "2.00", currency: EUR, cycle: monthly}}\n'
	for i in $(seq 1 "$PLANS"); do
		printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: p%d}\nspec: {pool: lab, type: container, cpu: 1, memory: %dMiB, disk: 1GiB, price: {amount: "1.00", currency: EUR, cycle: monthly}}\n' "$i" $((128 + i))
	done
} > "$R/sold.yaml"
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
profiles() { curl -s --unix-socket "$(var "$1" SOCKET)" 'http://incus/1.0/profiles' | jq '.metadata | length'; }

# From empty: apply, then the plan is clean.
expect "apply without a terminal refuses" 1 "$BERTH" --repo "$R" apply </dev/null
has "refusal says what to do" "$T/err" "pass --auto-approve, or apply a saved plan file"
expect "apply from empty" 0 "$BERTH" --repo "$R" apply --auto-approve
has "every change done" "$T/out" "Apply: $((2 * (PLANS + 4) + 3)) done, 0 failed, 0 stale, 0 not attempted."
expect "plan after apply: no changes" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
has "no changes" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 0 blocked, 0 errors."
expect "ledger verifies after apply" 0 "$BERTH" ledger verify

# Change a manifest: apply, plan clean.
sed -i 's/metadata: {name: small}\nspec: {pool: lab, type: container, cpu: 1/X/' "$R/sold.yaml"
sed -i '0,/cpu: 1, memory: 256MiB/s//cpu: 2, memory: 256MiB/' "$R/sold.yaml"
commit "$R" "small gets 2 cpus"
expect "plan shows the change in git" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "changed in git" "$T/out" 'config["limits.cpu"]: "1" -> "2"'
expect "apply the change" 0 "$BERTH" --repo "$R" apply --auto-approve
has "two profiles updated" "$T/out" "Apply: 2 done"
expect "clean again" 0 "$BERTH" --repo "$R" plan --detailed-exitcode

# Drift: a hand edit is seen as changed outside berth and restored.
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.cpu=7
expect "plan after a hand edit" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "drift named as such" "$T/out" "reason: changed outside berth"
expect "reconcile restores it" 0 "$BERTH" --repo "$R" reconcile
expect "restored" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
expect "ledger list shows the drift repair" 0 "$BERTH" ledger list --object host/lab-1/profile/plan-small
has "ledger has the intent" "$T/out" "change.intent"
has "ledger has the result" "$T/out" "update -> ok"

# A stale saved plan is refused and names the object.
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.cpu=5
expect "save a plan" 0 "$BERTH" --repo "$R" plan --out "$T/saved.json"
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.memory=300MiB
expect "apply a stale plan file" 1 "$BERTH" --repo "$R" apply "$T/saved.json"
has "stale object named" "$T/err" "host/lab-1/profile/plan-small: changed since the plan was made"
if [ "$(INCUS_DIR=$(var lab-1 DIR) incus profile get plan-small limits.memory)" = 300MiB ]; then
	pass "nothing overwritten"; else fail "nothing overwritten"; fi
expect "save a fresh plan" 0 "$BERTH" --repo "$R" plan --out "$T/saved.json"
expect "apply the saved plan exactly" 0 "$BERTH" --repo "$R" apply "$T/saved.json"
printf '{"format_version":"9.0","kind":"berth-plan"}' > "$T/future.json"
expect "unknown plan format refused" 1 "$BERTH" --repo "$R" apply "$T/future.json"
has "format named" "$T/err" 'format_version "9.0"'
BERTH_STATE=$T/other "$BERTH" --repo "$R" apply "$T/saved.json" >"$T/out" 2>"$T/err" && fail "plan of another state dir refused" || pass "plan of another state dir refused"
has "other state named" "$T/err" "made with another state directory"

# Two applies at once: the second gets the lock error. The first waits at
# its question on a terminal, holding the lock.
mkfifo "$T/fifo"
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.cpu=6
( exec 3<>"$T/fifo"; script -qefc "\"$BERTH\" --repo \"$R\" apply" /dev/null <"$T/fifo" >"$T/first.log" 2>&1 ) &
first=$!
for _ in $(seq 50); do grep -q "Only 'yes'" "$T/first.log" 2>/dev/null && break; sleep 0.2; done
expect "second apply while the first holds the lock" 1 "$BERTH" --repo "$R" apply --auto-approve
has "lock error names the holder" "$T/err" "another berth apply holds the lock of $BERTH_STATE: pid"
pkill -9 -f "$BERTH\" --repo \"$R\" apply" 2>/dev/null || true
pkill -9 -P "$first" 2>/dev/null || true
kill -9 "$first" 2>/dev/null || true
pkill -9 -f "$BERTH --repo $R apply" 2>/dev/null || true
{ wait "$first"; } 2>/dev/null || true
sleep 0.5
expect "a killed holder's lock is taken over" 0 "$BERTH" --repo "$R" reconcile
has "takeover reported" "$T/err" "took over lock"

# A daemon killed in the middle of an apply: its server fails, the others complete.
sed -i 's/memory: \([0-9]*\)MiB, disk: 1GiB, price: {amount: "1.00"/memory: \1MiB, disk: 2GiB, price: {amount: "1.00"/' "$R/sold.yaml"
commit "$R" "bigger disks"
"$BERTH" --repo "$R" apply --auto-approve --parallel 1 >"$T/out" 2>"$T/err" &
apid=$!
for _ in $(seq 1200); do grep -q "host/lab-1/profile/plan-p3 update: ok" "$T/err" 2>/dev/null && break; sleep 0.05; done
kill -9 "$(var lab-2 PID)"
rc=0; wait "$apid" || rc=$?
if [ "$rc" = 1 ]; then pass "apply with a daemon killed exits 1"; else fail "apply with a daemon killed exits 1 (exit $rc)"; fi
has "the dead server's actions failed" "$T/err" "host/lab-2/"
if grep -q "host/lab-1/.* failed" "$T/err"; then fail "the other servers completed"; else pass "the other servers completed"; fi
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" >/dev/null 2>&1
expect "reconcile after the restart converges" 0 "$BERTH" --repo "$R" reconcile
expect "clean after the fault" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
n1=$(profiles lab-1); n2=$(profiles lab-2)
if [ "$n1" = $((PLANS + 2)) ] && [ "$n2" = $((PLANS + 2)) ]; then pass "no duplicates ($n1, $n2 profiles)"; else fail "no duplicates ($n1, $n2)"; fi
expect "ledger verifies after the fault" 0 "$BERTH" ledger verify

# berth killed in the middle of an apply.
sed -i 's/disk: 2GiB, price: {amount: "1.00"/disk: 3GiB, price: {amount: "1.00"/' "$R/sold.yaml"
commit "$R" "bigger disks again"
"$BERTH" --repo "$R" apply --auto-approve --parallel 1 >"$T/out" 2>"$T/err" &
apid=$!
for _ in $(seq 1200); do grep -q "plan-p5 update: ok" "$T/err" 2>/dev/null && break; sleep 0.05; done
kill -9 "$apid"; wait "$apid" 2>/dev/null || true
if [ "$(sqlite3 "$BERTH_STATE/berth.db" 'PRAGMA integrity_check')" = ok ]; then pass "integrity_check ok after berth was killed"; else fail "integrity_check"; fi
expect "ledger verifies after berth was killed" 0 "$BERTH" ledger verify
expect "the next run converges" 0 "$BERTH" --repo "$R" reconcile
has "the next run reports the interrupted change" "$T/err" "was interrupted"
expect "clean at last" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
expect "reconcile with nothing to do" 0 "$BERTH" --repo "$R" reconcile
if grep -q "was interrupted" "$T/err"; then fail "an interrupted change is reported once, not by every later run"; else pass "an interrupted change is reported once, not by every later run"; fi
expect "the interrupted change is settled in the ledger" 0 "$BERTH" ledger list --kind change.result
has "settled as interrupted" "$T/out" "-> interrupted"
expect "ledger records runs that changed nothing" 0 "$BERTH" ledger list --kind run.end --limit 1
has "a run.end entry" "$T/out" "run.end"
expect "final verify" 0 "$BERTH" ledger verify
finish
