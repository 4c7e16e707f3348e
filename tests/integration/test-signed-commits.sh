#!/usr/bin/env bash
# --verify-signatures: commits signed with SSH keys by git, checked against
# an allowed signers file; every way a commit is refused, each with its own
# error; the signer printed and recorded in the ledger's run.start.
. "$(dirname "$0")/lib.sh"

K=$T/keys
mkdir -p "$K"
for k in alice mallory; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$K/$k"; done
ssh-keygen -q -t ecdsa -b 256 -N '' -C carol -f "$K/carol"
ssh-keygen -q -t rsa -b 2048 -N '' -C dave -f "$K/dave"
fp() { ssh-keygen -lf "$1.pub" | cut -d' ' -f2; }
A=$T/allowed_signers
{
	echo "# who may sign the fleet"
	echo "alice@example.org namespaces=\"git\" $(cat "$K/alice.pub")"
	echo "carol@example.org $(cat "$K/carol.pub")"
	echo "dave@example.org valid-before=\"20000101Z\" $(cat "$K/dave.pub")"
} > "$A"
# sign KEY MSG: commit everything in $R signed with KEY.
sign() {
	git_ -C "$R" add -A
	git_ -C "$R" -c gpg.format=ssh -c user.signingkey="$1" commit -q -S --allow-empty -m "$2"
	git -C "$R" rev-parse HEAD
}
v() { "$BERTH" --repo "$R" --path fleet "$@" validate; }

R=$T/repo
new_repo "$R"
mkdir -p "$R/fleet"
cp -r "$SOURCE_ROOT/examples/fleet/." "$R/fleet/"
good=$(sign "$K/alice" "fleet, signed by alice")

expect "signed by an allowed key" 0 v --verify-signatures "$A" --ref "$good"
has "validate names the signer" "$T/err" "commit $good signed by alice@example.org ($(fp "$K/alice"))"
has "and the commit is valid" "$T/err" "valid at commit $good"
expect "json has the signer" 0 v --verify-signatures "$A" --ref "$good" --format json
if jq_true ".signer == {\"principal\": \"alice@example.org\", \"key\": \"$(fp "$K/alice")\"}" "$T/out"
then pass "json signer"; else fail "json signer"; cat "$T/out"; fi
expect "BERTH_ALLOWED_SIGNERS" 0 env BERTH_ALLOWED_SIGNERS="$A" \
	"$BERTH" --repo "$R" --path fleet --ref "$good" validate
has "the env var checks too" "$T/err" "signed by alice@example.org"
expect "without the option nothing is checked" 0 v --ref "$good"
if grep -q "signed by" "$T/err"; then fail "no signer without the option"; else pass "no signer without the option"; fi
ecdsa=$(sign "$K/carol" "signed by carol, ecdsa")
expect "ecdsa-sha2-nistp256" 0 v --verify-signatures "$A" --ref "$ecdsa"
has "ecdsa signer" "$T/err" "signed by carol@example.org ($(fp "$K/carol"))"

unsigned=$(git_ -C "$R" commit -q --allow-empty -m unsigned && git -C "$R" rev-parse HEAD)
expect "unsigned refused" 1 v --verify-signatures "$A" --ref "$unsigned"
has "unsigned error" "$T/err" "commit $unsigned is not signed"
expect "unsigned refused by the env var too" 1 env BERTH_ALLOWED_SIGNERS="$A" \
	"$BERTH" --repo "$R" --path fleet --ref "$unsigned" validate
has "unsigned error (env)" "$T/err" "commit $unsigned is not signed"

other=$(sign "$K/mallory" "signed by mallory")
expect "key not allowed refused" 1 v --verify-signatures "$A" --ref "$other"
has "names the key by fingerprint" "$T/err" \
	"commit $other is signed by key $(fp "$K/mallory") (ssh-ed25519), which is not in the allowed signers file"

expired=$(sign "$K/dave" "signed by dave, whose key expired in 2000")
expect "expired signer refused" 1 v --verify-signatures "$A" --ref "$expired"
has "expired error" "$T/err" "commit $expired is signed by dave@example.org ($(fp "$K/dave")), not allowed: $A:4 allows it until 2000-01-01T00:00:00Z (valid-before)"

