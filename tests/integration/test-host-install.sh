#!/usr/bin/env bash
# berth host install-command on a new Debian 12 host. The host is a fresh
# system container of a lab daemon, from an image of Debian 12
# (debootstrap --variant=minbase with systemd, cached under the build
# directory): systemd is its PID 1. The script is pushed into it and run
# as root with incus exec. It installs Incus for real, from
# bookworm-backports on deb.debian.org (reached through a proxy device),
# and Incus runs in the container (nested); berth comes from a .deb built
# here from the berth under test and served on loopback (--package-url).
# Checked: the option errors; the refusals (not root, Debian 11 and 10,
# Ubuntu 20.04, Ubuntu 22.04 without Incus, another system, no
# /etc/os-release, no berth and no --package-url), which change nothing;
# a first run (Incus, package, trust, https address, user, key,
# agent.env, unit enabled and started: active, as berth-agent) with berth
# then planning the host over https; a second run that changes nothing;
# the manifest's fingerprint and key compared; Debian 13 and Ubuntu 22.04
# and 24.04 with Incus installed accepted.
BERTH_BIN=${BERTH:?set BERTH to the berth binary}	# the binary itself, for the package
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
MIRROR=$(getent ahostsv4 deb.debian.org | awk 'NR == 1 { print $1 }')
[ -n "$MIRROR" ] || { echo "cannot resolve deb.debian.org"; exit 77; }
CACHE=$BUILD_ROOT/cache/debian-12-minbase
# A minimal Debian 12 that boots: systemd as init, and curl, which fetches
# the package. berth's runtime libraries come with it, so that the
# package's own dependencies are there; Incus and its many are not.
ROOTFS_PKGS=systemd,systemd-sysv,curl,ca-certificates,libcurl4,libgit2-1.5,libjansson4,libmicrohttpd12,libsqlite3-0,libssl3,libyaml-0-2
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
# The root as an image: its rootfs and a metadata.yaml.
I=$T/image
mkdir -p "$I"
tar -C "$CACHE" --exclude=./.berth-rootfs -cf "$I/rootfs.tar" .
exec 9>&-
printf 'architecture: %s\ncreation_date: %s\nproperties:\n  os: debian\n  release: "12"\n  description: Debian 12 (debootstrap --variant=minbase)\n' \
	"$(uname -m)" "$(date +%s)" >"$I/metadata.yaml"
tar -C "$I" -cf "$I/meta.tar" metadata.yaml

