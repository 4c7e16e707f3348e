#!/usr/bin/env bash
# bench-drain - drain COUNT running busybox containers off one lab daemon
# with `berth apply` (lab-1 draining: each moves cold to lab-2 or lab-3 by
# the migration API, MOVE_PARALLEL at once), against the same moves done
# by hand with the incus CLI, one after another (incus stop, incus move
# to the other daemon, incus start). Both sides move the same containers
# between the same daemons: berth from lab-1 to lab-2 and lab-3, the CLI
# back. Prints the wall time of each, the ratio, and the interruption per
# instance (stop to started again on the target: berth's from its ledger,
# the CLI's timed around its three commands): median and largest.
# Not a test: run it by hand, as root, after building:
#   tests/bench/bench-drain.sh [BUILDDIR]
# Environment: COUNT (20).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
berth=$build/src/berth
LAB=$top/contrib/lab/lab
COUNT=${COUNT:-20}
T=$(mktemp -d /tmp/berth-bench-drain.XXXXXX)
chmod 0711 "$T"
trap '"$LAB" down --dir "$T/lab" >/dev/null 2>&1; rm -rf --one-file-system "$T"' EXIT
export BERTH_STATE=$T/state NO_COLOR=1 INCUS_CONF=$T/incus-client
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "starting 3 lab daemons"
"$LAB" up --hosts 3 --dir "$T/lab" >/dev/null
. "$T/lab/lab.env"
var() { local v="LAB_$(echo "$1" | tr 'a-z-' 'A-Z_')_$2"; printf '%s' "${!v}"; }

# hosts S1 S2 S3: the three daemons in those states
R=$T/fleet
mkdir -p "$R"
hosts() {
	local i=1 st
	for st in "$@"; do
		printf -- '---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: lab-%d, labels: {site: lab}}\nspec:\n  endpoint: %s\n  fingerprint: "%s"\n  os: debian-12\n  state: %s\n  capacity: {cpu: 64, memory: 64GiB, disk: 100GiB}\n  storage_pools: [{name: incus, driver: dir}]\n' \
			"$i" "$(var "lab-$i" ENDPOINT)" "$(var "lab-$i" FINGERPRINT)" "$st"
		i=$((i + 1))
	done > "$R/hosts.yaml"
}
hosts active cordoned cordoned
{
	printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\nspec: {hosts: {labels: {site: lab}}, storage_pool: incus, require_agent: false}\n'
	printf -- '---\napiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\nspec: {source: {server: "%s", protocol: incus, alias: busybox, server_fingerprint: "%s"}, pools: [lab], auto_update: false}\n' \
		"$LAB_IMAGE_SERVER" "$LAB_IMAGE_SERVER_FINGERPRINT"
	printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: tiny}\nspec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "1.00", currency: EUR, cycle: monthly}}\n'
	for i in $(seq 1 "$COUNT"); do
		printf -- '---\napiVersion: berth/v1\nkind: Instance\nmetadata: {name: c%d}\nspec: {plan: tiny, image: busybox}\n' "$i"
	done
} > "$R/fleet.yaml"
git_() { git -C "$R" -c user.name=bench -c user.email=bench@berth.invalid -c init.defaultBranch=main "$@"; }
git_ init -q
git_ add -A
git_ commit -qm fleet
"$berth" --repo "$R" host trust-command lab-1 >/dev/null
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
echo "creating $COUNT running containers on lab-1"
"$berth" --repo "$R" -q apply --auto-approve >/dev/null

# berth: lab-1 drains.
hosts draining active active
git_ add -A
git_ commit -qm "lab-1 draining"
seq0=$("$berth" ledger checkpoint 2>/dev/null | cut -d: -f1)
t0=$(now)
"$berth" --repo "$R" -q apply --auto-approve >"$T/apply.out" 2>&1 || { echo "the drain failed:"; tail -5 "$T/apply.out"; exit 1; }
t1=$(now)
tb=$(echo "$t1 - $t0" | bc)
"$berth" --format json ledger list >"$T/ledger.json"
jq -r --argjson s "$seq0" '.entries[] | select(.seq > $s and .kind == "change.result" and .action == "move" and .result == "ok") | .after.interruption_ms / 1000' \
	"$T/ledger.json" >"$T/i-berth"
moved=$(wc -l <"$T/i-berth")
[ "$moved" = "$COUNT" ] || { echo "berth moved $moved of $COUNT"; exit 1; }

# The CLI: the same moves back to lab-1, one after another, over https.
mkdir -p "$INCUS_CONF"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 7 -subj /CN=bench \
	-keyout "$INCUS_CONF/client.key" -out "$INCUS_CONF/client.crt" 2>/dev/null
"$LAB" trust --cert "$INCUS_CONF/client.crt" --dir "$T/lab" >/dev/null
for h in lab-1 lab-2 lab-3; do
	incus remote add "$h" "$(var "$h" ENDPOINT)" --accept-certificate >/dev/null 2>&1
done
: >"$T/i-cli"
for h in lab-2 lab-3; do incus list "$h:" -c n -f csv | sed "s/\$/ $h/"; done >"$T/where"
t0=$(now)
for i in $(seq 1 "$COUNT"); do
	src=$(awk -v n="c$i" '$1 == n {print $2}' "$T/where")
	s0=$(now)
	incus stop "$src:c$i"
	incus move "$src:c$i" "lab-1:c$i" >/dev/null 2>&1
	incus start "lab-1:c$i"
	s1=$(now)
	echo "$s1 - $s0" | bc >>"$T/i-cli"
done
t1=$(now)
tc=$(echo "$t1 - $t0" | bc)

stat_line() { printf 'median %.2f s, largest %.2f s' "$(median <"$1")" "$(sort -g "$1" | tail -1)"; }
printf 'drain %d running containers off one host (cold moves)\n' "$COUNT"
printf '  berth apply (moves %s at once):    %.2f s\n' "4" "$tb"
printf '  incus stop/move/start, in turn:    %.2f s   berth is %.2fx faster\n' "$tc" "$(echo "$tc / $tb" | bc -l)"
printf '  interruption per instance: berth %s; incus %s\n' "$(stat_line "$T/i-berth")" "$(stat_line "$T/i-cli")"
