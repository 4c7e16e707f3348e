#!/usr/bin/env bash
# Integration test of contrib/lab/lab against real incusd daemons:
# up (2 hosts, a 2-member cluster, the image server), the env files, HTTPS and
# unix-socket access, certificate fingerprints, trust, an image pull between
# daemons, idempotent up, restart of a dead daemon, the registry and reap
# (a lab whose session ended is brought down, one started --persist is
# not), down (twice).
#
# Needs root, incusd, incus, busybox-static, openssl, curl and jq; exits 77
# (skipped) when they are missing.

set -euo pipefail

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB=$SOURCE_ROOT/contrib/lab/lab

T0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
step() { printf '\n=== [%s] %s\n' "$(elapsed "$T0")" "$*"; }
ok()   { printf '    ok: %s\n' "$*"; }
note() { printf '    note: %s\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root to run incusd"
for t in incus openssl curl jq busybox; do
    command -v "$t" >/dev/null 2>&1 || skip "needs $t"
done
if [[ -z ${LAB_INCUSD:-} ]] && ! command -v incusd >/dev/null 2>&1 &&
    [[ ! -x /usr/libexec/incus/incusd ]]; then
    skip "needs incusd (apt-get install -t bookworm-backports incus)"
fi
[[ -x $LAB ]] || fail "$LAB is missing or not executable"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-lab-test.XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-lab-client.XXXXXX")
DIR2=$WORK/orphan
# A registry of this test's own: reap must not touch the labs of others.
export LAB_REGISTRY=$WORK/registry
DONE=0

cleanup() {
    local rc=$?
    if ((DONE == 0)); then
        printf '\n--- test failed (rc=%s); daemon logs (tails):\n' "$rc" >&2
        local f
        for f in "$DIR"/*/incusd.log; do
            printf -- '--- %s\n' "$f" >&2
            tail -n 15 "$f" >&2 || true
        done
        if [[ -d $DIR ]]; then
            printf -- '--- tearing the lab down\n' >&2
            "$LAB" down --dir "$DIR" >&2 || true
        fi
    fi
    if [[ -d $DIR2 ]]; then
        "$LAB" down --dir "$DIR2" >&2 || rc=1
    fi
    if awk -v t="$WORK/" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        printf '%s: something is still mounted below it: left in place\n' "$WORK" >&2
        rc=1
    else
        rm -rf --one-file-system "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# GET over the unix socket / over HTTPS; print the JSON body
sock_get() { curl -sS --fail-with-body --max-time 20 --unix-socket "$1" "http://lab$2"; }
https_get() { curl -sS --max-time 20 -k "$@"; }

fp_served() {   # fingerprint of the certificate presented at https://ADDR
    local addr=${1#https://}
    openssl s_client -connect "$addr" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

envvar() {   # value of LAB_<NAME>_<FIELD> from lab.env (already sourced)
    local n=${1^^}
    n=LAB_${n//-/_}_$2
    printf '%s' "${!n:-}"
}

# pids of incusd processes whose INCUS_DIR is inside DIR
lab_incusd_pids() {
    local p cmd
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' '\n' 2>/dev/null <"$p/cmdline" | head -n1) || continue
        [[ ${cmd##*/} == incusd ]] || continue
        if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -q "^INCUS_DIR=$DIR/"; then
            printf '%s\n' "${p#/proc/}"
        fi
    done
}

wait_op() {   # socket operation-url -> prints final operation JSON
    sock_get "$1" "$2/wait?timeout=120" || true
}

# until_within SECONDS WHAT CMD...: CMD every 0.1 s until it succeeds; fail
# naming WHAT when SECONDS pass first
until_within() {
    local end=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        ((SECONDS < end)) || fail "$what: not after $1 s"
        sleep 0.1
    done
}
dead() { [[ ! -d /proc/$1 || $(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) == Z ]]; }
no_image() { ! sock_get "$1" "/1.0/images/$2" >/dev/null 2>&1; }

