#!/usr/bin/env bash
# Instances delivered on real Incus: three standalone daemons and a
# two-member cluster. Placement by capacity (spread 2/2/2, pack on the
# cluster, a pin), sticky placement (a second plan changes nothing), the
# declared state converged, hosts that may not take work never chosen, an
# exhausted pool explained host by host, and berth place and POST /v1/place
# giving the same answer. An edit of a plan (memory, config, a NIC, price)
# leaves what was sold as it was, a panel's sale included, even one made on
# the profile before the edit reached it; new sales get the new version.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 3 --cluster 2

R=$T/fleet
new_repo "$R"
# hosts HOST-STATE...: lab-1..3 with cpu 4 each (4 instances of "small"), in the given states
hosts() {
	local i=1 st review state
	for st in "$@"; do
		review=approved state=$st
		[ "$st" = pending ] && { review=pending; state=active; }
		lab_host "lab-$i" "review: $review" "state: $state" \
			'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
			'storage_pools: [{name: incus, driver: dir}]'
		i=$((i + 1))
	done > "$R/hosts.yaml"
}
hosts active active active
lab_cluster 'capacity: {cpu: 2, memory: 8GiB, disk: 20GiB}' > "$R/cluster.yaml"
{ lab_pools_image; cat; } > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, config: {limits.processes: 100}, devices: {eth0: {type: nic, nictype: p2p, mtu: 1400}}, images: [busybox], price: {amount: "4.50", currency: EUR, cycle: monthly}}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: csmall}
spec: {pool: cl, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "3.00", currency: EUR, cycle: monthly}}
X
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
expect "apply the fleet without instances" 0 "$BERTH" --repo "$R" apply --auto-approve

# instances FIRST LAST PLAN [EXTRA-SPEC]: Instance manifests web-FIRST..web-LAST
instances() {
	local i
	for i in $(seq "$1" "$2"); do
		printf -- '---\napiVersion: berth/v1\nkind: Instance\nmetadata: {name: %s-%d}\nspec: {plan: %s, image: busybox, owner: customer-%d%s}\n' \
			"${4:-web}" "$i" "$3" "$i" "${5:-}"
	done
}
# where NAME: the member or host the instance runs on, from the servers themselves
where() {
	local h
	for h in lab-1 lab-2 lab-3; do
		curl -sf --unix-socket "$(var $h SOCKET)" "http://incus/1.0/instances/$1" >/dev/null && { echo "$h"; return; }
	done
	curl -sf --unix-socket "$(var lab-c1 SOCKET)" "http://incus/1.0/instances/$1" | jq -r .metadata.location
}
status_of() { curl -sf --unix-socket "$(var "$2" SOCKET)" "http://incus/1.0/instances/$1" | jq -r .metadata.status; }
# inst NAME HOST: the instance's own config and devices, as one line of JSON
inst() { curl -sf --unix-socket "$(var "$2" SOCKET)" "http://incus/1.0/instances/$1" | jq -c '.metadata | {config, devices}'; }
count_on() { curl -sf --unix-socket "$(var "$1" SOCKET)" "http://incus/1.0/instances" | jq '.metadata | length'; }

# berth place before anything runs: 3 of 3, spread 2/2 over the first two for 4
expect "place 4 of small" 0 "$BERTH" --repo "$R" --format json place --plan small --count 4
[ "$(jq -r '[.placements[].host] | join(",")' "$T/out")" = "lab-1,lab-2,lab-3,lab-1" ] &&
	pass "place spreads, ties by name" || fail "place order: $(jq -c .placements "$T/out")"
cp "$T/out" "$T/place.json"

# POST /v1/place answers the same, to an admin token
PORT=$((20000 + RANDOM % 20000))
TOKEN=$("$BERTH" token create --admin --name test 2>/dev/null)
AUTH="Authorization: Bearer $TOKEN"
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" >"$T/serve.log" 2>&1 &
SERVE=$!
test_cleanup() { kill "$SERVE" 2>/dev/null || true; }
up=0
serving() { curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null 2>&1 || ! kill -0 "$SERVE" 2>/dev/null; }
wait_for 60 "berth serve answers" serving && kill -0 "$SERVE" 2>/dev/null && up=1
if [ $up = 1 ]; then
	curl -s -H "$AUTH" -XPOST -d '{"plan":"small","count":4}' "http://127.0.0.1:$((PORT + 1))/v1/place" > "$T/post.json"
	jq_true '. == $a[0]' "$T/post.json" --slurpfile a "$T/place.json" &&
		pass "POST /v1/place answers as berth place" || fail "POST /v1/place differs: $(head -c 300 "$T/post.json")"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -XPOST -d '{"plan":"nope"}' "http://127.0.0.1:$((PORT + 1))/v1/place")
	[ "$code" = 404 ] && pass "an unknown plan is 404" || fail "unknown plan: HTTP $code"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -XPOST -d '{"plan":"small"}' "http://127.0.0.1:$PORT/v1/place")
	[ "$code" = 404 ] && pass "the agents' listener does not place (404)" || fail "agents' listener: HTTP $code"
