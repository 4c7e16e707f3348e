#!/usr/bin/env bash
# The CI recipes of contrib/ci/, run as the CI services would run them but
# with a shell: the commands are the ones the GitLab and GitHub files call,
# in their order, each job in a fresh clone of the fleet repository (with
# contrib/ci/*.sh copied into its ci/berth/, as the recipes say), the plan
# job's files handed to the apply job as artifacts. Against a lab daemon:
# the main branch converges; a merge request's branch with a change
# validates, plans with exit 2 (plan.json, plan.md, plan.env) and posts
# the plan: skipped without a token, and with one to a GitLab notes API on
# loopback and through gh on GitHub; merged, the main branch plans the very
# same plan file and applies it, the ledger has exactly its changes, and a
# re-plan has none. A plan the servers moved away from is refused and the
# step fails; one the reconcile timer already applied succeeds.
. "$(dirname "$0")/lib.sh"

needs_lab
RECIPES=$SOURCE_ROOT/contrib/ci
# The jobs' commands, in file order, as each recipe calls them.
want=$'ci/berth/validate.sh\nci/berth/plan.sh\nci/berth/comment.sh plan.md\nci/berth/apply.sh plan.json'
for f in gitlab-ci.yml github-workflow.yml; do
	got=$(grep -o 'ci/berth/[a-z]*\.sh[a-z. ]*' "$RECIPES/$f" | sed 's/ *$//')
	[ "$got" = "$want" ] && pass "$f calls validate, plan, comment, apply" ||
		{ fail "$f calls:"; printf '%s\n' "$got" | sed 's/^/    | /'; }
done