# the registry entry of a lab directory: "dir=... session=..."
reg_entry() { grep -lxF "dir=$1" "$LAB_REGISTRY"/*.lab 2>/dev/null | xargs -r cat | tr '\n' ' '; }
session_of() { local l; read -r l <"/proc/$1/stat"; l=${l##*) }; read -r _ _ _ l _ <<<"$l"; echo "$l"; }

# ------------------------------------------------------------------------
step "lab up --hosts 2 --cluster 2 --dir $DIR"
t=$(date +%s.%N)
"$LAB" up --hosts 2 --cluster 2 --dir "$DIR"
UP_TIME=$(elapsed "$t")
ok "lab up took $UP_TIME"

# ------------------------------------------------------------------------
step "lab.env"
[[ -f $DIR/lab.env ]] || fail "no $DIR/lab.env"
# shellcheck disable=SC1091
. "$DIR/lab.env"
[[ $LAB_DIR == "$(cd "$DIR" && pwd -P)" ]] || fail "LAB_DIR=$LAB_DIR, want $DIR"
DIR=$LAB_DIR
[[ $LAB_HOSTS == "lab-1 lab-2" ]] || fail "LAB_HOSTS='$LAB_HOSTS'"
[[ $LAB_NET =~ ^127\.[0-9]+\.[0-9]+$ ]] || fail "LAB_NET='$LAB_NET'"
ep_re='^https://127\.[0-9]+\.[0-9]+\.[0-9]+:8443$'
fp_re='^[0-9a-f]{64}$'
for h in $LAB_HOSTS $LAB_CLUSTER_MEMBERS; do
    [[ $(envvar "$h" ENDPOINT) =~ $ep_re ]] || fail "$h: bad endpoint '$(envvar "$h" ENDPOINT)'"
    [[ $(envvar "$h" ENDPOINT) == https://$LAB_NET.* ]] || fail "$h: endpoint not in $LAB_NET"
    [[ $(envvar "$h" FINGERPRINT) =~ $fp_re ]] || fail "$h: bad fingerprint"
    [[ -S $(envvar "$h" SOCKET) ]] || fail "$h: socket $(envvar "$h" SOCKET) missing"
    [[ -d $(envvar "$h" DIR) ]] || fail "$h: dir $(envvar "$h" DIR) missing"
    [[ $(envvar "$h" DIR) == "$DIR"/* ]] || fail "$h: dir not under $DIR"
    ok "$h: $(envvar "$h" ENDPOINT) $(envvar "$h" FINGERPRINT | cut -c1-16)…"
done
[[ $LAB_IMAGE_SERVER =~ $ep_re ]] || fail "bad LAB_IMAGE_SERVER '$LAB_IMAGE_SERVER'"
[[ $LAB_IMAGE_SERVER_FINGERPRINT =~ $fp_re ]] || fail "bad LAB_IMAGE_SERVER_FINGERPRINT"
[[ $LAB_CLUSTER == lab-cluster ]] || fail "LAB_CLUSTER='$LAB_CLUSTER'"
[[ $LAB_CLUSTER_MEMBERS == "lab-c1 lab-c2" ]] || fail "LAB_CLUSTER_MEMBERS='$LAB_CLUSTER_MEMBERS'"
[[ $LAB_CLUSTER_ENDPOINT =~ $ep_re ]] || fail "bad LAB_CLUSTER_ENDPOINT"
[[ $LAB_CLUSTER_FINGERPRINT =~ $fp_re ]] || fail "bad LAB_CLUSTER_FINGERPRINT"
for m in $LAB_CLUSTER_MEMBERS; do
    [[ $(envvar "$m" FINGERPRINT) == "$LAB_CLUSTER_FINGERPRINT" ]] ||
        fail "$m: fingerprint differs from the cluster's"
done
all_eps=$(for h in $LAB_HOSTS $LAB_CLUSTER_MEMBERS; do envvar "$h" ENDPOINT; echo; done; echo "$LAB_IMAGE_SERVER")
[[ $(sort <<<"$all_eps" | uniq -d) == "" ]] || fail "endpoints are not distinct"
ok "image server $LAB_IMAGE_SERVER, cluster $LAB_CLUSTER at $LAB_CLUSTER_ENDPOINT"

# ------------------------------------------------------------------------
step "lab.json"
J=$DIR/lab.json
jq -e . "$J" >/dev/null || fail "lab.json is not valid JSON"
[[ $(jq '.hosts | length' "$J") == 2 ]] || fail "lab.json: want 2 hosts"
[[ $(jq -r '[.hosts[].name] | join(" ")' "$J") == "$LAB_HOSTS" ]] || fail "lab.json: host names"
for h in $LAB_HOSTS; do
    for f in endpoint socket fingerprint dir; do
        F=${f^^}
        got=$(jq -r --arg h "$h" --arg f "$f" '.hosts[] | select(.name == $h) | .[$f]' "$J")
        [[ $got == "$(envvar "$h" "$F")" ]] || fail "lab.json: $h.$f='$got' but lab.env has '$(envvar "$h" "$F")'"
    done
    pid=$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .pid' "$J")
    [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || fail "lab.json: $h.pid '$pid' is not a live process"
done
[[ $(jq -r .image_server.endpoint "$J") == "$LAB_IMAGE_SERVER" ]] || fail "lab.json: image_server.endpoint"
[[ $(jq -r .image_server.fingerprint "$J") == "$LAB_IMAGE_SERVER_FINGERPRINT" ]] || fail "lab.json: image_server.fingerprint"
[[ $(jq -r .cluster.name "$J") == "$LAB_CLUSTER" ]] || fail "lab.json: cluster.name"
[[ $(jq -r .cluster.endpoint "$J") == "$LAB_CLUSTER_ENDPOINT" ]] || fail "lab.json: cluster.endpoint"
[[ $(jq -r .cluster.fingerprint "$J") == "$LAB_CLUSTER_FINGERPRINT" ]] || fail "lab.json: cluster.fingerprint"
[[ $(jq -r '[.cluster.members[].name] | join(" ")' "$J") == "$LAB_CLUSTER_MEMBERS" ]] || fail "lab.json: cluster.members"
ok "lab.json agrees with lab.env"

# ------------------------------------------------------------------------
step "GET /1.0 over the unix socket and over HTTPS (untrusted)"
for h in $LAB_HOSTS $LAB_CLUSTER_MEMBERS lab-images; do
    body=$(sock_get "$(envvar "$h" SOCKET)" /1.0) || fail "$h: GET /1.0 over the unix socket failed"
    [[ $(jq -r .metadata.auth <<<"$body") == trusted ]] || fail "$h: unix socket is not trusted"
    body=$(https_get "$(envvar "$h" ENDPOINT)/1.0") || fail "$h: GET /1.0 over HTTPS failed"
    [[ $(jq -r .status_code <<<"$body") == 200 ]] || fail "$h: HTTPS GET /1.0: $body"
    [[ $(jq -r .metadata.auth <<<"$body") == untrusted ]] || fail "$h: HTTPS auth is not 'untrusted': $body"
    ok "$h: unix socket trusted, https untrusted"
done
code=$(curl -sk -o /dev/null -w '%{http_code}' "$(envvar lab-1 ENDPOINT)/1.0/instances")
[[ $code == 403 ]] || fail "untrusted GET /1.0/instances gave HTTP $code, want 403"
ok "untrusted client gets 403 on /1.0/instances"

# ------------------------------------------------------------------------
step "fingerprints in lab.env match the certificates the endpoints present"
for h in $LAB_HOSTS $LAB_CLUSTER_MEMBERS lab-images; do
    served=$(fp_served "$(envvar "$h" ENDPOINT)")
    [[ $served == "$(envvar "$h" FINGERPRINT)" ]] || fail "$h: served $served, lab.env says $(envvar "$h" FINGERPRINT)"
    ok "$h: $served"
done
[[ $(fp_served "$LAB_CLUSTER_ENDPOINT") == "$LAB_CLUSTER_FINGERPRINT" ]] || fail "cluster fingerprint mismatch"
[[ $(fp_served "$LAB_IMAGE_SERVER") == "$LAB_IMAGE_SERVER_FINGERPRINT" ]] || fail "image server fingerprint mismatch"
ok "cluster and image server fingerprints"

# ------------------------------------------------------------------------
step "lab trust: a client certificate becomes trusted everywhere"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=berth-lab-test -keyout "$WORK/client.key" -out "$WORK/client.crt" 2>/dev/null ||
    fail "openssl could not create a client certificate"
"$LAB" trust --cert "$WORK/client.crt" --dir "$DIR"
"$LAB" trust --cert "$WORK/client.crt" --dir "$DIR" || fail "second lab trust (already trusted) failed"
ok "lab trust twice"
for h in $LAB_HOSTS $LAB_CLUSTER_MEMBERS lab-images; do
    body=$(https_get --cert "$WORK/client.crt" --key "$WORK/client.key" "$(envvar "$h" ENDPOINT)/1.0")
    [[ $(jq -r .metadata.auth <<<"$body") == trusted ]] || fail "$h: client cert not trusted: $body"
    ok "$h: https with client cert: auth trusted"
done

# ------------------------------------------------------------------------
step "image pull from the image server ($LAB_IMAGE_SERVER, alias $LAB_IMAGE_ALIAS)"
S1=$(envvar lab-1 SOCKET)
# 1) no certificate in the request: the pulling daemon verifies the image
#    server's TLS certificate against the system CAs, which a self-signed lab
#    (or real Incus) server certificate is not signed by.
req=$(jq -cn --arg s "$LAB_IMAGE_SERVER" --arg a "$LAB_IMAGE_ALIAS" \
    '{source: {type: "image", mode: "pull", protocol: "incus", server: $s, alias: $a}}')
op=$(curl -sS --unix-socket "$S1" -X POST -H 'Content-Type: application/json' -d "$req" http://lab/1.0/images | jq -r .operation)
res=$(wait_op "$S1" "$op")
if [[ $(jq -r .metadata.status <<<"$res") == Success ]]; then
    note "pull without 'certificate' succeeded"
    sock_get "$S1" "/1.0/images/$LAB_IMAGE_FINGERPRINT" >/dev/null || fail "image missing after pull"
    op=$(curl -sS --unix-socket "$S1" -X DELETE "http://lab/1.0/images/$LAB_IMAGE_FINGERPRINT" | jq -r .operation)
    [[ $op == /1.0/operations/* ]] || fail "lab-1: DELETE /1.0/images gave no operation"
    res=$(wait_op "$S1" "$op")
    [[ $(jq -r .metadata.status <<<"$res") == Success ]] || fail "lab-1: image delete failed: $(jq -c .metadata <<<"$res")"
    until_within 60 "lab-1: the pulled image is deleted" no_image "$S1" "$LAB_IMAGE_FINGERPRINT"
else
    note "pull without 'certificate' fails as expected: $(jq -r '.metadata.err // .error' <<<"$res")"
fi
# 2) with the image server's certificate (PEM) in source.certificate: works,
#    and the image server need not trust the pulling daemon (public image).
t=$(date +%s.%N)
req=$(jq -cn --arg s "$LAB_IMAGE_SERVER" --arg a "$LAB_IMAGE_ALIAS" --rawfile c "$LAB_IMAGE_SERVER_CERT" \
    '{source: {type: "image", mode: "pull", protocol: "incus", server: $s, alias: $a, certificate: $c}}')
op=$(curl -sS --unix-socket "$S1" -X POST -H 'Content-Type: application/json' -d "$req" http://lab/1.0/images | jq -r .operation)
[[ $op == /1.0/operations/* ]] || fail "lab-1: POST /1.0/images gave no operation"
res=$(wait_op "$S1" "$op")
[[ $(jq -r .metadata.status <<<"$res") == Success ]] || fail "lab-1: pull failed: $(jq -c .metadata <<<"$res")"
img=$(sock_get "$S1" "/1.0/images/$LAB_IMAGE_FINGERPRINT") || fail "lab-1: image $LAB_IMAGE_FINGERPRINT not there after pull"
ok "lab-1 (unix socket): pulled $(jq -r '.metadata.properties.os // "?"' <<<"$img") image ${LAB_IMAGE_FINGERPRINT:0:12} in $(elapsed "$t")"
# the same over HTTPS with the trusted client certificate, as berth would do it
E2=$(envvar lab-2 ENDPOINT)
op=$(curl -sS -k --cert "$WORK/client.crt" --key "$WORK/client.key" -X POST \
    -H 'Content-Type: application/json' -d "$req" "$E2/1.0/images" | jq -r .operation)
[[ $op == /1.0/operations/* ]] || fail "lab-2: POST /1.0/images over HTTPS gave no operation"
res=$(https_get --cert "$WORK/client.crt" --key "$WORK/client.key" "$E2$op/wait?timeout=120")
[[ $(jq -r .metadata.status <<<"$res") == Success ]] || fail "lab-2: pull failed: $(jq -c .metadata <<<"$res")"
code=$(curl -sk -o /dev/null -w '%{http_code}' --cert "$WORK/client.crt" --key "$WORK/client.key" \
    "$E2/1.0/images/$LAB_IMAGE_FINGERPRINT")
[[ $code == 200 ]] || fail "lab-2: image not there after pull (HTTP $code)"
ok "lab-2 (https, client cert): pulled image ${LAB_IMAGE_FINGERPRINT:0:12}"

# ------------------------------------------------------------------------
step "cluster $LAB_CLUSTER lists 2 members ONLINE"
C1=$(envvar lab-c1 DIR)
list=$(INCUS_DIR=$C1 INCUS_CONF=$WORK/conf incus cluster list --format csv -c ns 2>/dev/null)
while read -r l; do printf '    %s\n' "$l"; done <<<"$list"
[[ $(grep -c ',ONLINE$' <<<"$list") == 2 ]] || fail "want 2 members ONLINE"
members=$(https_get --cert "$WORK/client.crt" --key "$WORK/client.key" "$LAB_CLUSTER_ENDPOINT/1.0/cluster/members?recursion=1")
[[ $(jq -r '[.metadata[] | select(.status == "Online") | .server_name] | sort | join(" ")' <<<"$members") == "lab-c1 lab-c2" ]] ||
    fail "cluster API over HTTPS: $(jq -c '[.metadata[] | {server_name, status}]' <<<"$members")"
ok "lab-c1 and lab-c2 ONLINE (CLI and HTTPS API)"

# ------------------------------------------------------------------------
step "lab status"
"$LAB" status --dir "$DIR" | tee "$WORK/status"
[[ $(grep -c ' up$' "$WORK/status") == 5 ]] || fail "lab status: want 5 daemons up"

# ------------------------------------------------------------------------
step "lab up again is a no-op that keeps the same pids"
before=$(jq -c '[.hosts[].pid, .image_server.pid, .cluster.members[].pid]' "$J")
nproc_before=$(lab_incusd_pids | wc -l)
t=$(date +%s.%N)
"$LAB" up --hosts 2 --cluster 2 --dir "$DIR"
ok "second lab up took $(elapsed "$t")"
after=$(jq -c '[.hosts[].pid, .image_server.pid, .cluster.members[].pid]' "$J")
[[ $before == "$after" ]] || fail "pids changed: $before -> $after"
nproc_after=$(lab_incusd_pids | wc -l)
[[ $nproc_before == 5 && $nproc_after == 5 ]] || fail "incusd processes of the lab: $nproc_before before, $nproc_after after (want 5)"
ok "pids $after, 5 incusd processes"

# ------------------------------------------------------------------------
step "a dead daemon is restarted by lab up (lab-2 killed with SIGKILL, with a btrfs pool)"
S2=$(envvar lab-2 SOCKET)
if command -v mkfs.btrfs >/dev/null 2>&1; then
    # leaves a loop device and a mount behind when the daemon is killed
    res=$(curl -sS --unix-socket "$S2" -X POST -d '{"name": "bt", "driver": "btrfs", "config": {"size": "1GiB"}}' http://lab/1.0/storage-pools)
    if [[ $(jq -r .status_code <<<"$res") == 200 ]]; then
        ok "btrfs pool bt created on lab-2"
    else
        note "btrfs pool not created: $(jq -r .error <<<"$res")"
    fi
else
    note "mkfs.btrfs not installed: no btrfs pool"
fi
old=$(jq -r '.hosts[] | select(.name == "lab-2") | .pid' "$J")
kill -KILL "$old"
until_within 30 "lab-2 (pid $old) is gone after SIGKILL" dead "$old"
if "$LAB" status --dir "$DIR" >"$WORK/status"; then fail "lab status should fail with a daemon down"; fi
grep -q '^lab-2 .* down$' "$WORK/status" || fail "lab status does not show lab-2 down: $(cat "$WORK/status")"
ok "lab status shows lab-2 down"
"$LAB" up --hosts 2 --cluster 2 --dir "$DIR"
new=$(jq -r '.hosts[] | select(.name == "lab-2") | .pid' "$J")
[[ $new != "$old" && -d /proc/$new ]] || fail "lab-2 was not restarted (pid $old -> $new)"
others_after=$(jq -c '[.hosts[0].pid, .image_server.pid, .cluster.members[].pid]' "$J")
[[ $others_after == "$(jq -c '[.[0], .[2], .[3], .[4]]' <<<"$after")" ]] || fail "other daemons were restarted too"
sock_get "$S2" /1.0 >/dev/null || fail "lab-2 does not answer after restart"
[[ $(https_get "$(envvar lab-2 ENDPOINT)/1.0" | jq -r .metadata.auth) == untrusted ]] || fail "lab-2 https after restart"
ok "lab-2 restarted: pid $old -> $new, other pids unchanged"

# ------------------------------------------------------------------------
step "the registry: a lab is registered with the session that started it"
[[ $(reg_entry "$DIR") == "dir=$DIR session=$(session_of $$) " ]] ||
    fail "registry entry of $DIR: '$(reg_entry "$DIR")', want our session $(session_of $$)"
ok "$DIR registered with session $(session_of $$)"

step "lab reap: a lab whose session ended goes down, the others stay"
# A second lab (the image server only) started --persist from a session
# that ends at once: reap leaves it alone.
setsid -w "$LAB" up --hosts 0 --dir "$DIR2" --persist >"$WORK/orphan.log" 2>&1 ||
    fail "lab up --persist in a session of its own: $(tail -5 "$WORK/orphan.log")"
[[ $(reg_entry "$DIR2") == "dir=$DIR2 session= " ]] || fail "--persist registry entry: '$(reg_entry "$DIR2")'"
orphan=$(cat "$DIR2/lab-images/pid")
"$LAB" reap
[[ -d $DIR2 ]] && ! dead "$orphan" || fail "reap brought down a lab started --persist"
ok "a lab started --persist is not reaped"
# Started again without --persist from a session that ends: reaped.
setsid -w "$LAB" up --hosts 0 --dir "$DIR2" >>"$WORK/orphan.log" 2>&1 ||
    fail "lab up in a session of its own: $(tail -5 "$WORK/orphan.log")"
[[ $(cat "$DIR2/lab-images/pid") == "$orphan" ]] || fail "the second up restarted the image server"
"$LAB" reap | tee "$WORK/reap.log"
grep -qF "$DIR2: the session that started it" "$WORK/reap.log" || fail "reap does not name $DIR2"
[[ ! -e $DIR2 ]] || fail "reap left $DIR2"
until_within 30 "the reaped lab's incusd (pid $orphan) is gone" dead "$orphan"
[[ -z $(reg_entry "$DIR2") ]] || fail "the reaped lab is still registered"
for p in $(jq -r '.hosts[].pid, .image_server.pid, .cluster.members[].pid' "$J"); do
    ! dead "$p" || fail "reap stopped pid $p of the lab of this (live) session"
done
[[ -n $(reg_entry "$DIR") ]] || fail "reap unregistered the lab of this (live) session"
ok "reaped the orphan; this session's lab still runs"

# ------------------------------------------------------------------------
step "lab down"
t=$(date +%s.%N)
"$LAB" down --dir "$DIR"
DOWN_TIME=$(elapsed "$t")
[[ -z $(lab_incusd_pids) ]] || fail "incusd still running for $DIR: $(lab_incusd_pids | tr '\n' ' ')"
for p in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$DIR/"; then
        fail "process ${p#/proc/} still refers to $DIR: $(tr '\0' ' ' <"$p/cmdline")"
    fi
done
ok "no process of the lab left"
if awk '{ print $5 }' /proc/self/mountinfo | grep -qF "$DIR"; then
    fail "still mounted: $(awk '{ print $5 }' /proc/self/mountinfo | grep -F "$DIR")"
fi
ok "nothing mounted under $DIR"
if losetup -l -n -O BACK-FILE 2>/dev/null | grep -qF "$DIR"; then
    fail "loop devices left: $(losetup -l -n -O NAME,BACK-FILE | grep -F "$DIR")"
fi
ok "no loop device backed by a file in $DIR"
[[ ! -e $DIR ]] || fail "$DIR still exists"
ok "$DIR removed (lab down took $DOWN_TIME)"
[[ -z $(reg_entry "$DIR") ]] || fail "$DIR is still registered after down"
ok "$DIR unregistered"

step "lab down again"
"$LAB" down --dir "$DIR" || fail "second lab down failed"
ok "second lab down succeeded"

DONE=1
step "PASS (lab up $UP_TIME, lab down $DOWN_TIME, total $(elapsed "$T0"))"
