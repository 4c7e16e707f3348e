# shellcheck shell=sh
# What the steps of berth's CI recipes share (sourced by each). A step runs
# in a checkout of the fleet repository, on a runner that holds berth's
# state directory (BERTH_STATE: the ledger, and the client key the hosts
# trust), and takes its settings from the environment:
#
#   BERTH         the berth command (default: berth)
#   BERTH_REPO    the fleet repository (default: ., the checkout)
#   BERTH_REF     the commit (default: HEAD, the one the CI checked out)
#   BERTH_PATH    the directory of the manifests in it (default: the root)
#   BERTH_STATE   berth's state directory (berth's own default otherwise)
set -eu

# berth_ ARG...: berth on the configured repository and commit.
berth_() {
	if [ -n "${BERTH_PATH:-}" ]; then
		"${BERTH:-berth}" --repo "${BERTH_REPO:-.}" --ref "${BERTH_REF:-HEAD}" \
			--path "$BERTH_PATH" "$@"
	else
		"${BERTH:-berth}" --repo "${BERTH_REPO:-.}" --ref "${BERTH_REF:-HEAD}" "$@"
	fi
}
say() { printf 'berth-ci: %s\n' "$*"; }
die() { printf 'berth-ci: error: %s\n' "$*" >&2; exit 1; }
