#!/bin/sh
# The plan of a merge request, or of the main branch before apply.sh:
# berth plan --out plan.json --format markdown --detailed-exitcode, in the
# current directory:
#
#   plan.json   the saved plan, for `berth apply plan.json` (mode 0600: it
#               holds the fleet's objects; keep the artifact short-lived)
#   plan.md     the plan as a markdown table, for the review comment
#               (comment.sh) and GitHub's job summary
#   plan.env    BERTH_PLAN_EXIT (0 no changes, 2 changes) and
#               BERTH_PLAN_CHANGES (false, true): a dotenv for later jobs
#
# The step fails only when berth plan does (exit 1: invalid manifests, a
# server that could not be planned); changes are a success. On GitHub it
# also sets the step's outputs exit and changes. Arguments go to berth plan
# (--target KIND/NAME, --prune, ...).
. "$(dirname "$0")/common.sh"
rm -f plan.json plan.md plan.env
rc=0
berth_ plan --out plan.json --format markdown --detailed-exitcode "$@" >plan.md || rc=$?
cat plan.md
case $rc in
0) changes=false; say "berth plan: no changes (exit 0)" ;;
2) changes=true; say "berth plan: changes to apply (exit 2); saved in plan.json" ;;
*) die "berth plan failed (exit $rc): see above" ;;
esac
printf 'BERTH_PLAN_EXIT=%s\nBERTH_PLAN_CHANGES=%s\n' "$rc" "$changes" >plan.env
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	printf 'exit=%s\nchanges=%s\n' "$rc" "$changes" >>"$GITHUB_OUTPUT"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	cat plan.md >>"$GITHUB_STEP_SUMMARY"
fi
