#!/usr/bin/env bash
# The man pages as the build writes them: groff and man render both
# without a warning; berth(1) has every command and option that `berth
# --help` and `berth COMMAND --help` name; berth-manifests(5) has every
# kind and field of the JSON Schemas; and README's example manifests use
# only fields of the schemas and show every field under spec of every kind
# (a field renamed on one side fails).
. "$SOURCE_ROOT/tests/integration/lib.sh"

M=$BUILD_ROOT/man
GEN=$SOURCE_ROOT/man/manifests.py
for page in berth.1 berth-manifests.5; do
	if [ ! -s "$M/$page" ]; then fail "$page is built"; continue; fi
	groff -man -Tutf8 -ww -z "$M/$page" >"$T/groff" 2>&1 && [ ! -s "$T/groff" ] &&
		pass "$page: groff -man -ww has no warning" ||
		{ fail "$page: groff -man -ww:"; sed 's/^/    | /;20q' "$T/groff"; }
	MANWIDTH=80 man --warnings -l "$M/$page" >"$T/$page.txt" 2>"$T/man.err" &&
		[ ! -s "$T/man.err" ] && [ "$(wc -l < "$T/$page.txt")" -gt 50 ] &&
		pass "$page: man -l renders it" ||
		{ fail "$page: man -l:"; sed 's/^/    | /;20q' "$T/man.err"; }
done
"$BERTH" help --man >"$T/berth.1"
cmp -s "$T/berth.1" "$M/berth.1" && pass "berth.1 is what berth help --man prints" ||
	fail "berth.1 differs from berth help --man"

# berth(1): every command, every option of its help and of the global help.
# The roff's \- are the help's hyphens.
sed 's/\\-/-/g; s/\\f[BIR]//g' "$M/berth.1" >"$T/man1"
"$BERTH" --help >"$T/help"
cmds=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\)  .*/\1/p' "$T/help")
[ "$(echo "$cmds" | wc -w)" -ge 15 ] && pass "berth --help lists $(echo "$cmds" | wc -w) commands" ||
	fail "berth --help lists the commands: have \"$cmds\""
missing=
for c in $cmds; do
	grep -qx ".SS \"berth $c\"" "$T/man1" || missing="$missing $c"
	"$BERTH" help "$c" >"$T/chelp"
	for o in $(grep -o -- '--[a-z][a-z-]*' "$T/chelp" | sort -u); do
		grep -qF -- "$o" "$T/man1" || missing="$missing $c:$o"
	done
	summary=$(sed -n 3p "$T/chelp" | tr -d "\`")
	grep -qxF -- "$summary" "$T/man1" || missing="$missing $c:summary"
done
for o in $(sed -n '/^global options/,$p' "$T/help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$o" "$T/man1" || missing="$missing global:$o"
done
[ -z "$missing" ] && pass "berth.1 has every command, its summary and every option" ||
	fail "berth.1 lacks:$missing"
grep -q '__complete' "$T/man1" && fail "berth.1 shows the hidden __complete" ||
	pass "berth.1 leaves the hidden command out"
for v in BERTH_STATE BERTH_GIT_TOKEN NO_COLOR; do
	sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$T/man1" | grep -qx ".B $v" &&
		pass "ENVIRONMENT has $v" || fail "ENVIRONMENT lacks $v"
done

# berth-manifests(5): every kind, and every field under the kind's own
# section (the envelope's fields under ENVELOPE).
python3 "$GEN" fields "$SOURCE_ROOT/schemas" >"$T/fields"
[ "$(wc -l < "$T/fields")" -gt 100 ] && pass "the schemas have $(wc -l < "$T/fields") fields" ||
	fail "manifests.py fields: too few fields"
sed 's/\\-/-/g' "$M/berth-manifests.5" >"$T/man5"
missing=
for kind in $(cut -d' ' -f1 "$T/fields" | uniq); do
	awk -v k=".SS $kind" '$0 == k { on = 1; next } /^\.S[SH] / { on = 0 } on' "$T/man5" >"$T/kind"
	[ -s "$T/kind" ] || { missing="$missing $kind"; continue; }
	while read -r k path; do
		[ "$k" = "$kind" ] || continue
		case $path in
		apiVersion|kind|metadata*) sect=$(sed -n '/^\.SH ENVELOPE/,/^\.SH KINDS/p' "$T/man5") ;;
		*) sect=$(cat "$T/kind") ;;
		esac
		grep -qxF ".B $path" <<<"$sect" || missing="$missing $kind:$path"
	done <"$T/fields"
done
[ -z "$missing" ] && pass "berth-manifests.5 has every kind and field" ||
	fail "berth-manifests.5 lacks:$missing"
for t in size duration percent money; do
	sed -n '/^\.SH VALUE TYPES/,/^\.SH /p' "$T/man5" | grep -qx ".B $t" &&
		pass "VALUE TYPES has $t" || fail "VALUE TYPES lacks $t"
done

# README's example manifests (the yaml blocks of its Manifests section)
# against the schemas, through berth render.
readme_examples() {
	rm -rf "$T/readme" && mkdir -p "$T/readme"
	awk -v d="$T/readme" '/^## Manifests/ { m = 1 } /^## Commands/ { m = 0 }
		m && /^```yaml/ { n++; f = sprintf("%s/%02d.yaml", d, n); c = 1; next }
		c && /^```/ { c = 0; next } c { print > f }' "$1"
	"$BERTH" render --worktree --repo "$T/readme" >"$T/readme.jsonl"
}
readme_examples "$SOURCE_ROOT/README.md"
[ "$(wc -l < "$T/readme.jsonl")" -ge 8 ] && pass "README has $(wc -l < "$T/readme.jsonl") example documents" ||
	fail "README's examples: $(wc -l < "$T/readme.jsonl") documents"
python3 "$GEN" check "$SOURCE_ROOT/schemas" "$T/readme.jsonl" 2>"$T/check" &&
	pass "README's examples and the schemas agree" ||
	{ fail "README's examples and the schemas disagree:"; sed 's/^/    | /' "$T/check"; }
# The check bites: a field renamed in README, a field README lacks.
sed 's/^  revenue_share:/  revenue_split:/' "$SOURCE_ROOT/README.md" >"$T/README.md"
readme_examples "$T/README.md"
if python3 "$GEN" check "$SOURCE_ROOT/schemas" "$T/readme.jsonl" 2>"$T/check"; then
	fail "a renamed field in README passes the check"
else
	has "the check names the unknown field" "$T/check" "Provider has no field spec.revenue_split"
	has "and the field no example shows" "$T/check" "Provider: spec.revenue_share is in the schema but in no example"
fi
finish
