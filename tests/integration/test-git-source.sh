#!/usr/bin/env bash
# Manifests from git through the berth binary: refs, --path, --worktree and a
# file:// remote, on temporary repositories.
. "$(dirname "$0")/lib.sh"

R=$T/repo
new_repo "$R"
mkdir -p "$R/fleet"
cp -r "$SOURCE_ROOT/examples/fleet/." "$R/fleet/"
echo "not a manifest" > "$R/README.txt"
# Hidden files and directories belong to other tools and are not read.
mkdir -p "$R/.github/workflows" "$R/fleet/.drafts"
printf 'on: push\njobs: {}\n' > "$R/.github/workflows/ci.yml"
printf 'stages: [test]\n' > "$R/.gitlab-ci.yml"
printf 'kind: Nonsense\n' > "$R/fleet/.drafts/wip.yaml"
commit "$R" "fleet v1"
v1=$(git -C "$R" rev-parse HEAD)
git_ -C "$R" tag v1
git_ -C "$R" tag -a -m "release 1" release-1
# v2 breaks a plan: the price has three decimals.
sed -i 's/amount: "4.50"/amount: "4.505"/' "$R/fleet/plans.yaml"
commit "$R" "fleet v2"
v2=$(git -C "$R" rev-parse HEAD)
git_ -C "$R" branch stable "$v1"

expect "HEAD (v2) is invalid" 1 "$BERTH" --repo "$R" --path fleet validate
has "v2 names the bad price" "$T/err" 'fleet/plans.yaml:14:19: spec.price.amount: want at most 2 decimals for EUR, have "4.505"'
expect "branch stable is valid" 0 "$BERTH" --repo "$R" --ref stable --path fleet validate
has "validate says which commit" "$T/err" "valid at commit $v1"
expect "lightweight tag" 0 "$BERTH" --repo "$R" --ref v1 --path fleet validate
expect "annotated tag" 0 "$BERTH" --repo "$R" --ref release-1 --path fleet validate
expect "full commit id" 0 "$BERTH" --repo "$R" --ref "$v1" --path fleet validate
expect "short commit id" 0 "$BERTH" --repo "$R" --ref "${v1:0:7}" --path fleet validate
expect "HEAD~1" 0 "$BERTH" --repo "$R" --ref HEAD~1 --path fleet validate
expect "unknown ref" 1 "$BERTH" --repo "$R" --ref nope --path fleet validate
has "unknown ref message" "$T/err" 'unknown revision "nope"'
expect "unknown path" 1 "$BERTH" --repo "$R" --path nowhere validate
has "unknown path message" "$T/err" '"nowhere" not found'
expect "not a repository" 1 "$BERTH" --repo "$T/nothing-here" validate
# render reads exactly the YAML files of the commit that are not hidden.
expect "render at a branch" 0 "$BERTH" --repo "$R" --ref stable render
want=$(git -C "$R" ls-tree -r --name-only stable | grep -E '\.ya?ml$' | grep -Ev '(^|/)\.' | sort)
have=$(jq -r .file "$T/out" | sort -u)
if [ -n "$want" ] && [ "$have" = "$want" ]; then pass "render reads every manifest and skips hidden files"; else
	fail "render reads every manifest and skips hidden files"; diff <(echo "$want") <(echo "$have") | sed 's/^/    | /'; fi
expect "subdirectory of a work tree as --repo" 0 "$BERTH" --repo "$R/fleet" --ref stable --path fleet validate
expect "json output" 1 "$BERTH" --repo "$R" --path fleet validate --format json
if jq_true '.format_version == "1.0" and .valid == false and .commit == $c and .errors == 1 and
    .diagnostics[0].file == "fleet/plans.yaml" and .diagnostics[0].line == 14 and
    .diagnostics[0].path == "spec.price.amount"' "$T/out" --arg c "$v2"; then
	pass "json diagnostics name file, line, path and commit"
else
	fail "json diagnostics"; cat "$T/out"
fi

# The work tree: uncommitted edits are seen with --worktree only.
sed -i 's/amount: "4.505"/amount: "4.50"/' "$R/fleet/plans.yaml"
expect "commit still invalid" 1 "$BERTH" --repo "$R" --path fleet validate
expect "worktree sees the fix" 0 "$BERTH" --repo "$R" --path fleet --worktree validate
has "worktree is named" "$T/err" "valid at worktree"
printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: extra}\nspec: {hosts: {names: [nope]}, storage_pool: incus}\n' > "$R/fleet/untracked.yaml"
expect "worktree reads untracked files" 1 "$BERTH" --repo "$R" --path fleet --worktree validate
has "untracked file checked" "$T/err" 'fleet/untracked.yaml:4:24: spec.hosts.names[0]: unknown host "nope"'
echo "untracked.yaml" > "$R/fleet/.gitignore"
expect "worktree skips ignored files" 0 "$BERTH" --repo "$R" --path fleet --worktree validate
rm "$R/fleet/untracked.yaml" "$R/fleet/.gitignore"
git -C "$R" checkout -q -- .

# A plain directory with --worktree.
mkdir -p "$T/plain"
cp -r "$SOURCE_ROOT/examples/fleet/." "$T/plain/"
expect "plain directory with --worktree" 0 "$BERTH" --repo "$T/plain" --worktree validate

# A remote: file:// URL fetched into the state directory's cache.
expect "file:// remote at HEAD" 1 "$BERTH" --repo "file://$R" --path fleet validate
has "fetched commit printed" "$T/err" "fetched file://$R at commit $v2"
expect "file:// remote branch" 0 "$BERTH" --repo "file://$R" --ref stable --path fleet validate
has "fetched branch commit printed" "$T/err" "at commit $v1"
if ls -d "$BERTH_STATE"/cache/git/* >/dev/null 2>&1; then pass "cache under the state directory"; else fail "cache under the state directory"; fi
git_ -C "$R" revert --no-edit HEAD >/dev/null
v3=$(git -C "$R" rev-parse HEAD)
expect "remote update is fetched" 0 "$BERTH" --repo "file://$R" --path fleet validate
has "new commit fetched" "$T/err" "at commit $v3"
expect "remote that does not exist" 1 "$BERTH" --repo "file://$T/missing" validate
has "fetch failure names the url" "$T/err" "file://$T/missing"
finish
