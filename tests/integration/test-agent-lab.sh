#!/usr/bin/env bash
# The agent, the intake and status on real Incus: two lab daemons with
# real containers that have a NIC and send traffic; `berth agent once`
# against each; `berth serve` takes the reports; `berth status`, /metrics,
# /v1/status (on the admin listener, to a token) and `berth plan` show
# them; the intake goes down and the spool
# delivers later in order with the same usage; a silent agent goes offline
# (time moved with faketime, not waited for).
. "$(dirname "$0")/lib.sh"

needs_lab
command -v faketime >/dev/null || { echo "needs faketime (contrib/deps.sh installs it)"; exit 77; }
SERVE_PID=
SERVE_GROUP=	# 1: SERVE_PID leads a process group of its own (faketime forks berth)
stop_serve() {
	if [ -n "$SERVE_PID" ]; then
		if [ -n "$SERVE_GROUP" ]; then kill -- "-$SERVE_PID" 2>/dev/null || true; else kill "$SERVE_PID" 2>/dev/null || true; fi
		wait "$SERVE_PID" 2>/dev/null || true
		SERVE_PID=; SERVE_GROUP=
	fi
}
# The containers' bridges live in this network namespace: named per run, removed at the end.
BR=b$$
test_cleanup() { stop_serve; ip link del "${BR}1" 2>/dev/null || true; ip link del "${BR}2" 2>/dev/null || true; }
lab_up --hosts 2 --cluster 2 --net 127.44.0
li() { local h=$1; shift; INCUS_DIR=$(var "$h" DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
PORT=$((20000 + RANDOM % 20000))
# faketime preloads itself: under an ASan build, tell ASan that is fine.
ft() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime "$@"; }
URL=http://127.0.0.1:$PORT
# The admin listener, next to the agents' one; what it answers needs a token.
ADMIN=http://127.0.0.1:$((PORT + 1))

# Keys, and a fleet whose hosts carry them.
for h in lab-1 lab-2; do
	expect "keygen $h" 0 "$BERTH" agent keygen --out "$T/$h.key"
	cp "$T/out" "$T/$h.pub"
done
mode=$(stat -c %a "$T/lab-1.key")
[ "$mode" = 600 ] && pass "key written 0600" || fail "key mode $mode, want 600"
has "keygen prints the public key" "$T/lab-1.pub" "ed25519:"
expect "keygen refuses to overwrite" 1 "$BERTH" agent keygen --out "$T/lab-1.key"
has "overwrite refusal says why" "$T/err" "refusing to overwrite"

R=$T/fleet
new_repo "$R"
for h in $LAB_HOSTS; do
	lab_host "$h" 'capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}' \
		"agent: {key: \"$(cat "$T/$h.pub")\", interval: 30s}" \
		'storage_pools: [{name: incus, driver: dir}]'
done > "$R/hosts.yaml"
cat > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Pool
metadata: {name: lab}
spec: {hosts: {labels: {site: lab}}, storage_pool: incus, require_agent: true, overcommit: {cpu: 4}}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, price: {amount: "5.00", currency: EUR, cycle: monthly}}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: large}
spec: {pool: lab, type: container, cpu: 2, memory: 1GiB, disk: 4GiB, price: {amount: "9.00", currency: EUR, cycle: monthly}}
X
lab_cluster >> "$R/hosts.yaml"
for h in $LAB_CLUSTER_MEMBERS; do
	"$BERTH" agent keygen --out "$T/$h.key" > "$T/$h.pub" 2>/dev/null
	lab_host "$h" 'capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}' \
		"agent: {key: \"$(cat "$T/$h.pub")\"}" >> "$R/hosts.yaml"
done
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
expect "apply the fleet (storage pools, plan profiles)" 0 "$BERTH" --repo "$R" apply --auto-approve
expect "an admin token" 0 "$BERTH" token create --admin --name monitoring
AUTH="Authorization: Bearer $(cat "$T/out")"
adm() { curl -s -H "$AUTH" "$ADMIN$1"; }

