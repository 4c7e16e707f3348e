#!/usr/bin/env bash
# Drain and move on real Incus: three standalone daemons and a
# three-member cluster. A standalone host with two running containers, a
# stopped one and a panel's sale is drained: each moves (cold, by the
# migration API) to a host the placement chooses, running ones running,
# the stopped one stopped, one ledger entry per move, the host empty, and
# a second plan with no changes. A cluster member is
# cordoned (scheduler.instance=manual), drained (moves inside the
# cluster), and made active again (the key cleared). Incus's own
# evacuation of a member is recorded as moves by the next reconcile, and
# settled so. The target daemon is
# killed during a move: the instance stays on its source, running, and the
# next run finishes the move.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 3 --cluster 3

R=$T/fleet
new_repo "$R"
# hosts STATE1 STATE2 STATE3 [CLUSTER-STATE1 ...]: the Host manifests
hosts() {
	local i=1 st
	for st in "$1" "$2" "$3"; do
		lab_host "lab-$i" "state: $st" 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
			'storage_pools: [{name: incus, driver: dir}]'
		i=$((i + 1))
	done > "$R/hosts.yaml"
	shift 3
	lab_cluster > "$R/cluster.yaml"
	i=1
	for h in $LAB_CLUSTER_MEMBERS; do
		lab_host "$h" "state: ${!i:-active}" 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}'
		i=$((i + 1))
	done >> "$R/cluster.yaml"
}
hosts active cordoned cordoned
{ lab_pools_image; cat; } > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "4.50", currency: EUR, cycle: monthly}}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: csmall}
spec: {pool: cl, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "3.00", currency: EUR, cycle: monthly}}
X
cat > "$R/instances.yaml" <<X
apiVersion: berth/v1
kind: Instance
metadata: {name: web-1}
spec: {plan: small, image: busybox, owner: c-1}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: web-2}
spec: {plan: small, image: busybox, owner: c-2}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: web-3}
spec: {plan: small, image: busybox, owner: c-3, state: stopped}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: db-1}
spec: {plan: csmall, image: busybox, owner: c-4}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: db-2}
spec: {plan: csmall, image: busybox, owner: c-5, state: stopped}
X
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null

# where NAME: the host or member an instance is on, from the servers themselves
where() {
	local h
	for h in lab-1 lab-2 lab-3; do
		curl -sf --unix-socket "$(var $h SOCKET)" "http://incus/1.0/instances/$1" >/dev/null && { echo "$h"; return; }
	done
	curl -sf --unix-socket "$(var lab-c1 SOCKET)" "http://incus/1.0/instances/$1" | jq -r '.metadata.location // empty'
}
status_of() { curl -sf --unix-socket "$(var "$2" SOCKET)" "http://incus/1.0/instances/$1" | jq -r .metadata.status; }
count_on() { curl -sf --unix-socket "$(var "$1" SOCKET)" "http://incus/1.0/instances" | jq '.metadata | length'; }
sched_of() { curl -sf --unix-socket "$(var lab-c1 SOCKET)" "http://incus/1.0/cluster/members/$1" | jq -r '.metadata.config["scheduler.instance"] // "unset"'; }

# Everything of lab goes to lab-1 (the other two cordoned); the cluster packs on lab-c1.
expect "apply the fleet" 0 "$BERTH" --repo "$R" apply --auto-approve
for i in web-1 web-2 web-3; do
	[ "$(where $i)" = lab-1 ] && pass "$i on lab-1" || fail "$i on $(where $i)"
done
[ "$(where db-1)" = lab-c1 ] && [ "$(where db-2)" = lab-c1 ] && pass "db-1 and db-2 packed on lab-c1" ||
	fail "db-1 on $(where db-1), db-2 on $(where db-2)"
INCUS_DIR=$(var lab-1 DIR) incus launch busybox panel-1 -p default -p plan-small >/dev/null
expect "the panel's sale is stamped" 0 "$BERTH" --repo "$R" apply --auto-approve

# Cordon a member: Incus's own placement avoids it too.
hosts active cordoned cordoned cordoned
commit "$R" "lab-c1 cordoned"
expect "plan the cordon" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "the member's scheduler" "$T/out" 'update cluster-member lab-c1'
expect "apply the cordon" 0 "$BERTH" --repo "$R" apply --auto-approve
[ "$(sched_of lab-c1)" = manual ] && pass "lab-c1 scheduler.instance=manual" || fail "lab-c1 scheduler.instance=$(sched_of lab-c1)"

