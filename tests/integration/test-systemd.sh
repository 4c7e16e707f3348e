#!/usr/bin/env bash
# The systemd units as meson installs them: systemd-analyze verify finds
# nothing wrong, systemd-analyze security rates each unit's sandbox (the
# exposure README states), and the agent and berth serve speak the
# sd_notify protocol of a Type=notify service to a real datagram socket:
# READY=1 once they run, WATCHDOG=1 within the watchdog interval,
# RELOADING=1 and READY=1 around serve's reload, STOPPING=1 on SIGTERM.
. "$SOURCE_ROOT/tests/integration/lib.sh"

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
U=$BUILD_ROOT/contrib/systemd
mkdir -p "$T/units"
# The units point at the installed berth: here at the one under test.
for f in "$U"/berth-*; do
	bindir=$(sed -n 's|^ExecStart=\(/[^ ]*\)/berth .*|\1|p' "$f" | head -n 1)
	sed "s|^ExecStart=$bindir/berth |ExecStart=$BERTH |" "$f" > "$T/units/${f##*/}"
done
for u in berth-reconcile.service berth-reconcile.timer berth-serve.service berth-agent.service; do
	[ -s "$T/units/$u" ] && pass "$u is built" || fail "$u is missing from $U"
done
(cd "$T/units" && systemd-analyze verify --man=no ./berth-*.service ./berth-reconcile.timer) >"$T/out" 2>&1 &&
	[ ! -s "$T/out" ] && pass "systemd-analyze verify: no complaint" ||
	{ fail "systemd-analyze verify:"; sed 's/^/    | /' "$T/out"; }
grep -q '^Persistent=true' "$T/units/berth-reconcile.timer" && grep -q '^RandomizedDelaySec=' "$T/units/berth-reconcile.timer" &&
	grep -q '^AccuracySec=' "$T/units/berth-reconcile.timer" && pass "the timer catches up, spreads and is accurate enough" ||
	fail "the timer lacks Persistent, RandomizedDelaySec or AccuracySec"
for u in berth-reconcile berth-serve berth-agent; do
	(cd "$T/units" && systemd-analyze security --offline=true --no-pager "./$u.service") >"$T/sec" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec")
	[ -n "$score" ] && [ "$(echo "$score <= 2.0" | bc)" = 1 ] &&
		pass "$u.service exposure $score (at most 2.0)" || { fail "$u.service exposure '$score'"; tail -n 5 "$T/sec"; }
	grep -q '^User=berth' "$T/units/$u.service" && pass "$u.service runs as its own user" ||
		fail "$u.service runs as root"
done

# sd_notify: a datagram socket as systemd listens on, the agent as
# berth-agent.service runs it (no server or Incus is needed to start).
cat > "$T/notify.py" <<'X'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(4096).decode()
        f.write(d.replace("\n", " ") + "\n")
        f.flush()
        if "STOPPING=1" in d:
            break
X
python3 "$T/notify.py" "$T/notify" "$T/got" & listener=$!
test_cleanup() { kill "$listener" "${agent:-}" 2>/dev/null || true; }
wait_for 30 "the notify socket is bound" test -e "$T/notify.ready"
"$BERTH" agent keygen --out "$T/agent.key" >/dev/null 2>&1
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=2000000 "$BERTH" agent run --host h1 --key "$T/agent.key" \
	--server http://127.0.0.1:9 --incus "unix://$T/no-incus" --spool "$T/spool" --interval 1h \
	>"$T/agent.out" 2>&1 & agent=$!
got() { grep -q "$1" "$T/got" 2>/dev/null; }
wait_for 30 "READY=1" got '^READY=1 STATUS=reporting to http://127.0.0.1:9 every 3600 s' &&
	pass "the agent says it is ready, and what it does"
wait_for 30 "WATCHDOG=1" got '^WATCHDOG=1' && pass "the agent pings the watchdog between rounds"
n=$(grep -c '^WATCHDOG=1' "$T/got")
wait_for 30 "another WATCHDOG=1" eval '[ "$(grep -c "^WATCHDOG=1" "$T/got")" -gt "$n" ]' &&
	pass "and again within the interval"
kill -TERM "$agent"
rc=0; wait "$agent" || rc=$?
[ "$rc" = 0 ] && pass "SIGTERM stops the agent cleanly" || fail "the agent exited $rc"
wait_for 30 "STOPPING=1" got '^STOPPING=1' && pass "it says it is stopping"
wait "$listener" 2>/dev/null || true

# berth serve as berth-serve.service runs it: ready once it listens, the
# watchdog while its intake's writer turns, a reload, and stopping.
R=$T/fleet
new_repo "$R"
cat > "$R/fleet.yaml" <<X
apiVersion: berth/v1
kind: Host
metadata: {name: h1}
spec: {endpoint: "https://192.0.2.1:8443", fingerprint: "$(printf 'ab%.0s' {1..32})", os: debian-12, capacity: {cpu: 2, memory: 4GiB, disk: 20GiB}}
X
commit "$R" fleet
rm -f "$T/notify" "$T/notify.ready" "$T/got"
python3 "$T/notify.py" "$T/notify" "$T/got" & listener=$!
wait_for 30 "the notify socket is bound" test -e "$T/notify.ready"
PORT=$((20000 + RANDOM % 20000))
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=2000000 "$BERTH" --repo "$R" serve --listen "127.0.0.1:$PORT" \
	--admin-listen "127.0.0.1:$((PORT + 1))" >"$T/serve.out" 2>&1 & serve=$!
test_cleanup() { kill "$listener" "${agent:-}" "${serve:-}" 2>/dev/null || true; }
wait_for 30 "serve's READY=1" got '^READY=1 STATUS=reports on port [0-9]*, the admin API on its own port' &&
	pass "berth serve says it is ready once it listens"
n=$(grep -c '^WATCHDOG=1' "$T/got" || true)
wait_for 30 "serve's WATCHDOG=1" eval '[ "$(grep -c "^WATCHDOG=1" "$T/got")" -gt "$n" ]' &&
	pass "and pings the watchdog while its intake's writer turns"
kill -HUP "$serve"
wait_for 30 "RELOADING=1" got '^RELOADING=1' && pass "a reload says so"
wait_for 30 "READY=1 after the reload" eval '[ "$(grep -c "^READY=1" "$T/got")" -ge 2 ]' &&
	pass "and that it is ready again"
kill -TERM "$serve"
rc=0; wait "$serve" || rc=$?
[ "$rc" = 0 ] && pass "SIGTERM stops berth serve cleanly" || { fail "berth serve exited $rc"; cat "$T/serve.out"; }
wait_for 30 "serve's STOPPING=1" got '^STOPPING=1' && pass "it says it is stopping"
wait "$listener" 2>/dev/null || true

finish