# Real containers with a NIC on a bridge of their own, sending traffic.
for h in lab-1 lab-2; do
	n=${h#lab-}
	li "$h" remote add imgs "$LAB_IMAGE_SERVER" --protocol incus --public --accept-certificate >/dev/null 2>&1 || true
	li "$h" image copy imgs:busybox local: --alias busybox >/dev/null
	li "$h" network create "$BR$n" ipv4.address=none ipv6.address=none >/dev/null
	li "$h" profile device add default root disk path=/ pool=incus >/dev/null
	li "$h" launch busybox c1 -c user.berth.plan=small >/dev/null 2>&1
	li "$h" launch busybox c2 -c user.berth.plan=large >/dev/null 2>&1
	li "$h" network attach "$BR$n" c1 eth0 >/dev/null
	li "$h" exec c1 -- ip link set eth0 up
	li "$h" exec c1 -- ip addr add 192.0.2.$((10 + n))/24 dev eth0
done
# Cluster members list every member's instances: each agent reports its own.
li lab-c1 remote add imgs "$LAB_IMAGE_SERVER" --protocol incus --public --accept-certificate >/dev/null 2>&1 || true
li lab-c1 image copy imgs:busybox local: --alias busybox >/dev/null
li lab-c1 profile device add default root disk path=/ pool=incus >/dev/null
li lab-c1 launch busybox m1 --target lab-c1 -c user.berth.plan=small >/dev/null 2>&1
li lab-c1 launch busybox m2 --target lab-c2 -c user.berth.plan=small >/dev/null 2>&1
traffic() { li "$1" exec c1 -- ping -c 3 -W 1 -i 0.2 192.0.2.99 >/dev/null 2>&1 || true; }
traffic lab-1

# answers URL [CURL-OPTION...]: berth serve (SERVE_PID) runs and URL says ok.
# A server that exited stops the wait at once: the test ends there.
answers() {
	local url=$1
	shift
	if gone "$SERVE_PID"; then
		fail "berth serve exited"; sed 's/^/    | /' "$T/serve.log"; exit 1
	fi
	curl -sf "$@" "$url" >/dev/null 2>&1
}
# serve_up URL [CURL-OPTION...]: wait until the server started last answers at URL.
serve_up() { wait_for 60 "berth serve answers at $1" answers "$@" || { sed 's/^/    | /' "$T/serve.log"; exit 1; }; }
# start_serve [OPTION...]: berth serve on $URL, up when this returns.
start_serve() {
	"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
		"$@" >>"$T/serve.log" 2>&1 &
	SERVE_PID=$!
	serve_up "$URL/healthz"
	serve_up "$ADMIN/healthz"
}
agent() { local h=$1; shift; "$BERTH" agent once --host "$h" --key "$T/$h.key" --server "$URL" \
	--incus "unix://$(var "$h" SOCKET)" --spool "$T/spool-$h" "$@"; }

start_serve
pass "berth serve listens"
curl -s "$URL/healthz" > "$T/h"
has "/healthz says ok" "$T/h" "ok"

# Before any report: no agent, not schedulable.
expect "status before any report" 0 "$BERTH" --repo "$R" status
has "status says no agent" "$T/out" "no agent"
expect "apply before any report (nothing to change)" 0 "$BERTH" --repo "$R" apply --auto-approve
has "apply marks the hosts as plan does" "$T/out" "host lab-1: no agent (no report accepted yet; pool lab requires one)"

for h in lab-1 lab-2; do
	expect "agent once on $h" 0 agent "$h"
	has "$h: report 1 made with both containers" "$T/err" "report 1 made (2 instances); 1 delivered"
done

for h in lab-c1 lab-c2; do
	expect "agent once on cluster member $h" 0 agent "$h"
	has "$h reports its own instance only" "$T/err" "report 1 made (1 instances)"
done

expect "status --format json" 0 "$BERTH" --repo "$R" --format json status
jq_true '[.hosts[] | select(.name == "lab-c1" or .name == "lab-c2") | .instances | map(.name)] == [["m1"], ["m2"]]' "$T/out" &&
	pass "each member's instances on that member" || fail "each member's instances on that member"
jq_true '.hosts | map(select(.health == "online")) | length == 4' "$T/out" &&
	pass "all four hosts online" || fail "all four hosts online"
jq_true '.hosts[] | select(.name == "lab-1") | .instances | map(.name) | sort == ["c1", "c2"]' "$T/out" &&
	pass "status lists the real containers" || fail "status lists the real containers"
# Allocated is the sum of the plans of the containers: 1 + 2 cpu, 256MiB + 1GiB, 1GiB + 4GiB.
jq_true '.hosts[] | select(.name == "lab-1") | .allocated == {"cpu": 3, "memory": 1342177280, "disk": 5368709120}' "$T/out" &&
	pass "allocated is the sum of the plans" || { fail "allocated is the sum of the plans"; jq '.hosts[0].allocated' "$T/out"; }
threads=$(nproc)
jq_true '.pools[0].members[] | select(.host == "lab-1") | .resources.cpu.reported == $t' "$T/out" --argjson t "$threads" &&
	pass "reported cpu threads are the machine's ($threads)" || fail "reported cpu threads"
memtotal=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))
jq_true '.pools[0].members[] | select(.host == "lab-1") | .resources.memory.reported == $m' "$T/out" --argjson m "$memtotal" &&
	pass "reported memory is MemTotal" || { fail "reported memory is MemTotal ($memtotal)"; jq ".pools[0].members[0].resources.memory" "$T/out"; }
