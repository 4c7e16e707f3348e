#!/usr/bin/env bash
# Build berth and run every test suite of `meson test`: unit, integration
# (the berth binary, with real Incus labs and ajv) and fuzz (corpus replay).
# On a bare Debian 12, as root, it first installs everything it needs.
# Labs left running by killed tests are brought down before and after.
# Exits non-zero on any failure.
#
#   BUILDDIR=build    where to build (default: build/ in the checkout)
#   MESON_TEST_ARGS   extra arguments for `meson test` (e.g. --suite unit)
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
# shellcheck source=contrib/deps.sh
. contrib/deps.sh
berth_install_deps

builddir=${BUILDDIR:-$top/build}
setup_args=(-Dbench=true)
[ "${CI:-}" = true ] && setup_args+=(-Dwerror=true)
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "${setup_args[@]}" >/dev/null
else
	meson setup "$builddir" "${setup_args[@]}"
fi
meson compile -C "$builddir"

# ajv-cli, the independent JSON Schema validator the schema tests compare with.
if [ ! -x "$builddir/ajv/node_modules/.bin/ajv" ]; then
	npm install --silent --no-audit --no-fund --prefix "$builddir/ajv" ajv-cli@5 ajv-formats@2 >/dev/null
fi

# A test killed by its timeout dies with its trap, but the incusd daemons of
# its lab run in sessions of their own: lab reap brings down every lab whose
# session has ended, so their addresses are free for this run and the next.
reap_labs() {
	[ "$(id -u)" = 0 ] || return 0
	contrib/lab/lab reap
}
reap_labs
# The output ends with meson's summary, after what the reaping said.
summary() {
	local log=$builddir/meson-logs/testlog.txt
	[ -f "$log" ] && sed -n '/^Ok:  /,/^Timeout:/p' "$log" | tail -n 6
	return 0
}
# shellcheck disable=SC2154 # rc is set in the trap itself
trap 'rc=$?; reap_labs >&2 || rc=1; summary; exit $rc' EXIT
# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-}
