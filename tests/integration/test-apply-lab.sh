#!/usr/bin/env bash
# berth apply, reconcile and the ledger against real Incus: two standalone
# daemons and a two-member cluster, with faults: a daemon killed in the
# middle of an apply, berth itself killed, two applies at once.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 2 --cluster 2
PLANS=${PLANS:-60}

R=$T/fleet
new_repo "$R"
for h in $LAB_HOSTS; do
	lab_host "$h" 'capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}' \
		'storage_pools: [{name: incus, driver: dir}]' \
		'projects: [{name: tenants, config: {features.profiles: "false", features.images: "false"}}]'
done > "$R/hosts.yaml"
lab_cluster 'capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}' > "$R/cluster.yaml"
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
# (the first "cpu: 1, memory: 256MiB" is plan small's)
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
head=$(ledger_head)
expect "reconcile restores it" 0 "$BERTH" --repo "$R" reconcile
expect "restored" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
entries_after "$head" --object host/lab-1/profile/plan-small
has_entry "the reconcile's intent is in the ledger" '.kind == "change.intent" and .action == "update"'
has_entry "the reconcile's result is in the ledger" '.kind == "change.result" and .action == "update" and .result == "ok"'

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
# A plan saved with --target is applied with its targets: lab-2's drift stays.
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.cpu=7
INCUS_DIR=$(var lab-2 DIR) incus profile set plan-small limits.cpu=7
expect "save a plan of lab-1 only" 0 "$BERTH" --repo "$R" plan --target Host/lab-1 --out "$T/one.json"
expect "apply it" 0 "$BERTH" --repo "$R" apply "$T/one.json"
[ "$(INCUS_DIR=$(var lab-1 DIR) incus profile get plan-small limits.cpu)" = 2 ] && pass "lab-1 converged" || fail "lab-1 not converged"
[ "$(INCUS_DIR=$(var lab-2 DIR) incus profile get plan-small limits.cpu)" = 7 ] && pass "lab-2, not targeted, untouched" || fail "lab-2 changed by a plan of lab-1"
expect "converge lab-2 too" 0 "$BERTH" --repo "$R" apply --auto-approve
printf '{"format_version":"9.0","kind":"berth-plan"}' > "$T/future.json"
expect "unknown plan format refused" 1 "$BERTH" --repo "$R" apply "$T/future.json"
has "format named" "$T/err" 'format_version "9.0"'
BERTH_STATE=$T/other "$BERTH" --repo "$R" apply "$T/saved.json" >"$T/out" 2>"$T/err" && fail "plan of another state dir refused" || pass "plan of another state dir refused"
has "other state named" "$T/err" "made with another state directory"

# Two applies at once: the second gets the lock error. The first waits at
# its question on a terminal, holding the lock, until it is SIGKILLed: by
# the pid its lock names, so that it cannot release the lock first (a hung
# up terminal would let it exit cleanly).
mkfifo "$T/fifo"
INCUS_DIR=$(var lab-1 DIR) incus profile set plan-small limits.cpu=6
( exec 3<>"$T/fifo"; exec script -qefc "\"$BERTH\" --repo \"$R\" apply" /dev/null <"$T/fifo" >"$T/first.log" 2>&1 ) &
first=$!
test_cleanup() {
	[ -z "$first" ] || kill "$first" 2>/dev/null
	[ -z "${sqpid:-}" ] || kill "$sqpid" 2>/dev/null
	! mountpoint -q "$T/tiny" || umount "$T/tiny"
}
prompted() { grep -q "Only 'yes'" "$T/first.log"; }
wait_for 120 "the first apply asks its question" prompted || { cat "$T/first.log"; exit 1; }
holder=$(jq -r .pid "$BERTH_STATE/apply.lock" || true)
case $holder in ''|*[!0-9]*) fail "the lock names the first apply's pid (have \"$holder\")"; exit 1 ;; esac
tr '\0' ' ' <"/proc/$holder/cmdline" | grep -qF -- "--repo $R apply" ||
	{ fail "pid $holder of the lock is the first apply"; exit 1; }