HTTP_PID=
test_cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	[ -e "$T/lab/lab.env" ] && lx delete --force new-1 >/dev/null 2>&1
	return 0
}
lab_up --hosts 1
lx() { INCUS_DIR=$(var lab-1 DIR) INCUS_CONF="$T/incus-client" incus "$@"; }
on() { lx exec new-1 --cwd / -- "$@"; }	# on CMD...: run CMD as root on the new host
# The new host: a container of lab-1 from that image, privileged and
# nested so that Incus runs in it. Its only way out is proxy devices: to
# the Debian mirror (deb.debian.org is 127.0.0.1:80 in its /etc/hosts) and
# to the package's server; and the host's Incus, once it listens on :8443,
# is ADDR on this machine, as a real host's would be on the network.
ADDR=$LAB_NET.250:8443
PORT=$((20000 + RANDOM % 20000))
lx storage create pool dir >/dev/null
lx image import "$I/meta.tar" "$I/rootfs.tar" --alias debian-12 >/dev/null
rm -rf "$I"
lx init debian-12 new-1 --storage pool -c security.privileged=true -c security.nesting=true >/dev/null
lx config device add new-1 mirror proxy bind=container listen=tcp:127.0.0.1:80 connect="tcp:$MIRROR:80" >/dev/null
lx config device add new-1 pkg proxy bind=container listen="tcp:127.0.0.1:$PORT" connect="tcp:127.0.0.1:$PORT" >/dev/null
lx config device add new-1 incus proxy bind=host listen="tcp:$ADDR" connect=tcp:127.0.0.1:8443 >/dev/null
lx start new-1
booted() { case $(on systemctl is-system-running 2>/dev/null) in running|degraded) return 0 ;; esac; return 1; }
wait_for 60 "systemd boots the new host" booted
[ "$(on readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] && pass "systemd is PID 1 on the new host" ||
	fail "PID 1 of the new host is $(on readlink /proc/1/exe)"
on sh -c 'printf "127.0.0.1\tdeb.debian.org\n" >>/etc/hosts'
lx file push --mode 0755 "$BERTH_BIN" new-1/tmp/berth
if ! on /tmp/berth version >/dev/null 2>&1; then
	echo "the berth under test does not run on a bare Debian 12 (a sanitizer build?)"; exit 77
fi
on rm /tmp/berth

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
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 & HTTP_PID=$!
PKG_URL="http://127.0.0.1:$PORT/berth_1.0~test.deb"
wait_for 30 "the package is served" curl -fs -o /dev/null "$PKG_URL"
wait_for 30 "the new host reaches the package" on curl -fs -o /dev/null "$PKG_URL"

# The fleet: new-1 at ADDR, its fingerprint and agent key not known yet.
F=$T/fleet
new_repo "$F"
host_manifest() {	# host_manifest FINGERPRINT [FIELD: VALUE]...: the Host new-1
	printf 'apiVersion: berth/v1\nkind: Host\nmetadata: {name: new-1}\nspec:\n  endpoint: https://%s\n' "$ADDR"
	printf '  fingerprint: "%s"\n  os: debian-12\n  capacity: {cpu: 4, memory: 8GiB, disk: 10GiB}\n' "$1"
	shift
	if [ $# -gt 0 ]; then printf '  %s\n' "$@"; fi
}
NOFP=$(printf '%064d' 0)
host_manifest "$NOFP" >"$F/hosts.yaml"
commit "$F" fleet
SERVER=http://127.0.0.1:9/
script() {	# script NAME OPTION...: the script of new-1 with the options as /tmp/NAME.sh there
	local name=$1
	shift
	"$BERTH" --repo "$F" host install-command new-1 --server "$SERVER" "$@" \
		>"$T/$name.sh" 2>"$T/gen.err" || { fail "install-command $*"; cat "$T/gen.err"; }
	lx file push --mode 0644 "$T/$name.sh" "new-1/tmp/$name.sh"
}
# in_host NAME SCRIPT [EXEC-OPTION...]: run /tmp/SCRIPT.sh on the new host
# as a new login would, output in $T/NAME.out and .err, exit in $T/rc.
in_host() {
	local name=$1 s=$2 rc=0
	shift 2
	lx exec new-1 --cwd / "$@" -- /bin/sh "/tmp/$s.sh" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/rc"
}
ran() {	# ran NAME SCRIPT WANT-EXIT [EXEC-OPTION...]
	local name=$1 s=$2 want=$3
	shift 3
	in_host "$name" "$s" "$@"
	if [ "$(cat "$T/rc")" = "$want" ]; then pass "$name: exit $want"; else
		fail "$name: exit $(cat "$T/rc"), want $want"; sed 's/^/    | /' "$T/$name.out" "$T/$name.err" | tail -n 20; fi
}
has_incus() { on sh -c 'command -v incus' >/dev/null 2>&1; }
trusted() {	# how many of the new host's trusted certificates are berth's
	if ! has_incus; then echo 0; return 0; fi
	on incus query '/1.0/certificates?recursion=1' |
		jq --arg fp "$(openssl x509 -in "$BERTH_STATE/client.crt" -outform DER | sha256sum | cut -d' ' -f1)" \
			'[.[] | select(.fingerprint == $fp)] | length'
}
os_release() {	# os_release ID VERSION_ID CODENAME PRETTY_NAME: the new host's /etc/os-release
	# shellcheck disable=SC2016 # expanded by the host's sh
	on sh -c 'rm -f /etc/os-release &&
		printf "PRETTY_NAME=\"%s\"\nID=%s\nVERSION_ID=\"%s\"\nVERSION_CODENAME=%s\n" "$4" "$1" "$2" "$3" >/etc/os-release' \
		sh "$@"
}
real_os_release() { on sh -c 'rm -f /etc/os-release && ln -s ../usr/lib/os-release /etc/os-release'; }
pull_key() { lx file pull new-1/etc/berth/agent.key "$1"; }	# pull_key FILE: the new host's agent key
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
script nopkg

# Refusals, before anything changes.
ran "not root" pkg 1 --user 65534 --group 65534
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
on rm -f /etc/os-release
ran "no os-release" pkg 1
has "no /etc/os-release is refused" "$T/no os-release.err" "cannot read /etc/os-release"
os_release ubuntu 22.04 jammy "Ubuntu 22.04.4 LTS"
ran "Ubuntu 22.04 without Incus" pkg 1
has "Ubuntu 22.04 without Incus names the alternatives" "$T/Ubuntu 22.04 without Incus.err" \
	"Incus is not installed and Ubuntu 22.04.4 LTS has no Incus package: install it from the Zabbly repository (https://github.com/zabbly/incus, Incus 6.0 LTS) and run this again, or use Ubuntu 24.04 or later"
real_os_release
ran "no berth" nopkg 1
has "without berth and --package-url it says what to install" "$T/no berth.err" \
	"berth is not installed: install the berth package first (apt-get install ./berth_VERSION_amd64.deb) and run this again, or make this script with --package-url"
has "it saw Debian 12" "$T/no berth.out" "this is Debian GNU/Linux 12 (bookworm): supported"
has_incus && fail "the refusals installed Incus" || pass "the refusals installed no Incus"
on test -e /etc/apt/sources.list.d/bookworm-backports.sources && fail "the refusals added bookworm-backports" ||
	pass "the refusals added no apt source"
on test -e /etc/berth && fail "the refusals wrote /etc/berth" || pass "the refusals wrote no /etc/berth"
on getent passwd berth-agent >/dev/null && fail "the refusals made a user" || pass "the refusals made no user"

# The first run installs Incus from bookworm-backports, then berth.
ran "first run" pkg 0
O="$T/first run.out"
has "Debian 12 is detected" "$O" "berth: this is Debian GNU/Linux 12 (bookworm): supported"
has "bookworm-backports is added" "$O" "berth: added bookworm-backports to apt's sources (/etc/apt/sources.list.d/bookworm-backports.sources)"
has "Incus is installed" "$O" "berth: installed Incus (client 6."
[ "$(on dpkg-query -W -f '${Status}' incus)" = "install ok installed" ] &&
	pass "dpkg has incus" || fail "dpkg has no incus"
case $(on dpkg-query -W -f '${Version}' incus) in
*bpo12*) pass "incus comes from bookworm-backports" ;;
*) fail "incus is $(on dpkg-query -W -f '${Version}' incus), not from bookworm-backports" ;;
esac
[ "$(on systemctl is-active incus.service)" = active ] && pass "incusd runs on the new host" || fail "incusd does not run"
has "berth is installed from the package" "$O" "berth: installed berth 1.0~test"
[ "$(on dpkg-query -W -f '${Status} ${Version}' berth)" = "install ok installed 1.0~test" ] &&
	pass "dpkg has berth 1.0~test" || fail "dpkg has no berth 1.0~test"
