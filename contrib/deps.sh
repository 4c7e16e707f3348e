#!/usr/bin/env bash
# Install what berth needs to build, test and run its lab, on Debian 12 (root).
# Sourced by contrib/test.sh and contrib/demo.sh; safe to run again: it only
# calls apt-get when something is missing.
#
#   BERTH_SKIP_DEPS=1   skip this step (your machine is already set up)

berth_apt_packages=(
	ca-certificates git python3 meson ninja-build pkg-config gcc
	libyaml-dev libcurl4-openssl-dev libjansson-dev libssl-dev libgit2-dev
	libsqlite3-dev sqlite3 libmicrohttpd-dev libcmocka-dev
	curl openssl jq valgrind procps bc faketime
	busybox-static lvm2 btrfs-progs openssh-server openssh-client gnupg
	lighttpd lighttpd-mod-openssl systemd
	chromium groff-base man-db zsh fish debootstrap dpkg-dev prometheus
)

berth_missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			printf '%s\n' "$p"
	done
}

berth_install_deps() {
	local missing backports=/etc/apt/sources.list.d/bookworm-backports.sources
	[ "${BERTH_SKIP_DEPS:-0}" = 1 ] && return 0
	missing=$(berth_missing_packages "${berth_apt_packages[@]}")
	command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
	local need_incus=0
	command -v incus >/dev/null && [ -x /usr/libexec/incus/incusd ] || need_incus=1
	[ -z "${missing//[[:space:]]/}" ] && [ $need_incus = 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "berth: missing packages:$(echo $missing)${need_incus:+ incus}; run as root to install them" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if [ $need_incus = 1 ] && [ ! -f "$backports" ]; then
		# Incus is not in Debian 12 main; bookworm-backports has 6.0 LTS.
		cat > "$backports" <<'X'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
	fi
	apt-get update -q
	if [ -n "${missing//[[:space:]]/}" ]; then
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing
		# test-https-remote starts its own lighttpd: not the package's on port 80
		case " $(echo $missing) " in *" lighttpd "*)
			systemctl disable --now lighttpd >/dev/null 2>&1 || true ;;
		esac
	fi
	if [ $need_incus = 1 ]; then
		apt-get install -y -q -t bookworm-backports incus
	fi
}
