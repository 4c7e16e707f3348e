#!/usr/bin/env bash
# The admin API's tenancy on real Incus: two providers, acme and bolt, each
# with a lab host (acme-node is lab-1, bolt-node lab-2), a plan and an
# instance of it, and the platform's plan sold on bolt's host. berth apply
# creates the instances; both hosts' agents report through berth serve;
# a window is settled and a reconcile run recorded. Then every endpoint
# read with acme's token holds none of bolt's host, instance or plan names
# (nor the word bolt), and the other way round; another provider's host
# and statement are 404 as unknown ones are, admin paths 403; no header,
# an unknown token, a token in the query string and a token revoked while
# berth serve runs get 401, 401, 400 and 401. The admin sees everything,
# the runs and the ledger; `berth status --provider acme` shows what
# acme's token sees, and no token is ever written to the ledger.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 2

R=$T/fleet
new_repo "$R"
mkdir -p "$R/providers/acme" "$R/providers/bolt"
for h in lab-1 lab-2; do
	"$BERTH" agent keygen --out "$T/$h.key" > "$T/$h.pub" 2>/dev/null
done
cat > "$R/providers.yaml" <<X
apiVersion: berth/v1
kind: Provider
metadata: {name: acme}
spec: {display_name: ACME, revenue_share: 70%, currency: EUR, holdback: 30d,
  approvals: {acme-node: {review: approved, fingerprint: "$(var lab-1 FINGERPRINT)"}}}
---
apiVersion: berth/v1
kind: Provider
metadata: {name: bolt}
spec: {display_name: Bolt, revenue_share: 60%, currency: EUR, holdback: 30d,
  approvals: {bolt-node: {review: approved, fingerprint: "$(var lab-2 FINGERPRINT)"}}}
X
# The providers' hosts, approved by the platform: lab-1 is acme-node, lab-2 bolt-node.
{
	lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
		'storage_pools: [{name: incus, driver: dir}]' "agent: {key: \"$(cat "$T/lab-1.pub")\"}" |
		sed 's/metadata: {name: lab-1,/metadata: {name: acme-node, provider: acme,/'
	lab_host lab-2 'capacity: {cpu: 4, memory: 8GiB, disk: 20GiB}' \
		'storage_pools: [{name: incus, driver: dir}]' "agent: {key: \"$(cat "$T/lab-2.pub")\"}" |
		sed 's/metadata: {name: lab-2,/metadata: {name: bolt-node, provider: bolt,/'
} > "$R/hosts.yaml"
{ lab_pools_image; cat; } > "$R/sold.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: shared}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "3600.00", currency: EUR, cycle: hourly}}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: shared-on-bolt}
spec: {plan: shared, image: busybox, host: bolt-node, state: stopped}
X
# plan_of P: P's plan, and an instance of it on P's host, running
plan_of() {
	cat <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: $1-plan, provider: $1}
spec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "3600.00", currency: EUR, cycle: hourly}}
---
apiVersion: berth/v1
kind: Instance
metadata: {name: $1-inst, provider: $1}
spec: {plan: $1-plan, image: busybox, host: $1-node, state: running}
X
}
plan_of acme > "$R/providers/acme/sold.yaml"
plan_of bolt > "$R/providers/bolt/sold.yaml"
commit "$R" fleet
b() { "$BERTH" --repo "$R" "$@"; }
expect "the fleet is valid" 0 b validate
"$BERTH" --repo "$R" host trust-command acme-node >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
expect "apply creates the instances" 0 b apply --auto-approve
t0=$(date +%s)

# Tokens: what create prints is the token, once.
expect "an admin token" 0 "$BERTH" token create --admin --name ops
ADM=$(cat "$T/out")
has "create says it is shown once" "$T/err" "it is shown this once"
expect "acme's token" 0 b token create --provider acme
A=$(cat "$T/out")
expect "bolt's token" 0 b --format json token create --provider bolt --name bolt-panel
BT=$(jq -r .token "$T/out")
BID=$(jq -r .id "$T/out")
[ "${#A}" = 87 ] && [ "${A#berth_}" != "$A" ] && pass "a token is berth_ and 81 characters" ||
	fail "token: $A"
expect "a provider not in the manifests is refused" 1 b token create --provider nobody
has "it says so" "$T/err" 'no Provider "nobody" in the manifests'
expect "--admin and --provider together are refused" 1 "$BERTH" token create --admin --provider acme

PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT
API=http://127.0.0.1:$((PORT + 1))
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" >"$T/serve.log" 2>&1 &
SERVE=$!
test_cleanup() { kill "$SERVE" 2>/dev/null || true; }
serving() { { curl -sf "$URL/healthz" && curl -sf "$API/healthz"; } >/dev/null 2>&1 || gone "$SERVE"; }
wait_for 60 "berth serve answers" serving
gone "$SERVE" && { fail "berth serve exited"; sed 's/^/    | /' "$T/serve.log"; exit 1; }
report() { "$BERTH" agent once --host "$1" --key "$T/$2.key" --server "$URL" \
	--incus "unix://$(var "$2" SOCKET)" --spool "$T/spool-$2"; }
expect "acme-node's agent reports" 0 report acme-node lab-1
expect "bolt-node's agent reports" 0 report bolt-node lab-2
expect "a reconcile run" 0 b reconcile
# A window that is over, settled: one statement per provider.
after() { [ "$(date +%s)" -gt "$1" ]; }
wait_for 30 "a second after the creates" after "$((t0 + 1))"
TO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect "settle" 0 b --format json settle --from "$(date -u -d "@$((t0 - 600))" +%Y-%m-%dT%H:%M:%SZ)" --to "$TO"
jq_true '[.statements[].provider] == ["acme", "bolt"]' "$T/out" && pass "statements of acme and bolt" ||
	fail "statements: $(jq -c '[.statements[] | {provider, recorded}]' "$T/out")"
ASEQ=$(jq '.statements[] | select(.provider == "acme") | .recorded.seq' "$T/out")
BSEQ=$(jq '.statements[] | select(.provider == "bolt") | .recorded.seq' "$T/out")

# code_is NAME WANT: the last get answered WANT.
code_is() {
	if [ "$(cat "$T/code")" = "$2" ]; then pass "$1"; else
		fail "$1: HTTP $(cat "$T/code"), want $2: $(head -c 200 "$T/body")"; fi
}
# get TOKEN PATH: the status in $T/code, the body in $T/body.
get() {
	local h=()
	if [ -n "$1" ]; then h=(-H "Authorization: Bearer $1"); fi
	curl -s -o "$T/body" -w '%{http_code}' "${h[@]}" "$API$2" > "$T/code"
}
# reads WHO TOKEN OTHER OWN: every endpoint with TOKEN answers 200 and holds
# none of OTHER's names (nor the word); OWN's host is in what it reads.
reads() {
	local who=$1 tok=$2 other=$3 own=$4 seq p
	[ "$who" = acme ] && seq=$ASEQ || seq=$BSEQ
	for p in /v1/whoami /v1/status "/v1/hosts/$own-node" /v1/usage \
		"/v1/usage?from=$(date -u -d "@$((t0 - 7200))" +%Y-%m-%dT%H:%M:%SZ)&to=$TO" \
		/v1/statements "/v1/statements/$seq"; do
		get "$tok" "$p"
		if [ "$(cat "$T/code")" != 200 ]; then
			fail "$who: $p: HTTP $(cat "$T/code"): $(head -c 200 "$T/body")"
		elif grep -qi "$other" "$T/body"; then
			fail "$who: $p names $other's: $(grep -oi "[a-z-]*$other[a-z-]*" "$T/body" | sort -u | tr '\n' ' ')"
		else
			pass "$who: $p holds nothing of $other's"
		fi
		cp "$T/body" "$T/$who${p//[\/?&=:]/_}.json"
	done
}
reads acme "$A" bolt acme
reads bolt "$BT" acme bolt
# What acme does see: its host, instance, plan, usage and statement.
jq_true '[.hosts[].name] == ["acme-node"] and ([.hosts[0].instances[].name] == ["acme-inst"])' "$T/acme_v1_status.json" &&
	pass "acme's status: its host and instance" || fail "acme's status: $(jq -c '[.hosts[] | {name, instances}]' "$T/acme_v1_status.json")"
jq_true '.hosts[0].health == "online" and .hosts[0].review == "approved"' "$T/acme_v1_status.json" &&
	pass "acme's host: online, approved" || fail "acme's host: $(jq -c '.hosts[0] | {health, review}' "$T/acme_v1_status.json")"
jq_true '([.pools[] | select(.name == "lab") | .plans[].name] | sort) == ["acme-plan", "shared"] and [.pools[] | select(.name == "lab") | .hosts] == [1]' \
	"$T/acme_v1_status.json" && pass "acme's pool: its host, the platform's plan and its own" ||
	fail "acme's pool: $(jq -c '.pools' "$T/acme_v1_status.json" | head -c 400)"
