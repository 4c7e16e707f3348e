#!/usr/bin/env bash
# berth host install-command on a new Debian 12 host. The script runs in a
# chroot of a fresh Debian 12 (debootstrap --variant=minbase, cached under
# the build directory) as root, against a real lab daemon whose directory
# is bind-mounted as the chroot's /var/lib/incus, its incus client copied
# in: for the script Incus is installed, so its Incus install step is not
# run here (that would download Incus and need a daemon inside the chroot).
# berth comes from a .deb built here from the berth under test and served
# on loopback (--package-url). systemd is not PID 1 in the chroot: the unit
# is enabled, not started, and the script says so. Checked: the option
# errors; the refusals (not root, Debian 11 and 10, Ubuntu 20.04, Ubuntu
# 22.04 without Incus, another system, no /etc/os-release, no berth and no
# --package-url), which change nothing; a first run (package, trust, https
# address, user, key, agent.env, unit) with berth then planning over
# https; a second run that changes nothing; the manifest's key compared;
# Debian 13 and Ubuntu 22.04 and 24.04 with Incus installed accepted.
BERTH_BIN=${BERTH:?set BERTH to the berth binary}	# the binary itself, for the chroot
. "$(dirname "$0")/lib.sh"

# The options, on a fleet that needs no lab.
C=$T/cli
new_repo "$C"
cat > "$C/hosts.yaml" <<'X'
apiVersion: berth/v1
kind: Host
metadata: {name: nix-01}
spec:
  endpoint: https://10.0.0.5:9443
  fingerprint: "1111111111111111111111111111111111111111111111111111111111111111"
  os: debian-12
  capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}
---
apiVersion: berth/v1
kind: Host
metadata: {name: local-1}
spec:
  endpoint: unix:///var/lib/incus/unix.socket
  os: debian-12
  capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}
---
apiVersion: berth/v1
kind: Host
metadata: {name: v6-1}
spec:
  endpoint: https://[fd00::5]:7443
  fingerprint: "3333333333333333333333333333333333333333333333333333333333333333"
  os: debian-12
  capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}
---
apiVersion: berth/v1
kind: Host
metadata: {name: np-1}
spec:
  endpoint: https://[fd00::6]
  fingerprint: "4444444444444444444444444444444444444444444444444444444444444444"
  os: debian-12
  capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}
---
apiVersion: berth/v1
kind: Cluster
metadata: {name: cl}
spec:
  endpoint: https://10.0.1.1:8443
  fingerprint: "2222222222222222222222222222222222222222222222222222222222222222"
---
apiVersion: berth/v1
kind: Host
metadata: {name: cl-1}
spec:
  endpoint: https://10.0.1.1:8443
  fingerprint: "2222222222222222222222222222222222222222222222222222222222222222"
  cluster: cl
  os: debian-12
  capacity: {cpu: 4, memory: 8GiB, disk: 100GiB}