else
	fail "berth serve never answered on 127.0.0.1:$((PORT + 1))"; cat "$T/serve.log"
fi
kill "$SERVE" 2>/dev/null || true
wait_for 30 "berth serve stops" gone "$SERVE"

# Six instances spread 2/2/2; three on the cluster packed, one pinned to
# lab-c2; one declared stopped.
{ instances 1 5 small; instances 6 6 small web ", state: stopped"
  instances 1 3 csmall db; instances 4 4 csmall db ", host: lab-c2"; } > "$R/instances.yaml"
commit "$R" "ten instances"
expect "plan the instances" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "a create under its host, with the placement" "$T/out" "placed on lab-1 by spread"
has "pinned" "$T/out" "pinned to host lab-c2"
has "ten to create" "$T/out" "Plan: 10 to create, 0 to update"
head=$(ledger_head)
expect "apply the instances" 0 "$BERTH" --repo "$R" apply --auto-approve
has "ten done" "$T/out" "Apply: 10 done, 0 failed"
for h in lab-1 lab-2 lab-3; do
	[ "$(count_on $h)" = 2 ] && pass "$h runs 2 instances" || fail "$h runs $(count_on $h) instances, want 2"
done
# pack: db-4's pin to lab-c2 counts there from the start, so lab-c2 is the
# fullest and takes db-1 to its last slot; db-2 and db-3 fill lab-c1.
[ "$(where db-1),$(where db-2),$(where db-3),$(where db-4)" = "lab-c2,lab-c1,lab-c1,lab-c2" ] &&
	pass "pack fills the fullest member first, the pin counted; the pin holds" ||
	fail "cluster placement: $(where db-1),$(where db-2),$(where db-3),$(where db-4)"
h=$(where web-1)
[ "$(status_of web-1 "$h")" = Running ] && pass "web-1 running" || fail "web-1 is $(status_of web-1 "$h")"
h=$(where web-6)
[ "$(status_of web-6 "$h")" = Stopped ] && pass "web-6 stopped as declared" || fail "web-6 is $(status_of web-6 "$h")"
cfg=$(curl -sf --unix-socket "$(var "$h" SOCKET)" "http://incus/1.0/instances/web-6" | jq -c '.metadata.config')
for kv in '"user.berth.plan":"small"' '"user.berth.price":"450"' '"user.berth.currency":"EUR"' \
	'"user.berth.cycle":"monthly"' '"user.berth.owner":"customer-6"' '"user.berth.provider":"platform"' \
	'"limits.cpu":"1"' '"user.berth.managed":"true"'; do
	case $cfg in *"$kv"*) pass "sold snapshot $kv" ;; *) fail "sold snapshot: no $kv in $cfg" ;; esac
done
[ "$(echo "$cfg" | jq '."user.berth.placed-at" | test("^20[0-9-]+T[0-9:]+Z$")')" = true ] &&
	pass "placed-at recorded" || fail "placed-at: $cfg"
expect "second plan: no changes (placement is sticky)" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
has "nothing to do" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 0 blocked, 0 errors."
entries_after "$head" --kind change.result
n=$(jq -s '[.[] | select((.object | test("/instance/")) and .action == "create" and .result == "ok")] | length' "$T/entries")
[ "$n" = 10 ] && pass "this apply's ten instance results in the ledger" || fail "instance results of this apply in the ledger: $n"

# The declared state is converged: web-1 stopped by hand is started again.
h=$(where web-1)
INCUS_DIR=$(var "$h" DIR) incus stop web-1 --force
expect "plan sees the stop" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "start planned" "$T/out" 'state: "stopped" -> "running"'
expect "reconcile starts it" 0 "$BERTH" --repo "$R" reconcile
[ "$(status_of web-1 "$h")" = Running ] && pass "web-1 running again" || fail "web-1 is $(status_of web-1 "$h")"