jq_true '.pools[0].schedulable == 2' "$T/out" && pass "both hosts schedulable" ||
	{ fail "both hosts schedulable"; jq '.hosts[] | {name, reason}' "$T/out"; }
# Capacity: cpu base is min(declared 64, reported threads) x overcommit 4.
jq_true '.pools[0].members[] | select(.host == "lab-1") | .resources.cpu.capacity == 4 * $t and .resources.cpu.free == 4 * $t - 3' "$T/out" --argjson t "$threads" &&
	pass "cpu capacity and free from the reported threads" || fail "cpu capacity and free"
adm /v1/status > "$T/vs"
jq_true '.hosts | map(select(.health == "online")) | length == 4' "$T/vs" &&
	pass "/v1/status agrees" || fail "/v1/status agrees"
adm /metrics > "$T/m"
has "/metrics: lab-1 up" "$T/m" 'berth_host_up{host="lab-1"} 1'
has "/metrics: accepted" "$T/m" 'berth_reports_accepted_total 4'
has "/metrics: pool allocated cpu" "$T/m" 'berth_pool_allocated{pool="lab",resource="cpu"} 6'

# The agent restarts (a new process): its seq comes from the spool.
traffic lab-1
expect "agent restarted: accepted" 0 agent lab-1
has "seq persisted across restarts" "$T/err" "report 2 made"

# The intake goes down: reports wait in the spool.
stop_serve
for i in 1 2 3; do
	traffic lab-1
	expect "intake down: agent once $i exits 1" 1 agent lab-1
done
has "the agent says reports wait" "$T/err" "3 reports wait in the spool"
n=$(ls "$T/spool-lab-1" | grep -c '^r-.*\.json$')
[ "$n" = 3 ] && pass "3 reports spooled" || fail "spooled: $n, want 3"
# What usage must be, from the spooled bodies: the traffic counters are raw,
# so the total of eth0 of c1 is its value in the last report.
last=$(ls "$T/spool-lab-1"/r-*.json | sort | tail -1)
want_tx=$(jq '.instances[] | select(.name == "c1") | .network[] | select(.name == "eth0") | .tx_bytes' "$last")
start_serve
traffic lab-1
expect "intake back: the spool drains" 0 agent lab-1
has "all four delivered" "$T/err" "4 delivered"
n=$(ls "$T/spool-lab-1" | grep -c '^r-.*\.json$' || true)
[ "$n" = 0 ] && pass "spool empty" || fail "spool still holds $n"
stop_serve
seqs=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT group_concat(seq, ' ') FROM (SELECT seq FROM report_history WHERE host = 'lab-1' ORDER BY id)")
[ "$seqs" = "1 2 3 4 5 6" ] && pass "delivered in order: $seqs" || fail "history order: $seqs"
# Usage up to the last spooled report (seq 5) equals its raw counter; then seq 6 adds its delta.
got_tx=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT sum(tx_bytes) FROM usage WHERE host = 'lab-1' AND instance = 'c1'")
final_tx=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT json_extract(value, '\$.network[0].tx_bytes') FROM report_latest l JOIN report_history h ON h.id = l.history_id, json_each(h.body, '\$.instances') WHERE l.host = 'lab-1' AND json_extract(value, '\$.name') = 'c1'")
[ "$got_tx" = "$final_tx" ] && [ "$want_tx" -le "$final_tx" ] && [ "$final_tx" -gt 0 ] &&
	pass "usage is exactly the raw counter: $got_tx bytes sent, nothing lost or doubled" ||
	fail "usage tx $got_tx, last raw $final_tx (last spooled $want_tx)"