X
commit "$C" fleet
ic() { "$BERTH" --repo "$C" host install-command "$@"; }
expect "install-command wants --server" 1 ic nix-01
has "and says so" "$T/err" "install-command: want --server URL"
expect "a server URL with a quote is refused" 1 ic nix-01 --server "https://x'y"
has "naming the character" "$T/err" "--server: want letters, digits and -._~:/?#[]@!&*+,;=% only, have ''' in"
expect "a server URL that is not http(s) is refused" 1 ic nix-01 --server ftp://x
has "and says what it wants" "$T/err" '--server: want an http:// or https:// URL, have "ftp://x"'
expect "--package-url without --package-sha256 is refused" 1 ic nix-01 --server https://p --package-url https://d/b.deb
has "and says so" "$T/err" "--package-sha256: want the package's SHA-256, 64 hex digits"
expect "--package-sha256 without --package-url is refused" 1 ic nix-01 --server https://p --package-sha256 "$(printf '%064d' 0)"
has "and says so" "$T/err" "--package-sha256: want it with --package-url"
expect "an unknown host is refused" 1 ic nix-02 --server https://p
has "and named" "$T/err" 'unknown host "nix-02"'
expect "a cluster is refused" 1 ic cl --server https://p
has "with what to do" "$T/err" '"cl" is a Cluster: want the name of a Host (run install-command for each member)'
expect "trust-command takes no --server" 1 "$BERTH" --repo "$C" host trust-command nix-01 --server https://p
expect "install-command prints a script" 0 ic nix-01 --server https://panel.example:8443
cp "$T/out" "$T/nix-01.sh"
has "Incus listens on the endpoint's port by default" "$T/nix-01.sh" "berth_incus_listen=':9443'"
has "the script knows the manifest's fingerprint" "$T/nix-01.sh" "berth_manifest_fp='1111111111111111111111111111111111111111111111111111111111111111'"
has "the script carries the server URL" "$T/nix-01.sh" "berth_server='https://panel.example:8443'"
has "and berth's certificate" "$T/nix-01.sh" "$(head -n 1 "$BERTH_STATE/client.crt")"
if sh -n "$T/nix-01.sh"; then pass "the script is valid sh"; else fail "the script is valid sh"; fi
if command -v shellcheck >/dev/null; then
	shellcheck -s sh "$T/nix-01.sh" >"$T/sc" 2>&1 && pass "shellcheck finds nothing" ||
		{ fail "shellcheck:"; sed 's/^/    | /;1,30p' "$T/sc"; }
fi
expect "install-command for a host on IPv6" 0 ic v6-1 --server https://p
has "listens on its endpoint's port" "$T/out" "berth_incus_listen=':7443'"
expect "install-command for a host without a port" 0 ic np-1 --server https://p
has "listens on Incus's port" "$T/out" "berth_incus_listen=':8443'"
expect "install-command for a host on a unix socket" 0 ic local-1 --server https://p
has "leaves core.https_address alone" "$T/out" "berth_incus_listen=''"
expect "install-command for a cluster member" 0 ic cl-1 --server https://p
has "leaves the cluster's address alone" "$T/out" "berth_incus_listen=''"
has "trusts through the cluster certificate" "$T/out" '/cluster.crt"'
expect "--incus-listen is taken" 0 ic nix-01 --server https://p --incus-listen 10.0.0.5:8443
has "as given" "$T/out" "berth_incus_listen='10.0.0.5:8443'"
expect "keygen" 0 "$BERTH" agent keygen --out "$T/k.key"
cp "$T/out" "$T/k.pub"
expect "agent pubkey" 0 "$BERTH" agent pubkey --key "$T/k.key"
cmp -s "$T/out" "$T/k.pub" && pass "pubkey prints what keygen printed" || fail "pubkey prints what keygen printed"

# The script on a fresh Debian 12.
needs_lab
command -v debootstrap >/dev/null || { echo "needs debootstrap (contrib/deps.sh installs it)"; exit 77; }
CACHE=$BUILD_ROOT/cache/debian-12-minbase
# berth's runtime libraries come with the rootfs, so that installing the
# package needs no mirror; curl fetches it, systemctl enables the unit.
ROOTFS_PKGS=systemd,curl,ca-certificates,libcurl4,libgit2-1.5,libjansson4,libmicrohttpd12,libsqlite3-0,libssl3,libyaml-0-2
mkdir -p "$BUILD_ROOT/cache"
exec 9>"$CACHE.lock"
flock 9
if [ "$(cat "$CACHE/.berth-rootfs" 2>/dev/null)" != "$ROOTFS_PKGS" ]; then
	rm -rf --one-file-system "$CACHE" "$CACHE.new"
	if ! debootstrap --variant=minbase --include="$ROOTFS_PKGS" bookworm "$CACHE.new" \
		http://deb.debian.org/debian >"$T/debootstrap.log" 2>&1; then
		tail -n 5 "$T/debootstrap.log"
		rm -rf --one-file-system "$CACHE.new"
		echo "cannot debootstrap Debian 12 from deb.debian.org"; exit 77
	fi
	printf '%s\n' "$ROOTFS_PKGS" >"$CACHE.new/.berth-rootfs"
	mv "$CACHE.new" "$CACHE"
