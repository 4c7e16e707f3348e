#!/bin/sh
# The main branch: berth apply of the plan plan.sh saved, exactly
# (apply.sh [plan.json]; the file is the approval, berth asks nothing).
# berth refuses a plan file when the servers changed since it was made: when
# they now match the commit of the checkout anyway (the reconcile timer
# applied it first), nothing is left to do and the step succeeds; otherwise
# it fails with the plan that is left. Waits up to BERTH_LOCK_TIMEOUT
# (default 5m) for another apply or reconcile to finish.
. "$(dirname "$0")/common.sh"
file=${1:-plan.json}
[ -f "$file" ] || die "no plan file \"$file\": want the plan.json of plan.sh (the plan job's artifact)"
rc=0
berth_ apply "$file" --lock-timeout "${BERTH_LOCK_TIMEOUT:-5m}" || rc=$?
if [ "$rc" = 0 ]; then
	say "applied $file"
	exit 0
fi
left=$(mktemp)
trap 'rm -f "$left"' EXIT
prc=0
berth_ plan --detailed-exitcode >"$left" 2>&1 || prc=$?
if [ "$prc" = 0 ]; then
	say "berth did not apply $file (exit $rc), but the servers already match the commit: nothing is left to apply"
	exit 0
fi
cat "$left"
die "berth did not apply $file (exit $rc) and the servers do not match the commit (plan above): run the pipeline again for a new plan"
