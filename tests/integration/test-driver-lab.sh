#!/usr/bin/env bash
# driver: auto on real Incus, on a kernel that cannot run lvm thin pools
# (Incus lists lvm when lvm2 is installed; the thin pool fails after half a
# minute). lab-1 has an agent whose report says so: the plan passes lvm
# over and names why. lab-2 has none: the plan takes lvm with a fallback,
# the create fails with Incus's error (not a timeout) and apply makes the
# pool with the next driver; the ledger has both attempts. A second plan
# has nothing to do.
. "$(dirname "$0")/lib.sh"

needs_lab
if [ -e /sys/module/dm_thin_pool ]; then
	echo "this kernel runs lvm thin pools: driver: auto does not fall back here"; exit 77
fi
SERVE_PID=
test_cleanup() { [ -z "$SERVE_PID" ] || { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; } || true; }
lab_up --hosts 2
li() { local h=$1; shift; INCUS_DIR=$(var "$h" DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
supported() { li "$1" query /1.0 | jq -e --arg d "$2" 'any(.environment.storage_supported_drivers[]; .Name == $d)' >/dev/null; }
supported lab-2 lvm || { fail "Incus on lab-2 lists no lvm driver (lvm2 installed? contrib/deps.sh)"; finish; }
supported lab-2 btrfs || { fail "Incus on lab-2 lists no btrfs driver (btrfs-progs installed?)"; finish; }

"$BERTH" agent keygen --out "$T/lab-1.key" > "$T/lab-1.pub" 2>/dev/null
R=$T/fleet
new_repo "$R"
{
	lab_host lab-1 'capacity: {cpu: 4, memory: 4GiB, disk: 10GiB}' "agent: {key: \"$(cat "$T/lab-1.pub")\"}" \
		'storage_pools: [{name: fast, driver: auto, size: 1GiB}]'
	lab_host lab-2 'capacity: {cpu: 4, memory: 4GiB, disk: 10GiB}' 'storage_pools: [{name: fast, driver: auto, size: 1GiB}]'
} > "$R/hosts.yaml"
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null

# lab-1's agent reports what its kernel can run.
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen none >"$T/serve.log" 2>&1 &
SERVE_PID=$!
up() { ! gone "$SERVE_PID" && curl -sf "$URL/healthz" >/dev/null 2>&1; }
wait_for 60 "berth serve answers" up || { sed 's/^/    | /' "$T/serve.log"; exit 1; }
expect "agent once on lab-1" 0 "$BERTH" agent once --host lab-1 --key "$T/lab-1.key" \
	--server "$URL" --incus "unix://$(var lab-1 SOCKET)" --spool "$T/spool"

expect "plan" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
sed -n '/host lab-1/,/host lab-2/p' "$T/out" > "$T/plan-1"
sed -n '/host lab-2/,$p' "$T/out" > "$T/plan-2"
has "lab-1: the agent's report passes lvm over" "$T/plan-1" \
	"not lvm: lab-1's agent: the kernel has no"
if grep -q 'driver: "lvm"' "$T/plan-1"; then fail "lab-1: lvm chosen despite the report"; else pass "lab-1: lvm not chosen"; fi
has "lab-1: btrfs chosen" "$T/plan-1" '+ driver: "btrfs" (auto; not lvm'
has "lab-2: no report, lvm with the fallback named" "$T/plan-2" \
	'+ driver: "lvm" (auto; not zfs: Incus has no zfs driver; no agent report of its drivers: if lvm fails, then btrfs, dir)'
expect "plan --format json" 2 "$BERTH" --repo "$R" --format json plan --detailed-exitcode
jq_true '[.actions[] | select(.address == "host/lab-2/storage-pool/fast") | .fallback_drivers] == [["btrfs","dir"]]' "$T/out" &&
	pass "JSON plan lists lab-2's fallback drivers" || fail "JSON plan lists lab-2's fallback drivers"
jq_true '[.actions[] | select(.address == "host/lab-1/storage-pool/fast") | has("fallback_drivers")] == [false]' "$T/out" &&
	pass "lab-1 (reported) has no fallback" || fail "lab-1 (reported) has no fallback"

head=$(ledger_head)
expect "apply: lvm fails on lab-2, btrfs is made" 0 "$BERTH" --repo "$R" apply --auto-approve
has "the failed attempt shows Incus's error" "$T/err" "thin-pool"
has "and says what comes next" "$T/err" "driver: auto tries btrfs next"
if grep -qi "timed out\|timeout" "$T/err"; then fail "a timeout instead of Incus's error"; else pass "no timeout"; fi
has "apply counts one change per pool" "$T/out" "Apply: 2 done, 0 failed"
for h in lab-1 lab-2; do
	d=$(li "$h" storage get fast --property driver 2>/dev/null || li "$h" query /1.0/storage-pools/fast | jq -r .driver)
	[ "$d" = btrfs ] && pass "$h: pool fast is btrfs" || fail "$h: pool fast is \"$d\", want btrfs"
done
entries_after "$head"
has_entry "ledger: lvm's intent" '.kind == "change.intent" and .object == "host/lab-2/storage-pool/fast" and .after.driver == "lvm"'
has_entry "ledger: lvm's failed result with the reason" '.kind == "change.result" and .object == "host/lab-2/storage-pool/fast" and .result == "failed" and (.error | test("thin-pool")) and (.error | test("tries btrfs next"))'
has_entry "ledger: btrfs's intent" '.kind == "change.intent" and .object == "host/lab-2/storage-pool/fast" and .after.driver == "btrfs"'
has_entry "ledger: btrfs's result" '.kind == "change.result" and .object == "host/lab-2/storage-pool/fast" and .result == "ok" and .after.driver == "btrfs"'

expect "a second plan has nothing to do" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
expect "the ledger verifies" 0 "$BERTH" ledger verify

# Incus's pools go before the lab does (loop files, mounts).
for h in lab-1 lab-2; do li "$h" storage delete fast >/dev/null 2>&1 || true; done
finish