# Edit the plan: what was sold keeps its limits, config, devices and price; new
# sales get the new ones. A panel sold panel-0 on the profile before the edit
# reached it: it is stamped with that profile's version, before the profile changes.
sed -i 's/memory: 64MiB, disk: 100MiB, config: {limits.processes: 100}, devices: {eth0: {type: nic, nictype: p2p, mtu: 1400}}, images: \[busybox\], price: {amount: "4.50"/memory: 128MiB, disk: 100MiB, config: {limits.processes: 200}, devices: {eth0: {type: nic, nictype: p2p, mtu: 1300}}, images: [busybox], price: {amount: "5.00"/' "$R/sold.yaml"
grep -q 'memory: 128MiB.*processes: 200.*mtu: 1300.*"5.00"' "$R/sold.yaml" && pass "plan small edited" || fail "the edit of plan small did not apply"
commit "$R" "small: 128MiB, 200 processes, mtu 1300 at 5.00"
INCUS_DIR=$(var lab-3 DIR) incus launch busybox panel-0 -p default -p plan-small >/dev/null
expect "the edit changes the profile, not the instances" 2 "$BERTH" --repo "$R" plan --detailed-exitcode
has "profile updated" "$T/out" 'config["limits.memory"]: "64MiB" -> "128MiB"'
has "profile config updated" "$T/out" 'config["limits.processes"]: "100" -> "200"'
has "profile device updated" "$T/out" 'devices.eth0.mtu: "1400" -> "1300"'
if grep -q "instance web-" "$T/out"; then fail "an instance already sold would change: $(grep 'instance web-' "$T/out")"; else pass "no instance already sold changes"; fi
sed -n '/update instance panel-0/,/reason:/p' "$T/out" > "$T/stamp0"
has "panel-0 stamped at the old price" "$T/stamp0" 'config["user.berth.price"]: "450"'
has "panel-0 keeps its device" "$T/stamp0" 'devices["eth0"]: {"mtu":"1400","nictype":"p2p","type":"nic"}'
awk '/^host /{on = ($2 == "lab-3")} on' "$T/out" | grep 'instance panel-0\|profile plan-small' > "$T/order"
[ "$(head -1 "$T/order" | grep -c panel-0)" = 1 ] && pass "the stamp goes before the profile's change" ||
	fail "on lab-3 the profile changes before panel-0 is stamped: $(cat "$T/order")"
expect "apply the edit" 0 "$BERTH" --repo "$R" apply --auto-approve
h=$(where web-1)
cfg=$(inst web-1 "$h")
for kv in '"limits.memory":"64MiB"' '"user.berth.price":"450"' '"limits.processes":"100"' '"mtu":"1400"'; do
	case $cfg in *"$kv"*) pass "web-1 keeps $kv" ;; *) fail "web-1 after the edit: no $kv in $cfg" ;; esac
done
cfg=$(inst panel-0 lab-3)
for kv in '"limits.memory":"64MiB"' '"user.berth.price":"450"' '"limits.processes":"100"' '"mtu":"1400"' '"user.berth.sold-by":"panel"'; do
	case $cfg in *"$kv"*) pass "panel-0 keeps $kv" ;; *) fail "panel-0 after the edit: no $kv in $cfg" ;; esac
done
mtu=$(INCUS_DIR=$(var lab-3 DIR) incus exec panel-0 -- cat /sys/class/net/eth0/mtu)
[ "$mtu" = 1400 ] && pass "panel-0 runs with the mtu it was sold with" || fail "panel-0 runs with mtu $mtu"
expect "nothing more to do after the edit" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
INCUS_DIR=$(var lab-3 DIR) incus delete --force panel-0

# Hosts that may not take work are never chosen, and each says why.
hosts cordoned draining pending
instances 7 7 small >> "$R/instances.yaml"
commit "$R" "lab-1 cordoned, lab-2 draining, lab-3 pending; one more instance"
expect "no host may take web-7" 1 "$BERTH" --repo "$R" plan
has "each host's reason" "$T/out" "cannot be placed: 0 of 3 hosts can take small: lab-1 cordoned, lab-2 draining, lab-3 review-pending"
expect "berth place agrees" 1 "$BERTH" --repo "$R" place --plan small
has "place summary" "$T/out" "0 of 3 hosts can take small: lab-1 cordoned, lab-2 draining, lab-3 review-pending"

# Back to active: six more fill the pool to 12; the 13th is refused host by host.
hosts active active active
{ instances 1 5 small; instances 6 6 small web ", state: stopped"; instances 7 13 small
  instances 1 3 csmall db; instances 4 4 csmall db ", host: lab-c2"; } > "$R/instances.yaml"