fi
exec 9>&-
R=$T/root
cp -a "$CACHE/." "$R"
cp "$BERTH_BIN" "$R/tmp/berth"
if ! chroot "$R" /tmp/berth version >/dev/null 2>&1; then
	echo "the berth under test does not run on a bare Debian 12 (a sanitizer build?)"; exit 77
fi
rm "$R/tmp/berth"

HTTP_PID=
test_cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	umount "$R/var/lib/incus" 2>/dev/null
	umount "$R/proc" 2>/dev/null
	return 0
}
lab_up --hosts 1
li() { INCUS_DIR=$(var lab-1 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
ADDR=$(var lab-1 ENDPOINT)
ADDR=${ADDR#https://}
# Incus is installed: its client, its group, its daemon's directory.
cp /usr/bin/incus "$R/usr/bin/incus"
chroot "$R" groupadd --system incus-admin
mkdir -p "$R/var/lib/incus"
mount --bind "$(var lab-1 DIR)" "$R/var/lib/incus"
mount -t proc proc "$R/proc"
# The lab's daemon listens; a new host's does not.
li config unset core.https_address

# berth as a package, served on loopback.
P=$T/pkg
mkdir -p "$P/DEBIAN" "$P/usr/bin" "$P/usr/lib/systemd/system" "$T/www"
cp "$BERTH_BIN" "$P/usr/bin/berth"
sed 's|^ExecStart=[^ ]*/berth |ExecStart=/usr/bin/berth |' "$BUILD_ROOT/contrib/systemd/berth-agent.service" \
	>"$P/usr/lib/systemd/system/berth-agent.service"
cat >"$P/DEBIAN/control" <<X
Package: berth
Version: 1.0~test
Architecture: $(dpkg --print-architecture)
Maintainer: berth tests <tests@berth.invalid>
Depends: libcurl4, libgit2-1.5, libjansson4, libmicrohttpd12, libsqlite3-0, libssl3, libyaml-0-2
Description: berth, as the host-install test packs it
X
dpkg-deb --root-owner-group --build "$P" "$T/www/berth_1.0~test.deb" >/dev/null
SHA=$(sha256sum "$T/www/berth_1.0~test.deb" | cut -d' ' -f1)
PORT=$((20000 + RANDOM % 20000))
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 & HTTP_PID=$!
PKG_URL="http://127.0.0.1:$PORT/berth_1.0~test.deb"
wait_for 30 "the package is served" curl -fs -o /dev/null "$PKG_URL"

# The fleet: lab-1 without an agent key yet.
F=$T/fleet
new_repo "$F"
lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 10GiB}' >"$F/hosts.yaml"
commit "$F" fleet
SERVER=http://127.0.0.1:9/
script() {	# script NAME OPTION...: the script of lab-1 with the options as /tmp/NAME.sh
	local name=$1
	shift
	"$BERTH" --repo "$F" host install-command lab-1 --server "$SERVER" --incus-listen "$ADDR" "$@" \
		>"$R/tmp/$name.sh" 2>"$T/gen.err" || { fail "install-command $*"; cat "$T/gen.err"; }
	chmod 0644 "$R/tmp/$name.sh"
}
# in_root NAME SCRIPT [CHROOT-OPTION...]: run /tmp/SCRIPT.sh in the
# chroot as a new login would, output in $T/NAME.out and .err, exit in $T/rc.
in_root() {
	local name=$1 s=$2 rc=0
	shift 2
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		chroot "$@" "$R" /bin/sh "/tmp/$s.sh" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/rc"
}
ran() {	# ran NAME SCRIPT WANT-EXIT [CHROOT-OPTION...]
	local name=$1 s=$2 want=$3
	shift 3
	in_root "$name" "$s" "$@"
	if [ "$(cat "$T/rc")" = "$want" ]; then pass "$name: exit $want"; else
		fail "$name: exit $(cat "$T/rc"), want $want"; sed 's/^/    | /' "$T/$name.out" "$T/$name.err" | tail -n 20; fi
}
trusted() {	# how many of lab-1's trusted certificates are berth's
	li query '/1.0/certificates?recursion=1' |
		jq --arg fp "$(openssl x509 -in "$BERTH_STATE/client.crt" -outform DER | sha256sum | cut -d' ' -f1)" \
			'[.[] | select(.fingerprint == $fp)] | length'
}
os_release() {	# os_release ID VERSION_ID CODENAME PRETTY_NAME: the chroot's /etc/os-release
	rm -f "$R/etc/os-release"
	printf 'PRETTY_NAME="%s"\nID=%s\nVERSION_ID="%s"\nVERSION_CODENAME=%s\n' "$4" "$1" "$2" "$3" >"$R/etc/os-release"
}
real_os_release() { rm -f "$R/etc/os-release"; ln -s ../usr/lib/os-release "$R/etc/os-release"; }
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
script nopkg

# Refusals, before anything changes.
ran "not root" pkg 1 --userspec=65534:65534
has "not root: says why" "$T/not root.err" "berth: error: not root: want uid 0, have uid 65534"
os_release debian 11 bullseye "Debian GNU/Linux 11 (bullseye)"
ran "Debian 11" pkg 1
has "Debian 11 is refused with the supported systems" "$T/Debian 11.err" \
	'berth: error: "Debian GNU/Linux 11 (bullseye)" is not supported: it has no Incus package; want Debian 12 (bookworm) or 13 (trixie), or Ubuntu 22.04 or later: upgrade the host to Debian 12 (Incus from bookworm-backports) or 13, or install Incus 6.0 or later and berth yourself (berth host trust-command, berth agent keygen)'
os_release debian 10 buster "Debian GNU/Linux 10 (buster)"
ran "Debian 10" pkg 1
has "Debian 10 is refused" "$T/Debian 10.err" '"Debian GNU/Linux 10 (buster)" is not supported'
os_release ubuntu 20.04 focal "Ubuntu 20.04.6 LTS"
ran "Ubuntu 20.04" pkg 1
has "Ubuntu 20.04 is refused" "$T/Ubuntu 20.04.err" '"Ubuntu 20.04.6 LTS" is not supported: it has no Incus package; want Debian 12 (bookworm) or 13 (trixie), or Ubuntu 22.04 or later: upgrade the host to Ubuntu 24.04'
os_release fedora 40 "" "Fedora Linux 40 (Server Edition)"
ran "Fedora" pkg 1
has "another system is refused" "$T/Fedora.err" '"Fedora Linux 40 (Server Edition)" is not supported: want Debian 12 (bookworm) or 13 (trixie), or Ubuntu 22.04 or later; on another system, install Incus 6.0 or later and berth yourself'
os_release debian "" "" "Debian GNU/Linux trixie/sid"
ran "Debian unstable" pkg 1
has "a Debian without a version is refused" "$T/Debian unstable.err" '"Debian GNU/Linux trixie/sid" is not supported: a Debian without a version (testing or unstable)'
rm -f "$R/etc/os-release"
ran "no os-release" pkg 1
has "no /etc/os-release is refused" "$T/no os-release.err" "cannot read /etc/os-release"
os_release ubuntu 22.04 jammy "Ubuntu 22.04.4 LTS"
mv "$R/usr/bin/incus" "$R/usr/bin/incus.away"
ran "Ubuntu 22.04 without Incus" pkg 1
has "Ubuntu 22.04 without Incus names the alternatives" "$T/Ubuntu 22.04 without Incus.err" \
	"Incus is not installed and Ubuntu 22.04.4 LTS has no Incus package: install it from the Zabbly repository (https://github.com/zabbly/incus, Incus 6.0 LTS) and run this again, or use Ubuntu 24.04 or later"
mv "$R/usr/bin/incus.away" "$R/usr/bin/incus"
real_os_release
ran "no berth" nopkg 1
has "without berth and --package-url it says what to install" "$T/no berth.err" \
	"berth is not installed: install the berth package first (apt-get install ./berth_VERSION_amd64.deb) and run this again, or make this script with --package-url"
has "it saw Debian 12" "$T/no berth.out" "this is Debian GNU/Linux 12 (bookworm): supported"
[ "$(trusted)" = 0 ] && pass "the refusals trusted nothing" || fail "the refusals trusted berth"
[ ! -e "$R/etc/berth" ] && pass "the refusals wrote no /etc/berth" || fail "the refusals wrote /etc/berth"
chroot "$R" getent passwd berth-agent >/dev/null && fail "the refusals made a user" || pass "the refusals made no user"
[ -z "$(li config get core.https_address)" ] && pass "the refusals left Incus's address alone" ||
	fail "the refusals set core.https_address"

# The first run.
ran "first run" pkg 0
O="$T/first run.out"
has "Debian 12 is detected" "$O" "berth: this is Debian GNU/Linux 12 (bookworm): supported"
has "Incus is kept" "$O" "berth: Incus is installed (client "
has "berth is installed from the package" "$O" "berth: installed berth 1.0~test"
[ "$(chroot "$R" dpkg-query -W -f '${Status} ${Version}' berth)" = "install ok installed 1.0~test" ] &&
	pass "dpkg has berth 1.0~test" || fail "dpkg has no berth 1.0~test"
has "Incus now trusts berth" "$O" "incus now trusts berth's certificate"
[ "$(trusted)" = 1 ] && pass "lab-1 trusts berth's certificate once" || fail "lab-1 trusts berth's certificate $(trusted) times"
has "Incus listens on the address given" "$O" "berth: Incus now listens on $ADDR (core.https_address) for berth"
[ "$(li config get core.https_address)" = "$ADDR" ] && pass "core.https_address is set" || fail "core.https_address is not set"
has "the user is made" "$O" "berth: made the system user berth-agent"
[ "$(chroot "$R" stat -c '%U %G %a' /etc/berth)" = "root berth-agent 750" ] &&
	pass "/etc/berth is root:berth-agent 0750" || fail "/etc/berth is $(chroot "$R" stat -c '%U %G %a' /etc/berth)"
[ "$(chroot "$R" stat -c '%U %a' /etc/berth/agent.key)" = "berth-agent 600" ] &&
	pass "the key is berth-agent's, 0600" || fail "the key is $(chroot "$R" stat -c '%U %a' /etc/berth/agent.key)"
has "the key is made" "$O" "berth: made the agent key /etc/berth/agent.key"
PUB=$("$BERTH" agent pubkey --key "$R/etc/berth/agent.key")
has "the public key is printed for the manifest" "$O" "  agent: {key: \"$PUB\"}"
has "the fingerprint is printed for the manifest" "$O" "  fingerprint: \"$(var lab-1 FINGERPRINT)\""
[ "$(tail -n 2 "$O" | head -n 1)" = "  fingerprint: \"$(var lab-1 FINGERPRINT)\"" ] && [ "$(tail -n 1 "$O")" = "  agent: {key: \"$PUB\"}" ] &&
	pass "they are the last two lines" || fail "they are not the last two lines"
printf '# berth-agent.service, from berth host install-command\nBERTH_HOST=lab-1\nBERTH_SERVER=%s\n' "$SERVER" >"$T/env.want"
cmp -s "$T/env.want" "$R/etc/berth/agent.env" && pass "agent.env has BERTH_HOST and BERTH_SERVER" ||
	{ fail "agent.env:"; sed 's/^/    | /' "$R/etc/berth/agent.env"; }
W=$R/etc/systemd/system/multi-user.target.wants
case $(readlink "$W/berth-agent.service") in
/lib/systemd/system/berth-agent.service|/usr/lib/systemd/system/berth-agent.service) pass "the unit is enabled" ;;
*) fail "the unit is not enabled: $(ls -l "$W" 2>&1)" ;;
esac
has "starting it is skipped, and said" "$O" "berth: systemd is not running here (no /run/systemd/system): berth-agent.service is enabled, not started"
expect "berth plans lab-1 over https with the trust the script gave" 0 "$BERTH" --repo "$F" plan
cp "$R/etc/berth/agent.key" "$T/key.first"

