#!/usr/bin/env bash
# test-ajv.sh - the schemas are valid JSON Schema, and ajv and berth agree.
#
# 1. Every schema in schemas/ compiles with ajv in strict draft 2020-12 mode.
# 2. Every document of tests/data/schema/{good,bad}/*.json (fed to berth as
#    YAML: JSON is YAML), of examples/*/ and of tests/data/bad/*/ is
#    converted to JSON by `berth render`, validated by ajv against
#    manifest.json, and compared with berth's own verdict from
#    `berth validate --schema-only`. Any disagreement fails the test.
#    The fixtures of the YAML reader, tests/data/bad/yaml-*/, are YAML that
#    berth refuses before there is a document to give ajv: for them berth
#    must refuse both render and validate; any other file berth cannot
#    render fails the test.
#
# Environment (set by meson): BERTH, SOURCE_ROOT, BUILD_ROOT. ajv-cli is
# installed by the project's test script into $BUILD_ROOT/ajv; without it
# this test fails.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?BUILD_ROOT must be set}"

AJV="$BUILD_ROOT/ajv/node_modules/.bin/ajv"
SCHEMAS="$SOURCE_ROOT/schemas"

if [ ! -x "$AJV" ]; then
	echo "ajv not found at $AJV" >&2
	echo "install it: npm install --prefix \"\$BUILD_ROOT/ajv\" ajv-cli@5 ajv-formats" >&2
	exit 1
fi
if ! command -v node >/dev/null; then
	echo "node not found (ajv needs it)" >&2
	exit 1
fi

WORK=$T
mkdir -p "$WORK/docs" "$WORK/repos"
failed=0

# ---- 1. the schemas compile in strict mode ----------------------------

