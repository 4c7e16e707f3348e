#!/usr/bin/env bash
# The dashboard of berth serve in a real browser: headless Chromium, driven
# through the DevTools protocol (browse.mjs), loads GET / of the admin
# listener of a real `berth serve` that real agents report to: lab-1 (the
# platform's) reports every 5 s, lab-2 (ACME's, pending review) once and
# then falls silent, bolt-1 (Bolt's) has no agent. Real containers run on
# the lab daemons. The page must show every host with its review, state,
# health and capacity as /v1/status gives them, the instances with their
# host, plan and state, the pool with its plans on sale; hide the sections
# whose endpoints this server does not answer; send the token only in the
# Authorization header and only to the server; and, by polling alone, mark
# lab-2 offline once its window (120 s, the smallest there is) has passed.
# The login form and logging out work; the page fits a phone's width.
# Screenshots at 1280 px and 390 px go to the build directory
# (tests/integration/dashboard/).
. "$(dirname "$0")/lib.sh"

needs_lab
command -v chromium >/dev/null || { echo "needs chromium (contrib/deps.sh installs it)"; exit 77; }
command -v node >/dev/null || { echo "needs node (contrib/deps.sh installs it)"; exit 77; }
BROWSE=$SOURCE_ROOT/tests/integration/browse.mjs
OUT=${BUILD_ROOT:-$T}/tests/integration/dashboard
mkdir -p "$OUT"
SERVE_PID= AGENT_PID= HOOK_PID=
test_cleanup() {
	local p
	for p in $AGENT_PID $SERVE_PID $HOOK_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
lab_up --hosts 2
li() { local h=$1; shift; INCUS_DIR=$(var "$h" DIR) INCUS_CONF="$T/incus-client" incus "$@"; }

# The fleet: lab-1 the platform's, lab-2 ACME's (pending review: a
# provider's host waits for the platform), bolt-1 Bolt's, without an agent.
for h in lab-1 lab-2; do "$BERTH" agent keygen --out "$T/$h.key" > "$T/$h.pub"; done
R=$T/fleet
new_repo "$R"
mkdir -p "$R/providers/acme" "$R/providers/bolt"
# owned PROVIDER: a Host manifest of lab_host's on stdin, owned by PROVIDER
owned() { sed "s/metadata: {name: \([a-z0-9-]*\),/metadata: {name: \1, provider: $1,/"; }
spec() { printf '%s\n' 'capacity: {cpu: 8, memory: 16GiB, disk: 40GiB}' "agent: {key: \"$(cat "$T/$1.pub")\", interval: 5s}" \
	'storage_pools: [{name: incus, driver: dir}]'; }
mapfile -t s1 < <(spec lab-1)
mapfile -t s2 < <(spec lab-2)
lab_host lab-1 "${s1[@]}" > "$R/hosts.yaml"
lab_host lab-2 "${s2[@]}" | owned acme > "$R/providers/acme/hosts.yaml"
cat > "$R/providers/bolt/hosts.yaml" <<X
apiVersion: berth/v1
kind: Host
metadata: {name: bolt-1, provider: bolt, labels: {site: lab}}
spec:
  endpoint: https://bolt-1.invalid:8443
  fingerprint: "$(printf bolt-1 | sha256sum | cut -d' ' -f1)"
  os: debian-12
  capacity: {cpu: 16, memory: 64GiB, disk: 500GiB}
  storage_pools: [{name: incus, driver: dir}]
X
cat > "$R/providers.yaml" <<X
apiVersion: berth/v1
kind: Provider
metadata: {name: acme}
spec: {display_name: ACME, revenue_share: 70%, currency: EUR, holdback: 30d}
---
apiVersion: berth/v1
kind: Provider
metadata: {name: bolt}
spec: {display_name: Bolt, revenue_share: 60%, currency: EUR, holdback: 30d}
X
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
---
apiVersion: berth/v1
kind: Plan
metadata: {name: legacy}
spec: {pool: lab, type: container, cpu: 1, memory: 128MiB, disk: 1GiB, price: {amount: "2.00", currency: EUR, cycle: monthly}, availability: hidden}
X
cat > "$R/providers/acme/plans.yaml" <<X
apiVersion: berth/v1
kind: Plan
metadata: {name: acme-s, provider: acme}
spec: {pool: lab, type: container, cpu: 1, memory: 512MiB, disk: 2GiB, price: {amount: "6.00", currency: EUR, cycle: monthly}}
X
commit "$R" fleet
expect "the fleet is valid" 0 "$BERTH" --repo "$R" validate

# Real containers, sold as a panel sells them (user.berth.plan): on lab-1
# c1 running and c2 stopped, on lab-2 c3 running.
for h in lab-1 lab-2; do
	li "$h" remote add imgs "$LAB_IMAGE_SERVER" --protocol incus --public --accept-certificate >/dev/null 2>&1 || true
	li "$h" image copy imgs:busybox local: --alias busybox >/dev/null
	li "$h" storage create incus dir >/dev/null
	li "$h" profile device add default root disk path=/ pool=incus >/dev/null
done
li lab-1 launch busybox c1 -c user.berth.plan=small >/dev/null 2>&1
li lab-1 init busybox c2 -c user.berth.plan=large >/dev/null 2>&1
li lab-2 launch busybox c3 -c user.berth.plan=acme-s >/dev/null 2>&1

# An admin token, and ACME's.
TOKEN=$("$BERTH" token create --admin --name dashboard-test)
ACME=$("$BERTH" --repo "$R" token create --provider acme --name dashboard-acme)
auth=(-H "Authorization: Bearer $TOKEN")

# A webhook receiver: berth serve tells it when an agent goes offline and comes back.
python3 "$SOURCE_ROOT/tests/integration/webhook-receiver.py" "$T/hooks.log" "$T/hooks.port" 0 &
HOOK_PID=$!
wait_for 30 "the webhook receiver listens" test -s "$T/hooks.port"
PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$((PORT + 1))
"$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$((PORT + 1))" \
	--notify "http://127.0.0.1:$(cat "$T/hooks.port")/hook" >"$T/serve.log" 2>&1 &
SERVE_PID=$!
answers() {
	if gone "$SERVE_PID"; then fail "berth serve exited"; sed 's/^/    | /' "$T/serve.log"; exit 1; fi
	curl -sf "$1" >/dev/null 2>&1
}
wait_for 60 "berth serve answers" answers "$ADMIN/healthz"
wait_for 60 "the agents' listener answers" answers "$URL/healthz"

# lab-2 reports once; lab-1's agent runs on, every 5 s.
expect "lab-2 reports once" 0 "$BERTH" agent once --host lab-2 --key "$T/lab-2.key" --server "$URL" \
	--incus "unix://$(var lab-2 SOCKET)" --spool "$T/spool-lab-2"
"$BERTH" agent run --host lab-1 --key "$T/lab-1.key" --server "$URL" --interval 5s \
	--incus "unix://$(var lab-1 SOCKET)" --spool "$T/spool-lab-1" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
both_online() {
	curl -sf "${auth[@]}" "$ADMIN/v1/status" > "$T/status.json" &&
		jq_true '[.hosts[] | select(.health == "online") | .name] == ["lab-1", "lab-2"]' "$T/status.json"
}
wait_for 60 "lab-1 and lab-2 online in /v1/status" both_online && pass "both agents' reports accepted"
cp "$T/status.json" "$OUT/status.json"

# The page as served: HTML, self-contained, with headers that keep it so.
curl -s -D "$T/headers" -o "$T/page.html" "$ADMIN/"
hdr() { tr -d '\r' < "$T/headers" | grep -i "^$1:" | cut -d' ' -f2-; }
[ "$(hdr Content-Type)" = "text/html; charset=utf-8" ] && pass "GET /: text/html; charset=utf-8" ||
	fail "GET /: Content-Type $(hdr Content-Type)"
csp=$(hdr Content-Security-Policy)
echo "$csp" | grep -Eq "^default-src 'self'; script-src 'sha256-[A-Za-z0-9+/]{43}='; style-src 'sha256-[A-Za-z0-9+/]{43}='; " &&
	pass "CSP: 'self', and the inline script and style by their hashes" || fail "CSP: $csp"
[ "$(hdr X-Content-Type-Options)" = nosniff ] && pass "nosniff" || fail "X-Content-Type-Options: $(hdr X-Content-Type-Options)"
[ "$(hdr Cache-Control)" = no-store ] && pass "Cache-Control: no-store" || fail "Cache-Control: $(hdr Cache-Control)"
ext=$(grep -Eio '(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\(' "$T/page.html" | sort -u || true)
[ -z "$ext" ] && pass "the page references nothing outside itself" || fail "the page references: $ext"
[ "$(grep -c '<script' "$T/page.html")" = 1 ] && [ "$(grep -c '<style' "$T/page.html")" = 1 ] &&
	pass "one inline script, one inline style" || fail "scripts or styles: $(grep -Eo '<(script|style)[^>]*>' "$T/page.html" | tr '\n' ' ')"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/")
[ "$code" = 404 ] && pass "no dashboard on the agents' listener" || fail "GET / on the agents' listener: $code"

# What the page shows, read from its DOM (one JSON file each).
HOSTS_JS='[...document.querySelectorAll("#hosts tbody tr[data-host]")].map(r => ({name: r.dataset.host,
	health: r.dataset.health, review: r.dataset.review, state: r.dataset.state, offline: r.classList.contains("offline"),
	cells: Object.fromEntries([...r.cells].map(c => [c.dataset.label, c.innerText.replace(/\s+/g, " ").trim()]))}))'