# The second run changes nothing.
ran "second run" pkg 0
O="$T/second run.out"
has "the package is kept" "$O" "berth: berth 1.0~test is installed already"
has "the trust is kept" "$O" "incus already trusts berth's certificate"
[ "$(trusted)" = 1 ] && pass "lab-1 still trusts berth once" || fail "lab-1 trusts berth $(trusted) times"
has "the address is kept" "$O" "berth: Incus listens on $ADDR (core.https_address): keeping it"
grep -q "made the system user" "$O" && fail "a second user was made" || pass "no second user"
[ "$(grep -c '^berth-agent:' "$R/etc/passwd")" = 1 ] && pass "one berth-agent in /etc/passwd" || fail "berth-agent twice in /etc/passwd"
has "the key is kept" "$O" "berth: keeping the agent key /etc/berth/agent.key"
cmp -s "$T/key.first" "$R/etc/berth/agent.key" && pass "the key file is the same" || fail "the key changed"
has "the same public key is printed" "$O" "  agent: {key: \"$PUB\"}"
has "agent.env is kept" "$O" "berth: /etc/berth/agent.env is up to date"
[ "$(find "$R/etc/systemd/system" -name 'berth-agent*' | wc -l)" = 1 ] && pass "the unit is enabled once" ||
	fail "the unit is linked $(find "$R/etc/systemd/system" -name 'berth-agent*' | wc -l) times"