# -r for every schema but the one compiled
refs_except() {
	local f
	for f in "$SCHEMAS"/*.json; do
		[ "$f" = "$1" ] || printf '%s\n' -r "$f"
	done
}

nschemas=0
for schema in "$SCHEMAS"/*.json; do
	mapfile -t refs < <(refs_except "$schema")
	if ! "$AJV" compile --spec=draft2020 --strict=true -s "$schema" \
			"${refs[@]}" >"$WORK/compile.out" 2>&1; then
		echo "FAIL: ajv does not compile $(basename "$schema"):" >&2
		cat "$WORK/compile.out" >&2
		failed=1
	fi
	nschemas=$((nschemas + 1))
done
if [ "$nschemas" -ne 10 ]; then
	echo "FAIL: want 10 schemas in schemas/, have $nschemas" >&2
	failed=1
fi

# ---- 2. berth's verdict for every document -----------------------------

# Splits render output (JSON Lines) into one file per document under docs/
# and appends "docfile<TAB>verdict<TAB>label<TAB>messages" to index.tsv:
# a document is rejected by berth when an error diagnostic of its file has
# a line from the document's first line up to the next document's.
cat >"$WORK/split.js" <<'EOF'
const fs = require('fs');
const [render, validate, docsDir, label, counterFile] = process.argv.slice(2);
const docs = fs.readFileSync(render, 'utf8').split('\n').filter(Boolean)
	.map((l) => JSON.parse(l));
const verdict = JSON.parse(fs.readFileSync(validate, 'utf8'));
let n = parseInt(fs.readFileSync(counterFile, 'utf8'), 10);
const out = [];
docs.forEach((d) => {
	const next = docs.filter((e) => e.file === d.file && e.line > d.line)
		.map((e) => e.line);
	const end = next.length ? Math.min(...next) : Infinity;
	const diags = (verdict.diagnostics || []).filter((g) =>
		g.severity === 'error' && g.file === d.file &&
		(g.line === 0 || (g.line >= d.line && g.line < end)));
	const file = `${docsDir}/${String(n).padStart(6, '0')}.json`;
	n++;
	fs.writeFileSync(file, JSON.stringify(d.document));
	const msgs = diags.map((g) => `${g.line}:${g.column}: ${g.path}: ${g.message}`)
		.join(' | ').replace(/[\t\n]/g, ' ');
	out.push([file, diags.length ? 'invalid' : 'valid',
		`${label}:${d.file}:${d.line} (document ${d.index})`, msgs].join('\t'));
});
fs.writeFileSync(counterFile, String(n));
if (out.length)
	fs.appendFileSync(`${docsDir}/../index.tsv`, out.join('\n') + '\n');
EOF
echo 0 >"$WORK/counter"
: >"$WORK/index.tsv"
refused=0
nfiles=0

# check_file LABEL ROOT REL: render and validate ROOT/REL on its own.
check_file() {
	local label=$1 root=$2 rel=$3 repo rc
	repo="$WORK/repos/$nfiles"
	nfiles=$((nfiles + 1))
	mkdir -p "$repo/$(dirname "$rel")"
	cp "$root/$rel" "$repo/$rel"
	rc=0
	"$BERTH" --repo "$repo" --worktree validate --schema-only --format json \
		>"$WORK/validate.json" 2>"$WORK/validate.err" || rc=$?
	if ! "$BERTH" --repo "$repo" --worktree render >"$WORK/render.jsonl" \
			2>"$WORK/render.err"; then
		case $label in
		tests/data/bad/yaml-*)
			# YAML berth refuses before any document: nothing for ajv
			refused=$((refused + 1))
			if [ "$rc" -ne 1 ]; then
				echo "FAIL: $label/$rel: render refuses it but validate exits $rc" >&2
				failed=1
			fi
			;;
		*)
			echo "FAIL: $label/$rel: berth render fails:" >&2
			cat "$WORK/render.err" >&2
			failed=1
			;;
		esac
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		echo "FAIL: $label/$rel: berth validate exited $rc:" >&2
		cat "$WORK/validate.err" >&2
		failed=1
		return
	fi
	if ! node "$WORK/split.js" "$WORK/render.jsonl" "$WORK/validate.json" \
			"$WORK/docs" "$label" "$WORK/counter"; then
		echo "FAIL: $label/$rel: cannot read berth's output" >&2
		failed=1
	fi
}

# check_tree LABEL ROOT: every *.yaml/*.yml under ROOT.
check_tree() {
	local label=$1 root=$2 rel
	[ -d "$root" ] || return 0
	while IFS= read -r rel; do
		check_file "$label" "$root" "${rel#./}"
	done < <(cd "$root" && find . -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
}

# the JSON fixtures, each as a YAML file
for kind in good bad; do
	dir="$SOURCE_ROOT/tests/data/schema/$kind"
	[ -d "$dir" ] || continue
	mkdir -p "$WORK/fixtures/$kind"
	for f in "$dir"/*.json; do
		[ -e "$f" ] || continue
		cp "$f" "$WORK/fixtures/$kind/$(basename "$f" .json).yaml"
	done
	check_tree "schema/$kind" "$WORK/fixtures/$kind"
done
for dir in "$SOURCE_ROOT"/examples/*/ "$SOURCE_ROOT"/tests/data/bad/*/; do
	[ -d "$dir" ] || continue
	dir=${dir%/}
	check_tree "${dir#"$SOURCE_ROOT"/}" "$dir"
done

ndocs=$(wc -l <"$WORK/index.tsv")
if [ "$ndocs" -eq 0 ]; then
	echo "FAIL: no documents to compare" >&2
	exit 1
fi

# ---- 3. ajv's verdict, in one run ---------------------------------------

# (ajv exits 1 when any document is invalid: its verdicts are read below)
mapfile -t refs < <(refs_except "$SCHEMAS/manifest.json")
"$AJV" validate --spec=draft2020 --strict=true --all-errors --errors=text \
	-s "$SCHEMAS/manifest.json" "${refs[@]}" -d "$WORK/docs/*.json" \
	>"$WORK/ajv.out" 2>&1 || true

# ---- 4. compare -----------------------------------------------------------

disagree=0
agree=0
while IFS=$'\t' read -r doc berth label msgs; do
	if grep -qxF "$doc valid" "$WORK/ajv.out"; then
		ajv=valid
	elif grep -qxF "$doc invalid" "$WORK/ajv.out"; then
		ajv=invalid
	else
		echo "FAIL: $label: ajv said nothing about it" >&2
		failed=1
		continue
	fi
	if [ "$ajv" = "$berth" ]; then
		agree=$((agree + 1))
		continue
	fi
	disagree=$((disagree + 1))
	echo "DISAGREE: $label: ajv says $ajv, berth says $berth" >&2
	[ -n "$msgs" ] && echo "  berth: $msgs" >&2
	if [ "$ajv" = invalid ]; then
		grep -A1 -xF "$doc invalid" "$WORK/ajv.out" | tail -n +2 |
			sed 's/^/  ajv: /' >&2
	fi
	echo "  document: $(cat "$doc")" >&2
done <"$WORK/index.tsv"

nyaml=$(find "$SOURCE_ROOT"/tests/data/bad/yaml-*/ -type f \( -name '*.yaml' -o -name '*.yml' \) | wc -l)
if [ "$refused" -ne "$nyaml" ]; then
	echo "FAIL: berth refused $refused of the $nyaml YAML reader fixtures" >&2
	failed=1
fi
echo "ajv: $nschemas schemas compile; $ndocs documents from $nfiles files" \
	"($refused YAML reader fixtures refused by berth, as they must be);" \
	"$agree agree, $disagree disagree"
if [ "$disagree" -ne 0 ] || [ "$failed" -ne 0 ]; then
	exit 1
fi
exit 0
