#!/usr/bin/env bash
# bench-plan - a no-op `berth plan` on 8 lab daemons with 200 plan profiles
# and 50 instances (stopped busybox containers, declared in git) each, against
#   (a) the same objects read one GET per object, sequentially, the way
#       per-resource tools do (one curl per profile);
#   (b) the floor: the same recursion=1 GETs berth issues, sent concurrently
#       by one curl process, with no processing.
# Goals: at least 10x faster than (a), at most 1.5x (b). Prints the three
# times (berth and (b): medians of ROUNDS rounds that alternate them) and
# the ratios, and the spread of the rounds. Not a test: run it by hand,
# as root, after building:  tests/bench/bench-plan.sh [BUILDDIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
berth=$build/src/berth
HOSTS=${HOSTS:-8}
PLANS=${PLANS:-200}
INSTANCES=${INSTANCES:-50}	# per host
ROUNDS=${ROUNDS:-9}
T=$(mktemp -d /tmp/berth-bench-plan.XXXXXX)
chmod 0711 "$T"
trap '"$top/contrib/lab/lab" down --dir "$T/lab" >/dev/null 2>&1 && rm -rf --one-file-system "$T"' EXIT
export BERTH_STATE=$T/state NO_COLOR=1

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "starting $HOSTS lab daemons"
"$top/contrib/lab/lab" up --hosts "$HOSTS" --dir "$T/lab" >/dev/null
. "$T/lab/lab.env"

# The fleet: every host in one pool, PLANS plans.
R=$T/fleet
mkdir -p "$R"
for h in $LAB_HOSTS; do
	v=LAB_$(echo "$h" | tr 'a-z-' 'A-Z_')
	ep=${v}_ENDPOINT fp=${v}_FINGERPRINT
	printf -- '---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: %s, labels: {site: lab}}\nspec:\n  endpoint: %s\n  fingerprint: "%s"\n  os: debian-12\n  capacity: {cpu: 64, memory: 256GiB, disk: 4TiB}\n  storage_pools: [{name: incus, driver: dir}]\n' \
		"$h" "${!ep}" "${!fp}" >> "$R/hosts.yaml"
done
printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\nspec: {hosts: {labels: {site: lab}}, storage_pool: incus, require_agent: false}\n' > "$R/pool.yaml"
printf -- '---\napiVersion: berth/v1\nkind: Image\nmetadata: {name: busybox}\nspec: {source: {server: "%s", protocol: incus, alias: busybox, server_fingerprint: "%s"}, pools: [lab], auto_update: false}\n' \
	"$LAB_IMAGE_SERVER" "$LAB_IMAGE_SERVER_FINGERPRINT" >> "$R/pool.yaml"
printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: tiny}\nspec: {pool: lab, type: container, cpu: 1, memory: 64MiB, disk: 100MiB, images: [busybox], price: {amount: "1.00", currency: EUR, cycle: monthly}}\n' >> "$R/pool.yaml"
for h in $LAB_HOSTS; do
	for i in $(seq 1 "$INSTANCES"); do
		printf -- '---\napiVersion: berth/v1\nkind: Instance\nmetadata: {name: %s-i%d}\nspec: {plan: tiny, image: busybox, host: %s, state: stopped}\n' "$h" "$i" "$h"
	done
done > "$R/instances.yaml"
for i in $(seq 1 "$PLANS"); do
	printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: p%d}\nspec: {pool: lab, type: container, cpu: %d, memory: %dMiB, disk: %dGiB, price: {amount: "%d.00", currency: EUR, cycle: monthly}}\n' \
		"$i" $((1 + i % 8)) $((256 * (1 + i % 16))) $((1 + i % 50)) $((1 + i % 40)) >> "$R/plans.yaml"
done
git -C "$R" -c init.defaultBranch=main init -q
git -C "$R" add -A
git -C "$R" -c user.name=bench -c user.email=bench@berth.invalid commit -qm fleet

# Trust berth's certificate, then converge with berth apply.
"$berth" --repo "$R" host trust-command lab-1 >/dev/null   # creates the identity
"$top/contrib/lab/lab" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null
echo "converging $HOSTS x ($PLANS profiles + $INSTANCES instances)"
"$berth" --repo "$R" -q apply --auto-approve >/dev/null
if ! "$berth" --repo "$R" plan --detailed-exitcode >"$T/noop" 2>&1; then
	echo "the fleet did not converge:"; tail -5 "$T/noop"; exit 1
fi
tail -1 "$T/noop"

# (a) one GET per object, sequentially, over https with berth's certificate.
curl_https() { curl -sf --cert "$BERTH_STATE/client.crt" --key "$BERTH_STATE/client.key" -k "$@"; }
t0=$(now)
for h in $LAB_HOSTS; do
	v=LAB_$(echo "$h" | tr 'a-z-' 'A-Z_')_ENDPOINT
	curl_https "${!v}/1.0/storage-pools/incus" >/dev/null
	for i in $(seq 1 "$PLANS"); do
		curl_https "${!v}/1.0/profiles/plan-p$i" >/dev/null
	done
	for i in $(seq 1 "$INSTANCES"); do
		curl_https "${!v}/1.0/instances/$h-i$i" >/dev/null
	done
done
t1=$(now)
echo "$t1 - $t0" | bc > "$T/t-a"

# (b) the floor: berth's requests, concurrently, no processing.
urls=()
for h in $LAB_HOSTS; do
	v=LAB_$(echo "$h" | tr 'a-z-' 'A-Z_')_ENDPOINT
	for p in "/1.0" "/1.0/storage-pools?recursion=1" "/1.0/projects?recursion=1" \
		"/1.0/profiles?recursion=1&all-projects=true" "/1.0/images?recursion=1&all-projects=true" \
		"/1.0/instances?recursion=1&all-projects=true" "/1.0/resources"; do
		urls+=("${!v}$p" -o /dev/null)
	done
done
# berth (the whole plan command: manifests from git, observation, plan,
# render) and the floor, round by round, so that what else loads the
# machine (the daemons share its cores) weighs on both alike.
: >"$T/r-berth"; : >"$T/r-b"
for r in $(seq "$ROUNDS"); do
	t0=$(now); "$berth" --repo "$R" plan >/dev/null; t1=$(now)
	echo "$t1 - $t0" | bc >>"$T/r-berth"
	t0=$(now); curl_https --no-progress-meter --parallel --parallel-max 16 "${urls[@]}"; t1=$(now)
	echo "$t1 - $t0" | bc >>"$T/r-b"
done
median <"$T/r-berth" >"$T/t-berth"
median <"$T/r-b" >"$T/t-b"
spread() { sort -g "$1" | awk 'NR == 1 {a = $1} {b = $1} END {printf "%.3f to %.3f s", a, b}'; }

tb=$(cat "$T/t-berth"); ta=$(cat "$T/t-a"); tf=$(cat "$T/t-b")
printf '%d hosts x (%d plan profiles + %d instances), no-op plan (median of %d)\n' "$HOSTS" "$PLANS" "$INSTANCES" "$ROUNDS"
printf '  berth plan:                        %.3f s\n' "$tb"
printf '  (a) one GET per object, sequential: %.3f s   berth is %.1fx faster (goal >= 10x)\n' "$ta" "$(echo "$ta / $tb" | bc -l)"
printf '  (b) floor, concurrent recursion=1:  %.3f s   berth is %.2fx the floor (goal <= 1.5x)\n' "$tf" "$(echo "$tb / $tf" | bc -l)"
printf '  rounds: berth %s, floor %s\n' "$(spread "$T/r-berth")" "$(spread "$T/r-b")"
