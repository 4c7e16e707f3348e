# shellcheck shell=sh disable=SC2154
# The body of the script `berth host install-command NAME` prints, which
# puts before it the host's values (berth_host, berth_server,
# berth_package_url, berth_package_sha256, berth_incus_listen,
# berth_manifest_key, berth_manifest_fp), `set -eu`, `umask 077` and the
# function berth_trust (the steps of `berth host trust-command`, which set
# server_fp). Not run by itself.
#
# Run as root on a new host. Every step first looks at what is there, so
# running it again changes nothing that is already right: Incus is
# installed only when missing, berth's certificate trusted once, the
# agent's key made once and kept, the unit enabled and restarted.

say() { printf 'berth: %s\n' "$*"; }
warn() { printf 'berth: warning: %s\n' "$*" >&2; }
die() { printf 'berth: error: %s\n' "$*" >&2; exit 1; }
# Packages are installed with the usual umask, not this script's 077.
apt_get() { (umask 022 && apt-get "$@"); }

supported='Debian 12 (bookworm) or 13 (trixie), or Ubuntu 22.04 or later'
by_hand='install Incus 6.0 or later and berth yourself (berth host trust-command, berth agent keygen)'
unit=berth-agent.service
etc=/etc/berth
key=$etc/agent.key
env_file=$etc/agent.env

[ "$(id -u)" = 0 ] ||
	die "not root: want uid 0, have uid $(id -u) (this installs packages and writes $etc); run it as root"

# Which system this is, and where its Incus comes from.
[ -r /etc/os-release ] ||
	die "cannot read /etc/os-release, so which system this is is unknown: want $supported"
# shellcheck source=/dev/null
os_id=$(. /etc/os-release && printf '%s' "${ID:-}")
# shellcheck source=/dev/null
os_version=$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")
# shellcheck source=/dev/null
os_name=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-${ID:-unknown} ${VERSION_ID:-}}")
os_major=${os_version%%.*}
case $os_major in
''|*[!0-9]*) os_major=0 ;;
esac
case $os_id in
debian)
	if [ -z "$os_version" ]; then
		die "\"$os_name\" is not supported: a Debian without a version (testing or unstable) moves under the host; want $supported"
	elif [ "$os_major" -le 11 ]; then
		die "\"$os_name\" is not supported: it has no Incus package; want $supported: upgrade the host to Debian 12 (Incus from bookworm-backports) or 13, or $by_hand"
	elif [ "$os_major" = 12 ]; then
		incus_from=bookworm-backports
	else
		incus_from=distribution
	fi ;;
ubuntu)
	if [ "$os_major" -lt 22 ]; then
		die "\"$os_name\" is not supported: it has no Incus package; want $supported: upgrade the host to Ubuntu 24.04, or $by_hand"
	elif [ "$os_major" -lt 24 ]; then
		incus_from=none
	else
		incus_from=distribution
	fi ;;
*)
	die "\"$os_name\" is not supported: want $supported; on another system, $by_hand" ;;
esac
say "this is $os_name: supported"

# What must be there before anything changes.
# Incus is there when its command is and its daemon is installed (the
# incus package) or listening (its socket).
have_incus=
if command -v incus >/dev/null 2>&1 &&
   { [ "$(dpkg-query -W -f '${Status}' incus 2>/dev/null || true)" = "install ok installed" ] ||
     [ -S "${INCUS_DIR:-/var/lib/incus}/unix.socket" ]; }; then
	have_incus=1
fi
if [ -z "$have_incus" ] && [ "$incus_from" = none ]; then
	die "Incus is not installed and $os_name has no Incus package: install it from the Zabbly repository (https://github.com/zabbly/incus, Incus 6.0 LTS) and run this again, or use Ubuntu 24.04 or later"