has "Incus now trusts berth" "$O" "incus now trusts berth's certificate"
[ "$(trusted)" = 1 ] && pass "Incus trusts berth's certificate once" || fail "Incus trusts berth's certificate $(trusted) times"
has "Incus listens on the endpoint's port" "$O" "berth: Incus now listens on :8443 (core.https_address) for berth"
[ "$(on incus config get core.https_address)" = :8443 ] && pass "core.https_address is set" || fail "core.https_address is not set"
has "the user is made" "$O" "berth: made the system user berth-agent"
[ "$(on stat -c '%U %G %a' /etc/berth)" = "root berth-agent 750" ] &&
	pass "/etc/berth is root:berth-agent 0750" || fail "/etc/berth is $(on stat -c '%U %G %a' /etc/berth)"
[ "$(on stat -c '%U %a' /etc/berth/agent.key)" = "berth-agent 600" ] &&
	pass "the key is berth-agent's, 0600" || fail "the key is $(on stat -c '%U %a' /etc/berth/agent.key)"
has "the key is made" "$O" "berth: made the agent key /etc/berth/agent.key"
pull_key "$T/key.first"
PUB=$("$BERTH" agent pubkey --key "$T/key.first")
has "the public key is printed for the manifest" "$O" "  agent: {key: \"$PUB\"}"
FP=$(on cat /var/lib/incus/server.crt | openssl x509 -outform DER | sha256sum | cut -d' ' -f1)
has "the fingerprint is printed for the manifest" "$O" "  fingerprint: \"$FP\""
[ "$(tail -n 2 "$O" | head -n 1)" = "  fingerprint: \"$FP\"" ] && [ "$(tail -n 1 "$O")" = "  agent: {key: \"$PUB\"}" ] &&
	pass "they are the last two lines" || fail "they are not the last two lines"
has "the manifest's other fingerprint is warned about" "$T/first run.err" \
	"berth: warning: the Host manifest of new-1 pins spec.fingerprint $NOFP, but this Incus presents $FP: commit the one below"
printf '# berth-agent.service, from berth host install-command\nBERTH_HOST=new-1\nBERTH_SERVER=%s\n' "$SERVER" >"$T/env.want"
on cat /etc/berth/agent.env >"$T/env.have"
cmp -s "$T/env.want" "$T/env.have" && pass "agent.env has BERTH_HOST and BERTH_SERVER" ||
	{ fail "agent.env:"; sed 's/^/    | /' "$T/env.have"; }
