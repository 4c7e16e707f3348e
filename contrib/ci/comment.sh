#!/bin/sh
# A merge request's plan as a comment on it: comment.sh [plan.md].
#
#   GitHub Actions (GITHUB_ACTIONS): `gh pr comment` on pull request
#     BERTH_PR, with the token in GH_TOKEN (the workflow's github.token,
#     with pull-requests: write); needs gh on the runner.
#   GitLab CI (GITLAB_CI): the notes API of merge request
#     CI_MERGE_REQUEST_IID with curl, with the token in BERTH_GITLAB_TOKEN
#     (a project access token with the api scope, as a masked variable:
#     the job token cannot write notes); the token goes to curl on its
#     standard input, not on its command line.
#
# Without a token, or outside a merge request, it posts nothing, says so
# and succeeds: the plan is still in the job's log and artifacts.
. "$(dirname "$0")/common.sh"
file=${1:-plan.md}
[ -s "$file" ] || die "no plan to post: \"$file\" is missing or empty (run plan.sh first)"
if [ -n "${GITLAB_CI:-}" ]; then
	if [ -z "${CI_MERGE_REQUEST_IID:-}" ]; then
		say "not a merge request pipeline: the plan is not posted"
		exit 0
	fi
	if [ -z "${BERTH_GITLAB_TOKEN:-}" ]; then
		say "no token in BERTH_GITLAB_TOKEN: the plan is not posted on merge request !$CI_MERGE_REQUEST_IID (it is in the job's log and artifacts)"
		exit 0
	fi
	url="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
	printf 'PRIVATE-TOKEN: %s\n' "$BERTH_GITLAB_TOKEN" |
		curl -fsS --retry 3 -o /dev/null -H @- --data-urlencode "body@$file" "$url" ||
		die "cannot post the plan to $url"
	say "posted the plan on merge request !$CI_MERGE_REQUEST_IID"
elif [ -n "${GITHUB_ACTIONS:-}" ]; then
	if [ -z "${BERTH_PR:-}" ]; then
		say "not a pull request (no BERTH_PR): the plan is not posted"
		exit 0
	fi
	if [ -z "${GH_TOKEN:-}" ]; then
		say "no token in GH_TOKEN: the plan is not posted on pull request #$BERTH_PR (it is in the job's summary and artifacts)"
		exit 0
	fi
	command -v gh >/dev/null 2>&1 ||
		die "gh is not installed on this runner: want GitHub's CLI to post the plan (apt-get install gh)"
	gh pr comment "$BERTH_PR" --repo "$GITHUB_REPOSITORY" --body-file "$file" >/dev/null ||
		die "cannot post the plan on pull request #$BERTH_PR"
	say "posted the plan on pull request #$BERTH_PR"
else
	say "neither GitHub Actions nor GitLab CI: the plan is not posted"
fi