git -C "$R" cat-file commit "$good" | sed 's/^fleet, signed by alice$/fleet, signed by alice (not)/' > "$T/tampered"
tampered=$(git -C "$R" hash-object -t commit -w "$T/tampered")
if [ "$tampered" != "$good" ] && grep -q "^gpgsig " "$T/tampered"; then pass "tampered commit made"; else fail "tampered commit made"; fi
expect "tampered commit refused" 1 v --verify-signatures "$A" --ref "$tampered"
has "bad signature error" "$T/err" "commit $tampered: bad signature by alice@example.org ($(fp "$K/alice"))"

# A signature made for another namespace, put into a commit by hand.
git -C "$R" cat-file commit "$unsigned" > "$T/body"
ssh-keygen -q -Y sign -n file -f "$K/alice" "$T/body" 2>/dev/null
{
	sed '/^$/,$d' "$T/body"
	printf 'gpgsig %s\n' "$(head -1 "$T/body.sig")"
	tail -n +2 "$T/body.sig" | sed 's/^/ /'
	sed '1,/^$/d' "$T/body" | sed '1i\\'
} > "$T/ns"
nsc=$(git -C "$R" hash-object -t commit -w "$T/ns")
expect "namespace other than git refused" 1 v --verify-signatures "$A" --ref "$nsc"
has "namespace error" "$T/err" "commit $nsc: signature namespace: want \"git\", have \"file\""

if command -v gpg >/dev/null; then
	export GNUPGHOME=$T/gnupg
	mkdir -m 0700 "$GNUPGHOME"
	gpg --batch --quiet --passphrase '' --quick-gen-key "test <test@berth.invalid>" ed25519 sign never 2>/dev/null
	git_ -C "$R" -c gpg.format=openpgp -c user.signingkey=test@berth.invalid commit -q -S --allow-empty -m "gpg"
	pgp=$(git -C "$R" rev-parse HEAD)
	gpgconf --kill gpg-agent 2>/dev/null || true
	expect "OpenPGP signature refused" 1 v --verify-signatures "$A" --ref "$pgp"
	has "OpenPGP error" "$T/err" "commit $pgp has an OpenPGP (gpg) signature, which berth cannot verify"
else
	fail "gpg is needed (contrib/deps.sh installs gnupg)"
fi

expect "worktree refused" 1 v --verify-signatures "$A" --worktree
has "worktree error" "$T/err" "the work tree is not a commit"
expect "missing allowed signers file" 1 v --verify-signatures "$T/nope" --ref "$good"
has "missing file error" "$T/err" "cannot read \"$T/nope\""
{ cat "$A"; echo "bob@example.org ssh-ed25519"; } > "$T/bad_signers"
expect "malformed allowed signers file" 1 v --verify-signatures "$T/bad_signers" --ref "$good"
has "malformed file names file:line" "$T/err" "$T/bad_signers:5: want the base64 of the ssh-ed25519 key, have the end of the line"

# The signer in the ledger: plan and apply of a signed commit with no
# servers in it need no lab.
E=$T/empty
R=$E
new_repo "$E"
mkdir -p "$E/fleet"
echo "# no servers yet" > "$E/fleet/README"
esig=$(sign "$K/alice" "an empty fleet")
expect "plan of a signed commit" 0 "$BERTH" --repo "$E" --path fleet --verify-signatures "$A" plan
has "plan names the signer" "$T/err" "commit $esig signed by alice@example.org ($(fp "$K/alice"))"
expect "apply of a signed commit" 0 "$BERTH" --repo "$E" --path fleet --verify-signatures "$A" apply --auto-approve
expect "ledger list" 0 "$BERTH" ledger list
has "ledger list shows the signer" "$T/out" "run.start      apply signed by alice@example.org"
seq=$(awk '$3 == "run.start" { print $1; exit }' "$T/out")
expect "ledger show" 0 "$BERTH" ledger show "$seq" --format json
if jq_true ".entry.after.signer == {\"principal\": \"alice@example.org\", \"key\": \"$(fp "$K/alice")\"} and .entry.git_commit == \"$esig\"" "$T/out"
then pass "run.start records the signer"; else fail "run.start records the signer"; cat "$T/out"; fi
expect "ledger verifies" 0 "$BERTH" ledger verify
git_ -C "$E" commit -q --allow-empty -m unsigned
expect "apply of an unsigned commit refused" 1 "$BERTH" --repo "$E" --path fleet --verify-signatures "$A" apply --auto-approve
has "apply says why" "$T/err" "is not signed"
finish
