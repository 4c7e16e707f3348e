#!/usr/bin/env bash
# berth settle on real instances: lab-1 is ACME's (70%), lab-2 the
# platform's. Two instances of a plan at 3600.00 EUR an hour (a euro a
# second) are created by berth apply and settled over a window that ends
# now: each line is exactly a euro a second since placed-at, the split is 70/30
# by largest remainder. Settling again records nothing; --provider shows
# nothing of the platform; CSV has a row per line; list and show read the
# ledger. Draining lab-1 moves its instance to lab-2: ACME is paid its
# seconds before the move, the platform those after. A changed revenue
# share counts from the apply that records it, never before. A panel's
# sale deleted outside berth is recorded gone by the next reconcile and
# charged until then. Once lab-1 has an agent, its seconds before the
# agent's first report are offline, charged but not paid; a report that
# arrives late from the agent's spool makes a re-settle differ, and
# --amend records a correction. When lab-1 changes hands, ACME keeps what
# it earned before. A panel's sale on a metered plan sends traffic that
# lab-2's agent counts: the bytes beyond the allowance are charged at the
# overage price.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 2

R=$T/fleet
new_repo "$R"
mkdir -p "$R/providers/acme"
# hosts STATE-OF-LAB-1 [SPEC-FIELD]: ACME's lab-1 and the platform's lab-2
hosts() {
	lab_host lab-1 "state: $1" 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
		'storage_pools: [{name: incus, driver: dir}]' ${2:+"$2"} |
		sed 's/metadata: {name: lab-1,/metadata: {name: lab-1, provider: acme,/' \
		> "$R/providers/acme/hosts.yaml"
	lab_host lab-2 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
		'storage_pools: [{name: incus, driver: dir}]' > "$R/hosts.yaml"
}
# provider SHARE [APPROVALS]: ACME, and the platform's approvals of its
# hosts (by default, lab-1 approved)
provider() {
	local approvals=${2-"{lab-1: {review: approved, fingerprint: \"$(var lab-1 FINGERPRINT)\"}}"}

	cat > "$R/providers.yaml" <<X
apiVersion: berth/v1
kind: Provider
metadata: {name: acme}
spec: {display_name: ACME, revenue_share: $1, currency: EUR, holdback: 30d, approvals: $approvals}
X
}
hosts active
provider 70%
{ lab_pools_image; cat; } > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: second}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "3600.00", currency: EUR, cycle: hourly}}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: i1}
spec: {plan: second, image: busybox, state: stopped}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: i2}
spec: {plan: second, image: busybox, host: lab-2, state: stopped}
X
commit "$R" fleet
"$BERTH" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
expect "apply creates the instances" 0 "$BERTH" --repo "$R" apply --auto-approve
b() { "$BERTH" --repo "$R" "$@"; }
placed() { curl -sf --unix-socket "$(var "$2" SOCKET)" "http://incus/1.0/instances/$1" |
	jq -r '.metadata.config["user.berth.placed-at"]'; }
