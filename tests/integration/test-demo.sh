#!/usr/bin/env bash
# The README's first command, end to end: contrib/demo.sh starts the lab,
# binds examples/lab to it, validates from a commit, and stops the lab.
# It runs $BERTH (under valgrindcli, lib.sh's wrapper) and builds nothing.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -x /usr/libexec/incus/incusd ]; then
	echo "needs root and incusd"; exit 77
fi
chmod 0711 "$T"
rc=0
BERTH_SKIP_DEPS=1 BERTH="$BERTH" BERTH_DEMO_DIR="$T/demo" \
	bash "$SOURCE_ROOT/contrib/demo.sh" >"$T/demo.log" 2>&1 || rc=$?
if [ $rc = 0 ]; then pass "demo exits 0"; else fail "demo exits 0 (exit $rc)"; tail -30 "$T/demo.log"; fi
has "demo validates the lab fleet from a commit" "$T/demo.log" "13 documents in 6 files valid at commit"
has "demo shows a precise error" "$T/demo.log" 'plans.yaml:12:19: spec.price.amount: want at most 2 decimals for EUR, have "2.005"'
has "demo plans every server over https" "$T/demo.log" "Plan: 16 to create, 0 to update, 0 to delete, 0 blocked, 0 errors."
has "demo applies every change" "$T/demo.log" "Apply: 16 done, 0 failed, 0 stale, 0 not attempted."
has "demo places by capacity" "$T/demo.log" "2 of 2 hosts can take ct-small"
has "demo places the instances one per host" "$T/demo.log" "placed on lab-2 by spread"
has "demo re-plans to no changes" "$T/demo.log" "berth plan --detailed-exitcode: exit 0 (0: no changes)"
has "demo verifies the ledger" "$T/demo.log" "entries verify; head"
has "demo stops the lab" "$T/demo.log" "is down"
if grep -rqE '"(0{64}|1{64}|2{64})"' "$T/demo/fleet"/*.yaml; then
	fail "every lab fingerprint was bound"
else
	pass "every lab fingerprint was bound"
fi
[ ! -e "$T/demo/lab" ] && pass "the demo's lab directory is gone" || fail "the demo's lab directory is gone"
if pgrep -f "$T/demo/lab" >/dev/null; then fail "no daemon of the demo left running"; else pass "no daemon of the demo left running"; fi
finish