jq_true '.report.host == "acme-node" and .host.name == "acme-node" and (.pools | length) == 1' "$T/acme_v1_hosts_acme-node.json" &&
	pass "/v1/hosts/acme-node: its latest report and pool" || fail "/v1/hosts/acme-node: $(head -c 300 "$T/acme_v1_hosts_acme-node.json")"
jq_true '[.instances[].name] == ["acme-inst"] and .instances[0].plan == "acme-plan"' "$T/acme_v1_usage.json" &&
	pass "acme's usage: its instance" || fail "acme's usage: $(cat "$T/acme_v1_usage.json")"
jq_true '[.statements[].provider] == ["acme"] and .totals[0].provider == "acme"' "$T/acme_v1_statements.json" &&
	pass "acme's statements and what it is owed" || fail "acme's statements: $(head -c 300 "$T/acme_v1_statements.json")"
jq_true '.statement.lines | length > 0 and all(.host == "acme-node")' "$T/acme_v1_statements_$ASEQ.json" &&
	pass "acme's statement, whole" || fail "acme's statement: $(head -c 300 "$T/acme_v1_statements_$ASEQ.json")"
jq_true '.role == "provider" and .provider == "acme" and .name == "acme"' "$T/acme_v1_whoami.json" &&
	pass "whoami: acme's" || fail "whoami: $(cat "$T/acme_v1_whoami.json")"
jq_true '[.hosts[0].instances[].name] | sort == ["bolt-inst", "shared-on-bolt"]' "$T/bolt_v1_status.json" &&
	pass "bolt's status: its instances, the platform's sale on its host too" ||
	fail "bolt's status: $(jq -c '[.hosts[] | {name, instances}]' "$T/bolt_v1_status.json")"

# Another provider's host and statement: 404, word for word as unknown ones.
for p in "/v1/hosts/bolt-node /v1/hosts/no-such-node" "/v1/statements/$BSEQ /v1/statements/999999"; do
	set -- $p
	get "$A" "$1"
	cp "$T/body" "$T/theirs"
	get "$A" "$2"
	[ "$(cat "$T/code")" = 404 ] && cmp -s "$T/body" "$T/theirs" && pass "acme: $1 is 404, as $2" ||
		fail "acme: $1: $(cat "$T/theirs"); $2: HTTP $(cat "$T/code"): $(cat "$T/body")"
done
# Admin paths: 403 to a provider.
for p in /metrics /v1/runs /v1/ledger; do
	get "$A" "$p"
	[ "$(cat "$T/code")" = 403 ] && pass "acme: $p is 403" || fail "acme: $p: HTTP $(cat "$T/code")"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" -XPOST -d '{"plan":"acme-plan"}' "$API/v1/place")
[ "$code" = 403 ] && pass "acme: POST /v1/place is 403" || fail "acme: POST /v1/place: HTTP $code"

# The admin sees everything.
get "$ADM" /v1/status
jq_true '[.hosts[].name] == ["acme-node", "bolt-node"] and ([.pools[] | select(.name == "lab") | .plans[].name] | sort) == ["acme-plan", "bolt-plan", "shared"]' "$T/body" &&
	pass "admin: both hosts, every plan" || fail "admin's status: $(jq -c '[.hosts[].name]' "$T/body")"
get "$ADM" "/v1/runs?limit=5"
jq_true '[.runs[].mode] == ["reconcile", "apply"] and .runs[0].result == "ok" and (.runs[0].commit | length) == 40 and .runs[1].changes > 0 and .runs[0].drift == 0' "$T/body" &&
	pass "admin: the runs, latest first" || fail "runs: $(cat "$T/body" | head -c 400)"
get "$ADM" "/v1/ledger?limit=3"
jq_true '(.entries | length) == 3 and (.entries | map(.kind) | index("settlement")) != null' "$T/body" &&
	pass "admin: the latest ledger entries" || fail "ledger: $(jq -c '[.entries[] | {seq, kind}]' "$T/body")"
get "$ADM" "/v1/ledger?limit=0"
code_is "admin: limit=0 is 400" 400
get "$ADM" /metrics
code_is "admin: /metrics" 200
has "admin: /metrics names both hosts" "$T/body" 'berth_host_up{host="bolt-node"} 1'
# the runs, as Argo CD and Flux export theirs; Prometheus's own checker takes it all
grep -Eq '^berth_run_last_timestamp_seconds\{kind="reconcile",result="ok"\} [1-9][0-9]{9}' "$T/body" &&
	pass "admin: /metrics has when the last reconcile succeeded" || fail "metrics: $(grep berth_run "$T/body")"