# The manifest's key against the host's.
lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 10GiB}' "agent: {key: \"$(cat "$T/k.pub")\"}" >"$F/hosts.yaml"
commit "$F" "another key"
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
ran "another key in the manifest" pkg 0
has "the manifest's other key is warned about" "$T/another key in the manifest.err" \
	"berth: warning: the Host manifest of lab-1 has spec.agent.key $(cat "$T/k.pub"), but this host's key is $PUB: commit the one below"
lab_host lab-1 'capacity: {cpu: 4, memory: 8GiB, disk: 10GiB}' "agent: {key: \"$PUB\"}" >"$F/hosts.yaml"
commit "$F" "the host's key"
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
ran "the host's key in the manifest" pkg 0
has "the manifest's key is recognised" "$T/the host's key in the manifest.out" "berth: the Host manifest of lab-1 has this agent key already"
[ ! -s "$T/the host's key in the manifest.err" ] && pass "and nothing is warned about" || fail "warnings: $(cat "$T/the host's key in the manifest.err")"

# The other supported systems, with Incus installed.
os_release debian 13 trixie "Debian GNU/Linux 13 (trixie)"
ran "Debian 13" pkg 0
has "Debian 13 is supported" "$T/Debian 13.out" "berth: this is Debian GNU/Linux 13 (trixie): supported"
os_release ubuntu 24.04 noble "Ubuntu 24.04.1 LTS"
ran "Ubuntu 24.04" pkg 0
has "Ubuntu 24.04 is supported" "$T/Ubuntu 24.04.out" "berth: this is Ubuntu 24.04.1 LTS: supported"
os_release ubuntu 22.04 jammy "Ubuntu 22.04.4 LTS"
ran "Ubuntu 22.04 with Incus" pkg 0
has "Ubuntu 22.04 with Incus is supported" "$T/Ubuntu 22.04 with Incus.out" "berth: this is Ubuntu 22.04.4 LTS: supported"
real_os_release
[ "$(trusted)" = 1 ] && pass "after five runs lab-1 trusts berth once" || fail "lab-1 trusts berth $(trusted) times"
cmp -s "$T/key.first" "$R/etc/berth/agent.key" && pass "and the key is the first one" || fail "the key changed"

# A package that is not the one pinned is not installed.
script badsha --package-url "$PKG_URL" --package-sha256 "$(printf '%064d' 0)"
ran "a package with another SHA-256" badsha 1
has "is refused before it is installed" "$T/a package with another SHA-256.err" \
	"has SHA-256 $SHA: want $(printf '%064d' 0) (--package-sha256); not installed"
finish