fi
find_unit() {
	for d in /etc/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
		if [ -f "$d/$unit" ]; then
			printf '%s\n' "$d/$unit"
			return 0
		fi
	done
	return 1
}
if [ -z "$berth_package_url" ]; then
	command -v berth >/dev/null 2>&1 ||
		die "berth is not installed: install the berth package first (apt-get install ./berth_VERSION_amd64.deb) and run this again, or make this script with --package-url"
	find_unit >/dev/null ||
		die "$unit is not installed (the berth package installs it): install the berth package, or put the unit from berth's contrib/systemd/ in /etc/systemd/system"
fi

export DEBIAN_FRONTEND=noninteractive

# Incus: kept when installed, else the distribution's package (Debian 12:
# from bookworm-backports, added to apt's sources when missing there).
if [ -n "$have_incus" ]; then
	say "Incus is installed (client $(incus --version 2>/dev/null || echo '?')): keeping it"
else
	if [ "$incus_from" = bookworm-backports ] &&
	   ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'X'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
		chmod 0644 /etc/apt/sources.list.d/bookworm-backports.sources
		say "added bookworm-backports to apt's sources (/etc/apt/sources.list.d/bookworm-backports.sources)"
	fi
	apt_get update -q
	LC_ALL=C apt-cache policy incus 2>/dev/null | grep -q 'Candidate: [0-9]' ||
		die "apt has no incus package for $os_name: on Ubuntu, enable the universe component; on Debian 12, bookworm-backports"
	if [ "$incus_from" = bookworm-backports ]; then
		apt_get install -y -q -t bookworm-backports incus
	else
		apt_get install -y -q incus
	fi
	command -v incus >/dev/null 2>&1 || die "the incus package is installed, but there is no incus command"
	say "installed Incus (client $(incus --version 2>/dev/null || echo '?'))"
fi