expect "second apply while the first holds the lock" 1 "$BERTH" --repo "$R" apply --auto-approve
has "lock error names the holder" "$T/err" "another berth apply holds the lock of $BERTH_STATE: pid $holder on host"
kill -9 "$holder"
wait_for 60 "the killed apply's lock is free" lock_free "$BERTH_STATE/apply.lock"
if jq_true '.pid == $p' "$BERTH_STATE/apply.lock" --argjson p "$holder"; then
	pass "the killed holder's line is left in the lock"; else fail "the killed holder's line is left in the lock"; fi
wait_for 30 "script ends with the apply it ran" gone "$first"
wait "$first" 2>/dev/null || true
first=
expect "a killed holder's lock is taken over" 0 "$BERTH" --repo "$R" reconcile --lock-timeout 60s
has "takeover reported" "$T/err" "took over lock"
has "takeover names the killed holder" "$T/err" "left by pid $holder on"

# A daemon killed in the middle of an apply: its server fails, the others complete.
sed -i 's/memory: \([0-9]*\)MiB, disk: 1GiB, price: {amount: "1.00"/memory: \1MiB, disk: 2GiB, price: {amount: "1.00"/' "$R/sold.yaml"
commit "$R" "bigger disks"
"$BERTH" --repo "$R" apply --auto-approve --parallel 1 >"$T/out" 2>"$T/err" &
apid=$!
wait_for 120 "the apply changes lab-1" grep -q "host/lab-1/profile/plan-p3 update: ok" "$T/err"
kill -9 "$(var lab-2 PID)"
rc=0; wait "$apid" || rc=$?
if [ "$rc" = 1 ]; then pass "apply with a daemon killed exits 1"; else fail "apply with a daemon killed exits 1 (exit $rc)"; fi
if grep -Eq '^  host/lab-2/[^ ]+ [a-z]+: failed' "$T/err"; then pass "the dead server's actions failed"; else
	fail "the dead server's actions failed"; sed -n 's/^/    | /;1,20p' "$T/err"; fi
n=$(grep -Ec '^  host/lab-1/profile/plan-p[0-9]+ update: ok$' "$T/err" || true)
if [ "$n" = "$PLANS" ] && ! grep -Eq '^  host/lab-1/[^ ]+ [a-z]+: (failed|stale|not-attempted)' "$T/err"; then
	pass "the other servers completed"; else fail "the other servers completed ($n of $PLANS lab-1 updates ok)"; fi
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" >>"$T/lab.log" 2>&1 || { fail "restarting lab-2"; tail -5 "$T/lab.log"; }
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
wait_for 120 "the apply changes plan-p5" grep -q "plan-p5 update: ok" "$T/err"
kill -9 "$apid"; wait "$apid" 2>/dev/null || true
if [ "$(sqlite3 "$BERTH_STATE/berth.db" 'PRAGMA integrity_check')" = ok ]; then pass "integrity_check ok after berth was killed"; else fail "integrity_check"; fi
expect "ledger verifies after berth was killed" 0 "$BERTH" ledger verify
head=$(ledger_head)
expect "the next run converges" 0 "$BERTH" --repo "$R" reconcile
has "the next run reports the interrupted change" "$T/err" "was interrupted"
entries_after "$head" --kind change.result
has_entry "the interrupted change is settled in the ledger" '.result == "interrupted"'
expect "clean at last" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
head=$(ledger_head)
expect "reconcile with nothing to do" 0 "$BERTH" --repo "$R" reconcile
has "it says so" "$T/err" "no changes: the servers match commit"
if grep -q "was interrupted" "$T/err"; then fail "an interrupted change is reported once, not by every later run"; else pass "an interrupted change is reported once, not by every later run"; fi
entries_after "$head"
has_entry "ledger records a run that changed nothing" '.kind == "run.end" and .action == "reconcile" and .result == "ok" and .after.changes == 0'
expect "final verify" 0 "$BERTH" ledger verify