run_ms=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT sum(running_ms) FROM usage WHERE host = 'lab-1' AND instance = 'c1'")
[ "${run_ms:-0}" -gt 0 ] && pass "running time counted ($run_ms ms)" || fail "running time: $run_ms"

# Hostile deliveries through the real agent: another host's key is refused.
start_serve
expect "wrong key: agent exits 1" 1 "$BERTH" agent once --host lab-1 --key "$T/lab-2.key" --server "$URL" \
	--incus "unix://$(var lab-1 SOCKET)" --spool "$T/spool-wrong"
has "the agent reports bad_signature" "$T/err" "bad_signature"
adm /metrics > "$T/m"
has "/metrics counts it" "$T/m" 'berth_reports_rejected_total{reason="bad_signature"} 1'
stop_serve
expect "ledger has the rejection" 0 "$BERTH" ledger list --kind report.rejected
has "rejection entry names host and reason" "$T/out" "bad_signature"
expect "ledger verifies" 0 "$BERTH" ledger verify

# HTTPS: the intake with a certificate, the agent trusting it by --server-ca.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
	--tls-cert "$T/tls.crt" --tls-key "$T/tls.key" >>"$T/serve.log" 2>&1 &
SERVE_PID=$!
serve_up "https://127.0.0.1:$PORT/healthz" --cacert "$T/tls.crt"
serve_up "$ADMIN/healthz"
expect "agent over https" 0 "$BERTH" agent once --host lab-2 --key "$T/lab-2.key" --server "https://127.0.0.1:$PORT" \
	--server-ca "$T/tls.crt" --incus "unix://$(var lab-2 SOCKET)" --spool "$T/spool-lab-2"
has "accepted over https" "$T/err" "1 delivered"
expect "an agent that does not trust the certificate keeps its report" 1 "$BERTH" agent once --host lab-2 \
	--key "$T/lab-2.key" --server "https://127.0.0.1:$PORT" --incus "unix://$(var lab-2 SOCKET)" --spool "$T/spool-lab-2"
has "it says the intake is unreachable" "$T/err" "is unreachable"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/tls.crt" -H "$AUTH" "https://127.0.0.1:$PORT/metrics")
[ "$code" = 404 ] && pass "no /metrics on the https agents' port" || fail "/metrics on the https agents' port: $code"
adm /metrics > "$T/m"
has "/metrics of the https intake" "$T/m" 'berth_host_up{host="lab-2"} 1'
stop_serve

# The last reconcile run, as /metrics reports it from the ledger.
expect "reconcile (nothing to change)" 0 "$BERTH" --repo "$R" reconcile
# Monitoring on a listener of its own: the agents' port takes reports only.
start_serve
for p in /metrics /v1/status /v1/whoami; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$URL$p")
	[ "$code" = 404 ] && pass "no $p on the agents' port" || fail "$p on the agents' port: $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{}' "$ADMIN/v1/reports")
[ "$code" = 404 ] && pass "no reports on the admin port" || fail "reports on the admin port: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/metrics")
[ "$code" = 401 ] && pass "/metrics without a token: 401" || fail "/metrics without a token: $code"
adm /metrics > "$T/m"
if grep -Eq '^berth_last_reconcile_timestamp_seconds [1-9][0-9]{9}' "$T/m"; then
	pass "/metrics: the last reconcile's time"; else fail "/metrics: the last reconcile's time"; grep reconcile "$T/m"; fi
has "/metrics: the last reconcile changed nothing" "$T/m" 'berth_last_reconcile_changes 0'
entries=$(sqlite3 "$BERTH_STATE/berth.db" 'SELECT max(seq) FROM ledger')
has "/metrics: ledger entries" "$T/m" "berth_ledger_entries $entries"
stop_serve

# Silent agents: five minutes later both hosts are offline, in status,
# in /metrics and in the plan.
expect "status 5 minutes on" 0 ft -f '+5m' "$BERTH" --repo "$R" status
has "status: offline" "$T/out" "offline"
has "status: not schedulable because offline" "$T/out" "no: offline"
setsid env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	faketime -f '+5m' "$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" \
	--admin-listen "127.0.0.1:$((PORT + 1))" >>"$T/serve.log" 2>&1 &
