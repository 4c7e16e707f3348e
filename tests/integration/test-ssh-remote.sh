#!/usr/bin/env bash
# A git remote over SSH, served by a real sshd on loopback: berth checks the
# server's host key against known_hosts as ssh does. An unknown host is
# refused with its key's SHA256 fingerprint and the line to add; a changed
# key is refused as a possible attack; a plain or a hashed entry lets the
# fetch through; --known-hosts wins over BERTH_KNOWN_HOSTS. Without an
# agent, a deploy key (--ssh-key) is used, and refused when others may read it.
. "$(dirname "$0")/lib.sh"
# Under the sanitizer build: libgit2's SSH transport leaks (tests/lsan.supp).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SOURCE_ROOT/tests/lsan.supp:print_suppressions=0"

if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v ssh-agent >/dev/null; then
	echo "needs root, sshd and ssh-agent (contrib/deps.sh installs openssh-server)"; exit 77
fi
SSHD_PID=
test_cleanup() {
	[ -z "$SSHD_PID" ] || kill "$SSHD_PID" 2>/dev/null
	[ -z "${SSH_AGENT_PID:-}" ] || kill "$SSH_AGENT_PID" 2>/dev/null
}
unset BERTH_KNOWN_HOSTS

# The repository, bare, as a server holds it.
R=$T/work
new_repo "$R"
cp -r "$SOURCE_ROOT/examples/fleet/." "$R/"
commit "$R" fleet
git clone -q --bare "$R" "$T/fleet.git"

# sshd on loopback with a host key of its own; berth's key in an agent.
chmod 0711 "$T"
ssh-keygen -q -t ed25519 -N '' -C host -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -C berth -f "$T/id"
cp "$T/id.pub" "$T/authorized_keys"
chmod 0600 "$T/authorized_keys"
PORT=$((20000 + RANDOM % 20000))
cat > "$T/sshd_config" <<X
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
X
mkdir -p /run/sshd
/usr/sbin/sshd -f "$T/sshd_config" -D -e 2>"$T/sshd.log" &
SSHD_PID=$!
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
wait_for 30 "sshd listens on $PORT" listening
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$T/id"
URL="ssh://root@127.0.0.1:$PORT$T/fleet.git"
fp=$(ssh-keygen -lf "$T/hostkey.pub" | cut -d' ' -f2)
line="[127.0.0.1]:$PORT ssh-ed25519 $(cut -d' ' -f2 "$T/hostkey.pub")"

# Unknown: refused, with the fingerprint and the line to add.
: > "$T/known_hosts"
expect "an unknown host is refused" 1 env BERTH_KNOWN_HOSTS="$T/known_hosts" "$BERTH" --repo "$URL" validate
has "with its fingerprint" "$T/err" "the SSH host 127.0.0.1 is not in $T/known_hosts: its ssh-ed25519 key is $fp"
has "and the line to add" "$T/err" "add this line: $line"
[ ! -e "$BERTH_STATE/cache" ] || [ -z "$(find "$BERTH_STATE/cache" -name '*.pack')" ] &&
	pass "nothing fetched" || fail "objects fetched from an unknown host"

# Known: the fetch goes through.
echo "$line" > "$T/known_hosts"
expect "a known host" 0 env BERTH_KNOWN_HOSTS="$T/known_hosts" "$BERTH" --repo "$URL" validate
has "it validates" "$T/err" "valid at commit"

# Hashed, as ssh-keygen -H writes it: known too.
cp "$T/known_hosts" "$T/hashed"
ssh-keygen -q -H -f "$T/hashed" >/dev/null 2>&1
grep -q '^|1|' "$T/hashed" && pass "entry hashed" || fail "ssh-keygen -H hashed nothing"
expect "a hashed entry" 0 env BERTH_KNOWN_HOSTS="$T/hashed" "$BERTH" --repo "$URL" validate

# Changed: another key for that host is a possible attack.
ssh-keygen -q -t ed25519 -N '' -C other -f "$T/other"
echo "[127.0.0.1]:$PORT ssh-ed25519 $(cut -d' ' -f2 "$T/other.pub")" > "$T/changed"
expect "a changed key is refused" 1 env BERTH_KNOWN_HOSTS="$T/changed" "$BERTH" --repo "$URL" validate
has "as a possible attack" "$T/err" "the SSH host key of 127.0.0.1 has changed (ssh-ed25519 $fp): someone may be impersonating the server"

# --known-hosts wins over the environment.
expect "--known-hosts over BERTH_KNOWN_HOSTS" 0 env BERTH_KNOWN_HOSTS="$T/changed" "$BERTH" --known-hosts "$T/known_hosts" --repo "$URL" validate

# A timer has no agent: a deploy key, readable by its owner only.
kill "$SSH_AGENT_PID"; SSH_AGENT_PID=
unset SSH_AUTH_SOCK
export BERTH_KNOWN_HOSTS=$T/known_hosts
expect "without an agent or a key, no credentials" 1 "$BERTH" --repo "$URL" validate
expect "with --ssh-key" 0 "$BERTH" --ssh-key "$T/id" --repo "$URL" validate
expect "with BERTH_SSH_KEY" 0 env BERTH_SSH_KEY="$T/id" "$BERTH" --repo "$URL" validate
chmod 0644 "$T/id"
expect "a key others can read is refused" 1 "$BERTH" --ssh-key "$T/id" --repo "$URL" validate
has "and says why" "$T/err" "ssh key \"$T/id\" is mode 0644: want it readable by its owner only (chmod 600)"
finish