# Drain lab-1 and lab-c1.
hosts draining active active draining
commit "$R" "lab-1 and lab-c1 draining"
seq0=$(ledger_head)
expect "plan the drain" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
for i in web-1 web-2 web-3 panel-1; do
	has "$i moves" "$T/out" "> move instance $i lab-1 -> lab-"
done
has "db-1 moves inside the cluster" "$T/out" "> move instance db-1 lab-c1 -> lab-c"
has "cold" "$T/out" "(cold)"
has "the summary counts the moves" "$T/out" "to move"
expect "apply the drain" 0 "$BERTH" --repo "$R" apply --auto-approve
[ "$(count_on lab-1)" = 0 ] && pass "lab-1 is empty" || fail "lab-1 still has $(count_on lab-1) instances"
for i in web-1 web-2 panel-1; do
	h=$(where $i)
	case $h in lab-2|lab-3) [ "$(status_of $i "$h")" = Running ] && pass "$i running on $h" || fail "$i is $(status_of $i "$h") on $h" ;;
	*) fail "$i on '$h'" ;; esac
done
h=$(where web-3)
case $h in lab-2|lab-3) [ "$(status_of web-3 "$h")" = Stopped ] && pass "web-3 moved and still stopped" || fail "web-3 is $(status_of web-3 "$h")" ;;
*) fail "web-3 on '$h'" ;; esac
for i in db-1 db-2; do
	h=$(where $i)
	case $h in lab-c2|lab-c3) pass "$i moved to $h" ;; *) fail "$i on '$h'" ;; esac
done
[ "$(status_of db-1 lab-c1)" = Running ] && pass "db-1 running" || fail "db-1 is $(status_of db-1 lab-c1)"
[ "$(status_of db-2 lab-c1)" = Stopped ] && pass "db-2 still stopped" || fail "db-2 is $(status_of db-2 lab-c1)"
cfg=$(curl -sf --unix-socket "$(var "$(where panel-1)" SOCKET)" "http://incus/1.0/instances/panel-1" | jq -c .metadata.config)
case $cfg in *'"user.berth.sold-by":"panel"'*) pass "panel-1 keeps its sold snapshot" ;; *) fail "panel-1: $cfg" ;; esac
entries_after "$seq0"
for i in web-1 web-2 web-3 panel-1; do
	has_entry "$i's move in the ledger" ".kind == \"change.result\" and .action == \"move\" and .result == \"ok\" and .object == \"host/lab-1/instance/$i\" and .after.from == \"lab-1\" and .after.kind == \"cold\""
done
has_entry "the interruption of a running one is measured" '.action == "move" and .object == "host/lab-1/instance/web-1" and (.after.interruption_ms | type) == "number"'
has_entry "a stopped one had none" '.action == "move" and .object == "host/lab-1/instance/web-3" and .after.interruption_ms == null and .result == "ok"'
expect "a second plan: nothing to do" 0 "$BERTH" --repo "$R" plan --detailed-exitcode