secs() { date -u -d "$1" +%s; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
after() { [ "$(date +%s)" -gt "$1" ]; }
P1=$(secs "$(placed i1 lab-1)")
P2=$(secs "$(placed i2 lab-2)")
FROM=$((P1 < P2 ? P1 - 60 : P2 - 60))
wait_for 30 "a second after the creates" after "$((P1 > P2 ? P1 : P2))"
TO=$(date +%s)
W=(--from "$(iso "$FROM")" --to "$(iso "$TO")")

expect "a period not over is refused" 1 b settle --from "$(iso "$FROM")" --to "$(iso $((TO + 3600)))"
has "it says why" "$T/err" "has not ended"
expect "settle the window" 0 b --format json settle "${W[@]}"
cp "$T/out" "$T/first.json"
S1=$((TO - P1)) S2=$((TO - P2))
jq_true "[.statements[] | {provider, currency}] == [{provider: \"acme\", currency: \"EUR\"}, {provider: \"platform\", currency: \"EUR\"}]" "$T/out" &&
	pass "one statement per provider" || fail "statements: $(jq -c '[.statements[] | {provider, currency}]' "$T/out")"
jq_true ".statements[0].lines == [{instance: \"i1\", host: \"lab-1\", plan: \"second\", plan_version: .statements[0].lines[0].plan_version, kind: \"usage\", seconds: $S1, amount_minor: $((S1 * 100)), amount: \"$S1.00\", share_bp: 7000}]" "$T/out" &&
	pass "i1 on lab-1: a euro a second for $S1 s" || fail "acme lines: $(jq -c '.statements[0].lines' "$T/out")"
jq_true ".statements[1].lines[0].seconds == $S2 and .statements[1].lines[0].amount_minor == $((S2 * 100))" "$T/out" &&
	pass "i2 on lab-2: $S2 s" || fail "platform lines: $(jq -c '.statements[1].lines' "$T/out")"
share=$((S1 * 70))	# 70% of S1 euros, in cents: no remainder
jq_true ".statements[0].provider_share_minor == $share and .statements[0].platform_fee_minor == $((S1 * 100 - share))" "$T/out" &&
	pass "70/30 of $S1 euros: $share + $((S1 * 100 - share)) cents" || fail "split: $(jq -c '.statements[0] | {gross_minor, provider_share_minor, platform_fee_minor}' "$T/out")"
jq_true '.statements[0].recorded.status == "new" and (.statements[0].hash | length) == 64' "$T/out" &&
	pass "recorded" || fail "recorded: $(jq -c '.statements[0].recorded' "$T/out")"
SEQ=$(jq '.statements[0].recorded.seq' "$T/out")

head_before=$(ledger_head)
expect "settle again" 0 b --format json settle "${W[@]}"
jq_true '[.statements[].recorded.status] == ["unchanged", "unchanged"]' "$T/out" &&
	pass "the same statements, unchanged" || fail "again: $(jq -c '[.statements[].recorded]' "$T/out")"
[ "$(jq -c '[.statements[].hash]' "$T/out")" = "$(jq -c '[.statements[].hash]' "$T/first.json")" ] &&
	pass "the same hashes" || fail "the hashes changed"
[ "$(ledger_head)" = "$head_before" ] && pass "nothing new in the ledger" || fail "the ledger grew"

expect "--provider acme" 0 b --format json settle "${W[@]}" --provider acme
! grep -q -e lab-2 -e i2 -e '"platform"' "$T/out" && pass "nothing of the platform's" ||
	fail "--provider acme shows: $(grep -o -e lab-2 -e i2 -e '"platform"' "$T/out" | sort -u | tr '\n' ' ')"
expect "csv" 0 b --format csv settle "${W[@]}"
[ "$(wc -l < "$T/out")" = 3 ] && has "csv header" "$T/out" "period,provider,currency,instance" ||
	fail "csv: $(cat "$T/out")"
has "csv row" "$T/out" ",acme,EUR,i1,lab-1,second,"
expect "--format csv elsewhere is refused" 1 b --format csv status
expect "list" 0 b settle list
has "list names the statement" "$T/out" "acme/EUR"
has "list says it is held" "$T/out" "held until"
has "list totals what ACME is owed" "$T/out" "acme EUR: held $((share / 100)).$(printf %02d $((share % 100))), payable 0.00"
expect "list --provider acme" 0 b settle list --provider acme
! grep -q platform "$T/out" && pass "list --provider acme shows acme's only" || fail "list shows the platform's"
expect "show" 0 b --format json settle show "$SEQ"
jq_true ".statements[0].hash == $(jq '.statements[0].hash' "$T/first.json")" "$T/out" &&
	pass "show gives the recorded statement" || fail "show: $(head -c 300 "$T/out")"
expect "show another provider's with --provider" 1 b settle show "$SEQ" --provider platform

# Drain lab-1: i1 moves to lab-2.
hosts draining
commit "$R" drain
expect "apply moves i1" 0 b apply --auto-approve
M=$(b --format json ledger list --kind change.result | jq -r '[.entries[] | select(.action == "move" and .result == "ok")][0].time')
MS=$(secs "$M")
wait_for 30 "a second after the move" after "$MS"
TO2=$(date +%s)
expect "settle across the move" 0 b --format json settle --from "$(iso "$FROM")" --to "$(iso "$TO2")"
jq_true "[.statements[0].lines[] | select(.instance == \"i1\") | .seconds] == [$((MS - P1))]" "$T/out" &&
	pass "ACME is paid i1's seconds before the move" || fail "acme after the move: $(jq -c '.statements[0].lines' "$T/out")"
jq_true "[.statements[1].lines[] | select(.instance == \"i1\") | .host, .seconds] == [\"lab-2\", $((TO2 - MS))]" "$T/out" &&
	pass "the platform those after" || fail "platform after the move: $(jq -c '.statements[1].lines' "$T/out")"

# A changed share counts from the apply that records it: the first window
# keeps its 70%.
provider 60%
commit "$R" share
expect "settle before the new share is applied" 0 b settle "${W[@]}"
has "it says the new terms are not applied yet" "$T/err" "differ from those last applied"
expect "apply records the new terms" 0 b apply --auto-approve
has "it says so" "$T/err" "the providers' terms changed: recorded, in force from now on"
entries_after 0 --kind terms
[ "$(wc -l < "$T/entries")" = 2 ] && pass "two terms entries" || fail "terms entries: $(cat "$T/entries")"
has_entry "the second has ACME at 60%" '.after.providers.acme.revenue_share_bp == 6000 and .after.hosts["lab-1"] == "acme"'
expect "re-settle the first window" 0 b --format json settle "${W[@]}"
jq_true '[.statements[].recorded.status] == ["unchanged", "unchanged"]' "$T/out" &&
	pass "a share changed later changes nothing before it" || fail "re-settle: $(jq -c '[.statements[].recorded]' "$T/out")"
# A panel sells panel-1 on the plan's profile and deletes it later:
# reconcile stamps it, then records it gone; it is charged in between.
li() { INCUS_DIR=$(var lab-2 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
li launch busybox panel-1 -p default -p plan-second >/dev/null
expect "reconcile stamps the panel's sale" 0 b reconcile
PP=$(secs "$(placed panel-1 lab-2)")
li delete -f panel-1 >/dev/null
expect "reconcile after the panel's delete" 0 b reconcile
has "it says what is gone" "$T/err" "host/lab-2/instance/panel-1: gone (deleted outside berth); recorded"
entries_after 0 --kind instance.gone
has_entry "an instance.gone entry" '.object == "host/lab-2/instance/panel-1" and .target == "lab-2"'
G=$(secs "$(jq -r 'select(.object == "host/lab-2/instance/panel-1") | .time' "$T/entries")")
expect "another reconcile" 0 b reconcile
entries_after 0 --kind instance.gone
[ "$(wc -l < "$T/entries")" = 1 ] && pass "gone is recorded once" || fail "gone entries: $(cat "$T/entries")"
wait_for 30 "a second after the delete" after "$G"
TO3=$(date +%s)
expect "settle over the panel's sale" 0 b --format json settle --from "$(iso "$FROM")" --to "$(iso "$TO3")"
jq_true "[.statements[] | select(.provider == \"platform\") | .lines[] | select(.instance == \"panel-1\") | .seconds] == [$((G - PP))]" "$T/out" &&
	pass "panel-1 charged from its creation to its delete: $((G - PP)) s" ||
	fail "panel-1: $(jq -c '[.statements[].lines[] | select(.instance == "panel-1")]' "$T/out")"
# With an agent: ACME's lab-1 reports once, a while after i3 was placed on
# it. Before the report lab-1 was offline: i3's seconds there are charged
# as offline and not paid to ACME; after it, usage.
"$BERTH" agent keygen --out "$T/lab-1.key" > "$T/lab-1.pub" 2>/dev/null
hosts active "agent: {key: \"$(cat "$T/lab-1.pub")\"}"
cat >> "$R/sold.yaml" <<X
---
apiVersion: berth/v1
kind: Instance
metadata: {name: i3}
spec: {plan: second, image: busybox, host: lab-1, state: stopped}
X
commit "$R" agent
expect "apply places i3 on lab-1" 0 b apply --auto-approve
P3=$(secs "$(placed i3 lab-1)")
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT
# report HOST: one report of HOST's agent to the berth serve at $URL.
report() { "$BERTH" agent once --host "$1" --key "$T/$1.key" --server "$URL" \
	--incus "unix://$(var "$1" SOCKET)" --spool "$T/spool-$1"; }
# lab-1's agent reports while berth serve is not running: the report
# stays in its spool. Until it arrives, lab-1 was offline all along.
expect "the agent of lab-1 reports to no one" 1 report lab-1
C=$(date +%s)
ls "$T/spool-lab-1"/r-*.json >/dev/null 2>&1 && pass "the report is spooled" || fail "nothing spooled"
wait_for 30 "two seconds after the report was collected" after "$((C + 1))"
TO4=$(date +%s)
W4=(--from "$(iso "$P3")" --to "$(iso "$TO4")")
expect "settle i3's window before the report arrives" 0 b --format json settle "${W4[@]}"
jq_true "[.statements[] | select(.provider == \"acme\") | .lines[] | select(.instance == \"i3\") | [.kind, .seconds]] == [[\"offline\", $((TO4 - P3))]]" "$T/out" &&
	pass "i3: offline all along, $((TO4 - P3)) s" || fail "i3: $(jq -c '[.statements[].lines[] | select(.instance == "i3")]' "$T/out")"
SEQ4=$(jq '[.statements[] | select(.provider == "acme")][0].recorded.seq' "$T/out")
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen none >"$T/serve.log" 2>&1 &
SERVE=$!
test_cleanup() { kill "$SERVE" 2>/dev/null || true; }
serving() { curl -sf "$URL/healthz" >/dev/null 2>&1 || gone "$SERVE"; }
wait_for 60 "berth serve answers" serving
expect "the agent of lab-1 delivers its spool" 0 report lab-1
ON_MS=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT min(from_ms) FROM agent_online WHERE host = 'lab-1'")
[ -n "$ON_MS" ] && pass "agent_online has lab-1 from $ON_MS" || fail "agent_online has no lab-1"
ON=$(( (ON_MS + 999) / 1000 ))
[ "$ON" -le "$C" ] && pass "online from when the late report was collected" || fail "online from $ON, after $C"
expect "re-settle after the late report" 1 b --format json settle "${W4[@]}"
has "it says the inputs changed" "$T/err" "the inputs changed since ledger entry $SEQ4"
jq_true '[.statements[] | select(.provider == "acme") | .recorded.status] == ["differs"]' "$T/out" &&
	pass "ACME's statement differs" || fail "re-settle: $(jq -c '[.statements[] | {provider, recorded}]' "$T/out")"
expect "--amend" 0 b --format json settle "${W4[@]}" --amend
jq_true '[.statements[] | select(.provider == "acme") | .recorded.status] == ["amended"]' "$T/out" &&
	pass "amended" || fail "amend: $(jq -c '[.statements[] | {provider, recorded}]' "$T/out")"
entries_after 0 --kind settlement.amend
has_entry "the correction names the first and pays ACME its share of the online seconds" \
	".after.amends == $SEQ4 and .after.difference.gross_minor == 0 and .after.difference.provider_share_minor == $(((TO4 - ON) * 60))"
expect "settle i3's window again" 0 b --format json settle "${W4[@]}"
jq_true '[.statements[].recorded.status] | all(. == "unchanged")' "$T/out" &&
	pass "unchanged since the amendment" || fail "again: $(jq -c '[.statements[] | {provider, recorded}]' "$T/out")"
jq_true "[.statements[] | select(.provider == \"acme\") | .lines[] | select(.instance == \"i3\") | [.kind, .seconds, .amount_minor]] | (map(select(.[0] == \"usage\")) == [[\"usage\", $((TO4 - ON)), $(((TO4 - ON) * 100))]]) and (map(select(.[0] == \"offline\") | .[1]) | add // 0) == $((ON - P3))" "$T/out" &&
	pass "i3: $((ON - P3)) s offline before the report was collected, $((TO4 - ON)) s of usage after" ||
	fail "i3: $(jq -c '[.statements[].lines[] | select(.instance == "i3")]' "$T/out")"
jq_true "[.statements[] | select(.provider == \"acme\") | .provider_share_minor, .gross_minor] == [$(((TO4 - ON) * 60)), $(((TO4 - P3) * 100))]" "$T/out" &&
	pass "ACME is paid its share (60% by now) of the usage only" ||
	fail "acme: $(jq -c "[.statements[] | select(.provider == \"acme\")]" "$T/out")"
# lab-1 changes hands: from the apply that records it, i3's seconds there
# are the platform's; ACME keeps what it earned before.
rm "$R/providers/acme/hosts.yaml"
provider 60% '{}'
lab_host lab-1 'review: approved' 'state: active' 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
	'storage_pools: [{name: incus, driver: dir}]' > "$R/lab-1.yaml"
commit "$R" "lab-1 is the platform's"
expect "apply records lab-1 as the platform's" 0 b apply --auto-approve
entries_after 0 --kind terms
H=$(secs "$(tail -n 1 "$T/entries" | jq -r 'select(.after.hosts["lab-1"] == "platform") | .time')")
wait_for 30 "a second after the change of hands" after "$H"
TO6=$(date +%s)
expect "settle across the change of hands" 0 b --format json settle --from "$(iso "$P3")" --to "$(iso "$TO6")"
jq_true "[.statements[] | select(.provider == \"acme\") | .lines[] | select(.instance == \"i3\") | .seconds] | add == $((H - P3))" "$T/out" &&
	pass "ACME is paid i3's $((H - P3)) s before the change" ||
	fail "acme: $(jq -c '[.statements[] | select(.provider == "acme") | .lines[]]' "$T/out")"
jq_true "[.statements[] | select(.provider == \"platform\") | .lines[] | select(.instance == \"i3\") | [.host, .kind, .seconds]] == [[\"lab-1\", \"usage\", $((TO6 - H))]]" "$T/out" &&
	pass "the platform the $((TO6 - H)) s after" ||
	fail "platform: $(jq -c '[.statements[] | select(.provider == "platform") | .lines[] | select(.instance == "i3")]' "$T/out")"
expect "re-settle the first window" 0 b --format json settle "${W[@]}"
jq_true '[.statements[].recorded.status] == ["unchanged", "unchanged"]' "$T/out" &&
	pass "ACME keeps the first window" || fail "re-settle: $(jq -c '[.statements[] | {provider, recorded}]' "$T/out")"
# Traffic beyond the allowance, counted by lab-2's agent: a panel's sale on
# a plan with 1 byte included and 10.24 EUR per KiB beyond (a cent a byte)
# sends ARP requests on a bridge of its own.
"$BERTH" agent keygen --out "$T/lab-2.key" > "$T/lab-2.pub" 2>/dev/null
lab_host lab-2 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' 'storage_pools: [{name: incus, driver: dir}]' \
	"agent: {key: \"$(cat "$T/lab-2.pub")\"}" > "$R/hosts.yaml"
cat >> "$R/sold.yaml" <<X
---
apiVersion: berth/v1
kind: Plan
metadata: {name: metered}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], traffic: 1, overage: {amount: "10.24", per: KiB}, price: {amount: "3600.00", currency: EUR, cycle: hourly}}
X
commit "$R" metered
expect "apply makes the metered plan's profile" 0 b apply --auto-approve
kill "$SERVE" 2>/dev/null; wait "$SERVE" 2>/dev/null || true
PORT=$((PORT + 1))
URL=http://127.0.0.1:$PORT
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen none >>"$T/serve.log" 2>&1 &
SERVE=$!
wait_for 60 "berth serve answers again" serving
li network create brs ipv4.address=none ipv6.address=none >/dev/null
li launch busybox pm -p default -p plan-metered >/dev/null
li network attach brs pm eth0 >/dev/null
li exec pm -- ip link set eth0 up
li exec pm -- ip addr add 192.0.2.21/24 dev eth0
li exec pm -- ping -c 3 -W 1 -i 0.2 192.0.2.99 >/dev/null 2>&1 || true
expect "reconcile stamps the metered sale" 0 b reconcile
PM=$(secs "$(placed pm lab-2)")
expect "the agent of lab-2 reports" 0 report lab-2
BYTES=$(sqlite3 "$BERTH_STATE/berth.db" "SELECT coalesce(sum(rx_bytes + tx_bytes), 0) FROM usage WHERE host = 'lab-2' AND instance = 'pm'")
[ "$BYTES" -gt 1 ] && pass "the intake counted $BYTES bytes of pm" || fail "pm's traffic: $BYTES bytes"
wait_for 30 "a second after pm was placed" after "$PM"
TO5=$(date +%s)
expect "settle the metered sale" 0 b --format json settle --from "$(iso "$PM")" --to "$(iso "$TO5")"
jq_true "[.statements[].lines[] | select(.instance == \"pm\" and .kind == \"traffic\") | .bytes, .amount_minor] == [$((BYTES - 1)), $((BYTES - 1))]" "$T/out" &&
	pass "pm's $((BYTES - 1)) bytes beyond the allowance, a cent each" ||
	fail "pm: $(jq -c '[.statements[].lines[] | select(.instance == "pm")]' "$T/out")"
expect "the ledger verifies" 0 b ledger verify
finish
