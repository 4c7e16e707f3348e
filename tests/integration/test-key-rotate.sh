#!/usr/bin/env bash
# berth key rotate on real Incus: two standalone hosts and a cluster. With
# a host down the rotation stops before anything is switched (the new key
# stays staged); once all answer, every server trusts the new certificate
# and no longer the old one, berth works on with the new key without a
# visit to any host, and the ledger records the rotation. Checkpoints: one
# the old key signed before the rotation still verifies; one the old key
# signs of a later entry (someone kept the old key) is refused. With
# --skip-unreachable a host that is down is left behind and named. An
# interrupted switch is finished by the next run.
. "$(dirname "$0")/lib.sh"

needs_lab
lab_up --hosts 2 --cluster 2
S=$BERTH_STATE
R=$T/fleet
new_repo "$R"
c='capacity: {cpu: 2, memory: 2GiB, disk: 10GiB}'
{ lab_host lab-1 "$c"; lab_host lab-2 "$c"; lab_cluster "$c"; } > "$R/fleet.yaml"
commit "$R" fleet
export BERTH_REPO=$R
b() { "$BERTH" --repo "$R" "$@"; }

# trusted HOST: the fingerprints HOST's Incus trusts, one a line, in $T/trusted.
trusted() {
	curl -sf --unix-socket "$(var "$1" SOCKET)" http://lab/1.0/certificates |
		jq -r '.metadata[] | sub(".*/"; "")' > "$T/trusted"
}
# trusts HOST FP / trusts_not HOST FP
trusts() { trusted "$1"; grep -qx "$2" "$T/trusted"; }
trusts_not() { trusted "$1"; ! grep -qx "$2" "$T/trusted"; }
fp() { b key show | cut -d' ' -f1; }

expect "key show makes berth's identity" 0 b key show
OLD=$(fp)
"$LAB" trust --cert "$S/client.crt" --dir "$T/lab" >/dev/null
expect "plan with the first key" 0 b plan
expect "reconcile records a run" 0 b reconcile
expect "checkpoint with the old key" 0 b ledger checkpoint --out "$T/old.json"
mkdir "$T/oldkey"
cp -p "$S/client.key" "$S/client.crt" "$T/oldkey/"

# lab-2 is down: nothing switches.
kill "$LAB_LAB_2_PID"
wait_for 60 "lab-2 stops" gone "$LAB_LAB_2_PID"
expect "rotate with a host down fails" 1 b key rotate
has "the host down is named" "$T/err" 'host "lab-2" does not trust the new certificate'
has "nothing was switched" "$T/err" "berth's key not rotated"
[ "$(fp)" = "$OLD" ] && pass "the old key is still berth's" || fail "the key changed"
[ -e "$S/client.key.next" ] && pass "the new key stays staged" || fail "no staged key"
NEXT=$(openssl x509 -in "$S/client.crt.next" -outform DER | sha256sum | cut -d' ' -f1)
entries_after 0 --kind key.rotate
[ ! -s "$T/entries" ] && pass "no key.rotate entry" || fail "a key.rotate entry was written"
trusts lab-1 "$NEXT" && pass "lab-1 already trusts the staged certificate" ||
	fail "lab-1 does not trust the staged certificate"

# All up: the rotation goes on with the staged key.
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" >"$T/lab.log" 2>&1 || { cat "$T/lab.log"; exit 1; }
. "$T/lab/lab.env"
head_before=$(ledger_head)
expect "rotate" 0 b key rotate
NEW=$(fp)
[ "$NEW" = "$NEXT" ] && pass "the staged key became berth's" || fail "berth's key is $NEW, staged was $NEXT"
[ "$NEW" != "$OLD" ] && pass "the key changed" || fail "the key did not change"
[ ! -e "$S/client.key.next" ] && [ ! -e "$S/client.crt.next" ] && pass "nothing left staged" ||
	fail "staged files left"
for h in lab-1 lab-2 lab-c1 lab-c2; do
	trusts "$h" "$NEW" && pass "$h trusts the new certificate" || fail "$h does not trust the new certificate"
	trusts_not "$h" "$OLD" && pass "$h no longer trusts the old certificate" ||
		fail "$h still trusts the old certificate"
done
entries_after "$head_before" --kind key.rotate
has_entry "the rotation is in the ledger" \
	".object == \"berth/key\" and .before.fingerprint == \"$OLD\" and .after.fingerprint == \"$NEW\""
has_entry "the ledger says who trusts the new key" '(.after.trusted_by | sort) == ["lab-1", "lab-2", "lab-cluster"]'
expect "plan with the new key, no host visited" 0 b plan
expect "reconcile with the new key" 0 b reconcile
expect "the checkpoint of the rotation verifies" 0 b ledger verify --checkpoint "$S/checkpoints/latest.json"
expect "a checkpoint the old key signed before the rotation verifies" 0 \
	b ledger verify --checkpoint "$T/old.json"
has "it extends it" "$T/out" "the ledger extends checkpoint $T/old.json"

# Whoever kept the old key signs a checkpoint of a later entry: refused.
mkdir "$T/thief"
cp "$T/oldkey/client.key" "$T/oldkey/client.crt" "$T/thief/"
sqlite3 "$S/berth.db" ".backup '$T/thief/berth.db'"
expect "the old key signs today's head elsewhere" 0 \
	env BERTH_STATE="$T/thief" "$BERTH" ledger checkpoint --out "$T/forged.json"
expect "a checkpoint of the old key after the rotation is refused" 1 \
	b ledger verify --checkpoint "$T/forged.json"
has "it names the retiring entry" "$T/err" "which entry"
has "it says why" "$T/err" "whoever holds the old key could have made it"

# --skip-unreachable: lab-2 down is left behind.
kill "$LAB_LAB_2_PID"
wait_for 60 "lab-2 stops" gone "$LAB_LAB_2_PID"
expect "rotate --skip-unreachable with a host down" 1 b key rotate --skip-unreachable
has "it names what to do on the host" "$T/err" "berth host trust-command NAME"
THIRD=$(fp)
[ "$THIRD" != "$NEW" ] && pass "the key rotated anyway" || fail "the key did not rotate"
entries_after 0 --kind key.rotate
has_entry "the ledger names the host left behind" \
	".after.fingerprint == \"$THIRD\" and .after.not_reached == [\"lab-2\"]"
trusts lab-1 "$THIRD" && trusts_not lab-1 "$NEW" && pass "lab-1 switched" || fail "lab-1 did not switch"

# An interrupted switch (the new key moved in, its certificate not yet):
# the next run finishes it.
"$LAB" up --hosts 2 --cluster 2 --dir "$T/lab" >"$T/lab.log" 2>&1 || { cat "$T/lab.log"; exit 1; }
. "$T/lab/lab.env"
kill "$LAB_LAB_1_PID"
wait_for 60 "lab-1 stops" gone "$LAB_LAB_1_PID"
expect "rotate with lab-1 down stages a key" 1 b key rotate
STAGED=$(openssl x509 -in "$S/client.crt.next" -outform DER | sha256sum | cut -d' ' -f1)
mv "$S/client.key.next" "$S/client.key"
expect "key show after half a switch" 0 b key show
has "the switch is finished" "$T/out" "$STAGED"
[ ! -e "$S/client.crt.next" ] && pass "the staged certificate moved in" || fail "client.crt.next left"

expect "the ledger verifies" 0 b ledger verify
finish
