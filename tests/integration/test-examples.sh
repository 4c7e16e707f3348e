#!/usr/bin/env bash
# Both example fleets validate clean (no errors, no warnings) from git.
. "$(dirname "$0")/lib.sh"

R=$T/repo
new_repo "$R"
cp -r "$SOURCE_ROOT/examples" "$R/"
commit "$R" examples
for ex in fleet lab; do
	expect "examples/$ex validates" 0 "$BERTH" --repo "$R" --path "examples/$ex" validate --strict
	has "examples/$ex has no warnings" "$T/err" "valid at commit"
	expect "examples/$ex json" 0 "$BERTH" --repo "$R" --path "examples/$ex" validate --format json
	if jq_true '.valid and .errors == 0 and .warnings == 0 and (.diagnostics | length) == 0' "$T/out"; then
		pass "examples/$ex json is clean"
	else
		fail "examples/$ex json is clean"
	fi
done
expect "render examples/fleet" 0 "$BERTH" --repo "$R" --path examples/fleet render
n=$(wc -l < "$T/out")
if [ "$n" = 24 ]; then pass "render prints 24 documents"; else fail "render prints 24 documents (have $n)"; fi
if jq_true 'map(select(.document.kind == "Plan" and .document.metadata.name == "vps-s"))[0].document.spec.price.amount == "4.50"' "$T/out" -s; then
	pass "render keeps money as a string"
else
	fail "render keeps money as a string"
fi
finish