commit "$R" "thirteen of small"
expect "the thirteenth cannot be placed" 1 "$BERTH" --repo "$R" plan
has "capacity exhausted, per host" "$T/out" "cannot be placed: 0 of 3 hosts can take small: lab-1 insufficient-cpu (want 1, free 0), lab-2 insufficient-cpu (want 1, free 0), lab-3 insufficient-cpu (want 1, free 0)"
has "the others still planned" "$T/out" "Plan: 6 to create, 0 to update, 0 to delete, 0 blocked, 1 errors."
expect "apply places what fits" 1 "$BERTH" --repo "$R" apply --auto-approve
has "six done" "$T/out" "Apply: 6 done, 0 failed"
for h in lab-1 lab-2 lab-3; do
	[ "$(count_on $h)" = 4 ] && pass "$h full with 4" || fail "$h runs $(count_on $h) instances, want 4"
done
h=$(where web-7)
cfg=$(inst web-7 "$h")
for kv in '"limits.memory":"128MiB"' '"user.berth.price":"500"' '"limits.processes":"200"' '"mtu":"1300"'; do
	case $cfg in *"$kv"*) pass "web-7, sold after the edit, has $kv" ;; *) fail "web-7: no $kv in $cfg" ;; esac
done

# web-12 leaves git: kept (it is berth's, and still counts), deleted only with --prune.
h12=$(where web-12)
{ instances 1 5 small; instances 6 6 small web ", state: stopped"; instances 7 11 small; instances 13 13 small
  instances 1 3 csmall db; instances 4 4 csmall db ", host: lab-c2"; } > "$R/instances.yaml"
commit "$R" "web-12 sold no more"
expect "an orphan is kept, and still counts" 1 "$BERTH" --repo "$R" plan
has "orphan kept" "$T/out" "created by berth, no Instance manifest declares it any more: kept (--prune deletes it)"
has "web-13 still refused" "$T/out" "cannot be placed: 0 of 3 hosts can take small"
expect "prune deletes it" 1 "$BERTH" --repo "$R" apply --auto-approve --prune
has "one deleted" "$T/out" "Apply: 1 done, 0 failed"
[ -z "$(where web-12)" ] && pass "web-12 deleted" || fail "web-12 still on $(where web-12)"

# A panel sells one on plan-small (now 128MiB at 5.00) where web-12 was: stamped on
# first sight with what it runs with and the price of today's plan, and counted.
INCUS_DIR=$(var "$h12" DIR) incus launch busybox panel-1 -p default -p plan-small >/dev/null
expect "the panel's instance is seen" 1 "$BERTH" --repo "$R" plan
has "stamped as a panel sale" "$T/out" "sold by a panel on plan-small: its sold snapshot is recorded on it"
has "and counted: still no room for web-13" "$T/out" "cannot be placed: 0 of 3 hosts can take small"
expect "apply records the sale" 1 "$BERTH" --repo "$R" apply --auto-approve
cfg=$(inst panel-1 "$h12")
for kv in '"user.berth.sold-by":"panel"' '"user.berth.price":"500"' '"user.berth.plan":"small"' '"limits.cpu":"1"' '"limits.memory":"128MiB"' '"limits.processes":"200"' '"mtu":"1300"'; do
	case $cfg in *"$kv"*) pass "panel sale stamped: $kv" ;; *) fail "panel sale: no $kv in $cfg" ;; esac
done
case $cfg in *user.berth.managed*) fail "a panel's instance is marked berth's: $cfg" ;; *) pass "a panel's instance stays the panel's" ;; esac
expect "the sale is in the ledger" 0 "$BERTH" ledger list --object "host/$h12/instance/panel-1"
has "stamp result" "$T/out" "update -> ok"
{ instances 1 5 small; instances 6 6 small web ", state: stopped"; instances 7 11 small
  instances 1 3 csmall db; instances 4 4 csmall db ", host: lab-c2"; } > "$R/instances.yaml"
commit "$R" "web-13 withdrawn"
expect "clean: nothing more to do" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
has "no changes" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 0 blocked, 0 errors."
# Retire the plan: what runs is untouched, nothing new is placed.
sed -i 's/images: \[busybox\], price: {amount: "5.00", currency: EUR, cycle: monthly}}/images: [busybox], availability: retired, price: {amount: "5.00", currency: EUR, cycle: monthly}}/' "$R/sold.yaml"
grep -q 'availability: retired' "$R/sold.yaml" && pass "plan small retired" || fail "the retirement did not apply"
commit "$R" "small retired"
expect "retiring changes nothing that runs" 0 "$BERTH" --repo "$R" plan --detailed-exitcode
expect "a retired plan is not placed" 1 "$BERTH" --repo "$R" place --plan small
has "retired, per host" "$T/out" "plan-retired"
expect "ledger verifies" 0 "$BERTH" ledger verify
finish