INSTANCES_JS='[...document.querySelectorAll("#instances tbody tr[data-instance]")].map(r => ({name: r.dataset.instance,
	host: r.dataset.host, status: r.dataset.status,
	cells: Object.fromEntries([...r.cells].map(c => [c.dataset.label, c.innerText.replace(/\s+/g, " ").trim()]))}))'
POOLS_JS='[...document.querySelectorAll("#pools tbody tr[data-pool]")].map(r => ({name: r.dataset.pool,
	plans: [...r.querySelectorAll("[data-plan]")].map(p => p.dataset.plan)}))'
PAGE_JS='({state: document.body.dataset.state, refreshes: +document.body.dataset.refreshes, hash: location.hash, title: document.title,
	stored: sessionStorage.getItem("berth.token"), who: document.getElementById("who").innerText,
	navigations: performance.getEntriesByType("navigation").length, mark: window.mark || null,
	sections: Object.fromEntries([...document.querySelectorAll("#dash section[id]")].map(s => [s.id.slice(4), !s.hidden])),
	traffic: !document.querySelector("#instances th.traffic").hidden,
	overflow: document.documentElement.scrollWidth - window.innerWidth})'
READY='document.body.dataset.state == "ready" && document.querySelectorAll("#hosts tbody tr[data-host]").length > 0'
# view NAME URL [STEP...]: load URL at 1280 px in a fresh browser, wait
# until the page shows hosts, read it into $T/NAME/{hosts,instances,pools,
# page,text}.json, then run the STEPs, and last what the page requested
# and the errors it saw ($T/NAME/{requests,errors}.json).
view() {
	local name=$1 url=$2
	shift 2
	mkdir -p "$T/$name"
	node "$BROWSE" --out "$T/$name" size 1280 900 open "$url" wait $((30 * WAIT_SCALE)) "$READY" \
		eval hosts "$HOSTS_JS" eval instances "$INSTANCES_JS" eval pools "$POOLS_JS" eval page "$PAGE_JS" \
		eval text 'document.body.innerText' "$@" requests requests errors errors
}
# dom NAME FILE FILTER [JQ-OPTION...]: FILTER is true of $T/NAME/FILE.json.
dom() {
	local name=$1 file=$2 filter=$3
	shift 3
	if jq_true "$filter" "$T/$name/$file.json" "$@"; then pass "$name: $filter"; else
		fail "$name: $filter"; sed 's/^/    | /' "$T/$name/$file.json" | head -40; fi
}
# lab-1's resource RES in /v1/status as the page writes it: "allocated / capacity"
# (threads for cpu; bytes as GiB/MiB are rounded on the page, so cpu only).
cpu_of() { jq -r --arg h "$1" '.pools[0].members[] | select(.host == $h) | .resources.cpu | "\(.allocated) / \(.capacity)"' "$T/status.json"; }
# optional PATH: 200 when this server answers PATH with the token (its section is shown), else not.
optional() { [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$ADMIN$1")" = 200 ] && echo true || echo false; }

