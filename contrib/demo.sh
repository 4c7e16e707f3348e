#!/usr/bin/env bash
# The demo: install what is missing (Debian 12, root), build berth, start a
# local Incus lab (two hosts, a two-member cluster, an image server), bind
# examples/lab to it in a git repository of its own, and run berth on that
# commit: validate -> plan -> apply -> plan (no changes) -> ledger verify.
#
#   contrib/demo.sh [--keep]     --keep leaves the lab running afterwards
#                                (started with lab up --persist: lab reap
#                                leaves it alone too)
#
#   BERTH_DEMO_DIR   where the lab, the fleet repository and the state live
#                    (default /var/tmp/berth-demo; must be reachable by the
#                    containers, so not under a 0700 home directory)
#   BERTH            the berth command to run (a built binary, or a wrapper
#                    such as the tests' valgrind one); when it is set,
#                    nothing is built
set -euo pipefail

# Not root: the same again through sudo, where there is one (a bare Debian
# root has none, and needs none).
if [ "$(id -u)" != 0 ] && [ "${BERTH_SKIP_DEPS:-0}" != 1 ]; then
	command -v sudo >/dev/null || {
		echo "berth: run ${0##*/} as root: it installs packages and starts Incus daemons" >&2
		exit 1
	}
	exec sudo --preserve-env=BUILDDIR,MESON_TEST_ARGS,CI,BERTH_DEMO_DIR,BERTH,BERTH_SKIP_DEPS \
		bash "$0" "$@"
fi

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
keep=0
[ "${1:-}" = --keep ] && keep=1

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "installing dependencies (when missing) and building"
# shellcheck source=contrib/deps.sh
. contrib/deps.sh
berth_install_deps
berth=${BERTH:-}
if [ -z "$berth" ]; then
	builddir=${BUILDDIR:-$top/build}
	[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
	meson compile -C "$builddir" >/dev/null
	berth=$builddir/src/berth
fi
"$berth" version

demo=${BERTH_DEMO_DIR:-/var/tmp/berth-demo}
lab=$demo/lab
mkdir -p "$demo"
chmod 0711 "$demo"
export BERTH_STATE=$demo/state

step "starting the lab in $lab"
# The trap is set first: a lab that fails half way up is brought down too.
if [ $keep = 0 ]; then
	trap 'step "stopping the lab"; contrib/lab/lab down --dir "$lab"' EXIT
	contrib/lab/lab up --hosts 2 --cluster 2 --net 127.42.0 --dir "$lab"
else
	contrib/lab/lab up --hosts 2 --cluster 2 --net 127.42.0 --dir "$lab" --persist
fi
# shellcheck source=/dev/null
. "$lab/lab.env"

step "binding examples/lab to this lab in a git repository of its own"
fleet=$demo/fleet
rm -rf "$fleet"
mkdir -p "$fleet"
cp examples/lab/*.yaml "$fleet/"
# Lines marked "# lab: NAME" get that daemon's real certificate fingerprint.
for f in "$fleet"/*.yaml; do
	while read -r name; do
		if [ "$name" = lab-cluster ]; then
			fp=$LAB_CLUSTER_FINGERPRINT
		else
			var="LAB_$(echo "$name" | tr 'a-z-' 'A-Z_')_FINGERPRINT"
			fp=${!var}
		fi
		sed -i -E "s/\"[0-9a-f]{64}\" # lab: $name\$/\"$fp\" # lab: $name/" "$f"
	done < <(grep -oE '# lab: [a-z0-9-]+$' "$f" | cut -d' ' -f3 | sort -u)
done
git -C "$fleet" -c init.defaultBranch=main init -q
git -C "$fleet" add -A
git -C "$fleet" -c user.name=demo -c user.email=demo@berth.invalid commit -q -m "lab fleet"
git -C "$fleet" log --oneline

step "berth validate (from the commit)"
"$berth" --repo "$fleet" validate
"$berth" --repo "$fleet" validate --format json | jq -c '{valid, commit, files, errors, warnings}'

step "an uncommitted mistake: validation names file, line, field, want and have"
sed -i 's/amount: "2.00"/amount: "2.005"/' "$fleet/plans.yaml"
"$berth" --repo "$fleet" --worktree validate || echo "(exit $? as expected: the work tree is invalid, the commit is not)"
git -C "$fleet" checkout -q -- .

step "berth host trust-command: what makes a host trust berth (shown for lab-1)"
"$berth" --repo "$fleet" host trust-command lab-1 | sed -n '1,3p'
echo "    ... (on a real host you run it as root; the lab trusts berth directly)"
contrib/lab/lab trust --cert "$BERTH_STATE/client.crt" --dir "$lab"

step "berth place: where two more instances of ct-small would go, and why not elsewhere"
"$berth" --repo "$fleet" place --plan ct-small --count 2

step "berth plan: what berth would change on every server, and why"
"$berth" --repo "$fleet" plan -v

step "berth apply: converge the servers (every change goes to the ledger)"
"$berth" --repo "$fleet" apply --auto-approve

step "berth plan again: nothing left to do"
rc=0
"$berth" --repo "$fleet" plan --detailed-exitcode || rc=$?
echo "berth plan --detailed-exitcode: exit $rc (0: no changes)"
[ $rc = 0 ]

step "berth ledger verify: the hash chain holds"
"$berth" ledger list --limit 5
"$berth" ledger verify

step "done"
echo "The lab is $( [ $keep = 1 ] && echo "still running: stop it with contrib/lab/lab down --dir $lab" || echo "being stopped (run with --keep to keep it)")."