# Incus moves instances itself when a member is evacuated: the next
# reconcile records each move (instance.moved), so that settlement pays
# each member's provider its seconds; a restore moves them back.
li() { INCUS_DIR=$(var lab-c1 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
secs() { date -u -d "$1" +%s; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
after() { [ "$(date +%s)" -gt "$1" ]; }
X=$(where db-2)
case $X in lab-c2) Y=lab-c3 ;; *) Y=lab-c2 ;; esac
E0=$(date +%s)
seq1=$(ledger_head)
li cluster evacuate "$X" --action migrate --force >/dev/null && pass "evacuate $X" || fail "evacuate $X"
[ "$(where db-2)" = "$Y" ] && pass "Incus moved db-2 to $Y" || fail "db-2 on $(where db-2)"
expect "reconcile after the evacuation" 0 "$BERTH" --repo "$R" reconcile
has "it says what the cluster moved" "$T/err" "cluster/$LAB_CLUSTER/instance/db-2: moved from $X to $Y (by the cluster); recorded"
entries_after "$seq1" --kind instance.moved
has_entry "an instance.moved entry" ".object == \"cluster/$LAB_CLUSTER/instance/db-2\" and .after.from == \"$X\" and .after.to == \"$Y\""
E=$(secs "$(jq -r "select(.object == \"cluster/$LAB_CLUSTER/instance/db-2\") | .time" "$T/entries")")
expect "another reconcile" 0 "$BERTH" --repo "$R" reconcile
entries_after "$seq1" --kind instance.moved
[ "$(grep -c 'instance/db-2"' "$T/entries")" = 1 ] && pass "the move is recorded once" || fail "moves: $(cat "$T/entries")"
wait_for 30 "a second after the move was recorded" after "$E"
TOE=$(date +%s)
expect "settle across the evacuation" 0 "$BERTH" --repo "$R" --format json settle --from "$(iso "$E0")" --to "$(iso "$TOE")"
jq_true "[.statements[].lines[] | select(.instance == \"db-2\") | [.host, .seconds]] | sort == ([[\"$X\", $((E - E0))], [\"$Y\", $((TOE - E))]] | sort)" "$T/out" &&
	pass "db-2: $((E - E0)) s on $X, $((TOE - E)) s on $Y" || fail "db-2: $(jq -c '[.statements[].lines[] | select(.instance == "db-2")]' "$T/out")"
li cluster restore "$X" --force >/dev/null && pass "restore $X" || fail "restore $X"
[ "$(where db-2)" = "$X" ] && pass "db-2 is back on $X" || fail "db-2 on $(where db-2)"
expect "reconcile after the restore" 0 "$BERTH" --repo "$R" reconcile
has "it records the move back" "$T/err" "cluster/$LAB_CLUSTER/instance/db-2: moved from $Y to $X (by the cluster); recorded"
expect "a plan after the restore: nothing to do" 0 "$BERTH" --repo "$R" plan --detailed-exitcode

# The target dies during a move: the instance stays on its source, running;
# the next run, with the target back, finishes the move. web-2 is made big
# enough (400 MiB) that its transfer is still going when the target is killed.
src=$(where web-2)
case $src in lab-2) other=lab-3 ;; lab-3) other=lab-2 ;; *) fail "web-2 on '$src'"; other=lab-3 ;; esac
rootfs=$(var "$src" DIR)/storage-pools/incus/containers/web-2/rootfs
head -c 400M /dev/urandom > "$rootfs/ballast" && pass "web-2 carries 400 MiB" || fail "no ballast in $rootfs"
if [ "$src" = lab-2 ]; then hosts active draining cordoned draining; else hosts active cordoned draining draining; fi
commit "$R" "$src draining, $other cordoned: everything to lab-1"
expect "plan: web-2 to lab-1" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "web-2 moves to lab-1" "$T/out" "> move instance web-2 $src -> lab-1 (cold)"
"$BERTH" --repo "$R" apply --auto-approve >"$T/apply.out" 2>&1 & apply_pid=$!
on_target() { curl -sf --unix-socket "$(var lab-1 SOCKET)" "http://incus/1.0/instances/web-2" >/dev/null; }
wait_for 120 "web-2's copy appears on lab-1" on_target
kill -9 "$(var lab-1 PID)"
rc=0; wait "$apply_pid" || rc=$?
[ "$rc" = 1 ] && pass "the apply fails" || { fail "the apply exited $rc, want 1"; sed 's/^/    | /' "$T/apply.out"; }
has "it says where web-2 stays" "$T/apply.out" "web-2 stays on $src (running)"
n=$(grep -c "host/$src/instance/web-2 move: failed" "$T/apply.out" || true)
[ "$n" = 1 ] && pass "the failure is printed once" || fail "the failure is printed $n times"
[ "$(status_of web-2 "$src")" = Running ] && pass "web-2 still on $src, running" || fail "web-2 on $src is '$(status_of web-2 "$src")'"
lab_up --hosts 3 --cluster 3
expect "the next run finishes the move" 0 "$BERTH" --repo "$R" apply --auto-approve
[ "$(status_of web-2 lab-1)" = Running ] && pass "web-2 running on lab-1" || fail "web-2 on lab-1 is '$(status_of web-2 lab-1)'"
[ "$(count_on "$src")" = 0 ] && pass "$src is empty" || fail "$src still has $(count_on "$src") instances"
# what the killed moves left on lab-1 (a copy may even run: a container
# outlives its daemon's kill -9) was replaced: each instance is on one host
for i in web-1 web-2 web-3 panel-1; do
	n=0
	for h in lab-1 lab-2 lab-3; do
		curl -sf --unix-socket "$(var $h SOCKET)" "http://incus/1.0/instances/$i" >/dev/null && n=$((n + 1))
	done
	[ "$n" = 1 ] && pass "$i on one host" || fail "$i on $n hosts"
done
expect "nothing more to do" 0 "$BERTH" --repo "$R" plan --detailed-exitcode

# Active again: the member's key is cleared.
hosts active active active
commit "$R" "all active"
expect "apply: active again" 0 "$BERTH" --repo "$R" apply --auto-approve
[ "$(sched_of lab-c1)" = unset ] && pass "lab-c1 scheduler.instance cleared" || fail "lab-c1 scheduler.instance=$(sched_of lab-c1)"
expect "ledger verifies" 0 "$BERTH" ledger verify
finish
