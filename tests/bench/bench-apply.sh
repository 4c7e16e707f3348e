#!/usr/bin/env bash
# bench-apply - `berth apply` creating 1,000 profiles spread over 8 lab
# daemons (PLANS plans x HOSTS daemons), against the built-in declarative
# tool: `incus admin init --preseed` applying the same profiles (exactly
# the plan's "after" objects) to each daemon, one daemon after another.
# Goal: berth at least 3x faster. Also timed, as the floor: the same POSTs
# with no processing, one curl per daemon (one connection each, requests
# in turn), the 8 curls at once -- berth's shape minus its own work. Both sides start from the same state:
# storage pools present (created by an untimed first apply), no plan
# profiles (deleted over the unix socket between rounds). Prints the
# times (median of ROUNDS runs each), the ratio, and the CPU time the
# daemons spent on each side (from /proc/PID/stat): the floor's daemon CPU
# divided by the machine's cores is a lower bound on any client's time.
# Not a test: run it by hand, as root, after building:
#   tests/bench/bench-apply.sh [BUILDDIR]
# Environment: HOSTS (8), PLANS (125), ROUNDS (3), PARALLEL (berth's
# --parallel; unset: berth's default), BERTH_FLAGS (extra apply flags),
# HOST_CPU (unset: the daemons share the machine; a number such as 0.25:
# each daemon gets at most that many cores through its own cpu cgroup, as
# if every host were a machine of its own -- a model, said so in the output).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
berth=$build/src/berth
LAB=$top/contrib/lab/lab
HOSTS=${HOSTS:-8}
PLANS=${PLANS:-125}
ROUNDS=${ROUNDS:-3}
HOST_CPU=${HOST_CPU:-}
T=$(mktemp -d /tmp/berth-bench-apply.XXXXXX)
chmod 0711 "$T"
CG=
uncg() { [ -z "$CG" ] || { for d in "$CG"/*/; do rmdir "$d" 2>/dev/null || true; done; rmdir "$CG" 2>/dev/null || true; }; }
trap 'if "$LAB" down --dir "$T/lab" >/dev/null 2>&1; then uncg; rm -rf --one-file-system "$T"; else uncg; fi' EXIT
export BERTH_STATE=$T/state NO_COLOR=1

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
var() { local v="LAB_$(echo "$1" | tr 'a-z-' 'A-Z_')_$2"; printf '%s' "${!v}"; }
die() { echo "bench-apply: $*" >&2; exit 1; }

echo "starting $HOSTS lab daemons"
"$LAB" up --hosts "$HOSTS" --dir "$T/lab" >"$T/lab.log" 2>&1 || { cat "$T/lab.log"; exit 1; }
. "$T/lab/lab.env"
pids() { local h; for h in $LAB_HOSTS; do var "$h" PID; echo; done; }
# CPU time (user + system, in clock ticks) of the lab's daemons so far.
cpu() { local s=0 p; for p in $(pids); do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$s"; }
ticks=$(getconf CLK_TCK)
cores=$(nproc)

# HOST_CPU: every daemon in a cpu cgroup of its own with a quota.
if [ -n "$HOST_CPU" ]; then
	quota=$(echo "$HOST_CPU * 100000 / 1" | bc)
	[ "$quota" -ge 1000 ] || die "HOST_CPU=$HOST_CPU: want a number of cores such as 0.25"
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		CG=/sys/fs/cgroup/berth-bench-$$
		grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
	elif [ -d /sys/fs/cgroup/cpu ]; then
		CG=/sys/fs/cgroup/cpu/berth-bench-$$
	else
		die "HOST_CPU needs a cpu cgroup controller (cgroup v2, or v1 at /sys/fs/cgroup/cpu)"
	fi
	mkdir "$CG"
	for h in $LAB_HOSTS; do
		mkdir "$CG/$h"
		if [ -f "$CG/$h/cpu.max" ]; then echo "$quota 100000" > "$CG/$h/cpu.max"
		else echo 100000 > "$CG/$h/cpu.cfs_period_us"; echo "$quota" > "$CG/$h/cpu.cfs_quota_us"; fi
		var "$h" PID > "$CG/$h/cgroup.procs"
	done
	echo "each daemon limited to $HOST_CPU cores (a model of hosts on machines of their own)"
fi

# The fleet: every host in one pool with a dir storage pool; the plans come
# in a second commit so that the first apply creates only the pools.
R=$T/fleet
mkdir -p "$R"
for h in $LAB_HOSTS; do
	printf -- '---\napiVersion: berth/v1\nkind: Host\nmetadata: {name: %s, labels: {site: lab}}\nspec:\n  endpoint: %s\n  fingerprint: "%s"\n  os: debian-12\n  capacity: {cpu: 64, memory: 256GiB, disk: 4TiB}\n  storage_pools: [{name: incus, driver: dir}]\n' \
		"$h" "$(var "$h" ENDPOINT)" "$(var "$h" FINGERPRINT)" >> "$R/hosts.yaml"
done
printf 'apiVersion: berth/v1\nkind: Pool\nmetadata: {name: lab}\nspec: {hosts: {labels: {site: lab}}, storage_pool: incus}\n' > "$R/pool.yaml"
git -C "$R" -c init.defaultBranch=main init -q
git -C "$R" add -A
git -C "$R" -c user.name=bench -c user.email=bench@berth.invalid commit -qm hosts

"$berth" --repo "$R" host trust-command lab-1 >/dev/null   # creates the identity
"$LAB" trust --cert "$BERTH_STATE/client.crt" --dir "$T/lab" >/dev/null

# Untimed: the storage pools.
"$berth" --repo "$R" apply --auto-approve >"$T/pools.out" 2>&1 || { cat "$T/pools.out"; die "creating the storage pools failed"; }

for i in $(seq 1 "$PLANS"); do
	printf -- '---\napiVersion: berth/v1\nkind: Plan\nmetadata: {name: p%d}\nspec: {pool: lab, type: container, cpu: %d, memory: %dMiB, disk: %dGiB, price: {amount: "%d.00", currency: EUR, cycle: monthly}}\n' \
		"$i" $((1 + i % 8)) $((256 * (1 + i % 16))) $((1 + i % 50)) $((1 + i % 40)) >> "$R/plans.yaml"
done
git -C "$R" add -A
git -C "$R" -c user.name=bench -c user.email=bench@berth.invalid commit -qm plans

# What berth will send: the plan's "after" objects, one preseed per daemon
# (JSON is YAML: {"profiles": [...]}).
"$berth" --repo "$R" plan --format json > "$T/plan.json"
total=$(jq '[.actions[] | select(.action == "create" and .object == "profile")] | length' "$T/plan.json")
others=$(jq '[.actions[] | select(.action != "create" or .object != "profile") | select(.action == "create" or .action == "update" or .action == "delete")] | length' "$T/plan.json")
[ "$total" = $((HOSTS * PLANS)) ] || die "the plan creates $total profiles, want $((HOSTS * PLANS))"
[ "$others" = 0 ] || die "the plan has $others changes besides the profiles"
for h in $LAB_HOSTS; do
	jq -c --arg h "$h" '{profiles: [.actions[] | select(.action == "create" and .object == "profile" and .server == $h) | .after]}' \
		"$T/plan.json" > "$T/preseed-$h.yaml"
	mkdir -p "$T/body/$h"
	jq -c '.profiles[]' "$T/preseed-$h.yaml" | awk -v d="$T/body/$h" '{f = d "/" (NR - 1) ".json"; print > f; close(f)}'
done

# The plan profiles on daemon h (count), and deleting them (one curl per
# daemon, keep-alive, all DELETEs on one connection).
count() { curl -sf --unix-socket "$(var "$1" SOCKET)" 'http://incus/1.0/profiles' | jq '[.metadata[] | select(test("/plan-"))] | length'; }
clean() {
	local h names args
	for h in $LAB_HOSTS; do
		names=$(curl -sf --unix-socket "$(var "$h" SOCKET)" 'http://incus/1.0/profiles' | jq -r '.metadata[] | select(test("/plan-")) | sub(".*/"; "")')
		[ -n "$names" ] || continue
		args=()
		for n in $names; do args+=("http://incus/1.0/profiles/$n" -o /dev/null); done
		curl -sf --unix-socket "$(var "$h" SOCKET)" -X DELETE "${args[@]}"
	done
	for h in $LAB_HOSTS; do [ "$(count "$h")" = 0 ] || die "profiles left on $h after cleaning"; done
}
counted() {
	local h n sum=0
	for h in $LAB_HOSTS; do n=$(count "$h"); [ "$n" = "$PLANS" ] || die "$1: $h has $n plan profiles, want $PLANS"; sum=$((sum + n)); done
	echo "$sum"
}

# The floor: POST /1.0/profiles for every body, over https with berth's
# certificate, one curl per daemon, all daemons at once.
floor() {
	local h ep i n args
	for h in $LAB_HOSTS; do
		ep=$(var "$h" ENDPOINT); args=(); n=$(jq '.profiles | length' "$T/preseed-$h.yaml")
		for i in $(seq 0 $((n - 1))); do
			[ "$i" = 0 ] || args+=(--next)
			args+=(-sf --cert "$BERTH_STATE/client.crt" --key "$BERTH_STATE/client.key" -k -o /dev/null
			       -H 'Content-Type: application/json' --data-binary "@$T/body/$h/$i.json" "$ep/1.0/profiles")
		done
		curl "${args[@]}" &
	done
	wait
}

apply_flags=(--auto-approve)
[ -n "${PARALLEL:-}" ] && apply_flags+=(--parallel "$PARALLEL")
# shellcheck disable=SC2206
[ -n "${BERTH_FLAGS:-}" ] && apply_flags+=($BERTH_FLAGS)

echo "applying $total profiles ($HOSTS daemons x $PLANS), $ROUNDS rounds per side"
: > "$T/t-berth"; : > "$T/t-preseed"; : > "$T/t-floor"
: > "$T/c-berth"; : > "$T/c-preseed"; : > "$T/c-floor"
for r in $(seq "$ROUNDS"); do
	# berth, from no plan profiles.
	clean
	c0=$(cpu)
	t0=$(now)
	"$berth" --repo "$R" apply "${apply_flags[@]}" >"$T/apply.out" 2>"$T/apply.err" || { tail -5 "$T/apply.out" "$T/apply.err"; die "berth apply failed"; }
	t1=$(now)
	echo "($(cpu) - $c0) / $ticks" | bc -l >> "$T/c-berth"
	tb=$(echo "$t1 - $t0" | bc)
	echo "$tb" >> "$T/t-berth"
	grep -q "Apply: $total done, 0 failed" "$T/apply.out" || { tail -3 "$T/apply.out"; die "berth apply did not do $total changes"; }
	"$berth" --repo "$R" plan --detailed-exitcode >"$T/noop" 2>&1 || { tail -5 "$T/noop"; die "the plan after berth apply is not clean"; }
	nb=$(counted berth)

	# incus admin init --preseed, daemon after daemon.
	clean
	c0=$(cpu)
	t0=$(now)
	for h in $LAB_HOSTS; do
		INCUS_DIR=$(var "$h" DIR) incus admin init --preseed < "$T/preseed-$h.yaml" || die "preseed on $h failed"
	done
	t1=$(now)
	echo "($(cpu) - $c0) / $ticks" | bc -l >> "$T/c-preseed"
	tp=$(echo "$t1 - $t0" | bc)
	echo "$tp" >> "$T/t-preseed"
	np=$(counted preseed)
	# The preseed wrote what berth would have: the plan is clean again.
	"$berth" --repo "$R" plan --detailed-exitcode >"$T/noop2" 2>&1 || { tail -5 "$T/noop2"; die "the plan after the preseed is not clean"; }

	# The floor.
	clean
	c0=$(cpu)
	t0=$(now); floor; t1=$(now)
	echo "($(cpu) - $c0) / $ticks" | bc -l >> "$T/c-floor"
	tf=$(echo "$t1 - $t0" | bc)
	echo "$tf" >> "$T/t-floor"
	nf=$(counted floor)
	printf '  round %d: berth %.3f s (%d profiles), preseed %.3f s (%d), floor %.3f s (%d)\n' \
		"$r" "$tb" "$nb" "$tp" "$np" "$tf" "$nf"
done

tb=$(median < "$T/t-berth"); tp=$(median < "$T/t-preseed"); tf=$(median < "$T/t-floor")
cb=$(median < "$T/c-berth"); cp=$(median < "$T/c-preseed"); cf=$(median < "$T/c-floor")
ratio=$(echo "$tp / $tb" | bc -l)
printf '%d profiles on %d daemons (%d plans), from empty (median of %d)%s\n' "$total" "$HOSTS" "$PLANS" "$ROUNDS" \
	"${HOST_CPU:+, each daemon limited to $HOST_CPU cores (model)}"
printf '  berth apply:                          %.3f s   (daemons'"'"' CPU %.2f s)\n' "$tb" "$cb"
printf '  incus admin init --preseed, serially: %.3f s   (daemons'"'"' CPU %.2f s)\n' "$tp" "$cp"
if [ "$(echo "$ratio >= 3" | bc -l)" = 1 ]; then goal="goal met"; else goal="goal NOT met"; fi
printf '  floor (bare POSTs, daemons at once):  %.3f s   (daemons'"'"' CPU %.2f s; preseed / floor = %.2fx)\n' \
	"$tf" "$cf" "$(echo "$tp / $tf" | bc -l)"
if [ -z "$HOST_CPU" ]; then
	printf '  the daemons'"'"' CPU for the bare POSTs over %d cores: %.3f s, no client can be faster here (preseed / that = %.2fx)\n' \
		"$cores" "$(echo "$cf / $cores" | bc -l)" "$(echo "$tp * $cores / $cf" | bc -l)"
fi
printf '  berth is %.2fx faster than the preseed (goal >= 3x): %s; %.2fx the floor\n' \
	"$ratio" "$goal" "$(echo "$tb / $tf" | bc -l)"