case $(on readlink /etc/systemd/system/multi-user.target.wants/berth-agent.service) in
/lib/systemd/system/berth-agent.service|/usr/lib/systemd/system/berth-agent.service) pass "the unit is enabled" ;;
*) fail "the unit is not enabled: $(on ls -l /etc/systemd/system/multi-user.target.wants 2>&1)" ;;
esac
# Type=notify: systemctl restart returned once the agent said READY=1.
has "the unit is started" "$O" "berth: berth-agent.service is enabled and (re)started: reporting to $SERVER"
[ "$(on systemctl is-active berth-agent.service)" = active ] && pass "berth-agent.service is active" ||
	fail "berth-agent.service is $(on systemctl is-active berth-agent.service)"
AGENT_PID=$(on systemctl show -p MainPID --value berth-agent.service)
[ "$(on stat -c %U "/proc/$AGENT_PID")" = berth-agent ] && pass "the agent runs as berth-agent" ||
	fail "the agent (pid $AGENT_PID) runs as $(on stat -c %U "/proc/$AGENT_PID")"
host_manifest "$FP" >"$F/hosts.yaml"
commit "$F" "the host's fingerprint"
expect "berth plans new-1 over https with the trust the script gave" 0 "$BERTH" --repo "$F" plan

# The second run changes nothing.
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
ran "second run" pkg 0
O="$T/second run.out"
has "Incus is kept" "$O" "berth: Incus is installed (client 6."
has "the package is kept" "$O" "berth: berth 1.0~test is installed already"
has "the trust is kept" "$O" "incus already trusts berth's certificate"
[ "$(trusted)" = 1 ] && pass "Incus still trusts berth once" || fail "Incus trusts berth $(trusted) times"
has "the address is kept" "$O" "berth: Incus listens on :8443 (core.https_address): keeping it"
grep -q "made the system user" "$O" && fail "a second user was made" || pass "no second user"
[ "$(on grep -c '^berth-agent:' /etc/passwd)" = 1 ] && pass "one berth-agent in /etc/passwd" || fail "berth-agent twice in /etc/passwd"
has "the key is kept" "$O" "berth: keeping the agent key /etc/berth/agent.key"
pull_key "$T/key.now"
cmp -s "$T/key.first" "$T/key.now" && pass "the key file is the same" || fail "the key changed"
has "the same public key is printed" "$O" "  agent: {key: \"$PUB\"}"
has "agent.env is kept" "$O" "berth: /etc/berth/agent.env is up to date"
[ "$(on find /etc/systemd/system -name 'berth-agent*' | wc -l)" = 1 ] && pass "the unit is enabled once" ||
	fail "the unit is linked $(on find /etc/systemd/system -name 'berth-agent*' | wc -l) times"
[ "$(on systemctl is-active berth-agent.service)" = active ] && pass "berth-agent.service is active again" ||
	fail "berth-agent.service is $(on systemctl is-active berth-agent.service)"
[ ! -s "$T/second run.err" ] && pass "nothing is warned about with the host's fingerprint" ||
	fail "warnings: $(cat "$T/second run.err")"

# The manifest's key against the host's.
host_manifest "$FP" "agent: {key: \"$(cat "$T/k.pub")\"}" >"$F/hosts.yaml"
commit "$F" "another key"
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
ran "another key in the manifest" pkg 0
has "the manifest's other key is warned about" "$T/another key in the manifest.err" \
	"berth: warning: the Host manifest of new-1 has spec.agent.key $(cat "$T/k.pub"), but this host's key is $PUB: commit the one below"
host_manifest "$FP" "agent: {key: \"$PUB\"}" >"$F/hosts.yaml"
commit "$F" "the host's key"
script pkg --package-url "$PKG_URL" --package-sha256 "$SHA"
ran "the host's key in the manifest" pkg 0
has "the manifest's key is recognised" "$T/the host's key in the manifest.out" "berth: the Host manifest of new-1 has this agent key already"
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
[ "$(trusted)" = 1 ] && pass "after five runs Incus trusts berth once" || fail "Incus trusts berth $(trusted) times"
pull_key "$T/key.now"
cmp -s "$T/key.first" "$T/key.now" && pass "and the key is the first one" || fail "the key changed"

# A package that is not the one pinned is not installed.
script badsha --package-url "$PKG_URL" --package-sha256 "$(printf '%064d' 0)"
ran "a package with another SHA-256" badsha 1
has "is refused before it is installed" "$T/a package with another SHA-256.err" \
	"has SHA-256 $SHA: want $(printf '%064d' 0) (--package-sha256); not installed"
finish