# berth itself, from the package at berth_package_url (its SHA-256 checked
# before it is installed).
if [ -n "$berth_package_url" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chmod 0755 "$tmp"
	deb=$tmp/berth.deb
	if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
		apt_get update -q
		apt_get install -y -q curl ca-certificates
	fi
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --proto '=http,https' -o "$deb" "$berth_package_url" ||
			die "cannot download the berth package from $berth_package_url"
	else
		wget -q -O "$deb" "$berth_package_url" ||
			die "cannot download the berth package from $berth_package_url"
	fi
	got=$(sha256sum "$deb" | cut -d' ' -f1)
	[ "$got" = "$berth_package_sha256" ] ||
		die "the package from $berth_package_url has SHA-256 $got: want $berth_package_sha256 (--package-sha256); not installed"
	chmod 0644 "$deb"
	pkg=$(dpkg-deb -f "$deb" Package)
	version=$(dpkg-deb -f "$deb" Version)
	[ "$pkg" = berth ] ||
		die "the package from $berth_package_url is \"$pkg\": want berth; not installed"
	if [ "$(dpkg-query -W -f '${Status} ${Version}' berth 2>/dev/null || true)" = "install ok installed $version" ]; then
		say "berth $version is installed already"
	else
		apt_get install -y -q "$deb"
		say "installed berth $version"
	fi
	rm -rf "$tmp"
	trap - EXIT
	command -v berth >/dev/null 2>&1 || die "the berth package is installed but there is no berth command"
	find_unit >/dev/null || die "the berth package did not install $unit"
fi

# berth's certificate, trusted once; the server's fingerprint in server_fp.
incus admin waitready --timeout 120 ||
	die "the Incus daemon is not ready after 2 minutes: see journalctl -u incus"
berth_trust

# Incus listens for berth on the network when it does not yet.
if [ -n "$berth_incus_listen" ]; then
	listen=$(incus config get core.https_address)
	if [ -z "$listen" ]; then
		incus config set core.https_address "$berth_incus_listen"
		say "Incus now listens on $berth_incus_listen (core.https_address) for berth"
	else
		say "Incus listens on $listen (core.https_address): keeping it"
	fi
fi

# The agent's user: its own, reaching Incus through the group incus-admin
# (the unit's SupplementaryGroups).
getent group incus-admin >/dev/null ||
	die "there is no group incus-admin, through which the agent reaches Incus: want Incus from a package that makes it (Debian's, Ubuntu's or Zabbly's)"
if ! getent group berth-agent >/dev/null; then
	groupadd --system berth-agent
fi
if ! getent passwd berth-agent >/dev/null; then
	useradd --system --gid berth-agent --home-dir /var/lib/berth-agent --no-create-home \
		--shell /usr/sbin/nologin --comment 'berth agent' berth-agent
	say "made the system user berth-agent"
fi
if [ ! -d "$etc" ]; then
	install -d -m 0750 -o root -g berth-agent "$etc"
elif [ "$(stat -c %G "$etc")" = root ]; then
	chgrp berth-agent "$etc"
	chmod 0750 "$etc"
fi

# The agent's key: made once, then kept (its public key goes in the Host
# manifest; a new key would need a new commit).
if [ -e "$key" ]; then
	chown berth-agent:berth-agent "$key"
	chmod 0600 "$key"
	pub=$(berth -q agent pubkey --key "$key") ||
		die "cannot read the agent key $key: move it away and run this again for a new one"
	say "keeping the agent key $key"
else
	pub=$(berth -q agent keygen --out "$key")
	chown berth-agent:berth-agent "$key"
	say "made the agent key $key"
fi
if command -v setpriv >/dev/null 2>&1 &&
   ! setpriv --reuid=berth-agent --regid=berth-agent --clear-groups test -r "$key"; then
	die "the user berth-agent cannot read $key: want $etc open to it (chgrp berth-agent $etc; chmod 0750 $etc)"
fi

# The unit's configuration.
env_want=$(printf '# berth-agent.service, from berth host install-command\nBERTH_HOST=%s\nBERTH_SERVER=%s' \
	"$berth_host" "$berth_server")
if [ -f "$env_file" ] && [ "$(cat "$env_file")" = "$env_want" ]; then
	say "$env_file is up to date"
else
	printf '%s\n' "$env_want" >"$env_file.new"
	mv -f "$env_file.new" "$env_file"
	say "wrote $env_file: BERTH_HOST=$berth_host, BERTH_SERVER=$berth_server"
fi

# The unit: enabled, and (re)started where systemd runs.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable --quiet "$unit"
	systemctl restart "$unit" ||
		die "$unit did not start: see systemctl status $unit and journalctl -u $unit"
	say "$unit is enabled and (re)started: reporting to $berth_server"
elif command -v systemctl >/dev/null 2>&1 && SYSTEMD_OFFLINE=1 systemctl enable --quiet "$unit"; then
	say "systemd is not running here (no /run/systemd/system): $unit is enabled, not started; it starts at the next boot, or run systemctl start $unit"
elif command -v systemctl >/dev/null 2>&1; then
	say "systemd is not running here (no /run/systemd/system) and $unit cannot be enabled without it: run systemctl enable --now $unit once it runs"
else
	say "systemd is not installed: $unit is not started; run berth agent run --host $berth_host --server $berth_server --key $key as the user berth-agent some other way"
fi

if [ -n "$berth_manifest_fp" ] && [ "$berth_manifest_fp" != "$server_fp" ]; then
	warn "the Host manifest of $berth_host pins spec.fingerprint $berth_manifest_fp, but this Incus presents $server_fp: commit the one below"
fi
if [ -n "$berth_manifest_key" ]; then
	if [ "$berth_manifest_key" = "$pub" ]; then
		say "the Host manifest of $berth_host has this agent key already"
	else
		warn "the Host manifest of $berth_host has spec.agent.key $berth_manifest_key, but this host's key is $pub: commit the one below, or berth serve refuses its reports"
	fi
fi
say "host $berth_host is ready; its Host manifest wants, under spec:"
printf '  fingerprint: "%s"\n' "$server_fp"
printf '  agent: {key: "%s"}\n' "$pub"