# reconcile signs a checkpoint of the ledger now and then (default: daily).
[ -f "$BERTH_STATE/checkpoints/latest.json" ] && pass "reconcile signed a checkpoint" || fail "no checkpoint in $BERTH_STATE/checkpoints"
n=$(find "$BERTH_STATE/checkpoints" -name '[0-9]*.json' | wc -l)
[ "$n" = 1 ] && pass "once a day: one checkpoint for the day's reconciles" || fail "$n checkpoints"
expect "reconcile when a checkpoint is due" 0 "$BERTH" --repo "$R" reconcile --checkpoint-every 1ms
has "it says where" "$T/err" "signed checkpoint of ledger entry"
n=$(find "$BERTH_STATE/checkpoints" -name '[0-9]*.json' | wc -l)
[ "$n" = 2 ] && pass "a second checkpoint" || fail "$n checkpoints after a due one"
expect "the ledger extends it" 0 "$BERTH" ledger verify --checkpoint "$BERTH_STATE/checkpoints/latest.json"

# The ledger fails closed: no server is changed unless its intent is
# recorded. A plan p-extra waits to be applied while the ledger fails.
printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: p-extra}\nspec: {pool: lab, type: container, cpu: 1, memory: 100MiB, disk: 1GiB, price: {amount: "1.00", currency: EUR, cycle: monthly}}\n' >> "$R/sold.yaml"
commit "$R" "p-extra"
extra_absent() {
	! curl -sf --unix-socket "$(var lab-1 SOCKET)" "http://incus/1.0/profiles/plan-p-extra" >/dev/null &&
	! curl -sf --unix-socket "$(var lab-2 SOCKET)" "http://incus/1.0/profiles/plan-p-extra" >/dev/null
}
db=$BERTH_STATE/berth.db
# 1. The intent cannot be written (an I/O error, made by a trigger).
sqlite3 "$db" "CREATE TRIGGER fail_intents BEFORE INSERT ON ledger WHEN NEW.kind = 'change.intent' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;"
expect "an intent that cannot be written fails the apply" 1 "$BERTH" --repo "$R" apply --auto-approve
has "with the ledger's error" "$T/err" "ledger: "
has "and what it did not change" "$T/err" "is not changed, nor anything not yet started (no change is made unless its intent is recorded)"
extra_absent && pass "no server was changed" || fail "plan-p-extra was created without its intent in the ledger"
sqlite3 "$db" "DROP TRIGGER fail_intents;"
# 2. Another process holds a write transaction past the busy timeout.
mkfifo "$T/sql"
sqlite3 "$db" <"$T/sql" >/dev/null 2>&1 & sqpid=$!
exec 7>"$T/sql"
# a timeout of its own: the probe below may hold the lock for a moment as it starts
printf '.timeout 10000\nBEGIN IMMEDIATE;\n' >&7
held() { ! sqlite3 -cmd ".timeout 0" "$db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; }
wait_for 30 "sqlite3 holds the write lock" held
expect "a locked ledger fails the apply" 1 "$BERTH" --repo "$R" apply --auto-approve
has "nothing applied, and why" "$T/err" "database is locked: nothing applied (no change is made unless the ledger records it)"
extra_absent && pass "no server was changed while the ledger was locked" || fail "plan-p-extra was created while the ledger was locked"
echo "ROLLBACK;" >&7
exec 7>&-
wait "$sqpid" 2>/dev/null || true
sqpid=
# 3. The state directory's disk is full.
mkdir "$T/tiny"
mount -t tmpfs -o size=8m tmpfs "$T/tiny"
cp -a "$BERTH_STATE/." "$T/tiny/"
# one page left: the lock file is rewritten, the ledger cannot grow
head -c 4096 /dev/zero >"$T/tiny/spare"
dd if=/dev/zero of="$T/tiny/filler" bs=4k 2>/dev/null || true
rm "$T/tiny/spare"
expect "a full disk fails the apply" 1 env BERTH_STATE="$T/tiny" "$BERTH" --repo "$R" apply --auto-approve
if grep -Eq "ledger: .*(database or disk is full|disk I/O error)" "$T/err"; then pass "the ledger's error: the disk is full"; else
	fail "no ledger error for the full disk:"; sed 's/^/    | /' "$T/err"; fi
extra_absent && pass "no server was changed with the disk full" || fail "plan-p-extra was created with the disk full"
umount "$T/tiny"
expect "with the ledger back, the apply goes on" 0 "$BERTH" --repo "$R" apply --auto-approve
extra_absent && fail "plan-p-extra still absent" || pass "plan-p-extra created once the ledger records it"
expect "the ledger verifies" 0 "$BERTH" ledger verify
finish