# The admin's view, from a link with the token in its fragment. Once it
# shows both agents online, lab-2 falls silent: the page, left alone,
# marks it offline after 120 s, while lab-1's agent keeps it online.
if view admin "$ADMIN/#token=$TOKEN" \
	eval marked 'window.mark = 1' \
	wait $((240 * WAIT_SCALE)) 'document.querySelector("#hosts tr[data-host=\"lab-2\"]").dataset.health == "offline"' \
	eval hosts-later "$HOSTS_JS" eval page-later "$PAGE_JS" \
	shot "$OUT/dashboard-1280.png" \
	size 390 844 wait 10 'getComputedStyle(document.querySelector("#hosts thead")).display == "none"' \
	eval phone "$PAGE_JS" shot "$OUT/dashboard-390.png" 2>"$T/browse.err"; then
	pass "Chromium loaded the dashboard and saw lab-2 go offline"
else
	fail "the browser: $(cat "$T/browse.err")"
	for f in "$T"/admin/*.json; do echo "    $f:"; sed 's/^/    | /' "$f" | head -30; done
	exit 1
fi

dom admin hosts 'map(.name) == ["lab-1", "lab-2", "bolt-1"]'
dom admin hosts 'map({name, health, review, state}) == [
	{name: "lab-1", health: "online", review: "approved", state: "active"},
	{name: "lab-2", health: "online", review: "pending", state: "active"},
	{name: "bolt-1", health: "no agent", review: "pending", state: "active"}]'
dom admin hosts '.[0].cells.Agent | test("^online seen [0-9]+s ago$")'
dom admin hosts '.[2].cells.Agent == "no agent never reported"'
dom admin hosts '.[0].cells.Version | startswith($v)' --arg v "$(jq -r '.hosts[] | select(.name == "lab-1") | .agent.version' "$T/status.json")"
dom admin hosts '.[0].cells.CPU | startswith($c)' --arg c "$(cpu_of lab-1)"
dom admin hosts '.[1].cells.CPU | startswith($c)' --arg c "$(cpu_of lab-2)"
dom admin hosts '.[0].cells.CPU | test("declared 8 · reported [0-9]+$")'
dom admin hosts '.[1].cells["New instances"] == "no pending review"'
dom admin instances 'map({name, host, status}) == [
	{name: "c1", host: "lab-1", status: "Running"},
	{name: "c2", host: "lab-1", status: "Stopped"},
	{name: "c3", host: "lab-2", status: "Running"}]'
dom admin instances 'map(.cells.Plan) == ["small", "large", "acme-s"]'
dom admin text '[contains("lab-1", "lab-2", "bolt-1", "c1", "c2", "c3")] | all'
dom admin pools 'map({name, plans: (.plans | sort)}) == [{name: "lab", plans: ["acme-s", "large", "small"]}]'
dom admin page '.hash == "" and .stored == $t' --arg t "$TOKEN"
dom admin page '.sections | .summary and .hosts and .pools and .instances'
# The sections of endpoints this server does not answer (yet) are hidden; those it answers are shown.
dom admin page '.sections.statements == $s and .sections.runs == $r and .sections.ledger == $l and .traffic == $u' \
	--argjson s "$(optional /v1/statements)" --argjson r "$(optional '/v1/runs?limit=10')" \
	--argjson l "$(optional '/v1/ledger?limit=15')" --argjson u "$(optional '/v1/usage?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z')"
dom admin page '.title == "berth"'
dom admin page-later '.mark == 1 and .navigations == 1 and .refreshes > 1'
dom admin page-later '.title == "berth · 1 offline"'
# The webhook was told lab-2 went offline, once; and when it comes back.
hook() { [ -f "$T/hooks.log" ] && jq -e -s "$1" "$T/hooks.log" >/dev/null; }
wait_for 30 "the offline event" hook 'map(select(.event == "host" and .outcome == "offline" and .host == "lab-2" and .provider == "acme")) | length == 1' &&
	pass "serve told the webhook lab-2 went offline"
hook 'map(select(.host == "lab-1")) | length == 0' && pass "and nothing of lab-1, online all along" ||
	fail "events: $(cat "$T/hooks.log")"
expect "lab-2 reports again" 0 "$BERTH" agent once --host lab-2 --key "$T/lab-2.key" --server "$URL" \
	--incus "unix://$(var lab-2 SOCKET)" --spool "$T/spool-lab-2"
wait_for 30 "the online event" hook 'map(select(.outcome == "online" and .host == "lab-2")) | length == 1' &&
	pass "and that it came back"
hook 'map(select(.outcome == "offline")) | length == 1' && pass "the outage was told once" ||
	fail "events: $(cat "$T/hooks.log")"
dom admin hosts-later 'map({name, health, offline}) == [
	{name: "lab-1", health: "online", offline: false},
	{name: "lab-2", health: "offline", offline: true},
	{name: "bolt-1", health: "no agent", offline: false}]'
dom admin hosts-later '.[1].cells.Agent | test("^offline seen [2-9]m ago$")'
dom admin hosts-later '.[1].cells["New instances"] == "no pending review"'
dom admin page-later '.overflow <= 0'
dom admin phone '.overflow <= 0'
dom admin requests 'map(.url) | all(startswith($a + "/"))' --arg a "$ADMIN"
dom admin requests 'map(select(.url | contains("/v1/"))) | length > 0 and all(.headers.Authorization == "Bearer " + $t)' --arg t "$TOKEN"
dom admin requests 'map(.url) | all(contains($t) | not)' --arg t "$TOKEN"
dom admin errors '. == []'
[ -s "$OUT/dashboard-1280.png" ] && [ -s "$OUT/dashboard-390.png" ] &&
	pass "screenshots in $OUT" || fail "no screenshots in $OUT"

# Without a token in the fragment or the tab: the login form; a token
# typed into it logs in; logging out forgets it.
if node "$BROWSE" --out "$T" size 1280 900 open "$ADMIN/" \
	wait 10 'document.body.dataset.state == "login"' \
	eval login '({form: !document.getElementById("login").hidden, dash: !document.getElementById("dash").hidden})' \
	type '#token' "$TOKEN" click '#login-form button[type=submit]' wait 30 "$READY" \
	eval typed '({stored: sessionStorage.getItem("berth.token"), hosts: document.querySelectorAll("#hosts tbody tr[data-host]").length})' \
	click '#logout' wait 10 'document.body.dataset.state == "login"' \
	eval out '({stored: sessionStorage.getItem("berth.token"), form: !document.getElementById("login").hidden,
		message: document.getElementById("login-msg").innerText})' 2>"$T/browse.err"; then
	pass "Chromium logged in with the form and out"
else
	fail "the login form: $(cat "$T/browse.err")"
fi
jq_true '. == {form: true, dash: false}' "$T/login.json" && pass "no token: the login form only" || fail "no token: $(cat "$T/login.json")"
jq_true '.stored == $t and .hosts == 3' "$T/typed.json" --arg t "$TOKEN" && pass "the token typed in logs in" ||
	fail "logged in: $(cat "$T/typed.json")"
jq_true '.stored == null and .form and .message == "Logged out."' "$T/out.json" && pass "logging out forgets the token" ||
	fail "logged out: $(cat "$T/out.json")"

# ACME's token: its host lab-2 and its instance c3, nothing of the
# platform's or Bolt's anywhere on the page, no runs or ledger.
if view acme "$ADMIN/#token=$ACME" 2>"$T/browse.err"; then
	pass "Chromium shows ACME's view"
else
	fail "ACME's view: $(cat "$T/browse.err")"
fi
dom acme hosts 'map(.name) == ["lab-2"]'
dom acme instances 'map(.name) == ["c3"]'
dom acme page '.sections.runs == false and .sections.ledger == false'
dom acme text '. as $t | ["lab-1", "bolt-1", "c1", "c2", "bolt"] | map(. as $n | $t | test("\\b" + $n + "\\b"; "i")) | any | not'
# Revoked while the page is open elsewhere: the login form again, with
# the server's reason.
"$BERTH" token revoke "t-$(echo "$ACME" | cut -d_ -f2)" >/dev/null
mkdir -p "$T/revoked"
if node "$BROWSE" --out "$T/revoked" size 1280 900 open "$ADMIN/#token=$ACME" \
	wait 30 'document.body.dataset.state == "login"' \
	eval msg 'document.getElementById("login-msg").innerText' 2>"$T/browse.err"; then
	pass "a revoked token brings back the login form"
else
	fail "revoked: $(cat "$T/browse.err")"
fi
dom revoked msg 'test("revoked")'
finish