grep -Eq '^berth_run_last_changes\{kind="apply",result="ok"\} [1-9]' "$T/body" &&
	grep -q '^berth_run_last_drifted_objects{kind="reconcile",result="ok"} 0.000' "$T/body" &&
	pass "admin: /metrics has the apply's changes and the reconcile's drift" || fail "metrics: $(grep berth_run "$T/body")"
if command -v promtool >/dev/null; then
	promtool check metrics < "$T/body" > "$T/promtool" 2>&1 && pass "promtool check metrics: clean" ||
		{ fail "promtool check metrics:"; sed 's/^/    | /' "$T/promtool"; }
else
	fail "promtool is not installed (contrib/deps.sh installs prometheus)"
fi
get "$ADM" /v1/statements
jq_true '[.statements[].provider] == ["acme", "bolt"]' "$T/body" && pass "admin: every statement" ||
	fail "admin's statements: $(head -c 300 "$T/body")"

# Refused: no header, an unknown token, a token in the URL.
get "" /v1/status
code_is "no token: 401" 401
get "berth_0123456789abcdef_$(printf '%064d' 0)" /v1/status
code_is "an unknown token: 401" 401
has "it says so" "$T/body" "unknown token"
get "" "/v1/status?access_token=$A"
code_is "a token in the query string: 400" 400
has "it says why" "$T/body" "a token in the URL is refused"
get "$A" "/v1/status?token=$A"
code_is "a token in the query string, header or not: 400" 400
for p in /v1/status /metrics /v1/whoami; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADM" "$URL$p")
	[ "$code" = 404 ] && pass "the agents' listener: $p is 404" || fail "the agents' listener: $p: HTTP $code"
done
# Revoked while berth serve runs: refused from the next request on.
expect "revoke bolt's token" 0 "$BERTH" token revoke "$BID"
get "$BT" /v1/whoami
code_is "a revoked token: 401" 401
has "it says so" "$T/body" "was revoked"
get "$A" /v1/whoami
code_is "acme's still works" 200
expect "token list" 0 "$BERTH" --format json token list
jq_true '[.tokens[] | [.role, .provider, (.revoked != null)]] == [["admin", null, false], ["provider", "acme", false], ["provider", "bolt", true]]' "$T/out" &&
	pass "token list: three, bolt's revoked" || fail "token list: $(cat "$T/out")"
kill "$SERVE" 2>/dev/null || true
wait_for 30 "berth serve stops" gone "$SERVE"

# The command line's view of a provider is its token's.
expect "status --provider acme" 0 b status --provider acme
has "it shows acme-node" "$T/out" "acme-node"
! grep -qi bolt "$T/out" && pass "and nothing of bolt's" || fail "status --provider acme: $(grep -i bolt "$T/out")"
expect "status --provider acme --format json" 0 b --format json status --provider acme
jq -S 'del(.time)' "$T/out" > "$T/cli.json"
jq -S 'del(.time) | .hosts[].report_age_seconds = null' "$T/acme_v1_status.json" > "$T/api.json"
jq -S '.hosts[].report_age_seconds = null' "$T/cli.json" > "$T/cli2.json"
jq_true '.hosts == $a[0].hosts' "$T/cli2.json" --slurpfile a "$T/api.json" &&
	pass "its JSON is /v1/status's" || fail "status --provider acme differs from acme's /v1/status"
expect "status --provider nobody" 1 b status --provider nobody

# The tokens' record: made and revoked, never the token itself.
entries_after 0 --kind token.create
has_entry "token.create of bolt's" ".object == \"token/$BID\" and .after.provider == \"bolt\" and .after.name == \"bolt-panel\""
entries_after 0 --kind token.revoke
has_entry "token.revoke of bolt's" ".object == \"token/$BID\" and .result == \"ok\""
"$BERTH" ledger export > "$T/export"
for t in "$ADM" "$A" "$BT"; do
	if grep -q "${t#berth_????????????????_}" "$T/export" || sqlite3 "$BERTH_STATE/berth.db" .dump | grep -q "${t#berth_????????????????_}"; then
		fail "a token is written down"
	else
		pass "token ${t:0:22}... is in neither the ledger nor the database"
	fi
done
expect "the ledger verifies" 0 "$BERTH" ledger verify
finish