SERVE_PID=$!
SERVE_GROUP=1
serve_up "$URL/healthz"
serve_up "$ADMIN/healthz"
adm /metrics > "$T/m"
has "/metrics: lab-1 down" "$T/m" 'berth_host_up{host="lab-1"} 0'
stop_serve
silent() { ! curl -sf "$URL/healthz" >/dev/null 2>&1; }
wait_for 30 "the intake under faketime stops with its process group" silent && pass "the intake under faketime stopped"
expect "plan 5 minutes on" 0 ft -f '+5m' "$BERTH" --repo "$R" plan
has "plan marks the offline host" "$T/out" "host lab-1: offline"

# A storage pool Incus cannot use (its source is gone when the daemon
# starts, as after a disk failed): the agent still reports, the pool carries
# the error, and status takes the host out of the pool that sells it.
mkdir -p "$T/spare-src"
li lab-2 storage create spare dir source="$T/spare-src" >/dev/null
sed -i '/name: lab-2,/,/storage_pools:/ s/storage_pools: \[{name: incus, driver: dir}\]/storage_pools: [{name: incus, driver: dir}, {name: spare, driver: dir, adopt: true}]/' "$R/hosts.yaml"
cat > "$R/spare.yaml" <<X
apiVersion: berth/v1
kind: Pool
metadata: {name: spare}
spec: {hosts: {names: [lab-2]}, storage_pool: spare}
X
commit "$R" spare
kill "$(var lab-2 PID)"
wait_for 60 "lab-2's incusd stops on SIGTERM" gone "$(var lab-2 PID)"
rm -rf "$T/spare-src"
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" --net 127.44.0 >>"$T/lab.log" 2>&1 || { tail -5 "$T/lab.log"; fail "restarting lab-2"; }
. "$T/lab/lab.env"
start_serve
expect "agent reports with a storage pool unavailable" 0 agent lab-2
adm /metrics > "$T/m"
has "/metrics: the pool is down" "$T/m" 'berth_storage_pool_available{host="lab-2",pool="spare"} 0'
has "/metrics: the other pool is up" "$T/m" 'berth_storage_pool_available{host="lab-2",pool="incus"} 1'
stop_serve
expect "status with the pool unavailable" 0 "$BERTH" --repo "$R" status --format json
m=$(jq -c '.pools[] | select(.name == "spare") | .members[] | select(.host == "lab-2")' "$T/out")
[ "$(echo "$m" | jq -r .reason)" = "storage pool unavailable" ] && pass "status: storage pool unavailable" || fail "status member: $m"
echo "$m" | jq -r .storage_error | grep -q "Unavailable" && pass "status: Incus's word for the pool" || fail "status member: $m"
[ "$(jq -r '.pools[] | select(.name == "lab") | .members[] | select(.host == "lab-2") | .storage_error' "$T/out")" = null ] &&
	pass "status: the other pool of lab-2 is not affected" || fail "the pool lab of lab-2 has a storage error"
expect "status text with the pool unavailable" 0 "$BERTH" --repo "$R" status
has "status text: the reason" "$T/out" "no: storage pool unavailable"
has "status text: the error" "$T/out" 'lab-2: storage pool "spare": Incus says the storage pool is Unavailable'

# lab-1 drains: status says what its agent still reports on it, then, once
# it reports nothing, that it is drained.
sed -i '/name: lab-1,/,/storage_pools:/ s/^  os: debian-12$/  os: debian-12\n  state: draining/' "$R/hosts.yaml"
grep -q 'state: draining' "$R/hosts.yaml" && pass "lab-1 draining" || fail "lab-1 not set draining"
commit "$R" "lab-1 draining"
expect "status of a draining host" 0 "$BERTH" --repo "$R" status
has "what is left on it" "$T/out" "host lab-1 is draining: 2 instances left (its agent's report"
li lab-1 delete --force c1 c2 >/dev/null
start_serve
expect "agent once on the emptied host" 0 agent lab-1
stop_serve
expect "status of the drained host" 0 "$BERTH" --repo "$R" status
has "it is drained" "$T/out" "host lab-1 is drained: no instances left (its agent's report"
expect "status --format json" 0 "$BERTH" --repo "$R" --format json status
jq_true '.hosts[] | select(.name == "lab-1") | .instances_left == 0' "$T/out" && pass "JSON: instances_left 0" ||
	fail "JSON: $(jq -c '.hosts[] | select(.name == "lab-1") | .instances_left' "$T/out")"
finish
