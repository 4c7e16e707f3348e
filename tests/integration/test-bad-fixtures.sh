#!/usr/bin/env bash
# Every bad fixture under tests/data/bad/ is refused with exactly the
# messages in its `expected` file. Each fixture is a directory of manifests,
# committed to a fresh git repository and validated from that commit
# (with the options in its `args` file, if any). A few hostile cases that
# should not live in berth's own tree (a symlink, a submodule, a 4 MiB file)
# are made here.
#
#   UPDATE_EXPECTED=1 writes the current output as the expectation (review
#   the diff before committing it).
. "$(dirname "$0")/lib.sh"

run_fixture() {	# NAME DIR EXPECTED-FILE [ARGS...]
	local name=$1 dir=$2 want=$3 rc=0
	shift 3
	"$BERTH" --repo "$dir" validate "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "${UPDATE_EXPECTED:-0}" = 1 ] && [ -n "$want" ]; then
		cp "$T/err" "$want"
	fi
	if [ "$rc" != 1 ]; then
		fail "$name: exit $rc, want 1"
		sed -n 's/^/    | /;1,20p' "$T/err"
		return
	fi
	if [ -z "$want" ] || [ ! -f "$want" ]; then
		fail "$name: no expected file"
		sed 's/^/    | /' "$T/err"
		return
	fi
	if diff -u "$want" "$T/err" >"$T/diff"; then
		pass "$name"
	else
		fail "$name: messages differ"
		sed -n 's/^/    | /;1,30p' "$T/diff"
	fi
}

n=0
for fx in "$SOURCE_ROOT"/tests/data/bad/*/; do
	name=$(basename "$fx")
	R=$T/fx-$name
	new_repo "$R"
	(cd "$fx" && tar cf - --exclude=./expected --exclude=./args .) | (cd "$R" && tar xf -)
	commit "$R" "$name"
	args=()
	[ -f "$fx/args" ] && read -r -a args < "$fx/args"
	run_fixture "$name" "$R" "$fx/expected" "${args[@]}"
	n=$((n + 1))
done

# Made here: a symbolic link and a submodule are refused, not followed.
HOST="$SOURCE_ROOT/tests/data/bad/check-plan-does-not-fit/a.yaml"
R=$T/symlink
new_repo "$R"
printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: secret}\nspec: {hosts: {names: []}, storage_pool: x}\n' > "$T/outside.yaml"
ln -s "$T/outside.yaml" "$R/linked.yaml"
mkdir "$R/dir" && ln -s ../ "$R/dir/loop"
commit "$R" symlink
printf '%s\n' \
	"dir/loop: refusing symbolic link (to \"../\"): manifests are read from the commit and links are not followed" \
	"linked.yaml: refusing symbolic link (to \"$T/outside.yaml\"): manifests are read from the commit and links are not followed" \
	"berth: 2 errors, 0 warnings" > "$T/want-symlink"
run_fixture "symlink" "$R" "$T/want-symlink"
n=$((n + 1))

S=$T/sub
new_repo "$S"
cp "$HOST" "$S/inner.yaml"
commit "$S" inner
sub_commit=$(git -C "$S" rev-parse HEAD)
R=$T/submodule
new_repo "$R"
git_ -C "$R" -c protocol.file.allow=always submodule add -q "$S" vendor >/dev/null 2>&1
commit "$R" submodule
printf '%s\n' \
	"vendor: refusing submodule at commit $sub_commit: manifests of another repository are not read" \
	"berth: 1 error, 0 warnings" > "$T/want-submodule"
run_fixture "submodule" "$R" "$T/want-submodule"
n=$((n + 1))

# A file one byte over 4 MiB is refused before it is parsed.
R=$T/huge
new_repo "$R"
{ printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: big}\nspec:\n  hosts: {names: []}\n  storage_pool: x\n# '
  head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; } | head -c $((4 * 1024 * 1024 + 1)) > "$R/huge.yaml"
commit "$R" huge
printf '%s\n' \
	"huge.yaml: file is 4194305 bytes, over the limit of 4194304 bytes" \
	"berth: 1 error, 0 warnings" > "$T/want-huge"
run_fixture "huge file" "$R" "$T/want-huge"
n=$((n + 1))

if [ "$n" -ge 40 ]; then pass "at least 40 bad fixtures ($n)"; else fail "at least 40 bad fixtures ($n)"; fi
finish