lab_up --hosts 1
li() { INCUS_DIR=$(var lab-1 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
export BERTH
O=$T/origin	# the fleet repository, as the CI service holds it
new_repo "$O"
mkdir -p "$O/ci/berth"
cp "$RECIPES"/*.sh "$O/ci/berth/"
lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 10GiB}' \
	'storage_pools: [{name: incus, driver: dir}]' >"$O/hosts.yaml"
commit "$O" "lab-1 and its storage pool"
"$BERTH" --repo "$O" host trust-command lab-1 >/dev/null	# berth's key
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null

# job NAME REF [VAR=VALUE...] -- CMD...: a CI job: a fresh clone of the
# fleet repository at REF in $T/jobs/NAME, where the job's command lines
# run one after another with sh and the CI's variables, until one fails;
# their output in $T/NAME.out and .err, the exit of the last in $T/NAME.rc.
# Files in $T/artifacts/ are the earlier jobs' artifacts, put in place first.
job() {
	local name=$1 ref=$2 w=$T/jobs/$1 rc=0 c
	local -a vars=()
	shift 2
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	rm -rf "$w"
	git clone -q "$O" "$w"
	git -C "$w" checkout -q "$ref"
	if [ -d "$T/artifacts" ]; then cp -rp "$T/artifacts/." "$w/"; fi
	: >"$T/$name.out"
	: >"$T/$name.err"
	for c in "$@"; do
		(cd "$w" && env "${vars[@]}" sh -c "$c") >>"$T/$name.out" 2>>"$T/$name.err" || rc=$?
		[ "$rc" = 0 ] || break
	done
	echo "$rc" >"$T/$name.rc"
}
# ran NAME WANT-EXIT: job NAME ended with WANT-EXIT.
ran() {
	if [ "$(cat "$T/$1.rc")" = "$2" ]; then pass "$1: exit $2"; else
		fail "$1: exit $(cat "$T/$1.rc"), want $2"; sed 's/^/    | /' "$T/$1.out" "$T/$1.err" | tail -n 30; fi
}
# artifacts JOB FILE...: the files the job keeps, for the next jobs.
artifacts() {
	local j=$1 f
	shift
	rm -rf "$T/artifacts"
	mkdir -p "$T/artifacts"
	for f in "$@"; do cp -p "$T/jobs/$j/$f" "$T/artifacts/"; done
}
GL_MAIN=(GITLAB_CI=true CI_PIPELINE_SOURCE=push CI_COMMIT_BRANCH=main CI_DEFAULT_BRANCH=main)

# The main branch converges first: validate, plan, apply.
rm -rf "$T/artifacts"
job main-validate main "${GL_MAIN[@]}" -- ci/berth/validate.sh
ran main-validate 0
job main-plan main "${GL_MAIN[@]}" -- ci/berth/plan.sh "ci/berth/comment.sh plan.md"
ran main-plan 0
has "the main branch plans the storage pool" "$T/jobs/main-plan/plan.md" "storage-pool incus"
has "a main branch pipeline posts no comment" "$T/main-plan.out" "berth-ci: not a merge request pipeline: the plan is not posted"
artifacts main-plan plan.json plan.md plan.env
job main-apply main "${GL_MAIN[@]}" -- "ci/berth/apply.sh plan.json"
ran main-apply 0
has "apply.sh says it applied the file" "$T/main-apply.out" "berth-ci: applied plan.json"
rm -rf "$T/artifacts"

# A merge request: a branch that sells a plan on lab-1 (a profile there).
git_ -C "$O" checkout -q -b sell-small
cat >"$O/sold.yaml" <<'X'
apiVersion: berth/v1
kind: Pool
metadata: {name: lab}
spec: {hosts: {labels: {site: lab}}, storage_pool: incus, require_agent: false}
---
apiVersion: berth/v1
kind: Plan
metadata: {name: small}
spec: {pool: lab, type: container, cpu: 1, memory: 256MiB, disk: 1GiB, price: {amount: "5.00", currency: EUR, cycle: monthly}}
X
commit "$O" "sell the small plan"
git_ -C "$O" checkout -q main
PORT=$((20000 + RANDOM % 20000))
GL_MR=(GITLAB_CI=true CI_PIPELINE_SOURCE=merge_request_event CI_MERGE_REQUEST_IID=7 CI_PROJECT_ID=42
	"CI_API_V4_URL=http://127.0.0.1:$PORT/api/v4")
job mr-validate sell-small "${GL_MR[@]}" -- ci/berth/validate.sh
ran mr-validate 0
has "validate passes" "$T/mr-validate.err" "valid at commit"
head=$(ledger_head)
job mr-plan sell-small "${GL_MR[@]}" -- ci/berth/plan.sh "ci/berth/comment.sh plan.md"
ran mr-plan 0
M=$T/jobs/mr-plan
printf 'BERTH_PLAN_EXIT=2\nBERTH_PLAN_CHANGES=true\n' >"$T/env.want"
cmp -s "$T/env.want" "$M/plan.env" && pass "berth plan exits 2: plan.env says so" ||
	{ fail "plan.env:"; sed 's/^/    | /' "$M/plan.env"; }
has "plan.sh says there are changes" "$T/mr-plan.out" "berth-ci: berth plan: changes to apply (exit 2); saved in plan.json"
has "plan.md is the markdown plan" "$M/plan.md" "#### berth plan of \`$(git -C "$O" rev-parse --short=12 sell-small)"
has "plan.md has the profile" "$M/plan.md" "| + | lab-1 | profile plan-small | create |"
has "and it is in the job's log" "$T/mr-plan.out" "| + | lab-1 | profile plan-small | create |"
[ "$(jq -r .kind "$M/plan.json")" = berth-plan ] && [ "$(jq -r .commit "$M/plan.json")" = "$(git -C "$O" rev-parse sell-small)" ] &&
	pass "plan.json is the plan of the branch's commit" || fail "plan.json is not the plan of the branch's commit"
[ "$(stat -c %a "$M/plan.json")" = 600 ] && pass "plan.json is 0600" || fail "plan.json is $(stat -c %a "$M/plan.json")"
has "without a token the comment is skipped, and said" "$T/mr-plan.out" \
	"berth-ci: no token in BERTH_GITLAB_TOKEN: the plan is not posted on merge request !7"
entries_after "$head" --kind change.result
[ ! -s "$T/entries" ] && pass "a merge request changes nothing" || fail "a merge request changed the servers"

# With a token: the notes API of GitLab, here on loopback, gets the plan.
cat >"$T/notes.py" <<'X'
import http.server, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = urllib.parse.parse_qs(self.rfile.read(n).decode())["body"][0]
        with open(sys.argv[2], "w") as f:
            f.write(self.path + "\n" + self.headers.get("PRIVATE-TOKEN", "") + "\n" + body)
        self.send_response(201)
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
X
python3 "$T/notes.py" "$PORT" "$T/note" & NOTES=$!
test_cleanup() { kill "$NOTES" 2>/dev/null; return 0; }
wait_for 30 "the notes API listens" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
job mr-comment sell-small "${GL_MR[@]}" BERTH_GITLAB_TOKEN=glpat-test -- "ci/berth/comment.sh $M/plan.md"
ran mr-comment 0
has "comment.sh says it posted" "$T/mr-comment.out" "berth-ci: posted the plan on merge request !7"
{ printf '/api/v4/projects/42/merge_requests/7/notes\nglpat-test\n'; cat "$M/plan.md"; } >"$T/note.want"
cmp -s "$T/note.want" "$T/note" && pass "GitLab got plan.md as a note of merge request 7, with the token" ||
	{ fail "the note GitLab got:"; diff "$T/note.want" "$T/note" | sed 's/^/    | /' | head -n 20; }
if grep -rqs glpat-test "$T/mr-comment.out" "$T/mr-comment.err"; then fail "the token is in the job's output"; else
	pass "the token is not in the job's output"; fi

# GitHub: gh pr comment (gh here records what it is asked).
mkdir -p "$T/bin"
cat >"$T/bin/gh" <<X
#!/bin/sh
printf '%s\n' "\$*" >"$T/gh.args"
while [ \$# -gt 0 ]; do [ "\$1" = --body-file ] && cp "\$2" "$T/gh.body"; shift; done
X
chmod +x "$T/bin/gh"
GH=(GITHUB_ACTIONS=true BERTH_PR=7 GITHUB_REPOSITORY=ops/fleet "PATH=$T/bin:$PATH")
job gh-comment-none sell-small "${GH[@]}" -- "ci/berth/comment.sh $M/plan.md"
ran gh-comment-none 0
has "on GitHub without a token the comment is skipped, and said" "$T/gh-comment-none.out" \
	"berth-ci: no token in GH_TOKEN: the plan is not posted on pull request #7"
[ ! -e "$T/gh.args" ] && pass "and gh is not run" || fail "gh was run without a token"
job gh-comment sell-small "${GH[@]}" GH_TOKEN=ghs-test -- "ci/berth/comment.sh $M/plan.md"
ran gh-comment 0
[ "$(cat "$T/gh.args" 2>/dev/null)" = "pr comment 7 --repo ops/fleet --body-file $M/plan.md" ] &&
	pass "gh pr comment 7 --body-file plan.md" || fail "gh was run with: $(cat "$T/gh.args" 2>/dev/null)"
cmp -s "$M/plan.md" "$T/gh.body" && pass "with plan.md as the body" || fail "gh got another body"

# Merged: the main branch plans the same file and applies it.
git_ -C "$O" merge -q --ff-only sell-small
job main2-validate main "${GL_MAIN[@]}" -- ci/berth/validate.sh
ran main2-validate 0
job main2-plan main "${GL_MAIN[@]}" -- ci/berth/plan.sh "ci/berth/comment.sh plan.md"
ran main2-plan 0
cmp -s "$M/plan.json" "$T/jobs/main2-plan/plan.json" &&
	pass "the main branch's plan file is the merge request's, byte for byte" ||
	fail "the main branch planned something else than the merge request showed"
artifacts main2-plan plan.json plan.md plan.env
head=$(ledger_head)
job main2-apply main "${GL_MAIN[@]}" -- "ci/berth/apply.sh plan.json"
ran main2-apply 0
has "apply.sh applied the file" "$T/main2-apply.out" "berth-ci: applied plan.json"
entries_after "$head" --kind change.result
jq -r '.actions[].address' "$M/plan.json" | sort >"$T/planned"
jq -r 'select(.result == "ok") | .object' "$T/entries" | sort >"$T/applied"
[ -s "$T/planned" ] && cmp -s "$T/planned" "$T/applied" && [ "$(wc -l <"$T/entries")" = "$(wc -l <"$T/planned")" ] &&
	pass "the ledger has exactly the plan's changes ($(wc -l <"$T/planned")), each done" ||
	{ fail "planned and applied differ:"; diff "$T/planned" "$T/applied" | sed 's/^/    | /'; }
rm -rf "$T/artifacts"
job main3-plan main "${GL_MAIN[@]}" -- ci/berth/plan.sh
ran main3-plan 0
printf 'BERTH_PLAN_EXIT=0\nBERTH_PLAN_CHANGES=false\n' >"$T/env.want"
cmp -s "$T/env.want" "$T/jobs/main3-plan/plan.env" && pass "a re-plan has no changes (exit 0)" ||
	{ fail "re-plan: plan.env:"; sed 's/^/    | /' "$T/jobs/main3-plan/plan.env"; }
has "and plan.md says so" "$T/jobs/main3-plan/plan.md" "No changes: the servers match the commit."

# The merge request's plan file again: the servers already match it.
mkdir -p "$T/artifacts"
cp -p "$M/plan.json" "$T/artifacts/"
head=$(ledger_head)
job main-apply-again main "${GL_MAIN[@]}" -- "ci/berth/apply.sh plan.json"
ran main-apply-again 0
has "an applied plan is not applied twice, and said" "$T/main-apply-again.out" \
	"but the servers already match the commit: nothing is left to apply"
entries_after "$head" --kind change.result
[ ! -s "$T/entries" ] && pass "and nothing changed" || fail "applying the plan twice changed something"

# A plan the servers moved away from: refused, and the step fails.
li profile set plan-small limits.cpu=2
job main4-plan main "${GL_MAIN[@]}" -- ci/berth/plan.sh
ran main4-plan 0
has "a change by hand is planned away" "$T/main4-plan.out" "berth-ci: berth plan: changes to apply (exit 2)"
artifacts main4-plan plan.json
li profile set plan-small limits.cpu=3
job main4-apply main "${GL_MAIN[@]}" -- "ci/berth/apply.sh plan.json"
ran main4-apply 1
has "berth refuses the plan file" "$T/main4-apply.err" "plan.json is stale"
has "apply.sh says what is left" "$T/main4-apply.err" \
	"berth-ci: error: berth did not apply plan.json (exit 1) and the servers do not match the commit (plan above): run the pipeline again for a new plan"
rm -rf "$T/artifacts"
job main5 main "${GL_MAIN[@]}" -- ci/berth/plan.sh "ci/berth/apply.sh plan.json"
ran main5 0
job main6-plan main "${GL_MAIN[@]}" -- ci/berth/plan.sh
ran main6-plan 0
has "a new pipeline converges" "$T/jobs/main6-plan/plan.md" "No changes: the servers match the commit."
finish
